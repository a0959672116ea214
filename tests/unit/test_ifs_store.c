/* Unit tests for sim/ifs_store.c (with ifs_seed and ifs_schema): deterministic seeding, queries
 * with filters, ordering, $top/$skip and server-driven paging, single reads, and the write
 * rules (404, 428, 412, 400, atomicity, ETag movement, write log). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ifs_seed.h"
#include "ifs_store.h"
#include "odata.h"
#include "util.h"

#define NOW 1795000000   /* 2026-11-18T11:06:40Z */

typedef struct {
    ifs_store_t *st;
    ifs_seed_t   seed;
} fx_t;

static int setup(void **state)
{
    fx_t *fx = xcalloc(1, sizeof *fx);
    ifs_seed_init(&fx->seed);
    fx->seed.pos = 1000;
    fx->seed.invoices = 20;
    fx->seed.suppliers = 5;
    fx->st = ifs_store_new();
    ifs_store_seed(fx->st, &fx->seed, NOW);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    ifs_store_destroy(&fx->st);
    ifs_store_destroy(&fx->st);   /* safe twice */
    ifs_seed_free(&fx->seed);
    free(fx);
    return 0;
}

/* Runs a PO query with the given options and page size; returns the parsed response. */
static json_t *query(fx_t *fx, const char *filter, const char *orderby, const char *top,
                     long skiptoken, long page_size)
{
    const char *names[4], *values[4];
    size_t n = 0;
    if (filter) { names[n] = "$filter"; values[n++] = filter; }
    if (orderby) { names[n] = "$orderby"; values[n++] = orderby; }
    if (top) { names[n] = "$top"; values[n++] = top; }
    odata_query_t q;
    char err[512];
    const ifs_set_def_t *def = ifs_set_def(IFS_PO);
    if (odata_query_parse(&q, names, values, n, &def->schema, err, sizeof err) < 0)
        fail_msg("query: %s", err);
    q.skiptoken = skiptoken;
    q.count = true;
    ifs_page_opts_t o = {"ctx", "http://x/PurchaseOrderSet?", page_size, false};
    buf_t b;
    buf_init(&b);
    ifs_store_query(fx->st, IFS_PO, &q, &o, &b);
    json_error_t jerr;
    json_t *j = json_loadb(b.data, b.len, 0, &jerr);
    if (!j)
        fail_msg("response is not JSON: %s", jerr.text);
    buf_free(&b);
    odata_query_free(&q);
    return j;
}

static const char *member(const json_t *row, const char *name)
{
    return json_string_value(json_object_get(row, name));
}

static void test_seed_is_deterministic(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(ifs_store_count(fx->st, IFS_PO), 1000);
    assert_int_equal(ifs_store_count(fx->st, IFS_INVOICE), 20);
    assert_int_equal(ifs_store_count(fx->st, IFS_SUPPLIER), 5);
    json_t *a = ifs_seed_row(&fx->seed, IFS_PO, 210, NOW);
    json_t *b = ifs_seed_row(&fx->seed, IFS_PO, 210, NOW);
    assert_true(json_equal(a, b));
    assert_string_equal(member(a, "OrderNo"), "4711");
    assert_string_equal(member(a, "Company"), "10");
    /* ChangedDate within the 30 days before NOW */
    int64_t changed = parse_iso8601(member(a, "ChangedDate")) / 1000;
    assert_true(changed <= NOW && changed > NOW - 30 * 86400);
    fx->seed.random_seed = 43;
    json_t *c = ifs_seed_row(&fx->seed, IFS_PO, 210, NOW);
    assert_false(json_equal(a, c));
    json_t *inv = ifs_seed_row(&fx->seed, IFS_INVOICE, 0, NOW);
    assert_string_equal(member(inv, "InvoiceNo"), "SI-2026-00001");
    assert_string_equal(member(inv, "InvoiceId"), "1");
    json_decref(a);
    json_decref(b);
    json_decref(c);
    json_decref(inv);
}

static void test_paging_covers_everything_once(void **state)
{
    fx_t *fx = *state;
    long token = 0, seen = 0;
    char last[16] = "";
    for (int pages = 0; pages < 20; pages++) {
        json_t *j = query(fx, NULL, NULL, NULL, token, 300);
        assert_int_equal(json_integer_value(json_object_get(j, "@odata.count")), 1000);
        json_t *v = json_object_get(j, "value");
        for (size_t i = 0; i < json_array_size(v); i++) {
            const char *k = member(json_array_get(v, i), "OrderNo");
            assert_true(strcmp(k, last) > 0);   /* key order, no repeats */
            snprintf(last, sizeof last, "%s", k);
        }
        seen += (long)json_array_size(v);
        const char *next = member(j, "@odata.nextLink");
        if (!next) {
            json_decref(j);
            break;
        }
        const char *tok = strstr(next, "$skiptoken=");
        assert_non_null(tok);
        assert_true(str_starts(next, "http://x/PurchaseOrderSet?$skiptoken="));
        token = odata_skiptoken_decode(tok + 11);
        assert_int_equal(token, seen);
        json_decref(j);
    }
    assert_int_equal(seen, 1000);
}

static void test_top_limits_total_across_pages(void **state)
{
    fx_t *fx = *state;
    json_t *j = query(fx, NULL, "NetAmtCurr desc", "250", 0, 100);
    assert_int_equal(json_array_size(json_object_get(j, "value")), 100);
    assert_non_null(json_object_get(j, "@odata.nextLink"));
    json_decref(j);
    j = query(fx, NULL, "NetAmtCurr desc", "250", 200, 100);
    assert_int_equal(json_array_size(json_object_get(j, "value")), 50);
    assert_null(json_object_get(j, "@odata.nextLink"));
    json_decref(j);
    j = query(fx, NULL, NULL, "0", 0, 100);
    assert_int_equal(json_array_size(json_object_get(j, "value")), 0);
    json_decref(j);
}

static void test_filter_and_order(void **state)
{
    fx_t *fx = *state;
    json_t *j = query(fx, "CurrencyCode eq 'EUR' and NetAmtCurr ge 1000",
                      "ChangedDate desc,OrderNo", NULL, 0, 5000);
    json_t *v = json_object_get(j, "value");
    assert_true(json_array_size(v) > 10);
    assert_int_equal(json_integer_value(json_object_get(j, "@odata.count")),
                     json_array_size(v));
    for (size_t i = 0; i < json_array_size(v); i++) {
        json_t *r = json_array_get(v, i);
        assert_string_equal(member(r, "CurrencyCode"), "EUR");
        assert_true(json_number_value(json_object_get(r, "NetAmtCurr")) >= 1000);
        if (i)
            assert_true(strcmp(member(json_array_get(v, i - 1), "ChangedDate"),
                               member(r, "ChangedDate")) >= 0);
    }
    json_decref(j);
}

/* Reads PO key; returns its ETag (static buffer) or NULL when absent. */
static const char *etag_of(fx_t *fx, const char *key, json_t **entity)
{
    static char etag[IFS_ETAG_MAX];
    buf_t b;
    buf_init(&b);
    const size_t select[] = {0, 8};   /* OrderNo, NetAmtCurr */
    int rc = ifs_store_get(fx->st, IFS_PO, key, entity ? NULL : select, entity ? 0 : 2, NULL,
                           false, &b, etag);
    if (rc == 0 && entity)
        *entity = json_loadb(b.data, b.len, 0, NULL);
    if (rc == 0 && !entity) {
        json_t *j = json_loadb(b.data, b.len, 0, NULL);
        assert_int_equal(json_object_size(j), 3);   /* etag + the two selected */
        assert_string_equal(member(j, "@odata.etag"), etag);
        json_decref(j);
    }
    buf_free(&b);
    return rc == 0 ? etag : NULL;
}

static int write_po(fx_t *fx, ifs_write_kind_t kind, const char *key, const char *if_match,
                    const char *changes_json, const char *action, int64_t now,
                    ifs_write_result_t *res)
{
    json_t *changes = changes_json ? json_loads(changes_json, 0, NULL) : NULL;
    ifs_write_t w = {kind, "mlc-demo", if_match, changes, action, NULL};
    ifs_store_write(fx->st, IFS_PO, key, &w, now, NULL, false, NULL, res);
    json_decref(changes);
    return res->status;
}

static void test_write_rules(void **state)
{
    fx_t *fx = *state;
    ifs_write_result_t res;
    char etag[IFS_ETAG_MAX];
    snprintf(etag, sizeof etag, "%s", etag_of(fx, "4711", NULL));
    assert_true(str_starts(etag, "W/\""));

    assert_int_equal(write_po(fx, IFS_WRITE_PATCH, "99999", etag, "{}", NULL, NOW, &res), 404);
    assert_int_equal(write_po(fx, IFS_WRITE_PATCH, "4711", NULL, "{\"CodeA\":\"1\"}", NULL,
                              NOW, &res), 428);
    assert_string_equal(res.code, "ODP_MISSING_PRECONDITION");
    assert_int_equal(write_po(fx, IFS_WRITE_PATCH, "4711", "*", "{\"CodeA\":\"1\"}", NULL,
                              NOW, &res), 428);
    assert_int_equal(write_po(fx, IFS_WRITE_PATCH, "4711", "W/\"x\"", "{\"CodeA\":\"1\"}",
                              NULL, NOW, &res), 412);
    assert_string_equal(res.code, "ODP_PRECONDITION_FAILED");
    /* the strong form of the right ETag is not the weak one as sent */
    assert_int_equal(write_po(fx, IFS_WRITE_PATCH, "4711", etag + 2, "{\"CodeA\":\"1\"}",
                              NULL, NOW, &res), 412);
    /* atomic: a valid member next to a read-only one changes nothing */
    assert_int_equal(write_po(fx, IFS_WRITE_PATCH, "4711", etag,
                              "{\"CodeA\":\"1\",\"NetAmtCurr\":5}", NULL, NOW, &res), 400);
    assert_non_null(strstr(res.message, "read-only"));
    assert_int_equal(write_po(fx, IFS_WRITE_PATCH, "4711", etag, "{\"CodeA\":5}", NULL, NOW,
                              &res), 400);
    assert_int_equal(write_po(fx, IFS_WRITE_PATCH, "4711", etag, "{\"Nope\":\"1\"}", NULL, NOW,
                              &res), 400);
    assert_string_equal(etag_of(fx, "4711", NULL), etag);

    assert_int_equal(write_po(fx, IFS_WRITE_PATCH, "4711", etag,
                              "{\"CodeA\":\"4999\",\"@odata.etag\":\"ignored\"}", NULL, NOW,
                              &res), 200);
    assert_string_not_equal(res.etag, etag);
    char etag2[IFS_ETAG_MAX];
    snprintf(etag2, sizeof etag2, "%s", res.etag);
    /* a second change in the same second still moves the ETag */
    assert_int_equal(write_po(fx, IFS_WRITE_ACTION, "4711", etag2, NULL, "Approve", NOW, &res),
                      200);
    assert_string_not_equal(res.etag, etag2);
    json_t *e = NULL;
    etag_of(fx, "4711", &e);
    assert_string_equal(member(e, "CodeA"), "4999");
    assert_string_equal(member(e, "Objstate"), "Authorized");
    char now_text[32];
    assert_string_equal(member(e, "ChangedDate"), iso8601_s(NOW, now_text, sizeof now_text));
    json_decref(e);
    snprintf(etag2, sizeof etag2, "%s", res.etag);
    assert_int_equal(write_po(fx, IFS_WRITE_ACTION, "4711", etag2, NULL, "Explode", NOW, &res),
                     400);

    buf_t b;
    buf_init(&b);
    assert_int_equal(ifs_store_inspect(fx->st, IFS_PO, "4711", &b), 0);
    json_t *ins = json_loadb(b.data, b.len, 0, NULL);
    buf_free(&b);
    json_t *log = json_object_get(ins, "write_log");
    const int expected[] = {428, 428, 412, 412, 400, 400, 400, 200, 200, 400};
    assert_int_equal(json_array_size(log), sizeof expected / sizeof expected[0]);
    for (size_t i = 0; i < json_array_size(log); i++)
        assert_int_equal(json_integer_value(json_object_get(json_array_get(log, i), "status")),
                         expected[i]);
    json_decref(ins);
    assert_int_equal(ifs_store_inspect(fx->st, IFS_PO, "nope", &b), -1);
}

static void test_sim_modify_and_create(void **state)
{
    fx_t *fx = *state;
    ifs_write_result_t res;
    char before[IFS_ETAG_MAX];
    snprintf(before, sizeof before, "%s", etag_of(fx, "4600", NULL));
    /* SIM writes need no If-Match, may change read-only members and set ChangedDate */
    assert_int_equal(write_po(fx, IFS_WRITE_SIM, "4600", NULL,
                              "{\"NetAmtCurr\":\"99.50\",\"ChangedDate\":\"2026-01-02T03:04:05Z\"}",
                              NULL, NOW, &res), 200);
    assert_string_not_equal(res.etag, before);
    json_t *e = NULL;
    etag_of(fx, "4600", &e);
    assert_true(json_number_value(json_object_get(e, "NetAmtCurr")) == 99.5);
    assert_string_equal(member(e, "ChangedDate"), "2026-01-02T03:04:05Z");
    json_decref(e);
    assert_int_equal(write_po(fx, IFS_WRITE_SIM, "4600", NULL, "{\"OrderNo\":\"1\"}", NULL, NOW,
                              &res), 400);
    assert_int_equal(write_po(fx, IFS_WRITE_SIM, "4600", NULL,
                              "{\"ChangedDate\":\"2026-01-02\"}", NULL, NOW, &res), 400);

    json_t *tmpl = ifs_seed_row(&fx->seed, IFS_PO, 0, NOW);
    json_t *changes = json_pack("{s:s}", "CodeB", "CC999");
    ifs_write_t w = {IFS_WRITE_SIM, NULL, NULL, changes, NULL, tmpl};
    ifs_store_write(fx->st, IFS_PO, "0001", &w, NOW, NULL, false, NULL, &res);
    assert_int_equal(res.status, 200);
    assert_int_equal(ifs_store_count(fx->st, IFS_PO), 1001);
    json_decref(changes);
    json_decref(tmpl);
    e = NULL;
    etag_of(fx, "0001", &e);
    assert_string_equal(member(e, "CodeB"), "CC999");
    json_decref(e);
    /* the new key sorts first and the index still finds every other row */
    json_t *j = query(fx, NULL, NULL, "1", 0, 10);
    assert_string_equal(member(json_array_get(json_object_get(j, "value"), 0), "OrderNo"),
                        "0001");
    json_decref(j);
    assert_non_null(etag_of(fx, "4501", NULL));
    assert_non_null(etag_of(fx, "5500", NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_seed_is_deterministic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paging_covers_everything_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_top_limits_total_across_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filter_and_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sim_modify_and_create, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
