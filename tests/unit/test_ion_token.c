/* Tests of common/ion_token.c against a scripted authorization server (real HTTP on
 * 127.0.0.1, common/httpd.c) and a real redis-server: the password grant with the .ionapi
 * service account, refresh tokens sealed in Redis and used next time, fallback when a refresh
 * is refused, no fallback when the server is down, revocation of what is cached. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "httpd.h"
#include "ion_token.h"
#include "keys.h"
#include "token.h"
#include "util.h"

#define TENANT "acme"

/* The scripted server: what it answers and what it was sent. */
static struct {
    pthread_mutex_t mu;
    int    issue_refresh;   /* the token endpoint issues refresh tokens */
    int    refresh_status;  /* status for refresh grants (200 = accept) */
    int    revoke_status;
    int    grants, revokes;
    int    serial;
    char   last_form[1024]; /* body of the last token request */
    char   revoked[8][256]; /* "hint=token" of each revoke */
} srv = { .mu = PTHREAD_MUTEX_INITIALIZER };

static fx_redis_t rs;
static httpd_t *httpd;
static rds_t *r;
static http_client_t *http;
static uint8_t KEY[MLC_KEY_LEN];
static ionapi_t ion;
static ion_auth_t auth;

/* Decoded value of name in an x-www-form-urlencoded body, malloc'd, NULL when absent. */
static char *form_field(const char *body, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = body; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > n && p[n] == '=' && strncmp(p, name, n) == 0) {
            char *raw = strndup(p + n + 1, len - n - 1);
            char *v = url_decode(raw, true);
            free(raw);
            return v;
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

static void handler(void *ud, const httpd_req_t *req, httpd_resp_t *resp)
{
    const char *body = httpd_body(req, NULL);
    pthread_mutex_lock(&srv.mu);
    if (strcmp(httpd_path(req), "/ACME_TST/as/token.oauth2") == 0) {
        snprintf(srv.last_form, sizeof srv.last_form, "%s", body);
        char *grant = form_field(body, "grant_type");
        int status = grant && strcmp(grant, "refresh_token") == 0 ? srv.refresh_status : 200;
        srv.grants++;
        if (status != 200) {
            httpd_resp_json(resp, status, status == 400 ? "{\"error\":\"invalid_grant\"}" : "{}");
        } else {
            int n = ++srv.serial;
            char *json = srv.issue_refresh
                ? xasprintf("{\"access_token\":\"at-%d\",\"token_type\":\"Bearer\","
                            "\"expires_in\":7200,\"refresh_token\":\"rt-%d\"}", n, n)
                : xasprintf("{\"access_token\":\"at-%d\",\"token_type\":\"Bearer\","
                            "\"expires_in\":7200}", n);
            httpd_resp_json(resp, 200, json);
            free(json);
        }
        free(grant);
    } else if (strcmp(httpd_path(req), "/ACME_TST/as/revoke_token.oauth2") == 0) {
        char *token = form_field(body, "token"), *hint = form_field(body, "token_type_hint");
        char *client = form_field(body, "client_id");
        if (srv.revokes < 8)
            snprintf(srv.revoked[srv.revokes], sizeof srv.revoked[0], "%s=%s by %s",
                     hint ? hint : "-", token ? token : "-", client ? client : "-");
        srv.revokes++;
        httpd_resp_body(resp, srv.revoke_status, "text/plain", "", 0);
        free(token);
        free(hint);
        free(client);
    } else {
        httpd_resp_body(resp, 404, "text/plain", "", 0);
    }
    pthread_mutex_unlock(&srv.mu);
}

static int setup(void **state)
{
    memset(KEY, 7, sizeof KEY);
    if (fx_redis_start(&rs) != 0)
        return -1;
    char err[256];
    r = rds_connect(rs.url, err, sizeof err);
    httpd_opts_t o = { .port = 0, .threads = 2, .handler = handler };
    httpd = httpd_start(&o, err, sizeof err);
    http = http_client_new();
    if (!r || !httpd || !http)
        return -1;
    char *text = xasprintf("{\"ti\":\"ACME_TST\",\"ci\":\"ACME_TST~app\",\"cs\":\"cli&secret\","
                           "\"iu\":\"http://127.0.0.1:%d\",\"pu\":\"http://127.0.0.1:%d/ACME_TST/as/\","
                           "\"ot\":\"token.oauth2\",\"or\":\"revoke_token.oauth2\","
                           "\"saak\":\"ACME_TST#key\",\"sask\":\"s p a c e\"}",
                           httpd_port(httpd), httpd_port(httpd));
    json_t *obj = json_loads(text, 0, NULL);
    free(text);
    int rc = ionapi_parse(obj, "ionapi", &ion, err, sizeof err);
    json_decref(obj);
    auth = (ion_auth_t){ &ion, TENANT, r, KEY, http };
    return rc;
}

static int teardown(void **state)
{
    ionapi_free(&ion);
    http_client_destroy(&http);
    httpd_stop(&httpd);
    rds_destroy(&r);
    fx_redis_stop(&rs);
    return 0;
}

/* Fresh state per test: server script and nothing cached. */
static int reset(void **state)
{
    pthread_mutex_lock(&srv.mu);
    srv.issue_refresh = 1;
    srv.refresh_status = 200;
    srv.revoke_status = 200;
    srv.grants = srv.revokes = srv.serial = 0;
    srv.last_form[0] = '\0';
    pthread_mutex_unlock(&srv.mu);
    redisReply *rep = fx_redis_cmd(&rs, "FLUSHALL");
    freeReplyObject(rep);
    return 0;
}

static char *get_token(void)
{
    char err[256] = "";
    char *t = token_get(r, KEY, TENANT, ION_TOKEN_SYSTEM, 30000, ion_token_fetch, &auth, err,
                        sizeof err);
    if (!t)
        fail_msg("token_get: %s", err);
    return t;
}

static char *stored_refresh(void)
{
    redisReply *rep = fx_redis_cmd(&rs, "GET mlc:{" TENANT "}:token:ion:refresh");
    char *v = rep && rep->type == REDIS_REPLY_STRING ? xstrdup(rep->str) : NULL;
    if (rep)
        freeReplyObject(rep);
    return v;
}

static void expect_form_field(const char *name, const char *want)
{
    char *v = form_field(srv.last_form, name);
    if (!want) {
        assert_null(v);
        return;
    }
    if (!v || strcmp(v, want) != 0)
        fail_msg("%s: got %s, want %s (form %s)", name, v ? v : "(absent)", want, srv.last_form);
    free(v);
}

static void test_password_then_refresh_grant(void **state)
{
    char *t = get_token();
    assert_string_equal(t, "at-1");
    free(t);
    expect_form_field("grant_type", "password");
    expect_form_field("username", "ACME_TST#key");
    expect_form_field("password", "s p a c e");
    expect_form_field("client_id", "ACME_TST~app");
    expect_form_field("client_secret", "cli&secret");
    /* The refresh token is stored sealed, never in clear. */
    char *sealed = stored_refresh();
    assert_non_null(sealed);
    assert_true(str_starts(sealed, "v1:"));
    assert_null(strstr(sealed, "rt-1"));
    free(sealed);

    t = get_token(); /* cached: no request */
    assert_string_equal(t, "at-1");
    free(t);
    assert_int_equal(srv.grants, 1);

    /* After a 401 the next token comes from the refresh grant, which rotates the refresh token. */
    token_invalidate(r, TENANT, ION_TOKEN_SYSTEM);
    t = get_token();
    assert_string_equal(t, "at-2");
    free(t);
    expect_form_field("grant_type", "refresh_token");
    expect_form_field("refresh_token", "rt-1");
    expect_form_field("client_id", "ACME_TST~app");
    expect_form_field("client_secret", "cli&secret");
    expect_form_field("username", NULL);
    token_invalidate(r, TENANT, ION_TOKEN_SYSTEM);
    t = get_token();
    assert_string_equal(t, "at-3");
    free(t);
    expect_form_field("refresh_token", "rt-2");
}

static void test_refused_refresh_falls_back(void **state)
{
    free(get_token());
    srv.refresh_status = 400;
    token_invalidate(r, TENANT, ION_TOKEN_SYSTEM);
    char *t = get_token();
    assert_string_equal(t, "at-2");  /* refresh refused (no token), password grant issued at-2 */
    free(t);
    assert_int_equal(srv.grants, 3);
    expect_form_field("grant_type", "password");
    /* The refused refresh token is gone; the new one from the password grant is kept. */
    srv.refresh_status = 200;
    token_invalidate(r, TENANT, ION_TOKEN_SYSTEM);
    t = get_token();
    assert_string_equal(t, "at-3");
    free(t);
    expect_form_field("refresh_token", "rt-2");
}

static void test_failing_refresh_keeps_the_token(void **state)
{
    free(get_token());
    char *before = stored_refresh();
    srv.refresh_status = 503;
    token_invalidate(r, TENANT, ION_TOKEN_SYSTEM);
    char err[256] = "";
    char *t = token_get(r, KEY, TENANT, ION_TOKEN_SYSTEM, 30000, ion_token_fetch, &auth, err,
                        sizeof err);
    assert_null(t);
    assert_non_null(strstr(err, "ion token endpoint answered 503"));
    assert_int_equal(srv.grants, 2);  /* no password grant behind a failing server's back */
    char *after = stored_refresh();
    assert_non_null(after);
    assert_string_equal(after, before);
    free(before);
    free(after);
}

static void test_no_refresh_token_issued(void **state)
{
    srv.issue_refresh = 0;
    free(get_token());
    assert_null(stored_refresh());
    token_invalidate(r, TENANT, ION_TOKEN_SYSTEM);
    free(get_token());
    expect_form_field("grant_type", "password");
    assert_int_equal(ion_token_cached(&auth), 1);
}

static void test_revoke(void **state)
{
    char err[256] = "";
    /* Nothing cached: nothing to do. */
    assert_int_equal(ion_token_cached(&auth), 0);
    assert_int_equal(ion_token_revoke(&auth, err, sizeof err), 0);
    assert_int_equal(srv.revokes, 0);

    free(get_token());
    assert_int_equal(ion_token_cached(&auth), 1);
    assert_int_equal(ion_token_revoke(&auth, err, sizeof err), 2);
    assert_string_equal(srv.revoked[0], "access_token=at-1 by ACME_TST~app");
    assert_string_equal(srv.revoked[1], "refresh_token=rt-1 by ACME_TST~app");
    assert_int_equal(ion_token_cached(&auth), 0);
    assert_null(stored_refresh());

    /* A refusing server: reported, and the tokens are dropped all the same. */
    free(get_token());
    srv.revoke_status = 500;
    assert_int_equal(ion_token_revoke(&auth, err, sizeof err), -1);
    assert_non_null(strstr(err, "ion revoke endpoint answered 500 for the access_token"));
    assert_int_equal(ion_token_cached(&auth), 0);

    /* No revoke path in the .ionapi. */
    free(get_token());
    char *or_path = ion.or_path;
    ion.or_path = NULL;
    assert_int_equal(ion_token_revoke(&auth, err, sizeof err), -1);
    assert_string_equal(err, "the .ionapi names no revoke path (or)");
    ion.or_path = or_path;
    assert_int_equal(ion_token_cached(&auth), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_password_then_refresh_grant, reset),
        cmocka_unit_test_setup(test_refused_refresh_falls_back, reset),
        cmocka_unit_test_setup(test_failing_refresh_keeps_the_token, reset),
        cmocka_unit_test_setup(test_no_refresh_token_issued, reset),
        cmocka_unit_test_setup(test_revoke, reset),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
