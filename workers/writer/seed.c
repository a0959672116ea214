/* seed: see seed.h. */
#include "seed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "log.h"
#include "refdata.h"
#include "upsert.h"
#include "util.h"

static int by_string(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *seed_labels(const json_t *suppliers, size_t max, size_t *dropped)
{
    size_t n = json_object_size(suppliers), i = 0;
    const char **ids = xcalloc(n ? n : 1, sizeof *ids);
    const char *id;
    json_t *v;
    json_object_foreach((json_t *)suppliers, id, v) ids[i++] = id;
    qsort(ids, n, sizeof *ids, by_string);
    json_t *labels = json_array();
    for (i = 0; i < n && i < max; i++) {
        const char *name = json_string_value(json_object_get(suppliers, ids[i]));
        record_t rec = { .supplier_id = (char *)ids[i],
                         .supplier_name = name && *name ? (char *)name : NULL };
        char *label = supplier_label(&rec);
        json_array_append_new(labels, json_string(label));
        free(label);
    }
    *dropped = n > max ? n - max : 0;
    free(ids);
    return labels;
}

/* Creates the missing options of labels in field_gid. 0, or -1 with res filled. */
static int seed_options(asana_t *a, const tenant_cfg_t *t, const char *field_gid,
                        const json_t *labels, fields_cache_t *cache, asana_res_t *res)
{
    size_t i;
    json_t *label;
    json_array_foreach(labels, i, label) {
        char *gid = enum_option(a, t->id, field_gid, json_string_value(label), cache, res);
        if (!gid)
            return -1;
        free(gid);
    }
    return 0;
}

job_outcome_t seed_enums(job_ctx_t *ctx, const job_t *job, const tenant_cfg_t *t,
                         fields_cache_t *cache)
{
    if (strcmp(job->ref, "suppliers") != 0) {
        ctx->error = xasprintf("seed_enums: unknown reference %s", job->ref);
        return JOB_FATAL;
    }
    json_t *suppliers = refdata_load(ctx->redis, t->id, "suppliers");
    if (!suppliers) {
        ctx->error = xstrdup("redis unreachable");
        return JOB_RETRY;
    }
    asana_t a;
    asana_init(&a, ctx->http, ctx->redis, t);
    asana_res_t res = { 0 };
    fields_t f = { 0 };
    size_t dropped = 0;
    json_t *labels = seed_labels(suppliers, SEED_MAX_OPTIONS, &dropped);
    job_outcome_t out = JOB_OK;
    int rc = fields_resolve(&a, t, cache, &f, &res);
    bool is_enum = rc == 0 && f.type[FIELD_SUPPLIER] && strcmp(f.type[FIELD_SUPPLIER], "enum") == 0;
    if (is_enum)
        rc = seed_options(&a, t, f.gid[FIELD_SUPPLIER], labels, cache, &res);
    if (rc != 0) {
        ctx->error = xstrdup(res.error[0] ? res.error : "asana request failed");
        if (res.retry_after_ms > 0)
            ctx->retry_at_ms = now_ms() + res.retry_after_ms;
        out = res.retryable ? JOB_RETRY : JOB_FATAL;
    } else {
        if (dropped) {
            mlog(LOG_WARN, "seed.enum_limit", "tenant %s: %zu suppliers left out of the Supplier "
                 "field: Asana allows %d options per enum field", t->id, dropped, SEED_MAX_OPTIONS);
            audit_add(ctx->redis, t->id, "reference:suppliers", "seed.enum_limit",
                      json_pack("{s:I, s:I}", "seeded", (json_int_t)json_array_size(labels),
                                "dropped", (json_int_t)dropped));
        }
        ctx->result = xasprintf("{\"suppliers\":%zu,\"seeded\":%zu,\"dropped\":%zu%s}",
                                json_object_size(suppliers),
                                is_enum ? json_array_size(labels) : 0, dropped,
                                is_enum ? "" : ",\"skipped\":\"supplier field is not an enum\"");
        audit_add(ctx->redis, t->id, "reference:suppliers", "seed.done",
                  json_pack("{s:s, s:I}", "job", job->id, "options",
                            (json_int_t)(is_enum ? json_array_size(labels) : 0)));
    }
    asana_release(&a);
    asana_res_free(&res);
    fields_free(&f);
    json_decref(labels);
    json_decref(suppliers);
    return out;
}
