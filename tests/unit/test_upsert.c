/* Tests of the pure naming helpers of the writer (workers/writer/upsert.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>

#include "upsert.h"

static void test_names(void **state)
{
    record_t r = { .kind = "po", .erp_key = "4711", .number = "4711", .supplier_id = "S1001",
                   .supplier_name = "Acme Steel AB" };
    char *s = task_name(&r);
    assert_string_equal(s, "PO 4711 \xc2\xb7 Acme Steel AB (S1001)");
    free(s);
    s = erp_key_value("demo", &r);
    assert_string_equal(s, "demo:po:4711");
    free(s);
    r.supplier_name = NULL;
    s = supplier_label(&r);
    assert_string_equal(s, "S1001");
    free(s);
    r.supplier_id = NULL;
    assert_null(supplier_label(&r));
    r.kind = "invoice";
    r.number = "SI-1";
    s = task_name(&r);
    assert_string_equal(s, "Invoice SI-1");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_names) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
