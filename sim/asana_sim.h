/* asana_sim: the simulated Asana REST API (base path /api/1.0) that bin/mlc-sim serves: the
 * endpoints the connector uses, with Asana's request validation, response shapes (compact,
 * full, opt_fields), pagination, bearer-token auth, per-token rate and concurrency limits,
 * latency and fault injection, plus unauthenticated /_sim/ endpoints for tests (statistics,
 * run-time configuration, every task of a project by field name, reset). See
 * docs/simulators.md "## Asana" for the endpoint list and the error messages.
 *
 * Thread-safe: any number of server threads may call asana_sim_handle / asana_sim_serve at
 * once (one read-write lock around the data, one mutex around limits and statistics). Run the
 * HTTP server with a thread per connection (httpd threads <= 0) when latency_ms is used, or
 * concurrency limits cannot be observed. */
#ifndef MLC_SIM_ASANA_SIM_H
#define MLC_SIM_ASANA_SIM_H
#include <stddef.h>

#include "httpd.h"

typedef struct asana_sim asana_sim_t;

/* A decoded query argument. */
typedef struct {
    const char *name;
    const char *value;
} asana_kv_t;

/* One HTTP request, independent of any server. Every pointer is borrowed for the call. */
typedef struct {
    const char       *method;         /* "GET", "POST", "PUT", "DELETE", ... */
    const char       *path;           /* URL path without the query: "/api/1.0/tasks/123" */
    const asana_kv_t *query;          /* decoded query arguments in order */
    size_t            nquery;
    const char       *authorization;  /* the Authorization header, NULL when absent */
    const char       *body;           /* raw body bytes (NULL when body_len is 0) */
    size_t            body_len;
    const char       *base_url;       /* "http://host:port" as the client addressed us, for
                                         Location and next_page.uri; NULL: http://127.0.0.1 */
} asana_req_t;

/* Creates a simulator from a JSON configuration (see asana_config.h; NULL or "" = defaults).
 * NULL with the reason in err when the configuration is invalid. */
asana_sim_t *asana_sim_new(const char *config_json, char *err, size_t err_len);

/* Answers req into resp (status, body, headers: Content-Type, Location on creates,
 * Retry-After on 429/503). The pure entry point: no socket involved, used by unit tests and
 * wrapped by asana_sim_handle. Sleeps latency_ms on admitted API requests. */
void asana_sim_serve(asana_sim_t *s, const asana_req_t *req, httpd_resp_t *resp);

/* httpd handler: ud is the asana_sim_t*. Builds an asana_req_t from the request and serves it. */
void asana_sim_handle(void *ud, const httpd_req_t *req, httpd_resp_t *resp);

/* Frees the simulator and NULLs *s; safe on NULL and twice. No request may be in progress. */
void asana_sim_destroy(asana_sim_t **s);
#endif
