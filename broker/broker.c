/* broker: see broker.h. One thread: zmq_poll on the ROUTER with 100 ms ticks for the
 * heartbeat, expiry, stats and resync timers. */
#include "broker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "broker_queue.h"
#include "bus.h"
#include "keys.h"
#include "log.h"
#include "redis.h"
#include "util.h"

#define HB_MS              1000
#define WORKER_SILENT_MS   (3 * HB_MS)
#define STATS_MS           1000
#define SETTLE_MS          1000   /* K_QUEUE entries younger than this may still be in flight */
#define REDISPATCH_MS      10000  /* a dispatched id unclaimed this long was lost */
#define RESYNC_LIMIT       50000  /* ids read per queue and resync */
#define REDIS_RETRY_MS     5000   /* pause between attempts while Redis is away */
#define MAX_FRAMES         (5 + BUS_PUB_MAX_IDS)  /* identity + a full PUB */

typedef struct {
    char    *ident;     /* ROUTER routing id (binary) */
    size_t   ident_len;
    char    *id;        /* worker id from READY */
    char    *service;
    char   **tenants;   /* pinned tenants, NULL = all */
    int      ntenants;
    long     credit;
    int64_t  seen_at;   /* mono ms */
    uint64_t last_job;  /* dispatch sequence of its last job, for least-recently-used */
} bworker_t;

struct broker {
    broker_opts_t o;
    void         *ctx, *router;
    bq_t         *q;
    bworker_t    *workers;
    size_t        nworkers;
    uint64_t      job_seq;
    rds_t        *redis;
    int64_t       redis_retry_at; /* mono ms; Redis work waits until then after a failure */
    int64_t       hb_at, stats_at, resync_at;
};

/* ---- workers -------------------------------------------------------------------------- */

static bworker_t *find_worker(broker_t *b, const char *ident, size_t len)
{
    for (size_t i = 0; i < b->nworkers; i++)
        if (b->workers[i].ident_len == len && !memcmp(b->workers[i].ident, ident, len))
            return &b->workers[i];
    return NULL;
}

static void worker_clear(bworker_t *w)
{
    free(w->ident);
    free(w->id);
    free(w->service);
    for (int i = 0; i < w->ntenants; i++)
        free(w->tenants[i]);
    free(w->tenants);
    memset(w, 0, sizeof *w);
}

static void remove_worker(broker_t *b, bworker_t *w, const char *why)
{
    mlog(LOG_INFO, "broker.worker_gone", "worker %s (%s) %s", w->id, w->service, why);
    worker_clear(w);
    *w = b->workers[--b->nworkers];
}

static bool worker_serves(const bworker_t *w, const char *service, const char *tenant)
{
    if (strcmp(w->service, service) != 0)
        return false;
    if (!w->tenants)
        return true;
    for (int i = 0; i < w->ntenants; i++)
        if (!strcmp(w->tenants[i], tenant))
            return true;
    return false;
}

/* The worker that should get the next job of service/tenant: most credit, then the one
 * that waited longest. NULL when none has credit. */
static bworker_t *pick_worker(broker_t *b, const char *service, const char *tenant)
{
    bworker_t *best = NULL;
    for (size_t i = 0; i < b->nworkers; i++) {
        bworker_t *w = &b->workers[i];
        if (w->credit <= 0 || !worker_serves(w, service, tenant))
            continue;
        if (!best || w->credit > best->credit ||
            (w->credit == best->credit && w->last_job < best->last_job))
            best = w;
    }
    return best;
}

static bool can_take(void *ud, const char *service, const char *tenant)
{
    return pick_worker(ud, service, tenant) != NULL;
}

/* READY service tenants credit worker_id: (re)registers the peer. */
static void on_ready(broker_t *b, const char *ident, size_t ident_len, char **f)
{
    bworker_t *w = find_worker(b, ident, ident_len);
    if (w) {
        worker_clear(w);
    } else {
        b->workers = xrealloc(b->workers, sizeof *b->workers * (b->nworkers + 1));
        w = &b->workers[b->nworkers++];
        memset(w, 0, sizeof *w);
    }
    w->ident = xmalloc(ident_len);
    memcpy(w->ident, ident, ident_len);
    w->ident_len = ident_len;
    w->service = xstrdup(f[0]);
    w->credit = strtol(f[2], NULL, 10);
    w->id = xstrdup(f[3]);
    w->seen_at = mono_ms();
    if (strcmp(f[1], "*") != 0) {
        char *copy = xstrdup(f[1]), *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            w->tenants = xrealloc(w->tenants, sizeof *w->tenants * (size_t)(w->ntenants + 1));
            w->tenants[w->ntenants++] = xstrdup(t);
        }
        free(copy);
    }
    bq_add_service(b->q, w->service);
    mlog(LOG_INFO, "broker.worker_ready", "worker %s: service %s, tenants %s, credit %ld",
         w->id, w->service, f[1], w->credit);
}

/* ---- messages ------------------------------------------------------------------------- */

static void on_message(broker_t *b)
{
    char *f[MAX_FRAMES];
    size_t lens[MAX_FRAMES];
    int n = zframes_recv(b->router, f, lens, MAX_FRAMES, ZMQ_DONTWAIT);
    if (n < 0)
        return;
    if (n < 3 || strcmp(f[1], BUS_PROTO) != 0) {
        mlog(LOG_WARN, "broker.frame", "dropped a message that does not speak %s", BUS_PROTO);
        zframes_free(f, n);
        return;
    }
    const char *cmd = f[2];
    bworker_t *w = find_worker(b, f[0], lens[0]);
    if (w)
        w->seen_at = mono_ms();
    if (!strcmp(cmd, "PUB") && n >= 6) {
        for (int i = 5; i < n; i++)
            bq_push(b->q, f[3], f[4], f[i]);
    } else if (!strcmp(cmd, "READY") && n == 7) {
        on_ready(b, f[0], lens[0], f + 3);
    } else if (!strcmp(cmd, "CREDIT") && n == 4) {
        if (w)
            w->credit += strtol(f[3], NULL, 10);
    } else if (!strcmp(cmd, "BYE") && n == 3) {
        if (w)
            remove_worker(b, w, "said goodbye");
    } else if (strcmp(cmd, "HB") != 0 || n != 3) {
        mlog(LOG_WARN, "broker.frame", "unknown command %s with %d frames", cmd, n);
    }
    /* HB and CREDIT of a peer we do not know (broker restarted, or we expired it) are
     * ignored: it hears no heartbeat from us, reconnects and sends READY. */
    zframes_free(f, n);
}

/* Sends "JOB tenant id" to w; false (and w is dropped) when it is no longer connected. */
static bool send_job(broker_t *b, bworker_t *w, const char *tenant, const char *id)
{
    const char *frames[] = {w->ident, BUS_PROTO, "JOB", tenant, id};
    size_t lens[] = {w->ident_len, strlen(BUS_PROTO), 3, strlen(tenant), strlen(id)};
    if (zframes_send(b->router, 5, frames, lens) == 0)
        return true;
    remove_worker(b, w, "is unreachable");
    return false;
}

/* Hands out jobs while some worker has credit. */
static void dispatch(broker_t *b)
{
    int64_t now = now_ms();
    for (size_t s = 0; s < bq_service_count(b->q); s++) {
        const char *service = bq_service_name(b->q, s), *tenant, *id;
        while (bq_pop(b->q, service, can_take, b, now, &tenant, &id)) {
            bworker_t *w = pick_worker(b, service, tenant);
            if (send_job(b, w, tenant, id)) {
                w->credit--;
                w->last_job = ++b->job_seq;
            } else {
                bq_push(b->q, service, tenant, id);
            }
        }
    }
}

static void heartbeat_and_expire(broker_t *b)
{
    int64_t now = mono_ms();
    const char *hb[] = {NULL, BUS_PROTO, "HB"};
    size_t lens[] = {0, strlen(BUS_PROTO), 2};
    for (size_t i = 0; i < b->nworkers;) {
        bworker_t *w = &b->workers[i];
        if (now - w->seen_at > WORKER_SILENT_MS) {
            remove_worker(b, w, "went silent");
            continue;
        }
        hb[0] = w->ident;
        lens[0] = w->ident_len;
        if (zframes_send(b->router, 3, hb, lens) != 0) {
            remove_worker(b, w, "is unreachable");
            continue;
        }
        i++;
    }
}

/* ---- Redis: resync and stats ------------------------------------------------------------- */

/* The Redis connection, or NULL while Redis is away (then retried every REDIS_RETRY_MS). */
static rds_t *redis(broker_t *b)
{
    if (mono_ms() < b->redis_retry_at)
        return NULL;
    if (!b->redis) {
        char err[256];
        b->redis = rds_connect(b->o.redis_url, err, sizeof err);
        if (!b->redis) {
            mlog(LOG_WARN, "broker.redis", "%s (retrying)", err);
            b->redis_retry_at = mono_ms() + REDIS_RETRY_MS;
        }
    }
    return b->redis;
}

static void redis_failed(broker_t *b, const char *what)
{
    mlog(LOG_WARN, "broker.redis", "%s failed; retrying in %d ms", what, REDIS_RETRY_MS);
    rds_destroy(&b->redis);
    b->redis_retry_at = mono_ms() + REDIS_RETRY_MS;
}

static void resync(broker_t *b)
{
    rds_t *r = redis(b);
    if (!r)
        return;
    redisReply *tenants = rds_cmd(r, "SMEMBERS %s", K_TENANTS);
    if (!tenants || tenants->type != REDIS_REPLY_ARRAY) {
        if (tenants)
            freeReplyObject(tenants);
        redis_failed(b, "resync");
        return;
    }
    int64_t now = now_ms();
    size_t nsvc = bq_service_count(b->q), asked = 0;
    char older[32];
    snprintf(older, sizeof older, "(%lld", (long long)(now - SETTLE_MS));
    for (size_t t = 0; t < tenants->elements; t++)
        for (size_t s = 0; s < nsvc; s++) {
            char *key = xasprintf(K_QUEUE, tenants->element[t]->str, bq_service_name(b->q, s));
            if (rds_append(r, "ZRANGEBYSCORE %s -inf %s LIMIT 0 %d", key, older,
                           RESYNC_LIMIT) == 0)
                asked++;
            free(key);
        }
    int added = 0;
    bool ok = asked == tenants->elements * nsvc;
    for (size_t i = 0; i < asked; i++) {
        redisReply *ids = rds_get_reply(r);
        if (!ids) {
            ok = false;
            break;
        }
        const char *tenant = tenants->element[i / nsvc]->str;
        if (ids->type == REDIS_REPLY_ARRAY && ok) {
            char **v = xcalloc(ids->elements + 1, sizeof *v);
            for (size_t k = 0; k < ids->elements; k++)
                v[k] = ids->element[k]->str;
            added += bq_resync(b->q, bq_service_name(b->q, i % nsvc), tenant, v,
                               ids->elements, now, REDISPATCH_MS);
            free(v);
        }
        freeReplyObject(ids);
    }
    freeReplyObject(tenants);
    if (!ok)
        redis_failed(b, "resync");
    else if (added > 0)
        mlog(LOG_INFO, "broker.resync", "queued %d job ids found only in Redis", added);
}

typedef struct {
    const char **argv;
    char       **owned;
    size_t       n;
} argv_t;

static void argv_add(argv_t *a, char *owned)
{
    a->argv = xrealloc(a->argv, sizeof *a->argv * (a->n + 1));
    a->owned = xrealloc(a->owned, sizeof *a->owned * (a->n + 1));
    a->argv[a->n] = a->owned[a->n] = owned;
    a->n++;
}

static void add_depth(void *ud, const char *service, const char *tenant, size_t depth)
{
    argv_add(ud, xasprintf("%s:%s", service, tenant));
    argv_add(ud, xasprintf("%zu", depth));
}

static void publish_stats(broker_t *b)
{
    rds_t *r = redis(b);
    if (!r)
        return;
    argv_t a = {0};
    argv_add(&a, xstrdup("HSET"));
    argv_add(&a, xstrdup(K_BROKER));
    argv_add(&a, xstrdup("workers"));
    argv_add(&a, xasprintf("%zu", b->nworkers));
    argv_add(&a, xstrdup("updated_ms"));
    argv_add(&a, xasprintf("%lld", (long long)now_ms()));
    bq_foreach(b->q, add_depth, &a);
    redisReply *rep = rds_cmdargv(r, (int)a.n, a.argv, NULL);
    if (!rds_ok(rep))
        redis_failed(b, "stats");
    if (rep)
        freeReplyObject(rep);
    for (size_t i = 0; i < a.n; i++)
        free(a.owned[i]);
    free(a.owned);
    free(a.argv);
}

/* ---- lifecycle ------------------------------------------------------------------------- */

broker_t *broker_new(const broker_opts_t *o)
{
    broker_t *b = xcalloc(1, sizeof *b);
    b->o = *o;
    if (b->o.resync_ms <= 0)
        b->o.resync_ms = 2000;
    b->q = bq_new();
    bq_add_service(b->q, "poll");
    bq_add_service(b->q, "write");
    b->ctx = zmq_ctx_new();
    b->router = b->ctx ? zmq_socket(b->ctx, ZMQ_ROUTER) : NULL;
    int one = 1, zero = 0;
    if (!b->router || zmq_setsockopt(b->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one) ||
        zmq_setsockopt(b->router, ZMQ_SNDTIMEO, &zero, sizeof zero) ||
        zmq_setsockopt(b->router, ZMQ_LINGER, &zero, sizeof zero) ||
        zmq_bind(b->router, o->bind_url) != 0) {
        mlog(LOG_ERROR, "broker.bind", "cannot bind %s: %s", o->bind_url, zmq_strerror(errno));
        broker_destroy(&b);
        return NULL;
    }
    return b;
}

void broker_run(broker_t *b)
{
    mlog(LOG_INFO, "broker.start", "listening on %s, resync every %lld ms", b->o.bind_url,
         (long long)b->o.resync_ms);
    while (!g_stop) {
        zmq_pollitem_t item = {.socket = b->router, .events = ZMQ_POLLIN};
        if (zmq_poll(&item, 1, 100) > 0)
            for (int i = 0; i < 1000 && !g_stop; i++) { /* drain a burst, then do timers */
                int events = 0;
                size_t len = sizeof events;
                zmq_getsockopt(b->router, ZMQ_EVENTS, &events, &len);
                if (!(events & ZMQ_POLLIN))
                    break;
                on_message(b);
            }
        int64_t now = mono_ms();
        if (now >= b->hb_at) {
            heartbeat_and_expire(b);
            b->hb_at = now + HB_MS;
        }
        if (now >= b->resync_at) {
            resync(b);
            b->resync_at = now + b->o.resync_ms;
        }
        dispatch(b);
        if (now >= b->stats_at) {
            publish_stats(b);
            b->stats_at = now + STATS_MS;
        }
    }
    mlog(LOG_INFO, "broker.stop", "stopping");
}

void broker_destroy(broker_t **bp)
{
    if (!bp || !*bp)
        return;
    broker_t *b = *bp;
    if (b->router)
        zmq_close(b->router);
    if (b->ctx)
        zmq_ctx_term(b->ctx);
    for (size_t i = 0; i < b->nworkers; i++)
        worker_clear(&b->workers[i]);
    free(b->workers);
    bq_destroy(&b->q);
    rds_destroy(&b->redis);
    free(b);
    *bp = NULL;
}
