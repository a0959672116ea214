/* ifs: IFS Cloud over OData v4 (see shared/ref/ERP.md). Pure helpers are exposed for tests. */
#ifndef MLC_IFS_H
#define MLC_IFS_H
#include "config.h"

/* OData string literal: 'it''s' (quotes doubled). Caller frees. */
char *odata_quote(const char *s);
/* The $filter of one page request: company, watermark (unquoted ISO-8601) and keyset position
 * (rows after after_key in key order); NULL parts are left out. Caller frees; "" when empty. */
char *ifs_filter(const flow_cfg_t *flow, const char *company, const char *since,
                 const char *after_key);
/* Full URL of a page request under erp.base_url ($select: erp_members). Caller frees. */
char *ifs_page_url(const char *base_url, const flow_cfg_t *flow, const char *company,
                   const char *since, const char *after_key, int top);
#endif
