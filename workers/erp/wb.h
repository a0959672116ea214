/* wb: what the write-back drivers (wb_ifs.c, wb_m3.c, wb_syteline.c) share, implemented in
 * writeback.c. Private to workers/erp: the contract for callers is writeback.h. */
#ifndef MLC_WB_H
#define MLC_WB_H
#include <stdarg.h>
#include <jansson.h>
#include "erp.h"
#include "writeback.h"

extern const wb_driver_t WB_IFS;
extern const wb_driver_t WB_M3;
extern const wb_driver_t WB_SYTELINE;

/* One write-back: the request, its result, the effective settings and the request seen as
 * an erp_read_t (what the ERP clients' helpers take). */
typedef struct {
    const wb_request_t *in;
    wb_result_t        *out;
    json_t             *settings;   /* owned: wb_settings of the tenant's type and the flow */
    erp_read_t          erp;
} wb_run_t;

/* Starts a driver's run: zeroes out (calls = []), builds the settings and checks what every
 * driver needs. modes: the modes the driver serves besides "audit_only", NULL-terminated.
 * Returns 0 to go on, 1 when out is final: "audit_only" (WB_NOT_APPLICABLE, no call), or
 * WB_FAILED (permanent) for a "writeback" member that is not an object, a mode the driver does
 * not serve, a decision other than "approve" or a missing erp_key. Call wb_end either way. */
int wb_begin(wb_run_t *run, const wb_request_t *in, wb_result_t *out,
             const char *const *modes);
void wb_end(wb_run_t *run);   /* frees the settings; safe twice */

/* A string setting ("" counts as absent) or NULL. */
const char *wb_str(const wb_run_t *run, const char *name);
/* An integer setting in [lo, hi], else dflt. */
int wb_int(const wb_run_t *run, const char *name, int lo, int hi, int dflt);
/* A string setting that must be there: NULL after failing out (permanent,
 * "writeback.<name>: missing"). */
const char *wb_need(wb_run_t *run, const char *name);

/* A buffered answer. */
typedef struct {
    long   status;
    char  *body;            /* NUL-terminated, owned ("" when empty) */
    size_t len;
    char  *etag;            /* the ETag response header, owned, NULL when absent */
    long   retry_after_ms;  /* Retry-After, 0 when absent */
} wb_answer_t;

/* One exchange with the ERP: method url with "Authorization: Bearer" from src (erp.c), Accept
 * JSON, src->header and headers (NULL-terminated "Name: value" lines, may be NULL), body (may
 * be NULL). Every exchange is appended to out->calls without the Authorization header; a 401
 * drops the cached token and repeats the request once with a fresh one. Returns 0 when an
 * answer arrived (any status, see *ans; wb_answer_free it), -1 when none did (no token,
 * transport failure): out is then WB_FAILED, retryable. */
int wb_send(wb_run_t *run, const erp_source_t *src, const char *method, const char *url,
            const char *const *headers, const char *body, wb_answer_t *ans);
void wb_answer_free(wb_answer_t *a);   /* safe twice */

/* The JSON of a call's body for the audit: text cut at 2 KB on a UTF-8 boundary, invalid
 * bytes as '?'; null for NULL. New reference. */
json_t *wb_body_json(const char *body, size_t len);

/* Fails out: WB_FAILED with retryable and the formatted error. */
void wb_fail(wb_result_t *out, int retryable, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Fails out for an answer with an unexpected status: "<label> answered <status>[: detail]",
 * retryable for 408, 429 and 5xx (erp_fail_status), with the answer's Retry-After. */
void wb_fail_status(wb_result_t *out, const char *label, const wb_answer_t *ans,
                    const char *detail);
/* Counts a stale-token answer; 0 to re-read and retry, -1 after failing out (retryable) when
 * that was more than the "max_conflicts" setting allows (default 3). */
int wb_conflict(wb_run_t *run);

/* Text of a row member for comparisons: a string trimmed (M3 pads), a number as text; NULL
 * when absent or of another type. Caller frees. */
char *wb_member_text(const json_t *row, const char *member);
/* Decides on the current row: when its "state_member" is in "done_states" (or, with "member"
 * and "value" settings, that member already has that value) sets WB_ALREADY, when in
 * "blocked_states" WB_NOT_APPLICABLE, each with the reason in out->error, and returns 1;
 * returns 0 when the decision is still to be written. */
int wb_decide(const wb_run_t *run, const json_t *row);
#endif
