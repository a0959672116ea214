/* ifs_store: see ifs_store.h. A row keeps every member as text (what goes on the wire) plus
 * its number or epoch milliseconds (what $filter and $orderby compare), so serving a page is
 * string copying and filtering never parses. */
#include "ifs_store.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "sim_http.h"

typedef struct {
    char   *text;   /* wire text without quotes; NULL = null */
    double  num;    /* Edm.Decimal */
    int64_t ms;     /* Edm.Date / Edm.DateTimeOffset */
} cell_t;

typedef struct {
    const ifs_set_def_t *def;
    cell_t              *cells;                /* def->schema.nmembers */
    char                 objid[20];
    int64_t              objversion;           /* epoch seconds, shown as yyyymmddhhmmss */
    char                 etag[IFS_ETAG_MAX];   /* W/"base64(objid:objversion)" */
    json_t              *log;                  /* write log array, NULL until the first */
} row_t;

typedef struct {
    row_t  **rows;          /* sorted by key (ordinal) */
    size_t   n, cap;
    json_t  *index;         /* key -> position in rows */
    uint64_t next_serial;   /* for objids */
} set_t;

struct ifs_store {
    pthread_rwlock_t lock;
    set_t            sets[IFS_NSETS];
};

/* ---- cells and rows --------------------------------------------------------------------- */

/* Formats a decimal without trailing fractional zeros ("99.5", "100", "-0.25"). */
static char *decimal_text(double d)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%.6f", d);
    char *dot = strchr(buf, '.');
    if (dot) {
        char *end = buf + strlen(buf) - 1;
        while (end > dot && *end == '0')
            *end-- = '\0';
        if (end == dot)
            *end = '\0';
    }
    if (strcmp(buf, "-0") == 0)
        strcpy(buf, "0");
    return xstrdup(buf);
}

/* True when s is [-+]digits[.digits]. */
static bool is_decimal_text(const char *s)
{
    if (*s == '-' || *s == '+')
        s++;
    size_t int_digits = strspn(s, "0123456789");
    if (int_digits == 0)
        return false;
    s += int_digits;
    if (*s == '.') {
        size_t frac = strspn(s + 1, "0123456789");
        if (frac == 0)
            return false;
        s += 1 + frac;
    }
    return *s == '\0';
}

/* Converts the JSON value v into a cell of type t. Returns 0, or -1 with err naming the
 * member and the expected form. null gives a null cell. */
static int cell_from_json(const char *member, odata_type_t t, const json_t *v, cell_t *out,
                          char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    if (json_is_null(v))
        return 0;
    const char *s = json_string_value(v);
    switch (t) {
    case ODATA_STRING:
        if (!s)
            break;
        out->text = xstrdup(s);
        return 0;
    case ODATA_DECIMAL:
        if (json_is_number(v))
            out->num = json_number_value(v);
        else if (s && is_decimal_text(s))
            out->num = strtod(s, NULL);
        else
            break;
        out->text = decimal_text(out->num);
        return 0;
    case ODATA_DATE:
        if (!s || strlen(s) != 10 || (out->ms = parse_iso8601(s)) < 0)
            break;
        out->text = xstrdup(s);
        return 0;
    case ODATA_DATETIME: {
        size_t n = s ? strlen(s) : 0;
        bool zone = n > 19 && (s[n - 1] == 'Z' || s[n - 3] == ':');
        if (!zone || (out->ms = parse_iso8601(s)) < 0)
            break;
        char buf[32];
        out->text = xstrdup(iso8601_s(out->ms / 1000, buf, sizeof buf));
        out->ms = out->ms / 1000 * 1000;
        return 0;
    }
    default:
        break;
    }
    static const char *const FORMS[] = {
        [ODATA_STRING] = "a JSON string",
        [ODATA_DECIMAL] = "a JSON number or a decimal string such as \"99.5\"",
        [ODATA_DATE] = "a string YYYY-MM-DD",
        [ODATA_DATETIME] = "a string YYYY-MM-DDThh:mm:ssZ",
    };
    snprintf(err, err_len, "%s is %s: expected %s", member, odata_type_name(t),
             t < sizeof FORMS / sizeof FORMS[0] && FORMS[t] ? FORMS[t] : "a supported value");
    return -1;
}

static void cells_free(cell_t *cells, size_t n)
{
    if (!cells)
        return;
    for (size_t i = 0; i < n; i++)
        free(cells[i].text);
    free(cells);
}

static void row_free(row_t *r)
{
    if (!r)
        return;
    cells_free(r->cells, r->def->schema.nmembers);
    json_decref(r->log);
    free(r);
}

/* Recomputes the ETag from objid and objversion. */
static void row_etag(row_t *r)
{
    char stamp[32], raw[64];
    iso8601_s(r->objversion, stamp, sizeof stamp);
    /* "YYYY-MM-DDThh:mm:ssZ" -> "yyyymmddhhmmss" */
    char compact[16];
    snprintf(compact, sizeof compact, "%.4s%.2s%.2s%.2s%.2s%.2s", stamp, stamp + 5, stamp + 8,
             stamp + 11, stamp + 14, stamp + 17);
    snprintf(raw, sizeof raw, "%s:%s", r->objid, compact);
    char *b64 = b64_encode(raw, strlen(raw));
    snprintf(r->etag, sizeof r->etag, "W/\"%s\"", b64);
    free(b64);
}

/* An Oracle-rowid-like objid, unique per set and serial. */
static void make_objid(ifs_set_id_t set, uint64_t serial, char out[20])
{
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    memcpy(out, "AAAV2", 5);
    out[5] = A[(set * 7 + 3) & 63];
    memcpy(out + 6, "AAH", 3);
    for (int i = 0; i < 7; i++)
        out[9 + i] = A[(serial >> (6 * (6 - i))) & 63];
    memcpy(out + 16, "AA", 2);
    out[18] = '\0';
}

/* Builds a row from the members of obj (absent members are null). Returns NULL with err when
 * a member has the wrong form or the key is missing. */
static row_t *row_from_json(const ifs_set_def_t *def, const json_t *obj, char *err,
                            size_t err_len)
{
    row_t *r = xcalloc(1, sizeof *r);
    r->def = def;
    r->cells = xcalloc(def->schema.nmembers, sizeof *r->cells);
    for (size_t m = 0; m < def->schema.nmembers; m++) {
        const odata_member_t *mem = &def->schema.members[m];
        json_t *v = json_object_get(obj, mem->name);
        if (v && cell_from_json(mem->name, mem->type, v, &r->cells[m], err, err_len) < 0) {
            row_free(r);
            return NULL;
        }
    }
    if (!r->cells[0].text || !r->cells[0].text[0]) {
        snprintf(err, err_len, "%s: key missing", def->schema.members[0].name);
        row_free(r);
        return NULL;
    }
    return r;
}

static const char *row_key(const row_t *r) { return r->cells[0].text; }

/* odata_get_fn over row_t. */
static void row_get(const void *row, size_t member, odata_value_t *out)
{
    const row_t *r = row;
    const cell_t *c = &r->cells[member];
    memset(out, 0, sizeof *out);
    if (!c->text)
        return;
    out->type = r->def->schema.members[member].type;
    out->str = c->text;
    out->num = c->num;
    out->ms = c->ms;
}

/* ---- JSON output ------------------------------------------------------------------------ */

/* Appends "Name":value for member m of r. */
static void append_member(buf_t *b, const row_t *r, size_t m, bool ieee754)
{
    const odata_member_t *mem = &r->def->schema.members[m];
    const cell_t *c = &r->cells[m];
    buf_append(b, "\"", 1);
    buf_append(b, mem->name, strlen(mem->name));
    buf_append(b, "\":", 2);
    if (!c->text)
        buf_append(b, "null", 4);
    else if (mem->type == ODATA_DECIMAL && !ieee754)
        buf_append(b, c->text, strlen(c->text));
    else
        sim_append_json_string(b, c->text);
}

static void append_row(buf_t *b, const row_t *r, const size_t *select, size_t nselect,
                       const char *context, bool ieee754)
{
    buf_append(b, "{", 1);
    if (context) {
        buf_append(b, "\"@odata.context\":", 17);
        sim_append_json_string(b, context);
        buf_append(b, ",", 1);
    }
    buf_append(b, "\"@odata.etag\":", 14);
    sim_append_json_string(b, r->etag);
    size_t n = select ? nselect : r->def->schema.nmembers;
    for (size_t i = 0; i < n; i++) {
        buf_append(b, ",", 1);
        append_member(b, r, select ? select[i] : i, ieee754);
    }
    buf_append(b, "}", 1);
}

/* ---- sets ------------------------------------------------------------------------------- */

static void set_reindex(set_t *s, size_t from)
{
    for (size_t i = from; i < s->n; i++)
        json_object_set_new(s->index, row_key(s->rows[i]), json_integer((json_int_t)i));
}

static row_t *set_find(set_t *s, const char *key)
{
    json_t *pos = json_object_get(s->index, key);
    return pos ? s->rows[json_integer_value(pos)] : NULL;
}

static void set_clear(set_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        row_free(s->rows[i]);
    free(s->rows);
    json_decref(s->index);
    memset(s, 0, sizeof *s);
    s->index = json_object();
}

/* Inserts r at its key position and reindexes the rows after it. */
static void set_insert(set_t *s, row_t *r)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(row_key(s->rows[mid]), row_key(r)) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->rows = xrealloc(s->rows, s->cap * sizeof *s->rows);
    }
    memmove(&s->rows[lo + 1], &s->rows[lo], (s->n - lo) * sizeof *s->rows);
    s->rows[lo] = r;
    s->n++;
    set_reindex(s, lo);
}

/* Gives a new row its objid, objversion (now_s, or its ChangedDate when that is set) and ETag. */
static void row_stamp(row_t *r, set_t *s, int64_t now_s)
{
    make_objid(r->def->id, s->next_serial++, r->objid);
    const cell_t *changed = &r->cells[r->def->changed_date];
    r->objversion = changed->text ? changed->ms / 1000 : now_s;
    row_etag(r);
}

ifs_store_t *ifs_store_new(void)
{
    ifs_store_t *st = xcalloc(1, sizeof *st);
    pthread_rwlock_init(&st->lock, NULL);
    for (int i = 0; i < IFS_NSETS; i++)
        st->sets[i].index = json_object();
    return st;
}

void ifs_store_destroy(ifs_store_t **st)
{
    if (!st || !*st)
        return;
    for (int i = 0; i < IFS_NSETS; i++) {
        set_clear(&(*st)->sets[i]);
        json_decref((*st)->sets[i].index);
    }
    pthread_rwlock_destroy(&(*st)->lock);
    free(*st);
    *st = NULL;
}

static int cmp_row_keys(const void *a, const void *b)
{
    return strcmp(row_key(*(row_t *const *)a), row_key(*(row_t *const *)b));
}

void ifs_store_seed(ifs_store_t *st, const ifs_seed_t *seed, int64_t now_s)
{
    pthread_rwlock_wrlock(&st->lock);
    for (int id = 0; id < IFS_NSETS; id++) {
        set_t *s = &st->sets[id];
        const ifs_set_def_t *def = ifs_set_def((ifs_set_id_t)id);
        set_clear(s);
        long n = ifs_seed_count(seed, (ifs_set_id_t)id);
        s->cap = n > 0 ? (size_t)n : 1;
        s->rows = xmalloc(s->cap * sizeof *s->rows);
        for (long i = 0; i < n; i++) {
            json_t *obj = ifs_seed_row(seed, (ifs_set_id_t)id, i, now_s);
            char err[256];
            row_t *r = row_from_json(def, obj, err, sizeof err);
            json_decref(obj);
            if (!r)   /* the generator and the schema disagree: a programming error */
                abort();
            row_stamp(r, s, now_s);
            s->rows[s->n++] = r;
        }
        qsort(s->rows, s->n, sizeof *s->rows, cmp_row_keys);
        set_reindex(s, 0);
    }
    pthread_rwlock_unlock(&st->lock);
}

size_t ifs_store_count(ifs_store_t *st, ifs_set_id_t set)
{
    pthread_rwlock_rdlock(&st->lock);
    size_t n = st->sets[set].n;
    pthread_rwlock_unlock(&st->lock);
    return n;
}

/* ---- reads ------------------------------------------------------------------------------ */

typedef struct {
    const odata_query_t *q;
    row_t *const        *rows;
} order_ctx_t;

static int cmp_positions(const void *a, const void *b, void *ctx_)
{
    const order_ctx_t *ctx = ctx_;
    size_t pa = *(const size_t *)a, pb = *(const size_t *)b;
    int c = odata_compare(ctx->q->orderby, ctx->q->norderby, ctx->rows[pa], ctx->rows[pb],
                          row_get);
    return c ? c : (pa > pb) - (pa < pb);
}

void ifs_store_query(ifs_store_t *st, ifs_set_id_t set, const odata_query_t *q,
                     const ifs_page_opts_t *o, buf_t *out)
{
    pthread_rwlock_rdlock(&st->lock);
    const set_t *s = &st->sets[set];
    size_t *hits = xmalloc((s->n ? s->n : 1) * sizeof *hits), nhits = 0;
    for (size_t i = 0; i < s->n; i++)
        if (!q->filter || odata_filter_match(q->filter, s->rows[i], row_get))
            hits[nhits++] = i;
    if (q->norderby) {
        order_ctx_t ctx = {q, s->rows};
        qsort_r(hits, nhits, sizeof *hits, cmp_positions, &ctx);
    }
    /* skiptoken = rows already delivered by earlier pages of this query (after $skip). */
    size_t start = (size_t)q->skip + (size_t)q->skiptoken;
    size_t avail = start < nhits ? nhits - start : 0;
    if (q->top >= 0) {
        size_t left = q->top > q->skiptoken ? (size_t)(q->top - q->skiptoken) : 0;
        if (avail > left)
            avail = left;
    }
    size_t page = avail < (size_t)o->page_size ? avail : (size_t)o->page_size;

    buf_append(out, "{\"@odata.context\":", 18);
    sim_append_json_string(out, o->context);
    if (q->count)
        buf_appendf(out, ",\"@odata.count\":%zu", nhits);
    buf_append(out, ",\"value\":[", 10);
    for (size_t i = 0; i < page; i++) {
        if (i)
            buf_append(out, ",", 1);
        append_row(out, s->rows[hits[start + i]], q->select, q->nselect, NULL, o->ieee754);
    }
    buf_append(out, "]", 1);
    if (avail > page) {
        char token[32];
        odata_skiptoken_encode(q->skiptoken + (long)page, token, sizeof token);
        char *link = xasprintf("%s$skiptoken=%s", o->next_base, token);
        buf_append(out, ",\"@odata.nextLink\":", 19);
        sim_append_json_string(out, link);
        free(link);
    }
    buf_append(out, "}", 1);
    pthread_rwlock_unlock(&st->lock);
    free(hits);
}

int ifs_store_get(ifs_store_t *st, ifs_set_id_t set, const char *key, const size_t *select,
                  size_t nselect, const char *context, bool ieee754, buf_t *out,
                  char etag[IFS_ETAG_MAX])
{
    pthread_rwlock_rdlock(&st->lock);
    const row_t *r = set_find(&st->sets[set], key);
    if (r) {
        append_row(out, r, select, nselect, context, ieee754);
        memcpy(etag, r->etag, IFS_ETAG_MAX);
    }
    pthread_rwlock_unlock(&st->lock);
    return r ? 0 : -1;
}

int ifs_store_inspect(ifs_store_t *st, ifs_set_id_t set, const char *key, buf_t *out)
{
    pthread_rwlock_rdlock(&st->lock);
    const row_t *r = set_find(&st->sets[set], key);
    if (r) {
        buf_append(out, "{\"entity\":", 10);
        append_row(out, r, NULL, 0, NULL, false);
        char *log =
            r->log ? json_dumps(r->log, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
        buf_appendf(out, ",\"write_log\":%s}", log ? log : "[]");
        free(log);
    }
    pthread_rwlock_unlock(&st->lock);
    return r ? 0 : -1;
}

/* ---- writes ----------------------------------------------------------------------------- */

static void fail(ifs_write_result_t *res, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail(ifs_write_result_t *res, int status, const char *code, const char *fmt, ...)
{
    res->status = status;
    res->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->message, sizeof res->message, fmt, ap);
    va_end(ap);
}

/* Checks If-Match against the row (API writes only); false with res filled when it fails. */
static bool precondition_ok(const row_t *r, const ifs_write_t *w, ifs_write_result_t *res)
{
    if (w->kind == IFS_WRITE_SIM)
        return true;
    if (!w->if_match || !*w->if_match) {
        fail(res, 428, "ODP_MISSING_PRECONDITION",
             "If-Match header required: send the entity's @odata.etag");
        return false;
    }
    if (strcmp(w->if_match, "*") == 0) {
        fail(res, 428, "ODP_MISSING_PRECONDITION",
             "If-Match: * is refused by this simulator on purpose (real IFS accepts it and skips "
             "optimistic locking); send the entity's @odata.etag");
        return false;
    }
    if (strcmp(w->if_match, r->etag) != 0) {
        fail(res, 412, "ODP_PRECONDITION_FAILED",
             "The entity was modified since it was read: If-Match %s does not match the current "
             "ETag; read it again", w->if_match);
        return false;
    }
    return true;
}

/* Lists the writable members of def into b, comma-separated. */
static void writable_list(const ifs_set_def_t *def, char *out, size_t len)
{
    buf_t b;
    buf_init(&b);
    for (size_t m = 0; m < def->schema.nmembers; m++)
        if (def->writable[m])
            buf_appendf(&b, "%s%s", b.len ? ", " : "", def->schema.members[m].name);
    snprintf(out, len, "%s", b.len ? b.data : "none");
    buf_free(&b);
}

/* Validates the changes of w into staged (one cell per member, `touched` marks the ones to
 * apply). Returns false with a 400 in res on the first bad member. */
static bool stage_changes(const ifs_set_def_t *def, const ifs_write_t *w, cell_t *staged,
                          bool *touched, ifs_write_result_t *res)
{
    if (w->kind == IFS_WRITE_ACTION) {
        const char *state = def->state >= 0 ? ifs_action_state(def, w->action) : NULL;
        if (!state) {
            fail(res, 400, "ODP_BAD_REQUEST", "%s has no bound action %s", def->set,
                 w->action ? w->action : "(none)");
            return false;
        }
        staged[def->state].text = xstrdup(state);
        touched[def->state] = true;
        return true;
    }
    if (!json_is_object(w->changes)) {
        fail(res, 400, "ODP_DESERIALIZATION_ERROR", "the body must be a JSON object of members");
        return false;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)w->changes, k, v) {
        if (k[0] == '@')
            continue;
        int m = odata_member_index(&def->schema, k);
        char err[256];
        if (m < 0) {
            fail(res, 400, "ODP_BAD_REQUEST", "%s has no member %s", def->set, k);
            return false;
        }
        if (m == 0 || (w->kind == IFS_WRITE_PATCH && !def->writable[m])) {
            writable_list(def, err, sizeof err);
            fail(res, 400, "ODP_BAD_REQUEST", "%s is read-only in %s (writable: %s)", k,
                 def->set, err);
            return false;
        }
        cell_t c;
        if (cell_from_json(k, def->schema.members[m].type, v, &c, err, sizeof err) < 0) {
            fail(res, 400, "ODP_BAD_REQUEST", "%s", err);
            return false;
        }
        free(staged[m].text);
        staged[m] = c;
        touched[m] = true;
    }
    return true;
}

static void log_write(row_t *r, const ifs_write_t *w, const char *etag_before,
                      const ifs_write_result_t *res, int64_t now_s, bool created)
{
    static const char *const KINDS[] = {"PATCH", "ACTION", "SIM"};
    char at[32];
    json_t *e = json_pack("{s:s,s:s,s:i}", "at", iso8601_s(now_s, at, sizeof at), "kind",
                          KINDS[w->kind], "status", res->status);
    if (w->client_id)
        json_object_set_new(e, "client_id", json_string(w->client_id));
    if (w->kind != IFS_WRITE_SIM)
        json_object_set_new(e, "if_match", w->if_match ? json_string(w->if_match) : json_null());
    if (w->kind == IFS_WRITE_ACTION)
        json_object_set_new(e, "action", json_string(w->action ? w->action : ""));
    else if (w->changes)
        json_object_set_new(e, "changes", json_deep_copy(w->changes));
    if (created)
        json_object_set_new(e, "created", json_true());
    if (res->code)
        json_object_set_new(e, "code", json_string(res->code));
    json_object_set_new(e, "etag_before", created ? json_null() : json_string(etag_before));
    json_object_set_new(e, "etag_after", json_string(r->etag));
    if (!r->log)
        r->log = json_array();
    json_array_append_new(r->log, e);
}

void ifs_store_write(ifs_store_t *st, ifs_set_id_t set, const char *key, const ifs_write_t *w,
                     int64_t now_s, const char *context, bool ieee754, buf_t *out,
                     ifs_write_result_t *res)
{
    memset(res, 0, sizeof *res);
    res->status = 200;
    const ifs_set_def_t *def = ifs_set_def(set);
    size_t nm = def->schema.nmembers;
    cell_t *staged = xcalloc(nm, sizeof *staged);
    bool *touched = xcalloc(nm, sizeof *touched);
    char etag_before[IFS_ETAG_MAX] = "";

    pthread_rwlock_wrlock(&st->lock);
    set_t *s = &st->sets[set];
    row_t *r = set_find(s, key);
    bool create = !r && w->kind == IFS_WRITE_SIM && w->create;
    if (!r && !create) {
        fail(res, 404, "ODP_RESOURCE_NOTFOUND", "%s(%s='%s') does not exist", def->set,
             def->schema.members[0].name, key);
        goto done;
    }
    if (r) {
        memcpy(etag_before, r->etag, sizeof etag_before);
        if (!precondition_ok(r, w, res))
            goto log;
    }
    if (!stage_changes(def, w, staged, touched, res)) {
        if (r)
            goto log;
        goto done;
    }
    if (create) {
        json_t *obj = json_deep_copy(w->create);
        json_object_set_new(obj, def->schema.members[0].name, json_string(key));
        char err[256];
        r = row_from_json(def, obj, err, sizeof err);
        json_decref(obj);
        if (!r) {
            fail(res, 400, "ODP_BAD_REQUEST", "create: %s", err);
            goto done;
        }
        row_stamp(r, s, now_s);
        set_insert(s, r);
    }
    for (size_t m = 0; m < nm; m++) {
        if (!touched[m])
            continue;
        free(r->cells[m].text);
        r->cells[m] = staged[m];
        staged[m].text = NULL;
    }
    if (!touched[def->changed_date] || w->kind != IFS_WRITE_SIM) {
        cell_t *c = &r->cells[def->changed_date];
        char buf[32];
        free(c->text);
        c->text = xstrdup(iso8601_s(now_s, buf, sizeof buf));
        c->ms = now_s * 1000;
    }
    r->objversion = r->objversion + 1 > now_s ? r->objversion + 1 : now_s;
    row_etag(r);
    if (out)
        append_row(out, r, NULL, 0, context, ieee754);
log:
    log_write(r, w, etag_before, res, now_s, create);
    memcpy(res->etag, r->etag, sizeof res->etag);
done:
    pthread_rwlock_unlock(&st->lock);
    cells_free(staged, nm);
    free(touched);
}
