/* Tests of the broker's pure parts: broker_queue (fairness, dedupe, resync rules) and
 * broker_strmap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker_queue.h"
#include "broker_strmap.h"
#include "util.h"

static bool accept_all(void *ud, const char *service, const char *tenant) { return true; }

static bool accept_named(void *ud, const char *service, const char *tenant)
{
    return strcmp(tenant, ud) == 0;
}

static void test_fair_round_robin(void **state)
{
    bq_t *q = bq_new();
    char id[32];
    for (int i = 0; i < 10000; i++) {
        snprintf(id, sizeof id, "a%d", i);
        assert_int_equal(bq_push(q, "write", "big", id), 1);
    }
    assert_int_equal(bq_push(q, "write", "small", "s0"), 1);
    assert_int_equal(bq_push(q, "write", "small", "s1"), 1);
    assert_int_equal(bq_depth(q, "write", "big"), 10000);
    const char *t, *j;
    /* big, small, big, small, big, big, ... */
    const char *want[][2] = {{"big", "a0"}, {"small", "s0"}, {"big", "a1"}, {"small", "s1"},
                             {"big", "a2"}, {"big", "a3"}};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(bq_pop(q, "write", accept_all, NULL, 1000, &t, &j), 1);
        assert_string_equal(t, want[i][0]);
        assert_string_equal(j, want[i][1]);
    }
    /* A tenant arriving later still waits at most one round. */
    bq_push(q, "write", "late", "l0");
    bool served = false;
    for (int i = 0; i < 2 && !served; i++) {
        assert_int_equal(bq_pop(q, "write", accept_all, NULL, 1000, &t, &j), 1);
        served = !strcmp(t, "late");
    }
    assert_true(served);
    assert_int_equal(bq_pop(q, "poll", accept_all, NULL, 1000, &t, &j), 0);
    assert_int_equal(bq_pop(q, "nope", accept_all, NULL, 1000, &t, &j), 0);
    bq_destroy(&q);
    bq_destroy(&q);
}

static void test_accept_filter(void **state)
{
    bq_t *q = bq_new();
    bq_push(q, "write", "t1", "x");
    bq_push(q, "write", "t2", "y");
    const char *t, *j;
    assert_int_equal(bq_pop(q, "write", accept_named, "t2", 0, &t, &j), 1);
    assert_string_equal(j, "y");
    assert_int_equal(bq_pop(q, "write", accept_named, "t2", 0, &t, &j), 0);
    assert_int_equal(bq_depth(q, "write", "t1"), 1);
    bq_destroy(&q);
}

static void test_dedupe_and_republish(void **state)
{
    bq_t *q = bq_new();
    assert_int_equal(bq_push(q, "poll", "t", "j"), 1);
    assert_int_equal(bq_push(q, "poll", "t", "j"), 0);
    const char *t, *j;
    assert_int_equal(bq_pop(q, "poll", accept_all, NULL, 0, &t, &j), 1);
    /* Published again after it was handed out (e.g. the reaper re-queued it): queued. */
    assert_int_equal(bq_push(q, "poll", "t", "j"), 1);
    assert_int_equal(bq_depth(q, "poll", "t"), 1);
    bq_destroy(&q);
}

static void test_resync_rules(void **state)
{
    bq_t *q = bq_new();
    bq_push(q, "write", "t", "queued");
    bq_push(q, "write", "t", "sent");
    const char *t, *j;
    assert_int_equal(bq_pop(q, "write", accept_named, "t", 1000, &t, &j), 1);
    assert_string_equal(j, "queued");
    assert_int_equal(bq_pop(q, "write", accept_named, "t", 1000, &t, &j), 1);
    assert_string_equal(j, "sent");
    bq_push(q, "write", "t", "queued");

    char *snap[] = {"queued", "sent", "lost"};
    /* 5 s after dispatch "sent" may still be on its way: only "lost" is new. */
    assert_int_equal(bq_resync(q, "write", "t", snap, 3, 6000, 10000), 1);
    assert_int_equal(bq_depth(q, "write", "t"), 2);
    /* 10 s after dispatch and still in Redis: it was lost, queue it again. */
    assert_int_equal(bq_resync(q, "write", "t", snap, 3, 11000, 10000), 1);
    assert_int_equal(bq_depth(q, "write", "t"), 3);
    /* Unknown service/tenant queues are created by a resync. */
    char *one[] = {"x"};
    assert_int_equal(bq_resync(q, "poll", "new", one, 1, 0, 10000), 1);
    assert_int_equal(bq_service_count(q), 2);
    assert_string_equal(bq_service_name(q, 1), "poll");
    bq_destroy(&q);
}

static void test_claimed_ids_forgotten(void **state)
{
    bq_t *q = bq_new();
    bq_push(q, "write", "t", "a");
    const char *t, *j;
    bq_pop(q, "write", accept_all, NULL, 0, &t, &j);
    /* Claimed (absent from the snapshot): the mark goes after redispatch_ms, so a later
     * snapshot with "a" (a new run of the id) queues it at once. */
    assert_int_equal(bq_resync(q, "write", "t", NULL, 0, 20000, 10000), 0);
    char *snap[] = {"a"};
    assert_int_equal(bq_resync(q, "write", "t", snap, 1, 20001, 10000), 1);
    bq_destroy(&q);
}

static void sum_depth(void *ud, const char *service, const char *tenant, size_t depth)
{
    *(size_t *)ud += depth;
}

static void test_foreach(void **state)
{
    bq_t *q = bq_new();
    bq_add_service(q, "poll");
    bq_push(q, "poll", "a", "1");
    bq_push(q, "poll", "b", "2");
    bq_push(q, "write", "a", "3");
    size_t total = 0;
    bq_foreach(q, sum_depth, &total);
    assert_int_equal(total, 3);
    bq_destroy(&q);
}

static bool drop_odd(void *ud, const char *key, int64_t val) { return val % 2; }

static void test_strmap(void **state)
{
    smap_t *m = smap_new();
    char k[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(k, sizeof k, "key%d", i);
        smap_set(m, k, i);
    }
    assert_int_equal(smap_count(m), 5000);
    int64_t v;
    assert_true(smap_get(m, "key4321", &v));
    assert_int_equal(v, 4321);
    smap_set(m, "key4321", 7);
    assert_true(smap_get(m, "key4321", &v));
    assert_int_equal(v, 7);
    assert_int_equal(smap_count(m), 5000);
    assert_false(smap_get(m, "nope", NULL));
    assert_true(smap_del(m, "key0"));
    assert_false(smap_del(m, "key0"));
    assert_int_equal(smap_filter(m, drop_odd, NULL), 2500);
    assert_int_equal(smap_count(m), 2499);
    assert_false(smap_get(m, "key1", NULL));
    assert_true(smap_get(m, "key2", NULL));
    smap_destroy(&m);
    smap_destroy(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fair_round_robin),   cmocka_unit_test(test_accept_filter),
        cmocka_unit_test(test_dedupe_and_republish), cmocka_unit_test(test_resync_rules),
        cmocka_unit_test(test_claimed_ids_forgotten), cmocka_unit_test(test_foreach),
        cmocka_unit_test(test_strmap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
