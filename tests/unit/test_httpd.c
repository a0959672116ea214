/* Tests of common/httpd.c with the real HTTP client (common/http.c): routing data, decoded
 * query arguments, headers, raw body bytes, the body limit (413) and port 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "httpd.h"
#include "util.h"

static void echo(void *ud, const httpd_req_t *req, httpd_resp_t *resp)
{
    size_t len;
    const char *body = httpd_body(req, &len);
    const char *q = httpd_query(req, "$filter");
    const char *h = httpd_header(req, "x-test");
    char *out = xasprintf("%s|%s|%s|%s|%zu:%.*s", httpd_method(req), httpd_path(req), q ? q : "-",
                          h ? h : "-", len, (int)len, body);
    httpd_resp_body(resp, 201, "text/plain", out, strlen(out));
    httpd_resp_header(resp, "X-Reply", "yes");
    free(out);
}

static void test_roundtrip(void **state)
{
    char err[256];
    httpd_opts_t o = { .port = 0, .threads = 2, .max_body = 1024, .handler = echo };
    httpd_t *h = httpd_start(&o, err, sizeof err);
    assert_non_null(h);
    assert_true(httpd_port(h) > 0);
    http_client_t *c = http_client_new();
    char *url = xasprintf("http://127.0.0.1:%d/a/b?$filter=Company%%20eq%%20%%2710%%27", httpd_port(h));
    const char *hdrs[] = { "X-Test: hello", NULL };
    http_req_t req = { .method = "PATCH", .url = url, .headers = hdrs, .body = "{\"x\":1}", .body_len = 7 };
    http_resp_t resp;
    assert_int_equal(http_do(c, &req, &resp), 0);
    assert_int_equal(resp.status, 201);
    assert_string_equal(resp.body.data, "PATCH|/a/b|Company eq '10'|hello|7:{\"x\":1}");
    char *xr = http_resp_header(&resp, "X-Reply");
    assert_string_equal(xr, "yes");
    free(xr);
    http_resp_free(&resp);

    char big[4096];
    memset(big, 'a', sizeof big);
    http_req_t large = { .method = "POST", .url = url, .body = big, .body_len = sizeof big };
    assert_int_equal(http_do(c, &large, &resp), 0);
    assert_int_equal(resp.status, 413);
    http_resp_free(&resp);
    free(url);
    http_client_destroy(&c);
    httpd_stop(&h);
    assert_null(h);
}

static void test_port_in_use_is_reported(void **state)
{
    char err[256];
    httpd_opts_t o = { .port = 0, .threads = 1, .handler = echo };
    httpd_t *a = httpd_start(&o, err, sizeof err);
    assert_non_null(a);
    o.port = httpd_port(a);
    httpd_t *b = httpd_start(&o, err, sizeof err);
    assert_null(b);
    assert_non_null(strstr(err, "cannot listen"));
    httpd_stop(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_port_in_use_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
