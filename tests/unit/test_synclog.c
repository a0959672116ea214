/* Tests of common/synclog.c: the sync history of a flow on a real redis-server (fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>

#include "fixture.h"
#include "keys.h"
#include "synclog.h"
#include "util.h"

static fx_redis_t rs;
static rds_t *R;

static int group_setup(void **state)
{
    (void)state;
    return fx_redis_open(&rs, &R);
}

static int group_teardown(void **state)
{
    (void)state;
    fx_redis_close(&rs, &R);
    return 0;
}

static int flush(void **state)
{
    (void)state;
    redisReply *rep = rds_cmd(R, "FLUSHALL");
    int ok = rds_ok(rep);
    freeReplyObject(rep);
    return ok ? 0 : -1;
}

/* A bound belongs to its own bucket; beyond the last bound is the overflow bucket. */
static void test_bucket(void **state)
{
    (void)state;
    assert_int_equal(synclog_bucket(0), 0);
    assert_int_equal(synclog_bucket(SYNCLOG_BOUNDS_MS[0]), 0);
    assert_int_equal(synclog_bucket(SYNCLOG_BOUNDS_MS[0] + 1), 1);
    assert_int_equal(synclog_bucket(SYNCLOG_BOUNDS_MS[SYNCLOG_NBOUNDS - 1]), SYNCLOG_NBOUNDS - 1);
    assert_int_equal(synclog_bucket(SYNCLOG_BOUNDS_MS[SYNCLOG_NBOUNDS - 1] + 1), SYNCLOG_NBOUNDS);
    for (int i = 1; i < SYNCLOG_NBOUNDS; i++)
        assert_true(SYNCLOG_BOUNDS_MS[i] > SYNCLOG_BOUNDS_MS[i - 1]);
}

/* Runs come back oldest first, the newest max of them; the histogram counts every run. */
static void test_append_read(void **state)
{
    (void)state;
    int64_t durations[] = { 50, 300, 300, 999999 };
    for (int i = 0; i < 4; i++) {
        synclog_run_t run = { .finished_ms = 1000 + i, .records = 100 * (i + 1), .changed = i,
                              .duration_ms = durations[i], .ok = i != 2 };
        assert_int_equal(synclog_append(R, "acme", "purchase_orders", &run), 0);
    }
    synclog_run_t *runs;
    assert_int_equal(synclog_read(R, "acme", "purchase_orders", 3, &runs), 3);
    assert_int_equal(runs[0].finished_ms, 1001);
    assert_int_equal(runs[0].records, 200);
    assert_int_equal(runs[2].finished_ms, 1003);
    assert_int_equal(runs[2].changed, 3);
    assert_int_equal(runs[2].duration_ms, 999999);
    assert_false(runs[1].ok);
    assert_true(runs[2].ok);
    free(runs);

    uint64_t counts[SYNCLOG_NBOUNDS + 1];
    int64_t sum;
    assert_int_equal(synclog_hist_read(R, "acme", "purchase_orders", counts, &sum), 0);
    assert_int_equal(sum, 50 + 300 + 300 + 999999);
    assert_int_equal(counts[synclog_bucket(50)], 1);
    assert_int_equal(counts[synclog_bucket(300)], 2);
    assert_int_equal(counts[SYNCLOG_NBOUNDS], 1);
    uint64_t total = 0;
    for (int i = 0; i <= SYNCLOG_NBOUNDS; i++)
        total += counts[i];
    assert_int_equal(total, 4);
}

/* A flow that never ran: no runs, an all-zero histogram. */
static void test_empty(void **state)
{
    (void)state;
    synclog_run_t *runs = (synclog_run_t *)1;
    assert_int_equal(synclog_read(R, "acme", "never", 10, &runs), 0);
    assert_null(runs);
    uint64_t counts[SYNCLOG_NBOUNDS + 1];
    int64_t sum = -1;
    assert_int_equal(synclog_hist_read(R, "acme", "never", counts, &sum), 0);
    assert_int_equal(sum, 0);
    for (int i = 0; i <= SYNCLOG_NBOUNDS; i++)
        assert_int_equal(counts[i], 0);
}

/* The stream is capped near SYNCLOG_MAXLEN (approximate trimming). */
static void test_capped(void **state)
{
    (void)state;
    synclog_run_t run = { .finished_ms = 1, .records = 1, .duration_ms = 1, .ok = true };
    for (int i = 0; i < SYNCLOG_MAXLEN + 300; i++)
        assert_int_equal(synclog_append(R, "acme", "po", &run), 0);
    char *key = xasprintf(K_SYNC_LOG, "acme", "po");
    redisReply *rep = rds_cmd(R, "XLEN %s", key);
    free(key);
    assert_true(rep->integer >= SYNCLOG_MAXLEN && rep->integer < SYNCLOG_MAXLEN + 300);
    freeReplyObject(rep);
}

/* Redis gone: -1 from every call. */
static void test_unreachable(void **state)
{
    (void)state;
    char err[256];
    rds_t *r = rds_connect(rs.url, err, sizeof err);
    assert_non_null(r);
    fx_redis_stop(&rs);
    synclog_run_t run = { .finished_ms = 1 }, *runs;
    assert_int_equal(synclog_append(r, "acme", "po", &run), -1);
    assert_int_equal(synclog_read(r, "acme", "po", 5, &runs), -1);
    uint64_t counts[SYNCLOG_NBOUNDS + 1];
    int64_t sum;
    assert_int_equal(synclog_hist_read(r, "acme", "po", counts, &sum), -1);
    rds_destroy(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket),
        cmocka_unit_test_setup(test_append_read, flush),
        cmocka_unit_test_setup(test_empty, flush),
        cmocka_unit_test_setup(test_capped, flush),
        cmocka_unit_test(test_unreachable),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
