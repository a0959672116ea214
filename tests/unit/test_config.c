/* Unit tests for common/config.c: IFS, M3 and SyteLine defaults, tenant overrides and merges,
 * every validation message, dotted-path helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "config.h"

/* The smallest valid IFS tenant. */
static const char MINIMAL[] =
    "{\"id\":\"acme\",\"erp\":{\"type\":\"ifs\",\"base_url\":\"https://ifs.example.com/\","
    "\"client_id\":\"mlc\",\"client_secret\":\"s3cret\",\"company\":\"10\"},"
    "\"asana\":{\"base_url\":\"https://app.asana.com/api/1.0\",\"token\":\"1/abc\","
    "\"workspace\":\"111\",\"project\":\"222\"}}";

/* The .ionapi of the M3 demo (docs/infor.md). */
#define IONAPI                                                                                  \
    "{\"ti\":\"DEMO_TST\",\"cn\":\"ml-connector demo\",\"ci\":\"DEMO_TST~mlc-demo\","              \
    "\"cs\":\"demo-client-secret\",\"iu\":\"http://127.0.0.1:18082\","                              \
    "\"pu\":\"http://127.0.0.1:18082/DEMO_TST/as/\",\"oa\":\"authorization.oauth2\","                \
    "\"ot\":\"token.oauth2\",\"or\":\"revoke_token.oauth2\",\"saak\":\"DEMO_TST#svc-access-key\","   \
    "\"sask\":\"demo-service-secret\",\"v\":\"1.0\"}"
#define ASANA                                                                                   \
    "\"asana\":{\"base_url\":\"https://app.asana.com/api/1.0\",\"token\":\"1/abc\","                 \
    "\"workspace\":\"111\",\"project\":\"222\"}"

/* The smallest valid M3 and SyteLine tenants. */
static const char MINIMAL_M3[] =
    "{\"id\":\"m3co\",\"erp\":{\"type\":\"m3\",\"company\":\"100\",\"division\":\"AAA\","
    "\"ionapi\":" IONAPI "}," ASANA "}";
static const char MINIMAL_SYTELINE[] =
    "{\"id\":\"csi\",\"erp\":{\"type\":\"syteline\",\"mongoose_config\":\"DEMO_SITE\","
    "\"ionapi\":" IONAPI "}," ASANA "}";

static json_t *load(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, 0, &jerr);
    if (!v)
        fail_msg("bad test JSON: %s at %d", jerr.text, jerr.position);
    return v;
}

static void parse_ok(const json_t *obj, tenant_cfg_t *t)
{
    char err[256] = "";
    if (tenant_cfg_parse(obj, t, err, sizeof err) != 0)
        fail_msg("tenant_cfg_parse failed: %s", err);
}

static const char *str_at(const json_t *obj, const char *path)
{
    const char *s = json_string_value(json_path_get(obj, path));
    if (!s)
        fail_msg("no string at %s", path);
    return s;
}

static void test_ifs_defaults_applied(void **state)
{
    (void)state;
    json_t *obj = load(MINIMAL);
    json_t *before = json_deep_copy(obj);
    tenant_cfg_t t;
    parse_ok(obj, &t);
    assert_true(json_equal(obj, before)); /* input untouched */

    assert_string_equal(t.id, "acme");
    assert_string_equal(t.name, "acme");
    assert_string_equal(t.erp_type, "ifs");
    assert_string_equal(str_at(t.erp, "scope"), "openid microprofile-jwt");
    assert_int_equal(json_integer_value(json_object_get(t.erp, "page_size")), 5000);
    assert_int_equal(json_integer_value(json_object_get(t.erp, "rate_per_min")), 1000);
    assert_string_equal(str_at(t.erp, "company_field"), "Company");
    assert_string_equal(str_at(t.erp, "namespace"), "ifs");
    assert_string_equal(str_at(t.erp, "token_url"),
                        "https://ifs.example.com/auth/realms/ifs/protocol/openid-connect/token");
    assert_string_equal(str_at(t.erp, "client_secret"), "s3cret");
    assert_string_equal(t.asana_base, "https://app.asana.com/api/1.0");
    assert_string_equal(t.asana_token, "1/abc");
    assert_string_equal(t.asana_workspace, "111");
    assert_string_equal(t.asana_project, "222");
    assert_string_equal(t.currency_code, "EUR");
    json_t *fields = load("{\"number\":\"Document No\",\"erp_key\":\"ERP Key\",\"supplier\":\"Supplier\","
                          "\"amount\":\"Amount\",\"currency\":\"Currency\",\"gl_account\":\"GL Account\","
                          "\"cost_center\":\"Cost Center\",\"status\":\"ERP Status\"}");
    assert_true(json_equal(t.asana_fields, fields));
    json_decref(fields);

    assert_int_equal(t.nflows, 2);
    const flow_cfg_t *po = tenant_flow(&t, "purchase_orders");
    const flow_cfg_t *inv = tenant_flow(&t, "supplier_invoices");
    assert_ptr_equal(po, &t.flows[0]);
    assert_ptr_equal(inv, &t.flows[1]);
    assert_null(tenant_flow(&t, "nope"));
    assert_string_equal(po->kind, "po");
    assert_string_equal(po->entity, "PurchaseOrderHandling.svc/PurchaseOrderSet");
    assert_string_equal(po->key_field, "OrderNo");
    assert_string_equal(po->modified_field, "ChangedDate");
    assert_string_equal(po->company_field, "Company");
    assert_string_equal(po->schedule, "every 5 minutes");
    assert_int_equal(po->page_size, 5000);
    json_t *po_map = load("{\"erp_key\":\"OrderNo\",\"number\":\"OrderNo\",\"supplier_id\":\"VendorNo\","
                          "\"supplier_name\":\"VendorName\",\"amount\":\"NetAmtCurr\","
                          "\"currency\":\"CurrencyCode\",\"gl_account\":\"CodeA\",\"cost_center\":\"CodeB\","
                          "\"status\":\"Objstate\",\"doc_date\":\"OrderDate\",\"modified_at\":\"ChangedDate\"}");
    assert_true(json_equal(po->map, po_map));
    json_decref(po_map);
    assert_string_equal(str_at(po->raw, "reference.suppliers.entity"),
                        "SuppliersHandling.svc/SupplierInfoGeneralSet");
    assert_string_equal(inv->kind, "invoice");
    assert_string_equal(inv->entity, "ManSuppInvoiceHandling.svc/ManSuppInvoiceSet");
    assert_string_equal(inv->key_field, "InvoiceId");
    json_t *inv_map = load("{\"erp_key\":\"InvoiceId\",\"number\":\"InvoiceNo\",\"supplier_id\":\"Identity\","
                           "\"supplier_name\":\"IdentityName\",\"amount\":\"GrossAmount\","
                           "\"currency\":\"Currency\",\"gl_account\":\"CodeA\",\"cost_center\":\"CodeB\","
                           "\"status\":\"Objstate\",\"doc_date\":\"InvoiceDate\",\"due_date\":\"DueDate\","
                           "\"modified_at\":\"ChangedDate\"}");
    assert_true(json_equal(inv->map, inv_map));
    json_decref(inv_map);
    assert_string_equal(str_at(inv->raw, "reference.suppliers.key"), "VendorNo");

    /* raw is the effective configuration: every default is in it. */
    assert_string_equal(str_at(t.raw, "erp.token_url"),
                        "https://ifs.example.com/auth/realms/ifs/protocol/openid-connect/token");
    assert_string_equal(str_at(t.raw, "asana.fields.status"), "ERP Status");
    assert_string_equal(str_at(t.raw, "asana.currency_code"), "EUR");
    assert_string_equal(str_at(t.raw, "name"), "acme");
    json_t *raw_flows = json_object_get(t.raw, "flows");
    assert_int_equal(json_array_size(raw_flows), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(raw_flows, 1), "page_size")), 5000);
    assert_string_equal(str_at(json_array_get(raw_flows, 1), "map.due_date"), "DueDate");
    assert_ptr_equal(json_object_get(t.raw, "erp"), t.erp);

    /* Parsing the effective configuration again gives the same configuration. */
    tenant_cfg_t again;
    parse_ok(t.raw, &again);
    assert_true(json_equal(again.raw, t.raw));
    tenant_cfg_free(&again);

    tenant_cfg_free(&t);
    assert_null(t.raw);
    tenant_cfg_free(&t); /* safe twice */
    json_decref(obj);
    json_decref(before);
}

static void test_overrides_and_merges(void **state)
{
    (void)state;
    json_t *obj = load(MINIMAL);
    json_path_set(obj, "name", json_string("ACME Corp"));
    json_path_set(obj, "erp.namespace", json_string("acme-prod"));
    json_path_set(obj, "erp.page_size", json_integer(200));
    json_path_set(obj, "erp.scope", json_string("openid"));
    json_path_set(obj, "asana.fields.amount", json_string("Net Amount"));
    json_path_set(obj, "asana.currency_code", json_string("USD"));
    json_object_set_new(obj, "flows", load(
        "[{\"name\":\"purchase_orders\",\"map\":{\"amount\":\"GrossAmtCurr\"},"
        "  \"schedule\":\"daily at 06:00\",\"page_size\":100000,\"company_field\":null},"
        " {\"name\":\"po_lines\",\"kind\":\"po\",\"entity\":\"PurchaseOrderLineEntity.svc/PurchaseOrderLineSet\","
        "  \"key\":\"LineNo\",\"modified_field\":\"Objversion\",\"schedule\":\"every 1 minutes\","
        "  \"map\":{\"erp_key\":\"OrderNo\",\"number\":\"OrderNo\"},\"extra\":{\"x\":1}}]"));
    tenant_cfg_t t;
    parse_ok(obj, &t);
    assert_string_equal(t.name, "ACME Corp");
    assert_string_equal(str_at(t.erp, "token_url"),
                        "https://ifs.example.com/auth/realms/acme-prod/protocol/openid-connect/token");
    assert_string_equal(str_at(t.erp, "scope"), "openid");
    assert_string_equal(str_at(t.asana_fields, "amount"), "Net Amount");
    assert_string_equal(str_at(t.asana_fields, "number"), "Document No");
    assert_string_equal(t.currency_code, "USD");

    assert_int_equal(t.nflows, 2); /* given flows replace the default list */
    const flow_cfg_t *po = tenant_flow(&t, "purchase_orders");
    assert_non_null(po);
    assert_string_equal(po->kind, "po");
    assert_string_equal(po->entity, "PurchaseOrderHandling.svc/PurchaseOrderSet");
    assert_string_equal(po->schedule, "daily at 06:00");
    assert_int_equal(po->page_size, 100000);
    assert_null(po->company_field);
    assert_string_equal(str_at(po->map, "amount"), "GrossAmtCurr");
    assert_string_equal(str_at(po->map, "number"), "OrderNo");
    assert_string_equal(str_at(po->map, "doc_date"), "OrderDate");
    assert_non_null(json_path_get(po->raw, "reference.suppliers"));

    const flow_cfg_t *lines = tenant_flow(&t, "po_lines");
    assert_non_null(lines);
    assert_int_equal(lines->page_size, 200);            /* from erp.page_size */
    assert_string_equal(lines->company_field, "Company"); /* from erp.company_field */
    assert_string_equal(lines->key_field, "LineNo");
    assert_int_equal(json_object_size(lines->map), 2);
    assert_int_equal(json_integer_value(json_path_get(lines->raw, "extra.x")), 1);
    tenant_cfg_free(&t);

    /* A tenant token_url wins; an empty flow list is allowed. */
    json_path_set(obj, "erp.token_url", json_string("https://login.example.com/token"));
    json_object_set_new(obj, "flows", json_array());
    parse_ok(obj, &t);
    assert_string_equal(str_at(t.erp, "token_url"), "https://login.example.com/token");
    assert_int_equal(t.nflows, 0);
    tenant_cfg_free(&t);
    json_decref(obj);

    /* Default flows inherit the tenant's erp.company_field and erp.page_size. */
    obj = load(MINIMAL);
    json_path_set(obj, "erp.company_field", json_string("Site"));
    json_path_set(obj, "erp.page_size", json_integer(750));
    parse_ok(obj, &t);
    for (size_t i = 0; i < t.nflows; i++) {
        assert_string_equal(t.flows[i].company_field, "Site");
        assert_int_equal(t.flows[i].page_size, 750);
    }
    assert_int_equal(t.nflows, 2);
    tenant_cfg_free(&t);
    json_path_set(obj, "erp.company_field", json_null()); /* no company filter at all */
    parse_ok(obj, &t);
    assert_null(t.flows[0].company_field);
    assert_null(t.flows[1].company_field);
    tenant_cfg_free(&t);
    json_decref(obj);
}

/* A validation case: set path to the JSON value (NULL deletes the member) and expect error. */
typedef struct {
    const char *path;
    const char *value;
    const char *error;
} bad_case_t;

static json_t *load_any(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (!v)
        fail_msg("bad case value %s", text);
    return v;
}

static void delete_path(json_t *obj, const char *path)
{
    const char *dot = strrchr(path, '.');
    json_t *parent = dot ? json_path_get(obj, strndupa(path, (size_t)(dot - path))) : obj;
    json_object_del(parent, dot ? dot + 1 : path);
}

/* Applies c to the tenant base (path "." replaces the whole document) and expects c->error. */
static void expect_error_in(const char *base, const bad_case_t *c)
{
    json_t *obj = load(base);
    if (c->value && strcmp(c->path, ".") == 0) {
        json_decref(obj);
        obj = load_any(c->value);
    } else if (c->value) {
        assert_int_equal(json_path_set(obj, c->path, load_any(c->value)), 0);
    } else {
        delete_path(obj, c->path);
    }
    tenant_cfg_t t;
    char err[256] = "";
    int rc = tenant_cfg_parse(obj, &t, err, sizeof err);
    if (rc != -1 || strcmp(err, c->error) != 0)
        fail_msg("%s=%s: rc %d, error \"%s\", want \"%s\"", c->path, c->value ? c->value : "(deleted)",
                 rc, err, c->error);
    assert_null(t.raw);
    assert_null(t.flows);
    json_decref(obj);
}

static void expect_error(const bad_case_t *c)
{
    expect_error_in(MINIMAL, c);
}

static void test_validation_messages(void **state)
{
    (void)state;
    const bad_case_t cases[] = {
        {".", "[]", "tenant: must be a JSON object"},
        {"id", NULL, "id: missing"},
        {"id", "\"\"", "id: must be a non-empty string"},
        {"id", "7", "id: must be a non-empty string"},
        {"id", "\"Acme\"", "id: must match [a-z0-9][a-z0-9_-]{0,62} (got \"Acme\")"},
        {"id", "\"-acme\"", "id: must match [a-z0-9][a-z0-9_-]{0,62} (got \"-acme\")"},
        {"id", "\"acme corp\"", "id: must match [a-z0-9][a-z0-9_-]{0,62} (got \"acme corp\")"},
        {"id", "\"a234567890123456789012345678901234567890123456789012345678901234\"",
         "id: must match [a-z0-9][a-z0-9_-]{0,62} (got \"a234567890123456789012345678901234567890\")"},
        {"name", "false", "name: must be a string"},
        {"erp", NULL, "erp: missing"},
        {"erp", "\"ifs\"", "erp: must be an object"},
        {"erp.type", NULL, "erp.type: missing (one of ifs, m3, syteline)"},
        {"erp.type", "\"sap\"", "erp.type: must be one of ifs, m3, syteline (got \"sap\")"},
        {"erp.type", "3", "erp.type: must be one of ifs, m3, syteline (got 3)"},
        {"erp.base_url", NULL, "erp.base_url: missing"},
        {"erp.client_id", "\"\"", "erp.client_id: must be a non-empty string"},
        {"erp.client_secret", NULL, "erp.client_secret: missing"},
        {"erp.client_secret", "null", "erp.client_secret: missing"},
        {"erp.company", NULL, "erp.company: missing"},
        {"erp.company", "10", "erp.company: must be a non-empty string"},
        {"erp.scope", "[]", "erp.scope: must be a non-empty string"},
        {"erp.page_size", "0", "erp.page_size: must be an integer 1..100000 (got 0)"},
        {"erp.page_size", "100001", "erp.page_size: must be an integer 1..100000 (got 100001)"},
        {"erp.page_size", "\"50\"", "erp.page_size: must be an integer 1..100000 (got \"50\")"},
        {"erp.rate_per_min", "-1", "erp.rate_per_min: must be an integer 1..1000000 (got -1)"},
        {"erp.rate_per_min", "1.5", "erp.rate_per_min: must be an integer 1..1000000 (got a real number)"},
        {"erp.company_field", "5", "erp.company_field: must be a string or null"},
        {"erp.namespace", "\"\"", "erp.namespace: must be a non-empty string"},
        {"erp.token_url", "false", "erp.token_url: must be a non-empty string"},
        {"asana", NULL, "asana.base_url: missing"},
        {"asana", "1", "asana: must be an object"},
        {"asana.base_url", NULL, "asana.base_url: missing"},
        {"asana.token", NULL, "asana.token: missing"},
        {"asana.workspace", "\"\"", "asana.workspace: must be a non-empty string"},
        {"asana.project", NULL, "asana.project: missing"},
        {"asana.fields", "[]", "asana.fields: must be an object"},
        {"asana.fields.amount", "\"\"", "asana.fields.amount: must be a non-empty string"},
        {"asana.fields.amout", "\"Amount\"",
         "asana.fields.amout: unknown field (one of number, erp_key, supplier, amount, currency, "
         "gl_account, cost_center, status)"},
        {"asana.currency_code", "\"eur\"",
         "asana.currency_code: must be a 3-letter ISO 4217 code (got \"eur\")"},
        {"asana.currency_code", "978", "asana.currency_code: must be a 3-letter ISO 4217 code (got 978)"},
        {"flows", "{}", "flows: must be an array"},
        {"flows", "[1]", "flows[0]: must be an object"},
        {"flows", "[{\"kind\":\"po\"}]", "flows[0].name: missing"},
        {"flows", "[{\"name\":\"Purchase Orders\"}]",
         "flows[0].name: must match [a-z0-9_]{1,63} (got \"Purchase Orders\")"},
        {"flows", "[{\"name\":\"purchase_orders\"},{\"name\":\"x\",\"kind\":\"x\"}]",
         "flows[1].kind: must be po or invoice (got \"x\")"},
        {"flows", "[{\"name\":\"x\"}]", "flows[0].kind: missing"},
        {"flows", "[{\"name\":\"purchase_orders\",\"kind\":null}]",
         "flows[0].kind: must be po or invoice (got null)"},
        {"flows", "[{\"name\":\"x\",\"kind\":\"po\"}]", "flows[0].entity: missing"},
        {"flows", "[{\"name\":\"x\",\"kind\":\"po\",\"entity\":\"E\"}]", "flows[0].key: missing"},
        {"flows", "[{\"name\":\"x\",\"kind\":\"po\",\"entity\":\"E\",\"key\":\"K\"}]",
         "flows[0].modified_field: missing"},
        {"flows", "[{\"name\":\"x\",\"kind\":\"po\",\"entity\":\"E\",\"key\":\"K\",\"modified_field\":\"M\"}]",
         "flows[0].schedule: missing"},
        {"flows", "[{\"name\":\"x\",\"kind\":\"po\",\"entity\":\"E\",\"key\":\"K\",\"modified_field\":\"M\","
                  "\"schedule\":\"every 5 minutes\"}]",
         "flows[0].map: missing"},
        {"flows", "[{\"name\":\"purchase_orders\",\"page_size\":0}]",
         "flows[0].page_size: must be an integer 1..100000 (got 0)"},
        {"flows", "[{\"name\":\"purchase_orders\",\"company_field\":1}]",
         "flows[0].company_field: must be a string or null"},
        {"flows", "[{\"name\":\"purchase_orders\",\"map\":[]}]", "flows[0].map: must be an object"},
        {"flows", "[{\"name\":\"purchase_orders\",\"map\":{\"amount\":5}}]",
         "flows[0].map.amount: must be a non-empty string"},
        {"flows", "[{\"name\":\"purchase_orders\",\"map\":{\"erp_key\":null}}]",
         "flows[0].map.erp_key: missing"},
        {"flows", "[{\"name\":\"purchase_orders\",\"map\":{\"kind\":\"X\"}}]",
         "flows[0].map.kind: not a record field (one of erp_key, number, supplier_id, "
         "supplier_name, amount, currency, gl_account, cost_center, status, doc_date, due_date, "
         "modified_at, etag)"},
        {"flows", "[{\"name\":\"x\",\"kind\":\"po\",\"entity\":\"E\",\"key\":\"K\",\"modified_field\":\"M\","
                  "\"schedule\":\"every 5 minutes\",\"map\":{\"erp_key\":\"K\"}}]",
         "flows[0].map.number: missing"},
        {"flows", "[{\"name\":\"purchase_orders\"},{\"name\":\"supplier_invoices\"},"
                  "{\"name\":\"purchase_orders\"}]",
         "flows[2].name: duplicate \"purchase_orders\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_error(&cases[i]);
}


static void assert_map(const json_t *map, const char *expected)
{
    json_t *want = load(expected);
    if (!json_equal(map, want)) {
        char *got = json_dumps(map, JSON_SORT_KEYS);
        fail_msg("map %s, want %s", got, expected);
    }
    json_decref(want);
}

static void test_m3_defaults(void **state)
{
    (void)state;
    json_t *obj = load(MINIMAL_M3);
    tenant_cfg_t t;
    parse_ok(obj, &t);
    assert_string_equal(t.erp_type, "m3");
    assert_int_equal(json_integer_value(json_object_get(t.erp, "page_size")), 100);
    assert_int_equal(json_integer_value(json_object_get(t.erp, "rate_per_min")), 600);
    assert_null(json_object_get(t.erp, "scope"));      /* IFS-only defaults stay out */
    assert_null(json_object_get(t.erp, "token_url"));
    assert_string_equal(str_at(t.erp, "ionapi.v"), "1.0"); /* unknown .ionapi members kept */
    assert_int_equal(t.nflows, 2);

    const flow_cfg_t *po = tenant_flow(&t, "purchase_orders");
    assert_non_null(po);
    assert_string_equal(po->kind, "po");
    assert_string_equal(po->entity, "PPS001MI/ListHeadBasic");
    assert_string_equal(po->key_field, "PUNO");
    assert_string_equal(po->modified_field, "LMDT");
    assert_null(po->company_field);
    assert_int_equal(po->page_size, 100);
    assert_string_equal(str_at(po->raw, "api"), "v2");
    assert_string_equal(str_at(po->raw, "program"), "PPS001MI");
    assert_string_equal(str_at(po->raw, "transaction"), "ListHeadBasic");
    assert_string_equal(str_at(po->raw, "key_input"), "PUNO");
    assert_map(json_object_get(po->raw, "inputs"), "{\"CONO\":\"100\"}"); /* {company} filled */
    assert_map(po->map, "{\"erp_key\":\"PUNO\",\"number\":\"PUNO\",\"supplier_id\":\"SUNO\","
                        "\"supplier_name\":\"SUNM\",\"amount\":\"NTAM\",\"currency\":\"CUCD\","
                        "\"status\":\"PUST\",\"doc_date\":\"PUDT\",\"modified_at\":\"LMDT\"}");
    assert_string_equal(str_at(po->raw, "reference.suppliers.program"), "CRS620MI");
    assert_string_equal(str_at(po->raw, "reference.suppliers.transaction"), "LstSuppliers");
    assert_string_equal(str_at(po->raw, "reference.suppliers.key_input"), "SUNO");

    const flow_cfg_t *inv = tenant_flow(&t, "supplier_invoices");
    assert_non_null(inv);
    assert_string_equal(inv->kind, "invoice");
    assert_string_equal(inv->entity, "APS450MI/LstInvBatchNo");
    assert_string_equal(inv->key_field, "INBN");
    assert_string_equal(str_at(inv->raw, "key_input"), "INBN");
    assert_map(json_object_get(inv->raw, "inputs"), "{\"DIVI\":\"AAA\"}");
    assert_map(inv->map, "{\"erp_key\":\"INBN\",\"number\":\"SINO\",\"supplier_id\":\"SUNO\","
                         "\"supplier_name\":\"SUNM\",\"amount\":\"CUAM\",\"currency\":\"CUCD\","
                         "\"gl_account\":\"AIT1\",\"cost_center\":\"AIT2\",\"status\":\"SUPA\","
                         "\"doc_date\":\"IVDT\",\"due_date\":\"DUDT\",\"modified_at\":\"LMDT\"}");

    /* The effective configuration parses to itself. */
    tenant_cfg_t again;
    parse_ok(t.raw, &again);
    assert_true(json_equal(again.raw, t.raw));
    tenant_cfg_free(&again);
    tenant_cfg_free(&t);

    /* Overrides: v1, extra inputs merged over the defaults, a custom flow with its own key. */
    json_path_set(obj, "erp.page_size", json_integer(500));
    json_object_set_new(obj, "flows", load(
        "[{\"name\":\"purchase_orders\",\"api\":\"v1\",\"inputs\":{\"PUST\":\"20\"}},"
        " {\"name\":\"po_lines\",\"kind\":\"po\",\"program\":\"PPS200MI\",\"transaction\":\"LstLine\","
        "  \"inputs\":{\"CONO\":\"{company}\",\"FACI\":\"{facility}\"},\"key\":\"PNLI\","
        "  \"modified_field\":\"LMDT\",\"schedule\":\"every 1 minutes\","
        "  \"map\":{\"erp_key\":\"PNLI\",\"number\":\"PUNO\"}}]"));
    json_path_set(obj, "erp.facility", json_string("A01"));
    parse_ok(obj, &t);
    po = tenant_flow(&t, "purchase_orders");
    assert_string_equal(str_at(po->raw, "api"), "v1");
    assert_map(json_object_get(po->raw, "inputs"), "{\"CONO\":\"100\",\"PUST\":\"20\"}");
    assert_int_equal(po->page_size, 500);
    const flow_cfg_t *lines = tenant_flow(&t, "po_lines");
    assert_string_equal(lines->entity, "PPS200MI/LstLine");
    assert_string_equal(str_at(lines->raw, "api"), "v2");
    assert_string_equal(str_at(lines->raw, "key_input"), "PNLI");
    assert_map(json_object_get(lines->raw, "inputs"), "{\"CONO\":\"100\",\"FACI\":\"A01\"}");
    tenant_cfg_free(&t);
    json_decref(obj);
}

static void test_syteline_defaults(void **state)
{
    (void)state;
    json_t *obj = load(MINIMAL_SYTELINE);
    tenant_cfg_t t;
    parse_ok(obj, &t);
    assert_string_equal(t.erp_type, "syteline");
    assert_string_equal(str_at(t.erp, "mongoose_config"), "DEMO_SITE");
    assert_int_equal(json_integer_value(json_object_get(t.erp, "page_size")), 200);
    assert_int_equal(json_integer_value(json_object_get(t.erp, "rate_per_min")), 600);
    assert_int_equal(t.nflows, 2);
    const flow_cfg_t *po = tenant_flow(&t, "purchase_orders");
    assert_string_equal(po->entity, "SLPos");
    assert_string_equal(str_at(po->raw, "ido"), "SLPos");
    assert_string_equal(str_at(po->raw, "orderby"), "PoNum");
    assert_null(json_object_get(po->raw, "filter"));
    assert_string_equal(po->key_field, "PoNum");
    assert_string_equal(po->modified_field, "RecordDate");
    assert_int_equal(po->page_size, 200);
    assert_null(po->company_field);
    assert_map(po->map, "{\"erp_key\":\"PoNum\",\"number\":\"PoNum\",\"supplier_id\":\"VendNum\","
                        "\"supplier_name\":\"VendorName\",\"amount\":\"PoTotal\","
                        "\"currency\":\"CurrCode\",\"status\":\"Stat\",\"doc_date\":\"OrderDate\","
                        "\"modified_at\":\"RecordDate\"}");
    assert_string_equal(str_at(po->raw, "reference.suppliers.ido"), "SLVendors");
    const flow_cfg_t *inv = tenant_flow(&t, "supplier_invoices");
    assert_string_equal(inv->entity, "SLVchHdrs");
    assert_string_equal(str_at(inv->raw, "orderby"), "Voucher");
    assert_map(inv->map, "{\"erp_key\":\"Voucher\",\"number\":\"InvNum\",\"supplier_id\":\"VendNum\","
                         "\"supplier_name\":\"VendorName\",\"amount\":\"InvAmt\","
                         "\"currency\":\"CurrCode\",\"gl_account\":\"ApAcct\","
                         "\"cost_center\":\"CostCenter\",\"status\":\"Stat\",\"doc_date\":\"InvDate\","
                         "\"due_date\":\"DueDate\",\"modified_at\":\"RecordDate\"}");
    tenant_cfg_t again;
    parse_ok(t.raw, &again);
    assert_true(json_equal(again.raw, t.raw));
    tenant_cfg_free(&again);
    tenant_cfg_free(&t);

    /* A custom IDO flow: orderby defaults to its key; filter and properties pass through. */
    json_object_set_new(obj, "flows", load(
        "[{\"name\":\"open_pos\",\"kind\":\"po\",\"ido\":\"SLPos\",\"key\":\"PoNum\","
        "  \"filter\":\"Stat = 'O'\",\"properties\":\"PoNum,Stat\",\"modified_field\":\"RecordDate\","
        "  \"schedule\":\"every 2 minutes\",\"map\":{\"erp_key\":\"PoNum\",\"number\":\"PoNum\"}}]"));
    parse_ok(obj, &t);
    assert_string_equal(str_at(t.flows[0].raw, "orderby"), "PoNum");
    assert_string_equal(str_at(t.flows[0].raw, "filter"), "Stat = 'O'");
    assert_string_equal(t.flows[0].entity, "SLPos");
    tenant_cfg_free(&t);
    json_decref(obj);
}

static void test_infor_validation_messages(void **state)
{
    (void)state;
    const bad_case_t m3[] = {
        {"erp.company", NULL, "erp.company: missing"},
        {"erp.division", NULL, "erp.division: missing"},
        {"erp.division", "7", "erp.division: must be a non-empty string"},
        {"erp.ionapi", NULL, "erp.ionapi: missing"},
        {"erp.ionapi", "\"x.ionapi\"", "erp.ionapi: must be a JSON object"},
        {"erp.ionapi.saak", NULL, "erp.ionapi.saak: missing"},
        {"erp.ionapi.ci", "5", "erp.ionapi.ci: must be a string (got 5)"},
        {"erp.ionapi.sask", "42", "erp.ionapi.sask: must be a string"},
        {"erp.ionapi.iu", "\"javascript:x\"", "erp.ionapi.iu: must be an http(s) URL (got \"javascript:x\")"},
        {"erp.page_size", "0", "erp.page_size: must be an integer 1..100000 (got 0)"},
        {"flows", "[{\"name\":\"purchase_orders\",\"api\":\"v3\"}]",
         "flows[0].api: must be v2 or v1 (got \"v3\")"},
        {"flows", "[{\"name\":\"purchase_orders\",\"api\":2}]", "flows[0].api: must be a string or null"},
        {"flows", "[{\"name\":\"x\",\"kind\":\"po\"}]", "flows[0].program: missing"},
        {"flows", "[{\"name\":\"x\",\"kind\":\"po\",\"program\":\"PPS200MI\"}]", "flows[0].transaction: missing"},
        {"flows", "[{\"name\":\"x\",\"kind\":\"po\",\"program\":\"P\",\"transaction\":\"T\"}]",
         "flows[0].key: missing"},
        {"flows", "[{\"name\":\"purchase_orders\",\"key_input\":\"\"}]",
         "flows[0].key_input: must be a non-empty string"},
        {"flows", "[{\"name\":\"purchase_orders\",\"inputs\":[]}]", "flows[0].inputs: must be an object"},
        {"flows", "[{\"name\":\"purchase_orders\",\"inputs\":{\"CONO\":100}}]",
         "flows[0].inputs.CONO: must be a string (got 100)"},
        {"flows", "[{\"name\":\"purchase_orders\",\"inputs\":{\"FACI\":\"{facility}\"}}]",
         "flows[0].inputs.FACI: {facility} names erp.facility, which is not set"},
    };
    for (size_t i = 0; i < sizeof m3 / sizeof m3[0]; i++)
        expect_error_in(MINIMAL_M3, &m3[i]);
    const bad_case_t csi[] = {
        {"erp.mongoose_config", NULL, "erp.mongoose_config: missing"},
        {"erp.mongoose_config", "\"\"", "erp.mongoose_config: must be a non-empty string"},
        {"erp.mongoose_config", "\"SITE\\r\\nX-Evil: 1\"", "erp.mongoose_config: must not contain control characters"},
        {"erp.ionapi.ot", NULL, "erp.ionapi.ot: missing"},
        {"flows", "[{\"name\":\"x\",\"kind\":\"po\"}]", "flows[0].ido: missing"},
        {"flows", "[{\"name\":\"purchase_orders\",\"filter\":1}]", "flows[0].filter: must be a string or null"},
        {"flows", "[{\"name\":\"purchase_orders\",\"orderby\":[]}]", "flows[0].orderby: must be a string or null"},
        {"flows", "[{\"name\":\"purchase_orders\",\"properties\":{}}]",
         "flows[0].properties: must be a string or null"},
    };
    for (size_t i = 0; i < sizeof csi / sizeof csi[0]; i++)
        expect_error_in(MINIMAL_SYTELINE, &csi[i]);
}

/* Schedule messages come from schedule_parse; the member path and the spec are ours. */
static void test_schedule_validated(void **state)
{
    (void)state;
    json_t *obj = load(MINIMAL);
    json_object_set_new(obj, "flows", load("[{\"name\":\"purchase_orders\",\"schedule\":\"daily at 25:00\"}]"));
    tenant_cfg_t t;
    char err[256];
    assert_int_equal(tenant_cfg_parse(obj, &t, err, sizeof err), -1);
    assert_true(strncmp(err, "flows[0].schedule: ", 19) == 0);
    assert_non_null(strstr(err, "(got \"daily at 25:00\")"));
    json_decref(obj);
}

static void test_secrets_never_in_messages(void **state)
{
    (void)state;
    json_t *obj = load(MINIMAL);
    json_path_set(obj, "erp.client_secret", json_integer(123456789));
    tenant_cfg_t t;
    char err[256];
    assert_int_equal(tenant_cfg_parse(obj, &t, err, sizeof err), -1);
    assert_string_equal(err, "erp.client_secret: must be a non-empty string");
    json_decref(obj);
}

static void test_path_helpers(void **state)
{
    (void)state;
    json_t *obj = load("{\"erp\":{\"client_secret\":\"s\",\"ionapi\":{\"cs\":\"c\"}},\"n\":1}");
    assert_string_equal(json_string_value(json_path_get(obj, "erp.client_secret")), "s");
    assert_string_equal(json_string_value(json_path_get(obj, "erp.ionapi.cs")), "c");
    assert_non_null(json_path_get(obj, "erp"));
    assert_null(json_path_get(obj, "erp.nope"));
    assert_null(json_path_get(obj, "n.x"));
    assert_null(json_path_get(obj, "erp.client_secret.x"));
    assert_null(json_path_get(NULL, "erp"));

    assert_int_equal(json_path_set(obj, "erp.client_secret", json_string("v1:sealed")), 0);
    assert_string_equal(json_string_value(json_path_get(obj, "erp.client_secret")), "v1:sealed");
    assert_int_equal(json_path_set(obj, "asana.token", json_string("t")), 0); /* creates asana */
    assert_string_equal(json_string_value(json_path_get(obj, "asana.token")), "t");
    assert_int_equal(json_path_set(obj, "a.b.c", json_true()), 0);
    assert_true(json_is_true(json_path_get(obj, "a.b.c")));
    assert_int_equal(json_path_set(obj, "n.x", json_string("leak-checked")), -1); /* value freed */
    assert_int_equal(json_path_set(obj, "top", json_integer(2)), 0);
    assert_int_equal(json_integer_value(json_path_get(obj, "top")), 2);
    json_decref(obj);

    json_t *arr = json_array();
    assert_int_equal(json_path_set(arr, "x", json_integer(1)), -1);
    json_decref(arr);
}

static void test_constant_lists(void **state)
{
    (void)state;
    const char *const secrets[] = {"erp.client_secret", "asana.token", "erp.ionapi.cs",
                                   "erp.ionapi.sask"};
    size_t n = 0;
    for (; TENANT_SECRET_PATHS[n]; n++)
        assert_string_equal(TENANT_SECRET_PATHS[n], secrets[n]);
    assert_int_equal(n, 4);
    const char *const fields[] = {"number", "erp_key", "supplier", "amount", "currency",
                                  "gl_account", "cost_center", "status"};
    for (n = 0; ASANA_LOGICAL_FIELDS[n]; n++)
        assert_string_equal(ASANA_LOGICAL_FIELDS[n], fields[n]);
    assert_int_equal(n, 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ifs_defaults_applied),
        cmocka_unit_test(test_overrides_and_merges),
        cmocka_unit_test(test_validation_messages),
        cmocka_unit_test(test_m3_defaults),
        cmocka_unit_test(test_syteline_defaults),
        cmocka_unit_test(test_infor_validation_messages),
        cmocka_unit_test(test_schedule_validated),
        cmocka_unit_test(test_secrets_never_in_messages),
        cmocka_unit_test(test_path_helpers),
        cmocka_unit_test(test_constant_lists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
