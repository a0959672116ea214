/* ifs_auth: the simulated IFS IAM (a Keycloak realm): OAuth2 client-credentials tokens with a
 * lifetime, Keycloak-style error bodies, and bearer-token checks for the API. Thread-safe. */
#ifndef MLC_SIM_IFS_AUTH_H
#define MLC_SIM_IFS_AUTH_H
#include <stdint.h>
#include <jansson.h>

typedef struct ifs_auth ifs_auth_t;

/* clients: JSON object client_id -> client_secret (copied). Aborts on out of memory. */
ifs_auth_t *ifs_auth_new(const json_t *clients);
/* Frees and NULLs *a; safe on NULL and twice. */
void ifs_auth_destroy(ifs_auth_t **a);

typedef struct {
    int   status;           /* 200, 400 (invalid_request, unsupported_grant_type), 401 */
    char *body;             /* malloc'd JSON: the token response or {"error","error_description"} */
    char  client_id[128];   /* the authenticated client on 200, else "" */
} ifs_token_reply_t;

/* Answers a token request: form body (grant_type=client_credentials, client_id,
 * client_secret, optional scope) with the client given in the form or as HTTP Basic
 * (authorization may be NULL). A new random access token valid lifetime_s seconds from
 * now_ms. The caller frees out->body. */
void ifs_auth_token(ifs_auth_t *a, const char *content_type, const char *authorization,
                    const char *body, long lifetime_s, int64_t now_ms, ifs_token_reply_t *out);

/* Checks an Authorization header "Bearer <token>". Returns 0 and copies the token's client
 * id, or -1 with the reason (missing, unknown, expired) in why. */
int ifs_auth_check(ifs_auth_t *a, const char *authorization, int64_t now_ms, char *client,
                   size_t client_len, char *why, size_t why_len);

/* Invalidates every issued token; returns how many the store held (expired ones included). */
long ifs_auth_revoke_all(ifs_auth_t *a);
#endif
