/* Unit tests for common/record.c: mapping ERP rows (trimming, numbers, dates, rejects),
 * canonical JSON and hash stability/sensitivity, JSON round trip, decimal_canon. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "record.h"

/* The IFS default purchase-order map (config.c), spelled out so this test stands alone. */
static const char PO_MAP[] =
    "{\"erp_key\":\"OrderNo\",\"number\":\"OrderNo\",\"supplier_id\":\"VendorNo\","
    "\"supplier_name\":\"VendorName\",\"amount\":\"NetAmtCurr\",\"currency\":\"CurrencyCode\","
    "\"gl_account\":\"CodeA\",\"cost_center\":\"CodeB\",\"status\":\"Objstate\","
    "\"doc_date\":\"OrderDate\",\"due_date\":\"DueDate\",\"modified_at\":\"ChangedDate\","
    "\"etag\":\"@odata.etag\"}";

static const char PO_ROW[] =
    "{\"@odata.etag\":\"W/\\\"QUFBOjIwMjYwMTMxMTAwMDAw\\\"\",\"OrderNo\":\"  P4711  \","
    "\"VendorNo\":\"V100 \",\"VendorName\":\"ACME \\u00c9tudes GmbH   \",\"NetAmtCurr\":\"001234.500\","
    "\"CurrencyCode\":\"EUR\",\"CodeA\":\"4000\",\"CodeB\":null,\"Objstate\":\"Released\","
    "\"OrderDate\":\"2026-01-31T10:00:00Z\",\"DueDate\":\"20260228\","
    "\"ChangedDate\":\"2026-02-01T08:15:00Z\",\"Company\":\"10\"}";

static json_t *load(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, 0, &jerr);
    if (!v)
        fail_msg("bad test JSON: %s", jerr.text);
    return v;
}

/* Maps row with map; asserts success and returns the record in *r. */
static void map_ok(const char *row_text, const char *map_text, const char *kind, record_t *r)
{
    json_t *row = load(row_text), *map = load(map_text);
    char err[256] = "";
    if (record_map(row, map, kind, r, err, sizeof err) != 0)
        fail_msg("record_map failed: %s", err);
    json_decref(row);
    json_decref(map);
}

/* Maps row with map; asserts failure with exactly the message want and a zeroed record. */
static void map_fails(const char *row_text, const char *map_text, const char *want)
{
    json_t *row = load(row_text), *map = load(map_text);
    record_t r, zero;
    memset(&zero, 0, sizeof zero);
    char err[256] = "";
    assert_int_equal(record_map(row, map, "po", &r, err, sizeof err), -1);
    assert_string_equal(err, want);
    assert_memory_equal(&r, &zero, sizeof r);
    json_decref(row);
    json_decref(map);
}

static void test_map_ifs_row_trims_and_normalizes(void **state)
{
    (void)state;
    record_t r;
    map_ok(PO_ROW, PO_MAP, "po", &r);
    assert_string_equal(r.kind, "po");
    assert_string_equal(r.erp_key, "P4711");
    assert_string_equal(r.number, "P4711");
    assert_string_equal(r.supplier_id, "V100");
    assert_string_equal(r.supplier_name, "ACME \xc3\x89tudes GmbH");
    assert_string_equal(r.amount, "1234.5");
    assert_string_equal(r.currency, "EUR");
    assert_string_equal(r.gl_account, "4000");
    assert_null(r.cost_center);
    assert_string_equal(r.status, "Released");
    assert_string_equal(r.doc_date, "2026-01-31");
    assert_string_equal(r.due_date, "2026-02-28");
    assert_string_equal(r.modified_at, "2026-02-01T08:15:00Z");
    assert_string_equal(r.etag, "W/\"QUFBOjIwMjYwMTMxMTAwMDAw\"");
    char *ref = record_ref(&r);
    assert_string_equal(ref, "po:P4711");
    free(ref);
    record_free(&r);
    assert_null(r.erp_key);
    record_free(&r); /* safe twice */
}

static void test_map_m3_style_numbers_and_dates(void **state)
{
    (void)state;
    const char *map = "{\"erp_key\":\"PUNO\",\"number\":\"PUNO\",\"amount\":\"LNAM\","
                      "\"doc_date\":\"PUDT\",\"due_date\":\"DWDT\",\"gl_account\":\"AIT1\","
                      "\"status\":\"PUST\",\"supplier_name\":\"SUNM\"}";
    record_t r;
    map_ok("{\"PUNO\":1000001,\"LNAM\":1234.5,\"PUDT\":20260131,\"DWDT\":\"0\",\"AIT1\":\"   \","
           "\"PUST\":true,\"SUNM\":\"\"}",
           map, "invoice", &r);
    assert_string_equal(r.kind, "invoice");
    assert_string_equal(r.erp_key, "1000001");
    assert_string_equal(r.amount, "1234.5");
    assert_string_equal(r.doc_date, "2026-01-31");
    assert_null(r.due_date);      /* M3 "no date" */
    assert_null(r.gl_account);    /* blank after trimming */
    assert_null(r.supplier_name); /* empty */
    assert_string_equal(r.status, "true");
    record_free(&r);

    /* Binary floating-point amounts: %.17g, rounded to 6 places, canonical. */
    const struct { const char *json; const char *amount; } reals[] = {
        {"0.1", "0.1"},          {"2.675", "2.675"},       {"-1234.50", "-1234.5"},
        {"1000", "1000"},        {"-0.0", "0"},            {"0.0000004", "0"},
        {"0.1234565", "0.123457"}, {"-0.9999999", "-1"},   {"9.99999951", "10"},
        {"1e20", "100000000000000000000"}, {"123456789012.25", "123456789012.25"},
    };
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++) {
        char row[128];
        snprintf(row, sizeof row, "{\"PUNO\":\"1\",\"LNAM\":%s}", reals[i].json);
        map_ok(row, map, "po", &r);
        if (strcmp(r.amount, reals[i].amount) != 0)
            fail_msg("%s -> %s, want %s", reals[i].json, r.amount, reals[i].amount);
        record_free(&r);
    }
    /* Amount strings keep their exact digits (no rounding). */
    map_ok("{\"PUNO\":\"1\",\"LNAM\":\" 0.1234567890 \"}", map, "po", &r);
    assert_string_equal(r.amount, "0.123456789");
    record_free(&r);
}

static void test_map_rejects(void **state)
{
    (void)state;
    const char *map = "{\"erp_key\":\"OrderNo\",\"number\":\"OrderNo\",\"amount\":\"NetAmtCurr\","
                      "\"doc_date\":\"OrderDate\",\"supplier_name\":\"VendorName\"}";
    map_fails("{\"NetAmtCurr\":1}", map, "OrderNo: missing (mapped to erp_key)");
    map_fails("{\"OrderNo\":null}", map, "OrderNo: missing (mapped to erp_key)");
    map_fails("{\"OrderNo\":\"   \"}", map, "OrderNo: missing (mapped to erp_key)");
    map_fails("{\"OrderNo\":\"P1\"}", "{\"erp_key\":\"OrderNo\"}", "map.number: missing");
    map_fails("{\"OrderNo\":\"P1\"}", "{\"number\":\"OrderNo\"}", "map.erp_key: missing");
    map_fails("{\"OrderNo\":\"P1\",\"NetAmtCurr\":\"1,234.50\"}", map,
              "NetAmtCurr: not a decimal (\"1,234.50\", mapped to amount)");
    map_fails("{\"OrderNo\":\"P1\",\"NetAmtCurr\":\"1e3\"}", map,
              "NetAmtCurr: not a decimal (\"1e3\", mapped to amount)");
    map_fails("{\"OrderNo\":\"P1\",\"OrderDate\":\"31.01.2026\"}", map,
              "OrderDate: not a date (\"31.01.2026\", mapped to doc_date)");
    map_fails("{\"OrderNo\":\"P1\",\"OrderDate\":\"20261331\"}", map,
              "OrderDate: not a date (\"20261331\", mapped to doc_date)");
    map_fails("{\"OrderNo\":\"P1\",\"OrderDate\":\"2026-01-31X\"}", map,
              "OrderDate: not a date (\"2026-01-31X\", mapped to doc_date)");
    map_fails("{\"OrderNo\":\"P1\",\"VendorName\":{\"x\":1}}", map,
              "VendorName: must be a string or number (mapped to supplier_name)");
    map_fails("{\"OrderNo\":[\"P1\"]}", map,
              "OrderNo: must be a string or number (mapped to erp_key)");

    json_t *map_obj = load(map), *arr = json_array();
    record_t r;
    char err[128];
    assert_int_equal(record_map(arr, map_obj, "po", &r, err, sizeof err), -1);
    assert_string_equal(err, "row: must be a JSON object");
    json_decref(arr);
    json_decref(map_obj);
}

static void test_canonical_json_and_hash(void **state)
{
    (void)state;
    record_t r;
    map_ok(PO_ROW, PO_MAP, "po", &r);
    char *canon = record_canonical_json(&r);
    assert_string_equal(canon,
                        "{\"amount\":\"1234.5\",\"currency\":\"EUR\",\"doc_date\":\"2026-01-31\","
                        "\"due_date\":\"2026-02-28\",\"erp_key\":\"P4711\",\"gl_account\":\"4000\","
                        "\"kind\":\"po\",\"number\":\"P4711\",\"status\":\"Released\","
                        "\"supplier_id\":\"V100\",\"supplier_name\":\"ACME \xc3\x89tudes GmbH\"}");
    free(canon);
    char h1[65], h2[65];
    record_hash(&r, h1);
    /* sha256 of the canonical JSON above (computed independently with sha256sum). */
    assert_string_equal(h1, "4c8a4817faa31805ed1c75fbd4aab10b6f11e2e80230a26e63542856ed40bdee");

    /* Same content with other padding, amount spelling, timestamp, modification stamp and
     * etag: the same hash. */
    record_t same;
    map_ok("{\"OrderNo\":\"P4711\",\"VendorNo\":\"V100\",\"VendorName\":\"ACME \xc3\x89tudes GmbH\","
           "\"NetAmtCurr\":1234.50,\"CurrencyCode\":\" EUR\",\"CodeA\":4000,\"Objstate\":\"Released\","
           "\"OrderDate\":\"20260131\",\"DueDate\":\"2026-02-28\",\"ChangedDate\":\"2027-01-01T00:00:00Z\","
           "\"@odata.etag\":\"W/\\\"other\\\"\"}",
           PO_MAP, "po", &same);
    record_hash(&same, h2);
    assert_string_equal(h1, h2);
    record_free(&same);

    /* Every hashed field changes the hash; modified_at and etag do not. */
    const char *const fields[] = {"kind", "erp_key", "number", "supplier_id", "supplier_name",
                                  "amount", "currency", "gl_account", "cost_center", "status",
                                  "doc_date", "due_date", NULL};
    json_t *base = record_to_json(&r);
    for (size_t i = 0; fields[i]; i++) {
        json_t *changed = json_deep_copy(base);
        json_object_set_new(changed, fields[i], json_string("X"));
        record_t c;
        assert_int_equal(record_from_json(changed, &c), 0);
        record_hash(&c, h2);
        if (strcmp(h1, h2) == 0)
            fail_msg("changing %s did not change the hash", fields[i]);
        record_free(&c);
        json_decref(changed);
    }
    const char *const unhashed[] = {"modified_at", "etag"};
    for (size_t i = 0; i < 2; i++) {
        json_t *changed = json_deep_copy(base);
        json_object_set_new(changed, unhashed[i], json_string("X"));
        record_t c;
        assert_int_equal(record_from_json(changed, &c), 0);
        record_hash(&c, h2);
        assert_string_equal(h1, h2);
        record_free(&c);
        json_decref(changed);
    }
    /* A field going from value to absent changes the hash. */
    json_t *dropped = json_deep_copy(base);
    json_object_del(dropped, "gl_account");
    record_t d;
    assert_int_equal(record_from_json(dropped, &d), 0);
    record_hash(&d, h2);
    assert_string_not_equal(h1, h2);
    record_free(&d);
    json_decref(dropped);
    json_decref(base);
    record_free(&r);
}

static void test_json_round_trip(void **state)
{
    (void)state;
    record_t r, back;
    map_ok(PO_ROW, PO_MAP, "po", &r);
    json_t *j = record_to_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "etag")), r.etag);
    assert_string_equal(json_string_value(json_object_get(j, "modified_at")), r.modified_at);
    assert_null(json_object_get(j, "cost_center"));
    assert_int_equal(record_from_json(j, &back), 0);
    const char *const *f = RECORD_FIELDS;
    for (size_t i = 0; f[i]; i++) {
        const json_t *v = json_object_get(j, f[i]);
        json_t *again = record_to_json(&back);
        assert_true(json_equal(json_object_get(again, f[i]), (json_t *)v) || (!v && !json_object_get(again, f[i])));
        json_decref(again);
    }
    char h1[65], h2[65];
    record_hash(&r, h1);
    record_hash(&back, h2);
    assert_string_equal(h1, h2);
    record_free(&back);
    json_decref(j);
    record_free(&r);

    /* Rejects: not an object, a non-string field, missing kind / erp_key / number. */
    const char *bad[] = {
        "[1]",
        "{\"kind\":\"po\",\"erp_key\":\"1\",\"number\":\"1\",\"amount\":12}",
        "{\"erp_key\":\"1\",\"number\":\"1\"}",
        "{\"kind\":\"po\",\"number\":\"1\"}",
        "{\"kind\":\"po\",\"erp_key\":\"1\"}",
    };
    record_t zero;
    memset(&zero, 0, sizeof zero);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *v = load(bad[i]);
        assert_int_equal(record_from_json(v, &back), -1);
        assert_memory_equal(&back, &zero, sizeof back);
        json_decref(v);
    }
    /* null fields are absent. */
    json_t *v = load("{\"kind\":\"po\",\"erp_key\":\"1\",\"number\":\"1\",\"etag\":null}");
    assert_int_equal(record_from_json(v, &back), 0);
    assert_null(back.etag);
    record_free(&back);
    json_decref(v);
}

static void test_record_fields_list(void **state)
{
    (void)state;
    const char *const want[] = {"kind", "erp_key", "number", "supplier_id", "supplier_name",
                                "amount", "currency", "gl_account", "cost_center", "status",
                                "doc_date", "due_date", "modified_at", "etag"};
    size_t n = 0;
    for (; RECORD_FIELDS[n]; n++)
        assert_string_equal(RECORD_FIELDS[n], want[n]);
    assert_int_equal(n, sizeof want / sizeof want[0]);
}

static void test_decimal_canon(void **state)
{
    (void)state;
    const char *const ok[][2] = {
        {"001.500", "1.5"}, {"-0.00", "0"},   {"+3", "3"},       {" 42 ", "42"},
        {"0.125", "0.125"}, {"-3.0", "-3"},   {"100", "100"},    {"0", "0"},
        {"000", "0"},       {"-0", "0"},      {"+0.0", "0"},     {"-007.0700", "-7.07"},
        {"\t12.30\n", "12.3"}, {"0.000001", "0.000001"},
        {"123456789012345678901234567890.123456789", "123456789012345678901234567890.123456789"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char *c = decimal_canon(ok[i][0]);
        if (!c || strcmp(c, ok[i][1]) != 0)
            fail_msg("decimal_canon(\"%s\") = %s, want %s", ok[i][0], c ? c : "NULL", ok[i][1]);
        free(c);
    }
    const char *const bad[] = {"", " ", "1e5", "1E5", "1,000", "1.", ".5", "--1", "+-1", "abc",
                               "1 000", "0x10", "1.2.3", "-", "+", "12a", "NaN", "inf", "1_000"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *c = decimal_canon(bad[i]);
        if (c)
            fail_msg("decimal_canon(\"%s\") = %s, want NULL", bad[i], c);
    }
    assert_null(decimal_canon(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_ifs_row_trims_and_normalizes),
        cmocka_unit_test(test_map_m3_style_numbers_and_dates),
        cmocka_unit_test(test_map_rejects),
        cmocka_unit_test(test_canonical_json_and_hash),
        cmocka_unit_test(test_json_round_trip),
        cmocka_unit_test(test_record_fields_list),
        cmocka_unit_test(test_decimal_canon),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
