/* worker: the shared worker loop (see worker.h).
 *
 * Threads:
 *   main     owns the DEALER socket: READY / CREDIT / HB / BYE, receives JOB frames into
 *            the inbox, reconnects with backoff when the broker falls silent.
 *   runners  (opts->threads) each with their own Redis connection, HTTP client and bus:
 *            inbox -> job_claim -> handler -> job_done / job_fail, then a completion on
 *            the eventfd so main returns one credit.
 *   keeper   own Redis connection: extends the leases of running jobs every lease_ms/3;
 *            every second flushes the process's request counters (reqstats) and then
 *            writes the K_WORKERS heartbeat, so each heartbeat says that what was counted
 *            before its turn began is in K_STATS; flushes once more after the runners
 *            stopped.
 *
 * Credit: main counts jobs received but not yet signalled as finished (in_flight); READY
 * announces threads - in_flight, and each finished job later adds one CREDIT, so the broker
 * never holds more credit than there are idle runners, across reconnects too. */
#include "worker.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.h>

#include "backoff.h"
#include "crypto.h"
#include "keys.h"
#include "log.h"
#include "ratelimit.h"
#include "reqstats.h"
#include "util.h"

#define HB_MS            1000
#define BROKER_SILENT_MS (3 * HB_MS)
#define RETRY_BASE_MS    1000
#define RETRY_CAP_MS     300000
#define RECONNECT_CAP_MS 30000

typedef struct {
    char *tenant;
    char *id;
} job_ref_t;

/* What a runner is doing, for the keeper; guarded by pool.mu. */
typedef struct {
    char    *tenant; /* NULL when idle */
    char    *id;
    uint64_t run;    /* increments per job, tells "same job" apart from "next job" */
} running_t;

typedef struct pool pool_t;

typedef struct {
    pool_t   *pool;
    pthread_t th;
    job_ctx_t ctx;
    running_t running;
} runner_t;

struct pool {
    const worker_opts_t *o;
    char                *worker_id;
    char               **pinned;   /* tenants this worker serves; NULL = all */
    int                  npinned;
    int64_t              lease_ms;
    int                  threads;
    char                 host[256];

    pthread_mutex_t mu;
    pthread_cond_t  cv;
    job_ref_t      *inbox;     /* FIFO of received job ids (ring) */
    int             in_head, in_len, in_cap;
    int             stopping;  /* runners take no more work */
    int             keeper_stop;

    int             done_fd;   /* eventfd: finished jobs, read by main */
    atomic_long     running, done;

    runner_t       *runners;
    pthread_t       keeper;
    rds_t          *keeper_redis;
};

/* ---- pinning ------------------------------------------------------------------------- */

/* Splits "a,b" into pool->pinned; "*" or NULL/empty = all tenants. */
static void pin_tenants(pool_t *p, const char *csv)
{
    if (!csv || !*csv || !strcmp(csv, "*"))
        return;
    char *copy = xstrdup(csv), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *name = str_trim_dup(t);
        if (!*name) {
            free(name);
            continue;
        }
        p->pinned = xrealloc(p->pinned, sizeof *p->pinned * (size_t)(p->npinned + 1));
        p->pinned[p->npinned++] = name;
    }
    free(copy);
}

static bool serves_tenant(const pool_t *p, const char *tenant)
{
    if (!p->pinned)
        return true;
    for (int i = 0; i < p->npinned; i++)
        if (!strcmp(p->pinned[i], tenant))
            return true;
    return false;
}

/* ---- inbox ----------------------------------------------------------------------------- */

static void inbox_push(pool_t *p, const char *tenant, const char *id)
{
    pthread_mutex_lock(&p->mu);
    if (p->in_len == p->in_cap) {
        int cap = p->in_cap ? p->in_cap * 2 : 16;
        job_ref_t *n = xcalloc((size_t)cap, sizeof *n);
        for (int i = 0; i < p->in_len; i++)
            n[i] = p->inbox[(p->in_head + i) % p->in_cap];
        free(p->inbox);
        p->inbox = n;
        p->in_cap = cap;
        p->in_head = 0;
    }
    p->inbox[(p->in_head + p->in_len) % p->in_cap] =
        (job_ref_t){xstrdup(tenant), xstrdup(id)};
    p->in_len++;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* Blocks until a job id is waiting (returns 1, *out owned by the caller) or the pool is
 * stopping (returns 0; ids still waiting stay unclaimed in Redis for another worker). */
static int inbox_pop(pool_t *p, job_ref_t *out)
{
    pthread_mutex_lock(&p->mu);
    while (!p->stopping && p->in_len == 0)
        pthread_cond_wait(&p->cv, &p->mu);
    int got = !p->stopping;
    if (got) {
        *out = p->inbox[p->in_head];
        p->in_head = (p->in_head + 1) % p->in_cap;
        p->in_len--;
    }
    pthread_mutex_unlock(&p->mu);
    return got;
}

/* ---- runners --------------------------------------------------------------------------- */

static void set_running(runner_t *rn, const char *tenant, const char *id)
{
    pthread_mutex_lock(&rn->pool->mu);
    free(rn->running.tenant);
    free(rn->running.id);
    rn->running.tenant = xstrdup(tenant);
    rn->running.id = xstrdup(id);
    rn->running.run++;
    pthread_mutex_unlock(&rn->pool->mu);
}

/* Records the handler's outcome in Redis. refused: a shared limit (rate, pause, in-flight
 * cap) turned the run away, so a retry outcome gives the attempt back (job_defer). */
static void record_outcome(runner_t *rn, const job_t *job, job_outcome_t outcome, bool refused)
{
    pool_t *p = rn->pool;
    job_ctx_t *ctx = &rn->ctx;
    int rc;
    if (outcome == JOB_OK) {
        rc = job_done(ctx->redis, job->tenant, job->id, p->worker_id, ctx->result);
        mlog(LOG_DEBUG, "job.done", "%s/%s done", job->tenant, job->id);
    } else if (outcome == JOB_RETRY && refused) {
        int64_t at = ctx->retry_at_ms > 0 ? ctx->retry_at_ms : now_ms() + RETRY_BASE_MS;
        rc = job_defer(ctx->redis, job->tenant, job->id, p->worker_id,
                       ctx->error ? ctx->error : "deferred", at);
        mlog(LOG_DEBUG, "job.defer", "%s/%s deferred %lld ms, attempt not used: %s",
             job->tenant, job->id, (long long)(at - now_ms()), ctx->error ? ctx->error : "");
    } else {
        bool permanent = outcome == JOB_FATAL;
        /* A server's Retry-After is a lower bound, not the schedule: retries still back off
         * exponentially, or a job making many calls would spend its attempts within seconds
         * of a 429 storm ("Retry-After: 1"). */
        int64_t at = now_ms() + backoff_full_jitter(job->attempt, RETRY_BASE_MS, RETRY_CAP_MS);
        if (ctx->retry_at_ms > at)
            at = ctx->retry_at_ms;
        rc = job_fail(ctx->redis, job->tenant, job->id, p->worker_id,
                      ctx->error ? ctx->error : "failed", permanent, at);
        if (rc == 2)
            mlog(LOG_WARN, "job.dead", "%s/%s dead after attempt %d: %s", job->tenant, job->id,
                 job->attempt, ctx->error ? ctx->error : "failed");
        else if (rc == 1)
            mlog(LOG_INFO, "job.retry", "%s/%s attempt %d failed, retry in %lld ms: %s",
                 job->tenant, job->id, job->attempt, (long long)(at - now_ms()),
                 ctx->error ? ctx->error : "failed");
    }
    if (rc == 0)
        mlog(LOG_WARN, "job.lost", "%s/%s: lease lost before the outcome was recorded",
             job->tenant, job->id);
    else if (rc < 0)
        mlog(LOG_ERROR, "job.record", "%s/%s: Redis failed; the lease reaper will rerun it",
             job->tenant, job->id);
}

/* Claims and runs one job id. */
static void run_one(runner_t *rn, const job_ref_t *ref)
{
    pool_t *p = rn->pool;
    job_ctx_t *ctx = &rn->ctx;
    if (!serves_tenant(p, ref->tenant)) {
        mlog(LOG_WARN, "job.skip", "%s/%s: tenant not served by this worker", ref->tenant,
             ref->id);
        return;
    }
    job_t job;
    int rc = job_claim(ctx->redis, ref->tenant, ref->id, p->worker_id, p->lease_ms, &job);
    if (rc <= 0) {
        if (rc < 0)
            mlog(LOG_ERROR, "job.claim", "%s/%s: Redis failed", ref->tenant, ref->id);
        return;
    }
    set_running(rn, ref->tenant, ref->id);
    atomic_fetch_add(&p->running, 1);
    free(ctx->error);
    free(ctx->result);
    ctx->error = ctx->result = NULL;
    ctx->retry_at_ms = 0;
    rl_refusals_take();
    job_outcome_t outcome = p->o->handler(ctx, &job);
    bool refused = rl_refusals_take() > 0;
    set_running(rn, NULL, NULL);
    record_outcome(rn, &job, outcome, refused);
    atomic_fetch_sub(&p->running, 1);
    atomic_fetch_add(&p->done, 1);
    free(ctx->error);
    free(ctx->result);
    ctx->error = ctx->result = NULL;
    job_free(&job);
}

static void *runner_main(void *arg)
{
    runner_t *rn = arg;
    pool_t *p = rn->pool;
    if (p->o->thread_init)
        rn->ctx.user = p->o->thread_init(&rn->ctx);
    job_ref_t ref;
    while (inbox_pop(p, &ref)) {
        run_one(rn, &ref);
        free(ref.tenant);
        free(ref.id);
        uint64_t one = 1;
        if (write(p->done_fd, &one, sizeof one) != sizeof one)
            mlog(LOG_ERROR, "worker.eventfd", "cannot signal a finished job: %s",
                 strerror(errno));
    }
    if (p->o->thread_free)
        p->o->thread_free(rn->ctx.user);
    return NULL;
}

/* ---- keeper: leases and heartbeat --------------------------------------------------------- */

static void touch_leases(pool_t *p)
{
    for (int i = 0; i < p->threads; i++) {
        runner_t *rn = &p->runners[i];
        pthread_mutex_lock(&p->mu);
        char *tenant = xstrdup(rn->running.tenant), *id = xstrdup(rn->running.id);
        uint64_t run = rn->running.run;
        pthread_mutex_unlock(&p->mu);
        if (tenant && job_touch(p->keeper_redis, tenant, id, p->worker_id, p->lease_ms) == 0) {
            pthread_mutex_lock(&p->mu);
            bool same = rn->running.run == run; /* else it finished meanwhile: no loss */
            pthread_mutex_unlock(&p->mu);
            if (same)
                mlog(LOG_WARN, "job.lease_lost", "%s/%s: lease lost while running", tenant, id);
        }
        free(tenant);
        free(id);
    }
}

static void write_heartbeat(pool_t *p)
{
    json_t *hb = json_pack("{s:s, s:i, s:s, s:s, s:i, s:I, s:I, s:I}", "service",
                           p->o->service, "pid", (int)getpid(), "host", p->host, "tenants",
                           p->o->tenants && *p->o->tenants ? p->o->tenants : "*", "threads",
                           p->threads, "running", (json_int_t)atomic_load(&p->running),
                           "done", (json_int_t)atomic_load(&p->done), "last_seen_ms",
                           (json_int_t)now_ms());
    char *text = json_dumps(hb, JSON_COMPACT);
    redisReply *rep = rds_cmd(p->keeper_redis, "HSET %s %s %s", K_WORKERS, p->worker_id, text);
    if (rep)
        freeReplyObject(rep);
    free(text);
    json_decref(hb);
}

static bool keeper_should_stop(pool_t *p)
{
    pthread_mutex_lock(&p->mu);
    bool stop = p->keeper_stop;
    pthread_mutex_unlock(&p->mu);
    return stop;
}

static void *keeper_main(void *arg)
{
    pool_t *p = arg;
    int64_t touch_every = p->lease_ms / 3 > 0 ? p->lease_ms / 3 : 1;
    int64_t next_touch = mono_ms() + touch_every, next_hb = 0;
    while (!keeper_should_stop(p)) {
        int64_t now = mono_ms();
        if (now >= next_hb) {
            reqstats_flush(p->keeper_redis);
            write_heartbeat(p);
            next_hb = now + HB_MS;
        }
        if (now >= next_touch) {
            touch_leases(p);
            next_touch = now + touch_every;
        }
        int64_t wake = next_hb < next_touch ? next_hb : next_touch;
        sleep_ms(wake - mono_ms() < 50 ? wake - mono_ms() : 50);
    }
    if (reqstats_flush(p->keeper_redis) < 0)
        mlog(LOG_WARN, "worker.reqstats", "Redis failed: %ld request counters of this process "
             "are lost", reqstats_pending());
    redisReply *rep = rds_cmd(p->keeper_redis, "HDEL %s %s", K_WORKERS, p->worker_id);
    if (rep)
        freeReplyObject(rep);
    return NULL;
}

/* ---- broker connection (main thread) ------------------------------------------------------ */

typedef struct {
    void   *ctx;
    void   *sock;        /* NULL while waiting to reconnect */
    int     in_flight;   /* jobs received whose completion was not read from done_fd yet */
    int     attempt;     /* reconnects since the broker was last heard */
    int64_t heard_at, hb_sent_at, reconnect_at;
} link_t;

static int link_send(link_t *l, int n, const char *const *frames)
{
    return l->sock ? zframes_send(l->sock, n, frames, NULL) : -1;
}

static void link_send_credit(link_t *l, long n)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%ld", n);
    const char *f[] = {BUS_PROTO, "CREDIT", buf};
    link_send(l, 3, f);
}

/* Reads finished-job completions; returns how many. */
static long read_done(pool_t *p)
{
    uint64_t n = 0;
    if (read(p->done_fd, &n, sizeof n) != sizeof n)
        return 0;
    return (long)n;
}

static int link_connect(pool_t *p, link_t *l)
{
    l->sock = zmq_socket(l->ctx, ZMQ_DEALER);
    if (!l->sock)
        return -1;
    int linger = 0, sndtimeo = 200;
    zmq_setsockopt(l->sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(l->sock, ZMQ_SNDTIMEO, &sndtimeo, sizeof sndtimeo);
    if (zmq_connect(l->sock, p->o->broker_url) != 0) {
        mlog(LOG_ERROR, "worker.connect", "cannot connect to %s: %s", p->o->broker_url,
             zmq_strerror(errno));
        zmq_close(l->sock);
        l->sock = NULL;
        return -1;
    }
    l->in_flight -= (int)read_done(p); /* those are idle again: counted in READY below */
    char credit[16];
    snprintf(credit, sizeof credit, "%d", p->threads - l->in_flight);
    const char *ready[] = {BUS_PROTO, "READY", p->o->service,
                           p->o->tenants && *p->o->tenants ? p->o->tenants : "*", credit,
                           p->worker_id};
    link_send(l, 6, ready);
    l->heard_at = l->hb_sent_at = mono_ms();
    mlog(LOG_INFO, "worker.ready", "connected to %s with credit %s", p->o->broker_url, credit);
    return 0;
}

static void link_drop(link_t *l)
{
    if (l->sock)
        zmq_close(l->sock);
    l->sock = NULL;
}

/* Handles one message from the broker. */
static void link_on_message(pool_t *p, link_t *l)
{
    char *f[8];
    int n = zframes_recv(l->sock, f, NULL, 8, ZMQ_DONTWAIT);
    if (n < 0)
        return;
    l->heard_at = mono_ms();
    l->attempt = 0;
    if (n >= 4 && !strcmp(f[0], BUS_PROTO) && !strcmp(f[1], "JOB")) {
        l->in_flight++;
        inbox_push(p, f[2], f[3]);
    } else if (!(n >= 2 && !strcmp(f[0], BUS_PROTO) && !strcmp(f[1], "HB"))) {
        mlog(LOG_WARN, "worker.frame", "unexpected message from the broker (%d frames, %s)", n,
             n > 1 ? f[1] : "-");
    }
    zframes_free(f, n);
}

/* One turn of the main loop: waits up to 100 ms for the broker or a finished job. */
static void link_turn(pool_t *p, link_t *l)
{
    int64_t now = mono_ms();
    if (!l->sock && now >= l->reconnect_at && link_connect(p, l) < 0)
        l->reconnect_at = now + backoff_full_jitter(l->attempt++, HB_MS, RECONNECT_CAP_MS);
    zmq_pollitem_t items[2] = {{.fd = p->done_fd, .events = ZMQ_POLLIN},
                               {.socket = l->sock, .events = ZMQ_POLLIN}};
    if (zmq_poll(items, l->sock ? 2 : 1, 100) < 0)
        return; /* EINTR: the caller checks g_stop */
    if (items[0].revents & ZMQ_POLLIN) {
        long n = read_done(p);
        l->in_flight -= (int)n;
        if (n > 0)
            link_send_credit(l, n);
    }
    if (l->sock && (items[1].revents & ZMQ_POLLIN))
        link_on_message(p, l);
    now = mono_ms();
    if (l->sock && now - l->hb_sent_at >= HB_MS) {
        const char *hb[] = {BUS_PROTO, "HB"};
        link_send(l, 2, hb);
        l->hb_sent_at = now;
    }
    if (l->sock && now - l->heard_at > BROKER_SILENT_MS) {
        int64_t delay = backoff_full_jitter(l->attempt++, HB_MS, RECONNECT_CAP_MS);
        mlog(LOG_WARN, "worker.broker_silent", "no word from the broker for %lld ms, "
             "reconnecting in %lld ms", (long long)(now - l->heard_at), (long long)delay);
        link_drop(l);
        l->reconnect_at = now + delay;
    }
}

/* ---- setup and teardown ---------------------------------------------------------------- */

static void pool_free(pool_t *p)
{
    for (int i = 0; p->runners && i < p->threads; i++) {
        job_ctx_t *c = &p->runners[i].ctx;
        rds_destroy(&c->redis);
        http_client_destroy(&c->http);
        bus_destroy(&c->bus);
        free(c->error);
        free(c->result);
        free(p->runners[i].running.tenant);
        free(p->runners[i].running.id);
    }
    free(p->runners);
    for (int i = 0; i < p->in_len; i++) {
        free(p->inbox[(p->in_head + i) % p->in_cap].tenant);
        free(p->inbox[(p->in_head + i) % p->in_cap].id);
    }
    free(p->inbox);
    for (int i = 0; i < p->npinned; i++)
        free(p->pinned[i]);
    free(p->pinned);
    rds_destroy(&p->keeper_redis);
    if (p->done_fd >= 0)
        close(p->done_fd);
    free(p->worker_id);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
}

/* Opens every connection the threads need, so a bad URL fails before anything runs.
 * Returns 0 or -1 (logged). */
static int pool_init(pool_t *p, const worker_opts_t *o)
{
    memset(p, 0, sizeof *p);
    p->o = o;
    p->done_fd = -1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->threads = o->threads > 0 ? o->threads : 1;
    p->lease_ms = o->lease_ms > 0 ? o->lease_ms : 30000;
    if (gethostname(p->host, sizeof p->host - 1) != 0)
        snprintf(p->host, sizeof p->host, "unknown");
    if (o->worker_id && *o->worker_id) {
        p->worker_id = xstrdup(o->worker_id);
    } else {
        char *rnd = random_hex(3);
        p->worker_id = xasprintf("%s-%s-%d-%s", o->service, p->host, (int)getpid(),
                                 rnd ? rnd : "0");
        free(rnd);
    }
    pin_tenants(p, o->tenants);
    p->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (p->done_fd < 0) {
        mlog(LOG_ERROR, "worker.start", "eventfd: %s", strerror(errno));
        return -1;
    }
    char err[256];
    if (!(p->keeper_redis = rds_connect(o->redis_url, err, sizeof err))) {
        mlog(LOG_ERROR, "worker.start", "%s", err);
        return -1;
    }
    p->runners = xcalloc((size_t)p->threads, sizeof *p->runners);
    for (int i = 0; i < p->threads; i++) {
        runner_t *rn = &p->runners[i];
        rn->pool = p;
        rn->ctx.worker_id = p->worker_id;
        rn->ctx.thread_no = i;
        rn->ctx.redis = rds_connect(o->redis_url, err, sizeof err);
        rn->ctx.http = http_client_new();
        rn->ctx.bus = bus_producer_new(o->broker_url);
        if (!rn->ctx.redis || !rn->ctx.http || !rn->ctx.bus) {
            mlog(LOG_ERROR, "worker.start", "thread %d: %s", i,
                 rn->ctx.redis ? "cannot create the HTTP client or bus" : err);
            return -1;
        }
    }
    return 0;
}

int worker_run(const worker_opts_t *o)
{
    if (!o->service || !o->handler || !o->broker_url || !o->redis_url) {
        mlog(LOG_ERROR, "worker.start", "service, handler, broker and Redis URL are required");
        return -1;
    }
    install_stop_signals();
    pool_t p;
    if (pool_init(&p, o) < 0) {
        pool_free(&p);
        return -1;
    }
    link_t l = {.ctx = zmq_ctx_new()};
    int started = 0;
    for (; started < p.threads; started++)
        if (pthread_create(&p.runners[started].th, NULL, runner_main, &p.runners[started]))
            break;
    bool keeper_ok = started == p.threads && !pthread_create(&p.keeper, NULL, keeper_main, &p);
    if (keeper_ok) {
        mlog(LOG_INFO, "worker.start", "worker %s: service %s, tenants %s, %d threads",
             p.worker_id, o->service, o->tenants && *o->tenants ? o->tenants : "*", p.threads);
        while (!g_stop)
            link_turn(&p, &l);
        const char *bye[] = {BUS_PROTO, "BYE"};
        link_send(&l, 2, bye); /* first, so the broker sends nothing more while we drain */
        mlog(LOG_INFO, "worker.stop", "draining %ld running jobs",
             (long)atomic_load(&p.running));
    }
    pthread_mutex_lock(&p.mu);
    p.stopping = 1;
    pthread_cond_broadcast(&p.cv);
    pthread_mutex_unlock(&p.mu);
    for (int i = 0; i < started; i++)
        pthread_join(p.runners[i].th, NULL);
    if (keeper_ok) {
        pthread_mutex_lock(&p.mu);
        p.keeper_stop = 1;
        pthread_mutex_unlock(&p.mu);
        pthread_join(p.keeper, NULL);
    }
    link_drop(&l);
    zmq_ctx_term(l.ctx);
    pool_free(&p);
    if (keeper_ok)
        mlog(LOG_INFO, "worker.exit", "stopped cleanly");
    return keeper_ok ? 0 : -1;
}
