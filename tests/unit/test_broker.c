/* Integration tests of the job machinery: a real mlc-broker (and mlc-scheduler as the lease
 * reaper) process, workers built on worker_run in forked children, a real redis-server.
 *   - every published job completes exactly once although a worker is killed -9 mid-job
 *   - fairness across tenants and tenant pins
 *   - broker restart (kill -9): jobs recorded only in Redis are still delivered
 *   - SIGTERM drains a worker: running jobs finish, heartbeat removed, exit 0
 *   - the lease keeper keeps a job longer than its lease; retry and fatal outcomes */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "bus.h"
#include "fixture.h"
#include "job.h"
#include "keys.h"
#include "log.h"
#include "util.h"
#include "worker.h"

static fx_redis_t rs;
static rds_t *R;
static char broker_url[64];
static pid_t broker_pid, sched_pid;

/* ---- processes ----------------------------------------------------------------------- */

/* A broker that re-reads the Redis queues every resync_ms. */
static pid_t start_broker_resync(const char *resync_ms)
{
    char bin[512], redis_env[128], broker_env[128], resync_env[64];
    snprintf(redis_env, sizeof redis_env, "MLC_REDIS_URL=%s", rs.url);
    snprintf(broker_env, sizeof broker_env, "MLC_BROKER_URL=%s", broker_url);
    snprintf(resync_env, sizeof resync_env, "MLC_BROKER_RESYNC_MS=%s", resync_ms);
    const char *env[] = {redis_env, broker_env, resync_env, "MLC_LOG_LEVEL=warn", NULL};
    const char *argv[] = {"mlc-broker", NULL};
    return fx_spawn(fx_bin("mlc-broker", bin, sizeof bin), argv, env);
}

static pid_t start_broker(void)
{
    return start_broker_resync("500");
}

static pid_t start_scheduler(void)
{
    char bin[512], redis_env[128], broker_env[128];
    snprintf(redis_env, sizeof redis_env, "MLC_REDIS_URL=%s", rs.url);
    snprintf(broker_env, sizeof broker_env, "MLC_BROKER_URL=%s", broker_url);
    const char *env[] = {redis_env, broker_env, "MLC_LOG_LEVEL=error",
                         "MLC_MASTER_KEY=000102030405060708090a0b0c0d0e0f"
                         "101112131415161718191a1b1c1d1e1f",
                         NULL};
    const char *argv[] = {"mlc-scheduler", NULL};
    return fx_spawn(fx_bin("mlc-scheduler", bin, sizeof bin), argv, env);
}

/* The handler of the test workers: sleeps payload.sleep_ms, then counts the completion
 * (HINCRBY test:done tenant/id) and its order (RPUSH test:order, test:by:<worker>).
 * payload "fail":"retry" fails the first attempt (retry in 100 ms), "fail":"fatal" always
 * fails permanently. */
static job_outcome_t test_handler(job_ctx_t *ctx, const job_t *job)
{
    const char *s = job->payload ? strstr(job->payload, "\"sleep_ms\":") : NULL;
    if (s)
        sleep_ms(atoi(s + 11));
    bool fatal = job->payload && strstr(job->payload, "\"fail\":\"fatal\"");
    bool retry = job->payload && strstr(job->payload, "\"fail\":\"retry\"");
    if (fatal || (retry && job->attempt == 1)) {
        ctx->error = xstrdup(fatal ? "HTTP 400 rejected" : "HTTP 503 try later");
        ctx->retry_at_ms = now_ms() + 100;
        return fatal ? JOB_FATAL : JOB_RETRY;
    }
    char *name = xasprintf("%s/%s", job->tenant, job->id);
    redisReply *rep = rds_cmd(ctx->redis, "HINCRBY test:done %s 1", name);
    freeReplyObject(rep);
    rep = rds_cmd(ctx->redis, "RPUSH test:order %s", name);
    freeReplyObject(rep);
    rep = rds_cmd(ctx->redis, "RPUSH test:by:%s %s", ctx->worker_id, name);
    freeReplyObject(rep);
    free(name);
    ctx->result = xstrdup("{\"ok\":true}");
    return JOB_OK;
}

/* Forks a worker process running worker_run; returns its pid. The child ends with exit()
 * so leak checkers see the worker's teardown (stdout is flushed first: nothing printed
 * twice). */
static pid_t start_worker(const char *id, const char *tenants, int threads, int64_t lease_ms)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    setenv("MLC_LOG_LEVEL", "warn", 1);
    log_init("test-worker");
    worker_opts_t o = {.service = "write", .tenants = tenants, .worker_id = id,
                       .broker_url = broker_url, .redis_url = rs.url, .threads = threads,
                       .lease_ms = lease_ms, .handler = test_handler};
    exit(worker_run(&o) == 0 ? 0 : 1);
}

/* ---- Redis helpers ----------------------------------------------------------------------- */

static long long redis_int(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisContext *c = redisConnect("127.0.0.1", rs.port);
    redisReply *rep = redisvCommand(c, fmt, ap);
    va_end(ap);
    long long v = rds_int(rep, -1);
    if (rep)
        freeReplyObject(rep);
    redisFree(c);
    return v;
}

/* Records n jobs of tenant ("<prefix><i>", payload {"sleep_ms":sleep<extra>}) and publishes
 * them unless publish is false. */
static void submit_jobs_with(const char *tenant, const char *prefix, int n, int sleep,
                             bool publish, const char *extra)
{
    bus_t *b = publish ? bus_producer_new(broker_url) : NULL;
    char payload[128];
    snprintf(payload, sizeof payload, "{\"sleep_ms\":%d%s}", sleep, extra);
    for (int i = 0; i < n; i++) {
        char id[64];
        snprintf(id, sizeof id, "%s%d", prefix, i);
        job_t j = {.id = id, .tenant = (char *)tenant, .service = "write", .type = "upsert_task",
                   .payload = payload};
        assert_int_equal(job_submit(R, b, &j), 1);
    }
    bus_destroy(&b);
}

static void submit_jobs(const char *tenant, const char *prefix, int n, int sleep, bool publish)
{
    submit_jobs_with(tenant, prefix, n, sleep, publish, "");
}

/* Waits until test:done has n entries; returns false on timeout. */
static bool wait_done(long long n, long timeout_ms)
{
    long deadline = fx_mono_ms() + timeout_ms;
    while (fx_mono_ms() < deadline) {
        if (redis_int("HLEN test:done") >= n)
            return true;
        fx_sleep_ms(50);
    }
    return false;
}

/* Every job of tenant with prefix completed exactly once and is "done" in Redis. */
static void assert_each_once(const char *tenant, const char *prefix, int n)
{
    for (int i = 0; i < n; i++) {
        char name[128];
        snprintf(name, sizeof name, "%s/%s%d", tenant, prefix, i);
        assert_int_equal(redis_int("HGET test:done %s", name), 1);
        char id[64];
        snprintf(id, sizeof id, "%s%d", prefix, i);
        job_t j;
        assert_int_equal(job_load(R, tenant, id, &j), 1);
        assert_string_equal(j.state, "done");
        job_free(&j);
    }
}

/* ---- fixtures ---------------------------------------------------------------------------- */

static int group_setup(void **state)
{
    return fx_redis_open(&rs, &R);
}

static int group_teardown(void **state)
{
    fx_redis_close(&rs, &R);
    return 0;
}

static int test_setup(void **state)
{
    redisReply *rep = rds_cmd(R, "FLUSHALL");
    freeReplyObject(rep);
    rep = rds_cmd(R, "SADD %s t1 t2", K_TENANTS);
    freeReplyObject(rep);
    snprintf(broker_url, sizeof broker_url, "tcp://127.0.0.1:%d", fx_free_port());
    broker_pid = start_broker();
    sched_pid = 0;
    return broker_pid > 0 ? 0 : -1;
}

static int test_teardown(void **state)
{
    fx_stop(broker_pid, SIGTERM);
    if (sched_pid > 0)
        fx_stop(sched_pid, SIGTERM);
    return 0;
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_kill9_worker_mid_job(void **state)
{
    sched_pid = start_scheduler();
    pid_t a = start_worker("wA", "*", 2, 1500);
    pid_t b = start_worker("wB", "*", 2, 1500);
    fx_sleep_ms(300); /* both READY */
    submit_jobs("t1", "k", 24, 200, true);
    fx_sleep_ms(500);
    assert_true(redis_int("HLEN test:done") < 24); /* still running */
    assert_int_equal(redis_int("HEXISTS %s wA", K_WORKERS), 1);
    assert_int_equal(redis_int("HEXISTS %s wB", K_WORKERS), 1);
    fx_stop(a, SIGKILL);
    assert_true(wait_done(24, 15000));
    assert_each_once("t1", "k", 24);
    /* The killed worker's jobs were re-run after their leases expired. */
    int rerun = 0;
    for (int i = 0; i < 24; i++) {
        char id[16];
        snprintf(id, sizeof id, "k%d", i);
        job_t j;
        assert_int_equal(job_load(R, "t1", id, &j), 1);
        rerun += j.attempt == 2;
        assert_true(j.attempt <= 2);
        job_free(&j);
    }
    assert_true(rerun >= 1);
    assert_true(redis_int("LLEN test:by:wA") < 24);
    assert_true(redis_int("LLEN test:by:wB") > 0);
    assert_int_equal(redis_int("HGET mlc:{t1}:stats jobs_done"), 24);
    assert_int_equal(redis_int("ZCARD mlc:{t1}:leases"), 0);
    assert_int_equal(redis_int("ZCARD mlc:{t1}:queue:write"), 0);
    /* Clean stop: exit 0 and the heartbeat entry goes; the killed one stays behind. */
    assert_int_equal(fx_stop(b, SIGTERM), 0);
    assert_int_equal(redis_int("HEXISTS %s wB", K_WORKERS), 0);
    assert_int_equal(redis_int("HEXISTS %s wA", K_WORKERS), 1);
}

static void test_fairness_across_tenants(void **state)
{
    /* Everything is queued before the only worker (one thread) connects. */
    submit_jobs("t1", "big", 300, 0, true);
    submit_jobs("t2", "small", 2, 0, true);
    /* The broker holds them and shows its queue depths in K_BROKER (every second). */
    long deadline = fx_mono_ms() + 3000;
    while (redis_int("HGET %s write:t2", K_BROKER) != 2 && fx_mono_ms() < deadline)
        fx_sleep_ms(50);
    assert_int_equal(redis_int("HGET %s write:t1", K_BROKER), 300);
    assert_int_equal(redis_int("HGET %s write:t2", K_BROKER), 2);
    assert_int_equal(redis_int("HGET %s workers", K_BROKER), 0);
    assert_true(redis_int("HGET %s updated_ms", K_BROKER) > 0);
    pid_t w = start_worker("wF", "*", 1, 5000);
    assert_true(wait_done(302, 15000));
    /* t2 waits at most one round: its jobs are among the first four done. */
    long long first = redis_int("LPOS test:order t2/small0");
    long long second = redis_int("LPOS test:order t2/small1");
    assert_true(first >= 0 && first <= 1);
    assert_true(second >= 0 && second <= 3);
    assert_each_once("t1", "big", 300);
    assert_each_once("t2", "small", 2);
    assert_int_equal(fx_stop(w, SIGTERM), 0);
}

static void test_tenant_pins(void **state)
{
    pid_t pinned = start_worker("wP", "t2", 2, 5000);
    fx_sleep_ms(300);
    submit_jobs("t1", "p", 5, 0, true);
    fx_sleep_ms(1000);
    assert_int_equal(redis_int("HLEN test:done"), 0); /* nobody serves t1 yet */
    submit_jobs("t2", "q", 5, 0, true);
    assert_true(wait_done(5, 5000));
    assert_int_equal(redis_int("LLEN test:by:wP"), 5);
    pid_t any = start_worker("wAny", "*", 2, 5000);
    assert_true(wait_done(10, 5000));
    assert_each_once("t1", "p", 5);
    assert_each_once("t2", "q", 5);
    assert_int_equal(redis_int("LLEN test:by:wP"), 5); /* never a t1 job */
    assert_int_equal(fx_stop(pinned, SIGTERM), 0);
    assert_int_equal(fx_stop(any, SIGTERM), 0);
}

static void test_broker_restart(void **state)
{
    pid_t w = start_worker("wR", "*", 2, 5000);
    fx_sleep_ms(300);
    submit_jobs("t1", "before", 5, 0, true);
    assert_true(wait_done(5, 5000));
    fx_stop(broker_pid, SIGKILL);
    /* While the broker is down, jobs are recorded in Redis; their messages are lost. */
    submit_jobs("t1", "during", 10, 0, false);
    submit_jobs("t2", "during", 10, 0, false);
    fx_sleep_ms(300);
    broker_pid = start_broker();
    assert_true(wait_done(25, 15000));
    assert_each_once("t1", "during", 10);
    assert_each_once("t2", "during", 10);
    assert_int_equal(fx_stop(w, SIGTERM), 0);
}

static void test_sigterm_drains(void **state)
{
    pid_t w = start_worker("wD", "*", 2, 5000);
    fx_sleep_ms(300);
    submit_jobs("t1", "d", 2, 1500, true);
    fx_sleep_ms(500); /* both running now */
    long t0 = fx_mono_ms();
    assert_int_equal(fx_stop(w, SIGTERM), 0);
    assert_true(fx_mono_ms() - t0 >= 500);    /* it waited for the jobs */
    assert_int_equal(redis_int("HLEN test:done"), 2);
    assert_each_once("t1", "d", 2);
    assert_int_equal(redis_int("HEXISTS %s wD", K_WORKERS), 0);
}

static void test_lease_keeper_extends_long_jobs(void **state)
{
    sched_pid = start_scheduler(); /* the reaper would re-queue a job whose lease lapsed */
    pid_t w = start_worker("wL", "*", 1, 600);
    fx_sleep_ms(300);
    submit_jobs("t1", "long", 1, 2500, true);
    assert_true(wait_done(1, 8000));
    job_t j;
    assert_int_equal(job_load(R, "t1", "long0", &j), 1);
    assert_string_equal(j.state, "done");
    assert_int_equal(j.attempt, 1); /* never re-queued although it ran 4 leases long */
    job_free(&j);
    assert_int_equal(fx_stop(w, SIGTERM), 0);
}

static void test_retry_and_fatal_outcomes(void **state)
{
    sched_pid = start_scheduler(); /* promotes due retries and publishes them */
    pid_t w = start_worker("wX", "*", 2, 5000);
    fx_sleep_ms(300);
    submit_jobs_with("t1", "r", 3, 0, true, ",\"fail\":\"retry\"");
    submit_jobs_with("t2", "f", 1, 0, true, ",\"fail\":\"fatal\"");
    assert_true(wait_done(3, 8000));
    assert_each_once("t1", "r", 3);
    job_t j;
    assert_int_equal(job_load(R, "t1", "r0", &j), 1);
    assert_int_equal(j.attempt, 2);
    job_free(&j);
    assert_int_equal(redis_int("HGET mlc:{t1}:stats jobs_retried"), 3);
    assert_int_equal(job_load(R, "t2", "f0", &j), 1);
    assert_string_equal(j.state, "dead");
    assert_string_equal(j.error, "HTTP 400 rejected");
    assert_int_equal(j.attempt, 1);
    job_free(&j);
    assert_int_equal(redis_int("ZCARD mlc:{t2}:dlq"), 1);
    assert_int_equal(fx_stop(w, SIGTERM), 0);
}

/* PUB messages of several ids (bus_publish_many, as the webhook gateway batches them): every
 * id is delivered once. The broker here does not re-read Redis during the test (resync every
 * 10 minutes, and the jobs are recorded after its start-up read), so only the messages can
 * bring the jobs to the worker. */
static void test_publish_many(void **state)
{
    fx_stop(broker_pid, SIGTERM);
    broker_pid = start_broker_resync("600000");
    fx_sleep_ms(300);
    enum { N = 150 };
    char ids[N][16];
    const char *ptr[N];
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], sizeof ids[i], "m%d", i);
        ptr[i] = ids[i];
        job_t j = {.id = ids[i], .tenant = "t1", .service = "write", .type = "upsert_task",
                   .payload = "{\"sleep_ms\":0}"};
        assert_int_equal(job_enqueue(R, &j), 1);
    }
    bus_t *b = bus_producer_new(broker_url);
    assert_non_null(b);
    assert_int_equal(bus_publish_many(b, "write", "t1", ptr, N), 0);   /* 3 messages */
    bus_destroy(&b);
    pid_t w = start_worker("wM", "*", 2, 5000);
    assert_true(wait_done(N, 10000));
    assert_each_once("t1", "m", N);
    assert_int_equal(fx_stop(w, SIGTERM), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kill9_worker_mid_job, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_fairness_across_tenants, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_tenant_pins, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_broker_restart, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_sigterm_drains, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_lease_keeper_extends_long_jobs, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_retry_and_fatal_outcomes, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_publish_many, test_setup, test_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
