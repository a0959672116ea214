/* config: process settings from the environment and tenant configuration from JSON.
 *
 * Environment (all optional):
 *   MLC_REDIS_URL       redis://127.0.0.1:6379/0 (mlc up starts a local redis-server when unset)
 *   MLC_BROKER_URL      tcp://127.0.0.1:18090
 *   MLC_MASTER_KEY / MLC_MASTER_KEY_FILE   AES-256 master key (see crypto.h)
 *   MLC_WORKER_ID       worker id (generated when unset)
 *   MLC_LOG_LEVEL       debug|info|warn|error
 *
 * Tenant file (JSON), see docs/configuration.md:
 *   { "id": "acme", "name": "...",
 *     "erp":   { "type": "ifs", "base_url": "...", "token_url": "...", "client_id": "...",
 *                "client_secret": "...", "scope": "...", "company": "10",
 *                "page_size": 5000, "rate_per_min": 1000 },
 *     "asana": { "base_url": "https://app.asana.com/api/1.0", "token": "...",
 *                "workspace": "gid", "project": "gid",
 *                "fields": { "number": "Document No", ... }, "currency_code": "EUR",
 *                "rate_per_min": 1500 },
 *     "flows": [ { "name": "purchase_orders", "kind": "po", "entity": "...", "key": "OrderNo",
 *                  "modified_field": "...", "company_field": "Company", "map": {...},
 *                  "schedule": "every 5 minutes", "page_size": 5000 } ] }
 * Missing flows, maps and field names are filled from the defaults of the ERP type (the
 * names in shared/ref/ERP.md); what a tenant gives wins. */
#ifndef MLC_CONFIG_H
#define MLC_CONFIG_H
#include <stddef.h>
#include <jansson.h>

#define DEFAULT_REDIS_URL  "redis://127.0.0.1:6379/0"
#define DEFAULT_BROKER_URL "tcp://127.0.0.1:18090"

typedef struct {
    char   *name;           /* unique within the tenant, [a-z0-9_]+ */
    char   *kind;           /* "po" | "invoice" */
    char   *entity;         /* IFS: "<Projection>.svc/<EntitySet>" */
    char   *key_field;      /* source key member */
    char   *modified_field; /* source modified-timestamp member (cursor) */
    char   *company_field;  /* source company member, NULL = no company filter */
    char   *schedule;       /* schedule spec (schedule.h) */
    int     page_size;      /* $top / maxrecs / recordcap */
    json_t *map;            /* record field -> source member (record_map) */
    json_t *raw;            /* the whole flow object after defaults (ERP-specific extras) */
} flow_cfg_t;

typedef struct {
    char       *id;         /* [a-z0-9][a-z0-9_-]{0,62} */
    char       *name;
    char       *erp_type;   /* "ifs" (later "m3", "syteline") */
    json_t     *erp;        /* the erp object after defaults; secrets as given to parse */
    char       *asana_base;
    char       *asana_token;
    char       *asana_workspace;
    char       *asana_project;
    json_t     *asana_fields;   /* logical field -> Asana custom field name */
    char       *currency_code;  /* currency of the Amount number field, default "EUR" */
    long        asana_rate_per_min; /* requests per minute of the token, across all processes
                                       (default 1500: a paid plan; free plans allow 150) */
    flow_cfg_t *flows;
    size_t      nflows;
    json_t     *raw;        /* the whole tenant object after defaults */
} tenant_cfg_t;

/* Logical Asana fields the writer maps, NULL-terminated: number, erp_key, supplier, amount,
 * currency, gl_account, cost_center, status. */
extern const char *const ASANA_LOGICAL_FIELDS[];
/* Dotted paths of secret members (sealed at rest by tenant_store): "erp.client_secret",
 * "asana.token", ... NULL-terminated. */
extern const char *const TENANT_SECRET_PATHS[];

/* Validates obj, applies defaults and fills *out (tenant_cfg_free it). obj is not modified
 * (a deep copy with defaults is kept in out->raw). Returns 0 or -1 with err naming the
 * member and the problem, e.g. "erp.base_url: missing" or "flows[1].kind: must be po or
 * invoice". */
int tenant_cfg_parse(const json_t *obj, tenant_cfg_t *out, char *err, size_t err_len);
void tenant_cfg_free(tenant_cfg_t *t);   /* safe twice */
/* Looks up a flow by name; NULL when absent (borrowed). */
const flow_cfg_t *tenant_flow(const tenant_cfg_t *t, const char *name);
/* Dotted-path helpers on JSON objects ("erp.client_secret"). get: borrowed or NULL. */
json_t *json_path_get(const json_t *obj, const char *path);
int json_path_set(json_t *obj, const char *path, json_t *value);  /* steals value */
/* Short description of a bad value for "(got ...)" messages, written into buf (>= 48 bytes)
 * and returned: a quoted string cut at 40 bytes, an integer, or the JSON type ("an object",
 * "null", ...). Never call it on a secret. */
const char *json_describe(const json_t *v, char *buf, size_t len);
#endif
