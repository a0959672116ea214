/* reqstats: the requests this process sent to Asana and to the ERP, by HTTP status, and its
 * token fetches, per tenant. Counted in memory where a request goes on the wire (a request
 * our own rate limiter or pause turns away is not counted), then added by reqstats_flush to
 * the tenant's counters hash K_STATS, where the webhook gateway's /metrics reads them. Workers
 * flush with their heartbeat (every second) and once more at a clean stop; the CLI at exit.
 *
 * K_STATS fields (docs/redis-keys.md):
 *   asana_requests_<status>  Asana API requests answered <status>
 *   erp_requests_<status>    ERP requests answered <status>: IFS OData reads and write-backs,
 *                            M3 MI and SyteLine IDO calls (through the ION API gateway), ION
 *                            token revocations; not token grants
 *   token_fetches_<system>   requests to a token endpoint, whatever the answer: system "ifs"
 *                            (IFS IAM, client credentials) or "ion" (the ION authorization
 *                            server, password or refresh grant); the systems of token.c's cache
 * <status> 0 means no answer arrived (transport failure or timeout).
 *
 * The counters are process-wide (one set for all threads, like http_counters) and
 * thread-safe. A flush sends the deltas counted since the last successful one and subtracts
 * only what Redis confirmed, so a failed flush (Redis down) loses nothing: the next one sends
 * it. Only a connection lost after Redis applied a pipeline but before its replies arrived can
 * send a delta twice. */
#ifndef MLC_REQSTATS_H
#define MLC_REQSTATS_H
#include "http.h"
#include "redis.h"

#define REQSTATS_ASANA "asana"
#define REQSTATS_ERP   "erp"

/* Counts one request of tenant to system (REQSTATS_ASANA or REQSTATS_ERP) answered status;
 * status outside 0..999 counts as 0. Both strings are borrowed ([a-z0-9_-], asserted
 * non-NULL). */
void reqstats_request(const char *tenant, const char *system, long status);
/* Counts one request with the status of resp (reqstats_status). */
void reqstats_response(const char *tenant, const char *system, const http_resp_t *resp);
/* The status to count for resp: resp->status, or when that is 0 the status line of the
 * response headers (a body sink that stops a transfer early makes http_do report no status
 * although the server answered), else 0 (no answer). Pure. */
long reqstats_status(const http_resp_t *resp);
/* Counts one token endpoint request of tenant for system ("ifs", "ion"). */
void reqstats_token(const char *tenant, const char *system);

/* Adds every unflushed count to its tenant's K_STATS in one pipeline (HINCRBY per field).
 * Returns 0 when everything counted before the call is in Redis (nothing to do included), -1
 * when Redis failed for some or all fields (r may be NULL): those stay counted for the next
 * flush. Concurrent flushes are serialized; counting goes on during a flush. */
int reqstats_flush(rds_t *r);
/* Number of fields with an unflushed count (0: a flush has nothing to do). */
long reqstats_pending(void);
#endif
