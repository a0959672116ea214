/* Tests of webhook-gw/gw_status.c: routing, the token check, and the page built from a model
 * (pure; the served page is tested end to end in tests/integration/test_status_page.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "gw_status.h"

static void test_route(void **state)
{
    (void)state;
    assert_int_equal(gst_route("GET", "/status"), GST_HTML);
    assert_int_equal(gst_route("GET", "/status.json"), GST_JSON);
    assert_int_equal(gst_route("POST", "/status"), GST_NONE);
    assert_int_equal(gst_route("GET", "/status/"), GST_NONE);
    assert_int_equal(gst_route("GET", "/statusx"), GST_NONE);
}

/* Off without a configured token; the bearer header or the query argument opens it. */
static void test_auth(void **state)
{
    (void)state;
    assert_int_equal(gst_auth(NULL, "Bearer x", "x"), 404);
    assert_int_equal(gst_auth("", "Bearer ", ""), 404);
    assert_int_equal(gst_auth("s3cret", NULL, NULL), 401);
    assert_int_equal(gst_auth("s3cret", "Bearer s3cre", NULL), 401);
    assert_int_equal(gst_auth("s3cret", "Bearer s3cret!", NULL), 401);
    assert_int_equal(gst_auth("s3cret", "Basic s3cret", NULL), 401);
    assert_int_equal(gst_auth("s3cret", "Bearer s3cret", NULL), 0);
    assert_int_equal(gst_auth("s3cret", "bearer s3cret", NULL), 0);
    assert_int_equal(gst_auth("s3cret", NULL, "s3cret"), 0);
    assert_int_equal(gst_auth("s3cret", NULL, "wrong"), 401);
    assert_int_equal(gst_auth("s3cret", "Bearer wrong", "s3cret"), 401);   /* the header wins */
}

static const char MODEL[] =
    "{\"generated_ms\":1795361400000,\"workers\":{\"poll\":2,\"write\":3},"
    "\"tenants\":{\"acme\":{\"name\":\"Acme <Corp>\",\"erp\":\"ifs\","
    "\"queues\":{\"poll\":1,\"write\":4,\"running\":2,\"retry\":0,\"dead\":5},\"tasks_mapped\":700,"
    "\"counters\":{\"records_seen\":1400,\"tasks_created\":700,\"writeback_failed\":1},"
    "\"webhook\":{\"health\":\"error\",\"gid\":\"9\",\"last_delivery_ms\":0,\"checked_ms\":1795361340000,"
    "\"last_error\":\"410 \\\"gone\\\"\"},"
    "\"flows\":{\"purchase_orders\":{\"status\":\"ok\",\"finished_ms\":1795361280000,\"duration_ms\":1500,"
    "\"records\":500,\"changed\":20,\"error\":\"\",\"history\":[{\"finished_ms\":1795361000000,\"records\":500,"
    "\"changed\":500,\"duration_ms\":900,\"ok\":true},{\"finished_ms\":1795361280000,\"records\":40,"
    "\"changed\":20,\"duration_ms\":1500,\"ok\":false}]},"
    "\"invoices\":{\"status\":\"\",\"finished_ms\":0,\"records\":0,\"changed\":0,\"error\":\"<b>bad</b>\","
    "\"history\":[]}}}}}";

/* The page: the numbers with their data-k keys, text escaped, relative times, no script and
 * nothing loaded from elsewhere. */
static void test_html(void **state)
{
    (void)state;
    json_t *model = json_loads(MODEL, 0, NULL);
    assert_non_null(model);
    char *html = gst_html(model);
    json_decref(model);
    assert_non_null(strstr(html, "<!DOCTYPE html>"));
    assert_non_null(strstr(html, "Acme &lt;Corp&gt;"));
    assert_null(strstr(html, "Acme <Corp>"));
    assert_non_null(strstr(html, "&lt;b&gt;bad&lt;/b&gt;"));
    assert_non_null(strstr(html, "410 &quot;gone&quot;"));
    assert_non_null(strstr(html, "data-k=\"tasks_mapped\">700<"));
    assert_non_null(strstr(html, "data-k=\"records_synced\">1400<"));
    assert_non_null(strstr(html, "data-k=\"dead\">5<"));
    assert_non_null(strstr(html, "data-k=\"failed_syncs\">1<"));          /* invoices */
    assert_non_null(strstr(html, "data-k=\"failures\">7<"));              /* 5 dead + 1 + 1 */
    assert_non_null(strstr(html, "data-k=\"queue_write\">4<"));
    assert_non_null(strstr(html, "data-k=\"records\">500<"));
    assert_non_null(strstr(html, "data-k=\"webhook\">webhook error<"));
    assert_non_null(strstr(html, "data-k=\"workers_write\">3<"));
    assert_non_null(strstr(html, "(2 min ago)"));                         /* purchase_orders */
    assert_non_null(strstr(html, "2026-11-22 "));
    assert_non_null(strstr(html, "data-runs=\"2\""));
    assert_non_null(strstr(html, "no sync run recorded yet"));
    assert_null(strstr(html, "<script"));
    assert_null(strstr(html, "src="));
    assert_null(strstr(html, "href="));
    free(html);
}

/* The chart: one group per run with its tooltip, the failed run in red, bars inside the box. */
static void test_chart(void **state)
{
    (void)state;
    json_t *h = json_loads("[{\"finished_ms\":0,\"records\":10,\"changed\":0,\"ok\":true},"
                           "{\"finished_ms\":60000,\"records\":40,\"changed\":40,\"ok\":false}]", 0, NULL);
    char *svg = gst_chart(h, 400, 100);
    json_decref(h);
    assert_non_null(strstr(svg, "width=\"400\" height=\"100\""));
    assert_non_null(strstr(svg, "10 records, 0 changed"));
    assert_non_null(strstr(svg, "40 records, 40 changed, 0 ms, failed"));
    assert_non_null(strstr(svg, "#ff8182"));
    assert_non_null(strstr(svg, ">40</text>"));     /* the y axis maximum */
    assert_non_null(strstr(svg, ">00:01</text>"));  /* the last run's time */
    assert_non_null(strstr(svg, "</svg>"));
    free(svg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route),
        cmocka_unit_test(test_auth),
        cmocka_unit_test(test_html),
        cmocka_unit_test(test_chart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
