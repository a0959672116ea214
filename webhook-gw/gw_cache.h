/* gw_cache: what one gateway thread remembers of its tenants' webhook secrets, so that a
 * delivery costs one Redis round trip (the record script, which re-checks the sealed secret)
 * instead of two. Maps a tenant id to the sealed secret as stored in K_HOOK and its opened
 * form, with the time they were read. Direct-mapped: a tenant hashes to one slot and evicts
 * whoever was there (a miss only costs a read). Not thread-safe: one per thread. No I/O. */
#ifndef MLC_GW_CACHE_H
#define MLC_GW_CACHE_H
#include <stdbool.h>
#include <stdint.h>

typedef struct gwc gwc_t;

/* A cache of nslots slots (at least 1). */
gwc_t *gwc_new(int nslots);
/* Frees everything (wiping the opened secrets); NULLs *c; safe on NULL. */
void gwc_destroy(gwc_t **c);

/* When tenant was put at or after now_ms - max_age_ms, sets *sealed and *secret to the cached
 * strings (borrowed: valid until the next gwc_put or gwc_drop on c) and returns true. */
bool gwc_get(const gwc_t *c, const char *tenant, int64_t now_ms, int64_t max_age_ms,
             const char **sealed, const char **secret);
/* Remembers tenant's sealed and opened secret (both copied) as read at now_ms, replacing the
 * entry of its slot. */
void gwc_put(gwc_t *c, const char *tenant, const char *sealed, const char *secret, int64_t now_ms);
/* Whether a write that needs doing at most every every_ms for tenant (K_HOOK
 * "last_delivery_at") is due at now_ms: true when tenant is not cached or was last told yes
 * at least every_ms ago (then now_ms is remembered as that time). A put of the same tenant
 * keeps the time; a drop or an eviction forgets it. */
bool gwc_touch_due(gwc_t *c, const char *tenant, int64_t now_ms, int64_t every_ms);
/* Forgets tenant (e.g. after its secret changed); nothing when it is not cached. */
void gwc_drop(gwc_t *c, const char *tenant);
#endif
