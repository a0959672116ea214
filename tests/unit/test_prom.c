/* Tests of common/prom.c: the Prometheus text format writer (pure). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "prom.h"

static char *render_free(prom_t **p)
{
    char *text = prom_render(*p);
    prom_destroy(p);
    return text;
}

/* Samples of a family added at different times come out together under one HELP/TYPE pair,
 * families in declaration order, an unused family not at all. */
static void test_grouping(void **state)
{
    (void)state;
    prom_t *p = prom_new();
    prom_family(p, "a_total", PROM_COUNTER, "A things.");
    prom_family(p, "b", PROM_GAUGE, "B level.");
    prom_family(p, "unused", PROM_GAUGE, "Never sampled.");
    prom_family(p, "a_total", PROM_GAUGE, "declared again: ignored");
    const char *t1[] = { "tenant", "one", NULL }, *t2[] = { "tenant", "two", NULL };
    prom_sample(p, "a_total", t1, 1);
    prom_sample(p, "b", t1, 2.5);
    prom_sample(p, "a_total", t2, 3);
    prom_sample(p, "b", NULL, 0);
    char *text = render_free(&p);
    assert_null(p);
    assert_string_equal(text,
        "# HELP a_total A things.\n# TYPE a_total counter\n"
        "a_total{tenant=\"one\"} 1\na_total{tenant=\"two\"} 3\n"
        "# HELP b B level.\n# TYPE b gauge\n"
        "b{tenant=\"one\"} 2.5\nb 0\n");
    free(text);
    prom_destroy(&p);   /* safe twice */
}

/* Label values escape backslash, quote and newline; HELP escapes backslash and newline. */
static void test_escaping(void **state)
{
    (void)state;
    prom_t *p = prom_new();
    prom_family(p, "m", PROM_GAUGE, "line one\nback\\slash \"quoted\"");
    const char *l[] = { "flow", "a\"b\\c\nd", "empty", NULL, NULL };
    prom_sample(p, "m", l, 1);
    char *text = render_free(&p);
    assert_string_equal(text,
        "# HELP m line one\\nback\\\\slash \"quoted\"\n# TYPE m gauge\n"
        "m{flow=\"a\\\"b\\\\c\\nd\",empty=\"\"} 1\n");
    free(text);
}

/* Values: integers without exponent or decimals, shortest round-trip for fractions, the
 * special values as Prometheus spells them. */
static void test_values(void **state)
{
    (void)state;
    prom_t *p = prom_new();
    prom_family(p, "v", PROM_GAUGE, "values");
    double vals[] = { 0, -1, 1234567890123, 0.1, 1.0 / 3, NAN, INFINITY, -INFINITY };
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
        prom_sample(p, "v", NULL, vals[i]);
    char *text = render_free(&p);
    assert_string_equal(text, "# HELP v values\n# TYPE v gauge\n"
                              "v 0\nv -1\nv 1234567890123\nv 0.1\nv 0.33333333333333331\n"
                              "v NaN\nv +Inf\nv -Inf\n");
    free(text);
}

/* A histogram: cumulative buckets with le after the other labels, +Inf, _sum, _count. */
static void test_histogram(void **state)
{
    (void)state;
    prom_t *p = prom_new();
    prom_family(p, "d_seconds", PROM_HISTOGRAM, "Durations.");
    const double bounds[] = { 0.1, 1, 10 };
    const uint64_t counts[] = { 2, 0, 3, 1 };
    const char *l[] = { "tenant", "demo", "flow", "po", NULL };
    prom_histogram(p, "d_seconds", l, 3, bounds, counts, 21.5);
    const uint64_t none[] = { 0 };
    prom_histogram(p, "d_seconds", NULL, 0, NULL, none, 0);
    char *text = render_free(&p);
    assert_string_equal(text,
        "# HELP d_seconds Durations.\n# TYPE d_seconds histogram\n"
        "d_seconds_bucket{tenant=\"demo\",flow=\"po\",le=\"0.1\"} 2\n"
        "d_seconds_bucket{tenant=\"demo\",flow=\"po\",le=\"1\"} 2\n"
        "d_seconds_bucket{tenant=\"demo\",flow=\"po\",le=\"10\"} 5\n"
        "d_seconds_bucket{tenant=\"demo\",flow=\"po\",le=\"+Inf\"} 6\n"
        "d_seconds_sum{tenant=\"demo\",flow=\"po\"} 21.5\n"
        "d_seconds_count{tenant=\"demo\",flow=\"po\"} 6\n"
        "d_seconds_bucket{le=\"+Inf\"} 0\nd_seconds_sum 0\nd_seconds_count 0\n");
    free(text);
}

/* Nothing sampled: an empty (not NULL) text. */
static void test_empty(void **state)
{
    (void)state;
    prom_t *p = prom_new();
    prom_family(p, "x", PROM_GAUGE, "x");
    char *text = render_free(&p);
    assert_non_null(text);
    assert_string_equal(text, "");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grouping),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
