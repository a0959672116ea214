/* gw_agg: see gw_agg.h. One tenant costs one pipelined round trip for its queues, counters
 * and webhook, then two or three reads per flow. */
#include "gw_agg.h"

#include <stdlib.h>
#include <string.h>

#include "hook_health.h"
#include "keys.h"
#include "synclog.h"
#include "tenant.h"
#include "util.h"

/* K_STATS counters exported one family each (writeback_<outcome> is one labelled family). */
static const struct {
    const char *field, *metric, *help;
} COUNTERS[] = {
    { "jobs_enqueued", "mlc_jobs_enqueued_total", "Jobs created, per tenant." },
    { "jobs_done", "mlc_jobs_done_total", "Jobs finished successfully, per tenant." },
    { "jobs_retried", "mlc_jobs_retried_total", "Job runs that failed and were scheduled to run again, per tenant." },
    { "jobs_deferred", "mlc_jobs_deferred_total", "Job runs turned away by a shared rate limit and put back without using an attempt, per tenant." },
    { "jobs_dead", "mlc_jobs_dead_total", "Jobs moved to the dead letter queue, per tenant." },
    { "records_seen", "mlc_records_synced_total", "ERP records read by sync runs, per tenant." },
    { "records_changed", "mlc_records_changed_total", "ERP records a sync found new or changed (one write job each), per tenant." },
    { "tasks_created", "mlc_tasks_created_total", "Asana tasks created, per tenant." },
    { "tasks_updated", "mlc_tasks_updated_total", "Asana tasks updated, per tenant." },
    { "webhook_registrations", "mlc_webhook_registrations_total", "Asana webhooks registered, per tenant." },
};
#define N_COUNTERS ((int)(sizeof COUNTERS / sizeof COUNTERS[0]))
/* K_STATS counters <prefix><label value> exported as one labelled family each: the values
 * listed in "always" are exported at 0 until counted, any other value once counted. */
static const char *const WRITEBACK_OUTCOMES[] = { "applied", "already", "not_applicable",
                                                  "pending", "failed", NULL };
static const struct {
    const char *prefix, *metric, *label, *help;
    const char *const *always;
} LABELLED[] = {
    { "writeback_", "mlc_writebacks_total", "outcome",
      "Approval write-backs to the ERP per tenant by outcome.", WRITEBACK_OUTCOMES },
    { "asana_requests_", "mlc_asana_requests_total", "status",
      "Asana API requests sent, per tenant by HTTP status (0: no answer).", NULL },
    { "erp_requests_", "mlc_erp_requests_total", "status",
      "ERP requests sent (reads, write-backs, token revocations; not token grants), per tenant by HTTP status (0: no answer).", NULL },
    { "token_fetches_", "mlc_token_fetches_total", "system",
      "Requests to a token endpoint (ifs: IFS IAM, ion: ION authorization server), per tenant.", NULL },
};
#define N_LABELLED ((int)(sizeof LABELLED / sizeof LABELLED[0]))
/* Systems of mlc_rate_limited_total: the 429 answers counted as <system>_requests_429. */
static const char *const RATE_LIMITED_SYSTEMS[] = { "asana", "erp", NULL };
static const char *const QUEUE_SERVICES[] = { "poll", "write" };
/* Job states of the model's "queues" besides the per-service queues. */
static const char *const JOB_STATES[] = { "running", "retry", "dead" };

/* ---- reading ---------------------------------------------------------------------------- */

/* An HGETALL reply as a JSON object of strings (empty for anything else). */
static json_t *hash_of(const redisReply *rep)
{
    json_t *o = json_object();
    for (size_t i = 0; rds_ok(rep) && rep->type == REDIS_REPLY_ARRAY && i + 1 < rep->elements; i += 2)
        if (rep->element[i]->str && rep->element[i + 1]->str)
            json_object_set_new(o, rep->element[i]->str, json_string(rep->element[i + 1]->str));
    return o;
}

static const char *str_of(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* Epoch ms of an ISO-8601 member of o, 0 when absent or unparsable. */
static json_int_t iso_ms(const json_t *o, const char *k)
{
    int64_t ms = parse_iso8601(str_of(o, k));
    return ms > 0 ? ms : 0;
}

static json_int_t int_of(const json_t *o, const char *k)
{
    return strtoll(str_of(o, k), NULL, 10);
}

/* Alive workers per service: heartbeats of K_WORKERS seen within GWA_WORKER_STALE_MS. */
static json_t *workers_alive(rds_t *r, int64_t now, int *rc)
{
    json_t *out = json_object();
    redisReply *rep = rds_cmd(r, "HGETALL %s", K_WORKERS);
    if (!rds_ok(rep))
        *rc = -1;
    json_t *all = hash_of(rep);
    const char *id;
    json_t *v;
    json_object_foreach(all, id, v) {
        json_t *hb = json_loads(json_string_value(v), 0, NULL);
        const char *service = json_string_value(json_object_get(hb, "service"));
        json_int_t seen = json_integer_value(json_object_get(hb, "last_seen_ms"));
        if (service && now - seen <= GWA_WORKER_STALE_MS)
            json_object_set_new(out, service, json_integer(json_integer_value(json_object_get(out, service)) + 1));
        json_decref(hb);
    }
    json_decref(all);
    if (rep)
        freeReplyObject(rep);
    return out;
}

/* The fixed part of a tenant (queues, tasks mapped, counters, webhook) in one pipeline.
 * 0, or -1 when Redis failed. */
static int tenant_fixed(rds_t *r, const char *id, json_t *t)
{
    char *keys[] = { xasprintf(K_QUEUE, id, QUEUE_SERVICES[0]), xasprintf(K_QUEUE, id, QUEUE_SERVICES[1]),
                     xasprintf(K_LEASES, id), xasprintf(K_RETRY, id), xasprintf(K_DLQ, id),
                     xasprintf(K_TASKMAP, id), xasprintf(K_STATS, id), xasprintf(K_HOOK, id),
                     xasprintf(K_HOOK_PENDING, id) };
    enum { N_KEYS = sizeof keys / sizeof keys[0] };
    int sent = 0;
    for (int i = 0; i < 5; i++)
        sent += rds_append(r, "ZCARD %s", keys[i]) == 0;
    sent += rds_append(r, "HLEN %s", keys[5]) == 0;
    sent += rds_append(r, "HGETALL %s", keys[6]) == 0;
    sent += rds_append(r, "HGETALL %s", keys[7]) == 0;
    sent += rds_append(r, "EXISTS %s", keys[8]) == 0;
    redisReply *rep[N_KEYS] = { 0 };
    int rc = sent == N_KEYS ? 0 : -1;
    for (int i = 0; i < sent; i++)
        if (!rds_ok(rep[i] = rds_get_reply(r)))
            rc = -1;
    if (rc == 0) {
        json_t *q = json_object();
        for (int i = 0; i < 2; i++)
            json_object_set_new(q, QUEUE_SERVICES[i], json_integer(rds_int(rep[i], 0)));
        for (int i = 0; i < 3; i++)
            json_object_set_new(q, JOB_STATES[i], json_integer(rds_int(rep[2 + i], 0)));
        json_object_set_new(t, "queues", q);
        json_object_set_new(t, "tasks_mapped", json_integer(rds_int(rep[5], 0)));
        json_t *stats = hash_of(rep[6]), *counters = json_object();
        const char *k;
        json_t *v;
        json_object_foreach(stats, k, v)
            json_object_set_new(counters, k, json_integer(strtoll(json_string_value(v), NULL, 10)));
        json_decref(stats);
        json_object_set_new(t, "counters", counters);
        json_t *h = hash_of(rep[7]);
        json_object_set_new(t, "webhook", json_pack("{s:s, s:s, s:I, s:I, s:s}",
            "health", hook_health(rds_int(rep[8], 0) > 0, str_of(h, "gid"), str_of(h, "active"),
                                  str_of(h, "last_error")),
            "gid", str_of(h, "gid"), "last_delivery_ms", iso_ms(h, "last_delivery_at"),
            "checked_ms", iso_ms(h, "checked_at"), "last_error", str_of(h, "last_error")));
        json_decref(h);
    }
    for (int i = 0; i < N_KEYS; i++) {
        if (rep[i])
            freeReplyObject(rep[i]);
        free(keys[i]);
    }
    return rc;
}

/* One flow's model object (new reference): its last sync (K_SYNC), duration histogram and,
 * when history > 0, its newest runs. Sets *rc to -1 when Redis failed. */
static json_t *flow_status(rds_t *r, const char *id, const flow_cfg_t *flow, int history, int *rc)
{
    char *k = xasprintf(K_SYNC, id, flow->name);
    redisReply *rep = rds_cmd(r, "HGETALL %s", k);
    free(k);
    if (!rds_ok(rep))
        *rc = -1;
    json_t *s = hash_of(rep);
    if (rep)
        freeReplyObject(rep);
    json_t *f = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:s, s:s}",
        "status", str_of(s, "status"), "started_ms", iso_ms(s, "started_at"),
        "finished_ms", iso_ms(s, "finished_at"), "duration_ms", int_of(s, "duration_ms"),
        "records", int_of(s, "records"), "changed", int_of(s, "changed"),
        "error", str_of(s, "error"), "schedule", flow->schedule ? flow->schedule : "");
    json_decref(s);
    uint64_t counts[SYNCLOG_NBOUNDS + 1];
    int64_t sum_ms;
    if (synclog_hist_read(r, id, flow->name, counts, &sum_ms) < 0)
        *rc = -1;
    json_t *c = json_array();
    for (int i = 0; i <= SYNCLOG_NBOUNDS; i++)
        json_array_append_new(c, json_integer((json_int_t)counts[i]));
    json_object_set_new(f, "hist", json_pack("{s:o, s:I}", "counts", c, "sum_ms", (json_int_t)sum_ms));
    if (history > 0) {
        synclog_run_t *runs;
        int n = synclog_read(r, id, flow->name, history, &runs);
        if (n < 0)
            *rc = -1;
        json_t *h = json_array();
        for (int i = 0; i < n; i++)
            json_array_append_new(h, json_pack("{s:I, s:I, s:I, s:I, s:b}",
                "finished_ms", (json_int_t)runs[i].finished_ms, "records", (json_int_t)runs[i].records,
                "changed", (json_int_t)runs[i].changed, "duration_ms", (json_int_t)runs[i].duration_ms,
                "ok", runs[i].ok));
        free(runs);
        json_object_set_new(f, "history", h);
    }
    return f;
}

json_t *gwa_collect(rds_t *r, const uint8_t key[MLC_KEY_LEN], int history, int64_t now)
{
    int rc = 0;
    json_t *model = json_pack("{s:I}", "generated_ms", (json_int_t)now);
    json_object_set_new(model, "workers", workers_alive(r, now, &rc));
    json_t *tenants = json_object();
    int n;
    char **ids = tenant_ids(r, &n);
    for (int i = 0; rc == 0 && i < n; i++) {
        json_t *t = json_object();
        json_object_set_new(tenants, ids[i], t);
        if (tenant_fixed(r, ids[i], t) < 0) {
            rc = -1;
            break;
        }
        json_t *flows = json_object();
        json_object_set_new(t, "flows", flows);
        tenant_cfg_t cfg;
        char err[256];
        if (tenant_load(r, key, ids[i], &cfg, err, sizeof err) != 0) {
            json_object_set_new(t, "error", json_string(err));
            continue;
        }
        json_object_set_new(t, "name", json_string(cfg.name ? cfg.name : ids[i]));
        json_object_set_new(t, "erp", json_string(cfg.erp_type ? cfg.erp_type : ""));
        for (size_t j = 0; j < cfg.nflows; j++)
            json_object_set_new(flows, cfg.flows[j].name, flow_status(r, ids[i], &cfg.flows[j], history, &rc));
        tenant_cfg_free(&cfg);
    }
    tenant_ids_free(ids, n);
    json_object_set_new(model, "tenants", tenants);
    if (rc < 0) {
        json_decref(model);
        return NULL;
    }
    return model;
}

/* ---- metrics ---------------------------------------------------------------------------- */

static double num(const json_t *o, const char *k)
{
    return (double)json_integer_value(json_object_get(o, k));
}

/* The samples of LABELLED[which] from the tenant's counters c. */
static void labelled_counters(prom_t *p, const char *id, json_t *c, int which)
{
    const char *prefix = LABELLED[which].prefix, *const *always = LABELLED[which].always;
    for (int i = 0; always && always[i]; i++) {
        const char *l[] = { "tenant", id, LABELLED[which].label, always[i], NULL };
        char field[64];
        snprintf(field, sizeof field, "%s%s", prefix, always[i]);
        prom_sample(p, LABELLED[which].metric, l, num(c, field));
    }
    const char *k;
    json_t *v;
    json_object_foreach(c, k, v) {
        if (!str_starts(k, prefix) || !k[strlen(prefix)])
            continue;
        const char *value = k + strlen(prefix);
        bool listed = false;
        for (int i = 0; always && always[i]; i++)
            listed |= strcmp(value, always[i]) == 0;
        const char *l[] = { "tenant", id, LABELLED[which].label, value, NULL };
        if (!listed)
            prom_sample(p, LABELLED[which].metric, l, (double)json_integer_value(v));
    }
}

static void tenant_metrics(prom_t *p, const char *id, json_t *t)
{
    const char *lt[] = { "tenant", id, NULL };
    const json_t *q = json_object_get(t, "queues");
    double queued = 0;
    for (int i = 0; i < 2; i++) {
        const char *l[] = { "tenant", id, "service", QUEUE_SERVICES[i], NULL };
        prom_sample(p, "mlc_jobs_queued", l, num(q, QUEUE_SERVICES[i]));
        queued += num(q, QUEUE_SERVICES[i]);
    }
    const char *lq[] = { "tenant", id, "state", "queued", NULL };
    prom_sample(p, "mlc_jobs", lq, queued);
    for (int i = 0; i < 3; i++) {
        const char *l[] = { "tenant", id, "state", JOB_STATES[i], NULL };
        prom_sample(p, "mlc_jobs", l, num(q, JOB_STATES[i]));
    }
    prom_sample(p, "mlc_tasks_mapped", lt, num(t, "tasks_mapped"));

    json_t *c = json_object_get(t, "counters");
    for (int i = 0; i < N_COUNTERS; i++)
        prom_sample(p, COUNTERS[i].metric, lt, num(c, COUNTERS[i].field));
    for (int i = 0; i < N_LABELLED; i++)
        labelled_counters(p, id, c, i);
    for (int i = 0; RATE_LIMITED_SYSTEMS[i]; i++) {
        const char *l[] = { "tenant", id, "system", RATE_LIMITED_SYSTEMS[i], NULL };
        char field[64];
        snprintf(field, sizeof field, "%s_requests_429", RATE_LIMITED_SYSTEMS[i]);
        prom_sample(p, "mlc_rate_limited_total", l, num(c, field));
    }

    const json_t *h = json_object_get(t, "webhook");
    const char *health = json_string_value(json_object_get(h, "health"));
    for (int i = 0; HOOK_HEALTH_STATES[i]; i++) {
        const char *l[] = { "tenant", id, "health", HOOK_HEALTH_STATES[i], NULL };
        prom_sample(p, "mlc_webhook_health", l, health && strcmp(health, HOOK_HEALTH_STATES[i]) == 0);
    }
    if (num(h, "last_delivery_ms") > 0)
        prom_sample(p, "mlc_webhook_last_delivery_timestamp_seconds", lt, num(h, "last_delivery_ms") / 1000);

    double bounds[SYNCLOG_NBOUNDS];
    for (int i = 0; i < SYNCLOG_NBOUNDS; i++)
        bounds[i] = (double)SYNCLOG_BOUNDS_MS[i] / 1000;
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(t, "flows"), k, v) {
        const char *l[] = { "tenant", id, "flow", k, NULL };
        const char *status = json_string_value(json_object_get(v, "status"));
        if (num(v, "finished_ms") > 0) {
            prom_sample(p, "mlc_sync_last_finished_timestamp_seconds", l, num(v, "finished_ms") / 1000);
            prom_sample(p, "mlc_sync_last_duration_seconds", l, num(v, "duration_ms") / 1000);
            prom_sample(p, "mlc_sync_last_records", l, num(v, "records"));
            prom_sample(p, "mlc_sync_last_changed", l, num(v, "changed"));
            prom_sample(p, "mlc_sync_last_ok", l, *str_of(v, "error") == '\0');
        }
        prom_sample(p, "mlc_sync_running", l, status && strcmp(status, "running") == 0);
        const json_t *hist = json_object_get(v, "hist");
        uint64_t counts[SYNCLOG_NBOUNDS + 1] = { 0 };
        for (int i = 0; i <= SYNCLOG_NBOUNDS; i++)
            counts[i] = (uint64_t)json_integer_value(json_array_get(json_object_get(hist, "counts"), (size_t)i));
        prom_histogram(p, "mlc_sync_duration_seconds", l, SYNCLOG_NBOUNDS, bounds, counts,
                       num(hist, "sum_ms") / 1000);
    }
}

void gwa_metrics(const json_t *model, prom_t *p)
{
    prom_family(p, "mlc_workers_alive", PROM_GAUGE, "Worker processes with a heartbeat in the last 10 s, per service.");
    prom_family(p, "mlc_jobs", PROM_GAUGE, "Jobs per tenant by state: queued, running (leased), retry (waiting to run again), dead (the dead letter queue).");
    prom_family(p, "mlc_jobs_queued", PROM_GAUGE, "Queued jobs per tenant and service.");
    prom_family(p, "mlc_tasks_mapped", PROM_GAUGE, "ERP records with an Asana task, per tenant.");
    for (int i = 0; i < N_COUNTERS; i++)
        prom_family(p, COUNTERS[i].metric, PROM_COUNTER, COUNTERS[i].help);
    for (int i = 0; i < N_LABELLED; i++)
        prom_family(p, LABELLED[i].metric, PROM_COUNTER, LABELLED[i].help);
    prom_family(p, "mlc_rate_limited_total", PROM_COUNTER, "Requests answered 429 (rate limited), per tenant and system (asana, erp): the status 429 samples of mlc_asana_requests_total and mlc_erp_requests_total.");
    prom_family(p, "mlc_webhook_health", PROM_GAUGE, "The tenant's Asana webhook: 1 for its current health, 0 for the others.");
    prom_family(p, "mlc_webhook_last_delivery_timestamp_seconds", PROM_GAUGE, "Time of the last verified webhook delivery, per tenant.");
    prom_family(p, "mlc_sync_last_finished_timestamp_seconds", PROM_GAUGE, "End of the last finished sync run, per tenant and flow.");
    prom_family(p, "mlc_sync_last_duration_seconds", PROM_GAUGE, "Duration of the last finished sync run.");
    prom_family(p, "mlc_sync_last_records", PROM_GAUGE, "ERP records read by the last finished sync run.");
    prom_family(p, "mlc_sync_last_changed", PROM_GAUGE, "New or changed records found by the last finished sync run.");
    prom_family(p, "mlc_sync_last_ok", PROM_GAUGE, "1 when the last finished sync run succeeded, 0 when it failed.");
    prom_family(p, "mlc_sync_running", PROM_GAUGE, "1 while a sync run of the flow is in progress.");
    prom_family(p, "mlc_sync_duration_seconds", PROM_HISTOGRAM, "Duration of sync runs, per tenant and flow.");
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(model, "workers"), k, v) {
        const char *l[] = { "service", k, NULL };
        prom_sample(p, "mlc_workers_alive", l, (double)json_integer_value(v));
    }
    json_object_foreach(json_object_get(model, "tenants"), k, v)
        if (json_object_get(v, "queues"))
            tenant_metrics(p, k, v);
}

char *gwa_render(rds_t *r, const uint8_t key[MLC_KEY_LEN])
{
    prom_t *p = prom_new();
    json_t *model = r ? gwa_collect(r, key, 0, now_ms()) : NULL;
    prom_family(p, "mlc_redis_up", PROM_GAUGE, "1 when the gateway read the aggregate from Redis, 0 when Redis failed.");
    prom_sample(p, "mlc_redis_up", NULL, model != NULL);
    if (model)
        gwa_metrics(model, p);
    json_decref(model);
    char *text = prom_render(p);
    prom_destroy(&p);
    return text;
}
