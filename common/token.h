/* token: access tokens cached in Redis (sealed, TTL = the server's expires_in) and refreshed
 * ahead of expiry by exactly one process at a time (single-flight lock K_TOKEN_LOCK); the
 * others wait briefly for the fresh token or keep using the current one while it is valid. */
#ifndef MLC_TOKEN_H
#define MLC_TOKEN_H
#include <stdint.h>
#include "crypto.h"
#include "http.h"
#include "redis.h"

/* Fetches a new token from the authorization server. Returns 0 and sets *token (malloc'd)
 * and *expires_in_s, or -1 with err (include the HTTP status). */
typedef int (*token_fetch_fn)(void *ud, char **token, long *expires_in_s, char *err,
                              size_t err_len);

/* Returns a valid access token (malloc'd) for tenant/system ("ifs", "asana", "ion"), fetching
 * one when none is cached or the cached one expires within refresh_ahead_ms (capped at a
 * third of its lifetime so short-lived tokens still get reused). NULL with err on failure. */
char *token_get(rds_t *r, const uint8_t key[MLC_KEY_LEN], const char *tenant,
                const char *system, int64_t refresh_ahead_ms, token_fetch_fn fetch, void *ud,
                char *err, size_t err_len);
/* Drops the cached token (after a 401), so the next token_get fetches. */
void token_invalidate(rds_t *r, const char *tenant, const char *system);
/* The cached token (malloc'd) while it is valid, else NULL; never fetches (e.g. to revoke it). */
char *token_peek(rds_t *r, const uint8_t key[MLC_KEY_LEN], const char *tenant,
                 const char *system);

/* One OAuth2 token request: POSTs form (application/x-www-form-urlencoded, already encoded)
 * to url and reads {"access_token", "expires_in", "refresh_token"?}. Returns 0 with *access
 * and *refresh (malloc'd; *refresh NULL when none was issued) and *expires_in_s; -1 with err
 * ("<label> token endpoint answered 401: <body>", "... unreachable: ...", "... lacks
 * access_token/expires_in"). *status is the HTTP status, 0 when no answer arrived. */
int token_request(http_client_t *http, const char *url, const char *form, const char *label,
                  char **access, long *expires_in_s, char **refresh, long *status, char *err,
                  size_t err_len);
#endif
