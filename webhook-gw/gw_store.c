/* gw_store: see gw_store.h. */
#include "gw_store.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "job.h"
#include "keys.h"
#include "log.h"
#include "util.h"

/* KEYS: pending, hook. ARGV: sealed secret, handshake_at. Returns the pending value (the
 * resource gid) after storing the secret, or false when no registration is in flight. */
static rds_script_t S_HANDSHAKE = {
    "gw_handshake",
    "local res = redis.call('GET', KEYS[1])\n"
    "if not res then return false end\n"
    "redis.call('HSET', KEYS[2], 'secret', ARGV[1], 'handshake_at', ARGV[2])\n"
    "return res\n"
};

/* The record script: the job enqueue script of job.c as a local function, then the body
 * below. KEYS: hook gidmap events audit, then per event REC_KEYS: seen key and the 5 enqueue
 * keys of its job. ARGV: tenant sealed received_at dedupe_s events_maxlen audit_maxlen touch, then
 * per event REC_ARGS: audit detail (JSON object without "job"), resource gid ("" when none)
 * and the 10 enqueue arguments of its job (the 7th is the payload: the event's JSON).
 * Returns false when K_HOOK "secret" is not ARGV[2]; else one code per event: 0 duplicate,
 * 1 recorded for an unknown task (no job), 2 recorded with its job created, 3 recorded and
 * its job id was already queued (no new job). The reads (secret, gidmap) come before the
 * first write; an event's SET NX of its seen key decides whether it is fresh (a repeat later
 * in the same delivery finds the key set). */
#define REC_KEYS 6
#define REC_ARGS 12
static const char REC_BODY[] =
    "if redis.call('HGET', KEYS[1], 'secret') ~= ARGV[2] then return false end\n"
    "local n = (#KEYS - 4) / 6\n"
    "local out, refs = {}, {}\n"
    "for i = 1, n do\n"
    "  local gid = ARGV[7 + (i - 1) * 12 + 2]\n"
    "  if gid ~= '' then refs[i] = redis.call('HGET', KEYS[2], gid) end\n"
    "end\n"
    "for i = 1, n do\n"
    "  local k, a = 4 + (i - 1) * 6, 7 + (i - 1) * 12\n"
    "  out[i] = 0\n"
    "  if redis.call('SET', KEYS[k + 1], '1', 'NX', 'EX', ARGV[4]) then\n"
    "    local jargv = {unpack(ARGV, a + 3, a + 12)}\n"
    "    redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], '*', 'tenant', ARGV[1],"
    " 'event', jargv[7], 'received_at', ARGV[3])\n"
    "    local detail = ARGV[a + 1]\n"
    "    if refs[i] then\n"
    "      out[i] = enqueue({unpack(KEYS, k + 2, k + 6)}, jargv) == 1 and 2 or 3\n"
    "      redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[6], '*', 'ref', refs[i],"
    " 'event', 'webhook.event', 'detail', '{\"job\":\"' .. jargv[1] .. '\",' .. detail:sub(2))\n"
    "    else\n"
    "      out[i] = 1\n"
    "      redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[6], '*', 'ref', '-',"
    " 'event', 'webhook.unknown_task', 'detail', detail)\n"
    "    end\n"
    "  end\n"
    "end\n"
    "if ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'last_delivery_at', ARGV[3]) end\n"
    "return out\n";

static rds_script_t S_RECORD = { "gw_record", NULL };
static pthread_once_t record_once = PTHREAD_ONCE_INIT;

/* Builds S_RECORD's source once per process (kept for its lifetime). */
static void record_init(void)
{
    S_RECORD.src = xasprintf("local function enqueue(KEYS, ARGV)\n%s\nend\n%s",
                             job_enqueue_lua(), REC_BODY);
}

void gws_opts_from_env(gws_opts_t *o)
{
    o->dedupe_s = env_long("MLC_HOOK_DEDUPE_S", 86400);
    if (o->dedupe_s <= 0)
        o->dedupe_s = 86400;
    o->events_maxlen = env_long("MLC_EVENTS_MAXLEN", 100000);
    if (o->events_maxlen <= 0)
        o->events_maxlen = 100000;
    o->audit_maxlen = env_long("MLC_AUDIT_MAXLEN", 1000000);
    if (o->audit_maxlen <= 0)
        o->audit_maxlen = 1000000;
}

static char *aad_of(const char *tenant)
{
    return xasprintf("webhook:%s", tenant);
}

int gws_tenant_read(rds_t *r, const uint8_t key[MLC_KEY_LEN], const char *tenant,
                    gws_tenant_t *out)
{
    memset(out, 0, sizeof *out);
    char *hook = xasprintf(K_HOOK, tenant);
    int appended = (rds_append(r, "SISMEMBER %s %s", K_TENANTS, tenant) == 0)
                 + (rds_append(r, "HGET %s secret", hook) == 0);
    free(hook);
    redisReply *reps[2] = { NULL, NULL };
    int rc = 0;
    for (int i = 0; i < appended; i++) {
        reps[i] = rc == 0 ? rds_get_reply(r) : NULL;
        if (!reps[i])
            rc = -1;
    }
    if (rc < 0 || appended != 2 || !rds_ok(reps[0]) || !rds_ok(reps[1])) {
        rc = -1;
    } else {
        out->known = rds_int(reps[0], 0) == 1;
        if (reps[1]->type == REDIS_REPLY_STRING) {
            out->sealed = xstrdup(reps[1]->str);
            char *aad = aad_of(tenant);
            out->secret = open_secret(key, aad, out->sealed, NULL);
            free(aad);
            if (!out->secret)
                mlog(LOG_WARN, "gw.secret", "the stored webhook secret of %s does not open", tenant);
        }
    }
    for (int i = 0; i < 2; i++)
        if (reps[i])
            freeReplyObject(reps[i]);
    return rc;
}

void gws_tenant_free(gws_tenant_t *t)
{
    if (t->secret)
        memset(t->secret, 0, strlen(t->secret));
    free(t->secret);
    free(t->sealed);
    memset(t, 0, sizeof *t);
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

/* The audit detail of e without its job: {"sha":..,"resource":..,"event":..}, the event as
 * its canonical text (no re-serialisation), "resource" absent when e has none. malloc'd. */
static char *detail_of(const gwh_event_t *e)
{
    char *res = NULL;
    if (e->resource_gid) {
        json_t *g = json_string(e->resource_gid);
        res = g ? json_dumps(g, JSON_ENCODE_ANY) : NULL;
        json_decref(g);
    }
    char *d = xasprintf("{\"sha\":\"%s\"%s%s,\"event\":%s}", e->sha, res ? ",\"resource\":" : "",
                        res ? res : "", e->json);
    free(res);
    return d;
}

/* The strings one record call owns, freed by rec_args_free. */
typedef struct {
    const char **argv;     /* nkeys keys then the arguments, pointing into the fields below */
    int          nkeys, nargs;
    char       **owned;    /* per event: seen key, detail */
    char      ***jobs;     /* per event: job_enqueue_argv */
    char        *hook, *gidmap, *events, *audit;
    char         at[32], ttl[24], emax[24], amax[24];
} rec_args_t;

static void rec_args_init(rec_args_t *a, const char *tenant, const char *sealed,
                          const gwh_batch_t *b, const gws_opts_t *o, bool touch)
{
    int n = b->n;
    int64_t now = now_ms();
    memset(a, 0, sizeof *a);
    a->nkeys = 4 + REC_KEYS * n;
    a->nargs = a->nkeys + 7 + REC_ARGS * n;
    a->argv = xcalloc((size_t)a->nargs, sizeof *a->argv);
    a->owned = xcalloc((size_t)n * 2, sizeof *a->owned);
    a->jobs = xcalloc((size_t)n, sizeof *a->jobs);
    a->hook = xasprintf(K_HOOK, tenant);
    a->gidmap = xasprintf(K_GIDMAP, tenant);
    a->events = xasprintf(K_EVENTS, tenant);
    a->audit = xasprintf(K_AUDIT, tenant);
    iso8601_ms(now, a->at, sizeof a->at);
    snprintf(a->ttl, sizeof a->ttl, "%ld", o->dedupe_s);
    snprintf(a->emax, sizeof a->emax, "%ld", o->events_maxlen);
    snprintf(a->amax, sizeof a->amax, "%ld", o->audit_maxlen);
    const char **k = a->argv, **v = a->argv + a->nkeys;
    k[0] = a->hook, k[1] = a->gidmap, k[2] = a->events, k[3] = a->audit;
    v[0] = tenant, v[1] = sealed, v[2] = a->at, v[3] = a->ttl, v[4] = a->emax, v[5] = a->amax;
    v[6] = touch ? "1" : "";
    for (int i = 0; i < n; i++) {
        const gwh_event_t *e = &b->ev[i];
        char id[21];
        gwh_job_id(e, id);
        char *ref = e->resource_gid ? xasprintf("task:%s", e->resource_gid) : NULL;
        job_t j = { .id = id, .tenant = (char *)tenant, .service = "write",
                    .type = "webhook_event", .ref = ref, .payload = e->json };
        a->jobs[i] = job_enqueue_argv(&j, now);
        free(ref);
        a->owned[2 * i] = xasprintf(K_HOOK_SEEN, tenant, e->sha);
        a->owned[2 * i + 1] = detail_of(e);
        const char **ek = k + 4 + REC_KEYS * i, **ev = v + 7 + REC_ARGS * i;
        ek[0] = a->owned[2 * i];
        for (int x = 0; x < 5; x++)
            ek[1 + x] = a->jobs[i][x];
        ev[0] = a->owned[2 * i + 1];
        ev[1] = e->resource_gid ? e->resource_gid : "";
        for (int x = 0; x < 10; x++)
            ev[2 + x] = a->jobs[i][5 + x];
    }
}

static void rec_args_free(rec_args_t *a, int n)
{
    for (int i = 0; i < n; i++) {
        free(a->owned[2 * i]);
        free(a->owned[2 * i + 1]);
        job_enqueue_argv_free(a->jobs[i]);
    }
    free(a->owned);
    free(a->jobs);
    free(a->argv);
    free(a->hook);
    free(a->gidmap);
    free(a->events);
    free(a->audit);
}

int gws_record(rds_t *r, const char *tenant, const char *sealed, const gwh_batch_t *b,
               const gws_opts_t *o, bool touch, gws_code_t *codes)
{
    int n = b->n;
    pthread_once(&record_once, record_init);
    rec_args_t a;
    rec_args_init(&a, tenant, sealed, b, o, touch);
    redisReply *rep = rds_eval(r, &S_RECORD, a.nkeys, a.nargs, a.argv, NULL);
    rec_args_free(&a, n);
    int rc;
    if (rep && rep->type == REDIS_REPLY_NIL) {
        rc = 0;
    } else if (!rds_ok(rep) || rep->type != REDIS_REPLY_ARRAY || rep->elements != (size_t)n) {
        if (rep && rep->type == REDIS_REPLY_ERROR)
            mlog(LOG_ERROR, "gw.record", "%s: %s", tenant, rep->str);
        rc = -1;
    } else {
        rc = 1;
        for (int i = 0; i < n && rc == 1; i++) {
            long long code = rds_int(rep->element[i], -1);
            if (code < GWS_DUPLICATE || code > GWS_JOB_EXISTS)
                rc = -1;   /* not this script's answer */
            else
                codes[i] = (gws_code_t)code;
        }
    }
    if (rep)
        freeReplyObject(rep);
    return rc;
}
