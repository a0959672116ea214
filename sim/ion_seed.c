/* ion_seed: see ion_seed.h. Every row draws from its own splitmix64 stream keyed by
 * (random_seed, table, index); suppliers are drawn the same way, so a PO names its supplier
 * consistently without reading the supplier table. */
#include "ion_seed.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_dice.h"
#include "util.h"

static const char *const NAME_FIRST[] = {
    "Alder", "Birch", "Cedar", "Dune", "Ember", "Falcon", "Glacier", "Heron", "Indigo",
    "Jasper", "Kestrel", "Larch", "Maple", "Nimbus", "Osprey", "Pinnacle", "Quarry", "Raven",
    "Sierra", "Tundra", "Umber", "Willow",
};
static const char *const NAME_SECOND[] = {
    "Metals", "Machining", "Freight", "Cartons", "Controls", "Castings", "Coatings", "Fabrics",
    "Bearings", "Pumps", "Polymers", "Stationery",
};
/* Supplier currencies: legal form, country, VAT percent. */
static const struct { const char *code, *form, *country; int vat; } CURRENCIES[] = {
    {"EUR", "GmbH", "DE", 19}, {"USD", "Inc.", "US", 0}, {"SEK", "AB", "SE", 25},
    {"GBP", "Ltd", "GB", 20},
};
static const char *const TERMS[] = {"N30", "N45", "N60"};
static const char *const M3_GL[] = {"4010", "4020", "4030", "4100", "5010", "5020", "6100",
                                    "6200"};
static const char *const SL_GL[] = {"510000", "511000", "520000", "530000", "610000", "620000"};
static const char *const COST_CENTERS[] = {"CC100", "CC110", "CC200", "CC210", "CC300",
                                           "CC400", "CC500"};
static const char *const FACILITIES[] = {"A01", "A02", "B01"};
static const char *const WAREHOUSES[] = {"W10", "W20", "W30"};
static const char *const SL_WAREHOUSES[] = {"MAIN", "EAST", "WEST"};
static const char *const BUYERS[] = {"JSMITH", "KLINDQVIST", "MBROWN", "PNOVAK", "RSATO"};
static const char *const CLERKS[] = {"APCLERK1", "APCLERK2", "BATCH", "JSMITH", "MBROWN"};
/* Statuses with a weight (percent). */
typedef struct { const char *value; int weight; } weighted_t;
static const weighted_t M3_PO_STATUS[] = {
    {"15", 10}, {"20", 30}, {"35", 25}, {"50", 15}, {"75", 10}, {"85", 10}, {NULL, 0},
};
static const weighted_t M3_INV_STATUS[] = {{"10", 30}, {"20", 45}, {"90", 25}, {NULL, 0}};
static const weighted_t SL_PO_STATUS[] = {{"P", 20}, {"O", 45}, {"F", 20}, {"C", 15}, {NULL, 0}};
static const weighted_t SL_VCH_STATUS[] = {{"P", 45}, {"A", 35}, {"H", 15}, {"R", 5}, {NULL, 0}};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define PICK(rng, a) ((a)[sim_splitmix64(rng) % COUNT(a)])
#define DAY_MS (86400LL * 1000)

static uint64_t stream(const ion_seed_t *s, ion_table_id_t t, long i)
{
    uint64_t st = s->random_seed ^ ((uint64_t)(t + 1) << 52) ^
                  ((uint64_t)i * 0xD1B54A32D192ED03ull);
    sim_splitmix64(&st);
    return st;
}

static const char *pick_weighted(uint64_t *rng, const weighted_t *w)
{
    int r = (int)(sim_splitmix64(rng) % 100);
    for (; w[1].value; w++) {
        if (r < w->weight)
            return w->value;
        r -= w->weight;
    }
    return w->value;
}

typedef struct {
    char number[24];
    char name[64];
    int  currency;   /* index into CURRENCIES */
    int  terms;
} supplier_t;

/* Supplier idx of system: M3 "S1001".., SyteLine "V001001"... */
static void supplier_profile(const ion_seed_t *s, ion_system_t sys, long idx, supplier_t *out)
{
    uint64_t rng = stream(s, sys == ION_M3 ? ION_M3_SUPPLIER : ION_SL_VENDOR, idx);
    out->currency = (int)(sim_splitmix64(&rng) % COUNT(CURRENCIES));
    out->terms = (int)(sim_splitmix64(&rng) % COUNT(TERMS));
    if (sys == ION_M3)
        snprintf(out->number, sizeof out->number, "S%ld", 1001 + idx);
    else
        snprintf(out->number, sizeof out->number, "V%06ld", 1001 + idx);
    /* The two words walk different strides so the first few hundred names differ. */
    snprintf(out->name, sizeof out->name, "%s %s %s",
             NAME_FIRST[(size_t)idx % COUNT(NAME_FIRST)],
             NAME_SECOND[((size_t)idx * 7 + (size_t)idx / COUNT(NAME_FIRST)) %
                         COUNT(NAME_SECOND)],
             CURRENCIES[out->currency].form);
}

/* A random supplier of system among the seeded ones. */
static void any_supplier(const ion_seed_t *s, ion_system_t sys, uint64_t *rng, supplier_t *out)
{
    long n = s->rows[sys == ION_M3 ? ION_M3_SUPPLIER : ION_SL_VENDOR];
    supplier_profile(s, sys, (long)(sim_splitmix64(rng) % (uint64_t)(n > 0 ? n : 1)), out);
}

/* An amount in cents between 100.00 and about 900,000.00, skewed to smaller values. */
static int64_t draw_cents(uint64_t *rng)
{
    int64_t base = 100 + (int64_t)(sim_splitmix64(rng) % 900);
    for (int mag = (int)(sim_splitmix64(rng) % 4); mag > 0; mag--)
        base *= 10;
    return base * 100 + (int64_t)(sim_splitmix64(rng) % 100);
}

/* The row under construction: values by field name. */
typedef struct {
    const ion_table_t *t;
    char             **vals;
} builder_t;

static void put(builder_t *b, const char *field, const char *value)
{
    long i = ion_field_index(b->t, field);
    if (i < 0)
        abort();   /* a seeding bug: the schema has no such field */
    free(b->vals[i]);
    b->vals[i] = xstrdup(value);
}

static void putf(builder_t *b, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void putf(builder_t *b, const char *field, const char *fmt, ...)
{
    char buf[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    put(b, field, buf);
}

static void put_time(builder_t *b, const char *field, int64_t ms)
{
    char buf[32];
    const ion_field_t *f = &b->t->fields[ion_field_index(b->t, field)];
    put(b, field, ion_format_time(f->kind, b->t->system, ms, buf, sizeof buf));
}

/* Amount in cents as M3 ("1234.50") or SyteLine ("1234.50000000") text. */
static void put_cents(builder_t *b, const char *field, int64_t cents)
{
    putf(b, field, "%lld.%02lld%s", (long long)(cents / 100), (long long)(cents % 100),
         b->t->system == ION_M3 ? "" : "000000");
}

/* An uppercase uniqueidentifier drawn from rng. */
static void put_row_pointer(builder_t *b, uint64_t *rng)
{
    uint64_t x = sim_splitmix64(rng), y = sim_splitmix64(rng);
    putf(b, "RowPointer", "%08X-%04X-4%03X-%04X-%012llX", (unsigned)(x >> 32),
         (unsigned)(x >> 16) & 0xFFFF, (unsigned)x & 0xFFF,
         0x8000u | ((unsigned)(y >> 48) & 0x3FFF), (unsigned long long)(y & 0xFFFFFFFFFFFFull));
}

static void m3_common(builder_t *b, const ion_seed_t *s, uint64_t *rng, int64_t modified)
{
    put(b, "CONO", s->company);
    if (ion_field_index(b->t, "DIVI") >= 0)
        put(b, "DIVI", s->division);
    put_time(b, "LMDT", modified);
    putf(b, "CHNO", "%d", 1 + (int)(sim_splitmix64(rng) % 5));
    put(b, "CHID", PICK(rng, CLERKS));
}

static void sl_common(builder_t *b, uint64_t *rng, int64_t created, int64_t modified)
{
    if (ion_field_index(b->t, "CreateDate") >= 0) {
        put_time(b, "CreateDate", created);
        put(b, "CreatedBy", PICK(rng, BUYERS));
    }
    put_time(b, "RecordDate", modified);
    put(b, "UpdatedBy", PICK(rng, CLERKS));
    put_row_pointer(b, rng);
}

char **ion_seed_row(const ion_seed_t *s, ion_table_id_t table, long i, int64_t now_ms)
{
    const ion_table_t *t = ion_table(table);
    builder_t b = {t, xcalloc(t->nfields, sizeof(char *))};
    uint64_t rng = stream(s, table, i);
    int64_t modified = now_ms - (int64_t)(sim_splitmix64(&rng) % (uint64_t)(30 * DAY_MS));
    int64_t doc = modified - (int64_t)(sim_splitmix64(&rng) % 20) * DAY_MS;
    supplier_t sup;
    if (table == ION_M3_SUPPLIER || table == ION_SL_VENDOR)
        supplier_profile(s, t->system, i, &sup);
    else
        any_supplier(s, t->system, &rng, &sup);
    int64_t cents = draw_cents(&rng);
    char year[32];   /* of the document date: "2026" */
    ion_format_time(ION_DATE, ION_M3, doc, year, sizeof year);
    year[4] = '\0';
    switch (table) {
    case ION_M3_PO: {
        putf(&b, "PUNO", "%010ld", 4001 + i);
        const char *high = pick_weighted(&rng, M3_PO_STATUS);
        bool split = high[0] != '1' && sim_splitmix64(&rng) % 4 == 0;
        put(&b, "PUST", high);
        put(&b, "PUSL", split ? M3_PO_STATUS[0].value : high);
        put_time(&b, "SLDT", doc + (modified - doc) / 2);
        put_time(&b, "PUDT", doc);
        put(&b, "SUNO", sup.number);
        put(&b, "SUNM", sup.name);
        put(&b, "CUCD", CURRENCIES[sup.currency].code);
        put_cents(&b, "NTAM", cents);
        put(&b, "FACI", PICK(&rng, FACILITIES));
        put(&b, "WHLO", PICK(&rng, WAREHOUSES));
        put(&b, "BUYE", PICK(&rng, BUYERS));
        m3_common(&b, s, &rng, modified);
        break;
    }
    case ION_M3_INVOICE: {
        putf(&b, "INBN", "%ld", 1 + i);
        put(&b, "SUNO", sup.number);
        put(&b, "SUNM", sup.name);
        put(&b, "SPYN", sup.number);
        putf(&b, "SINO", "INV-%s-%05ld", year, 1 + i);
        put_time(&b, "IVDT", doc);
        put_time(&b, "DUDT", doc + 30 * DAY_MS);
        put(&b, "CUCD", CURRENCIES[sup.currency].code);
        put_cents(&b, "CUAM", cents);
        int vat = CURRENCIES[sup.currency].vat;
        put_cents(&b, "VTAM", (cents * vat + (100 + vat) / 2) / (100 + vat));
        put(&b, "AIT1", PICK(&rng, M3_GL));
        put(&b, "AIT2", PICK(&rng, COST_CENTERS));
        const char *supa = pick_weighted(&rng, M3_INV_STATUS);
        put(&b, "SUPA", supa);
        long pos = s->rows[ION_M3_PO];
        if (pos > 0)
            putf(&b, "PUNO", "%010ld", 4001 + (long)(sim_splitmix64(&rng) % (uint64_t)pos));
        put(&b, "APCD", strcmp(supa, "90") == 0 ? PICK(&rng, BUYERS) : "");
        m3_common(&b, s, &rng, modified);
        break;
    }
    case ION_M3_SUPPLIER:
        put(&b, "SUNO", sup.number);
        put(&b, "SUNM", sup.name);
        put(&b, "SUTY", "10");
        put(&b, "STAT", "20");
        put(&b, "CUCD", CURRENCIES[sup.currency].code);
        put(&b, "CSCD", CURRENCIES[sup.currency].country);
        m3_common(&b, s, &rng, modified);
        break;
    case ION_SL_PO: {
        putf(&b, "PoNum", "PO%08ld", 4001 + i);
        put(&b, "VendNum", sup.number);
        put(&b, "VendorName", sup.name);
        put_time(&b, "OrderDate", doc);
        put(&b, "Stat", pick_weighted(&rng, SL_PO_STATUS));
        put_cents(&b, "PoTotal", cents);
        put(&b, "CurrCode", CURRENCIES[sup.currency].code);
        put(&b, "Whse", PICK(&rng, SL_WAREHOUSES));
        put(&b, "Buyer", PICK(&rng, BUYERS));
        put(&b, "TermsCode", TERMS[sup.terms]);
        sl_common(&b, &rng, doc + (int64_t)(sim_splitmix64(&rng) % DAY_MS), modified);
        break;
    }
    case ION_SL_VOUCHER: {
        putf(&b, "Voucher", "%ld", 1 + i);
        put(&b, "VendNum", sup.number);
        put(&b, "VendorName", sup.name);
        putf(&b, "InvNum", "VI-%s-%05ld", year, 1 + i);
        put_time(&b, "InvDate", doc);
        put_time(&b, "DueDate", doc + 30 * DAY_MS);
        put_cents(&b, "InvAmt", cents);
        put(&b, "CurrCode", CURRENCIES[sup.currency].code);
        put(&b, "ApAcct", PICK(&rng, SL_GL));
        put(&b, "CostCenter", PICK(&rng, COST_CENTERS));
        put(&b, "Stat", pick_weighted(&rng, SL_VCH_STATUS));
        long pos = s->rows[ION_SL_PO];
        if (pos > 0)
            putf(&b, "PoNum", "PO%08ld", 4001 + (long)(sim_splitmix64(&rng) % (uint64_t)pos));
        sl_common(&b, &rng, doc + (int64_t)(sim_splitmix64(&rng) % DAY_MS), modified);
        break;
    }
    case ION_SL_VENDOR:
        put(&b, "VendNum", sup.number);
        put(&b, "Name", sup.name);
        put(&b, "CurrCode", CURRENCIES[sup.currency].code);
        put(&b, "Country", CURRENCIES[sup.currency].country);
        put(&b, "TermsCode", TERMS[sup.terms]);
        sl_common(&b, &rng, 0, modified);
        break;
    default:
        abort();
    }
    for (size_t f = 0; f < t->nfields; f++)
        if (!b.vals[f])
            b.vals[f] = xstrdup("");
    return b.vals;
}

void ion_seed_row_free(char **row, ion_table_id_t table)
{
    if (!row)
        return;
    for (size_t f = 0; f < ion_table(table)->nfields; f++)
        free(row[f]);
    free(row);
}

void ion_seed_init(ion_seed_t *s)
{
    memset(s, 0, sizeof *s);
    s->rows[ION_M3_PO] = 300;
    s->rows[ION_M3_INVOICE] = 100;
    s->rows[ION_M3_SUPPLIER] = 30;
    s->rows[ION_SL_PO] = 200;
    s->rows[ION_SL_VOUCHER] = 100;
    s->rows[ION_SL_VENDOR] = 30;
    snprintf(s->company, sizeof s->company, "100");
    snprintf(s->division, sizeof s->division, "AAA");
    s->random_seed = 42;
}

/* The count members of a system object, in the order of the system's tables. */
static const char *const COUNT_NAMES[] = {"pos", "invoices", "suppliers"};

/* Reads {"pos","invoices","suppliers"} of system member sys_name into t. 0 or -1 with err. */
static int parse_counts(const json_t *obj, const char *sys_name, ion_table_id_t first,
                        ion_seed_t *t, char *err, size_t err_len)
{
    if (!json_is_object(obj)) {
        snprintf(err, err_len, "seed.%s: must be an object", sys_name);
        return -1;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        size_t i = 0;
        while (i < COUNT(COUNT_NAMES) && strcmp(k, COUNT_NAMES[i]) != 0)
            i++;
        if (i == COUNT(COUNT_NAMES)) {
            snprintf(err, err_len, "seed.%s.%s: unknown member (known: pos invoices suppliers)",
                     sys_name, k);
            return -1;
        }
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > 1000000) {
            snprintf(err, err_len, "seed.%s.%s: must be an integer from 0 to 1000000",
                     sys_name, k);
            return -1;
        }
        t->rows[first + (int)i] = (long)json_integer_value(v);
    }
    return 0;
}

/* Reads a code member (1..3 characters, no spaces) into out. 0 or -1 with err. */
static int parse_code(const json_t *v, const char *name, size_t max, char *out, size_t out_len,
                      char *err, size_t err_len)
{
    const char *s = json_string_value(v);
    if (!s || !*s || strlen(s) > max || strchr(s, ' ')) {
        snprintf(err, err_len, "seed.%s: must be a string of 1 to %zu characters without "
                 "spaces", name, max);
        return -1;
    }
    snprintf(out, out_len, "%s", s);
    return 0;
}

int ion_seed_parse(ion_seed_t *s, const json_t *obj, char *err, size_t err_len)
{
    if (!json_is_object(obj)) {
        snprintf(err, err_len, "seed: must be an object");
        return -1;
    }
    ion_seed_t t = *s;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        int rc;
        if (strcmp(k, "m3") == 0)
            rc = parse_counts(v, k, ION_M3_PO, &t, err, err_len);
        else if (strcmp(k, "syteline") == 0)
            rc = parse_counts(v, k, ION_SL_PO, &t, err, err_len);
        else if (strcmp(k, "company") == 0)
            rc = parse_code(v, k, 3, t.company, sizeof t.company, err, err_len);
        else if (strcmp(k, "division") == 0)
            rc = parse_code(v, k, 3, t.division, sizeof t.division, err, err_len);
        else if (strcmp(k, "random_seed") == 0 && json_is_integer(v))
            rc = (t.random_seed = (uint64_t)json_integer_value(v), 0);
        else if (strcmp(k, "random_seed") == 0)
            rc = (snprintf(err, err_len, "seed.random_seed: must be an integer"), -1);
        else
            rc = (snprintf(err, err_len, "seed.%s: unknown member (known: m3 syteline company "
                           "division random_seed)", k), -1);
        if (rc < 0)
            return -1;
    }
    if (!t.company[0] || strspn(t.company, "0123456789") != strlen(t.company)) {
        snprintf(err, err_len, "seed.company: must be digits (M3 CONO)");
        return -1;
    }
    *s = t;
    return 0;
}

json_t *ion_seed_json(const ion_seed_t *s)
{
    json_t *sys[2];
    for (int k = 0; k < 2; k++) {
        ion_table_id_t first = k == 0 ? ION_M3_PO : ION_SL_PO;
        sys[k] = json_object();
        for (size_t i = 0; i < COUNT(COUNT_NAMES); i++)
            json_object_set_new(sys[k], COUNT_NAMES[i], json_integer(s->rows[first + (int)i]));
    }
    return json_pack("{s:I,s:s,s:s,s:o,s:o}", "random_seed", (json_int_t)s->random_seed,
                     "company", s->company, "division", s->division, "m3", sys[0], "syteline",
                     sys[1]);
}
