/* seed: the "seed_enums" write job. Creates an option "Name (ID)" in the Supplier enum field
 * for every supplier of K_REF(tenant, "suppliers") (read by the poller's reference.c), so the
 * field offers every ERP supplier, also those without a document yet. Options that exist are
 * left alone (enum_option looks them up first, creates under a lock). */
#ifndef MLC_SEED_H
#define MLC_SEED_H
#include <stddef.h>
#include <jansson.h>
#include "config.h"
#include "fields.h"
#include "worker.h"

/* Asana refuses more options on one enum field. */
#define SEED_MAX_OPTIONS 500

/* The option names of suppliers (id -> name, "" = no name), as supplier_label() names them,
 * sorted by supplier id; at most max of them, *dropped says how many were left out. New
 * array of strings. */
json_t *seed_labels(const json_t *suppliers, size_t max, size_t *dropped);

/* Runs the job for tenant t with the writer thread's cache. JOB_OK (result names created and
 * dropped counts), JOB_RETRY on a transient Asana or Redis failure, JOB_FATAL otherwise;
 * ctx->error says why. */
job_outcome_t seed_enums(job_ctx_t *ctx, const job_t *job, const tenant_cfg_t *t,
                         fields_cache_t *cache);
#endif
