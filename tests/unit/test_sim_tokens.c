/* Unit tests for sim/sim_tokens.c: issue, check with expiry, one-time take, revocation of one
 * token, of a grant and of everything. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sim_tokens.h"

#define T0 1800000000000LL

static void test_tokens(void **state)
{
    (void)state;
    sim_tokens_t *t = sim_tokens_new();
    char *a = sim_tokens_issue(t, "DEMO_TST", "g1", T0 + 1000, T0);
    char *b = sim_tokens_issue(t, "DEMO_TST", "g1", T0 + 1000, T0);
    char *c = sim_tokens_issue(t, "client", NULL, T0 + 1000, T0);
    assert_int_equal(strlen(a), 64);
    assert_string_not_equal(a, b);
    char owner[16], grant[16];
    assert_int_equal(sim_tokens_check(t, a, T0 + 999, owner, sizeof owner), SIM_TOKEN_VALID);
    assert_string_equal(owner, "DEMO_TST");
    assert_int_equal(sim_tokens_check(t, a, T0 + 1000, owner, sizeof owner), SIM_TOKEN_EXPIRED);
    assert_int_equal(sim_tokens_check(t, "nope", T0, NULL, 0), SIM_TOKEN_UNKNOWN);
    assert_int_equal(sim_tokens_check(t, NULL, T0, NULL, 0), SIM_TOKEN_UNKNOWN);
    assert_true(sim_tokens_grant(t, a, grant, sizeof grant));
    assert_string_equal(grant, "g1");
    assert_false(sim_tokens_grant(t, c, grant, sizeof grant));
    /* take: once */
    assert_int_equal(sim_tokens_take(t, c, T0, owner, sizeof owner), SIM_TOKEN_VALID);
    assert_string_equal(owner, "client");
    assert_int_equal(sim_tokens_take(t, c, T0, owner, sizeof owner), SIM_TOKEN_UNKNOWN);
    /* grant revocation */
    char *d = sim_tokens_issue(t, "DEMO_TST", "g2", T0 + 1000, T0);
    assert_int_equal(sim_tokens_revoke_grant(t, "g1"), 2);
    assert_int_equal(sim_tokens_check(t, b, T0, NULL, 0), SIM_TOKEN_UNKNOWN);
    assert_int_equal(sim_tokens_check(t, d, T0, NULL, 0), SIM_TOKEN_VALID);
    assert_true(sim_tokens_revoke(t, d));
    assert_false(sim_tokens_revoke(t, d));
    /* issuing purges expired tokens; revoke_all counts what is held */
    char *e = sim_tokens_issue(t, "x", NULL, T0 + 10, T0);
    char *f = sim_tokens_issue(t, "x", NULL, T0 + 100, T0 + 50);   /* e is purged */
    assert_int_equal(sim_tokens_revoke_all(t), 1);
    assert_int_equal(sim_tokens_check(t, f, T0, NULL, 0), SIM_TOKEN_UNKNOWN);
    free(a);
    free(b);
    free(c);
    free(d);
    free(e);
    free(f);
    sim_tokens_destroy(&t);
    assert_null(t);
    sim_tokens_destroy(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
