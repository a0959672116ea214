/* upsert: the "upsert_task" job. Brings the Asana task of one ERP record in line with the
 * record's current state in Redis: create it once (never twice: an uncertain create is resolved
 * by looking the task up before creating again), otherwise update it, and skip when Asana
 * already shows this content (synced_hash == hash). */
#ifndef MLC_UPSERT_H
#define MLC_UPSERT_H
#include <jansson.h>
#include "fields.h"
#include "record.h"
#include "worker.h"

void *writer_thread_init(job_ctx_t *ctx);
void writer_thread_free(void *user);
job_outcome_t writer_handle(job_ctx_t *ctx, const job_t *job);

/* Task name, e.g. "PO 4711 · Acme Steel AB (S1001)". Caller frees. */
char *task_name(const record_t *rec);
/* Enum option name of the supplier: "Name (ID)", "Name" or "ID". Caller frees; NULL if none. */
char *supplier_label(const record_t *rec);
/* Value of the ERP Key field: "<tenant>:<kind>:<erp_key>". Caller frees. */
char *erp_key_value(const char *tenant, const record_t *rec);
/* The text the writer puts into custom field id for rec (enum fields: the option name; Amount:
 * the canonical decimal), malloc'd; NULL when the record has no value. The one definition of
 * a task's field values: task writes and `mlc reconcile` both use it. */
char *field_text(const char *tenant, const record_t *rec, field_id_t id);
#endif
