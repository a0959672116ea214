/* gw_agg: the whole deployment's state read from Redis, for the gateway's /metrics (one
 * scrape target covers every worker) and its status page. gwa_collect does the reads and
 * builds one JSON model; gwa_metrics turns a model into Prometheus samples without I/O.
 *
 * The model (every number an integer, times in epoch ms):
 *   { "generated_ms": N,
 *     "workers": { "<service>": alive count },
 *     "tenants": { "<id>": {
 *         "name", "erp", "error" (only when the config cannot be read),
 *         "queues": { "poll", "write", "running", "retry", "dead" },
 *         "tasks_mapped": N,
 *         "counters": { K_STATS field: N },
 *         "webhook": { "health" (hook_health), "gid", "last_delivery_ms", "checked_ms",
 *                      "last_error" },
 *         "flows": { "<flow>": { "status", "started_ms", "finished_ms", "duration_ms",
 *                    "records", "changed", "error", "schedule",
 *                    "hist": { "counts": [SYNCLOG_NBOUNDS + 1], "sum_ms" },
 *                    "history": [ { "finished_ms", "records", "changed", "duration_ms",
 *                                   "ok" } ] oldest first } } } } } */
#ifndef MLC_GW_AGG_H
#define MLC_GW_AGG_H
#include <stdint.h>
#include <jansson.h>

#include "crypto.h"
#include "prom.h"
#include "redis.h"

/* A worker whose heartbeat is older than this is not counted alive. */
#define GWA_WORKER_STALE_MS 10000

/* Reads the model from Redis: every tenant of K_TENANTS, its flows from its configuration
 * (opened with key), and up to history runs per flow (0: no "history" member). Returns a new
 * reference, or NULL when Redis failed. */
json_t *gwa_collect(rds_t *r, const uint8_t key[MLC_KEY_LEN], int history, int64_t now);

/* Adds the samples of model (from gwa_collect) to p, declaring their families. Pure. */
void gwa_metrics(const json_t *model, prom_t *p);

/* The aggregate exposition: mlc_redis_up and, when Redis answered, gwa_metrics of a fresh
 * model. r may be NULL (Redis unreachable). malloc'd text, caller frees. */
char *gwa_render(rds_t *r, const uint8_t key[MLC_KEY_LEN]);
#endif
