/* lock: short-lived mutual exclusion across processes through Redis (SET NX PX with a random
 * owner value; release only by the owner). Used for single-flight work: token refresh, creating
 * an Asana custom field, enum option or task. Not a fencing lock: holders keep work shorter
 * than the TTL. */
#ifndef MLC_LOCK_H
#define MLC_LOCK_H
#include <stdint.h>
#include "redis.h"

/* Tries once. Returns the owner value (malloc'd; pass it to lock_release) or NULL when the
 * lock is held by someone else or Redis is unreachable (*unreachable set when non-NULL). */
char *lock_try(rds_t *r, const char *key, int64_t ttl_ms, int *unreachable);
/* Releases key if owner still holds it; frees owner. Safe with owner NULL. */
void lock_release(rds_t *r, const char *key, char *owner);
/* Pipelined release: appends it to r's pipeline (one reply to read) unless owner is NULL.
 * Returns the number of replies to read (0 or 1). Does not free owner. */
int lock_append_release(rds_t *r, const char *key, const char *owner);
#endif
