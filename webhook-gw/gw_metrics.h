/* gw_metrics: the gateway's counters in process memory, rendered in the Prometheus text
 * format for GET /metrics. Updates are lock-free atomics; a tenant's row is created on its
 * first count (a mutex guards only that). Thread-safe. */
#ifndef MLC_GW_METRICS_H
#define MLC_GW_METRICS_H
#include <stdint.h>

typedef enum {
    GWM_ACCEPTED,            /* events verified and durably recorded (at least one new) */
    GWM_DUPLICATE,           /* every event of the delivery had been seen before */
    GWM_BAD_SIGNATURE,       /* missing or wrong X-Hook-Signature, or no stored secret */
    GWM_TOO_LARGE,           /* body over MLC_GW_MAX_BODY */
    GWM_MALFORMED,           /* not JSON / no events array */
    GWM_HEARTBEAT,           /* {"events":[]} */
    GWM_HANDSHAKE_ACCEPTED,
    GWM_HANDSHAKE_REFUSED,
    GWM_N_OUTCOMES
} gwm_outcome_t;

typedef struct gwm gwm_t;

/* max_tenants rows at most; counts for further tenants are dropped (and logged once). */
gwm_t *gwm_new(int max_tenants);
void gwm_destroy(gwm_t **m);
/* Counts one delivery of tenant (an id valid for gwh_route) with outcome. */
void gwm_delivery(gwm_t *m, const char *tenant, gwm_outcome_t outcome);
/* Adds n newly recorded events of tenant. */
void gwm_enqueued(gwm_t *m, const char *tenant, long n);
/* Records one request's handler latency in microseconds. */
void gwm_latency(gwm_t *m, int64_t usec);
/* The Prometheus text exposition of everything; malloc'd, caller frees. */
char *gwm_render(gwm_t *m);
#endif
