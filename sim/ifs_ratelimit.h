/* ifs_ratelimit: the simulated IFS Cloud's request limit per client_id: at most N requests in
 * any sliding 60-second window (exact: the times of the last N admitted requests are kept).
 * Thread-safe. */
#ifndef MLC_SIM_IFS_RATELIMIT_H
#define MLC_SIM_IFS_RATELIMIT_H
#include <stdint.h>

typedef struct ifs_ratelimit ifs_ratelimit_t;

ifs_ratelimit_t *ifs_ratelimit_new(void);
void ifs_ratelimit_destroy(ifs_ratelimit_t **r);   /* NULLs *r; safe on NULL and twice */
/* Admits one request of client at now_ms under rate_per_min (<= 0: unlimited). Returns 0 when
 * admitted, else the whole seconds until the oldest request in the window leaves it (>= 1),
 * for Retry-After. Rejected requests do not count. A changed rate restarts the client's
 * window. */
long ifs_ratelimit_admit(ifs_ratelimit_t *r, const char *client, long rate_per_min,
                         int64_t now_ms);
/* Forgets every window. */
void ifs_ratelimit_reset(ifs_ratelimit_t *r);
#endif
