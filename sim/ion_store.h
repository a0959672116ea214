/* ion_store: the data of the simulated Infor tenants: per table (ion_schema) an array of rows
 * sorted by key, each row the wire text of its fields plus a write log. One rwlock guards
 * everything; the M3 and IDO handlers hold it while they read rows (so a page is rendered
 * straight from the rows, no copies) or change them. Modifications move the row's stamp:
 * M3 LMDT (today), CHNO (+1) and CHID; SyteLine RecordDate (now, and always later than
 * before, so _ItemId changes) and UpdatedBy. */
#ifndef MLC_SIM_ION_STORE_H
#define MLC_SIM_ION_STORE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "ion_schema.h"
#include "ion_seed.h"

typedef struct ion_store ion_store_t;

typedef struct {
    char  **vals;   /* wire text per field of the table, unpadded ("" = empty) */
    json_t *log;    /* write log (array), NULL until the first write */
} ion_row_t;

/* An empty store. Aborts on out of memory. */
ion_store_t *ion_store_new(void);
/* Frees everything and NULLs *st; safe on NULL and twice. */
void ion_store_destroy(ion_store_t **st);
/* Replaces every row of every table by the rows seed generates (stamps relative to now_ms);
 * write logs start empty. Takes the write lock itself. */
void ion_store_seed(ion_store_t *st, const ion_seed_t *seed, int64_t now_ms);
/* Number of rows of table (takes the read lock itself). */
size_t ion_store_count(ion_store_t *st, ion_table_id_t table);

/* Locking around the calls below: read for ion_store_rows/find, write for changes. */
void ion_store_rdlock(ion_store_t *st);
void ion_store_wrlock(ion_store_t *st);
void ion_store_unlock(ion_store_t *st);

/* The rows of table in key order; *n is set. Borrowed, valid while the lock is held. */
ion_row_t *const *ion_store_rows(ion_store_t *st, ion_table_id_t table, size_t *n);
/* Position of the first row whose key is >= key in key order (n when none). Lock held. */
size_t ion_store_lower_bound(ion_store_t *st, ion_table_id_t table, const char *key);
/* The row with exactly key, or NULL. Lock held. */
ion_row_t *ion_store_find(ion_store_t *st, ion_table_id_t table, const char *key);
/* The row whose field `field` equals value (linear scan, e.g. RowPointer), or NULL. */
ion_row_t *ion_store_find_by(ion_store_t *st, ion_table_id_t table, size_t field,
                             const char *value);

typedef struct {
    const char *name;    /* field name */
    const char *value;   /* new wire text */
} ion_change_t;

typedef struct {
    const char         *via;        /* what wrote: "APS450MI/ApproveInvoice", "ido/update", "sim" */
    const char         *who;        /* CHID / UpdatedBy value ("MLCDEMO", "SIMUSER") */
    const ion_change_t *changes;
    size_t              nchanges;
    bool                any_field;  /* every non-key field may change (a change made inside the
                                       ERP); else only fields marked writable */
} ion_write_t;

/* Checks every change of w against row's table: known field (else "Property X not found"),
 * not the key, writable unless any_field, valid value (ion_field_check). Returns 0, or -1
 * with err. Pure: changes nothing. */
int ion_store_check(ion_table_id_t table, const ion_write_t *w, char *err, size_t err_len);
/* Applies w (checked first: -1 with err and nothing changed) to row, then moves the stamp
 * (unless any_field changes set the stamp fields themselves) and appends a log entry
 * {"at","via","who","changes","stamp_before","stamp_after"}. Write lock held. */
int ion_store_apply(ion_table_id_t table, ion_row_t *row, const ion_write_t *w, int64_t now_ms,
                    char *err, size_t err_len);
/* Appends a refused attempt {"at","via","who","refused":reason} to row's log. Write lock. */
void ion_store_log_refusal(ion_row_t *row, const char *via, const char *who, const char *reason,
                           int64_t now_ms);
/* Inserts a row made of vals (taken over; key = vals[key field]) in key order. Returns the
 * row, or NULL when the key exists (vals freed). Write lock held. */
ion_row_t *ion_store_insert(ion_store_t *st, ion_table_id_t table, char **vals);

/* {"fields":{name:text,...},"write_log":[...]} of row. New reference. Lock held. */
json_t *ion_store_row_json(ion_table_id_t table, const ion_row_t *row);
#endif
