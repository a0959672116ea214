/* ion_store: see ion_store.h. */
#include "ion_store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

typedef struct {
    ion_row_t **rows;   /* sorted by key (ion_field_compare of the key field) */
    size_t      n, cap;
} table_rows_t;

struct ion_store {
    pthread_rwlock_t lock;
    table_rows_t     tables[ION_NTABLES];
};

static void row_free(ion_row_t *r, const ion_table_t *t)
{
    if (!r)
        return;
    for (size_t f = 0; f < t->nfields; f++)
        free(r->vals[f]);
    free(r->vals);
    json_decref(r->log);
    free(r);
}

static void table_clear(table_rows_t *tr, const ion_table_t *t)
{
    for (size_t i = 0; i < tr->n; i++)
        row_free(tr->rows[i], t);
    free(tr->rows);
    memset(tr, 0, sizeof *tr);
}

ion_store_t *ion_store_new(void)
{
    ion_store_t *st = xcalloc(1, sizeof *st);
    pthread_rwlock_init(&st->lock, NULL);
    return st;
}

void ion_store_destroy(ion_store_t **st)
{
    if (!st || !*st)
        return;
    for (int t = 0; t < ION_NTABLES; t++)
        table_clear(&(*st)->tables[t], ion_table((ion_table_id_t)t));
    pthread_rwlock_destroy(&(*st)->lock);
    free(*st);
    *st = NULL;
}

void ion_store_rdlock(ion_store_t *st) { pthread_rwlock_rdlock(&st->lock); }
void ion_store_wrlock(ion_store_t *st) { pthread_rwlock_wrlock(&st->lock); }
void ion_store_unlock(ion_store_t *st) { pthread_rwlock_unlock(&st->lock); }

static int compare_keys(const ion_table_t *t, const char *a, const char *b)
{
    return ion_field_compare(&t->fields[t->key], a, b);
}

void ion_store_seed(ion_store_t *st, const ion_seed_t *seed, int64_t now_ms)
{
    /* Rows are generated outside the lock; seeded keys ascend, so no sort is needed. */
    table_rows_t fresh[ION_NTABLES];
    for (int t = 0; t < ION_NTABLES; t++) {
        long n = seed->rows[t];
        fresh[t] = (table_rows_t){xcalloc((size_t)n + 1, sizeof(ion_row_t *)), (size_t)n,
                                  (size_t)n + 1};
        for (long i = 0; i < n; i++) {
            fresh[t].rows[i] = xcalloc(1, sizeof(ion_row_t));
            fresh[t].rows[i]->vals = ion_seed_row(seed, (ion_table_id_t)t, i, now_ms);
        }
    }
    pthread_rwlock_wrlock(&st->lock);
    for (int t = 0; t < ION_NTABLES; t++) {
        table_rows_t old = st->tables[t];
        st->tables[t] = fresh[t];
        fresh[t] = old;
    }
    pthread_rwlock_unlock(&st->lock);
    for (int t = 0; t < ION_NTABLES; t++)
        table_clear(&fresh[t], ion_table((ion_table_id_t)t));
}

size_t ion_store_count(ion_store_t *st, ion_table_id_t table)
{
    pthread_rwlock_rdlock(&st->lock);
    size_t n = st->tables[table].n;
    pthread_rwlock_unlock(&st->lock);
    return n;
}

ion_row_t *const *ion_store_rows(ion_store_t *st, ion_table_id_t table, size_t *n)
{
    *n = st->tables[table].n;
    return st->tables[table].rows;
}

size_t ion_store_lower_bound(ion_store_t *st, ion_table_id_t table, const char *key)
{
    const ion_table_t *t = ion_table(table);
    const table_rows_t *tr = &st->tables[table];
    size_t lo = 0, hi = tr->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (compare_keys(t, tr->rows[mid]->vals[t->key], key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

ion_row_t *ion_store_find(ion_store_t *st, ion_table_id_t table, const char *key)
{
    const ion_table_t *t = ion_table(table);
    const table_rows_t *tr = &st->tables[table];
    size_t i = ion_store_lower_bound(st, table, key);
    return i < tr->n && compare_keys(t, tr->rows[i]->vals[t->key], key) == 0 ? tr->rows[i]
                                                                             : NULL;
}

ion_row_t *ion_store_find_by(ion_store_t *st, ion_table_id_t table, size_t field,
                             const char *value)
{
    const table_rows_t *tr = &st->tables[table];
    for (size_t i = 0; i < tr->n; i++)
        if (strcmp(tr->rows[i]->vals[field], value) == 0)
            return tr->rows[i];
    return NULL;
}

int ion_store_check(ion_table_id_t table, const ion_write_t *w, char *err, size_t err_len)
{
    const ion_table_t *t = ion_table(table);
    for (size_t i = 0; i < w->nchanges; i++) {
        const ion_change_t *c = &w->changes[i];
        long f = ion_field_index(t, c->name);
        if (f < 0) {
            snprintf(err, err_len, "Property %s not found", c->name);
            return -1;
        }
        if ((size_t)f == t->key || (!w->any_field && !t->fields[f].writable)) {
            snprintf(err, err_len, "Property %s is read-only", c->name);
            return -1;
        }
        if (ion_field_check(&t->fields[f], t->system, c->value, err, err_len) < 0)
            return -1;
    }
    return 0;
}

static void set_val(ion_row_t *row, size_t f, const char *value)
{
    free(row->vals[f]);
    row->vals[f] = xstrdup(value);
}

/* Moves the modification stamp of row to now_ms (SyteLine: strictly later than before). */
static void stamp(const ion_table_t *t, ion_row_t *row, const char *who, int64_t now_ms)
{
    char text[32];
    if (t->system == ION_M3) {
        set_val(row, t->modified, ion_format_time(ION_DATE, ION_M3, now_ms, text, sizeof text));
        size_t chno = (size_t)ion_field_index(t, "CHNO");
        snprintf(text, sizeof text, "%ld", (strtol(row->vals[chno], NULL, 10) + 1) % 1000);
        set_val(row, chno, text);
        set_val(row, (size_t)ion_field_index(t, "CHID"), who);
        return;
    }
    int64_t before = ion_parse_time(row->vals[t->modified]);
    set_val(row, t->modified, ion_format_time(ION_STAMP, ION_SL,
                                              now_ms > before ? now_ms : before + 1, text,
                                              sizeof text));
    set_val(row, (size_t)ion_field_index(t, "UpdatedBy"), who);
}

static json_t *log_entry(const char *via, const char *who, int64_t now_ms)
{
    char at[40];
    return json_pack("{s:s,s:s,s:s}", "at", iso8601_ms(now_ms, at, sizeof at), "via", via,
                     "who", who);
}

static void log_append(ion_row_t *row, json_t *entry)
{
    if (!row->log)
        row->log = json_array();
    json_array_append_new(row->log, entry);
}

int ion_store_apply(ion_table_id_t table, ion_row_t *row, const ion_write_t *w, int64_t now_ms,
                    char *err, size_t err_len)
{
    const ion_table_t *t = ion_table(table);
    if (ion_store_check(table, w, err, err_len) < 0)
        return -1;
    json_t *entry = log_entry(w->via, w->who, now_ms);
    json_t *changes = json_object();
    json_object_set_new(entry, "stamp_before", json_string(row->vals[t->modified]));
    bool stamped = false;
    for (size_t i = 0; i < w->nchanges; i++) {
        size_t f = (size_t)ion_field_index(t, w->changes[i].name);
        stamped |= f == t->modified;
        set_val(row, f, w->changes[i].value);
        json_object_set_new(changes, w->changes[i].name, json_string(w->changes[i].value));
    }
    if (!stamped)
        stamp(t, row, w->who, now_ms);
    json_object_set_new(entry, "changes", changes);
    json_object_set_new(entry, "stamp_after", json_string(row->vals[t->modified]));
    log_append(row, entry);
    return 0;
}

void ion_store_log_refusal(ion_row_t *row, const char *via, const char *who, const char *reason,
                           int64_t now_ms)
{
    json_t *entry = log_entry(via, who, now_ms);
    json_object_set_new(entry, "refused", json_string(reason));
    log_append(row, entry);
}

ion_row_t *ion_store_insert(ion_store_t *st, ion_table_id_t table, char **vals)
{
    const ion_table_t *t = ion_table(table);
    table_rows_t *tr = &st->tables[table];
    size_t at = ion_store_lower_bound(st, table, vals[t->key]);
    if (at < tr->n && compare_keys(t, tr->rows[at]->vals[t->key], vals[t->key]) == 0) {
        ion_seed_row_free(vals, table);
        return NULL;
    }
    if (tr->n == tr->cap) {
        tr->cap = tr->cap ? tr->cap * 2 : 16;
        tr->rows = xrealloc(tr->rows, tr->cap * sizeof *tr->rows);
    }
    memmove(tr->rows + at + 1, tr->rows + at, (tr->n - at) * sizeof *tr->rows);
    ion_row_t *row = xcalloc(1, sizeof *row);
    row->vals = vals;
    tr->rows[at] = row;
    tr->n++;
    return row;
}

json_t *ion_store_row_json(ion_table_id_t table, const ion_row_t *row)
{
    const ion_table_t *t = ion_table(table);
    json_t *fields = json_object();
    for (size_t f = 0; f < t->nfields; f++)
        json_object_set_new(fields, t->fields[f].name, json_string(row->vals[f]));
    return json_pack("{s:o,s:o}", "fields", fields, "write_log",
                     row->log ? json_incref(row->log) : json_array());
}
