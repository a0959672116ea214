/* http: HTTP client on libcurl. One http_client_t wraps one easy handle that is reused, so
 * connections stay alive between requests. TLS verification is always on (a custom CA bundle
 * may be named by MLC_CA_FILE). Timeouts: connect MLC_HTTP_CONNECT_TIMEOUT_MS (default 5000),
 * whole request MLC_HTTP_TIMEOUT_MS (default 30000). Not thread-safe: one client per thread. */
#ifndef MLC_HTTP_H
#define MLC_HTTP_H
#include <stddef.h>
#include "util.h"

typedef struct http_client http_client_t;

typedef struct {
    long   status;        /* HTTP status, 0 when no response arrived */
    buf_t  body;          /* response body (empty when a sink consumed it) */
    buf_t  headers;       /* raw response header lines of the final response */
    char   error[256];    /* transport error text when status == 0 */
    double total_s;       /* request duration */
} http_resp_t;

/* Streaming body consumer: return 0 to continue, non-zero to abort the transfer. */
typedef int (*http_sink_fn)(void *ud, const char *data, size_t len);

typedef struct {
    const char  *method;      /* "GET", "POST", "PUT", "PATCH", "DELETE" */
    const char  *url;
    const char **headers;     /* NULL-terminated "Name: value" lines, may be NULL */
    const char  *body;        /* may be NULL */
    size_t       body_len;
    const char  *basic_user;  /* HTTP Basic auth when non-NULL */
    const char  *basic_pass;
    http_sink_fn sink;        /* when set, the body goes here instead of resp->body */
    void        *sink_ud;
    long         timeout_ms;  /* 0 = default */
} http_req_t;

/* Returns NULL on out of memory. */
http_client_t *http_client_new(void);
void http_client_destroy(http_client_t **c);
/* Performs req. Returns 0 when a response arrived (any status, see resp->status), -1 on a
 * transport failure (resp->error says why; resp->status is 0). resp is initialized by the
 * call; free it with http_resp_free. */
int http_do(http_client_t *c, const http_req_t *req, http_resp_t *resp);
/* Value of a response header (case-insensitive name), malloc'd and trimmed; NULL if absent. */
char *http_resp_header(const http_resp_t *resp, const char *name);
/* Retry-After in ms (delta-seconds or HTTP-date), -1 when absent or unparsable. */
long http_retry_after_ms(const http_resp_t *resp);
void http_resp_free(http_resp_t *resp);
/* Counters of this process (all clients): requests sent and transport failures. */
void http_counters(long *requests, long *failures);
#endif
