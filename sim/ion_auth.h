/* ion_auth: the simulated Infor authorization server behind the ION API gateway, one per
 * tenant (ti): the OAuth 2.0 resource-owner password grant with the .ionapi credentials (client
 * id + secret as form fields or HTTP Basic, service-account access key + secret key as
 * username + password), the refresh_token grant (rotating refresh tokens), token revocation
 * (revoking a refresh token revokes its whole grant) and bearer checks bound to the tenant.
 * Thread-safe. The demo tenants and their credentials are fixed (docs/infor.md). */
#ifndef MLC_SIM_ION_AUTH_H
#define MLC_SIM_ION_AUTH_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ion_schema.h"

typedef struct {
    const char  *ti;              /* tenant id, first path segment */
    ion_system_t system;          /* the ERP data behind the tenant */
    const char  *client_id, *client_secret;
    const char  *saak, *sask;     /* service-account access key / secret key */
    const char  *user;            /* ERP user API writes are recorded as (CHID, UpdatedBy) */
} ion_tenant_t;

/* The tenant named ti, NULL when none. */
const ion_tenant_t *ion_tenant(const char *ti);
/* Tenant i of ion_ntenants(), in a fixed order (DEMO_TST, DEMO_CSI). */
const ion_tenant_t *ion_tenant_at(size_t i);
size_t ion_ntenants(void);

typedef struct ion_auth ion_auth_t;

ion_auth_t *ion_auth_new(void);
void ion_auth_destroy(ion_auth_t **a);   /* NULLs *a; safe on NULL and twice */

typedef struct {
    long token_lifetime_s;     /* access tokens (expires_in) */
    long refresh_lifetime_s;   /* refresh tokens */
    bool issue_refresh_tokens;
} ion_token_opts_t;

typedef enum { ION_ISSUED_NONE = 0, ION_ISSUED_PASSWORD, ION_ISSUED_REFRESH } ion_issued_t;

typedef struct {
    int          status;   /* 200, 400 (invalid_request, invalid_grant, unsupported_grant_type),
                              401 (invalid_client) */
    char        *body;     /* malloc'd JSON: the token response or {"error","error_description"} */
    ion_issued_t issued;   /* which grant issued a token (status 200) */
} ion_token_reply_t;

/* Answers POST /{ti}/as/token.oauth2 of tenant t: form body, client credentials in the form
 * or as HTTP Basic (authorization may be NULL). Checks in order: form content type, client
 * (id and secret of t), grant_type, then the grant: password (username = saak, password =
 * sask of t) or refresh_token (a live refresh token of t, which is used up). The caller frees
 * out->body. */
void ion_auth_token(ion_auth_t *a, const ion_tenant_t *t, const char *content_type,
                    const char *authorization, const char *body, const ion_token_opts_t *o,
                    int64_t now_ms, ion_token_reply_t *out);

/* Answers the revocation endpoint of tenant t for token (NULL: missing) with its
 * token_type_hint (may be NULL), the parameters taken from the form body (POST) or the query
 * (GET). Client credentials (HTTP Basic in authorization, else client_id / client_secret, all
 * may be NULL) are optional but checked when given. An access token is revoked alone, a
 * refresh token with its whole grant; tokens of other tenants are left alone. Returns the
 * status (200, also for unknown tokens as RFC 7009 says; 400 invalid_request; 401
 * invalid_client) with, unless 200, a malloc'd OAuth error body in *body; *revoked counts the
 * tokens removed. */
int ion_auth_revoke(ion_auth_t *a, const ion_tenant_t *t, const char *authorization,
                    const char *client_id, const char *client_secret, const char *token,
                    const char *hint, char **body, long *revoked);

/* Checks an "Authorization: Bearer <token>" header for tenant t. Returns 0, or -1 with the
 * reason in why (missing, unknown or revoked, expired, issued for another tenant). */
int ion_auth_check(ion_auth_t *a, const ion_tenant_t *t, const char *authorization,
                   int64_t now_ms, char *why, size_t why_len);

/* Invalidates every access and refresh token; returns how many were held. */
long ion_auth_revoke_all(ion_auth_t *a);
#endif
