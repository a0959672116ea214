/* bus: the ZeroMQ side of jobs. Producers (scheduler, webhook gateway, poller, CLI) publish
 * job ids to the broker; workers receive them. ZeroMQ is only transport: a job must already
 * be recorded in Redis (job_enqueue) before bus_publish, and a lost message is recovered by
 * the broker re-reading K_QUEUE and by the lease reaper.
 *
 * Wire (all frames are strings; the DEALER side sends no empty delimiter):
 *   producer -> broker : "MLC1" "PUB" service tenant job_id [job_id ...]
 *   worker   -> broker : "MLC1" "READY" service tenants-csv-or-"*" credit worker_id
 *                        "MLC1" "CREDIT" n          (n more jobs may be sent)
 *                        "MLC1" "HB"
 *                        "MLC1" "BYE"
 *   broker   -> worker : "MLC1" "JOB" tenant job_id
 *                        "MLC1" "HB"
 * Heartbeats every MLC_HB_MS (1000); a peer silent for 3 intervals is dead (Paranoid Pirate):
 * the broker forgets the worker, the worker reconnects with backoff and sends READY again. */
#ifndef MLC_BUS_H
#define MLC_BUS_H
#include <stddef.h>
#include "job.h"

#define BUS_PROTO "MLC1"
#define BUS_PUB_MAX_IDS 64   /* job ids in one PUB message at most */

typedef struct bus bus_t;
/* Producer connection (ZMQ DEALER) to endpoint, e.g. "tcp://127.0.0.1:18090". NULL on error. */
bus_t *bus_producer_new(const char *endpoint);
/* Publishes one job id. Never blocks for long (drops after MLC_BUS_SEND_TIMEOUT_MS, default
 * 1000, when the broker is down: Redis still has the job). 0 sent, -1 dropped. */
int bus_publish(bus_t *b, const char *service, const char *tenant, const char *job_id);
/* Publishes n job ids of one service and tenant, BUS_PUB_MAX_IDS per message: the broker's
 * cost is per message, so a producer that has several ids at hand sends them together.
 * 0 when every message was sent, -1 when one was dropped (same timeout as bus_publish). */
int bus_publish_many(bus_t *b, const char *service, const char *tenant,
                     const char *const *job_ids, int n);
void bus_destroy(bus_t **b);

/* Records j in Redis (job_enqueue) and, when that created it, publishes it on b (b may be
 * NULL: the broker then finds the job by re-reading K_QUEUE). Returns job_enqueue's result
 * (1 created, 0 duplicate, -1 Redis failure); a failed publish is only logged, because the
 * broker resyncs from Redis. */
int job_submit(rds_t *r, bus_t *b, const job_t *j);

/* Sends/receives multipart messages of string frames (helpers shared by broker and workers).
 * zframes_recv returns the frame count (frames malloc'd into out[], caller frees each) or -1
 * (EAGAIN when non-blocking and nothing waiting). */
int zframes_send(void *sock, int n, const char *const *frames, const size_t *lens);
int zframes_recv(void *sock, char **out, size_t *lens, int max, int flags);
void zframes_free(char **frames, int n);
#endif
