/* ifs_seed: see ifs_seed.h. Every row draws from its own splitmix64 stream keyed by
 * (random_seed, set, index); suppliers are drawn the same way, so a PO names its vendor
 * consistently without the supplier table. */
#include "ifs_seed.h"

#include <stdio.h>
#include <string.h>

#include "sim_dice.h"
#include "util.h"

static const char *const NAME_FIRST[] = {
    "Nordic", "Atlas", "Baltic", "Cobalt", "Delta", "Evergreen", "Fjord", "Granite",
    "Harbor", "Iron", "Juniper", "Keystone", "Lumen", "Meridian", "Northwind", "Orion",
    "Pioneer", "Quantum", "Riverside", "Summit", "Titan", "Vector",
};
static const char *const NAME_SECOND[] = {
    "Steel", "Components", "Logistics", "Packaging", "Electronics", "Tooling",
    "Chemicals", "Textiles", "Fasteners", "Hydraulics", "Plastics", "Office Supply",
};
/* Currencies with the legal form of a supplier billing in it and its VAT rate in percent. */
static const struct { const char *code, *form; int vat; } CURRENCIES[] = {
    {"EUR", "GmbH", 19}, {"USD", "Inc.", 0}, {"SEK", "AB", 25}, {"GBP", "Ltd", 20},
};
static const char *const GL_ACCOUNTS[] = {
    "4010", "4020", "4030", "4100", "4110", "4200", "4300", "4400", "5010", "5020", "6100", "6200",
};
static const char *const COST_CENTERS[] = {
    "CC100", "CC110", "CC200", "CC210", "CC300", "CC310", "CC400", "CC500",
};
static const char *const SITES[] = {"MAIN", "NORTH", "SOUTH"};
static const char *const BUYERS[] = {"JSMITH", "MLARSSON", "AKOWALSKI", "PDUBOIS", "TNAKAMURA"};
static const char *const AUTHORIZERS[] = {"ADAMS", "BERG", "CHEN", "DUPONT"};
/* States with a weight (percent). */
typedef struct { const char *state; int weight; } weighted_t;
static const weighted_t PO_STATES[] = {
    {"Planned", 15}, {"Released", 35}, {"Confirmed", 25}, {"Arrived", 10}, {"Received", 10},
    {"Closed", 5}, {NULL, 0},
};
static const weighted_t INV_STATES[] = {
    {"Preliminary", 30}, {"AwaitAuthorization", 35}, {"Authorized", 15}, {"Posted", 15},
    {"Paid", 5}, {NULL, 0},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define PICK(rng, a) ((a)[sim_splitmix64(rng) % COUNT(a)])
#define DAY 86400

static uint64_t stream(const ifs_seed_t *s, ifs_set_id_t set, long i)
{
    uint64_t st = s->random_seed ^ ((uint64_t)(set + 1) << 56) ^
                  ((uint64_t)i * 0xD1B54A32D192ED03ull);
    sim_splitmix64(&st);
    return st;
}

static const char *pick_weighted(uint64_t *rng, const weighted_t *w)
{
    int r = (int)(sim_splitmix64(rng) % 100);
    for (; w[1].state; w++) {
        if (r < w->weight)
            return w->state;
        r -= w->weight;
    }
    return w->state;
}

typedef struct {
    char vendor_no[24];
    char name[64];
    int  currency;      /* index into CURRENCIES */
} supplier_t;

static void supplier_profile(const ifs_seed_t *s, long idx, supplier_t *out)
{
    uint64_t rng = stream(s, IFS_SUPPLIER, idx);
    out->currency = (int)(sim_splitmix64(&rng) % COUNT(CURRENCIES));
    /* First and second words walk different strides so the first 40+ names differ. */
    snprintf(out->vendor_no, sizeof out->vendor_no, "S%ld", 1001 + idx);
    snprintf(out->name, sizeof out->name, "%s %s %s",
             NAME_FIRST[(size_t)idx % COUNT(NAME_FIRST)],
             NAME_SECOND[((size_t)idx * 5 + sim_splitmix64(&rng) % 2) % COUNT(NAME_SECOND)],
             CURRENCIES[out->currency].form);
}

static const char *company_of(const ifs_seed_t *s, long i)
{
    return s->company ? s->company : s->companies[(size_t)i % s->ncompanies];
}

static void set_date(json_t *row, const char *member, int64_t sec)
{
    char buf[32];
    iso8601_s(sec, buf, sizeof buf);
    buf[10] = '\0';
    json_object_set_new(row, member, json_string(buf));
}

static void set_cents(json_t *row, const char *member, int64_t cents)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld.%02lld", (long long)(cents / 100), (long long)(cents % 100));
    json_object_set_new(row, member, json_string(buf));
}

/* An amount in cents between 100.00 and about 900,000.00, skewed to smaller values. */
static int64_t draw_cents(uint64_t *rng)
{
    int64_t base = 100 + (int64_t)(sim_splitmix64(rng) % 900);
    for (int mag = (int)(sim_splitmix64(rng) % 4); mag > 0; mag--)
        base *= 10;
    return base * 100 + (int64_t)(sim_splitmix64(rng) % 100);
}

json_t *ifs_seed_row(const ifs_seed_t *s, ifs_set_id_t set, long i, int64_t now_s)
{
    uint64_t rng = stream(s, set, i);
    json_t *row = json_object();
    char buf[64];
    int64_t changed = now_s - (int64_t)(sim_splitmix64(&rng) % (30 * DAY));
    iso8601_s(changed, buf, sizeof buf);
    json_object_set_new(row, "ChangedDate", json_string(buf));
    if (set == IFS_SUPPLIER) {
        supplier_t sup;
        supplier_profile(s, i, &sup);
        json_object_set_new(row, "VendorNo", json_string(sup.vendor_no));
        json_object_set_new(row, "VendorName", json_string(sup.name));
        return row;
    }
    supplier_t sup;
    uint64_t nsup = (uint64_t)(s->suppliers > 0 ? s->suppliers : 1);
    supplier_profile(s, (long)(sim_splitmix64(&rng) % nsup), &sup);
    int64_t net = draw_cents(&rng);
    int64_t doc_date = changed - (int64_t)(sim_splitmix64(&rng) % 15) * DAY;
    const char *gl = PICK(&rng, GL_ACCOUNTS), *cc = PICK(&rng, COST_CENTERS);
    json_object_set_new(row, "Company", json_string(company_of(s, i)));
    json_object_set_new(row, "CodeA", json_string(gl));
    json_object_set_new(row, "CodeB", json_string(cc));
    if (set == IFS_PO) {
        snprintf(buf, sizeof buf, "%ld", 4501 + i);
        json_object_set_new(row, "OrderNo", json_string(buf));
        json_object_set_new(row, "VendorNo", json_string(sup.vendor_no));
        json_object_set_new(row, "VendorName", json_string(sup.name));
        set_date(row, "OrderDate", doc_date);
        json_object_set_new(row, "Objstate", json_string(pick_weighted(&rng, PO_STATES)));
        json_object_set_new(row, "CurrencyCode", json_string(CURRENCIES[sup.currency].code));
        set_cents(row, "NetAmtCurr", net);
        json_object_set_new(row, "Contract", json_string(PICK(&rng, SITES)));
        json_object_set_new(row, "BuyerCode", json_string(PICK(&rng, BUYERS)));
        json_object_set_new(row, "AuthorizeCode", json_string(PICK(&rng, AUTHORIZERS)));
        return row;
    }
    snprintf(buf, sizeof buf, "%ld", 1 + i);
    json_object_set_new(row, "InvoiceId", json_string(buf));
    snprintf(buf, sizeof buf, "SI-2026-%05ld", 1 + i);
    json_object_set_new(row, "InvoiceNo", json_string(buf));
    json_object_set_new(row, "Identity", json_string(sup.vendor_no));
    json_object_set_new(row, "IdentityName", json_string(sup.name));
    set_date(row, "InvoiceDate", doc_date);
    set_date(row, "DueDate", doc_date + 30 * DAY);
    json_object_set_new(row, "Objstate", json_string(pick_weighted(&rng, INV_STATES)));
    json_object_set_new(row, "Currency", json_string(CURRENCIES[sup.currency].code));
    set_cents(row, "NetAmount", net);
    set_cents(row, "GrossAmount", net + (net * CURRENCIES[sup.currency].vat + 50) / 100);
    return row;
}

void ifs_seed_init(ifs_seed_t *s)
{
    memset(s, 0, sizeof *s);
    s->pos = 500;
    s->invoices = 200;
    s->suppliers = 40;
    s->companies = xmalloc(sizeof *s->companies);
    s->companies[0] = xstrdup("10");
    s->ncompanies = 1;
    s->random_seed = 42;
}

void ifs_seed_copy(ifs_seed_t *dst, const ifs_seed_t *src)
{
    *dst = *src;
    dst->company = xstrdup(src->company);
    dst->companies = xmalloc(src->ncompanies * sizeof *dst->companies);
    for (size_t i = 0; i < src->ncompanies; i++)
        dst->companies[i] = xstrdup(src->companies[i]);
}

void ifs_seed_free(ifs_seed_t *s)
{
    free(s->company);
    for (size_t i = 0; i < s->ncompanies; i++)
        free(s->companies[i]);
    free(s->companies);
    memset(s, 0, sizeof *s);
}

long ifs_seed_count(const ifs_seed_t *s, ifs_set_id_t set)
{
    return set == IFS_PO ? s->pos : set == IFS_INVOICE ? s->invoices : s->suppliers;
}

/* Reads a count member into *out: 0 ok (absent leaves *out), -1 with err. */
static int count_member(const json_t *obj, const char *name, long max, long *out, char *err,
                        size_t err_len)
{
    json_t *v = json_object_get(obj, name);
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max) {
        snprintf(err, err_len, "seed.%s: must be an integer from 0 to %ld", name, max);
        return -1;
    }
    *out = (long)json_integer_value(v);
    return 0;
}

int ifs_seed_parse(ifs_seed_t *s, const json_t *obj, char *err, size_t err_len)
{
    if (!json_is_object(obj)) {
        snprintf(err, err_len, "seed: must be an object");
        return -1;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        if (strcmp(k, "pos") && strcmp(k, "invoices") && strcmp(k, "suppliers") &&
            strcmp(k, "company") && strcmp(k, "companies") && strcmp(k, "random_seed")) {
            snprintf(err, err_len, "seed.%s: unknown member (known: pos invoices suppliers "
                     "company companies random_seed)", k);
            return -1;
        }
    }
    ifs_seed_t t;
    ifs_seed_copy(&t, s);
    json_t *company = json_object_get(obj, "company");
    json_t *companies = json_object_get(obj, "companies");
    json_t *seed = json_object_get(obj, "random_seed");
    int rc = -1;
    if (count_member(obj, "pos", 1000000, &t.pos, err, err_len) ||
        count_member(obj, "invoices", 1000000, &t.invoices, err, err_len) ||
        count_member(obj, "suppliers", 100000, &t.suppliers, err, err_len))
        goto done;
    if (company && !json_is_string(company) && !json_is_null(company)) {
        snprintf(err, err_len, "seed.company: must be a string or null");
        goto done;
    }
    if (company) {
        free(t.company);
        t.company = xstrdup(json_string_value(company));
    }
    if (seed && !json_is_integer(seed)) {
        snprintf(err, err_len, "seed.random_seed: must be an integer");
        goto done;
    }
    if (seed)
        t.random_seed = (uint64_t)json_integer_value(seed);
    if (companies) {
        size_t n = json_array_size(companies);
        for (size_t i = 0; i < n; i++)
            if (!json_is_string(json_array_get(companies, i)))
                n = 0;
        if (!json_is_array(companies) || n == 0) {
            snprintf(err, err_len, "companies: must be a non-empty array of strings");
            goto done;
        }
        for (size_t i = 0; i < t.ncompanies; i++)
            free(t.companies[i]);
        t.companies = xrealloc(t.companies, n * sizeof *t.companies);
        for (size_t i = 0; i < n; i++)
            t.companies[i] = xstrdup(json_string_value(json_array_get(companies, i)));
        t.ncompanies = n;
    }
    rc = 0;
done:
    if (rc == 0) {
        ifs_seed_free(s);
        *s = t;
    } else {
        ifs_seed_free(&t);
    }
    return rc;
}
