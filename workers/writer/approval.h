/* approval: decisions taken in Asana, brought back to the ERP. Jobs:
 *   webhook_event  (the gateway: payload = one verified event, ref "task:<gid>")
 *   writeback      (reconciliation: a completed task whose decision was never written back)
 * A completed task means "approve". The task is read from Asana (events are compact), the
 * record's write-back state K_WRITEBACK is claimed by one Lua script (a decision already
 * written back is never written again, whatever number of deliveries, sweeps or replays ask
 * for it), then the flow's write-back driver (workers/erp/writeback.h) runs and the outcome,
 * with every request and response, lands in the record's audit trail. Other changes (mapped
 * custom fields) are recorded in the audit trail only. */
#ifndef MLC_APPROVAL_H
#define MLC_APPROVAL_H
#include <stdint.h>
#include "config.h"
#include "crypto.h"
#include "worker.h"

/* Handles a webhook_event or writeback job of tenant t. JOB_OK when the decision is written
 * back, was already, does not apply or the event needs no write; JOB_RETRY on transient
 * failures (Asana, ERP, Redis; ctx->retry_at_ms from Retry-After); JOB_FATAL when the ERP
 * refuses the write for good (the job goes to the dead-letter set with the reason). */
job_outcome_t approval_handle(job_ctx_t *ctx, const job_t *job, const tenant_cfg_t *t,
                              const uint8_t key[MLC_KEY_LEN]);

/* The K_WRITEBACK states that end a decision: nothing is ever sent again for it. */
int approval_state_final(const char *state);
#endif
