/* ifs_seed: deterministic, plausible rows for the simulated IFS Cloud. Row i of a set depends
 * only on (random_seed, set, i) and the seeding time, so seeding more rows keeps the first ones
 * (apart from ChangedDate, which is spread over the 30 days before the seeding time). */
#ifndef MLC_SIM_IFS_SEED_H
#define MLC_SIM_IFS_SEED_H
#include <stdint.h>
#include <jansson.h>
#include "ifs_schema.h"

typedef struct {
    long     pos;          /* purchase orders "4001".. */
    long     invoices;     /* supplier invoices "1".. */
    long     suppliers;    /* suppliers "S1001".. */
    char    *company;      /* every row in this company; NULL: rows spread over companies */
    char   **companies;    /* at least one */
    size_t   ncompanies;
    uint64_t random_seed;
} ifs_seed_t;

/* The defaults: 500 POs, 200 invoices, 40 suppliers, companies ["10"], company NULL, seed 42. */
void ifs_seed_init(ifs_seed_t *s);
/* Overrides members of *s from obj (pos, invoices, suppliers, company, companies, random_seed).
 * Returns 0, or -1 with err naming the member (unknown member, wrong type, negative count,
 * empty companies); *s is unchanged on error. */
int ifs_seed_parse(ifs_seed_t *s, const json_t *obj, char *err, size_t err_len);
/* Deep copy into *dst (free with ifs_seed_free). */
void ifs_seed_copy(ifs_seed_t *dst, const ifs_seed_t *src);
void ifs_seed_free(ifs_seed_t *s);   /* safe twice */
/* Number of rows the seed gives the set. */
long ifs_seed_count(const ifs_seed_t *s, ifs_set_id_t set);
/* The JSON members of row i (0-based) of set, as the set's schema names them, with decimals
 * as decimal text and ChangedDate within the 30 days before now_s. New reference. */
json_t *ifs_seed_row(const ifs_seed_t *s, ifs_set_id_t set, long i, int64_t now_s);
#endif
