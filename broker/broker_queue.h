/* broker_queue: the broker's job queues, pure (no I/O). Per service and per tenant a FIFO of
 * job ids with a dedupe set; per service a round-robin cursor over its tenants, so every
 * tenant with work gets one job per round however deep another tenant's queue is. Ids that
 * were handed out are remembered with their dispatch time until the next resync decides
 * whether Redis says they were claimed (forget) or lost (queue again). */
#ifndef MLC_BROKER_QUEUE_H
#define MLC_BROKER_QUEUE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct bq bq_t;

bq_t *bq_new(void);
void bq_destroy(bq_t **q); /* safe twice */

/* Makes service known (resync reads its Redis queues) even before any job of it. */
void bq_add_service(bq_t *q, const char *service);
size_t bq_service_count(const bq_t *q);
const char *bq_service_name(const bq_t *q, size_t i); /* borrowed */

/* Queues id at the tail unless it is queued already. Returns 1 added, 0 duplicate.
 * A re-published id that was dispatched before is queued again (its job was requeued). */
int bq_push(bq_t *q, const char *service, const char *tenant, const char *id);

/* Decides whether some worker can take a job of tenant right now. */
typedef bool (*bq_accept_fn)(void *ud, const char *service, const char *tenant);

/* Fair pick: starting at the service's cursor, the first tenant with queued ids that accept
 * approves gives up its oldest id, which is marked dispatched at now_ms; the cursor moves
 * past that tenant. Returns 1 with *tenant and *id borrowed (valid until the next call on
 * q), 0 when nothing can be dispatched. */
int bq_pop(bq_t *q, const char *service, bq_accept_fn accept, void *ud, int64_t now_ms,
           const char **tenant, const char **id);

/* Merges a snapshot of Redis K_QUEUE (ids queued there for a while) into service/tenant:
 * ids neither queued here nor dispatched within redispatch_ms are queued; dispatch marks
 * older than redispatch_ms are then forgotten. Returns how many ids were queued. */
int bq_resync(bq_t *q, const char *service, const char *tenant, char *const *ids, size_t n,
              int64_t now_ms, int64_t redispatch_ms);

/* Queued ids of service/tenant (0 when unknown). */
size_t bq_depth(const bq_t *q, const char *service, const char *tenant);
/* Calls fn for every known service/tenant queue, in creation order. */
void bq_foreach(const bq_t *q, void (*fn)(void *ud, const char *service, const char *tenant,
                                          size_t depth), void *ud);
#endif
