/* reference: reference data read from the ERP beside a flow. Today the suppliers: the flow's
 * "reference":{"suppliers":{...}} names where they live (IFS entity, M3 program/transaction,
 * SyteLine IDO) and which members hold the id ("key") and the name ("name"). The tenant's own
 * driver reads them as a synthetic flow, the pairs id -> name land in K_REF(tenant,
 * "suppliers"), and a change submits one "seed_enums" write job so the Supplier enum field of
 * Asana offers every supplier, also those without a document yet. */
#ifndef MLC_REFERENCE_H
#define MLC_REFERENCE_H
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "config.h"
#include "worker.h"

/* The flow object (as in a tenant's "flows") that reads the reference ref of the flow named
 * after it: ref's members (entity, program, transaction, inputs, ido, api, company_field ...)
 * with name "reference_<what>", kind "po", modified_field = key, schedule of the owning flow,
 * company_field null unless ref gives one, and the map {erp_key, number, supplier_id: key,
 * supplier_name: ref.name}. New reference, or NULL when ref has no string key. */
json_t *reference_flow(const json_t *ref, const char *what, const char *schedule);

/* How many ids of fresh (id -> name) are absent from stored or have another name there. */
size_t reference_changes(const json_t *stored, const json_t *fresh);

/* The seed job id for the content fresh: "seed:<what>:<first 12 hex of SHA-256 of its sorted
 * compact JSON>". Caller frees. */
char *reference_job_id(const char *what, const json_t *fresh);

/* Reads the suppliers of flow (when it has reference.suppliers) with the tenant's driver (all
 * rows, no watermark) and stores them in K_REF(t, "suppliers"): new and renamed ids are set,
 * ids gone from the ERP removed. Runs at most once per MLC_REF_REFRESH_S (default 3600) per
 * tenant: K_REF_SYNCED is taken with SET NX EX, so parallel flows read once; a failed read
 * drops it again. When something was new or renamed, or the seed of this content did not
 * finish, submits one "seed_enums" write job (id reference_job_id, so equal content dedupes).
 * Returns 1 read and stored, 0 nothing to do (no reference or refreshed recently), -1 failed
 * with err (already logged and audited as "reference.failed"; the caller's poll goes on). */
int reference_sync(job_ctx_t *ctx, const tenant_cfg_t *t, const flow_cfg_t *flow,
                   const uint8_t *key, char *err, size_t len);
#endif
