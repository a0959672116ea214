/* Unit tests for common/util.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

static void test_iso8601_format(void **state)
{
    (void)state;
    char buf[32];
    assert_string_equal(iso8601_ms(0, buf, sizeof buf), "1970-01-01T00:00:00.000Z");
    assert_string_equal(iso8601_ms(1700000000123LL, buf, sizeof buf), "2023-11-14T22:13:20.123Z");
    assert_string_equal(iso8601_s(1700000000LL, buf, sizeof buf), "2023-11-14T22:13:20Z");
    assert_string_equal(iso8601_ms(-1, buf, sizeof buf), "1969-12-31T23:59:59.999Z");
    assert_string_equal(iso8601_s(951782400LL, buf, sizeof buf), "2000-02-29T00:00:00Z");
}

static void test_iso8601_parse(void **state)
{
    (void)state;
    assert_int_equal(parse_iso8601("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(parse_iso8601("2023-11-14T22:13:20.123Z"), 1700000000123LL);
    assert_int_equal(parse_iso8601("2023-11-14T22:13:20Z"), 1700000000000LL);
    assert_int_equal(parse_iso8601("2023-11-14T22:13:20"), 1700000000000LL);
    assert_int_equal(parse_iso8601("2023-11-14T22:13:20.1Z"), 1700000000100LL);
    assert_int_equal(parse_iso8601("2023-11-14T22:13:20.123456Z"), 1700000000123LL);
    assert_int_equal(parse_iso8601("2023-11-15T00:13:20+02:00"), 1700000000000LL);
    assert_int_equal(parse_iso8601("2023-11-14T20:13:20-02:00"), 1700000000000LL);
    assert_int_equal(parse_iso8601("2023-11-14"), 1699920000000LL);
    assert_int_equal(parse_iso8601("2024-02-29"), 1709164800000LL);
    /* Round trip. */
    char buf[32];
    int64_t now = now_ms();
    assert_int_equal(parse_iso8601(iso8601_ms(now, buf, sizeof buf)), now);

    const char *bad[] = {"", "2023", "2023-13-01", "2023-02-29", "2023-11-14T25:00:00Z",
                         "2023-11-14T22:61:00Z", "2023-11-14T22:13:20X", "2023-11-14T22:13",
                         "2023-11-14T22:13:20.Z", "2023-11-14T22:13:20+2", "abcd-ef-gh",
                         "2023-11-14 junk"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (parse_iso8601(bad[i]) != -1)
            fail_msg("accepted bad date '%s'", bad[i]);
    }
    assert_int_equal(parse_iso8601(NULL), -1);
}

static void test_clocks_and_sleep(void **state)
{
    (void)state;
    assert_true(now_ms() > 1600000000000LL);
    int64_t t0 = mono_ms();
    sleep_ms(30);
    int64_t dt = mono_ms() - t0;
    assert_true(dt >= 30 && dt < 1000);
    sleep_ms(0);
    sleep_ms(-5);
}

static void test_strings(void **state)
{
    (void)state;
    char *s = str_trim_dup("  \t hello world \n");
    assert_string_equal(s, "hello world");
    free(s);
    s = str_trim_dup("   ");
    assert_string_equal(s, "");
    free(s);
    assert_null(str_trim_dup(NULL));
    assert_null(xstrdup(NULL));
    s = xasprintf("%s-%d", "po", 4711);
    assert_string_equal(s, "po-4711");
    free(s);
    assert_true(str_starts("tenant:acme", "tenant:"));
    assert_false(str_starts("ten", "tenant:"));
    assert_true(str_starts("x", ""));
    assert_false(str_starts(NULL, "x"));
}

static void test_url_codec(void **state)
{
    (void)state;
    char *e = url_encode("a b&c=d/é~-._");
    assert_string_equal(e, "a%20b%26c%3Dd%2F%C3%A9~-._");
    char *d = url_decode(e, false);
    assert_string_equal(d, "a b&c=d/é~-._");
    free(e);
    free(d);
    d = url_decode("a+b%2Bc", true);
    assert_string_equal(d, "a b+c");
    free(d);
    d = url_decode("a+b", false);
    assert_string_equal(d, "a+b");
    free(d);
    d = url_decode("%41%6a", false);
    assert_string_equal(d, "Aj");
    free(d);
    assert_null(url_decode("%", false));
    assert_null(url_decode("%4", false));
    assert_null(url_decode("%zz", false));
    assert_null(url_decode("a%00b", false));
    e = url_encode("");
    assert_string_equal(e, "");
    free(e);
}

static void test_buf(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b);
    buf_append(&b, "abc", 3);
    assert_int_equal(b.len, 3);
    assert_string_equal(b.data, "abc");
    for (int i = 0; i < 1000; i++)
        buf_appendf(&b, "%d,", i);
    assert_true(str_starts(b.data, "abc0,1,2,"));
    assert_int_equal(strlen(b.data), b.len);
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    buf_appendf(&b, "%s", "");
    assert_string_equal(b.data, "");
    buf_append(&b, "x\0y", 3); /* binary safe */
    assert_int_equal(b.len, 3);
    assert_int_equal(b.data[2], 'y');
    char *stolen = buf_steal(&b);
    assert_memory_equal(stolen, "x\0y", 4);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    free(stolen);
    stolen = buf_steal(&b); /* empty buffer yields "" */
    assert_string_equal(stolen, "");
    free(stolen);
    buf_free(&b);
    buf_free(&b);
}

static void test_read_file(void **state)
{
    (void)state;
    char path[] = "/tmp/mlc-test-util-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    buf_t big;
    buf_init(&big);
    for (int i = 0; i < 5000; i++)
        buf_appendf(&big, "line %d\n", i);
    assert_int_equal(write(fd, big.data, big.len), (ssize_t)big.len);
    close(fd);
    size_t len = 0;
    char *data = read_file(path, &len);
    assert_non_null(data);
    assert_int_equal(len, big.len);
    assert_memory_equal(data, big.data, len);
    assert_int_equal(data[len], '\0');
    free(data);
    unlink(path);
    buf_free(&big);
    errno = 0;
    assert_null(read_file("/nonexistent/mlc/file", NULL));
    assert_int_equal(errno, ENOENT);
}

static void test_env(void **state)
{
    (void)state;
    setenv("MLC_TEST_ENV", "42", 1);
    assert_int_equal(env_long("MLC_TEST_ENV", 7), 42);
    assert_string_equal(env_or("MLC_TEST_ENV", "d"), "42");
    setenv("MLC_TEST_ENV", "4x2", 1);
    assert_int_equal(env_long("MLC_TEST_ENV", 7), 7);
    setenv("MLC_TEST_ENV", "", 1);
    assert_string_equal(env_or("MLC_TEST_ENV", "d"), "d");
    assert_int_equal(env_long("MLC_TEST_ENV", 7), 7);
    setenv("MLC_TEST_ENV", "-3", 1);
    assert_int_equal(env_long("MLC_TEST_ENV", 7), -3);
    unsetenv("MLC_TEST_ENV");
    assert_int_equal(env_long("MLC_TEST_ENV", 7), 7);
    assert_null(env_or("MLC_TEST_ENV", NULL));
}

static void test_stop_signals(void **state)
{
    (void)state;
    install_stop_signals();
    g_stop = 0;
    assert_int_equal(raise(SIGPIPE), 0); /* ignored: the test survives */
    assert_int_equal(g_stop, 0);
    assert_int_equal(raise(SIGTERM), 0);
    assert_int_equal(g_stop, 1);
    g_stop = 0;
    assert_int_equal(raise(SIGINT), 0);
    assert_int_equal(g_stop, 1);
    g_stop = 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iso8601_format), cmocka_unit_test(test_iso8601_parse),
        cmocka_unit_test(test_clocks_and_sleep), cmocka_unit_test(test_strings),
        cmocka_unit_test(test_url_codec),      cmocka_unit_test(test_buf),
        cmocka_unit_test(test_read_file),      cmocka_unit_test(test_env),
        cmocka_unit_test(test_stop_signals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
