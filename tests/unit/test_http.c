/* Unit tests for common/http.c against a tiny HTTP/1.1 server on 127.0.0.1 (port 0) that
 * runs in a thread of this test, serves one connection at a time with keep-alive, and
 * records what it received. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "util.h"

/* ---- the in-test server --------------------------------------------------------------- */

typedef struct {
    int             lfd;
    int             port;
    pthread_t       thread;
    atomic_int      stop;
    atomic_int      accepts;
    pthread_mutex_t mu;          /* guards the last_* fields */
    char            last_method[16];
    char            last_path[256];
    buf_t           last_headers;
    buf_t           last_body;
} server_t;

static server_t srv;

static void send_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t w = send(fd, data, len, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        data += w;
        len -= (size_t)w;
    }
}

static void respond(int fd, int status, const char *extra_headers, const char *body, size_t len)
{
    buf_t out;
    buf_init(&out);
    buf_appendf(&out, "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n%s\r\n", status, len,
                extra_headers ? extra_headers : "");
    buf_append(&out, body, len);
    send_all(fd, out.data, out.len);
    buf_free(&out);
}

/* Waits up to ms for the client to send something or hang up; true when it hung up. */
static bool client_gone(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char c;
    return poll(&p, 1, ms) == 1 && recv(fd, &c, 1, MSG_PEEK) <= 0;
}

static void serve_request(int fd, const char *method, const char *path, const char *body,
                          size_t body_len)
{
    if (strcmp(path, "/hello") == 0) {
        respond(fd, 200, "X-Test: yes\r\n", "hello", 5);
    } else if (strcmp(path, "/echo") == 0) {
        char *out = xasprintf("%s %zu", method, body_len);
        respond(fd, 201, "Content-Type: text/plain\r\n", out, strlen(out));
        free(out);
    } else if (strcmp(path, "/retry-secs") == 0) {
        respond(fd, 429, "Retry-After: 7\r\n", "", 0);
    } else if (strcmp(path, "/retry-date") == 0) {
        char date[64], hdr[96];
        time_t when = time(NULL) + 120;
        struct tm tm;
        strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&when, &tm));
        snprintf(hdr, sizeof hdr, "Retry-After: %s\r\n", date);
        respond(fd, 503, hdr, "", 0);
    } else if (strcmp(path, "/retry-bad") == 0) {
        respond(fd, 429, "Retry-After: soon\r\n", "", 0);
    } else if (strcmp(path, "/interim") == 0) {
        const char *early = "HTTP/1.1 103 Early Hints\r\nX-Interim: 1\r\n\r\n";
        send_all(fd, early, strlen(early));
        respond(fd, 200, "X-Final: 1\r\n", "ok", 2);
    } else if (strcmp(path, "/slow") == 0) {
        for (int i = 0; i < 40 && !srv.stop; i++)
            if (client_gone(fd, 50))
                return;
        respond(fd, 200, "", "late", 4);
    } else if (strcmp(path, "/big") == 0) {
        size_t n = 256 * 1024;
        char *big = xmalloc(n);
        for (size_t i = 0; i < n; i++)
            big[i] = (char)('a' + i % 26);
        respond(fd, 200, "", big, n);
        free(big);
    } else {
        (void)body;
        respond(fd, 404, "", "no", 2);
    }
}

/* Serves requests on one connection until the client closes it or the server stops. */
static void serve_connection(int fd)
{
    buf_t in;
    buf_init(&in);
    while (!srv.stop) {
        char *end = in.data ? strstr(in.data, "\r\n\r\n") : NULL;
        size_t head_len = end ? (size_t)(end - in.data) + 4 : 0;
        size_t body_len = 0;
        if (end) {
            char *cl = strcasestr(in.data, "\r\ncontent-length:");
            if (cl && cl < end)
                body_len = strtoul(cl + 17, NULL, 10);
        }
        if (!end || in.len < head_len + body_len) {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            if (poll(&p, 1, 100) <= 0)
                continue;
            char chunk[65536];
            ssize_t r = recv(fd, chunk, sizeof chunk, 0);
            if (r <= 0)
                break;
            buf_append(&in, chunk, (size_t)r);
            continue;
        }
        char method[16] = "", path[256] = "";
        sscanf(in.data, "%15s %255s", method, path);
        pthread_mutex_lock(&srv.mu);
        snprintf(srv.last_method, sizeof srv.last_method, "%s", method);
        snprintf(srv.last_path, sizeof srv.last_path, "%s", path);
        buf_reset(&srv.last_headers);
        buf_append(&srv.last_headers, in.data, head_len);
        buf_reset(&srv.last_body);
        buf_append(&srv.last_body, in.data + head_len, body_len);
        pthread_mutex_unlock(&srv.mu);
        serve_request(fd, method, path, in.data + head_len, body_len);
        size_t used = head_len + body_len;
        memmove(in.data, in.data + used, in.len - used + 1);
        in.len -= used;
    }
    buf_free(&in);
    close(fd);
}

static void *server_main(void *arg)
{
    (void)arg;
    while (!srv.stop) {
        struct pollfd p = {.fd = srv.lfd, .events = POLLIN};
        if (poll(&p, 1, 100) != 1)
            continue;
        int fd = accept(srv.lfd, NULL, NULL);
        if (fd < 0)
            continue;
        atomic_fetch_add(&srv.accepts, 1);
        serve_connection(fd);
    }
    return NULL;
}

/* Binds 127.0.0.1:0 and returns the listening socket; the port goes to *port. */
static int listen_loopback(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) != 0)
        return -1;
    *port = ntohs(a.sin_port);
    return fd;
}

static int server_start(void **state)
{
    (void)state;
    memset(&srv, 0, sizeof srv);
    pthread_mutex_init(&srv.mu, NULL);
    buf_init(&srv.last_headers);
    buf_init(&srv.last_body);
    srv.lfd = listen_loopback(&srv.port);
    if (srv.lfd < 0)
        return -1;
    return pthread_create(&srv.thread, NULL, server_main, NULL) == 0 ? 0 : -1;
}

static int server_stop(void **state)
{
    (void)state;
    srv.stop = 1;
    pthread_join(srv.thread, NULL);
    close(srv.lfd);
    buf_free(&srv.last_headers);
    buf_free(&srv.last_body);
    pthread_mutex_destroy(&srv.mu);
    return 0;
}

static char *url(const char *path) { return xasprintf("http://127.0.0.1:%d%s", srv.port, path); }

/* Runs one request on c and asserts a response arrived. */
static void do_ok(http_client_t *c, http_req_t *req, const char *path, http_resp_t *resp)
{
    char *u = url(path);
    req->url = u;
    int rc = http_do(c, req, resp);
    if (rc != 0)
        fail_msg("%s %s failed: %s", req->method ? req->method : "GET", path, resp->error);
    free(u);
}

/* The last request's header value as the server saw it (malloc'd), NULL if absent. */
static char *server_saw_header(const char *name)
{
    http_resp_t fake;
    memset(&fake, 0, sizeof fake);
    pthread_mutex_lock(&srv.mu);
    fake.headers = srv.last_headers;
    char *v = http_resp_header(&fake, name);
    pthread_mutex_unlock(&srv.mu);
    return v;
}

/* ---- tests ---------------------------------------------------------------------------- */

static void test_get_headers_and_keepalive(void **state)
{
    (void)state;
    http_client_t *c = http_client_new();
    assert_non_null(c);
    int accepts0 = srv.accepts;
    const char *hdrs[] = {"X-Custom: abc", "Accept: application/json", NULL};
    http_req_t req = {.method = "GET", .headers = hdrs};
    http_resp_t resp;
    do_ok(c, &req, "/hello", &resp);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body.data, "hello");
    assert_true(resp.total_s > 0);
    char *v = http_resp_header(&resp, "x-test");
    assert_string_equal(v, "yes");
    free(v);
    v = http_resp_header(&resp, "CONTENT-LENGTH");
    assert_string_equal(v, "5");
    free(v);
    assert_null(http_resp_header(&resp, "X-Nope"));
    assert_null(http_resp_header(&resp, "X-Tes")); /* a prefix is not a match */
    http_resp_free(&resp);
    v = server_saw_header("X-Custom");
    assert_string_equal(v, "abc");
    free(v);
    assert_null(server_saw_header("Expect"));

    http_req_t again = {.method = NULL}; /* NULL method means GET */
    do_ok(c, &again, "/hello", &resp);
    assert_int_equal(resp.status, 200);
    http_resp_free(&resp);
    /* Two requests, one TCP connection. */
    assert_int_equal(srv.accepts - accepts0, 1);
    http_client_destroy(&c);
    assert_null(c);
    http_client_destroy(&c);
}

static void test_methods_and_bodies_do_not_leak(void **state)
{
    (void)state;
    http_client_t *c = http_client_new();
    int accepts0 = srv.accepts;
    const char *json_hdr[] = {"Content-Type: application/json", NULL};
    const char *body = "{\"data\":{\"completed\":true}}";
    http_req_t patch = {.method = "PATCH", .headers = json_hdr, .body = body, .body_len = strlen(body)};
    http_resp_t resp;
    do_ok(c, &patch, "/echo", &resp);
    assert_int_equal(resp.status, 201);
    char *want = xasprintf("PATCH %zu", strlen(body));
    assert_string_equal(resp.body.data, want);
    free(want);
    http_resp_free(&resp);
    pthread_mutex_lock(&srv.mu);
    assert_string_equal(srv.last_method, "PATCH");
    assert_string_equal(srv.last_body.data, body);
    pthread_mutex_unlock(&srv.mu);
    char *ct = server_saw_header("Content-Type");
    assert_string_equal(ct, "application/json");
    free(ct);

    /* The next GET must carry neither the method, the body nor the headers of the PATCH. */
    http_req_t get = {.method = "GET"};
    do_ok(c, &get, "/echo", &resp);
    assert_string_equal(resp.body.data, "GET 0");
    http_resp_free(&resp);
    assert_null(server_saw_header("Content-Type"));
    assert_null(server_saw_header("Content-Length"));

    /* PUT and DELETE with a body, POST without one, a 2 MB PATCH (no Expect stall). */
    http_req_t put = {.method = "PUT", .body = "abc", .body_len = 3};
    do_ok(c, &put, "/echo", &resp);
    assert_string_equal(resp.body.data, "PUT 3");
    http_resp_free(&resp);
    http_req_t del = {.method = "DELETE", .body = "xy", .body_len = 2};
    do_ok(c, &del, "/echo", &resp);
    assert_string_equal(resp.body.data, "DELETE 2");
    http_resp_free(&resp);
    http_req_t del_empty = {.method = "DELETE"};
    do_ok(c, &del_empty, "/echo", &resp);
    assert_string_equal(resp.body.data, "DELETE 0");
    http_resp_free(&resp);
    http_req_t post = {.method = "POST"};
    do_ok(c, &post, "/echo", &resp);
    assert_string_equal(resp.body.data, "POST 0");
    http_resp_free(&resp);
    size_t big_len = 2 * 1024 * 1024;
    char *big = xmalloc(big_len);
    memset(big, 'z', big_len);
    http_req_t big_patch = {.method = "PATCH", .body = big, .body_len = big_len};
    do_ok(c, &big_patch, "/echo", &resp);
    want = xasprintf("PATCH %zu", big_len);
    assert_string_equal(resp.body.data, want);
    assert_null(server_saw_header("Expect")); /* curl would otherwise stall on 100-continue */
    free(want);
    free(big);
    http_resp_free(&resp);
    assert_int_equal(srv.accepts - accepts0, 1);
    http_client_destroy(&c);
}

static void test_basic_auth(void **state)
{
    (void)state;
    http_client_t *c = http_client_new();
    http_req_t req = {.method = "POST", .body = "grant_type=client_credentials",
                      .body_len = 29, .basic_user = "user", .basic_pass = "pass"};
    http_resp_t resp;
    do_ok(c, &req, "/echo", &resp);
    http_resp_free(&resp);
    char *auth = server_saw_header("Authorization");
    assert_string_equal(auth, "Basic dXNlcjpwYXNz");
    free(auth);
    /* Not sent again once the next request has no credentials. */
    http_req_t plain = {.method = "GET"};
    do_ok(c, &plain, "/hello", &resp);
    http_resp_free(&resp);
    assert_null(server_saw_header("Authorization"));
    http_client_destroy(&c);
}

static void test_retry_after(void **state)
{
    (void)state;
    http_client_t *c = http_client_new();
    http_req_t req = {.method = "GET"};
    http_resp_t resp;
    do_ok(c, &req, "/retry-secs", &resp);
    assert_int_equal(resp.status, 429);
    assert_int_equal(http_retry_after_ms(&resp), 7000);
    http_resp_free(&resp);

    do_ok(c, &req, "/retry-date", &resp);
    assert_int_equal(resp.status, 503);
    long ms = http_retry_after_ms(&resp);
    assert_true(ms > 115000 && ms <= 121000);
    http_resp_free(&resp);

    do_ok(c, &req, "/retry-bad", &resp);
    assert_int_equal(http_retry_after_ms(&resp), -1);
    http_resp_free(&resp);

    do_ok(c, &req, "/hello", &resp);
    assert_int_equal(http_retry_after_ms(&resp), -1);
    http_resp_free(&resp);
    http_client_destroy(&c);
}

static void test_final_headers_only(void **state)
{
    (void)state;
    http_client_t *c = http_client_new();
    http_req_t req = {.method = "GET"};
    http_resp_t resp;
    do_ok(c, &req, "/interim", &resp);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body.data, "ok");
    char *v = http_resp_header(&resp, "X-Final");
    assert_string_equal(v, "1");
    free(v);
    assert_null(http_resp_header(&resp, "X-Interim"));
    assert_true(str_starts(resp.headers.data, "HTTP/1.1 200"));
    http_resp_free(&resp);
    http_client_destroy(&c);
}

typedef struct {
    size_t bytes;
    int    calls;
    int    abort_after;
    bool   pattern_ok;
} sink_state_t;

static int counting_sink(void *ud, const char *data, size_t len)
{
    sink_state_t *s = ud;
    for (size_t i = 0; i < len; i++)
        if (data[i] != (char)('a' + (s->bytes + i) % 26))
            s->pattern_ok = false;
    s->bytes += len;
    s->calls++;
    return s->abort_after && s->calls >= s->abort_after;
}

static void test_sink(void **state)
{
    (void)state;
    http_client_t *c = http_client_new();
    sink_state_t st = {.pattern_ok = true};
    http_req_t req = {.method = "GET", .sink = counting_sink, .sink_ud = &st};
    http_resp_t resp;
    do_ok(c, &req, "/big", &resp);
    assert_int_equal(resp.status, 200);
    assert_int_equal(st.bytes, 256 * 1024);
    assert_true(st.pattern_ok);
    assert_int_equal(resp.body.len, 0);
    http_resp_free(&resp);

    long req0, fail0, req1, fail1;
    http_counters(&req0, &fail0);
    sink_state_t stop = {.pattern_ok = true, .abort_after = 1};
    req.sink_ud = &stop;
    char *u = url("/big");
    req.url = u;
    assert_int_equal(http_do(c, &req, &resp), -1);
    assert_int_equal(resp.status, 0);
    assert_non_null(strstr(resp.error, "sink"));
    assert_int_equal(stop.calls, 1);
    assert_true(stop.bytes < 256 * 1024);
    http_resp_free(&resp);
    free(u);
    http_counters(&req1, &fail1);
    assert_int_equal(req1 - req0, 1);
    assert_int_equal(fail1 - fail0, 0); /* the caller chose to stop: not a transport failure */

    /* The client is still usable afterwards. */
    http_req_t get = {.method = "GET"};
    do_ok(c, &get, "/hello", &resp);
    assert_string_equal(resp.body.data, "hello");
    http_resp_free(&resp);
    http_client_destroy(&c);
}

static void test_timeouts(void **state)
{
    (void)state;
    http_client_t *c = http_client_new();
    long req0, fail0, req1, fail1;
    http_counters(&req0, &fail0);
    char *u = url("/slow");
    http_req_t req = {.method = "GET", .url = u, .timeout_ms = 300};
    http_resp_t resp;
    int64_t t0 = mono_ms();
    assert_int_equal(http_do(c, &req, &resp), -1);
    int64_t took = mono_ms() - t0;
    assert_int_equal(resp.status, 0);
    assert_non_null(strcasestr(resp.error, "timed out"));
    assert_true(took >= 250 && took < 1500);
    http_resp_free(&resp);

    /* Default timeout from the environment. */
    setenv("MLC_HTTP_TIMEOUT_MS", "200", 1);
    req.timeout_ms = 0;
    t0 = mono_ms();
    assert_int_equal(http_do(c, &req, &resp), -1);
    took = mono_ms() - t0;
    unsetenv("MLC_HTTP_TIMEOUT_MS");
    assert_true(took >= 150 && took < 1500);
    http_resp_free(&resp);
    free(u);
    http_counters(&req1, &fail1);
    assert_int_equal(req1 - req0, 2);
    assert_int_equal(fail1 - fail0, 2);
    http_client_destroy(&c);
}

static void test_connection_refused(void **state)
{
    (void)state;
    int port;
    int fd = listen_loopback(&port);
    assert_true(fd >= 0);
    close(fd); /* nothing listens there any more */
    http_client_t *c = http_client_new();
    char *u = xasprintf("http://127.0.0.1:%d/", port);
    long fail0, fail1;
    http_counters(NULL, &fail0);
    http_req_t req = {.method = "GET", .url = u};
    http_resp_t resp;
    assert_int_equal(http_do(c, &req, &resp), -1);
    assert_int_equal(resp.status, 0);
    assert_true(resp.error[0] != '\0');
    http_resp_free(&resp);
    http_counters(NULL, &fail1);
    assert_int_equal(fail1 - fail0, 1);
    /* Only http and https are allowed. */
    req.url = "file:///etc/passwd";
    assert_int_equal(http_do(c, &req, &resp), -1);
    assert_int_equal(resp.body.len, 0);
    http_resp_free(&resp);
    free(u);
    http_client_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_headers_and_keepalive),
        cmocka_unit_test(test_methods_and_bodies_do_not_leak),
        cmocka_unit_test(test_basic_auth),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_final_headers_only),
        cmocka_unit_test(test_sink),
        cmocka_unit_test(test_timeouts),
        cmocka_unit_test(test_connection_refused),
    };
    return cmocka_run_group_tests(tests, server_start, server_stop);
}
