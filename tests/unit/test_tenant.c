/* Tests of common/tenant.c on a real redis-server: secrets sealed at rest, bound to the
 * tenant, opened only with the right master key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "fixture.h"
#include "keys.h"
#include "tenant.h"
#include "util.h"

static fx_redis_t rs;
static rds_t *R;
static uint8_t KEY[MLC_KEY_LEN], OTHER[MLC_KEY_LEN];

static int setup(void **state)
{
    memset(KEY, 7, sizeof KEY);
    memset(OTHER, 9, sizeof OTHER);
    return fx_redis_open(&rs, &R);
}

static int teardown(void **state)
{
    fx_redis_close(&rs, &R);
    return 0;
}

static json_t *tenant_json(const char *id)
{
    return json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:s}, s:{s:s, s:s, s:s, s:s}}", "id", id, "erp",
                     "type", "ifs", "base_url", "http://127.0.0.1:1", "client_id", "c",
                     "client_secret", "s3cret-erp", "company", "10", "asana", "base_url",
                     "http://127.0.0.1:2/api/1.0", "token", "pat-s3cret", "workspace", "1",
                     "project", "2");
}

static void test_roundtrip_and_sealed_at_rest(void **state)
{
    json_t *t = tenant_json("acme");
    char err[256];
    assert_int_equal(tenant_store(R, KEY, t, err, sizeof err), 0);
    redisReply *rep = rds_cmd(R, "HGET mlc:{acme}:tenant config");
    assert_non_null(rep);
    assert_int_equal(rep->type, REDIS_REPLY_STRING);
    assert_null(strstr(rep->str, "s3cret"));
    assert_non_null(strstr(rep->str, "\"v1:"));
    freeReplyObject(rep);

    tenant_cfg_t cfg;
    assert_int_equal(tenant_load(R, KEY, "acme", &cfg, err, sizeof err), 0);
    assert_string_equal(cfg.asana_token, "pat-s3cret");
    assert_string_equal(json_string_value(json_object_get(cfg.erp, "client_secret")), "s3cret-erp");
    assert_true(cfg.nflows >= 1);
    tenant_cfg_free(&cfg);

    int n;
    char **ids = tenant_ids(R, &n);
    assert_int_equal(n, 1);
    assert_string_equal(ids[0], "acme");
    tenant_ids_free(ids, n);
    json_decref(t);
}

static void test_wrong_key_and_moved_secret_fail(void **state)
{
    json_t *t = tenant_json("beta");
    char err[256];
    assert_int_equal(tenant_store(R, KEY, t, err, sizeof err), 0);
    tenant_cfg_t cfg;
    assert_int_equal(tenant_load(R, OTHER, "beta", &cfg, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot open secret"));

    /* A sealed secret copied into another tenant does not open there (AAD binds the tenant). */
    json_t *g = tenant_json("gamma");
    assert_int_equal(tenant_store(R, KEY, g, err, sizeof err), 0);
    redisReply *rep = rds_cmd(R, "HGET mlc:{beta}:tenant config");
    json_t *beta = json_loads(rep->str, 0, NULL);
    freeReplyObject(rep);
    json_object_set_new(beta, "id", json_string("gamma"));
    char *text = json_dumps(beta, JSON_COMPACT);
    rep = rds_cmd(R, "HSET mlc:{gamma}:tenant config %s", text);
    freeReplyObject(rep);
    assert_int_equal(tenant_load(R, KEY, "gamma", &cfg, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot open secret"));
    free(text);
    json_decref(beta);
    json_decref(g);
    json_decref(t);
}

static void test_invalid_config_is_refused_with_member(void **state)
{
    json_t *t = tenant_json("delta");
    json_object_del(json_object_get(t, "erp"), "client_secret");
    char err[256];
    assert_int_equal(tenant_store(R, KEY, t, err, sizeof err), -1);
    assert_non_null(strstr(err, "erp.client_secret"));
    tenant_cfg_t cfg;
    assert_int_equal(tenant_load(R, KEY, "delta", &cfg, err, sizeof err), -1);
    assert_non_null(strstr(err, "not found"));
    json_decref(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_and_sealed_at_rest),
        cmocka_unit_test(test_wrong_key_and_moved_secret_fail),
        cmocka_unit_test(test_invalid_config_is_refused_with_member),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
