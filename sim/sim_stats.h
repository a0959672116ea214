/* sim_stats: what a simulated server saw, for tests and benchmarks: requests per
 * "<METHOD> <label> <status>", named counters (writes, tokens_issued, rate_rejected, ...),
 * and request rates: the largest number of requests in any 60-second window (1-second
 * resolution) and in any 10-second window (exact, millisecond times), overall and per
 * requester (IFS: client_id, ION: tenant). Thread-safe. */
#ifndef MLC_SIM_SIM_STATS_H
#define MLC_SIM_SIM_STATS_H
#include <stdint.h>
#include <jansson.h>

typedef struct sim_stats sim_stats_t;

/* counters: NULL-terminated names always listed (at 0 until used); per_name: the snapshot
 * member holding the per-requester figures ("clients", "tenants"). Both are borrowed and
 * must outlive the object (static strings). */
sim_stats_t *sim_stats_new(const char *const *counters, const char *per_name);
void sim_stats_destroy(sim_stats_t **s);   /* NULLs *s; safe on NULL and twice */

/* Counts one answered request; requester NULL when none was identified. */
void sim_stats_request(sim_stats_t *s, const char *method, const char *label, int status,
                       const char *requester, int64_t now_ms);
/* Adds n to a named counter (created at 0 on first use). */
void sim_stats_add(sim_stats_t *s, const char *counter, long n);
/* Snapshot: {"requests":{..},"total":N,<counters>,"max_rate_60s":N,"max_10s":N,"last_60s":N,
 * "<per_name>":{"<id>":{"requests":N,"max_rate_60s":N,"max_10s":N,"last_60s":N}},
 * "since":"<iso>"}. max_10s: the most requests whose times lie within 10 s of each other
 * (a window (t - 10 s, t]). New reference. */
json_t *sim_stats_json(sim_stats_t *s, int64_t now_ms);
/* Zeroes everything (named counters stay listed at 0). */
void sim_stats_reset(sim_stats_t *s, int64_t now_ms);
#endif
