/* gw_pub: the gateway's one publisher of write jobs. Handler threads hand it the ids of the
 * jobs their deliveries created (gwp_push: a copy into memory, never a network wait); one
 * thread sends them to the broker, every id of one tenant that queued up meanwhile in one
 * message (bus_publish_many). Under load the broker and ZeroMQ then see one message per
 * batch instead of one per event, and a handler answers without touching ZeroMQ.
 *
 * The thread waits `linger_us` after it is woken before it takes the queue, so batches form
 * and wake-ups stay below 1/linger per second; that is also the longest an id waits here.
 * A job is in Redis before its id is pushed: an id that is not sent (queue full, broker
 * down, gateway killed) is found by the broker's resync of K_QUEUE, only later. */
#ifndef MLC_GW_PUB_H
#define MLC_GW_PUB_H
#include <stddef.h>

typedef struct gwp gwp_t;

/* Starts the publisher thread towards broker_url (connected lazily by the thread), keeping at
 * most max_queued ids waiting and batching for linger_us (0: send as soon as woken). NULL
 * when the thread cannot start. */
gwp_t *gwp_new(const char *broker_url, size_t max_queued, long linger_us);
/* Queues the id of a "write" job of tenant (both copied; longer than the gateway's limits
 * is an assert). Drops it, counting, when max_queued ids are already waiting. Thread-safe. */
void gwp_push(gwp_t *p, const char *tenant, const char *job_id);
/* Ids dropped because the queue was full, since gwp_new. */
long gwp_dropped(gwp_t *p);
/* Sends what is queued (each send bounded by the bus' send timeout), stops the thread and
 * frees; NULLs *p; safe on NULL. */
void gwp_destroy(gwp_t **p);
#endif
