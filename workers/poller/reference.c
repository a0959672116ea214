/* reference: see reference.h. */
#include "reference.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "bus.h"
#include "crypto.h"
#include "erp.h"
#include "job.h"
#include "keys.h"
#include "log.h"
#include "refdata.h"
#include "util.h"

json_t *reference_flow(const json_t *ref, const char *what, const char *schedule)
{
    const char *key = json_string_value(json_object_get(ref, "key"));
    if (!key || !*key)
        return NULL;
    const char *name = json_string_value(json_object_get(ref, "name"));
    json_t *flow = json_deep_copy(ref);
    char *flow_name = xasprintf("reference_%s", what);
    json_object_set_new(flow, "name", json_string(flow_name));
    free(flow_name);
    json_object_set_new(flow, "kind", json_string("po"));
    json_object_set_new(flow, "modified_field", json_string(key));
    json_object_set_new(flow, "schedule", json_string(schedule));
    if (!json_object_get(flow, "company_field"))
        json_object_set_new(flow, "company_field", json_null());
    json_t *map = json_pack("{s:s, s:s, s:s}", "erp_key", key, "number", key, "supplier_id", key);
    if (name && *name)
        json_object_set_new(map, "supplier_name", json_string(name));
    json_object_set_new(flow, "map", map);
    return flow;
}

size_t reference_changes(const json_t *stored, const json_t *fresh)
{
    size_t n = 0;
    const char *id;
    json_t *v;
    json_object_foreach((json_t *)fresh, id, v) {
        const char *old = json_string_value(json_object_get(stored, id));
        if (!old || strcmp(old, json_string_value(v) ? json_string_value(v) : "") != 0)
            n++;
    }
    return n;
}

char *reference_job_id(const char *what, const json_t *fresh)
{
    char *text = json_dumps(fresh, JSON_COMPACT | JSON_SORT_KEYS);
    char hash[65];
    sha256_hex(text, strlen(text), hash);
    free(text);
    return xasprintf("seed:%s:%.12s", what, hash);
}

/* record_sink_fn: keeps supplier_id -> supplier_name ("" when the ERP has no name). */
static int collect(void *ud, record_t *rec)
{
    if (rec->supplier_id)
        json_object_set_new(ud, rec->supplier_id,
                            json_string(rec->supplier_name ? rec->supplier_name : ""));
    record_free(rec);
    free(rec);
    return 0;
}

/* Makes key hold exactly fresh: HSET of new and renamed ids, HDEL of ids gone, in one
 * pipeline. 0 or -1 on Redis failure. */
static int store_ref(rds_t *r, const char *key, const json_t *stored, const json_t *fresh)
{
    int n = 0, rc = 0;
    const char *id;
    json_t *v;
    json_object_foreach((json_t *)fresh, id, v) {
        const char *old = json_string_value(json_object_get(stored, id));
        if (!old || strcmp(old, json_string_value(v)) != 0) {
            rc |= rds_append(r, "HSET %s %s %s", key, id, json_string_value(v));
            n++;
        }
    }
    json_object_foreach((json_t *)stored, id, v) {
        if (!json_object_get(fresh, id)) {
            rc |= rds_append(r, "HDEL %s %s", key, id);
            n++;
        }
    }
    rc |= rds_drain(r, n);
    return rc ? -1 : 0;
}

/* Reads the reference described by ref into *fresh (id -> name, new reference). 0, or -1
 * with err. */
static int read_ref(job_ctx_t *ctx, const tenant_cfg_t *t, const flow_cfg_t *flow,
                    const json_t *ref, const uint8_t *key, json_t **fresh, char *err, size_t len)
{
    json_t *rflow = reference_flow(ref, "suppliers", flow->schedule);
    if (!rflow) {
        snprintf(err, len, "%s.reference.suppliers.key: missing", flow->name);
        return -1;
    }
    /* The synthetic flow goes through the tenant's own validation, so ERP defaults and
     * derived members (M3 entity and {company} inputs, SyteLine orderby) are filled the same
     * way as for every flow. */
    json_t *raw = json_deep_copy(t->raw);
    json_object_set_new(raw, "flows", json_pack("[o]", rflow));
    tenant_cfg_t rt;
    char why[384];
    int rc = tenant_cfg_parse(raw, &rt, why, sizeof why);
    json_decref(raw);
    if (rc != 0) {
        snprintf(err, len, "%s.reference.suppliers: %s", flow->name, why);
        return -1;
    }
    *fresh = json_object();
    erp_read_t in = { .tenant = &rt, .flow = &rt.flows[0], .redis = ctx->redis,
                      .http = ctx->http, .master_key = key, .since = NULL };
    erp_result_t res;
    erp_driver(rt.erp_type)->read(&in, collect, *fresh, &res);
    tenant_cfg_free(&rt);
    if (!res.ok) {
        snprintf(err, len, "suppliers: %s", res.error);
        json_decref(*fresh);
        *fresh = NULL;
        return -1;
    }
    return 0;
}

/* Submits the seed_enums job for fresh when something changed, or when the job for this
 * content did not finish (it died, or its record expired): so a failed seed is made good at
 * the next read. 0, or -1 when Redis failed. */
static int submit_seed(job_ctx_t *ctx, const tenant_cfg_t *t, const json_t *fresh, size_t changes)
{
    char *id = reference_job_id("suppliers", fresh);
    char *jkey = xasprintf(K_JOB, t->id, id);
    redisReply *rep = rds_cmd(ctx->redis, "HGET %s state", jkey);
    bool done = rds_ok(rep) && rep->type == REDIS_REPLY_STRING && strcmp(rep->str, "done") == 0;
    if (rep)
        freeReplyObject(rep);
    int rc = 0;
    if (changes || !done) {
        job_t j = { .id = id, .tenant = t->id, .service = "write", .type = "seed_enums",
                    .ref = "suppliers", .max_attempts = job_max_attempts("seed_enums") };
        rc = job_submit(ctx->redis, ctx->bus, &j) < 0 ? -1 : 0;
    }
    free(jkey);
    free(id);
    return rc;
}

int reference_sync(job_ctx_t *ctx, const tenant_cfg_t *t, const flow_cfg_t *flow,
                   const uint8_t *key, char *err, size_t len)
{
    const json_t *ref = json_path_get(flow->raw, "reference.suppliers");
    if (!json_is_object(ref))
        return 0;
    rds_t *r = ctx->redis;
    char *gate = xasprintf(K_REF_SYNCED, t->id, "suppliers");
    redisReply *rep = rds_cmd(r, "SET %s %lld NX EX %ld", gate, (long long)now_ms(),
                              env_long("MLC_REF_REFRESH_S", 3600));
    int taken = rds_ok(rep) && rep->type == REDIS_REPLY_STATUS;
    if (rep)
        freeReplyObject(rep);
    if (!taken) {
        free(gate);
        return 0;
    }
    char *hkey = xasprintf(K_REF, t->id, "suppliers");
    json_t *fresh = NULL, *stored = NULL;
    size_t changes = 0;
    int rc = read_ref(ctx, t, flow, ref, key, &fresh, err, len);
    if (rc == 0 && !(stored = refdata_load(r, t->id, "suppliers"))) {
        snprintf(err, len, "suppliers: redis: cannot read %s", hkey);
        rc = -1;
    }
    if (rc == 0) {
        changes = reference_changes(stored, fresh);
        if (store_ref(r, hkey, stored, fresh) != 0 || submit_seed(ctx, t, fresh, changes) != 0) {
            snprintf(err, len, "suppliers: redis: cannot store %s", hkey);
            rc = -1;
        }
    }
    if (rc == 0) {
        audit_add(r, t->id, "reference:suppliers", "reference.synced",
                  json_pack("{s:s, s:I, s:I}", "flow", flow->name, "suppliers",
                            (json_int_t)json_object_size(fresh), "changed", (json_int_t)changes));
        mlog(LOG_INFO, "reference.synced", "tenant %s: %zu suppliers, %zu new or renamed", t->id,
             json_object_size(fresh), changes);
    } else {
        /* Let the next poll try again instead of waiting out the refresh interval. */
        rep = rds_cmd(r, "DEL %s", gate);
        if (rep)
            freeReplyObject(rep);
        audit_add(r, t->id, "reference:suppliers", "reference.failed",
                  json_pack("{s:s, s:s}", "flow", flow->name, "error", err));
        mlog(LOG_WARN, "reference.failed", "tenant %s flow %s: %s", t->id, flow->name, err);
    }
    json_decref(fresh);
    json_decref(stored);
    free(hkey);
    free(gate);
    return rc == 0 ? 1 : -1;
}
