/* ion_schema: the tables behind the simulated Infor ION gateway and their fields: M3 (purchase
 * order heads, supplier invoice batches, suppliers) and SyteLine (SLPos, SLVchHdrs, SLVendors).
 * Each field has a kind that fixes its wire text, an M3 length (alphanumeric M3 fields are
 * right-padded to it on the wire) and, for SyteLine, whether an IDO update may set it. Pure
 * data plus value checks and ordering; docs/simulators.md lists every field. */
#ifndef MLC_SIM_ION_SCHEMA_H
#define MLC_SIM_ION_SCHEMA_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { ION_M3 = 0, ION_SL = 1 } ion_system_t;

typedef enum {
    ION_M3_PO = 0,      /* PPS001MI/ListHeadBasic, PPS200MI/GetHead */
    ION_M3_INVOICE,     /* APS450MI */
    ION_M3_SUPPLIER,    /* CRS620MI */
    ION_SL_PO,          /* SLPos */
    ION_SL_VOUCHER,     /* SLVchHdrs */
    ION_SL_VENDOR,      /* SLVendors */
    ION_NTABLES
} ion_table_id_t;

typedef enum {
    ION_ALPHA,   /* text */
    ION_INT,     /* unsigned integer digits: "17" */
    ION_DEC,     /* decimal: M3 "1234.50" (2 decimals), SyteLine "1234.50000000" (8) */
    ION_DATE,    /* M3 "yyyyMMdd", SyteLine "yyyyMMdd 00:00:00.000" */
    ION_STAMP,   /* SyteLine date-time "yyyyMMdd HH:mm:ss.fff" */
} ion_kind_t;

typedef struct {
    const char *name;
    ion_kind_t  kind;
    int         len;        /* M3 field length (ALPHA padding, metadata); 0 on SyteLine */
    const char *desc;       /* M3 field description (v1 metadata, error messages) */
    const char *allowed;    /* space-separated values the field may take, NULL = any */
    bool        writable;   /* SyteLine: an IDO update may set it */
} ion_field_t;

typedef struct {
    ion_table_id_t     id;
    ion_system_t       system;
    const char        *name;       /* "po", "invoice", "supplier" (/_sim/ endpoints) */
    const char        *ido;        /* SyteLine IDO ("SLPos"), NULL on M3 */
    const char        *base;       /* SyteLine primary base table in _ItemId ("po") */
    const ion_field_t *fields;
    size_t             nfields;
    size_t             key;        /* the key field (rows are unique and ordered by it) */
    size_t             modified;   /* LMDT (M3) / RecordDate (SyteLine) */
} ion_table_t;

const ion_table_t *ion_table(ion_table_id_t id);
/* The table of system named name ("po", "invoice", "supplier"), NULL when none. */
const ion_table_t *ion_table_by_name(ion_system_t system, const char *name);
/* The SyteLine table behind IDO ido (exact, case-sensitive), NULL when none. */
const ion_table_t *ion_table_by_ido(const char *ido);
/* Index of field name in t (exact), -1 when t has none. */
long ion_field_index(const ion_table_t *t, const char *name);

/* Checks value as the wire text of f on system: form of the kind (an M3 ALPHA longer than
 * its length is refused too) and the allowed list. Returns 0, or -1 with err ("Stat: 'X' is
 * not one of P O F C", "InvDate: expected yyyyMMdd 00:00:00.000, got '...'"). */
int ion_field_check(const ion_field_t *f, ion_system_t system, const char *value, char *err,
                    size_t err_len);
/* Formats epoch ms (UTC) as the wire text of a DATE or STAMP field of system: M3
 * "yyyyMMdd"; SyteLine DATE "yyyyMMdd 00:00:00.000", STAMP "yyyyMMdd HH:mm:ss.fff". len >= 24.
 * Returns out. */
char *ion_format_time(ion_kind_t kind, ion_system_t system, int64_t ms, char *out, size_t len);
/* Parses "yyyyMMdd" or "yyyyMMdd HH:mm:ss.fff" (UTC) to epoch ms; -1 when malformed. */
int64_t ion_parse_time(const char *text);
/* Orders two wire texts of f: INT and DEC numerically, others by bytes. <0, 0, >0. */
int ion_field_compare(const ion_field_t *f, const char *a, const char *b);
#endif
