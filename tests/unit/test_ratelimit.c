/* Tests of common/ratelimit.c on a real redis-server: the in-flight cap holds across threads
 * with their own connections, a pause stops everyone until it expires, and the GCRA rate
 * passes its burst then spaces requests, shared by several connections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "crypto.h"
#include "fixture.h"
#include "ratelimit.h"
#include "util.h"

static fx_redis_t rs;
static atomic_int in_flight, max_in_flight, acquire_failures;

static int setup(void **state) { return fx_redis_start(&rs); }
static int teardown(void **state) { fx_redis_stop(&rs); return 0; }

static void *worker(void *arg)
{
    char err[128];
    rds_t *r = rds_connect(rs.url, err, sizeof err);
    for (int i = 0; i < 20; i++) {
        char *holder = random_hex(8);
        int64_t paused;
        int got = rl_slot_wait(r, "t:slots", "t:pause", 3, 10000, holder, 10000, &paused);
        if (got != 1) {
            atomic_fetch_add(&acquire_failures, 1);
            free(holder);
            continue;
        }
        int now = atomic_fetch_add(&in_flight, 1) + 1;
        int prev = atomic_load(&max_in_flight);
        while (now > prev && !atomic_compare_exchange_weak(&max_in_flight, &prev, now))
            ;
        sleep_ms(2);
        atomic_fetch_sub(&in_flight, 1);
        rl_slot_release(r, "t:slots", holder);
        free(holder);
    }
    rds_destroy(&r);
    return NULL;
}

static void test_cap_holds_across_connections(void **state)
{
    pthread_t th[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&th[i], NULL, worker, NULL);
    for (int i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&acquire_failures), 0);
    assert_int_equal(atomic_load(&max_in_flight), 3);
}

static void test_pause_blocks_then_expires(void **state)
{
    char err[128];
    rds_t *r = rds_connect(rs.url, err, sizeof err);
    rl_pause(r, "p:pause", 400);
    rl_pause(r, "p:pause", 100); /* never shortens */
    int64_t wait = 0;
    assert_int_equal(rl_slot_acquire(r, "p:slots", "p:pause", 5, 1000, "h1", &wait), 0);
    assert_true(wait > 200 && wait <= 400);
    int64_t paused;
    assert_int_equal(rl_slot_wait(r, "p:slots", "p:pause", 5, 1000, "h1", 50, &paused), 0);
    assert_true(paused > 0);
    assert_int_equal(rl_slot_wait(r, "p:slots", "p:pause", 5, 1000, "h1", 2000, &paused), 1);
    rl_slot_release(r, "p:slots", "h1");
    rds_destroy(&r);
}

static void test_dead_holder_frees_slot_after_ttl(void **state)
{
    char err[128];
    rds_t *r = rds_connect(rs.url, err, sizeof err);
    int64_t wait;
    assert_int_equal(rl_slot_acquire(r, "d:slots", "d:pause", 1, 200, "dead", &wait), 1);
    assert_int_equal(rl_slot_acquire(r, "d:slots", "d:pause", 1, 200, "next", &wait), 0);
    sleep_ms(250);
    assert_int_equal(rl_slot_acquire(r, "d:slots", "d:pause", 1, 200, "next", &wait), 1);
    rds_destroy(&r);
}

/* GCRA: the burst passes back to back, then each request waits its turn. */
static void test_rate_burst_then_spacing(void **state)
{
    char err[128];
    rds_t *r = rds_connect(rs.url, err, sizeof err);
    int64_t wait = 0;
    for (int i = 0; i < 5; i++)
        assert_int_equal(rl_rate_take(r, "g:rate", NULL, 60, 5, &wait), 1);
    assert_int_equal(rl_rate_take(r, "g:rate", NULL, 60, 5, &wait), 0);
    assert_true(wait > 800 && wait <= 1021);   /* 1000 ms + the headroom */
    rl_pause(r, "g:pause", 300);
    assert_int_equal(rl_rate_take(r, "g:other", "g:pause", 60, 5, &wait), 0);
    assert_true(wait > 100 && wait <= 300);
    rds_destroy(&r);
}

/* rl_rate_try says why it refused (pause or rate), and every give-up of the blocking forms
 * counts as a refusal of the calling thread (the worker loop's cue to defer the job) unless
 * the thread set a pause itself. */
static void test_refusal_reasons_and_count(void **state)
{
    char err[128];
    rds_t *r = rds_connect(rs.url, err, sizeof err);
    int64_t wait = 0, paused_ms = 0;
    bool paused = true;
    rl_refusals_take();
    assert_int_equal(rl_rate_try(r, "w:rate", "w:pause", 60, 1, &wait, &paused), 1);
    assert_false(paused);
    assert_int_equal(rl_rate_try(r, "w:rate", "w:pause", 60, 1, &wait, &paused), 0);
    assert_false(paused);
    assert_true(wait > 800 && wait <= 1021);   /* 1000 ms + the headroom */
    rl_pause(r, "w:pause", 2000);
    assert_int_equal(rl_rate_try(r, "w:rate", "w:pause", 60, 1, &wait, &paused), 0);
    assert_true(paused);
    assert_true(wait > 1500 && wait <= 2000);
    assert_int_equal(rl_refusals_take(), 0);   /* the non-blocking forms note nothing */
    /* a pause longer than the caller waits through refuses at once, and says for how long */
    int64_t t0 = mono_ms(), later = 0;
    assert_int_equal(rl_rate_wait(r, "w:rate", "w:pause", 60, 1, 5000, 1000, &later), 0);
    assert_true(mono_ms() - t0 < 500);
    assert_true(later > 1500 && later <= 2000);

    assert_int_equal(rl_slot_wait(r, "w:slots", "w:pause", 1, 1000, "h", 50, &paused_ms), 0);
    assert_true(paused_ms > 1500);
    rl_refusal_note();
    assert_int_equal(rl_refusals_take(), 3);
    assert_int_equal(rl_refusals_take(), 0);
    /* a thread that set a pause itself (a 429/503 of its own) reports no refusal */
    rl_refusal_note();
    rl_pause(r, "w:pause2", 10);
    rl_refusal_note();
    assert_int_equal(rl_refusals_take(), 0);
    rl_refusal_note();
    assert_int_equal(rl_refusals_take(), 1);
    /* a pause that ends within max_pause_ms is slept through: a turn, no refusal */
    rl_pause(r, "w:pause3", 300);
    rl_refusals_take();
    t0 = mono_ms();
    assert_int_equal(rl_rate_wait(r, "w:rate3", "w:pause3", 60000, 1, 50, 1000, NULL), 1);
    assert_true(mono_ms() - t0 >= 250);
    assert_int_equal(rl_refusals_take(), 0);
    rds_destroy(&r);
}

/* A twentieth of a second's requests pass back to back: at high rates callers are not serialized
 * into one turn per millisecond. */
static void test_rate_burst_of_a_rate(void **state)
{
    assert_int_equal(rl_rate_burst(300), 1);
    assert_int_equal(rl_rate_burst(600), 1);
    assert_int_equal(rl_rate_burst(1500), 2);
    assert_int_equal(rl_rate_burst(1000000), 834);
    char err[128];
    rds_t *r = rds_connect(rs.url, err, sizeof err);
    int64_t wait = 0;
    int burst = rl_rate_burst(60000);
    for (int i = 0; i < burst; i++)
        assert_int_equal(rl_rate_take(r, "b:rate", NULL, 60000, burst, &wait), 1);
    rds_destroy(&r);
}

static atomic_int rate_taken;

static void *rate_worker(void *arg)
{
    char err[128];
    rds_t *r = rds_connect(rs.url, err, sizeof err);
    for (int i = 0; i < 10; i++)
        if (rl_rate_wait(r, "m:rate", "m:pause", 1200, 1, 10000, 0, NULL) == 1)
            atomic_fetch_add(&rate_taken, 1);
    rds_destroy(&r);
    return NULL;
}

/* Four connections share one rate: 40 requests at 1200/min (one per 50 ms) cannot finish
 * sooner than 39 intervals, whatever the interleaving. */
static void test_rate_shared_across_connections(void **state)
{
    pthread_t th[4];
    int64_t t0 = mono_ms();
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, rate_worker, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    int64_t took = mono_ms() - t0;
    assert_int_equal(atomic_load(&rate_taken), 40);
    assert_true(took >= 39 * 50 - 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cap_holds_across_connections),
        cmocka_unit_test(test_pause_blocks_then_expires),
        cmocka_unit_test(test_dead_holder_frees_slot_after_ttl),
        cmocka_unit_test(test_rate_burst_then_spacing),
        cmocka_unit_test(test_rate_burst_of_a_rate),
        cmocka_unit_test(test_rate_shared_across_connections),
        cmocka_unit_test(test_refusal_reasons_and_count),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
