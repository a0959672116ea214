/* mlc-webhook-gw: the HTTP front door for Asana webhooks.
 *   POST /webhooks/{tenant}  handshake (X-Hook-Secret, only while a registration is in flight)
 *                            and HMAC-verified event deliveries, recorded durably before 200
 *   GET  /healthz            200 when Redis answers, else 503
 *   GET  /metrics            Prometheus counters and the request latency histogram, then
 *                            the deployment's aggregate read from Redis (gw_agg)
 *   GET  /status[.json]      read-only status page behind MLC_STATUS_TOKEN (gw_status)
 * Requests are served by a pool of threads, each handler taking one of as many Redis
 * connections, so a handler never waits for another request (Asana's create call blocks on
 * the handshake it triggers). Each connection slot caches its tenants' secrets (gw_cache),
 * so a verified delivery costs one Redis round trip: the record script, which re-checks that
 * the secret is still the stored one. The ids of the jobs it created go to one publisher
 * thread (gw_pub), which passes them to the broker in batches. */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "config.h"
#include "gw_agg.h"
#include "gw_cache.h"
#include "gw_hook.h"
#include "gw_metrics.h"
#include "gw_pub.h"
#include "gw_status.h"
#include "gw_store.h"
#include "httpd.h"
#include "log.h"
#include "redis.h"
#include "util.h"

#define MAX_TENANTS     4096
#define CACHE_SLOTS     1024   /* per connection slot (gw_cache) */
#define RECORD_TRIES    4      /* verify-and-record rounds when the stored secret changes */
#define TOUCH_MS        1000   /* K_HOOK "last_delivery_at" is written this often per slot */

/* One thread's share of the outside world, connected lazily. */
typedef struct {
    rds_t *redis;
    gwc_t *cache;   /* tenants' secrets as this slot last read them */
    bool   busy;
} gw_conn_t;

typedef struct {
    const char     *redis_url;
    const char     *broker_url;
    uint8_t         key[MLC_KEY_LEN];
    gws_opts_t      store;
    size_t          max_body;
    int64_t         cache_ms;   /* a cached tenant is read again after this long (membership) */
    gwm_t          *metrics;
    gwp_t          *pub;        /* publishes the created write jobs to the broker */
    int             pub_queue;  /* its capacity (MLC_GW_PUB_QUEUE) */
    pthread_mutex_t lock;
    pthread_cond_t  freed;
    gw_conn_t      *conns;
    int             nconns;
} gw_t;

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Takes a free connection slot (there is one per server thread, so this does not wait in
 * practice) and connects its Redis if needed. Returns the slot; its redis is NULL when Redis
 * cannot be reached. Give it back with conn_release. */
static gw_conn_t *conn_acquire(gw_t *gw)
{
    pthread_mutex_lock(&gw->lock);
    gw_conn_t *c = NULL;
    while (!c) {
        for (int i = 0; i < gw->nconns && !c; i++)
            if (!gw->conns[i].busy)
                c = &gw->conns[i];
        if (!c)
            pthread_cond_wait(&gw->freed, &gw->lock);
    }
    c->busy = true;
    pthread_mutex_unlock(&gw->lock);
    if (!c->redis) {
        char err[256];
        c->redis = rds_connect(gw->redis_url, err, sizeof err);
        if (!c->redis)
            mlog(LOG_WARN, "gw.redis", "%s", err);
    }
    return c;
}

static void conn_release(gw_t *gw, gw_conn_t *c)
{
    pthread_mutex_lock(&gw->lock);
    c->busy = false;
    pthread_cond_signal(&gw->freed);
    pthread_mutex_unlock(&gw->lock);
}

static void healthz(gw_t *gw, httpd_resp_t *resp)
{
    gw_conn_t *c = conn_acquire(gw);
    redisReply *rep = c->redis ? rds_cmd(c->redis, "PING") : NULL;
    bool ok = rds_ok(rep);
    if (rep)
        freeReplyObject(rep);
    conn_release(gw, c);
    httpd_resp_json(resp, ok ? 200 : 503,
                    ok ? "{\"status\":\"ok\",\"redis\":true}" : "{\"status\":\"degraded\",\"redis\":false}");
}

/* Answers a handshake: echoes X-Hook-Secret only when gws_handshake accepted it. An empty
 * secret is refused without asking Redis. */
static void handshake(gw_t *gw, rds_t *r, const char *tenant, const char *secret,
                      httpd_resp_t *resp)
{
    int rc = *secret ? gws_handshake(r, gw->key, tenant, secret) : 0;
    if (rc < 0) {
        httpd_resp_json(resp, 503, "{\"error\":\"storage unavailable\"}");
        return;
    }
    gwm_delivery(gw->metrics, tenant, rc ? GWM_HANDSHAKE_ACCEPTED : GWM_HANDSHAKE_REFUSED);
    mlog(rc ? LOG_INFO : LOG_WARN, rc ? "gw.handshake" : "gw.handshake_refused", "tenant %s", tenant);
    if (rc) {
        httpd_resp_header(resp, "X-Hook-Secret", secret);
        httpd_resp_json(resp, 200, "{\"ok\":true}");
    } else {
        httpd_resp_json(resp, 403, "{\"error\":\"no webhook registration in flight\"}");
    }
}

/* Rejects a delivery with status, counts outcome and audits it (event, reason). */
static void reject(gw_t *gw, rds_t *r, const char *tenant, int status, gwm_outcome_t outcome,
                   const char *event, const char *reason, size_t body_len, httpd_resp_t *resp)
{
    gwm_delivery(gw->metrics, tenant, outcome);
    audit_add(r, tenant, "-", event, json_pack("{ss sI}", "reason", reason, "bytes", (json_int_t)body_len));
    json_t *e = json_pack("{ss}", "error", reason);
    char *text = json_dumps(e, JSON_COMPACT);
    httpd_resp_json(resp, status, text);
    free(text);
    json_decref(e);
}

/* The tenant for a delivery: from c's cache when read within gw->cache_ms and cached is
 * true, else read from Redis (and cached when known with an opened secret). Fills *t (owned
 * copies; gws_tenant_free it) and *from_cache. 0, or -1 when Redis failed. */
static int tenant_get(gw_t *gw, gw_conn_t *c, const char *tenant, bool cached,
                      gws_tenant_t *t, bool *from_cache)
{
    const char *sealed, *secret;
    int64_t now = now_ms();
    *from_cache = cached && gwc_get(c->cache, tenant, now, gw->cache_ms, &sealed, &secret);
    if (*from_cache) {
        *t = (gws_tenant_t){ .known = true, .sealed = xstrdup(sealed),
                             .secret = xstrdup(secret) };
        return 0;
    }
    if (gws_tenant_read(c->redis, gw->key, tenant, t) < 0)
        return -1;
    if (t->known && t->secret)
        gwc_put(c->cache, tenant, t->sealed, t->secret, now);
    else
        gwc_drop(c->cache, tenant);
    return 0;
}

/* Records the verified events of b and answers 200, then queues the new jobs for the
 * publisher (gw_pub). Returns 0,
 * or 1 when the secret b was verified with is no longer the stored one (nothing recorded or
 * answered: verify again with a fresh read). */
static int record(gw_t *gw, gw_conn_t *c, const char *tenant, const char *sealed,
                  const gwh_batch_t *b, httpd_resp_t *resp)
{
    gws_code_t *codes = xcalloc((size_t)b->n, sizeof *codes);
    bool touch = gwc_touch_due(c->cache, tenant, now_ms(), TOUCH_MS);
    int rc = gws_record(c->redis, tenant, sealed, b, &gw->store, touch, codes);
    if (rc <= 0) {
        if (rc < 0)
            httpd_resp_json(resp, 503, "{\"error\":\"storage unavailable\"}");
        free(codes);
        return rc == 0;
    }
    int count[GWS_JOB_EXISTS + 1] = { 0 };
    for (int i = 0; i < b->n; i++)
        count[codes[i]]++;
    int fresh = b->n - count[GWS_DUPLICATE];
    gwm_delivery(gw->metrics, tenant, fresh ? GWM_ACCEPTED : GWM_DUPLICATE);
    gwm_enqueued(gw->metrics, tenant, fresh);
    char msg[128];
    snprintf(msg, sizeof msg, "{\"ok\":true,\"new\":%d,\"duplicates\":%d,\"unknown_tasks\":%d}",
             fresh, count[GWS_DUPLICATE], count[GWS_UNKNOWN_TASK]);
    httpd_resp_json(resp, 200, msg);
    for (int i = 0; i < b->n; i++) {
        if (codes[i] != GWS_JOB_CREATED)
            continue;
        char id[21];
        gwh_job_id(&b->ev[i], id);
        gwp_push(gw->pub, tenant, id);
    }
    free(codes);
    return 0;
}

/* A delivery: 404 for an unknown tenant, rejected (413 / 401 / 400) or, once verified, a
 * heartbeat or events recorded before the 200. The tenant's secret comes from the cache when
 * it can: a signature that does not match a cached secret, or a record refused because the
 * stored secret changed, is checked again against a fresh read. b is the parsed body, NULL
 * when the body is too large or not a delivery (parse_err says why). */
static void delivery(gw_t *gw, gw_conn_t *c, const char *tenant, const gwh_batch_t *b,
                     const char *parse_err, const httpd_req_t *req, httpd_resp_t *resp)
{
    size_t len = 0;
    const char *body = httpd_body(req, &len);
    const char *sig = httpd_header(req, "X-Hook-Signature");
    bool cached = true, from_cache;
    for (int attempt = 0; attempt < RECORD_TRIES; attempt++) {
        gws_tenant_t t;
        if (tenant_get(gw, c, tenant, cached, &t, &from_cache) < 0) {
            httpd_resp_json(resp, 503, "{\"error\":\"storage unavailable\"}");
            return;
        }
        bool verified = t.known && len <= gw->max_body
                        && gwh_signature_ok(t.secret, body, len, sig);
        cached = false;
        if (!verified && from_cache) {
            gws_tenant_free(&t);
            continue;
        }
        int again = 0;
        if (!t.known)
            httpd_resp_json(resp, 404, "{\"error\":\"unknown tenant\"}");
        else if (len > gw->max_body)
            reject(gw, c->redis, tenant, 413, GWM_TOO_LARGE, "webhook.too_large", "body too large",
                   len, resp);
        else if (!verified)
            reject(gw, c->redis, tenant, 401, GWM_BAD_SIGNATURE, "webhook.bad_signature",
                   t.secret ? "missing or wrong X-Hook-Signature" : "no webhook secret stored", len, resp);
        else if (!b)
            reject(gw, c->redis, tenant, 400, GWM_MALFORMED, "webhook.malformed", parse_err, len,
                   resp);
        else if (b->n > 0)
            again = record(gw, c, tenant, t.sealed, b, resp);
        else if (gws_heartbeat(c->redis, tenant) < 0)
            httpd_resp_json(resp, 503, "{\"error\":\"storage unavailable\"}");
        else {
            gwm_delivery(gw->metrics, tenant, GWM_HEARTBEAT);
            httpd_resp_json(resp, 200, "{\"ok\":true}");
        }
        gws_tenant_free(&t);
        if (!again)
            return;
    }
    mlog(LOG_WARN, "gw.record", "%s: the stored secret kept changing under the delivery", tenant);
    httpd_resp_json(resp, 503, "{\"error\":\"storage unavailable\"}");
}

/* A handshake: 404 for an unknown tenant, else handshake(); the secret this thread cached
 * for the tenant is dropped either way. */
static void hook_handshake(gw_t *gw, gw_conn_t *c, const char *tenant, const httpd_req_t *req,
                           httpd_resp_t *resp)
{
    gws_tenant_t t;
    gwc_drop(c->cache, tenant);
    if (gws_tenant_read(c->redis, gw->key, tenant, &t) < 0)
        httpd_resp_json(resp, 503, "{\"error\":\"storage unavailable\"}");
    else if (!t.known)
        httpd_resp_json(resp, 404, "{\"error\":\"unknown tenant\"}");
    else
        handshake(gw, c->redis, tenant, httpd_header(req, "X-Hook-Secret"), resp);
    gws_tenant_free(&t);
}

/* POST /webhooks/{tenant}. A delivery body is parsed before the signature is checked (the
 * parse is pure and the events are needed right after); it is used only once the signature
 * over the raw bytes matched. */
static void webhook(gw_t *gw, gwh_route_t route, const char *tenant, const httpd_req_t *req,
                    httpd_resp_t *resp)
{
    size_t len = 0;
    const char *body = httpd_body(req, &len);
    gwh_batch_t b = { 0 };
    char perr[256] = "";
    bool parsed = route == GWH_DELIVERY && len <= gw->max_body
                  && gwh_batch_parse(body, len, &b, perr, sizeof perr) == 0;
    gw_conn_t *c = conn_acquire(gw);
    if (!c->redis)
        httpd_resp_json(resp, 503, "{\"error\":\"storage unavailable\"}");
    else if (route == GWH_HANDSHAKE)
        hook_handshake(gw, c, tenant, req, resp);
    else
        delivery(gw, c, tenant, parsed ? &b : NULL, perr, req, resp);
    conn_release(gw, c);
    gwh_batch_free(&b);
}

/* GET /metrics: the gateway's own counters, then the aggregate of the deployment read from
 * Redis (one scrape target covers every process). */
static void metrics(gw_t *gw, httpd_resp_t *resp)
{
    char *own = gwm_render(gw->metrics);
    gw_conn_t *c = conn_acquire(gw);
    char *agg = gwa_render(c->redis, gw->key);
    conn_release(gw, c);
    char *text = xasprintf("%s# HELP mlc_webhook_publish_dropped_total Job ids the gateway did not "
                           "pass to the broker because %d were waiting (the broker's resync of "
                           "the Redis queues delivers those jobs later).\n"
                           "# TYPE mlc_webhook_publish_dropped_total counter\n"
                           "mlc_webhook_publish_dropped_total %ld\n%s",
                           own, gw->pub_queue, gwp_dropped(gw->pub), agg);
    httpd_resp_body(resp, 200, "text/plain; version=0.0.4", text, strlen(text));
    free(text);
    free(agg);
    free(own);
}

/* GET /status and /status.json (gw_status), or 404. */
static void status_or_404(gw_t *gw, const httpd_req_t *req, httpd_resp_t *resp)
{
    gst_page_t page = gst_route(httpd_method(req), httpd_path(req));
    if (page == GST_NONE) {
        httpd_resp_json(resp, 404, "{\"error\":\"not found\"}");
        return;
    }
    gw_conn_t *c = conn_acquire(gw);
    gst_serve(c->redis, gw->key, page, req, resp);
    conn_release(gw, c);
}

static void handle(void *ud, const httpd_req_t *req, httpd_resp_t *resp)
{
    gw_t *gw = ud;
    int64_t t0 = mono_us();
    char tenant[GWH_TENANT_MAX + 1];
    gwh_route_t route = gwh_route(httpd_method(req), httpd_path(req),
                                  httpd_header(req, "X-Hook-Secret") != NULL, tenant);
    switch (route) {
    case GWH_HEALTHZ: healthz(gw, resp); return;
    case GWH_METRICS: metrics(gw, resp); return;
    case GWH_BAD_METHOD: httpd_resp_json(resp, 405, "{\"error\":\"method not allowed\"}"); return;
    case GWH_NOT_FOUND: status_or_404(gw, req, resp); return;
    case GWH_HANDSHAKE:
    case GWH_DELIVERY: webhook(gw, route, tenant, req, resp); break;
    }
    gwm_latency(gw->metrics, mono_us() - t0);
}

int main(int argc, char **argv)
{
    int port = (int)env_long("MLC_GW_PORT", 18088);
    const char *bind_addr = env_or("MLC_GW_BIND", "127.0.0.1");
    int threads = (int)env_long("MLC_GW_THREADS", 8);
    static const struct option opts[] = { { "port", required_argument, NULL, 'p' },
                                          { "bind", required_argument, NULL, 'b' },
                                          { "threads", required_argument, NULL, 't' },
                                          { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
    int c;
    while ((c = getopt_long(argc, argv, "p:b:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': port = atoi(optarg); break;
        case 'b': bind_addr = optarg; break;
        case 't': threads = atoi(optarg); break;
        case 'h':
            printf("usage: mlc-webhook-gw [--port N] [--bind ADDR] [--threads N]\n"
                   "Asana webhook target: POST /webhooks/{tenant} (handshake + signed events),\n"
                   "GET /healthz, GET /metrics (Prometheus), GET /status and /status.json\n"
                   "(read-only status page, only when MLC_STATUS_TOKEN is set).\n"
                   "Environment: MLC_GW_PORT (18088), MLC_GW_BIND (127.0.0.1), MLC_GW_THREADS (8),\n"
                   "MLC_GW_MAX_BODY (1048576), MLC_HOOK_DEDUPE_S (86400), MLC_EVENTS_MAXLEN (100000),\n"
                   "MLC_AUDIT_MAXLEN (1000000), MLC_GW_TENANT_CACHE_MS (1000),\n"
                   "MLC_GW_PUB_LINGER_US (1000), MLC_GW_PUB_QUEUE (100000),\n"
                   "MLC_REDIS_URL, MLC_BROKER_URL, MLC_MASTER_KEY or MLC_MASTER_KEY_FILE,\n"
                   "MLC_STATUS_TOKEN (the status page's bearer token; unset: no page).\n");
            return 0;
        default: return 2;
        }
    }
    if (threads < 2)
        threads = 2;   /* a handshake arrives while the create call that caused it is pending */
    log_init("mlc-webhook-gw");
    install_stop_signals();
    gw_t gw = { .redis_url = env_or("MLC_REDIS_URL", DEFAULT_REDIS_URL),
                .broker_url = env_or("MLC_BROKER_URL", DEFAULT_BROKER_URL),
                .max_body = (size_t)env_long("MLC_GW_MAX_BODY", 1 << 20),
                .cache_ms = env_long("MLC_GW_TENANT_CACHE_MS", 1000),
                .nconns = threads };
    char err[256];
    if (master_key_load(gw.key, err, sizeof err) < 0) {
        mlog(LOG_ERROR, "gw.master_key", "%s", err);
        return 1;
    }
    if (gw.max_body == 0)
        gw.max_body = 1 << 20;
    gws_opts_from_env(&gw.store);
    gw.metrics = gwm_new(MAX_TENANTS);
    gw.pub_queue = (int)env_long("MLC_GW_PUB_QUEUE", 100000);
    if (gw.pub_queue < 1)
        gw.pub_queue = 100000;
    gw.pub = gwp_new(gw.broker_url, (size_t)gw.pub_queue, env_long("MLC_GW_PUB_LINGER_US", 1000));
    if (!gw.pub)
        return 1;
    gw.conns = xcalloc((size_t)threads, sizeof *gw.conns);
    for (int i = 0; i < threads; i++)
        gw.conns[i].cache = gwc_new(CACHE_SLOTS);
    pthread_mutex_init(&gw.lock, NULL);
    pthread_cond_init(&gw.freed, NULL);
    /* httpd answers 413 itself beyond its limit, before the tenant is known; twice the
     * gateway's limit lets the handler count (and audit) most oversized deliveries. */
    httpd_opts_t ho = { .bind_addr = bind_addr, .port = port, .threads = threads,
                        .max_body = 2 * gw.max_body, .handler = handle, .ud = &gw };
    httpd_t *h = httpd_start(&ho, err, sizeof err);
    int rc = 0;
    if (!h) {
        mlog(LOG_ERROR, "gw.listen", "%s", err);
        rc = 1;
    } else {
        mlog(LOG_INFO, "gw.start", "listening on %s:%d with %d threads", bind_addr, httpd_port(h), threads);
        while (!g_stop)
            sleep_ms(200);
        httpd_stop(&h);
        mlog(LOG_INFO, "gw.stop", "stopped");
    }
    gwp_destroy(&gw.pub);   /* sends the ids still queued */
    for (int i = 0; i < gw.nconns; i++) {
        rds_destroy(&gw.conns[i].redis);
        gwc_destroy(&gw.conns[i].cache);
    }
    free(gw.conns);
    gwm_destroy(&gw.metrics);
    pthread_cond_destroy(&gw.freed);
    pthread_mutex_destroy(&gw.lock);
    return rc;
}
