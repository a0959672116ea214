/* Tests of workers/writer/seed.c, the pure part: the option names of the stored suppliers
 * ("Name (ID)" as tasks name them, the id alone without a name), sorted by id and capped at
 * Asana's limit of options per enum field. The job runs in tests/integration/test_reference.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "seed.h"

static void test_labels(void **state)
{
    (void)state;
    json_t *sup = json_pack("{s:s, s:s, s:s}", "S2", "Beta AB", "S1", "Acme Steel", "S3", "");
    size_t dropped = 99;
    json_t *labels = seed_labels(sup, SEED_MAX_OPTIONS, &dropped);
    json_t *want = json_pack("[s, s, s]", "Acme Steel (S1)", "Beta AB (S2)", "S3");
    assert_true(json_equal(labels, want));
    assert_int_equal(dropped, 0);
    json_decref(want);
    json_decref(labels);
    json_decref(sup);
}

static void test_labels_capped(void **state)
{
    (void)state;
    json_t *sup = json_object();
    for (int i = 0; i < SEED_MAX_OPTIONS + 7; i++) {
        char id[16], name[32];
        snprintf(id, sizeof id, "S%04d", i);
        snprintf(name, sizeof name, "Supplier %d", i);
        json_object_set_new(sup, id, json_string(name));
    }
    size_t dropped = 0;
    json_t *labels = seed_labels(sup, SEED_MAX_OPTIONS, &dropped);
    assert_int_equal(json_array_size(labels), SEED_MAX_OPTIONS);
    assert_int_equal(dropped, 7);
    assert_string_equal(json_string_value(json_array_get(labels, 0)), "Supplier 0 (S0000)");
    assert_string_equal(json_string_value(json_array_get(labels, SEED_MAX_OPTIONS - 1)),
                        "Supplier 499 (S0499)");
    json_decref(labels);
    json_object_clear(sup);
    labels = seed_labels(sup, SEED_MAX_OPTIONS, &dropped);
    assert_int_equal(json_array_size(labels), 0);
    assert_int_equal(dropped, 0);
    json_decref(labels);
    json_decref(sup);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_labels_capped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
