/* ion_m3: see ion_m3.h. */
#include "ion_m3.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_http.h"

/* ---- the served transactions ------------------------------------------------------------ */

typedef enum { OP_LIST, OP_GET, OP_APPROVE } m3_op_t;

typedef struct {
    const char    *program, *transaction;
    ion_table_id_t table;
    m3_op_t        op;
    const char    *mandatory;   /* space-separated inputs that must be given */
    const char    *optional;    /* other accepted inputs; a list's key input is its start key */
} m3_txn_t;

static const m3_txn_t TXNS[] = {
    {"PPS001MI", "ListHeadBasic", ION_M3_PO, OP_LIST, "CONO", "PUNO"},
    {"PPS200MI", "GetHead", ION_M3_PO, OP_GET, "PUNO", "CONO"},
    {"APS450MI", "LstInvBatchNo", ION_M3_INVOICE, OP_LIST, "DIVI", "CONO INBN"},
    {"APS450MI", "GetHead", ION_M3_INVOICE, OP_GET, "DIVI INBN", "CONO"},
    {"APS450MI", "ApproveInvoice", ION_M3_INVOICE, OP_APPROVE, "DIVI INBN", "CONO"},
    {"CRS620MI", "LstSuppliers", ION_M3_SUPPLIER, OP_LIST, "", "CONO SUNO"},
};
#define NTXNS (sizeof TXNS / sizeof TXNS[0])

/* The invoice batch status ApproveInvoice sets (ion_schema: 10 entered, 20 awaiting
 * approval, 90 approved). */
#define SUPA_APPROVED "90"

/* True when word is one of the space-separated words of list. */
static bool in_words(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; *p;) {
        size_t w = strcspn(p, " ");
        if (w == n && strncmp(p, word, n) == 0)
            return true;
        p += w + (p[w] == ' ');
    }
    return false;
}

/* ---- parsing ---------------------------------------------------------------------------- */

void ion_m3_call_free(ion_m3_call_t *c)
{
    for (size_t i = 0; i < c->nreturncols; i++)
        free(c->returncols[i]);
    free(c->returncols);
    c->returncols = NULL;
    c->nreturncols = 0;
}

static int fail_parse(ion_m3_call_t *c, char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail_parse(ion_m3_call_t *c, char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
    ion_m3_call_free(c);
    return -1;
}

/* Reads "true"/"false" into *out; -1 for anything else. */
static int parse_bool(const char *v, bool *out)
{
    if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0) {
        *out = v[0] == 't';
        return 0;
    }
    return -1;
}

/* Splits a returncols value "A,B" into c->returncols. -1 for an empty name. */
static int parse_returncols(ion_m3_call_t *c, const char *v, size_t len)
{
    for (const char *p = v; p < v + len;) {
        const char *comma = memchr(p, ',', (size_t)(v + len - p));
        size_t n = comma ? (size_t)(comma - p) : (size_t)(v + len - p);
        if (n == 0 || n > 16)
            return -1;
        c->returncols = xrealloc(c->returncols, (c->nreturncols + 1) * sizeof(char *));
        c->returncols[c->nreturncols++] = xasprintf("%.*s", (int)n, p);
        p += n + (comma != NULL);
        if (comma && p == v + len)
            return -1;
    }
    return 0;
}

int ion_m3_parse_call(const char *spec, int version, ion_m3_call_t *c, char *err,
                      size_t err_len)
{
    memset(c, 0, sizeof *c);
    c->version = version;
    c->maxrecs = -1;
    c->metadata = true;
    const char *slash = strchr(spec, '/');
    size_t plen = slash ? (size_t)(slash - spec) : 0;
    const char *txn = slash ? slash + 1 : "";
    size_t tlen = strcspn(txn, ";/");
    if (plen == 0 || plen >= sizeof c->program || tlen == 0 || tlen >= sizeof c->transaction ||
        txn[tlen] == '/')
        return fail_parse(c, err, err_len, "expected .../execute/{PROGRAM}/{TRANSACTION}"
                          "[;matrix parameters], got '%s'", spec);
    snprintf(c->program, sizeof c->program, "%.*s", (int)plen, spec);
    snprintf(c->transaction, sizeof c->transaction, "%.*s", (int)tlen, txn);
    for (const char *p = txn + tlen; *p == ';';) {
        p++;
        size_t n = strcspn(p, ";");
        const char *eq = memchr(p, '=', n);
        size_t klen = eq ? (size_t)(eq - p) : n;
        const char *v = eq ? eq + 1 : p + n;
        size_t vlen = (size_t)(p + n - v);
        char val[256];
        snprintf(val, sizeof val, "%.*s", (int)(vlen < sizeof val ? vlen : sizeof val - 1), v);
        if (klen == 7 && strncmp(p, "maxrecs", 7) == 0) {
            char *end;
            errno = 0;
            long m = strtol(val, &end, 10);
            if (!eq || !*val || *end || errno || m < 0 || vlen >= sizeof val)
                return fail_parse(c, err, err_len, "maxrecs must be an integer >= 0, got '%s'",
                                  val);
            c->maxrecs = m;
        } else if (klen == 10 && strncmp(p, "returncols", 10) == 0) {
            if (!eq || vlen == 0 || c->returncols || parse_returncols(c, v, vlen) < 0)
                return fail_parse(c, err, err_len, "returncols must be a comma-separated list "
                                  "of field names, given once");
        } else if (klen == 11 && strncmp(p, "excludempty", 11) == 0) {
            if (!eq || parse_bool(val, &c->excludempty) < 0)
                return fail_parse(c, err, err_len, "excludempty must be true or false");
        } else if (klen == 8 && strncmp(p, "metadata", 8) == 0) {
            if (!eq || parse_bool(val, &c->metadata) < 0)
                return fail_parse(c, err, err_len, "metadata must be true or false");
        } else {
            return fail_parse(c, err, err_len, "unknown matrix parameter '%.*s' (served: "
                              "maxrecs, returncols, excludempty, metadata)", (int)klen, p);
        }
        p += n;
    }
    return 0;
}

/* ---- bodies ----------------------------------------------------------------------------- */

/* Appends "null" or the JSON string s. */
static void append_str_or_null(buf_t *b, const char *s)
{
    if (s)
        sim_append_json_string(b, s);
    else
        buf_append(b, "null", 4);
}

void ion_m3_error_body(buf_t *out, int version, const char *transaction, const char *code,
                       const char *field, const char *message)
{
    if (version == 1) {
        buf_appendf(out, "{\"@type\":\"ServerReturnedNOK\",\"@code\":");
        sim_append_json_string(out, code ? code : "");
        buf_appendf(out, ",\"@field\":");
        sim_append_json_string(out, field ? field : "");
        buf_appendf(out, ",\"Message\":");
        sim_append_json_string(out, message);
        buf_append(out, "}", 1);
        return;
    }
    buf_appendf(out, "{\"results\":[{\"transaction\":");
    sim_append_json_string(out, transaction);
    buf_appendf(out, ",\"errorMessage\":");
    sim_append_json_string(out, message);
    buf_appendf(out, ",\"errorType\":\"ServerReturnedNOK\",\"errorCode\":");
    append_str_or_null(out, code);
    buf_appendf(out, ",\"errorField\":");
    append_str_or_null(out, field);
    buf_appendf(out, ",\"records\":[]}],\"wasTerminated\":false,"
                "\"nrOfSuccessfullTransactions\":0,\"nrOfFailedTransactions\":1}");
}

/* The output columns of a call: field indexes of returncols, or every field. */
typedef struct {
    size_t cols[64];
    size_t n;
} columns_t;

static bool blank(const char *s)
{
    while (*s == ' ')
        s++;
    return *s == '\0';
}

/* Appends one field's value as M3 sends it: alphanumeric right-padded to its length. */
static void append_value(buf_t *b, const ion_field_t *f, const char *v)
{
    sim_append_json_padded(b, v, f->kind == ION_ALPHA ? (size_t)f->len : 0);
}

static void append_record_v2(buf_t *b, const ion_table_t *t, const ion_row_t *r,
                             const columns_t *cols, bool excludempty)
{
    buf_append(b, "{", 1);
    bool first = true;
    for (size_t i = 0; i < cols->n; i++) {
        const ion_field_t *f = &t->fields[cols->cols[i]];
        const char *v = r->vals[cols->cols[i]];
        if (excludempty && blank(v))
            continue;
        buf_appendf(b, "%s\"%s\":", first ? "" : ",", f->name);
        append_value(b, f, v);
        first = false;
    }
    buf_append(b, "}", 1);
}

static void append_record_v1(buf_t *b, const ion_table_t *t, const ion_row_t *r,
                             const columns_t *cols, bool excludempty, size_t index)
{
    buf_appendf(b, "{\"RowIndex\":%zu,\"NameValue\":[", index);
    bool first = true;
    for (size_t i = 0; i < cols->n; i++) {
        const ion_field_t *f = &t->fields[cols->cols[i]];
        const char *v = r->vals[cols->cols[i]];
        if (excludempty && blank(v))
            continue;
        buf_appendf(b, "%s{\"Name\":\"%s\",\"Value\":", first ? "" : ",", f->name);
        append_value(b, f, v);
        buf_append(b, "}", 1);
        first = false;
    }
    buf_append(b, "]}", 2);
}

/* Appends the whole success body for rows[0..n). */
static void success_body(buf_t *out, const ion_m3_call_t *call, const ion_table_t *t,
                         ion_row_t *const *rows, size_t n, const columns_t *cols)
{
    if (call->version == 2) {
        buf_appendf(out, "{\"results\":[{\"transaction\":");
        sim_append_json_string(out, call->transaction);
        buf_appendf(out, ",\"records\":[");
        for (size_t i = 0; i < n; i++) {
            if (i)
                buf_append(out, ",", 1);
            append_record_v2(out, t, rows[i], cols, call->excludempty);
        }
        buf_appendf(out, "],\"errorMessage\":null,\"errorType\":null,\"errorCode\":null,"
                    "\"errorField\":null}],\"wasTerminated\":false,"
                    "\"nrOfSuccessfullTransactions\":1,\"nrOfFailedTransactions\":0}");
        return;
    }
    buf_appendf(out, "{\"Program\":\"%s\",\"Transaction\":\"%s\"", call->program,
                call->transaction);
    if (call->metadata) {
        buf_appendf(out, ",\"Metadata\":{\"Field\":[");
        for (size_t i = 0; i < cols->n; i++) {
            const ion_field_t *f = &t->fields[cols->cols[i]];
            buf_appendf(out, "%s{\"@name\":\"%s\",\"@type\":\"%s\",\"@length\":%d,"
                        "\"@description\":", i ? "," : "", f->name,
                        f->kind == ION_ALPHA ? "A" : f->kind == ION_DATE ? "D" : "N", f->len);
            sim_append_json_string(out, f->desc);
            buf_append(out, "}", 1);
        }
        buf_append(out, "]}", 2);
    }
    buf_appendf(out, ",\"MIRecord\":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_append(out, ",", 1);
        append_record_v1(out, t, rows[i], cols, call->excludempty, i);
    }
    buf_append(out, "]}", 2);
}

/* ---- execution -------------------------------------------------------------------------- */

typedef struct {
    const ion_m3_call_t *call;
    const ion_m3_env_t  *env;
    const m3_txn_t      *txn;
    const ion_table_t   *table;
    const char *const   *names;
    const char *const   *values;
    size_t               n;
    buf_t               *out;
    ion_m3_result_t     *res;
} exec_t;

static void request_error(exec_t *x, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void request_error(exec_t *x, const char *field, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ion_m3_error_body(x->out, x->call->version, x->call->transaction, NULL, field, msg);
    x->res->status = 400;
    x->res->nok = true;
}

/* A business error (HTTP 200): code is "W" + the field's first two letters + number, as M3
 * message ids look ("WCO0102": company must be entered). */
static void business_error(exec_t *x, const char *field, const char *number, const char *fmt,
                           ...) __attribute__((format(printf, 4, 5)));
static void business_error(exec_t *x, const char *field, const char *number, const char *fmt,
                           ...)
{
    char msg[512], code[16];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(code, sizeof code, "W%.2s%s", field, number);
    ion_m3_error_body(x->out, x->call->version, x->call->transaction, code, field, msg);
    x->res->status = 200;
    x->res->nok = true;
}

/* The trimmed value of input name, NULL when absent or blank. Trailing spaces are M3
 * padding; a copy is made into buf. */
static const char *input(const exec_t *x, const char *name, char *buf, size_t len)
{
    for (size_t i = 0; i < x->n; i++) {
        if (strcmp(x->names[i], name) != 0)
            continue;
        snprintf(buf, len, "%s", x->values[i]);
        size_t l = strlen(buf);
        while (l > 0 && buf[l - 1] == ' ')
            buf[--l] = '\0';
        return l ? buf : NULL;
    }
    return NULL;
}

static const char *field_desc(const ion_table_t *t, const char *name)
{
    long f = ion_field_index(t, name);
    return f >= 0 ? t->fields[f].desc : name;
}

/* Checks the inputs: known names (400), mandatory ones present, CONO/DIVI existing, numeric
 * keys numeric (business errors). Returns 0 or -1 after answering. */
static int check_inputs(exec_t *x)
{
    for (size_t i = 0; i < x->n; i++) {
        if (!in_words(x->txn->mandatory, x->names[i]) &&
            !in_words(x->txn->optional, x->names[i])) {
            request_error(x, x->names[i], "Input field %s is not defined for %s/%s (accepted: "
                          "%s%s%s)", x->names[i], x->txn->program, x->txn->transaction,
                          x->txn->mandatory, *x->txn->mandatory ? " " : "", x->txn->optional);
            return -1;
        }
    }
    char buf[128];
    for (const char *p = x->txn->mandatory; *p;) {
        char name[8];
        size_t w = strcspn(p, " ");
        snprintf(name, sizeof name, "%.*s", (int)w, p);
        p += w + (p[w] == ' ');
        if (!input(x, name, buf, sizeof buf)) {
            business_error(x, name, "0102", "%s must be entered", field_desc(x->table, name));
            return -1;
        }
    }
    const char *cono = input(x, "CONO", buf, sizeof buf);
    if (cono && strcmp(cono, x->env->company) != 0) {
        business_error(x, "CONO", "0103", "Company %s does not exist", cono);
        return -1;
    }
    const char *divi = input(x, "DIVI", buf, sizeof buf);
    if (divi && strcmp(divi, x->env->division) != 0) {
        business_error(x, "DIVI", "0103", "Division %s does not exist", divi);
        return -1;
    }
    const ion_field_t *key = &x->table->fields[x->table->key];
    const char *kv = input(x, key->name, buf, sizeof buf);
    if (kv && key->kind == ION_INT && strspn(kv, "0123456789") != strlen(kv)) {
        business_error(x, key->name, "0104", "%s %s is invalid", key->desc, kv);
        return -1;
    }
    return 0;
}

/* Resolves returncols into cols (all fields when none). -1 after a 400. */
static int output_columns(exec_t *x, columns_t *cols)
{
    cols->n = 0;
    if (!x->call->returncols) {
        for (size_t f = 0; f < x->table->nfields; f++)
            cols->cols[cols->n++] = f;
        return 0;
    }
    if (x->call->nreturncols > sizeof cols->cols / sizeof cols->cols[0]) {
        request_error(x, NULL, "returncols: at most 64 fields");
        return -1;
    }
    for (size_t i = 0; i < x->call->nreturncols; i++) {
        long f = ion_field_index(x->table, x->call->returncols[i]);
        if (f < 0) {
            request_error(x, x->call->returncols[i], "returncols: field %s is not an output "
                          "field of %s/%s", x->call->returncols[i], x->txn->program,
                          x->txn->transaction);
            return -1;
        }
        cols->cols[cols->n++] = (size_t)f;
    }
    return 0;
}

static void run_list(exec_t *x, ion_store_t *st, const columns_t *cols)
{
    long limit = x->call->maxrecs;
    if (limit < 0)
        limit = x->env->max_maxrecs < 100 ? x->env->max_maxrecs : 100;
    if (limit > x->env->max_maxrecs) {
        request_error(x, NULL, "maxrecs %ld exceeds the maximum of %ld", limit,
                      x->env->max_maxrecs);
        return;
    }
    if (limit == 0)
        limit = x->env->max_maxrecs;
    char buf[128];
    const char *from = input(x, x->table->fields[x->table->key].name, buf, sizeof buf);
    ion_store_rdlock(st);
    size_t n;
    ion_row_t *const *rows = ion_store_rows(st, x->table->id, &n);
    size_t start = from ? ion_store_lower_bound(st, x->table->id, from) : 0;
    size_t count = n - start < (size_t)limit ? n - start : (size_t)limit;
    success_body(x->out, x->call, x->table, rows + start, count, cols);
    ion_store_unlock(st);
    x->res->status = 200;
}

/* GetHead / ApproveInvoice: the record named by the key input (a business error when none). */
static ion_row_t *keyed_row(exec_t *x, ion_store_t *st)
{
    char buf[128];
    const ion_field_t *key = &x->table->fields[x->table->key];
    const char *kv = input(x, key->name, buf, sizeof buf);
    ion_row_t *row = ion_store_find(st, x->table->id, kv);
    if (!row)
        business_error(x, key->name, "0103", "%s %s does not exist", key->desc, kv);
    return row;
}

static void run_get(exec_t *x, ion_store_t *st, const columns_t *cols)
{
    ion_store_rdlock(st);
    ion_row_t *row = keyed_row(x, st);
    if (row) {
        success_body(x->out, x->call, x->table, &row, 1, cols);
        x->res->status = 200;
    }
    ion_store_unlock(st);
}

static void run_approve(exec_t *x, ion_store_t *st)
{
    ion_store_wrlock(st);
    ion_row_t *row = keyed_row(x, st);
    long supa = row ? ion_field_index(x->table, "SUPA") : -1;
    char via[64];
    snprintf(via, sizeof via, "%s/%s", x->txn->program, x->txn->transaction);
    if (row && strcmp(row->vals[supa], SUPA_APPROVED) == 0) {
        ion_store_log_refusal(row, via, x->env->user, "already approved", x->env->now_ms);
        business_error(x, "INBN", "0301", "Invoice batch number %s is already approved",
                       row->vals[x->table->key]);
    } else if (row) {
        ion_change_t changes[] = {{"SUPA", SUPA_APPROVED}, {"APCD", x->env->user}};
        ion_write_t w = {via, x->env->user, changes, 2, true};
        char err[256];
        if (ion_store_apply(x->table->id, row, &w, x->env->now_ms, err, sizeof err) < 0) {
            business_error(x, "INBN", "0302", "%s", err);
        } else {
            columns_t none = {.n = 0};
            success_body(x->out, x->call, x->table, NULL, 0, &none);
            x->res->status = 200;
            x->res->wrote = true;
        }
    }
    ion_store_unlock(st);
}

void ion_m3_execute(ion_store_t *st, const ion_m3_env_t *env, const ion_m3_call_t *call,
                    const char *const *names, const char *const *values, size_t n, buf_t *out,
                    ion_m3_result_t *res)
{
    memset(res, 0, sizeof *res);
    exec_t x = {call, env, NULL, NULL, names, values, n, out, res};
    bool program_known = false;
    for (size_t i = 0; i < NTXNS && !x.txn; i++) {
        if (strcmp(TXNS[i].program, call->program) != 0)
            continue;
        program_known = true;
        if (strcmp(TXNS[i].transaction, call->transaction) == 0)
            x.txn = &TXNS[i];
    }
    if (!x.txn) {
        if (program_known)
            request_error(&x, NULL, "Transaction %s does not exist in program %s",
                          call->transaction, call->program);
        else
            request_error(&x, NULL, "Program %s does not exist", call->program);
        return;
    }
    x.table = ion_table(x.txn->table);
    columns_t cols;
    if (check_inputs(&x) < 0 || output_columns(&x, &cols) < 0)
        return;
    switch (x.txn->op) {
    case OP_LIST: run_list(&x, st, &cols); break;
    case OP_GET: run_get(&x, st, &cols); break;
    case OP_APPROVE: run_approve(&x, st); break;
    }
}
