/* Tests of workers/erp/erp_gate.c on a real redis-server: requests of a tenant are spaced by
 * its erp.rate_per_min, a paused ERP gives the caller back at once (its thread is free for
 * other tenants), a 429 or a 503 with Retry-After pauses only that tenant, and every give-up
 * counts as a refusal of the calling thread (the worker defers the job). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "erp_gate.h"
#include "fixture.h"
#include "ratelimit.h"
#include "util.h"

static fx_redis_t rs;
static rds_t *R;

static int setup(void **state)
{
    return fx_redis_open(&rs, &R);
}

static int teardown(void **state)
{
    fx_redis_close(&rs, &R);
    return 0;
}

static tenant_cfg_t tenant(const char *id, long rate)
{
    tenant_cfg_t t = { .id = (char *)id, .erp = json_pack("{s:I}", "rate_per_min",
                                                          (json_int_t)rate) };
    return t;
}

/* 600/min: one request per 100 ms after a burst of rl_rate_burst(600); five in a row take
 * at least 5 - burst intervals and wait in the gate (no refusal) since each turn is well within
 * the wait allowed. */
static void test_rate_spacing(void **state)
{
    tenant_cfg_t a = tenant("ga", 600);
    int64_t later = -1, t0 = mono_ms();
    rl_refusals_take();
    for (int i = 0; i < 5; i++)
        assert_int_equal(erp_gate_wait(R, &a, ERP_GATE_MAX_WAIT_MS, &later), 1);
    assert_true(mono_ms() - t0 >= (5 - rl_rate_burst(600)) * 102 - 5);   /* 100 ms + 2% */
    assert_int_equal(rl_refusals_take(), 0);
    /* a turn further away than the wait allowed: refused with the time to come back */
    assert_int_equal(erp_gate_wait(R, &a, 10, &later), 0);
    assert_true(later > 10 && later <= 103);   /* 100 ms + the headroom */
    assert_int_equal(rl_refusals_take(), 1);
    json_decref(a.erp);
}

/* A 503 with Retry-After pauses tenant b only: b's caller comes back at once, not after the
 * 3 s it may wait for a rate turn; tenant c goes on. A 503 without Retry-After or a 500
 * pauses nothing; a 429 without one pauses 1 s. */
static void test_pause_is_per_tenant_and_not_slept(void **state)
{
    tenant_cfg_t b = tenant("gb", 6000), c = tenant("gc", 6000);
    int64_t later = 0;
    erp_gate_answer(R, &b, 500, 5000);
    erp_gate_answer(R, &b, 503, 0);
    assert_int_equal(erp_gate_wait(R, &b, ERP_GATE_MAX_WAIT_MS, &later), 1);
    erp_gate_answer(R, &b, 503, 2000);
    assert_int_equal(rl_refusals_take(), 0);   /* this thread's own 503: clears the count */
    int64_t t0 = mono_ms();
    assert_int_equal(erp_gate_wait(R, &b, ERP_GATE_MAX_WAIT_MS, &later), 0);
    assert_true(mono_ms() - t0 < 200);
    assert_true(later > 1500 && later <= 2000);
    assert_int_equal(rl_refusals_take(), 1);
    assert_int_equal(erp_gate_wait(R, &c, ERP_GATE_MAX_WAIT_MS, &later), 1);
    erp_gate_answer(R, &c, 429, 0);
    assert_int_equal(erp_gate_wait(R, &c, ERP_GATE_MAX_WAIT_MS, &later), 0);
    assert_true(later > 500 && later <= 1000);
    assert_int_equal(rl_refusals_take(), 0);   /* refused after a 429 of its own: a failure */
    json_decref(b.erp);
    json_decref(c.erp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rate_spacing),
        cmocka_unit_test(test_pause_is_per_tenant_and_not_slept),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
