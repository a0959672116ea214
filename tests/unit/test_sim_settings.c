/* Unit tests for sim/sim_settings.c: table-driven run-time settings (longs in a range, bools),
 * updates, the JSON view and the names list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sim_settings.h"

typedef struct {
    long rate;
    bool down;
    long pct;
} cfg_t;

static const sim_setting_t DEFS[] = {
    {"rate", offsetof(cfg_t, rate), 0, 1000, false},
    {"down", offsetof(cfg_t, down), 0, 0, true},
    {"pct", offsetof(cfg_t, pct), 0, 100, false},
    {NULL, 0, 0, 0, false},
};

static void test_settings(void **state)
{
    (void)state;
    cfg_t c = {5, false, 0};
    char err[256];
    json_t *v = json_integer(7);
    assert_int_equal(sim_setting_apply(DEFS, &c, "rate", v, err, sizeof err), 1);
    assert_int_equal(c.rate, 7);
    assert_int_equal(sim_setting_apply(DEFS, &c, "other", v, err, sizeof err), 0);
    assert_int_equal(sim_setting_apply(DEFS, &c, "down", v, err, sizeof err), -1);
    assert_string_equal(err, "down: must be true or false");
    json_decref(v);
    v = json_integer(1001);
    assert_int_equal(sim_setting_apply(DEFS, &c, "rate", v, err, sizeof err), -1);
    assert_string_equal(err, "rate: must be an integer from 0 to 1000");
    assert_int_equal(c.rate, 7);
    json_decref(v);
    v = json_real(5.5);
    assert_int_equal(sim_setting_apply(DEFS, &c, "pct", v, err, sizeof err), -1);
    json_decref(v);

    json_t *obj = json_pack("{s:b,s:i}", "down", 1, "pct", 50);
    assert_int_equal(sim_settings_update(DEFS, &c, obj, err, sizeof err), 0);
    assert_true(c.down);
    assert_int_equal(c.pct, 50);
    json_decref(obj);
    obj = json_pack("{s:i}", "bogus", 1);
    assert_int_equal(sim_settings_update(DEFS, &c, obj, err, sizeof err), -1);
    assert_string_equal(err, "bogus: not a runtime setting (known: rate down pct)");
    json_decref(obj);

    json_t *j = sim_settings_json(DEFS, &c);
    char *text = json_dumps(j, JSON_COMPACT);
    assert_string_equal(text, "{\"rate\":7,\"down\":true,\"pct\":50}");
    free(text);
    json_decref(j);
    char names[8];
    assert_string_equal(sim_settings_names(DEFS, names, sizeof names), "rate do");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
