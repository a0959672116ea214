/* Unit tests for sim/sim_http.c: JSON strings (escaped, M3-padded) and replies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sim_http.h"

static void test_json_strings(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b);
    sim_append_json_string(&b, "a\"b\\c\n\x01");
    assert_string_equal(b.data, "\"a\\\"b\\\\c\\n\\u0001\"");
    buf_reset(&b);
    sim_append_json_padded(&b, "S1001", 10);
    assert_string_equal(b.data, "\"S1001     \"");
    buf_reset(&b);
    sim_append_json_padded(&b, "Müller", 8);   /* padding counts characters, not bytes */
    assert_string_equal(b.data, "\"Müller  \"");
    buf_reset(&b);
    sim_append_json_padded(&b, "too long", 3);
    assert_string_equal(b.data, "\"too long\"");
    buf_reset(&b);
    sim_append_json_padded(&b, "", 40);
    assert_int_equal(b.len, 42);
    buf_free(&b);
}

static void test_replies(void **state)
{
    (void)state;
    httpd_resp_t r = {0};
    buf_t b;
    buf_init(&b);
    buf_appendf(&b, "{\"x\":1}");
    sim_reply_buf(&r, 201, "application/json", &b);
    assert_int_equal(r.status, 201);
    assert_int_equal(r.body_len, 7);
    assert_null(b.data);
    sim_retry_after(&r, 30);
    sim_reply_json(&r, 429, json_pack("{s:s}", "a", "b"));
    assert_int_equal(r.status, 429);
    assert_memory_equal(r.body, "{\"a\":\"b\"}", 9);
    sim_reply_status(&r, 204);
    assert_null(r.body);
    bool retry = false;
    for (int i = 0; i < r.nheaders; i++) {
        retry |= strcmp(r.headers[i], "Retry-After: 30") == 0;
        free(r.headers[i]);
    }
    assert_true(retry);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_strings),
        cmocka_unit_test(test_replies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
