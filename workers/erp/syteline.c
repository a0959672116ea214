/* syteline: SyteLine / CloudSuite Industrial connector (see syteline.h, docs/infor.md).
 *
 * An IDO load returns at most recordcap rows in orderby order with a Bookmark; the next load
 * sends it back with loadtype=NEXT, until MoreRowsExist is false. Incremental reads filter on
 * the modified member (RecordDate) from the watermark on, converted to the IDO date format.
 * Every row keeps its _ItemId as the record's etag (the optimistic-locking token of IDO
 * updates). Every request names the Mongoose configuration (X-Infor-MongooseConfig). Bodies are
 * streamed through jsonscan: one row in memory at a time. */
#include "syteline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "erp.h"
#include "ion.h"
#include "util.h"

char *syteline_ido_date(const char *iso)
{
    int64_t ms = iso ? parse_iso8601(iso) : -1;
    if (ms < 0)
        return NULL;
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    return xasprintf("%04d%02d%02d %02d:%02d:%02d.%03d", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* Reads exactly n digits at *p into *out and advances *p; false when they are not digits. */
static bool digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if ((*p)[i] < '0' || (*p)[i] > '9')
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

char *syteline_iso_date(const char *ido)
{
    const char *p = ido;
    int y, mo, d, h = 0, mi = 0, s = 0, frac = 0;
    if (!p || !digits(&p, 4, &y) || !digits(&p, 2, &mo) || !digits(&p, 2, &d))
        return NULL;
    if (*p == ' ') {
        p++;
        if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi) || *p++ != ':' ||
            !digits(&p, 2, &s))
            return NULL;
        if (*p == '.') {
            p++;
            int n = 0;
            for (; *p >= '0' && *p <= '9'; p++, n++)
                if (n < 3)
                    frac = frac * 10 + (*p - '0');
            if (n == 0)
                return NULL;
            for (; n < 3; n++)
                frac *= 10;
        }
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
        return NULL;
    return xasprintf("%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, mo, d, h, mi, s, frac);
}

void syteline_row_dates(json_t *row, const json_t *map)
{
    static const char *const date_fields[] = { "doc_date", "due_date", "modified_at" };
    for (size_t i = 0; i < sizeof date_fields / sizeof date_fields[0]; i++) {
        const char *member = json_string_value(json_object_get(map, date_fields[i]));
        const char *value = member ? json_string_value(json_object_get(row, member)) : NULL;
        char *iso = value ? syteline_iso_date(value) : NULL;
        if (iso)
            json_object_set_new(row, member, json_string(iso));
        free(iso);
    }
}

static const char *raw_str(const flow_cfg_t *flow, const char *member)
{
    const char *s = json_string_value(json_object_get(flow->raw, member));
    return s && *s ? s : NULL;
}

char *syteline_filter(const flow_cfg_t *flow, const char *since)
{
    const char *extra = raw_str(flow, "filter");
    char *date = NULL;
    if (since && !(date = syteline_ido_date(since)))
        return NULL;
    char *f;
    if (extra && date)
        f = xasprintf("(%s) AND %s >= '%s'", extra, flow->modified_field, date);
    else if (date)
        f = xasprintf("%s >= '%s'", flow->modified_field, date);
    else
        f = xstrdup(extra ? extra : "");
    free(date);
    return f;
}

char *syteline_page_url(const char *api_base, const flow_cfg_t *flow, const char *since,
                        const char *bookmark, int recordcap)
{
    char *filter = syteline_filter(flow, since);
    if (!filter)
        return NULL;
    const char *given = raw_str(flow, "properties");
    char *members = given ? NULL : erp_members(flow);
    const char *orderby = raw_str(flow, "orderby");
    char *ido = url_encode(raw_str(flow, "ido") ? raw_str(flow, "ido") : flow->entity);
    char *props = url_encode(given ? given : members);
    char *f = url_encode(filter);
    char *order = url_encode(orderby ? orderby : flow->key_field);
    char *mark = bookmark ? url_encode(bookmark) : NULL;
    char *url = xasprintf("%s/CSI/IDORequestService/ido/load/%s?properties=%s%s%s&orderby=%s"
                          "&recordcap=%d%s%s", api_base, ido, props, *filter ? "&filter=" : "",
                          f, order, recordcap, mark ? "&loadtype=NEXT&bookmark=" : "",
                          mark ? mark : "");
    free(filter);
    free(members);
    free(ido);
    free(props);
    free(f);
    free(order);
    free(mark);
    return url;
}

int syteline_next(int more_rows_exist, const char *bookmark, const char *prev_bookmark)
{
    if (!more_rows_exist)
        return 0;
    if (!bookmark || !*bookmark || (prev_bookmark && strcmp(bookmark, prev_bookmark) == 0))
        return -1;
    return 1;
}

char *syteline_config_header(const tenant_cfg_t *t)
{
    const char *config = json_string_value(json_object_get(t->erp, "mongoose_config"));
    return xasprintf("X-Infor-MongooseConfig: %s", config ? config : "");
}

/* ---- reading ---------------------------------------------------------------------------- */

typedef struct {
    const erp_read_t *in;
    record_sink_fn    sink;
    void             *ud;
    long              rows;
    char             *bookmark;
    char             *message;
    int               more_rows;    /* MoreRowsExist */
    int               failed;       /* Success false */
    char              map_err[256];
} sl_page_t;

static void page_reset(void *ud)
{
    sl_page_t *pg = ud;
    free(pg->bookmark);
    free(pg->message);
    pg->bookmark = pg->message = NULL;
    pg->rows = 0;
    pg->more_rows = pg->failed = 0;
    pg->map_err[0] = '\0';
}

static void on_scalar(void *ud, const char *path, const char *raw, size_t len)
{
    sl_page_t *pg = ud;
    json_t *v = json_loadb(raw, len, JSON_DECODE_ANY, NULL);
    if (strcmp(path, "Bookmark") == 0 && json_is_string(v)) {
        free(pg->bookmark);
        pg->bookmark = xstrdup(json_string_value(v));
    } else if (strcmp(path, "Message") == 0 && json_is_string(v)) {
        free(pg->message);
        pg->message = xstrdup(json_string_value(v));
    } else if (strcmp(path, "MoreRowsExist") == 0) {
        pg->more_rows = json_is_true(v);
    } else if (strcmp(path, "Success") == 0) {
        pg->failed = json_is_false(v);
    }
    json_decref(v);
}

static int on_item(void *ud, const char *json, size_t len)
{
    sl_page_t *pg = ud;
    const flow_cfg_t *flow = pg->in->flow;
    json_error_t jerr;
    json_t *row = json_loadb(json, len, 0, &jerr);
    if (!row) {
        snprintf(pg->map_err, sizeof pg->map_err, "item is not JSON: %s", jerr.text);
        return 1;
    }
    syteline_row_dates(row, flow->map);
    record_t rec = { 0 };
    int rc = record_map(row, flow->map, flow->kind, &rec, pg->map_err, sizeof pg->map_err);
    const char *item_id = json_string_value(json_object_get(row, "_ItemId"));
    if (rc == 0 && item_id) {
        free(rec.etag);
        rec.etag = xstrdup(item_id);
    }
    json_decref(row);
    if (rc != 0)
        return 1;
    pg->rows++;
    record_t *heap = xmalloc(sizeof *heap);
    *heap = rec;
    return pg->sink(pg->ud, heap) != 0;
}

/* Reads one load into pg. Returns 0 when it was read whole, -1 with out filled. */
static int read_page(const ion_session_t *s, sl_page_t *pg, const char *prev_bookmark,
                     erp_result_t *out)
{
    const erp_read_t *in = pg->in;
    const erp_scan_t sc = { "Items", on_item, on_scalar, page_reset, pg };
    char *url = syteline_page_url(s->api_base, in->flow, in->since, prev_bookmark,
                                  in->flow->page_size);
    if (!url) {
        snprintf(out->error, sizeof out->error, "%s: watermark \"%.40s\" is not ISO-8601",
                 in->flow->entity, in->since);
        return -1;
    }
    erp_page_t page;
    int rc = erp_fetch_page(in, &s->src, &sc, url, &page, out);
    free(url);
    if (rc != 0)
        return -1;
    if (pg->map_err[0]) {
        snprintf(out->error, sizeof out->error, "%s: %s", in->flow->entity, pg->map_err);
    } else if (page.stopped) {
        snprintf(out->error, sizeof out->error, "stopped by the pipeline");
    } else if (page.status == 200 && pg->failed) {
        /* Success false: the IDO refused the load (bad filter, property); asking again gives
         * the same answer. */
        snprintf(out->error, sizeof out->error, "syteline %s: %s", in->flow->entity,
                 pg->message ? pg->message : "load failed");
    } else if (page.status != 200) {
        erp_fail_status(out, "syteline", &page, pg->message);
    } else if (!page.complete) {
        snprintf(out->error, sizeof out->error, "%s: malformed answer: %s", in->flow->entity,
                 page.scan_error);
        out->retryable = 1;
    }
    return out->error[0] ? -1 : 0;
}

static void syteline_read(const erp_read_t *in, record_sink_fn sink, void *ud, erp_result_t *out)
{
    memset(out, 0, sizeof *out);
    char *header = syteline_config_header(in->tenant);
    ion_session_t s;
    if (ion_session_open(&s, in, "syteline", header, out) != 0) {
        free(header);
        return;
    }
    char *bookmark = NULL;
    for (;;) {
        sl_page_t pg = { .in = in, .sink = sink, .ud = ud };
        int rc = read_page(&s, &pg, bookmark, out);
        out->rows += pg.rows;
        int next = rc == 0 ? syteline_next(pg.more_rows, pg.bookmark, bookmark) : 0;
        if (rc == 0)
            out->pages++;
        if (next < 0)
            snprintf(out->error, sizeof out->error,
                     "syteline %s: MoreRowsExist without a new Bookmark", in->flow->entity);
        free(bookmark);
        bookmark = pg.bookmark;
        pg.bookmark = NULL;
        page_reset(&pg);
        if (next <= 0)
            break;
    }
    free(bookmark);
    ion_session_close(&s);
    free(header);
    out->ok = out->error[0] == '\0';
}

const erp_driver_t ERP_SYTELINE = { "syteline", syteline_read };
