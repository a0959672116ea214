/* Unit tests for common/ionapi.c: every member of a .ionapi file, the messages for missing and
 * mistyped members, hostile values, unknown members kept, derived URLs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ionapi.h"

/* Shaped like a file downloaded from Infor's API gateway (values of the demo). */
static const char DEMO[] =
    "{\"ti\":\"DEMO_TST\",\"cn\":\"ml-connector demo\",\"dt\":\"12\","
    "\"ci\":\"DEMO_TST~mlc-demo\",\"cs\":\"demo-client-secret\","
    "\"iu\":\"http://127.0.0.1:18082\",\"pu\":\"http://127.0.0.1:18082/DEMO_TST/as/\","
    "\"oa\":\"authorization.oauth2\",\"ot\":\"token.oauth2\",\"or\":\"revoke_token.oauth2\","
    "\"ev\":\"U479658943\",\"v\":\"1.0\",\"saak\":\"DEMO_TST#svc-access-key\","
    "\"sask\":\"demo-service-secret\"}";

static json_t *load(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (!v)
        fail_msg("bad test JSON: %s", jerr.text);
    return v;
}

static void test_every_member(void **state)
{
    (void)state;
    json_t *obj = load(DEMO);
    ionapi_t a;
    char err[256] = "";
    assert_int_equal(ionapi_parse(obj, "erp.ionapi", &a, err, sizeof err), 0);
    assert_string_equal(a.ti, "DEMO_TST");
    assert_string_equal(a.cn, "ml-connector demo");
    assert_string_equal(a.ci, "DEMO_TST~mlc-demo");
    assert_string_equal(a.cs, "demo-client-secret");
    assert_string_equal(a.iu, "http://127.0.0.1:18082");
    assert_string_equal(a.pu, "http://127.0.0.1:18082/DEMO_TST/as/");
    assert_string_equal(a.oa, "authorization.oauth2");
    assert_string_equal(a.ot, "token.oauth2");
    assert_string_equal(a.or_path, "revoke_token.oauth2");
    assert_string_equal(a.saak, "DEMO_TST#svc-access-key");
    assert_string_equal(a.sask, "demo-service-secret");
    /* Unknown members are kept as given. */
    assert_true(json_equal(a.raw, obj));
    assert_string_equal(json_string_value(json_object_get(a.raw, "ev")), "U479658943");

    char *u = ionapi_token_url(&a);
    assert_string_equal(u, "http://127.0.0.1:18082/DEMO_TST/as/token.oauth2");
    free(u);
    u = ionapi_revoke_url(&a);
    assert_string_equal(u, "http://127.0.0.1:18082/DEMO_TST/as/revoke_token.oauth2");
    free(u);
    u = ionapi_api_base(&a);
    assert_string_equal(u, "http://127.0.0.1:18082/DEMO_TST");
    free(u);
    ionapi_free(&a);
    assert_null(a.raw);
    ionapi_free(&a); /* safe twice */
    json_decref(obj);
}

static void test_optional_members_and_joins(void **state)
{
    (void)state;
    json_t *obj = load(DEMO);
    json_object_del(obj, "or");
    json_object_del(obj, "oa");
    json_object_del(obj, "cn");
    json_object_del(obj, "dt");
    json_object_set_new(obj, "pu", json_string("https://sso.example.com/ACME/as"));  /* no '/' */
    json_object_set_new(obj, "ot", json_string("/token.oauth2"));
    json_object_set_new(obj, "iu", json_string("https://ion.example.com/"));
    json_object_set_new(obj, "v", json_integer(2)); /* unknown members may have any type */
    ionapi_t a;
    char err[256] = "";
    assert_int_equal(ionapi_parse(obj, "x", &a, err, sizeof err), 0);
    assert_null(a.or_path);
    assert_null(a.oa);
    assert_null(a.cn);
    assert_null(ionapi_revoke_url(&a));
    char *u = ionapi_token_url(&a);
    assert_string_equal(u, "https://sso.example.com/ACME/as/token.oauth2");
    free(u);
    u = ionapi_api_base(&a);
    assert_string_equal(u, "https://ion.example.com/DEMO_TST");
    free(u);
    ionapi_free(&a);
    json_decref(obj);
}

typedef struct {
    const char *member;
    const char *value;  /* JSON, NULL deletes */
    const char *error;
} bad_t;

static void test_messages(void **state)
{
    (void)state;
    const bad_t cases[] = {
        { "ti", NULL, "erp.ionapi.ti: missing" },
        { "ci", NULL, "erp.ionapi.ci: missing" },
        { "cs", NULL, "erp.ionapi.cs: missing" },
        { "iu", NULL, "erp.ionapi.iu: missing" },
        { "pu", NULL, "erp.ionapi.pu: missing" },
        { "ot", NULL, "erp.ionapi.ot: missing" },
        { "saak", NULL, "erp.ionapi.saak: missing" },
        { "sask", NULL, "erp.ionapi.sask: missing" },
        { "ci", "5", "erp.ionapi.ci: must be a string (got 5)" },
        { "ti", "null", "erp.ionapi.ti: must be a string (got null)" },
        { "iu", "[\"x\"]", "erp.ionapi.iu: must be a string (got an array)" },
        { "or", "false", "erp.ionapi.or: must be a string (got a boolean)" },
        { "cn", "{}", "erp.ionapi.cn: must be a string (got an object)" },
        { "oa", "1.5", "erp.ionapi.oa: must be a string (got a real number)" },
        { "saak", "\"\"", "erp.ionapi.saak: must not be empty" },
        /* Secrets: never echoed, whatever their type. */
        { "cs", "12345678", "erp.ionapi.cs: must be a string" },
        { "sask", "true", "erp.ionapi.sask: must be a string" },
        /* Hostile values. */
        { "iu", "\"file:///etc/passwd\"", "erp.ionapi.iu: must be an http(s) URL (got \"file:///etc/passwd\")" },
        { "pu", "\"ftp://x/\"", "erp.ionapi.pu: must be an http(s) URL (got \"ftp://x/\")" },
        { "pu", "\"http://\"", "erp.ionapi.pu: must be an http(s) URL (got \"http://\")" },
        { "iu", "\"https:///x\"", "erp.ionapi.iu: must be an http(s) URL (got \"https:///x\")" },
        { "pu", "\"http://x/a b\"", "erp.ionapi.pu: must not contain spaces or control characters (got \"http://x/a b\")" },
        { "ot", "\"token\\r\\nX-Evil: 1\"", "erp.ionapi.ot: must not contain spaces or control characters (got \"token\r\nX-Evil: 1\")" },
        { "ti", "\"..\"", "erp.ionapi.ti: must consist of letters, digits and _-.~ (got \"..\")" },
        { "ti", "\"A/B\"", "erp.ionapi.ti: must consist of letters, digits and _-.~ (got \"A/B\")" },
        { "ti", "\"A?x=1\"", "erp.ionapi.ti: must consist of letters, digits and _-.~ (got \"A?x=1\")" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *obj = load(DEMO);
        if (cases[i].value)
            json_object_set_new(obj, cases[i].member, load(cases[i].value));
        else
            json_object_del(obj, cases[i].member);
        ionapi_t a;
        char err[256] = "";
        int rc = ionapi_parse(obj, "erp.ionapi", &a, err, sizeof err);
        if (rc != -1 || strcmp(err, cases[i].error) != 0)
            fail_msg("%s=%s: rc %d \"%s\", want \"%s\"", cases[i].member,
                     cases[i].value ? cases[i].value : "(deleted)", rc, err, cases[i].error);
        assert_null(a.raw);
        assert_null(a.ti);
        json_decref(obj);
    }
    ionapi_t a;
    char err[256];
    json_t *arr = load("[]");
    assert_int_equal(ionapi_parse(arr, "demo.ionapi", &a, err, sizeof err), -1);
    assert_string_equal(err, "demo.ionapi: must be a JSON object");
    json_decref(arr);

    /* Oversized values are refused without being echoed. */
    char *big = malloc(IONAPI_MAX_VALUE + 2);
    memset(big, 'a', IONAPI_MAX_VALUE + 1);
    big[IONAPI_MAX_VALUE + 1] = '\0';
    json_t *obj = load(DEMO);
    json_object_set_new(obj, "cn", json_string(big));
    assert_int_equal(ionapi_parse(obj, "erp.ionapi", &a, err, sizeof err), -1);
    assert_string_equal(err, "erp.ionapi.cn: is too long");
    json_decref(obj);
    free(big);
}

static void test_identity(void **state)
{
    (void)state;
    json_t *obj = load(DEMO);
    ionapi_t a, b;
    char err[256];
    assert_int_equal(ionapi_parse(obj, "a", &a, err, sizeof err), 0);
    /* Display name, gateway URL and unknown members do not change who the token is for. */
    json_object_set_new(obj, "cn", json_string("renamed"));
    json_object_set_new(obj, "iu", json_string("https://other-gateway.example.com"));
    json_object_set_new(obj, "ev", json_string("E2"));
    json_object_del(obj, "or");
    assert_int_equal(ionapi_parse(obj, "b", &b, err, sizeof err), 0);
    assert_int_equal(ionapi_identity_differs(&a, &b), 0);
    ionapi_free(&b);
    const char *const identity[] = { "ti", "ci", "cs", "pu", "ot", "saak", "sask" };
    for (size_t i = 0; i < sizeof identity / sizeof identity[0]; i++) {
        json_t *changed = load(DEMO);
        json_object_set_new(changed, identity[i], json_string(i == 0 ? "OTHER" : "http://changed/"));
        if (ionapi_parse(changed, "b", &b, err, sizeof err) != 0)
            fail_msg("%s: %s", identity[i], err);
        if (!ionapi_identity_differs(&a, &b))
            fail_msg("a change of %s must count", identity[i]);
        ionapi_free(&b);
        json_decref(changed);
    }
    ionapi_free(&a);
    json_decref(obj);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_member),
        cmocka_unit_test(test_optional_members_and_joins),
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_identity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
