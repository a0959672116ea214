/* config: tenant configuration parsing, defaults per ERP type and validation (see config.h).
 *
 * Defaults are JSON text merged *under* what the tenant gives (the tenant wins member by
 * member), so the effective configuration is one JSON document (out->raw) that an operator
 * can print. Adding an ERP type means adding one row to ERP_PROFILES. */
#include "config.h"

#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ionapi.h"
#include "record.h"
#include "schedule.h"
#include "util.h"

#define PAGE_SIZE_MAX 100000

const char *const ASANA_LOGICAL_FIELDS[] = {
    "number", "erp_key", "supplier", "amount", "currency", "gl_account", "cost_center", "status",
    NULL,
};

const char *const TENANT_SECRET_PATHS[] = {
    "erp.client_secret", "asana.token", "erp.ionapi.cs", "erp.ionapi.sask", NULL,
};

/* Defaults of every tenant, whatever its ERP. */
static const char TENANT_DEFAULTS[] =
    "{\"asana\":{\"currency_code\":\"EUR\",\"rate_per_min\":1500,\"fields\":{"
    "\"number\":\"Document No\",\"erp_key\":\"ERP Key\",\"supplier\":\"Supplier\","
    "\"amount\":\"Amount\",\"currency\":\"Currency\",\"gl_account\":\"GL Account\","
    "\"cost_center\":\"Cost Center\",\"status\":\"ERP Status\"}}}";

/* What an ERP type contributes: defaults under "erp", the default flows (used when "flows" is
 * absent; a tenant flow with a default flow's name is merged over it), the erp members that
 * must be non-empty strings, and members derived from others once defaults are in. Every flow
 * inherits page_size and company_field from erp unless it sets them itself. flow_derive, when
 * set, validates a flow's ERP-specific members and fills the members derived from them
 * (entity among them) before the common flow checks. */
typedef struct {
    const char *type;
    const char *erp_defaults;
    const char *flows;
    const char *const *required;
    int (*derive)(json_t *erp, char *err, size_t err_len);
    int (*flow_derive)(json_t *flow, const json_t *erp, const char *path, char *err,
                       size_t err_len);
} erp_profile_t;

static int ifs_derive(json_t *erp, char *err, size_t err_len);
static int ion_derive(json_t *erp, char *err, size_t err_len);
static int syteline_derive(json_t *erp, char *err, size_t err_len);
static int m3_flow_derive(json_t *flow, const json_t *erp, const char *path, char *err,
                          size_t err_len);
static int syteline_flow_derive(json_t *flow, const json_t *erp, const char *path, char *err,
                                size_t err_len);

static const char *const IFS_REQUIRED[] = {"base_url", "client_id", "client_secret", "company",
                                           "scope", NULL};
static const char *const M3_REQUIRED[] = {"company", "division", NULL};
static const char *const SYTELINE_REQUIRED[] = {"mongoose_config", NULL};

#define IFS_SUPPLIERS_REF                                                                      \
    "\"reference\":{\"suppliers\":{\"entity\":\"SuppliersHandling.svc/SupplierInfoGeneralSet\"," \
    "\"key\":\"VendorNo\",\"name\":\"VendorName\"}}"

#define M3_SUPPLIERS_REF                                                                       \
    "\"reference\":{\"suppliers\":{\"program\":\"CRS620MI\",\"transaction\":\"LstSuppliers\","   \
    "\"key\":\"SUNO\",\"key_input\":\"SUNO\",\"name\":\"SUNM\",\"currency\":\"CUCD\"}}"

#define SYTELINE_SUPPLIERS_REF                                                                 \
    "\"reference\":{\"suppliers\":{\"ido\":\"SLVendors\",\"key\":\"VendNum\",\"name\":\"Name\"}}"

static const erp_profile_t ERP_PROFILES[] = {
    {
        .type = "ifs",
        .erp_defaults = "{\"scope\":\"openid microprofile-jwt\",\"page_size\":5000,"
                        "\"rate_per_min\":1000,\"company_field\":\"Company\",\"namespace\":\"ifs\"}",
        .flows =
            "[{\"name\":\"purchase_orders\",\"kind\":\"po\","
            "\"entity\":\"PurchaseOrderHandling.svc/PurchaseOrderSet\",\"key\":\"OrderNo\","
            "\"modified_field\":\"ChangedDate\","
            "\"schedule\":\"every 5 minutes\","
            "\"map\":{\"erp_key\":\"OrderNo\",\"number\":\"OrderNo\",\"supplier_id\":\"VendorNo\","
            "\"supplier_name\":\"VendorName\",\"amount\":\"NetAmtCurr\","
            "\"currency\":\"CurrencyCode\",\"gl_account\":\"CodeA\",\"cost_center\":\"CodeB\","
            "\"status\":\"Objstate\",\"doc_date\":\"OrderDate\",\"modified_at\":\"ChangedDate\"},"
            IFS_SUPPLIERS_REF "},"
            "{\"name\":\"supplier_invoices\",\"kind\":\"invoice\","
            "\"entity\":\"ManSuppInvoiceHandling.svc/ManSuppInvoiceSet\",\"key\":\"InvoiceId\","
            "\"modified_field\":\"ChangedDate\","
            "\"schedule\":\"every 5 minutes\","
            "\"map\":{\"erp_key\":\"InvoiceId\",\"number\":\"InvoiceNo\",\"supplier_id\":\"Identity\","
            "\"supplier_name\":\"IdentityName\",\"amount\":\"GrossAmount\",\"currency\":\"Currency\","
            "\"gl_account\":\"CodeA\",\"cost_center\":\"CodeB\",\"status\":\"Objstate\","
            "\"doc_date\":\"InvoiceDate\",\"due_date\":\"DueDate\",\"modified_at\":\"ChangedDate\"},"
            IFS_SUPPLIERS_REF "}]",
        .required = IFS_REQUIRED,
        .derive = ifs_derive,
    },
    /* Infor M3 through the ION API gateway (docs/infor.md). Inputs may name erp members as
     * "{member}"; the key input carries the start key of each page. */
    {
        .type = "m3",
        .erp_defaults = "{\"page_size\":100,\"rate_per_min\":600}",
        .flows =
            "[{\"name\":\"purchase_orders\",\"kind\":\"po\",\"api\":\"v2\","
            "\"program\":\"PPS001MI\",\"transaction\":\"ListHeadBasic\","
            "\"inputs\":{\"CONO\":\"{company}\"},\"key\":\"PUNO\",\"key_input\":\"PUNO\","
            "\"modified_field\":\"LMDT\",\"schedule\":\"every 5 minutes\","
            "\"map\":{\"erp_key\":\"PUNO\",\"number\":\"PUNO\",\"supplier_id\":\"SUNO\","
            "\"supplier_name\":\"SUNM\",\"amount\":\"NTAM\",\"currency\":\"CUCD\","
            "\"status\":\"PUST\",\"doc_date\":\"PUDT\",\"modified_at\":\"LMDT\"},"
            M3_SUPPLIERS_REF "},"
            "{\"name\":\"supplier_invoices\",\"kind\":\"invoice\",\"api\":\"v2\","
            "\"program\":\"APS450MI\",\"transaction\":\"LstInvBatchNo\","
            "\"inputs\":{\"DIVI\":\"{division}\"},\"key\":\"INBN\",\"key_input\":\"INBN\","
            "\"modified_field\":\"LMDT\",\"schedule\":\"every 5 minutes\","
            "\"map\":{\"erp_key\":\"INBN\",\"number\":\"SINO\",\"supplier_id\":\"SUNO\","
            "\"supplier_name\":\"SUNM\",\"amount\":\"CUAM\",\"currency\":\"CUCD\","
            "\"gl_account\":\"AIT1\",\"cost_center\":\"AIT2\",\"status\":\"SUPA\","
            "\"doc_date\":\"IVDT\",\"due_date\":\"DUDT\",\"modified_at\":\"LMDT\"},"
            M3_SUPPLIERS_REF "}]",
        .required = M3_REQUIRED,
        .derive = ion_derive,
        .flow_derive = m3_flow_derive,
    },
    /* Infor CloudSuite Industrial (SyteLine) IDOs through the ION API gateway. */
    {
        .type = "syteline",
        .erp_defaults = "{\"page_size\":200,\"rate_per_min\":600}",
        .flows =
            "[{\"name\":\"purchase_orders\",\"kind\":\"po\",\"ido\":\"SLPos\","
            "\"key\":\"PoNum\",\"orderby\":\"PoNum\",\"modified_field\":\"RecordDate\","
            "\"schedule\":\"every 5 minutes\","
            "\"map\":{\"erp_key\":\"PoNum\",\"number\":\"PoNum\",\"supplier_id\":\"VendNum\","
            "\"supplier_name\":\"VendorName\",\"amount\":\"PoTotal\",\"currency\":\"CurrCode\","
            "\"status\":\"Stat\",\"doc_date\":\"OrderDate\",\"modified_at\":\"RecordDate\"},"
            SYTELINE_SUPPLIERS_REF "},"
            "{\"name\":\"supplier_invoices\",\"kind\":\"invoice\",\"ido\":\"SLVchHdrs\","
            "\"key\":\"Voucher\",\"orderby\":\"Voucher\",\"modified_field\":\"RecordDate\","
            "\"schedule\":\"every 5 minutes\","
            "\"map\":{\"erp_key\":\"Voucher\",\"number\":\"InvNum\",\"supplier_id\":\"VendNum\","
            "\"supplier_name\":\"VendorName\",\"amount\":\"InvAmt\",\"currency\":\"CurrCode\","
            "\"gl_account\":\"ApAcct\",\"cost_center\":\"CostCenter\",\"status\":\"Stat\","
            "\"doc_date\":\"InvDate\",\"due_date\":\"DueDate\",\"modified_at\":\"RecordDate\"},"
            SYTELINE_SUPPLIERS_REF "}]",
        .required = SYTELINE_REQUIRED,
        .derive = syteline_derive,
        .flow_derive = syteline_flow_derive,
    },
};
#define NPROFILES (sizeof ERP_PROFILES / sizeof ERP_PROFILES[0])

/* Writes "<fmt...>" into err; returns -1 so callers can `return failf(...)`. */
static int failf(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int failf(char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
    return -1;
}

const char *json_describe(const json_t *v, char *buf, size_t len)
{
    if (json_is_string(v))
        snprintf(buf, len, "\"%.40s\"", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else
        snprintf(buf, len, "%s", json_is_object(v) ? "an object" : json_is_array(v) ? "an array"
                                 : json_is_real(v) ? "a real number" : json_is_boolean(v) ? "a boolean"
                                                                                         : "null");
    return buf;
}

/* Loads one of the built-in default documents; they are constants, so failing is a bug. */
static json_t *load_defaults(const char *text)
{
    json_t *v = json_loads(text, 0, NULL);
    assert(v && "built-in defaults must be valid JSON");
    return v;
}

/* Copies every member of defaults that dst lacks; members that are objects on both sides
 * are merged recursively. dst wins everywhere else. */
static void merge_under(json_t *dst, const json_t *defaults)
{
    const char *key;
    json_t *dv;
    json_object_foreach((json_t *)defaults, key, dv) {
        json_t *cur = json_object_get(dst, key);
        if (!cur)
            json_object_set_new(dst, key, json_deep_copy(dv));
        else if (json_is_object(cur) && json_is_object(dv))
            merge_under(cur, dv);
    }
}

/* "<path>.<member>" (just member at the root, path "") for messages, in buf. */
static const char *join(char *buf, size_t len, const char *path, const char *member)
{
    snprintf(buf, len, "%s%s%s", path, *path ? "." : "", member);
    return buf;
}

/* The member of obj as a non-empty string; NULL with "<path>.<member>: missing" or "...: must
 * be a non-empty string" in err. */
static const char *need_string(const json_t *obj, const char *path, const char *member,
                               char *err, size_t err_len)
{
    const json_t *v = json_object_get(obj, member);
    const char *s = json_string_value(v);
    char at[160];
    if (s && *s)
        return s;
    failf(err, err_len, "%s: %s", join(at, sizeof at, path, member),
          !v || json_is_null(v) ? "missing" : "must be a non-empty string");
    return NULL;
}

/* The member as an integer within [min, max] into *out; -1 with err otherwise. */
static int need_int(const json_t *obj, const char *path, const char *member, long min, long max,
                    int *out, char *err, size_t err_len)
{
    const json_t *v = json_object_get(obj, member);
    char got[64], at[160];
    if (!v)
        return failf(err, err_len, "%s: missing", join(at, sizeof at, path, member));
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return failf(err, err_len, "%s: must be an integer %ld..%ld (got %s)",
                     join(at, sizeof at, path, member), min, max, json_describe(v, got, sizeof got));
    *out = (int)json_integer_value(v);
    return 0;
}

/* The member as a string, or NULL when null, absent or "" (an optional name such as
 * company_field); -1 with err when it has another type. */
static int opt_string(const json_t *obj, const char *path, const char *member, const char **out,
                      char *err, size_t err_len)
{
    const json_t *v = json_object_get(obj, member);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    char at[160];
    if (!json_is_string(v))
        return failf(err, err_len, "%s: must be a string or null", join(at, sizeof at, path, member));
    if (*json_string_value(v))
        *out = json_string_value(v);
    return 0;
}

/* Returns the member as an object; NULL with err ("missing" / "must be an object"). */
static json_t *need_object(json_t *obj, const char *path, char *err, size_t err_len)
{
    json_t *v = json_object_get(obj, path);
    if (!json_is_object(v))
        failf(err, err_len, "%s: %s", path, v ? "must be an object" : "missing");
    return json_is_object(v) ? v : NULL;
}

static bool in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return true;
    return false;
}

/* "a, b, c" of a NULL-terminated list (skipping skip), for messages. Caller frees. */
static char *list_text(const char *const *list, const char *skip)
{
    buf_t b;
    buf_init(&b);
    for (; *list; list++) {
        if (skip && strcmp(*list, skip) == 0)
            continue;
        buf_appendf(&b, "%s%s", b.len ? ", " : "", *list);
    }
    return buf_steal(&b);
}

/* True when s consists of 1..max characters, the first from first_set, the rest from rest_set. */
static bool matches(const char *s, const char *first_set, const char *rest_set, size_t max)
{
    size_t n = strlen(s);
    return n >= 1 && n <= max && strchr(first_set, s[0]) && strspn(s + 1, rest_set) == n - 1;
}

#define LOWER_DIGITS "abcdefghijklmnopqrstuvwxyz0123456789"

/* IFS IAM is a Keycloak realm: token_url defaults to <base_url>/auth/realms/<namespace>/...
 * Returns 0, or -1 with err when namespace or a given token_url is not a non-empty string. */
static int ifs_derive(json_t *erp, char *err, size_t err_len)
{
    const char *ns = need_string(erp, "erp", "namespace", err, err_len);
    if (!ns)
        return -1;
    if (json_object_get(erp, "token_url"))
        return need_string(erp, "erp", "token_url", err, err_len) ? 0 : -1;
    const char *base = json_string_value(json_object_get(erp, "base_url"));
    size_t base_len = strlen(base);
    while (base_len && base[base_len - 1] == '/')
        base_len--;
    char *url = xasprintf("%.*s/auth/realms/%s/protocol/openid-connect/token", (int)base_len, base,
                          ns);
    json_object_set_new(erp, "token_url", json_string(url));
    free(url);
    return 0;
}

/* Infor tenants authenticate with the .ionapi object in erp.ionapi (validated by ionapi.c). */
static int ion_derive(json_t *erp, char *err, size_t err_len)
{
    const json_t *obj = json_object_get(erp, "ionapi");
    if (!obj)
        return failf(err, err_len, "erp.ionapi: missing");
    ionapi_t ion;
    if (ionapi_parse(obj, "erp.ionapi", &ion, err, err_len) < 0)
        return -1;
    ionapi_free(&ion);
    return 0;
}

/* SyteLine: the .ionapi, and a Mongoose configuration name that can go into a header line. */
static int syteline_derive(json_t *erp, char *err, size_t err_len)
{
    const json_t *config = json_object_get(erp, "mongoose_config");
    for (const unsigned char *p = (const unsigned char *)json_string_value(config); p && *p; p++)
        if (*p < ' ' || *p == 0x7f)
            return failf(err, err_len, "erp.mongoose_config: must not contain control characters");
    return ion_derive(erp, err, err_len);
}

/* Sets flow.member to the flow's key when member is absent (and key is a string). */
static void default_to_key(json_t *flow, const char *member)
{
    const json_t *key = json_object_get(flow, "key");
    if (!json_object_get(flow, member) && json_is_string(key))
        json_object_set(flow, member, (json_t *)key);
}

/* Validates flow.inputs (default {}): an object of strings. A value "{member}" stands for the
 * erp member of that name, e.g. "{company}", and is replaced by it. */
static int m3_inputs(json_t *flow, const json_t *erp, const char *path, char *err, size_t err_len)
{
    json_t *inputs = json_object_get(flow, "inputs");
    if (!inputs) {
        inputs = json_object();
        json_object_set_new(flow, "inputs", inputs);
    }
    if (!json_is_object(inputs))
        return failf(err, err_len, "%s.inputs: must be an object", path);
    const char *name;
    json_t *v;
    json_object_foreach(inputs, name, v) {
        const char *text = json_string_value(v);
        char got[64];
        if (!text)
            return failf(err, err_len, "%s.inputs.%s: must be a string (got %s)", path, name,
                         json_describe(v, got, sizeof got));
        size_t n = strlen(text);
        if (n < 3 || text[0] != '{' || text[n - 1] != '}')
            continue;
        char *member = strndup(text + 1, n - 2);
        const char *value = json_string_value(json_object_get(erp, member));
        if (!value || !*value)
            failf(err, err_len, "%s.inputs.%s: %s names erp.%s, which is not set", path, name,
                  text, member);
        else
            json_object_set_new(inputs, name, json_string(value));
        free(member);
        if (!value || !*value)
            return -1;
    }
    return 0;
}

/* M3 flow: api v2 (default) or v1, program and transaction (the entity is
 * "PROGRAM/TRANSACTION"), inputs, key_input (default: the key; required, it is how pages
 * continue). A missing key itself is reported by the common flow checks. */
static int m3_flow_derive(json_t *flow, const json_t *erp, const char *path, char *err,
                          size_t err_len)
{
    const char *api;
    char got[64];
    if (opt_string(flow, path, "api", &api, err, err_len) < 0)
        return -1;
    if (!api)
        json_object_set_new(flow, "api", json_string("v2"));
    else if (strcmp(api, "v2") != 0 && strcmp(api, "v1") != 0)
        return failf(err, err_len, "%s.api: must be v2 or v1 (got %s)", path,
                     json_describe(json_object_get(flow, "api"), got, sizeof got));
    const char *program = need_string(flow, path, "program", err, err_len);
    const char *transaction = program ? need_string(flow, path, "transaction", err, err_len) : NULL;
    if (!transaction)
        return -1;
    default_to_key(flow, "key_input");
    if ((json_object_get(flow, "key") && !need_string(flow, path, "key_input", err, err_len)) ||
        m3_inputs(flow, erp, path, err, err_len) < 0)
        return -1;
    char *entity = xasprintf("%s/%s", program, transaction);
    json_object_set_new(flow, "entity", json_string(entity));
    free(entity);
    return 0;
}

/* SyteLine flow: ido (the entity), orderby (default: the key), optional filter (an IDO
 * filter ANDed with the watermark condition) and properties (default: the mapped members). */
static int syteline_flow_derive(json_t *flow, const json_t *erp, const char *path, char *err,
                                size_t err_len)
{
    const char *ido = need_string(flow, path, "ido", err, err_len);
    const char *orderby, *filter, *properties;
    if (!ido)
        return -1;
    default_to_key(flow, "orderby");
    if (opt_string(flow, path, "orderby", &orderby, err, err_len) < 0 ||
        opt_string(flow, path, "filter", &filter, err, err_len) < 0 ||
        opt_string(flow, path, "properties", &properties, err, err_len) < 0)
        return -1;
    json_object_set_new(flow, "entity", json_string(ido));
    return 0;
}

static const erp_profile_t *profile_find(const char *type)
{
    for (size_t i = 0; i < NPROFILES; i++)
        if (strcmp(ERP_PROFILES[i].type, type) == 0)
            return &ERP_PROFILES[i];
    return NULL;
}

/* Validates erp (defaults of its type merged in) and returns its profile; NULL with err. */
static const erp_profile_t *erp_section(json_t *raw, char *err, size_t err_len)
{
    json_t *erp = need_object(raw, "erp", err, err_len);
    if (!erp)
        return NULL;
    const json_t *type = json_object_get(erp, "type");
    const erp_profile_t *p = json_is_string(type) ? profile_find(json_string_value(type)) : NULL;
    if (!p) {
        const char *types[NPROFILES + 1];
        for (size_t i = 0; i < NPROFILES; i++)
            types[i] = ERP_PROFILES[i].type;
        types[NPROFILES] = NULL;
        char *allowed = list_text(types, NULL);
        char got[64];
        if (type)
            failf(err, err_len, "erp.type: must be one of %s (got %s)", allowed,
                  json_describe(type, got, sizeof got));
        else
            failf(err, err_len, "erp.type: missing (one of %s)", allowed);
        free(allowed);
        return NULL;
    }
    json_t *defaults = load_defaults(p->erp_defaults);
    merge_under(erp, defaults);
    json_decref(defaults);
    for (const char *const *m = p->required; *m; m++)
        if (!need_string(erp, "erp", *m, err, err_len))
            return NULL;
    int n;
    const char *company_field;
    if (need_int(erp, "erp", "page_size", 1, PAGE_SIZE_MAX, &n, err, err_len) < 0 ||
        need_int(erp, "erp", "rate_per_min", 1, 1000000, &n, err, err_len) < 0 ||
        opt_string(erp, "erp", "company_field", &company_field, err, err_len) < 0 ||
        p->derive(erp, err, err_len) < 0)
        return NULL;
    return p;
}

/* Validates asana (defaults merged in) and fills the asana members of out. */
static int asana_section(json_t *raw, tenant_cfg_t *out, char *err, size_t err_len)
{
    json_t *asana = need_object(raw, "asana", err, err_len);
    if (!asana)
        return -1;
    const char *base = need_string(asana, "asana", "base_url", err, err_len);
    const char *token = base ? need_string(asana, "asana", "token", err, err_len) : NULL;
    const char *ws = token ? need_string(asana, "asana", "workspace", err, err_len) : NULL;
    const char *project = ws ? need_string(asana, "asana", "project", err, err_len) : NULL;
    if (!project)
        return -1;
    json_t *fields = json_object_get(asana, "fields");
    if (!json_is_object(fields))
        return failf(err, err_len, "asana.fields: must be an object");
    const char *key;
    json_t *v;
    json_object_foreach(fields, key, v) {
        if (!in_list(ASANA_LOGICAL_FIELDS, key)) {
            char *known = list_text(ASANA_LOGICAL_FIELDS, NULL);
            failf(err, err_len, "asana.fields.%s: unknown field (one of %s)", key, known);
            free(known);
            return -1;
        }
        if (!need_string(fields, "asana.fields", key, err, err_len))
            return -1;
    }
    const json_t *cc = json_object_get(asana, "currency_code");
    const char *code = json_string_value(cc);
    char got[64];
    if (!code || strlen(code) != 3 || strspn(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 3)
        return failf(err, err_len, "asana.currency_code: must be a 3-letter ISO 4217 code (got %s)",
                     json_describe(cc, got, sizeof got));
    int rate;
    if (need_int(asana, "asana", "rate_per_min", 1, 1000000, &rate, err, err_len) < 0)
        return -1;
    out->asana_rate_per_min = rate;
    out->asana_base = xstrdup(base);
    out->asana_token = xstrdup(token);
    out->asana_workspace = xstrdup(ws);
    out->asana_project = xstrdup(project);
    out->asana_fields = json_incref(fields);
    out->currency_code = xstrdup(code);
    return 0;
}

/* Validates a flow's map: an object of record field -> source member name (strings), with
 * erp_key and number present. */
static int check_map(const json_t *map, const char *path, char *err, size_t err_len)
{
    if (!json_is_object(map))
        return failf(err, err_len, "%s: %s", path, map ? "must be an object" : "missing");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)map, key, v) {
        if (!in_list(RECORD_FIELDS, key) || strcmp(key, "kind") == 0) {
            char *known = list_text(RECORD_FIELDS, "kind");
            failf(err, err_len, "%s.%s: not a record field (one of %s)", path, key, known);
            free(known);
            return -1;
        }
        if (!need_string(map, path, key, err, err_len))
            return -1;
    }
    if (!need_string(map, path, "erp_key", err, err_len) ||
        !need_string(map, path, "number", err, err_len))
        return -1;
    return 0;
}

/* Validates flows[i] (defaults already merged; the ERP type's members through p) and fills *f. */
static int flow_fill(json_t *flow, size_t i, const erp_profile_t *p, const json_t *erp,
                     flow_cfg_t *f, char *err, size_t err_len)
{
    char path[32], sub[48], got[64];
    snprintf(path, sizeof path, "flows[%zu]", i);
    const char *name = need_string(flow, path, "name", err, err_len);
    if (!name)
        return -1;
    if (!matches(name, LOWER_DIGITS "_", LOWER_DIGITS "_", 63))
        return failf(err, err_len, "%s.name: must match [a-z0-9_]{1,63} (got %s)", path,
                     json_describe(json_object_get(flow, "name"), got, sizeof got));
    const json_t *kind = json_object_get(flow, "kind");
    const char *k = json_string_value(kind);
    if (!kind)
        return failf(err, err_len, "%s.kind: missing", path);
    if (!k || (strcmp(k, "po") != 0 && strcmp(k, "invoice") != 0))
        return failf(err, err_len, "%s.kind: must be po or invoice (got %s)", path,
                     json_describe(kind, got, sizeof got));
    if (p->flow_derive && p->flow_derive(flow, erp, path, err, err_len) < 0)
        return -1;
    const char *entity = need_string(flow, path, "entity", err, err_len);
    const char *key = entity ? need_string(flow, path, "key", err, err_len) : NULL;
    const char *modified = key ? need_string(flow, path, "modified_field", err, err_len) : NULL;
    const char *sched = modified ? need_string(flow, path, "schedule", err, err_len) : NULL;
    if (!sched)
        return -1;
    schedule_t parsed;
    char why[128];
    if (schedule_parse(sched, &parsed, why, sizeof why) < 0)
        return failf(err, err_len, "%s.schedule: %s (got \"%.40s\")", path, why, sched);
    const char *company_field;
    int page_size;
    if (opt_string(flow, path, "company_field", &company_field, err, err_len) < 0 ||
        need_int(flow, path, "page_size", 1, PAGE_SIZE_MAX, &page_size, err, err_len) < 0)
        return -1;
    json_t *map = json_object_get(flow, "map");
    snprintf(sub, sizeof sub, "%s.map", path);
    if (check_map(map, sub, err, err_len) < 0)
        return -1;
    f->name = xstrdup(name);
    f->kind = xstrdup(k);
    f->entity = xstrdup(entity);
    f->key_field = xstrdup(key);
    f->modified_field = xstrdup(modified);
    f->company_field = xstrdup(company_field);
    f->schedule = xstrdup(sched);
    f->page_size = page_size;
    f->map = json_incref(map);
    f->raw = json_incref(flow);
    return 0;
}

/* The flow of list named name, or NULL. */
static json_t *flow_named(const json_t *list, const char *name)
{
    size_t i;
    json_t *flow;
    json_array_foreach(list, i, flow) {
        const char *n = json_string_value(json_object_get(flow, "name"));
        if (name && n && strcmp(n, name) == 0)
            return flow;
    }
    return NULL;
}

/* Applies the profile's flows (defaults, merge by name, inheritance from erp), validates
 * them and fills out->flows. */
static int flows_section(json_t *raw, const erp_profile_t *p, tenant_cfg_t *out, char *err,
                         size_t err_len)
{
    json_t *defaults = load_defaults(p->flows);
    json_t *flows = json_object_get(raw, "flows");
    int rc = -1;
    if (!flows) {
        flows = json_deep_copy(defaults);
        json_object_set_new(raw, "flows", flows);
    } else if (!json_is_array(flows)) {
        failf(err, err_len, "flows: must be an array");
        goto done;
    }
    /* Members every flow inherits from the erp section. */
    const json_t *erp = json_object_get(raw, "erp");
    json_t *inherited = json_object();
    json_object_set(inherited, "page_size", json_object_get(erp, "page_size"));
    json_object_set(inherited, "company_field", json_object_get(erp, "company_field"));
    out->flows = xcalloc(json_array_size(flows) ? json_array_size(flows) : 1, sizeof *out->flows);
    size_t i;
    json_t *flow;
    json_array_foreach(flows, i, flow) {
        if (!json_is_object(flow)) {
            failf(err, err_len, "flows[%zu]: must be an object", i);
            break;
        }
        const json_t *base = flow_named(defaults, json_string_value(json_object_get(flow, "name")));
        if (base)
            merge_under(flow, base);
        merge_under(flow, inherited);
        if (flow_fill(flow, i, p, erp, &out->flows[i], err, err_len) < 0)
            break;
        bool duplicate = tenant_flow(out, out->flows[i].name) != NULL; /* looks at flows[0, i) */
        out->nflows = i + 1;
        if (duplicate) {
            failf(err, err_len, "flows[%zu].name: duplicate \"%s\"", i, out->flows[i].name);
            break;
        }
    }
    rc = i == json_array_size(flows) ? 0 : -1;
    json_decref(inherited);
done:
    json_decref(defaults);
    return rc;
}

int tenant_cfg_parse(const json_t *obj, tenant_cfg_t *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(obj))
        return failf(err, err_len, "tenant: must be a JSON object");
    json_t *raw = json_deep_copy(obj);
    out->raw = raw;
    char got[64];
    const char *id = need_string(raw, "", "id", err, err_len);
    if (!id)
        goto fail;
    if (!matches(id, LOWER_DIGITS, LOWER_DIGITS "_-", 63)) {
        failf(err, err_len, "id: must match [a-z0-9][a-z0-9_-]{0,62} (got %s)",
              json_describe(json_object_get(raw, "id"), got, sizeof got));
        goto fail;
    }
    const json_t *name = json_object_get(raw, "name");
    if (!name)
        json_object_set_new(raw, "name", json_string(id));
    else if (!json_is_string(name)) {
        failf(err, err_len, "name: must be a string");
        goto fail;
    }
    const erp_profile_t *profile = erp_section(raw, err, err_len);
    if (!profile)
        goto fail;
    json_t *defaults = load_defaults(TENANT_DEFAULTS);
    merge_under(raw, defaults);
    json_decref(defaults);
    if (asana_section(raw, out, err, err_len) < 0 || flows_section(raw, profile, out, err, err_len) < 0)
        goto fail;
    out->id = xstrdup(id);
    out->name = xstrdup(json_string_value(json_object_get(raw, "name")));
    out->erp_type = xstrdup(profile->type);
    out->erp = json_incref(json_object_get(raw, "erp"));
    return 0;
fail:
    tenant_cfg_free(out);
    return -1;
}

static void flow_cfg_free(flow_cfg_t *f)
{
    free(f->name);
    free(f->kind);
    free(f->entity);
    free(f->key_field);
    free(f->modified_field);
    free(f->company_field);
    free(f->schedule);
    json_decref(f->map);
    json_decref(f->raw);
}

void tenant_cfg_free(tenant_cfg_t *t)
{
    if (!t)
        return;
    free(t->id);
    free(t->name);
    free(t->erp_type);
    json_decref(t->erp);
    free(t->asana_base);
    free(t->asana_token);
    free(t->asana_workspace);
    free(t->asana_project);
    json_decref(t->asana_fields);
    free(t->currency_code);
    for (size_t i = 0; i < t->nflows; i++)
        flow_cfg_free(&t->flows[i]);
    free(t->flows);
    json_decref(t->raw);
    memset(t, 0, sizeof *t);
}

const flow_cfg_t *tenant_flow(const tenant_cfg_t *t, const char *name)
{
    for (size_t i = 0; i < t->nflows; i++)
        if (strcmp(t->flows[i].name, name) == 0)
            return &t->flows[i];
    return NULL;
}

/* Borrowed member of obj at the dotted path; NULL when a step is missing or not an object. */
json_t *json_path_get(const json_t *obj, const char *path)
{
    json_t *cur = (json_t *)obj;
    for (const char *seg = path; cur; ) {
        const char *dot = strchr(seg, '.');
        size_t len = dot ? (size_t)(dot - seg) : strlen(seg);
        cur = json_is_object(cur) ? json_object_getn(cur, seg, len) : NULL;
        if (!dot)
            return cur;
        seg = dot + 1;
    }
    return NULL;
}

/* Sets the member at the dotted path, creating missing intermediate objects. Steals value
 * (also on failure). Returns 0, or -1 when obj or an existing intermediate is not an object. */
int json_path_set(json_t *obj, const char *path, json_t *value)
{
    json_t *cur = obj;
    const char *seg = path;
    for (const char *dot; (dot = strchr(seg, '.')); seg = dot + 1) {
        if (!json_is_object(cur))
            break;
        size_t len = (size_t)(dot - seg);
        json_t *next = json_object_getn(cur, seg, len);
        if (!next) {
            next = json_object();
            json_object_setn_new(cur, seg, len, next);
        }
        cur = next;
    }
    if (!json_is_object(cur)) {
        json_decref(value);
        return -1;
    }
    return json_object_set_new(cur, seg, value);
}
