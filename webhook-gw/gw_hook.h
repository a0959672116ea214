/* gw_hook: the pure side of the webhook gateway: which endpoint a request is for, the
 * X-Hook-Signature check, and parsing a delivery into events with their dedupe keys.
 * No I/O here; gw_store.c does Redis, gw_main.c the HTTP server. */
#ifndef MLC_GW_HOOK_H
#define MLC_GW_HOOK_H
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#define GWH_TENANT_MAX 64

typedef enum {
    GWH_NOT_FOUND,     /* no such endpoint (or a tenant id that cannot exist) -> 404 */
    GWH_BAD_METHOD,    /* a known path with the wrong method -> 405 */
    GWH_HEALTHZ,       /* GET /healthz */
    GWH_METRICS,       /* GET /metrics */
    GWH_HANDSHAKE,     /* POST /webhooks/{tenant} with X-Hook-Secret */
    GWH_DELIVERY,      /* POST /webhooks/{tenant} without it: events or heartbeat */
} gwh_route_t;

/* Classifies a request. has_hook_secret: the request carries an X-Hook-Secret header. For the
 * two webhook routes the tenant id is copied to tenant[GWH_TENANT_MAX + 1]; a tenant id must be
 * 1..64 chars of [A-Za-z0-9_.-] (anything else is GWH_NOT_FOUND, so ids are safe to use in
 * Redis keys and metric labels unescaped). */
gwh_route_t gwh_route(const char *method, const char *path, bool has_hook_secret,
                      char tenant[GWH_TENANT_MAX + 1]);

/* True when signature (the X-Hook-Signature header, hex, either case) equals
 * hex(HMAC-SHA256(secret, body[0..len))). Compares in constant time; false when signature or
 * secret is NULL or empty. */
bool gwh_signature_ok(const char *secret, const char *body, size_t len, const char *signature);

/* One event of a delivery. */
typedef struct {
    char *json;           /* canonical JSON text (sorted keys, compact): the stored payload */
    char  sha[65];        /* sha256 hex of json: the dedupe key */
    char *resource_gid;   /* resource.gid, or NULL when absent / not a string */
    json_t *obj;          /* the parsed event (one reference owned by the batch) */
} gwh_event_t;

typedef struct {
    gwh_event_t *ev;      /* n events, malloc'd; NULL when n == 0 */
    int          n;       /* 0: a heartbeat */
} gwh_batch_t;

/* Parses a delivery body {"events":[{...},...]}. Returns 0 and fills *out (gwh_batch_free it),
 * or -1 with a reason in err when the body is not JSON, has no "events" array, or an event
 * is not an object (*out is then empty). */
int gwh_batch_parse(const char *body, size_t len, gwh_batch_t *out, char *err, size_t err_len);
void gwh_batch_free(gwh_batch_t *b);   /* frees and zeroes; safe twice */

/* The job id of an event: "evt:" + the first 16 hex chars of its sha, into out[21]. */
void gwh_job_id(const gwh_event_t *e, char out[21]);
#endif
