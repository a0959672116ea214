/* Tests of mlc-scheduler (broker/scheduler.c) as a real process against a real redis-server:
 * first sight, firing once across concurrent schedulers, housekeeping, Redis outages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>

#include "crypto.h"
#include "fixture.h"
#include "scheduler.h"
#include "job.h"
#include "keys.h"
#include "tenant.h"
#include "util.h"

#define KEY_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define FLOW    "purchase_orders"

static fx_redis_t rs;
static rds_t *R;

static const char TENANT_JSON[] =
    "{\"id\":\"acme\",\"name\":\"Acme\","
    " \"erp\":{\"type\":\"ifs\",\"base_url\":\"http://127.0.0.1:9\",\"client_id\":\"c\","
    "          \"client_secret\":\"s\",\"company\":\"10\"},"
    " \"asana\":{\"base_url\":\"http://127.0.0.1:9\",\"token\":\"t\",\"workspace\":\"1\","
    "            \"project\":\"2\"},"
    " \"flows\":[{\"name\":\"" FLOW "\",\"kind\":\"po\",\"schedule\":\"every 60 minutes\"}]}";

/* Runs mlc-scheduler against redis_url (--once unless once is false); returns the pid. */
static pid_t start_sched(const char *redis_url, bool once)
{
    char bin[512], redis_env[128];
    snprintf(redis_env, sizeof redis_env, "MLC_REDIS_URL=%s", redis_url);
    const char *env[] = {redis_env, "MLC_BROKER_URL=tcp://127.0.0.1:9", "MLC_LOG_LEVEL=error",
                         "MLC_MASTER_KEY=" KEY_HEX, NULL};
    const char *argv[] = {"mlc-scheduler", once ? "--once" : NULL, NULL};
    return fx_spawn(fx_bin("mlc-scheduler", bin, sizeof bin), argv, env);
}

static int run_once(void)
{
    int status = fx_wait(start_sched(rs.url, true), 10000);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void store_tenant(rds_t *r)
{
    uint8_t key[MLC_KEY_LEN];
    assert_int_equal(hex_decode(KEY_HEX, key, sizeof key), MLC_KEY_LEN);
    json_error_t jerr;
    json_t *cfg = json_loads(TENANT_JSON, 0, &jerr);
    assert_non_null(cfg);
    char err[256] = "";
    if (tenant_store(r, key, cfg, err, sizeof err) != 0)
        fail_msg("tenant_store: %s", err);
    json_decref(cfg);
}

static long long get_int(rds_t *r, const char *key)
{
    redisReply *rep = rds_cmd(r, "GET %s", key);
    long long v = rds_int(rep, -1);
    if (rep)
        freeReplyObject(rep);
    return v;
}

static void set_int(rds_t *r, const char *key, long long v)
{
    redisReply *rep = rds_cmd(r, "SET %s %lld", key, v);
    assert_true(rds_ok(rep));
    freeReplyObject(rep);
}

static long long zcard(rds_t *r, const char *key)
{
    redisReply *rep = rds_cmd(r, "ZCARD %s", key);
    long long v = rds_int(rep, -1);
    if (rep)
        freeReplyObject(rep);
    return v;
}

static int group_setup(void **state)
{
    return fx_redis_open(&rs, &R);
}

static int group_teardown(void **state)
{
    fx_redis_close(&rs, &R);
    return 0;
}

static int flush_and_store(void **state)
{
    redisReply *rep = rds_cmd(R, "FLUSHALL");
    freeReplyObject(rep);
    store_tenant(R);
    return 0;
}

static void test_first_sight_sets_next_slot(void **state)
{
    int64_t before = now_ms();
    assert_int_equal(run_once(), 0);
    char *key = sched_key("acme", FLOW, "every 60 minutes");
    long long due = get_int(R, key);
    assert_true(due > before && due <= now_ms() + 3600000);
    assert_int_equal(due % 3600000, 0); /* "every N" slots are aligned */
    free(key);
    char *q = xasprintf(K_QUEUE, "acme", "poll");
    assert_int_equal(zcard(R, q), 0);
    free(q);
}

static void test_fires_once_across_schedulers(void **state)
{
    char *key = sched_key("acme", FLOW, "every 60 minutes");
    long long due = (now_ms() / 1000 - 5) * 1000;
    set_int(R, key, due);
    pid_t pids[4];
    for (int i = 0; i < 4; i++)
        pids[i] = start_sched(rs.url, true);
    for (int i = 0; i < 4; i++) {
        int status = fx_wait(pids[i], 10000);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    char *q = xasprintf(K_QUEUE, "acme", "poll");
    assert_int_equal(zcard(R, q), 1);
    char *id = xasprintf("poll:%s:%lld", FLOW, due);
    job_t j;
    assert_int_equal(job_load(R, "acme", id, &j), 1);
    assert_string_equal(j.service, "poll");
    assert_string_equal(j.type, "poll_flow");
    assert_string_equal(j.ref, FLOW);
    assert_string_equal(j.state, "queued");
    char payload[64];
    snprintf(payload, sizeof payload, "{\"due_ms\":%lld}", due);
    assert_string_equal(j.payload, payload);
    job_free(&j);
    /* Advanced to the next slot after now (missed slots are not caught up one by one). */
    long long next = get_int(R, key);
    assert_true(next > now_ms() && next % 3600000 == 0);
    /* Not due again yet: nothing new. */
    assert_int_equal(run_once(), 0);
    assert_int_equal(zcard(R, q), 1);
    free(id);
    free(q);
    free(key);
}

static void test_housekeeping(void **state)
{
    job_t a = {.id = "expired", .tenant = "acme", .service = "write", .type = "upsert_task"};
    job_t b = {.id = "retrying", .tenant = "acme", .service = "write", .type = "upsert_task"};
    assert_int_equal(job_enqueue(R, &a), 1);
    assert_int_equal(job_enqueue(R, &b), 1);
    job_t c;
    assert_int_equal(job_claim(R, "acme", "expired", "dead-worker", 1, &c), 1);
    job_free(&c);
    assert_int_equal(job_claim(R, "acme", "retrying", "w", 30000, &c), 1);
    job_free(&c);
    assert_int_equal(job_fail(R, "acme", "retrying", "w", "HTTP 429", false, now_ms()), 1);
    fx_sleep_ms(10);
    assert_int_equal(run_once(), 0);
    char *q = xasprintf(K_QUEUE, "acme", "write");
    redisReply *rep = rds_cmd(R, "ZMSCORE %s expired retrying", q);
    assert_true(rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2);
    assert_int_not_equal(rep->element[0]->type, REDIS_REPLY_NIL);
    assert_int_not_equal(rep->element[1]->type, REDIS_REPLY_NIL);
    freeReplyObject(rep);
    free(q);
    assert_int_equal(job_load(R, "acme", "expired", &c), 1);
    assert_string_equal(c.state, "queued");
    job_free(&c);
    assert_int_equal(job_load(R, "acme", "retrying", &c), 1);
    assert_string_equal(c.state, "queued");
    job_free(&c);
}

/* The webhook watchdog and the reconciliation sweep: one writer job each, with a fixed id,
 * however many scheduler runs fire; while one is unfinished no second one is queued. */
static void test_periodic_writer_jobs(void **state)
{
    assert_int_equal(run_once(), 0);
    assert_int_equal(run_once(), 0);
    char *q = xasprintf(K_QUEUE, "acme", "write");
    assert_int_equal(zcard(R, q), 2);
    static const char *const TYPES[] = { "webhook_check", "reconcile" };
    for (int i = 0; i < 2; i++) {
        job_t j;
        assert_int_equal(job_load(R, "acme", TYPES[i], &j), 1);
        assert_string_equal(j.service, "write");
        assert_string_equal(j.type, TYPES[i]);
        assert_string_equal(j.state, "queued");
        job_free(&j);
    }
    free(q);
}

static void test_survives_redis_outage(void **state)
{
    fx_redis_t tmp;
    assert_int_equal(fx_redis_start(&tmp), 0);
    int port = tmp.port;
    char url[64];
    snprintf(url, sizeof url, "%s", tmp.url);
    fx_redis_stop(&tmp);

    /* --once with Redis away: exit 1. */
    int status = fx_wait(start_sched(url, true), 10000);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);

    /* The long-running scheduler keeps going and catches up when Redis comes. */
    pid_t s = start_sched(url, false);
    fx_sleep_ms(1500);
    assert_int_equal(fx_wait(s, 0), -1); /* still running */
    assert_int_equal(fx_redis_start_on(&tmp, port), 0);
    char err[256];
    rds_t *r = rds_connect(tmp.url, err, sizeof err);
    assert_non_null(r);
    store_tenant(r);
    char *key = sched_key("acme", FLOW, "every 60 minutes");
    set_int(r, key, (now_ms() / 1000 - 1) * 1000);
    char *q = xasprintf(K_QUEUE, "acme", "poll");
    long deadline = fx_mono_ms() + 5000;
    while (zcard(r, q) < 1 && fx_mono_ms() < deadline)
        fx_sleep_ms(50);
    assert_int_equal(zcard(r, q), 1);
    status = fx_stop(s, SIGTERM);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    free(key);
    free(q);
    rds_destroy(&r);
    fx_redis_stop(&tmp);
}

static void test_help(void **state)
{
    char bin[512];
    const char *argv[] = {"mlc-scheduler", "--help", NULL};
    int status = fx_wait(fx_spawn(fx_bin("mlc-scheduler", bin, sizeof bin), argv, NULL), 5000);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    const char *bad[] = {"mlc-scheduler", "--bogus", NULL};
    setenv("FX_QUIET_STDERR", "1", 1);
    status = fx_wait(fx_spawn(fx_bin("mlc-scheduler", bin, sizeof bin), bad, NULL), 5000);
    unsetenv("FX_QUIET_STDERR");
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 2);
}

/* A changed schedule gets its own due-time key, so it starts from its own next slot. */
static void test_changed_schedule_has_its_own_key(void **state)
{
    char *a = sched_key("acme", FLOW, "every 60 minutes");
    char *b = sched_key("acme", FLOW, "daily at 06:00");
    char *c = sched_key("acme", FLOW, "every 60 minutes");
    assert_string_not_equal(a, b);
    assert_string_equal(a, c);
    assert_true(str_starts(a, "mlc:{acme}:sched:" FLOW ":"));
    free(a);
    free(b);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_first_sight_sets_next_slot, flush_and_store),
        cmocka_unit_test_setup(test_fires_once_across_schedulers, flush_and_store),
        cmocka_unit_test_setup(test_periodic_writer_jobs, flush_and_store),
        cmocka_unit_test_setup(test_housekeeping, flush_and_store),
        cmocka_unit_test(test_survives_redis_outage),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_changed_schedule_has_its_own_key),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
