/* httpd: see httpd.h. One request context per connection request; the body is buffered up
 * to max_body, then the handler runs once with the complete request. */
#include "httpd.h"

#include <microhttpd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct httpd {
    struct MHD_Daemon *daemon;
    httpd_handler_fn   handler;
    void              *ud;
    size_t             max_body;
    int                port;
};

struct httpd_req {
    struct MHD_Connection *conn;
    const char            *method;
    const char            *path;
    buf_t                  body;
    bool                   too_large;
};

const char *httpd_method(const httpd_req_t *r) { return r->method; }
const char *httpd_path(const httpd_req_t *r) { return r->path; }

const char *httpd_query(const httpd_req_t *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *httpd_header(const httpd_req_t *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *httpd_body(const httpd_req_t *r, size_t *len)
{
    if (len)
        *len = r->body.len;
    return r->body.data ? r->body.data : "";
}

struct query_visit {
    void (*fn)(void *ud, const char *k, const char *v);
    void *ud;
};

static enum MHD_Result visit_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    (void)kind;
    struct query_visit *qv = cls;
    qv->fn(qv->ud, key, value ? value : "");
    return MHD_YES;
}

void httpd_query_each(const httpd_req_t *r, void (*fn)(void *ud, const char *k, const char *v),
                      void *ud)
{
    struct query_visit qv = { fn, ud };
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, visit_arg, &qv);
}

char *httpd_base_url(const httpd_req_t *r)
{
    const char *host = httpd_header(r, "Host");
    return xasprintf("http://%s", host ? host : "127.0.0.1");
}

void httpd_resp_body(httpd_resp_t *resp, int status, const char *content_type, const char *body,
                     size_t len)
{
    free(resp->body);
    resp->status = status;
    resp->body = xmalloc(len + 1);
    memcpy(resp->body, body, len);
    resp->body[len] = '\0';
    resp->body_len = len;
    if (content_type) {
        char *line = xasprintf("Content-Type: %s", content_type);
        for (int i = 0; i < resp->nheaders; i++) {
            if (strncasecmp(resp->headers[i], "Content-Type:", 13) == 0) {
                free(resp->headers[i]);
                resp->headers[i] = line;
                return;
            }
        }
        if (resp->nheaders < (int)(sizeof resp->headers / sizeof resp->headers[0]))
            resp->headers[resp->nheaders++] = line;
        else
            free(line);
    }
}

void httpd_resp_json(httpd_resp_t *resp, int status, const char *json_text)
{
    httpd_resp_body(resp, status, "application/json; charset=utf-8", json_text, strlen(json_text));
}

void httpd_resp_header(httpd_resp_t *resp, const char *name, const char *value)
{
    if (resp->nheaders >= (int)(sizeof resp->headers / sizeof resp->headers[0]))
        return;
    resp->headers[resp->nheaders++] = xasprintf("%s: %s", name, value);
}

static void resp_clear(httpd_resp_t *resp)
{
    free(resp->body);
    for (int i = 0; i < resp->nheaders; i++)
        free(resp->headers[i]);
    memset(resp, 0, sizeof *resp);
}

/* Queues resp on the connection; the body buffer moves to MHD. Returns MHD's verdict. */
static enum MHD_Result send_resp(struct MHD_Connection *conn, httpd_resp_t *resp)
{
    struct MHD_Response *mr = MHD_create_response_from_buffer(
        resp->body_len, resp->body ? resp->body : (void *)"", resp->body ? MHD_RESPMEM_MUST_FREE
                                                                          : MHD_RESPMEM_PERSISTENT);
    if (!mr) {
        resp_clear(resp);
        return MHD_NO;
    }
    resp->body = NULL;
    for (int i = 0; i < resp->nheaders; i++) {
        char *line = resp->headers[i];
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        *colon = '\0';
        const char *v = colon + 1;
        while (*v == ' ')
            v++;
        MHD_add_response_header(mr, line, v);
    }
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)(resp->status ? resp->status : 500), mr);
    MHD_destroy_response(mr);
    resp_clear(resp);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    httpd_t *h = cls;
    httpd_req_t *req = *con_cls;
    if (!req) {
        req = xcalloc(1, sizeof *req);
        buf_init(&req->body);
        req->conn = conn;
        req->method = method;
        req->path = url;
        *con_cls = req;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > h->max_body)
            req->too_large = true;
        if (!req->too_large)
            return MHD_YES;
    }
    if (*upload_data_size && !req->too_large) {
        if (req->body.len + *upload_data_size > h->max_body)
            req->too_large = true;
        else
            buf_append(&req->body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    httpd_resp_t resp = { 0 };
    if (req->too_large) {
        *upload_data_size = 0;
        char msg[128];
        snprintf(msg, sizeof msg, "{\"error\":\"request body larger than %zu bytes\"}", h->max_body);
        httpd_resp_json(&resp, 413, msg);
        httpd_resp_header(&resp, "Connection", "close");
    } else {
        h->handler(h->ud, req, &resp);
    }
    return send_resp(conn, &resp);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)conn, (void)toe;
    httpd_req_t *req = *con_cls;
    if (!req)
        return;
    buf_free(&req->body);
    free(req);
    *con_cls = NULL;
}

httpd_t *httpd_start(const httpd_opts_t *opts, char *err, size_t err_len)
{
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)opts->port) };
    const char *bind_addr = opts->bind_addr ? opts->bind_addr : "127.0.0.1";
    if (inet_pton(AF_INET, bind_addr, &addr.sin_addr) != 1) {
        snprintf(err, err_len, "bad bind address %s (IPv4 dotted quad expected)", bind_addr);
        return NULL;
    }
    httpd_t *h = xcalloc(1, sizeof *h);
    h->handler = opts->handler;
    h->ud = opts->ud;
    h->max_body = opts->max_body ? opts->max_body : 1u << 20;
    /* threads > 0: a pool of polling threads (fast, for short handlers); threads <= 0: one thread
     * per connection, for handlers that block (simulated latency, webhook handshakes). */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    unsigned pool = 0;
    if (opts->threads > 0) {
        flags |= MHD_USE_EPOLL;
        pool = (unsigned)opts->threads;
    } else {
        flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    }
    struct MHD_OptionItem pool_opt[] = {
        { pool ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, pool, NULL },
        { MHD_OPTION_END, 0, NULL } };
    h->daemon = MHD_start_daemon(flags, (uint16_t)opts->port, NULL, NULL, on_request, h,
                                 MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096,
                                 MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                                 MHD_OPTION_ARRAY, pool_opt,
                                 MHD_OPTION_END);
    if (!h->daemon) {
        snprintf(err, err_len, "cannot listen on %s:%d (port in use or not permitted)", bind_addr,
                 opts->port);
        free(h);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : opts->port;
    return h;
}

int httpd_port(const httpd_t *h) { return h->port; }

void httpd_stop(httpd_t **hp)
{
    if (!hp || !*hp)
        return;
    MHD_stop_daemon((*hp)->daemon);
    free(*hp);
    *hp = NULL;
}
