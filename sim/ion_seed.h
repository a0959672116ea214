/* ion_seed: deterministic, plausible rows for the simulated Infor tenants: M3 purchase order
 * heads, supplier invoice batches and suppliers (tenant DEMO_TST), SyteLine POs, vouchers and
 * vendors (DEMO_CSI). Row i of a table depends only on (random_seed, table, i) and the seeding
 * time, so seeding more rows keeps the first ones (modification stamps are spread over the 30
 * days before the seeding time). */
#ifndef MLC_SIM_ION_SEED_H
#define MLC_SIM_ION_SEED_H
#include <stdint.h>
#include <jansson.h>
#include "ion_schema.h"

typedef struct {
    long     rows[ION_NTABLES];   /* rows per table */
    char     company[4];          /* M3 CONO of every row ("100") */
    char     division[4];         /* M3 DIVI ("AAA") */
    uint64_t random_seed;
} ion_seed_t;

/* The defaults: M3 300 POs, 100 invoices, 30 suppliers; SyteLine 200 POs, 100 vouchers, 30
 * vendors; company "100", division "AAA", random_seed 42. */
void ion_seed_init(ion_seed_t *s);
/* Overrides members of *s from obj: {"random_seed":N,"company":"100","division":"AAA",
 * "m3":{"pos":N,"invoices":N,"suppliers":N},"syteline":{...same...}}. Returns 0, or -1 with
 * err naming the member (unknown member, wrong type, count out of range); *s is unchanged on
 * error. */
int ion_seed_parse(ion_seed_t *s, const json_t *obj, char *err, size_t err_len);
/* The seed as the JSON object ion_seed_parse reads. New reference. */
json_t *ion_seed_json(const ion_seed_t *s);
/* Row i (0-based) of table: the wire text of every field in table order (malloc'd array of
 * malloc'd strings, free with ion_seed_row_free), modification stamps in the 30 days before
 * now_ms. */
char **ion_seed_row(const ion_seed_t *s, ion_table_id_t table, long i, int64_t now_ms);
void ion_seed_row_free(char **row, ion_table_id_t table);
#endif
