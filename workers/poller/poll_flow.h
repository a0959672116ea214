/* poll_flow: the poll pipeline of one flow run. ERP rows arrive through an erp_driver_t, are
 * compared with the stored content hash in batches, and every new or changed record gets its
 * state and one write job recorded in one MULTI/EXEC; the cursor advances only after every
 * batch is durable. */
#ifndef MLC_POLL_H
#define MLC_POLL_H
#include "worker.h"

/* Per-thread poller state (worker_opts.thread_init). */
void *poll_thread_init(job_ctx_t *ctx);
void poll_thread_free(void *user);
/* Job handler for type "poll_flow": job->ref is the flow; payload {"full":true} ignores the
 * cursor. Returns JOB_OK, JOB_RETRY (transient ERP/Redis trouble) or JOB_FATAL (configuration). */
job_outcome_t poll_handle(job_ctx_t *ctx, const job_t *job);
#endif
