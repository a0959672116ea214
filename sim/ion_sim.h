/* ion_sim: a simulated Infor ION API gateway on one HTTP port, with its authorization server
 * (/{ti}/as/token.oauth2, revoke_token.oauth2) and, behind it, M3 (m3api-rest v1 and v2) for
 * tenant DEMO_TST and SyteLine IDO REST for tenant DEMO_CSI; per-tenant rate limit, latency,
 * 429/500 fault injection and the unauthenticated /_sim/ control endpoints.
 * docs/simulators.md describes every endpoint and the configuration. */
#ifndef MLC_SIM_ION_SIM_H
#define MLC_SIM_ION_SIM_H
#include <stddef.h>
#include "httpd.h"

typedef struct ion_sim ion_sim_t;

/* Builds the simulator from a JSON configuration text (NULL = defaults): token_lifetime_s,
 * refresh_token_lifetime_s, issue_refresh_tokens, rate_per_min, latency_ms, fail_429_pct,
 * fail_500_pct, max_maxrecs, down, seed. Seeds the data. Returns NULL with the reason in err
 * for malformed JSON, unknown members or bad values. */
ion_sim_t *ion_sim_new(const char *config_json, char *err, size_t err_len);
/* The httpd handler (ud = ion_sim_t *). Thread-safe. */
void ion_sim_handle(void *ud, const httpd_req_t *req, httpd_resp_t *resp);
/* Frees and NULLs *s; safe on NULL and twice. Stop the server that uses it first. */
void ion_sim_destroy(ion_sim_t **s);
#endif
