/* sim_ratelimit: a simulated server's request limit per key (IFS: the client_id, ION: the
 * tenant): at most N requests in any sliding 60-second window (exact: the times of the last N
 * admitted requests are kept). Thread-safe. */
#ifndef MLC_SIM_SIM_RATELIMIT_H
#define MLC_SIM_SIM_RATELIMIT_H
#include <stdint.h>

typedef struct sim_ratelimit sim_ratelimit_t;

sim_ratelimit_t *sim_ratelimit_new(void);
void sim_ratelimit_destroy(sim_ratelimit_t **r);   /* NULLs *r; safe on NULL and twice */
/* Admits one request of key at now_ms under rate_per_min (<= 0: unlimited). Returns 0 when
 * admitted, else the whole seconds until the oldest request in the window leaves it (>= 1),
 * for Retry-After. Rejected requests do not count. A changed rate restarts the key's
 * window. */
long sim_ratelimit_admit(sim_ratelimit_t *r, const char *key, long rate_per_min,
                         int64_t now_ms);
/* Forgets every window. */
void sim_ratelimit_reset(sim_ratelimit_t *r);
#endif
