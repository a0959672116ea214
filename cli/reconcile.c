/* reconcile: `mlc reconcile TENANT [--repair] [--json]`: drift between the ERP as last read
 * (the records in Redis, K_REC) and Asana (the tasks of the tenant's project with their custom
 * fields, compared by the field GIDs in K_ASANA_FIELDS):
 *   drift         a task whose mapped field values differ from its record's current values
 *   no task       a record without a task, or whose mapped task is no longer in the project
 *   orphan task   a task of this tenant (ERP Key "<tenant>:...") whose key names no record, or
 *                 that is not the mapped task of its record (a duplicate)
 * --repair clears synced_hash of each drifted record and of each record without a task, so the
 * writer writes it again, and queues and publishes its upsert_task job (the id a poll would
 * give it: "write:<ref>:<hash12>"). Orphan tasks are only reported: deleting a task is left to
 * a person. Exit status 0 when ERP and Asana agree, 3 when something was reported. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asana.h"
#include "audit.h"
#include "bus.h"
#include "cli.h"
#include "job.h"
#include "keys.h"
#include "record.h"
#include "upsert.h"
#include "util.h"

#define RECONCILE_USAGE "usage: mlc reconcile TENANT [--repair] [--json]\n"
#define SCAN_COUNT      1000

typedef struct {
    field_id_t  id;        /* fields.h; same order as ASANA_LOGICAL_FIELDS */
    const char *name;      /* the tenant's Asana field name (borrowed from the config) */
    char       *gid;
    char       *type;      /* "text" | "number" | "enum" */
} field_t;

/* The mapped fields with their GIDs and types from K_ASANA_FIELDS; *n of them. NULL after
 * printing why (Redis, or the writer never resolved them). */
static field_t *fields_load(rds_t *r, const tenant_cfg_t *t, size_t *n)
{
    char *key = xasprintf(K_ASANA_FIELDS, t->id, t->asana_project);
    json_t *cached = cli_hgetall(r, key);
    field_t *f = NULL;
    *n = 0;
    if (!cached) {
        fprintf(stderr, "mlc reconcile: cannot read %s\n", key);
    } else if (json_object_size(cached) == 0) {
        fprintf(stderr, "mlc reconcile: no custom field GIDs in %s: the writer resolves them at "
                "its first task (run `mlc sync %s` first)\n", key, t->id);
    } else {
        size_t all = 0;
        while (ASANA_LOGICAL_FIELDS[all])
            all++;
        f = xcalloc(all, sizeof *f);
        for (int i = 0; ASANA_LOGICAL_FIELDS[i]; i++) {
            const char *name = json_string_value(json_object_get(t->asana_fields,
                                                                 ASANA_LOGICAL_FIELDS[i]));
            const char *v = name ? json_string_value(json_object_get(cached, name)) : NULL;
            const char *sp = v ? strchr(v, ' ') : NULL;
            if (!sp)
                continue;   /* not resolved: nothing to compare */
            f[*n] = (field_t){ (field_id_t)i, name, strndup(v, (size_t)(sp - v)),
                               xstrdup(sp + 1) };
            (*n)++;
        }
    }
    json_decref(cached);
    free(key);
    return f;
}

static void fields_release(field_t *f, size_t n)
{
    for (size_t i = 0; f && i < n; i++) {
        free(f[i].gid);
        free(f[i].type);
    }
    free(f);
}


/* The value of one custom field of a task as text (number as %.15g, enum as its option name),
 * malloc'd; NULL when unset. */
static char *actual(const json_t *cf, const char *type)
{
    if (strcmp(type, "number") == 0) {
        json_t *v = json_object_get(cf, "number_value");
        return json_is_number(v) ? xasprintf("%.15g", json_number_value(v)) : NULL;
    }
    const char *s = strcmp(type, "enum") == 0
        ? json_string_value(json_object_get(json_object_get(cf, "enum_value"), "name"))
        : json_string_value(json_object_get(cf, "text_value"));
    return s && *s ? xstrdup(s) : NULL;
}

/* True when the task shows want (pure): numbers compare as numbers, empty equals unset. */
static bool same_value(const char *type, const char *want, const char *got)
{
    if (!want || !*want || !got)
        return (!want || !*want) && !got;
    if (strcmp(type, "number") == 0) {
        double a = strtod(want, NULL), b = strtod(got, NULL);
        return fabs(a - b) <= 1e-9 * fmax(1.0, fabs(a));
    }
    return strcmp(want, got) == 0;
}

typedef struct {
    const tenant_cfg_t *t;
    const char         *erp_key_gid;
    char               *prefix;   /* "<tenant>:" */
    json_t             *tasks;    /* gid -> {name, ref?, cf: {field gid: custom field}} */
    long                unmanaged;
} tasks_t;

static void on_tasks(void *ud, json_t *page)
{
    tasks_t *ts = ud;
    size_t i, j;
    json_t *task, *cf;
    json_array_foreach(page, i, task) {
        const char *gid = json_string_value(json_object_get(task, "gid"));
        if (!gid)
            continue;
        json_t *by_gid = json_object();
        const char *key = NULL;
        json_array_foreach(json_object_get(task, "custom_fields"), j, cf) {
            const char *fg = json_string_value(json_object_get(cf, "gid"));
            if (!fg)
                continue;
            json_object_set(by_gid, fg, cf);
            if (strcmp(fg, ts->erp_key_gid) == 0)
                key = json_string_value(json_object_get(cf, "text_value"));
        }
        if (!key || !str_starts(key, ts->prefix)) {
            ts->unmanaged += !key;   /* another tenant's task is not counted as anything */
            json_decref(by_gid);
            continue;
        }
        json_object_set_new(ts->tasks, gid,
                            json_pack("{s:s?, s:s, s:o}", "name",
                                      json_string_value(json_object_get(task, "name")), "ref",
                                      key + strlen(ts->prefix), "cf", by_gid));
    }
}

/* Every record of the tenant: ref -> {data, hash, synced_hash}; NULL when Redis failed. */
static json_t *records_load(rds_t *r, const char *tenant)
{
    char *pattern = xasprintf(K_REC, tenant, "*");
    size_t prefix = strlen(pattern) - 1;
    json_t *recs = json_object();
    char *cursor = xstrdup("0");
    bool ok = true;
    do {
        redisReply *rep = rds_cmd(r, "SCAN %s MATCH %s COUNT %d", cursor, pattern, SCAN_COUNT);
        free(cursor);
        cursor = NULL;
        if (!rds_ok(rep) || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2) {
            ok = false;
            if (rep)
                freeReplyObject(rep);
            break;
        }
        cursor = rds_str(rep->element[0]);
        const redisReply *keys = rep->element[1];
        for (size_t i = 0; i < keys->elements; i++)
            rds_append(r, "HMGET %s data hash synced_hash", keys->element[i]->str);
        for (size_t i = 0; i < keys->elements; i++) {
            redisReply *h = rds_get_reply(r);
            if (!rds_ok(h) || h->type != REDIS_REPLY_ARRAY || h->elements != 3) {
                ok = false;
            } else if (h->element[0]->type == REDIS_REPLY_STRING) {
                json_t *data = json_loads(h->element[0]->str, 0, NULL);
                if (data)
                    json_object_set_new(recs, keys->element[i]->str + prefix,
                                        json_pack("{s:o, s:s?, s:s?}", "data", data, "hash",
                                                  h->element[1]->str, "synced_hash",
                                                  h->element[2]->str));
            }
            if (h)
                freeReplyObject(h);
        }
        freeReplyObject(rep);
    } while (ok && cursor && strcmp(cursor, "0") != 0);
    free(cursor);
    free(pattern);
    if (!ok) {
        fprintf(stderr, "mlc reconcile: cannot read the records of %s from Redis\n", tenant);
        json_decref(recs);
        return NULL;
    }
    return recs;
}

/* The fields of task that differ from record rec: [{field, erp, asana}]. */
static json_t *differences(const tenant_cfg_t *t, const field_t *f, size_t nf,
                           const record_t *rec, const json_t *task_cf)
{
    json_t *diffs = json_array();
    for (size_t i = 0; i < nf; i++) {
        char *want = field_text(t->id, rec, f[i].id);
        json_t *cf = json_object_get(task_cf, f[i].gid);
        char *got = cf ? actual(cf, f[i].type) : NULL;
        if (cf && !same_value(f[i].type, want, got))
            json_array_append_new(diffs, json_pack("{s:s, s:s?, s:s?}", "field", f[i].name,
                                                   "erp", want, "asana", got));
        free(want);
        free(got);
    }
    return diffs;
}

/* Queues the upsert_task job of ref after clearing its synced_hash. Returns the job id
 * (malloc'd) or NULL when Redis failed. */
static char *repair(rds_t *r, bus_t *bus, const char *tenant, const char *ref, const char *hash,
                    json_t *why)
{
    char *key = xasprintf(K_REC, tenant, ref);
    redisReply *rep = rds_cmd(r, "HDEL %s synced_hash", key);
    free(key);
    bool ok = rds_ok(rep);
    if (rep)
        freeReplyObject(rep);
    char *id = xasprintf("write:%s:%.12s", ref, hash ? hash : "");
    job_t j = { .id = id, .tenant = (char *)tenant, .service = "write", .type = "upsert_task",
                .ref = (char *)ref, .max_attempts = job_max_attempts("upsert_task") };
    if (!ok || job_submit(r, bus, &j) < 0) {
        json_decref(why);
        free(id);
        return NULL;
    }
    json_object_set_new(why, "job", json_string(id));
    audit_add(r, tenant, ref, "reconcile.repair", why);
    return id;
}

/* Compares records and tasks into a report (see the top of the file); NULL on failure. */
static json_t *reconcile(rds_t *r, const tenant_cfg_t *t, const field_t *f, size_t nf,
                         json_t *recs, const tasks_t *ts)
{
    char *map_key = xasprintf(K_TASKMAP, t->id);
    json_t *map = cli_hgetall(r, map_key);
    free(map_key);
    if (!map) {
        fprintf(stderr, "mlc reconcile: cannot read the task map of %s\n", t->id);
        return NULL;
    }
    json_t *drift = json_array(), *no_task = json_array(), *orphans = json_array();
    const char *ref;
    json_t *rec;
    json_object_foreach(recs, ref, rec) {
        const char *gid = json_string_value(json_object_get(map, ref));
        const json_t *task = gid ? json_object_get(ts->tasks, gid) : NULL;
        if (!task) {
            json_array_append_new(no_task, json_pack("{s:s, s:s?, s:s}", "ref", ref, "task", gid,
                                                     "why", gid ? "task not in the project"
                                                                : "never created"));
            continue;
        }
        record_t rc = { 0 };
        if (record_from_json(json_object_get(rec, "data"), &rc) != 0)
            continue;
        json_t *diffs = differences(t, f, nf, &rc, json_object_get(task, "cf"));
        record_free(&rc);
        const char *hash = json_string_value(json_object_get(rec, "hash"));
        const char *synced = json_string_value(json_object_get(rec, "synced_hash"));
        if (json_array_size(diffs) > 0)
            json_array_append_new(drift, json_pack("{s:s, s:s, s:o, s:b}", "ref", ref, "task",
                                                   gid, "fields", diffs, "write_pending",
                                                   !synced || !hash || strcmp(synced, hash) != 0));
        else
            json_decref(diffs);
    }
    const char *gid;
    json_t *task;
    json_object_foreach(ts->tasks, gid, task) {
        const char *tref = json_string_value(json_object_get(task, "ref"));
        const char *mapped = json_string_value(json_object_get(map, tref));
        if (mapped && strcmp(mapped, gid) == 0)
            continue;
        json_t *o = json_pack("{s:s, s:s?, s:s}", "task", gid, "name",
                              json_string_value(json_object_get(task, "name")), "ref", tref);
        json_object_set_new(o, "why", json_string(!json_object_get(recs, tref)
                                                  ? "its ERP Key names no record"
                                                  : "not the mapped task of its record"));
        if (mapped)
            json_object_set_new(o, "mapped_task", json_string(mapped));
        json_array_append_new(orphans, o);
    }
    json_decref(map);
    return json_pack("{s:s, s:s, s:I, s:I, s:I, s:o, s:o, s:o}", "tenant", t->id, "project",
                     t->asana_project, "records", (json_int_t)json_object_size(recs), "tasks",
                     (json_int_t)json_object_size(ts->tasks), "unmanaged_tasks",
                     (json_int_t)ts->unmanaged, "drift", drift, "no_task", no_task,
                     "orphan_tasks", orphans);
}

/* --repair: one job per drifted record and per record without a task; adds "repaired". */
static int repair_all(rds_t *r, const tenant_cfg_t *t, json_t *report, const json_t *recs)
{
    bus_t *bus = bus_producer_new(env_or("MLC_BROKER_URL", DEFAULT_BROKER_URL));
    json_t *done = json_array();
    int failed = 0;
    static const char *const LISTS[] = { "drift", "no_task", NULL };
    for (int l = 0; LISTS[l]; l++) {
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(report, LISTS[l]), i, e) {
            const char *ref = json_string_value(json_object_get(e, "ref"));
            const char *hash = json_string_value(
                json_object_get(json_object_get(recs, ref), "hash"));
            json_t *why = json_pack("{s:s, s:O?, s:O?}", "finding", LISTS[l], "task",
                                    json_object_get(e, "task"), "fields",
                                    json_object_get(e, "fields"));
            char *id = repair(r, bus, t->id, ref, hash, why);
            if (id)
                json_array_append_new(done, json_pack("{s:s, s:s}", "ref", ref, "job", id));
            else
                failed++;
            free(id);
        }
    }
    json_object_set_new(report, "repaired", done);
    bus_destroy(&bus);
    if (failed)
        fprintf(stderr, "mlc reconcile: %d repair job(s) could not be recorded in Redis\n", failed);
    return failed ? -1 : 0;
}

static void report_print(const json_t *rep)
{
    printf("reconcile %s: %lld records in Redis, %lld tasks of the tenant in project %s\n",
           cli_str(rep, "tenant", "?"), (long long)json_integer_value(json_object_get(rep, "records")),
           (long long)json_integer_value(json_object_get(rep, "tasks")), cli_str(rep, "project", "?"));
    size_t i, j;
    const json_t *e, *d;
    json_array_foreach(json_object_get(rep, "drift"), i, e) {
        printf("  drift    %-18s task %s%s:", cli_str(e, "ref", "?"), cli_str(e, "task", "?"),
               json_is_true(json_object_get(e, "write_pending")) ? " (a write is pending)" : "");
        json_array_foreach(json_object_get(e, "fields"), j, d)
            printf("%s %s: ERP %s, Asana %s", j ? ";" : "", cli_str(d, "field", "?"),
                   cli_str(d, "erp", "(empty)"), cli_str(d, "asana", "(empty)"));
        printf("\n");
    }
    json_array_foreach(json_object_get(rep, "no_task"), i, e)
        printf("  no task  %-18s %s%s%s\n", cli_str(e, "ref", "?"), cli_str(e, "why", ""),
               json_is_string(json_object_get(e, "task")) ? ": " : "", cli_str(e, "task", ""));
    json_array_foreach(json_object_get(rep, "orphan_tasks"), i, e)
        printf("  orphan   task %s \"%s\": %s (%s)\n", cli_str(e, "task", "?"), cli_str(e, "name", ""),
               cli_str(e, "why", ""), cli_str(e, "ref", "?"));
    printf("%zu drifted, %zu without task, %zu orphan task%s\n",
           json_array_size(json_object_get(rep, "drift")),
           json_array_size(json_object_get(rep, "no_task")),
           json_array_size(json_object_get(rep, "orphan_tasks")),
           json_array_size(json_object_get(rep, "orphan_tasks")) == 1 ? "" : "s");
    const json_t *fixed = json_object_get(rep, "repaired");
    if (fixed) {
        printf("repair: queued %zu upsert_task job%s", json_array_size(fixed),
               json_array_size(fixed) == 1 ? "" : "s");
        json_array_foreach(fixed, i, e)
            printf("%s %s", i ? "," : ":", cli_str(e, "job", "?"));
        printf("\n");
    }
}

int cmd_reconcile(int argc, char **argv)
{
    const char *tenant = NULL;
    bool json = false, fix = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf(RECONCILE_USAGE
                   "Drift between the ERP as last read (the records in Redis) and the tasks of\n"
                   "the tenant's Asana project: mapped field values that differ, records\n"
                   "without a task, tasks whose ERP Key names no record.\n"
                   "  --repair  queue an upsert_task job for every drifted record and every\n"
                   "            record without a task (orphan tasks are only reported)\n"
                   "Exit status: 0 in line, 3 when something was reported, 1 on failure.\n");
            return 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--repair") == 0) {
            fix = true;
        } else if (argv[i][0] != '-' && !tenant) {
            tenant = argv[i];
        } else {
            fprintf(stderr, "mlc reconcile: unexpected argument %s\n" RECONCILE_USAGE, argv[i]);
            return 2;
        }
    }
    if (!tenant) {
        fprintf(stderr, RECONCILE_USAGE);
        return 2;
    }
    uint8_t key[MLC_KEY_LEN];
    tenant_cfg_t cfg;
    rds_t *r = cli_tenant_open("reconcile", tenant, key, &cfg);
    if (!r)
        return 1;
    size_t nf = 0;
    field_t *f = fields_load(r, &cfg, &nf);
    const char *erp_key_gid = NULL;
    for (size_t i = 0; i < nf; i++)
        if (f[i].id == FIELD_ERP_KEY)
            erp_key_gid = f[i].gid;
    int rc = 1;
    json_t *recs = NULL, *report = NULL;
    tasks_t ts = { .t = &cfg, .erp_key_gid = erp_key_gid, .prefix = xasprintf("%s:", cfg.id),
                   .tasks = json_object() };
    if (f && !erp_key_gid)
        fprintf(stderr, "mlc reconcile: the ERP Key field of %s is not resolved\n", cfg.id);
    if (erp_key_gid && (recs = records_load(r, cfg.id))) {
        http_client_t *http = http_client_new();
        asana_t a;
        asana_init(&a, http, r, &cfg);
        asana_res_t res = { 0 };
        char *path = xasprintf("/projects/%s/tasks?limit=100&opt_fields=name,custom_fields.gid,"
                               "custom_fields.text_value,custom_fields.number_value,"
                               "custom_fields.enum_value.name", cfg.asana_project);
        if (asana_each_page(&a, path, on_tasks, &ts, &res) != 0)
            fprintf(stderr, "mlc reconcile: %s\n", res.error);
        else
            report = reconcile(r, &cfg, f, nf, recs, &ts);
        asana_res_free(&res);
        asana_release(&a);
        free(path);
        http_client_destroy(&http);
    }
    if (report && (!fix || repair_all(r, &cfg, report, recs) == 0)) {
        bool clean = json_array_size(json_object_get(report, "drift")) == 0 &&
                     json_array_size(json_object_get(report, "no_task")) == 0 &&
                     json_array_size(json_object_get(report, "orphan_tasks")) == 0;
        if (json)
            cli_print_json(json_incref(report));
        else
            report_print(report);
        rc = clean ? 0 : 3;
    }
    json_decref(report);
    json_decref(recs);
    json_decref(ts.tasks);
    free(ts.prefix);
    fields_release(f, nf);
    tenant_cfg_free(&cfg);
    rds_destroy(&r);
    return rc;
}
