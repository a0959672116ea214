/* Unit tests for sim/sim_ratelimit.c: the exact sliding 60-second window per key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sim_ratelimit.h"

static void test_sliding_window(void **state)
{
    (void)state;
    sim_ratelimit_t *r = sim_ratelimit_new();
    const int64_t t0 = 1000000;
    /* 3 per minute: requests at t0, t0+10s, t0+20s pass; the 4th waits until t0+60s */
    assert_int_equal(sim_ratelimit_admit(r, "a", 3, t0), 0);
    assert_int_equal(sim_ratelimit_admit(r, "a", 3, t0 + 10000), 0);
    assert_int_equal(sim_ratelimit_admit(r, "a", 3, t0 + 20000), 0);
    assert_int_equal(sim_ratelimit_admit(r, "a", 3, t0 + 30000), 30);
    assert_int_equal(sim_ratelimit_admit(r, "a", 3, t0 + 59500), 1);   /* rounded up */
    /* another client has its own window */
    assert_int_equal(sim_ratelimit_admit(r, "b", 3, t0 + 30000), 0);
    /* rejected requests did not count: at t0+60s exactly one slot is free */
    assert_int_equal(sim_ratelimit_admit(r, "a", 3, t0 + 60000), 0);
    assert_int_equal(sim_ratelimit_admit(r, "a", 3, t0 + 60001), 10);
    /* 0 = unlimited */
    for (int i = 0; i < 100; i++)
        assert_int_equal(sim_ratelimit_admit(r, "a", 0, t0 + 60002), 0);
    /* a changed rate restarts the window */
    assert_int_equal(sim_ratelimit_admit(r, "a", 1, t0 + 60003), 0);
    assert_int_equal(sim_ratelimit_admit(r, "a", 1, t0 + 60004), 60);
    sim_ratelimit_reset(r);
    assert_int_equal(sim_ratelimit_admit(r, "a", 1, t0 + 60005), 0);
    sim_ratelimit_destroy(&r);
    assert_null(r);
    sim_ratelimit_destroy(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sliding_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
