/* Unit tests for common/log.c: JSON shape, levels and whole lines under concurrency. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"
#include "util.h"

/* Runs fn with stderr redirected into a temp file and returns what was written. */
static char *capture_stderr(void (*fn)(void))
{
    char path[] = "/tmp/mlc-test-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    fn();
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fd);
    char *out = read_file(path, NULL);
    unlink(path);
    return out;
}

static void log_some_lines(void)
{
    log_init("mlc-test");
    mlog(LOG_DEBUG, "hidden", "debug is below the default level");
    mlog(LOG_INFO, "poll.page", "page %d of %s", 3, "\"PO\"\n");
    json_t *extra = json_pack("{s:s,s:i,s:s}", "tenant", "acme", "records", 12, "msg", "nope");
    mlog_json(LOG_WARN, "write.retry", extra, "retrying");
    mlog_json(LOG_ERROR, "bad.bytes", NULL, "bad \xff utf8");
}

static void test_log_lines(void **state)
{
    (void)state;
    unsetenv("MLC_LOG_LEVEL");
    char *out = capture_stderr(log_some_lines);
    assert_non_null(out);
    char *save = NULL;
    int lines = 0;
    for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_error_t jerr;
        json_t *j = json_loads(line, 0, &jerr);
        if (!j)
            fail_msg("not JSON: %s (%s)", line, jerr.text);
        assert_string_equal(json_string_value(json_object_get(j, "proc")), "mlc-test");
        assert_int_equal(json_integer_value(json_object_get(j, "pid")), getpid());
        assert_int_not_equal(parse_iso8601(json_string_value(json_object_get(j, "ts"))), -1);
        const char *event = json_string_value(json_object_get(j, "event"));
        const char *msg = json_string_value(json_object_get(j, "msg"));
        const char *level = json_string_value(json_object_get(j, "level"));
        if (lines == 0) {
            assert_string_equal(event, "poll.page");
            assert_string_equal(level, "info");
            assert_string_equal(msg, "page 3 of \"PO\"\n");
        } else if (lines == 1) {
            assert_string_equal(event, "write.retry");
            assert_string_equal(level, "warn");
            assert_string_equal(msg, "retrying"); /* extras never replace core fields */
            assert_string_equal(json_string_value(json_object_get(j, "tenant")), "acme");
            assert_int_equal(json_integer_value(json_object_get(j, "records")), 12);
        } else {
            assert_string_equal(event, "bad.bytes");
            assert_string_equal(level, "error");
            assert_string_equal(msg, "bad ? utf8");
        }
        json_decref(j);
        lines++;
    }
    assert_int_equal(lines, 3);
    free(out);
}

static void log_debug_enabled(void)
{
    setenv("MLC_LOG_LEVEL", "debug", 1);
    log_init("mlc-test");
    mlog(LOG_DEBUG, "shown", "x");
    setenv("MLC_LOG_LEVEL", "error", 1);
    log_init("mlc-test");
    mlog(LOG_WARN, "hidden", "x");
    unsetenv("MLC_LOG_LEVEL");
    log_init("mlc-test");
}

static void test_log_level(void **state)
{
    (void)state;
    char *out = capture_stderr(log_debug_enabled);
    assert_non_null(strstr(out, "\"event\":\"shown\""));
    assert_null(strstr(out, "hidden"));
    free(out);
}

#define LOG_THREADS 8
#define LOG_LINES   200

static void *log_worker(void *arg)
{
    char pad[3000];
    memset(pad, 'a' + (int)(intptr_t)arg, sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    for (int i = 0; i < LOG_LINES; i++)
        mlog_json(LOG_INFO, "thread.line", json_pack("{s:i,s:i}", "thread", (int)(intptr_t)arg, "i", i),
                  "%s", pad);
    return NULL;
}

static void log_from_threads(void)
{
    log_init("mlc-test");
    pthread_t th[LOG_THREADS];
    for (intptr_t t = 0; t < LOG_THREADS; t++)
        pthread_create(&th[t], NULL, log_worker, (void *)t);
    for (int t = 0; t < LOG_THREADS; t++)
        pthread_join(th[t], NULL);
}

/* Lines larger than PIPE_BUF from many threads must still come out whole. */
static void test_log_threads_no_interleaving(void **state)
{
    (void)state;
    char *out = capture_stderr(log_from_threads);
    assert_non_null(out);
    int lines = 0, per_thread[LOG_THREADS] = {0};
    char *save = NULL;
    for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_t *j = json_loads(line, 0, NULL);
        if (!j)
            fail_msg("interleaved or broken line %d", lines);
        int t = (int)json_integer_value(json_object_get(j, "thread"));
        assert_true(t >= 0 && t < LOG_THREADS);
        const char *msg = json_string_value(json_object_get(j, "msg"));
        assert_int_equal(strlen(msg), 2999);
        assert_int_equal(strspn(msg, (char[]){(char)('a' + t), 0}), 2999);
        per_thread[t]++;
        json_decref(j);
        lines++;
    }
    assert_int_equal(lines, LOG_THREADS * LOG_LINES);
    for (int t = 0; t < LOG_THREADS; t++)
        assert_int_equal(per_thread[t], LOG_LINES);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_lines),
        cmocka_unit_test(test_log_level),
        cmocka_unit_test(test_log_threads_no_interleaving),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
