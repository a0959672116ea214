/* Tests of common/redis.c against a real redis-server (fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "fixture.h"
#include "redis.h"
#include "util.h"

static fx_redis_t rs;

static int group_setup(void **state)
{
    return fx_redis_start(&rs);
}

static int group_teardown(void **state)
{
    fx_redis_stop(&rs);
    return 0;
}

static rds_t *connect_ok(const char *url)
{
    char err[256] = "";
    rds_t *r = rds_connect(url, err, sizeof err);
    if (!r)
        fail_msg("connect %s: %s", url, err);
    return r;
}

static void test_bad_urls(void **state)
{
    const char *bad[] = {"http://x", "redis://", "redis://h:0", "redis://h:99999",
                         "redis://h:12x", "redis://h/abc", "unix://relative", "unix:///s?x=1",
                         NULL};
    for (int i = 0; bad[i]; i++) {
        char err[256] = "";
        rds_t *r = rds_connect(bad[i], err, sizeof err);
        assert_null(r);
        assert_true(strlen(err) > 0);
    }
    char err[256] = "";
    /* well-formed but nothing listens there: NULL with the reason */
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", fx_free_port());
    assert_null(rds_connect(url, err, sizeof err));
    assert_non_null(strstr(err, "connect"));
}

static void test_tcp_unix_and_db(void **state)
{
    rds_t *a = connect_ok(rs.url);
    assert_string_equal(rds_url(a), rs.url);
    char url[200];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/3", rs.port);
    rds_t *b = connect_ok(url);
    snprintf(url, sizeof url, "unix://%s?db=3", rs.sock);
    rds_t *c = connect_ok(url);

    redisReply *rep = rds_cmd(b, "SET %s %s", "k", "in-db-3");
    assert_true(rds_ok(rep));
    freeReplyObject(rep);
    rep = rds_cmd(a, "GET k"); /* db 0 does not see it */
    assert_int_equal(rep->type, REDIS_REPLY_NIL);
    freeReplyObject(rep);
    rep = rds_cmd(c, "GET k"); /* the unix socket in db 3 does */
    char *s = rds_str(rep);
    assert_string_equal(s, "in-db-3");
    free(s);
    freeReplyObject(rep);
    rep = rds_cmd(b, "DEL k");
    freeReplyObject(rep);
    rds_destroy(&a);
    rds_destroy(&b);
    rds_destroy(&c);
    assert_null(c);
    rds_destroy(&c); /* safe twice */
}

static void test_password(void **state)
{
    rds_t *admin = connect_ok(rs.url);
    redisReply *rep = rds_cmd(admin, "CONFIG SET requirepass %s", "s3cr@t");
    assert_true(rds_ok(rep));
    freeReplyObject(rep);

    char err[256] = "", url[200];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", rs.port);
    assert_null(rds_connect(url, err, sizeof err));
    assert_non_null(strstr(err, "AUTH") ? strstr(err, "AUTH") : strstr(err, "NOAUTH"));
    snprintf(url, sizeof url, "redis://:wrong@127.0.0.1:%d/0", rs.port);
    assert_null(rds_connect(url, err, sizeof err));
    assert_null(strstr(err, "wrong")); /* a password never shows up in messages */
    snprintf(url, sizeof url, "redis://:wrong@127.0.0.1:%d/x", rs.port);
    assert_null(rds_connect(url, err, sizeof err));
    assert_null(strstr(err, "wrong"));
    snprintf(url, sizeof url, "redis://:s3cr%%40t@127.0.0.1:%d/1", rs.port);
    rds_t *r = connect_ok(url);
    rep = rds_cmd(r, "PING");
    assert_true(rds_ok(rep));
    freeReplyObject(rep);
    snprintf(url, sizeof url, "redis://default:s3cr%%40t@127.0.0.1:%d", rs.port);
    rds_t *acl = connect_ok(url);
    rds_destroy(&acl);

    rep = rds_cmd(r, "CONFIG SET requirepass %s", "");
    assert_true(rds_ok(rep));
    freeReplyObject(rep);
    rds_destroy(&r);
    rds_destroy(&admin);
}

static void test_reconnect_after_kill(void **state)
{
    rds_t *r = connect_ok(rs.url);
    rds_t *admin = connect_ok(rs.url);
    redisReply *rep = rds_cmd(r, "CLIENT SETNAME victim");
    freeReplyObject(rep);
    rep = rds_cmd(admin, "CLIENT KILL TYPE normal SKIPME yes");
    assert_true(rds_ok(rep));
    freeReplyObject(rep);
    /* The connection is dead; the command reconnects once and succeeds. */
    rep = rds_cmd(r, "INCR %s", "counter");
    assert_int_equal(rds_int(rep, -1), 1);
    freeReplyObject(rep);
    rep = rds_cmd(r, "DEL counter");
    freeReplyObject(rep);
    rds_destroy(&r);
    rds_destroy(&admin);
}

static void test_pipeline(void **state)
{
    rds_t *r = connect_ok(rs.url);
    for (int i = 0; i < 100; i++)
        assert_int_equal(rds_append(r, "RPUSH %s %d", "plist", i), 0);
    const char *argv[] = {"LLEN", "plist"};
    assert_int_equal(rds_appendargv(r, 2, argv, NULL), 0);
    for (int i = 0; i < 100; i++) {
        redisReply *rep = rds_get_reply(r);
        assert_int_equal(rds_int(rep, -1), i + 1);
        freeReplyObject(rep);
    }
    redisReply *rep = rds_get_reply(r);
    assert_int_equal(rds_int(rep, -1), 100);
    freeReplyObject(rep);
    assert_null(rds_get_reply(r)); /* nothing pending */

    /* An abandoned pipeline does not leak replies into the next command. */
    rds_append(r, "LPOP plist");
    rds_append(r, "LPOP plist");
    rep = rds_cmd(r, "LLEN plist");
    assert_int_equal(rds_int(rep, -1), 98);
    freeReplyObject(rep);
    rep = rds_cmd(r, "DEL plist");
    freeReplyObject(rep);

    /* rds_drain: all replies read; an error reply among them makes it -1, and the
     * connection stays in step; more than were appended is -1 as well. */
    rds_append(r, "SET dk 1");
    rds_append(r, "INCR dk");
    assert_int_equal(rds_drain(r, 2), 0);
    rds_append(r, "HSET dk f v");   /* WRONGTYPE */
    rds_append(r, "INCR dk");
    assert_int_equal(rds_drain(r, 2), -1);
    rep = rds_cmd(r, "GET dk");
    assert_string_equal(rep->str, "3");
    freeReplyObject(rep);
    rds_append(r, "DEL dk");
    assert_int_equal(rds_drain(r, 2), -1);
    rds_destroy(&r);
}

static rds_script_t S_ADD = {"add", "return tonumber(ARGV[1]) + tonumber(ARGV[2]) .. KEYS[1]", ""};

static void test_scripts(void **state)
{
    rds_t *r = connect_ok(rs.url);
    const char *args[] = {"k", "2", "40"};
    redisReply *rep = rds_eval(r, &S_ADD, 1, 3, args, NULL);
    char *s = rds_str(rep);
    assert_string_equal(s, "42k");
    free(s);
    freeReplyObject(rep);
    assert_int_equal(strlen(S_ADD.sha), 40);

    /* The server forgets its scripts (as after a restart): NOSCRIPT -> load -> run. */
    rep = rds_cmd(r, "SCRIPT FLUSH");
    freeReplyObject(rep);
    rep = rds_eval(r, &S_ADD, 1, 3, args, NULL);
    s = rds_str(rep);
    assert_string_equal(s, "42k");
    free(s);
    freeReplyObject(rep);

    /* Pipelined form after rds_script_ensure. */
    rep = rds_cmd(r, "SCRIPT FLUSH");
    freeReplyObject(rep);
    assert_int_equal(rds_script_ensure(r, &S_ADD), 0);
    size_t lens[] = {1, 1, 1};
    const char *args2[] = {"x", "1", "1"};
    assert_int_equal(rds_append_eval(r, &S_ADD, 1, 3, args2, lens), 0);
    assert_int_equal(rds_append_eval(r, &S_ADD, 1, 3, args, NULL), 0);
    rep = rds_get_reply(r);
    s = rds_str(rep);
    assert_string_equal(s, "2x");
    free(s);
    freeReplyObject(rep);
    rep = rds_get_reply(r);
    s = rds_str(rep);
    assert_string_equal(s, "42k");
    free(s);
    freeReplyObject(rep);

    static rds_script_t broken = {"broken", "this is not lua", ""};
    assert_int_equal(rds_script_ensure(r, &broken), -1);
    rep = rds_eval(r, &broken, 0, 0, NULL, NULL);
    assert_false(rds_ok(rep));
    if (rep)
        freeReplyObject(rep);
    rds_destroy(&r);
}

static void test_reply_helpers(void **state)
{
    redisReply i = {.type = REDIS_REPLY_INTEGER, .integer = 7};
    redisReply str = {.type = REDIS_REPLY_STRING, .str = "123", .len = 3};
    redisReply bad = {.type = REDIS_REPLY_STRING, .str = "12a", .len = 3};
    redisReply err = {.type = REDIS_REPLY_ERROR, .str = "ERR x", .len = 5};
    assert_int_equal(rds_int(&i, -1), 7);
    assert_int_equal(rds_int(&str, -1), 123);
    assert_int_equal(rds_int(&bad, -1), -1);
    assert_int_equal(rds_int(NULL, -5), -5);
    assert_false(rds_ok(&err));
    assert_false(rds_ok(NULL));
    assert_true(rds_ok(&i));
    assert_null(rds_str(&i));
    char *s = rds_str(&str);
    assert_string_equal(s, "123");
    free(s);
}

static void test_redis_down(void **state)
{
    fx_redis_t tmp;
    assert_int_equal(fx_redis_start(&tmp), 0);
    rds_t *r = connect_ok(tmp.url);
    fx_redis_stop(&tmp);
    long t0 = fx_mono_ms();
    redisReply *rep = rds_cmd(r, "PING");
    assert_null(rep);
    assert_int_equal(rds_append(r, "PING"), -1);
    assert_true(fx_mono_ms() - t0 < 9000);
    rds_destroy(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_urls),      cmocka_unit_test(test_tcp_unix_and_db),
        cmocka_unit_test(test_password),      cmocka_unit_test(test_reconnect_after_kill),
        cmocka_unit_test(test_pipeline),      cmocka_unit_test(test_scripts),
        cmocka_unit_test(test_reply_helpers), cmocka_unit_test(test_redis_down),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
