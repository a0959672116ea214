/* prom: a writer of the Prometheus text exposition format 0.0.4. Pure (no I/O): families are
 * declared with their HELP and TYPE, samples are added in any order, and prom_render groups
 * every family's samples under its HELP/TYPE lines, families in declaration order, samples in
 * the order they were added. Label values are escaped (backslash, double quote, newline).
 * One prom_t is used by one thread. */
#ifndef MLC_PROM_H
#define MLC_PROM_H
#include <stdint.h>

typedef enum { PROM_COUNTER, PROM_GAUGE, PROM_HISTOGRAM } prom_type_t;

typedef struct prom prom_t;

prom_t *prom_new(void);
/* Frees everything and NULLs *p; safe on NULL and twice. */
void prom_destroy(prom_t **p);

/* Declares a family (a metric name matching [a-zA-Z_:][a-zA-Z0-9_:]*, asserted). Declaring a
 * name again is a no-op. help: one line, backslashes and newlines are escaped. */
void prom_family(prom_t *p, const char *name, prom_type_t type, const char *help);

/* Adds one sample of a declared counter or gauge family (asserted). labels: NULL or a
 * NULL-terminated list of name, value pairs ({"tenant", "demo", NULL}); names must be valid
 * label names (asserted), values any text (NULL is written as ""). NaN and infinities are
 * written as NaN, +Inf and -Inf. */
void prom_sample(prom_t *p, const char *name, const char *const *labels, double value);

/* Adds one histogram of a declared histogram family: nbounds ascending upper bounds, counts[]
 * holds nbounds + 1 per-bucket (non-cumulative) counts, the last for values beyond the last
 * bound. Writes the cumulative _bucket series with an le label (+Inf last), _sum and _count
 * (the total of counts). */
void prom_histogram(prom_t *p, const char *name, const char *const *labels, int nbounds,
                    const double *bounds, const uint64_t *counts, double sum);

/* The exposition text; families without samples are left out. malloc'd, caller frees. */
char *prom_render(const prom_t *p);
#endif
