/* scheduler: see scheduler.h. */
#include "scheduler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "job.h"
#include "crypto.h"
#include "keys.h"
#include "log.h"
#include "schedule.h"
#include "tenant.h"
#include "util.h"

#define CONFIG_RELOAD_MS 10000

/* One tenant's cached configuration with its flows' parsed schedules. */
typedef struct {
    char         *id;
    tenant_cfg_t  cfg;
    bool          loaded;
    schedule_t   *sched;     /* per flow */
    bool         *has_sched; /* per flow: a valid schedule */
    int64_t       loaded_at; /* mono ms of the last load attempt */
    bool          seen;      /* still in K_TENANTS this tick */
    int64_t       hook_slot; /* last watchdog slot submitted */
    int64_t       rec_slot;  /* last reconciliation slot submitted */
} tenant_entry_t;

struct sched {
    char           *redis_url;
    rds_t          *redis;      /* NULL while Redis is away */
    bool            redis_down; /* logged once per outage */
    bus_t          *bus;
    uint8_t         key[MLC_KEY_LEN];
    tenant_entry_t *tenants;
    size_t          ntenants;
    long            watchdog_s;  /* MLC_WEBHOOK_WATCHDOG_S */
    long            reconcile_s; /* MLC_RECONCILE_S */
};

/* KEYS: sched key. ARGV: expected due, next due. 1 when this caller advanced it. */
static rds_script_t S_ADVANCE = {
    "sched_advance",
    "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
    "  redis.call('SET', KEYS[1], ARGV[2])\n"
    "  return 1\n"
    "end\n"
    "return 0\n",
    ""};

/* ---- tenant cache ---------------------------------------------------------------------- */

static void entry_unload(tenant_entry_t *e)
{
    if (e->loaded)
        tenant_cfg_free(&e->cfg);
    free(e->sched);
    free(e->has_sched);
    e->sched = NULL;
    e->has_sched = NULL;
    e->loaded = false;
}

/* (Re)loads e from Redis; on failure the entry stays unloaded and the reason is logged. */
static void entry_load(sched_t *s, tenant_entry_t *e)
{
    entry_unload(e);
    e->loaded_at = mono_ms();
    char err[256];
    if (tenant_load(s->redis, s->key, e->id, &e->cfg, err, sizeof err) != 0) {
        mlog(LOG_WARN, "sched.tenant", "tenant %s not scheduled: %s", e->id, err);
        return;
    }
    e->loaded = true;
    e->sched = xcalloc(e->cfg.nflows, sizeof *e->sched);
    e->has_sched = xcalloc(e->cfg.nflows, sizeof *e->has_sched);
    for (size_t i = 0; i < e->cfg.nflows; i++) {
        const char *spec = e->cfg.flows[i].schedule;
        if (!spec || !*spec)
            continue;
        if (schedule_parse(spec, &e->sched[i], err, sizeof err) == 0)
            e->has_sched[i] = true;
        else
            mlog(LOG_WARN, "sched.flow", "tenant %s flow %s: schedule \"%s\": %s", e->id,
                 e->cfg.flows[i].name, spec, err);
    }
}

static tenant_entry_t *entry_get(sched_t *s, const char *id)
{
    for (size_t i = 0; i < s->ntenants; i++)
        if (!strcmp(s->tenants[i].id, id))
            return &s->tenants[i];
    s->tenants = xrealloc(s->tenants, sizeof *s->tenants * (s->ntenants + 1));
    tenant_entry_t *e = &s->tenants[s->ntenants++];
    memset(e, 0, sizeof *e);
    e->id = xstrdup(id);
    e->loaded_at = mono_ms() - CONFIG_RELOAD_MS;
    return e;
}

/* Forgets tenants that left K_TENANTS. */
static void entries_prune(sched_t *s)
{
    for (size_t i = 0; i < s->ntenants;) {
        tenant_entry_t *e = &s->tenants[i];
        if (e->seen) {
            e->seen = false;
            i++;
            continue;
        }
        entry_unload(e);
        free(e->id);
        *e = s->tenants[--s->ntenants];
    }
}

/* ---- Redis availability ------------------------------------------------------------------ */

static rds_t *redis(sched_t *s)
{
    if (!s->redis) {
        char err[256];
        s->redis = rds_connect(s->redis_url, err, sizeof err);
        if (!s->redis && !s->redis_down)
            mlog(LOG_ERROR, "sched.redis", "%s; retrying every tick", err);
        if (s->redis && s->redis_down)
            mlog(LOG_INFO, "sched.redis", "Redis is back");
        s->redis_down = !s->redis;
    }
    return s->redis;
}

/* True when Redis answers; else the connection is dropped for a reconnect next tick. */
static bool redis_alive(sched_t *s)
{
    redisReply *rep = rds_cmd(s->redis, "PING");
    bool ok = rds_ok(rep);
    if (rep)
        freeReplyObject(rep);
    if (!ok) {
        mlog(LOG_ERROR, "sched.redis", "Redis stopped answering; retrying every tick");
        rds_destroy(&s->redis);
        s->redis_down = true;
    }
    return ok;
}

/* ---- schedules --------------------------------------------------------------------------- */

static int advance(rds_t *r, const char *key, int64_t from, int64_t to)
{
    char a[24], b[24];
    snprintf(a, sizeof a, "%lld", (long long)from);
    snprintf(b, sizeof b, "%lld", (long long)to);
    const char *args[] = {key, a, b};
    redisReply *rep = rds_eval(r, &S_ADVANCE, 1, 3, args, NULL);
    int rc = rep && rep->type == REDIS_REPLY_INTEGER ? (int)rep->integer : -1;
    if (rep)
        freeReplyObject(rep);
    return rc;
}

char *sched_key(const char *tenant, const char *flow, const char *spec)
{
    char spec_hash[65];
    sha256_hex(spec, strlen(spec), spec_hash);
    char *slot = xasprintf("%s:%.8s", flow, spec_hash);
    char *key = xasprintf(K_SCHED, tenant, slot);
    free(slot);
    return key;
}

/* Fires flow i of e when due. */
static void fire_if_due(sched_t *s, tenant_entry_t *e, size_t i, int64_t now)
{
    const flow_cfg_t *flow = &e->cfg.flows[i];
    char *key = sched_key(e->id, flow->name, flow->schedule);
    redisReply *rep = rds_cmd(s->redis, "GET %s", key);
    if (rep && rep->type == REDIS_REPLY_NIL) {
        freeReplyObject(rep);
        rep = rds_cmd(s->redis, "SET %s %lld NX", key,
                      (long long)schedule_next(&e->sched[i], now));
        if (rep)
            freeReplyObject(rep);
        free(key);
        return;
    }
    long long due = rds_int(rep, -1);
    if (rep)
        freeReplyObject(rep);
    int64_t next = schedule_next(&e->sched[i], now);
    if (due < 0 || now < due || advance(s->redis, key, due, next) != 1) {
        free(key);
        return;
    }
    char *id = xasprintf("poll:%s:%lld", flow->name, due);
    char *payload = xasprintf("{\"due_ms\":%lld}", due);
    job_t j = {.id = id, .tenant = e->id, .service = "poll", .type = "poll_flow",
               .ref = flow->name, .payload = payload};
    int rc = job_submit(s->redis, s->bus, &j);
    if (rc < 0) {
        /* Give the slot back so the next tick (or another scheduler) fires it. */
        advance(s->redis, key, next, due);
        mlog(LOG_ERROR, "sched.fire", "tenant %s flow %s: cannot record job %s", e->id,
             flow->name, id);
    } else {
        mlog(LOG_INFO, "sched.fire", "tenant %s flow %s: job %s%s", e->id, flow->name, id,
             rc == 0 ? " (already queued)" : "");
    }
    free(id);
    free(payload);
    free(key);
}

/* Submits the writer job of type (id = type) once per slot of interval_s seconds. The id is
 * the same every time, so while one such job is queued, running or waiting to retry (a sweep
 * slowed by a 429 storm) no second one starts. *last keeps the slot done; a failed submit is
 * tried again next tick. */
static void fire_periodic(sched_t *s, tenant_entry_t *e, int64_t now, const char *type,
                          long interval_s, int64_t *last)
{
    if (interval_s <= 0)
        return;
    int64_t slot = now / (interval_s * 1000);
    if (slot == *last)
        return;
    job_t j = {.id = (char *)type, .tenant = e->id, .service = "write", .type = (char *)type,
               .ref = "-"};
    if (job_submit(s->redis, s->bus, &j) >= 0)
        *last = slot;
    else
        mlog(LOG_ERROR, "sched.fire", "tenant %s: cannot record job %s", e->id, type);
}

/* ---- housekeeping ------------------------------------------------------------------------ */

/* Publishes ids (moved back to queued by a sweep) and frees them. */
static void publish_ids(sched_t *s, const char *tenant, char **ids, int n, const char *why)
{
    for (int i = 0; i < n; i++) {
        job_t j;
        if (job_load(s->redis, tenant, ids[i], &j) == 1 && j.service)
            bus_publish(s->bus, j.service, tenant, ids[i]);
        job_free(&j);
        free(ids[i]);
    }
    free(ids);
    if (n > 0)
        mlog(LOG_INFO, "sched.housekeep", "tenant %s: %d jobs queued again (%s)", tenant, n,
             why);
}

static void housekeep(sched_t *s, const char *tenant, int64_t now)
{
    char **ids;
    int n = job_requeue_expired(s->redis, tenant, now, &ids);
    if (n >= 0)
        publish_ids(s, tenant, ids, n, "lease expired");
    n = job_promote_retries(s->redis, tenant, now, &ids);
    if (n >= 0)
        publish_ids(s, tenant, ids, n, "retry due");
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

int sched_tick(sched_t *s)
{
    if (!redis(s) || !redis_alive(s))
        return -1;
    int n = 0;
    char **ids = tenant_ids(s->redis, &n);
    int64_t mono = mono_ms();
    for (int t = 0; t < n; t++) {
        tenant_entry_t *e = entry_get(s, ids[t]);
        e->seen = true;
        if (mono - e->loaded_at >= CONFIG_RELOAD_MS)
            entry_load(s, e);
        int64_t now = now_ms();
        for (size_t i = 0; e->loaded && i < e->cfg.nflows; i++)
            if (e->has_sched[i])
                fire_if_due(s, e, i, now);
        if (e->loaded) {
            fire_periodic(s, e, now, "webhook_check", s->watchdog_s, &e->hook_slot);
            fire_periodic(s, e, now, "reconcile", s->reconcile_s, &e->rec_slot);
        }
        housekeep(s, e->id, now);
    }
    tenant_ids_free(ids, n);
    entries_prune(s);
    return s->redis ? 0 : -1;
}

sched_t *sched_new(const char *redis_url, const char *broker_url, const uint8_t key[MLC_KEY_LEN])
{
    sched_t *s = xcalloc(1, sizeof *s);
    s->redis_url = xstrdup(redis_url);
    memcpy(s->key, key, MLC_KEY_LEN);
    s->watchdog_s = env_long("MLC_WEBHOOK_WATCHDOG_S", 60);
    s->reconcile_s = env_long("MLC_RECONCILE_S", 300);
    s->bus = bus_producer_new(broker_url);
    if (!s->bus)
        sched_destroy(&s);
    return s;
}

void sched_destroy(sched_t **sp)
{
    if (!sp || !*sp)
        return;
    sched_t *s = *sp;
    for (size_t i = 0; i < s->ntenants; i++) {
        entry_unload(&s->tenants[i]);
        free(s->tenants[i].id);
    }
    free(s->tenants);
    rds_destroy(&s->redis);
    bus_destroy(&s->bus);
    free(s->redis_url);
    memset(s->key, 0, sizeof s->key);
    free(s);
    *sp = NULL;
}
