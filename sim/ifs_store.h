/* ifs_store: the simulated IFS Cloud's data: per entity set an array of rows sorted by key
 * with a hash index, each row with its objid/objversion ETag and a write log. One rwlock
 * guards everything: queries share it, writes and seeding take it exclusively. Responses are
 * written straight into a growable buffer (no JSON tree per row), so a 5000-row page stays
 * cheap. */
#ifndef MLC_SIM_IFS_STORE_H
#define MLC_SIM_IFS_STORE_H
#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include "ifs_schema.h"
#include "ifs_seed.h"
#include "odata.h"
#include "util.h"

#define IFS_ETAG_MAX 96

typedef struct ifs_store ifs_store_t;

/* An empty store. Aborts on out of memory. */
ifs_store_t *ifs_store_new(void);
/* Frees everything and NULLs *st; safe on NULL and twice. */
void ifs_store_destroy(ifs_store_t **st);
/* Replaces every row of every set by the rows seed generates (ChangedDate relative to now_s);
 * write logs start empty. */
void ifs_store_seed(ifs_store_t *st, const ifs_seed_t *seed, int64_t now_s);
/* Number of rows in a set. */
size_t ifs_store_count(ifs_store_t *st, ifs_set_id_t set);

typedef struct {
    const char *context;     /* value of "@odata.context" */
    const char *next_base;   /* the request URL up to where "$skiptoken=..." is appended */
    long        page_size;   /* server-driven page size (>= 1) */
    bool        ieee754;     /* Edm.Decimal as JSON strings (IEEE754Compatible=true) */
} ifs_page_opts_t;

/* Runs a collection query and appends the response body to out:
 * {"@odata.context":..,["@odata.count":N,]"value":[..][,"@odata.nextLink":..]}.
 * Rows come in $orderby order (ties and no $orderby: key order); $skip, the $skiptoken
 * offset, $top and the page size cut the result; a nextLink continues the same query. */
void ifs_store_query(ifs_store_t *st, ifs_set_id_t set, const odata_query_t *q,
                     const ifs_page_opts_t *o, buf_t *out);

/* Appends the entity with key as JSON to out (members in select, all when select is NULL;
 * "@odata.context" first when context is non-NULL) and copies its ETag into etag.
 * Returns 0, or -1 when there is no such entity (out untouched). */
int ifs_store_get(ifs_store_t *st, ifs_set_id_t set, const char *key, const size_t *select,
                  size_t nselect, const char *context, bool ieee754, buf_t *out,
                  char etag[IFS_ETAG_MAX]);

/* Appends {"entity":{..},"write_log":[..]} for the entity with key to out. Returns 0, or -1
 * when there is no such entity (out untouched). */
int ifs_store_inspect(ifs_store_t *st, ifs_set_id_t set, const char *key, buf_t *out);

typedef enum {
    IFS_WRITE_PATCH,    /* API PATCH: If-Match required, writable members only */
    IFS_WRITE_ACTION,   /* API bound action: If-Match required, sets Objstate */
    IFS_WRITE_SIM,      /* a change made "inside IFS": no precondition, any non-key member */
} ifs_write_kind_t;

typedef struct {
    ifs_write_kind_t kind;
    const char      *client_id;  /* for the write log; NULL for SIM */
    const char      *if_match;   /* the If-Match header as sent, NULL when absent */
    const json_t    *changes;    /* PATCH/SIM: member -> new value ("@..." keys ignored) */
    const char      *action;     /* ACTION: "Approve", ... */
    const json_t    *create;     /* SIM: when the entity is absent, create it from these
                                    members (the key is set from the request); NULL: 404 */
} ifs_write_t;

typedef struct {
    int         status;                 /* 200 on success, else 400/404/412/428 */
    const char *code;                   /* IFS error code on failure (static string) */
    char        message[512];
    char        etag[IFS_ETAG_MAX];     /* the entity's ETag after the call (when it exists) */
} ifs_write_result_t;

/* Applies one write atomically (all changes or none) and records the attempt, successful or
 * not, in the entity's write log. Checks in order: entity exists (404), If-Match present and
 * not "*" (428 ODP_MISSING_PRECONDITION), If-Match equals the current ETag exactly (412
 * ODP_PRECONDITION_FAILED), changes valid (400). On success bumps objversion (new ETag),
 * sets ChangedDate to now_s (unless a SIM write sets ChangedDate itself) and, when out is
 * non-NULL, appends the new entity JSON (with context when non-NULL). */
void ifs_store_write(ifs_store_t *st, ifs_set_id_t set, const char *key, const ifs_write_t *w,
                     int64_t now_s, const char *context, bool ieee754, buf_t *out,
                     ifs_write_result_t *res);
#endif
