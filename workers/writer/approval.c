/* approval: see approval.h. */
#include "approval.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asana.h"
#include "audit.h"
#include "keys.h"
#include "record.h"
#include "util.h"
#include "writeback.h"

/* How long a claimed write-back holds the record against other jobs: longer than the slowest
 * driver run (a few requests, each bounded by the HTTP timeout). The job that claimed it may
 * take over at once when it is run again (a lease expired after its worker died). */
#define CLAIM_MS "120000"

/* KEYS: write-back hash. ARGV: job id, now ms, claim ms, now ISO, task gid.
 * Returns {"done", state} when the decision is final already, {"busy", remaining ms} while
 * another job holds it, else {"go", previous state} with the claim taken. */
static rds_script_t WB_CLAIM = { "writeback_claim",
    "local st = redis.call('HMGET', KEYS[1], 'state', 'lock_until', 'job')\n"
    "local s = st[1]\n"
    "if s == 'applied' or s == 'already' or s == 'not_applicable' or s == 'audit_only' then\n"
    "  return {'done', s} end\n"
    "local now = tonumber(ARGV[2])\n"
    "if s == 'running' and st[3] ~= ARGV[1] and tonumber(st[2] or '0') > now then\n"
    "  return {'busy', tostring(tonumber(st[2]) - now)} end\n"
    "redis.call('HSET', KEYS[1], 'state', 'running', 'job', ARGV[1], 'decision', 'approve',\n"
    "  'lock_until', tostring(now + tonumber(ARGV[3])), 'started_at', ARGV[4], 'task', ARGV[5])\n"
    "return {'go', s or ''}\n" };

int approval_state_final(const char *s)
{
    return s && (strcmp(s, "applied") == 0 || strcmp(s, "already") == 0 ||
                 strcmp(s, "not_applicable") == 0 || strcmp(s, "audit_only") == 0);
}

typedef struct {
    job_ctx_t          *ctx;
    const job_t        *job;
    const tenant_cfg_t *t;
    const uint8_t      *key;
    const char         *gid;     /* task gid */
    char               *ref;     /* record ref from K_GIDMAP */
    json_t             *task;    /* the task as Asana shows it now */
} approval_t;

static job_outcome_t redis_down(approval_t *ap)
{
    ap->ctx->error = xstrdup("redis unreachable");
    return JOB_RETRY;
}

/* Records a decision-free outcome in the audit trail (steals detail). */
static job_outcome_t audit_only(approval_t *ap, const char *event, json_t *detail,
                                const char *result)
{
    json_object_set_new(detail, "job", json_string(ap->job->id));
    if (ap->gid)
        json_object_set_new(detail, "task", json_string(ap->gid));
    if (audit_add(ap->ctx->redis, ap->t->id, ap->ref ? ap->ref : "-", event, detail) != 0)
        return redis_down(ap);
    ap->ctx->result = xasprintf("{\"record\":\"%s\",\"outcome\":\"%s\"}", ap->ref ? ap->ref : "",
                                result);
    return JOB_OK;
}

/* Reads the task's completion from Asana into ap->task. 1 read, 0 the task is gone (404),
 * -1 failed (ctx->error set). */
static int read_task(approval_t *ap)
{
    asana_t a;
    asana_init(&a, ap->ctx->http, ap->ctx->redis, ap->t);
    char *path = xasprintf("/tasks/%s?opt_fields=completed,completed_at,completed_by.name,"
                           "modified_at,name", ap->gid);
    asana_res_t res = { 0 };
    int rc = asana_call(&a, "GET", path, NULL, &res);
    free(path);
    int out = 1;
    if (rc == 0) {
        ap->task = json_incref(res.data);
    } else if (res.status == 404) {
        out = 0;
    } else {
        ap->ctx->error = xasprintf("reading task %s: %s", ap->gid, res.error);
        ap->ctx->retry_at_ms = res.retry_after_ms ? now_ms() + res.retry_after_ms : 0;
        out = -1;
    }
    asana_res_free(&res);
    return out;
}

/* The record's flow: the one named in K_REC "flow", else the first flow of its kind. */
static const flow_cfg_t *record_flow(const tenant_cfg_t *t, const char *name, const char *kind)
{
    const flow_cfg_t *f = name && *name ? tenant_flow(t, name) : NULL;
    for (size_t i = 0; !f && i < t->nflows; i++)
        if (strcmp(t->flows[i].kind, kind) == 0)
            f = &t->flows[i];
    return f;
}

static const char *const STATE_OF[] = {
    [WB_APPLIED] = "applied", [WB_ALREADY] = "already", [WB_NOT_APPLICABLE] = "not_applicable",
    [WB_FAILED] = "failed",
};

/* Records the outcome: write-back state, fresh ETag, audit entry with the calls, counter, in
 * one MULTI/EXEC. state is final, "pending" (will be retried) or "failed". Steals detail. */
static int record_outcome(approval_t *ap, const char *state, const char *etag, json_t *detail)
{
    rds_t *r = ap->ctx->redis;
    char *wb = xasprintf(K_WRITEBACK, ap->t->id, ap->ref);
    char *rec = xasprintf(K_REC, ap->t->id, ap->ref);
    char *stats = xasprintf(K_STATS, ap->t->id);
    char at[40];
    iso8601_ms(now_ms(), at, sizeof at);
    const char *err = json_string_value(json_object_get(detail, "error"));
    json_t *mode = json_object_get(detail, "mode");
    char event[48];
    snprintf(event, sizeof event, "writeback.%s", strcmp(state, "pending") == 0 ? "retry" : state);
    int n = 0, rc = rds_append(r, "MULTI");
    rc |= rds_append(r, "HSET %s state %s finished_at %s lock_until 0 mode %s conflicts %lld "
                        "error %s", wb, state, at, mode ? json_string_value(mode) : "",
                     (long long)json_integer_value(json_object_get(detail, "conflicts")),
                     err ? err : "");
    n += 2;
    if (etag && *etag) {
        rc |= rds_append(r, "HSET %s etag %s", rec, etag);
        n++;
    }
    rc |= rds_append(r, "HINCRBY %s writeback_%s 1", stats, state);
    json_object_set_new(detail, "job", json_string(ap->job->id));
    json_object_set_new(detail, "task", json_string(ap->gid));
    rc |= audit_append(r, ap->t->id, ap->ref, event, detail);
    rc |= rds_append(r, "EXEC");
    n += 3;
    for (int i = 0; i < n; i++) {
        redisReply *rep = rds_get_reply(r);
        if (!rep || (i == n - 1 && rep->type != REDIS_REPLY_ARRAY))
            rc = -1;
        if (rep)
            freeReplyObject(rep);
        if (!rep)
            break;
    }
    free(wb);
    free(rec);
    free(stats);
    return rc ? -1 : 0;
}

/* Loads the record (K_REC data, etag, flow) and runs the write-back of a claimed decision. */
static job_outcome_t write_back(approval_t *ap, const char *source)
{
    rds_t *r = ap->ctx->redis;
    char *rec_key = xasprintf(K_REC, ap->t->id, ap->ref);
    redisReply *rep = rds_cmd(r, "HMGET %s data etag flow", rec_key);
    free(rec_key);
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 3) {
        if (rep)
            freeReplyObject(rep);
        return redis_down(ap);
    }
    record_t rec = { 0 };
    json_t *data = rep->element[0]->type == REDIS_REPLY_STRING
                       ? json_loads(rep->element[0]->str, 0, NULL) : NULL;
    int have = data && record_from_json(data, &rec) == 0;
    json_decref(data);
    const char *etag = rep->element[1]->type == REDIS_REPLY_STRING ? rep->element[1]->str : "";
    const flow_cfg_t *flow = have ? record_flow(ap->t, rep->element[2]->type == REDIS_REPLY_STRING
                                                           ? rep->element[2]->str : NULL,
                                                rec.kind) : NULL;
    json_t *completed_by = json_object_get(ap->task, "completed_by");
    json_t *detail = json_pack("{s:s, s:s, s:O?, s:O?}", "decision", "approve", "source", source,
                               "completed_at", json_object_get(ap->task, "completed_at"),
                               "completed_by", json_object_get(completed_by, "name"));
    job_outcome_t out;
    if (!flow) {
        json_object_set_new(detail, "error", json_string(have ? "no flow of the tenant reads "
                                                                "this kind of record"
                                                              : "the record has no stored state"));
        ap->ctx->error = xasprintf("%s: %s", ap->ref, json_string_value(json_object_get(detail,
                                                                                   "error")));
        out = record_outcome(ap, "failed", NULL, detail) == 0 ? JOB_FATAL : redis_down(ap);
        freeReplyObject(rep);
        record_free(&rec);
        return out;
    }
    json_t *settings = wb_settings(ap->t->erp_type, flow);
    const char *mode = json_string_value(json_object_get(settings, "mode"));
    json_object_set_new(detail, "mode", json_string(mode ? mode : ""));
    json_object_set_new(detail, "flow", json_string(flow->name));
    if (mode && strcmp(mode, "audit_only") == 0) {
        out = record_outcome(ap, "audit_only", NULL, detail) == 0 ? JOB_OK : redis_down(ap);
        ap->ctx->result = xasprintf("{\"record\":\"%s\",\"outcome\":\"audit_only\"}", ap->ref);
        json_decref(settings);
        freeReplyObject(rep);
        record_free(&rec);
        return out;
    }
    json_decref(settings);
    wb_request_t in = { .tenant = ap->t, .flow = flow, .redis = r, .http = ap->ctx->http,
                        .master_key = ap->key, .erp_key = rec.erp_key, .etag = etag,
                        .decision = "approve" };
    wb_result_t res;
    wb_apply(&in, &res);
    freeReplyObject(rep);
    record_free(&rec);
    json_object_set_new(detail, "conflicts", json_integer(res.conflicts));
    json_object_set_new(detail, "calls", res.calls ? json_incref(res.calls) : json_array());
    if (res.error[0])
        json_object_set_new(detail, "error", json_string(res.error));
    const char *state = res.status == WB_FAILED && res.retryable ? "pending" : STATE_OF[res.status];
    if (record_outcome(ap, state, res.etag, detail) != 0) {
        wb_result_free(&res);
        return redis_down(ap);
    }
    if (res.status == WB_FAILED) {
        ap->ctx->error = xasprintf("write-back of %s: %s", ap->ref, res.error);
        ap->ctx->retry_at_ms = res.retry_after_ms ? now_ms() + res.retry_after_ms : 0;
        out = res.retryable ? JOB_RETRY : JOB_FATAL;
    } else {
        ap->ctx->result = xasprintf("{\"record\":\"%s\",\"outcome\":\"%s\",\"conflicts\":%d}",
                                    ap->ref, state, res.conflicts);
        out = JOB_OK;
    }
    wb_result_free(&res);
    return out;
}

/* The decision path: read the task; when completed, claim the record's write-back and run it. */
static job_outcome_t decide(approval_t *ap, const char *source)
{
    int rc = read_task(ap);
    if (rc < 0)
        return JOB_RETRY;
    if (rc == 0)
        return audit_only(ap, "approval.task_gone", json_pack("{s:s}", "source", source),
                          "task_gone");
    if (!json_is_true(json_object_get(ap->task, "completed")))
        return audit_only(ap, "approval.not_completed",
                          json_pack("{s:s, s:O?}", "source", source, "modified_at",
                                    json_object_get(ap->task, "modified_at")),
                          "not_completed");
    char *wb = xasprintf(K_WRITEBACK, ap->t->id, ap->ref);
    char now[24], at[40];
    int64_t t = now_ms();
    snprintf(now, sizeof now, "%lld", (long long)t);
    iso8601_ms(t, at, sizeof at);
    const char *args[] = { wb, ap->job->id, now, CLAIM_MS, at, ap->gid };
    redisReply *rep = rds_eval(ap->ctx->redis, &WB_CLAIM, 1, 6, args, NULL);
    free(wb);
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
        rep->element[0]->type != REDIS_REPLY_STRING) {
        if (rep)
            freeReplyObject(rep);
        return redis_down(ap);
    }
    const char *verdict = rep->element[0]->str;
    const char *arg = rep->element[1]->type == REDIS_REPLY_STRING ? rep->element[1]->str : "";
    job_outcome_t out;
    if (strcmp(verdict, "done") == 0) {
        out = audit_only(ap, "writeback.duplicate",
                         json_pack("{s:s, s:s}", "source", source, "state", arg), "duplicate");
    } else if (strcmp(verdict, "busy") == 0) {
        ap->ctx->error = xasprintf("write-back of %s is running in another job", ap->ref);
        ap->ctx->retry_at_ms = now_ms() + atoll(arg);
        out = JOB_RETRY;
    } else {
        out = write_back(ap, source);
    }
    freeReplyObject(rep);
    return out;
}

/* True when event was caused by the tenant's own Asana token (the writer updating the task):
 * Asana reports our own field writes back to us. */
static bool own_change(approval_t *ap, const json_t *event)
{
    const char *user = json_string_value(json_object_get(json_object_get(event, "user"), "gid"));
    if (!user)
        return false;
    asana_t a;
    asana_init(&a, ap->ctx->http, ap->ctx->redis, ap->t);
    char *me = asana_me(&a);
    bool own = me && strcmp(me, user) == 0;
    free(me);
    if (own)
        ap->ctx->result = xstrdup("{\"outcome\":\"own_change\"}");
    return own;
}

job_outcome_t approval_handle(job_ctx_t *ctx, const job_t *job, const tenant_cfg_t *t,
                              const uint8_t key[MLC_KEY_LEN])
{
    approval_t ap = { .ctx = ctx, .job = job, .t = t, .key = key };
    if (!job->ref || !str_starts(job->ref, "task:") || !job->ref[5]) {
        ctx->error = xasprintf("%s job %s: ref must be task:<gid>", job->type, job->id);
        return JOB_FATAL;
    }
    ap.gid = job->ref + 5;
    char *map = xasprintf(K_GIDMAP, t->id);
    redisReply *rep = rds_cmd(ctx->redis, "HGET %s %s", map, ap.gid);
    free(map);
    if (!rep)
        return redis_down(&ap);
    ap.ref = rep->type == REDIS_REPLY_STRING ? xstrdup(rep->str) : NULL;
    freeReplyObject(rep);
    json_t *event = job->payload ? json_loads(job->payload, 0, NULL) : NULL;
    const char *source = strcmp(job->type, "writeback") == 0
                             ? json_string_value(json_object_get(event, "source")) : "webhook";
    job_outcome_t out;
    if (!ap.ref) {
        out = audit_only(&ap, "webhook.unknown_task", json_pack("{s:O?}", "event", event),
                         "unknown_task");
    } else if (strcmp(job->type, "writeback") == 0) {
        out = decide(&ap, source ? source : "reconcile");
    } else {
        json_t *change = json_object_get(event, "change");
        const char *action = json_string_value(json_object_get(event, "action"));
        const char *field = json_string_value(json_object_get(change, "field"));
        if (action && strcmp(action, "changed") == 0 && field && strcmp(field, "completed") == 0)
            out = decide(&ap, "webhook");
        else if (own_change(&ap, event))
            out = JOB_OK;   /* the echo of the connector's own task write: already audited */
        else
            out = audit_only(&ap, "writeback.audit_only",
                             json_pack("{s:O?, s:s}", "event", event, "mode", "audit_only"),
                             "audit_only");
    }
    json_decref(event);
    json_decref(ap.task);
    free(ap.ref);
    return out;
}
