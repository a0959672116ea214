/* ifs_sim: a simulated IFS Cloud on one HTTP port: IAM token endpoint (Keycloak realm),
 * OData v4 projections for purchase orders, supplier invoices and suppliers (paging, ETags,
 * PATCH and bound actions with If-Match), rate limit, latency and fault injection, and the
 * unauthenticated /_sim/ control endpoints used by tests and benchmarks.
 * docs/simulators.md describes every endpoint and the configuration. */
#ifndef MLC_SIM_IFS_SIM_H
#define MLC_SIM_IFS_SIM_H
#include <stddef.h>
#include "httpd.h"

typedef struct ifs_sim ifs_sim_t;

/* Builds the simulator from a JSON configuration text (NULL = defaults): clients, realm,
 * token_lifetime_s, max_page_size, rate_per_min, latency_ms, fail_5xx_pct, fail_429_pct,
 * down, companies, seed. Seeds the data. Returns NULL with the reason in err for malformed
 * JSON, unknown members or bad values. */
ifs_sim_t *ifs_sim_new(const char *config_json, char *err, size_t err_len);
/* The httpd handler (ud = ifs_sim_t *). Thread-safe. */
void ifs_sim_handle(void *ud, const httpd_req_t *req, httpd_resp_t *resp);
/* Frees and NULLs *s; safe on NULL and twice. Stop the server that uses it first. */
void ifs_sim_destroy(ifs_sim_t **s);
#endif
