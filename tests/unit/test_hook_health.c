/* Tests of common/hook_health.c: the webhook verdict, in its order of precedence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "hook_health.h"

static void test_verdicts(void **state)
{
    (void)state;
    assert_string_equal(hook_health(true, "123", "1", "boom"), "registering");
    assert_string_equal(hook_health(false, "123", "1", "boom"), "error");
    assert_string_equal(hook_health(false, NULL, NULL, NULL), "not_registered");
    assert_string_equal(hook_health(false, "", "1", ""), "not_registered");
    assert_string_equal(hook_health(false, "123", "1", ""), "healthy");
    assert_string_equal(hook_health(false, "123", "0", NULL), "inactive");
    assert_string_equal(hook_health(false, "123", NULL, NULL), "inactive");
}

/* Every verdict is listed in HOOK_HEALTH_STATES (the metric's state set). */
static void test_states_listed(void **state)
{
    (void)state;
    const char *all[] = { hook_health(true, 0, 0, 0), hook_health(false, "1", 0, "e"),
                          hook_health(false, 0, 0, 0), hook_health(false, "1", "1", 0),
                          hook_health(false, "1", "0", 0) };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        bool found = false;
        for (int j = 0; HOOK_HEALTH_STATES[j]; j++)
            found |= strcmp(all[i], HOOK_HEALTH_STATES[j]) == 0;
        assert_true(found);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verdicts),
        cmocka_unit_test(test_states_listed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
