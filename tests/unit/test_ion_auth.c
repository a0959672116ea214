/* Unit tests for sim/ion_auth.c: the per-tenant password grant (all four secrets), HTTP Basic
 * client credentials, rotating refresh tokens, revocation (a refresh token takes its grant
 * along) and bearer checks bound to the tenant, with expiry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "crypto.h"
#include "ion_auth.h"

#define FORM "application/x-www-form-urlencoded"
#define T0 1800000000000LL
#define PASSWORD \
    "grant_type=password&username=DEMO_TST%23svc-access-key&password=demo-service-secret"
#define CLIENT "&client_id=DEMO_TST~mlc-demo&client_secret=demo-client-secret"

static const ion_token_opts_t OPTS = {60, 600, true};

/* Requests a token from tenant ti; returns the parsed body, status in *status. */
static json_t *token(ion_auth_t *a, const char *ti, const char *authz, const char *body,
                     const ion_token_opts_t *o, int64_t now, int *status, ion_issued_t *issued)
{
    ion_token_reply_t r;
    ion_auth_token(a, ion_tenant(ti), FORM, authz, body, o, now, &r);
    *status = r.status;
    if (issued)
        *issued = r.issued;
    json_t *j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    free(r.body);
    return j;
}

static void expect_error(json_t *j, int status, int want_status, const char *error)
{
    assert_int_equal(status, want_status);
    assert_string_equal(json_string_value(json_object_get(j, "error")), error);
    assert_true(strlen(json_string_value(json_object_get(j, "error_description"))) > 0);
    json_decref(j);
}

/* Requests a token that must be refused with want_status and error. */
static void expect_token_error(ion_auth_t *a, const char *ti, const char *authz,
                               const char *body, const ion_token_opts_t *o, int64_t now,
                               int want_status, const char *error)
{
    int st;
    json_t *j = token(a, ti, authz, body, o, now, &st, NULL);
    expect_error(j, st, want_status, error);
}

static char *bearer(json_t *j)
{
    char *b = NULL;
    const char *tok = json_string_value(json_object_get(j, "access_token"));
    assert_true(asprintf(&b, "Bearer %s", tok) > 0);
    return b;
}

static void test_tenants(void **state)
{
    (void)state;
    assert_int_equal(ion_ntenants(), 2);
    const ion_tenant_t *t = ion_tenant("DEMO_TST");
    assert_non_null(t);
    assert_int_equal(t->system, ION_M3);
    assert_string_equal(t->client_id, "DEMO_TST~mlc-demo");
    assert_string_equal(t->saak, "DEMO_TST#svc-access-key");
    assert_int_equal(ion_tenant("DEMO_CSI")->system, ION_SL);
    assert_ptr_equal(ion_tenant_at(1), ion_tenant("DEMO_CSI"));
    assert_null(ion_tenant("demo_tst"));
    assert_null(ion_tenant_at(2));
}

static void test_password_grant(void **state)
{
    (void)state;
    ion_auth_t *a = ion_auth_new();
    int st;
    ion_issued_t issued;
    expect_token_error(a, "DEMO_TST", NULL, PASSWORD, &OPTS, T0, 401,
                 "invalid_client");
    expect_token_error(a, "DEMO_TST", NULL, PASSWORD "&client_id=DEMO_TST~mlc-demo"
                       "&client_secret=x", &OPTS, T0, 401, "invalid_client");
    expect_token_error(a, "DEMO_CSI", NULL, PASSWORD CLIENT, &OPTS, T0, 401,
                 "invalid_client");
    expect_token_error(a, "DEMO_TST", "Bearer x", PASSWORD, &OPTS, T0, 401,
                 "invalid_client");
    expect_token_error(a, "DEMO_TST", NULL, "grant_type=password&username=DEMO_TST%23svc-"
                       "access-key&password=wrong" CLIENT, &OPTS, T0, 400,
                 "invalid_grant");
    expect_token_error(a, "DEMO_TST", NULL, "grant_type=password&username=DEMO_CSI%23svc-"
                       "access-key&password=demo-service-secret" CLIENT, &OPTS, T0, 400,
                       "invalid_grant");
    expect_token_error(a, "DEMO_TST", NULL, "grant_type=password" CLIENT, &OPTS, T0, 400,
                       "invalid_request");
    expect_token_error(a, "DEMO_TST", NULL, "grant_type=client_credentials" CLIENT, &OPTS, T0,
                       400, "unsupported_grant_type");
    expect_token_error(a, "DEMO_TST", NULL, CLIENT + 1, &OPTS, T0, 400, "invalid_request");
    ion_token_reply_t r;
    ion_auth_token(a, ion_tenant("DEMO_TST"), "application/json", NULL, "{}", &OPTS, T0, &r);
    assert_int_equal(r.status, 400);
    free(r.body);

    /* HTTP Basic: base64("DEMO_TST~mlc-demo:demo-client-secret") */
    char *b64 = b64_encode("DEMO_TST~mlc-demo:demo-client-secret", 36);
    char *basic = NULL;
    assert_true(asprintf(&basic, "Basic %s", b64) > 0);
    json_t *j = token(a, "DEMO_TST", basic, PASSWORD, &OPTS, T0, &st, &issued);
    assert_int_equal(st, 200);
    assert_int_equal(issued, ION_ISSUED_PASSWORD);
    assert_string_equal(json_string_value(json_object_get(j, "token_type")), "Bearer");
    assert_int_equal(json_integer_value(json_object_get(j, "expires_in")), 60);
    assert_int_equal(strlen(json_string_value(json_object_get(j, "refresh_token"))), 64);
    char *b = bearer(j);
    json_decref(j);

    char why[160];
    assert_int_equal(ion_auth_check(a, ion_tenant("DEMO_TST"), b, T0 + 59999, why, sizeof why),
                     0);
    assert_int_equal(ion_auth_check(a, ion_tenant("DEMO_TST"), b, T0 + 60000, why, sizeof why),
                     -1);
    assert_non_null(strstr(why, "expired"));
    assert_int_equal(ion_auth_check(a, ion_tenant("DEMO_CSI"), b, T0, why, sizeof why), -1);
    assert_string_equal(why, "access token was issued for tenant DEMO_TST, not DEMO_CSI");
    assert_int_equal(ion_auth_check(a, ion_tenant("DEMO_TST"), NULL, T0, why, sizeof why), -1);
    assert_int_equal(ion_auth_check(a, ion_tenant("DEMO_TST"), "Bearer nope", T0, why,
                                    sizeof why), -1);
    assert_non_null(strstr(why, "unknown"));

    /* no refresh token when switched off */
    ion_token_opts_t no_refresh = {30, 600, false};
    j = token(a, "DEMO_TST", NULL, PASSWORD CLIENT, &no_refresh, T0, &st, NULL);
    assert_int_equal(st, 200);
    assert_null(json_object_get(j, "refresh_token"));
    assert_int_equal(json_integer_value(json_object_get(j, "expires_in")), 30);
    json_decref(j);
    assert_int_equal(ion_auth_revoke_all(a), 3);   /* two access tokens, one refresh token */
    assert_int_equal(ion_auth_check(a, ion_tenant("DEMO_TST"), b, T0, why, sizeof why), -1);
    free(b);
    free(basic);
    free(b64);
    ion_auth_destroy(&a);
    assert_null(a);
    ion_auth_destroy(&a);
}

static void test_refresh_and_revoke(void **state)
{
    (void)state;
    ion_auth_t *a = ion_auth_new();
    const ion_tenant_t *tst = ion_tenant("DEMO_TST");
    int st;
    ion_issued_t issued;
    json_t *j = token(a, "DEMO_TST", NULL, PASSWORD CLIENT, &OPTS, T0, &st, NULL);
    char *access1 = bearer(j);
    char *refresh1 = strdup(json_string_value(json_object_get(j, "refresh_token")));
    json_decref(j);

    char body[512];
    snprintf(body, sizeof body, "grant_type=refresh_token&refresh_token=%s" CLIENT, refresh1);
    j = token(a, "DEMO_CSI", NULL, body, &OPTS, T0, &st, NULL);   /* wrong client for CSI */
    expect_error(j, st, 401, "invalid_client");
    j = token(a, "DEMO_TST", NULL, body, &OPTS, T0 + 1000, &st, &issued);
    assert_int_equal(st, 200);
    assert_int_equal(issued, ION_ISSUED_REFRESH);
    char *access2 = bearer(j);
    char *refresh2 = strdup(json_string_value(json_object_get(j, "refresh_token")));
    assert_string_not_equal(refresh1, refresh2);
    json_decref(j);
    expect_token_error(a, "DEMO_TST", NULL, body, &OPTS, T0 + 2000, 400,
                 "invalid_grant");   /* used up */
    expect_token_error(a, "DEMO_TST", NULL, "grant_type=refresh_token" CLIENT, &OPTS, T0, 400,
                       "invalid_request");

    char why[160], *err = NULL;
    long revoked;
    /* revoking an access token: only that one */
    assert_int_equal(ion_auth_revoke(a, tst, NULL, NULL, NULL, access1 + 7, "access_token",
                                     &err, &revoked), 200);
    assert_null(err);
    assert_int_equal(revoked, 1);
    assert_int_equal(ion_auth_check(a, tst, access1, T0, why, sizeof why), -1);
    assert_int_equal(ion_auth_check(a, tst, access2, T0, why, sizeof why), 0);
    /* a token of this tenant is not revoked through the other tenant */
    assert_int_equal(ion_auth_revoke(a, ion_tenant("DEMO_CSI"), NULL, NULL, NULL, access2 + 7,
                                     NULL, &err, &revoked), 200);
    assert_int_equal(revoked, 0);
    /* wrong client credentials, missing token */
    assert_int_equal(ion_auth_revoke(a, tst, NULL, "DEMO_TST~mlc-demo", "x", refresh2, NULL,
                                     &err, &revoked), 401);
    assert_non_null(strstr(err, "invalid_client"));
    free(err);
    assert_int_equal(ion_auth_revoke(a, tst, NULL, NULL, NULL, NULL, NULL, &err, &revoked), 400);
    assert_non_null(strstr(err, "invalid_request"));
    free(err);
    /* revoking the refresh token takes the grant along (without a hint too) */
    assert_int_equal(ion_auth_revoke(a, tst, NULL, "DEMO_TST~mlc-demo", "demo-client-secret",
                                     refresh2, NULL, &err, &revoked), 200);
    assert_int_equal(revoked, 2);
    assert_int_equal(ion_auth_check(a, tst, access2, T0, why, sizeof why), -1);
    snprintf(body, sizeof body, "grant_type=refresh_token&refresh_token=%s" CLIENT, refresh2);
    expect_token_error(a, "DEMO_TST", NULL, body, &OPTS, T0, 400,
                 "invalid_grant");
    assert_int_equal(ion_auth_revoke(a, tst, NULL, NULL, NULL, "unknown", NULL, &err, &revoked),
                     200);
    assert_int_equal(revoked, 0);

    /* an expired refresh token */
    j = token(a, "DEMO_TST", NULL, PASSWORD CLIENT, &OPTS, T0, &st, NULL);
    snprintf(body, sizeof body, "grant_type=refresh_token&refresh_token=%s" CLIENT,
             json_string_value(json_object_get(j, "refresh_token")));
    json_decref(j);
    j = token(a, "DEMO_TST", NULL, body, &OPTS, T0 + 600000, &st, NULL);
    assert_non_null(strstr(json_string_value(json_object_get(j, "error_description")),
                           "expired"));
    expect_error(j, st, 400, "invalid_grant");

    free(access1);
    free(access2);
    free(refresh1);
    free(refresh2);
    ion_auth_destroy(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tenants),
        cmocka_unit_test(test_password_grant),
        cmocka_unit_test(test_refresh_and_revoke),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
