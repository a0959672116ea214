/* plan: `mlc sync TENANT --plan [--flow F] [--full] [--json]`: what a sync would write to
 * Asana, without writing. Each flow is read as a poll reads it (its driver, from its watermark
 * minus MLC_POLL_OVERLAP_S, or everything with --full), each record hashed (record_hash) and
 * compared with its state in Redis the way the pipeline decides:
 *   create     new or changed content and no task yet
 *   update     new or changed content (hash differs from the stored hash) that Asana does not
 *              show yet (synced_hash differs)
 *   pending    content already recorded by an earlier poll but not in Asana yet: a queued,
 *              retrying or dead write job owns it (this sync adds no job for it)
 *   unchanged  the rest (an ETag-only change included)
 * Writes nothing to Redis but token caches and the ERP's shared rate-limit state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "erp.h"
#include "keys.h"
#include "record.h"
#include "util.h"

#define PLAN_BATCH 500
#define PLAN_USAGE "usage: mlc sync TENANT --plan [--flow F] [--full] [--json]\n"

typedef struct {
    rds_t              *redis;
    const tenant_cfg_t *tenant;
    record_t           *batch[PLAN_BATCH];
    int                 n;
    long                read, unchanged;
    json_t             *create, *update, *pending;   /* arrays of {ref, number, ...} */
    int                 failed;                      /* Redis failed */
} plan_t;

/* {field: [stored, new]} of the record fields whose values differ (pure). */
static json_t *field_changes(const json_t *stored, const json_t *now)
{
    json_t *changes = json_object();
    for (int i = 0; RECORD_FIELDS[i]; i++) {
        const char *f = RECORD_FIELDS[i];
        if (strcmp(f, "etag") == 0 || strcmp(f, "modified_at") == 0)
            continue;   /* not content */
        json_t *a = json_object_get(stored, f), *b = json_object_get(now, f);
        if (!json_equal(a ? a : json_null(), b ? b : json_null()))
            json_object_set_new(changes, f, json_pack("[O, O]", a ? a : json_null(),
                                                      b ? b : json_null()));
    }
    return changes;
}

static const char *elem(const redisReply *rep, size_t i)
{
    return rep && rep->type == REDIS_REPLY_ARRAY && i < rep->elements &&
           rep->element[i]->type == REDIS_REPLY_STRING ? rep->element[i]->str : NULL;
}

/* Classifies one record given its stored data, hash and synced_hash (state) and its task. */
static void classify(plan_t *p, const record_t *rec, const redisReply *state, const char *task)
{
    char hash[65];
    record_hash(rec, hash);
    const char *old = elem(state, 1), *synced = elem(state, 2);
    if (task && synced && strcmp(synced, hash) == 0) {
        p->unchanged++;   /* also new content that Asana shows already: the writer skips it */
        return;
    }
    char *ref = record_ref(rec);
    json_t *entry = json_pack("{s:s, s:s}", "ref", ref, "number", rec->number);
    if (task)
        json_object_set_new(entry, "task", json_string(task));
    if (old && strcmp(old, hash) == 0) {
        json_array_append(p->pending, entry);
    } else if (!task) {
        json_array_append(p->create, entry);
    } else {
        json_t *stored = elem(state, 0) ? json_loads(elem(state, 0), 0, NULL) : NULL;
        json_t *now = record_to_json(rec);
        json_object_set_new(entry, "changes", field_changes(stored ? stored : json_null(), now));
        json_decref(stored);
        json_decref(now);
        json_array_append(p->update, entry);
    }
    json_decref(entry);
    free(ref);
}

/* Looks the batch up in one pipeline and classifies it. */
static int flush(plan_t *p)
{
    const char *t = p->tenant->id;
    char *map = xasprintf(K_TASKMAP, t);
    for (int i = 0; i < p->n; i++) {
        char *ref = record_ref(p->batch[i]);
        char *key = xasprintf(K_REC, t, ref);
        rds_append(p->redis, "HMGET %s data hash synced_hash", key);
        rds_append(p->redis, "HGET %s %s", map, ref);
        free(key);
        free(ref);
    }
    free(map);
    for (int i = 0; i < p->n; i++) {
        redisReply *state = rds_get_reply(p->redis);
        redisReply *task = rds_get_reply(p->redis);
        if (!rds_ok(state) || !rds_ok(task))
            p->failed = 1;
        else
            classify(p, p->batch[i], state,
                     task->type == REDIS_REPLY_STRING ? task->str : NULL);
        if (state)
            freeReplyObject(state);
        if (task)
            freeReplyObject(task);
        record_free(p->batch[i]);
        free(p->batch[i]);
    }
    p->n = 0;
    return p->failed;
}

static int sink(void *ud, record_t *rec)
{
    plan_t *p = ud;
    p->batch[p->n++] = rec;
    p->read++;
    return p->n == PLAN_BATCH ? flush(p) : 0;
}

/* Plans one flow; returns its report object, or NULL after printing why. */
static json_t *plan_flow(rds_t *r, const tenant_cfg_t *t, const flow_cfg_t *flow,
                         const uint8_t *key, http_client_t *http, bool full)
{
    const erp_driver_t *drv = erp_driver(t->erp_type);
    if (!drv) {
        fprintf(stderr, "mlc sync --plan: no driver for ERP type %s\n", t->erp_type);
        return NULL;
    }
    plan_t *p = xcalloc(1, sizeof *p);
    p->redis = r;
    p->tenant = t;
    p->create = json_array();
    p->update = json_array();
    p->pending = json_array();
    char *since = erp_since(r, t->id, flow->name, full);
    erp_read_t in = { .tenant = t, .flow = flow, .redis = r, .http = http, .master_key = key,
                      .since = since };
    erp_result_t res;
    drv->read(&in, sink, p, &res);
    if (!p->failed)
        flush(p);
    for (int i = 0; i < p->n; i++) {
        record_free(p->batch[i]);
        free(p->batch[i]);
    }
    json_t *out = NULL;
    if (p->failed)
        fprintf(stderr, "mlc sync --plan: flow %s: Redis failed while comparing\n", flow->name);
    else if (!res.ok)
        fprintf(stderr, "mlc sync --plan: flow %s: %s\n", flow->name, res.error);
    else
        out = json_pack("{s:s, s:s?, s:I, s:I, s:O, s:O, s:O, s:I}", "flow", flow->name, "since",
                        since, "read", (json_int_t)p->read, "pages", (json_int_t)res.pages,
                        "create", p->create, "update", p->update, "pending", p->pending,
                        "unchanged", (json_int_t)p->unchanged);
    json_decref(p->create);
    json_decref(p->update);
    json_decref(p->pending);
    free(p);
    free(since);
    return out;
}

/* "amount 100 -> 12345.67, status Released -> Closed" of a changes object, into b. */
static void changes_text(buf_t *b, const json_t *changes)
{
    const char *f;
    json_t *v;
    json_object_foreach((json_t *)changes, f, v) {
        char *a = json_dumps(json_array_get(v, 0), JSON_ENCODE_ANY);
        char *c = json_dumps(json_array_get(v, 1), JSON_ENCODE_ANY);
        buf_appendf(b, "%s%s %s -> %s", b->len ? ", " : "", f, a ? a : "?", c ? c : "?");
        free(a);
        free(c);
    }
}

static void plan_print(const json_t *plan)
{
    size_t i, j;
    const json_t *f, *e;
    printf("plan for %s (nothing was written):\n", json_string_value(json_object_get(plan, "tenant")));
    json_array_foreach(json_object_get(plan, "flows"), i, f) {
        const char *since = json_string_value(json_object_get(f, "since"));
        printf("flow %s (%s%s): %lld read, %zu to create, %zu to update, %zu pending, %lld "
               "unchanged\n", json_string_value(json_object_get(f, "flow")),
               since ? "changed since " : "every record", since ? since : "",
               (long long)json_integer_value(json_object_get(f, "read")),
               json_array_size(json_object_get(f, "create")),
               json_array_size(json_object_get(f, "update")),
               json_array_size(json_object_get(f, "pending")),
               (long long)json_integer_value(json_object_get(f, "unchanged")));
        static const char *const LISTS[] = { "create", "update", "pending", NULL };
        for (int l = 0; LISTS[l]; l++) {
            json_array_foreach(json_object_get(f, LISTS[l]), j, e) {
                buf_t b;
                buf_init(&b);
                buf_append(&b, "", 0);
                changes_text(&b, json_object_get(e, "changes"));
                const char *task = json_string_value(json_object_get(e, "task"));
                printf("  %-7s %-20s %s%s%s%s\n", LISTS[l],
                       json_string_value(json_object_get(e, "ref")), task ? "task " : "",
                       task ? task : "", task && b.len ? ": " : "",
                       b.data);
                buf_free(&b);
            }
        }
    }
    printf("total: %lld to create, %lld to update\n",
           (long long)json_integer_value(json_object_get(plan, "creates")),
           (long long)json_integer_value(json_object_get(plan, "updates")));
}

int cmd_sync_plan(int argc, char **argv)
{
    const char *tenant = NULL, *only = NULL;
    bool json = false, full = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf(PLAN_USAGE
                   "What a sync would write to Asana, without writing: every flow (or F) is\n"
                   "read from the ERP as a poll reads it (from its watermark; --full: every\n"
                   "record) and compared with Redis: records to create (no task yet), to update\n"
                   "(content Asana does not show), pending (an earlier write job still owns\n"
                   "them) and unchanged.\n");
            return 0;
        } else if (strcmp(argv[i], "--plan") == 0) {
            continue;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--full") == 0) {
            full = true;
        } else if (strcmp(argv[i], "--flow") == 0 && i + 1 < argc) {
            only = argv[++i];
        } else if (argv[i][0] != '-' && !tenant) {
            tenant = argv[i];
        } else {
            fprintf(stderr, "mlc sync --plan: unexpected argument %s\n" PLAN_USAGE, argv[i]);
            return 2;
        }
    }
    if (!tenant) {
        fprintf(stderr, PLAN_USAGE);
        return 2;
    }
    uint8_t key[MLC_KEY_LEN];
    tenant_cfg_t cfg;
    rds_t *r = cli_tenant_open("sync", tenant, key, &cfg);
    if (!r)
        return 1;
    int rc = 0;
    if (only && !tenant_flow(&cfg, only)) {
        fprintf(stderr, "mlc sync --plan: tenant %s has no flow %s\n", cfg.id, only);
        rc = 2;
    }
    http_client_t *http = http_client_new();
    json_t *flows = json_array();
    json_int_t creates = 0, updates = 0;
    for (size_t i = 0; rc == 0 && i < cfg.nflows; i++) {
        if (only && strcmp(only, cfg.flows[i].name) != 0)
            continue;
        json_t *f = plan_flow(r, &cfg, &cfg.flows[i], key, http, full);
        if (!f) {
            rc = 1;
            break;
        }
        creates += (json_int_t)json_array_size(json_object_get(f, "create"));
        updates += (json_int_t)json_array_size(json_object_get(f, "update"));
        json_array_append_new(flows, f);
    }
    if (rc == 0) {
        json_t *plan = json_pack("{s:s, s:o, s:I, s:I}", "tenant", cfg.id, "flows", flows,
                                 "creates", creates, "updates", updates);
        flows = NULL;
        if (json)
            cli_print_json(plan);
        else {
            plan_print(plan);
            json_decref(plan);
        }
    }
    json_decref(flows);
    http_client_destroy(&http);
    tenant_cfg_free(&cfg);
    rds_destroy(&r);
    return rc;
}
