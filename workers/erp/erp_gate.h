/* erp_gate: the limits a tenant's ERP imposes on every process at once. Each ERP request
 * first waits its turn in the tenant's per-minute rate (erp.rate_per_min: IFS 1000, Infor 600
 * by default; one GCRA in Redis, K_ERP_RATE) and outside any pause; a 429 or 503 answer
 * pauses the tenant's ERP calls everywhere for its Retry-After (K_ERP_PAUSE), not only the
 * job that got it. Other tenants are not affected: each has its own keys. */
#ifndef MLC_ERP_GATE_H
#define MLC_ERP_GATE_H
#include <stdint.h>
#include "config.h"
#include "redis.h"

/* Longest a caller waits in erp_gate_wait before giving its job back as a retry: a paused or
 * busy tenant must not hold worker threads that other tenants' jobs could use. */
#define ERP_GATE_MAX_WAIT_MS 3000

/* Waits up to max_wait_ms for the tenant's next ERP request. 1 go; 0 not within max_wait_ms,
 * or at once while the tenant's ERP is paused (a pause is never slept through: the thread
 * goes back to other tenants' jobs) (*retry_after_ms: when to try again, from the pause left
 * or a rate interval); -1 Redis unreachable. */
int erp_gate_wait(rds_t *r, const tenant_cfg_t *t, int64_t max_wait_ms, int64_t *retry_after_ms);

/* Records an ERP answer: 429, or 503 with a Retry-After, pauses the tenant's ERP for
 * retry_after_ms (1 s when the answer gave none). Other statuses change nothing. */
void erp_gate_answer(rds_t *r, const tenant_cfg_t *t, long status, long retry_after_ms);
#endif
