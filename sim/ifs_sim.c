/* ifs_sim: see ifs_sim.h. This file holds the configuration, the request dispatch (IAM,
 * OData API, /_sim/ control) and the HTTP side of each operation; data, tokens, statistics
 * and rate limiting live in ifs_store, ifs_auth, sim_stats and sim_ratelimit. */
#include "ifs_sim.h"

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ifs_auth.h"
#include "ifs_schema.h"
#include "ifs_seed.h"
#include "ifs_store.h"
#include "odata.h"
#include "sim_dice.h"
#include "sim_http.h"
#include "sim_ratelimit.h"
#include "sim_settings.h"
#include "sim_stats.h"
#include "util.h"

#define API_PREFIX  "/main/ifsapplications/projection/v1/"
#define REALM_PREFIX "/auth/realms/"
#define CT_ODATA    "application/json;odata.metadata=minimal"
#define CT_ODATA_IEEE "application/json;odata.metadata=minimal;IEEE754Compatible=true"

/* Settings that /_sim/config may change while running. */
typedef struct {
    long token_lifetime_s;
    long max_page_size;
    long rate_per_min;
    long latency_ms;
    long fail_5xx_pct;
    long fail_429_pct;
    bool down;
} runtime_t;

static const sim_setting_t RUNTIME[] = {
    {"token_lifetime_s", offsetof(runtime_t, token_lifetime_s), 1, 366L * 86400, false},
    {"max_page_size", offsetof(runtime_t, max_page_size), 1, 1000000, false},
    {"rate_per_min", offsetof(runtime_t, rate_per_min), 0, 100000000, false},
    {"latency_ms", offsetof(runtime_t, latency_ms), 0, 600000, false},
    {"fail_5xx_pct", offsetof(runtime_t, fail_5xx_pct), 0, 100, false},
    {"fail_429_pct", offsetof(runtime_t, fail_429_pct), 0, 100, false},
    {"down", offsetof(runtime_t, down), 0, 0, true},
    {NULL, 0, 0, 0, false},
};

static const char *const COUNTERS[] = {
    "writes", "write_conflicts", "tokens_issued", "rate_rejected", "faults_injected", NULL,
};

struct ifs_sim {
    pthread_mutex_t  mu;       /* guards rt and seed */
    runtime_t        rt;
    ifs_seed_t       seed;
    sim_dice_t      *dice;     /* fault injection, seeded from seed.random_seed */
    char            *realm;
    ifs_auth_t      *auth;
    ifs_store_t     *store;
    sim_stats_t     *stats;
    sim_ratelimit_t *limits;
};

/* ---- configuration ----------------------------------------------------------------------- */

static runtime_t runtime_snapshot(ifs_sim_t *s)
{
    pthread_mutex_lock(&s->mu);
    runtime_t rt = s->rt;
    pthread_mutex_unlock(&s->mu);
    return rt;
}

static bool valid_clients(const json_t *v)
{
    if (!json_is_object(v) || json_object_size(v) == 0)
        return false;
    const char *k;
    json_t *secret;
    json_object_foreach((json_t *)v, k, secret) {
        if (!*k || !json_is_string(secret))
            return false;
    }
    return true;
}

static bool valid_realm(const char *r)
{
    if (!r || !*r)
        return false;
    for (; *r; r++)
        if (!isalnum((unsigned char)*r) && *r != '-' && *r != '_')
            return false;
    return true;
}

/* Reads the startup configuration into s (rt, realm, seed) and returns the clients object
 * (new reference), or NULL with err. */
static json_t *parse_config(ifs_sim_t *s, const json_t *cfg, char *err, size_t err_len)
{
    json_t *clients = json_pack("{s:s}", "mlc-demo", "demo-secret");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)cfg, k, v) {
        char why[256];
        int r = sim_setting_apply(RUNTIME, &s->rt, k, v, why, sizeof why);
        if (r < 0) {
            snprintf(err, err_len, "ifs config: %s", why);
            goto bad;
        }
        if (r == 1)
            continue;
        if (strcmp(k, "clients") == 0) {
            if (!valid_clients(v)) {
                snprintf(err, err_len, "ifs config: clients: must be a non-empty object of "
                         "client_id -> client_secret strings");
                goto bad;
            }
            json_decref(clients);
            clients = json_incref(v);
        } else if (strcmp(k, "realm") == 0) {
            if (!valid_realm(json_string_value(v))) {
                snprintf(err, err_len, "ifs config: realm: must be a non-empty string of "
                         "letters, digits, '-' and '_'");
                goto bad;
            }
            free(s->realm);
            s->realm = xstrdup(json_string_value(v));
        } else if (strcmp(k, "seed") == 0 || strcmp(k, "companies") == 0) {
            json_t *obj = strcmp(k, "seed") == 0 ? json_incref(v) : json_pack("{s:O}", k, v);
            int rc = ifs_seed_parse(&s->seed, obj, why, sizeof why);
            json_decref(obj);
            if (rc < 0) {
                snprintf(err, err_len, "ifs config: %s", why);
                goto bad;
            }
        } else {
            snprintf(err, err_len, "ifs config: unknown member '%s' (known: clients realm "
                     "token_lifetime_s max_page_size rate_per_min latency_ms fail_5xx_pct "
                     "fail_429_pct down companies seed)", k);
            goto bad;
        }
    }
    return clients;
bad:
    json_decref(clients);
    return NULL;
}

ifs_sim_t *ifs_sim_new(const char *config_json, char *err, size_t err_len)
{
    json_error_t jerr;
    json_t *cfg = config_json ? json_loads(config_json, 0, &jerr) : json_object();
    if (!cfg) {
        snprintf(err, err_len, "ifs config: invalid JSON: %s (line %d, column %d)", jerr.text,
                 jerr.line, jerr.column);
        return NULL;
    }
    if (!json_is_object(cfg)) {
        snprintf(err, err_len, "ifs config: must be a JSON object");
        json_decref(cfg);
        return NULL;
    }
    ifs_sim_t *s = xcalloc(1, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    s->rt = (runtime_t){.token_lifetime_s = 3600, .max_page_size = 5000};
    s->realm = xstrdup("ifs");
    ifs_seed_init(&s->seed);
    json_t *clients = parse_config(s, cfg, err, err_len);
    json_decref(cfg);
    if (!clients) {
        ifs_sim_destroy(&s);
        return NULL;
    }
    s->dice = sim_dice_new(s->seed.random_seed);
    s->auth = ifs_auth_new(clients);
    json_decref(clients);
    s->store = ifs_store_new();
    s->stats = sim_stats_new(COUNTERS, "clients");
    s->limits = sim_ratelimit_new();
    ifs_store_seed(s->store, &s->seed, now_ms() / 1000);
    return s;
}

void ifs_sim_destroy(ifs_sim_t **sp)
{
    if (!sp || !*sp)
        return;
    ifs_sim_t *s = *sp;
    ifs_auth_destroy(&s->auth);
    ifs_store_destroy(&s->store);
    sim_stats_destroy(&s->stats);
    sim_ratelimit_destroy(&s->limits);
    sim_dice_destroy(&s->dice);
    ifs_seed_free(&s->seed);
    free(s->realm);
    pthread_mutex_destroy(&s->mu);
    free(s);
    *sp = NULL;
}

/* ---- responses --------------------------------------------------------------------------- */

/* The IFS error envelope {"error":{"code","message","details":[]}}. */
static void reply_error(httpd_resp_t *resp, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void reply_error(httpd_resp_t *resp, int status, const char *code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *j = json_pack("{s:{s:s,s:s,s:[]}}", "error", "code", code, "message", msg,
                          "details");
    char *text = json_dumps(j, JSON_COMPACT);
    httpd_resp_json(resp, status, text);
    free(text);
    json_decref(j);
}

/* ---- the IAM (Keycloak realm) ------------------------------------------------------------ */

/* Answers the IAM paths under /auth/realms/: the token endpoint (POST) and the OpenID
 * discovery document (GET); anything else (other realm or path) is Keycloak's 404. Sets label
 * for the statistics. */
static void handle_realm(ifs_sim_t *s, const httpd_req_t *req, const runtime_t *rt,
                         char *label, size_t label_len, httpd_resp_t *resp)
{
    const char *rest = httpd_path(req) + strlen(REALM_PREFIX);
    size_t rlen = strlen(s->realm);
    const char *sub = strncmp(rest, s->realm, rlen) == 0 && rest[rlen] == '/' ? rest + rlen : "";
    const char *method = httpd_method(req);
    if (strcmp(sub, "/protocol/openid-connect/token") == 0) {
        snprintf(label, label_len, "token");
        if (strcmp(method, "POST") != 0) {
            httpd_resp_header(resp, "Allow", "POST");
            sim_reply_json(resp, 405, json_pack("{s:s,s:s}", "error", "invalid_request",
                                            "error_description", "HTTP method not allowed"));
            return;
        }
        ifs_token_reply_t tr;
        ifs_auth_token(s->auth, httpd_header(req, "Content-Type"),
                       httpd_header(req, "Authorization"), httpd_body(req, NULL),
                       rt->token_lifetime_s, now_ms(), &tr);
        if (tr.status == 200)
            sim_stats_add(s->stats, "tokens_issued", 1);
        httpd_resp_json(resp, tr.status, tr.body);
        httpd_resp_header(resp, "Cache-Control", "no-store");
        free(tr.body);
        return;
    }
    if (strcmp(sub, "/.well-known/openid-configuration") == 0 && strcmp(method, "GET") == 0) {
        snprintf(label, label_len, "openid-configuration");
        char *base = httpd_base_url(req);
        char *issuer = xasprintf("%s" REALM_PREFIX "%s", base, s->realm);
        char *token = xasprintf("%s/protocol/openid-connect/token", issuer);
        sim_reply_json(resp, 200,
                   json_pack("{s:s,s:s,s:[s],s:[s,s],s:[s]}", "issuer", issuer,
                             "token_endpoint", token, "grant_types_supported",
                             "client_credentials", "token_endpoint_auth_methods_supported",
                             "client_secret_post", "client_secret_basic",
                             "response_types_supported", "token"));
        free(token);
        free(issuer);
        free(base);
        return;
    }
    sim_reply_json(resp, 404, json_pack("{s:s}", "error", "Realm does not exist"));
}

/* ---- routing of OData URLs --------------------------------------------------------------- */

typedef enum { R_SERVICE, R_METADATA, R_COLLECTION, R_ENTITY, R_ACTION, R_NOTFOUND } route_kind_t;

typedef struct {
    route_kind_t         kind;
    char                 projection[128];
    const ifs_set_def_t *def;
    char                *keypred;    /* "(OrderNo='4711')", malloc'd */
    char                 action[64]; /* "Approve" */
    char                 why[320];   /* R_NOTFOUND */
} route_t;

static bool projection_known(const char *p)
{
    for (int i = 0; i < IFS_NSETS; i++)
        if (strcmp(ifs_set_def((ifs_set_id_t)i)->projection, p) == 0)
            return true;
    return false;
}

/* Returns the ')' closing the '(' at p, skipping quoted text; NULL when unbalanced. */
static const char *close_paren(const char *p)
{
    bool quoted = false;
    for (p++; *p; p++) {
        if (*p == '\'')
            quoted = !quoted;
        else if (*p == ')' && !quoted)
            return p;
    }
    return NULL;
}

/* Splits the path after API_PREFIX into a route. Never fails: unknown things give
 * R_NOTFOUND with the reason. */
static void route_parse(const char *rest, route_t *r)
{
    memset(r, 0, sizeof *r);
    r->kind = R_NOTFOUND;
    const char *svc = strstr(rest, ".svc");
    if (!svc || svc == rest || (svc[4] && svc[4] != '/') ||
        (size_t)(svc - rest) >= sizeof r->projection) {
        snprintf(r->why, sizeof r->why, "no resource at %s%s", API_PREFIX, rest);
        return;
    }
    snprintf(r->projection, sizeof r->projection, "%.*s", (int)(svc - rest), rest);
    if (!projection_known(r->projection)) {
        snprintf(r->why, sizeof r->why, "unknown projection %s", r->projection);
        return;
    }
    const char *p = svc + 4;
    if (!*p || strcmp(p, "/") == 0) {
        r->kind = R_SERVICE;
        return;
    }
    if (strcmp(p, "/$metadata") == 0) {
        r->kind = R_METADATA;
        return;
    }
    p++;
    size_t n = strcspn(p, "(/");
    char set[128];
    snprintf(set, sizeof set, "%.*s", (int)(n < sizeof set ? n : sizeof set - 1), p);
    r->def = ifs_set_find(r->projection, set);
    if (!r->def) {
        snprintf(r->why, sizeof r->why, "projection %s has no entity set %s", r->projection,
                 set);
        return;
    }
    p += n;
    if (!*p) {
        r->kind = R_COLLECTION;
        return;
    }
    const char *close = *p == '(' ? close_paren(p) : NULL;
    if (!close) {
        snprintf(r->why, sizeof r->why, "no resource %s%s under %s", set, p, r->projection);
        return;
    }
    r->keypred = xasprintf("%.*s", (int)(close - p + 1), p);
    p = close + 1;
    if (!*p) {
        r->kind = R_ENTITY;
        return;
    }
    char prefix[256];
    snprintf(prefix, sizeof prefix, "/IfsApp.%s.%s_", r->def->projection, r->def->entity);
    if (str_starts(p, prefix) && ifs_action_state(r->def, p + strlen(prefix)) &&
        strlen(p + strlen(prefix)) < sizeof r->action) {
        snprintf(r->action, sizeof r->action, "%s", p + strlen(prefix));
        r->kind = R_ACTION;
        return;
    }
    snprintf(r->why, sizeof r->why, "%s has no bound operation %s (actions are called as "
             "%s<Action>)", r->def->set, p + 1, prefix + 1);
}

/* Base of the service the route belongs to: "http://host/main/.../<Projection>.svc". */
static char *service_url(const httpd_req_t *req, const char *projection)
{
    char *base = httpd_base_url(req);
    char *url = xasprintf("%s" API_PREFIX "%s.svc", base, projection);
    free(base);
    return url;
}

/* ---- request details --------------------------------------------------------------------- */

/* Parses the request's OData query options against the route's set; -1 after a 400. */
static int parse_query(const httpd_req_t *req, const route_t *r, sim_params_t *params,
                       odata_query_t *q, httpd_resp_t *resp)
{
    sim_params_read(req, params);
    char err[768];
    if (odata_query_parse(q, (const char *const *)params->names,
                          (const char *const *)params->values, params->n, &r->def->schema, err,
                          sizeof err) < 0) {
        reply_error(resp, 400, "ODP_BAD_REQUEST", "%s", err);
        return -1;
    }
    return 0;
}

static bool wants_ieee754(const httpd_req_t *req)
{
    const char *accept = httpd_header(req, "Accept");
    return accept && strcasestr(accept, "IEEE754Compatible=true");
}

/* odata.maxpagesize from the Prefer header, 0 when absent. */
static long prefer_maxpagesize(const httpd_req_t *req)
{
    const char *prefer = httpd_header(req, "Prefer");
    const char *p = prefer ? strcasestr(prefer, "odata.maxpagesize=") : NULL;
    long n = p ? strtol(p + 18, NULL, 10) : 0;
    return n > 0 ? n : 0;
}

static bool prefer_minimal(const httpd_req_t *req)
{
    const char *prefer = httpd_header(req, "Prefer");
    return prefer && strcasestr(prefer, "return=minimal");
}

/* Appends the query options except $skiptoken, re-encoded, each followed by '&'. */
static void append_query_for_next(buf_t *b, const sim_params_t *p)
{
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->names[i], "$skiptoken") == 0)
            continue;
        bool dollar = p->names[i][0] == '$';
        char *k = url_encode(p->names[i] + dollar), *v = url_encode(p->values[i]);
        buf_appendf(b, "%s%s=%s&", dollar ? "$" : "", k, v);
        free(k);
        free(v);
    }
}

/* ---- OData operations -------------------------------------------------------------------- */

/* GET of an entity set: parses the query options (400 on error), runs the query with the page
 * size from max_page_size and Prefer: odata.maxpagesize, and answers the page. */
static void api_collection(ifs_sim_t *s, const httpd_req_t *req, const route_t *r,
                           const runtime_t *rt, httpd_resp_t *resp)
{
    sim_params_t params = {0};
    odata_query_t q;
    if (parse_query(req, r, &params, &q, resp) < 0) {
        sim_params_free(&params);
        return;
    }
    char *svc = service_url(req, r->projection);
    buf_t context, next, body;
    buf_init(&context);
    buf_init(&next);
    buf_init(&body);
    buf_appendf(&context, "%s/$metadata#%s", svc, r->def->set);
    if (q.select) {
        for (size_t i = 0; i < q.nselect; i++)
            buf_appendf(&context, "%c%s", i ? ',' : '(', r->def->schema.members[q.select[i]].name);
        buf_append(&context, ")", 1);
    }
    buf_appendf(&next, "%s/%s?", svc, r->def->set);
    append_query_for_next(&next, &params);
    long page = rt->max_page_size, preferred = prefer_maxpagesize(req);
    if (preferred) {
        char v[48];
        snprintf(v, sizeof v, "odata.maxpagesize=%ld", preferred);
        httpd_resp_header(resp, "Preference-Applied", v);
        if (preferred < page)
            page = preferred;
    }
    bool ieee = wants_ieee754(req);
    ifs_page_opts_t opts = {context.data, next.data, page, ieee};
    ifs_store_query(s->store, r->def->id, &q, &opts, &body);
    httpd_resp_header(resp, "OData-Version", "4.0");
    sim_reply_buf(resp, 200, ieee ? CT_ODATA_IEEE : CT_ODATA, &body);
    buf_free(&context);
    buf_free(&next);
    free(svc);
    odata_query_free(&q);
    sim_params_free(&params);
}

/* Parses the route's key predicate; NULL after a 400. Caller frees. */
static char *route_key(const route_t *r, httpd_resp_t *resp)
{
    char err[512];
    char *key = odata_key_parse(r->keypred, r->def->schema.members[0].name, err, sizeof err);
    if (!key)
        reply_error(resp, 400, "ODP_BAD_REQUEST", "%s", err);
    return key;
}

static char *entity_context(const httpd_req_t *req, const route_t *r)
{
    char *svc = service_url(req, r->projection);
    char *ctx = xasprintf("%s/$metadata#%s/$entity", svc, r->def->set);
    free(svc);
    return ctx;
}

/* GET of one entity by key: 200 with ETag header, 400 for a bad key or $select, 404. */
static void api_entity_get(ifs_sim_t *s, const httpd_req_t *req, const route_t *r,
                           httpd_resp_t *resp)
{
    char *key = route_key(r, resp);
    if (!key)
        return;
    sim_params_t params = {0};
    odata_query_t q;
    if (parse_query(req, r, &params, &q, resp) == 0) {
        char *ctx = entity_context(req, r);
        char etag[IFS_ETAG_MAX];
        buf_t body;
        buf_init(&body);
        bool ieee = wants_ieee754(req);
        if (ifs_store_get(s->store, r->def->id, key, q.select, q.nselect, ctx, ieee, &body,
                          etag) < 0) {
            reply_error(resp, 404, "ODP_RESOURCE_NOTFOUND", "%s(%s='%s') does not exist",
                        r->def->set, r->def->schema.members[0].name, key);
        } else {
            httpd_resp_header(resp, "ETag", etag);
            httpd_resp_header(resp, "OData-Version", "4.0");
            sim_reply_buf(resp, 200, ieee ? CT_ODATA_IEEE : CT_ODATA, &body);
        }
        buf_free(&body);
        free(ctx);
        odata_query_free(&q);
    }
    sim_params_free(&params);
    free(key);
}

/* PATCH of an entity or POST of a bound action, with If-Match. */
static void api_write(ifs_sim_t *s, const httpd_req_t *req, const route_t *r,
                      const char *client_id, httpd_resp_t *resp)
{
    char *key = route_key(r, resp);
    if (!key)
        return;
    bool patch = r->kind == R_ENTITY;
    json_t *changes = NULL;
    if (patch) {
        size_t len;
        const char *body = httpd_body(req, &len);
        json_error_t jerr;
        changes = json_loadb(body, len, 0, &jerr);
        if (!changes) {
            reply_error(resp, 400, "ODP_DESERIALIZATION_ERROR",
                        "Error while de-serializing contents: %s", jerr.text);
            free(key);
            return;
        }
    }
    ifs_write_t w = {
        .kind = patch ? IFS_WRITE_PATCH : IFS_WRITE_ACTION,
        .client_id = client_id,
        .if_match = httpd_header(req, "If-Match"),
        .changes = changes,
        .action = patch ? NULL : r->action,
    };
    bool minimal = prefer_minimal(req), ieee = wants_ieee754(req);
    char *ctx = entity_context(req, r);
    buf_t body;
    buf_init(&body);
    ifs_write_result_t res;
    ifs_store_write(s->store, r->def->id, key, &w, now_ms() / 1000, ctx, ieee,
                    patch && !minimal ? &body : NULL, &res);
    if (res.status != 200) {
        if (res.status == 412 || res.status == 428)
            sim_stats_add(s->stats, "write_conflicts", 1);
        reply_error(resp, res.status, res.code, "%s", res.message);
    } else {
        sim_stats_add(s->stats, "writes", 1);
        if (patch)
            httpd_resp_header(resp, "ETag", res.etag);
        httpd_resp_header(resp, "OData-Version", "4.0");
        if (patch && !minimal) {
            sim_reply_buf(resp, 200, ieee ? CT_ODATA_IEEE : CT_ODATA, &body);
        } else {
            if (patch)
                httpd_resp_header(resp, "Preference-Applied", "return=minimal");
            sim_reply_status(resp, 204);
        }
    }
    buf_free(&body);
    free(ctx);
    json_decref(changes);
    free(key);
}

/* The OData service document of the route's projection: its entity sets. */
static void api_service_document(const httpd_req_t *req, const route_t *r, httpd_resp_t *resp)
{
    char *svc = service_url(req, r->projection);
    char *ctx = xasprintf("%s/$metadata", svc);
    json_t *value = json_array();
    for (int i = 0; i < IFS_NSETS; i++) {
        const ifs_set_def_t *d = ifs_set_def((ifs_set_id_t)i);
        if (strcmp(d->projection, r->projection) == 0)
            json_array_append_new(value, json_pack("{s:s,s:s,s:s}", "name", d->set, "kind",
                                                   "EntitySet", "url", d->set));
    }
    httpd_resp_header(resp, "OData-Version", "4.0");
    sim_reply_json(resp, 200, json_pack("{s:s,s:o}", "@odata.context", ctx, "value", value));
    free(ctx);
    free(svc);
}

/* CSDL of the projection: entity types, sets and bound actions. */
static void api_metadata(const route_t *r, httpd_resp_t *resp)
{
    buf_t b;
    buf_init(&b);
    const char *ns = r->projection;
    buf_appendf(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
                "<edmx:Edmx Version=\"4.0\" "
                "xmlns:edmx=\"http://docs.oasis-open.org/odata/ns/edmx\">"
                "<edmx:DataServices><Schema Namespace=\"IfsApp.%s\" "
                "xmlns=\"http://docs.oasis-open.org/odata/ns/edm\">", ns);
    for (int i = 0; i < IFS_NSETS; i++) {
        const ifs_set_def_t *d = ifs_set_def((ifs_set_id_t)i);
        if (strcmp(d->projection, ns) != 0)
            continue;
        buf_appendf(&b, "<EntityType Name=\"%s\"><Key><PropertyRef Name=\"%s\"/></Key>",
                    d->entity, d->schema.members[0].name);
        for (size_t m = 0; m < d->schema.nmembers; m++)
            buf_appendf(&b, "<Property Name=\"%s\" Type=\"%s\"%s/>", d->schema.members[m].name,
                        odata_type_name(d->schema.members[m].type),
                        m == 0 ? " Nullable=\"false\"" : "");
        buf_appendf(&b, "</EntityType>");
        for (const ifs_action_t *a = d->actions; a->name; a++)
            buf_appendf(&b, "<Action Name=\"%s_%s\" IsBound=\"true\"><Parameter Name=\"it\" "
                        "Type=\"IfsApp.%s.%s\"/></Action>", d->entity, a->name, ns, d->entity);
    }
    buf_appendf(&b, "<EntityContainer Name=\"Main\">");
    for (int i = 0; i < IFS_NSETS; i++) {
        const ifs_set_def_t *d = ifs_set_def((ifs_set_id_t)i);
        if (strcmp(d->projection, ns) == 0)
            buf_appendf(&b, "<EntitySet Name=\"%s\" EntityType=\"IfsApp.%s.%s\"/>", d->set, ns,
                        d->entity);
    }
    buf_appendf(&b, "</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>\n");
    httpd_resp_header(resp, "OData-Version", "4.0");
    sim_reply_buf(resp, 200, "application/xml", &b);
}

/* Answers with an injected fault when the dice say so; true when it did. */
static bool inject_fault(ifs_sim_t *s, const runtime_t *rt, httpd_resp_t *resp)
{
    if (!rt->fail_429_pct && !rt->fail_5xx_pct)
        return false;
    unsigned x = sim_dice_roll(s->dice);
    if (x < (unsigned)rt->fail_429_pct * 100) {
        sim_retry_after(resp, 1);
        reply_error(resp, 429, "ODP_TOO_MANY_REQUESTS", "Too many requests (injected fault)");
    } else if (x < (unsigned)(rt->fail_429_pct + rt->fail_5xx_pct) * 100) {
        if (x & 1) {
            sim_retry_after(resp, 1);
            reply_error(resp, 503, "ODP_SERVICE_UNAVAILABLE", "Service unavailable (injected "
                        "fault)");
        } else {
            reply_error(resp, 504, "ODP_GATEWAY_TIMEOUT", "Gateway timeout (injected fault)");
        }
    } else {
        return false;
    }
    sim_stats_add(s->stats, "faults_injected", 1);
    return true;
}

/* 405 with the Allow header. */
static void method_not_allowed(httpd_resp_t *resp, const char *allow, const char *what)
{
    httpd_resp_header(resp, "Allow", allow);
    reply_error(resp, 405, "ODP_METHOD_NOT_ALLOWED", "%s supports %s only", what, allow);
}

/* Answers an OData request: down, token, rate limit and injected faults first (in that
 * order), then the route. Fills label (statistics) and client (the token's client_id). */
static void handle_api(ifs_sim_t *s, const httpd_req_t *req, const runtime_t *rt, char *label,
                       size_t label_len, char *client, size_t client_len, httpd_resp_t *resp)
{
    route_t r;
    route_parse(httpd_path(req) + strlen(API_PREFIX), &r);
    switch (r.kind) {
    case R_SERVICE: snprintf(label, label_len, "service"); break;
    case R_METADATA: snprintf(label, label_len, "$metadata"); break;
    case R_COLLECTION:
    case R_ENTITY: snprintf(label, label_len, "%s", r.def->set); break;
    case R_ACTION: snprintf(label, label_len, "%s/%s", r.def->set, r.action); break;
    case R_NOTFOUND: snprintf(label, label_len, "other"); break;
    }
    const char *method = httpd_method(req);
    char why[128];
    long wait;
    if (rt->down) {
        sim_retry_after(resp, 1);
        reply_error(resp, 503, "ODP_SERVICE_UNAVAILABLE", "IFS Cloud is down (simulated)");
    } else if (ifs_auth_check(s->auth, httpd_header(req, "Authorization"), now_ms(), client,
                              client_len, why, sizeof why) < 0) {
        httpd_resp_header(resp, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
        reply_error(resp, 401, "UNAUTHORIZED", "%s", why);
    } else if ((wait = sim_ratelimit_admit(s->limits, client, rt->rate_per_min,
                                           now_ms())) > 0) {
        sim_stats_add(s->stats, "rate_rejected", 1);
        sim_retry_after(resp, wait);
        reply_error(resp, 429, "ODP_TOO_MANY_REQUESTS", "Rate limit of %ld requests per minute "
                    "exceeded for client %s; retry after %ld s", rt->rate_per_min, client, wait);
    } else if (!inject_fault(s, rt, resp)) {
        if (r.kind == R_NOTFOUND) {
            reply_error(resp, 404, "ODP_RESOURCE_NOTFOUND", "%s", r.why);
        } else if (r.kind == R_SERVICE || r.kind == R_METADATA) {
            if (strcmp(method, "GET") != 0)
                method_not_allowed(resp, "GET", r.kind == R_SERVICE ? "the service document"
                                                                    : "$metadata");
            else if (r.kind == R_SERVICE)
                api_service_document(req, &r, resp);
            else
                api_metadata(&r, resp);
        } else if (r.kind == R_COLLECTION) {
            if (strcmp(method, "GET") != 0)
                method_not_allowed(resp, "GET", "an entity set of the simulator");
            else
                api_collection(s, req, &r, rt, resp);
        } else if (r.kind == R_ENTITY) {
            if (strcmp(method, "GET") == 0)
                api_entity_get(s, req, &r, resp);
            else if (strcmp(method, "PATCH") == 0)
                api_write(s, req, &r, client, resp);
            else
                method_not_allowed(resp, "GET, PATCH", "an entity");
        } else if (strcmp(method, "POST") != 0) {
            method_not_allowed(resp, "POST", "a bound action");
        } else {
            api_write(s, req, &r, client, resp);
        }
    }
    free(r.keypred);
}

/* ---- /_sim/ control endpoints ------------------------------------------------------------ */

/* Parses the request body as a JSON object; NULL after a 400. */
static json_t *admin_body(const httpd_req_t *req, httpd_resp_t *resp)
{
    char err[256];
    json_t *j = sim_json_object_body(req, err, sizeof err);
    if (!j)
        reply_error(resp, 400, "SIM_BAD_REQUEST", "%s", err);
    return j;
}

/* {"<Set>":rows,...} (new reference). */
static json_t *entity_counts(ifs_sim_t *s)
{
    json_t *j = json_object();
    for (int i = 0; i < IFS_NSETS; i++)
        json_object_set_new(j, ifs_set_def((ifs_set_id_t)i)->set,
                            json_integer((json_int_t)ifs_store_count(s->store,
                                                                     (ifs_set_id_t)i)));
    return j;
}

/* POST /_sim/config: applies a subset of the runtime settings, all or nothing. */
static void admin_config(ifs_sim_t *s, json_t *body, httpd_resp_t *resp)
{
    pthread_mutex_lock(&s->mu);
    runtime_t rt = s->rt;
    char err[768];
    int rc = sim_settings_update(RUNTIME, &rt, body, err, sizeof err);
    if (rc == 0)
        s->rt = rt;
    pthread_mutex_unlock(&s->mu);
    if (rc < 0)
        reply_error(resp, 400, "SIM_BAD_REQUEST", "%s", err);
    else
        sim_reply_json(resp, 200, sim_settings_json(RUNTIME, &rt));
}

/* POST /_sim/seed: merges the body into the seed settings and replaces all data. */
static void admin_seed(ifs_sim_t *s, json_t *body, httpd_resp_t *resp)
{
    char err[256];
    pthread_mutex_lock(&s->mu);
    int rc = ifs_seed_parse(&s->seed, body, err, sizeof err);
    ifs_seed_t seed;
    if (rc == 0) {
        ifs_seed_copy(&seed, &s->seed);
        sim_dice_reseed(s->dice, seed.random_seed);
    }
    pthread_mutex_unlock(&s->mu);
    if (rc < 0) {
        reply_error(resp, 400, "SIM_BAD_REQUEST", "%s", err);
        return;
    }
    ifs_store_seed(s->store, &seed, now_ms() / 1000);
    ifs_seed_free(&seed);
    sim_reply_json(resp, 200, entity_counts(s));
}

/* POST /_sim/ifs/modify: a change made inside IFS (or a create); answers the entity. */
static void admin_modify(ifs_sim_t *s, json_t *body, httpd_resp_t *resp)
{
    const char *set = json_string_value(json_object_get(body, "set"));
    const char *key = json_string_value(json_object_get(body, "key"));
    json_t *changes = json_object_get(body, "changes");
    json_t *create = json_object_get(body, "create");
    const ifs_set_def_t *def = set ? ifs_set_find(NULL, set) : NULL;
    if (!def || !key || !*key || (changes && !json_is_object(changes)) ||
        (create && !json_is_boolean(create))) {
        reply_error(resp, 400, "SIM_BAD_REQUEST", "expected {\"set\":\"PurchaseOrderSet|"
                    "ManSuppInvoiceSet|SupplierInfoGeneralSet\",\"key\":\"...\",\"changes\":"
                    "{...},\"create\":false}");
        return;
    }
    json_t *tmpl = NULL;
    if (json_is_true(create)) {
        pthread_mutex_lock(&s->mu);
        tmpl = ifs_seed_row(&s->seed, def->id, (long)ifs_store_count(s->store, def->id),
                            now_ms() / 1000);
        pthread_mutex_unlock(&s->mu);
    }
    json_t *empty = json_object();
    ifs_write_t w = {.kind = IFS_WRITE_SIM, .changes = changes ? changes : empty,
                     .create = tmpl};
    buf_t out;
    buf_init(&out);
    ifs_write_result_t res;
    ifs_store_write(s->store, def->id, key, &w, now_ms() / 1000, NULL, false, &out, &res);
    if (res.status != 200)
        reply_error(resp, res.status, res.code, "%s", res.message);
    else
        sim_reply_buf(resp, 200, "application/json", &out);
    buf_free(&out);
    json_decref(empty);
    json_decref(tmpl);
}

/* GET /_sim/ifs/entity?set=..&key=..: the entity and its write log. */
static void admin_entity(ifs_sim_t *s, const httpd_req_t *req, httpd_resp_t *resp)
{
    const char *set = httpd_query(req, "set"), *key = httpd_query(req, "key");
    const ifs_set_def_t *def = set ? ifs_set_find(NULL, set) : NULL;
    if (!def || !key) {
        reply_error(resp, 400, "SIM_BAD_REQUEST", "expected ?set=<EntitySet>&key=<key>");
        return;
    }
    buf_t out;
    buf_init(&out);
    if (ifs_store_inspect(s->store, def->id, key, &out) < 0)
        reply_error(resp, 404, "ODP_RESOURCE_NOTFOUND", "%s %s does not exist", set, key);
    else
        sim_reply_buf(resp, 200, "application/json", &out);
    buf_free(&out);
}

/* Dispatches the /_sim/ control endpoints (no auth, not counted in the statistics). */
static void handle_admin(ifs_sim_t *s, const httpd_req_t *req, httpd_resp_t *resp)
{
    const char *what = httpd_path(req) + strlen("/_sim/");
    bool get = strcmp(httpd_method(req), "GET") == 0;
    bool post = strcmp(httpd_method(req), "POST") == 0;
    if (strcmp(what, "stats") == 0 && get) {
        json_t *j = sim_stats_json(s->stats, now_ms());
        json_object_set_new(j, "entities", entity_counts(s));
        sim_reply_json(resp, 200, j);
        return;
    }
    if (strcmp(what, "reset-stats") == 0 && post) {
        sim_stats_reset(s->stats, now_ms());
        sim_ratelimit_reset(s->limits);
        sim_reply_json(resp, 200, json_pack("{s:b}", "ok", 1));
        return;
    }
    if (strcmp(what, "config") == 0 && get) {
        runtime_t rt = runtime_snapshot(s);
        sim_reply_json(resp, 200, sim_settings_json(RUNTIME, &rt));
        return;
    }
    if (strcmp(what, "ifs/entity") == 0 && get) {
        admin_entity(s, req, resp);
        return;
    }
    if (strcmp(what, "ifs/revoke-tokens") == 0 && post) {
        sim_reply_json(resp, 200, json_pack("{s:I}", "revoked",
                                        (json_int_t)ifs_auth_revoke_all(s->auth)));
        return;
    }
    void (*with_body)(ifs_sim_t *, json_t *, httpd_resp_t *) = NULL;
    if (strcmp(what, "config") == 0)
        with_body = admin_config;
    else if (strcmp(what, "seed") == 0)
        with_body = admin_seed;
    else if (strcmp(what, "ifs/modify") == 0)
        with_body = admin_modify;
    if (!with_body || !post) {
        reply_error(resp, 404, "SIM_NOT_FOUND", "no control endpoint %s %s (see "
                    "docs/simulators.md)", httpd_method(req), httpd_path(req));
        return;
    }
    json_t *body = admin_body(req, resp);
    if (body) {
        with_body(s, body, resp);
        json_decref(body);
    }
}

/* ---- dispatch ---------------------------------------------------------------------------- */

void ifs_sim_handle(void *ud, const httpd_req_t *req, httpd_resp_t *resp)
{
    ifs_sim_t *s = ud;
    const char *path = httpd_path(req);
    if (str_starts(path, "/_sim/")) {
        handle_admin(s, req, resp);
        return;
    }
    runtime_t rt = runtime_snapshot(s);
    sleep_ms(rt.latency_ms);
    char label[192] = "other", client[128] = "";
    if (str_starts(path, REALM_PREFIX))
        handle_realm(s, req, &rt, label, sizeof label, resp);
    else if (str_starts(path, API_PREFIX))
        handle_api(s, req, &rt, label, sizeof label, client, sizeof client, resp);
    else
        reply_error(resp, 404, "ODP_RESOURCE_NOTFOUND", "no resource at %s", path);
    sim_stats_request(s->stats, httpd_method(req), label, resp->status,
                      client[0] ? client : NULL, now_ms());
}
