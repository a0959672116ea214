/* Tests of workers/erp/writeback.c and its drivers (wb_ifs.c, wb_m3.c, wb_syteline.c) against
 * the real simulators (sim/ifs_sim.c, sim/ion_sim.c) started in-process on free ports over
 * common/httpd.c, with a real redis-server for the token cache. What the simulators record
 * (write logs, request counters) is the evidence: IFS writes always carry the ETag as read
 * (never none, never "*"), a stale ETag is re-read and the approval applied once on the fresh
 * version, an applied or blocked state sends no write, M3 ApproveInvoice runs once, a stale
 * SyteLine ItemId reloads the row, audit_only makes no call; and the settings defaults and
 * overrides per ERP type and kind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "crypto.h"
#include "fixture.h"
#include "http.h"
#include "httpd.h"
#include "ifs.h"
#include "ifs_sim.h"
#include "ion_sim.h"
#include "redis.h"
#include "token.h"
#include "util.h"
#include "wb.h"
#include "writeback.h"

#define ASANA "\"asana\":{\"base_url\":\"http://a\",\"token\":\"t\",\"workspace\":\"1\",\"project\":\"2\"}"

static fx_redis_t rs;
static rds_t *redis;
static http_client_t *http;
static uint8_t KEY[MLC_KEY_LEN];
static ifs_sim_t *ifs;
static ion_sim_t *ion;
static httpd_t *ifs_httpd, *ion_httpd;

/* ---- simulators and control endpoints ---------------------------------------------------- */

static httpd_t *serve(httpd_handler_fn handler, void *ud)
{
    char err[256];
    httpd_opts_t o = { .port = 0, .threads = 2, .max_body = 1 << 20, .handler = handler,
                       .ud = ud };
    httpd_t *h = httpd_start(&o, err, sizeof err);
    if (!h)
        fail_msg("httpd: %s", err);
    return h;
}

static ifs_sim_t *new_ifs_sim(void)
{
    char err[256];
    ifs_sim_t *s = ifs_sim_new("{\"seed\":{\"pos\":20,\"invoices\":10,\"suppliers\":5}}", err,
                               sizeof err);
    if (!s)
        fail_msg("ifs_sim_new: %s", err);
    return s;
}

static int setup(void **state)
{
    memset(KEY, 7, sizeof KEY);
    char err[256];
    if (fx_redis_start(&rs) != 0 || !(redis = rds_connect(rs.url, err, sizeof err)))
        return -1;
    http = http_client_new();
    ifs = new_ifs_sim();
    ion = ion_sim_new("{\"seed\":{\"m3\":{\"pos\":5,\"invoices\":10,\"suppliers\":3},"
                      "\"syteline\":{\"pos\":5,\"invoices\":10,\"suppliers\":3}}}", err,
                      sizeof err);
    if (!ion)
        return -1;
    ifs_httpd = serve(ifs_sim_handle, ifs);
    ion_httpd = serve(ion_sim_handle, ion);
    return 0;
}

static int teardown(void **state)
{
    httpd_stop(&ifs_httpd);
    httpd_stop(&ion_httpd);
    ifs_sim_destroy(&ifs);
    ion_sim_destroy(&ion);
    http_client_destroy(&http);
    rds_destroy(&redis);
    fx_redis_stop(&rs);
    return 0;
}

/* A /_sim/ control request (body NULL: GET); the JSON answer (decref it). Fails the test
 * unless it answers 200. */
static json_t *sim(httpd_t *h, const char *path, const char *body)
{
    char *url = xasprintf("http://127.0.0.1:%d%s", httpd_port(h), path);
    const char *hdrs[] = { "Content-Type: application/json", NULL };
    http_req_t req = { .method = body ? "POST" : "GET", .url = url, .headers = hdrs,
                       .body = body, .body_len = body ? strlen(body) : 0 };
    http_resp_t resp;
    assert_int_equal(http_do(http, &req, &resp), 0);
    if (resp.status != 200)
        fail_msg("%s answered %ld: %s", path, resp.status, resp.body.data);
    json_t *j = json_loads(resp.body.data, 0, NULL);
    assert_non_null(j);
    http_resp_free(&resp);
    free(url);
    return j;
}

/* A simulator counter: /_sim/stats member (requests when route is not NULL). */
static long sim_counter(httpd_t *h, const char *member, const char *route)
{
    json_t *st = sim(h, "/_sim/stats", NULL);
    json_t *v = route ? json_object_get(json_object_get(st, "requests"), route)
                      : json_object_get(st, member);
    long n = (long)json_integer_value(v);
    json_decref(st);
    return n;
}

/* IFS entity inspection: {"entity":..,"write_log":[..]}. */
static json_t *ifs_entity(const char *set, const char *key)
{
    char path[128];
    snprintf(path, sizeof path, "/_sim/ifs/entity?set=%s&key=%s", set, key);
    return sim(ifs_httpd, path, NULL);
}

/* A change "made inside IFS"; returns the new ETag (malloc'd). */
static char *ifs_modify(const char *set, const char *key, const char *changes)
{
    char *body = xasprintf("{\"set\":\"%s\",\"key\":\"%s\",\"changes\":%s}", set, key, changes);
    json_t *e = sim(ifs_httpd, "/_sim/ifs/modify", body);
    free(body);
    json_t *entity = json_object_get(e, "entity") ? json_object_get(e, "entity") : e;
    char *etag = xstrdup(json_string_value(json_object_get(entity, "@odata.etag")));
    json_decref(e);
    return etag;
}

static char *ifs_etag(const char *set, const char *key)
{
    json_t *e = ifs_entity(set, key);
    char *etag = xstrdup(json_string_value(json_object_get(json_object_get(e, "entity"),
                                                           "@odata.etag")));
    json_decref(e);
    return etag;
}

/* Counts write-log entries of kind (NULL: any API write) and status (0: any). */
static int ifs_writes(const char *set, const char *key, const char *kind, int status)
{
    json_t *e = ifs_entity(set, key);
    size_t i;
    json_t *w;
    int n = 0;
    json_array_foreach(json_object_get(e, "write_log"), i, w) {
        const char *k = json_string_value(json_object_get(w, "kind"));
        if (strcmp(k, "SIM") == 0 || (kind && strcmp(k, kind) != 0))
            continue;
        if (status && json_integer_value(json_object_get(w, "status")) != status)
            continue;
        n++;
    }
    json_decref(e);
    return n;
}

/* Every API write in the entity's log carried an If-Match that is not "*". */
static void assert_all_writes_had_if_match(const char *set, const char *key)
{
    json_t *e = ifs_entity(set, key);
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(e, "write_log"), i, w) {
        if (strcmp(json_string_value(json_object_get(w, "kind")), "SIM") == 0)
            continue;
        const char *m = json_string_value(json_object_get(w, "if_match"));
        assert_non_null(m);
        assert_true(*m && strcmp(m, "*") != 0);
    }
    json_decref(e);
}

static const char *ifs_state(const char *set, const char *key, char *buf, size_t len)
{
    json_t *e = ifs_entity(set, key);
    snprintf(buf, len, "%s", json_string_value(json_object_get(json_object_get(e, "entity"),
                                                               "Objstate")));
    json_decref(e);
    return buf;
}

/* ION record inspection: {"fields":..,"write_log":..[,"_ItemId"]}. */
static json_t *ion_record(const char *tenant, const char *table, const char *key)
{
    char path[160];
    snprintf(path, sizeof path, "/_sim/ion/record?tenant=%s&table=%s&key=%s", tenant, table, key);
    return sim(ion_httpd, path, NULL);
}

static json_t *ion_modify(const char *tenant, const char *table, const char *key,
                          const char *changes)
{
    char *body = xasprintf("{\"tenant\":\"%s\",\"table\":\"%s\",\"key\":\"%s\",\"changes\":%s}",
                           tenant, table, key, changes);
    json_t *r = sim(ion_httpd, "/_sim/ion/modify", body);
    free(body);
    return r;
}

/* Write-log entries of an ION record by via (and refused or not). */
static int ion_log_count(json_t *rec, const char *via, int refused)
{
    size_t i;
    json_t *e;
    int n = 0;
    json_array_foreach(json_object_get(rec, "write_log"), i, e) {
        if (strcmp(json_string_value(json_object_get(e, "via")), via) == 0 &&
            (json_object_get(e, "refused") != NULL) == refused)
            n++;
    }
    return n;
}

/* ---- tenants and runs -------------------------------------------------------------------- */

static tenant_cfg_t tenant;

static void parse_tenant(const char *text)
{
    json_t *obj = json_loads(text, 0, NULL);
    assert_non_null(obj);
    char err[256];
    if (tenant_cfg_parse(obj, &tenant, err, sizeof err) != 0)
        fail_msg("tenant: %s", err);
    json_decref(obj);
}

/* Tenants of the three types on the simulators' ports; flows: a "flows" array text or NULL. */
static void ifs_tenant_on(int port, const char *flows)
{
    char text[4096];
    snprintf(text, sizeof text,
             "{\"id\":\"ifsco\",\"erp\":{\"type\":\"ifs\",\"base_url\":\"http://127.0.0.1:%d\","
             "\"client_id\":\"mlc-demo\",\"client_secret\":\"demo-secret\",\"company\":\"10\"},"
             ASANA "%s%s}", port, flows ? ",\"flows\":" : "", flows ? flows : "");
    parse_tenant(text);
}

static void ifs_tenant(const char *flows)
{
    ifs_tenant_on(httpd_port(ifs_httpd), flows);
}

static void ion_tenant(const char *type, const char *flows)
{
    int m3 = strcmp(type, "m3") == 0;
    const char *ti = m3 ? "DEMO_TST" : "DEMO_CSI";
    int port = httpd_port(ion_httpd);
    char text[4096];
    snprintf(text, sizeof text,
             "{\"id\":\"%sco\",\"erp\":{\"type\":\"%s\",%s\"ionapi\":{\"ti\":\"%s\","
             "\"ci\":\"%s~mlc-demo\",\"cs\":\"demo-client-secret\",\"iu\":\"http://127.0.0.1:%d\","
             "\"pu\":\"http://127.0.0.1:%d/%s/as/\",\"ot\":\"token.oauth2\","
             "\"saak\":\"%s#svc-access-key\",\"sask\":\"demo-service-secret\"}}," ASANA "%s%s}",
             type, type, m3 ? "\"company\":\"100\",\"division\":\"AAA\","
                            : "\"mongoose_config\":\"DEMO_SITE\",",
             ti, ti, port, port, ti, ti, flows ? ",\"flows\":" : "", flows ? flows : "");
    parse_tenant(text);
}

/* wb_apply of decision approve on the record key of flow (of the current tenant). */
static void approve(const char *flow, const char *key, const char *etag, wb_result_t *res)
{
    const flow_cfg_t *f = tenant_flow(&tenant, flow);
    assert_non_null(f);
    wb_request_t in = { .tenant = &tenant, .flow = f, .redis = redis, .http = http,
                        .master_key = KEY, .erp_key = key, .etag = etag,
                        .decision = "approve" };
    wb_apply(&in, res);
    assert_non_null(res->calls);
}

/* The calls as "METHOD status" lines joined by ", " for comparisons. */
static const char *calls_summary(const wb_result_t *res, char *buf, size_t len)
{
    buf[0] = '\0';
    size_t i;
    json_t *c;
    json_array_foreach(res->calls, i, c) {
        size_t n = strlen(buf);
        snprintf(buf + n, len - n, "%s%s %lld", i ? ", " : "",
                 json_string_value(json_object_get(c, "method")),
                 (long long)json_integer_value(json_object_get(c, "status")));
    }
    return buf;
}

/* No call carries the tenant's cached token or an Authorization header. */
static void assert_no_secret(const wb_result_t *res, const char *system)
{
    char *calls = json_dumps(res->calls, JSON_COMPACT);
    char *token = token_peek(redis, KEY, tenant.id, system);
    assert_null(strstr(calls, "Bearer"));
    assert_null(strstr(calls, "Authorization"));
    if (token)
        assert_null(strstr(calls, token));
    free(token);
    free(calls);
}

/* ---- settings ---------------------------------------------------------------------------- */

static const char *setting(const json_t *s, const char *name)
{
    return json_string_value(json_object_get(s, name));
}

static void test_settings_defaults(void **state)
{
    ifs_tenant_on(18081, NULL);
    json_t *s = wb_settings("ifs", tenant_flow(&tenant, "purchase_orders"));
    assert_string_equal(setting(s, "mode"), "action");
    assert_string_equal(setting(s, "action"), "Approve");
    assert_string_equal(setting(s, "projection"), "PurchaseOrderHandling");
    assert_string_equal(setting(s, "entity_type"), "PurchaseOrder");
    assert_string_equal(setting(s, "state_member"), "Objstate");
    json_t *want = json_loads("[\"Authorized\"]", 0, NULL);
    assert_true(json_equal(json_object_get(s, "done_states"), want));
    json_decref(want);
    want = json_loads("[\"Closed\",\"Cancelled\",\"Rejected\"]", 0, NULL);
    assert_true(json_equal(json_object_get(s, "blocked_states"), want));
    json_decref(want);
    assert_int_equal(json_integer_value(json_object_get(s, "max_conflicts")), 3);
    assert_true(json_is_false(json_object_get(s, "read_first")));
    json_decref(s);
    s = wb_settings("ifs", tenant_flow(&tenant, "supplier_invoices"));
    assert_string_equal(setting(s, "projection"), "ManSuppInvoiceHandling");
    assert_string_equal(setting(s, "entity_type"), "ManSuppInvoice");
    want = json_loads("[\"Approved\",\"Authorized\",\"Posted\",\"Paid\"]", 0, NULL);
    assert_true(json_equal(json_object_get(s, "done_states"), want));
    json_decref(want);
    json_decref(s);
    /* An unknown ERP type has no write path. */
    s = wb_settings("sap", tenant_flow(&tenant, "purchase_orders"));
    assert_string_equal(setting(s, "mode"), "audit_only");
    json_decref(s);
    tenant_cfg_free(&tenant);

    ion_tenant("m3", NULL);
    s = wb_settings("m3", tenant_flow(&tenant, "supplier_invoices"));
    assert_string_equal(setting(s, "mode"), "mi");
    assert_string_equal(setting(s, "program"), "APS450MI");
    assert_string_equal(setting(s, "transaction"), "ApproveInvoice");
    assert_string_equal(setting(s, "read_transaction"), "GetHead");
    assert_string_equal(setting(s, "state_member"), "SUPA");
    assert_string_equal(setting(s, "api"), "v2");
    want = json_loads("{\"CONO\":\"{company}\",\"DIVI\":\"{division}\",\"INBN\":\"{key}\"}", 0,
                      NULL);
    assert_true(json_equal(json_object_get(s, "inputs"), want));
    json_decref(want);
    json_decref(s);
    s = wb_settings("m3", tenant_flow(&tenant, "purchase_orders"));
    assert_string_equal(setting(s, "mode"), "audit_only");   /* no PO approval transaction */
    json_decref(s);
    tenant_cfg_free(&tenant);

    ion_tenant("syteline", NULL);
    s = wb_settings("syteline", tenant_flow(&tenant, "purchase_orders"));
    assert_string_equal(setting(s, "mode"), "ido");
    assert_string_equal(setting(s, "ido"), "SLPos");
    assert_string_equal(setting(s, "key_property"), "PoNum");
    assert_string_equal(setting(s, "member"), "Stat");
    assert_string_equal(setting(s, "value"), "O");
    json_decref(s);
    s = wb_settings("syteline", tenant_flow(&tenant, "supplier_invoices"));
    assert_string_equal(setting(s, "ido"), "SLVchHdrs");
    assert_string_equal(setting(s, "key_property"), "Voucher");
    assert_string_equal(setting(s, "value"), "A");
    want = json_loads("[\"R\",\"H\"]", 0, NULL);
    assert_true(json_equal(json_object_get(s, "blocked_states"), want));
    json_decref(want);
    json_decref(s);
    tenant_cfg_free(&tenant);

    assert_non_null(wb_driver("ifs"));
    assert_non_null(wb_driver("m3"));
    assert_non_null(wb_driver("syteline"));
    assert_null(wb_driver("sap"));
    assert_null(wb_driver(NULL));
}

static void test_settings_overrides(void **state)
{
    ifs_tenant_on(18081, "[{\"name\":\"purchase_orders\",\"writeback\":{\"mode\":\"patch\","
                         "\"member\":\"AuthorizeCode\",\"value\":\"MLC\",\"blocked_states\":"
                         "[\"Planned\"]}},{\"name\":\"supplier_invoices\",\"writeback\":"
                         "{\"mode\":\"audit_only\"}}]");
    json_t *s = wb_settings("ifs", tenant_flow(&tenant, "purchase_orders"));
    assert_string_equal(setting(s, "mode"), "patch");
    assert_string_equal(setting(s, "member"), "AuthorizeCode");
    assert_string_equal(setting(s, "value"), "MLC");
    json_t *want = json_loads("[\"Planned\"]", 0, NULL);
    assert_true(json_equal(json_object_get(s, "blocked_states"), want));  /* replaced */
    json_decref(want);
    assert_string_equal(setting(s, "state_member"), "Objstate");          /* kept */
    json_decref(s);
    s = wb_settings("ifs", tenant_flow(&tenant, "supplier_invoices"));
    assert_string_equal(setting(s, "mode"), "audit_only");
    json_decref(s);
    tenant_cfg_free(&tenant);

    /* A mode the type does not serve, a bad member shape: permanent failures, no call. */
    ifs_tenant_on(18081, "[{\"name\":\"purchase_orders\",\"writeback\":{\"mode\":\"mi\"}},"
                         "{\"name\":\"supplier_invoices\",\"writeback\":\"audit_only\"}]");
    wb_result_t res;
    approve("purchase_orders", "4501", NULL, &res);
    assert_int_equal(res.status, WB_FAILED);
    assert_false(res.retryable);
    assert_string_equal(res.error, "flow purchase_orders: writeback.mode: must be action, patch, "
                                   "audit_only for ifs (got \"mi\")");
    assert_int_equal(json_array_size(res.calls), 0);
    wb_result_free(&res);
    wb_result_free(&res);   /* safe twice */
    approve("supplier_invoices", "1", NULL, &res);
    assert_int_equal(res.status, WB_FAILED);
    assert_string_equal(res.error, "flow supplier_invoices: writeback: must be an object");
    wb_result_free(&res);
    tenant_cfg_free(&tenant);
}

/* ---- IFS --------------------------------------------------------------------------------- */

#define PO_SET "PurchaseOrderSet"

static void test_ifs_approve_with_if_match(void **state)
{
    char buf[64], sum[256];
    ifs_tenant(NULL);
    free(ifs_modify(PO_SET, "4501", "{\"Objstate\":\"Released\"}"));
    char *etag = ifs_etag(PO_SET, "4501");
    long conflicts_before = sim_counter(ifs_httpd, "write_conflicts", NULL);

    /* No stored ETag: read it, decide on Released, approve with it. */
    wb_result_t res;
    approve("purchase_orders", "4501", NULL, &res);
    assert_int_equal(res.status, WB_APPLIED);
    assert_string_equal(calls_summary(&res, sum, sizeof sum), "GET 200, POST 204");
    json_t *post = json_array_get(res.calls, 1);
    assert_non_null(strstr(json_string_value(json_object_get(post, "url")),
                           "/PurchaseOrderSet(OrderNo='4501')/IfsApp.PurchaseOrderHandling."
                           "PurchaseOrder_Approve"));
    assert_non_null(strstr(json_string_value(json_object_get(json_array_get(res.calls, 0),
                                                             "response")), "\"Released\""));
    assert_int_equal(res.conflicts, 0);
    assert_no_secret(&res, "ifs");
    wb_result_free(&res);
    assert_string_equal(ifs_state(PO_SET, "4501", buf, sizeof buf), "Authorized");
    json_t *e = ifs_entity(PO_SET, "4501");
    json_t *log = json_object_get(e, "write_log");
    json_t *last = json_array_get(log, json_array_size(log) - 1);
    assert_string_equal(json_string_value(json_object_get(last, "kind")), "ACTION");
    assert_string_equal(json_string_value(json_object_get(last, "if_match")), etag);
    assert_int_equal(json_integer_value(json_object_get(last, "status")), 200);
    json_decref(e);

    /* Again: the read shows Authorized, nothing is written. */
    approve("purchase_orders", "4501", NULL, &res);
    assert_int_equal(res.status, WB_ALREADY);
    assert_string_equal(calls_summary(&res, sum, sizeof sum), "GET 200");
    assert_string_equal(res.error, "Objstate is Authorized: already applied");
    wb_result_free(&res);
    assert_int_equal(ifs_writes(PO_SET, "4501", NULL, 0), 1);
    assert_all_writes_had_if_match(PO_SET, "4501");
    assert_int_equal(sim_counter(ifs_httpd, "write_conflicts", NULL), conflicts_before);

    /* With the stored ETag current: one call, the action with it. */
    free(ifs_modify(PO_SET, "4505", "{\"Objstate\":\"Planned\"}"));
    char *current = ifs_etag(PO_SET, "4505");
    approve("purchase_orders", "4505", current, &res);
    assert_int_equal(res.status, WB_APPLIED);
    assert_string_equal(calls_summary(&res, sum, sizeof sum), "POST 204");
    wb_result_free(&res);
    assert_int_equal(ifs_writes(PO_SET, "4505", "ACTION", 200), 1);
    assert_all_writes_had_if_match(PO_SET, "4505");
    free(current);
    free(etag);
    tenant_cfg_free(&tenant);
}

static void test_ifs_stale_etag_rereads(void **state)
{
    char buf[64], sum[256];
    ifs_tenant(NULL);
    free(ifs_modify(PO_SET, "4502", "{\"Objstate\":\"Released\"}"));
    char *old = ifs_etag(PO_SET, "4502");
    /* Someone changes the record in IFS after the poller read it. */
    char *fresh = ifs_modify(PO_SET, "4502", "{\"CodeA\":\"4711\"}");
    assert_string_not_equal(old, fresh);

    wb_result_t res;
    approve("purchase_orders", "4502", old, &res);
    assert_int_equal(res.status, WB_APPLIED);
    assert_int_equal(res.conflicts, 1);
    assert_string_equal(calls_summary(&res, sum, sizeof sum), "POST 412, GET 200, POST 204");
    wb_result_free(&res);
    assert_string_equal(ifs_state(PO_SET, "4502", buf, sizeof buf), "Authorized");
    /* Applied exactly once, on the fresh version. */
    assert_int_equal(ifs_writes(PO_SET, "4502", "ACTION", 200), 1);
    assert_int_equal(ifs_writes(PO_SET, "4502", "ACTION", 412), 1);
    json_t *e = ifs_entity(PO_SET, "4502");
    json_t *log = json_object_get(e, "write_log");
    json_t *last = json_array_get(log, json_array_size(log) - 1);
    assert_string_equal(json_string_value(json_object_get(last, "if_match")), fresh);
    json_decref(e);
    assert_all_writes_had_if_match(PO_SET, "4502");

    /* The stale ETag once more: 412, the re-read shows it applied, nothing more written. */
    approve("purchase_orders", "4502", old, &res);
    assert_int_equal(res.status, WB_ALREADY);
    assert_int_equal(res.conflicts, 1);
    wb_result_free(&res);
    assert_int_equal(ifs_writes(PO_SET, "4502", "ACTION", 200), 1);
    free(old);
    free(fresh);
    tenant_cfg_free(&tenant);

    /* A record that keeps changing: after max_conflicts stale answers, a retryable failure. */
    ifs_tenant("[{\"name\":\"purchase_orders\",\"writeback\":{\"max_conflicts\":0}}]");
    free(ifs_modify(PO_SET, "4511", "{\"Objstate\":\"Released\"}"));
    old = ifs_etag(PO_SET, "4511");
    free(ifs_modify(PO_SET, "4511", "{\"CodeB\":\"CC100\"}"));
    approve("purchase_orders", "4511", old, &res);
    assert_int_equal(res.status, WB_FAILED);
    assert_true(res.retryable);
    assert_int_equal(res.conflicts, 1);
    assert_string_equal(res.error, "4511: the record kept changing: 1 stale-token answers in a row");
    assert_string_equal(calls_summary(&res, sum, sizeof sum), "POST 412");
    wb_result_free(&res);
    assert_int_equal(ifs_writes(PO_SET, "4511", "ACTION", 200), 0);
    free(old);
    tenant_cfg_free(&tenant);
}

static void test_ifs_blocked_state(void **state)
{
    char buf[64], sum[256];
    ifs_tenant(NULL);
    free(ifs_modify(PO_SET, "4503", "{\"Objstate\":\"Closed\"}"));
    wb_result_t res;
    approve("purchase_orders", "4503", NULL, &res);
    assert_int_equal(res.status, WB_NOT_APPLICABLE);
    assert_string_equal(res.error, "Objstate is Closed: approval not applicable");
    assert_string_equal(calls_summary(&res, sum, sizeof sum), "GET 200");
    wb_result_free(&res);
    assert_int_equal(ifs_writes(PO_SET, "4503", NULL, 0), 0);

    /* Closed between the poll and the approval: found on the re-read after the 412. */
    free(ifs_modify(PO_SET, "4504", "{\"Objstate\":\"Released\"}"));
    char *old = ifs_etag(PO_SET, "4504");
    free(ifs_modify(PO_SET, "4504", "{\"Objstate\":\"Cancelled\"}"));
    approve("purchase_orders", "4504", old, &res);
    assert_int_equal(res.status, WB_NOT_APPLICABLE);
    assert_int_equal(res.conflicts, 1);
    wb_result_free(&res);
    assert_int_equal(ifs_writes(PO_SET, "4504", "ACTION", 200), 0);
    assert_string_equal(ifs_state(PO_SET, "4504", buf, sizeof buf), "Cancelled");
    free(old);
    tenant_cfg_free(&tenant);
}

static void test_ifs_patch_and_invoice(void **state)
{
    char buf[64], sum[256];
    ifs_tenant("[{\"name\":\"purchase_orders\",\"writeback\":{\"mode\":\"patch\","
               "\"member\":\"AuthorizeCode\",\"value\":\"MLC\",\"read_first\":true}},"
               "{\"name\":\"supplier_invoices\"}]");
    free(ifs_modify(PO_SET, "4506", "{\"Objstate\":\"Released\",\"AuthorizeCode\":\"ADAMS\"}"));
    char *etag = ifs_etag(PO_SET, "4506");
    wb_result_t res;
    approve("purchase_orders", "4506", etag, &res);
    assert_int_equal(res.status, WB_APPLIED);
    assert_string_equal(calls_summary(&res, sum, sizeof sum), "GET 200, PATCH 204");
    assert_string_equal(json_string_value(json_object_get(json_array_get(res.calls, 1),
                                                          "request")), "{\"AuthorizeCode\":\"MLC\"}");
    char *after = ifs_etag(PO_SET, "4506");
    assert_non_null(res.etag);
    assert_string_equal(res.etag, after);   /* the ETag header of the PATCH */
    /* read_first: even with the current ETag the record is read and the PATCH not repeated. */
    wb_result_t again;
    approve("purchase_orders", "4506", res.etag, &again);
    assert_int_equal(again.status, WB_ALREADY);
    assert_string_equal(again.error, "AuthorizeCode is MLC: already applied");
    assert_string_equal(calls_summary(&again, sum, sizeof sum), "GET 200");
    wb_result_free(&again);
    wb_result_free(&res);
    assert_int_equal(ifs_writes(PO_SET, "4506", "PATCH", 200), 1);
    assert_all_writes_had_if_match(PO_SET, "4506");
    free(etag);
    free(after);

    /* Supplier invoices: the bound action of their projection. */
    free(ifs_modify("ManSuppInvoiceSet", "3", "{\"Objstate\":\"AwaitAuthorization\"}"));
    approve("supplier_invoices", "3", NULL, &res);
    assert_int_equal(res.status, WB_APPLIED);
    assert_non_null(strstr(json_string_value(json_object_get(json_array_get(res.calls, 1), "url")),
                           "/ManSuppInvoiceSet(InvoiceId='3')/IfsApp.ManSuppInvoiceHandling."
                           "ManSuppInvoice_Approve"));
    wb_result_free(&res);
    json_t *e = ifs_entity("ManSuppInvoiceSet", "3");
    assert_string_equal(json_string_value(json_object_get(json_object_get(e, "entity"),
                                                          "Objstate")), "Approved");
    json_decref(e);
    (void)buf;
    tenant_cfg_free(&tenant);
}

static void test_ifs_token_and_errors(void **state)
{
    char sum[256];
    /* A token cached for another IFS instance: 401, dropped, fetched again, repeated once. */
    ifs_tenant(NULL);
    free(ifs_modify(PO_SET, "4507", "{\"Objstate\":\"Released\"}"));
    wb_result_t res;
    approve("purchase_orders", "4507", NULL, &res);   /* caches a token of this instance */
    assert_int_equal(res.status, WB_APPLIED);
    wb_result_free(&res);
    tenant_cfg_free(&tenant);
    ifs_sim_t *other = new_ifs_sim();
    httpd_t *other_httpd = serve(ifs_sim_handle, other);
    ifs_tenant_on(httpd_port(other_httpd), NULL);
    approve("purchase_orders", "4508", NULL, &res);
    assert_string_equal(calls_summary(&res, sum, sizeof sum), "GET 401, GET 200, POST 204");
    assert_int_equal(res.status, WB_APPLIED);
    assert_no_secret(&res, "ifs");
    wb_result_free(&res);
    httpd_stop(&other_httpd);
    ifs_sim_destroy(&other);
    tenant_cfg_free(&tenant);

    /* Down: 503 with Retry-After, retryable. */
    ifs_tenant(NULL);
    json_decref(sim(ifs_httpd, "/_sim/config", "{\"down\":true}"));
    approve("purchase_orders", "4509", NULL, &res);
    json_decref(sim(ifs_httpd, "/_sim/config", "{\"down\":false}"));
    assert_int_equal(res.status, WB_FAILED);
    assert_true(res.retryable);
    assert_int_equal(res.retry_after_ms, 1000);
    assert_string_equal(calls_summary(&res, sum, sizeof sum), "GET 503");
    wb_result_free(&res);
    /* The 503 paused the tenant's ERP for its Retry-After (1 s); a paused gate gives the job
     * back at once instead of sleeping, so wait the pause out here. */
    sleep_ms(1050);

    /* An unknown record: permanent, with IFS's code. */
    approve("purchase_orders", "9999", NULL, &res);
    assert_int_equal(res.status, WB_FAILED);
    assert_false(res.retryable);
    assert_non_null(strstr(res.error, "ifs answered 404: ODP_RESOURCE_NOTFOUND"));
    wb_result_free(&res);
    tenant_cfg_free(&tenant);
}

static void test_audit_only(void **state)
{
    ifs_tenant("[{\"name\":\"purchase_orders\",\"writeback\":{\"mode\":\"audit_only\"}}]");
    long before = sim_counter(ifs_httpd, "total", NULL);
    wb_result_t res;
    approve("purchase_orders", "4510", NULL, &res);
    assert_int_equal(res.status, WB_NOT_APPLICABLE);
    assert_string_equal(res.error, "audit_only");
    assert_int_equal(json_array_size(res.calls), 0);
    wb_result_free(&res);
    assert_int_equal(sim_counter(ifs_httpd, "total", NULL), before);
    tenant_cfg_free(&tenant);

    /* M3 purchase orders have no approval transaction: audit only by default. */
    ion_tenant("m3", NULL);
    before = sim_counter(ion_httpd, "total", NULL);
    approve("purchase_orders", "0000004001", NULL, &res);
    assert_int_equal(res.status, WB_NOT_APPLICABLE);
    assert_string_equal(res.error, "audit_only");
    assert_int_equal(json_array_size(res.calls), 0);
    wb_result_free(&res);
    assert_int_equal(sim_counter(ion_httpd, "total", NULL), before);
    tenant_cfg_free(&tenant);
}

/* ---- M3 ---------------------------------------------------------------------------------- */

#define APPROVE_ROUTE "GET M3 v2 APS450MI/ApproveInvoice 200"

static void test_m3_approve_once(void **state)
{
    char sum[256];
    ion_tenant("m3", NULL);
    json_decref(ion_modify("DEMO_TST", "invoice", "3", "{\"SUPA\":\"20\"}"));
    long runs_before = sim_counter(ion_httpd, NULL, APPROVE_ROUTE);
    wb_result_t res;
    approve("supplier_invoices", "3", NULL, &res);
    assert_int_equal(res.status, WB_APPLIED);
    assert_string_equal(calls_summary(&res, sum, sizeof sum), "GET 200, GET 200");
    const char *url = json_string_value(json_object_get(json_array_get(res.calls, 1), "url"));
    assert_non_null(strstr(url, "/DEMO_TST/M3/m3api-rest/v2/execute/APS450MI/ApproveInvoice"
                                "?CONO=100&DIVI=AAA&INBN=3"));
    assert_null(res.etag);
    assert_no_secret(&res, "ion");
    wb_result_free(&res);

    /* Again: GetHead shows SUPA 90, ApproveInvoice is not run. */
    approve("supplier_invoices", "3", NULL, &res);
    assert_int_equal(res.status, WB_ALREADY);
    assert_string_equal(res.error, "SUPA is 90: already applied");
    assert_string_equal(calls_summary(&res, sum, sizeof sum), "GET 200");
    wb_result_free(&res);
    assert_int_equal(sim_counter(ion_httpd, NULL, APPROVE_ROUTE), runs_before + 1);
    json_t *rec = ion_record("DEMO_TST", "invoice", "3");
    assert_string_equal(json_string_value(json_object_get(json_object_get(rec, "fields"), "SUPA")),
                        "90");
    assert_int_equal(ion_log_count(rec, "APS450MI/ApproveInvoice", 0), 1);
    assert_int_equal(ion_log_count(rec, "APS450MI/ApproveInvoice", 1), 0);
    json_decref(rec);

    /* An error inside a 200 is a permanent failure. */
    approve("supplier_invoices", "99999", NULL, &res);
    assert_int_equal(res.status, WB_FAILED);
    assert_false(res.retryable);
    assert_string_equal(res.error, "m3 APS450MI/GetHead ServerReturnedNOK WIN0103 field INBN: "
                                   "Invoice batch number 99999 does not exist");
    wb_result_free(&res);
    tenant_cfg_free(&tenant);

    /* The same over v1, and a blocked state configured by the flow. */
    ion_tenant("m3", "[{\"name\":\"supplier_invoices\",\"api\":\"v1\",\"writeback\":"
                     "{\"blocked_states\":[\"10\"]}}]");
    json_decref(ion_modify("DEMO_TST", "invoice", "4", "{\"SUPA\":\"20\"}"));
    approve("supplier_invoices", "4", NULL, &res);
    assert_int_equal(res.status, WB_APPLIED);
    assert_non_null(strstr(json_string_value(json_object_get(json_array_get(res.calls, 1), "url")),
                           "/M3/m3api-rest/execute/APS450MI/ApproveInvoice?"));
    wb_result_free(&res);
    approve("supplier_invoices", "4", NULL, &res);
    assert_int_equal(res.status, WB_ALREADY);
    wb_result_free(&res);
    json_decref(ion_modify("DEMO_TST", "invoice", "5", "{\"SUPA\":\"10\"}"));
    approve("supplier_invoices", "5", NULL, &res);
    assert_int_equal(res.status, WB_NOT_APPLICABLE);
    assert_string_equal(res.error, "SUPA is 10: approval not applicable");
    wb_result_free(&res);
    rec = ion_record("DEMO_TST", "invoice", "5");
    assert_string_equal(json_string_value(json_object_get(json_object_get(rec, "fields"), "SUPA")),
                        "10");
    json_decref(rec);
    tenant_cfg_free(&tenant);
}

/* ---- SyteLine ---------------------------------------------------------------------------- */

static char *sl_item_id(const char *table, const char *key)
{
    json_t *rec = ion_record("DEMO_CSI", table, key);
    char *id = xstrdup(json_string_value(json_object_get(rec, "_ItemId")));
    json_decref(rec);
    return id;
}

static void test_syteline_stale_item_id(void **state)
{
    char sum[256];
    ion_tenant("syteline", NULL);
    json_decref(ion_modify("DEMO_CSI", "po", "PO00004002", "{\"Stat\":\"P\"}"));
    char *old = sl_item_id("po", "PO00004002");
    /* Someone changes the row after the poller read it: the ItemId moves. */
    json_decref(ion_modify("DEMO_CSI", "po", "PO00004002", "{\"Buyer\":\"JDOE\"}"));
    char *fresh = sl_item_id("po", "PO00004002");
    assert_string_not_equal(old, fresh);
    long conflicts_before = sim_counter(ion_httpd, "write_conflicts", NULL);

    wb_result_t res;
    approve("purchase_orders", "PO00004002", old, &res);
    assert_int_equal(res.status, WB_APPLIED);
    assert_int_equal(res.conflicts, 1);
    assert_string_equal(calls_summary(&res, sum, sizeof sum), "POST 200, GET 200, POST 200");
    const char *body = json_string_value(json_object_get(json_array_get(res.calls, 2), "request"));
    assert_non_null(strstr(body, "\"Action\":2"));
    assert_non_null(strstr(body, "\"UpdateLocking\":1"));
    assert_non_null(strstr(body, fresh + 10));   /* the ItemId as reloaded (JSON-escaped start) */
    assert_non_null(strstr(json_string_value(json_object_get(json_array_get(res.calls, 1), "url")),
                           "filter=PoNum%20%3D%20%27PO00004002%27"));
    char *now = sl_item_id("po", "PO00004002");
    assert_non_null(res.etag);
    assert_string_equal(res.etag, now);
    assert_no_secret(&res, "ion");
    wb_result_free(&res);
    json_t *rec = ion_record("DEMO_CSI", "po", "PO00004002");
    assert_string_equal(json_string_value(json_object_get(json_object_get(rec, "fields"), "Stat")),
                        "O");
    assert_int_equal(ion_log_count(rec, "ido/update", 0), 1);   /* applied once */
    assert_int_equal(ion_log_count(rec, "ido/update", 1), 1);   /* the stale attempt */
    json_decref(rec);
    assert_int_equal(sim_counter(ion_httpd, "write_conflicts", NULL), conflicts_before + 1);

    /* Again without a token: the load shows O, nothing is sent. */
    approve("purchase_orders", "PO00004002", NULL, &res);
    assert_int_equal(res.status, WB_ALREADY);
    assert_string_equal(calls_summary(&res, sum, sizeof sum), "GET 200");
    wb_result_free(&res);
    rec = ion_record("DEMO_CSI", "po", "PO00004002");
    assert_int_equal(ion_log_count(rec, "ido/update", 0), 1);
    json_decref(rec);
    free(old);
    free(fresh);
    free(now);
    tenant_cfg_free(&tenant);
}

static void test_syteline_vouchers(void **state)
{
    char sum[256];
    ion_tenant("syteline", NULL);
    json_decref(ion_modify("DEMO_CSI", "invoice", "5", "{\"Stat\":\"P\"}"));
    char *id = sl_item_id("invoice", "5");
    wb_result_t res;
    approve("supplier_invoices", "5", id, &res);
    assert_int_equal(res.status, WB_APPLIED);
    assert_string_equal(calls_summary(&res, sum, sizeof sum), "POST 200");
    wb_result_free(&res);
    json_t *rec = ion_record("DEMO_CSI", "invoice", "5");
    assert_string_equal(json_string_value(json_object_get(json_object_get(rec, "fields"), "Stat")),
                        "A");
    json_decref(rec);
    free(id);

    /* On hold: blocked, nothing sent. */
    json_decref(ion_modify("DEMO_CSI", "invoice", "6", "{\"Stat\":\"H\"}"));
    approve("supplier_invoices", "6", NULL, &res);
    assert_int_equal(res.status, WB_NOT_APPLICABLE);
    assert_string_equal(res.error, "Stat is H: approval not applicable");
    wb_result_free(&res);
    rec = ion_record("DEMO_CSI", "invoice", "6");
    assert_int_equal(ion_log_count(rec, "ido/update", 0), 0);
    json_decref(rec);

    /* An unknown key: permanent. */
    approve("supplier_invoices", "99999", NULL, &res);
    assert_int_equal(res.status, WB_FAILED);
    assert_false(res.retryable);
    assert_string_equal(res.error, "syteline SLVchHdrs: no row with Voucher = 99999");
    wb_result_free(&res);
    tenant_cfg_free(&tenant);

    /* A refusal that is not a stale ItemId (the reload shows the same one): final, no retry. */
    ion_tenant("syteline", "[{\"name\":\"supplier_invoices\",\"writeback\":{\"value\":\"Z\"}}]");
    json_decref(ion_modify("DEMO_CSI", "invoice", "7", "{\"Stat\":\"P\"}"));
    approve("supplier_invoices", "7", NULL, &res);
    assert_int_equal(res.status, WB_FAILED);
    assert_false(res.retryable);
    assert_int_equal(res.conflicts, 0);
    assert_string_equal(calls_summary(&res, sum, sizeof sum), "GET 200, POST 200, GET 200");
    assert_string_equal(res.error, "syteline SLVchHdrs: Stat: 'Z' is not one of P A H R");
    wb_result_free(&res);
    tenant_cfg_free(&tenant);
}

/* What goes into the audit: bodies cut at 2 KB on a UTF-8 boundary, never invalid UTF-8. */
static void test_call_bodies(void **state)
{
    char big[3000];
    memset(big, 'x', sizeof big);
    json_t *j = wb_body_json(big, sizeof big);
    assert_int_equal(json_string_length(j), 2048);
    json_decref(j);
    /* "\xc3\xa9" (e acute) from byte 1: byte 2048 would split one. */
    big[0] = 'a';
    for (size_t i = 1; i + 1 < sizeof big; i += 2) {
        big[i] = (char)0xc3;
        big[i + 1] = (char)0xa9;
    }
    j = wb_body_json(big, sizeof big - 1);
    assert_non_null(j);
    assert_int_equal(json_string_length(j), 2047);
    json_decref(j);
    j = wb_body_json("ok \xff\xfe end", 9);
    assert_string_equal(json_string_value(j), "ok ?? end");
    json_decref(j);
    j = wb_body_json(NULL, 0);
    assert_true(json_is_null(j));
    json_decref(j);
}

/* The entity URL the IFS driver writes to: the key quoted, encoded inside the quotes. */
static void test_ifs_entity_url(void **state)
{
    flow_cfg_t f = { .entity = "PurchaseOrderHandling.svc/PurchaseOrderSet", .key_field = "OrderNo" };
    char *u = ifs_entity_url("http://h:1", &f, "4711");
    assert_string_equal(u, "http://h:1/main/ifsapplications/projection/v1/PurchaseOrderHandling.svc/"
                           "PurchaseOrderSet(OrderNo='4711')");
    free(u);
    u = ifs_entity_url("http://h:1/", &f, "A'B 1");
    assert_string_equal(u, "http://h:1/main/ifsapplications/projection/v1/PurchaseOrderHandling.svc/"
                           "PurchaseOrderSet(OrderNo='A%27%27B%201')");
    free(u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_settings_defaults),
        cmocka_unit_test(test_settings_overrides),
        cmocka_unit_test(test_ifs_approve_with_if_match),
        cmocka_unit_test(test_ifs_stale_etag_rereads),
        cmocka_unit_test(test_ifs_blocked_state),
        cmocka_unit_test(test_ifs_patch_and_invoice),
        cmocka_unit_test(test_ifs_token_and_errors),
        cmocka_unit_test(test_audit_only),
        cmocka_unit_test(test_m3_approve_once),
        cmocka_unit_test(test_syteline_stale_item_id),
        cmocka_unit_test(test_syteline_vouchers),
        cmocka_unit_test(test_call_bodies),
        cmocka_unit_test(test_ifs_entity_url),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
