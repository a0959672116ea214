/* gw_store: see gw_store.h. */
#include "gw_store.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "job.h"
#include "keys.h"
#include "log.h"
#include "util.h"

#define RECORD_TRIES 8

/* KEYS: pending, hook. ARGV: sealed secret, handshake_at. Returns the pending value (the
 * resource gid) after storing the secret, or false when no registration is in flight. */
static rds_script_t S_HANDSHAKE = {
    "gw_handshake",
    "local res = redis.call('GET', KEYS[1])\n"
    "if not res then return false end\n"
    "redis.call('HSET', KEYS[2], 'secret', ARGV[1], 'handshake_at', ARGV[2])\n"
    "return res\n"
};

void gws_opts_from_env(gws_opts_t *o)
{
    o->dedupe_s = env_long("MLC_HOOK_DEDUPE_S", 86400);
    if (o->dedupe_s <= 0)
        o->dedupe_s = 86400;
    o->events_maxlen = env_long("MLC_EVENTS_MAXLEN", 100000);
    if (o->events_maxlen <= 0)
        o->events_maxlen = 100000;
}

static char *aad_of(const char *tenant)
{
    return xasprintf("webhook:%s", tenant);
}

/* Reads n pipelined replies into reps[] (NULL-filled on failure). -1 when the connection
 * failed (the remaining replies are gone with it), else 0. */
static int read_replies(rds_t *r, int n, redisReply **reps)
{
    int rc = 0;
    for (int i = 0; i < n; i++) {
        reps[i] = rc == 0 ? rds_get_reply(r) : NULL;
        if (!reps[i])
            rc = -1;
    }
    return rc;
}

static void free_replies(int n, redisReply **reps)
{
    for (int i = 0; i < n; i++)
        if (reps[i])
            freeReplyObject(reps[i]);
}

int gws_handshake(rds_t *r, const uint8_t key[MLC_KEY_LEN], const char *tenant,
                  const char *secret)
{
    char *aad = aad_of(tenant);
    char *sealed = seal_secret(key, aad, secret, strlen(secret));
    free(aad);
    if (!sealed)
        return -1;
    char *pending = xasprintf(K_HOOK_PENDING, tenant), *hook = xasprintf(K_HOOK, tenant);
    char at[32];
    iso8601_ms(now_ms(), at, sizeof at);
    const char *args[] = { pending, hook, sealed, at };
    redisReply *rep = rds_eval(r, &S_HANDSHAKE, 2, 4, args, NULL);
    int rc = !rds_ok(rep) ? -1 : rep->type == REDIS_REPLY_STRING ? 1 : 0;
    if (rc >= 0) {
        json_t *d = rc ? json_pack("{ss}", "resource", rep->str)
                       : json_pack("{ss}", "reason", "no registration in flight");
        if (audit_add(r, tenant, "-", rc ? "webhook.handshake" : "webhook.handshake_refused", d) < 0)
            rc = -1;
    }
    if (rep)
        freeReplyObject(rep);
    free(pending);
    free(hook);
    free(sealed);
    return rc;
}

int gws_heartbeat(rds_t *r, const char *tenant)
{
    char *hook = xasprintf(K_HOOK, tenant);
    char at[32];
    iso8601_ms(now_ms(), at, sizeof at);
    redisReply *rep = rds_cmd(r, "HSET %s last_heartbeat_at %s", hook, at);
    int rc = rds_ok(rep) ? 0 : -1;
    if (rep)
        freeReplyObject(rep);
    free(hook);
    return rc;
}

/* What the read phase learned about each event of a batch. */
typedef struct {
    char **seen_key;   /* K_HOOK_SEEN per event */
    bool  *fresh;      /* not seen before and first of its sha in the batch */
    char **ref;        /* K_GIDMAP value of the resource (record ref), or NULL */
} plan_t;

static void plan_free(plan_t *p, int n)
{
    for (int i = 0; i < n; i++) {
        free(p->seen_key[i]);
        free(p->ref[i]);
    }
    free(p->seen_key);
    free(p->fresh);
    free(p->ref);
}

/* Phase 1: appends WATCH of the seen keys, MGET of them and HMGET of the gidmap entries of
 * the resources (3 commands). Returns how many were appended. */
static int plan_append(rds_t *r, const char *tenant, const gwh_batch_t *b, const plan_t *p)
{
    int n = b->n;
    const char **argv = xcalloc((size_t)n + 2, sizeof *argv);
    char *gidmap = xasprintf(K_GIDMAP, tenant);
    argv[0] = "WATCH";
    for (int i = 0; i < n; i++)
        argv[1 + i] = p->seen_key[i];
    int appended = rds_appendargv(r, n + 1, argv, NULL) == 0;
    argv[0] = "MGET";
    appended += rds_appendargv(r, n + 1, argv, NULL) == 0;
    argv[0] = "HMGET";
    argv[1] = gidmap;
    for (int i = 0; i < n; i++)
        argv[2 + i] = b->ev[i].resource_gid ? b->ev[i].resource_gid : "";
    appended += rds_appendargv(r, n + 2, argv, NULL) == 0;
    free(argv);
    free(gidmap);
    return appended;
}

/* Phase 1 replies (WATCH, MGET, HMGET) -> p->fresh / p->ref. 0, or -1 when one is missing or
 * not what was asked for. */
static int plan_take(redisReply **reps, const gwh_batch_t *b, plan_t *p)
{
    size_t n = (size_t)b->n;
    if (!rds_ok(reps[0]) || !rds_ok(reps[1]) || !rds_ok(reps[2])
        || reps[1]->type != REDIS_REPLY_ARRAY || reps[1]->elements != n
        || reps[2]->type != REDIS_REPLY_ARRAY || reps[2]->elements != n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        bool twice = false;
        for (size_t k = 0; k < i && !twice; k++)
            twice = strcmp(b->ev[k].sha, b->ev[i].sha) == 0;
        p->fresh[i] = !twice && reps[1]->element[i]->type == REDIS_REPLY_NIL;
        redisReply *g = reps[2]->element[i];
        free(p->ref[i]);
        p->ref[i] = b->ev[i].resource_gid && g->type == REDIS_REPLY_STRING ? xstrdup(g->str) : NULL;
    }
    return 0;
}

/* Phase 1 on its own round trip (a retry after a conflict). 0 or -1. */
static int plan_read(rds_t *r, const char *tenant, const gwh_batch_t *b, plan_t *p)
{
    redisReply *reps[3] = { NULL, NULL, NULL };
    int appended = plan_append(r, tenant, b, p);
    int rc = read_replies(r, appended, reps);
    if (rc == 0 && (appended != 3 || plan_take(reps, b, p) < 0))
        rc = -1;
    free_replies(appended, reps);
    return rc;
}

/* Phase 2 for one fresh event: appends its commands inside the MULTI. Returns the number of
 * commands appended; *job_slot is the index (among them) of the job enqueue, or -1. */
static int append_event(rds_t *r, const char *tenant, const gwh_event_t *e, const plan_t *p,
                        int i, const gws_opts_t *o, const char *at, int *job_slot)
{
    char ttl[24], maxlen[24];
    snprintf(ttl, sizeof ttl, "%ld", o->dedupe_s);
    snprintf(maxlen, sizeof maxlen, "%ld", o->events_maxlen);
    char *stream = xasprintf(K_EVENTS, tenant);
    int n = 0;
    *job_slot = -1;
    const char *set_argv[] = { "SET", p->seen_key[i], "1", "NX", "EX", ttl };
    n += rds_appendargv(r, 6, set_argv, NULL) == 0;
    const char *xadd_argv[] = { "XADD", stream, "MAXLEN", "~", maxlen, "*", "tenant", tenant,
                                "event", e->json, "received_at", at };
    n += rds_appendargv(r, 12, xadd_argv, NULL) == 0;
    char id[21];
    gwh_job_id(e, id);
    json_t *detail = json_pack("{ss ss* so*}", "sha", e->sha, "resource", e->resource_gid,
                               "event", json_incref(e->obj));
    if (p->ref[i]) {
        char *ref = xasprintf("task:%s", e->resource_gid);
        job_t j = { .id = id, .tenant = (char *)tenant, .service = "write",
                    .type = "webhook_event", .ref = ref, .payload = e->json };
        if (job_append_enqueue(r, &j) == 0)
            *job_slot = n++;
        free(ref);
        json_object_set_new(detail, "job", json_string(id));
        n += audit_append(r, tenant, p->ref[i], "webhook.event", detail) == 0;
    } else {
        n += audit_append(r, tenant, "-", "webhook.unknown_task", detail) == 0;
    }
    free(stream);
    return n;
}

/* Phase 2: MULTI, the fresh events, last_delivery_at, EXEC. Returns 1 committed (res filled),
 * 0 when EXEC was refused because a watched key changed, -1 on failure. An append fails only
 * when the connection is gone, which also drops the server's half-built MULTI; rds drains
 * whatever was appended before the next command. */
static int commit(rds_t *r, const char *tenant, const gwh_batch_t *b, const plan_t *p,
                  const gws_opts_t *o, gws_result_t *res)
{
    char at[32];
    iso8601_ms(now_ms(), at, sizeof at);
    int *job_at = xcalloc((size_t)b->n, sizeof *job_at);   /* EXEC index of each job enqueue */
    int queued = 0;
    bool ok = rds_append(r, "MULTI") == 0;
    for (int i = 0; ok && i < b->n; i++) {
        job_at[i] = -1;
        if (!p->fresh[i])
            continue;
        int slot, want = p->ref[i] ? 4 : 3;
        ok = append_event(r, tenant, &b->ev[i], p, i, o, at, &slot) == want;
        if (slot >= 0)
            job_at[i] = queued + slot;
        queued += want;
    }
    char *hook = xasprintf(K_HOOK, tenant);
    ok = ok && rds_append(r, "HSET %s last_delivery_at %s", hook, at) == 0;
    free(hook);
    queued++;
    ok = ok && rds_append(r, "EXEC") == 0;
    int nreps = 2 + queued;
    redisReply **reps = xcalloc((size_t)nreps, sizeof *reps);
    int rc = ok ? read_replies(r, nreps, reps) : -1;
    redisReply *exec = rc == 0 ? reps[nreps - 1] : NULL;
    if (!exec || exec->type == REDIS_REPLY_ERROR) {
        rc = -1;
    } else if (exec->type == REDIS_REPLY_NIL) {
        rc = 0;
    } else if (exec->type != REDIS_REPLY_ARRAY || exec->elements != (size_t)queued) {
        rc = -1;
    } else {
        rc = 1;
        res->job_ids = xcalloc((size_t)b->n, sizeof *res->job_ids);
        for (int i = 0; i < b->n; i++) {
            res->fresh += p->fresh[i];
            res->duplicates += !p->fresh[i];
            res->unknown += p->fresh[i] && !p->ref[i];
            if (job_at[i] >= 0 && rds_int(exec->element[job_at[i]], 0) == 1) {
                char id[21];
                gwh_job_id(&b->ev[i], id);
                res->job_ids[res->njobs++] = xstrdup(id);
            }
        }
    }
    free_replies(nreps, reps);
    free(reps);
    free(job_at);
    return rc;
}

struct gws_delivery {
    char              *tenant;
    const gwh_batch_t *b;          /* NULL: no events to record */
    bool               known;
    char              *secret;
    plan_t             plan;
    bool               watching;   /* the connection holds our WATCH */
};

static void delivery_free(gws_delivery_t *d)
{
    if (d->b)
        plan_free(&d->plan, d->b->n);
    free(d->secret);
    free(d->tenant);
    free(d);
}

gws_delivery_t *gws_begin(rds_t *r, const uint8_t key[MLC_KEY_LEN], const char *tenant,
                          const gwh_batch_t *b)
{
    gws_delivery_t *d = xcalloc(1, sizeof *d);
    d->tenant = xstrdup(tenant);
    d->b = b && b->n > 0 ? b : NULL;
    if (d->b) {
        int n = d->b->n;
        d->plan = (plan_t){ xcalloc((size_t)n, sizeof(char *)), xcalloc((size_t)n, sizeof(bool)),
                            xcalloc((size_t)n, sizeof(char *)) };
        for (int i = 0; i < n; i++)
            d->plan.seen_key[i] = xasprintf(K_HOOK_SEEN, tenant, d->b->ev[i].sha);
    }
    char *hook = xasprintf(K_HOOK, tenant);
    int appended = (rds_append(r, "SISMEMBER %s %s", K_TENANTS, tenant) == 0)
                 + (rds_append(r, "HGET %s secret", hook) == 0);
    free(hook);
    int want = 2;
    if (d->b) {
        appended += plan_append(r, tenant, d->b, &d->plan);
        want += 3;
    }
    redisReply *reps[5] = { NULL, NULL, NULL, NULL, NULL };
    int rc = read_replies(r, appended, reps);
    d->watching = d->b && rc == 0;
    if (rc < 0 || appended != want || !rds_ok(reps[0]) || !rds_ok(reps[1])
        || (d->b && plan_take(reps + 2, d->b, &d->plan) < 0)) {
        free_replies(appended, reps);
        gws_end(r, &d);
        return NULL;
    }
    d->known = rds_int(reps[0], 0) == 1;
    if (reps[1]->type == REDIS_REPLY_STRING) {
        char *aad = aad_of(tenant);
        d->secret = open_secret(key, aad, reps[1]->str, NULL);
        free(aad);
        if (!d->secret)
            mlog(LOG_WARN, "gw.secret", "the stored webhook secret of %s does not open", tenant);
    }
    free_replies(appended, reps);
    return d;
}

bool gws_known(const gws_delivery_t *d)
{
    return d->known;
}

const char *gws_secret(const gws_delivery_t *d)
{
    return d->secret;
}

int gws_record(rds_t *r, gws_delivery_t *d, const gws_opts_t *o, gws_result_t *res)
{
    memset(res, 0, sizeof *res);
    if (!d->b)
        return 0;
    int rc = 0;
    for (int attempt = 0; attempt < RECORD_TRIES; attempt++) {
        if (attempt > 0 && plan_read(r, d->tenant, d->b, &d->plan) < 0) {
            rc = -1;
            break;
        }
        rc = commit(r, d->tenant, d->b, &d->plan, o, res);
        if (rc != 0)
            break;
    }
    d->watching = false;   /* EXEC ended the WATCH, or the connection is gone with it */
    if (rc <= 0) {
        if (rc == 0)
            mlog(LOG_WARN, "gw.record", "%s: the delivery kept conflicting with others", d->tenant);
        gws_result_free(res);
        return -1;
    }
    return 0;
}

void gws_end(rds_t *r, gws_delivery_t **d)
{
    if (!*d)
        return;
    if ((*d)->watching) {
        redisReply *rep = rds_cmd(r, "UNWATCH");
        if (rep)
            freeReplyObject(rep);
    }
    delivery_free(*d);
    *d = NULL;
}

void gws_result_free(gws_result_t *res)
{
    for (int i = 0; i < res->njobs; i++)
        free(res->job_ids[i]);
    free(res->job_ids);
    memset(res, 0, sizeof *res);
}
