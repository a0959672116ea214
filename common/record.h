/* record: the one internal shape every ERP connector produces and the Asana writer consumes.
 * The pipeline never sees IFS, M3 or SyteLine field names: connectors map into record_t. */
#ifndef MLC_RECORD_H
#define MLC_RECORD_H
#include <jansson.h>

typedef struct {
    char *kind;          /* "po" | "invoice" */
    char *erp_key;       /* ERP primary key as text (composite keys joined with '|') */
    char *number;        /* PO or invoice number shown to people */
    char *supplier_id;
    char *supplier_name;
    char *amount;        /* canonical decimal text: "1234.5", "-3", "0.125" (see decimal_canon) */
    char *currency;      /* ISO 4217 */
    char *gl_account;
    char *cost_center;
    char *status;
    char *doc_date;      /* YYYY-MM-DD (order date / invoice date) */
    char *due_date;      /* YYYY-MM-DD or NULL */
    char *modified_at;   /* ERP modification stamp as sent; not part of the content hash */
    char *etag;          /* optimistic-locking token (@odata.etag, _ItemId); not hashed */
} record_t;

/* Every field name of record_t, in struct order, NULL-terminated (for mapping configs). */
extern const char *const RECORD_FIELDS[];

/* Maps one ERP row (a JSON object) into out using fieldmap: a JSON object whose keys are
 * record field names (see RECORD_FIELDS, except kind) and whose values are the source member
 * names. String values are trimmed (M3 pads on the right); numbers become text; amount goes
 * through decimal_canon; dates "YYYYMMDD" and ISO timestamps become YYYY-MM-DD for doc_date
 * and due_date. erp_key and number are required: returns -1 with err naming the missing member.
 * Fields not in fieldmap, or null/absent in the row, stay NULL. */
int record_map(const json_t *row, const json_t *fieldmap, const char *kind, record_t *out,
               char *err, size_t err_len);
/* Canonical JSON of the hashed fields (sorted keys, no whitespace, nulls omitted). Caller frees. */
char *record_canonical_json(const record_t *r);
/* SHA-256 hex of record_canonical_json: equal for records that look the same in Asana. */
void record_hash(const record_t *r, char out[65]);
/* Full JSON (all fields, including etag and modified_at) and back. */
json_t *record_to_json(const record_t *r);
int record_from_json(const json_t *obj, record_t *out);
/* "ref" of a record: "<kind>:<erp_key>", caller frees. */
char *record_ref(const record_t *r);
void record_free(record_t *r);   /* frees fields, zeroes the struct; safe twice */

/* Canonical decimal text: trims, accepts only [-+]digits[.digits] (no exponent, no thousands
 * separators); strips leading zeros and trailing fractional zeros ("001.500" -> "1.5",
 * "-0.00" -> "0"). Returns malloc'd text or NULL when s is not a decimal. */
char *decimal_canon(const char *s);
#endif
