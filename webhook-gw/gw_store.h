/* gw_store: the webhook gateway's Redis side: what a delivery needs to know of its tenant
 * (known, webhook secret), the handshake (secret accepted only while a registration is in
 * flight), heartbeats, and the durable recording of verified events (dedupe, K_EVENTS
 * stream, write jobs, audit) in one Lua script. One rds_t per calling thread. */
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
    long audit_maxlen;    /* approximate MAXLEN of K_AUDIT (MLC_AUDIT_MAXLEN, default 1000000,
                             as audit.c) */
} gws_opts_t;

/* Fills o from the environment (defaults above). */
void gws_opts_from_env(gws_opts_t *o);

/* A tenant as a delivery sees it. */
typedef struct {
    bool  known;    /* member of K_TENANTS */
    char *sealed;   /* K_HOOK "secret" as stored, or NULL */
    char *secret;   /* sealed, opened with key and AAD "webhook:<tenant>"; NULL when none is
                       stored or it does not open (logged) */
} gws_tenant_t;

/* Reads tenant in one round trip into *out (gws_tenant_free it). 0, or -1 when Redis failed
 * (*out is then empty). */
int gws_tenant_read(rds_t *r, const uint8_t key[MLC_KEY_LEN], const char *tenant,
                    gws_tenant_t *out);
void gws_tenant_free(gws_tenant_t *t);   /* frees (wiping the secret) and zeroes; safe twice */

/* Handshake: when K_HOOK_PENDING(tenant) exists, seals secret into K_HOOK "secret" and sets
 * "handshake_at" (one script, so the check and the store cannot be split); otherwise changes
 * nothing. Audits either outcome (never the secret). Returns 1 accepted, 0 refused, -1 Redis
 * failure. */
int gws_handshake(rds_t *r, const uint8_t key[MLC_KEY_LEN], const char *tenant,
                  const char *secret);

/* Records a heartbeat ({"events":[]}): K_HOOK "last_heartbeat_at". 0 or -1. */
int gws_heartbeat(rds_t *r, const char *tenant);

/* What recording did with one event. */
typedef enum {
    GWS_DUPLICATE,     /* seen before (within MLC_HOOK_DEDUPE_S, or earlier in the delivery) */
    GWS_UNKNOWN_TASK,  /* recorded; its resource is not in K_GIDMAP: no job */
    GWS_JOB_CREATED,   /* recorded with its write job, created now (to publish) */
    GWS_JOB_EXISTS,    /* recorded; a job with its id was already queued: no new job */
} gws_code_t;

/* Records the events of b (b->n > 0) of tenant, verified with the secret whose sealed form is
 * sealed, durably before returning, in one Lua script (atomic, one round trip). When K_HOOK
 * "secret" is no longer sealed (a handshake replaced it since it was read), nothing is
 * recorded and 0 is returned: read the tenant again and re-verify. Otherwise the script sets
 * the seen keys of the fresh events (K_HOOK_SEEN, EX dedupe_s), XADDs each fresh event to
 * K_EVENTS (tenant, event, received_at), enqueues a write job "webhook_event" (id
 * gwh_job_id, ref "task:<resource gid>", payload the event) per fresh event whose resource is
 * in K_GIDMAP, with an audit entry "webhook.event" under the record's ref (detail: job, sha,
 * resource, event), audits the other fresh events as "webhook.unknown_task" (ref "-"), and,
 * when touch is true, sets K_HOOK "last_delivery_at" (a caller that records often passes it
 * about once a second); returns 1 with codes[i] saying what became of b->ev[i]. -1
 * when Redis failed: nothing is recorded, or, when the connection broke after the script
 * ran, all of it (a redelivery then counts as duplicate). */
int gws_record(rds_t *r, const char *tenant, const char *sealed, const gwh_batch_t *b,
               const gws_opts_t *o, bool touch, gws_code_t *codes);
#endif
