/* writeback: bringing an approval decision taken in Asana back onto the ERP record it came
 * from. One driver per ERP type:
 *   ifs       PATCH of a configured member or POST of a configured bound action, always with
 *             If-Match carrying the record's ETag (never without, never "*"); a 412 re-reads
 *             the entity, re-decides and retries with the fresh ETag.
 *   m3        a configured MI transaction (default APS450MI/ApproveInvoice); the record is read
 *             first (GetHead), so a decision already applied is never run a second time.
 *   syteline  IDO update of the record's row by its ItemId (UpdateLocking 1); a stale ItemId
 *             re-loads the row, re-decides and retries.
 * and the mode "audit_only" for flows with no write path (no ERP call at all).
 *
 * A flow's settings are the flow object's "writeback" member (flow->raw), with defaults per
 * ERP type and record kind filled by wb_settings. Every HTTP exchange is returned in
 * wb_result_t.calls so the caller can put request, response and outcome in the audit trail. */
#ifndef MLC_WRITEBACK_H
#define MLC_WRITEBACK_H
#include <stdint.h>
#include <jansson.h>
#include "config.h"
#include "http.h"
#include "redis.h"

typedef enum {
    WB_APPLIED,         /* the ERP accepted the change now */
    WB_ALREADY,         /* a (re-)read shows the decision is already on the record: nothing sent */
    WB_NOT_APPLICABLE,  /* the record's state forbids the decision (e.g. cancelled): nothing sent */
    WB_FAILED,          /* see retryable and error */
} wb_status_t;

typedef struct {
    const tenant_cfg_t *tenant;
    const flow_cfg_t   *flow;       /* the record's flow */
    rds_t              *redis;      /* token cache (token.c / ion_token.c) */
    http_client_t      *http;
    const uint8_t      *master_key;
    const char         *erp_key;    /* the record's ERP key (record_t.erp_key) */
    const char         *etag;       /* stored locking token: @odata.etag (IFS), _ItemId
                                       (SyteLine); NULL or "" when none is known (the driver
                                       reads the record first then) */
    const char         *decision;   /* "approve" (the only decision so far) */
} wb_request_t;

typedef struct {
    wb_status_t status;
    int         retryable;      /* WB_FAILED: 1 transient (network, 408, 429, 5xx), 0 permanent */
    int64_t     retry_after_ms; /* from Retry-After when given */
    int         conflicts;      /* stale-token answers that led to a re-read */
    json_t     *calls;          /* array of {"method","url","request","status","response"}
                                   (bodies cut at 2 KB, never a token or secret); owned */
    char       *etag;           /* the locking token after the write when known, else NULL */
    char        error[512];
} wb_result_t;

typedef struct {
    const char *type;
    void (*apply)(const wb_request_t *in, wb_result_t *out);
} wb_driver_t;

/* The write-back settings of flow for an ERP type: a new object (caller decrefs) holding the
 * flow's "writeback" member over the defaults of erp_type and flow->kind. Always has "mode":
 * "action" | "patch" (ifs), "mi" (m3), "ido" (syteline) or "audit_only". */
json_t *wb_settings(const char *erp_type, const flow_cfg_t *flow);

/* The driver for an ERP type, NULL when unknown. */
const wb_driver_t *wb_driver(const char *erp_type);

/* Applies in->decision per wb_settings; for "audit_only" sets WB_NOT_APPLICABLE with error
 * "audit_only" without any call. out is zeroed first; release it with wb_result_free. */
void wb_apply(const wb_request_t *in, wb_result_t *out);
void wb_result_free(wb_result_t *r);   /* frees and zeroes; safe twice */
#endif
