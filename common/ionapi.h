/* ionapi: the Infor ION API credentials file (.ionapi), parsed and validated without I/O.
 *
 * A .ionapi file is a JSON object of string members (docs/infor.md, shared/ref/ERP.md):
 *   ti tenant, cn application name, ci client id, cs client secret, iu ION API gateway URL,
 *   pu authorization server URL, oa authorize path, ot token path, or revoke path,
 *   saak / sask service-account access / secret key; dt, ev, v (meaning undocumented).
 * Required: ti ci cs iu pu ot saak sask. Optional: cn oa or (strings when present). Any other
 * member (dt, ev, v, future ones) is kept as given and not interpreted. The file comes from
 * outside, so it is treated as hostile: URLs must be http(s) without spaces or control
 * characters, ti must be a plain path segment, every string is bounded. */
#ifndef MLC_IONAPI_H
#define MLC_IONAPI_H
#include <stddef.h>
#include <jansson.h>

/* Longest accepted member value (bytes). Real files stay far below. */
#define IONAPI_MAX_VALUE 4096

typedef struct {
    char   *ti, *cn, *ci, *cs, *iu, *pu, *oa, *ot, *or_path, *saak, *sask; /* NULL when absent */
    json_t *raw;   /* the whole object as given, unknown members included */
} ionapi_t;

/* Validates obj and fills *out (ionapi_free it). path names obj in messages ("erp.ionapi").
 * Returns 0, or -1 with out zeroed and err naming the first bad member:
 * "erp.ionapi.saak: missing", "erp.ionapi.ci: must be a string (got 5)",
 * "erp.ionapi.ti: must not be empty", "erp.ionapi.iu: must be an http(s) URL (got ...)".
 * Values of the secrets cs and sask never appear in messages. */
int ionapi_parse(const json_t *obj, const char *path, ionapi_t *out, char *err, size_t err_len);
void ionapi_free(ionapi_t *a);   /* frees members, zeroes the struct; safe twice */

/* Derived URLs (caller frees). Token: pu + ot; revoke: pu + or (NULL when or is absent);
 * API base: iu + "/" + ti. Joins use exactly one '/' between the two parts. */
char *ionapi_token_url(const ionapi_t *a);
char *ionapi_revoke_url(const ionapi_t *a);
char *ionapi_api_base(const ionapi_t *a);

/* True when a and b authenticate as different identities or against a different server
 * (any of ti ci cs pu ot saak sask differs): a token issued for a is no use for b. */
int ionapi_identity_differs(const ionapi_t *a, const ionapi_t *b);
#endif
