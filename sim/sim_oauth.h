/* sim_oauth: OAuth 2.0 wire pieces shared by the simulated authorization servers (IFS IAM,
 * ION): form fields, HTTP Basic client credentials (RFC 6749 2.3.1), bearer tokens and the
 * error body. Pure: no I/O, no state. */
#ifndef MLC_SIM_SIM_OAUTH_H
#define MLC_SIM_SIM_OAUTH_H
#include <stdbool.h>

/* True when content_type is application/x-www-form-urlencoded (parameters allowed). */
bool sim_oauth_is_form(const char *content_type);
/* Finds field name in an application/x-www-form-urlencoded body. Returns the decoded value
 * malloc'd (caller frees), or NULL when absent or malformed. */
char *sim_oauth_form_field(const char *body, const char *name);
/* Splits "Basic base64(id:secret)" (both parts url-encoded) into malloc'd *id and *secret.
 * Returns 0, or -1 (nothing allocated) when the header is not a well-formed Basic
 * credential. */
int sim_oauth_basic(const char *authorization, char **id, char **secret);
/* The token of an "Authorization: Bearer <token>" header (borrowed, inside authorization),
 * or NULL when the header is absent or not a bearer credential. */
const char *sim_oauth_bearer(const char *authorization);
/* {"error":error,"error_description":description} as compact JSON, malloc'd. */
char *sim_oauth_error(const char *error, const char *description);
#endif
