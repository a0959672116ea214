/* audit: the per-tenant audit trail, a Redis stream K_AUDIT trimmed approximately to
 * MLC_AUDIT_MAXLEN entries (default 1000000). Each entry: ref (record ref or "-"), event
 * (e.g. "poll.changed", "asana.create", "asana.update", "job.dead"), and detail (JSON). */
#ifndef MLC_AUDIT_H
#define MLC_AUDIT_H
#include <jansson.h>
#include "redis.h"
/* Appends one entry; steals detail (may be NULL). 0 ok, -1 on Redis failure. */
int audit_add(rds_t *r, const char *tenant, const char *ref, const char *event, json_t *detail);
/* Pipelined form: appends the XADD to r's pipeline (read one reply later). Steals detail. */
int audit_append(rds_t *r, const char *tenant, const char *ref, const char *event, json_t *detail);
#endif
