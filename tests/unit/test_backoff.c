/* Unit tests for common/backoff.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdint.h>

#include "backoff.h"

static void test_ceiling(void **state)
{
    (void)state;
    assert_int_equal(backoff_ceiling(0, 100, 10000), 100);
    assert_int_equal(backoff_ceiling(1, 100, 10000), 200);
    assert_int_equal(backoff_ceiling(6, 100, 10000), 6400);
    assert_int_equal(backoff_ceiling(7, 100, 10000), 10000);
    assert_int_equal(backoff_ceiling(63, 100, 10000), 10000);
    assert_int_equal(backoff_ceiling(1000000, 100, 10000), 10000);
    assert_int_equal(backoff_ceiling(62, 1, INT64_MAX), INT64_MAX);
    assert_int_equal(backoff_ceiling(40, INT64_MAX / 2, INT64_MAX), INT64_MAX);
    assert_int_equal(backoff_ceiling(0, 500, 100), 100);
    assert_int_equal(backoff_ceiling(-3, 100, 10000), 100);
    assert_int_equal(backoff_ceiling(3, 0, 10000), 0);
    assert_int_equal(backoff_ceiling(3, 100, 0), 0);
}

static void test_jitter_range_and_spread(void **state)
{
    (void)state;
    int buckets[10] = {0};
    for (int i = 0; i < 10000; i++) {
        int64_t d = backoff_full_jitter(3, 125, 60000); /* ceiling 1000 */
        assert_true(d >= 0 && d <= 1000);
        buckets[d == 1000 ? 9 : d / 100]++;
    }
    /* Full jitter is uniform over [0, ceiling]: every tenth gets roughly 1000 draws. */
    for (int b = 0; b < 10; b++)
        assert_true(buckets[b] > 700 && buckets[b] < 1300);
    for (int i = 0; i < 1000; i++) {
        int64_t d = backoff_full_jitter(100000, 100, 5000);
        assert_true(d >= 0 && d <= 5000);
    }
    assert_int_equal(backoff_full_jitter(5, 0, 1000), 0);
}

/* Each thread seeds its own generator: draws from several threads still stay in range and
 * are not all the same sequence. */
static void *draw(void *arg)
{
    int64_t *out = arg;
    for (int i = 0; i < 8; i++)
        out[i] = backoff_full_jitter(30, 1, 1000000);
    return NULL;
}

static void test_threads_get_distinct_sequences(void **state)
{
    (void)state;
    int64_t seqs[4][8];
    pthread_t th[4];
    for (int t = 0; t < 4; t++)
        pthread_create(&th[t], NULL, draw, seqs[t]);
    for (int t = 0; t < 4; t++)
        pthread_join(th[t], NULL);
    for (int t = 0; t < 4; t++) {
        for (int i = 0; i < 8; i++)
            assert_true(seqs[t][i] >= 0 && seqs[t][i] <= 1000000);
        for (int u = t + 1; u < 4; u++)
            assert_memory_not_equal(seqs[t], seqs[u], sizeof seqs[t]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ceiling),
        cmocka_unit_test(test_jitter_range_and_spread),
        cmocka_unit_test(test_threads_get_distinct_sequences),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
