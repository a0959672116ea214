/* audit: `mlc audit TENANT RECORD [--json] [--limit N]`: the whole trail of one PO or invoice
 * from Redis alone: the record hash (K_REC), its task (K_TASKMAP), its write-back (K_WRITEBACK),
 * the webhook events of its task (K_EVENTS) and every audit entry of the ref (K_AUDIT), as a
 * timeline. Read only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "keys.h"
#include "util.h"

/* Entries read per XRANGE: a stream of a million entries is scanned without holding it. */
#define STREAM_CHUNK 2000
/* Width of the detail column of the timeline. */
#define DETAIL_WIDTH 110

#define AUDIT_USAGE "usage: mlc audit TENANT RECORD [--json] [--limit N]\n"

/* One stream entry: its id and its field/value pairs (borrowed from the reply). */
typedef void (*entry_fn)(void *ud, const char *id, const redisReply *fields);

/* Walks the stream at key from the oldest entry on, STREAM_CHUNK entries per XRANGE.
 * 0 when it was read to the end (or does not exist), -1 when Redis failed. */
static int stream_each(rds_t *r, const char *key, entry_fn fn, void *ud)
{
    char *start = xstrdup("-");
    int rc = 0;
    for (;;) {
        redisReply *rep = rds_cmd(r, "XRANGE %s %s + COUNT %d", key, start, STREAM_CHUNK);
        if (!rds_ok(rep) || rep->type != REDIS_REPLY_ARRAY) {
            rc = -1;
            if (rep)
                freeReplyObject(rep);
            break;
        }
        size_t n = rep->elements;
        for (size_t i = 0; i < n; i++) {
            const redisReply *e = rep->element[i];
            if (e->type == REDIS_REPLY_ARRAY && e->elements == 2 && e->element[0]->str)
                fn(ud, e->element[0]->str, e->element[1]);
        }
        if (n > 0) {
            free(start);
            start = xasprintf("(%s", rep->element[n - 1]->element[0]->str);
        }
        freeReplyObject(rep);
        if (n < STREAM_CHUNK)
            break;
    }
    free(start);
    return rc;
}

/* Value of field name in a stream entry's field/value array, or NULL (borrowed). */
static const char *entry_get(const redisReply *fields, const char *name)
{
    for (size_t i = 0; fields->type == REDIS_REPLY_ARRAY && i + 1 < fields->elements; i += 2)
        if (fields->element[i]->str && strcmp(fields->element[i]->str, name) == 0)
            return fields->element[i + 1]->str;
    return NULL;
}

/* ISO time of a stream id "<ms>-<seq>" into buf. */
static const char *id_time(const char *id, char *buf, size_t len)
{
    return iso8601_ms(strtoll(id, NULL, 10), buf, len);
}

typedef struct {
    const char *ref;
    json_t     *out;   /* matching entries {id, time, event, detail} */
} audit_scan_t;

static void on_audit(void *ud, const char *id, const redisReply *fields)
{
    audit_scan_t *s = ud;
    const char *ref = entry_get(fields, "ref");
    if (!ref || strcmp(ref, s->ref) != 0)
        return;
    const char *event = entry_get(fields, "event");
    const char *detail = entry_get(fields, "detail");
    json_t *d = detail ? json_loads(detail, 0, NULL) : NULL;
    char t[40];
    json_array_append_new(s->out, json_pack("{s:s, s:s, s:s, s:o}", "id", id, "time",
                                            id_time(id, t, sizeof t), "event",
                                            event ? event : "?", "detail",
                                            d ? d : json_string(detail ? detail : "")));
}

typedef struct {
    const char *task;
    json_t     *out;   /* events of the task {id, time, action, change, event} */
} event_scan_t;

static void on_event(void *ud, const char *id, const redisReply *fields)
{
    event_scan_t *s = ud;
    const char *text = entry_get(fields, "event");
    json_t *ev = text ? json_loads(text, 0, NULL) : NULL;
    const char *gid = json_string_value(json_object_get(json_object_get(ev, "resource"), "gid"));
    if (gid && strcmp(gid, s->task) == 0) {
        char t[40];
        json_array_append_new(s->out, json_pack("{s:s, s:s, s:s?, s:O}", "id", id, "time",
                                                id_time(id, t, sizeof t), "received_at",
                                                entry_get(fields, "received_at"), "event", ev));
    }
    json_decref(ev);
}

/* The ref RECORD names: "po:4711" as given, "4711" resolved against the kinds of the tenant's
 * flows (one of them must have state for it). malloc'd, or NULL after printing why. */
static char *resolve_ref(rds_t *r, const tenant_cfg_t *cfg, const char *record)
{
    if (strchr(record, ':'))
        return xstrdup(record);
    buf_t tried, found;
    buf_init(&tried);
    buf_init(&found);
    int hits = 0;
    char *hit = NULL;
    for (size_t i = 0; i < cfg->nflows; i++) {
        size_t seen = 0;
        while (seen < i && strcmp(cfg->flows[seen].kind, cfg->flows[i].kind) != 0)
            seen++;
        if (seen < i)
            continue; /* kind already tried */
        char *ref = xasprintf("%s:%s", cfg->flows[i].kind, record);
        buf_appendf(&tried, "%s%s", tried.len ? ", " : "", ref);
        char *key = xasprintf(K_REC, cfg->id, ref);
        char *map = xasprintf(K_TASKMAP, cfg->id);
        redisReply *a = rds_cmd(r, "EXISTS %s", key);
        redisReply *b = rds_cmd(r, "HEXISTS %s %s", map, ref);
        if (rds_int(a, 0) > 0 || rds_int(b, 0) > 0) {
            hits++;
            buf_appendf(&found, "%s%s", found.len ? ", " : "", ref);
            free(hit);
            hit = xstrdup(ref);
        }
        if (a)
            freeReplyObject(a);
        if (b)
            freeReplyObject(b);
        free(key);
        free(map);
        free(ref);
    }
    if (hits != 1) {
        if (hits == 0)
            fprintf(stderr, "mlc audit: tenant %s has no record %s (looked for %s)\n", cfg->id,
                    record, tried.len ? tried.data : "no kind: the tenant has no flow");
        else
            fprintf(stderr, "mlc audit: %s is ambiguous in tenant %s: %s; name one\n", record,
                    cfg->id, found.data);
        free(hit);
        hit = NULL;
    }
    buf_free(&tried);
    buf_free(&found);
    return hit;
}

/* The record hash as JSON: data parsed, every other field as text. */
static json_t *record_state(rds_t *r, const char *tenant, const char *ref)
{
    char *key = xasprintf(K_REC, tenant, ref);
    json_t *rec = cli_hgetall(r, key);
    free(key);
    const char *data = json_string_value(json_object_get(rec, "data"));
    json_t *parsed = data ? json_loads(data, 0, NULL) : NULL;
    if (parsed)
        json_object_set_new(rec, "data", parsed);
    return rec;
}

/* Gathers the whole trail of ref; NULL when Redis failed (printed). */
static json_t *trail_load(rds_t *r, const tenant_cfg_t *cfg, const char *ref)
{
    json_t *rec = record_state(r, cfg->id, ref);
    char *map = xasprintf(K_TASKMAP, cfg->id);
    redisReply *rep = rds_cmd(r, "HGET %s %s", map, ref);
    free(map);
    char *task = rds_str(rep);
    if (rep)
        freeReplyObject(rep);
    char *wb_key = xasprintf(K_WRITEBACK, cfg->id, ref);
    json_t *wb = cli_hgetall(r, wb_key);
    free(wb_key);
    audit_scan_t as = { ref, json_array() };
    event_scan_t es = { task, json_array() };
    char *audit_key = xasprintf(K_AUDIT, cfg->id);
    char *events_key = xasprintf(K_EVENTS, cfg->id);
    int rc = rec && wb ? 0 : -1;
    if (rc == 0)
        rc = stream_each(r, audit_key, on_audit, &as);
    if (rc == 0 && task)
        rc = stream_each(r, events_key, on_event, &es);
    free(audit_key);
    free(events_key);
    json_t *out = NULL;
    if (rc != 0)
        fprintf(stderr, "mlc audit: cannot read the trail of %s from Redis\n", ref);
    else
        out = json_pack("{s:s, s:s, s:O, s:s?, s:O, s:O, s:O}", "tenant", cfg->id, "ref", ref,
                        "record", rec, "task", task, "writeback", wb, "webhook_events", es.out,
                        "audit", as.out);
    json_decref(rec);
    json_decref(wb);
    json_decref(as.out);
    json_decref(es.out);
    free(task);
    return out;
}

/* Keeps the newest limit entries of the array member name (limit <= 0: all). */
static void keep_newest(json_t *trail, const char *name, long limit)
{
    json_t *a = json_object_get(trail, name);
    while (limit > 0 && json_array_size(a) > (size_t)limit)
        json_array_remove(a, 0);
}

/* "k=v k=v" of the scalar members of a detail object (SHA-256 digests cut to 12 hex chars),
 * cut to len with "..." (pure). */
static void detail_line(const json_t *detail, char *out, size_t len)
{
    buf_t b;
    buf_init(&b);
    buf_append(&b, "", 0);
    if (json_is_string(detail)) {
        buf_appendf(&b, "%s", json_string_value(detail));
    } else {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)detail, k, v) {
            if (json_is_string(v) && *json_string_value(v)) {
                const char *s = json_string_value(v);
                bool digest = strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
                buf_appendf(&b, "%s%s=%.*s", b.len ? " " : "", k, digest ? 12 : (int)strlen(s), s);
            } else if (json_is_number(v) || json_is_boolean(v)) {
                char *t = json_dumps(v, JSON_ENCODE_ANY);
                buf_appendf(&b, "%s%s=%s", b.len ? " " : "", k, t ? t : "?");
                free(t);
            } else if (json_is_array(v) || json_is_object(v)) {
                buf_appendf(&b, "%s%s=[%zu]", b.len ? " " : "", k,
                            json_is_array(v) ? json_array_size(v) : json_object_size(v));
            }
        }
    }
    snprintf(out, len, "%s", b.data);
    if (b.len >= len && len > 4)
        memcpy(out + len - 4, "...", 4);
    buf_free(&b);
}

static void trail_print(const json_t *t)
{
    const json_t *rec = json_object_get(t, "record"), *data = json_object_get(rec, "data");
    printf("%s in tenant %s\n", cli_text(t, "ref", "?"), cli_text(t, "tenant", "?"));
    if (json_object_size(rec) == 0) {
        printf("  record: no state in Redis (never read, or removed)\n");
    } else {
        printf("  record: %s %s, supplier %s, amount %s %s, status %s\n",
               strcmp(cli_text(data, "kind", ""), "po") == 0 ? "PO" : "invoice",
               cli_text(data, "number", "?"), cli_text(data, "supplier_name", cli_text(data, "supplier_id", "-")),
               cli_text(data, "amount", "-"), cli_text(data, "currency", ""), cli_text(data, "status", "-"));
        const char *hash = cli_text(rec, "hash", ""), *synced = cli_text(rec, "synced_hash", "");
        if (!*synced)
            printf("  hash %.12s: never written to Asana\n", hash);
        else if (strcmp(hash, synced) == 0)
            printf("  hash %.12s: Asana shows it (written %s)\n", hash, cli_text(rec, "synced_at", "-"));
        else
            printf("  hash %.12s: Asana shows older content %.12s (written %s)\n", hash, synced,
                   cli_text(rec, "synced_at", "-"));
        printf("  etag %s, ERP modified %s\n", cli_text(rec, "etag", "-"),
               cli_text(rec, "erp_modified", "-"));
        printf("  read %s by job %s (flow %s)\n", cli_text(rec, "updated_at", "-"),
               cli_text(rec, "poll_job", "-"), cli_text(rec, "flow", "-"));
        if (*cli_text(rec, "create_started", ""))
            printf("  a task create is uncertain since %s (resolved by look-up on the next write)\n",
                   cli_text(rec, "create_started", ""));
    }
    printf("  asana task: %s\n", cli_text(t, "task", "none (not created yet)"));
    const json_t *wb = json_object_get(t, "writeback");
    if (json_object_size(wb) == 0)
        printf("  write-back: none\n");
    else
        printf("  write-back: %s, decision %s, mode %s, finished %s%s%s\n", cli_text(wb, "state", "?"),
               cli_text(wb, "decision", "-"), cli_text(wb, "mode", "-"), cli_text(wb, "finished_at", "-"),
               *cli_text(wb, "error", "") ? ", error: " : "", cli_text(wb, "error", ""));
    const json_t *evs = json_object_get(t, "webhook_events");
    printf("  webhook events of the task: %zu\n", json_array_size(evs));
    size_t i;
    const json_t *e;
    json_array_foreach(evs, i, e) {
        const json_t *ev = json_object_get(e, "event"), *ch = json_object_get(ev, "change");
        printf("    %s  %s%s%s\n", cli_text(e, "time", "?"), cli_text(ev, "action", "?"),
               ch ? " " : "", ch ? cli_text(ch, "field", "") : "");
    }
    const json_t *audit = json_object_get(t, "audit");
    printf("timeline (%zu audit entr%s):\n", json_array_size(audit),
           json_array_size(audit) == 1 ? "y" : "ies");
    json_array_foreach(audit, i, e) {
        char line[DETAIL_WIDTH];
        detail_line(json_object_get(e, "detail"), line, sizeof line);
        printf("  %s  %-24s %s\n", cli_text(e, "time", "?"), cli_text(e, "event", "?"), line);
    }
}

int cmd_audit(int argc, char **argv)
{
    const char *tenant = NULL, *record = NULL;
    bool json = false;
    long limit = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf(AUDIT_USAGE
                   "The whole trail of one PO or invoice, from Redis alone: the record's state,\n"
                   "its Asana task, its write-back, the webhook events of its task and every\n"
                   "audit entry, oldest first. RECORD is a ref (po:4711, invoice:INV-1) or a key\n"
                   "(4711) looked up under the kinds of the tenant's flows.\n"
                   "  --limit N   only the newest N audit entries and webhook events\n"
                   "  --json      everything as JSON\n");
            return 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
            char *end;
            limit = strtol(argv[++i], &end, 10);
            if (*end || limit < 1) {
                fprintf(stderr, "mlc audit: --limit wants a positive number (got %s)\n", argv[i]);
                return 2;
            }
        } else if (argv[i][0] != '-' && !tenant) {
            tenant = argv[i];
        } else if (argv[i][0] != '-' && !record) {
            record = argv[i];
        } else {
            fprintf(stderr, "mlc audit: unexpected argument %s\n" AUDIT_USAGE, argv[i]);
            return 2;
        }
    }
    if (!tenant || !record) {
        fprintf(stderr, AUDIT_USAGE);
        return 2;
    }
    uint8_t key[MLC_KEY_LEN];
    tenant_cfg_t cfg;
    rds_t *r = cli_tenant_open("audit", tenant, key, &cfg);
    if (!r)
        return 1;
    int rc = 1;
    char *ref = resolve_ref(r, &cfg, record);
    json_t *trail = ref ? trail_load(r, &cfg, ref) : NULL;
    if (trail && json_object_size(json_object_get(trail, "record")) == 0 &&
        !json_is_string(json_object_get(trail, "task")) && json_array_size(json_object_get(trail, "audit")) == 0) {
        fprintf(stderr, "mlc audit: tenant %s has no record %s (no state, no task, no audit entry)\n",
                cfg.id, ref);
    } else if (trail) {
        keep_newest(trail, "audit", limit);
        keep_newest(trail, "webhook_events", limit);
        if (json)
            cli_print_json(json_incref(trail));
        else
            trail_print(trail);
        rc = 0;
    }
    json_decref(trail);
    free(ref);
    tenant_cfg_free(&cfg);
    rds_destroy(&r);
    return rc;
}
