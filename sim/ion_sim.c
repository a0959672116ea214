/* ion_sim: see ion_sim.h. This file holds the configuration, the gateway (tenant routing,
 * bearer check, rate limit, faults, latency) and the /_sim/ control endpoints; tokens, data,
 * M3 and IDO semantics live in ion_auth, ion_store, ion_m3 and ion_ido. */
#include "ion_sim.h"

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ion_auth.h"
#include "ion_ido.h"
#include "ion_m3.h"
#include "ion_seed.h"
#include "ion_store.h"
#include "sim_dice.h"
#include "sim_http.h"
#include "sim_oauth.h"
#include "sim_ratelimit.h"
#include "sim_settings.h"
#include "sim_stats.h"
#include "util.h"

#define MONGOOSE_CONFIG "DEMO_SITE"
#define M3_V2_PREFIX "M3/m3api-rest/v2/execute/"
#define M3_V1_PREFIX "M3/m3api-rest/execute/"
#define IDO_LOAD_PREFIX "CSI/IDORequestService/ido/load/"
#define IDO_UPDATE_PREFIX "CSI/IDORequestService/ido/update/"

/* Settings that /_sim/config may change while running. */
typedef struct {
    long token_lifetime_s;
    long refresh_token_lifetime_s;
    bool issue_refresh_tokens;
    long rate_per_min;
    long latency_ms;
    long fail_429_pct;
    long fail_500_pct;
    long max_maxrecs;
    bool down;
} runtime_t;

static const sim_setting_t RUNTIME[] = {
    {"token_lifetime_s", offsetof(runtime_t, token_lifetime_s), 1, 366L * 86400, false},
    {"refresh_token_lifetime_s", offsetof(runtime_t, refresh_token_lifetime_s), 1,
     366L * 86400, false},
    {"issue_refresh_tokens", offsetof(runtime_t, issue_refresh_tokens), 0, 0, true},
    {"rate_per_min", offsetof(runtime_t, rate_per_min), 0, 100000000, false},
    {"latency_ms", offsetof(runtime_t, latency_ms), 0, 600000, false},
    {"fail_429_pct", offsetof(runtime_t, fail_429_pct), 0, 100, false},
    {"fail_500_pct", offsetof(runtime_t, fail_500_pct), 0, 100, false},
    {"max_maxrecs", offsetof(runtime_t, max_maxrecs), 1, 1000000, false},
    {"down", offsetof(runtime_t, down), 0, 0, true},
    {NULL, 0, 0, 0, false},
};

static const char *const COUNTERS[] = {
    "tokens_issued", "refreshes", "revocations", "writes", "write_conflicts", "m3_nok",
    "rate_rejected", "faults_injected", NULL,
};

struct ion_sim {
    pthread_mutex_t  mu;       /* guards rt and seed */
    runtime_t        rt;
    ion_seed_t       seed;
    sim_dice_t      *dice;     /* fault injection, seeded from seed.random_seed */
    ion_auth_t      *auth;
    ion_store_t     *store;
    sim_stats_t     *stats;
    sim_ratelimit_t *limits;   /* per tenant */
};

/* ---- configuration ----------------------------------------------------------------------- */

static runtime_t runtime_snapshot(ion_sim_t *s)
{
    pthread_mutex_lock(&s->mu);
    runtime_t rt = s->rt;
    pthread_mutex_unlock(&s->mu);
    return rt;
}

/* Reads the startup configuration into s->rt and s->seed. 0, or -1 with err. */
static int parse_config(ion_sim_t *s, const json_t *cfg, char *err, size_t err_len)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)cfg, k, v) {
        char why[512], names[512];
        int r = sim_setting_apply(RUNTIME, &s->rt, k, v, why, sizeof why);
        if (r == 0 && strcmp(k, "seed") == 0)
            r = ion_seed_parse(&s->seed, v, why, sizeof why) < 0 ? -1 : 1;
        if (r == 0)
            snprintf(why, sizeof why, "unknown member '%s' (known: %s seed)", k,
                     sim_settings_names(RUNTIME, names, sizeof names));
        if (r <= 0) {
            snprintf(err, err_len, "ion config: %s", why);
            return -1;
        }
    }
    return 0;
}

ion_sim_t *ion_sim_new(const char *config_json, char *err, size_t err_len)
{
    json_error_t jerr;
    json_t *cfg = config_json ? json_loads(config_json, 0, &jerr) : json_object();
    if (!cfg) {
        snprintf(err, err_len, "ion config: invalid JSON: %s (line %d, column %d)", jerr.text,
                 jerr.line, jerr.column);
        return NULL;
    }
    if (!json_is_object(cfg)) {
        snprintf(err, err_len, "ion config: must be a JSON object");
        json_decref(cfg);
        return NULL;
    }
    ion_sim_t *s = xcalloc(1, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    s->rt = (runtime_t){.token_lifetime_s = 7200, .refresh_token_lifetime_s = 28800,
                        .issue_refresh_tokens = true, .max_maxrecs = 10000};
    ion_seed_init(&s->seed);
    int rc = parse_config(s, cfg, err, err_len);
    json_decref(cfg);
    if (rc < 0) {
        pthread_mutex_destroy(&s->mu);
        free(s);
        return NULL;
    }
    s->dice = sim_dice_new(s->seed.random_seed);
    s->auth = ion_auth_new();
    s->store = ion_store_new();
    s->stats = sim_stats_new(COUNTERS, "tenants");
    s->limits = sim_ratelimit_new();
    ion_store_seed(s->store, &s->seed, now_ms());
    return s;
}

void ion_sim_destroy(ion_sim_t **sp)
{
    if (!sp || !*sp)
        return;
    ion_sim_t *s = *sp;
    ion_auth_destroy(&s->auth);
    ion_store_destroy(&s->store);
    sim_stats_destroy(&s->stats);
    sim_ratelimit_destroy(&s->limits);
    sim_dice_destroy(&s->dice);
    pthread_mutex_destroy(&s->mu);
    free(s);
    *sp = NULL;
}

/* ---- gateway answers --------------------------------------------------------------------- */

static const char *reason_phrase(int status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Error";
    }
}

/* The gateway's own error body {"status","error","message","path"}. */
static void gateway_error(httpd_resp_t *resp, const httpd_req_t *req, int status,
                          const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void gateway_error(httpd_resp_t *resp, const httpd_req_t *req, int status,
                          const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sim_reply_json(resp, status, json_pack("{s:i,s:s,s:s,s:s}", "status", status, "error",
                                           reason_phrase(status), "message", msg, "path",
                                           httpd_path(req)));
}

static void method_not_allowed(httpd_resp_t *resp, const httpd_req_t *req, const char *allow)
{
    httpd_resp_header(resp, "Allow", allow);
    gateway_error(resp, req, 405, "%s is not allowed here (allowed: %s)", httpd_method(req),
                  allow);
}

/* ---- the authorization server ------------------------------------------------------------ */

/* POST /{ti}/as/token.oauth2 (ion_auth_token); counts tokens_issued and refreshes. */
static void handle_token(ion_sim_t *s, const ion_tenant_t *t, const httpd_req_t *req,
                         const runtime_t *rt, httpd_resp_t *resp)
{
    if (strcmp(httpd_method(req), "POST") != 0) {
        httpd_resp_header(resp, "Allow", "POST");
        char *body = sim_oauth_error("invalid_request", "The token endpoint takes POST");
        httpd_resp_json(resp, 405, body);
        free(body);
        return;
    }
    ion_token_opts_t o = {rt->token_lifetime_s, rt->refresh_token_lifetime_s,
                          rt->issue_refresh_tokens};
    ion_token_reply_t tr;
    ion_auth_token(s->auth, t, httpd_header(req, "Content-Type"),
                   httpd_header(req, "Authorization"), httpd_body(req, NULL), &o, now_ms(), &tr);
    if (tr.status == 200)
        sim_stats_add(s->stats, "tokens_issued", 1);
    if (tr.issued == ION_ISSUED_REFRESH)
        sim_stats_add(s->stats, "refreshes", 1);
    httpd_resp_json(resp, tr.status, tr.body);
    httpd_resp_header(resp, "Cache-Control", "no-store");
    free(tr.body);
}

/* Revocation: POST with a form body, or GET with the same parameters in the query. */
static void handle_revoke(ion_sim_t *s, const ion_tenant_t *t, const httpd_req_t *req,
                          httpd_resp_t *resp)
{
    bool post = strcmp(httpd_method(req), "POST") == 0;
    if (!post && strcmp(httpd_method(req), "GET") != 0) {
        method_not_allowed(resp, req, "POST, GET");
        return;
    }
    const char *body = httpd_body(req, NULL);
    const char *names[] = {"token", "token_type_hint", "client_id", "client_secret"};
    char *vals[4];
    for (int i = 0; i < 4; i++)
        vals[i] = post ? sim_oauth_form_field(body, names[i]) : xstrdup(httpd_query(req,
                                                                                  names[i]));
    char *err = NULL;
    long revoked = 0;
    int status = ion_auth_revoke(s->auth, t, httpd_header(req, "Authorization"), vals[2],
                                 vals[3], vals[0], vals[1], &err, &revoked);
    if (revoked > 0)
        sim_stats_add(s->stats, "revocations", 1);
    if (err)
        httpd_resp_json(resp, status, err);
    else
        sim_reply_status(resp, 200);
    free(err);
    for (int i = 0; i < 4; i++)
        free(vals[i]);
}

/* ---- M3 and IDO -------------------------------------------------------------------------- */

/* An M3 execute call (spec = the path after ".../execute/"): 405 unless GET, 400 for a bad
 * PROGRAM/TRANSACTION;matrix part, else ion_m3_execute with the query as inputs. */
static void handle_m3(ion_sim_t *s, const ion_tenant_t *t, const httpd_req_t *req,
                      const runtime_t *rt, const char *spec, int version, httpd_resp_t *resp)
{
    if (strcmp(httpd_method(req), "GET") != 0) {
        method_not_allowed(resp, req, "GET");
        return;
    }
    ion_m3_call_t call;
    char err[512];
    buf_t out;
    buf_init(&out);
    if (ion_m3_parse_call(spec, version, &call, err, sizeof err) < 0) {
        ion_m3_error_body(&out, version, "", NULL, NULL, err);
        sim_reply_buf(resp, 400, "application/json", &out);
        return;
    }
    sim_params_t p = {0};
    sim_params_read(req, &p);
    pthread_mutex_lock(&s->mu);
    ion_seed_t seed = s->seed;
    pthread_mutex_unlock(&s->mu);
    ion_m3_env_t env = {seed.company, seed.division, t->user, rt->max_maxrecs, now_ms()};
    ion_m3_result_t res;
    ion_m3_execute(s->store, &env, &call, (const char *const *)p.names,
                   (const char *const *)p.values, p.n, &out, &res);
    if (res.nok)
        sim_stats_add(s->stats, "m3_nok", 1);
    if (res.wrote)
        sim_stats_add(s->stats, "writes", 1);
    sim_reply_buf(resp, res.status, "application/json", &out);
    sim_params_free(&p);
    ion_m3_call_free(&call);
}

/* The IDO-level failure answer {"Items":null,...,"Success":false,"Message"}. */
static void ido_failure(httpd_resp_t *resp, int status, const char *message)
{
    sim_reply_json(resp, status, json_pack("{s:n,s:n,s:b,s:b,s:s}", "Items", "Bookmark",
                                           "MoreRowsExist", 0, "Success", 0, "Message",
                                           message));
}

static const char *const LOAD_PARAMS[] = {"properties", "filter", "orderby", "recordcap",
                                          "loadtype", "bookmark", NULL};

/* An IDO load (GET) or update (POST) of ido: the Mongoose configuration header (400), the IDO
 * and the query parameters are checked here, the rest is ion_ido_load / ion_ido_update. */
static void handle_ido(ion_sim_t *s, const ion_tenant_t *t, const httpd_req_t *req, bool load,
                       const char *ido, httpd_resp_t *resp)
{
    const char *method = httpd_method(req);
    if (strcmp(method, load ? "GET" : "POST") != 0) {
        method_not_allowed(resp, req, load ? "GET" : "POST");
        return;
    }
    const char *config = httpd_header(req, "X-Infor-MongooseConfig");
    if (!config || !*config) {
        ido_failure(resp, 400, "The X-Infor-MongooseConfig header is required (the "
                    "configuration name, e.g. " MONGOOSE_CONFIG ")");
        return;
    }
    if (strcmp(config, MONGOOSE_CONFIG) != 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "Configuration '%.100s' does not exist (X-Infor-"
                 "MongooseConfig)", config);
        ido_failure(resp, 400, msg);
        return;
    }
    const ion_table_t *table = ion_table_by_ido(ido);
    if (!table) {
        char msg[256];
        snprintf(msg, sizeof msg, "IDO %.100s does not exist in configuration "
                 MONGOOSE_CONFIG " (served: SLPos, SLVchHdrs, SLVendors)", ido);
        ido_failure(resp, 200, msg);
        return;
    }
    sim_params_t p = {0};
    sim_params_read(req, &p);
    for (size_t i = 0; i < p.n; i++) {
        bool known = !load && strcmp(p.names[i], "refresh") == 0;
        for (int k = 0; load && LOAD_PARAMS[k] && !known; k++)
            known = strcmp(p.names[i], LOAD_PARAMS[k]) == 0;
        if (!known) {
            char msg[256];
            snprintf(msg, sizeof msg, "Query parameter '%.64s' is not served by the simulator "
                     "(%s)", p.names[i], load ? "properties filter orderby recordcap loadtype "
                     "bookmark" : "refresh");
            ido_failure(resp, 200, msg);
            sim_params_free(&p);
            return;
        }
    }
    sim_params_free(&p);
    buf_t out;
    buf_init(&out);
    if (load) {
        ion_ido_load_t q = {httpd_query(req, "properties"), httpd_query(req, "filter"),
                            httpd_query(req, "orderby"), httpd_query(req, "recordcap"),
                            httpd_query(req, "loadtype"), httpd_query(req, "bookmark")};
        ion_ido_load(s->store, table, &q, &out);
        sim_reply_buf(resp, 200, "application/json", &out);
        return;
    }
    const char *refresh = httpd_query(req, "refresh");
    size_t len;
    const char *body = httpd_body(req, &len);
    ion_ido_update_result_t res;
    ion_ido_update(s->store, table, body, len, refresh && strcasecmp(refresh, "true") == 0,
                   t->user, now_ms(), &out, &res);
    sim_stats_add(s->stats, "writes", res.written);
    if (res.conflict)
        sim_stats_add(s->stats, "write_conflicts", 1);
    sim_reply_buf(resp, res.status, "application/json", &out);
}

/* Answers with an injected fault when the dice say so; true when it did. */
static bool inject_fault(ion_sim_t *s, const httpd_req_t *req, const runtime_t *rt,
                         httpd_resp_t *resp)
{
    if (!rt->fail_429_pct && !rt->fail_500_pct)
        return false;
    unsigned x = sim_dice_roll(s->dice);
    if (x < (unsigned)rt->fail_429_pct * 100) {
        sim_retry_after(resp, 1);
        gateway_error(resp, req, 429, "Too many requests (injected fault)");
    } else if (x < (unsigned)(rt->fail_429_pct + rt->fail_500_pct) * 100) {
        gateway_error(resp, req, 500, "The backend did not answer the gateway (injected "
                      "fault)");
    } else {
        return false;
    }
    sim_stats_add(s->stats, "faults_injected", 1);
    return true;
}

/* Sets label (statistics) for an API path below /{ti}/. */
static void api_label(const char *rest, char *label, size_t len)
{
    if (str_starts(rest, M3_V2_PREFIX))
        snprintf(label, len, "M3 v2 %.64s", rest + strlen(M3_V2_PREFIX));
    else if (str_starts(rest, M3_V1_PREFIX))
        snprintf(label, len, "M3 v1 %.64s", rest + strlen(M3_V1_PREFIX));
    else if (str_starts(rest, IDO_LOAD_PREFIX))
        snprintf(label, len, "IDO load %.64s", rest + strlen(IDO_LOAD_PREFIX));
    else if (str_starts(rest, IDO_UPDATE_PREFIX))
        snprintf(label, len, "IDO update %.64s", rest + strlen(IDO_UPDATE_PREFIX));
    else
        snprintf(label, len, "other");
    char *semi = strchr(label, ';');   /* matrix parameters are not part of the route */
    if (semi)
        *semi = '\0';
}

/* Routes an admitted API request of tenant t (rest = the path after "/{ti}/"). */
static void route_api(ion_sim_t *s, const ion_tenant_t *t, const httpd_req_t *req,
                      const runtime_t *rt, const char *rest, httpd_resp_t *resp)
{
    if (t->system == ION_M3 && str_starts(rest, M3_V2_PREFIX))
        handle_m3(s, t, req, rt, rest + strlen(M3_V2_PREFIX), 2, resp);
    else if (t->system == ION_M3 && str_starts(rest, M3_V1_PREFIX))
        handle_m3(s, t, req, rt, rest + strlen(M3_V1_PREFIX), 1, resp);
    else if (t->system == ION_SL && str_starts(rest, IDO_LOAD_PREFIX))
        handle_ido(s, t, req, true, rest + strlen(IDO_LOAD_PREFIX), resp);
    else if (t->system == ION_SL && str_starts(rest, IDO_UPDATE_PREFIX))
        handle_ido(s, t, req, false, rest + strlen(IDO_UPDATE_PREFIX), resp);
    else
        gateway_error(resp, req, 404, "No API is published at %s for tenant %s (%s)",
                      httpd_path(req), t->ti, t->system == ION_M3 ?
                      "M3: M3/m3api-rest/v2/execute/.., M3/m3api-rest/execute/.." :
                      "SyteLine: CSI/IDORequestService/ido/load|update/..");
}

/* An API request of tenant t: down, bearer token, rate limit and injected faults first (in
 * that order), then the route. */
static void handle_api(ion_sim_t *s, const ion_tenant_t *t, const httpd_req_t *req,
                       const runtime_t *rt, const char *rest, httpd_resp_t *resp)
{
    char why[160];
    long wait;
    if (rt->down) {
        sim_retry_after(resp, 1);
        gateway_error(resp, req, 503, "The ION API gateway is down (simulated)");
    } else if (ion_auth_check(s->auth, t, httpd_header(req, "Authorization"), now_ms(), why,
                              sizeof why) < 0) {
        httpd_resp_header(resp, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
        gateway_error(resp, req, 401, "%s", why);
    } else if ((wait = sim_ratelimit_admit(s->limits, t->ti, rt->rate_per_min, now_ms())) > 0) {
        sim_stats_add(s->stats, "rate_rejected", 1);
        sim_retry_after(resp, wait);
        gateway_error(resp, req, 429, "Rate limit of %ld requests per minute exceeded for "
                      "tenant %s; retry after %ld s", rt->rate_per_min, t->ti, wait);
    } else if (!inject_fault(s, req, rt, resp)) {
        route_api(s, t, req, rt, rest, resp);
    }
}

/* ---- /_sim/ control endpoints ------------------------------------------------------------ */

static void admin_error(httpd_resp_t *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void admin_error(httpd_resp_t *resp, int status, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sim_reply_json(resp, status, json_pack("{s:s}", "error", msg));
}

/* {"DEMO_TST":{"po":N,"invoice":N,"supplier":N},"DEMO_CSI":{...}} (new reference). */
static json_t *row_counts(ion_sim_t *s)
{
    json_t *j = json_object();
    for (size_t i = 0; i < ion_ntenants(); i++) {
        const ion_tenant_t *t = ion_tenant_at(i);
        json_t *per = json_object();
        for (int k = 0; k < ION_NTABLES; k++) {
            const ion_table_t *tb = ion_table((ion_table_id_t)k);
            if (tb->system == t->system)
                json_object_set_new(per, tb->name,
                                    json_integer((json_int_t)ion_store_count(s->store, tb->id)));
        }
        json_object_set_new(j, t->ti, per);
    }
    return j;
}

/* POST /_sim/config: applies a subset of the runtime settings, all or nothing. */
static void admin_config(ion_sim_t *s, json_t *body, httpd_resp_t *resp)
{
    pthread_mutex_lock(&s->mu);
    runtime_t rt = s->rt;
    char err[768];
    int rc = sim_settings_update(RUNTIME, &rt, body, err, sizeof err);
    if (rc == 0)
        s->rt = rt;
    pthread_mutex_unlock(&s->mu);
    if (rc < 0)
        admin_error(resp, 400, "%s", err);
    else
        sim_reply_json(resp, 200, sim_settings_json(RUNTIME, &rt));
}

/* POST /_sim/seed: merges the body into the seed settings and replaces all data. */
static void admin_seed(ion_sim_t *s, json_t *body, httpd_resp_t *resp)
{
    char err[512];
    pthread_mutex_lock(&s->mu);
    int rc = ion_seed_parse(&s->seed, body, err, sizeof err);
    ion_seed_t seed = s->seed;
    pthread_mutex_unlock(&s->mu);
    if (rc < 0) {
        admin_error(resp, 400, "%s", err);
        return;
    }
    sim_dice_reseed(s->dice, seed.random_seed);
    ion_store_seed(s->store, &seed, now_ms());
    sim_reply_json(resp, 200, row_counts(s));
}

/* The table named by tenant + table members / query parameters; NULL after a 400. */
static const ion_table_t *admin_table(const char *ti, const char *name, httpd_resp_t *resp)
{
    const ion_tenant_t *t = ti ? ion_tenant(ti) : NULL;
    const ion_table_t *tb = t && name ? ion_table_by_name(t->system, name) : NULL;
    if (!tb)
        admin_error(resp, 400, "expected tenant DEMO_TST or DEMO_CSI and table po, invoice or "
                    "supplier");
    return tb;
}

/* The record answer: {"fields":{..},"write_log":[..]} plus "_ItemId" on SyteLine. */
static json_t *record_json(const ion_table_t *tb, const ion_row_t *row)
{
    json_t *j = ion_store_row_json(tb->id, row);
    if (tb->system == ION_SL) {
        char item_id[192];
        json_object_set_new(j, "_ItemId",
                            json_string(ion_item_id(tb, row->vals, item_id, sizeof item_id)));
    }
    return j;
}

/* POST /_sim/ion/modify: a change made inside the ERP (or a new record with "create"). */
static void admin_modify(ion_sim_t *s, json_t *body, httpd_resp_t *resp)
{
    const ion_table_t *tb = admin_table(json_string_value(json_object_get(body, "tenant")),
                                        json_string_value(json_object_get(body, "table")), resp);
    if (!tb)
        return;
    const char *key = json_string_value(json_object_get(body, "key"));
    json_t *changes = json_object_get(body, "changes");
    json_t *create = json_object_get(body, "create");
    if (!key || !*key || (changes && !json_is_object(changes)) ||
        (create && !json_is_boolean(create))) {
        admin_error(resp, 400, "expected {\"tenant\":..,\"table\":..,\"key\":\"..\","
                    "\"changes\":{\"FIELD\":\"text\",..},\"create\":false}");
        return;
    }
    size_t n = json_object_size(changes), i = 0;
    ion_change_t *ch = xcalloc(n + 1, sizeof *ch);
    const char *k;
    json_t *v;
    json_object_foreach(changes, k, v) {
        if (!json_is_string(v)) {
            admin_error(resp, 400, "changes.%s: values are wire texts (JSON strings)", k);
            free(ch);
            return;
        }
        ch[i++] = (ion_change_t){k, json_string_value(v)};
    }
    pthread_mutex_lock(&s->mu);
    ion_seed_t seed = s->seed;
    pthread_mutex_unlock(&s->mu);
    int64_t now = now_ms();
    char **tmpl = json_is_true(create) ?
                  ion_seed_row(&seed, tb->id, (long)ion_store_count(s->store, tb->id), now) :
                  NULL;
    ion_write_t w = {"sim", "SIMUSER", ch, n, true};
    char err[512];
    ion_store_wrlock(s->store);
    ion_row_t *row = ion_store_find(s->store, tb->id, key);
    int status = 200;
    if (!row && tmpl) {
        free(tmpl[tb->key]);
        tmpl[tb->key] = xstrdup(key);
        if (ion_field_check(&tb->fields[tb->key], tb->system, key, err, sizeof err) < 0) {
            status = 400;
            ion_seed_row_free(tmpl, tb->id);
        } else {
            row = ion_store_insert(s->store, tb->id, tmpl);
        }
        tmpl = NULL;
    }
    if (status == 200 && !row) {
        status = 404;
        snprintf(err, sizeof err, "%s has no %s with key %s (\"create\":true makes one)",
                 tb->system == ION_M3 ? "DEMO_TST" : "DEMO_CSI", tb->name, key);
    }
    if (status == 200 && ion_store_apply(tb->id, row, &w, now, err, sizeof err) < 0)
        status = 400;
    json_t *answer = status == 200 ? record_json(tb, row) : NULL;
    ion_store_unlock(s->store);
    ion_seed_row_free(tmpl, tb->id);
    free(ch);
    if (answer)
        sim_reply_json(resp, 200, answer);
    else
        admin_error(resp, status, "%s", err);
}

/* GET /_sim/ion/record?tenant=..&table=..&key=..: the record and its write log. */
static void admin_record(ion_sim_t *s, const httpd_req_t *req, httpd_resp_t *resp)
{
    const ion_table_t *tb = admin_table(httpd_query(req, "tenant"), httpd_query(req, "table"),
                                        resp);
    if (!tb)
        return;
    const char *key = httpd_query(req, "key");
    ion_store_rdlock(s->store);
    ion_row_t *row = key ? ion_store_find(s->store, tb->id, key) : NULL;
    json_t *answer = row ? record_json(tb, row) : NULL;
    ion_store_unlock(s->store);
    if (answer)
        sim_reply_json(resp, 200, answer);
    else
        admin_error(resp, 404, "no %s with key %s", tb->name, key ? key : "(missing)");
}

/* Dispatches the /_sim/ control endpoints (no auth, not counted in the statistics). */
static void handle_admin(ion_sim_t *s, const httpd_req_t *req, httpd_resp_t *resp)
{
    const char *what = httpd_path(req) + strlen("/_sim/");
    bool get = strcmp(httpd_method(req), "GET") == 0;
    bool post = strcmp(httpd_method(req), "POST") == 0;
    if (strcmp(what, "stats") == 0 && get) {
        json_t *j = sim_stats_json(s->stats, now_ms());
        json_object_set_new(j, "rows", row_counts(s));
        sim_reply_json(resp, 200, j);
    } else if (strcmp(what, "reset-stats") == 0 && post) {
        sim_stats_reset(s->stats, now_ms());
        sim_ratelimit_reset(s->limits);
        sim_reply_json(resp, 200, json_pack("{s:b}", "ok", 1));
    } else if (strcmp(what, "config") == 0 && get) {
        runtime_t rt = runtime_snapshot(s);
        sim_reply_json(resp, 200, sim_settings_json(RUNTIME, &rt));
    } else if (strcmp(what, "ion/record") == 0 && get) {
        admin_record(s, req, resp);
    } else if (strcmp(what, "ion/revoke-tokens") == 0 && post) {
        sim_reply_json(resp, 200, json_pack("{s:I}", "revoked",
                                            (json_int_t)ion_auth_revoke_all(s->auth)));
    } else {
        void (*with_body)(ion_sim_t *, json_t *, httpd_resp_t *) =
            !post ? NULL : strcmp(what, "config") == 0 ? admin_config :
            strcmp(what, "seed") == 0 ? admin_seed :
            strcmp(what, "ion/modify") == 0 ? admin_modify : NULL;
        if (!with_body) {
            admin_error(resp, 404, "no control endpoint %s %s (see docs/simulators.md)",
                        httpd_method(req), httpd_path(req));
            return;
        }
        char err[256];
        json_t *body = sim_json_object_body(req, err, sizeof err);
        if (!body) {
            admin_error(resp, 400, "%s", err);
            return;
        }
        with_body(s, body, resp);
        json_decref(body);
    }
}

/* ---- dispatch ---------------------------------------------------------------------------- */

void ion_sim_handle(void *ud, const httpd_req_t *req, httpd_resp_t *resp)
{
    ion_sim_t *s = ud;
    const char *path = httpd_path(req);
    if (str_starts(path, "/_sim/")) {
        handle_admin(s, req, resp);
        return;
    }
    runtime_t rt = runtime_snapshot(s);
    sleep_ms(rt.latency_ms);
    char ti[64] = "", label[128] = "other";
    size_t tlen = strcspn(path + 1, "/");
    const char *rest = path[0] == '/' && path[1 + tlen] == '/' ? path + 2 + tlen : NULL;
    if (tlen < sizeof ti)
        snprintf(ti, sizeof ti, "%.*s", (int)tlen, path + 1);
    const ion_tenant_t *t = rest ? ion_tenant(ti) : NULL;
    if (!t) {
        gateway_error(resp, req, 404, "No tenant at %s (tenants: DEMO_TST, DEMO_CSI)", path);
    } else if (strcmp(rest, "as/token.oauth2") == 0) {
        snprintf(label, sizeof label, "token");
        handle_token(s, t, req, &rt, resp);
    } else if (strcmp(rest, "as/revoke_token.oauth2") == 0) {
        snprintf(label, sizeof label, "revoke");
        handle_revoke(s, t, req, resp);
    } else if (str_starts(rest, "as/")) {
        snprintf(label, sizeof label, "as other");
        char *body = sim_oauth_error("unsupported_response_type", "The simulated authorization "
                                     "server serves token.oauth2 (password and refresh_token "
                                     "grants) and revoke_token.oauth2 only");
        httpd_resp_json(resp, 400, body);
        free(body);
    } else {
        api_label(rest, label, sizeof label);
        handle_api(s, t, req, &rt, rest, resp);
    }
    sim_stats_request(s->stats, httpd_method(req), label, resp->status, t ? t->ti : NULL,
                      now_ms());
}
