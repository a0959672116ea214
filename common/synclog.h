/* synclog: the history of a flow's sync runs in Redis. The poller appends one entry when a
 * run ends; the webhook gateway reads it for /metrics and the status page.
 *   K_SYNC_LOG   STREAM of runs (finished_ms records changed duration_ms ok), trimmed to
 *                about SYNCLOG_MAXLEN entries: the chart of records synced over time
 *   K_SYNC_HIST  HASH histogram of run durations: le_<ms> per bucket of SYNCLOG_BOUNDS_MS
 *                (non-cumulative), le_inf beyond the last bound, sum_ms */
#ifndef MLC_SYNCLOG_H
#define MLC_SYNCLOG_H
#include <stdbool.h>
#include <stdint.h>
#include "redis.h"

#define SYNCLOG_MAXLEN   1000
#define SYNCLOG_NBOUNDS  10
/* Upper bounds (ms) of the duration buckets, ascending. */
extern const int64_t SYNCLOG_BOUNDS_MS[SYNCLOG_NBOUNDS];

typedef struct {
    int64_t finished_ms;
    long    records;       /* rows the run read from the ERP */
    long    changed;       /* of those, new or changed (write jobs) */
    int64_t duration_ms;
    bool    ok;
} synclog_run_t;

/* Appends run to the flow's stream and histogram in one pipelined round trip. Returns 0, or
 * -1 when Redis failed (the history misses the run; nothing else depends on it). */
int synclog_append(rds_t *r, const char *tenant, const char *flow, const synclog_run_t *run);

/* The newest max runs of the flow, oldest first, into *runs (malloc'd, caller frees; NULL
 * when none). Returns the count, or -1 when Redis failed. */
int synclog_read(rds_t *r, const char *tenant, const char *flow, int max, synclog_run_t **runs);

/* The duration histogram: counts[SYNCLOG_NBOUNDS + 1] per-bucket counts (last: beyond the
 * last bound) and *sum_ms. All zero when the flow never finished a run. 0, or -1 when Redis
 * failed. */
int synclog_hist_read(rds_t *r, const char *tenant, const char *flow,
                      uint64_t counts[SYNCLOG_NBOUNDS + 1], int64_t *sum_ms);

/* The bucket index of a duration: the first bound >= ms, SYNCLOG_NBOUNDS beyond them all. */
int synclog_bucket(int64_t ms);
#endif
