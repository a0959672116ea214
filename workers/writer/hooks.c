/* hooks: see hooks.h. */
#include "hooks.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "approval.h"
#include "asana.h"
#include "audit.h"
#include "keys.h"
#include "log.h"
#include "util.h"

/* K_HOOK_PENDING lives this long: the create call (handshake included) ends well before. */
#define PENDING_S "60"
/* A sweep starts this much before the end of the previous one (clock skew, late writes). */
#define SWEEP_OVERLAP_MS 60000

char *hook_target(const char *tenant)
{
    const char *base = getenv("MLC_WEBHOOK_URL");
    if (!base || !*base)
        return NULL;
    size_t n = strlen(base);
    return xasprintf("%.*s/webhooks/%s", (int)(n && base[n - 1] == '/' ? n - 1 : n), base,
                     tenant);
}

static bool webhook_wanted(const tenant_cfg_t *t)
{
    return !json_is_false(json_path_get(t->raw, "asana.webhook"));
}

typedef struct {
    job_ctx_t          *ctx;
    const job_t        *job;
    const tenant_cfg_t *t;
    asana_t             a;
    char               *hook_key;
    char               *target;
} hook_t;

/* HSET of K_HOOK fields (NULL-terminated name/value pairs). 0 or -1. */
static int hook_set(hook_t *h, ...)
{
    const char *argv[32] = { "HSET", h->hook_key };
    int argc = 2;
    va_list ap;
    va_start(ap, h);
    for (const char *s; argc < 30 && (s = va_arg(ap, const char *));)
        argv[argc++] = s;
    va_end(ap);
    redisReply *rep = rds_cmdargv(h->ctx->redis, argc, argv, NULL);
    int rc = rep && rep->type != REDIS_REPLY_ERROR ? 0 : -1;
    if (rep)
        freeReplyObject(rep);
    return rc;
}

static job_outcome_t asana_failed(hook_t *h, const char *what, const asana_res_t *res)
{
    h->ctx->error = xasprintf("%s: %s", what, res->error);
    h->ctx->retry_at_ms = res->retry_after_ms ? now_ms() + res->retry_after_ms : 0;
    hook_set(h, "last_error", h->ctx->error, NULL);
    if (res->retryable)
        return JOB_RETRY;
    audit_add(h->ctx->redis, h->t->id, "webhook", "webhook.error",
              json_pack("{s:s, s:I}", "error", h->ctx->error, "status", (json_int_t)res->status));
    h->ctx->result = xasprintf("{\"error\":\"%s failed with status %ld\"}", what, res->status);
    free(h->ctx->error);
    h->ctx->error = NULL;
    return JOB_OK;
}

/* Collects the gids of the project's webhooks that point at our target. */
static void collect_ours(void *ud, json_t *page)
{
    void **u = ud;
    const char *target = u[0];
    json_t *gids = u[1], *w;
    size_t i;
    json_array_foreach(page, i, w) {
        const char *tg = json_string_value(json_object_get(w, "target"));
        if (tg && strcmp(tg, target) == 0)
            json_array_append(gids, json_object_get(w, "gid"));
    }
}

/* Deletes every webhook of the project pointing at our target (a registration whose gid was
 * never stored, or the one being replaced): Asana refuses a duplicate resource + target. */
static int delete_ours(hook_t *h, asana_res_t *res)
{
    char *path = xasprintf("/webhooks?workspace=%s&resource=%s&limit=100&opt_fields=target,active",
                           h->t->asana_workspace, h->t->asana_project);
    json_t *gids = json_array();
    void *ud[2] = { h->target, gids };
    int rc = asana_each_page(&h->a, path, collect_ours, ud, res);
    free(path);
    size_t i;
    json_t *g;
    json_array_foreach(gids, i, g) {
        if (rc != 0)
            break;
        char *del = xasprintf("/webhooks/%s", json_string_value(g));
        asana_res_free(res);
        if (asana_call(&h->a, "DELETE", del, NULL, res) != 0 && res->status != 404)
            rc = -1;
        free(del);
    }
    json_decref(gids);
    return rc;
}

/* Registers the webhook: K_HOOK_PENDING for the handshake, POST /webhooks, the gid stored.
 * old_gid (may be NULL): the webhook being replaced, deleted first (it may point elsewhere). */
static job_outcome_t do_register(hook_t *h, const char *old_gid, const char *reason)
{
    asana_res_t res = { 0 };
    if (old_gid) {
        char *del = xasprintf("/webhooks/%s", old_gid);
        int rc = asana_call(&h->a, "DELETE", del, NULL, &res);
        free(del);
        if (rc != 0 && res.status != 404) {
            job_outcome_t out = asana_failed(h, "removing the replaced webhook", &res);
            asana_res_free(&res);
            return out;
        }
        asana_res_free(&res);
    }
    if (delete_ours(h, &res) != 0) {
        job_outcome_t out = asana_failed(h, "removing the old webhook", &res);
        asana_res_free(&res);
        return out;
    }
    asana_res_free(&res);
    char *pending = xasprintf(K_HOOK_PENDING, h->t->id);
    redisReply *rep = rds_cmd(h->ctx->redis, "SET %s %s NX EX " PENDING_S, pending,
                              h->t->asana_project);
    int taken = rep && rep->type == REDIS_REPLY_STATUS;
    int failed = !rep || rep->type == REDIS_REPLY_ERROR;
    if (rep)
        freeReplyObject(rep);
    if (!taken) {
        free(pending);
        h->ctx->error = xstrdup(failed ? "redis unreachable"
                                       : "another registration of this webhook is in flight");
        h->ctx->retry_at_ms = now_ms() + 5000;
        return JOB_RETRY;
    }
    json_t *filters = json_pack("[{s:s, s:s, s:[s]}, {s:s, s:s, s:[s]}]",
                                "resource_type", "task", "action", "changed", "fields", "completed",
                                "resource_type", "task", "action", "changed", "fields",
                                "custom_fields");
    json_t *data = json_pack("{s:s, s:s, s:o}", "resource", h->t->asana_project, "target",
                             h->target, "filters", filters);
    int rc = asana_call(&h->a, "POST", "/webhooks", data, &res);
    rep = rds_cmd(h->ctx->redis, "DEL %s", pending);
    if (rep)
        freeReplyObject(rep);
    free(pending);
    if (rc != 0) {
        job_outcome_t out = asana_failed(h, "registering the webhook", &res);
        asana_res_free(&res);
        return out;
    }
    const char *gid = json_string_value(json_object_get(res.data, "gid"));
    char at[40];
    iso8601_ms(now_ms(), at, sizeof at);
    if (!gid || hook_set(h, "gid", gid, "resource", h->t->asana_project, "target", h->target,
                         "active", "1", "created_at", at, "checked_at", at, "last_error", "",
                         NULL) != 0) {
        h->ctx->error = xstrdup(gid ? "redis unreachable" : "webhook created without a gid");
        asana_res_free(&res);
        return JOB_RETRY;
    }
    char *stats = xasprintf(K_STATS, h->t->id);
    rep = rds_cmd(h->ctx->redis, "HINCRBY %s webhook_registrations 1", stats);
    if (rep)
        freeReplyObject(rep);
    free(stats);
    audit_add(h->ctx->redis, h->t->id, "webhook", "webhook.registered",
              json_pack("{s:s, s:s, s:s, s:s}", "gid", gid, "resource", h->t->asana_project,
                        "target", h->target, "reason", reason));
    mlog(LOG_INFO, "writer.webhook", "tenant %s: webhook %s registered (%s)", h->t->id, gid,
         reason);
    h->ctx->result = xasprintf("{\"registered\":\"%s\",\"reason\":\"%s\"}", gid, reason);
    asana_res_free(&res);
    return JOB_OK;
}

/* Checks the stored webhook; re-registers when Asana deleted it or marked it inactive. */
static job_outcome_t check(hook_t *h)
{
    redisReply *rep = rds_cmd(h->ctx->redis, "HMGET %s gid target", h->hook_key);
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2) {
        if (rep)
            freeReplyObject(rep);
        h->ctx->error = xstrdup("redis unreachable");
        return JOB_RETRY;
    }
    char *gid = rep->element[0]->type == REDIS_REPLY_STRING && rep->element[0]->len
                    ? xstrdup(rep->element[0]->str) : NULL;
    bool same = rep->element[1]->type == REDIS_REPLY_STRING &&
                strcmp(rep->element[1]->str, h->target) == 0;
    freeReplyObject(rep);
    if (!gid)
        return do_register(h, NULL, "none registered");
    if (!same) {
        job_outcome_t out = do_register(h, gid, "target changed");
        free(gid);
        return out;
    }
    char *path = xasprintf("/webhooks/%s?opt_fields=active,last_success_at,last_failure_at,"
                           "last_failure_content,delivery_retry_count", gid);
    asana_res_t res = { 0 };
    int rc = asana_call(&h->a, "GET", path, NULL, &res);
    free(path);
    job_outcome_t out;
    if (rc != 0 && res.status == 404) {
        out = do_register(h, NULL, "deleted by Asana");
    } else if (rc != 0) {
        out = asana_failed(h, "reading the webhook", &res);
    } else if (!json_is_true(json_object_get(res.data, "active"))) {
        out = do_register(h, gid, "inactive");
    } else {
        char at[40];
        iso8601_ms(now_ms(), at, sizeof at);
        const char *ok = json_string_value(json_object_get(res.data, "last_success_at"));
        const char *bad = json_string_value(json_object_get(res.data, "last_failure_at"));
        char retries[24];
        snprintf(retries, sizeof retries, "%lld",
                 (long long)json_integer_value(json_object_get(res.data,
                                                               "delivery_retry_count")));
        out = hook_set(h, "active", "1", "checked_at", at, "last_success_at", ok ? ok : "",
                       "last_failure_at", bad ? bad : "", "delivery_retry_count", retries,
                       "last_error", "", NULL) == 0 ? JOB_OK : JOB_RETRY;
        if (out == JOB_RETRY)
            h->ctx->error = xstrdup("redis unreachable");
        else
            h->ctx->result = xasprintf("{\"healthy\":\"%s\"}", gid);
    }
    asana_res_free(&res);
    free(gid);
    return out;
}

job_outcome_t hook_check(job_ctx_t *ctx, const job_t *job, const tenant_cfg_t *t)
{
    hook_t h = { .ctx = ctx, .job = job, .t = t, .target = hook_target(t->id) };
    if (!h.target || !webhook_wanted(t)) {
        ctx->result = xstrdup(h.target ? "{\"skipped\":\"asana.webhook is false\"}"
                                       : "{\"skipped\":\"MLC_WEBHOOK_URL is not set\"}");
        free(h.target);
        return JOB_OK;
    }
    h.hook_key = xasprintf(K_HOOK, t->id);
    asana_init(&h.a, ctx->http, ctx->redis, t);
    job_outcome_t out = check(&h);
    free(h.hook_key);
    free(h.target);
    return out;
}

/* ---- reconciliation ---------------------------------------------------------------------- */

static void collect_completed(void *ud, json_t *page)
{
    json_t **acc = ud, *task;
    size_t i;
    json_array_foreach(page, i, task) {
        json_integer_set(acc[1], json_integer_value(acc[1]) + 1);
        if (json_is_true(json_object_get(task, "completed")))
            json_array_append(acc[0], json_object_get(task, "gid"));
    }
}

/* Of the completed task gids, the refs whose decision is not final: fills jobs (one per such
 * task). Returns the count, or -1 when Redis failed. */
static int pending_decisions(rds_t *r, const char *tenant, const json_t *gids, job_t **jobs)
{
    size_t n = json_array_size(gids);
    *jobs = NULL;
    if (n == 0)
        return 0;
    char *map = xasprintf(K_GIDMAP, tenant);
    for (size_t i = 0; i < n; i++)
        rds_append(r, "HGET %s %s", map, json_string_value(json_array_get(gids, i)));
    free(map);
    char **refs = xcalloc(n, sizeof *refs);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        redisReply *rep = rds_get_reply(r);
        if (!rep)
            rc = -1;
        else if (rep->type == REDIS_REPLY_STRING)
            refs[i] = xstrdup(rep->str);
        if (rep)
            freeReplyObject(rep);
    }
    int m = 0;
    if (rc == 0) {
        for (size_t i = 0; i < n; i++) {
            char *wb = refs[i] ? xasprintf(K_WRITEBACK, tenant, refs[i]) : NULL;
            if (wb)
                rds_append(r, "HGET %s state", wb);
            free(wb);
        }
        *jobs = xcalloc(n, sizeof **jobs);
        for (size_t i = 0; i < n; i++) {
            if (!refs[i])
                continue;
            redisReply *rep = rds_get_reply(r);
            if (!rep) {
                rc = -1;
                continue;
            }
            if (!approval_state_final(rep->type == REDIS_REPLY_STRING ? rep->str : NULL)) {
                job_t *j = &(*jobs)[m++];
                j->id = xasprintf("wb:%s", refs[i]);
                j->ref = xasprintf("task:%s", json_string_value(json_array_get(gids, i)));
            }
            freeReplyObject(rep);
        }
    }
    for (size_t i = 0; i < n; i++)
        free(refs[i]);
    free(refs);
    return rc == 0 ? m : -1;
}

job_outcome_t hook_reconcile(job_ctx_t *ctx, const job_t *job, const tenant_cfg_t *t)
{
    char *hook_key = xasprintf(K_HOOK, t->id);
    redisReply *rep = rds_cmd(ctx->redis, "HGET %s reconciled_ms", hook_key);
    if (!rep) {
        free(hook_key);
        ctx->error = xstrdup("redis unreachable");
        return JOB_RETRY;
    }
    int64_t started = now_ms();
    int64_t since = rep->type == REDIS_REPLY_STRING
                        ? atoll(rep->str) - SWEEP_OVERLAP_MS
                        : started - env_long("MLC_RECONCILE_LOOKBACK_S", 86400) * 1000;
    freeReplyObject(rep);
    char iso[40];
    iso8601_ms(since, iso, sizeof iso);
    asana_t a;
    asana_init(&a, ctx->http, ctx->redis, t);
    char *path = xasprintf("/tasks?project=%s&modified_since=%s&limit=100"
                           "&opt_fields=completed,modified_at", t->asana_project, iso);
    json_t *acc[2] = { json_array(), json_integer(0) };
    asana_res_t res = { 0 };
    int rc = asana_each_page(&a, path, collect_completed, acc, &res);
    free(path);
    job_outcome_t out = JOB_OK;
    job_t *jobs = NULL;
    int m = 0;
    if (rc != 0) {
        ctx->error = xasprintf("sweeping tasks: %s", res.error);
        ctx->retry_at_ms = res.retry_after_ms ? now_ms() + res.retry_after_ms : 0;
        out = JOB_RETRY;
    } else if ((m = pending_decisions(ctx->redis, t->id, acc[0], &jobs)) < 0) {
        ctx->error = xstrdup("redis unreachable");
        out = JOB_RETRY;
    }
    for (int i = 0; out == JOB_OK && i < m; i++) {
        jobs[i].tenant = (char *)t->id;
        jobs[i].service = "write";
        jobs[i].type = "writeback";
        jobs[i].parent = (char *)job->id;
        jobs[i].payload = "{\"source\":\"reconcile\"}";
    }
    if (out == JOB_OK && m > 0 && job_enqueue_many(ctx->redis, jobs, m) < 0) {
        ctx->error = xstrdup("redis unreachable");
        out = JOB_RETRY;
    }
    if (out == JOB_OK) {
        for (int i = 0; i < m; i++)
            bus_publish(ctx->bus, "write", t->id, jobs[i].id);
        char ms[24], at[40];
        snprintf(ms, sizeof ms, "%lld", (long long)started);
        iso8601_ms(started, at, sizeof at);
        rep = rds_cmd(ctx->redis, "HSET %s reconciled_ms %s reconciled_at %s", hook_key, ms, at);
        if (rep)
            freeReplyObject(rep);
        if (m > 0)
            audit_add(ctx->redis, t->id, "webhook", "reconcile.recovered",
                      json_pack("{s:s, s:I, s:I}", "since", iso, "completed",
                                (json_int_t)json_array_size(acc[0]), "enqueued", (json_int_t)m));
        ctx->result = xasprintf("{\"tasks\":%lld,\"completed\":%zu,\"enqueued\":%d}",
                                (long long)json_integer_value(acc[1]), json_array_size(acc[0]),
                                m);
    }
    for (int i = 0; i < m; i++) {
        free(jobs[i].id);
        free(jobs[i].ref);
    }
    free(jobs);
    json_decref(acc[0]);
    json_decref(acc[1]);
    asana_res_free(&res);
    free(hook_key);
    return out;
}
