/* asana: the Asana REST client of the writer (shared/ref/ASANA.md, asana_oas.yaml). Every
 * request waits its turn in the token's per-minute rate, takes an in-flight slot of its token
 * (15 writes / 50 reads across all processes), waits out a pause set by a 429 or 503, and on
 * 429/503 sets that pause from Retry-After for everyone. */
#ifndef MLC_ASANA_H
#define MLC_ASANA_H
#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include "config.h"
#include "http.h"
#include "redis.h"

/* Longest an Asana request may take (the task create lock in upsert.c relies on it). */
#define ASANA_TIMEOUT_MS 20000
/* A request waits this long for its turn of the token's rate, and through a pause (a 429's
 * Retry-After) that ends within ASANA_PAUSE_WAIT_MS; a longer one gives the job back at once
 * (deferred, its attempt not used), so a paused token does not hold the writer's threads. */
#define ASANA_TURN_WAIT_MS  5000
#define ASANA_PAUSE_WAIT_MS 2000

typedef struct {
    http_client_t *http;
    rds_t         *redis;
    const char    *base;        /* e.g. https://app.asana.com/api/1.0 */
    const char    *token;
    char           token_id[17];/* first 16 hex of SHA-256(token): names the shared limits */
    int            write_cap;   /* MLC_ASANA_WRITE_CONCURRENCY, default 15 */
    int            read_cap;    /* MLC_ASANA_READ_CONCURRENCY, default 50 */
    long           rate_per_min;/* asana.rate_per_min of the tenant: shared by every process
                                   using the token (GCRA in Redis) */
    bool           defer_release; /* keep the last write's slot until asana_append_release */
    char          *held_slots;  /* slot of a deferred release (owned) */
    char          *held_holder;
    const char    *tenant;      /* tenant id (borrowed): names its request counters (reqstats) */
} asana_t;

typedef struct {
    long    status;          /* HTTP status, 0 when no answer */
    json_t *data;            /* the "data" member of a 2xx answer (owned), else NULL */
    json_t *body;            /* the whole parsed body (owned), may be NULL */
    int     retryable;       /* failure is transient (429, 5xx, network, limits busy) */
    int64_t retry_after_ms;  /* from Retry-After, 0 when none */
    char    error[512];
} asana_res_t;

/* A client for tenant t's Asana (base URL, token and per-minute rate of t, borrowed). */
void asana_init(asana_t *a, http_client_t *http, rds_t *redis, const tenant_cfg_t *t);
/* Sends method path (path + query, relative to base). data (may be NULL) is wrapped as
 * {"data": data} and stolen. Returns 0 on 2xx, -1 otherwise with res filled. Free res with
 * asana_res_free. */
int asana_call(asana_t *a, const char *method, const char *path, json_t *data, asana_res_t *res);
void asana_res_free(asana_res_t *res);
/* GETs first_path (which must carry a query, e.g. "?limit=100&opt_fields=...") and every
 * following page (next_page.offset), calling fn with each page's data array (borrowed).
 * 0 when all pages were read, -1 on a failed request (res filled). */
int asana_each_page(asana_t *a, const char *first_path,
                    void (*fn)(void *ud, json_t *page), void *ud, asana_res_t *res);
/* With defer_release, the slot of the last request stays taken (the request is over) so its
 * release can ride in the caller's next pipeline: appends the ZREM and returns 1, or returns 0
 * when nothing is held. asana_release releases at once (safe when nothing is held). */
int asana_append_release(asana_t *a);
void asana_release(asana_t *a);
/* The gid of the token's own user (GET /users/me), cached in Redis (K_ASANA_ME) for a day.
 * Caller frees; NULL when neither Redis nor Asana could tell. */
char *asana_me(asana_t *a);
#endif
