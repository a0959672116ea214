/* Unit tests for sim/sim_stats.c: counters, the 60-s and the exact 10-s request windows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>

#include "sim_stats.h"

static const char *const COUNTERS[] = { "writes", NULL };

static json_int_t figure(json_t *j, const char *who, const char *name)
{
    json_t *o = who ? json_object_get(json_object_get(j, "clients"), who) : j;
    return json_integer_value(json_object_get(o, name));
}

/* Requests spaced exactly 100 ms apart (600/min): any 10-s window holds 100 of them, the
 * half-open window (t - 10 s, t] never 101. */
static void test_even_spacing_is_100_per_10s(void **state)
{
    (void)state;
    sim_stats_t *s = sim_stats_new(COUNTERS, "clients");
    const int64_t t0 = 1700000000000;
    for (int i = 0; i < 300; i++)
        sim_stats_request(s, "GET", "PurchaseOrderSet", 200, "c1", t0 + i * 100);
    json_t *j = sim_stats_json(s, t0 + 30000);
    assert_int_equal(figure(j, NULL, "max_10s"), 100);
    assert_int_equal(figure(j, "c1", "max_10s"), 100);
    assert_int_equal(figure(j, "c1", "requests"), 300);
    assert_int_equal(figure(j, NULL, "writes"), 0);
    json_decref(j);
    sim_stats_destroy(&s);
    assert_null(s);
    sim_stats_destroy(&s);
}

/* A burst inside an otherwise slow stream is found wherever it lies, not only on 1-s bucket
 * edges: 30 requests within 900 ms straddling a second boundary, the rest 1 per 2 s. Per
 * requester and overall are apart. */
static void test_burst_found_per_requester(void **state)
{
    (void)state;
    sim_stats_t *s = sim_stats_new(COUNTERS, "clients");
    const int64_t t0 = 1700000000500;
    for (int i = 0; i < 10; i++)
        sim_stats_request(s, "GET", "x", 200, "slow", t0 + i * 2000);
    for (int i = 0; i < 30; i++)
        sim_stats_request(s, "GET", "x", 200, "fast", t0 + 20000 + i * 30);
    sim_stats_request(s, "POST", "token", 200, NULL, t0 + 20950);
    json_t *j = sim_stats_json(s, t0 + 21000);
    assert_int_equal(figure(j, "slow", "max_10s"), 5);
    assert_int_equal(figure(j, "fast", "max_10s"), 30);
    /* overall: the burst, the token request and the slow ones at t0+12s..18s */
    assert_int_equal(figure(j, NULL, "max_10s"), 30 + 1 + 4);
    assert_int_equal(figure(j, NULL, "total"), 41);
    json_decref(j);
    /* a time older than the last one (threads racing to the lock) counts at the last time */
    sim_stats_request(s, "GET", "x", 200, "fast", t0 + 20000);
    j = sim_stats_json(s, t0 + 21000);
    assert_int_equal(figure(j, "fast", "max_10s"), 31);
    json_decref(j);
    /* reset forgets the windows */
    sim_stats_reset(s, t0 + 22000);
    sim_stats_request(s, "GET", "x", 200, "fast", t0 + 22001);
    j = sim_stats_json(s, t0 + 22002);
    assert_int_equal(figure(j, NULL, "max_10s"), 1);
    assert_int_equal(figure(j, "fast", "max_10s"), 1);
    assert_null(json_object_get(json_object_get(j, "clients"), "slow"));
    json_decref(j);
    sim_stats_destroy(&s);
}

/* Many requests in one window grow the ring without losing any. */
static void test_ring_grows(void **state)
{
    (void)state;
    sim_stats_t *s = sim_stats_new(COUNTERS, "clients");
    const int64_t t0 = 1700000000000;
    for (int i = 0; i < 5000; i++)
        sim_stats_request(s, "GET", "x", 200, "c", t0 + i);   /* 5000 in 5 s */
    for (int i = 0; i < 100; i++)
        sim_stats_request(s, "GET", "x", 200, "c", t0 + 20000 + i * 200);
    json_t *j = sim_stats_json(s, t0 + 40000);
    assert_int_equal(figure(j, "c", "max_10s"), 5000);
    assert_int_equal(figure(j, "c", "max_rate_60s"), 5100);
    json_decref(j);
    sim_stats_destroy(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_even_spacing_is_100_per_10s),
        cmocka_unit_test(test_burst_found_per_requester),
        cmocka_unit_test(test_ring_grows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
