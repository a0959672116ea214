/* Tests of workers/erp/m3.c. Pure helpers: URLs of v2 and v1 list requests on the default
 * flows of the m3 profile, the paging decisions and v1 record flattening. The driver (ERP_M3):
 * against a scripted M3 list transaction over real HTTP (common/httpd.c) and a real
 * redis-server for the token cache: paging from the last key, v1, errors in a 200 and as 400,
 * ServerReturnedNOK, 401 once, 429 with Retry-After. */
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
#include "m3.h"
#include "util.h"

#define BASE "http://127.0.0.1:18082/DEMO_TST"

static tenant_cfg_t tenant;

/* The demo M3 tenant with flows as given (NULL: the profile's defaults), its ION URLs on
 * port (18082 for the pure tests). */
static int parse_tenant_on(int port, const char *flows)
{
    char text[4096];
    snprintf(text, sizeof text,
             "{\"id\":\"m3co\",\"erp\":{\"type\":\"m3\",\"company\":\"100\",\"division\":\"AAA\","
             "\"page_size\":50,\"ionapi\":{\"ti\":\"DEMO_TST\",\"ci\":\"c\",\"cs\":\"s\","
             "\"iu\":\"http://127.0.0.1:%d\",\"pu\":\"http://127.0.0.1:%d/DEMO_TST/as/\","
             "\"ot\":\"token.oauth2\",\"saak\":\"a\",\"sask\":\"b\"}},"
             "\"asana\":{\"base_url\":\"http://a\",\"token\":\"t\",\"workspace\":\"1\","
             "\"project\":\"2\"}%s%s}", port, port, flows ? ",\"flows\":" : "", flows ? flows : "");
    json_t *obj = json_loads(text, 0, NULL);
    char err[256];
    int rc = tenant_cfg_parse(obj, &tenant, err, sizeof err);
    json_decref(obj);
    if (rc != 0)
        fail_msg("tenant: %s", err);
    return rc;
}

static int parse_tenant(const char *flows)
{
    return parse_tenant_on(18082, flows);
}

static void test_v2_urls(void **state)
{
    parse_tenant(NULL);
    const flow_cfg_t *po = tenant_flow(&tenant, "purchase_orders");
    assert_int_equal(m3_maxrecs(po), 50);
    char *u = m3_page_url(BASE, po, NULL, 50);
    assert_string_equal(u, BASE "/M3/m3api-rest/v2/execute/PPS001MI/ListHeadBasic;maxrecs=50;"
                           "returncols=PUNO,LMDT,SUNO,SUNM,NTAM,CUCD,PUST,PUDT?CONO=100");
    free(u);
    u = m3_page_url(BASE, po, "0000004050", 50);
    assert_string_equal(u, BASE "/M3/m3api-rest/v2/execute/PPS001MI/ListHeadBasic;maxrecs=50;"
                           "returncols=PUNO,LMDT,SUNO,SUNM,NTAM,CUCD,PUST,PUDT"
                           "?CONO=100&PUNO=0000004050");
    free(u);
    const flow_cfg_t *inv = tenant_flow(&tenant, "supplier_invoices");
    u = m3_page_url(BASE, inv, "17", 50);
    assert_string_equal(u, BASE "/M3/m3api-rest/v2/execute/APS450MI/LstInvBatchNo;maxrecs=50;"
                           "returncols=INBN,LMDT,SINO,SUNO,SUNM,CUAM,CUCD,AIT1,AIT2,SUPA,IVDT,DUDT"
                           "?DIVI=AAA&INBN=17");
    free(u);
    tenant_cfg_free(&tenant);
}

static void test_v1_and_inputs(void **state)
{
    /* v1 has no returncols; a start key replaces a given key input; values are encoded;
     * inputs go in order (the tenant's, then those merged from the defaults). */
    parse_tenant("[{\"name\":\"purchase_orders\",\"api\":\"v1\",\"page_size\":1,"
                 "\"inputs\":{\"PUNO\":\"0000004001\",\"FACI\":\"A 1&2\"}}]");
    const flow_cfg_t *po = tenant_flow(&tenant, "purchase_orders");
    assert_int_equal(m3_maxrecs(po), 2); /* a page of one could never move on */
    char *u = m3_page_url(BASE, po, NULL, 2);
    assert_string_equal(u, BASE "/M3/m3api-rest/execute/PPS001MI/ListHeadBasic;maxrecs=2"
                           "?PUNO=0000004001&FACI=A%201%262&CONO=100");
    free(u);
    u = m3_page_url(BASE, po, "0000004007", 2);
    assert_string_equal(u, BASE "/M3/m3api-rest/execute/PPS001MI/ListHeadBasic;maxrecs=2"
                           "?FACI=A%201%262&CONO=100&PUNO=0000004007");
    free(u);
    tenant_cfg_free(&tenant);
}

static void test_paging_decisions(void **state)
{
    /* First page: nothing repeats; full page -> more. */
    assert_false(m3_is_repeat(NULL, 0, "0000004001"));
    assert_true(m3_more_pages(100, 100, NULL, "0000004100"));
    assert_false(m3_more_pages(99, 100, NULL, "0000004099"));
    assert_false(m3_more_pages(0, 100, NULL, NULL));
    /* Later pages start with the previous last key, right-padded by M3. */
    assert_true(m3_is_repeat("0000004100", 0, "0000004100  "));
    assert_true(m3_is_repeat("17", 0, "17        "));
    assert_false(m3_is_repeat("0000004100", 1, "0000004100"));  /* only the first record */
    assert_false(m3_is_repeat("0000004100", 0, "0000004101"));  /* the start key was deleted */
    assert_false(m3_is_repeat("0000004100", 0, "000000410"));
    assert_false(m3_is_repeat("0000004100", 0, NULL));
    assert_true(m3_more_pages(100, 100, "0000004100", "0000004199"));
    assert_false(m3_more_pages(51, 100, "0000004100", "0000004150")); /* short page: the end */
    /* A full page that did not get past its start key would repeat forever. */
    assert_false(m3_more_pages(2, 2, "0000004100", "0000004100   "));
    assert_true(m3_more_pages(2, 2, "0000004100", "0000004101"));
}

static void test_v1_flatten(void **state)
{
    char err[128] = "";
    json_t *rec = json_loads("{\"RowIndex\":0,\"NameValue\":[{\"Name\":\"PUNO\",\"Value\":\"4711      \"},"
                             "{\"Name\":\"NTAM\",\"Value\":\"12.50\"},{\"Name\":\"PUDT\",\"Value\":\"20260115\"}]}",
                             0, NULL);
    json_t *flat = m3_v1_flatten(rec, err, sizeof err);
    json_t *want = json_loads("{\"PUNO\":\"4711      \",\"NTAM\":\"12.50\",\"PUDT\":\"20260115\"}", 0, NULL);
    assert_non_null(flat);
    assert_true(json_equal(flat, want));
    json_decref(flat);
    json_decref(want);
    json_decref(rec);

    rec = json_loads("{\"RowIndex\":0}", 0, NULL);
    assert_null(m3_v1_flatten(rec, err, sizeof err));
    assert_string_equal(err, "MIRecord: NameValue must be an array");
    json_decref(rec);
    rec = json_loads("{\"NameValue\":[{\"Name\":\"A\",\"Value\":\"1\"},{\"Value\":\"x\"}]}", 0, NULL);
    assert_null(m3_v1_flatten(rec, err, sizeof err));
    assert_string_equal(err, "MIRecord: NameValue[1] must have a string Name and a Value");
    json_decref(rec);
}


/* ---- the driver against a scripted server ------------------------------------------------ */

#define NPOS 7

/* What the scripted server does next and what it saw. */
static struct {
    pthread_mutex_t mu;
    const char *mode;      /* "ok", "401once", "error200", "error400", "nok", "429" */
    int         tokens;    /* token requests */
    int         lists;     /* list requests */
    char        starts[16][16]; /* PUNO start key of each list request ("-" = none) */
} srv = { .mu = PTHREAD_MUTEX_INITIALIZER };

static fx_redis_t rs;
static httpd_t *httpd;
static uint8_t KEY[MLC_KEY_LEN];

/* PO i (1-based) as M3 sends it: right-padded strings. */
static json_t *po_row(int i)
{
    char puno[16], amount[16];
    snprintf(puno, sizeof puno, "%010d  ", 4000 + i);
    snprintf(amount, sizeof amount, "%d.50     ", 100 * i);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "PUNO", puno, "SUNO", "S1        ",
                     "SUNM", "Supplier One                  ", "NTAM", amount, "CUCD", "EUR",
                     "PUST", "20", "PUDT", "20260115", "LMDT", "20260120");
}

/* A v1 MIRecord of a v2 row. */
static json_t *to_v1(json_t *row, int index)
{
    json_t *nv = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(row, k, v) json_array_append_new(nv, json_pack("{s:s, s:O}", "Name", k, "Value", v));
    json_decref(row);
    return json_pack("{s:i, s:o}", "RowIndex", index, "NameValue", nv);
}

static void m3_handler(void *ud, const httpd_req_t *req, httpd_resp_t *resp)
{
    const char *path = httpd_path(req);
    pthread_mutex_lock(&srv.mu);
    if (strcmp(path, "/DEMO_TST/as/token.oauth2") == 0) {
        char *body = xasprintf("{\"access_token\":\"tok-%d\",\"token_type\":\"Bearer\",\"expires_in\":7200}",
                               ++srv.tokens);
        httpd_resp_json(resp, 200, body);
        free(body);
        pthread_mutex_unlock(&srv.mu);
        return;
    }
    int n = srv.lists++;
    const char *start = httpd_query(req, "PUNO");
    if (n < 16)
        snprintf(srv.starts[n], sizeof srv.starts[0], "%s", start ? start : "-");
    bool v1 = !strstr(path, "/v2/");
    const char *auth = httpd_header(req, "Authorization");
    const char *m = srv.mode;
    if (!auth || !str_starts(auth, "Bearer tok-") || strcmp(httpd_query(req, "CONO"), "100") != 0) {
        httpd_resp_json(resp, 400, "{\"error\":\"bad request\"}");
    } else if (strcmp(m, "401once") == 0 && n == 1) {
        httpd_resp_json(resp, 401, "{\"error\":\"invalid_token\"}");
    } else if (strcmp(m, "429") == 0) {
        httpd_resp_json(resp, 429, "{\"error\":\"quota\"}");
        httpd_resp_header(resp, "Retry-After", "7");
    } else if (strcmp(m, "nok") == 0) {
        httpd_resp_json(resp, 500, "{\"@type\":\"ServerReturnedNOK\",\"@code\":\"WCO0203\","
                                   "\"@field\":\"CONO\",\"Message\":\"Company 100 does not exist\"}");
    } else if (strcmp(m, "error200") == 0 || strcmp(m, "error400") == 0) {
        httpd_resp_json(resp, m[5] == '2' ? 200 : 400,
                        "{\"results\":[{\"transaction\":\"ListHeadBasic\",\"records\":[],"
                        "\"errorMessage\":\"Purchase order number 99 does not exist\","
                        "\"errorType\":\"ServerReturnedNOK\",\"errorCode\":\"WPU0901\",\"errorField\":\"PUNO\"}],"
                        "\"wasTerminated\":false,\"nrOfSuccessfullTransactions\":0,"
                        "\"nrOfFailedTransactions\":1}");
    } else {
        const char *mr = strstr(path, ";maxrecs=");
        int maxrecs = mr ? atoi(mr + 9) : 100;
        int from = 1;
        while (start && from <= NPOS) { /* first PO whose key is >= start */
            char key[16];
            snprintf(key, sizeof key, "%010d", 4000 + from);
            if (strcmp(key, start) >= 0)
                break;
            from++;
        }
        json_t *records = json_array();
        for (int i = from; i <= NPOS && i < from + maxrecs; i++)
            json_array_append_new(records, v1 ? to_v1(po_row(i), i - from) : po_row(i));
        json_t *doc = v1 ? json_pack("{s:s, s:s, s:{s:[]}, s:o}", "Program", "PPS001MI", "Transaction",
                                     "ListHeadBasic", "Metadata", "Field", "MIRecord", records)
                         : json_pack("{s:[{s:s, s:o, s:n}], s:b, s:i, s:i}", "results", "transaction",
                                     "ListHeadBasic", "records", records, "errorMessage",
                                     "wasTerminated", 0, "nrOfSuccessfullTransactions", 1,
                                     "nrOfFailedTransactions", 0);
        char *text = json_dumps(doc, JSON_COMPACT);
        httpd_resp_json(resp, 200, text);
        free(text);
        json_decref(doc);
    }
    pthread_mutex_unlock(&srv.mu);
}

static int driver_setup(void **state)
{
    memset(KEY, 5, sizeof KEY);
    char err[256];
    httpd_opts_t o = { .port = 0, .threads = 2, .handler = m3_handler };
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
    char keys[32][16];
    char amounts[32][16];
    int  n;
} got_t;

static int collect(void *ud, record_t *rec)
{
    got_t *g = ud;
    if (g->n < 32) {
        snprintf(g->keys[g->n], sizeof g->keys[0], "%s", rec->erp_key);
        snprintf(g->amounts[g->n], sizeof g->amounts[0], "%s", rec->amount ? rec->amount : "-");
        g->n++;
    }
    record_free(rec);
    free(rec);
    return 0;
}

/* Runs ERP_M3 on flow purchase_orders of a tenant with flows (NULL: defaults) in mode. */
static void run_read(const char *flows, const char *mode, got_t *got, erp_result_t *res)
{
    pthread_mutex_lock(&srv.mu);
    srv.mode = mode;
    srv.tokens = srv.lists = 0;
    pthread_mutex_unlock(&srv.mu);
    redisReply *rep = fx_redis_cmd(&rs, "FLUSHALL");
    freeReplyObject(rep);
    parse_tenant_on(httpd_port(httpd), flows);
    char err[256];
    rds_t *r = rds_connect(rs.url, err, sizeof err);
    http_client_t *http = http_client_new();
    erp_read_t in = { .tenant = &tenant, .flow = tenant_flow(&tenant, "purchase_orders"),
                      .redis = r, .http = http, .master_key = KEY,
                      .since = "2026-01-01T00:00:00Z" /* M3 has no modified filter: ignored */ };
    memset(got, 0, sizeof *got);
    const erp_driver_t *drv = erp_driver("m3");
    assert_ptr_equal(drv, &ERP_M3);
    drv->read(&in, collect, got, res);
    http_client_destroy(&http);
    rds_destroy(&r);
    tenant_cfg_free(&tenant);
}

static void expect_all_pos(const got_t *got)
{
    assert_int_equal(got->n, NPOS);
    for (int i = 0; i < NPOS; i++) {
        char key[16], amount[16];
        snprintf(key, sizeof key, "%010d", 4001 + i);
        snprintf(amount, sizeof amount, "%d.5", 100 * (i + 1));
        assert_string_equal(got->keys[i], key);      /* trimmed, each once, in key order */
        assert_string_equal(got->amounts[i], amount);
    }
}

static void test_read_pages_from_last_key(void **state)
{
    got_t got;
    erp_result_t res;
    run_read("[{\"name\":\"purchase_orders\",\"page_size\":3}]", "ok", &got, &res);
    if (!res.ok)
        fail_msg("read: %s", res.error);
    expect_all_pos(&got);
    /* 1-3, 3-5, 5-7, 7: each page restarts at the last key, the repeat is dropped, the short
     * page ends the read. */
    assert_int_equal(res.pages, 4);
    assert_int_equal(res.rows, NPOS);
    assert_string_equal(srv.starts[0], "-");
    assert_string_equal(srv.starts[1], "0000004003");
    assert_string_equal(srv.starts[2], "0000004005");
    assert_string_equal(srv.starts[3], "0000004007");
    assert_int_equal(srv.tokens, 1);

    /* The same over v1. */
    run_read("[{\"name\":\"purchase_orders\",\"page_size\":3,\"api\":\"v1\"}]", "ok", &got, &res);
    if (!res.ok)
        fail_msg("v1 read: %s", res.error);
    expect_all_pos(&got);
    assert_int_equal(res.pages, 4);

    /* A page size above the list: one page. */
    run_read(NULL, "ok", &got, &res);
    assert_true(res.ok);
    expect_all_pos(&got);
    assert_int_equal(res.pages, 1);
}

static void test_read_401_refreshes_once(void **state)
{
    got_t got;
    erp_result_t res;
    run_read("[{\"name\":\"purchase_orders\",\"page_size\":3}]", "401once", &got, &res);
    if (!res.ok)
        fail_msg("read: %s", res.error);
    expect_all_pos(&got);
    assert_int_equal(srv.tokens, 2);
    assert_int_equal(srv.lists, 5);  /* the refused page asked again */
}

static void test_read_errors(void **state)
{
    got_t got;
    erp_result_t res;
    run_read(NULL, "error200", &got, &res);
    assert_false(res.ok);
    assert_false(res.retryable);
    assert_string_equal(res.error, "m3 PPS001MI/ListHeadBasic ServerReturnedNOK WPU0901 field PUNO: "
                                   "Purchase order number 99 does not exist");
    assert_int_equal(got.n, 0);

    run_read(NULL, "error400", &got, &res);
    assert_false(res.ok);
    assert_false(res.retryable);
    assert_string_equal(res.error, "m3 answered 400: PPS001MI/ListHeadBasic ServerReturnedNOK WPU0901 "
                                   "field PUNO: Purchase order number 99 does not exist");

    run_read("[{\"name\":\"purchase_orders\",\"api\":\"v1\"}]", "nok", &got, &res);
    assert_false(res.ok);
    assert_true(res.retryable);  /* a 500: maybe transient */
    assert_string_equal(res.error, "m3 answered 500: PPS001MI/ListHeadBasic ServerReturnedNOK WCO0203 "
                                   "field CONO: Company 100 does not exist");

    run_read(NULL, "429", &got, &res);
    assert_false(res.ok);
    assert_true(res.retryable);
    assert_int_equal(res.retry_after_ms, 7000);
    assert_int_equal(srv.lists, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v2_urls),
        cmocka_unit_test(test_v1_and_inputs),
        cmocka_unit_test(test_paging_decisions),
        cmocka_unit_test(test_v1_flatten),
        cmocka_unit_test(test_read_pages_from_last_key),
        cmocka_unit_test(test_read_401_refreshes_once),
        cmocka_unit_test(test_read_errors),
    };
    return cmocka_run_group_tests(tests, driver_setup, driver_teardown);
}
