/* httpd: a small HTTP server on GNU libmicrohttpd, shared by the webhook gateway and the
 * simulators. Bodies are buffered up to a limit (413 beyond it) and handed to one handler
 * with method, path, decoded query arguments and headers. The handler fills a response.
 * Runs its own threads; the handler must be thread-safe. */
#ifndef MLC_HTTPD_H
#define MLC_HTTPD_H
#include <stddef.h>
#include <stdbool.h>

typedef struct httpd httpd_t;
typedef struct httpd_req httpd_req_t;

typedef struct {
    int    status;
    char  *body;            /* malloc'd, owned by the server after the handler returns */
    size_t body_len;
    char  *headers[16];     /* malloc'd "Name: value" lines, owned by the server */
    int    nheaders;
} httpd_resp_t;

typedef void (*httpd_handler_fn)(void *ud, const httpd_req_t *req, httpd_resp_t *resp);

typedef struct {
    const char      *bind_addr;   /* default "127.0.0.1" */
    int              port;        /* 0 = pick a free port (see httpd_port) */
    int              threads;     /* worker threads (thread pool), default 4 */
    size_t           max_body;    /* default 1 MiB; larger bodies get 413 */
    httpd_handler_fn handler;
    void            *ud;
} httpd_opts_t;

/* Starts serving. NULL with a reason in err (e.g. port in use). */
httpd_t *httpd_start(const httpd_opts_t *opts, char *err, size_t err_len);
int httpd_port(const httpd_t *h);
/* Stops and frees; NULLs *h; safe on NULL. */
void httpd_stop(httpd_t **h);

/* Request accessors (borrowed strings valid during the handler). */
const char *httpd_method(const httpd_req_t *r);
const char *httpd_path(const httpd_req_t *r);           /* URL path without the query */
const char *httpd_query(const httpd_req_t *r, const char *name);    /* decoded, or NULL */
const char *httpd_header(const httpd_req_t *r, const char *name);   /* case-insensitive */
const char *httpd_body(const httpd_req_t *r, size_t *len);          /* raw bytes, NUL-terminated */
/* Visits every query argument (decoded) in order. */
void httpd_query_each(const httpd_req_t *r, void (*fn)(void *ud, const char *k, const char *v),
                      void *ud);
/* Base URL the client used ("http://<Host header>"), malloc'd. */
char *httpd_base_url(const httpd_req_t *r);

/* Response helpers. set_body copies; json takes a compact dump of the text given. */
void httpd_resp_body(httpd_resp_t *resp, int status, const char *content_type,
                     const char *body, size_t len);
void httpd_resp_json(httpd_resp_t *resp, int status, const char *json_text);
void httpd_resp_header(httpd_resp_t *resp, const char *name, const char *value);
#endif
