/* m3: Infor M3 connector (see m3.h, docs/infor.md).
 *
 * List transactions have no offset and no modified filter: they take the first key as input
 * and return at most maxrecs records from that key on, in key order. So every poll reads the
 * whole list, page after page, each page starting from the last key of the previous one (whose
 * record therefore comes again first and is dropped), until a page comes back short; the
 * content hash of poll_flow skips what did not change. Errors arrive as HTTP 400 or inside a
 * 200 (v2 results[].errorMessage, v1 ServerReturnedNOK). Bodies are streamed through jsonscan:
 * one record in memory at a time. */
#include "m3.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "erp.h"
#include "ion.h"
#include "util.h"

int m3_maxrecs(const flow_cfg_t *flow)
{
    return flow->page_size < 2 ? 2 : flow->page_size;
}

static const char *raw_str(const flow_cfg_t *flow, const char *member)
{
    return json_string_value(json_object_get(flow->raw, member));
}

static bool is_v1(const flow_cfg_t *flow)
{
    const char *api = raw_str(flow, "api");
    return api && strcmp(api, "v1") == 0;
}

/* Appends "&name=value" ("?" first) with both percent-encoded. */
static void query_add(buf_t *b, bool *first, const char *name, const char *value)
{
    char *n = url_encode(name), *v = url_encode(value);
    buf_appendf(b, "%s%s=%s", *first ? "?" : "&", n, v);
    *first = false;
    free(n);
    free(v);
}

/* Starts b with "{base}/M3/m3api-rest/[v2/]execute/{PROGRAM}/{TRANSACTION}". */
static void url_head(buf_t *b, const char *api_base, bool v1, const char *program,
                     const char *transaction)
{
    char *p = url_encode(program);
    char *t = url_encode(transaction);
    buf_init(b);
    buf_appendf(b, "%s/M3/m3api-rest/%sexecute/%s/%s", api_base, v1 ? "" : "v2/", p, t);
    free(p);
    free(t);
}

char *m3_call_url(const char *api_base, bool v1, const char *program, const char *transaction,
                  const json_t *inputs)
{
    buf_t b;
    url_head(&b, api_base, v1, program, transaction);
    bool first = true;
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)inputs, name, v) {
        if (json_is_string(v))
            query_add(&b, &first, name, json_string_value(v));
    }
    return buf_steal(&b);
}

char *m3_page_url(const char *api_base, const flow_cfg_t *flow, const char *start_key,
                  int maxrecs)
{
    bool v1 = is_v1(flow);
    buf_t b;
    url_head(&b, api_base, v1, raw_str(flow, "program"), raw_str(flow, "transaction"));
    buf_appendf(&b, ";maxrecs=%d", maxrecs);
    if (!v1) {
        /* Column names stay apart by literal commas, as M3 expects them. */
        char *cols = erp_members(flow);
        buf_append(&b, ";returncols=", 12);
        for (char *save = NULL, *c = strtok_r(cols, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
            char *enc = url_encode(c);
            buf_appendf(&b, "%s%s", c == cols ? "" : ",", enc);
            free(enc);
        }
        free(cols);
    }
    const char *key_input = raw_str(flow, "key_input");
    bool first = true;
    const char *name;
    json_t *v;
    json_object_foreach(json_object_get(flow->raw, "inputs"), name, v) {
        if (start_key && key_input && strcmp(name, key_input) == 0)
            continue;
        if (json_is_string(v))
            query_add(&b, &first, name, json_string_value(v));
    }
    if (start_key && key_input)
        query_add(&b, &first, key_input, start_key);
    return buf_steal(&b);
}

/* Length of s without trailing blanks. */
static size_t trimmed_len(const char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    return n;
}

bool m3_is_repeat(const char *start_key, long index, const char *key)
{
    if (index != 0 || !start_key || !key)
        return false;
    size_t n = trimmed_len(key);
    return n == trimmed_len(start_key) && strncmp(key, start_key, n) == 0;
}

bool m3_more_pages(long returned, int maxrecs, const char *start_key, const char *last_key)
{
    if (returned < maxrecs || !last_key)
        return false;
    return !start_key || trimmed_len(last_key) != trimmed_len(start_key) ||
           strncmp(last_key, start_key, trimmed_len(last_key)) != 0;
}

json_t *m3_v1_flatten(const json_t *mirecord, char *err, size_t err_len)
{
    const json_t *nv = json_object_get(mirecord, "NameValue");
    if (!json_is_array(nv)) {
        snprintf(err, err_len, "MIRecord: NameValue must be an array");
        return NULL;
    }
    json_t *flat = json_object();
    size_t i;
    const json_t *pair;
    json_array_foreach(nv, i, pair) {
        const char *name = json_string_value(json_object_get(pair, "Name"));
        const json_t *value = json_object_get(pair, "Value");
        if (!name || !value) {
            snprintf(err, err_len, "MIRecord: NameValue[%zu] must have a string Name and a Value", i);
            json_decref(flat);
            return NULL;
        }
        json_object_set(flat, name, (json_t *)value);
    }
    return flat;
}

/* ---- reading ---------------------------------------------------------------------------- */

/* What the error members of an answer said (v2 results[] or v1 ServerReturnedNOK). */
typedef struct {
    char *message, *code, *field, *type;
    long  failed;   /* v2 nrOfFailedTransactions */
} m3_error_t;

typedef struct {
    const erp_read_t *in;
    record_sink_fn    sink;
    void             *ud;
    bool              v1;
    const char       *start_key;  /* key this page starts from, NULL on the first page */
    long              returned;   /* records the server sent, a repeated first one included */
    long              delivered;  /* records handed to the sink */
    char             *last_key;   /* trimmed key of the page's last record */
    m3_error_t        error;
    char              map_err[256];
} m3_page_t;

static void page_reset(void *ud)
{
    m3_page_t *pg = ud;
    free(pg->last_key);
    free(pg->error.message);
    free(pg->error.code);
    free(pg->error.field);
    free(pg->error.type);
    pg->last_key = NULL;
    pg->error = (m3_error_t){ 0 };
    pg->returned = pg->delivered = 0;
    pg->map_err[0] = '\0';
}

/* Scalar paths of the error members: v2, then v1. */
static const struct {
    const char *v2, *v1;
    size_t      offset;
} ERROR_MEMBERS[] = {
    { "results.errorMessage", "Message", offsetof(m3_error_t, message) },
    { "results.errorCode",    "@code",   offsetof(m3_error_t, code) },
    { "results.errorField",   "@field",  offsetof(m3_error_t, field) },
    { "results.errorType",    "@type",   offsetof(m3_error_t, type) },
};

static void on_scalar(void *ud, const char *path, const char *raw, size_t len)
{
    m3_page_t *pg = ud;
    json_t *v = json_loadb(raw, len, JSON_DECODE_ANY, NULL);
    if (!pg->v1 && strcmp(path, "nrOfFailedTransactions") == 0 && json_is_integer(v))
        pg->error.failed = (long)json_integer_value(v);
    for (size_t i = 0; i < sizeof ERROR_MEMBERS / sizeof ERROR_MEMBERS[0]; i++) {
        if (strcmp(path, pg->v1 ? ERROR_MEMBERS[i].v1 : ERROR_MEMBERS[i].v2) != 0)
            continue;
        char **slot = (char **)((char *)&pg->error + ERROR_MEMBERS[i].offset);
        const char *s = json_string_value(v);
        if (s && *s && !*slot)   /* the first failing transaction says it best */
            *slot = str_trim_dup(s);
    }
    json_decref(v);
}

static int on_record(void *ud, const char *json, size_t len)
{
    m3_page_t *pg = ud;
    const flow_cfg_t *flow = pg->in->flow;
    json_error_t jerr;
    json_t *row = json_loadb(json, len, 0, &jerr);
    if (!row) {
        snprintf(pg->map_err, sizeof pg->map_err, "record is not JSON: %s", jerr.text);
        return 1;
    }
    if (pg->v1) {
        json_t *flat = m3_v1_flatten(row, pg->map_err, sizeof pg->map_err);
        json_decref(row);
        if (!(row = flat))
            return 1;
    }
    long index = pg->returned++;
    const char *key = json_string_value(json_object_get(row, flow->key_field));
    bool repeat = m3_is_repeat(pg->start_key, index, key);
    if (key) {
        free(pg->last_key);
        pg->last_key = str_trim_dup(key);
    }
    record_t rec = { 0 };
    int rc = repeat ? 0 : record_map(row, flow->map, flow->kind, &rec, pg->map_err,
                                     sizeof pg->map_err);
    json_decref(row);
    if (repeat || rc != 0)
        return rc != 0;
    pg->delivered++;
    record_t *heap = xmalloc(sizeof *heap);
    *heap = rec;
    return pg->sink(pg->ud, heap) != 0;
}

/* "PPS001MI/ListHeadBasic ServerReturnedNOK WPU0901 field PUNO: <message>"; NULL when the
 * answer reported no error. Caller frees. */
static char *error_text(const flow_cfg_t *flow, const m3_error_t *e)
{
    if (!e->message && !e->code && !e->type && e->failed <= 0)
        return NULL;
    buf_t b;
    buf_init(&b);
    buf_appendf(&b, "%s", flow->entity);
    if (e->type)
        buf_appendf(&b, " %s", e->type);
    if (e->code)
        buf_appendf(&b, " %s", e->code);
    if (e->field)
        buf_appendf(&b, " field %s", e->field);
    buf_appendf(&b, ": %s", e->message ? e->message : "failed");
    return buf_steal(&b);
}

/* Reads one page into pg. Returns 0 when it was read whole, -1 with out filled. */
static int read_page(const ion_session_t *s, m3_page_t *pg, int maxrecs, erp_result_t *out)
{
    const erp_read_t *in = pg->in;
    const erp_scan_t sc = { pg->v1 ? "MIRecord" : "results.records", on_record, on_scalar,
                            page_reset, pg };
    char *url = m3_page_url(s->api_base, in->flow, pg->start_key, maxrecs);
    erp_page_t page;
    int rc = erp_fetch_page(in, &s->src, &sc, url, &page, out);
    free(url);
    if (rc != 0)
        return -1;
    char *failure = error_text(in->flow, &pg->error);
    if (pg->map_err[0]) {
        snprintf(out->error, sizeof out->error, "%s: %s", in->flow->entity, pg->map_err);
    } else if (page.stopped) {
        snprintf(out->error, sizeof out->error, "stopped by the pipeline");
    } else if (failure && page.status == 200) {
        /* A business error inside a 200: asking again gives the same answer. */
        snprintf(out->error, sizeof out->error, "m3 %s", failure);
        out->retryable = 0;
    } else if (page.status != 200) {
        erp_fail_status(out, "m3", &page, failure);
    } else if (!page.complete) {
        snprintf(out->error, sizeof out->error, "%s: malformed answer: %s", in->flow->entity,
                 page.scan_error);
        out->retryable = 1;
    }
    free(failure);
    return out->error[0] ? -1 : 0;
}

static void m3_read(const erp_read_t *in, record_sink_fn sink, void *ud, erp_result_t *out)
{
    memset(out, 0, sizeof *out);
    ion_session_t s;
    if (ion_session_open(&s, in, "m3", NULL, out) != 0)
        return;
    int maxrecs = m3_maxrecs(in->flow);
    char *start_key = NULL;
    for (;;) {
        m3_page_t pg = { .in = in, .sink = sink, .ud = ud, .v1 = is_v1(in->flow),
                         .start_key = start_key };
        int rc = read_page(&s, &pg, maxrecs, out);
        out->rows += pg.delivered;
        bool more = rc == 0 && m3_more_pages(pg.returned, maxrecs, start_key, pg.last_key);
        if (rc == 0)
            out->pages++;
        free(start_key);
        start_key = pg.last_key;
        pg.last_key = NULL;
        page_reset(&pg);
        if (!more)
            break;
    }
    free(start_key);
    ion_session_close(&s);
    out->ok = out->error[0] == '\0';
}

const erp_driver_t ERP_M3 = { "m3", m3_read };
