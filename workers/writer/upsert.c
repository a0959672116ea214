/* upsert: see upsert.h. Record state lives in K_REC (data, hash, etag, synced_hash,
 * create_started); the task map in K_TASKMAP / K_GIDMAP. */
#include "upsert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "keys.h"
#include "lock.h"
#include "log.h"
#include "tenant.h"
#include "util.h"

typedef struct {
    uint8_t         key[MLC_KEY_LEN];
    fields_cache_t *cache;
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
    return wt;
}

void writer_thread_free(void *user)
{
    writer_thread_t *wt = user;
    if (!wt)
        return;
    fields_cache_destroy(&wt->cache);
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

/* The custom_fields object of a task body, keyed by field GID. NULL with res on failure. */
static json_t *custom_fields(asana_t *a, const tenant_cfg_t *t, fields_cache_t *cache,
                             const fields_t *f, const record_t *rec, asana_res_t *res)
{
    json_t *cf = json_object();
    char *key = erp_key_value(t->id, rec);
    json_object_set_new(cf, f->gid[FIELD_NUMBER_TEXT], json_string(rec->number));
    json_object_set_new(cf, f->gid[FIELD_ERP_KEY], json_string(key));
    free(key);
    if (rec->amount)
        json_object_set_new(cf, f->gid[FIELD_AMOUNT], json_real(strtod(rec->amount, NULL)));
    else
        json_object_set_new(cf, f->gid[FIELD_AMOUNT], json_null());
    char *sup = supplier_label(rec);
    int rc = set_enum(a, t->id, cache, cf, f->gid[FIELD_SUPPLIER], sup, res);
    free(sup);
    if (rc == 0)
        rc = set_enum(a, t->id, cache, cf, f->gid[FIELD_CURRENCY], rec->currency, res);
    if (rc == 0)
        rc = set_enum(a, t->id, cache, cf, f->gid[FIELD_GL_ACCOUNT], rec->gl_account, res);
    if (rc == 0)
        rc = set_enum(a, t->id, cache, cf, f->gid[FIELD_COST_CENTER], rec->cost_center, res);
    if (rc == 0)
        rc = set_enum(a, t->id, cache, cf, f->gid[FIELD_STATUS], rec->status, res);
    if (rc != 0) {
        json_decref(cf);
        return NULL;
    }
    return cf;
}

/* Current record state from Redis. 1 found (fills rec, hash, synced, create_started, task),
 * 0 absent, -1 Redis failure. */
typedef struct {
    record_t rec;
    char    *hash;
    char    *synced_hash;
    char    *create_started;
    char    *task_gid;
} state_t;

static void state_free(state_t *s)
{
    record_free(&s->rec);
    free(s->hash);
    free(s->synced_hash);
    free(s->create_started);
    free(s->task_gid);
    memset(s, 0, sizeof *s);
}

static char *elem_str(const redisReply *rep, size_t i)
{
    return rep->element[i]->type == REDIS_REPLY_STRING && rep->element[i]->len
               ? xstrdup(rep->element[i]->str) : NULL;
}

static int load_state(rds_t *r, const char *tenant, const char *ref, state_t *s)
{
    memset(s, 0, sizeof *s);
    char *key = xasprintf(K_REC, tenant, ref);
    char *map = xasprintf(K_TASKMAP, tenant);
    rds_append(r, "HMGET %s data hash synced_hash create_started", key);
    rds_append(r, "HGET %s %s", map, ref);
    free(key);
    free(map);
    redisReply *a = rds_get_reply(r);
    redisReply *b = a ? rds_get_reply(r) : NULL;
    int rc = -1;
    if (rds_ok(a) && rds_ok(b) && a->type == REDIS_REPLY_ARRAY && a->elements == 4) {
        rc = 0;
        char *data = elem_str(a, 0);
        json_t *obj = data ? json_loads(data, 0, NULL) : NULL;
        if (obj && record_from_json(obj, &s->rec) == 0) {
            s->hash = elem_str(a, 1);
            s->synced_hash = elem_str(a, 2);
            s->create_started = elem_str(a, 3);
            s->task_gid = b->type == REDIS_REPLY_STRING ? xstrdup(b->str) : NULL;
            rc = 1;
        }
        json_decref(obj);
        free(data);
    }
    if (a)
        freeReplyObject(a);
    if (b)
        freeReplyObject(b);
    return rc;
}

/* Records the task of ref in both maps. */
static void store_mapping(rds_t *r, const char *tenant, const char *ref, const char *gid)
{
    char *map = xasprintf(K_TASKMAP, tenant);
    char *rev = xasprintf(K_GIDMAP, tenant);
    char *rec = xasprintf(K_REC, tenant, ref);
    rds_append(r, "MULTI");
    rds_append(r, "HSET %s %s %s", map, ref, gid);
    rds_append(r, "HSET %s %s %s", rev, gid, ref);
    rds_append(r, "HDEL %s create_started", rec);
    rds_append(r, "EXEC");
    for (int i = 0; i < 5; i++) {
        redisReply *rep = rds_get_reply(r);
        if (rep)
            freeReplyObject(rep);
    }
    free(map);
    free(rev);
    free(rec);
}

/* Scans the project's tasks for the one whose ERP Key field holds want_value, adopting on the
 * way every task of this tenant that the map lacks (tasks created by a writer that died before
 * storing the GID). Returns the GID (malloc'd) or NULL; res->error set when the scan failed. */
static char *find_task(asana_t *a, const tenant_cfg_t *t, const fields_t *f,
                       const char *want_value, asana_res_t *res)
{
    char *first = xasprintf("/projects/%s/tasks?limit=100&opt_fields=custom_fields.gid,"
                            "custom_fields.text_value", t->asana_project);
    char *path = xstrdup(first);
    char *found = NULL;
    char *prefix = xasprintf("%s:", t->id);
    char *map = xasprintf(K_TASKMAP, t->id);
    char *rev = xasprintf(K_GIDMAP, t->id);
    long adopted = 0;
    while (path) {
        if (asana_call(a, "GET", path, NULL, res) != 0)
            break;
        size_t i, j;
        json_t *task, *cf;
        json_array_foreach(res->data, i, task) {
            const char *gid = json_string_value(json_object_get(task, "gid"));
            json_array_foreach(json_object_get(task, "custom_fields"), j, cf) {
                const char *fg = json_string_value(json_object_get(cf, "gid"));
                const char *v = json_string_value(json_object_get(cf, "text_value"));
                if (!gid || !fg || !v || strcmp(fg, f->gid[FIELD_ERP_KEY]) != 0 ||
                    !str_starts(v, prefix))
                    continue;
                const char *ref = v + strlen(prefix);
                redisReply *rep = rds_cmd(a->redis, "HSETNX %s %s %s", map, ref, gid);
                if (rds_int(rep, 0) == 1) {
                    redisReply *r2 = rds_cmd(a->redis, "HSETNX %s %s %s", rev, gid, ref);
                    if (r2)
                        freeReplyObject(r2);
                    adopted++;
                }
                if (rep)
                    freeReplyObject(rep);
                if (!found && strcmp(v, want_value) == 0)
                    found = xstrdup(gid);
            }
        }
        const char *offset = json_string_value(
            json_object_get(json_object_get(res->body, "next_page"), "offset"));
        free(path);
        path = NULL;
        if (offset) {
            char *enc = url_encode(offset);
            path = xasprintf("%s&offset=%s", first, enc);
            free(enc);
        }
        asana_res_free(res);
    }
    if (adopted)
        mlog(LOG_WARN, "asana.adopted", "tenant %s: adopted %ld task(s) created before a crash",
             t->id, adopted);
    free(path);
    free(first);
    free(prefix);
    free(map);
    free(rev);
    return found;
}

typedef struct {
    job_ctx_t          *ctx;
    const job_t        *job;
    const tenant_cfg_t *t;
    asana_t             a;
    state_t             st;
    fields_t            f;
    json_t             *cf;
    asana_res_t         res;
} upsert_t;

static json_t *task_body(upsert_t *u, bool create)
{
    char *name = task_name(&u->st.rec);
    char *notes = task_notes(u->t, &u->st.rec);
    json_t *data = json_pack("{s:s, s:s, s:O}", "name", name, "notes", notes, "custom_fields", u->cf);
    if (create)
        json_object_set_new(data, "projects", json_pack("[s]", u->t->asana_project));
    free(name);
    free(notes);
    return data;
}

/* PUT the current content. 1 ok, 0 task gone (404), -1 failure (res). */
static int update_task(upsert_t *u, const char *gid)
{
    char *p = xasprintf("/tasks/%s?opt_fields=gid,modified_at", gid);
    int rc = asana_call(&u->a, "PUT", p, task_body(u, false), &u->res);
    free(p);
    if (rc == 0) {
        asana_res_free(&u->res);
        return 1;
    }
    return u->res.status == 404 ? 0 : -1;
}

/* Creates the task exactly once. Returns the GID (malloc'd) or NULL (res). */
static char *create_task(upsert_t *u, const char *ref)
{
    rds_t *r = u->ctx->redis;
    char *key = xasprintf(K_REC, u->t->id, ref);
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)now_ms());
    /* Durable before the POST: if we die after Asana's 201, the next attempt looks first. */
    redisReply *rep = rds_cmd(r, "HSET %s create_started %s", key, now);
    bool marked = rds_ok(rep);
    if (rep)
        freeReplyObject(rep);
    char *gid = NULL;
    if (!marked) {
        snprintf(u->res.error, sizeof u->res.error, "redis: cannot mark the create");
        u->res.retryable = 1;
    } else if (asana_call(&u->a, "POST", "/tasks?opt_fields=gid", task_body(u, true), &u->res) == 0) {
        const char *g = json_string_value(json_object_get(u->res.data, "gid"));
        gid = g ? xstrdup(g) : NULL;
        asana_res_free(&u->res);
        if (gid)
            store_mapping(r, u->t->id, ref, gid);
    } else if (u->res.status >= 400 && u->res.status < 500 && u->res.status != 429) {
        /* A definite refusal: nothing was created. */
        rep = rds_cmd(r, "HDEL %s create_started", key);
        if (rep)
            freeReplyObject(rep);
    }
    free(key);
    return gid;
}

static void mark_synced(upsert_t *u, const char *ref, const char *gid, const char *event)
{
    rds_t *r = u->ctx->redis;
    char *key = xasprintf(K_REC, u->t->id, ref);
    char *stats = xasprintf(K_STATS, u->t->id);
    char now[32];
    iso8601_ms(now_ms(), now, sizeof now);
    rds_append(r, "HSET %s synced_hash %s synced_at %s task %s", key, u->st.hash, now, gid);
    rds_append(r, "HINCRBY %s %s 1", stats, strcmp(event, "asana.create") == 0 ? "tasks_created"
                                                                               : "tasks_updated");
    audit_append(r, u->t->id, ref, event,
                 json_pack("{s:s, s:s, s:s}", "task", gid, "hash", u->st.hash, "job", u->job->id));
    for (int i = 0; i < 3; i++) {
        redisReply *rep = rds_get_reply(r);
        if (rep)
            freeReplyObject(rep);
    }
    free(key);
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
    const char *ref = u->job->ref;
    rds_t *r = u->ctx->redis;
    int found = load_state(r, u->t->id, ref, &u->st);
    if (found <= 0) {
        u->ctx->error = xasprintf(found < 0 ? "redis unreachable" : "record %s has no state", ref);
        return found < 0 ? JOB_RETRY : JOB_FATAL;
    }
    if (u->st.task_gid && u->st.synced_hash && strcmp(u->st.synced_hash, u->st.hash) == 0) {
        u->ctx->result = xstrdup("{\"skipped\":\"unchanged\"}");
        return JOB_OK;
    }
    if (fields_resolve(&u->a, u->t, ((writer_thread_t *)u->ctx->user)->cache, &u->f, &u->res) != 0)
        return failed(u);
    u->cf = custom_fields(&u->a, u->t, ((writer_thread_t *)u->ctx->user)->cache, &u->f,
                          &u->st.rec, &u->res);
    if (!u->cf)
        return failed(u);

    if (u->st.task_gid) {
        int up = update_task(u, u->st.task_gid);
        if (up == 1) {
            mark_synced(u, ref, u->st.task_gid, "asana.update");
            return JOB_OK;
        }
        if (up < 0)
            return failed(u);
        /* The task was deleted in Asana: forget it and create a new one below. */
        audit_add(r, u->t->id, ref, "asana.task_gone", json_pack("{s:s}", "task", u->st.task_gid));
        char *map = xasprintf(K_TASKMAP, u->t->id);
        redisReply *rep = rds_cmd(r, "HDEL %s %s", map, ref);
        if (rep)
            freeReplyObject(rep);
        free(map);
        asana_res_free(&u->res);
        memset(&u->res, 0, sizeof u->res);
    }

    /* One creator per record at a time; the others come back shortly. */
    char *lock_name = xasprintf("task:%s", ref);
    char *lock_key = xasprintf(K_ASANA_LOCK, u->t->id, lock_name);
    free(lock_name);
    char *owner = lock_try(r, lock_key, 60000, NULL);
    if (!owner) {
        free(lock_key);
        u->ctx->error = xasprintf("record %s is being created by another writer", ref);
        u->ctx->retry_at_ms = now_ms() + 500;
        return JOB_RETRY;
    }
    job_outcome_t out = JOB_OK;
    const char *event = "asana.create";
    char *gid = NULL;
    state_t fresh;
    if (load_state(r, u->t->id, ref, &fresh) == 1 && fresh.task_gid) {
        gid = xstrdup(fresh.task_gid);       /* created meanwhile by the previous lock holder */
        event = "asana.update";
    } else if (fresh.create_started) {
        char *want = erp_key_value(u->t->id, &u->st.rec);
        gid = find_task(&u->a, u->t, &u->f, want, &u->res);
        free(want);
        if (gid) {
            store_mapping(r, u->t->id, ref, gid);
            event = "asana.update";
            audit_add(r, u->t->id, ref, "asana.recovered", json_pack("{s:s}", "task", gid));
        } else if (u->res.error[0]) {
            out = failed(u);
        }
    }
    state_free(&fresh);
    if (out == JOB_OK && gid && strcmp(event, "asana.update") == 0) {
        int up = update_task(u, gid);
        if (up != 1)
            out = failed(u);
    } else if (out == JOB_OK && !gid) {
        gid = create_task(u, ref);
        if (!gid)
            out = failed(u);
    }
    if (out == JOB_OK)
        mark_synced(u, ref, gid, event);
    lock_release(r, lock_key, owner);
    free(lock_key);
    free(gid);
    return out;
}

job_outcome_t writer_handle(job_ctx_t *ctx, const job_t *job)
{
    writer_thread_t *wt = ctx->user;
    if (!wt) {
        ctx->error = xstrdup("writer has no master key (MLC_MASTER_KEY / MLC_MASTER_KEY_FILE)");
        return JOB_RETRY;
    }
    if (strcmp(job->type, "upsert_task") != 0) {
        ctx->error = xasprintf("writer: unknown job type %s", job->type);
        return JOB_FATAL;
    }
    tenant_cfg_t cfg;
    char err[512];
    if (tenant_load(ctx->redis, wt->key, job->tenant, &cfg, err, sizeof err) != 0) {
        ctx->error = xstrdup(err);
        return strstr(err, "redis unreachable") ? JOB_RETRY : JOB_FATAL;
    }
    upsert_t u = { .ctx = ctx, .job = job, .t = &cfg };
    asana_init(&u.a, ctx->http, ctx->redis, cfg.asana_base, cfg.asana_token);
    job_outcome_t out = upsert(&u);
    if (out != JOB_OK)
        audit_add(ctx->redis, cfg.id, job->ref, out == JOB_RETRY ? "asana.retry" : "asana.failed",
                  json_pack("{s:s, s:s, s:I}", "job", job->id, "error",
                            ctx->error ? ctx->error : "", "status", (json_int_t)u.res.status));
    asana_res_free(&u.res);
    json_decref(u.cf);
    fields_free(&u.f);
    state_free(&u.st);
    tenant_cfg_free(&cfg);
    return out;
}
