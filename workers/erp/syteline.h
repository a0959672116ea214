/* syteline: Infor CloudSuite Industrial (SyteLine) IDOs through the ION API gateway (Mongoose
 * IDO REST, docs/infor.md). Pure helpers are exposed for tests; the driver is ERP_SYTELINE. */
#ifndef MLC_SYTELINE_H
#define MLC_SYTELINE_H
#include <jansson.h>
#include "config.h"

/* ISO-8601 ("2026-01-15T10:20:30Z", fractions and offsets allowed) as an IDO date
 * "20260115 10:20:30.000" in UTC. Caller frees; NULL when iso does not parse. */
char *syteline_ido_date(const char *iso);
/* IDO date "yyyyMMdd HH:mm:ss[.fff]" or "yyyyMMdd" as ISO-8601 UTC "2026-01-15T10:20:30.000Z".
 * IDO dates carry no zone: they are read as UTC. Caller frees; NULL for another format. */
char *syteline_iso_date(const char *ido);
/* Rewrites, in row, the members the map sends to doc_date, due_date and modified_at from the
 * IDO date format to ISO-8601 (record_map and the watermark read ISO); others stay as given. */
void syteline_row_dates(json_t *row, const json_t *map);
/* The IDO filter of a load: the flow's filter and, when since is given, "<modified_field> >=
 * '<IDO date>'", joined with AND. Caller frees; "" when neither. NULL when since does not
 * parse. */
char *syteline_filter(const flow_cfg_t *flow, const char *since);
/* URL of one load under api_base ({iu}/{ti}):
 * {base}/CSI/IDORequestService/ido/load/{IDO}?properties=..&filter=..&orderby=..&recordcap=N
 * and, after the first page, &loadtype=NEXT&bookmark=<bookmark>. properties: the flow's, else
 * erp_members. filter as syteline_filter (left out when empty). Caller frees; NULL when since
 * does not parse. */
char *syteline_page_url(const char *api_base, const flow_cfg_t *flow, const char *since,
                        const char *bookmark, int recordcap);
/* After a page: 1 load the next page, 0 done (MoreRowsExist false), -1 the server says more
 * rows exist but gave no new bookmark (following it would loop). */
int syteline_next(int more_rows_exist, const char *bookmark, const char *prev_bookmark);
/* The header line every IDO request carries: "X-Infor-MongooseConfig: <erp.mongoose_config>".
 * Caller frees. */
char *syteline_config_header(const tenant_cfg_t *t);
#endif
