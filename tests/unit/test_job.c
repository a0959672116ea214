/* Tests of common/job.c: every state transition on a real redis-server (fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>

#include "fixture.h"
#include "job.h"
#include "keys.h"
#include "util.h"

#define T "acme"

static fx_redis_t rs;
static rds_t *R;

static int group_setup(void **state)
{
    return fx_redis_open(&rs, &R);
}

static int group_teardown(void **state)
{
    fx_redis_close(&rs, &R);
    return 0;
}

static int flush(void **state)
{
    redisReply *rep = rds_cmd(R, "FLUSHALL");
    int ok = rds_ok(rep);
    freeReplyObject(rep);
    return ok ? 0 : -1;
}

static long long zscore(const char *key, const char *id)
{
    redisReply *rep = rds_cmd(R, "ZSCORE %s %s", key, id);
    long long v = rep && rep->type == REDIS_REPLY_STRING ? atoll(rep->str) : -1;
    freeReplyObject(rep);
    return v;
}

static long long hget_int(const char *key, const char *field)
{
    redisReply *rep = rds_cmd(R, "HGET %s %s", key, field);
    long long v = rds_int(rep, -1);
    freeReplyObject(rep);
    return v;
}

static long long int_cmd(const char *cmd, const char *key)
{
    redisReply *rep = rds_cmd(R, "%s %s", cmd, key);
    long long v = rds_int(rep, -99);
    freeReplyObject(rep);
    return v;
}

static char *K(const char *fmt, const char *arg)
{
    return arg ? xasprintf(fmt, T, arg) : xasprintf(fmt, T);
}

static long long zscore_k(const char *fmt, const char *arg, const char *id)
{
    char *k = K(fmt, arg);
    long long v = zscore(k, id);
    free(k);
    return v;
}

static long long stat_of(const char *field)
{
    char *k = K(K_STATS, NULL);
    long long v = hget_int(k, field);
    free(k);
    return v;
}

static job_t mkjob(const char *id, const char *service)
{
    job_t j = {.id = (char *)id, .tenant = T, .service = (char *)service, .type = "poll_flow",
               .ref = "purchase_orders", .payload = "{\"due_ms\":1}"};
    return j;
}

static void test_enqueue_and_dedupe(void **state)
{
    job_t j = mkjob("j1", "poll");
    assert_int_equal(job_enqueue(R, &j), 1);
    assert_int_equal(job_enqueue(R, &j), 0); /* queued: equal id changes nothing */
    assert_true(zscore_k(K_QUEUE, "poll", "j1") > 0);
    assert_true(zscore_k(K_JOBLOG, NULL, "j1") > 0);
    assert_int_equal(stat_of("jobs_enqueued"), 1);

    job_t got;
    assert_int_equal(job_load(R, T, "j1", &got), 1);
    assert_string_equal(got.state, "queued");
    assert_string_equal(got.service, "poll");
    assert_string_equal(got.type, "poll_flow");
    assert_string_equal(got.ref, "purchase_orders");
    assert_string_equal(got.payload, "{\"due_ms\":1}");
    assert_null(got.parent);
    assert_int_equal(got.attempt, 0);
    assert_int_equal(got.max_attempts, 8);
    assert_true(got.created_ms > 0);
    job_free(&got);
    job_free(&got); /* safe twice */
    assert_int_equal(job_load(R, T, "nope", &got), 0);

    /* Still deduped while running and while waiting to retry. */
    job_t c;
    assert_int_equal(job_claim(R, T, "j1", "w1", 30000, &c), 1);
    job_free(&c);
    assert_int_equal(job_enqueue(R, &j), 0);
    assert_int_equal(job_fail(R, T, "j1", "w1", "boom", false, now_ms() + 60000), 1);
    assert_int_equal(job_enqueue(R, &j), 0);
    assert_int_equal(stat_of("jobs_enqueued"), 1);
}

static void test_claim(void **state)
{
    job_t j = mkjob("j2", "write");
    assert_int_equal(job_enqueue(R, &j), 1);
    job_t c;
    int64_t before = now_ms();
    assert_int_equal(job_claim(R, T, "j2", "w1", 5000, &c), 1);
    assert_string_equal(c.state, "running");
    assert_string_equal(c.worker, "w1");
    assert_string_equal(c.id, "j2");
    assert_string_equal(c.tenant, T);
    assert_int_equal(c.attempt, 1);
    assert_true(c.lease_until >= before + 5000 && c.lease_until <= now_ms() + 5000);
    job_free(&c);
    assert_int_equal(zscore_k(K_QUEUE, "write", "j2"), -1);
    assert_true(zscore_k(K_LEASES, NULL, "j2") >= before + 5000);
    assert_int_equal(job_claim(R, T, "j2", "w2", 5000, &c), 0); /* taken */
    assert_int_equal(job_claim(R, T, "unknown", "w2", 5000, &c), 0);
}

static void test_touch_and_done(void **state)
{
    job_t j = mkjob("j3", "poll");
    job_enqueue(R, &j);
    job_t c;
    assert_int_equal(job_claim(R, T, "j3", "w1", 1000, &c), 1);
    job_free(&c);
    int64_t old = zscore_k(K_LEASES, NULL, "j3");
    assert_int_equal(job_touch(R, T, "j3", "w1", 60000), 1);
    assert_true(zscore_k(K_LEASES, NULL, "j3") > old + 50000);
    assert_int_equal(job_touch(R, T, "j3", "w2", 60000), 0); /* not the owner */

    assert_int_equal(job_done(R, T, "j3", "w2", NULL), 0);
    assert_int_equal(job_done(R, T, "j3", "w1", "{\"rows\":3}"), 1);
    assert_int_equal(job_done(R, T, "j3", "w1", NULL), 0);    /* already done */
    assert_int_equal(job_touch(R, T, "j3", "w1", 60000), 0);  /* nothing to extend */
    assert_int_equal(zscore_k(K_LEASES, NULL, "j3"), -1);
    char *jk = K(K_JOB, "j3");
    long long ttl = int_cmd("TTL", jk);
    assert_true(ttl > 86000 && ttl <= 86400);
    redisReply *rep = rds_cmd(R, "HGET %s result", jk);
    assert_string_equal(rep->str, "{\"rows\":3}");
    freeReplyObject(rep);
    assert_int_equal(stat_of("jobs_done"), 1);

    /* A new run of a done id: queued, attempt 0, no TTL, no old result. */
    assert_int_equal(job_enqueue(R, &j), 1);
    assert_int_equal(int_cmd("TTL", jk), -1);
    job_t got;
    assert_int_equal(job_load(R, T, "j3", &got), 1);
    assert_string_equal(got.state, "queued");
    assert_int_equal(got.attempt, 0);
    job_free(&got);
    rep = rds_cmd(R, "HEXISTS %s result", jk);
    assert_int_equal(rep->integer, 0);
    freeReplyObject(rep);
    free(jk);
}

static void test_retry_and_promote(void **state)
{
    job_t j = mkjob("j4", "write");
    job_enqueue(R, &j);
    job_t c;
    assert_int_equal(job_claim(R, T, "j4", "w1", 30000, &c), 1);
    job_free(&c);
    int64_t at = now_ms() + 10000;
    assert_int_equal(job_fail(R, T, "j4", "w2", "x", false, at), 0); /* not the owner */
    assert_int_equal(job_fail(R, T, "j4", "w1", "HTTP 503", false, at), 1);
    assert_int_equal(zscore_k(K_RETRY, NULL, "j4"), at);
    assert_int_equal(zscore_k(K_LEASES, NULL, "j4"), -1);
    assert_int_equal(stat_of("jobs_retried"), 1);
    job_t got;
    job_load(R, T, "j4", &got);
    assert_string_equal(got.state, "retry");
    assert_string_equal(got.error, "HTTP 503");
    assert_int_equal(got.not_before, at);
    job_free(&got);
    assert_int_equal(job_claim(R, T, "j4", "w1", 30000, &c), 0); /* not queued */

    char **ids;
    assert_int_equal(job_promote_retries(R, T, at - 1, &ids), 0);
    free(ids);
    assert_int_equal(job_promote_retries(R, T, at, &ids), 1);
    assert_string_equal(ids[0], "j4");
    free(ids[0]);
    free(ids);
    assert_int_equal(zscore_k(K_RETRY, NULL, "j4"), -1);
    assert_true(zscore_k(K_QUEUE, "write", "j4") > 0);
    assert_int_equal(job_claim(R, T, "j4", "w2", 30000, &c), 1);
    assert_int_equal(c.attempt, 2);
    job_free(&c);
}

/* A run refused by a shared limit is deferred: back to retry with its attempt given back, so
 * any number of deferrals never makes the job dead; a real failure still counts. */
static void test_defer_keeps_attempts(void **state)
{
    job_t j = mkjob("jd", "poll");
    j.max_attempts = 2;
    job_enqueue(R, &j);
    for (int i = 0; i < 5; i++) {
        job_t c;
        assert_int_equal(job_claim(R, T, "jd", "w1", 30000, &c), 1);
        assert_int_equal(c.attempt, 1);
        job_free(&c);
        int64_t at = now_ms() + 500;
        assert_int_equal(job_defer(R, T, "jd", "w2", "x", at), 0);   /* not the owner */
        assert_int_equal(job_defer(R, T, "jd", "w1", "ERP paused", at), 1);
        assert_int_equal(zscore_k(K_RETRY, NULL, "jd"), at);
        assert_int_equal(zscore_k(K_LEASES, NULL, "jd"), -1);
        job_t got;
        job_load(R, T, "jd", &got);
        assert_string_equal(got.state, "retry");
        assert_string_equal(got.error, "ERP paused");
        assert_int_equal(got.attempt, 0);
        job_free(&got);
        assert_int_equal(job_defer(R, T, "jd", "w1", "again", at), 0);   /* not running */
        char **ids;
        assert_int_equal(job_promote_retries(R, T, at, &ids), 1);
        free(ids[0]);
        free(ids);
    }
    assert_int_equal(stat_of("jobs_deferred"), 5);
    assert_int_equal(stat_of("jobs_retried"), -1);
    /* two real failures use up the two attempts */
    job_t c;
    assert_int_equal(job_claim(R, T, "jd", "w1", 30000, &c), 1);
    job_free(&c);
    assert_int_equal(job_fail(R, T, "jd", "w1", "HTTP 503", false, 0), 1);
    char **ids;
    assert_int_equal(job_promote_retries(R, T, now_ms(), &ids), 1);
    free(ids[0]);
    free(ids);
    assert_int_equal(job_claim(R, T, "jd", "w1", 30000, &c), 1);
    assert_int_equal(c.attempt, 2);
    job_free(&c);
    assert_int_equal(job_fail(R, T, "jd", "w1", "HTTP 503", false, 0), 2);
}

/* Claims, fails (retryable) and promotes until the job runs out of attempts. */
static void test_dead_after_max_attempts(void **state)
{
    job_t j = mkjob("j5", "poll");
    j.max_attempts = 3;
    job_enqueue(R, &j);
    for (int attempt = 1; attempt <= 3; attempt++) {
        job_t c;
        assert_int_equal(job_claim(R, T, "j5", "w1", 30000, &c), 1);
        assert_int_equal(c.attempt, attempt);
        job_free(&c);
        int rc = job_fail(R, T, "j5", "w1", "still failing", false, 0);
        assert_int_equal(rc, attempt < 3 ? 1 : 2);
        char **ids;
        int n = job_promote_retries(R, T, now_ms(), &ids);
        assert_int_equal(n, attempt < 3 ? 1 : 0);
        for (int i = 0; i < n; i++)
            free(ids[i]);
        free(ids);
    }
    assert_true(zscore_k(K_DLQ, NULL, "j5") > 0);
    assert_int_equal(stat_of("jobs_dead"), 1);
    job_t got;
    job_load(R, T, "j5", &got);
    assert_string_equal(got.state, "dead");
    assert_string_equal(got.error, "still failing");
    job_free(&got);
    char *jk = K(K_JOB, "j5");
    assert_int_equal(int_cmd("TTL", jk), -1); /* dead jobs stay for the operator */
    free(jk);

    /* Replay: enqueue of a dead id is a new run and leaves the DLQ. */
    assert_int_equal(job_enqueue(R, &j), 1);
    assert_int_equal(zscore_k(K_DLQ, NULL, "j5"), -1);
    job_load(R, T, "j5", &got);
    assert_string_equal(got.state, "queued");
    assert_int_equal(got.attempt, 0);
    assert_null(got.error);
    job_free(&got);
}

static void test_permanent_failure(void **state)
{
    job_t j = mkjob("j6", "write");
    job_enqueue(R, &j);
    job_t c;
    job_claim(R, T, "j6", "w1", 30000, &c);
    job_free(&c);
    assert_int_equal(job_fail(R, T, "j6", "w1", "HTTP 400 bad field", true, 0), 2);
    assert_true(zscore_k(K_DLQ, NULL, "j6") > 0);
    assert_int_equal(zscore_k(K_RETRY, NULL, "j6"), -1);
    assert_int_equal(job_fail(R, T, "j6", "w1", "again", true, 0), 0);
}

/* Reads the one reply of a pipelined call. */
static long long pipelined_int(void)
{
    redisReply *rep = rds_get_reply(R);
    long long v = rds_int(rep, -1);
    if (rep)
        freeReplyObject(rep);
    return v;
}

/* A job that ran out of tries is sent again by job_append_revive; one that died of a
 * permanent failure stays dead until replayed; a live one is not doubled. */
static void test_revive(void **state)
{
    job_t tired = mkjob("tired", "write"), poison = mkjob("poison", "write");
    tired.max_attempts = 1;
    job_enqueue(R, &tired);
    job_enqueue(R, &poison);
    job_t c;
    job_claim(R, T, "tired", "w1", 30000, &c);
    job_free(&c);
    job_claim(R, T, "poison", "w1", 30000, &c);
    job_free(&c);
    assert_int_equal(job_fail(R, T, "tired", "w1", "HTTP 503", false, 0), 2);
    assert_int_equal(job_fail(R, T, "poison", "w1", "HTTP 400", true, 0), 2);
    assert_int_equal(job_append_revive(R, &tired), 0);
    assert_int_equal(pipelined_int(), 1);
    assert_int_equal(job_append_revive(R, &poison), 0);
    assert_int_equal(pipelined_int(), 0);
    assert_true(zscore_k(K_DLQ, NULL, "poison") > 0);
    assert_int_equal(job_load(R, T, "tired", &c), 1);
    assert_string_equal(c.state, "queued");
    job_free(&c);
    assert_int_equal(job_append_revive(R, &tired), 0);   /* queued: nothing doubled */
    assert_int_equal(pipelined_int(), 0);
    char *svc = NULL;
    assert_int_equal(job_replay(R, T, "poison", &svc), 1);
    free(svc);
    char *jk = xasprintf(K_JOB, T, "poison");
    assert_int_equal(hget_int(jk, "permanent"), -1);   /* replay forgets the verdict */
    free(jk);
}

static void test_lost_lease(void **state)
{
    job_t j = mkjob("j7", "poll");
    job_enqueue(R, &j);
    job_t c;
    assert_int_equal(job_claim(R, T, "j7", "w1", 100, &c), 1);
    job_free(&c);
    char **ids;
    /* Not expired yet. */
    assert_int_equal(job_requeue_expired(R, T, now_ms() - 1000, &ids), 0);
    free(ids);
    int64_t later = now_ms() + 1000;
    assert_int_equal(job_requeue_expired(R, T, later, &ids), 1);
    assert_string_equal(ids[0], "j7");
    free(ids[0]);
    free(ids);
    job_t got;
    job_load(R, T, "j7", &got);
    assert_string_equal(got.state, "queued");
    assert_null(got.worker);
    assert_non_null(strstr(got.error, "lease expired"));
    job_free(&got);
    assert_true(zscore_k(K_QUEUE, "poll", "j7") > 0);
    assert_int_equal(zscore_k(K_LEASES, NULL, "j7"), -1);

    /* The old worker wakes up: everything it tries is refused while queued... */
    assert_int_equal(job_touch(R, T, "j7", "w1", 30000), 0);
    assert_int_equal(job_done(R, T, "j7", "w1", NULL), 0);
    assert_int_equal(job_fail(R, T, "j7", "w1", "x", false, 0), 0);
    /* ...and after another worker claimed it. */
    assert_int_equal(job_claim(R, T, "j7", "w2", 30000, &c), 1);
    assert_int_equal(c.attempt, 2);
    job_free(&c);
    assert_int_equal(job_done(R, T, "j7", "w1", NULL), 0);
    assert_int_equal(job_touch(R, T, "j7", "w1", 30000), 0);
    assert_int_equal(job_done(R, T, "j7", "w2", NULL), 1);
    assert_int_equal(stat_of("jobs_done"), 1);
}

static void test_reaper_buries_last_attempt(void **state)
{
    job_t j = mkjob("j8", "poll");
    j.max_attempts = 1;
    job_enqueue(R, &j);
    job_t c;
    job_claim(R, T, "j8", "w1", 1, &c);
    job_free(&c);
    char **ids;
    assert_int_equal(job_requeue_expired(R, T, now_ms() + 1000, &ids), 0);
    free(ids);
    assert_true(zscore_k(K_DLQ, NULL, "j8") > 0);
    job_t got;
    job_load(R, T, "j8", &got);
    assert_string_equal(got.state, "dead");
    job_free(&got);
}

static void test_requeue_many(void **state)
{
    enum { N = 1234 };
    job_t *jobs = calloc(N, sizeof *jobs);
    char **names = calloc(N, sizeof *names);
    for (int i = 0; i < N; i++) {
        names[i] = xasprintf("m%d", i);
        jobs[i] = mkjob(names[i], "write");
    }
    assert_int_equal(job_enqueue_many(R, jobs, N), N);
    for (int i = 0; i < N; i++) {
        job_t c;
        assert_int_equal(job_claim(R, T, names[i], "w1", 1, &c), 1);
        job_free(&c);
    }
    char **ids;
    assert_int_equal(job_requeue_expired(R, T, now_ms() + 1000, &ids), N);
    for (int i = 0; i < N; i++)
        free(ids[i]);
    free(ids);
    char *q = K(K_QUEUE, "write");
    assert_int_equal(int_cmd("ZCARD", q), N);
    free(q);
    for (int i = 0; i < N; i++)
        free(names[i]);
    free(names);
    free(jobs);
}

static void test_enqueue_many_dedupe_and_joblog_trim(void **state)
{
    enum { N = 10160 };
    job_t *jobs = calloc(N, sizeof *jobs);
    char **names = calloc(N, sizeof *names);
    for (int i = 0; i < N; i++) {
        names[i] = xasprintf("w%d", i % 10150); /* the last 10 repeat earlier ids */
        jobs[i] = mkjob(names[i], "write");
    }
    char *log = K(K_JOBLOG, NULL), *q = K(K_QUEUE, "write");
    assert_int_equal(job_enqueue_many(R, jobs, 10100), 10100);
    assert_int_equal(int_cmd("ZCARD", log), 10100);   /* up to 100 over the 10000 kept */
    assert_int_equal(job_enqueue_many(R, jobs + 10100, N - 10100), 50);
    assert_int_equal(int_cmd("ZCARD", log), 10049);   /* trimmed to 10000 at 10101, then 49 */
    assert_int_equal(job_enqueue_many(R, jobs, 5), 0);
    assert_int_equal(job_enqueue_many(R, jobs, 0), 0);
    assert_int_equal(int_cmd("ZCARD", q), 10150);
    free(log);
    free(q);
    assert_int_equal(stat_of("jobs_enqueued"), 10150);
    for (int i = 0; i < N; i++)
        free(names[i]);
    free(names);
    free(jobs);
}

static void test_append_enqueue_in_multi(void **state)
{
    redisReply *rep = rds_cmd(R, "SCRIPT FLUSH"); /* no cached script: must still work */
    freeReplyObject(rep);
    job_t a = mkjob("ma", "write"), b = mkjob("ma", "write");
    assert_int_equal(rds_append(R, "MULTI"), 0);
    assert_int_equal(rds_append(R, "SET %s %s", "mlc:{acme}:rec:po:1", "state"), 0);
    assert_int_equal(job_append_enqueue(R, &a), 0);
    assert_int_equal(job_append_enqueue(R, &b), 0);
    assert_int_equal(rds_append(R, "EXEC"), 0);
    for (int i = 0; i < 4; i++) { /* OK, QUEUED x3 */
        rep = rds_get_reply(R);
        assert_true(rds_ok(rep));
        freeReplyObject(rep);
    }
    rep = rds_get_reply(R);
    assert_int_equal(rep->type, REDIS_REPLY_ARRAY);
    assert_int_equal(rep->elements, 3);
    assert_int_equal(rep->element[1]->integer, 1);
    assert_int_equal(rep->element[2]->integer, 0); /* same id: deduped */
    freeReplyObject(rep);
    assert_true(zscore_k(K_QUEUE, "write", "ma") > 0);
}

static void test_parent_counters(void **state)
{
    job_t p = mkjob("poll:po:1", "poll");
    job_enqueue(R, &p);
    assert_int_equal(job_add_children(R, T, "poll:po:1", 3), 1);
    assert_int_equal(job_add_children(R, T, "absent", 3), 0);
    char *absent = K(K_JOB, "absent");
    assert_int_equal(int_cmd("EXISTS", absent), 0);
    free(absent);
    const char *kids[] = {"c1", "c2", "c3"};
    for (int i = 0; i < 3; i++) {
        job_t c = mkjob(kids[i], "write");
        c.parent = "poll:po:1";
        c.type = "upsert_task";
        assert_int_equal(job_enqueue(R, &c), 1);
        job_t got;
        assert_int_equal(job_claim(R, T, kids[i], "w1", 30000, &got), 1);
        assert_string_equal(got.parent, "poll:po:1");
        job_free(&got);
    }
    assert_int_equal(job_done(R, T, "c1", "w1", NULL), 1);
    assert_int_equal(job_done(R, T, "c2", "w1", NULL), 1);
    assert_int_equal(job_fail(R, T, "c3", "w1", "HTTP 400", true, 0), 2);
    char *pk = K(K_JOB, "poll:po:1");
    assert_int_equal(hget_int(pk, "children"), 3);
    assert_int_equal(hget_int(pk, "children_done"), 2);
    assert_int_equal(hget_int(pk, "children_dead"), 1);
    /* A child of a parent that expired does not recreate the parent. */
    redisReply *rep = rds_cmd(R, "DEL %s", pk);
    freeReplyObject(rep);
    job_t c = mkjob("c4", "write");
    c.parent = "poll:po:1";
    job_enqueue(R, &c);
    job_t got;
    job_claim(R, T, "c4", "w1", 30000, &got);
    job_free(&got);
    assert_int_equal(job_done(R, T, "c4", "w1", NULL), 1);
    assert_int_equal(int_cmd("EXISTS", pk), 0);
    free(pk);
}

/* Two threads, each on its own connection, race to claim the same ids. */
typedef struct {
    int won;
    const char *worker;
} claimer_t;

enum { RACE_N = 300 };

static void *claimer(void *arg)
{
    claimer_t *c = arg;
    char err[256];
    rds_t *r = rds_connect(rs.url, err, sizeof err);
    for (int i = 0; i < RACE_N && r; i++) {
        char id[16];
        snprintf(id, sizeof id, "r%d", i);
        job_t got;
        int rc = job_claim(r, T, id, c->worker, 30000, &got);
        if (rc == 1) {
            c->won++;
            job_free(&got);
        }
    }
    rds_destroy(&r);
    return NULL;
}

static void test_concurrent_claim(void **state)
{
    for (int i = 0; i < RACE_N; i++) {
        char id[16];
        snprintf(id, sizeof id, "r%d", i);
        job_t j = mkjob(id, "write");
        assert_int_equal(job_enqueue(R, &j), 1);
    }
    claimer_t a = {0, "wa"}, b = {0, "wb"};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, claimer, &a);
    pthread_create(&tb, NULL, claimer, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(a.won + b.won, RACE_N);
    char *leases = K(K_LEASES, NULL);
    assert_int_equal(int_cmd("ZCARD", leases), RACE_N);
    free(leases);
    for (int i = 0; i < RACE_N; i++) {
        char id[16];
        snprintf(id, sizeof id, "r%d", i);
        job_t got;
        job_load(R, T, id, &got);
        assert_int_equal(got.attempt, 1);
        job_free(&got);
    }
}

/* A dead job replayed: queued again with its full attempts, reason cleared, out of the DLQ,
 * the parent's dead count back down; a second run can finish it. Anything not dead is
 * refused and a stale DLQ entry is dropped. */
static void test_replay(void **state)
{
    job_t p = mkjob("poll:1", "poll");
    job_enqueue(R, &p);
    assert_int_equal(job_add_children(R, T, "poll:1", 1), 1);
    job_t j = mkjob("w:1", "write");
    j.type = "upsert_task";
    j.parent = "poll:1";
    j.max_attempts = 2;
    assert_int_equal(job_enqueue(R, &j), 1);
    job_t c;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(job_claim(R, T, "w:1", "w1", 30000, &c), 1);
        job_free(&c);
        assert_int_equal(job_fail(R, T, "w:1", "w1", "HTTP 503", false, now_ms()), i ? 2 : 1);
        if (!i) {
            char **ids;
            assert_int_equal(job_promote_retries(R, T, now_ms() + 1, &ids), 1);
            free(ids[0]);
            free(ids);
        }
    }
    char *pk = K(K_JOB, "poll:1");
    assert_int_equal(hget_int(pk, "children_dead"), 1);

    char *svc = NULL;
    int64_t before = now_ms();
    assert_int_equal(job_replay(R, T, "w:1", &svc), 1);
    assert_string_equal(svc, "write");
    free(svc);
    assert_int_equal(zscore_k(K_DLQ, NULL, "w:1"), -1);
    assert_true(zscore_k(K_QUEUE, "write", "w:1") >= before);
    assert_int_equal(hget_int(pk, "children_dead"), 0);
    job_t got;
    assert_int_equal(job_load(R, T, "w:1", &got), 1);
    assert_string_equal(got.state, "queued");
    assert_int_equal(got.attempt, 0);
    assert_int_equal(got.max_attempts, 2);
    assert_null(got.error);
    assert_null(got.worker);
    assert_int_equal(got.not_before, 0);
    assert_string_equal(got.ref, "purchase_orders");
    assert_string_equal(got.parent, "poll:1");
    job_free(&got);

    /* Not dead any more: a second replay changes nothing. */
    svc = NULL;
    assert_int_equal(job_replay(R, T, "w:1", &svc), 0);
    assert_null(svc);
    /* The replayed job runs with its full tries: a transient failure is a retry again. */
    assert_int_equal(job_claim(R, T, "w:1", "w2", 30000, &c), 1);
    assert_int_equal(c.attempt, 1);
    job_free(&c);
    assert_int_equal(job_fail(R, T, "w:1", "w2", "HTTP 503", false, now_ms()), 1);
    assert_int_equal(job_replay(R, T, "w:1", NULL), 0); /* retry is not dead */
    char **ids;
    assert_int_equal(job_promote_retries(R, T, now_ms() + 1, &ids), 1);
    free(ids[0]);
    free(ids);
    assert_int_equal(job_claim(R, T, "w:1", "w2", 30000, &c), 1);
    job_free(&c);
    assert_int_equal(job_done(R, T, "w:1", "w2", NULL), 1);
    assert_int_equal(hget_int(pk, "children_done"), 1);
    assert_int_equal(hget_int(pk, "children_dead"), 0);
    free(pk);

    /* Unknown ids, and a DLQ entry whose job hash is gone, are refused; the entry dropped. */
    assert_int_equal(job_replay(R, T, "nope", NULL), 0);
    char *dlq = K(K_DLQ, NULL);
    redisReply *rep = rds_cmd(R, "ZADD %s 1 ghost", dlq);
    freeReplyObject(rep);
    assert_int_equal(job_replay(R, T, "ghost", NULL), 0);
    assert_int_equal(int_cmd("ZCARD", dlq), 0);
    char *gk = K(K_JOB, "ghost");
    assert_int_equal(int_cmd("EXISTS", gk), 0);
    free(gk);
    free(dlq);
}

/* A permanently failed job (no parent) keeps its reason until replayed, then runs again. */
static void test_replay_permanent(void **state)
{
    job_t j = mkjob("w:2", "write");
    job_enqueue(R, &j);
    job_t c;
    job_claim(R, T, "w:2", "w1", 30000, &c);
    job_free(&c);
    assert_int_equal(job_fail(R, T, "w:2", "w1", "asana 400 refused", true, 0), 2);
    job_t got;
    job_load(R, T, "w:2", &got);
    assert_string_equal(got.error, "asana 400 refused");
    job_free(&got);
    assert_int_equal(job_replay(R, T, "w:2", NULL), 1);
    assert_int_equal(job_claim(R, T, "w:2", "w1", 30000, &c), 1);
    assert_int_equal(c.attempt, 1);
    job_free(&c);
}

/* max_attempts per type from the environment; job_enqueue takes it when j has none. */
static void test_max_attempts_env(void **state)
{
    unsetenv("MLC_MAX_ATTEMPTS");
    unsetenv("MLC_MAX_ATTEMPTS_UPSERT_TASK");
    assert_int_equal(job_max_attempts("upsert_task"), 8);
    assert_int_equal(job_max_attempts(NULL), 8);
    setenv("MLC_MAX_ATTEMPTS", "5", 1);
    assert_int_equal(job_max_attempts("upsert_task"), 5);
    setenv("MLC_MAX_ATTEMPTS_UPSERT_TASK", "2", 1);
    assert_int_equal(job_max_attempts("upsert_task"), 2);
    assert_int_equal(job_max_attempts("poll_flow"), 5);
    setenv("MLC_MAX_ATTEMPTS_SEED_ENUMS", "0", 1);    /* ignored: not a usable count */
    assert_int_equal(job_max_attempts("seed_enums"), 5);
    setenv("MLC_MAX_ATTEMPTS", "many", 1);
    assert_int_equal(job_max_attempts("poll_flow"), 8);

    job_t j = mkjob("w:3", "write");
    j.type = "upsert_task";
    assert_int_equal(job_enqueue(R, &j), 1);
    job_t got;
    job_load(R, T, "w:3", &got);
    assert_int_equal(got.max_attempts, 2);
    job_free(&got);
    j = mkjob("w:4", "write");
    j.type = "upsert_task";
    j.max_attempts = 4;    /* the producer's own choice wins */
    job_enqueue(R, &j);
    job_load(R, T, "w:4", &got);
    assert_int_equal(got.max_attempts, 4);
    job_free(&got);
    unsetenv("MLC_MAX_ATTEMPTS");
    unsetenv("MLC_MAX_ATTEMPTS_UPSERT_TASK");
    unsetenv("MLC_MAX_ATTEMPTS_SEED_ENUMS");
}

static void test_redis_down_errors(void **state)
{
    fx_redis_t tmp;
    assert_int_equal(fx_redis_start(&tmp), 0);
    char err[256];
    rds_t *r = rds_connect(tmp.url, err, sizeof err);
    fx_redis_stop(&tmp);
    job_t j = mkjob("x", "poll"), got;
    char **ids;
    assert_int_equal(job_enqueue(r, &j), -1);
    assert_int_equal(job_enqueue_many(r, &j, 1), -1);
    assert_int_equal(job_claim(r, T, "x", "w", 1000, &got), -1);
    assert_int_equal(job_done(r, T, "x", "w", NULL), -1);
    assert_int_equal(job_requeue_expired(r, T, now_ms(), &ids), -1);
    assert_null(ids);
    assert_int_equal(job_load(r, T, "x", &got), -1);
    assert_int_equal(job_replay(r, T, "x", NULL), -1);
    rds_destroy(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_enqueue_and_dedupe, flush),
        cmocka_unit_test_setup(test_claim, flush),
        cmocka_unit_test_setup(test_touch_and_done, flush),
        cmocka_unit_test_setup(test_retry_and_promote, flush),
        cmocka_unit_test_setup(test_defer_keeps_attempts, flush),
        cmocka_unit_test_setup(test_dead_after_max_attempts, flush),
        cmocka_unit_test_setup(test_permanent_failure, flush),
        cmocka_unit_test_setup(test_revive, flush),
        cmocka_unit_test_setup(test_lost_lease, flush),
        cmocka_unit_test_setup(test_reaper_buries_last_attempt, flush),
        cmocka_unit_test_setup(test_requeue_many, flush),
        cmocka_unit_test_setup(test_enqueue_many_dedupe_and_joblog_trim, flush),
        cmocka_unit_test_setup(test_append_enqueue_in_multi, flush),
        cmocka_unit_test_setup(test_parent_counters, flush),
        cmocka_unit_test_setup(test_concurrent_claim, flush),
        cmocka_unit_test_setup(test_replay, flush),
        cmocka_unit_test_setup(test_replay_permanent, flush),
        cmocka_unit_test_setup(test_max_attempts_env, flush),
        cmocka_unit_test_setup(test_redis_down_errors, flush),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
