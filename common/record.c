/* record: mapping ERP rows into record_t, canonical JSON and content hash (see record.h). */
#include "record.h"

#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "util.h"

/* Decimal places kept when an amount arrives as a binary floating-point JSON number. */
#define REAL_DECIMALS 6

const char *const RECORD_FIELDS[] = {
    "kind", "erp_key", "number", "supplier_id", "supplier_name", "amount", "currency",
    "gl_account", "cost_center", "status", "doc_date", "due_date", "modified_at", "etag", NULL,
};

/* Offsets of the fields named in RECORD_FIELDS, same order. */
static const size_t FIELD_OFFSETS[] = {
    offsetof(record_t, kind),          offsetof(record_t, erp_key),
    offsetof(record_t, number),        offsetof(record_t, supplier_id),
    offsetof(record_t, supplier_name), offsetof(record_t, amount),
    offsetof(record_t, currency),      offsetof(record_t, gl_account),
    offsetof(record_t, cost_center),   offsetof(record_t, status),
    offsetof(record_t, doc_date),      offsetof(record_t, due_date),
    offsetof(record_t, modified_at),   offsetof(record_t, etag),
};
#define NFIELDS (sizeof FIELD_OFFSETS / sizeof FIELD_OFFSETS[0])
_Static_assert(NFIELDS == sizeof RECORD_FIELDS / sizeof RECORD_FIELDS[0] - 1,
               "RECORD_FIELDS and FIELD_OFFSETS must list the same fields");

static char **field_slot(record_t *r, size_t i)
{
    return (char **)((char *)r + FIELD_OFFSETS[i]);
}

static const char *field_get(const record_t *r, size_t i)
{
    return *(char *const *)((const char *)r + FIELD_OFFSETS[i]);
}

/* Fields that change without the task changing in Asana: left out of the hash. */
static bool field_hashed(size_t i)
{
    return strcmp(RECORD_FIELDS[i], "modified_at") != 0 && strcmp(RECORD_FIELDS[i], "etag") != 0;
}

char *decimal_canon(const char *s)
{
    if (!s)
        return NULL;
    while (isspace((unsigned char)*s))
        s++;
    bool neg = false;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    const char *int_start = s;
    while (isdigit((unsigned char)*s))
        s++;
    size_t int_len = (size_t)(s - int_start);
    const char *frac_start = s;
    size_t frac_len = 0;
    if (*s == '.') {
        frac_start = ++s;
        while (isdigit((unsigned char)*s))
            s++;
        frac_len = (size_t)(s - frac_start);
        if (frac_len == 0)
            return NULL;
    }
    while (isspace((unsigned char)*s))
        s++;
    if (*s || int_len == 0)
        return NULL;
    while (int_len > 1 && *int_start == '0') {
        int_start++;
        int_len--;
    }
    while (frac_len > 0 && frac_start[frac_len - 1] == '0')
        frac_len--;
    if (int_len == 1 && *int_start == '0' && frac_len == 0)
        neg = false; /* "-0.00" is zero */
    return xasprintf("%s%.*s%s%.*s", neg ? "-" : "", (int)int_len, int_start,
                     frac_len ? "." : "", (int)frac_len, frac_start);
}

/* Rounds canonical decimal text to at most places fractional digits, half away from zero.
 * Takes ownership of canon (NULL passes through); returns malloc'd canonical text. */
static char *decimal_round(char *canon, int places)
{
    char *dot = canon ? strchr(canon, '.') : NULL;
    if (!dot || (int)strlen(dot + 1) <= places)
        return canon;
    bool up = dot[1 + places] >= '5';
    dot[1 + places] = '\0';
    if (up) {
        /* Add one unit in the last kept place, carrying leftwards over '9's. */
        ptrdiff_t i = (ptrdiff_t)strlen(canon) - 1;
        for (; i >= 0 && (canon[i] == '9' || canon[i] == '.'); i--)
            if (canon[i] == '9')
                canon[i] = '0';
        if (i >= 0 && canon[i] != '-') {
            canon[i]++;
        } else { /* carried out of the leading digit: prefix a '1' after the sign */
            bool neg = canon[0] == '-';
            char *grown = xasprintf("%s1%s", neg ? "-" : "", canon + neg);
            free(canon);
            canon = grown;
        }
    }
    char *out = decimal_canon(canon);
    free(canon);
    return out;
}

/* Text of a JSON number: integers as is, reals via %.17g rounded to REAL_DECIMALS places. */
static char *number_text(const json_t *v)
{
    if (json_is_integer(v))
        return xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.17g", json_real_value(v));
    if (strpbrk(tmp, "eE")) /* very large or tiny: plain notation is what we need */
        snprintf(tmp, sizeof tmp, "%.*f", REAL_DECIMALS, json_real_value(v));
    return decimal_round(decimal_canon(tmp), REAL_DECIMALS);
}

/* Calendar date "YYYY-MM-DD" from "YYYYMMDD" or an ISO date/timestamp. Returns malloc'd text,
 * NULL (with *bad = false) for an all-zero M3 "no date", or NULL with *bad = true. */
static char *date_text(const char *s, bool *bad)
{
    size_t n = strlen(s);
    *bad = false;
    if (strspn(s, "0") == n)
        return NULL;
    int y, m, d;
    char tail;
    if (n == 8 && strspn(s, "0123456789") == 8)
        tail = sscanf(s, "%4d%2d%2d", &y, &m, &d) == 3 ? 0 : 1;
    else if (n >= 10 && strspn(s, "0123456789") == 4 && s[4] == '-' && isdigit((unsigned char)s[5]) &&
             isdigit((unsigned char)s[6]) && s[7] == '-' && isdigit((unsigned char)s[8]) &&
             isdigit((unsigned char)s[9]) && (n == 10 || s[10] == 'T' || s[10] == ' '))
        tail = sscanf(s, "%4d-%2d-%2d", &y, &m, &d) == 3 ? 0 : 1;
    else
        tail = 1;
    if (tail || m < 1 || m > 12 || d < 1 || d > 31) {
        *bad = true;
        return NULL;
    }
    return xasprintf("%04d-%02d-%02d", y, m, d);
}

/* Text of one row member for field: trimmed string or number/boolean text; NULL when null,
 * absent or empty. Returns 0, or -1 with err for objects/arrays, bad amounts and bad dates. */
static int member_text(const json_t *v, const char *field, const char *member, char **out,
                       char *err, size_t err_len)
{
    char *text = NULL;
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (json_is_string(v))
        text = str_trim_dup(json_string_value(v));
    else if (json_is_number(v))
        text = number_text(v);
    else if (json_is_boolean(v))
        text = xstrdup(json_is_true(v) ? "true" : "false");
    else {
        snprintf(err, err_len, "%s: must be a string or number (mapped to %s)", member, field);
        return -1;
    }
    if (!*text) {
        free(text);
        return 0;
    }
    const char *problem = NULL;
    if (strcmp(field, "amount") == 0) {
        char *canon = decimal_canon(text);
        if (!canon)
            problem = "not a decimal";
        else {
            free(text);
            text = canon;
        }
    } else if (strcmp(field, "doc_date") == 0 || strcmp(field, "due_date") == 0) {
        bool bad;
        char *date = date_text(text, &bad);
        if (bad)
            problem = "not a date";
        else {
            free(text);
            text = date;
        }
    }
    if (problem) {
        snprintf(err, err_len, "%s: %s (\"%.40s\", mapped to %s)", member, problem, text, field);
        free(text);
        return -1;
    }
    *out = text;
    return 0;
}

int record_map(const json_t *row, const json_t *fieldmap, const char *kind, record_t *out,
               char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(row)) {
        snprintf(err, err_len, "row: must be a JSON object");
        return -1;
    }
    out->kind = xstrdup(kind);
    for (size_t i = 1; i < NFIELDS; i++) { /* 0 is kind */
        const char *field = RECORD_FIELDS[i];
        const char *member = json_string_value(json_object_get(fieldmap, field));
        bool required = strcmp(field, "erp_key") == 0 || strcmp(field, "number") == 0;
        if (!member) {
            if (!required)
                continue;
            snprintf(err, err_len, "map.%s: missing", field);
            goto fail;
        }
        char **slot = field_slot(out, i);
        if (member_text(json_object_get(row, member), field, member, slot, err, err_len) < 0)
            goto fail;
        if (required && !*slot) {
            snprintf(err, err_len, "%s: missing (mapped to %s)", member, field);
            goto fail;
        }
    }
    return 0;
fail:
    record_free(out);
    return -1;
}

char *record_canonical_json(const record_t *r)
{
    json_t *obj = json_object();
    for (size_t i = 0; i < NFIELDS; i++) {
        const char *v = field_get(r, i);
        if (v && field_hashed(i))
            json_object_set_new(obj, RECORD_FIELDS[i], json_string(v));
    }
    char *s = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(obj);
    return s;
}

void record_hash(const record_t *r, char out[65])
{
    char *canon = record_canonical_json(r);
    sha256_hex(canon, strlen(canon), out);
    free(canon);
}

json_t *record_to_json(const record_t *r)
{
    json_t *obj = json_object();
    for (size_t i = 0; i < NFIELDS; i++) {
        const char *v = field_get(r, i);
        if (v)
            json_object_set_new(obj, RECORD_FIELDS[i], json_string(v));
    }
    return obj;
}

/* Returns 0, or -1 (out zeroed) when obj is not an object, a field is neither a string nor
 * null, or kind, erp_key or number is missing. */
int record_from_json(const json_t *obj, record_t *out)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(obj))
        return -1;
    for (size_t i = 0; i < NFIELDS; i++) {
        const json_t *v = json_object_get(obj, RECORD_FIELDS[i]);
        if (!v || json_is_null(v))
            continue;
        if (!json_is_string(v)) {
            record_free(out);
            return -1;
        }
        *field_slot(out, i) = xstrdup(json_string_value(v));
    }
    if (!out->kind || !out->erp_key || !out->number) {
        record_free(out);
        return -1;
    }
    return 0;
}

char *record_ref(const record_t *r)
{
    return xasprintf("%s:%s", r->kind ? r->kind : "", r->erp_key ? r->erp_key : "");
}

void record_free(record_t *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < NFIELDS; i++)
        free(*field_slot(r, i));
    memset(r, 0, sizeof *r);
}
