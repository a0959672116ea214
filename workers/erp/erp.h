/* erp: what an ERP connector gives the poll pipeline. A connector reads the rows of one flow
 * changed since a watermark, maps each into record_t and hands it to the sink; paging, tokens
 * and wire formats stay inside the connector (ifs.c, m3.c, syteline.c). erp.c lists the
 * drivers and holds what they share: one authenticated, streamed page request. */
#ifndef MLC_ERP_H
#define MLC_ERP_H
#include <stdbool.h>
#include <stdint.h>
#include "config.h"
#include "crypto.h"
#include "http.h"
#include "jsonscan.h"
#include "record.h"
#include "redis.h"
#include "token.h"

typedef struct {
    const tenant_cfg_t *tenant;
    const flow_cfg_t   *flow;
    rds_t              *redis;
    http_client_t      *http;
    const uint8_t      *master_key;
    const char         *since;      /* ISO-8601 watermark (overlap applied) or NULL = all rows */
} erp_read_t;

/* Called once per row; takes ownership of rec (record_free it). Non-zero stops the read. */
typedef int (*record_sink_fn)(void *ud, record_t *rec);

/* Outcome of a read. */
typedef struct {
    int     ok;             /* 1 when every page was read */
    int     retryable;      /* on failure: 1 transient (5xx, 429, network), 0 permanent */
    int64_t retry_after_ms; /* from Retry-After when given, else 0 */
    long    pages;
    long    rows;
    char    error[512];
} erp_result_t;

typedef struct {
    const char *type;
    void (*read)(const erp_read_t *in, record_sink_fn sink, void *ud, erp_result_t *out);
} erp_driver_t;

/* The driver for an ERP type ("ifs", "m3", "syteline"), NULL when unknown. */
const erp_driver_t *erp_driver(const char *type);

extern const erp_driver_t ERP_IFS;
extern const erp_driver_t ERP_M3;
extern const erp_driver_t ERP_SYTELINE;

/* The watermark a poll of flow reads from: the flow's cursor (K_CURSOR) minus the overlap
 * window MLC_POLL_OVERLAP_S (default 60), as ISO-8601; NULL (read everything) with full or
 * without a cursor. Caller frees. Shared by the poller and `mlc sync --plan`. */
char *erp_since(rds_t *r, const char *tenant, const char *flow, bool full);

/* Comma list of the source members a flow reads, each once: key, modified and company members,
 * then every mapped member (IFS $select, M3 returncols, IDO properties). Caller frees. */
char *erp_members(const flow_cfg_t *flow);

/* Where a page comes from: the token (token.c cache under system, fetched with fetch/fetch_ud)
 * and one optional extra request header. label starts every message ("m3 answered 500"). */
typedef struct {
    const char     *label;
    const char     *system;
    token_fetch_fn  fetch;
    void           *fetch_ud;
    const char     *header;      /* "Name: value" or NULL */
} erp_source_t;

/* How a page body is read: jsonscan with target array path and the callbacks (on_item returns
 * 0 to go on, 1 to stop the read). on_attempt, when set, runs before every attempt so a retried
 * request starts from a clean state. */
typedef struct {
    const char     *path;
    jscan_item_fn   on_item;
    jscan_scalar_fn on_scalar;
    void          (*on_attempt)(void *ud);
    void           *ud;
} erp_scan_t;

/* What came back for one page request. */
typedef struct {
    long status;           /* HTTP status of the final answer */
    int  stopped;          /* an item callback stopped the read (the rest was not read) */
    int  complete;         /* the body was exactly one complete JSON document */
    long retry_after_ms;   /* Retry-After of the answer, 0 when absent */
    char scan_error[160];  /* why the body was not complete */
} erp_page_t;

/* Waits for the tenant's turn at its ERP (erp_gate.h: shared rate and pause), at most
 * ERP_GATE_MAX_WAIT_MS. 0 go; -1 not now, with err ("<label>: ...") and *retry_after_ms set:
 * the caller gives its job back as a retry instead of holding a worker thread. */
int erp_gate(const erp_read_t *in, const char *label, char *err, size_t err_len,
             int64_t *retry_after_ms);
/* The header line "Authorization: Bearer <token>" of src (token.c cache, renewed ahead of
 * expiry as for every page), malloc'd; NULL with err when no token could be had. */
char *erp_auth_header(const erp_read_t *in, const erp_source_t *src, char *err, size_t err_len);
/* GETs url (after erp_gate) with "Authorization: Bearer <token>" and streams the body,
 * whatever the status,
 * through jsonscan into sc, one item in memory at a time. A 401 drops the cached token and
 * repeats the request once with a fresh one. Returns 0 when an answer arrived (see *page), -1
 * when none did (token or transport failure): out->error says why and out->retryable is 1. */
int erp_fetch_page(const erp_read_t *in, const erp_source_t *src, const erp_scan_t *sc,
                   const char *url, erp_page_t *page, erp_result_t *out);
/* Fills out for a failed page: the message "<label> answered <status>: <detail>" (detail may
 * be NULL), retryable for 408, 429 and 5xx, and the page's Retry-After. */
void erp_fail_status(erp_result_t *out, const char *label, const erp_page_t *page,
                     const char *detail);
#endif
