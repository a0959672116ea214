/* Unit tests for sim/ifs_auth.c: the client-credentials token endpoint (form and HTTP Basic,
 * Keycloak-style errors) and bearer checks with expiry and revocation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ifs_auth.h"

#define FORM "application/x-www-form-urlencoded"
#define T0 1800000000000LL

static ifs_auth_t *new_auth(void)
{
    json_t *clients = json_pack("{s:s,s:s}", "mlc-demo", "demo-secret", "odd id", "p&ss=");
    ifs_auth_t *a = ifs_auth_new(clients);
    json_decref(clients);
    return a;
}

/* Requests a token; returns the reply's parsed body (caller decrefs) and status in *status. */
static json_t *token(ifs_auth_t *a, const char *ctype, const char *authz, const char *body,
                     int *status, char *client, size_t client_len)
{
    ifs_token_reply_t r;
    ifs_auth_token(a, ctype, authz, body, 60, T0, &r);
    *status = r.status;
    json_t *j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    if (client)
        snprintf(client, client_len, "%s", r.client_id);
    free(r.body);
    return j;
}

static void assert_error(json_t *j, const char *error)
{
    assert_string_equal(json_string_value(json_object_get(j, "error")), error);
    assert_non_null(json_string_value(json_object_get(j, "error_description")));
    json_decref(j);
}

static void test_token_errors(void **state)
{
    (void)state;
    ifs_auth_t *a = new_auth();
    int st;
    assert_error(token(a, FORM, NULL, "grant_type=client_credentials&client_id=mlc-demo&"
                       "client_secret=wrong", &st, NULL, 0), "unauthorized_client");
    assert_int_equal(st, 401);
    assert_error(token(a, FORM, NULL, "grant_type=client_credentials&client_id=nobody&"
                       "client_secret=demo-secret", &st, NULL, 0), "unauthorized_client");
    assert_int_equal(st, 401);
    assert_error(token(a, FORM, NULL, "grant_type=password&client_id=mlc-demo&"
                       "client_secret=demo-secret", &st, NULL, 0), "unsupported_grant_type");
    assert_int_equal(st, 400);
    assert_error(token(a, FORM, NULL, "client_id=mlc-demo&client_secret=demo-secret", &st, NULL,
                       0), "invalid_request");
    assert_int_equal(st, 400);
    assert_error(token(a, "application/json", NULL, "{}", &st, NULL, 0), "invalid_request");
    assert_int_equal(st, 400);
    assert_error(token(a, FORM, "Basic !!!", "grant_type=client_credentials", &st, NULL, 0),
                 "unauthorized_client");
    ifs_auth_destroy(&a);
}

static void test_token_lifecycle(void **state)
{
    (void)state;
    ifs_auth_t *a = new_auth();
    int st;
    char client[128], why[128];
    json_t *j = token(a, FORM "; charset=utf-8", NULL,
                      "grant_type=client_credentials&client_id=mlc-demo&client_secret=demo-secret"
                      "&scope=openid%20microprofile-jwt", &st, client, sizeof client);
    assert_int_equal(st, 200);
    assert_string_equal(client, "mlc-demo");
    assert_string_equal(json_string_value(json_object_get(j, "token_type")), "Bearer");
    assert_int_equal(json_integer_value(json_object_get(j, "expires_in")), 60);
    assert_string_equal(json_string_value(json_object_get(j, "scope")), "openid microprofile-jwt");
    char *bearer = NULL;
    assert_true(asprintf(&bearer, "Bearer %s",
                         json_string_value(json_object_get(j, "access_token"))) > 0);
    json_decref(j);

    client[0] = '\0';
    assert_int_equal(ifs_auth_check(a, bearer, T0 + 59999, client, sizeof client, why,
                                    sizeof why), 0);
    assert_string_equal(client, "mlc-demo");
    assert_int_equal(ifs_auth_check(a, bearer, T0 + 60000, client, sizeof client, why,
                                    sizeof why), -1);
    assert_non_null(strstr(why, "expired"));
    assert_int_equal(ifs_auth_check(a, NULL, T0, client, sizeof client, why, sizeof why), -1);
    assert_int_equal(ifs_auth_check(a, "Bearer nope", T0, client, sizeof client, why,
                                    sizeof why), -1);
    assert_non_null(strstr(why, "unknown"));

    /* HTTP Basic with url-encoded id and secret ("odd id" / "p&ss=") */
    j = token(a, FORM, "Basic b2RkK2lkOnAlMjZzcyUzRA==", "grant_type=client_credentials", &st,
              client, sizeof client);
    assert_int_equal(st, 200);
    assert_string_equal(client, "odd id");
    json_decref(j);
    assert_int_equal(ifs_auth_revoke_all(a), 2);
    assert_int_equal(ifs_auth_check(a, bearer, T0 + 1, client, sizeof client, why, sizeof why),
                     -1);
    free(bearer);
    ifs_auth_destroy(&a);
    assert_null(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_errors),
        cmocka_unit_test(test_token_lifecycle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
