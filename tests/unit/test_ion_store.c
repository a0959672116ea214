/* Unit tests for sim/ion_store.c with sim/ion_schema.c and sim/ion_seed.c: field checks and
 * ordering, wire time formats, deterministic seeding, the seed configuration, key lookups,
 * inserts, and modifications that move the M3 (LMDT, CHNO, CHID) and SyteLine (RecordDate,
 * UpdatedBy) stamps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ion_store.h"

#define T0 1800000000000LL   /* 2027-01-15T08:00:00.000Z */

static const ion_field_t *field(ion_table_id_t t, const char *name)
{
    long f = ion_field_index(ion_table(t), name);
    assert_true(f >= 0);
    return &ion_table(t)->fields[f];
}

static bool valid(ion_table_id_t t, const char *name, const char *value)
{
    char err[256];
    return ion_field_check(field(t, name), ion_table(t)->system, value, err, sizeof err) == 0;
}

static void test_schema(void **state)
{
    (void)state;
    assert_ptr_equal(ion_table_by_ido("SLPos"), ion_table(ION_SL_PO));
    assert_null(ion_table_by_ido("slpos"));
    assert_ptr_equal(ion_table_by_name(ION_M3, "invoice"), ion_table(ION_M3_INVOICE));
    assert_ptr_equal(ion_table_by_name(ION_SL, "supplier"), ion_table(ION_SL_VENDOR));
    assert_null(ion_table_by_name(ION_M3, "voucher"));
    for (int i = 0; i < ION_NTABLES; i++) {
        const ion_table_t *t = ion_table((ion_table_id_t)i);
        assert_int_equal(t->id, i);
        const char *mod = t->fields[t->modified].name;
        assert_string_equal(mod, t->system == ION_M3 ? "LMDT" : "RecordDate");
    }
    assert_string_equal(ion_table(ION_M3_PO)->fields[ion_table(ION_M3_PO)->key].name, "PUNO");

    assert_true(valid(ION_M3_PO, "SUNO", "S1001"));
    assert_false(valid(ION_M3_PO, "SUNO", "S1001000000X"));   /* longer than 10 */
    assert_true(valid(ION_M3_PO, "NTAM", "1234.50"));
    assert_false(valid(ION_M3_PO, "NTAM", "1234.500"));
    assert_false(valid(ION_M3_PO, "NTAM", "12a"));
    assert_true(valid(ION_M3_PO, "PUDT", "20261231"));
    assert_false(valid(ION_M3_PO, "PUDT", "20261331"));
    assert_false(valid(ION_M3_PO, "PUDT", "2026-12-31"));
    assert_true(valid(ION_M3_PO, "PUST", "20"));
    assert_false(valid(ION_M3_PO, "PUST", "21"));
    assert_false(valid(ION_M3_PO, "CHNO", "1234"));
    assert_true(valid(ION_SL_PO, "OrderDate", "20261231 00:00:00.000"));
    assert_false(valid(ION_SL_PO, "OrderDate", "20261231 10:00:00.000"));
    assert_true(valid(ION_SL_PO, "RecordDate", "20261231 23:59:59.999"));
    assert_false(valid(ION_SL_PO, "RecordDate", "20261231 23:59:59"));
    assert_true(valid(ION_SL_PO, "PoTotal", "1.12345678"));
    assert_false(valid(ION_SL_PO, "PoTotal", "1.123456789"));
    assert_true(valid(ION_SL_PO, "VendorName", "a name far longer than any M3 field would be"));
    char err[256];
    assert_int_equal(ion_field_check(field(ION_SL_PO, "Stat"), ION_SL, "Z", err, sizeof err), -1);
    assert_string_equal(err, "Stat: 'Z' is not one of P O F C");

    assert_true(ion_field_compare(field(ION_SL_VOUCHER, "Voucher"), "9", "10") < 0);
    assert_true(ion_field_compare(field(ION_SL_VOUCHER, "Voucher"), "010", "10") == 0);
    assert_true(ion_field_compare(field(ION_SL_VOUCHER, "InvAmt"), "9.5", "10.25") < 0);
    assert_true(ion_field_compare(field(ION_SL_VOUCHER, "InvNum"), "9", "10") > 0);

    char text[32];
    assert_string_equal(ion_format_time(ION_DATE, ION_M3, T0 + 123, text, sizeof text),
                        "20270115");
    assert_string_equal(ion_format_time(ION_DATE, ION_SL, T0 + 123, text, sizeof text),
                        "20270115 00:00:00.000");
    assert_string_equal(ion_format_time(ION_STAMP, ION_SL, T0 + 123, text, sizeof text),
                        "20270115 08:00:00.123");
    assert_int_equal(ion_parse_time("20270115 08:00:00.123"), T0 + 123);
    assert_int_equal(ion_parse_time("20270115"), T0 - 8 * 3600 * 1000);
    assert_int_equal(ion_parse_time("2027-01-15"), -1);
    assert_int_equal(ion_parse_time(""), -1);
}

static void test_seed(void **state)
{
    (void)state;
    ion_seed_t s;
    ion_seed_init(&s);
    assert_int_equal(s.rows[ION_M3_PO], 300);
    assert_int_equal(s.rows[ION_M3_INVOICE], 100);
    assert_int_equal(s.rows[ION_M3_SUPPLIER], 30);
    assert_int_equal(s.rows[ION_SL_PO], 200);
    assert_int_equal(s.rows[ION_SL_VOUCHER], 100);
    assert_int_equal(s.rows[ION_SL_VENDOR], 30);
    /* every seeded value passes its field check; rows are deterministic */
    for (int t = 0; t < ION_NTABLES; t++) {
        const ion_table_t *tb = ion_table((ion_table_id_t)t);
        for (long i = 0; i < 40; i++) {
            char **a = ion_seed_row(&s, (ion_table_id_t)t, i, T0);
            char **b = ion_seed_row(&s, (ion_table_id_t)t, i, T0);
            for (size_t f = 0; f < tb->nfields; f++) {
                char err[256];
                if (ion_field_check(&tb->fields[f], tb->system, a[f], err, sizeof err) < 0)
                    fail_msg("table %d row %ld: %s", t, i, err);
                assert_string_equal(a[f], b[f]);
            }
            int64_t mod = ion_parse_time(a[tb->modified]);
            assert_true(mod <= T0 && mod > T0 - 31LL * 86400 * 1000);
            ion_seed_row_free(a, (ion_table_id_t)t);
            ion_seed_row_free(b, (ion_table_id_t)t);
        }
    }
    char **po = ion_seed_row(&s, ION_M3_PO, 0, T0);
    assert_string_equal(po[ion_field_index(ion_table(ION_M3_PO), "PUNO")], "0000004001");
    assert_string_equal(po[ion_field_index(ion_table(ION_M3_PO), "CONO")], "100");
    assert_string_equal(po[ion_field_index(ion_table(ION_M3_PO), "DIVI")], "AAA");
    ion_seed_row_free(po, ION_M3_PO);
    po = ion_seed_row(&s, ION_SL_PO, 199, T0);
    assert_string_equal(po[0], "PO00004200");
    ion_seed_row_free(po, ION_SL_PO);
    char **v = ion_seed_row(&s, ION_SL_VOUCHER, 99, T0);
    assert_string_equal(v[0], "100");
    ion_seed_row_free(v, ION_SL_VOUCHER);

    char err[256];
    json_t *j = json_pack("{s:{s:i},s:{s:i},s:s,s:I}", "m3", "pos", 7, "syteline", "suppliers",
                          3, "division", "BBB", "random_seed", (json_int_t)7);
    assert_int_equal(ion_seed_parse(&s, j, err, sizeof err), 0);
    json_decref(j);
    assert_int_equal(s.rows[ION_M3_PO], 7);
    assert_int_equal(s.rows[ION_M3_INVOICE], 100);
    assert_int_equal(s.rows[ION_SL_VENDOR], 3);
    assert_string_equal(s.division, "BBB");
    j = ion_seed_json(&s);
    ion_seed_t copy;
    ion_seed_init(&copy);
    assert_int_equal(ion_seed_parse(&copy, j, err, sizeof err), 0);
    assert_memory_equal(&copy, &s, sizeof s);
    json_decref(j);

    static const char *const BAD[] = {
        "[]", "{\"m3\":{\"orders\":1}}", "{\"m3\":{\"pos\":-1}}", "{\"m3\":[]}",
        "{\"company\":\"ABC\"}", "{\"company\":\"1000\"}", "{\"division\":\"\"}",
        "{\"random_seed\":\"x\"}", "{\"pos\":1}", NULL,
    };
    for (int i = 0; BAD[i]; i++) {
        json_t *b = json_loads(BAD[i], JSON_DECODE_ANY, NULL);
        assert_int_equal(ion_seed_parse(&s, b, err, sizeof err), -1);
        assert_true(strncmp(err, "seed", 4) == 0);
        json_decref(b);
    }
    assert_int_equal(s.rows[ION_M3_PO], 7);   /* unchanged by the refused ones */
}

static void test_store(void **state)
{
    (void)state;
    ion_seed_t s;
    ion_seed_init(&s);
    ion_store_t *st = ion_store_new();
    ion_store_seed(st, &s, T0);
    assert_int_equal(ion_store_count(st, ION_M3_INVOICE), 100);
    ion_store_wrlock(st);
    assert_int_equal(ion_store_lower_bound(st, ION_M3_INVOICE, "9"), 8);     /* numeric keys */
    assert_int_equal(ion_store_lower_bound(st, ION_M3_INVOICE, "101"), 100);
    assert_int_equal(ion_store_lower_bound(st, ION_M3_PO, "0000004100"), 99);
    assert_null(ion_store_find(st, ION_M3_PO, "4100"));
    ion_row_t *po = ion_store_find(st, ION_M3_PO, "0000004100");
    assert_non_null(po);
    const ion_table_t *m3 = ion_table(ION_M3_PO);
    long chno = strtol(po->vals[ion_field_index(m3, "CHNO")], NULL, 10);

    /* a change inside M3 (any field): LMDT today, CHNO + 1, CHID */
    ion_change_t ch[] = {{"BUYE", "RSATO"}};
    ion_write_t w = {"sim", "SIMUSER", ch, 1, true};
    char err[256];
    assert_int_equal(ion_store_apply(ION_M3_PO, po, &w, T0 + 5000, err, sizeof err), 0);
    assert_string_equal(po->vals[ion_field_index(m3, "BUYE")], "RSATO");
    assert_string_equal(po->vals[m3->modified], "20270115");
    assert_int_equal(strtol(po->vals[ion_field_index(m3, "CHNO")], NULL, 10), (chno + 1) % 1000);
    assert_string_equal(po->vals[ion_field_index(m3, "CHID")], "SIMUSER");
    assert_int_equal(json_array_size(po->log), 1);
    /* refused changes change nothing */
    ion_change_t key[] = {{"PUNO", "X"}}, unknown[] = {{"NOPE", "X"}}, bad[] = {{"PUDT", "x"}};
    ion_write_t refused[] = {{"sim", "S", key, 1, true}, {"sim", "S", unknown, 1, true},
                             {"sim", "S", bad, 1, true}, {"api", "S", ch, 1, false}};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(ion_store_apply(ION_M3_PO, po, &refused[i], T0, err, sizeof err), -1);
    assert_string_equal(err, "Property BUYE is read-only");
    assert_int_equal(json_array_size(po->log), 1);

    /* SyteLine: RecordDate moves forward, at least by 1 ms */
    const ion_table_t *sl = ion_table(ION_SL_PO);
    ion_row_t *slpo = ion_store_find(st, ION_SL_PO, "PO00004007");
    ion_change_t stat[] = {{"Stat", "C"}};
    ion_write_t api = {"ido/update", "MLCDEMO", stat, 1, false};
    assert_int_equal(ion_store_apply(ION_SL_PO, slpo, &api, T0 + 7, err, sizeof err), 0);
    assert_string_equal(slpo->vals[sl->modified], "20270115 08:00:00.007");
    assert_int_equal(ion_store_apply(ION_SL_PO, slpo, &api, T0 + 7, err, sizeof err), 0);
    assert_string_equal(slpo->vals[sl->modified], "20270115 08:00:00.008");
    assert_string_equal(slpo->vals[ion_field_index(sl, "UpdatedBy")], "MLCDEMO");
    /* setting the stamp explicitly keeps it */
    ion_change_t rd[] = {{"RecordDate", "20200101 00:00:00.000"}};
    ion_write_t explicit_stamp = {"sim", "SIMUSER", rd, 1, true};
    assert_int_equal(ion_store_apply(ION_SL_PO, slpo, &explicit_stamp, T0, err, sizeof err), 0);
    assert_string_equal(slpo->vals[sl->modified], "20200101 00:00:00.000");
    const char *rp = slpo->vals[ion_field_index(sl, "RowPointer")];
    assert_ptr_equal(ion_store_find_by(st, ION_SL_PO, (size_t)ion_field_index(sl, "RowPointer"),
                                       rp), slpo);
    json_t *j = ion_store_row_json(ION_SL_PO, slpo);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "fields"), "Stat")),
                        "C");
    json_t *first = json_array_get(json_object_get(j, "write_log"), 0);
    assert_string_equal(json_string_value(json_object_get(first, "stamp_after")),
                        "20270115 08:00:00.007");
    json_decref(j);
    ion_store_log_refusal(slpo, "ido/update", "MLCDEMO", "stale ItemId", T0);
    assert_string_equal(json_string_value(json_object_get(json_array_get(slpo->log, 3),
                                                          "refused")), "stale ItemId");

    /* inserts keep key order and refuse duplicates */
    char **row = ion_seed_row(&s, ION_M3_INVOICE, 200, T0);
    free(row[ion_table(ION_M3_INVOICE)->key]);
    row[ion_table(ION_M3_INVOICE)->key] = strdup("50");
    assert_null(ion_store_insert(st, ION_M3_INVOICE, row));
    row = ion_seed_row(&s, ION_M3_INVOICE, 200, T0);
    free(row[ion_table(ION_M3_INVOICE)->key]);
    row[ion_table(ION_M3_INVOICE)->key] = strdup("1000");
    assert_non_null(ion_store_insert(st, ION_M3_INVOICE, row));
    size_t n;
    ion_row_t *const *rows = ion_store_rows(st, ION_M3_INVOICE, &n);
    assert_int_equal(n, 101);
    assert_string_equal(rows[100]->vals[ion_table(ION_M3_INVOICE)->key], "1000");
    ion_store_unlock(st);

    /* reseeding replaces everything */
    s.rows[ION_M3_INVOICE] = 3;
    ion_store_seed(st, &s, T0);
    assert_int_equal(ion_store_count(st, ION_M3_INVOICE), 3);
    ion_store_destroy(&st);
    assert_null(st);
    ion_store_destroy(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema),
        cmocka_unit_test(test_seed),
        cmocka_unit_test(test_store),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
