/* Tests of common/token.c on a real redis-server: single-flight refresh across threads (each
 * with its own connection, as processes have), reuse, refresh ahead of expiry, invalidate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "fixture.h"
#include "token.h"
#include "util.h"

static fx_redis_t rs;
static uint8_t KEY[MLC_KEY_LEN];
static atomic_int fetches;
static long lifetime_s = 3600;

static int fetch(void *ud, char **token, long *expires_in, char *err, size_t len)
{
    (void)ud;
    int n = atomic_fetch_add(&fetches, 1) + 1;
    sleep_ms(150); /* a slow token endpoint: others must wait, not fetch too */
    *token = xasprintf("tok-%d", n);
    *expires_in = lifetime_s;
    return 0;
}

static int failing_fetch(void *ud, char **token, long *expires_in, char *err, size_t len)
{
    snprintf(err, len, "token endpoint answered 401");
    return -1;
}

static int setup(void **state)
{
    memset(KEY, 3, sizeof KEY);
    return fx_redis_start(&rs);
}

static int teardown(void **state)
{
    fx_redis_stop(&rs);
    return 0;
}

static void *racer(void *arg)
{
    char err[256];
    rds_t *r = rds_connect(rs.url, err, sizeof err);
    char *tok = token_get(r, KEY, "acme", "ifs", 30000, fetch, NULL, err, sizeof err);
    rds_destroy(&r);
    return tok;
}

static void test_single_flight(void **state)
{
    atomic_store(&fetches, 0);
    pthread_t th[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&th[i], NULL, racer, NULL);
    for (int i = 0; i < 8; i++) {
        char *tok;
        pthread_join(th[i], (void **)&tok);
        assert_non_null(tok);
        assert_string_equal(tok, "tok-1");
        free(tok);
    }
    assert_int_equal(atomic_load(&fetches), 1);
}

static void test_refresh_ahead_and_invalidate(void **state)
{
    char err[256];
    rds_t *r = rds_connect(rs.url, err, sizeof err);
    atomic_store(&fetches, 0);
    token_invalidate(r, "acme", "m3");
    lifetime_s = 3;   /* refresh-ahead is capped at a third: 1 s */
    char *a = token_get(r, KEY, "acme", "m3", 30000, fetch, NULL, err, sizeof err);
    char *b = token_get(r, KEY, "acme", "m3", 30000, fetch, NULL, err, sizeof err);
    assert_string_equal(a, b);
    assert_int_equal(atomic_load(&fetches), 1);
    sleep_ms(2200); /* inside the refresh window now */
    char *c = token_get(r, KEY, "acme", "m3", 30000, fetch, NULL, err, sizeof err);
    assert_string_not_equal(a, c);
    assert_int_equal(atomic_load(&fetches), 2);
    token_invalidate(r, "acme", "m3");
    char *d = token_get(r, KEY, "acme", "m3", 30000, fetch, NULL, err, sizeof err);
    assert_int_equal(atomic_load(&fetches), 3);
    /* The token is sealed at rest. */
    redisReply *rep = rds_cmd(r, "GET mlc:{acme}:token:m3");
    assert_null(strstr(rep->str, d));
    freeReplyObject(rep);
    free(a);
    free(b);
    free(c);
    free(d);
    lifetime_s = 3600;
    rds_destroy(&r);
}

static void test_failure_reports_reason(void **state)
{
    char err[256];
    rds_t *r = rds_connect(rs.url, err, sizeof err);
    char *t = token_get(r, KEY, "acme", "asana", 1000, failing_fetch, NULL, err, sizeof err);
    assert_null(t);
    assert_non_null(strstr(err, "401"));
    rds_destroy(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_flight),
        cmocka_unit_test(test_refresh_ahead_and_invalidate),
        cmocka_unit_test(test_failure_reports_reason),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
