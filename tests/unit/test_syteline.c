/* Tests of workers/erp/syteline.c. Pure helpers: IDO date conversions both ways, the load
 * filter and URL on the default flows of the syteline profile, bookmark paging decisions, date
 * members of a row made ISO for record_map. The driver (ERP_SYTELINE): against a scripted IDO
 * load over real HTTP (common/httpd.c) and a real redis-server: bookmark paging, the Mongoose
 * header, the watermark filter, _ItemId as etag, Success false, 503 with Retry-After, 401 once,
 * a server that never ends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "erp.h"
#include "fixture.h"
#include "httpd.h"
#include "record.h"
#include "syteline.h"
#include "util.h"

#define BASE "http://127.0.0.1:18082/DEMO_CSI"

static tenant_cfg_t tenant;

/* The demo SyteLine tenant with flows as given (NULL: defaults), ION URLs on port. */
static void parse_tenant_on(int port, const char *flows)
{
    char text[4096];
    snprintf(text, sizeof text,
             "{\"id\":\"csi\",\"erp\":{\"type\":\"syteline\",\"mongoose_config\":\"DEMO_SITE\","
             "\"ionapi\":{\"ti\":\"DEMO_CSI\",\"ci\":\"c\",\"cs\":\"s\","
             "\"iu\":\"http://127.0.0.1:%d\",\"pu\":\"http://127.0.0.1:%d/DEMO_CSI/as/\","
             "\"ot\":\"token.oauth2\",\"saak\":\"a\",\"sask\":\"b\"}},"
             "\"asana\":{\"base_url\":\"http://a\",\"token\":\"t\",\"workspace\":\"1\","
             "\"project\":\"2\"}%s%s}", port, port, flows ? ",\"flows\":" : "", flows ? flows : "");
    json_t *obj = json_loads(text, 0, NULL);
    char err[256];
    if (tenant_cfg_parse(obj, &tenant, err, sizeof err) != 0)
        fail_msg("tenant: %s", err);
    json_decref(obj);
}

static void parse_tenant(const char *flows)
{
    parse_tenant_on(18082, flows);
}

static void expect_str(char *got, const char *want)
{
    if (!want) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void test_dates(void **state)
{
    expect_str(syteline_ido_date("2026-01-15T10:20:30Z"), "20260115 10:20:30.000");
    expect_str(syteline_ido_date("2026-01-15T10:20:30.250+01:00"), "20260115 09:20:30.250");
    expect_str(syteline_ido_date("2026-01-15"), "20260115 00:00:00.000");
    expect_str(syteline_ido_date("15.01.2026"), NULL);
    expect_str(syteline_ido_date(NULL), NULL);

    expect_str(syteline_iso_date("20260115 10:20:30.250"), "2026-01-15T10:20:30.250Z");
    expect_str(syteline_iso_date("20260115 10:20:30.5"), "2026-01-15T10:20:30.500Z");
    expect_str(syteline_iso_date("20260115 10:20:30.1234"), "2026-01-15T10:20:30.123Z");
    expect_str(syteline_iso_date("20260115 10:20:30"), "2026-01-15T10:20:30.000Z");
    expect_str(syteline_iso_date("20260115"), "2026-01-15T00:00:00.000Z");
    expect_str(syteline_iso_date("2026-01-15T10:20:30Z"), NULL);
    expect_str(syteline_iso_date("20261315 10:20:30.000"), NULL);
    expect_str(syteline_iso_date("20260115 10:20"), NULL);
    expect_str(syteline_iso_date("20260115 10:20:30."), NULL);
    expect_str(syteline_iso_date("20260115 10:20:30.000 "), NULL);
    expect_str(syteline_iso_date(""), NULL);
}

static void test_row_dates_feed_record_map(void **state)
{
    parse_tenant(NULL);
    const flow_cfg_t *po = tenant_flow(&tenant, "purchase_orders");
    json_t *row = json_loads("{\"PoNum\":\"PO00004001\",\"VendNum\":\"V1\",\"PoTotal\":\"1250.50\","
                             "\"OrderDate\":\"20260110 00:00:00.000\",\"RecordDate\":\"20260115 10:20:30.250\","
                             "\"Note\":\"20260101 00:00:00.000\",\"_ItemId\":\"PBT=[po] po.ID=[1]\"}", 0, NULL);
    syteline_row_dates(row, po->map);
    assert_string_equal(json_string_value(json_object_get(row, "OrderDate")), "2026-01-10T00:00:00.000Z");
    assert_string_equal(json_string_value(json_object_get(row, "RecordDate")), "2026-01-15T10:20:30.250Z");
    /* Unmapped members are left alone. */
    assert_string_equal(json_string_value(json_object_get(row, "Note")), "20260101 00:00:00.000");
    record_t rec;
    char err[256];
    assert_int_equal(record_map(row, po->map, po->kind, &rec, err, sizeof err), 0);
    assert_string_equal(rec.doc_date, "2026-01-10");
    assert_string_equal(rec.modified_at, "2026-01-15T10:20:30.250Z");
    assert_string_equal(rec.amount, "1250.5");
    record_free(&rec);
    json_decref(row);
    tenant_cfg_free(&tenant);
}

static void test_filter_and_url(void **state)
{
    parse_tenant(NULL);
    const flow_cfg_t *po = tenant_flow(&tenant, "purchase_orders");
    expect_str(syteline_filter(po, NULL), "");
    expect_str(syteline_filter(po, "2026-01-15T10:00:00Z"), "RecordDate >= '20260115 10:00:00.000'");
    expect_str(syteline_filter(po, "yesterday"), NULL);
    expect_str(syteline_page_url(BASE, po, NULL, NULL, 200),
               BASE "/CSI/IDORequestService/ido/load/SLPos?properties=PoNum%2CRecordDate%2CVendNum"
                    "%2CVendorName%2CPoTotal%2CCurrCode%2CStat%2COrderDate&orderby=PoNum&recordcap=200");
    expect_str(syteline_page_url(BASE, po, "2026-01-15T10:00:00Z", "<B>1 2</B>", 200),
               BASE "/CSI/IDORequestService/ido/load/SLPos?properties=PoNum%2CRecordDate%2CVendNum"
                    "%2CVendorName%2CPoTotal%2CCurrCode%2CStat%2COrderDate"
                    "&filter=RecordDate%20%3E%3D%20%2720260115%2010%3A00%3A00.000%27"
                    "&orderby=PoNum&recordcap=200&loadtype=NEXT&bookmark=%3CB%3E1%202%3C%2FB%3E");
    expect_str(syteline_page_url(BASE, po, "not a date", NULL, 200), NULL);
    tenant_cfg_free(&tenant);

    /* A flow's own filter, properties and orderby. */
    parse_tenant("[{\"name\":\"purchase_orders\",\"filter\":\"Stat = 'O'\",\"properties\":\"PoNum,Stat\","
                 "\"orderby\":\"PoNum DESC\",\"page_size\":5}]");
    po = tenant_flow(&tenant, "purchase_orders");
    expect_str(syteline_filter(po, NULL), "Stat = 'O'");
    expect_str(syteline_filter(po, "2026-01-15T10:00:00Z"),
               "(Stat = 'O') AND RecordDate >= '20260115 10:00:00.000'");
    expect_str(syteline_page_url(BASE, po, NULL, NULL, po->page_size),
               BASE "/CSI/IDORequestService/ido/load/SLPos?properties=PoNum%2CStat"
                    "&filter=Stat%20%3D%20%27O%27&orderby=PoNum%20DESC&recordcap=5");
    tenant_cfg_free(&tenant);
}

static void test_next(void **state)
{
    assert_int_equal(syteline_next(0, NULL, NULL), 0);
    assert_int_equal(syteline_next(0, "b1", NULL), 0);
    assert_int_equal(syteline_next(1, "b1", NULL), 1);
    assert_int_equal(syteline_next(1, "b2", "b1"), 1);
    assert_int_equal(syteline_next(1, "b1", "b1"), -1);  /* same bookmark: would loop */
    assert_int_equal(syteline_next(1, NULL, "b1"), -1);
    assert_int_equal(syteline_next(1, "", NULL), -1);
}


/* ---- the driver against a scripted server ------------------------------------------------ */

#define NPOS 7

static struct {
    pthread_mutex_t mu;
    const char *mode;        /* "ok", "401once", "fail", "503", "loop" */
    int         tokens, loads;
    char        filter[128]; /* filter of the first load */
    char        marks[16][16]; /* bookmark of each load ("-" = none) */
} srv = { .mu = PTHREAD_MUTEX_INITIALIZER };

static fx_redis_t rs;
static httpd_t *httpd;
static uint8_t KEY[MLC_KEY_LEN];

static void ido_handler(void *ud, const httpd_req_t *req, httpd_resp_t *resp)
{
    pthread_mutex_lock(&srv.mu);
    if (strcmp(httpd_path(req), "/DEMO_CSI/as/token.oauth2") == 0) {
        char *body = xasprintf("{\"access_token\":\"tok-%d\",\"expires_in\":7200}", ++srv.tokens);
        httpd_resp_json(resp, 200, body);
        free(body);
        pthread_mutex_unlock(&srv.mu);
        return;
    }
    int n = srv.loads++;
    const char *mark = httpd_query(req, "bookmark"), *loadtype = httpd_query(req, "loadtype");
    const char *filter = httpd_query(req, "filter");
    if (n == 0)
        snprintf(srv.filter, sizeof srv.filter, "%s", filter ? filter : "-");
    if (n < 16)
        snprintf(srv.marks[n], sizeof srv.marks[0], "%s", mark ? mark : "-");
    const char *config = httpd_header(req, "X-Infor-MongooseConfig");
    const char *m = srv.mode;
    if (!config || strcmp(config, "DEMO_SITE") != 0 || strcmp(httpd_path(req),
            "/DEMO_CSI/CSI/IDORequestService/ido/load/SLPos") != 0 ||
            (mark && (!loadtype || strcmp(loadtype, "NEXT") != 0))) {
        httpd_resp_json(resp, 400, "{\"Message\":\"bad request\"}");
    } else if (strcmp(m, "401once") == 0 && n == 1) {
        httpd_resp_json(resp, 401, "{}");
    } else if (strcmp(m, "503") == 0) {
        httpd_resp_body(resp, 503, "text/html", "<html>busy</html>", 17);
        httpd_resp_header(resp, "Retry-After", "3");
    } else if (strcmp(m, "fail") == 0) {
        httpd_resp_json(resp, 200, "{\"Items\":[],\"Bookmark\":null,\"MoreRowsExist\":false,"
                                   "\"Success\":false,\"Message\":\"Property Foo not found\"}");
    } else {
        int cap = atoi(httpd_query(req, "recordcap"));
        int from = mark ? atoi(mark + 3) : 1;
        json_t *items = json_array();
        int i = from;
        for (; i <= NPOS && i < from + cap; i++) {
            char num[16], date[48], id[96];
            snprintf(num, sizeof num, "PO%08d", 4000 + i);
            snprintf(date, sizeof date, "202601%02d 10:00:00.%03d", 10 + i, i);
            snprintf(id, sizeof id, "PBT=[po] po.ID=[%d] po.DT=[%s]", i, date);
            json_array_append_new(items, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                "PoNum", num, "VendNum", "V100", "VendorName", "Vendor", "PoTotal", "99.90",
                "CurrCode", "USD", "Stat", "O", "OrderDate", "20260105 00:00:00.000",
                "RecordDate", date, "_ItemId", id));
        }
        bool more = strcmp(m, "loop") == 0 || i <= NPOS;
        char next[16];
        snprintf(next, sizeof next, "<B>%d", strcmp(m, "loop") == 0 ? from : i);
        json_t *doc = json_pack("{s:o, s:s, s:b, s:b, s:n}", "Items", items, "Bookmark", next,
                                "MoreRowsExist", more, "Success", 1, "Message");
        char *text = json_dumps(doc, JSON_COMPACT);
        httpd_resp_json(resp, 200, text);
        free(text);
        json_decref(doc);
    }
    pthread_mutex_unlock(&srv.mu);
}

static int driver_setup(void **state)
{
    memset(KEY, 9, sizeof KEY);
    char err[256];
    httpd_opts_t o = { .port = 0, .threads = 2, .handler = ido_handler };
    if (fx_redis_start(&rs) != 0 || !(httpd = httpd_start(&o, err, sizeof err)))
        return -1;
    return 0;
}

static int driver_teardown(void **state)
{
    httpd_stop(&httpd);
    fx_redis_stop(&rs);
    return 0;
}

typedef struct {
    record_t recs[16];
    int      n;
} got_t;

static int collect(void *ud, record_t *rec)
{
    got_t *g = ud;
    if (g->n < 16)
        g->recs[g->n++] = *rec;
    else
        record_free(rec);
    free(rec);
    return 0;
}

static void got_free(got_t *g)
{
    for (int i = 0; i < g->n; i++)
        record_free(&g->recs[i]);
    g->n = 0;
}

static void run_read(const char *flows, const char *mode, const char *since, got_t *got,
                     erp_result_t *res)
{
    pthread_mutex_lock(&srv.mu);
    srv.mode = mode;
    srv.tokens = srv.loads = 0;
    pthread_mutex_unlock(&srv.mu);
    redisReply *rep = fx_redis_cmd(&rs, "FLUSHALL");
    freeReplyObject(rep);
    parse_tenant_on(httpd_port(httpd), flows);
    char err[256];
    rds_t *r = rds_connect(rs.url, err, sizeof err);
    http_client_t *http = http_client_new();
    erp_read_t in = { .tenant = &tenant, .flow = tenant_flow(&tenant, "purchase_orders"),
                      .redis = r, .http = http, .master_key = KEY, .since = since };
    memset(got, 0, sizeof *got);
    const erp_driver_t *drv = erp_driver("syteline");
    assert_ptr_equal(drv, &ERP_SYTELINE);
    drv->read(&in, collect, got, res);
    http_client_destroy(&http);
    rds_destroy(&r);
    tenant_cfg_free(&tenant);
}

static void test_read_bookmark_pages(void **state)
{
    got_t got;
    erp_result_t res;
    run_read("[{\"name\":\"purchase_orders\",\"page_size\":3}]", "ok", "2026-01-11T00:00:00Z", &got, &res);
    if (!res.ok)
        fail_msg("read: %s", res.error);
    assert_int_equal(got.n, NPOS);
    assert_int_equal(res.rows, NPOS);
    assert_int_equal(res.pages, 3);
    assert_string_equal(srv.marks[0], "-");
    assert_string_equal(srv.marks[1], "<B>4");
    assert_string_equal(srv.marks[2], "<B>7");
    assert_string_equal(srv.filter, "RecordDate >= '20260111 00:00:00.000'");
    for (int i = 0; i < NPOS; i++) {
        char num[16], modified[48], id[96];
        snprintf(num, sizeof num, "PO%08d", 4001 + i);
        snprintf(modified, sizeof modified, "2026-01-%02dT10:00:00.%03dZ", 11 + i, i + 1);
        snprintf(id, sizeof id, "PBT=[po] po.ID=[%d] po.DT=[202601%02d 10:00:00.%03d]", i + 1, 11 + i, i + 1);
        assert_string_equal(got.recs[i].erp_key, num);
        assert_string_equal(got.recs[i].modified_at, modified);  /* ISO: the watermark reads it */
        assert_string_equal(got.recs[i].etag, id);
        assert_string_equal(got.recs[i].doc_date, "2026-01-05");
        assert_string_equal(got.recs[i].amount, "99.9");
        assert_string_equal(got.recs[i].currency, "USD");
    }
    got_free(&got);

    /* No watermark: no filter. */
    run_read(NULL, "ok", NULL, &got, &res);
    assert_true(res.ok);
    assert_int_equal(res.pages, 1);
    assert_string_equal(srv.filter, "-");
    got_free(&got);
}

static void test_read_401_and_failures(void **state)
{
    got_t got;
    erp_result_t res;
    run_read("[{\"name\":\"purchase_orders\",\"page_size\":3}]", "401once", NULL, &got, &res);
    if (!res.ok)
        fail_msg("read: %s", res.error);
    assert_int_equal(got.n, NPOS);
    assert_int_equal(srv.tokens, 2);
    got_free(&got);

    run_read(NULL, "fail", NULL, &got, &res);
    assert_false(res.ok);
    assert_false(res.retryable);
    assert_string_equal(res.error, "syteline SLPos: Property Foo not found");

    /* An HTML 503: status and Retry-After still count. */
    run_read(NULL, "503", NULL, &got, &res);
    assert_false(res.ok);
    assert_true(res.retryable);
    assert_int_equal(res.retry_after_ms, 3000);
    assert_string_equal(res.error, "syteline answered 503");

    run_read("[{\"name\":\"purchase_orders\",\"page_size\":3}]", "loop", NULL, &got, &res);
    assert_false(res.ok);
    assert_string_equal(res.error, "syteline SLPos: MoreRowsExist without a new Bookmark");
    assert_int_equal(srv.loads, 2);
    got_free(&got);

    run_read(NULL, "ok", "last tuesday", &got, &res);
    assert_false(res.ok);
    assert_string_equal(res.error, "SLPos: watermark \"last tuesday\" is not ISO-8601");
    assert_int_equal(srv.loads, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_row_dates_feed_record_map),
        cmocka_unit_test(test_filter_and_url),
        cmocka_unit_test(test_next),
        cmocka_unit_test(test_read_bookmark_pages),
        cmocka_unit_test(test_read_401_and_failures),
    };
    return cmocka_run_group_tests(tests, driver_setup, driver_teardown);
}
