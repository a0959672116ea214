/* Unit tests for sim/ion_m3.c: parsing of PROGRAM/TRANSACTION;matrix parameters, the error
 * bodies (v2 results and v1 ServerReturnedNOK), and execution against a small seeded store:
 * padding, start keys, maxrecs, returncols/excludempty, business vs request errors, and
 * APS450MI/ApproveInvoice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ion_m3.h"

#define T0 1800000000000LL   /* 2027-01-15T08:00:00Z */

static void test_parse_call(void **state)
{
    (void)state;
    ion_m3_call_t c;
    char err[256];
    assert_int_equal(ion_m3_parse_call("PPS001MI/ListHeadBasic", 2, &c, err, sizeof err), 0);
    assert_string_equal(c.program, "PPS001MI");
    assert_string_equal(c.transaction, "ListHeadBasic");
    assert_int_equal(c.maxrecs, -1);
    assert_null(c.returncols);
    assert_false(c.excludempty);
    assert_true(c.metadata);
    ion_m3_call_free(&c);

    assert_int_equal(ion_m3_parse_call("APS450MI/LstInvBatchNo;maxrecs=0;returncols=INBN,SUPA;"
                                       "excludempty=true;metadata=false", 1, &c, err,
                                       sizeof err), 0);
    assert_int_equal(c.version, 1);
    assert_int_equal(c.maxrecs, 0);
    assert_int_equal(c.nreturncols, 2);
    assert_string_equal(c.returncols[0], "INBN");
    assert_string_equal(c.returncols[1], "SUPA");
    assert_true(c.excludempty);
    assert_false(c.metadata);
    ion_m3_call_free(&c);
    ion_m3_call_free(&c);   /* safe twice */

    static const char *const BAD[] = {
        "PPS001MI", "/ListHeadBasic", "PPS001MI/", "PPS001MI/ListHeadBasic/extra",
        "PPS001MI/ListHeadBasic;maxrecs=-1", "PPS001MI/ListHeadBasic;maxrecs=ten",
        "PPS001MI/ListHeadBasic;maxrecs=", "PPS001MI/ListHeadBasic;maxrecs",
        "PPS001MI/ListHeadBasic;returncols=", "PPS001MI/ListHeadBasic;returncols=A,,B",
        "PPS001MI/ListHeadBasic;returncols=A,", "PPS001MI/ListHeadBasic;returncols=A;returncols=B",
        "PPS001MI/ListHeadBasic;excludempty=yes", "PPS001MI/ListHeadBasic;top=5",
        NULL,
    };
    for (int i = 0; BAD[i]; i++) {
        err[0] = '\0';
        assert_int_equal(ion_m3_parse_call(BAD[i], 2, &c, err, sizeof err), -1);
        assert_true(err[0] != '\0');
        assert_null(c.returncols);
    }
    assert_int_equal(ion_m3_parse_call("PPS001MI/ListHeadBasic;top=5", 2, &c, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "'top'"));
}

/* Parses out's text as JSON (fails the test when it is not) and resets out. */
static json_t *body_json(buf_t *out)
{
    json_error_t jerr;
    json_t *j = json_loadb(out->data, out->len, 0, &jerr);
    if (!j)
        fail_msg("not JSON (%s): %.*s", jerr.text, (int)out->len, out->data);
    buf_reset(out);
    return j;
}

static void test_error_bodies(void **state)
{
    (void)state;
    buf_t out;
    buf_init(&out);
    ion_m3_error_body(&out, 2, "GetHead", "WPU0103", "PUNO", "Purchase order \"x\" does not exist");
    json_t *j = body_json(&out);
    json_t *r = json_array_get(json_object_get(j, "results"), 0);
    assert_string_equal(json_string_value(json_object_get(r, "transaction")), "GetHead");
    assert_string_equal(json_string_value(json_object_get(r, "errorMessage")),
                        "Purchase order \"x\" does not exist");
    assert_string_equal(json_string_value(json_object_get(r, "errorType")), "ServerReturnedNOK");
    assert_string_equal(json_string_value(json_object_get(r, "errorCode")), "WPU0103");
    assert_string_equal(json_string_value(json_object_get(r, "errorField")), "PUNO");
    assert_int_equal(json_array_size(json_object_get(r, "records")), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "nrOfSuccessfullTransactions")), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "nrOfFailedTransactions")), 1);
    assert_true(json_is_false(json_object_get(j, "wasTerminated")));
    json_decref(j);

    ion_m3_error_body(&out, 2, "X", NULL, NULL, "m");
    j = body_json(&out);
    r = json_array_get(json_object_get(j, "results"), 0);
    assert_true(json_is_null(json_object_get(r, "errorCode")));
    assert_true(json_is_null(json_object_get(r, "errorField")));
    json_decref(j);

    ion_m3_error_body(&out, 1, "X", "WCO0102", "CONO", "Company must be entered");
    j = body_json(&out);
    assert_string_equal(json_string_value(json_object_get(j, "@type")), "ServerReturnedNOK");
    assert_string_equal(json_string_value(json_object_get(j, "@code")), "WCO0102");
    assert_string_equal(json_string_value(json_object_get(j, "@field")), "CONO");
    assert_string_equal(json_string_value(json_object_get(j, "Message")),
                        "Company must be entered");
    json_decref(j);
    buf_free(&out);
}

typedef struct {
    ion_store_t *st;
    ion_m3_env_t env;
    buf_t        out;
    ion_m3_result_t res;
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    ion_seed_t seed;
    ion_seed_init(&seed);
    seed.rows[ION_M3_PO] = 25;
    seed.rows[ION_M3_INVOICE] = 12;
    f->st = ion_store_new();
    ion_store_seed(f->st, &seed, T0);
    f->env = (ion_m3_env_t){"100", "AAA", "MLCDEMO", 20, T0 + 1000};
    buf_init(&f->out);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    ion_store_destroy(&f->st);
    buf_free(&f->out);
    free(f);
    return 0;
}

/* Runs spec (version 2 unless it starts with "v1:") with inputs "NAME=value" ...; returns the
 * parsed body. */
static json_t *run(fx_t *f, const char *spec, ...)
{
    int version = strncmp(spec, "v1:", 3) == 0 ? 1 : 2;
    ion_m3_call_t c;
    char err[256];
    if (ion_m3_parse_call(spec + (version == 1 ? 3 : 0), version, &c, err, sizeof err) < 0)
        fail_msg("parse %s: %s", spec, err);
    const char *names[8], *values[8];
    char buf[8][64];
    size_t n = 0;
    va_list ap;
    va_start(ap, spec);
    for (const char *in; (in = va_arg(ap, const char *)) && n < 8; n++) {
        snprintf(buf[n], sizeof buf[n], "%s", in);
        char *eq = strchr(buf[n], '=');
        *eq = '\0';
        names[n] = buf[n];
        values[n] = eq + 1;
    }
    va_end(ap);
    ion_m3_execute(f->st, &f->env, &c, names, values, n, &f->out, &f->res);
    ion_m3_call_free(&c);
    return body_json(&f->out);
}

static json_t *records(json_t *j)
{
    return json_object_get(json_array_get(json_object_get(j, "results"), 0), "records");
}

static const char *rec(json_t *j, size_t i, const char *field)
{
    return json_string_value(json_object_get(json_array_get(records(j), i), field));
}

static void test_list(void **state)
{
    fx_t *f = *state;
    json_t *j = run(f, "PPS001MI/ListHeadBasic", "CONO=100", NULL);
    assert_int_equal(f->res.status, 200);
    assert_false(f->res.nok);
    assert_int_equal(json_array_size(records(j)), 20);   /* default 100, capped at 20 */
    assert_string_equal(rec(j, 0, "PUNO"), "0000004001");
    assert_int_equal(strlen(rec(j, 0, "SUNO")), 10);
    assert_int_equal(strlen(rec(j, 0, "SUNM")), 36);
    assert_int_equal(strlen(rec(j, 0, "CHID")), 10);
    assert_string_equal(rec(j, 0, "CONO"), "100");   /* numeric: not padded */
    assert_int_equal(strlen(rec(j, 0, "LMDT")), 8);
    assert_true(json_is_null(json_object_get(json_array_get(json_object_get(j, "results"), 0),
                                             "errorMessage")));
    json_decref(j);

    /* start key (trailing padding of the input ignored), maxrecs */
    j = run(f, "PPS001MI/ListHeadBasic;maxrecs=3", "CONO=100", "PUNO=0000004010  ", NULL);
    assert_int_equal(json_array_size(records(j)), 3);
    assert_string_equal(rec(j, 0, "PUNO"), "0000004010");
    assert_string_equal(rec(j, 2, "PUNO"), "0000004012");
    json_decref(j);
    j = run(f, "PPS001MI/ListHeadBasic;maxrecs=3", "CONO=100", "PUNO=0000004009A", NULL);
    assert_string_equal(rec(j, 0, "PUNO"), "0000004010");   /* >= the key, not = */
    json_decref(j);
    j = run(f, "PPS001MI/ListHeadBasic;maxrecs=3", "CONO=100", "PUNO=9", NULL);
    assert_int_equal(json_array_size(records(j)), 0);
    json_decref(j);

    /* maxrecs 0 = max_maxrecs (20 here); over it: 400 */
    j = run(f, "PPS001MI/ListHeadBasic;maxrecs=0", "CONO=100", NULL);
    assert_int_equal(json_array_size(records(j)), 20);
    json_decref(j);
    j = run(f, "PPS001MI/ListHeadBasic;maxrecs=21", "CONO=100", NULL);
    assert_int_equal(f->res.status, 400);
    assert_true(f->res.nok);
    json_decref(j);

    /* numeric keys start numerically: 9 < 10 */
    j = run(f, "APS450MI/LstInvBatchNo;returncols=INBN,SINO,APCD;excludempty=true", "DIVI=AAA",
            "INBN=9", NULL);
    assert_int_equal(json_array_size(records(j)), 4);
    assert_string_equal(rec(j, 0, "INBN"), "9");
    assert_string_equal(rec(j, 3, "INBN"), "12");
    assert_int_equal(strlen(rec(j, 0, "SINO")), 24);
    for (size_t i = 0; i < 4; i++) {
        json_t *r = json_array_get(records(j), i);
        assert_null(json_object_get(r, "SUNO"));   /* not in returncols */
        const char *apcd = json_string_value(json_object_get(r, "APCD"));
        assert_true(!apcd || apcd[0] != ' ');     /* blank ones left out */
    }
    json_decref(j);

    /* v1 */
    j = run(f, "v1:CRS620MI/LstSuppliers;maxrecs=2;returncols=SUNO,SUNM", NULL);
    assert_string_equal(json_string_value(json_object_get(j, "Program")), "CRS620MI");
    json_t *mi = json_object_get(j, "MIRecord");
    assert_int_equal(json_array_size(mi), 2);
    json_t *nv = json_object_get(json_array_get(mi, 1), "NameValue");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(mi, 1), "RowIndex")), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(nv, 0), "Name")), "SUNO");
    assert_string_equal(json_string_value(json_object_get(json_array_get(nv, 0), "Value")),
                        "S1002     ");
    json_t *meta = json_array_get(json_object_get(json_object_get(j, "Metadata"), "Field"), 1);
    assert_string_equal(json_string_value(json_object_get(meta, "@name")), "SUNM");
    assert_int_equal(json_integer_value(json_object_get(meta, "@length")), 36);
    json_decref(j);
}

/* Asserts a v2 error body with status, code and field. */
static void assert_nok(fx_t *f, json_t *j, int status, const char *code, const char *field)
{
    assert_int_equal(f->res.status, status);
    assert_true(f->res.nok);
    json_t *r = json_array_get(json_object_get(j, "results"), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "nrOfFailedTransactions")), 1);
    if (code)
        assert_string_equal(json_string_value(json_object_get(r, "errorCode")), code);
    if (field)
        assert_string_equal(json_string_value(json_object_get(r, "errorField")), field);
    json_decref(j);
}

static void test_errors(void **state)
{
    fx_t *f = *state;
    assert_nok(f, run(f, "PPS001MI/ListHeadBasic", NULL), 200, "WCO0102", "CONO");
    assert_nok(f, run(f, "PPS001MI/ListHeadBasic", "CONO=", NULL), 200, "WCO0102", "CONO");
    assert_nok(f, run(f, "PPS001MI/ListHeadBasic", "CONO=200", NULL), 200, "WCO0103", "CONO");
    assert_nok(f, run(f, "APS450MI/LstInvBatchNo", "DIVI=BBB", NULL), 200, "WDI0103", "DIVI");
    assert_nok(f, run(f, "APS450MI/GetHead", "DIVI=AAA", "INBN=x1", NULL), 200, "WIN0104",
               "INBN");
    assert_nok(f, run(f, "APS450MI/GetHead", "DIVI=AAA", "INBN=99", NULL), 200, "WIN0103",
               "INBN");
    assert_nok(f, run(f, "PPS200MI/GetHead", "PUNO=0000009999", NULL), 200, "WPU0103", "PUNO");
    assert_nok(f, run(f, "PPS001MI/ListHeadBasic", "CONO=100", "FACI=A01", NULL), 400, NULL,
               "FACI");
    assert_nok(f, run(f, "PPS001MI/ListHeadBasic;returncols=PUNO,NOCOL", "CONO=100", NULL), 400,
               NULL, "NOCOL");
    assert_nok(f, run(f, "PPS001MI/LstNothing", NULL), 400, NULL, NULL);
    assert_nok(f, run(f, "NOPROGMI/ListHeadBasic", NULL), 400, NULL, NULL);
    json_t *j = run(f, "v1:PPS200MI/GetHead", NULL);
    assert_int_equal(f->res.status, 200);
    assert_string_equal(json_string_value(json_object_get(j, "@type")), "ServerReturnedNOK");
    assert_string_equal(json_string_value(json_object_get(j, "@field")), "PUNO");
    assert_string_equal(json_string_value(json_object_get(j, "Message")),
                        "Purchase order number must be entered");
    json_decref(j);
}

static void test_get_and_approve(void **state)
{
    fx_t *f = *state;
    json_t *j = run(f, "PPS200MI/GetHead", "PUNO=0000004007", NULL);
    assert_int_equal(json_array_size(records(j)), 1);
    assert_string_equal(rec(j, 0, "PUNO"), "0000004007");
    json_decref(j);

    /* find an invoice awaiting approval */
    j = run(f, "APS450MI/LstInvBatchNo;maxrecs=0", "DIVI=AAA", NULL);
    char inbn[16] = "", chno[8] = "";
    for (size_t i = 0; i < json_array_size(records(j)) && !inbn[0]; i++) {
        if (strcmp(rec(j, i, "SUPA"), "90") != 0) {
            snprintf(inbn, sizeof inbn, "INBN=%s", rec(j, i, "INBN"));
            snprintf(chno, sizeof chno, "%s", rec(j, i, "CHNO"));
        }
    }
    json_decref(j);
    assert_true(inbn[0] != '\0');
    j = run(f, "APS450MI/ApproveInvoice", "DIVI=AAA", inbn, NULL);
    assert_int_equal(f->res.status, 200);
    assert_true(f->res.wrote);
    assert_int_equal(json_array_size(records(j)), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "nrOfSuccessfullTransactions")), 1);
    json_decref(j);
    j = run(f, "APS450MI/GetHead", "DIVI=AAA", inbn, NULL);
    assert_string_equal(rec(j, 0, "SUPA"), "90");
    assert_string_equal(rec(j, 0, "APCD"), "MLCDEMO   ");
    assert_string_equal(rec(j, 0, "CHID"), "MLCDEMO   ");
    assert_string_equal(rec(j, 0, "LMDT"), "20270115");
    assert_int_equal(atoi(rec(j, 0, "CHNO")), atoi(chno) + 1);
    json_decref(j);
    j = run(f, "APS450MI/ApproveInvoice", "DIVI=AAA", inbn, NULL);
    assert_false(f->res.wrote);
    assert_nok(f, j, 200, "WIN0301", "INBN");
    assert_nok(f, run(f, "APS450MI/ApproveInvoice", "DIVI=AAA", NULL), 200, "WIN0102", "INBN");

    ion_store_rdlock(f->st);
    ion_row_t *row = ion_store_find(f->st, ION_M3_INVOICE, inbn + 5);
    assert_non_null(row);
    assert_int_equal(json_array_size(row->log), 2);
    json_t *entry = json_array_get(row->log, 0);
    assert_string_equal(json_string_value(json_object_get(entry, "via")),
                        "APS450MI/ApproveInvoice");
    assert_string_equal(json_string_value(json_object_get(json_object_get(entry, "changes"),
                                                          "SUPA")), "90");
    assert_string_equal(json_string_value(json_object_get(json_array_get(row->log, 1),
                                                          "refused")), "already approved");
    ion_store_unlock(f->st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_call),
        cmocka_unit_test(test_error_bodies),
        cmocka_unit_test_setup_teardown(test_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_and_approve, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
