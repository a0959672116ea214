/* Unit tests for sim/ion_ido.c: the filter subset, orderby, bookmark encoding, ItemIds, and
 * loads / updates against a small seeded store (NEXT continues exactly after the bookmark, also
 * with DESC order and after rows change; stale ItemIds are refused). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ion_ido.h"

#define T0 1800000000000LL

/* The SLVchHdrs row with the given texts (others empty). Caller frees with free_row. */
static char **voucher(const char *voucher, const char *stat, const char *amt, const char *date)
{
    const ion_table_t *t = ion_table(ION_SL_VOUCHER);
    char **v = calloc(t->nfields, sizeof *v);
    for (size_t f = 0; f < t->nfields; f++)
        v[f] = strdup("");
    const char *set[][2] = {{"Voucher", voucher}, {"Stat", stat}, {"InvAmt", amt},
                            {"RecordDate", date}};
    for (size_t i = 0; i < 4; i++) {
        long f = ion_field_index(t, set[i][0]);
        free(v[f]);
        v[f] = strdup(set[i][1]);
    }
    return v;
}

static void free_row(char **v)
{
    for (size_t f = 0; f < ion_table(ION_SL_VOUCHER)->nfields; f++)
        free(v[f]);
    free(v);
}

/* True when filter text parses and matches v. */
static bool matches(const char *filter, char **v)
{
    char err[256];
    const ion_table_t *t = ion_table(ION_SL_VOUCHER);
    ion_filter_t *f = ion_filter_parse(filter, t, err, sizeof err);
    if (!f)
        fail_msg("filter %s: %s", filter, err);
    bool m = ion_filter_match(f, t, v);
    ion_filter_free(&f);
    assert_null(f);
    return m;
}

/* The error of a filter that must not parse. */
static const char *refused(const char *filter)
{
    static char err[256];
    err[0] = '\0';
    ion_filter_t *f = ion_filter_parse(filter, ion_table(ION_SL_VOUCHER), err, sizeof err);
    assert_null(f);
    assert_true(err[0] != '\0');
    return err;
}

static void test_filter(void **state)
{
    (void)state;
    char **v = voucher("17", "A", "1234.50000000", "20261120 08:15:02.123");
    assert_true(matches("", v));
    assert_true(matches(NULL, v));
    assert_true(matches("Stat = 'A'", v));
    assert_false(matches("Stat = 'P'", v));
    assert_true(matches("Stat<>'P'", v));
    assert_true(matches("Stat != 'P'", v));
    assert_true(matches("  Stat = N'A'  ", v));
    /* numbers compare numerically (17 > 9), quoted or not */
    assert_true(matches("Voucher > 9", v));
    assert_true(matches("Voucher > '9'", v));
    assert_true(matches("Voucher >= 17 AND Voucher <= 17", v));
    assert_false(matches("Voucher < 17", v));
    assert_true(matches("InvAmt >= 1234.5 and InvAmt < 1234.51", v));
    /* dates in several forms against RecordDate */
    assert_true(matches("RecordDate > '20261120 08:15:02.122'", v));
    assert_false(matches("RecordDate > '20261120 08:15:02.123'", v));
    assert_true(matches("RecordDate >= '2026-11-20T08:15:02.123'", v));
    assert_true(matches("RecordDate > '2026-11-20 08:15:02'", v));
    assert_true(matches("RecordDate > '20261120'", v));
    assert_false(matches("RecordDate < '2026-11-20'", v));
    /* an empty value is NULL: no comparison holds */
    assert_false(matches("PoNum = ''", v));
    assert_false(matches("PoNum <> 'x'", v));
    /* quotes */
    char **w = voucher("1", "it's", "1.00000000", "20261120 08:15:02.123");
    assert_true(matches("Stat = 'it''s'", w));
    free_row(w);

    assert_string_equal(refused("Foo = 'A'"), "Invalid column name 'Foo'.");
    assert_non_null(strstr(refused("Stat = 'A' OR Stat = 'P'"), "AND only"));
    assert_non_null(strstr(refused("Stat LIKE 'A%'"), "Incorrect syntax"));
    assert_non_null(strstr(refused("Stat = 'A"), "Incorrect syntax"));
    assert_non_null(strstr(refused("Stat = A"), "Incorrect syntax"));
    assert_non_null(strstr(refused("(Stat = 'A')"), "Incorrect syntax"));
    assert_non_null(strstr(refused("Stat = 'A' AND"), "Incorrect syntax"));
    assert_non_null(strstr(refused("Voucher > 'abc'"), "Conversion failed"));
    assert_non_null(strstr(refused("RecordDate > 'yesterday'"), "Conversion failed"));
    assert_non_null(strstr(refused("RecordDate > '2026-13-01'"), "Conversion failed"));
    assert_non_null(strstr(refused("Stat = 'A' ANDStat = 'B'"), "AND only"));
    free_row(v);
}

static void test_orderby(void **state)
{
    (void)state;
    const ion_table_t *t = ion_table(ION_SL_VOUCHER);
    size_t field;
    bool desc;
    char err[256];
    assert_int_equal(ion_orderby_parse(NULL, t, &field, &desc, err, sizeof err), 0);
    assert_int_equal(field, t->key);
    assert_false(desc);
    assert_int_equal(ion_orderby_parse("RecordDate DESC", t, &field, &desc, err, sizeof err), 0);
    assert_int_equal(field, t->modified);
    assert_true(desc);
    assert_int_equal(ion_orderby_parse(" InvAmt asc ", t, &field, &desc, err, sizeof err), 0);
    assert_int_equal(field, (size_t)ion_field_index(t, "InvAmt"));
    assert_false(desc);
    assert_int_equal(ion_orderby_parse("Nope", t, &field, &desc, err, sizeof err), -1);
    assert_int_equal(ion_orderby_parse("Stat, Voucher", t, &field, &desc, err, sizeof err), -1);
    assert_int_equal(ion_orderby_parse("Stat DOWN", t, &field, &desc, err, sizeof err), -1);
}

static void test_bookmark(void **state)
{
    (void)state;
    char *b = ion_bookmark_encode("PoNum", false, "PO00004002", "PO00004002");
    assert_string_equal(b, "<B><P><p>PoNum</p></P><D><f>false</f></D><L><v>PO00004002</v>"
                           "<k>PO00004002</k></L></B>");
    ion_bookmark_t bm;
    assert_int_equal(ion_bookmark_decode(b, &bm), 0);
    assert_string_equal(bm.property, "PoNum");
    assert_false(bm.desc);
    assert_string_equal(bm.value, "PO00004002");
    assert_string_equal(bm.key, "PO00004002");
    ion_bookmark_free(&bm);
    ion_bookmark_free(&bm);
    free(b);

    /* values with markup characters survive; DESC is kept */
    b = ion_bookmark_encode("Name", true, "A&B <Co> </v><k>", "V&1");
    assert_int_equal(ion_bookmark_decode(b, &bm), 0);
    assert_true(bm.desc);
    assert_string_equal(bm.value, "A&B <Co> </v><k>");
    assert_string_equal(bm.key, "V&1");
    ion_bookmark_free(&bm);
    free(b);
    b = ion_bookmark_encode("Name", false, "", "");
    assert_int_equal(ion_bookmark_decode(b, &bm), 0);
    assert_string_equal(bm.value, "");
    ion_bookmark_free(&bm);
    free(b);

    static const char *const BAD[] = {
        "", "garbage", "<B><P><p>PoNum</p></P><D><f>maybe</f></D><L><v>x</v><k>y</k></L></B>",
        "<B><P><p>PoNum</p></P><D><f>false</f></D><L><v>x</v><k>y</k></L></B>trailing",
        "<B><P><p>PoNum</p></P><D><f>false</f></D><L><v>a&b</v><k>y</k></L></B>",
        "<B><P><p>PoNum</p></P><D><f>false</f></D><L><v>x</v></L></B>",
        NULL,
    };
    for (int i = 0; BAD[i]; i++) {
        assert_int_equal(ion_bookmark_decode(BAD[i], &bm), -1);
        assert_null(bm.property);
    }
}

static void test_item_id(void **state)
{
    (void)state;
    const ion_table_t *t = ion_table(ION_SL_VOUCHER);
    char **v = voucher("5", "A", "1.00000000", "20261120 08:15:02.123");
    free(v[ion_field_index(t, "RowPointer")]);
    v[ion_field_index(t, "RowPointer")] = strdup("5B209ADC-4C1A-4D4F-BD5E-DD35479101AF");
    char id[192], rp[64], dt[40];
    assert_string_equal(ion_item_id(t, v, id, sizeof id),
                        "PBT=[vch_hdr] vch_hdr.ID=[5B209ADC-4C1A-4D4F-BD5E-DD35479101AF] "
                        "vch_hdr.DT=[2026-11-20 08:15:02.123]");
    assert_int_equal(ion_item_id_parse(t, id, rp, sizeof rp, dt, sizeof dt), 0);
    assert_string_equal(rp, "5B209ADC-4C1A-4D4F-BD5E-DD35479101AF");
    assert_string_equal(dt, "2026-11-20 08:15:02.123");
    assert_int_equal(ion_item_id_parse(ion_table(ION_SL_PO), id, rp, sizeof rp, dt, sizeof dt),
                     -1);
    assert_int_equal(ion_item_id_parse(t, "PBT=[vch_hdr] vch_hdr.ID=[x]", rp, sizeof rp, dt,
                                       sizeof dt), -1);
    assert_int_equal(ion_item_id_parse(t, "", rp, sizeof rp, dt, sizeof dt), -1);
    free_row(v);
}

/* ---- against a store --------------------------------------------------------------------- */

static int setup(void **state)
{
    ion_seed_t seed;
    ion_seed_init(&seed);
    seed.rows[ION_SL_PO] = 23;
    seed.rows[ION_SL_VOUCHER] = 31;
    ion_store_t *st = ion_store_new();
    ion_store_seed(st, &seed, T0);
    *state = st;
    return 0;
}

static int teardown(void **state)
{
    ion_store_t *st = *state;
    ion_store_destroy(&st);
    return 0;
}

static json_t *load(ion_store_t *st, ion_table_id_t table, const ion_ido_load_t *q,
                    long *count)
{
    buf_t out;
    buf_init(&out);
    *count = ion_ido_load(st, ion_table(table), q, &out);
    json_t *j = json_loadb(out.data, out.len, 0, NULL);
    assert_non_null(j);
    buf_free(&out);
    return j;
}

/* Loads every page of (orderby, recordcap) and returns the keys in order as one string. */
static char *all_keys(ion_store_t *st, ion_table_id_t table, const char *orderby,
                      const char *cap, const char *filter)
{
    buf_t keys;
    buf_init(&keys);
    char *bookmark = NULL;
    const char *key = ion_table(table)->fields[ion_table(table)->key].name;
    for (int page = 0; page < 100; page++) {
        ion_ido_load_t q = {key, filter, orderby, cap, bookmark ? "NEXT" : NULL, bookmark};
        long n;
        json_t *j = load(st, table, &q, &n);
        assert_true(json_is_true(json_object_get(j, "Success")));
        json_t *items = json_object_get(j, "Items");
        assert_int_equal((long)json_array_size(items), n);
        for (size_t i = 0; i < json_array_size(items); i++)
            buf_appendf(&keys, "%s ",
                        json_string_value(json_object_get(json_array_get(items, i), key)));
        free(bookmark);
        bookmark = strdup(json_string_value(json_object_get(j, "Bookmark")) ?
                          json_string_value(json_object_get(j, "Bookmark")) : "");
        bool more = json_is_true(json_object_get(j, "MoreRowsExist"));
        json_decref(j);
        if (!more)
            break;
    }
    free(bookmark);
    return buf_steal(&keys);
}

static void test_load_paging(void **state)
{
    ion_store_t *st = *state;
    char *k1 = all_keys(st, ION_SL_VOUCHER, NULL, "4", NULL);
    char *k2 = all_keys(st, ION_SL_VOUCHER, NULL, "0", NULL);
    assert_string_equal(k1, k2);
    assert_true(str_starts(k1, "1 2 3 4 5 6 7 8 9 10 11 "));   /* numeric order */
    free(k2);
    /* DESC by a non-key property, with ties broken by the key: every row exactly once */
    char *d3 = all_keys(st, ION_SL_VOUCHER, "Stat DESC", "3", NULL);
    char *dall = all_keys(st, ION_SL_VOUCHER, "Stat DESC", "-1", NULL);
    assert_string_equal(d3, dall);
    int seen[32] = {0}, n = 0;
    for (char *p = d3; *p; p += strcspn(p, " ") + 1, n++)
        seen[atoi(p)]++;
    assert_int_equal(n, 31);
    for (int i = 1; i <= 31; i++)
        assert_int_equal(seen[i], 1);
    free(d3);
    free(dall);
    /* a filter applies to every page */
    char *f = all_keys(st, ION_SL_VOUCHER, "InvAmt", "2", "Voucher >= 20 AND Voucher < 25");
    n = 0;
    for (char *p = f; *p; p += strcspn(p, " ") + 1, n++)
        assert_true(atoi(p) >= 20 && atoi(p) < 25);
    assert_int_equal(n, 5);
    free(f);
    free(k1);

    /* errors answer Success false and count -1 */
    static const ion_ido_load_t BAD[] = {
        {"PoNum,Nope", NULL, NULL, NULL, NULL, NULL},
        {NULL, "Nope = 1", NULL, NULL, NULL, NULL},
        {NULL, NULL, "Nope", NULL, NULL, NULL},
        {NULL, NULL, NULL, "-2", NULL, NULL},
        {NULL, NULL, NULL, "x", NULL, NULL},
        {NULL, NULL, NULL, NULL, "LAST", NULL},
        {NULL, NULL, NULL, NULL, "NEXT", NULL},
        {NULL, NULL, NULL, NULL, "NEXT", "junk"},
        {NULL, NULL, "Stat", NULL, "NEXT",
         "<B><P><p>PoNum</p></P><D><f>false</f></D><L><v>x</v><k>y</k></L></B>"},
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        long count;
        json_t *j = load(st, ION_SL_PO, &BAD[i], &count);
        assert_int_equal(count, -1);
        assert_true(json_is_false(json_object_get(j, "Success")));
        assert_true(json_is_null(json_object_get(j, "Items")));
        assert_non_null(json_string_value(json_object_get(j, "Message")));
        json_decref(j);
    }
}

static void test_load_items(void **state)
{
    ion_store_t *st = *state;
    ion_ido_load_t q = {"PoNum, Stat,PoTotal", NULL, NULL, "2", NULL, NULL};
    long n;
    json_t *j = load(st, ION_SL_PO, &q, &n);
    assert_int_equal(n, 2);
    json_t *it = json_array_get(json_object_get(j, "Items"), 0);
    assert_int_equal(json_object_size(it), 4);   /* 3 properties + _ItemId */
    assert_string_equal(json_string_value(json_object_get(it, "PoNum")), "PO00004001");
    assert_true(str_starts(json_string_value(json_object_get(it, "_ItemId")), "PBT=[po] po.ID=["));
    assert_true(json_is_true(json_object_get(j, "MoreRowsExist")));
    json_decref(j);
    /* a NEXT page after the last row: empty, the same bookmark back */
    char *bm = ion_bookmark_encode("PoNum", false, "PO00009999", "PO00009999");
    ion_ido_load_t last = {NULL, NULL, NULL, NULL, "NEXT", bm};
    j = load(st, ION_SL_PO, &last, &n);
    assert_int_equal(n, 0);
    assert_string_equal(json_string_value(json_object_get(j, "Bookmark")), bm);
    assert_true(json_is_false(json_object_get(j, "MoreRowsExist")));
    json_decref(j);
    free(bm);
}

/* Runs an update; returns the parsed answer. */
static json_t *update(ion_store_t *st, const char *body, ion_ido_update_result_t *res)
{
    buf_t out;
    buf_init(&out);
    ion_ido_update(st, ion_table(ION_SL_PO), body, strlen(body), true, "MLCDEMO", T0 + 5000,
                   &out, res);
    json_t *j = json_loadb(out.data, out.len, 0, NULL);
    assert_non_null(j);
    buf_free(&out);
    return j;
}

static char *change(const char *item_id, const char *name, const char *value, int action)
{
    char *s = NULL;
    assert_true(asprintf(&s, "{\"Changes\":[{\"Action\":%d,\"ItemId\":\"%s\",\"Properties\":"
                             "[{\"Name\":\"%s\",\"Value\":\"%s\",\"Modified\":true,"
                             "\"IsNull\":false}],\"UpdateLocking\":1}]}",
                         action, item_id, name, value) > 0);
    return s;
}

static const char *message(json_t *j)
{
    assert_true(json_is_false(json_object_get(j, "Success")));
    return json_string_value(json_object_get(j, "Message"));
}

static void test_update(void **state)
{
    ion_store_t *st = *state;
    const ion_table_t *t = ion_table(ION_SL_PO);
    char id[192];
    ion_store_rdlock(st);
    ion_row_t *row = ion_store_find(st, ION_SL_PO, "PO00004003");
    ion_item_id(t, row->vals, id, sizeof id);
    ion_store_unlock(st);

    ion_ido_update_result_t res;
    char *body = change(id, "Stat", "C", 2);
    json_t *j = update(st, body, &res);
    assert_int_equal(res.status, 200);
    assert_int_equal(res.written, 1);
    assert_false(res.conflict);
    assert_true(json_is_true(json_object_get(j, "Success")));
    json_t *it = json_array_get(json_object_get(j, "RefreshItems"), 0);
    assert_string_equal(json_string_value(json_object_get(it, "Stat")), "C");
    assert_string_equal(json_string_value(json_object_get(it, "UpdatedBy")), "MLCDEMO");
    assert_string_not_equal(json_string_value(json_object_get(it, "_ItemId")), id);
    char fresh[192];
    snprintf(fresh, sizeof fresh, "%s", json_string_value(json_object_get(it, "_ItemId")));
    json_decref(j);

    /* the same ItemId again: stale, nothing written */
    j = update(st, body, &res);
    assert_true(res.conflict);
    assert_int_equal(res.written, 0);
    assert_non_null(strstr(message(j), "modified by another user"));
    json_decref(j);
    free(body);

    /* two updates within the same millisecond still give two ItemIds */
    body = change(fresh, "Buyer", "RSATO", 2);
    j = update(st, body, &res);
    assert_int_equal(res.written, 1);
    it = json_array_get(json_object_get(j, "RefreshItems"), 0);
    assert_string_not_equal(json_string_value(json_object_get(it, "_ItemId")), fresh);
    snprintf(fresh, sizeof fresh, "%s", json_string_value(json_object_get(it, "_ItemId")));
    json_decref(j);
    free(body);

    static const struct { const char *name, *value; int action; const char *expect; } BAD[] = {
        {"Stat", "X", 2, "not one of P O F C"},
        {"PoNum", "PO1", 2, "read-only"},
        {"VendorName", "x", 2, "read-only"},
        {"Nope", "x", 2, "Property Nope not found in IDO SLPos"},
        {"Stat", "O", 1, "Action 1 (insert)"},
        {"Stat", "O", 4, "Action 4 (delete)"},
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        body = change(fresh, BAD[i].name, BAD[i].value, BAD[i].action);
        j = update(st, body, &res);
        assert_int_equal(res.status, 200);
        assert_int_equal(res.written, 0);
        assert_non_null(strstr(message(j), BAD[i].expect));
        json_decref(j);
        free(body);
    }
    body = change("PBT=[vch_hdr] vch_hdr.ID=[x] vch_hdr.DT=[y]", "Stat", "O", 2);
    j = update(st, body, &res);
    assert_non_null(strstr(message(j), "is not an ItemId of IDO SLPos"));
    json_decref(j);
    free(body);
    body = change("PBT=[po] po.ID=[NOPE] po.DT=[2026-01-01 00:00:00.000]", "Stat", "O", 2);
    j = update(st, body, &res);
    assert_non_null(strstr(message(j), "does not exist"));
    json_decref(j);
    free(body);
    j = update(st, "{\"Changes\":[]}", &res);
    assert_int_equal(res.status, 400);
    json_decref(j);
    j = update(st, "not json", &res);
    assert_int_equal(res.status, 400);
    json_decref(j);

    /* all or nothing: a good change and a bad one change nothing */
    char *two = NULL;
    assert_true(asprintf(&two, "{\"Changes\":[{\"Action\":2,\"ItemId\":\"%s\",\"Properties\":"
                               "[{\"Name\":\"Stat\",\"Value\":\"P\",\"Modified\":true}]},"
                               "{\"Action\":2,\"ItemId\":\"%s\",\"Properties\":[{\"Name\":"
                               "\"Stat\",\"Value\":\"Q\",\"Modified\":true}]}]}",
                         fresh, fresh) > 0);
    j = update(st, two, &res);
    assert_non_null(strstr(message(j), "(Changes[1])"));
    json_decref(j);
    free(two);
    ion_store_rdlock(st);
    row = ion_store_find(st, ION_SL_PO, "PO00004003");
    assert_string_equal(row->vals[ion_field_index(t, "Stat")], "C");
    ion_store_unlock(st);

    /* Modified false properties are ignored; IsNull sets an empty value */
    char *skip = NULL;
    assert_true(asprintf(&skip, "{\"Changes\":[{\"Action\":2,\"ItemId\":\"%s\",\"Properties\":"
                                "[{\"Name\":\"Stat\",\"Value\":\"Q\",\"Modified\":false},"
                                "{\"Name\":\"Whse\",\"Value\":null,\"Modified\":true,"
                                "\"IsNull\":true}]}]}", fresh) > 0);
    j = update(st, skip, &res);
    assert_true(json_is_true(json_object_get(j, "Success")));
    it = json_array_get(json_object_get(j, "RefreshItems"), 0);
    assert_true(json_is_null(json_object_get(it, "Whse")));
    assert_string_equal(json_string_value(json_object_get(it, "Stat")), "C");
    json_decref(j);
    free(skip);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filter),
        cmocka_unit_test(test_orderby),
        cmocka_unit_test(test_bookmark),
        cmocka_unit_test(test_item_id),
        cmocka_unit_test_setup_teardown(test_load_paging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_items, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
