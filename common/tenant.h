/* tenant: tenants at rest in Redis. tenant_store seals every secret member (TENANT_SECRET_PATHS)
 * with the master key (AAD "tenant:<id>:<path>") and saves the JSON in K_TENANT field
 * "config"; tenant_load reads it back, opens the secrets and parses it (config.h). */
#ifndef MLC_TENANT_H
#define MLC_TENANT_H
#include <stdint.h>
#include <jansson.h>
#include "config.h"
#include "crypto.h"
#include "redis.h"

/* Validates cfg (tenant_cfg_parse), seals secrets and stores it; adds the id to K_TENANTS.
 * Returns 0, or -1 with err. cfg is not modified. */
int tenant_store(rds_t *r, const uint8_t key[MLC_KEY_LEN], const json_t *cfg, char *err,
                 size_t err_len);
/* Loads and opens tenant id into *out (tenant_cfg_free it). -1 with err when absent, when a
 * secret does not open (wrong master key) or the stored config no longer parses. */
int tenant_load(rds_t *r, const uint8_t key[MLC_KEY_LEN], const char *id, tenant_cfg_t *out,
                char *err, size_t err_len);
/* A per-thread cache of loaded tenants, so a worker does not fetch and open the tenant for
 * every job. An entry is reloaded once it is older than ttl_ms, so a changed tenant takes
 * effect within that time. Not thread-safe: one cache per thread. */
typedef struct tenant_cache tenant_cache_t;
tenant_cache_t *tenant_cache_new(int64_t ttl_ms);
/* The tenant (borrowed: valid until the next tenant_cache_get of the same id or destroy), or
 * NULL with err as tenant_load. */
const tenant_cfg_t *tenant_cache_get(tenant_cache_t *c, rds_t *r, const uint8_t key[MLC_KEY_LEN],
                                     const char *id, char *err, size_t err_len);
void tenant_cache_destroy(tenant_cache_t **c);

/* Sorted tenant ids (malloc'd array of malloc'd strings) and their count in *n; NULL + *n = 0
 * when none or on error. tenant_ids_free frees the result. */
char **tenant_ids(rds_t *r, int *n);
void tenant_ids_free(char **ids, int n);
#endif
