/* scheduler: the scheduler and housekeeper, one tick per second.
 *  - For every tenant (K_TENANTS; configs cached, reloaded every 10 s) and every flow with a
 *    schedule: when now >= the flow's next due time (K_SCHED, initialised to the next slot
 *    on first sight) the due time is advanced by a Lua compare-and-set, and only the
 *    scheduler that won submits the poll job "poll:<flow>:<due_ms>" (service "poll", type
 *    "poll_flow", ref = flow, payload {"due_ms":N}). Several schedulers never double-fire;
 *    runs missed while no scheduler was up are not caught up one by one (one run fires).
 *  - For every tenant: job_requeue_expired and job_promote_retries, publishing the ids.
 *  - For every tenant, writer jobs once per interval (id = type: never two at once): "webhook_check",
 *    the webhook watchdog, every MLC_WEBHOOK_WATCHDOG_S (default 60), and "reconcile", the
 *    sweep for approvals whose webhook event never came, every MLC_RECONCILE_S (default
 *    300); 0 turns either off. Both fire on the first tick after start.
 * Redis going away is survived: the tick logs, skips and reconnects next time. */
#ifndef MLC_SCHEDULER_H
#define MLC_SCHEDULER_H
#include <stdint.h>
#include "crypto.h"

typedef struct sched sched_t;

/* Keeps a copy of key. Connects lazily, so Redis may be down. NULL when the bus cannot be
 * created (bad broker endpoint). */
sched_t *sched_new(const char *redis_url, const char *broker_url, const uint8_t key[MLC_KEY_LEN]);
/* One pass over all tenants. Returns 0, or -1 when Redis was unreachable. */
int sched_tick(sched_t *s);
void sched_destroy(sched_t **s); /* safe twice */
/* The K_SCHED key of a tenant's flow. It names the first 8 hex of SHA-256(spec), so a changed
 * schedule starts from its own next slot instead of waiting for a due time of the old one.
 * Caller frees. */
char *sched_key(const char *tenant, const char *flow, const char *spec);
#endif
