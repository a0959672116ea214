/* Unit tests for sim/sim_dice.c: reproducible fault dice in 0..9999 and splitmix64. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sim_dice.h"

static void test_dice(void **state)
{
    (void)state;
    sim_dice_t *a = sim_dice_new(7), *b = sim_dice_new(7);
    int low = 0;
    for (int i = 0; i < 10000; i++) {
        unsigned x = sim_dice_roll(a);
        assert_true(x < 10000);
        assert_int_equal(x, sim_dice_roll(b));
        low += x < 5000;
    }
    assert_true(low > 4500 && low < 5500);
    sim_dice_reseed(a, 0);
    sim_dice_reseed(b, 0);
    assert_int_equal(sim_dice_roll(a), sim_dice_roll(b));
    sim_dice_destroy(&a);
    sim_dice_destroy(&b);
    assert_null(a);
    uint64_t s1 = 42, s2 = 42;
    assert_true(sim_splitmix64(&s1) == sim_splitmix64(&s2));
    assert_true(s1 == s2 && s1 != 42);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
