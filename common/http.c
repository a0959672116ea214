/* http: libcurl client with one reused easy handle per client (keep-alive). */
#include "http.h"

#include <assert.h>
#include <ctype.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

struct http_client {
    CURL *easy;
};

/* Per-transfer state the curl callbacks write into. */
typedef struct {
    http_resp_t  *resp;
    const http_req_t *req;
    bool          sink_aborted;
} transfer_t;

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static atomic_long n_requests;
static atomic_long n_failures;

static void global_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

http_client_t *http_client_new(void)
{
    pthread_once(&global_once, global_init);
    http_client_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->easy = curl_easy_init();
    if (!c->easy) {
        free(c);
        return NULL;
    }
    return c;
}

void http_client_destroy(http_client_t **c)
{
    if (!c || !*c)
        return;
    curl_easy_cleanup((*c)->easy);
    free(*c);
    *c = NULL;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    transfer_t *t = ud;
    size_t n = size * nmemb;
    if (t->req->sink) {
        if (t->req->sink(t->req->sink_ud, data, n) != 0) {
            t->sink_aborted = true;
            return 0; /* makes curl fail with CURLE_WRITE_ERROR */
        }
        return n;
    }
    buf_append(&t->resp->body, data, n);
    return n;
}

/* Keeps only the final response's headers: every status line (1xx, redirects) starts over. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    transfer_t *t = ud;
    size_t n = size * nmemb;
    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0)
        buf_reset(&t->resp->headers);
    buf_append(&t->resp->headers, data, n);
    return n;
}

/* Applies every per-request option on a freshly reset handle. Returns the header list the
 * caller must free after the transfer. */
static struct curl_slist *apply_options(CURL *e, const http_req_t *req, transfer_t *t,
                                        char *errbuf)
{
    const char *method = req->method ? req->method : "GET";
    long timeout = req->timeout_ms > 0 ? req->timeout_ms : env_long("MLC_HTTP_TIMEOUT_MS", 30000);

    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, env_long("MLC_HTTP_CONNECT_TIMEOUT_MS", 5000));
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    const char *ca = env_or("MLC_CA_FILE", NULL);
    if (ca)
        curl_easy_setopt(e, CURLOPT_CAINFO, ca);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t);

    if (strcasecmp(method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (req->body || strcasecmp(method, "POST") == 0 || strcasecmp(method, "PUT") == 0 ||
               strcasecmp(method, "PATCH") == 0) {
        /* POSTFIELDS sends a Content-Length body with any method named below. */
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(req->body ? req->body_len : 0));
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body ? req->body : "");
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    } else if (strcasecmp(method, "GET") != 0) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    }

    if (req->basic_user) {
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(e, CURLOPT_USERNAME, req->basic_user);
        curl_easy_setopt(e, CURLOPT_PASSWORD, req->basic_pass ? req->basic_pass : "");
    }

    /* "Expect:" stops curl from waiting for 100-continue before large bodies. */
    struct curl_slist *hdrs = curl_slist_append(NULL, "Expect:");
    for (const char **h = req->headers; h && *h; h++) {
        struct curl_slist *more = curl_slist_append(hdrs, *h);
        if (more)
            hdrs = more;
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
    return hdrs;
}

int http_do(http_client_t *c, const http_req_t *req, http_resp_t *resp)
{
    assert(c && req && req->url && resp);
    memset(resp, 0, sizeof *resp);
    buf_init(&resp->body);
    buf_init(&resp->headers);

    transfer_t t = {.resp = resp, .req = req, .sink_aborted = false};
    char errbuf[CURL_ERROR_SIZE] = "";
    /* Reset drops the previous request's method, body and headers but keeps the connection
     * cache, so keep-alive still works. */
    curl_easy_reset(c->easy);
    struct curl_slist *hdrs = apply_options(c->easy, req, &t, errbuf);

    atomic_fetch_add(&n_requests, 1);
    CURLcode rc = curl_easy_perform(c->easy);
    curl_easy_getinfo(c->easy, CURLINFO_TOTAL_TIME, &resp->total_s);
    curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(hdrs);

    if (rc == CURLE_OK) {
        curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &resp->status);
        return 0;
    }
    resp->status = 0;
    if (t.sink_aborted) {
        snprintf(resp->error, sizeof resp->error, "aborted by the body sink");
    } else {
        atomic_fetch_add(&n_failures, 1);
        snprintf(resp->error, sizeof resp->error, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
    }
    return -1;
}

char *http_resp_header(const http_resp_t *resp, const char *name)
{
    if (!resp || !resp->headers.data || !name)
        return NULL;
    size_t nlen = strlen(name);
    for (const char *line = resp->headers.data; *line;) {
        const char *eol = strchr(line, '\n');
        size_t llen = eol ? (size_t)(eol - line) : strlen(line);
        if (llen > nlen && line[nlen] == ':' && strncasecmp(line, name, nlen) == 0) {
            char *raw = xmalloc(llen - nlen);
            memcpy(raw, line + nlen + 1, llen - nlen - 1);
            raw[llen - nlen - 1] = '\0';
            char *value = str_trim_dup(raw);
            free(raw);
            return value;
        }
        if (!eol)
            break;
        line = eol + 1;
    }
    return NULL;
}

long http_retry_after_ms(const http_resp_t *resp)
{
    char *v = http_resp_header(resp, "Retry-After");
    if (!v)
        return -1;
    long ms = -1;
    if (*v && strspn(v, "0123456789") == strlen(v)) {
        unsigned long long secs = strtoull(v, NULL, 10);
        ms = secs > (unsigned long long)(LONG_MAX / 1000) ? LONG_MAX / 1000 * 1000 : (long)secs * 1000;
    } else {
        time_t when = curl_getdate(v, NULL);
        if (when != (time_t)-1) {
            int64_t delta = (int64_t)when * 1000 - now_ms();
            ms = delta < 0 ? 0 : delta > LONG_MAX ? LONG_MAX : (long)delta;
        }
    }
    free(v);
    return ms;
}

void http_resp_free(http_resp_t *resp)
{
    if (!resp)
        return;
    buf_free(&resp->body);
    buf_free(&resp->headers);
}

void http_counters(long *requests, long *failures)
{
    if (requests)
        *requests = atomic_load(&n_requests);
    if (failures)
        *failures = atomic_load(&n_failures);
}
