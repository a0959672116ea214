/* ion_ido: see ion_ido.h. */
#include "ion_ido.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim_http.h"

#define DEFAULT_RECORDCAP 200

/* ---- filter ------------------------------------------------------------------------------ */

typedef enum { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE } op_t;

typedef struct {
    size_t field;
    op_t   op;
    char  *literal;   /* normalized to the field's kind */
} cond_t;

struct ion_filter {
    cond_t *conds;
    size_t  n;
};

void ion_filter_free(ion_filter_t **f)
{
    if (!f || !*f)
        return;
    for (size_t i = 0; i < (*f)->n; i++)
        free((*f)->conds[i].literal);
    free((*f)->conds);
    free(*f);
    *f = NULL;
}

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

/* Parses a date literal into "yyyyMMdd HH:mm:ss.fff"; -1 when it is not one. */
static int normalize_date(const char *s, char out[24])
{
    char y[5], mo[3], d[3];
    const char *rest;
    if (strlen(s) >= 10 && s[4] == '-' && s[7] == '-') {
        snprintf(y, sizeof y, "%.4s", s);
        snprintf(mo, sizeof mo, "%.2s", s + 5);
        snprintf(d, sizeof d, "%.2s", s + 8);
        rest = s + 10;
    } else if (strlen(s) >= 8) {
        snprintf(y, sizeof y, "%.4s", s);
        snprintf(mo, sizeof mo, "%.2s", s + 4);
        snprintf(d, sizeof d, "%.2s", s + 6);
        rest = s + 8;
    } else {
        return -1;
    }
    char date[16];
    snprintf(date, sizeof date, "%s%s%s", y, mo, d);
    if (strspn(date, "0123456789") != 8)
        return -1;
    int h = 0, mi = 0, se = 0, ms = 0;
    if (*rest) {
        char frac[4] = "";
        int used = 0;
        if ((*rest != ' ' && *rest != 'T') ||
            sscanf(rest + 1, "%2d:%2d:%2d%n", &h, &mi, &se, &used) != 3)
            return -1;
        rest += 1 + used;
        if (*rest == '.') {
            size_t k = strspn(rest + 1, "0123456789");
            if (k == 0 || k > 3)
                return -1;
            snprintf(frac, sizeof frac, "%.*s", (int)k, rest + 1);
            while (strlen(frac) < 3)
                strcat(frac, "0");
            ms = atoi(frac);
            rest += 1 + k;
        }
        if (*rest || h > 23 || mi > 59 || se > 59)
            return -1;
    }
    char full[64];
    snprintf(full, sizeof full, "%s %02d:%02d:%02d.%03d", date, h, mi, se, ms);
    snprintf(out, 24, "%.23s", full);
    return ion_parse_time(out) < 0 ? -1 : 0;
}

static bool is_number(const char *s)
{
    if (*s == '-')
        s++;
    size_t k = strspn(s, "0123456789");
    if (k == 0)
        return false;
    s += k;
    if (*s == '.') {
        k = strspn(s + 1, "0123456789");
        if (k == 0)
            return false;
        s += 1 + k;
    }
    return *s == '\0';
}

/* Reads a literal at p: 'text' (with '' escapes, optional N prefix) or a number. Returns the
 * position after it and the malloc'd text in *out, or NULL. */
static const char *read_literal(const char *p, char **out)
{
    if ((*p == 'N' || *p == 'n') && p[1] == '\'')
        p++;
    if (*p == '\'') {
        buf_t b;
        buf_init(&b);
        buf_append(&b, "", 0);
        for (p++;; p++) {
            if (*p == '\0') {
                buf_free(&b);
                return NULL;
            }
            if (*p == '\'' && p[1] == '\'') {
                buf_append(&b, "'", 1);
                p++;
            } else if (*p == '\'') {
                *out = buf_steal(&b);
                return p + 1;
            } else {
                buf_append(&b, p, 1);
            }
        }
    }
    const char *start = p;
    if (*p == '-')
        p++;
    while (isdigit((unsigned char)*p) || *p == '.')
        p++;
    if (p == start)
        return NULL;
    *out = xasprintf("%.*s", (int)(p - start), start);
    return is_number(*out) ? p : (free(*out), *out = NULL, NULL);
}

static const char *read_op(const char *p, op_t *op)
{
    static const struct { const char *text; op_t op; } OPS[] = {
        {"<>", OP_NE}, {"!=", OP_NE}, {"<=", OP_LE}, {">=", OP_GE},
        {"=", OP_EQ}, {"<", OP_LT}, {">", OP_GT},
    };
    for (size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++) {
        size_t n = strlen(OPS[i].text);
        if (strncmp(p, OPS[i].text, n) == 0) {
            *op = OPS[i].op;
            return p + n;
        }
    }
    return NULL;
}

static ion_filter_t *filter_fail(ion_filter_t *f, char *err, size_t err_len, const char *fmt,
                                 ...) __attribute__((format(printf, 4, 5)));
static ion_filter_t *filter_fail(ion_filter_t *f, char *err, size_t err_len, const char *fmt,
                                 ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
    ion_filter_free(&f);
    return NULL;
}

ion_filter_t *ion_filter_parse(const char *text, const ion_table_t *t, char *err,
                               size_t err_len)
{
    ion_filter_t *f = xcalloc(1, sizeof *f);
    const char *p = skip_ws(text ? text : "");
    if (!*p)
        return f;
    for (;;) {
        const char *start = p;
        while (isalnum((unsigned char)*p) || *p == '_')
            p++;
        if (p == start || isdigit((unsigned char)*start))
            return filter_fail(f, err, err_len, "Incorrect syntax near '%.20s'.", start);
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(p - start), start);
        long field = ion_field_index(t, name);
        if (field < 0)
            return filter_fail(f, err, err_len, "Invalid column name '%s'.", name);
        op_t op;
        const char *q = read_op(skip_ws(p), &op);
        if (!q)
            return filter_fail(f, err, err_len, "Incorrect syntax near '%.20s' (the simulator "
                               "serves <Property> =|<>|!=|<|<=|>|>= <literal> [AND ...]).",
                               skip_ws(p));
        char *lit = NULL;
        const char *after = read_literal(skip_ws(q), &lit);
        if (!after)
            return filter_fail(f, err, err_len, "Incorrect syntax near '%.20s'.", skip_ws(q));
        const ion_field_t *fd = &t->fields[field];
        if ((fd->kind == ION_INT || fd->kind == ION_DEC) && !is_number(lit)) {
            filter_fail(f, err, err_len, "Conversion failed when converting the varchar value "
                        "'%s' to a number (%s).", lit, name);
            free(lit);
            return NULL;
        }
        if (fd->kind == ION_DATE || fd->kind == ION_STAMP) {
            char norm[24];
            if (normalize_date(lit, norm) < 0) {
                filter_fail(f, err, err_len, "Conversion failed when converting date and/or "
                            "time from character string '%s' (%s).", lit, name);
                free(lit);
                return NULL;
            }
            free(lit);
            lit = xstrdup(norm);
        }
        f->conds = xrealloc(f->conds, (f->n + 1) * sizeof *f->conds);
        f->conds[f->n++] = (cond_t){(size_t)field, op, lit};
        p = skip_ws(after);
        if (!*p)
            return f;
        if (strncasecmp(p, "AND", 3) != 0 || isalnum((unsigned char)p[3]) || p[3] == '_')
            return filter_fail(f, err, err_len, "Incorrect syntax near '%.20s' (the simulator "
                               "joins conditions with AND only).", p);
        p = skip_ws(p + 3);
    }
}

/* Orders a stored value against a literal or another value of f; empty (NULL) sorts first. */
static int value_compare(const ion_field_t *f, const char *a, const char *b)
{
    if (!*a || !*b)
        return (*a != '\0') - (*b != '\0');
    if (f->kind == ION_INT || f->kind == ION_DEC) {
        double x = strtod(a, NULL), y = strtod(b, NULL);
        return x < y ? -1 : x > y;
    }
    return strcmp(a, b);
}

bool ion_filter_match(const ion_filter_t *f, const ion_table_t *t, char *const *vals)
{
    for (size_t i = 0; i < f->n; i++) {
        const cond_t *c = &f->conds[i];
        const char *v = vals[c->field];
        if (!*v)
            return false;   /* NULL compares to nothing */
        int r = value_compare(&t->fields[c->field], v, c->literal);
        bool ok = c->op == OP_EQ ? r == 0 : c->op == OP_NE ? r != 0 : c->op == OP_LT ? r < 0
                  : c->op == OP_LE ? r <= 0 : c->op == OP_GT ? r > 0 : r >= 0;
        if (!ok)
            return false;
    }
    return true;
}

/* ---- orderby ----------------------------------------------------------------------------- */

int ion_orderby_parse(const char *text, const ion_table_t *t, size_t *field, bool *desc,
                      char *err, size_t err_len)
{
    *field = t->key;
    *desc = false;
    const char *p = skip_ws(text ? text : "");
    if (!*p)
        return 0;
    const char *start = p;
    while (isalnum((unsigned char)*p) || *p == '_')
        p++;
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)(p - start), start);
    long f = ion_field_index(t, name);
    if (p == start || f < 0) {
        snprintf(err, err_len, "orderby: Invalid column name '%s'.", name);
        return -1;
    }
    p = skip_ws(p);
    if (strncasecmp(p, "DESC", 4) == 0 && !isalnum((unsigned char)p[4])) {
        *desc = true;
        p += 4;
    } else if (strncasecmp(p, "ASC", 3) == 0 && !isalnum((unsigned char)p[3])) {
        p += 3;
    }
    p = skip_ws(p);
    if (*p) {
        snprintf(err, err_len, "orderby: the simulator sorts by one property [ASC|DESC], got "
                 "'%s'", text);
        return -1;
    }
    *field = (size_t)f;
    return 0;
}

/* ---- bookmarks --------------------------------------------------------------------------- */

static void xml_escape(buf_t *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '&')
            buf_append(b, "&amp;", 5);
        else if (*s == '<')
            buf_append(b, "&lt;", 4);
        else if (*s == '>')
            buf_append(b, "&gt;", 4);
        else
            buf_append(b, s, 1);
    }
}

/* Unescapes s[0..len) (&amp; &lt; &gt;); NULL for any other '&' or a raw '<' / '>'. */
static char *xml_unescape(const char *s, size_t len)
{
    buf_t b;
    buf_init(&b);
    buf_append(&b, "", 0);
    for (size_t i = 0; i < len; i++) {
        static const struct { const char *ent; char c; } ENTS[] = {
            {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'},
        };
        if (s[i] == '<' || s[i] == '>') {
            buf_free(&b);
            return NULL;
        }
        if (s[i] != '&') {
            buf_append(&b, s + i, 1);
            continue;
        }
        size_t k = 0;
        while (k < 3 && strncmp(s + i, ENTS[k].ent, strlen(ENTS[k].ent)) != 0)
            k++;
        if (k == 3 || i + strlen(ENTS[k].ent) > len) {
            buf_free(&b);
            return NULL;
        }
        buf_append(&b, &ENTS[k].c, 1);
        i += strlen(ENTS[k].ent) - 1;
    }
    return buf_steal(&b);
}

char *ion_bookmark_encode(const char *property, bool desc, const char *value, const char *key)
{
    buf_t b;
    buf_init(&b);
    buf_appendf(&b, "<B><P><p>");
    xml_escape(&b, property);
    buf_appendf(&b, "</p></P><D><f>%s</f></D><L><v>", desc ? "true" : "false");
    xml_escape(&b, value);
    buf_appendf(&b, "</v><k>");
    xml_escape(&b, key);
    buf_appendf(&b, "</k></L></B>");
    return buf_steal(&b);
}

void ion_bookmark_free(ion_bookmark_t *b)
{
    free(b->property);
    free(b->value);
    free(b->key);
    memset(b, 0, sizeof *b);
}

/* Reads the text at *p up to the literal `until`, unescaped; advances *p past `until`. */
static char *take_until(const char **p, const char *until)
{
    const char *end = strstr(*p, until);
    if (!end)
        return NULL;
    char *v = xml_unescape(*p, (size_t)(end - *p));
    *p = end + strlen(until);
    return v;
}

int ion_bookmark_decode(const char *text, ion_bookmark_t *b)
{
    memset(b, 0, sizeof *b);
    const char *p = text;
    if (!str_starts(p, "<B><P><p>"))
        return -1;
    p += 9;
    static const char DESC[] = "true</f></D><L><v>", ASC[] = "false</f></D><L><v>";
    b->property = take_until(&p, "</p></P><D><f>");
    bool desc = str_starts(p, DESC);
    if (!b->property || (!desc && !str_starts(p, ASC)))
        goto bad;
    b->desc = desc;
    p += desc ? sizeof DESC - 1 : sizeof ASC - 1;
    b->value = take_until(&p, "</v><k>");
    b->key = b->value ? take_until(&p, "</k></L></B>") : NULL;
    if (b->key && *p == '\0')
        return 0;
bad:
    ion_bookmark_free(b);
    return -1;
}

/* ---- ItemIds ----------------------------------------------------------------------------- */

char *ion_item_id(const ion_table_t *t, char *const *vals, char *out, size_t len)
{
    const char *rp = vals[ion_field_index(t, "RowPointer")];
    const char *rd = vals[t->modified];   /* "yyyyMMdd HH:mm:ss.fff" */
    snprintf(out, len, "PBT=[%s] %s.ID=[%s] %s.DT=[%.4s-%.2s-%.2s %s]", t->base, t->base, rp,
             t->base, rd, rd + 4, rd + 6, strlen(rd) > 9 ? rd + 9 : "");
    return out;
}

int ion_item_id_parse(const ion_table_t *t, const char *item_id, char *row_pointer,
                      size_t rp_len, char *dt, size_t dt_len)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "PBT=[%s] %s.ID=[", t->base, t->base);
    if (!str_starts(item_id, prefix))
        return -1;
    const char *p = item_id + strlen(prefix);
    const char *end = strchr(p, ']');
    char mid[64];
    snprintf(mid, sizeof mid, "] %s.DT=[", t->base);
    if (!end || !str_starts(end, mid) || (size_t)(end - p) >= rp_len)
        return -1;
    snprintf(row_pointer, rp_len, "%.*s", (int)(end - p), p);
    p = end + strlen(mid);
    end = strchr(p, ']');
    if (!end || end[1] != '\0' || (size_t)(end - p) >= dt_len)
        return -1;
    snprintf(dt, dt_len, "%.*s", (int)(end - p), p);
    return 0;
}

/* ---- load -------------------------------------------------------------------------------- */

/* Appends the error body of a failed load or update. */
static void failure_body(buf_t *out, bool load, const char *message)
{
    buf_appendf(out, "{%s\"Success\":false,\"Message\":",
                load ? "\"Items\":null,\"Bookmark\":null,\"MoreRowsExist\":false," :
                       "\"RefreshItems\":null,");
    sim_append_json_string(out, message);
    buf_append(out, "}", 1);
}

/* Resolves the properties parameter into field indexes (all fields for NULL, "" or "*"). */
static int parse_properties(const char *text, const ion_table_t *t, size_t *cols, size_t *n,
                            char *err, size_t err_len)
{
    *n = 0;
    const char *p = skip_ws(text ? text : "");
    if (!*p || strcmp(p, "*") == 0) {
        for (size_t f = 0; f < t->nfields; f++)
            cols[(*n)++] = f;
        return 0;
    }
    while (*p) {
        size_t len = strcspn(p, ",");
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(len < sizeof name ? len : sizeof name - 1), p);
        char *trimmed = str_trim_dup(name);
        long f = ion_field_index(t, trimmed);
        if (f < 0 || *n >= 64) {
            if (f < 0)
                snprintf(err, err_len, "Property '%s' not found in IDO %s", trimmed, t->ido);
            else
                snprintf(err, err_len, "properties: at most 64 names");
            free(trimmed);
            return -1;
        }
        free(trimmed);
        cols[(*n)++] = (size_t)f;
        p += len + (p[len] == ',');
    }
    return 0;
}

typedef struct {
    const ion_table_t *t;
    size_t             field;
    bool               desc;
} order_t;

/* Orders (value, key) pairs in the load's order. */
static int order_compare(const order_t *o, const char *va, const char *ka, const char *vb,
                         const char *kb)
{
    int c = value_compare(&o->t->fields[o->field], va, vb);
    if (c == 0)
        c = value_compare(&o->t->fields[o->t->key], ka, kb);
    return o->desc ? -c : c;
}

static int row_order(const void *a, const void *b, void *ctx)
{
    const order_t *o = ctx;
    char *const *x = (*(ion_row_t *const *)a)->vals, *const *y = (*(ion_row_t *const *)b)->vals;
    return order_compare(o, x[o->field], x[o->t->key], y[o->field], y[o->t->key]);
}

/* Appends one item: the properties in cols (empty = null) and _ItemId. */
static void append_item(buf_t *out, const ion_table_t *t, const ion_row_t *r,
                        const size_t *cols, size_t ncols)
{
    buf_append(out, "{", 1);
    for (size_t i = 0; i < ncols; i++) {
        const char *v = r->vals[cols[i]];
        buf_appendf(out, "\"%s\":", t->fields[cols[i]].name);
        if (*v)
            sim_append_json_string(out, v);
        else
            buf_append(out, "null", 4);
        buf_append(out, ",", 1);
    }
    char item_id[192];
    buf_appendf(out, "\"_ItemId\":");
    sim_append_json_string(out, ion_item_id(t, r->vals, item_id, sizeof item_id));
    buf_append(out, "}", 1);
}

/* Parses recordcap: -1/absent = DEFAULT_RECORDCAP, 0 = unlimited (SIZE_MAX). -1 on error. */
static int parse_recordcap(const char *text, size_t *cap)
{
    if (!text || !*text) {
        *cap = DEFAULT_RECORDCAP;
        return 0;
    }
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || *end || v < -1)
        return -1;
    *cap = v == -1 ? DEFAULT_RECORDCAP : v == 0 ? SIZE_MAX : (size_t)v;
    return 0;
}

long ion_ido_load(ion_store_t *st, const ion_table_t *t, const ion_ido_load_t *q, buf_t *out)
{
    char err[512];
    size_t cols[64], ncols, cap;
    order_t order = {t, 0, false};
    ion_filter_t *filter = NULL;
    ion_bookmark_t bm = {0};
    bool next = q->loadtype && strcasecmp(q->loadtype, "NEXT") == 0;
    if (parse_properties(q->properties, t, cols, &ncols, err, sizeof err) < 0 ||
        !(filter = ion_filter_parse(q->filter, t, err, sizeof err)) ||
        ion_orderby_parse(q->orderby, t, &order.field, &order.desc, err, sizeof err) < 0)
        goto fail;
    if (parse_recordcap(q->recordcap, &cap) < 0) {
        snprintf(err, sizeof err, "recordcap must be -1 (200 rows), 0 (all) or a positive "
                 "number of rows, got '%s'", q->recordcap);
        goto fail;
    }
    if (q->loadtype && !next && strcasecmp(q->loadtype, "FIRST") != 0) {
        snprintf(err, sizeof err, "loadtype %s is not served by the simulator (FIRST, NEXT)",
                 q->loadtype);
        goto fail;
    }
    if (next && (!q->bookmark || ion_bookmark_decode(q->bookmark, &bm) < 0)) {
        snprintf(err, sizeof err, "loadtype NEXT needs the Bookmark of the previous page%s",
                 q->bookmark ? " (this one is not a bookmark of the simulator)" : "");
        goto fail;
    }
    if (next && (strcmp(bm.property, t->fields[order.field].name) != 0 || bm.desc != order.desc)) {
        snprintf(err, sizeof err, "the Bookmark was made for orderby %s%s, not for this orderby",
                 bm.property, bm.desc ? " DESC" : "");
        goto fail;
    }
    ion_store_rdlock(st);
    size_t n, m = 0;
    ion_row_t *const *rows = ion_store_rows(st, t->id, &n);
    ion_row_t **sel = xmalloc((n ? n : 1) * sizeof *sel);
    for (size_t i = 0; i < n; i++)
        if (ion_filter_match(filter, t, rows[i]->vals))
            sel[m++] = rows[i];
    if (order.field != t->key || order.desc)
        qsort_r(sel, m, sizeof *sel, row_order, &order);
    size_t start = 0;
    while (next && start < m &&
           order_compare(&order, sel[start]->vals[order.field], sel[start]->vals[t->key],
                         bm.value, bm.key) <= 0)
        start++;
    size_t count = m - start < cap ? m - start : cap;
    buf_appendf(out, "{\"Items\":[");
    for (size_t i = start; i < start + count; i++) {
        if (i > start)
            buf_append(out, ",", 1);
        append_item(out, t, sel[i], cols, ncols);
    }
    buf_appendf(out, "],\"Bookmark\":");
    if (count > 0) {
        const ion_row_t *last = sel[start + count - 1];
        char *b = ion_bookmark_encode(t->fields[order.field].name, order.desc,
                                      last->vals[order.field], last->vals[t->key]);
        sim_append_json_string(out, b);
        free(b);
    } else if (next) {
        sim_append_json_string(out, q->bookmark);
    } else {
        buf_append(out, "null", 4);
    }
    buf_appendf(out, ",\"MoreRowsExist\":%s,\"Success\":true,\"Message\":null}",
                start + count < m ? "true" : "false");
    ion_store_unlock(st);
    free(sel);
    ion_filter_free(&filter);
    ion_bookmark_free(&bm);
    return (long)count;
fail:
    failure_body(out, true, err);
    ion_filter_free(&filter);
    ion_bookmark_free(&bm);
    return -1;
}

/* ---- update ------------------------------------------------------------------------------ */

/* One change of the request, validated. */
typedef struct {
    ion_row_t    *row;
    ion_change_t *changes;
    size_t        n;
} staged_t;

/* Reads the Properties of change c into s->changes (Modified ones only; IsNull true = empty).
 * Returns 0, or -1 with err. Strings point into the JSON. */
static int read_properties(const json_t *c, staged_t *s, char *err, size_t err_len)
{
    json_t *props = json_object_get(c, "Properties");
    if (!json_is_array(props)) {
        snprintf(err, err_len, "Properties must be an array of {Name, Value, Modified, "
                 "IsNull}");
        return -1;
    }
    s->changes = xcalloc(json_array_size(props) + 1, sizeof *s->changes);
    size_t i;
    json_t *p;
    json_array_foreach(props, i, p) {
        const char *name = json_string_value(json_object_get(p, "Name"));
        json_t *value = json_object_get(p, "Value");
        json_t *modified = json_object_get(p, "Modified");
        if (!name || (value && !json_is_string(value) && !json_is_null(value)) ||
            (modified && !json_is_boolean(modified))) {
            snprintf(err, err_len, "Properties[%zu]: expected {\"Name\":string,\"Value\":string"
                     "|null,\"Modified\":bool,\"IsNull\":bool}", i);
            return -1;
        }
        if (modified && json_is_false(modified))
            continue;
        bool is_null = json_is_true(json_object_get(p, "IsNull")) || !json_is_string(value);
        s->changes[s->n++] = (ion_change_t){name, is_null ? "" : json_string_value(value)};
    }
    return 0;
}

/* Validates change c against the store (write lock held) into s. 0, or -1 with err; sets
 * *stale when the ItemId is outdated. */
static int stage_change(ion_store_t *st, const ion_table_t *t, const json_t *c, staged_t *s,
                        const char *who, int64_t now_ms, bool *stale, char *err, size_t err_len)
{
    json_t *action = json_object_get(c, "Action");
    json_t *locking = json_object_get(c, "UpdateLocking");
    const char *item_id = json_string_value(json_object_get(c, "ItemId"));
    char rp[64], dt[40];
    if (!json_is_integer(action) || json_integer_value(action) != 2) {
        snprintf(err, err_len, "Action %s is not served by the simulator (2 = update only)",
                 json_is_integer(action) ? (json_integer_value(action) == 1 ? "1 (insert)" :
                 json_integer_value(action) == 4 ? "4 (delete)" : "other than 2") : "missing");
        return -1;
    }
    if (locking && (!json_is_integer(locking) || json_integer_value(locking) != 1)) {
        snprintf(err, err_len, "UpdateLocking must be 1 (row locking by ItemId)");
        return -1;
    }
    if (!item_id || ion_item_id_parse(t, item_id, rp, sizeof rp, dt, sizeof dt) < 0) {
        snprintf(err, err_len, "ItemId %s is not an ItemId of IDO %s (PBT=[%s] ...)",
                 item_id ? item_id : "(missing)", t->ido, t->base);
        return -1;
    }
    if (read_properties(c, s, err, err_len) < 0)
        return -1;
    s->row = ion_store_find_by(st, t->id, (size_t)ion_field_index(t, "RowPointer"), rp);
    if (!s->row) {
        snprintf(err, err_len, "The row of ItemId %s does not exist (deleted?)", item_id);
        return -1;
    }
    char current[192];
    if (strcmp(ion_item_id(t, s->row->vals, current, sizeof current), item_id) != 0) {
        snprintf(err, err_len, "%s %s has been modified by another user since it was read "
                 "(stale ItemId); reload it and try again", t->ido, s->row->vals[t->key]);
        ion_store_log_refusal(s->row, "ido/update", who, "stale ItemId", now_ms);
        *stale = true;
        return -1;
    }
    ion_write_t w = {"ido/update", who, s->changes, s->n, false};
    if (ion_store_check(t->id, &w, err, err_len) < 0) {
        if (str_starts(err, "Property ") && strstr(err, " not found"))
            snprintf(err + strlen(err), err_len - strlen(err), " in IDO %s", t->ido);
        return -1;
    }
    return 0;
}

void ion_ido_update(ion_store_t *st, const ion_table_t *t, const char *body, size_t len,
                    bool refresh, const char *who, int64_t now_ms, buf_t *out,
                    ion_ido_update_result_t *res)
{
    memset(res, 0, sizeof *res);
    json_error_t jerr;
    json_t *doc = json_loadb(body, len, 0, &jerr);
    json_t *changes = json_object_get(doc, "Changes");
    if (!json_is_array(changes) || json_array_size(changes) == 0) {
        char msg[256];
        snprintf(msg, sizeof msg, doc ? "the body needs a non-empty Changes array" :
                 "the body is not JSON: %s", jerr.text);
        failure_body(out, false, msg);
        res->status = 400;
        json_decref(doc);
        return;
    }
    res->status = 200;
    size_t n = json_array_size(changes);
    staged_t *staged = xcalloc(n, sizeof *staged);
    char err[512] = "";
    ion_store_wrlock(st);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = stage_change(st, t, json_array_get(changes, i), &staged[i], who, now_ms,
                          &res->conflict, err, sizeof err);
        if (rc < 0 && n > 1)
            snprintf(err + strlen(err), sizeof err - strlen(err), " (Changes[%zu])", i);
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        ion_write_t w = {"ido/update", who, staged[i].changes, staged[i].n, false};
        if (ion_store_apply(t->id, staged[i].row, &w, now_ms, err, sizeof err) == 0)
            res->written++;
    }
    if (rc < 0) {
        failure_body(out, false, err);
    } else {
        buf_appendf(out, "{\"Success\":true,\"Message\":null,\"RefreshItems\":");
        if (refresh) {
            size_t cols[64], ncols = 0;
            for (size_t f = 0; f < t->nfields; f++)
                cols[ncols++] = f;
            buf_append(out, "[", 1);
            for (size_t i = 0; i < n; i++) {
                if (i)
                    buf_append(out, ",", 1);
                append_item(out, t, staged[i].row, cols, ncols);
            }
            buf_append(out, "]}", 2);
        } else {
            buf_appendf(out, "null}");
        }
    }
    ion_store_unlock(st);
    for (size_t i = 0; i < n; i++)
        free(staged[i].changes);
    free(staged);
    json_decref(doc);
}
