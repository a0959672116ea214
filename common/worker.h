/* worker: the loop shared by every stateless worker process (poller, writer). It connects
 * to the broker as a DEALER, announces READY with its credit (= threads), receives job ids,
 * claims each in Redis (job_claim), runs the handler on one of its threads while a lease
 * keeper extends the lease, then records done / retry / dead. Reconnects to the broker with
 * backoff when heartbeats stop; on SIGTERM stops taking work, finishes running jobs, exits.
 * Writes its heartbeat to K_WORKERS. */
#ifndef MLC_WORKER_H
#define MLC_WORKER_H
#include <stdint.h>
#include <stdbool.h>
#include "job.h"
#include "bus.h"
#include "http.h"

typedef enum { JOB_OK = 0, JOB_RETRY = 1, JOB_FATAL = 2 } job_outcome_t;

/* Per-thread resources handed to the handler; owned by the worker loop. */
typedef struct {
    rds_t         *redis;
    http_client_t *http;
    bus_t         *bus;         /* to publish follow-up jobs */
    const char    *worker_id;
    int            thread_no;
    void          *user;        /* the handler's per-thread state (see worker_opts.thread_init) */
    /* Set by the handler: error text (malloc'd) for RETRY/FATAL, result JSON for OK, and an
     * optional earliest retry time (e.g. from Retry-After); 0 = backoff with full jitter. */
    char          *error;
    char          *result;
    int64_t        retry_at_ms;
} job_ctx_t;

typedef job_outcome_t (*job_handler_fn)(job_ctx_t *ctx, const job_t *job);

typedef struct {
    const char    *service;      /* "poll" or "write" */
    const char    *tenants;      /* "a,b" to pin to tenants, NULL or "*" for all */
    const char    *worker_id;    /* NULL: generated "<service>-<host>-<pid>-<rand>" */
    const char    *broker_url;   /* MLC_BROKER_URL */
    const char    *redis_url;    /* MLC_REDIS_URL */
    int            threads;      /* concurrent jobs (credit) */
    int64_t        lease_ms;     /* default 30000 */
    job_handler_fn handler;
    /* Optional per-thread setup/teardown of ctx->user. */
    void         *(*thread_init)(job_ctx_t *ctx);
    void          (*thread_free)(void *user);
} worker_opts_t;

/* Runs until g_stop (SIGINT/SIGTERM). Returns 0 on a clean stop, -1 when it could not start. */
int worker_run(const worker_opts_t *opts);
#endif
