/* Tests of the pure IFS OData helpers (workers/erp/ifs.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "erp.h"
#include "ifs.h"
#include "util.h"

static flow_cfg_t po_flow(json_t **map)
{
    *map = json_pack("{s:s, s:s, s:s, s:s}", "erp_key", "OrderNo", "number", "OrderNo",
                     "supplier_id", "VendorNo", "modified_at", "ChangedDate");
    flow_cfg_t f = { .name = "purchase_orders", .kind = "po",
                     .entity = "PurchaseOrderHandling.svc/PurchaseOrderSet", .key_field = "OrderNo",
                     .modified_field = "ChangedDate", .company_field = "Company", .map = *map };
    return f;
}

static void test_quote(void **state)
{
    char *q = odata_quote("O'Brien");
    assert_string_equal(q, "'O''Brien'");
    free(q);
    q = odata_quote("");
    assert_string_equal(q, "''");
    free(q);
}

static void test_filter(void **state)
{
    json_t *map;
    flow_cfg_t f = po_flow(&map);
    char *s = ifs_filter(&f, "10", NULL, NULL);
    assert_string_equal(s, "Company eq '10'");
    free(s);
    s = ifs_filter(&f, "10", "2026-11-01T00:00:00Z", "4711");
    assert_string_equal(s, "Company eq '10' and ChangedDate ge 2026-11-01T00:00:00Z and OrderNo gt '4711'");
    free(s);
    f.company_field = NULL;
    s = ifs_filter(&f, "10", NULL, "a'b");
    assert_string_equal(s, "OrderNo gt 'a''b'");
    free(s);
    s = ifs_filter(&f, NULL, NULL, NULL);
    assert_string_equal(s, "");
    free(s);
    json_decref(map);
}

static void test_select_has_each_member_once(void **state)
{
    json_t *map;
    flow_cfg_t f = po_flow(&map);
    char *s = erp_members(&f);
    assert_string_equal(s, "OrderNo,ChangedDate,Company,VendorNo");
    free(s);
    json_decref(map);
}

static void test_page_url(void **state)
{
    json_t *map;
    flow_cfg_t f = po_flow(&map);
    char *u = ifs_page_url("http://h:1/", &f, "10", NULL, NULL, 5000);
    assert_string_equal(u, "http://h:1/main/ifsapplications/projection/v1/PurchaseOrderHandling.svc/"
                           "PurchaseOrderSet?$select=OrderNo%2CChangedDate%2CCompany%2CVendorNo"
                           "&$filter=Company%20eq%20%2710%27&$orderby=OrderNo&$top=5000");
    free(u);
    json_decref(map);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quote),
        cmocka_unit_test(test_filter),
        cmocka_unit_test(test_select_has_each_member_once),
        cmocka_unit_test(test_page_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
