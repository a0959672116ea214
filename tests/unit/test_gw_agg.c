/* Tests of webhook-gw/gw_agg.c: the Prometheus samples of a model (pure) and the exposition
 * without Redis. Reading the model from Redis is tested end to end by
 * tests/integration/test_metrics.sh (against the simulators' counters). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "gw_agg.h"
#include "synclog.h"

static const char MODEL[] =
    "{\"generated_ms\":1,\"workers\":{\"poll\":2},"
    "\"tenants\":{\"acme\":{\"queues\":{\"poll\":1,\"write\":4,\"running\":2,\"retry\":3,\"dead\":5},"
    "\"tasks_mapped\":7,\"counters\":{\"records_seen\":1400,\"tasks_created\":700,\"jobs_retried\":9,"
    "\"writeback_applied\":2,\"writeback_audit_only\":6,\"x\":1},"
    "\"webhook\":{\"health\":\"inactive\",\"last_delivery_ms\":2000},"
    "\"flows\":{\"po\":{\"status\":\"running\",\"finished_ms\":3000,\"duration_ms\":1500,\"records\":500,"
    "\"changed\":20,\"error\":\"\",\"hist\":{\"counts\":[1,0,0,0,2,0,0,0,0,0,1],\"sum_ms\":2500}}}},"
    "\"broken\":{\"error\":\"cannot open\",\"flows\":{}}}}";

static char *render(const char *model_text)
{
    json_t *model = json_loads(model_text, 0, NULL);
    assert_non_null(model);
    prom_t *p = prom_new();
    gwa_metrics(model, p);
    json_decref(model);
    char *text = prom_render(p);
    prom_destroy(&p);
    return text;
}

static void has(const char *text, const char *line)
{
    char *want = malloc(strlen(line) + 3);
    sprintf(want, "\n%s\n", line);
    if (!strstr(text, want))
        fail_msg("missing line: %s", line);
    free(want);
}

static void test_samples(void **state)
{
    (void)state;
    char *t = render(MODEL);
    has(t, "mlc_workers_alive{service=\"poll\"} 2");
    has(t, "mlc_jobs{tenant=\"acme\",state=\"queued\"} 5");
    has(t, "mlc_jobs{tenant=\"acme\",state=\"dead\"} 5");
    has(t, "mlc_jobs_queued{tenant=\"acme\",service=\"write\"} 4");
    has(t, "mlc_records_synced_total{tenant=\"acme\"} 1400");
    has(t, "mlc_tasks_created_total{tenant=\"acme\"} 700");
    has(t, "mlc_tasks_updated_total{tenant=\"acme\"} 0");            /* absent: 0 */
    has(t, "mlc_jobs_retried_total{tenant=\"acme\"} 9");
    has(t, "mlc_writebacks_total{tenant=\"acme\",outcome=\"applied\"} 2");
    has(t, "mlc_writebacks_total{tenant=\"acme\",outcome=\"failed\"} 0");
    has(t, "mlc_writebacks_total{tenant=\"acme\",outcome=\"audit_only\"} 6");   /* unlisted outcome */
    has(t, "mlc_webhook_health{tenant=\"acme\",health=\"inactive\"} 1");
    has(t, "mlc_webhook_health{tenant=\"acme\",health=\"healthy\"} 0");
    has(t, "mlc_webhook_last_delivery_timestamp_seconds{tenant=\"acme\"} 2");
    has(t, "mlc_sync_last_duration_seconds{tenant=\"acme\",flow=\"po\"} 1.5");
    has(t, "mlc_sync_last_ok{tenant=\"acme\",flow=\"po\"} 1");
    has(t, "mlc_sync_running{tenant=\"acme\",flow=\"po\"} 1");
    has(t, "mlc_sync_duration_seconds_bucket{tenant=\"acme\",flow=\"po\",le=\"0.1\"} 1");
    has(t, "mlc_sync_duration_seconds_bucket{tenant=\"acme\",flow=\"po\",le=\"2.5\"} 3");
    has(t, "mlc_sync_duration_seconds_bucket{tenant=\"acme\",flow=\"po\",le=\"+Inf\"} 4");
    has(t, "mlc_sync_duration_seconds_sum{tenant=\"acme\",flow=\"po\"} 2.5");
    has(t, "# TYPE mlc_sync_duration_seconds histogram");
    has(t, "# TYPE mlc_tasks_created_total counter");
    assert_null(strstr(t, "broken"));   /* a tenant whose state could not be read has no series */
    free(t);
}

/* Without Redis only mlc_redis_up 0 is exposed. */
static void test_no_redis(void **state)
{
    (void)state;
    uint8_t key[MLC_KEY_LEN] = { 0 };
    char *t = gwa_render(NULL, key);
    assert_string_equal(t, "# HELP mlc_redis_up 1 when the gateway read the aggregate from Redis, "
                           "0 when Redis failed.\n# TYPE mlc_redis_up gauge\nmlc_redis_up 0\n");
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_samples),
        cmocka_unit_test(test_no_redis),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
