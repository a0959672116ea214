/* Tests of workers/poller/reference.c, the pure parts: the synthetic flow built from a
 * "reference":{"suppliers":{...}} (and that it passes the tenant's own flow validation, which
 * derives the M3 entity and key input), the count of new or renamed suppliers, and the seed
 * job id. reference_sync itself runs in tests/integration/test_reference.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "m3.h"
#include "reference.h"

static const char *str(const json_t *obj, const char *path)
{
    return json_string_value(json_path_get(obj, path));
}

static void test_flow_from_ifs_reference(void **state)
{
    (void)state;
    json_t *ref = json_pack("{s:s, s:s, s:s}", "entity",
                            "SuppliersHandling.svc/SupplierInfoGeneralSet", "key", "VendorNo",
                            "name", "VendorName");
    json_t *flow = reference_flow(ref, "suppliers", "every 5 minutes");
    assert_non_null(flow);
    assert_string_equal(str(flow, "name"), "reference_suppliers");
    assert_string_equal(str(flow, "kind"), "po");
    assert_string_equal(str(flow, "entity"), "SuppliersHandling.svc/SupplierInfoGeneralSet");
    assert_string_equal(str(flow, "modified_field"), "VendorNo");
    assert_string_equal(str(flow, "schedule"), "every 5 minutes");
    assert_true(json_is_null(json_object_get(flow, "company_field")));
    json_t *want = json_pack("{s:s, s:s, s:s, s:s}", "erp_key", "VendorNo", "number", "VendorNo",
                             "supplier_id", "VendorNo", "supplier_name", "VendorName");
    assert_true(json_equal(json_object_get(flow, "map"), want));
    assert_string_equal(str(ref, "name"), "VendorName");   /* ref itself is left alone */
    json_decref(want);
    json_decref(flow);
    /* A company member given in the reference is kept. */
    json_object_set_new(ref, "company_field", json_string("Company"));
    flow = reference_flow(ref, "suppliers", "every 5 minutes");
    assert_string_equal(str(flow, "company_field"), "Company");
    json_decref(flow);
    json_decref(ref);
}

static void test_flow_without_key_or_name(void **state)
{
    (void)state;
    json_t *ref = json_pack("{s:s}", "ido", "SLVendors");
    assert_null(reference_flow(ref, "suppliers", "every 5 minutes"));
    json_object_set_new(ref, "key", json_string("VendNum"));
    json_t *flow = reference_flow(ref, "suppliers", "every 5 minutes");
    assert_non_null(flow);
    assert_null(json_path_get(flow, "map.supplier_name"));
    assert_string_equal(str(flow, "map.supplier_id"), "VendNum");
    json_decref(flow);
    json_decref(ref);
}

/* The M3 default reference, as a flow of an M3 tenant: validation derives the entity and the
 * key input, and the list request asks for the supplier columns from the start key on. */
static void test_m3_flow_validates(void **state)
{
    (void)state;
    json_t *ref = json_loads("{\"program\":\"CRS620MI\",\"transaction\":\"LstSuppliers\","
                             "\"key\":\"SUNO\",\"key_input\":\"SUNO\",\"name\":\"SUNM\","
                             "\"inputs\":{\"CONO\":\"{company}\"}}", 0, NULL);
    json_t *tenant = json_loads(
        "{\"id\":\"m3co\",\"erp\":{\"type\":\"m3\",\"company\":\"100\",\"division\":\"AAA\","
        "\"ionapi\":{\"ti\":\"T\",\"ci\":\"c\",\"cs\":\"s\",\"iu\":\"http://127.0.0.1:1\","
        "\"pu\":\"http://127.0.0.1:1/T/as/\",\"ot\":\"token.oauth2\",\"saak\":\"a\","
        "\"sask\":\"b\"}},\"asana\":{\"base_url\":\"http://a\",\"token\":\"t\","
        "\"workspace\":\"1\",\"project\":\"2\"}}", 0, NULL);
    assert_non_null(ref);
    assert_non_null(tenant);
    json_object_set_new(tenant, "flows",
                        json_pack("[o]", reference_flow(ref, "suppliers", "every 5 minutes")));
    tenant_cfg_t t;
    char err[256] = "";
    assert_int_equal(tenant_cfg_parse(tenant, &t, err, sizeof err), 0);
    assert_int_equal(t.nflows, 1);
    assert_string_equal(t.flows[0].entity, "CRS620MI/LstSuppliers");
    assert_string_equal(str(t.flows[0].raw, "inputs.CONO"), "100");
    char *url = m3_page_url("http://ion/T", &t.flows[0], "S100", 100);
    assert_string_equal(url, "http://ion/T/M3/m3api-rest/v2/execute/CRS620MI/LstSuppliers;"
                             "maxrecs=100;returncols=SUNO,SUNM?CONO=100&SUNO=S100");
    free(url);
    tenant_cfg_free(&t);
    json_decref(tenant);
    json_decref(ref);
}

static void test_changes(void **state)
{
    (void)state;
    json_t *stored = json_pack("{s:s, s:s, s:s}", "S1", "Acme", "S2", "Beta", "S3", "Gone");
    json_t *fresh = json_pack("{s:s, s:s, s:s}", "S1", "Acme", "S2", "Beta AB", "S4", "New");
    assert_int_equal(reference_changes(stored, fresh), 2);      /* S2 renamed, S4 new */
    assert_int_equal(reference_changes(stored, stored), 0);
    json_t *empty = json_object();
    assert_int_equal(reference_changes(empty, fresh), 3);
    assert_int_equal(reference_changes(fresh, empty), 0);       /* removals alone: no seed */
    json_decref(empty);
    json_decref(stored);
    json_decref(fresh);
}

static void test_job_id(void **state)
{
    (void)state;
    json_t *a = json_pack("{s:s, s:s}", "S1", "Acme", "S2", "Beta");
    json_t *b = json_pack("{s:s, s:s}", "S2", "Beta", "S1", "Acme");
    char *ia = reference_job_id("suppliers", a), *ib = reference_job_id("suppliers", b);
    assert_int_equal(strlen(ia), strlen("seed:suppliers:") + 12);
    assert_memory_equal(ia, "seed:suppliers:", 15);
    assert_int_equal(strspn(ia + 15, "0123456789abcdef"), 12);
    assert_string_equal(ia, ib);                                /* order does not matter */
    json_object_set_new(b, "S2", json_string("Beta AB"));
    char *ic = reference_job_id("suppliers", b);
    assert_string_not_equal(ia, ic);
    free(ia);
    free(ib);
    free(ic);
    json_decref(a);
    json_decref(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flow_from_ifs_reference),
        cmocka_unit_test(test_flow_without_key_or_name),
        cmocka_unit_test(test_m3_flow_validates),
        cmocka_unit_test(test_changes),
        cmocka_unit_test(test_job_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
