/* job: the job state machine, one Lua script per transition (see job.h). Scripts reach
 * other jobs of the tenant (parent, queue of a service) through key prefixes passed as
 * arguments; every key carries the tenant's hash tag, so all of them share a Cluster slot. */
#include "job.h"

#include <assert.h>
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "util.h"

#define JOB_DEFAULT_MAX_ATTEMPTS 8
#define JOB_DEFAULT_TTL_S        86400
#define JOBLOG_KEEP              10000
#define SWEEP_BATCH              500

/* ---- Lua ------------------------------------------------------------------------------- */

/* Shared prologue of touch/done/fail: KEYS[1] = job hash, ARGV[1] = id, ARGV[2] = worker.
 * Leaves s = {state, worker, parent, attempt, max_attempts}; returns 0 unless the worker
 * still owns the running job. */
#define LUA_OWNED                                                                          \
    "local s = redis.call('HMGET', KEYS[1], 'state', 'worker', 'parent', 'attempt',"       \
    " 'max_attempts')\n"                                                                   \
    "if s[1] ~= 'running' or s[2] ~= ARGV[2] then return 0 end\n"

/* bump_parent(prefix, parent, field): counts a finished child on its parent, when the
 * parent hash still exists (never recreates an expired one).
 * bury(jk, id, err, now, leases, dlq, stats, prefix, parent): running -> dead. */
#define LUA_HELPERS                                                                        \
    "local function bump_parent(prefix, parent, field)\n"                                  \
    "  if parent and parent ~= '' and redis.call('EXISTS', prefix .. parent) == 1 then\n"  \
    "    redis.call('HINCRBY', prefix .. parent, field, 1)\n"                              \
    "  end\n"                                                                              \
    "end\n"                                                                                \
    "local function bury(jk, id, err, now, leases, dlq, stats, prefix, parent)\n"          \
    "  redis.call('HSET', jk, 'state', 'dead', 'error', err, 'updated_ms', now,"           \
    " 'lease_until', 0)\n"                                                                 \
    "  redis.call('ZREM', leases, id)\n"                                                   \
    "  redis.call('ZADD', dlq, now, id)\n"                                                 \
    "  bump_parent(prefix, parent, 'children_dead')\n"                                     \
    "  redis.call('HINCRBY', stats, 'jobs_dead', 1)\n"                                     \
    "end\n"

/* KEYS: job queue joblog stats dlq. ARGV: id tenant service type ref parent payload
 * max_attempts now keep. Returns 1 created (or new run of a done/dead job), 0 duplicate.
 * The job log holds the newest keep to keep + 100 ids: it is trimmed in steps of 100, so
 * most enqueues only read its size. */
#define LUA_ENQUEUE                                                                        \
    "local st = redis.call('HGET', KEYS[1], 'state')\n"                                    \
    "if st == 'queued' or st == 'running' or st == 'retry' then return 0 end\n"            \
    "if st then\n"   /* a done or dead job runs again: start from a clean hash */         \
    "  redis.call('DEL', KEYS[1])\n"                                                       \
    "  redis.call('ZREM', KEYS[5], ARGV[1])\n"                                             \
    "end\n"                                                                                \
    "local f = {'state', 'queued', 'attempt', 0, 'max_attempts', ARGV[8], 'created_ms',"    \
    " ARGV[9], 'updated_ms', ARGV[9], 'id', ARGV[1], 'tenant', ARGV[2], 'service', ARGV[3],"\
    " 'type', ARGV[4]}\n"                                                                   \
    "if ARGV[5] ~= '' then f[#f + 1] = 'ref'; f[#f + 1] = ARGV[5] end\n"                    \
    "if ARGV[6] ~= '' then f[#f + 1] = 'parent'; f[#f + 1] = ARGV[6] end\n"                 \
    "if ARGV[7] ~= '' then f[#f + 1] = 'payload'; f[#f + 1] = ARGV[7] end\n"                \
    "redis.call('HSET', KEYS[1], unpack(f))\n"                                             \
    "redis.call('ZADD', KEYS[2], ARGV[9], ARGV[1])\n"                                      \
    "redis.call('ZADD', KEYS[3], ARGV[9], ARGV[1])\n"                                      \
    "local keep = tonumber(ARGV[10])\n"                                                    \
    "if redis.call('ZCARD', KEYS[3]) > keep + 100 then\n"                                  \
    "  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -keep - 1)\n"                             \
    "end\n"                                                                                \
    "redis.call('HINCRBY', KEYS[4], 'jobs_enqueued', 1)\n"                                 \
    "return 1\n"

static rds_script_t S_ENQUEUE = { "job_enqueue", LUA_ENQUEUE, "" };

/* S_ENQUEUE, except that a job that died of a permanent failure stays dead. */
static rds_script_t S_REVIVE = {
    "job_revive",
    "local g = redis.call('HMGET', KEYS[1], 'state', 'permanent')\n"
    "if g[1] == 'dead' and g[2] == '1' then return 0 end\n" LUA_ENQUEUE,
    ""};

/* KEYS: job leases. ARGV: id worker lease_until now queue_prefix.
 * Returns 0 when not queued, else the job hash (HGETALL) after the claim. */
static rds_script_t S_CLAIM = {
    "job_claim",
    "if redis.call('HGET', KEYS[1], 'state') ~= 'queued' then return 0 end\n"
    "local svc = redis.call('HGET', KEYS[1], 'service') or ''\n"
    "redis.call('HINCRBY', KEYS[1], 'attempt', 1)\n"
    "redis.call('HSET', KEYS[1], 'state', 'running', 'worker', ARGV[2], 'lease_until',"
    " ARGV[3], 'updated_ms', ARGV[4])\n"
    "redis.call('ZREM', ARGV[5] .. svc, ARGV[1])\n"
    "redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])\n"
    "return redis.call('HGETALL', KEYS[1])\n",
    ""};

/* KEYS: job leases. ARGV: id worker lease_until. 1 extended, 0 lost. */
static rds_script_t S_TOUCH = {
    "job_touch",
    LUA_OWNED
    "redis.call('HSET', KEYS[1], 'lease_until', ARGV[3])\n"
    "redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])\n"
    "return 1\n",
    ""};

/* KEYS: job leases stats. ARGV: id worker result now ttl job_prefix. 1 done, 0 lost. */
static rds_script_t S_DONE = {
    "job_done",
    LUA_HELPERS LUA_OWNED
    "redis.call('HSET', KEYS[1], 'state', 'done', 'updated_ms', ARGV[4], 'lease_until', 0)\n"
    "if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'result', ARGV[3]) end\n"
    "redis.call('HDEL', KEYS[1], 'error')\n"
    "redis.call('ZREM', KEYS[2], ARGV[1])\n"
    "redis.call('EXPIRE', KEYS[1], ARGV[5])\n"
    "bump_parent(ARGV[6], s[3], 'children_done')\n"
    "redis.call('HINCRBY', KEYS[3], 'jobs_done', 1)\n"
    "return 1\n",
    ""};

/* KEYS: job leases retry dlq stats. ARGV: id worker error permanent retry_at now job_prefix.
 * 1 retry, 2 dead, 0 lost. */
static rds_script_t S_FAIL = {
    "job_fail",
    LUA_HELPERS LUA_OWNED
    "if ARGV[4] == '1' then redis.call('HSET', KEYS[1], 'permanent', '1') end\n"
    "if ARGV[4] == '1' or tonumber(s[4] or 0) >= tonumber(s[5] or 1) then\n"
    "  bury(KEYS[1], ARGV[1], ARGV[3], ARGV[6], KEYS[2], KEYS[4], KEYS[5], ARGV[7], s[3])\n"
    "  return 2\n"
    "end\n"
    "redis.call('HSET', KEYS[1], 'state', 'retry', 'error', ARGV[3], 'not_before', ARGV[5],"
    " 'updated_ms', ARGV[6], 'lease_until', 0)\n"
    "redis.call('ZREM', KEYS[2], ARGV[1])\n"
    "redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1])\n"
    "redis.call('HINCRBY', KEYS[5], 'jobs_retried', 1)\n"
    "return 1\n",
    ""};

/* KEYS: job leases retry stats. ARGV: id worker error retry_at now. running -> retry with
 * the claim's attempt given back: the run was refused by a shared limit before doing its
 * work. 1 in retry, 0 lost. */
static rds_script_t S_DEFER = {
    "job_defer",
    LUA_OWNED
    "if tonumber(s[4] or 0) > 0 then redis.call('HINCRBY', KEYS[1], 'attempt', -1) end\n"
    "redis.call('HSET', KEYS[1], 'state', 'retry', 'error', ARGV[3], 'not_before', ARGV[4],"
    " 'updated_ms', ARGV[5], 'lease_until', 0)\n"
    "redis.call('ZREM', KEYS[2], ARGV[1])\n"
    "redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])\n"
    "redis.call('HINCRBY', KEYS[4], 'jobs_deferred', 1)\n"
    "return 1\n",
    ""};

/* KEYS: leases dlq stats. ARGV: now job_prefix queue_prefix limit.
 * Leases that expired before now: back to queued, or dead when that run was the last
 * attempt (a job that kills its worker every time must not loop forever). Returns the
 * re-queued ids and, as the last element, how many leases were examined. */
static rds_script_t S_REQUEUE = {
    "job_requeue_expired",
    LUA_HELPERS
    "local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', 0,"
    " ARGV[4])\n"
    "local out = {}\n"
    "for _, id in ipairs(ids) do\n"
    "  local jk = ARGV[2] .. id\n"
    "  local s = redis.call('HMGET', jk, 'state', 'worker', 'parent', 'attempt',"
    " 'max_attempts', 'service')\n"
    "  redis.call('ZREM', KEYS[1], id)\n"
    "  if s[1] == 'running' then\n"
    "    local why = 'lease expired (worker ' .. (s[2] or '?') .. ', attempt ' .. (s[4] or '?')"
    " .. ')'\n"
    "    if tonumber(s[4] or 0) >= tonumber(s[5] or 1) then\n"
    "      bury(jk, id, why, ARGV[1], KEYS[1], KEYS[2], KEYS[3], ARGV[2], s[3])\n"
    "    else\n"
    "      redis.call('HSET', jk, 'state', 'queued', 'error', why, 'updated_ms', ARGV[1],"
    " 'lease_until', 0)\n"
    "      redis.call('HDEL', jk, 'worker')\n"
    "      redis.call('ZADD', ARGV[3] .. (s[6] or ''), ARGV[1], id)\n"
    "      out[#out + 1] = id\n"
    "    end\n"
    "  end\n"
    "end\n"
    "out[#out + 1] = #ids\n"
    "return out\n",
    ""};

/* KEYS: retry. ARGV: now job_prefix queue_prefix limit. Due retries -> queued; same reply
 * shape as S_REQUEUE. */
static rds_script_t S_PROMOTE = {
    "job_promote_retries",
    "local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[4])\n"
    "local out = {}\n"
    "for _, id in ipairs(ids) do\n"
    "  local jk = ARGV[2] .. id\n"
    "  local s = redis.call('HMGET', jk, 'state', 'service')\n"
    "  redis.call('ZREM', KEYS[1], id)\n"
    "  if s[1] == 'retry' then\n"
    "    redis.call('HSET', jk, 'state', 'queued', 'updated_ms', ARGV[1])\n"
    "    redis.call('ZADD', ARGV[3] .. (s[2] or ''), ARGV[1], id)\n"
    "    out[#out + 1] = id\n"
    "  end\n"
    "end\n"
    "out[#out + 1] = #ids\n"
    "return out\n",
    ""};

/* KEYS: job dlq. ARGV: id now queue_prefix job_prefix. dead -> queued with a fresh attempt
 * count; returns the job's service, or 0 when it is not dead (its DLQ entry, if any, is
 * stale and dropped). */
static rds_script_t S_REPLAY = {
    "job_replay",
    "local s = redis.call('HMGET', KEYS[1], 'state', 'service', 'parent')\n"
    "redis.call('ZREM', KEYS[2], ARGV[1])\n"
    "if s[1] ~= 'dead' then return 0 end\n"
    "local svc = s[2] or ''\n"
    "redis.call('HSET', KEYS[1], 'state', 'queued', 'attempt', 0, 'updated_ms', ARGV[2],"
    " 'lease_until', 0)\n"
    "redis.call('HDEL', KEYS[1], 'error', 'not_before', 'worker', 'permanent')\n"
    "redis.call('ZADD', ARGV[3] .. svc, ARGV[2], ARGV[1])\n"
    "local parent = s[3]\n"
    "if parent and parent ~= '' then\n"
    "  local pk = ARGV[4] .. parent\n"
    "  if tonumber(redis.call('HGET', pk, 'children_dead') or 0) > 0 then\n"
    "    redis.call('HINCRBY', pk, 'children_dead', -1)\n"
    "  end\n"
    "end\n"
    "return svc\n",
    ""};

/* KEYS: job. ARGV: n. 1 added, 0 when the job does not exist. */
static rds_script_t S_ADD_CHILDREN = {
    "job_add_children",
    "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
    "redis.call('HINCRBY', KEYS[1], 'children', ARGV[1])\n"
    "return 1\n",
    ""};

/* ---- helpers --------------------------------------------------------------------------- */

static const char *i64s(char buf[24], int64_t v)
{
    snprintf(buf, 24, "%lld", (long long)v);
    return buf;
}

/* Runs s and maps an integer reply to its value; -1 on Redis failure or another shape. */
static int eval_int(rds_t *r, rds_script_t *s, int nkeys, int nargs, const char **args)
{
    redisReply *rep = rds_eval(r, s, nkeys, nargs, args, NULL);
    int rc = rep && rep->type == REDIS_REPLY_INTEGER ? (int)rep->integer : -1;
    if (rep)
        freeReplyObject(rep);
    return rc;
}

/* Replaces *dst with a copy of the string reply v (NULL when v is not a string). */
static void set_field(char **dst, const redisReply *v)
{
    free(*dst);
    *dst = rds_str(v);
}

/* Fills *out from a flat HGETALL array (pure). Unknown fields are ignored. */
static void job_from_hash(const redisReply *arr, job_t *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i + 1 < arr->elements; i += 2) {
        const char *k = arr->element[i]->str;
        const redisReply *v = arr->element[i + 1];
        if (!k)
            continue;
        if (!strcmp(k, "id"))
            set_field(&out->id, v);
        else if (!strcmp(k, "tenant"))
            set_field(&out->tenant, v);
        else if (!strcmp(k, "service"))
            set_field(&out->service, v);
        else if (!strcmp(k, "type"))
            set_field(&out->type, v);
        else if (!strcmp(k, "ref"))
            set_field(&out->ref, v);
        else if (!strcmp(k, "parent"))
            set_field(&out->parent, v);
        else if (!strcmp(k, "payload"))
            set_field(&out->payload, v);
        else if (!strcmp(k, "state"))
            set_field(&out->state, v);
        else if (!strcmp(k, "worker"))
            set_field(&out->worker, v);
        else if (!strcmp(k, "error"))
            set_field(&out->error, v);
        else if (!strcmp(k, "attempt"))
            out->attempt = (int)rds_int(v, 0);
        else if (!strcmp(k, "max_attempts"))
            out->max_attempts = (int)rds_int(v, JOB_DEFAULT_MAX_ATTEMPTS);
        else if (!strcmp(k, "created_ms"))
            out->created_ms = rds_int(v, 0);
        else if (!strcmp(k, "lease_until"))
            out->lease_until = rds_int(v, 0);
        else if (!strcmp(k, "not_before"))
            out->not_before = rds_int(v, 0);
    }
}

void job_free(job_t *j)
{
    if (!j)
        return;
    free(j->id);
    free(j->tenant);
    free(j->service);
    free(j->type);
    free(j->ref);
    free(j->parent);
    free(j->payload);
    free(j->state);
    free(j->worker);
    free(j->error);
    memset(j, 0, sizeof *j);
}

/* ---- enqueue --------------------------------------------------------------------------- */

/* The keys and arguments of S_ENQUEUE for one job; job_enqueue_args_free releases them. */
typedef struct {
    char       *keys[5];
    char        max[24], now[24], keep[24];
    const char *argv[15];
} enqueue_args_t;

static void enqueue_args_init(enqueue_args_t *a, const job_t *j, int64_t now)
{
    assert(j->id && j->tenant && j->service && j->type);
    a->keys[0] = xasprintf(K_JOB, j->tenant, j->id);
    a->keys[1] = xasprintf(K_QUEUE, j->tenant, j->service);
    a->keys[2] = xasprintf(K_JOBLOG, j->tenant);
    a->keys[3] = xasprintf(K_STATS, j->tenant);
    a->keys[4] = xasprintf(K_DLQ, j->tenant);
    const char *vals[] = {
        j->id, j->tenant, j->service, j->type, j->ref ? j->ref : "",
        j->parent ? j->parent : "", j->payload ? j->payload : "",
        i64s(a->max, j->max_attempts > 0 ? j->max_attempts : job_max_attempts(j->type)),
        i64s(a->now, now), i64s(a->keep, JOBLOG_KEEP)};
    for (int i = 0; i < 5; i++)
        a->argv[i] = a->keys[i];
    for (int i = 0; i < 10; i++)
        a->argv[5 + i] = vals[i];
}

static void enqueue_args_free(enqueue_args_t *a)
{
    for (int i = 0; i < 5; i++)
        free(a->keys[i]);
}

int job_enqueue(rds_t *r, const job_t *j)
{
    enqueue_args_t a;
    enqueue_args_init(&a, j, now_ms());
    int rc = eval_int(r, &S_ENQUEUE, 5, 15, a.argv);
    enqueue_args_free(&a);
    return rc;
}

/* Appends script (S_ENQUEUE or S_REVIVE) for j. EVAL with the source rather than EVALSHA:
 * the caller may be inside MULTI or a longer pipeline, where a NOSCRIPT could not be
 * repaired. */
static int append_enqueue_script(rds_t *r, rds_script_t *script, const job_t *j)
{
    enqueue_args_t a;
    enqueue_args_init(&a, j, now_ms());
    int rc = rds_append_eval_src(r, script, 5, 15, a.argv, NULL);
    enqueue_args_free(&a);
    return rc;
}

int job_append_enqueue(rds_t *r, const job_t *j)
{
    return append_enqueue_script(r, &S_ENQUEUE, j);
}

int job_append_revive(rds_t *r, const job_t *j)
{
    return append_enqueue_script(r, &S_REVIVE, j);
}

const char *job_enqueue_lua(void)
{
    return S_ENQUEUE.src;
}

char **job_enqueue_argv(const job_t *j, int64_t now)
{
    enqueue_args_t a;
    enqueue_args_init(&a, j, now);
    char **argv = xcalloc(JOB_ENQUEUE_ARGC, sizeof *argv);
    for (int i = 0; i < JOB_ENQUEUE_ARGC; i++)
        argv[i] = xstrdup(a.argv[i]);
    enqueue_args_free(&a);
    return argv;
}

void job_enqueue_argv_free(char **argv)
{
    if (!argv)
        return;
    for (int i = 0; i < JOB_ENQUEUE_ARGC; i++)
        free(argv[i]);
    free(argv);
}

int job_enqueue_many(rds_t *r, const job_t *jobs, int n)
{
    if (n <= 0)
        return 0;
    if (rds_script_ensure(r, &S_ENQUEUE) < 0)
        return -1;
    int64_t now = now_ms();
    for (int i = 0; i < n; i++) {
        enqueue_args_t a;
        enqueue_args_init(&a, &jobs[i], now);
        int rc = rds_append_eval(r, &S_ENQUEUE, 5, 15, a.argv, NULL);
        enqueue_args_free(&a);
        if (rc < 0) {
            rds_drain(r, i);   /* what was appended: the connection stays in step */
            return -1;
        }
    }
    int created = 0, failed = 0;
    for (int i = 0; i < n; i++) {
        redisReply *rep = rds_get_reply(r);
        if (!rep)
            return -1; /* connection lost: the rest of the replies are gone with it */
        if (rep->type == REDIS_REPLY_INTEGER)
            created += rep->integer == 1;
        else
            failed = 1;
        freeReplyObject(rep);
    }
    return failed ? -1 : created;
}

/* ---- transitions ----------------------------------------------------------------------- */

int job_claim(rds_t *r, const char *tenant, const char *id, const char *worker,
              int64_t lease_ms, job_t *out)
{
    char until[24], now[24];
    int64_t t = now_ms();
    char *job_key = xasprintf(K_JOB, tenant, id);
    char *leases = xasprintf(K_LEASES, tenant);
    char *queue_prefix = xasprintf(K_QUEUE, tenant, "");
    const char *args[] = {job_key, leases, id, worker, i64s(until, t + lease_ms),
                          i64s(now, t), queue_prefix};
    redisReply *rep = rds_eval(r, &S_CLAIM, 2, 7, args, NULL);
    int rc = -1;
    if (rep && rep->type == REDIS_REPLY_INTEGER) {
        rc = 0;
    } else if (rep && rep->type == REDIS_REPLY_ARRAY) {
        job_from_hash(rep, out);
        rc = 1;
    }
    if (rep)
        freeReplyObject(rep);
    free(job_key);
    free(leases);
    free(queue_prefix);
    return rc;
}

int job_touch(rds_t *r, const char *tenant, const char *id, const char *worker, int64_t lease_ms)
{
    char until[24];
    char *job_key = xasprintf(K_JOB, tenant, id);
    char *leases = xasprintf(K_LEASES, tenant);
    const char *args[] = {job_key, leases, id, worker, i64s(until, now_ms() + lease_ms)};
    int rc = eval_int(r, &S_TOUCH, 2, 5, args);
    free(job_key);
    free(leases);
    return rc;
}

int job_done(rds_t *r, const char *tenant, const char *id, const char *worker, const char *result)
{
    char now[24], ttl[24];
    char *job_key = xasprintf(K_JOB, tenant, id);
    char *leases = xasprintf(K_LEASES, tenant);
    char *stats = xasprintf(K_STATS, tenant);
    char *job_prefix = xasprintf(K_JOB, tenant, "");
    const char *args[] = {job_key, leases, stats, id, worker, result ? result : "",
                          i64s(now, now_ms()),
                          i64s(ttl, env_long("MLC_JOB_TTL_S", JOB_DEFAULT_TTL_S)), job_prefix};
    int rc = eval_int(r, &S_DONE, 3, 9, args);
    free(job_key);
    free(leases);
    free(stats);
    free(job_prefix);
    return rc;
}

int job_fail(rds_t *r, const char *tenant, const char *id, const char *worker,
             const char *error, bool permanent, int64_t retry_at_ms)
{
    char at[24], now[24];
    char *keys[] = {xasprintf(K_JOB, tenant, id), xasprintf(K_LEASES, tenant),
                    xasprintf(K_RETRY, tenant), xasprintf(K_DLQ, tenant),
                    xasprintf(K_STATS, tenant), xasprintf(K_JOB, tenant, "")};
    const char *args[] = {keys[0], keys[1], keys[2], keys[3], keys[4], id, worker,
                          error ? error : "failed", permanent ? "1" : "0",
                          i64s(at, retry_at_ms), i64s(now, now_ms()), keys[5]};
    int rc = eval_int(r, &S_FAIL, 5, 12, args);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        free(keys[i]);
    return rc;
}

int job_defer(rds_t *r, const char *tenant, const char *id, const char *worker,
              const char *error, int64_t retry_at_ms)
{
    char at[24], now[24];
    char *keys[] = {xasprintf(K_JOB, tenant, id), xasprintf(K_LEASES, tenant),
                    xasprintf(K_RETRY, tenant), xasprintf(K_STATS, tenant)};
    const char *args[] = {keys[0], keys[1], keys[2], keys[3], id, worker,
                          error ? error : "deferred", i64s(at, retry_at_ms), i64s(now, now_ms())};
    int rc = eval_int(r, &S_DEFER, 4, 9, args);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        free(keys[i]);
    return rc;
}

/* Runs a sweep script (S_REQUEUE / S_PROMOTE, keys given) in batches until a batch comes
 * back short, collecting the moved ids into *ids. Returns the count or -1. */
static int sweep(rds_t *r, rds_script_t *s, int nkeys, const char **keys, const char *tenant,
                 int64_t now, char ***ids)
{
    char nowbuf[24], limit[24];
    char *job_prefix = xasprintf(K_JOB, tenant, "");
    char *queue_prefix = xasprintf(K_QUEUE, tenant, "");
    const char *args[8];
    for (int i = 0; i < nkeys; i++)
        args[i] = keys[i];
    args[nkeys] = i64s(nowbuf, now);
    args[nkeys + 1] = job_prefix;
    args[nkeys + 2] = queue_prefix;
    args[nkeys + 3] = i64s(limit, SWEEP_BATCH);
    int count = 0;
    *ids = NULL;
    for (;;) {
        redisReply *rep = rds_eval(r, s, nkeys, nkeys + 4, args, NULL);
        if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements == 0) {
            if (rep)
                freeReplyObject(rep);
            for (int i = 0; i < count; i++)
                free((*ids)[i]);
            free(*ids);
            *ids = NULL;
            count = -1;
            break;
        }
        size_t moved = rep->elements - 1;
        long long examined = rds_int(rep->element[moved], 0);
        *ids = xrealloc(*ids, sizeof **ids * ((size_t)count + moved + 1));
        for (size_t i = 0; i < moved; i++)
            (*ids)[count++] = rds_str(rep->element[i]);
        freeReplyObject(rep);
        if (examined < SWEEP_BATCH)
            break;
    }
    free(job_prefix);
    free(queue_prefix);
    return count;
}

int job_requeue_expired(rds_t *r, const char *tenant, int64_t now_ms_, char ***ids)
{
    char *keys[] = {xasprintf(K_LEASES, tenant), xasprintf(K_DLQ, tenant),
                    xasprintf(K_STATS, tenant)};
    int rc = sweep(r, &S_REQUEUE, 3, (const char **)keys, tenant, now_ms_, ids);
    for (int i = 0; i < 3; i++)
        free(keys[i]);
    return rc;
}

int job_promote_retries(rds_t *r, const char *tenant, int64_t now_ms_, char ***ids)
{
    char *retry = xasprintf(K_RETRY, tenant);
    const char *keys[] = {retry};
    int rc = sweep(r, &S_PROMOTE, 1, keys, tenant, now_ms_, ids);
    free(retry);
    return rc;
}

int job_replay(rds_t *r, const char *tenant, const char *id, char **service)
{
    char now[24];
    char *keys[] = {xasprintf(K_JOB, tenant, id), xasprintf(K_DLQ, tenant),
                    xasprintf(K_QUEUE, tenant, ""), xasprintf(K_JOB, tenant, "")};
    const char *args[] = {keys[0], keys[1], id, i64s(now, now_ms()), keys[2], keys[3]};
    redisReply *rep = rds_eval(r, &S_REPLAY, 2, 6, args, NULL);
    int rc = -1;
    if (rep && rep->type == REDIS_REPLY_INTEGER) {
        rc = 0;
    } else if (rep && rep->type == REDIS_REPLY_STRING) {
        rc = 1;
        if (service)
            *service = rds_str(rep);
    }
    if (rep)
        freeReplyObject(rep);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        free(keys[i]);
    return rc;
}

/* ---- configuration --------------------------------------------------------------------- */

int job_max_attempts(const char *type)
{
    char name[96];
    int n = snprintf(name, sizeof name, "MLC_MAX_ATTEMPTS_%s", type ? type : "");
    for (int i = (int)strlen("MLC_MAX_ATTEMPTS_"); i < n && i < (int)sizeof name - 1; i++)
        name[i] = isalnum((unsigned char)name[i]) ? (char)toupper((unsigned char)name[i]) : '_';
    long v = type && *type ? env_long(name, 0) : 0;
    if (v < 1)
        v = env_long("MLC_MAX_ATTEMPTS", 0);
    if (v < 1 || v > INT_MAX)
        v = JOB_DEFAULT_MAX_ATTEMPTS;
    return (int)v;
}

/* ---- reads ----------------------------------------------------------------------------- */

int job_load(rds_t *r, const char *tenant, const char *id, job_t *out)
{
    char *key = xasprintf(K_JOB, tenant, id);
    redisReply *rep = rds_cmd(r, "HGETALL %s", key);
    free(key);
    int rc = -1;
    if (rep && rep->type == REDIS_REPLY_ARRAY) {
        rc = rep->elements > 0;
        if (rc)
            job_from_hash(rep, out);
    }
    if (rep)
        freeReplyObject(rep);
    return rc;
}

/* Returns 1 added, 0 when the job no longer exists (nothing is created), -1 on failure. */
int job_add_children(rds_t *r, const char *tenant, const char *id, long n)
{
    char nbuf[24];
    char *key = xasprintf(K_JOB, tenant, id);
    const char *args[] = {key, i64s(nbuf, n)};
    int rc = eval_int(r, &S_ADD_CHILDREN, 1, 2, args);
    free(key);
    return rc;
}
