/* Unit tests for common/jsonscan.c: real wire shapes (IFS OData, M3 v2, SyteLine IDO) fed in
 * every chunking, escapes, syntax errors with offsets, and a 5000-row page. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "jsonscan.h"
#include "util.h"

/* Everything a scan handed out, as text: items one per entry, scalars as "path=raw". */
typedef struct {
    char  *items[64];
    size_t nitems;
    char  *scalars[64];
    size_t nscalars;
    int    stop_at; /* item callback returns 7 on this item number (1-based), 0 = never */
} seen_t;

static int on_item(void *ud, const char *json, size_t len)
{
    seen_t *s = ud;
    if (s->nitems < 64)
        s->items[s->nitems] = strndup(json, len);
    s->nitems++;
    return s->stop_at && (int)s->nitems == s->stop_at ? 7 : 0;
}

static void on_scalar(void *ud, const char *path, const char *raw, size_t len)
{
    seen_t *s = ud;
    assert_true(s->nscalars < 64);
    s->scalars[s->nscalars++] = xasprintf("%s=%.*s", path, (int)len, raw);
}

static void seen_free(seen_t *s)
{
    for (size_t i = 0; i < s->nitems && i < 64; i++)
        free(s->items[i]);
    for (size_t i = 0; i < s->nscalars; i++)
        free(s->scalars[i]);
    memset(s, 0, sizeof *s);
}

/* Scans doc in chunks of chunk bytes (0 = all at once). Returns the first non-zero feed
 * result, else jscan_finish's; the error text goes to err when non-NULL. */
static int scan(const char *path, const char *doc, size_t len, size_t chunk, seen_t *seen,
                char *err, size_t err_len)
{
    jscan_t *s = jscan_new(path, on_item, on_scalar, seen);
    assert_non_null(s);
    int rc = 0;
    if (!chunk)
        chunk = len ? len : 1;
    for (size_t off = 0; off < len && rc == 0; off += chunk)
        rc = jscan_feed(s, doc + off, len - off < chunk ? len - off : chunk);
    if (rc == 0)
        rc = jscan_finish(s);
    if (err)
        snprintf(err, err_len, "%s", jscan_error(s));
    size_t items = jscan_items(s);
    assert_int_equal(items, seen->nitems);
    jscan_destroy(&s);
    assert_null(s);
    jscan_destroy(&s); /* safe twice */
    return rc;
}

static const size_t CHUNKS[] = {0, 1, 2, 3, 5, 7, 64};
#define NCHUNKS (sizeof CHUNKS / sizeof CHUNKS[0])

/* Scans doc with every chunk size and checks it yields exactly the given items and scalars. */
static void expect_scan(const char *path, const char *doc, const char *const *items,
                        const char *const *scalars)
{
    for (size_t c = 0; c < NCHUNKS; c++) {
        seen_t seen = {0};
        char err[200];
        int rc = scan(path, doc, strlen(doc), CHUNKS[c], &seen, err, sizeof err);
        if (rc != 0)
            fail_msg("chunk %zu: rc %d: %s", CHUNKS[c], rc, err);
        size_t n = 0;
        for (; items[n]; n++) {
            assert_true(n < seen.nitems);
            assert_string_equal(seen.items[n], items[n]);
        }
        assert_int_equal(seen.nitems, n);
        for (n = 0; scalars[n]; n++) {
            assert_true(n < seen.nscalars);
            assert_string_equal(seen.scalars[n], scalars[n]);
        }
        assert_int_equal(seen.nscalars, n);
        seen_free(&seen);
    }
}

static void test_odata_page_with_next_link(void **state)
{
    (void)state;
    const char *doc =
        "{\"@odata.context\":\"https://h/main/ifsapplications/projection/v1/"
        "PurchaseOrderHandling.svc/$metadata#PurchaseOrderSet\",\n"
        " \"value\": [\n"
        "  {\"@odata.etag\":\"W/\\\"Vk9MMTox\\\"\",\"OrderNo\":\"P1\",\"NetAmtCurr\":1234.5,"
        "\"Lines\":[{\"LineNo\":\"1\"},{\"LineNo\":\"2\"}],\"Closed\":false,\"Note\":null},\n"
        "  {\"OrderNo\":\"P2\",\"NetAmtCurr\":\"-3.25e2\"}\n"
        " ],\n"
        " \"@odata.nextLink\":\"https://h/main/ifsapplications/projection/v1/"
        "PurchaseOrderHandling.svc/PurchaseOrderSet?$skip=2\"}";
    const char *items[] = {
        "{\"@odata.etag\":\"W/\\\"Vk9MMTox\\\"\",\"OrderNo\":\"P1\",\"NetAmtCurr\":1234.5,"
        "\"Lines\":[{\"LineNo\":\"1\"},{\"LineNo\":\"2\"}],\"Closed\":false,\"Note\":null}",
        "{\"OrderNo\":\"P2\",\"NetAmtCurr\":\"-3.25e2\"}",
        NULL,
    };
    const char *scalars[] = {
        "@odata.context=\"https://h/main/ifsapplications/projection/v1/"
        "PurchaseOrderHandling.svc/$metadata#PurchaseOrderSet\"",
        "@odata.nextLink=\"https://h/main/ifsapplications/projection/v1/"
        "PurchaseOrderHandling.svc/PurchaseOrderSet?$skip=2\"",
        NULL,
    };
    expect_scan("value", doc, items, scalars);
}

static void test_m3_v2_results_records(void **state)
{
    (void)state;
    const char *doc =
        "{\"results\":[{\"transaction\":\"LstLine\",\"records\":["
        "{\"PUNO\":\"1000001   \",\"PNLI\":10},{\"PUNO\":\"1000001   \",\"PNLI\":20}]},"
        "{\"transaction\":\"LstLine\",\"errorMessage\":\"Record does not exist\","
        "\"errorType\":\"ServerReturnedNOK\",\"errorCode\":\"WPU0401\",\"errorField\":\"PUNO\","
        "\"records\":[]},"
        "{\"transaction\":\"LstLine\",\"records\":[{\"PUNO\":\"1000002\",\"PNLI\":1.5e1}]}],"
        "\"wasTerminated\":false,\"nrOfSuccessfullTransactions\":2,\"nrOfFailedTransactions\":1}";
    const char *items[] = {
        "{\"PUNO\":\"1000001   \",\"PNLI\":10}",
        "{\"PUNO\":\"1000001   \",\"PNLI\":20}",
        "{\"PUNO\":\"1000002\",\"PNLI\":1.5e1}",
        NULL,
    };
    const char *scalars[] = {
        "results.transaction=\"LstLine\"",
        "results.transaction=\"LstLine\"",
        "results.errorMessage=\"Record does not exist\"",
        "results.errorType=\"ServerReturnedNOK\"",
        "results.errorCode=\"WPU0401\"",
        "results.errorField=\"PUNO\"",
        "results.transaction=\"LstLine\"",
        "wasTerminated=false",
        "nrOfSuccessfullTransactions=2",
        "nrOfFailedTransactions=1",
        NULL,
    };
    expect_scan("results.records", doc, items, scalars);
}

static void test_syteline_items_bookmark(void **state)
{
    (void)state;
    const char *doc =
        "{\"Items\":[{\"PoNum\":\"PO00001\",\"Stat\":\"O\",\"_ItemId\":\"PBT=[po] po.DT=[2026-01-31]\"},"
        "{\"PoNum\":\"PO00002\",\"Stat\":\"F\",\"_ItemId\":\"PBT=[po] po.ID=[x]\"}],"
        "\"Bookmark\":\"<B><P><p>PO00002</p></P><D><f>false</f></D><F>PO00001</F><L>PO00002</L></B>\","
        "\"MoreRowsExist\":true,\"Success\":true,\"Message\":null}";
    const char *items[] = {
        "{\"PoNum\":\"PO00001\",\"Stat\":\"O\",\"_ItemId\":\"PBT=[po] po.DT=[2026-01-31]\"}",
        "{\"PoNum\":\"PO00002\",\"Stat\":\"F\",\"_ItemId\":\"PBT=[po] po.ID=[x]\"}",
        NULL,
    };
    const char *scalars[] = {
        "Bookmark=\"<B><P><p>PO00002</p></P><D><f>false</f></D><F>PO00001</F><L>PO00002</L></B>\"",
        "MoreRowsExist=true",
        "Success=true",
        "Message=null",
        NULL,
    };
    expect_scan("Items", doc, items, scalars);
}

static void test_escapes_and_brackets_in_strings(void **state)
{
    (void)state;
    /* The member name "value" is spelled with an escape; strings hold quotes, backslashes,
     * brackets, \uXXXX (with a surrogate pair) and raw UTF-8. */
    const char *doc = "{\"va\\u006cue\":[\"a\\\"]}\\\\\",{\"k\\\"}\":\"\\u00e9\\ud83d\\ude00 \xc3\xa9 [{\"},"
                      "-0.5E-3,0,true,null,[[]],{}],\"t\\tab\":\"\\/\\b\\f\\n\\r\"}";
    const char *items[] = {
        "\"a\\\"]}\\\\\"",
        "{\"k\\\"}\":\"\\u00e9\\ud83d\\ude00 \xc3\xa9 [{\"}",
        "-0.5E-3", "0", "true", "null", "[[]]", "{}",
        NULL,
    };
    const char *scalars[] = {"t\tab=\"\\/\\b\\f\\n\\r\"", NULL};
    expect_scan("value", doc, items, scalars);
}

static void test_whitespace_and_nesting(void **state)
{
    (void)state;
    /* Arrays off the path are traversed and their scalars reported with the member path; an
     * array named like the target but deeper is not the target. */
    const char *doc = " \r\n\t{ \"other\" : { \"value\" : [ 1 , \"x\" ] } ,\n"
                      "   \"value\" :\t[ { \"a\" : [ 1 ,\n 2 ] } ,  3 ] ,"
                      " \"tags\" : [ \"p\" , { \"q\" : 1 } ] } \n ";
    const char *items[] = {"{ \"a\" : [ 1 ,\n 2 ] }", "3", NULL};
    const char *scalars[] = {"other.value=1", "other.value=\"x\"", "tags=\"p\"", "tags.q=1", NULL};
    expect_scan("value", doc, items, scalars);
}

static void test_root_values(void **state)
{
    (void)state;
    const char *items[] = {"1", "{\"a\":2}", NULL};
    const char *none[] = {NULL};
    expect_scan("", "[1,{\"a\":2}]", items, none);
    expect_scan(NULL, " [1 , {\"a\":2}] ", (const char *[]){"1", "{\"a\":2}", NULL}, none);
    expect_scan("value", "42", none, (const char *[]){"=42", NULL});
    expect_scan("value", "-7.25e+3 ", none, (const char *[]){"=-7.25e+3", NULL});
    expect_scan("value", "\"s\"", none, (const char *[]){"=\"s\"", NULL});
    /* A target path that ends on a non-array reports the scalar. */
    expect_scan("value", "{\"value\":null}", none, (const char *[]){"value=null", NULL});
    expect_scan("value", "{\"value\":[]}", none, none);
}

/* One syntax error case: the document, the error text and the offset in it. */
typedef struct {
    const char *doc;
    const char *error;
} bad_doc_t;

static void test_syntax_errors(void **state)
{
    (void)state;
    const bad_doc_t cases[] = {
        {"", "empty document at offset 0"},
        {"   ", "empty document at offset 3"},
        {"{\"value\":[1,2,]}", "unexpected ']' (expected a value) at offset 14"},
        {"{\"a\" 1}", "unexpected '1' (expected ':') at offset 5"},
        {"{\"a\":1,}", "unexpected '}' (expected a member name) at offset 7"},
        {"{1:2}", "unexpected '1' (expected a member name or '}') at offset 1"},
        {"[1 2]", "unexpected '2' (expected ',' or ']') at offset 3"},
        {"{\"a\":1]", "unexpected ']' (expected ',' or '}') at offset 6"},
        {"[01]", "leading zero in a number at offset 2"},
        {"[-]", "unexpected ']' (expected a digit) at offset 2"},
        {"[1.]", "unexpected ']' (expected a digit after '.') at offset 3"},
        {"[1e]", "unexpected ']' (expected a digit in the exponent) at offset 3"},
        {"[1e+]", "unexpected ']' (expected a digit in the exponent) at offset 4"},
        {"{\"a\":tru}", "unexpected '}' (expected true) at offset 8"},
        {"[nul", "unexpected end of input at offset 4"},
        {"{\"a\":\"x\\qy\"}", "unexpected 'q' (expected an escape character) at offset 8"},
        {"[\"\\u12G4\"]", "unexpected 'G' (expected a hex digit in \\u escape) at offset 6"},
        {"[\"a\nb\"]", "control character in a string at offset 3"},
        {"{\"value\":[{\"a\":1}", "unexpected end of input at offset 17"},
        {"\"abc", "unexpected end of input at offset 4"},
        {"{} {}", "unexpected '{' (expected end of input after the document) at offset 3"},
        {"[1]x", "unexpected 'x' (expected end of input after the document) at offset 3"},
        {"[+1]", "unexpected '+' (expected a value) at offset 1"},
        {"\x01", "unexpected byte 0x01 (expected a value) at offset 0"},
        {"{\"value\":[{\"a\":[}]}", "unexpected '}' (expected a value) at offset 16"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (size_t c = 0; c < NCHUNKS; c++) {
            seen_t seen = {0};
            char err[200];
            int rc = scan("value", cases[i].doc, strlen(cases[i].doc), CHUNKS[c], &seen, err,
                          sizeof err);
            if (rc != -1 || strcmp(err, cases[i].error) != 0)
                fail_msg("case %zu chunk %zu: rc %d, error \"%s\", want \"%s\"", i, CHUNKS[c],
                         rc, err, cases[i].error);
            seen_free(&seen);
        }
    }
}

static void test_dead_after_error(void **state)
{
    (void)state;
    seen_t seen = {0};
    jscan_t *s = jscan_new("value", on_item, on_scalar, &seen);
    assert_int_equal(jscan_feed(s, "{\"value\":[1,]", 13), -1);
    char first[200];
    snprintf(first, sizeof first, "%s", jscan_error(s));
    assert_int_equal(jscan_feed(s, "2]}", 3), -1);
    assert_int_equal(jscan_finish(s), -1);
    assert_string_equal(jscan_error(s), first);
    jscan_destroy(&s);
    seen_free(&seen);
}

static void test_deep_nesting_rejected(void **state)
{
    (void)state;
    buf_t doc;
    buf_init(&doc);
    buf_append(&doc, "{\"value\":[", 10);
    for (int i = 0; i < 600; i++)
        buf_append(&doc, "[", 1);
    seen_t seen = {0};
    char err[200];
    assert_int_equal(scan("value", doc.data, doc.len, 1, &seen, err, sizeof err), -1);
    assert_string_equal(err, "nesting deeper than 512 levels at offset 520");
    buf_free(&doc);
    seen_free(&seen);
}

static void test_huge_scalar_outside_items_rejected(void **state)
{
    (void)state;
    buf_t doc;
    buf_init(&doc);
    buf_append(&doc, "{\"value\":[],\"Bookmark\":\"", 24);
    for (int i = 0; i < (1 << 20); i++)
        buf_append(&doc, "x", 1);
    buf_append(&doc, "\"}", 2);
    const size_t chunks[] = {0, 1, 4096};
    for (size_t c = 0; c < 3; c++) {
        seen_t seen = {0};
        char err[200];
        assert_int_equal(scan("value", doc.data, doc.len, chunks[c], &seen, err, sizeof err), -1);
        assert_string_equal(err, "token longer than 1 MiB outside the target array at offset 23");
        seen_free(&seen);
    }
    /* Inside an item the same string is fine: items have no size limit here. */
    buf_reset(&doc);
    buf_append(&doc, "{\"value\":[\"", 11);
    for (int i = 0; i < (1 << 20); i++)
        buf_append(&doc, "x", 1);
    buf_append(&doc, "\"]}", 3);
    seen_t seen = {0};
    assert_int_equal(scan("value", doc.data, doc.len, 4096, &seen, NULL, 0), 0);
    assert_int_equal(seen.nitems, 1);
    assert_int_equal(strlen(seen.items[0]), (1u << 20) + 2);
    seen_free(&seen);
    buf_free(&doc);
}

static void test_item_callback_stops(void **state)
{
    (void)state;
    const char *doc = "{\"value\":[{\"n\":1},{\"n\":2},{\"n\":3}]}";
    for (size_t c = 0; c < NCHUNKS; c++) {
        seen_t seen = {.stop_at = 2};
        jscan_t *s = jscan_new("value", on_item, on_scalar, &seen);
        int rc = 0;
        size_t chunk = CHUNKS[c] ? CHUNKS[c] : strlen(doc);
        for (size_t off = 0; off < strlen(doc) && rc == 0; off += chunk)
            rc = jscan_feed(s, doc + off, strlen(doc) - off < chunk ? strlen(doc) - off : chunk);
        assert_int_equal(rc, 7);
        assert_int_equal(jscan_items(s), 2);
        assert_int_equal(jscan_feed(s, "]}", 2), 7);
        assert_int_equal(jscan_finish(s), -1);
        jscan_destroy(&s);
        seen_free(&seen);
    }
}

/* Counts items of a large page and checks each one decodes to the row it came from. */
typedef struct {
    size_t n;
    size_t max_len;
} big_t;

static int on_big_item(void *ud, const char *json, size_t len)
{
    big_t *b = ud;
    json_error_t jerr;
    json_t *row = json_loadb(json, len, 0, &jerr);
    assert_non_null(row);
    char want[32];
    snprintf(want, sizeof want, "P%06zu", b->n);
    assert_string_equal(json_string_value(json_object_get(row, "OrderNo")), want);
    assert_int_equal(json_integer_value(json_object_get(row, "Seq")), (json_int_t)b->n);
    json_decref(row);
    if (len > b->max_len)
        b->max_len = len;
    b->n++;
    return 0;
}

static void test_5000_item_page(void **state)
{
    (void)state;
    buf_t doc;
    buf_init(&doc);
    buf_appendf(&doc, "{\"@odata.context\":\"x\",\"value\":[");
    for (size_t i = 0; i < 5000; i++)
        buf_appendf(&doc, "%s{\"OrderNo\":\"P%06zu\",\"Seq\":%zu,\"VendorName\":\"Vendor \\\"%zu\\\"\","
                          "\"NetAmtCurr\":%zu.25,\"Lines\":[{\"x\":[1,2,3]}]}",
                    i ? "," : "", i, i, i, i);
    buf_appendf(&doc, "],\"@odata.nextLink\":\"next\"}");
    const size_t chunks[] = {1, 4096, doc.len};
    for (size_t c = 0; c < 3; c++) {
        big_t big = {0};
        jscan_t *s = jscan_new("value", on_big_item, NULL, &big);
        for (size_t off = 0; off < doc.len; off += chunks[c])
            assert_int_equal(jscan_feed(s, doc.data + off,
                                        doc.len - off < chunks[c] ? doc.len - off : chunks[c]),
                             0);
        assert_int_equal(jscan_finish(s), 0);
        assert_int_equal(jscan_items(s), 5000);
        assert_int_equal(big.n, 5000);
        assert_true(big.max_len < 200);
        jscan_destroy(&s);
    }
    buf_free(&doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_odata_page_with_next_link),
        cmocka_unit_test(test_m3_v2_results_records),
        cmocka_unit_test(test_syteline_items_bookmark),
        cmocka_unit_test(test_escapes_and_brackets_in_strings),
        cmocka_unit_test(test_whitespace_and_nesting),
        cmocka_unit_test(test_root_values),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_dead_after_error),
        cmocka_unit_test(test_deep_nesting_rejected),
        cmocka_unit_test(test_huge_scalar_outside_items_rejected),
        cmocka_unit_test(test_item_callback_stops),
        cmocka_unit_test(test_5000_item_page),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
