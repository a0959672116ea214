/* poll_flow: see poll_flow.h. */
#include "poll_flow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "audit.h"
#include "erp.h"
#include "keys.h"
#include "log.h"
#include "reference.h"
#include "synclog.h"
#include "tenant.h"
#include "util.h"

#define BATCH 500

typedef struct {
    uint8_t key[MLC_KEY_LEN];
} poll_thread_t;

void *poll_thread_init(job_ctx_t *ctx)
{
    poll_thread_t *pt = xcalloc(1, sizeof *pt);
    char err[256];
    if (master_key_load(pt->key, err, sizeof err) != 0) {
        mlog(LOG_ERROR, "poller.master_key", "%s", err);
        free(pt);
        return NULL;
    }
    (void)ctx;
    return pt;
}

void poll_thread_free(void *user) { free(user); }

typedef struct {
    job_ctx_t          *ctx;
    const job_t        *job;
    const tenant_cfg_t *tenant;
    record_t           *batch[BATCH];
    int                 n;
    long                changed, unchanged, jobs_created;
    int64_t             max_modified;
    char                error[512];
} run_t;

static void batch_clear(run_t *run)
{
    for (int i = 0; i < run->n; i++) {
        record_free(run->batch[i]);
        free(run->batch[i]);
    }
    run->n = 0;
}

/* Writes the state of a new or changed record and its write job atomically. Appends to the
 * pipeline: MULTI, HSET, enqueue, XADD, EXEC (5 replies). */
static int append_change(run_t *run, const record_t *rec, const char *ref, const char *hash,
                         bool is_new, char **job_id)
{
    rds_t *r = run->ctx->redis;
    const char *tenant = run->tenant->id;
    json_t *data = record_to_json(rec);
    char *text = json_dumps(data, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(data);
    char *key = xasprintf(K_REC, tenant, ref);
    char now[32];
    iso8601_ms(now_ms(), now, sizeof now);
    *job_id = xasprintf("write:%s:%.12s", ref, hash);
    int rc = rds_append(r, "MULTI");
    rc |= rds_append(r, "HSET %s data %s hash %s etag %s erp_modified %s updated_at %s poll_job %s "
                        "flow %s",
                     key, text, hash, rec->etag ? rec->etag : "", rec->modified_at ? rec->modified_at : "",
                     now, run->job->id, run->job->ref);
    job_t wj = { .id = *job_id, .tenant = (char *)tenant, .service = "write",
                 .type = "upsert_task", .ref = (char *)ref, .parent = run->job->id,
                 .max_attempts = job_max_attempts("upsert_task") };
    rc |= job_append_enqueue(r, &wj);
    rc |= audit_append(r, tenant, ref, is_new ? "poll.new" : "poll.changed",
                       json_pack("{s:s, s:s, s:s?, s:s?, s:s}", "hash", hash, "flow",
                                 run->job->ref, "etag", rec->etag, "erp_modified",
                                 rec->modified_at, "write_job", *job_id));
    rc |= rds_append(r, "EXEC");
    free(text);
    free(key);
    return rc ? -1 : 0;
}

/* Processes the batch: one pipelined HMGET round, then one pipeline of changes. */
static int flush(run_t *run)
{
    if (run->n == 0)
        return 0;
    rds_t *r = run->ctx->redis;
    const char *tenant = run->tenant->id;
    char *refs[BATCH];
    char hashes[BATCH][65];
    for (int i = 0; i < run->n; i++) {
        refs[i] = record_ref(run->batch[i]);
        record_hash(run->batch[i], hashes[i]);
        char *key = xasprintf(K_REC, tenant, refs[i]);
        rds_append(r, "HMGET %s hash etag synced_hash", key);
        free(key);
        int64_t m = run->batch[i]->modified_at ? parse_iso8601(run->batch[i]->modified_at) : -1;
        if (m > run->max_modified)
            run->max_modified = m;
    }
    int rc = 0;
    int expect = 0;
    char *job_ids[BATCH] = { 0 };
    const char *created[BATCH];   /* ids of the write jobs created, published together */
    int ncreated = 0;
    /* What each record needs: 0 nothing; CHANGED its new state and write job; for unchanged
     * content ETAG (a new ETag only) and/or RESEND (Asana never got this content: its write
     * job is queued again, which is a no-op while it is still queued, running or retrying,
     * and revives one that ran out of tries; one dead of a permanent failure stays dead). */
    enum { ETAG = 1, CHANGED = 2, RESEND = 4 };
    int kinds[BATCH];
    for (int i = 0; i < run->n; i++) {
        redisReply *rep = rds_get_reply(r);
        if (!rds_ok(rep) || rep->type != REDIS_REPLY_ARRAY || rep->elements != 3) {
            rc = -1;
            kinds[i] = 0;
            if (rep)
                freeReplyObject(rep);
            continue;
        }
        const char *old_hash = rep->element[0]->type == REDIS_REPLY_STRING ? rep->element[0]->str : NULL;
        const char *old_etag = rep->element[1]->type == REDIS_REPLY_STRING ? rep->element[1]->str : "";
        const char *synced = rep->element[2]->type == REDIS_REPLY_STRING ? rep->element[2]->str : "";
        const record_t *rec = run->batch[i];
        if (old_hash && strcmp(old_hash, hashes[i]) == 0) {
            kinds[i] = 0;
            if (rec->etag && strcmp(rec->etag, old_etag) != 0) {
                char *key = xasprintf(K_REC, tenant, refs[i]);
                rds_append(r, "HSET %s etag %s erp_modified %s", key, rec->etag,
                           rec->modified_at ? rec->modified_at : "");
                free(key);
                kinds[i] |= ETAG;
                expect += 1;
            }
            if (strcmp(synced, hashes[i]) != 0) {
                job_ids[i] = xasprintf("write:%s:%.12s", refs[i], hashes[i]);
                job_t wj = { .id = job_ids[i], .tenant = (char *)tenant, .service = "write",
                             .type = "upsert_task", .ref = refs[i], .parent = run->job->id,
                             .max_attempts = job_max_attempts("upsert_task") };
                if (job_append_revive(r, &wj) != 0)
                    rc = -1;
                kinds[i] |= RESEND;
                expect += 1;
            }
        } else if (rc == 0) {
            kinds[i] = CHANGED;
            if (append_change(run, rec, refs[i], hashes[i], old_hash == NULL, &job_ids[i]) != 0)
                rc = -1;
            expect += 5;
        }
        freeReplyObject(rep);
    }
    /* Read the replies in order; an EXEC answers [hset, enqueue, xadd]. */
    for (int i = 0; i < run->n && expect > 0; i++) {
        if (kinds[i] & ETAG) {
            rc |= rds_drain(r, 1);
            expect -= 1;
        }
        if (kinds[i] & RESEND) {
            redisReply *rep = rds_get_reply(r);
            if (!rds_ok(rep))
                rc = -1;
            else if (rds_int(rep, 0) == 1) {
                run->jobs_created++;
                created[ncreated++] = job_ids[i];
                mlog(LOG_INFO, "poll.resend", "tenant %s %s: content never reached Asana, write "
                     "job %s queued again", tenant, refs[i], job_ids[i]);
            }
            if (rep)
                freeReplyObject(rep);
            expect -= 1;
        }
        if (kinds[i] == CHANGED) {
            int queued_ok = rds_drain(r, 4) == 0;   /* MULTI, HSET, enqueue, XADD */
            redisReply *exec = rds_get_reply(r);
            if (!queued_ok || !exec || exec->type != REDIS_REPLY_ARRAY ||
                exec->elements != 3 || !rds_ok(exec->element[0]) || !rds_ok(exec->element[1]) ||
                !rds_ok(exec->element[2])) {
                rc = -1;
            } else if (rds_int(exec->element[1], 0) == 1) {
                run->jobs_created++;
                created[ncreated++] = job_ids[i];
            }
            if (exec)
                freeReplyObject(exec);
            expect -= 5;
        }
    }
    if (ncreated > 0)
        bus_publish_many(run->ctx->bus, "write", tenant, created, ncreated);
    for (int i = 0; i < run->n; i++) {
        if (kinds[i] == CHANGED)
            run->changed++;
        else
            run->unchanged++;
        free(refs[i]);
        free(job_ids[i]);
    }
    batch_clear(run);
    if (rc != 0)
        snprintf(run->error, sizeof run->error, "redis: cannot record a batch of changes");
    return rc;
}

static int sink(void *ud, record_t *rec)
{
    run_t *run = ud;
    run->batch[run->n++] = rec;
    if (run->n == BATCH)
        return flush(run);
    return 0;
}

/* Records the outcome of the run in K_SYNC and, on success, advances the cursor. */
static void finish_run(run_t *run, const erp_result_t *res, int64_t started)
{
    rds_t *r = run->ctx->redis;
    const char *tenant = run->tenant->id;
    const char *flow = run->job->ref;
    char *skey = xasprintf(K_SYNC, tenant, flow);
    char fin[32], st[32];
    iso8601_ms(now_ms(), fin, sizeof fin);
    iso8601_ms(started, st, sizeof st);
    bool ok = res->ok && !run->error[0];
    redisReply *rep = rds_cmd(r,
        "HSET %s status %s started_at %s finished_at %s duration_ms %lld records %ld changed %ld "
        "unchanged %ld pages %ld write_jobs %ld job %s error %s",
        skey, ok ? "ok" : "error", st, fin, (long long)(now_ms() - started), res->rows,
        run->changed, run->unchanged, res->pages, run->jobs_created, run->job->id,
        ok ? "" : (run->error[0] ? run->error : res->error));
    if (rep)
        freeReplyObject(rep);
    free(skey);
    if (ok && run->max_modified > 0) {
        /* Only ever forward: a full re-read of old data must not move the watermark back. */
        static rds_script_t ADVANCE = { "cursor_advance",
            "local cur = redis.call('GET', KEYS[1]) "
            "if not cur or cur < ARGV[1] then redis.call('SET', KEYS[1], ARGV[1]) return 1 end "
            "return 0" };
        char *ckey = xasprintf(K_CURSOR, tenant, flow);
        char ts[32];
        iso8601_s(run->max_modified / 1000, ts, sizeof ts);
        const char *args[] = { ckey, ts };
        rep = rds_eval(r, &ADVANCE, 1, 2, args, NULL);
        if (rep)
            freeReplyObject(rep);
        free(ckey);
    }
    char *stats = xasprintf(K_STATS, tenant);
    rep = rds_cmd(r, "HINCRBY %s records_seen %ld", stats, res->rows);
    if (rep)
        freeReplyObject(rep);
    rep = rds_cmd(r, "HINCRBY %s records_changed %ld", stats, run->changed);
    if (rep)
        freeReplyObject(rep);
    free(stats);
    synclog_run_t done = { .finished_ms = now_ms(), .records = res->rows, .changed = run->changed,
                           .duration_ms = now_ms() - started, .ok = ok };
    synclog_append(r, tenant, flow, &done);   /* history for the status page and /metrics */
}

job_outcome_t poll_handle(job_ctx_t *ctx, const job_t *job)
{
    poll_thread_t *pt = ctx->user;
    if (!pt) {
        ctx->error = xstrdup("poller has no master key (MLC_MASTER_KEY / MLC_MASTER_KEY_FILE)");
        return JOB_RETRY;
    }
    tenant_cfg_t cfg;
    char err[512];
    if (tenant_load(ctx->redis, pt->key, job->tenant, &cfg, err, sizeof err) != 0) {
        ctx->error = xstrdup(err);
        return strstr(err, "redis unreachable") ? JOB_RETRY : JOB_FATAL;
    }
    const flow_cfg_t *flow = tenant_flow(&cfg, job->ref);
    const erp_driver_t *drv = erp_driver(cfg.erp_type);
    if (!flow || !drv) {
        ctx->error = xasprintf(!flow ? "tenant %s has no flow %s" : "tenant %s: no driver for %s",
                               cfg.id, !flow ? job->ref : cfg.erp_type);
        tenant_cfg_free(&cfg);
        return JOB_FATAL;
    }
    json_t *payload = job->payload ? json_loads(job->payload, 0, NULL) : NULL;
    bool full = json_is_true(json_object_get(payload, "full"));
    json_decref(payload);

    int64_t started = now_ms();
    char *skey = xasprintf(K_SYNC, cfg.id, flow->name);
    char st[32];
    redisReply *rep = rds_cmd(ctx->redis, "HSET %s status running started_at %s job %s", skey,
                              iso8601_ms(started, st, sizeof st), job->id);
    if (rep)
        freeReplyObject(rep);
    free(skey);

    /* Reference data first, so the seed job tends to run before the tasks that use it; a
     * failure is logged and audited there and does not fail the poll. */
    reference_sync(ctx, &cfg, flow, pt->key, err, sizeof err);

    run_t *run = xcalloc(1, sizeof *run);
    run->ctx = ctx;
    run->job = job;
    run->tenant = &cfg;
    run->max_modified = -1;
    char *since = erp_since(ctx->redis, cfg.id, flow->name, full);
    erp_read_t in = { .tenant = &cfg, .flow = flow, .redis = ctx->redis, .http = ctx->http,
                      .master_key = pt->key, .since = since };
    erp_result_t res;
    drv->read(&in, sink, run, &res);
    if (!run->error[0])
        flush(run);
    batch_clear(run);
    if (run->jobs_created > 0)
        job_add_children(ctx->redis, cfg.id, job->id, run->jobs_created);
    finish_run(run, &res, started);

    job_outcome_t outcome = JOB_OK;
    if (run->error[0]) {
        ctx->error = xstrdup(run->error);
        outcome = JOB_RETRY;
    } else if (!res.ok) {
        ctx->error = xstrdup(res.error);
        outcome = res.retryable ? JOB_RETRY : JOB_FATAL;
        if (res.retry_after_ms > 0)
            ctx->retry_at_ms = now_ms() + res.retry_after_ms;
    } else {
        ctx->result = xasprintf("{\"records\":%ld,\"changed\":%ld,\"unchanged\":%ld,\"pages\":%ld,"
                                "\"write_jobs\":%ld}", res.rows, run->changed, run->unchanged,
                                res.pages, run->jobs_created);
    }
    mlog(outcome == JOB_OK ? LOG_INFO : LOG_WARN, "poll.done",
         "tenant %s flow %s: %ld rows, %ld changed, %ld pages%s%s", cfg.id, flow->name, res.rows,
         run->changed, res.pages, ctx->error ? ": " : "", ctx->error ? ctx->error : "");
    free(since);
    free(run);
    tenant_cfg_free(&cfg);
    return outcome;
}
