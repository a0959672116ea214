/* fields: the tenant's Asana custom fields and enum options, resolved by name to GIDs once
 * and cached in Redis (K_ASANA_FIELDS per project, K_ASANA_ENUM per field) and in the thread.
 * Missing fields are created in the workspace and added to the project; missing enum options
 * are created; each create happens under a Redis lock after a fresh look-up, so concurrent
 * writers never create the same field or option twice. */
#ifndef MLC_FIELDS_H
#define MLC_FIELDS_H
#include <jansson.h>
#include "asana.h"
#include "config.h"

typedef enum { FIELD_NUMBER_TEXT, FIELD_ERP_KEY, FIELD_SUPPLIER, FIELD_AMOUNT, FIELD_CURRENCY,
               FIELD_GL_ACCOUNT, FIELD_COST_CENTER, FIELD_STATUS, FIELD_COUNT } field_id_t;

typedef struct {
    char *gid[FIELD_COUNT];
    char *type[FIELD_COUNT];   /* "text" | "number" | "enum" */
} fields_t;

/* Per-thread cache of resolved options: field gid + name -> option gid. */
typedef struct fields_cache fields_cache_t;
fields_cache_t *fields_cache_new(void);
void fields_cache_destroy(fields_cache_t **c);

/* Resolves every logical field of tenant t (creating what is missing). 0 or -1 with res->error
 * (res->retryable tells whether to retry). */
int fields_resolve(asana_t *a, const tenant_cfg_t *t, fields_cache_t *cache, fields_t *out,
                   asana_res_t *res);
/* The option GID of name in enum field field_gid (created when missing). malloc'd, or NULL
 * with res filled. */
char *enum_option(asana_t *a, const char *tenant, const char *field_gid, const char *name,
                  fields_cache_t *cache, asana_res_t *res);
void fields_free(fields_t *f);
#endif
