/* ion_schema: see ion_schema.h. Field names, lengths and descriptions follow M3 (MPHEAD,
 * FAPIBH, CIDMAS) and SyteLine (po, vch_hdr, vendor) as far as public material shows them;
 * the simulator's choices are listed in docs/simulators.md. */
#include "ion_schema.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NF(a) (sizeof(a) / sizeof((a)[0]))

/* M3 statuses: PO 15 preliminary .. 85 invoiced; invoice batch 10 entered, 20 awaiting
 * approval, 90 approved. */
#define M3_PO_STATUSES "15 20 35 50 75 85"
#define M3_INV_STATUSES "10 20 90"

static const ion_field_t M3_PO_FIELDS[] = {
    {"CONO", ION_INT, 3, "Company", NULL, false},
    {"DIVI", ION_ALPHA, 3, "Division", NULL, false},
    {"PUNO", ION_ALPHA, 10, "Purchase order number", NULL, false},
    {"PUSL", ION_ALPHA, 2, "Lowest status - purchase order", M3_PO_STATUSES, false},
    {"PUST", ION_ALPHA, 2, "Highest status - purchase order", M3_PO_STATUSES, false},
    {"SLDT", ION_DATE, 8, "Status change date", NULL, false},
    {"PUDT", ION_DATE, 8, "Order date", NULL, false},
    {"SUNO", ION_ALPHA, 10, "Supplier", NULL, false},
    {"SUNM", ION_ALPHA, 36, "Supplier name", NULL, false},
    {"CUCD", ION_ALPHA, 3, "Currency", NULL, false},
    {"NTAM", ION_DEC, 17, "Net order value", NULL, false},
    {"FACI", ION_ALPHA, 3, "Facility", NULL, false},
    {"WHLO", ION_ALPHA, 3, "Warehouse", NULL, false},
    {"BUYE", ION_ALPHA, 10, "Buyer", NULL, false},
    {"LMDT", ION_DATE, 8, "Change date", NULL, false},
    {"CHNO", ION_INT, 3, "Change number", NULL, false},
    {"CHID", ION_ALPHA, 10, "Changed by", NULL, false},
};

static const ion_field_t M3_INVOICE_FIELDS[] = {
    {"CONO", ION_INT, 3, "Company", NULL, false},
    {"DIVI", ION_ALPHA, 3, "Division", NULL, false},
    {"INBN", ION_INT, 10, "Invoice batch number", NULL, false},
    {"SUNO", ION_ALPHA, 10, "Supplier", NULL, false},
    {"SUNM", ION_ALPHA, 36, "Supplier name", NULL, false},
    {"SPYN", ION_ALPHA, 10, "Payee", NULL, false},
    {"SINO", ION_ALPHA, 24, "Supplier invoice number", NULL, false},
    {"IVDT", ION_DATE, 8, "Invoice date", NULL, false},
    {"DUDT", ION_DATE, 8, "Due date", NULL, false},
    {"CUCD", ION_ALPHA, 3, "Currency", NULL, false},
    {"CUAM", ION_DEC, 17, "Foreign currency amount", NULL, false},
    {"VTAM", ION_DEC, 17, "VAT amount", NULL, false},
    {"AIT1", ION_ALPHA, 8, "Accounting dimension 1", NULL, false},
    {"AIT2", ION_ALPHA, 8, "Accounting dimension 2", NULL, false},
    {"SUPA", ION_ALPHA, 2, "Approval status", M3_INV_STATUSES, false},
    {"PUNO", ION_ALPHA, 10, "Purchase order number", NULL, false},
    {"APCD", ION_ALPHA, 10, "Authorized user", NULL, false},
    {"LMDT", ION_DATE, 8, "Change date", NULL, false},
    {"CHNO", ION_INT, 3, "Change number", NULL, false},
    {"CHID", ION_ALPHA, 10, "Changed by", NULL, false},
};

static const ion_field_t M3_SUPPLIER_FIELDS[] = {
    {"CONO", ION_INT, 3, "Company", NULL, false},
    {"SUNO", ION_ALPHA, 10, "Supplier", NULL, false},
    {"SUNM", ION_ALPHA, 36, "Supplier name", NULL, false},
    {"SUTY", ION_ALPHA, 2, "Supplier type", NULL, false},
    {"STAT", ION_ALPHA, 2, "Status", "10 20 90", false},
    {"CUCD", ION_ALPHA, 3, "Currency", NULL, false},
    {"CSCD", ION_ALPHA, 3, "Country", NULL, false},
    {"LMDT", ION_DATE, 8, "Change date", NULL, false},
    {"CHNO", ION_INT, 3, "Change number", NULL, false},
    {"CHID", ION_ALPHA, 10, "Changed by", NULL, false},
};

/* SyteLine: PO Stat P planned, O ordered, F filled, C complete; voucher Stat P pending
 * approval, A approved, H on hold, R rejected. */
static const ion_field_t SL_PO_FIELDS[] = {
    {"PoNum", ION_ALPHA, 0, NULL, NULL, false},
    {"VendNum", ION_ALPHA, 0, NULL, NULL, false},
    {"VendorName", ION_ALPHA, 0, NULL, NULL, false},
    {"OrderDate", ION_DATE, 0, NULL, NULL, false},
    {"Stat", ION_ALPHA, 0, NULL, "P O F C", true},
    {"PoTotal", ION_DEC, 0, NULL, NULL, false},
    {"CurrCode", ION_ALPHA, 0, NULL, NULL, false},
    {"Whse", ION_ALPHA, 0, NULL, NULL, true},
    {"Buyer", ION_ALPHA, 0, NULL, NULL, true},
    {"TermsCode", ION_ALPHA, 0, NULL, NULL, false},
    {"CreateDate", ION_STAMP, 0, NULL, NULL, false},
    {"CreatedBy", ION_ALPHA, 0, NULL, NULL, false},
    {"RecordDate", ION_STAMP, 0, NULL, NULL, false},
    {"UpdatedBy", ION_ALPHA, 0, NULL, NULL, false},
    {"RowPointer", ION_ALPHA, 0, NULL, NULL, false},
};

static const ion_field_t SL_VOUCHER_FIELDS[] = {
    {"Voucher", ION_INT, 0, NULL, NULL, false},
    {"VendNum", ION_ALPHA, 0, NULL, NULL, false},
    {"VendorName", ION_ALPHA, 0, NULL, NULL, false},
    {"InvNum", ION_ALPHA, 0, NULL, NULL, false},
    {"InvDate", ION_DATE, 0, NULL, NULL, false},
    {"DueDate", ION_DATE, 0, NULL, NULL, true},
    {"InvAmt", ION_DEC, 0, NULL, NULL, false},
    {"CurrCode", ION_ALPHA, 0, NULL, NULL, false},
    {"ApAcct", ION_ALPHA, 0, NULL, NULL, true},
    {"CostCenter", ION_ALPHA, 0, NULL, NULL, true},
    {"Stat", ION_ALPHA, 0, NULL, "P A H R", true},
    {"PoNum", ION_ALPHA, 0, NULL, NULL, false},
    {"CreateDate", ION_STAMP, 0, NULL, NULL, false},
    {"CreatedBy", ION_ALPHA, 0, NULL, NULL, false},
    {"RecordDate", ION_STAMP, 0, NULL, NULL, false},
    {"UpdatedBy", ION_ALPHA, 0, NULL, NULL, false},
    {"RowPointer", ION_ALPHA, 0, NULL, NULL, false},
};

static const ion_field_t SL_VENDOR_FIELDS[] = {
    {"VendNum", ION_ALPHA, 0, NULL, NULL, false},
    {"Name", ION_ALPHA, 0, NULL, NULL, true},
    {"CurrCode", ION_ALPHA, 0, NULL, NULL, false},
    {"Country", ION_ALPHA, 0, NULL, NULL, false},
    {"TermsCode", ION_ALPHA, 0, NULL, NULL, false},
    {"RecordDate", ION_STAMP, 0, NULL, NULL, false},
    {"UpdatedBy", ION_ALPHA, 0, NULL, NULL, false},
    {"RowPointer", ION_ALPHA, 0, NULL, NULL, false},
};

static const ion_table_t TABLES[ION_NTABLES] = {
    {ION_M3_PO, ION_M3, "po", NULL, NULL, M3_PO_FIELDS, NF(M3_PO_FIELDS), 2, 14},
    {ION_M3_INVOICE, ION_M3, "invoice", NULL, NULL, M3_INVOICE_FIELDS, NF(M3_INVOICE_FIELDS),
     2, 17},
    {ION_M3_SUPPLIER, ION_M3, "supplier", NULL, NULL, M3_SUPPLIER_FIELDS,
     NF(M3_SUPPLIER_FIELDS), 1, 7},
    {ION_SL_PO, ION_SL, "po", "SLPos", "po", SL_PO_FIELDS, NF(SL_PO_FIELDS), 0, 12},
    {ION_SL_VOUCHER, ION_SL, "invoice", "SLVchHdrs", "vch_hdr", SL_VOUCHER_FIELDS,
     NF(SL_VOUCHER_FIELDS), 0, 14},
    {ION_SL_VENDOR, ION_SL, "supplier", "SLVendors", "vendor", SL_VENDOR_FIELDS,
     NF(SL_VENDOR_FIELDS), 0, 5},
};

const ion_table_t *ion_table(ion_table_id_t id)
{
    return id >= 0 && id < ION_NTABLES ? &TABLES[id] : NULL;
}

const ion_table_t *ion_table_by_name(ion_system_t system, const char *name)
{
    for (int i = 0; i < ION_NTABLES; i++)
        if (TABLES[i].system == system && strcmp(TABLES[i].name, name) == 0)
            return &TABLES[i];
    return NULL;
}

const ion_table_t *ion_table_by_ido(const char *ido)
{
    for (int i = 0; i < ION_NTABLES; i++)
        if (TABLES[i].ido && strcmp(TABLES[i].ido, ido) == 0)
            return &TABLES[i];
    return NULL;
}

long ion_field_index(const ion_table_t *t, const char *name)
{
    for (size_t i = 0; i < t->nfields; i++)
        if (strcmp(t->fields[i].name, name) == 0)
            return (long)i;
    return -1;
}

/* True when s has exactly n digits (n 0: one or more). */
static bool digits(const char *s, size_t n)
{
    size_t k = strspn(s, "0123456789");
    return k > 0 && s[k] == '\0' && (n == 0 || k == n);
}

/* True when s is "-"?digits("."digits)? with at most `decimals` decimals. */
static bool decimal(const char *s, int decimals)
{
    if (*s == '-')
        s++;
    size_t k = strspn(s, "0123456789");
    if (k == 0)
        return false;
    s += k;
    if (*s == '\0')
        return true;
    if (*s != '.')
        return false;
    k = strspn(s + 1, "0123456789");
    return k > 0 && k <= (size_t)decimals && s[1 + k] == '\0';
}

/* True when s[0..7] is a calendar-plausible yyyyMMdd. */
static bool date8(const char *s)
{
    for (int i = 0; i < 8; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    int m = (s[4] - '0') * 10 + (s[5] - '0'), d = (s[6] - '0') * 10 + (s[7] - '0');
    return m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

/* True when s is "yyyyMMdd HH:mm:ss.fff" (midnight required when date_only). */
static bool ido_stamp(const char *s, bool date_only)
{
    if (strlen(s) != 21 || !date8(s) || s[8] != ' ' || s[11] != ':' || s[14] != ':' ||
        s[17] != '.')
        return false;
    static const int DIGITS[] = {9, 10, 12, 13, 15, 16, 18, 19, 20};
    for (size_t i = 0; i < NF(DIGITS); i++)
        if (!isdigit((unsigned char)s[DIGITS[i]]))
            return false;
    return !date_only || strcmp(s + 8, " 00:00:00.000") == 0;
}

/* True when value is one of the space-separated words of list. */
static bool in_list(const char *list, const char *value)
{
    size_t n = strlen(value);
    for (const char *p = list; *p;) {
        size_t w = strcspn(p, " ");
        if (w == n && strncmp(p, value, n) == 0)
            return true;
        p += w;
        p += *p == ' ';
    }
    return false;
}

/* Number of UTF-8 code points of s. */
static size_t utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

int ion_field_check(const ion_field_t *f, ion_system_t system, const char *value, char *err,
                    size_t err_len)
{
    const char *expected = NULL;
    switch (f->kind) {
    case ION_ALPHA:
        if (system == ION_M3 && utf8_len(value) > (size_t)f->len)
            expected = "at most its field length of characters";
        break;
    case ION_INT:
        if (!digits(value, 0) || (f->len && strlen(value) > (size_t)f->len))
            expected = "an unsigned integer";
        break;
    case ION_DEC:
        if (!decimal(value, system == ION_M3 ? 2 : 8))
            expected = system == ION_M3 ? "a decimal such as 1234.50" :
                                          "a decimal such as 1234.50000000";
        break;
    case ION_DATE:
        if (system == ION_M3 ? !(strlen(value) == 8 && date8(value)) : !ido_stamp(value, true))
            expected = system == ION_M3 ? "yyyyMMdd" : "yyyyMMdd 00:00:00.000";
        break;
    case ION_STAMP:
        if (!ido_stamp(value, false))
            expected = "yyyyMMdd HH:mm:ss.fff";
        break;
    }
    if (expected) {
        snprintf(err, err_len, "%s: expected %s, got '%s'", f->name, expected, value);
        return -1;
    }
    if (f->allowed && !in_list(f->allowed, value)) {
        snprintf(err, err_len, "%s: '%s' is not one of %s", f->name, value, f->allowed);
        return -1;
    }
    return 0;
}

/* Compares two unsigned integer texts (leading zeros ignored). */
static int compare_uint(const char *a, const char *b)
{
    while (*a == '0' && a[1])
        a++;
    while (*b == '0' && b[1])
        b++;
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb)
        return la < lb ? -1 : 1;
    return strcmp(a, b);
}

int ion_field_compare(const ion_field_t *f, const char *a, const char *b)
{
    if (f->kind == ION_INT && digits(a, 0) && digits(b, 0))
        return compare_uint(a, b);
    if (f->kind == ION_DEC) {
        double x = strtod(a, NULL), y = strtod(b, NULL);
        return x < y ? -1 : x > y;
    }
    return strcmp(a, b);
}

char *ion_format_time(ion_kind_t kind, ion_system_t system, int64_t ms, char *out, size_t len)
{
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    if (system == ION_M3)
        snprintf(out, len, "%04d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    else if (kind == ION_DATE)
        snprintf(out, len, "%04d%02d%02d 00:00:00.000", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday);
    else
        snprintf(out, len, "%04d%02d%02d %02d:%02d:%02d.%03d", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    return out;
}

int64_t ion_parse_time(const char *text)
{
    size_t n = strlen(text);
    if (!(n == 8 && date8(text)) && !ido_stamp(text, false))
        return -1;
    struct tm tm = {0};
    int ms = 0;
    if (sscanf(text, "%4d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3)
        return -1;
    if (n > 8 && sscanf(text + 9, "%2d:%2d:%2d.%3d", &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
                        &ms) != 4)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000 + ms;
}
