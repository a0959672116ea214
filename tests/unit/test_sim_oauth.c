/* Unit tests for sim/sim_oauth.c: form fields, HTTP Basic client credentials, bearer tokens
 * and the OAuth error body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sim_oauth.h"

static void test_oauth(void **state)
{
    (void)state;
    assert_true(sim_oauth_is_form("application/x-www-form-urlencoded"));
    assert_true(sim_oauth_is_form("Application/X-WWW-Form-Urlencoded; charset=UTF-8"));
    assert_false(sim_oauth_is_form("application/x-www-form-urlencodedX"));
    assert_false(sim_oauth_is_form(NULL));
    char *v = sim_oauth_form_field("a=1&username=DEMO_TST%23svc&b=x+y", "username");
    assert_string_equal(v, "DEMO_TST#svc");
    free(v);
    v = sim_oauth_form_field("a=1&b=x+y", "b");
    assert_string_equal(v, "x y");
    free(v);
    assert_null(sim_oauth_form_field("ab=1", "a"));
    assert_null(sim_oauth_form_field("", "a"));
    char *id = NULL, *secret = NULL;
    /* "DEMO_TST~mlc-demo:s%3Dx" */
    assert_int_equal(sim_oauth_basic("Basic REVNT19UU1R+bWxjLWRlbW86cyUzRHg=", &id, &secret), 0);
    assert_string_equal(id, "DEMO_TST~mlc-demo");
    assert_string_equal(secret, "s=x");
    free(id);
    free(secret);
    assert_int_equal(sim_oauth_basic("Basic !!!", &id, &secret), -1);
    assert_int_equal(sim_oauth_basic("Basic bm9jb2xvbg==", &id, &secret), -1);   /* "nocolon" */
    assert_int_equal(sim_oauth_basic("Bearer x", &id, &secret), -1);
    assert_string_equal(sim_oauth_bearer("Bearer  abc"), "abc");
    assert_string_equal(sim_oauth_bearer("bearer abc"), "abc");
    assert_null(sim_oauth_bearer("Bearer "));
    assert_null(sim_oauth_bearer("Basic abc"));
    assert_null(sim_oauth_bearer(NULL));
    char *e = sim_oauth_error("invalid_grant", "bad \"x\"");
    assert_string_equal(e, "{\"error\":\"invalid_grant\",\"error_description\":\"bad \\\"x\\\"\"}");
    free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oauth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
