/* refdata: the reference data of a tenant in Redis (K_REF), e.g. "suppliers": id -> name.
 * The poller writes it (workers/poller/reference.c), the writer reads it (seed.c). */
#ifndef MLC_REFDATA_H
#define MLC_REFDATA_H
#include <jansson.h>
#include "redis.h"

/* K_REF(tenant, what) as a JSON object id -> name (new reference; empty when the key does not
 * exist), or NULL when Redis failed. */
json_t *refdata_load(rds_t *r, const char *tenant, const char *what);
#endif
