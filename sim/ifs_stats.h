/* ifs_stats: what the simulated IFS Cloud saw, for tests and benchmarks: requests per
 * "<METHOD> <label> <status>", named counters (writes, tokens_issued, rate_rejected, ...),
 * and request rates: the largest number of requests in any 60-second window (1-second
 * resolution), overall and per client. Thread-safe. */
#ifndef MLC_SIM_IFS_STATS_H
#define MLC_SIM_IFS_STATS_H
#include <stdint.h>
#include <jansson.h>

typedef struct ifs_stats ifs_stats_t;

ifs_stats_t *ifs_stats_new(void);
void ifs_stats_destroy(ifs_stats_t **s);   /* NULLs *s; safe on NULL and twice */

/* Counts one answered request; client_id NULL when none was authenticated. */
void ifs_stats_request(ifs_stats_t *s, const char *method, const char *label, int status,
                       const char *client_id, int64_t now_ms);
/* Adds n to a named counter (created at 0 on first use). */
void ifs_stats_add(ifs_stats_t *s, const char *counter, long n);
/* Snapshot: {"requests":{..},"total":N,<counters>,"max_rate_60s":N,"last_60s":N,
 * "clients":{"<id>":{"requests":N,"max_rate_60s":N,"last_60s":N}},"since":"<iso>"}.
 * New reference. */
json_t *ifs_stats_json(ifs_stats_t *s, int64_t now_ms);
/* Zeroes everything (named counters stay listed at 0). */
void ifs_stats_reset(ifs_stats_t *s, int64_t now_ms);
#endif
