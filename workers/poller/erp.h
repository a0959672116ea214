/* erp: what an ERP connector gives the poll pipeline. A connector reads the rows of one flow
 * changed since a watermark, maps each into record_t and hands it to the sink; paging, tokens
 * and wire formats stay inside the connector (ifs.c; later m3.c, syteline.c). */
#ifndef MLC_ERP_H
#define MLC_ERP_H
#include <stdint.h>
#include "config.h"
#include "crypto.h"
#include "http.h"
#include "record.h"
#include "redis.h"

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

/* The driver for an ERP type ("ifs"), NULL when unknown. */
const erp_driver_t *erp_driver(const char *type);

extern const erp_driver_t ERP_IFS;
#endif
