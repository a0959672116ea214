/* asana_webhooks: webhooks and the Events API of the simulated Asana. Keeps the webhooks
 * (created with Asana's blocking X-Hook-Secret handshake), the event log (asana_events) and
 * one background thread that delivers queued events to the webhook targets, signed with
 * X-Hook-Signature = hex(HMAC-SHA256(secret, raw body)), retrying with exponential backoff
 * and deleting a webhook whose deliveries failed for the whole failure window. Serves POST /
 * GET / DELETE /webhooks, GET /events and the /_sim/webhooks/{gid}/... switches. See
 * docs/simulators.md "### Webhooks and events".
 *
 * Thread-safe (one mutex). Never calls back into the store with its mutex held: the project
 * lookup runs before it is taken, so callers may hold the store lock while recording events
 * (lock order: store, then webhooks). No HTTP call is made with the mutex held. */
#ifndef MLC_SIM_ASANA_WEBHOOKS_H
#define MLC_SIM_ASANA_WEBHOOKS_H
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "asana_api.h"
#include "asana_events.h"
#include "asana_input.h"

/* ---- pure parts: filters and signatures ------------------------------------------------- */

/* One WebhookFilter: NULL members match anything; fields only for action "changed". */
typedef struct {
    char  *resource_type, *resource_subtype, *action;
    char **fields;
    size_t nfields;
} as_hook_filter_t;

/* Parses the "filters" member of a webhook create (NULL: no filters, every event passes).
 * 0 with *out (free with as_hook_filters_free) or -1 with a 400 in err: not an array, a
 * member that is not an object, an unknown key, a non-string value, fields that are not an
 * array of strings, fields with an action other than "changed". */
int as_hook_filters_parse(const json_t *v, as_hook_filter_t **out, size_t *n, as_err_t *err);
void as_hook_filters_free(as_hook_filter_t **f, size_t n);
/* True when e passes: no filters, or any filter whose set members all equal the event's
 * (resource_type is always "task"; fields must list the changed field). */
bool as_hook_filters_match(const as_hook_filter_t *f, size_t n, const as_event_t *e);

/* The delivery body {"events":[e1,e2,...]} of n event JSON texts (n = 0: a heartbeat). */
void as_hook_delivery_body(char *const *events, size_t n, buf_t *out);
/* X-Hook-Signature of body under secret; wrong=true gives a signature that does not verify
 * (the webhook_sign_wrong fault). */
void as_hook_sign(const char *secret, const char *body, size_t len, bool wrong, char out[65]);

/* ---- the webhook service ------------------------------------------------------------------- */
typedef struct as_hooks as_hooks_t;

/* What the configuration decides (asana_config: drop_webhook_events, webhook_sign_wrong,
 * webhook_failure_window_s, webhook_retry_base_ms). */
typedef struct {
    bool drop_events;
    bool sign_wrong;
    int  failure_window_s;
    int  retry_base_ms;
} as_hooks_settings_t;

/* Copies the name of project gid into name and returns true, or false when no such project.
 * Called without the webhooks mutex held; takes the store lock itself. */
typedef bool (*as_project_lookup_fn)(void *ud, uint64_t gid, char *name, size_t len);

typedef struct {
    uint64_t deliveries, delivery_failures, handshakes, handshake_failures, events_recorded,
             events_dropped, webhooks;
} as_hooks_stats_t;

/* Starts the service and its delivery thread. Webhook gids are gid_base, gid_base+1, ...
 * (the caller picks a range the store never reaches). Aborts when the thread cannot start. */
as_hooks_t *as_hooks_new(uint64_t workspace_gid, uint64_t gid_base, uint32_t salt,
                         as_project_lookup_fn lookup, void *lookup_ud);
/* Stops the thread (an in-flight delivery finishes first, at most its 10 s timeout), frees
 * everything and NULLs *h; safe on NULL and twice. */
void as_hooks_destroy(as_hooks_t **h);
void as_hooks_configure(as_hooks_t *h, const as_hooks_settings_t *set);

/* Records the events of one task write: each goes to the event log and, unless drop_events,
 * to the queue of every active webhook on its project whose filters pass it. Takes the
 * events (l is emptied). NULL h: the events are freed. */
void as_hooks_record(as_hooks_t *h, as_event_list_t *l);

/* True for the routes this module serves (served without the store lock). */
bool as_hooks_route(const as_route_t *r);
/* Serves a webhooks or events route into out (body initialised by the caller). POST
 * /webhooks blocks for the handshake (at most 10 s). Never fails: errors are replies. */
void as_hooks_handle(as_hooks_t *h, const as_route_t *r, const asana_req_t *req,
                     as_api_reply_t *out);
/* /_sim/ paths of this module (what = the path after "/_sim/"): POST webhooks/{gid}/delete,
 * POST webhooks/{gid}/deactivate, POST events/expire-sync. Returns false when what is none of
 * them (out untouched), else true with out filled. */
bool as_hooks_sim(as_hooks_t *h, const char *method, const char *what, as_api_reply_t *out);

void as_hooks_stats(as_hooks_t *h, as_hooks_stats_t *out);
void as_hooks_reset_stats(as_hooks_t *h);
#endif
