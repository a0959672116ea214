/* Unit tests for the pure parts of mlc-webhook-gw: request routing (gw_hook), the
 * X-Hook-Signature check, delivery parsing and dedupe keys, the metrics exposition
 * (gw_metrics) and the per-thread cache of tenants' secrets (gw_cache). The Redis side is covered by tests/integration/test_webhook_gw.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "gw_cache.h"
#include "gw_hook.h"
#include "gw_metrics.h"

static void test_route(void **state)
{
    (void)state;
    char t[GWH_TENANT_MAX + 1];
    assert_int_equal(gwh_route("GET", "/healthz", false, t), GWH_HEALTHZ);
    assert_int_equal(gwh_route("GET", "/metrics", false, t), GWH_METRICS);
    assert_int_equal(gwh_route("POST", "/metrics", false, t), GWH_BAD_METHOD);
    assert_int_equal(gwh_route("POST", "/webhooks/acme-1", false, t), GWH_DELIVERY);
    assert_string_equal(t, "acme-1");
    assert_int_equal(gwh_route("POST", "/webhooks/acme_2.x", true, t), GWH_HANDSHAKE);
    assert_string_equal(t, "acme_2.x");
    assert_int_equal(gwh_route("GET", "/webhooks/acme", false, t), GWH_BAD_METHOD);
    assert_string_equal(t, "");
    /* Ids that could break a Redis key or a metric label are no endpoint at all. */
    assert_int_equal(gwh_route("POST", "/webhooks/", false, t), GWH_NOT_FOUND);
    assert_int_equal(gwh_route("POST", "/webhooks/a/b", false, t), GWH_NOT_FOUND);
    assert_int_equal(gwh_route("POST", "/webhooks/a}b", false, t), GWH_NOT_FOUND);
    assert_int_equal(gwh_route("POST", "/webhooks/a\"b", false, t), GWH_NOT_FOUND);
    char longp[128];
    snprintf(longp, sizeof longp, "/webhooks/%065d", 0);
    assert_int_equal(gwh_route("POST", longp, false, t), GWH_NOT_FOUND);
    snprintf(longp, sizeof longp, "/webhooks/%064d", 0);
    assert_int_equal(gwh_route("POST", longp, false, t), GWH_DELIVERY);
    assert_int_equal(gwh_route("POST", "/other", false, t), GWH_NOT_FOUND);
}

static void test_signature(void **state)
{
    (void)state;
    const char *body = "{\"events\":[]}";
    char sig[65];
    hmac_sha256_hex("s3cret", 6, body, strlen(body), sig);
    assert_true(gwh_signature_ok("s3cret", body, strlen(body), sig));
    char upper[65];
    for (int i = 0; i < 65; i++)
        upper[i] = (char)(sig[i] >= 'a' && sig[i] <= 'f' ? sig[i] - 32 : sig[i]);
    assert_true(gwh_signature_ok("s3cret", body, strlen(body), upper));
    /* Over the raw bytes: the same JSON with a space is another body. */
    assert_false(gwh_signature_ok("s3cret", "{\"events\": []}", 14, sig));
    assert_false(gwh_signature_ok("other", body, strlen(body), sig));
    assert_false(gwh_signature_ok("s3cret", body, strlen(body), NULL));
    assert_false(gwh_signature_ok("s3cret", body, strlen(body), ""));
    assert_false(gwh_signature_ok(NULL, body, strlen(body), sig));
    assert_false(gwh_signature_ok("", body, strlen(body), sig));
    char longer[80];
    snprintf(longer, sizeof longer, "%s00", sig);
    assert_false(gwh_signature_ok("s3cret", body, strlen(body), longer));
    sig[63] = sig[63] == '0' ? '1' : '0';
    assert_false(gwh_signature_ok("s3cret", body, strlen(body), sig));
}

static int parse(const char *body, gwh_batch_t *b)
{
    char err[256];
    return gwh_batch_parse(body, strlen(body), b, err, sizeof err);
}

static void test_parse(void **state)
{
    (void)state;
    gwh_batch_t b;
    assert_int_equal(parse("{\"events\":[]}", &b), 0);
    assert_int_equal(b.n, 0);
    gwh_batch_free(&b);
    const char *two = "{\"events\":[{\"action\":\"changed\",\"resource\":{\"gid\":\"42\",\"resource_type\":"
                      "\"task\"}},{\"resource\":{\"resource_type\":\"task\",\"gid\":\"42\"},"
                      "\"action\":\"changed\"},{\"action\":\"added\"}]}";
    assert_int_equal(parse(two, &b), 0);
    assert_int_equal(b.n, 3);
    assert_string_equal(b.ev[0].resource_gid, "42");
    assert_null(b.ev[2].resource_gid);
    /* Canonical JSON: key order does not matter for the dedupe key. */
    assert_string_equal(b.ev[0].json, "{\"action\":\"changed\",\"resource\":{\"gid\":\"42\","
                                      "\"resource_type\":\"task\"}}");
    assert_string_equal(b.ev[0].json, b.ev[1].json);
    assert_string_equal(b.ev[0].sha, b.ev[1].sha);
    assert_string_not_equal(b.ev[0].sha, b.ev[2].sha);
    char want[65];
    sha256_hex(b.ev[0].json, strlen(b.ev[0].json), want);
    assert_string_equal(b.ev[0].sha, want);
    char id[21];
    gwh_job_id(&b.ev[0], id);
    assert_int_equal(strlen(id), 20);
    assert_memory_equal(id, "evt:", 4);
    assert_memory_equal(id + 4, want, 16);
    gwh_batch_free(&b);
    gwh_batch_free(&b);   /* safe twice */

    const char *bad[] = { "", "{", "[]", "{\"events\":{}}", "{\"data\":[]}", "{\"events\":[1]}",
                          "{\"events\":[{}],\"events\":[]}", "{\"events\":[{},\"x\"]}", NULL };
    for (int i = 0; bad[i]; i++) {
        assert_int_equal(parse(bad[i], &b), -1);
        assert_int_equal(b.n, 0);
        assert_null(b.ev);
    }
}

static void test_metrics_render(void **state)
{
    (void)state;
    gwm_t *m = gwm_new(2);
    gwm_delivery(m, "acme", GWM_ACCEPTED);
    gwm_delivery(m, "acme", GWM_ACCEPTED);
    gwm_delivery(m, "beta", GWM_BAD_SIGNATURE);
    gwm_delivery(m, "gamma", GWM_ACCEPTED);   /* beyond max_tenants: dropped */
    gwm_enqueued(m, "acme", 5);
    gwm_latency(m, 100);        /* <= 0.00025 */
    gwm_latency(m, 3000);       /* <= 0.005 */
    gwm_latency(m, 9000000);    /* beyond every bound */
    char *text = gwm_render(m);
    assert_non_null(strstr(text, "\nmlc_webhook_deliveries_total{tenant=\"acme\",outcome=\"accepted\"} 2\n"));
    assert_non_null(strstr(text, "\nmlc_webhook_deliveries_total{tenant=\"acme\",outcome=\"duplicate\"} 0\n"));
    assert_non_null(strstr(text, "\nmlc_webhook_deliveries_total{tenant=\"beta\",outcome=\"bad_signature\"} 1\n"));
    assert_non_null(strstr(text, "outcome=\"handshake_refused\"} 0\n"));
    assert_null(strstr(text, "gamma"));
    assert_non_null(strstr(text, "\nmlc_webhook_events_enqueued_total{tenant=\"acme\"} 5\n"));
    assert_non_null(strstr(text, "# TYPE mlc_webhook_request_seconds histogram\n"));
    assert_non_null(strstr(text, "\nmlc_webhook_request_seconds_bucket{le=\"0.00025\"} 1\n"));
    assert_non_null(strstr(text, "\nmlc_webhook_request_seconds_bucket{le=\"0.0025\"} 1\n"));
    assert_non_null(strstr(text, "\nmlc_webhook_request_seconds_bucket{le=\"0.005\"} 2\n"));
    assert_non_null(strstr(text, "\nmlc_webhook_request_seconds_bucket{le=\"2.5\"} 2\n"));
    assert_non_null(strstr(text, "\nmlc_webhook_request_seconds_bucket{le=\"+Inf\"} 3\n"));
    assert_non_null(strstr(text, "\nmlc_webhook_request_seconds_sum 9.003100\n"));
    assert_non_null(strstr(text, "\nmlc_webhook_request_seconds_count 3\n"));
    free(text);
    gwm_destroy(&m);
    gwm_destroy(&m);
}

static void *count_many(void *arg)
{
    gwm_t *m = arg;
    char t[8];
    for (int i = 0; i < 20000; i++) {
        snprintf(t, sizeof t, "t%d", i % 4);
        gwm_delivery(m, t, GWM_DUPLICATE);
        gwm_latency(m, i);
    }
    return NULL;
}

static void test_metrics_threads(void **state)
{
    (void)state;
    gwm_t *m = gwm_new(16);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, count_many, m);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    char *text = gwm_render(m);
    for (int i = 0; i < 4; i++) {
        char line[96];
        snprintf(line, sizeof line, "{tenant=\"t%d\",outcome=\"duplicate\"} 20000\n", i);
        assert_non_null(strstr(text, line));
    }
    assert_non_null(strstr(text, "\nmlc_webhook_request_seconds_count 80000\n"));
    free(text);
    gwm_destroy(&m);
}

/* The secret cache: a hit only for the same tenant within max_age; put replaces (copies);
 * drop forgets only that tenant; tenants that share a slot evict each other. */
static void test_cache(void **state)
{
    (void)state;
    gwc_t *c = gwc_new(8);
    const char *sealed = NULL, *secret = NULL;
    assert_false(gwc_get(c, "acme", 1000, 500, &sealed, &secret));
    char buf[16];
    strcpy(buf, "s3cr3t");
    gwc_put(c, "acme", "v1:AAA", buf, 1000);
    buf[0] = 'X';   /* the cache holds its own copy */
    assert_true(gwc_get(c, "acme", 1500, 500, &sealed, &secret));
    assert_string_equal(sealed, "v1:AAA");
    assert_string_equal(secret, "s3cr3t");
    assert_false(gwc_get(c, "acme", 1501, 500, &sealed, &secret));   /* too old */
    assert_false(gwc_get(c, "acm", 1000, 500, &sealed, &secret));
    gwc_put(c, "acme", "v1:BBB", "other", 2000);
    assert_true(gwc_get(c, "acme", 2000, 500, &sealed, &secret));
    assert_string_equal(sealed, "v1:BBB");
    assert_string_equal(secret, "other");
    gwc_drop(c, "beta");   /* not cached: nothing happens to acme */
    assert_true(gwc_get(c, "acme", 2000, 500, &sealed, &secret));
    gwc_drop(c, "acme");
    assert_false(gwc_get(c, "acme", 2000, 500, &sealed, &secret));
    gwc_destroy(&c);
    assert_null(c);
    gwc_destroy(&c);

    c = gwc_new(1);   /* one slot: every tenant evicts the previous one */
    gwc_put(c, "a", "v1:A", "sa", 0);
    gwc_put(c, "b", "v1:B", "sb", 0);
    assert_false(gwc_get(c, "a", 0, 10, &sealed, &secret));
    assert_true(gwc_get(c, "b", 0, 10, &sealed, &secret));
    assert_string_equal(secret, "sb");
    gwc_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route),          cmocka_unit_test(test_signature),
        cmocka_unit_test(test_parse),          cmocka_unit_test(test_metrics_render),
        cmocka_unit_test(test_metrics_threads), cmocka_unit_test(test_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
