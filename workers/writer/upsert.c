/* upsert: see upsert.h. Record state lives in K_REC (data, hash, etag, synced_hash,
 * create_started); the task map in K_TASKMAP / K_GIDMAP. A job costs few Redis round trips:
 * one script decides (skip / update / create under a per-record lock), one pipeline records
 * the outcome. */
#include "upsert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "approval.h"
#include "hooks.h"
#include "keys.h"
#include "lock.h"
#include "log.h"
#include "seed.h"
#include "tenant.h"
#include "util.h"

typedef struct {
    uint8_t         key[MLC_KEY_LEN];
    fields_cache_t *cache;
    tenant_cache_t *tenants;
} writer_thread_t;

void *writer_thread_init(job_ctx_t *ctx)
{
    (void)ctx;
    writer_thread_t *wt = xcalloc(1, sizeof *wt);
    char err[256];
    if (master_key_load(wt->key, err, sizeof err) != 0) {
        mlog(LOG_ERROR, "writer.master_key", "%s", err);
        free(wt);
        return NULL;
    }
    wt->cache = fields_cache_new();
    wt->tenants = tenant_cache_new(env_long("MLC_TENANT_CACHE_MS", 5000));
    return wt;
}

void writer_thread_free(void *user)
{
    writer_thread_t *wt = user;
    if (!wt)
        return;
    fields_cache_destroy(&wt->cache);
    tenant_cache_destroy(&wt->tenants);
    free(wt);
}

char *supplier_label(const record_t *rec)
{
    if (rec->supplier_name && rec->supplier_id)
        return xasprintf("%s (%s)", rec->supplier_name, rec->supplier_id);
    if (rec->supplier_name)
        return xstrdup(rec->supplier_name);
    return rec->supplier_id ? xstrdup(rec->supplier_id) : NULL;
}

char *task_name(const record_t *rec)
{
    const char *what = strcmp(rec->kind, "po") == 0 ? "PO" : "Invoice";
    char *sup = supplier_label(rec);
    char *name = sup ? xasprintf("%s %s \xc2\xb7 %s", what, rec->number, sup)
                     : xasprintf("%s %s", what, rec->number);
    free(sup);
    return name;
}

char *erp_key_value(const char *tenant, const record_t *rec)
{
    return xasprintf("%s:%s:%s", tenant, rec->kind, rec->erp_key);
}

static char *task_notes(const tenant_cfg_t *t, const record_t *rec)
{
    buf_t b;
    buf_init(&b);
    buf_appendf(&b, "%s %s from %s (tenant %s).\n",
                strcmp(rec->kind, "po") == 0 ? "Purchase order" : "Supplier invoice", rec->number,
                t->erp_type, t->id);
    if (rec->amount)
        buf_appendf(&b, "Amount: %s %s\n", rec->amount, rec->currency ? rec->currency : "");
    if (rec->status)
        buf_appendf(&b, "ERP status: %s\n", rec->status);
    if (rec->doc_date)
        buf_appendf(&b, "Date: %s\n", rec->doc_date);
    if (rec->due_date)
        buf_appendf(&b, "Due: %s\n", rec->due_date);
    buf_appendf(&b, "Managed by ml-connector: edits to the mapped fields are overwritten on the next "
                    "ERP change.");
    return buf_steal(&b);
}

/* Sets the custom field value of one enum field (creating the option when missing). */
static int set_enum(asana_t *a, const char *tenant, fields_cache_t *cache, json_t *cf,
                    const char *field_gid, const char *name, asana_res_t *res)
{
    if (!name || !*name) {
        json_object_set_new(cf, field_gid, json_null());
        return 0;
    }
    char *opt = enum_option(a, tenant, field_gid, name, cache, res);
    if (!opt)
        return -1;
    json_object_set_new(cf, field_gid, json_string(opt));
    free(opt);
    return 0;
}

char *field_text(const char *tenant, const record_t *rec, field_id_t id)
{
    switch (id) {
    case FIELD_NUMBER_TEXT: return rec->number ? xstrdup(rec->number) : NULL;
    case FIELD_ERP_KEY:     return erp_key_value(tenant, rec);
    case FIELD_SUPPLIER:    return supplier_label(rec);
    case FIELD_AMOUNT:      return rec->amount ? xstrdup(rec->amount) : NULL;
    case FIELD_CURRENCY:    return rec->currency ? xstrdup(rec->currency) : NULL;
    case FIELD_GL_ACCOUNT:  return rec->gl_account ? xstrdup(rec->gl_account) : NULL;
    case FIELD_COST_CENTER: return rec->cost_center ? xstrdup(rec->cost_center) : NULL;
    case FIELD_STATUS:      return rec->status ? xstrdup(rec->status) : NULL;
    default:                return NULL;
    }
}

/* The custom_fields object of a task body, keyed by field GID: text fields as text, Amount as
 * a number, the enum fields by option GID (options created when missing). NULL with res on
 * failure. */
static json_t *custom_fields(asana_t *a, const tenant_cfg_t *t, fields_cache_t *cache,
                             const fields_t *f, const record_t *rec, asana_res_t *res)
{
    json_t *cf = json_object();
    int rc = 0;
    for (int id = 0; rc == 0 && id < FIELD_COUNT; id++) {
        char *v = field_text(t->id, rec, (field_id_t)id);
        if (id == FIELD_NUMBER_TEXT || id == FIELD_ERP_KEY)
            json_object_set_new(cf, f->gid[id], v ? json_string(v) : json_null());
        else if (id == FIELD_AMOUNT)
            json_object_set_new(cf, f->gid[id], v ? json_real(strtod(v, NULL)) : json_null());
        else
            rc = set_enum(a, t->id, cache, cf, f->gid[id], v, res);
        free(v);
    }
    if (rc != 0) {
        json_decref(cf);
        return NULL;
    }
    return cf;
}

/* Decides what a job has to do, in one atomic step. KEYS: record hash, task map, create lock.
 * ARGV: ref, lock owner, lock ttl ms, now ms. Returns {verdict, data, hash, gid-or-marker}:
 *   gone    the record has no state
 *   skip    the task shows this content already
 *   update  the task exists: PUT the content
 *   busy    another writer is creating this record's task right now; 2nd element: the
 *           lock's remaining ms (it outlives a writer that died while creating)
 *   create  lock taken and create_started set; the 4th element is the earlier create_started
 *           ("" when none): non-empty means an earlier create may have succeeded. */
/* The create lock outlives the longest create: slot wait (<= 2 s) + POST (ASANA_TIMEOUT_MS)
 * + recording the outcome. */
#define CREATE_LOCK_MS "30000"

static rds_script_t UPSERT_BEGIN = { "upsert_begin",
    "local rec = redis.call('HMGET', KEYS[1], 'data', 'hash', 'synced_hash', 'create_started')\n"
    "if not rec[1] then return {'gone'} end\n"
    "local gid = redis.call('HGET', KEYS[2], ARGV[1])\n"
    "if gid then\n"
    "  if rec[3] and rec[3] == rec[2] then return {'skip', rec[1], rec[2], gid} end\n"
    "  return {'update', rec[1], rec[2], gid}\n"
    "end\n"
    "if not redis.call('SET', KEYS[3], ARGV[2], 'NX', 'PX', ARGV[3]) then\n"
    "  return {'busy', redis.call('PTTL', KEYS[3])} end\n"
    "redis.call('HSET', KEYS[1], 'create_started', ARGV[4])\n"
    "return {'create', rec[1], rec[2], rec[4] or ''}\n" };

typedef struct {
    job_ctx_t          *ctx;
    const job_t        *job;
    const tenant_cfg_t *t;
    asana_t             a;
    record_t            rec;
    char               *hash;
    char               *gid;          /* task GID once known */
    char               *earlier;      /* earlier create_started of a create verdict */
    char               *lock_key;
    char               *owner;        /* lock owner while we hold the create lock */
    long long           busy_ms;      /* a busy verdict: how long the create lock still holds */
    fields_t            f;
    json_t             *cf;
    asana_res_t         res;
} upsert_t;

static char *elem_str(const redisReply *rep, size_t i)
{
    return i < rep->elements && rep->element[i]->type == REDIS_REPLY_STRING
               ? xstrdup(rep->element[i]->str) : NULL;
}

/* Runs UPSERT_BEGIN; returns the verdict (static string) or NULL on Redis failure. */
static const char *begin(upsert_t *u)
{
    const char *tenant = u->t->id, *ref = u->job->ref;
    char *rec_key = xasprintf(K_REC, tenant, ref);
    char *map_key = xasprintf(K_TASKMAP, tenant);
    char *lock_name = xasprintf("task:%s", ref);
    u->lock_key = xasprintf(K_ASANA_LOCK, tenant, lock_name);
    u->owner = random_hex(8);
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)now_ms());
    const char *args[] = { rec_key, map_key, u->lock_key, ref, u->owner, CREATE_LOCK_MS, now };
    redisReply *rep = rds_eval(u->ctx->redis, &UPSERT_BEGIN, 3, 7, args, NULL);
    free(rec_key);
    free(map_key);
    free(lock_name);
    static const char *const VERDICTS[] = { "gone", "skip", "update", "busy", "create" };
    const char *verdict = NULL;
    if (rds_ok(rep) && rep->type == REDIS_REPLY_ARRAY && rep->elements >= 1) {
        for (size_t i = 0; i < sizeof VERDICTS / sizeof VERDICTS[0]; i++)
            if (strcmp(rep->element[0]->str, VERDICTS[i]) == 0)
                verdict = VERDICTS[i];
    }
    if (verdict && strcmp(verdict, "busy") == 0 && rep->elements == 2)
        u->busy_ms = rep->element[1]->integer;
    if (verdict && rep->elements == 4) {
        char *data = elem_str(rep, 1);
        json_t *obj = data ? json_loads(data, 0, NULL) : NULL;
        if (!obj || record_from_json(obj, &u->rec) != 0)
            verdict = "gone";
        json_decref(obj);
        free(data);
        u->hash = elem_str(rep, 2);
        if (strcmp(verdict, "create") == 0)
            u->earlier = elem_str(rep, 3);
        else
            u->gid = elem_str(rep, 3);
    }
    if (!verdict || strcmp(verdict, "create") != 0) {
        free(u->owner);      /* the lock was not taken */
        u->owner = NULL;
    }
    if (rep)
        freeReplyObject(rep);
    return verdict;
}

typedef struct {
    asana_t            *a;
    const tenant_cfg_t *t;
    const char         *field_gid;   /* the ERP Key field */
    const char         *want;
    char               *prefix;      /* "<tenant>:" */
    char               *found;
    long                adopted;
} scan_t;

/* Adopts a task of this tenant that the map lacks: its create succeeded but its GID was never
 * stored (the writer died, or the answer was lost). */
static void adopt(scan_t *sc, const char *ref, const char *gid)
{
    rds_t *r = sc->a->redis;
    char *map = xasprintf(K_TASKMAP, sc->t->id);
    redisReply *rep = rds_cmd(r, "HSETNX %s %s %s", map, ref, gid);
    free(map);
    bool fresh = rds_int(rep, 0) == 1;
    if (rep)
        freeReplyObject(rep);
    if (!fresh)
        return;
    char *rev = xasprintf(K_GIDMAP, sc->t->id);
    char *rec = xasprintf(K_REC, sc->t->id, ref);
    rds_append(r, "HSETNX %s %s %s", rev, gid, ref);
    rds_append(r, "HDEL %s create_started", rec);
    audit_append(r, sc->t->id, ref, "asana.adopted", json_pack("{s:s}", "task", gid));
    rds_drain(r, 3);
    free(rev);
    free(rec);
    sc->adopted++;
}

static void scan_page(void *ud, json_t *page)
{
    scan_t *sc = ud;
    size_t i, j;
    json_t *task, *cf;
    json_array_foreach(page, i, task) {
        const char *gid = json_string_value(json_object_get(task, "gid"));
        json_array_foreach(json_object_get(task, "custom_fields"), j, cf) {
            const char *fg = json_string_value(json_object_get(cf, "gid"));
            const char *v = json_string_value(json_object_get(cf, "text_value"));
            if (!gid || !fg || !v || strcmp(fg, sc->field_gid) != 0 || !str_starts(v, sc->prefix))
                continue;
            adopt(sc, v + strlen(sc->prefix), gid);
            if (!sc->found && strcmp(v, sc->want) == 0)
                sc->found = xstrdup(gid);
        }
    }
}

/* Scans the project's tasks for the one whose ERP Key field holds want_value, adopting on the
 * way every task of this tenant that the map lacks. Returns the GID (malloc'd) or NULL;
 * res->error is set when the scan failed. */
static char *find_task(asana_t *a, const tenant_cfg_t *t, const fields_t *f,
                       const char *want_value, asana_res_t *res)
{
    char *first = xasprintf("/projects/%s/tasks?limit=100&opt_fields=custom_fields.gid,"
                            "custom_fields.text_value", t->asana_project);
    scan_t sc = { .a = a, .t = t, .field_gid = f->gid[FIELD_ERP_KEY], .want = want_value,
                  .prefix = xasprintf("%s:", t->id) };
    asana_each_page(a, first, scan_page, &sc, res);
    if (sc.adopted)
        mlog(LOG_WARN, "asana.adopted", "tenant %s: adopted %ld task(s) created before a crash",
             t->id, sc.adopted);
    free(first);
    free(sc.prefix);
    return sc.found;
}

static json_t *task_body(upsert_t *u, bool create)
{
    char *name = task_name(&u->rec);
    char *notes = task_notes(u->t, &u->rec);
    json_t *data = json_pack("{s:s, s:s, s:O}", "name", name, "notes", notes, "custom_fields", u->cf);
    if (create)
        json_object_set_new(data, "projects", json_pack("[s]", u->t->asana_project));
    free(name);
    free(notes);
    return data;
}

/* PUT the current content to u->gid. 1 ok, 0 task gone (404), -1 failure (res). */
static int update_task(upsert_t *u)
{
    char *p = xasprintf("/tasks/%s?opt_fields=gid", u->gid);
    int rc = asana_call(&u->a, "PUT", p, task_body(u, false), &u->res);
    free(p);
    if (rc == 0) {
        asana_res_free(&u->res);
        return 1;
    }
    return u->res.status == 404 ? 0 : -1;
}

/* POSTs the task; on success sets u->gid. A definite refusal (4xx but 429) means nothing was
 * created; anything else leaves the outcome uncertain and create_started in place. */
static int create_task(upsert_t *u, bool *definite_failure)
{
    *definite_failure = false;
    if (asana_call(&u->a, "POST", "/tasks?opt_fields=gid", task_body(u, true), &u->res) == 0) {
        const char *g = json_string_value(json_object_get(u->res.data, "gid"));
        u->gid = g ? xstrdup(g) : NULL;
        asana_res_free(&u->res);
        if (u->gid)
            return 0;
        snprintf(u->res.error, sizeof u->res.error, "asana POST /tasks: 201 without a gid");
        u->res.retryable = 1;
        return -1;
    }
    *definite_failure = u->res.status >= 400 && u->res.status < 500 && u->res.status != 429;
    return -1;
}

/* Records the outcome in one pipeline: mapping (when created or recovered), synced hash,
 * counters, audit entry, create marker and lock. event NULL = failure (only marker + lock).
 * clear_marker: drop create_started (the create's outcome is known). */
static void finish(upsert_t *u, const char *event, bool store_map, bool clear_marker)
{
    rds_t *r = u->ctx->redis;
    const char *tenant = u->t->id, *ref = u->job->ref;
    char *rec_key = xasprintf(K_REC, tenant, ref);
    char *map_key = xasprintf(K_TASKMAP, tenant);
    char *rev_key = xasprintf(K_GIDMAP, tenant);
    char *stats = xasprintf(K_STATS, tenant);
    int n = 0;
    rds_append(r, "MULTI");
    n++;
    if (store_map && u->gid) {
        rds_append(r, "HSET %s %s %s", map_key, ref, u->gid);
        rds_append(r, "HSET %s %s %s", rev_key, u->gid, ref);
        n += 2;
    }
    if (clear_marker) {
        rds_append(r, "HDEL %s create_started", rec_key);
        n++;
    }
    if (event) {
        char now[32];
        iso8601_ms(now_ms(), now, sizeof now);
        rds_append(r, "HSET %s synced_hash %s synced_at %s task %s", rec_key, u->hash, now, u->gid);
        rds_append(r, "HINCRBY %s %s 1", stats,
                   strcmp(event, "asana.create") == 0 ? "tasks_created" : "tasks_updated");
        audit_append(r, tenant, ref, event,
                     json_pack("{s:s, s:s, s:s}", "task", u->gid, "hash", u->hash, "job", u->job->id));
        n += 3;
    }
    rds_append(r, "EXEC");
    n++;
    n += asana_append_release(&u->a);
    n += lock_append_release(r, u->lock_key, u->owner);
    rds_drain(r, n);
    free(u->owner);
    u->owner = NULL;
    free(rec_key);
    free(map_key);
    free(rev_key);
    free(stats);
}

/* Maps a failed Asana call onto the job outcome. */
static job_outcome_t failed(upsert_t *u)
{
    u->ctx->error = xstrdup(u->res.error[0] ? u->res.error : "asana request failed");
    if (u->res.retry_after_ms > 0)
        u->ctx->retry_at_ms = now_ms() + u->res.retry_after_ms;
    return u->res.retryable ? JOB_RETRY : JOB_FATAL;
}

static job_outcome_t upsert(upsert_t *u)
{
    writer_thread_t *wt = u->ctx->user;
    const char *verdict = begin(u);
    if (!verdict) {
        u->ctx->error = xstrdup("redis unreachable");
        return JOB_RETRY;
    }
    if (strcmp(verdict, "gone") == 0) {
        u->ctx->error = xasprintf("record %s has no state", u->job->ref);
        return JOB_FATAL;
    }
    if (strcmp(verdict, "skip") == 0) {
        u->ctx->result = xstrdup("{\"skipped\":\"unchanged\"}");
        return JOB_OK;
    }
    if (strcmp(verdict, "busy") == 0) {
        /* Come back when the lock is gone: then the task exists, or its creator died and the
         * create_started marker makes us look it up before creating. */
        u->ctx->error = xasprintf("record %s is being created by another writer", u->job->ref);
        u->ctx->retry_at_ms = now_ms() + (u->busy_ms > 0 ? u->busy_ms : 0) + 100;
        return JOB_RETRY;
    }
    bool creating = strcmp(verdict, "create") == 0;
    if (fields_resolve(&u->a, u->t, wt->cache, &u->f, &u->res) != 0 ||
        !(u->cf = custom_fields(&u->a, u->t, wt->cache, &u->f, &u->rec, &u->res))) {
        if (creating)   /* nothing was sent; an earlier uncertain create stays marked */
            finish(u, NULL, false, !(u->earlier && *u->earlier));
        return failed(u);
    }
    if (!creating) {
        int up = update_task(u);
        if (up == 1) {
            finish(u, "asana.update", false, false);
            return JOB_OK;
        }
        if (up < 0)
            return failed(u);
        /* The task was deleted in Asana: forget it; the retry creates a new one. */
        audit_add(u->ctx->redis, u->t->id, u->job->ref, "asana.task_gone",
                  json_pack("{s:s}", "task", u->gid));
        char *map = xasprintf(K_TASKMAP, u->t->id);
        redisReply *rep = rds_cmd(u->ctx->redis, "HDEL %s %s", map, u->job->ref);
        if (rep)
            freeReplyObject(rep);
        free(map);
        u->ctx->error = xasprintf("task %s was deleted in Asana; creating it again", u->gid);
        u->ctx->retry_at_ms = now_ms();
        return JOB_RETRY;
    }
    if (u->earlier && *u->earlier) {
        /* An earlier create's outcome is unknown: look before creating again. */
        char *want = erp_key_value(u->t->id, &u->rec);
        u->gid = find_task(&u->a, u->t, &u->f, want, &u->res);
        free(want);
        if (!u->gid && u->res.error[0]) {
            finish(u, NULL, false, false);
            return failed(u);
        }
        if (u->gid) {
            audit_add(u->ctx->redis, u->t->id, u->job->ref, "asana.recovered",
                      json_pack("{s:s}", "task", u->gid));
            if (update_task(u) != 1) {
                finish(u, NULL, true, true);
                return failed(u);
            }
            finish(u, "asana.update", true, true);
            return JOB_OK;
        }
    }
    bool definite = false;
    if (create_task(u, &definite) != 0) {
        finish(u, NULL, false, definite);
        return failed(u);
    }
    finish(u, "asana.create", true, true);
    return JOB_OK;
}

job_outcome_t writer_handle(job_ctx_t *ctx, const job_t *job)
{
    writer_thread_t *wt = ctx->user;
    if (!wt) {
        ctx->error = xstrdup("writer has no master key (MLC_MASTER_KEY / MLC_MASTER_KEY_FILE)");
        return JOB_RETRY;
    }
    enum { UPSERT, SEED, EVENT, WRITEBACK, HOOK_CHECK, RECONCILE };
    static const char *const TYPES[] = { [UPSERT] = "upsert_task", [SEED] = "seed_enums",
                                         [EVENT] = "webhook_event", [WRITEBACK] = "writeback",
                                         [HOOK_CHECK] = "webhook_check",
                                         [RECONCILE] = "reconcile", NULL };
    int type = 0;
    while (TYPES[type] && strcmp(job->type, TYPES[type]) != 0)
        type++;
    if (!TYPES[type]) {
        ctx->error = xasprintf("writer: unknown job type %s", job->type);
        return JOB_FATAL;
    }
    char err[512];
    const tenant_cfg_t *cfg = tenant_cache_get(wt->tenants, ctx->redis, wt->key, job->tenant, err,
                                               sizeof err);
    if (!cfg) {
        ctx->error = xstrdup(err);
        return strstr(err, "redis unreachable") ? JOB_RETRY : JOB_FATAL;
    }
    switch (type) {
    case SEED:       return seed_enums(ctx, job, cfg, wt->cache);
    case EVENT:
    case WRITEBACK:  return approval_handle(ctx, job, cfg, wt->key);
    case HOOK_CHECK: return hook_check(ctx, job, cfg);
    case RECONCILE:  return hook_reconcile(ctx, job, cfg);
    }
    upsert_t u = { .ctx = ctx, .job = job, .t = cfg };
    asana_init(&u.a, ctx->http, ctx->redis, cfg);
    u.a.defer_release = true;
    job_outcome_t out = upsert(&u);
    asana_release(&u.a);
    if (out != JOB_OK)
        audit_add(ctx->redis, cfg->id, job->ref, out == JOB_RETRY ? "asana.retry" : "asana.failed",
                  json_pack("{s:s, s:s, s:I}", "job", job->id, "error",
                            ctx->error ? ctx->error : "", "status", (json_int_t)u.res.status));
    asana_res_free(&u.res);
    json_decref(u.cf);
    fields_free(&u.f);
    record_free(&u.rec);
    free(u.hash);
    free(u.gid);
    free(u.earlier);
    free(u.lock_key);
    free(u.owner);
    return out;
}
