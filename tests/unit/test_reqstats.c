/* Tests of common/reqstats.c: request and token counters flushed into K_STATS on a real
 * redis-server (fixture.h): exact sums, nothing lost or counted twice when Redis refuses or is
 * down, counting and flushing from several threads at once, and the samples the gateway's
 * /metrics makes of them (webhook-gw/gw_agg.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "gw_agg.h"
#include "keys.h"
#include "reqstats.h"
#include "util.h"

static fx_redis_t rs;
static rds_t *R;

static int group_setup(void **state)
{
    (void)state;
    return fx_redis_open(&rs, &R);
}

static int group_teardown(void **state)
{
    (void)state;
    fx_redis_close(&rs, &R);
    return 0;
}

/* Every test starts with nothing counted and an empty Redis. */
static int clean(void **state)
{
    (void)state;
    if (reqstats_flush(R) != 0)
        return -1;
    redisReply *rep = rds_cmd(R, "FLUSHALL");
    int ok = rds_ok(rep);
    if (rep)
        freeReplyObject(rep);
    return ok && reqstats_pending() == 0 ? 0 : -1;
}

/* The integer in K_STATS of tenant, -1 when the field is absent. */
static long long stat_of(const char *tenant, const char *field)
{
    char *key = xasprintf(K_STATS, tenant);
    redisReply *rep = fx_redis_cmd(&rs, "HGET %s %s", key, field);
    free(key);
    assert_non_null(rep);
    long long v = rep->type == REDIS_REPLY_STRING ? strtoll(rep->str, NULL, 10) : -1;
    freeReplyObject(rep);
    return v;
}

static void count_n(const char *tenant, const char *system, long status, int n)
{
    for (int i = 0; i < n; i++)
        reqstats_request(tenant, system, status);
}

/* A response's status; after an aborted body the status line of its headers; else 0. */
static void test_status(void **state)
{
    (void)state;
    http_resp_t r;
    memset(&r, 0, sizeof r);
    r.status = 204;
    assert_int_equal(reqstats_status(&r), 204);
    r.status = 0;
    assert_int_equal(reqstats_status(&r), 0);   /* no headers: no answer */
    const char *cases[][2] = {
        { "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n", "200" },
        { "HTTP/2 429 \r\nRetry-After: 1\r\n", "429" },
        { "HTTP/1.1 20", "0" },                  /* cut short */
        { "HTTP/1.1 2x0 OK\r\n", "0" },
        { "garbage line here\r\n", "0" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        buf_init(&r.headers);
        buf_append(&r.headers, cases[i][0], strlen(cases[i][0]));
        assert_int_equal(reqstats_status(&r), atol(cases[i][1]));
        buf_free(&r.headers);
    }
}

/* Counts land in their tenants' K_STATS fields; a second flush adds nothing. */
static void test_flush(void **state)
{
    (void)state;
    count_n("acme", REQSTATS_ASANA, 200, 3);
    count_n("acme", REQSTATS_ASANA, 429, 1);
    count_n("acme", REQSTATS_ERP, 0, 2);
    count_n("acme", REQSTATS_ERP, 1000, 1);      /* not a status: counted as no answer */
    count_n("acme", REQSTATS_ERP, -5, 1);
    count_n("beta", REQSTATS_ASANA, 201, 4);
    reqstats_token("acme", "ifs");
    reqstats_token("beta", "ion");
    reqstats_token("beta", "ion");
    assert_int_equal(reqstats_pending(), 6);
    assert_int_equal(reqstats_flush(R), 0);
    assert_int_equal(reqstats_pending(), 0);
    assert_int_equal(reqstats_flush(R), 0);     /* nothing left to send */
    assert_int_equal(stat_of("acme", "asana_requests_200"), 3);
    assert_int_equal(stat_of("acme", "asana_requests_429"), 1);
    assert_int_equal(stat_of("acme", "erp_requests_0"), 4);
    assert_int_equal(stat_of("acme", "token_fetches_ifs"), 1);
    assert_int_equal(stat_of("acme", "asana_requests_201"), -1);
    assert_int_equal(stat_of("beta", "asana_requests_201"), 4);
    assert_int_equal(stat_of("beta", "token_fetches_ion"), 2);
    /* Adds to what is there (another process's counts). */
    count_n("acme", REQSTATS_ASANA, 200, 2);
    assert_int_equal(reqstats_flush(R), 0);
    assert_int_equal(stat_of("acme", "asana_requests_200"), 5);
}

/* A field Redis refuses stays counted; the others are sent once. */
static void test_partial_failure(void **state)
{
    (void)state;
    redisReply *rep = fx_redis_cmd(&rs, "SET mlc:{bad}:stats not-a-hash");
    freeReplyObject(rep);
    count_n("bad", REQSTATS_ASANA, 200, 2);
    count_n("good", REQSTATS_ASANA, 200, 3);
    assert_int_equal(reqstats_flush(R), -1);
    assert_int_equal(reqstats_pending(), 1);
    assert_int_equal(stat_of("good", "asana_requests_200"), 3);
    count_n("bad", REQSTATS_ASANA, 200, 1);
    assert_int_equal(reqstats_flush(R), -1);    /* still refused */
    assert_int_equal(stat_of("good", "asana_requests_200"), 3);
    rep = fx_redis_cmd(&rs, "DEL mlc:{bad}:stats");
    freeReplyObject(rep);
    assert_int_equal(reqstats_flush(R), 0);
    assert_int_equal(stat_of("bad", "asana_requests_200"), 3);
    assert_int_equal(stat_of("good", "asana_requests_200"), 3);
    assert_int_equal(reqstats_pending(), 0);
}

/* Redis down: flushes fail and keep everything; after a restart one flush sends it all. */
static void test_redis_down(void **state)
{
    (void)state;
    assert_int_equal(reqstats_flush(NULL), 0);  /* nothing pending: nothing to fail */
    count_n("acme", REQSTATS_ERP, 200, 5);
    assert_int_equal(reqstats_flush(NULL), -1);
    int port = rs.port;
    fx_redis_stop(&rs);
    count_n("acme", REQSTATS_ERP, 200, 2);
    reqstats_token("acme", "ion");
    assert_int_equal(reqstats_flush(R), -1);
    assert_int_equal(reqstats_flush(R), -1);
    assert_int_equal(reqstats_pending(), 2);
    assert_int_equal(fx_redis_start_on(&rs, port), 0);
    count_n("acme", REQSTATS_ERP, 200, 1);
    assert_int_equal(reqstats_flush(R), 0);
    assert_int_equal(stat_of("acme", "erp_requests_200"), 8);
    assert_int_equal(stat_of("acme", "token_fetches_ion"), 1);
    assert_int_equal(reqstats_pending(), 0);
}

#define COUNTERS 4
#define PER_COUNTER 20000

static void *counter_main(void *arg)
{
    long status = (long)(intptr_t)arg;
    for (int i = 0; i < PER_COUNTER; i++) {
        reqstats_request(i % 2 ? "acme" : "beta", REQSTATS_ASANA, status);
        if (i % 100 == 0)
            reqstats_token("acme", "ifs");
    }
    return NULL;
}

static atomic_int g_counting;

static void *flusher_main(void *arg)
{
    (void)arg;
    char err[256];
    rds_t *r = rds_connect(rs.url, err, sizeof err);
    while (atomic_load(&g_counting))
        reqstats_flush(r);
    rds_destroy(&r);
    return NULL;
}

/* Threads count while two others flush: the sums in Redis are exact. */
static void test_concurrent(void **state)
{
    (void)state;
    atomic_store(&g_counting, 1);
    pthread_t counters[COUNTERS], flushers[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&flushers[i], NULL, flusher_main, NULL), 0);
    for (int i = 0; i < COUNTERS; i++)
        assert_int_equal(pthread_create(&counters[i], NULL, counter_main,
                                        (void *)(intptr_t)(i % 2 ? 200 : 429)), 0);
    for (int i = 0; i < COUNTERS; i++)
        pthread_join(counters[i], NULL);
    atomic_store(&g_counting, 0);
    for (int i = 0; i < 2; i++)
        pthread_join(flushers[i], NULL);
    assert_int_equal(reqstats_flush(R), 0);
    long long half = (long long)COUNTERS / 2 * PER_COUNTER / 2;
    assert_int_equal(stat_of("acme", "asana_requests_200"), half);
    assert_int_equal(stat_of("beta", "asana_requests_200"), half);
    assert_int_equal(stat_of("acme", "asana_requests_429"), half);
    assert_int_equal(stat_of("beta", "asana_requests_429"), half);
    assert_int_equal(stat_of("acme", "token_fetches_ifs"), COUNTERS * PER_COUNTER / 100);
}

static void has(const char *text, const char *line)
{
    char *want = xasprintf("\n%s\n", line);
    if (!strstr(text, want))
        fail_msg("missing line: %s\n%s", line, text);
    free(want);
}

/* What the gateway's /metrics makes of flushed counts. */
static void test_gateway_export(void **state)
{
    (void)state;
    redisReply *rep = fx_redis_cmd(&rs, "SADD %s acme", K_TENANTS);
    freeReplyObject(rep);
    count_n("acme", REQSTATS_ASANA, 200, 7);
    count_n("acme", REQSTATS_ASANA, 429, 2);
    count_n("acme", REQSTATS_ERP, 200, 3);
    count_n("acme", REQSTATS_ERP, 0, 1);
    reqstats_token("acme", "ion");
    assert_int_equal(reqstats_flush(R), 0);
    uint8_t key[MLC_KEY_LEN] = { 0 };
    char *text = gwa_render(R, key);
    has(text, "mlc_asana_requests_total{tenant=\"acme\",status=\"200\"} 7");
    has(text, "mlc_asana_requests_total{tenant=\"acme\",status=\"429\"} 2");
    has(text, "mlc_erp_requests_total{tenant=\"acme\",status=\"200\"} 3");
    has(text, "mlc_erp_requests_total{tenant=\"acme\",status=\"0\"} 1");
    has(text, "mlc_rate_limited_total{tenant=\"acme\",system=\"asana\"} 2");
    has(text, "mlc_rate_limited_total{tenant=\"acme\",system=\"erp\"} 0");
    has(text, "mlc_token_fetches_total{tenant=\"acme\",system=\"ion\"} 1");
    has(text, "# TYPE mlc_asana_requests_total counter");
    has(text, "# TYPE mlc_token_fetches_total counter");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status),
        cmocka_unit_test_setup(test_flush, clean),
        cmocka_unit_test_setup(test_partial_failure, clean),
        cmocka_unit_test_setup(test_redis_down, clean),
        cmocka_unit_test_setup(test_concurrent, clean),
        cmocka_unit_test_setup(test_gateway_export, clean),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
