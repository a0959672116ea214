/* ion_token: access tokens of the Infor ION API gateway for one tenant's .ionapi service
 * account, and their revocation. Lives in common/ because the poller fetches tokens and the
 * CLI revokes them when a tenant's credentials are replaced.
 *
 * Grant (docs/infor.md): POST pu+ot, form grant_type=password&username=saak&password=sask&
 * client_id=ci&client_secret=cs. When the server issues a refresh_token it is kept sealed in
 * Redis (K_TOKEN_REFRESH, system "ion", AAD "token:<tenant>:ion:refresh") and the next fetch
 * uses grant_type=refresh_token; a refused refresh (HTTP 400 or 401) drops it and falls back
 * to the password grant. Access tokens are cached by token.c under system "ion" (token_get with
 * ion_token_fetch), so fetches are single-flight across processes and the refresh token is
 * never used twice at once. */
#ifndef MLC_ION_TOKEN_H
#define MLC_ION_TOKEN_H
#include <stdint.h>
#include "http.h"
#include "ionapi.h"
#include "redis.h"

#define ION_TOKEN_SYSTEM "ion"

/* Everything a token operation needs; all borrowed. */
typedef struct {
    const ionapi_t *ion;
    const char     *tenant;      /* tenant id (Redis keys and AAD) */
    rds_t          *redis;
    const uint8_t  *master_key;  /* MLC_KEY_LEN bytes */
    http_client_t  *http;
} ion_auth_t;

/* token_fetch_fn for token_get (ud = ion_auth_t *): refresh grant when a refresh token is
 * stored, else (or when it is refused) the password grant; stores a refresh token the server
 * issues. Returns 0 with *token (malloc'd) and *expires_in_s, -1 with err. */
int ion_token_fetch(void *ud, char **token, long *expires_in_s, char *err, size_t err_len);
/* True when an access or refresh token of the tenant is stored in Redis. */
int ion_token_cached(const ion_auth_t *a);
/* Revokes the stored access and refresh tokens at pu+or (form token=..&token_type_hint=..
 * &client_id&client_secret) and drops both from Redis whatever the server answered: after a
 * credential change they must not be used again. Returns the number of tokens the server
 * accepted to revoke (0 when none was stored), or -1 with err (no `or` in the .ionapi, server
 * unreachable or refusing; the tokens are dropped all the same). */
int ion_token_revoke(const ion_auth_t *a, char *err, size_t err_len);
#endif
