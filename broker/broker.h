/* broker: the ZeroMQ hub (ROUTER) between producers and workers, wire in bus.h.
 *  - PUB ids go to per service, per tenant queues (broker_queue.h), dispatched fairly
 *    across tenants to workers that have credit and serve the tenant (pins).
 *  - Workers are forgotten after 3 heartbeat intervals of silence (Paranoid Pirate); the
 *    broker heartbeats every known worker each second.
 *  - Every resync_ms the Redis queues (K_QUEUE of every tenant in K_TENANTS, entries older
 *    than 1 s) are merged in, so lost messages and broker restarts lose nothing.
 *  - Every second the queue depths go to the K_BROKER hash.
 * Redis being away only pauses resync and stats; dispatch goes on. */
#ifndef MLC_BROKER_H
#define MLC_BROKER_H
#include <stdint.h>

typedef struct {
    const char *bind_url;   /* ROUTER endpoint, e.g. tcp://127.0.0.1:18090 */
    const char *redis_url;
    int64_t     resync_ms;  /* default 2000 */
} broker_opts_t;

typedef struct broker broker_t;

/* Binds the ROUTER. NULL (logged) when the endpoint cannot be bound. */
broker_t *broker_new(const broker_opts_t *o);
/* Serves until g_stop is set. */
void broker_run(broker_t *b);
void broker_destroy(broker_t **b); /* safe twice */
#endif
