/* asana_sim: see asana_sim.h. A request goes: /_sim/ endpoints straight to their handler;
 * API requests are routed, authenticated (Bearer token), admitted by the gate (rate and
 * concurrency per token, injected 429s), delayed by latency_ms, answered by asana_api under
 * the store lock (or replaced by an injected 5xx), and counted in the statistics. */
#include "asana_sim.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "asana_api.h"
#include "asana_config.h"
#include "asana_gate.h"
#include "asana_render.h"
#include "asana_store.h"
#include "asana_webhooks.h"
#include "sim_stats.h"
#include "util.h"

#define JSON_TYPE "application/json; charset=UTF-8"
/* Webhook gids lie this far above gid_start: the store's own counter never gets there. */
#define WEBHOOK_GID_OFFSET 500000000000000ULL

/* Requests answered, by route and status. */
typedef struct {
    const char *route;       /* static route name from asana_api */
    int         status;
    uint64_t    count;
} route_count_t;

typedef struct {
    route_count_t *routes;
    size_t         nroutes;
    uint64_t       total, writes, reads, rate_limited, injected_faults, duplicate_enum_names;
} stats_t;

struct asana_sim {
    pthread_mutex_t  gate_mu;     /* gate, stats, rng; with store_lock also the config */
    pthread_rwlock_t store_lock;  /* the store; config writers hold it too */
    asana_config_t   cfg;
    asana_gate_t    *gate;
    as_store_t      *st;
    as_hooks_t      *hooks;       /* webhooks and events; own lock, taken after store_lock */
    stats_t          stats;
    sim_stats_t     *rates;       /* arrival times per token: the exact 10-s peak (max_10s) */
    uint64_t         rng;
    uint32_t         offset_salt;
};

static const char *const NO_COUNTERS[] = { NULL };

/* ---- small helpers --------------------------------------------------------------------------- */

/* xorshift64*: a percentage roll for fault injection (gate_mu held). */
static bool roll(asana_sim_t *s, int pct)
{
    if (pct <= 0)
        return false;
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return (int)((s->rng * 0x2545F4914F6CDD1DULL) >> 33) % 100 < pct;
}

static void count_status(stats_t *st, const char *route, int status)
{
    for (size_t i = 0; i < st->nroutes; i++) {
        if (st->routes[i].route == route && st->routes[i].status == status) {
            st->routes[i].count++;
            return;
        }
    }
    st->routes = xrealloc(st->routes, (st->nroutes + 1) * sizeof *st->routes);
    st->routes[st->nroutes++] = (route_count_t){ route, status, 1 };
}

/* Sends body (JSON) with status and the optional Location / Retry-After headers. */
static void respond(httpd_resp_t *resp, int status, const buf_t *body, const char *location,
                    int retry_after_s)
{
    httpd_resp_body(resp, status, JSON_TYPE, body->data ? body->data : "", body->len);
    if (location)
        httpd_resp_header(resp, "Location", location);
    if (retry_after_s > 0) {
        char v[16];
        snprintf(v, sizeof v, "%d", retry_after_s);
        httpd_resp_header(resp, "Retry-After", v);
    }
}

static void respond_error(httpd_resp_t *resp, int status, const char *message, int retry_after_s)
{
    buf_t b;
    buf_init(&b);
    as_render_error(&b, status, message);
    respond(resp, status, &b, NULL, retry_after_s);
    buf_free(&b);
}

/* The token of an "Authorization: Bearer <token>" header, copied into buf; NULL when none. */
static const char *bearer(const char *header, char *buf, size_t len)
{
    if (!header || strncasecmp(header, "Bearer ", 7) != 0)
        return NULL;
    const char *t = header + 7;
    while (*t == ' ')
        t++;
    size_t n = strcspn(t, " \t\r\n");
    if (n == 0 || n >= len)
        return NULL;
    memcpy(buf, t, n);
    buf[n] = '\0';
    return buf;
}

/* ---- the API pipeline ------------------------------------------------------------------------ */

/* What admission decided for one request. */
typedef struct {
    int  status;           /* 0: admitted and to be served; else the refusal to answer */
    int  retry_after_s;
    int  latency_ms;
    int  fault_status;     /* injected 5xx instead of serving, 0: none */
    bool fail_after_write; /* serve, then answer 504 */
} admission_t;

static void admit(asana_sim_t *s, const as_route_t *r, const char *token, admission_t *a)
{
    memset(a, 0, sizeof *a);
    pthread_mutex_lock(&s->gate_mu);
    s->stats.total++;
    if (r->write)
        s->stats.writes++;
    else
        s->stats.reads++;
    bool known = token && asana_config_has_token(&s->cfg, token);
    sim_stats_request(s->rates, r->write ? "write" : "read", "api", 0, known ? token : NULL,
                      now_ms());
    if (!known) {
        a->status = 401;
    } else {
        gate_verdict_t v = asana_gate_admit(s->gate, token, r->write, mono_ms(),
                                            s->cfg.rate_per_min, s->cfg.write_concurrency,
                                            s->cfg.read_concurrency, &a->retry_after_s);
        if (v != GATE_ADMITTED) {
            a->status = 429;
        } else if (roll(s, s->cfg.fail_429_pct)) {
            asana_gate_release(s->gate, token, r->write);
            a->status = 429;
            a->retry_after_s = 1;
            s->stats.injected_faults++;
        } else {
            static const int faults[] = { 500, 502, 503 };
            a->latency_ms = s->cfg.latency_ms;
            if (roll(s, s->cfg.fail_5xx_pct)) {
                a->fault_status = faults[s->rng % 3];
                s->stats.injected_faults++;
            } else if (r->write && roll(s, s->cfg.fail_after_write_pct)) {
                a->fail_after_write = true;
            }
        }
    }
    if (a->status) {
        count_status(&s->stats, r->name, a->status);
        s->stats.rate_limited += a->status == 429;
    }
    pthread_mutex_unlock(&s->gate_mu);
}

/* Serves an admitted request under the store lock. */
static void serve_api(asana_sim_t *s, const as_route_t *r, const asana_req_t *req,
                      as_api_reply_t *reply)
{
    if (as_hooks_route(r)) {   /* a webhook create blocks on its handshake: no store lock */
        as_hooks_handle(s->hooks, r, req, reply);
        return;
    }
    if (r->write)
        pthread_rwlock_wrlock(&s->store_lock);
    else
        pthread_rwlock_rdlock(&s->store_lock);
    as_api_ctx_t ctx = {
        .req = req,
        .st = s->st,
        .policy = { s->cfg.premium, (const char *const *)s->cfg.reject_enum_option_names,
                    s->cfg.nreject },
        .now_ms = now_ms(),
        .offset_salt = s->offset_salt,
        .hooks = s->hooks,
    };
    as_api_handle(r, &ctx, reply);
    pthread_rwlock_unlock(&s->store_lock);
}

static void serve_api_request(asana_sim_t *s, const asana_req_t *req, httpd_resp_t *resp)
{
    as_route_t r;
    char token_buf[256];
    const char *token = bearer(req->authorization, token_buf, sizeof token_buf);
    admission_t a;
    as_api_route(req->method, req->path, &r);
    admit(s, &r, token, &a);
    if (a.status == 401 || a.status == 429) {
        respond_error(resp, a.status,
                      a.status == 401 ? "Not Authorized"
                                      : "You've made too many requests and hit a rate limit. "
                                        "Please retry after the given amount of time.",
                      a.retry_after_s);
        return;
    }
    if (a.latency_ms > 0)
        sleep_ms(a.latency_ms);
    as_api_reply_t reply;
    buf_init(&reply.body);
    reply.location = NULL;
    reply.duplicate_enum_names = 0;
    if (a.fault_status) {
        reply.status = a.fault_status;
        as_render_error(&reply.body, reply.status, "Server Error (simulated failure)");
    } else {
        serve_api(s, &r, req, &reply);
        if (a.fail_after_write && reply.status < 300) {
            reply.status = 504;
            free(reply.location);
            reply.location = NULL;
            buf_reset(&reply.body);
            as_render_error(&reply.body, 504, "Gateway Timeout (simulated failure: the write "
                                              "was applied)");
        }
    }
    pthread_mutex_lock(&s->gate_mu);
    asana_gate_release(s->gate, token, r.write);
    count_status(&s->stats, r.name, reply.status);
    s->stats.injected_faults += a.fail_after_write && reply.status == 504;
    s->stats.duplicate_enum_names += reply.duplicate_enum_names;
    pthread_mutex_unlock(&s->gate_mu);
    respond(resp, reply.status, &reply.body, reply.location,
            reply.status == 503 ? 1 : 0);
    free(reply.location);
    buf_free(&reply.body);
}

/* ---- /_sim/ ---------------------------------------------------------------------------------- */

static void respond_ok(httpd_resp_t *resp)
{
    httpd_resp_body(resp, 200, JSON_TYPE, "{\"ok\":true}", 11);
}

/* Writes the exact request-rate peaks: "max_10s", "max_rate_60s" over all tokens and
 * "tokens":{"<token>":{"requests","max_10s","max_rate_60s"}}. */
static void rates_json(asana_sim_t *s, as_jw_t *w)
{
    static const char *const FIGURES[] = { "max_10s", "max_rate_60s", NULL };
    json_t *j = sim_stats_json(s->rates, now_ms());
    for (int i = 0; FIGURES[i]; i++) {
        as_jw_key(w, FIGURES[i]);
        as_jw_int(w, json_integer_value(json_object_get(j, FIGURES[i])));
    }
    as_jw_key(w, "tokens");
    as_jw_obj(w);
    const char *token;
    json_t *v;
    json_object_foreach(json_object_get(j, "tokens"), token, v) {
        as_jw_key(w, token);
        as_jw_obj(w);
        as_jw_key(w, "requests");
        as_jw_int(w, json_integer_value(json_object_get(v, "requests")));
        for (int i = 0; FIGURES[i]; i++) {
            as_jw_key(w, FIGURES[i]);
            as_jw_int(w, json_integer_value(json_object_get(v, FIGURES[i])));
        }
        as_jw_end_obj(w);
    }
    as_jw_end_obj(w);
    json_decref(j);
}

static void sim_stats(asana_sim_t *s, httpd_resp_t *resp)
{
    buf_t b;
    as_jw_t w;
    asana_gate_peaks_t peaks;
    as_hooks_stats_t hs;
    buf_init(&b);
    as_hooks_stats(s->hooks, &hs);
    as_jw_init(&w, &b);
    pthread_rwlock_rdlock(&s->store_lock);
    size_t tasks = as_store_task_count(s->st);
    pthread_rwlock_unlock(&s->store_lock);
    pthread_mutex_lock(&s->gate_mu);
    asana_gate_peaks(s->gate, &peaks);
    as_jw_obj(&w);
    as_jw_key(&w, "requests");
    as_jw_obj(&w);
    for (size_t i = 0; i < s->stats.nroutes; i++) {
        char k[128];
        snprintf(k, sizeof k, "%s %d", s->stats.routes[i].route, s->stats.routes[i].status);
        as_jw_key(&w, k);
        as_jw_int(&w, (int64_t)s->stats.routes[i].count);
    }
    as_jw_end_obj(&w);
    const struct {
        const char *name;
        int64_t     v;
    } figures[] = {
        { "total", (int64_t)s->stats.total },
        { "writes", (int64_t)s->stats.writes },
        { "reads", (int64_t)s->stats.reads },
        { "rate_limited", (int64_t)s->stats.rate_limited },
        { "injected_faults", (int64_t)s->stats.injected_faults },
        { "max_in_flight_writes", peaks.max_in_flight_writes },
        { "max_in_flight_reads", peaks.max_in_flight_reads },
        { "per_10s_max", peaks.per_10s_max },
        { "duplicate_enum_names", (int64_t)s->stats.duplicate_enum_names },
        { "tasks", (int64_t)tasks },
        { "webhooks", (int64_t)hs.webhooks },
        { "handshakes", (int64_t)hs.handshakes },
        { "handshake_failures", (int64_t)hs.handshake_failures },
        { "deliveries", (int64_t)hs.deliveries },
        { "delivery_failures", (int64_t)hs.delivery_failures },
        { "events_recorded", (int64_t)hs.events_recorded },
        { "events_dropped", (int64_t)hs.events_dropped },
    };
    for (size_t i = 0; i < sizeof figures / sizeof figures[0]; i++) {
        as_jw_key(&w, figures[i].name);
        as_jw_int(&w, figures[i].v);
    }
    rates_json(s, &w);
    as_jw_end_obj(&w);
    pthread_mutex_unlock(&s->gate_mu);
    respond(resp, 200, &b, NULL, 0);
    buf_free(&b);
}

static void sim_reset_stats(asana_sim_t *s, httpd_resp_t *resp)
{
    pthread_mutex_lock(&s->gate_mu);
    free(s->stats.routes);
    memset(&s->stats, 0, sizeof s->stats);
    asana_gate_reset(s->gate);
    sim_stats_reset(s->rates, now_ms());
    pthread_mutex_unlock(&s->gate_mu);
    as_hooks_reset_stats(s->hooks);
    respond_ok(resp);
}

static void respond_config(asana_sim_t *s, httpd_resp_t *resp)
{
    pthread_mutex_lock(&s->gate_mu);
    char *json = asana_config_json(&s->cfg);
    pthread_mutex_unlock(&s->gate_mu);
    httpd_resp_json(resp, 200, json);
    free(json);
}

/* Hands the webhook settings of the configuration to the webhooks (gate_mu held). */
static void configure_hooks(asana_sim_t *s)
{
    as_hooks_settings_t set = {
        .drop_events = s->cfg.drop_webhook_events,
        .sign_wrong = s->cfg.webhook_sign_wrong,
        .failure_window_s = s->cfg.webhook_failure_window_s,
        .retry_base_ms = s->cfg.webhook_retry_base_ms,
    };
    as_hooks_configure(s->hooks, &set);
}

/* as_project_lookup_fn for the webhooks: the project's name under the store's read lock. */
static bool lookup_project(void *ud, uint64_t gid, char *name, size_t len)
{
    asana_sim_t *s = ud;
    pthread_rwlock_rdlock(&s->store_lock);
    const as_project_t *p = as_store_get(s->st, gid, AS_K_PROJECT);
    if (p)
        snprintf(name, len, "%s", p->name);
    pthread_rwlock_unlock(&s->store_lock);
    return p != NULL;
}

/* Puts the configured projects into the store (store_lock held for writing). */
static void sync_projects(asana_sim_t *s)
{
    for (size_t i = 0; i < s->cfg.nprojects; i++)
        as_store_project_put(s->st, s->cfg.projects[i].gid, s->cfg.projects[i].name, now_ms());
}

static void sim_config(asana_sim_t *s, const asana_req_t *req, httpd_resp_t *resp)
{
    char err[256];
    char *json = xmalloc(req->body_len + 1);
    memcpy(json, req->body ? req->body : "", req->body_len);
    json[req->body_len] = '\0';
    pthread_mutex_lock(&s->gate_mu);
    pthread_rwlock_wrlock(&s->store_lock);
    int rc = asana_config_apply(&s->cfg, json, false, err, sizeof err);
    if (rc == 0)
        sync_projects(s);
    pthread_rwlock_unlock(&s->store_lock);
    if (rc == 0)
        configure_hooks(s);
    pthread_mutex_unlock(&s->gate_mu);
    free(json);
    if (rc != 0)
        respond_error(resp, 400, err, 0);
    else
        respond_config(s, resp);
}

static int by_seq(const void *a, const void *b)
{
    uint64_t x = (*(as_task_t *const *)a)->seq, y = (*(as_task_t *const *)b)->seq;
    return (x > y) - (x < y);
}

/* One task for tests: its plain members and every field of its projects by name (display
 * value) and by gid (the raw value: string, number, option gid), null when unset. */
static void write_sim_task(as_jw_t *w, const as_task_t *t)
{
    as_jw_obj(w);
    as_jw_key(w, "gid");
    as_jw_gid(w, t->gid);
    as_jw_key(w, "name");
    as_jw_str(w, t->name);
    as_jw_key(w, "notes");
    as_jw_str(w, t->notes);
    as_jw_key(w, "completed");
    as_jw_bool(w, t->completed);
    as_jw_key(w, "completed_at");
    as_jw_time(w, t->completed_ms);
    as_jw_key(w, "created_at");
    as_jw_time(w, t->created_ms);
    as_jw_key(w, "modified_at");
    as_jw_time(w, t->modified_ms);
    as_jw_key(w, "due_on");
    as_jw_str(w, t->due_on[0] ? t->due_on : NULL);
    for (int by_gid = 0; by_gid < 2; by_gid++) {
        as_jw_key(w, by_gid ? "custom_fields_by_gid" : "custom_fields");
        as_jw_obj(w);
        for (size_t i = 0; i < t->nprojects; i++) {
            for (size_t j = 0; j < t->projects[i]->nsettings; j++) {
                const as_field_t *f = t->projects[i]->settings[j]->field;
                const as_value_t *v = as_task_value(t, f);
                char key[32], buf[64];
                if (!by_gid) {
                    as_jw_key(w, f->name);
                    as_jw_str(w, as_render_display(t, f, buf, sizeof buf));
                    continue;
                }
                snprintf(key, sizeof key, "%llu", (unsigned long long)f->gid);
                as_jw_key(w, key);
                if (!v)
                    as_jw_null(w);
                else if (f->type == AS_CF_TEXT)
                    as_jw_str(w, v->text);
                else if (f->type == AS_CF_NUMBER)
                    as_jw_num(w, v->number);
                else
                    as_jw_gid(w, v->option->gid);
            }
        }
        as_jw_end_obj(w);
    }
    as_jw_end_obj(w);
}

static void sim_tasks(asana_sim_t *s, const asana_req_t *req, httpd_resp_t *resp)
{
    const char *project = as_req_query(req, "project");
    uint64_t gid = 0;
    if (project && as_gid_parse(project, &gid) != 0) {
        respond_error(resp, 400, "project: Not a recognized ID", 0);
        return;
    }
    buf_t b;
    as_jw_t w;
    buf_init(&b);
    as_jw_init(&w, &b);
    pthread_rwlock_rdlock(&s->store_lock);
    const as_project_t *p = project ? as_store_get(s->st, gid, AS_K_PROJECT) : NULL;
    if (project && !p) {
        pthread_rwlock_unlock(&s->store_lock);
        buf_free(&b);
        respond_error(resp, 404, "project: Unknown object", 0);
        return;
    }
    size_t n = p ? p->ntasks : 0;
    as_task_t *const *src = p ? p->tasks : as_store_tasks(s->st, &n);
    as_task_t **tasks = xmalloc((n + 1) * sizeof *tasks);
    for (size_t i = 0; i < n; i++)
        tasks[i] = src[i];
    if (!p) /* the store's array has no order */
        qsort(tasks, n, sizeof *tasks, by_seq);
    as_jw_obj(&w);
    as_jw_key(&w, "data");
    as_jw_arr(&w);
    for (size_t i = 0; i < n; i++)
        write_sim_task(&w, tasks[i]);
    as_jw_end_arr(&w);
    as_jw_end_obj(&w);
    pthread_rwlock_unlock(&s->store_lock);
    free(tasks);
    respond(resp, 200, &b, NULL, 0);
    buf_free(&b);
}

static void sim_reset(asana_sim_t *s, httpd_resp_t *resp)
{
    pthread_rwlock_wrlock(&s->store_lock);
    as_store_reset(s->st);
    pthread_rwlock_unlock(&s->store_lock);
    respond_ok(resp);
}

static void serve_sim(asana_sim_t *s, const asana_req_t *req, httpd_resp_t *resp)
{
    bool get = strcmp(req->method, "GET") == 0, post = strcmp(req->method, "POST") == 0;
    const char *what = req->path + strlen("/_sim/");
    as_api_reply_t reply = { .status = 0 };
    buf_init(&reply.body);
    if (as_hooks_sim(s->hooks, req->method, what, &reply))
        respond(resp, reply.status, &reply.body, NULL, 0);
    else if (get && strcmp(what, "stats") == 0)
        sim_stats(s, resp);
    else if (post && strcmp(what, "reset-stats") == 0)
        sim_reset_stats(s, resp);
    else if (get && strcmp(what, "config") == 0)
        respond_config(s, resp);
    else if (post && strcmp(what, "config") == 0)
        sim_config(s, req, resp);
    else if (get && strcmp(what, "tasks") == 0)
        sim_tasks(s, req, resp);
    else if (post && strcmp(what, "reset") == 0)
        sim_reset(s, resp);
    else
        respond_error(resp, 404, "No matching route for request", 0);
    buf_free(&reply.body);
}

/* ---- lifecycle and entry points -------------------------------------------------------------- */

asana_sim_t *asana_sim_new(const char *config_json, char *err, size_t err_len)
{
    asana_sim_t *s = xcalloc(1, sizeof *s);
    asana_config_defaults(&s->cfg);
    if (config_json && *config_json &&
        asana_config_apply(&s->cfg, config_json, true, err, err_len) != 0) {
        asana_config_free(&s->cfg);
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->gate_mu, NULL);
    pthread_rwlock_init(&s->store_lock, NULL);
    s->gate = asana_gate_new();
    s->rates = sim_stats_new(NO_COUNTERS, "tokens");
    s->st = as_store_new(s->cfg.workspace_gid, s->cfg.workspace_name, s->cfg.gid_start);
    sync_projects(s);
    s->rng = ((uint64_t)now_ms() << 20) ^ (uint64_t)getpid() ^ (uint64_t)(uintptr_t)s;
    s->rng |= 1;
    s->offset_salt = (uint32_t)(s->rng >> 7);
    s->hooks = as_hooks_new(s->cfg.workspace_gid, s->cfg.gid_start + WEBHOOK_GID_OFFSET,
                            (uint32_t)(s->rng >> 17), lookup_project, s);
    configure_hooks(s);
    return s;
}

void asana_sim_serve(asana_sim_t *s, const asana_req_t *req, httpd_resp_t *resp)
{
    if (str_starts(req->path, "/_sim/"))
        serve_sim(s, req, resp);
    else
        serve_api_request(s, req, resp);
}

typedef struct {
    asana_kv_t *kv;
    size_t      n;
} query_list_t;

static void add_query(void *ud, const char *k, const char *v)
{
    query_list_t *q = ud;
    q->kv = xrealloc(q->kv, (q->n + 1) * sizeof *q->kv);
    q->kv[q->n++] = (asana_kv_t){ k, v };
}

void asana_sim_handle(void *ud, const httpd_req_t *hreq, httpd_resp_t *resp)
{
    query_list_t q = { NULL, 0 };
    httpd_query_each(hreq, add_query, &q);
    char *base = httpd_base_url(hreq);
    asana_req_t req = {
        .method = httpd_method(hreq),
        .path = httpd_path(hreq),
        .query = q.kv,
        .nquery = q.n,
        .authorization = httpd_header(hreq, "Authorization"),
        .base_url = base,
    };
    req.body = httpd_body(hreq, &req.body_len);
    asana_sim_serve(ud, &req, resp);
    free(base);
    free(q.kv);
}

void asana_sim_destroy(asana_sim_t **sp)
{
    if (!sp || !*sp)
        return;
    asana_sim_t *s = *sp;
    as_hooks_destroy(&s->hooks);
    as_store_destroy(&s->st);
    asana_gate_destroy(&s->gate);
    sim_stats_destroy(&s->rates);
    asana_config_free(&s->cfg);
    free(s->stats.routes);
    pthread_rwlock_destroy(&s->store_lock);
    pthread_mutex_destroy(&s->gate_mu);
    free(s);
    *sp = NULL;
}
