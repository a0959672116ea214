/* gw_store: the webhook gateway's Redis side: the tenant's stored webhook secret, the
 * handshake (secret accepted only while a registration is in flight), heartbeats, and the
 * durable recording of verified events (dedupe, K_EVENTS stream, write jobs, audit) in one
 * MULTI/EXEC. One rds_t per calling thread. */
#ifndef MLC_GW_STORE_H
#define MLC_GW_STORE_H
#include <stdbool.h>
#include <stdint.h>
#include "crypto.h"
#include "gw_hook.h"
#include "redis.h"

typedef struct {
    long dedupe_s;        /* TTL of K_HOOK_SEEN (MLC_HOOK_DEDUPE_S, default 86400) */
    long events_maxlen;   /* approximate MAXLEN of K_EVENTS (MLC_EVENTS_MAXLEN, default 100000) */
} gws_opts_t;

/* Fills o from the environment (defaults above). */
void gws_opts_from_env(gws_opts_t *o);

/* A delivery in progress: what Redis said about its tenant and events. */
typedef struct gws_delivery gws_delivery_t;

/* Reads in one round trip whether tenant exists (member of K_TENANTS), its webhook secret
 * (K_HOOK "secret", opened with key and AAD "webhook:<tenant>"), and, when b has events,
 * WATCHes their K_HOOK_SEEN keys and reads them and the K_GIDMAP entries of their resources.
 * b is borrowed until gws_end. Returns the delivery (end it with gws_end, which also drops the
 * WATCH when gws_record did not run), or NULL when Redis failed. */
gws_delivery_t *gws_begin(rds_t *r, const uint8_t key[MLC_KEY_LEN], const char *tenant,
                          const gwh_batch_t *b);
bool gws_known(const gws_delivery_t *d);
/* The opened secret (borrowed), or NULL when none is stored or it does not open (logged). */
const char *gws_secret(const gws_delivery_t *d);
/* Drops the WATCH if still held and frees *d; NULLs it; safe on NULL. */
void gws_end(rds_t *r, gws_delivery_t **d);

/* Handshake: when K_HOOK_PENDING(tenant) exists, seals secret into K_HOOK "secret" and sets
 * "handshake_at" (one script, so the check and the store cannot be split); otherwise changes
 * nothing. Audits either outcome (never the secret). Returns 1 accepted, 0 refused, -1 Redis
 * failure. */
int gws_handshake(rds_t *r, const uint8_t key[MLC_KEY_LEN], const char *tenant,
                  const char *secret);

/* Records a heartbeat ({"events":[]}): K_HOOK "last_heartbeat_at". 0 or -1. */
int gws_heartbeat(rds_t *r, const char *tenant);

typedef struct {
    int    fresh;        /* events seen for the first time and recorded now */
    int    duplicates;   /* events already seen (within MLC_HOOK_DEDUPE_S or twice in b) */
    int    unknown;      /* fresh events for a resource not in K_GIDMAP: recorded, no job */
    char **job_ids;      /* ids of the jobs created (to publish), malloc'd */
    int    njobs;
} gws_result_t;

/* Records the verified events of d's batch, durably before returning: one MULTI/EXEC (under
 * the WATCH of gws_begin) sets the seen keys of the fresh events (NX, EX dedupe_s), XADDs each
 * to K_EVENTS (tenant, event, received_at), enqueues a write job "webhook_event" per fresh
 * event whose resource is in K_GIDMAP (job_append_enqueue) with an audit entry
 * "webhook.event" under the record's ref, audits the others as "webhook.unknown_task", and
 * sets K_HOOK "last_delivery_at". When a concurrent delivery of the same event changed a
 * watched key, EXEC does nothing and the read and commit are redone, so an event is recorded
 * once. Returns 0 with *res filled (gws_result_free it), or -1 when Redis failed (nothing of
 * the batch is recorded then). */
int gws_record(rds_t *r, gws_delivery_t *d, const gws_opts_t *o, gws_result_t *res);
void gws_result_free(gws_result_t *res);   /* frees and zeroes; safe twice */
#endif
