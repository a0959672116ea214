/* Unit tests for sim/odata.c: $filter parsing and evaluation (including the error messages a
 * client sees), $select/$orderby/$top/$skip/$count parsing, $skiptoken and key predicates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "odata.h"
#include "util.h"

/* A test row: every member as text (NULL = null) plus the parsed forms. */
typedef struct {
    const char *name;
    const char *amount;
    const char *day;
    const char *stamp;
} row_t;

enum { M_NAME, M_AMOUNT, M_DAY, M_STAMP };
static const odata_member_t MEMBERS[] = {
    {"Name", ODATA_STRING},
    {"Amount", ODATA_DECIMAL},
    {"Day", ODATA_DATE},
    {"Stamp", ODATA_DATETIME},
};
static const odata_schema_t SCHEMA = {MEMBERS, 4};

static void get(const void *row, size_t member, odata_value_t *out)
{
    const row_t *r = row;
    const char *text = member == M_NAME ? r->name : member == M_AMOUNT ? r->amount
                       : member == M_DAY ? r->day : r->stamp;
    memset(out, 0, sizeof *out);
    if (!text)
        return;
    out->type = MEMBERS[member].type;
    out->str = text;
    if (member == M_AMOUNT)
        out->num = strtod(text, NULL);
    else if (member != M_NAME)
        out->ms = parse_iso8601(text);
}

static const row_t ROW = {"O'Brien Ltd", "1234.5", "2026-11-20", "2026-11-20T08:15:02Z"};
static const row_t ROW_NULLS = {"10", NULL, NULL, NULL};

/* Parses expr against SCHEMA and evaluates it on row; fails the test on a parse error. */
static bool match(const char *expr, const row_t *row)
{
    char err[512] = "";
    odata_filter_t *f = odata_filter_parse(expr, &SCHEMA, err, sizeof err);
    if (!f)
        fail_msg("parse of \"%s\" failed: %s", expr, err);
    bool m = odata_filter_match(f, row, get);
    odata_filter_destroy(&f);
    assert_null(f);
    return m;
}

/* Asserts that expr does not parse and that the message contains needle. */
static void parse_fails(const char *expr, const char *needle)
{
    char err[512] = "";
    odata_filter_t *f = odata_filter_parse(expr, &SCHEMA, err, sizeof err);
    if (f) {
        odata_filter_destroy(&f);
        fail_msg("\"%s\" parsed but should not", expr);
    }
    if (!strstr(err, needle))
        fail_msg("error for \"%s\" is \"%s\", expected it to contain \"%s\"", expr, err, needle);
}

static void test_filter_strings(void **state)
{
    (void)state;
    assert_true(match("Name eq 'O''Brien Ltd'", &ROW));
    assert_false(match("Name ne 'O''Brien Ltd'", &ROW));
    assert_true(match("Name gt 'N'", &ROW));
    assert_true(match("Name lt 'P'", &ROW));
    assert_true(match("Name ge 'O''Brien Ltd' and Name le 'O''Brien Ltd'", &ROW));
    /* ordinal: "10" sorts before "9" */
    assert_true(match("Name lt '9'", &ROW_NULLS));
    assert_false(match("Name gt '9'", &ROW_NULLS));
    /* enum literals compare as their string value */
    assert_true(match("Name eq IfsApp.Proj.State'O''Brien Ltd'", &ROW));
    /* literal on the left */
    assert_true(match("'O''Brien Ltd' eq Name", &ROW));
}

static void test_filter_numbers_and_dates(void **state)
{
    (void)state;
    assert_true(match("Amount gt 1000", &ROW));
    assert_true(match("Amount eq 1234.50", &ROW));
    assert_false(match("Amount lt -5", &ROW));
    assert_true(match("Amount ge 1234.5 and Amount le 1234.5", &ROW));
    assert_true(match("Day eq 2026-11-20", &ROW));
    assert_true(match("Day gt 2026-11-19 and Day lt 2026-11-21", &ROW));
    assert_true(match("Stamp gt 2026-11-20T08:15:01Z", &ROW));
    assert_false(match("Stamp gt 2026-11-20T08:15:02Z", &ROW));
    assert_true(match("Stamp ge 2026-11-20T08:15:02.000Z", &ROW));
    /* offsets: 09:15:02+01:00 is the same instant */
    assert_true(match("Stamp eq 2026-11-20T09:15:02+01:00", &ROW));
    assert_true(match("Stamp lt 2026-11-20T08:15:02.001Z", &ROW));
}

static void test_filter_null(void **state)
{
    (void)state;
    assert_true(match("Amount eq null", &ROW_NULLS));
    assert_false(match("Amount ne null", &ROW_NULLS));
    assert_false(match("Amount eq null", &ROW));
    assert_true(match("Amount ne null", &ROW));
    /* ordering comparisons with null are false both ways */
    assert_false(match("Amount gt 0", &ROW_NULLS));
    assert_false(match("Amount lt 0", &ROW_NULLS));
    assert_false(match("Stamp ge 2000-01-01T00:00:00Z", &ROW_NULLS));
}

static void test_filter_logic(void **state)
{
    (void)state;
    /* and binds tighter than or */
    assert_true(match("Name eq 'x' and Amount eq 1 or Amount gt 1000", &ROW));
    assert_false(match("Name eq 'x' and (Amount eq 1 or Amount gt 1000)", &ROW));
    assert_true(match("not Name eq 'x'", &ROW));
    assert_false(match("not (Amount gt 1000)", &ROW));
    assert_true(match("not not Amount gt 1000", &ROW));
    assert_true(match("((Amount gt 1000))", &ROW));
    assert_true(match("  Amount   gt   1000  ", &ROW));
    assert_true(match("Amount gt 1 and Amount gt 2 and Amount gt 3 and not (Amount gt 5000)",
                      &ROW));
}

static void test_filter_errors(void **state)
{
    (void)state;
    parse_fails("Nmae eq 'x'", "unknown member 'Nmae'");
    parse_fails("Nmae eq 'x'", "Name");   /* lists the known members */
    parse_fails("Name eq 'x", "unterminated string");
    parse_fails("Stamp gt '2026-01-01'", "type mismatch");
    parse_fails("Stamp gt '2026-01-01'", "unquoted");
    parse_fails("Name eq 5", "type mismatch");
    parse_fails("Day eq 2026-11-20T00:00:00Z", "type mismatch");
    parse_fails("Stamp gt 2026-11-20T08:15:02", "malformed literal");
    parse_fails("Day eq 2026-13-01", "malformed literal");
    parse_fails("Amount gt 12abc", "malformed literal");
    parse_fails("Name 'x'", "comparison operator");
    parse_fails("Name eq", "end of expression");
    parse_fails("Name eq 'x' Amount gt 1", "after a complete expression");
    parse_fails("(Name eq 'x'", "')' expected");
    parse_fails("Name eq 'x')", "after a complete expression");
    parse_fails("contains(Name,'x')", "function 'contains' is not supported");
    parse_fails("Name has 'x'", "'has' is not supported");
    parse_fails("Amount add 1 gt 2", "arithmetic");
    parse_fails("", "empty");
    parse_fails("Name eq 'x' AND Amount gt 1", "after a complete expression");
    parse_fails("Name eq 'x' and", "end of expression");
    parse_fails("Name eq #", "unexpected character");
    parse_fails("Name eq State'x'", "not a qualified enum literal");

    /* hostile nesting is refused instead of recursing without bound */
    buf_t deep;
    buf_init(&deep);
    for (int i = 0; i < 10000; i++)
        buf_append(&deep, "(", 1);
    parse_fails(deep.data, "nested deeper");
    buf_reset(&deep);
    for (int i = 0; i < 10000; i++)
        buf_append(&deep, "not ", 4);
    buf_append(&deep, "Name eq 'x'", 11);
    parse_fails(deep.data, "nested deeper");
    buf_free(&deep);
    assert_true(match("((((((((((Amount gt 1000))))))))))", &ROW));
}

/* Builds and parses a query from name=value pairs (NULL-terminated). */
static int parse_pairs(odata_query_t *q, char *err, size_t err_len, ...)
{
    const char *names[16], *values[16];
    size_t n = 0;
    va_list ap;
    va_start(ap, err_len);
    for (const char *k; (k = va_arg(ap, const char *)) && n < 16; n++) {
        names[n] = k;
        values[n] = va_arg(ap, const char *);
    }
    va_end(ap);
    return odata_query_parse(q, names, values, n, &SCHEMA, err, err_len);
}

static void test_query_options(void **state)
{
    (void)state;
    odata_query_t q;
    char err[512];
    assert_int_equal(parse_pairs(&q, err, sizeof err, "$filter", "Amount gt 1", "$select",
                                 "Stamp, Name", "$orderby", "Day desc,Name", "$top", "10",
                                 "$skip", "5", "$count", "true", "custom", "ignored", NULL),
                     0);
    assert_non_null(q.filter);
    assert_int_equal(q.nselect, 2);
    assert_int_equal(q.select[0], M_STAMP);
    assert_int_equal(q.select[1], M_NAME);
    assert_int_equal(q.norderby, 2);
    assert_int_equal(q.orderby[0].member, M_DAY);
    assert_true(q.orderby[0].desc);
    assert_int_equal(q.orderby[1].member, M_NAME);
    assert_false(q.orderby[1].desc);
    assert_int_equal(q.top, 10);
    assert_int_equal(q.skip, 5);
    assert_true(q.count);
    assert_int_equal(q.skiptoken, 0);
    odata_query_free(&q);
    odata_query_free(&q);   /* safe twice */

    assert_int_equal(parse_pairs(&q, err, sizeof err, "$select", "*", NULL), 0);
    assert_null(q.select);
    assert_int_equal(q.top, -1);
    odata_query_free(&q);
}

static void query_fails(const char *name, const char *value, const char *needle)
{
    odata_query_t q;
    char err[512] = "";
    if (parse_pairs(&q, err, sizeof err, name, value, NULL) == 0) {
        odata_query_free(&q);
        fail_msg("%s=%s parsed but should not", name, value);
    }
    assert_null(q.filter);
    assert_null(q.select);
    if (!strstr(err, needle))
        fail_msg("error for %s=%s is \"%s\", expected \"%s\"", name, value, err, needle);
}

static void test_query_errors(void **state)
{
    (void)state;
    query_fails("$select", "Name,Nope", "$select: unknown member 'Nope'");
    query_fails("$select", "Name,", "empty item");
    query_fails("$orderby", "Nope desc", "$orderby: unknown member 'Nope'");
    query_fails("$orderby", "Name down", "must be asc or desc");
    query_fails("$orderby", "Name asc extra", "malformed item");
    query_fails("$top", "-1", "non-negative integer");
    query_fails("$top", "ten", "non-negative integer");
    query_fails("$skip", "", "non-negative integer");
    query_fails("$count", "yes", "true or false");
    query_fails("$expand", "Lines", "not supported");
    query_fails("$apply", "groupby((Name))", "not supported");
    query_fails("$skiptoken", "P5-0000", "not issued");
    query_fails("$filter", "Nope eq 1", "unknown member");

    odata_query_t q;
    char err[512];
    assert_int_equal(parse_pairs(&q, err, sizeof err, "$top", "1", "$top", "2", NULL), -1);
    assert_non_null(strstr(err, "more than once"));
}

static void test_orderby_compare(void **state)
{
    (void)state;
    const row_t a = {"a", "1", "2026-01-02", NULL}, b = {"b", "1", "2026-01-01", NULL},
                c = {"c", NULL, NULL, NULL};
    odata_order_t by_amount_then_name_desc[] = {{M_AMOUNT, false}, {M_NAME, true}};
    assert_true(odata_compare(by_amount_then_name_desc, 2, &a, &b, get) > 0);
    assert_true(odata_compare(by_amount_then_name_desc, 2, &b, &a, get) < 0);
    assert_int_equal(odata_compare(by_amount_then_name_desc, 2, &a, &a, get), 0);
    /* nulls first ascending, last descending */
    odata_order_t by_day[] = {{M_DAY, false}}, by_day_desc[] = {{M_DAY, true}};
    assert_true(odata_compare(by_day, 1, &c, &b, get) < 0);
    assert_true(odata_compare(by_day, 1, &b, &a, get) < 0);
    assert_true(odata_compare(by_day_desc, 1, &c, &b, get) > 0);
}

static void test_skiptoken(void **state)
{
    (void)state;
    const long offsets[] = {0, 1, 5000, 123456789};
    for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
        char tok[32];
        odata_skiptoken_encode(offsets[i], tok, sizeof tok);
        assert_int_equal(odata_skiptoken_decode(tok), offsets[i]);
        tok[strlen(tok) - 1] ^= 1;   /* tampered check digits */
        assert_int_equal(odata_skiptoken_decode(tok), -1);
    }
    assert_int_equal(odata_skiptoken_decode("5000"), -1);
    assert_int_equal(odata_skiptoken_decode(""), -1);
    assert_int_equal(odata_skiptoken_decode(NULL), -1);
    assert_int_equal(odata_skiptoken_decode("P-1-0000"), -1);
}

static void key_is(const char *pred, const char *expected)
{
    char err[256] = "";
    char *k = odata_key_parse(pred, "OrderNo", err, sizeof err);
    if (!k)
        fail_msg("key %s: %s", pred, err);
    assert_string_equal(k, expected);
    free(k);
}

static void key_fails(const char *pred, const char *needle)
{
    char err[256] = "";
    char *k = odata_key_parse(pred, "OrderNo", err, sizeof err);
    if (k) {
        free(k);
        fail_msg("key %s parsed but should not", pred);
    }
    if (!strstr(err, needle))
        fail_msg("error for %s is \"%s\", expected \"%s\"", pred, err, needle);
}

static void test_key_predicate(void **state)
{
    (void)state;
    key_is("(OrderNo='4711')", "4711");
    key_is("('4711')", "4711");
    key_is("(OrderNo='A''B)C')", "A'B)C");
    key_is("(OrderNo='')", "");
    key_fails("(OrderNo=4711)", "quote its value");
    key_fails("(InvoiceId='1')", "must name the key OrderNo");
    key_fails("(OrderNo='4711'", "malformed");
    key_fails("(OrderNo='4711'x)", "malformed");
    key_fails("OrderNo='4711'", "malformed");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filter_strings),
        cmocka_unit_test(test_filter_numbers_and_dates),
        cmocka_unit_test(test_filter_null),
        cmocka_unit_test(test_filter_logic),
        cmocka_unit_test(test_filter_errors),
        cmocka_unit_test(test_query_options),
        cmocka_unit_test(test_query_errors),
        cmocka_unit_test(test_orderby_compare),
        cmocka_unit_test(test_skiptoken),
        cmocka_unit_test(test_key_predicate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
