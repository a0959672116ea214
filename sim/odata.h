/* odata: the OData v4 query subset the simulated IFS Cloud understands, as pure code (text in,
 * parsed query out, rows judged through a getter; no I/O, no HTTP).
 *
 * Supported: $filter (eq ne gt ge lt le, and, or, not, parentheses; 'string' literals with ''
 * as the quote escape, IfsApp.<Proj>.<Enum>'Value' enum literals, unquoted ISO-8601 dates and
 * date-times, numbers, null, true, false), $select, $orderby (asc/desc), $top, $skip,
 * $count, $skiptoken (opaque paging offset, see odata_skiptoken_*). Members are checked
 * against a schema at parse time: unknown members, functions, type mismatches ("a date-time
 * member compared with a quoted string") and unsupported options are parse errors with a
 * message meant for the client. String comparisons are ordinal (byte order). */
#ifndef MLC_SIM_ODATA_H
#define MLC_SIM_ODATA_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    ODATA_NULL = 0,
    ODATA_STRING,    /* Edm.String */
    ODATA_DECIMAL,   /* Edm.Decimal (and any number literal) */
    ODATA_DATE,      /* Edm.Date, YYYY-MM-DD */
    ODATA_DATETIME,  /* Edm.DateTimeOffset, ISO-8601 with Z or an offset */
    ODATA_BOOLEAN,   /* Edm.Boolean */
} odata_type_t;

/* A typed value. str is borrowed (a row's text or a literal owned by the filter). */
typedef struct {
    odata_type_t type;
    const char  *str;   /* ODATA_STRING */
    double       num;   /* ODATA_DECIMAL */
    int64_t      ms;    /* ODATA_DATE / ODATA_DATETIME: epoch milliseconds (UTC) */
    bool         b;     /* ODATA_BOOLEAN */
} odata_value_t;

/* One member of an entity type. */
typedef struct {
    const char  *name;
    odata_type_t type;
} odata_member_t;

typedef struct {
    const odata_member_t *members;
    size_t                nmembers;
} odata_schema_t;

/* Fills *out with member number `member` (index into the schema) of row; a null value has
 * type ODATA_NULL. Must not fail. */
typedef void (*odata_get_fn)(const void *row, size_t member, odata_value_t *out);

/* Name of a type as OData spells it ("Edm.String"). */
const char *odata_type_name(odata_type_t t);
/* Index of the member called name (exact, case-sensitive), -1 when absent. */
int odata_member_index(const odata_schema_t *s, const char *name);

/* ---- $filter ---------------------------------------------------------------------------- */
typedef struct odata_filter odata_filter_t;
/* Parses a $filter expression against schema. Returns the filter, or NULL with a message for
 * the client in err (unknown member, syntax error with its offset, type mismatch, unsupported
 * function). The schema must outlive the filter. */
odata_filter_t *odata_filter_parse(const char *text, const odata_schema_t *schema, char *err,
                                   size_t err_len);
/* True when row satisfies the filter. Comparisons with null are false except eq/ne null. */
bool odata_filter_match(const odata_filter_t *f, const void *row, odata_get_fn get);
/* Frees the filter and NULLs *f; safe on NULL and twice. */
void odata_filter_destroy(odata_filter_t **f);

/* ---- $orderby ---------------------------------------------------------------------------- */
typedef struct {
    size_t member;
    bool   desc;
} odata_order_t;

/* Compares two rows by the order keys (nulls first ascending): <0, 0, >0. */
int odata_compare(const odata_order_t *keys, size_t nkeys, const void *a, const void *b,
                  odata_get_fn get);

/* ---- the whole query ---------------------------------------------------------------------- */
typedef struct {
    odata_filter_t *filter;     /* NULL: every row */
    size_t         *select;     /* member indexes in request order; NULL: all members */
    size_t          nselect;
    odata_order_t  *orderby;    /* NULL: key order */
    size_t          norderby;
    long            top;        /* -1: no $top */
    long            skip;       /* 0 when absent */
    bool            count;      /* $count=true */
    long            skiptoken;  /* decoded $skiptoken offset, 0 when absent */
} odata_query_t;

/* Parses the query options (decoded names and values, in request order) into *q (free with
 * odata_query_free). Names not starting with '$' are custom options and are ignored.
 * Returns 0, or -1 with a message for the client in err and *q left freed: unknown or
 * unsupported system option ($expand, $apply, ...), an option given twice, a malformed
 * value, an unknown member. */
int odata_query_parse(odata_query_t *q, const char *const *names, const char *const *values,
                      size_t n, const odata_schema_t *schema, char *err, size_t err_len);
void odata_query_free(odata_query_t *q);   /* zeroes *q; safe twice */

/* ---- server-driven paging ----------------------------------------------------------------- */
/* Writes the opaque $skiptoken for "continue after `offset` rows" into buf (>= 32 bytes). */
void odata_skiptoken_encode(long offset, char *buf, size_t len);
/* Decodes a $skiptoken; the offset, or -1 when it is not one this server issued. */
long odata_skiptoken_decode(const char *token);

/* ---- key predicates ----------------------------------------------------------------------- */
/* Parses a single-key predicate "(Name='value')" or "('value')" (the text between and
 * including the parentheses, as found after the entity set name) for the string key member
 * key_name. Returns the malloc'd key value ('' unescaped), or NULL with err set. */
char *odata_key_parse(const char *text, const char *key_name, char *err, size_t err_len);
#endif
