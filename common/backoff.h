/* backoff: exponential backoff with full jitter (AWS architecture blog "Exponential Backoff
 * And Jitter"): sleep = random_between(0, min(cap, base * 2^attempt)). */
#ifndef MLC_BACKOFF_H
#define MLC_BACKOFF_H
#include <stdint.h>
/* attempt counts from 0. Returns a delay in ms in [0, min(cap_ms, base_ms << attempt)].
 * Uses a thread-safe random source. Never overflows for large attempts. */
int64_t backoff_full_jitter(int attempt, int64_t base_ms, int64_t cap_ms);
/* The upper bound used above (no randomness), exposed for tests. */
int64_t backoff_ceiling(int attempt, int64_t base_ms, int64_t cap_ms);
#endif
