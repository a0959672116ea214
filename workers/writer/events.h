/* events: the writer's side of verified Asana webhook events (jobs of type "webhook_event" that
 * the gateway enqueues). Until ERP write-back exists every event is handled in audit-only
 * mode: it lands in the audit trail of the record its task belongs to. */
#ifndef MLC_EVENTS_H
#define MLC_EVENTS_H
#include "worker.h"

/* Records the event of job (payload = event JSON, ref "task:<gid>") in the audit trail under
 * the record ref of the task (K_GIDMAP), or under "task:<gid>" for an unknown task. JOB_OK, or
 * JOB_RETRY when Redis is unreachable. */
job_outcome_t webhook_event_audit(job_ctx_t *ctx, const job_t *job);
#endif
