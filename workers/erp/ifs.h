/* ifs: IFS Cloud over OData v4 (see shared/ref/ERP.md). Pure helpers are exposed for tests. */
#ifndef MLC_IFS_H
#define MLC_IFS_H
#include "config.h"
#include "http.h"

/* OData string literal: 'it''s' (quotes doubled). Caller frees. */
char *odata_quote(const char *s);
/* The $filter of one page request: company, watermark (unquoted ISO-8601) and keyset position
 * (rows after after_key in key order); NULL parts are left out. Caller frees; "" when empty. */
char *ifs_filter(const flow_cfg_t *flow, const char *company, const char *since,
                 const char *after_key);
/* Full URL of a page request under erp.base_url ($select: erp_members). Caller frees. */
char *ifs_page_url(const char *base_url, const flow_cfg_t *flow, const char *company,
                   const char *since, const char *after_key, int top);
/* URL of one entity: {base}/main/ifsapplications/projection/v1/{entity}({key}='{value}'),
 * the value percent-encoded inside the quotes (quotes in it doubled). Caller frees. */
char *ifs_entity_url(const char *base_url, const flow_cfg_t *flow, const char *key);

/* The token source of a tenant's IFS IAM client for token.c (system "ifs"): the client
 * credentials grant against erp.token_url; ud is an ifs_token_ud_t. */
typedef struct {
    const tenant_cfg_t *tenant;
    http_client_t      *http;
} ifs_token_ud_t;
int ifs_fetch_token(void *ud, char **token, long *expires_in, char *err, size_t err_len);
#endif
