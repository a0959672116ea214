/* hooks: the tenant's Asana webhook and the reconciliation that covers what it misses.
 *   webhook_check  (the scheduler's watchdog, every MLC_WEBHOOK_WATCHDOG_S): registers the
 *                  tenant's webhook on its project when none is stored, or when Asana deleted
 *                  it or marked it inactive; otherwise records that it is healthy.
 *   reconcile      (every MLC_RECONCILE_S): a sweep of the project's tasks modified since the
 *                  last sweep; each completed task whose decision was never written back gets a
 *                  "writeback" job (Asana delivers webhooks at most once).
 * The webhook's target is MLC_WEBHOOK_URL (the gateway's base URL as Asana reaches it) +
 * "/webhooks/<tenant>"; without MLC_WEBHOOK_URL, or with "asana": {"webhook": false} in the
 * tenant, no webhook is registered (reconciliation still runs). State: K_HOOK (gid, resource,
 * target, active, created_at, checked_at, reconciled_at (ISO) and reconciled_ms, last_error),
 * K_HOOK_PENDING while a registration is in flight (the gateway accepts the handshake only
 * then). */
#ifndef MLC_HOOKS_H
#define MLC_HOOKS_H
#include "config.h"
#include "worker.h"

/* The webhook target of tenant: MLC_WEBHOOK_URL + "/webhooks/" + tenant (one trailing '/' of
 * the base dropped). Caller frees; NULL when MLC_WEBHOOK_URL is unset or empty. */
char *hook_target(const char *tenant);

/* webhook_check job. JOB_OK when the webhook is healthy or was (re-)registered, or when no
 * webhook is wanted (result says why); JOB_RETRY on transient failures, or while another
 * registration for the tenant is in flight. A permanent refusal by Asana is recorded in
 * K_HOOK last_error and the audit trail and ends the job (the next check tries again). */
job_outcome_t hook_check(job_ctx_t *ctx, const job_t *job, const tenant_cfg_t *t);

/* reconcile job: JOB_OK with result {"tasks":N,"completed":N,"enqueued":N}; JOB_RETRY when
 * Asana or Redis failed (the sweep is repeated from the same point next time). */
job_outcome_t hook_reconcile(job_ctx_t *ctx, const job_t *job, const tenant_cfg_t *t);
#endif
