/* ion_auth: see ion_auth.h. Access and refresh tokens live in two sim_tokens stores (owner =
 * ti); a password grant opens a grant id that every token issued from it carries. */
#include "ion_auth.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "sim_oauth.h"
#include "sim_tokens.h"
#include "util.h"

static const ion_tenant_t TENANTS[] = {
    {"DEMO_TST", ION_M3, "DEMO_TST~mlc-demo", "demo-client-secret", "DEMO_TST#svc-access-key",
     "demo-service-secret", "MLCDEMO"},
    {"DEMO_CSI", ION_SL, "DEMO_CSI~mlc-demo", "demo-client-secret", "DEMO_CSI#svc-access-key",
     "demo-service-secret", "MLCDEMO"},
};
#define NTENANTS (sizeof TENANTS / sizeof TENANTS[0])

const ion_tenant_t *ion_tenant(const char *ti)
{
    for (size_t i = 0; i < NTENANTS; i++)
        if (strcmp(TENANTS[i].ti, ti) == 0)
            return &TENANTS[i];
    return NULL;
}

const ion_tenant_t *ion_tenant_at(size_t i) { return i < NTENANTS ? &TENANTS[i] : NULL; }
size_t ion_ntenants(void) { return NTENANTS; }

struct ion_auth {
    sim_tokens_t *access;
    sim_tokens_t *refresh;
};

ion_auth_t *ion_auth_new(void)
{
    ion_auth_t *a = xcalloc(1, sizeof *a);
    a->access = sim_tokens_new();
    a->refresh = sim_tokens_new();
    return a;
}

void ion_auth_destroy(ion_auth_t **a)
{
    if (!a || !*a)
        return;
    sim_tokens_destroy(&(*a)->access);
    sim_tokens_destroy(&(*a)->refresh);
    free(*a);
    *a = NULL;
}

/* Client credentials of a request: HTTP Basic wins over the form. */
typedef struct {
    char *id, *secret;
    bool  malformed;   /* an Authorization header that is not well-formed Basic */
} client_creds_t;

static void creds_read(client_creds_t *c, const char *authorization, const char *form_id,
                       const char *form_secret)
{
    memset(c, 0, sizeof *c);
    if (authorization && *authorization) {
        c->malformed = sim_oauth_basic(authorization, &c->id, &c->secret) < 0;
        return;
    }
    c->id = xstrdup(form_id);
    c->secret = xstrdup(form_secret);
}

static void creds_free(client_creds_t *c)
{
    free(c->id);
    free(c->secret);
}

/* 0 when c names t's client with its secret; else -1 with the error description in *desc. */
static int creds_verify(const client_creds_t *c, const ion_tenant_t *t, const char **desc)
{
    if (c->malformed) {
        *desc = "Malformed HTTP Basic client credentials";
        return -1;
    }
    if (!c->id || !c->secret) {
        *desc = "Client authentication is required (client_id and client_secret, or HTTP "
                "Basic)";
        return -1;
    }
    if (strcmp(c->id, t->client_id) != 0 || !ct_str_equal(c->secret, t->client_secret)) {
        *desc = "Invalid client or client credentials";
        return -1;
    }
    return 0;
}

static void reply(ion_token_reply_t *out, int status, const char *error, const char *desc)
{
    out->status = status;
    out->body = sim_oauth_error(error, desc);
}

/* Issues an access token (and a refresh token when configured) under grant. */
static void issue(ion_auth_t *a, const ion_tenant_t *t, const char *grant,
                  const ion_token_opts_t *o, int64_t now_ms, ion_token_reply_t *out)
{
    char *access = sim_tokens_issue(a->access, t->ti, grant,
                                    now_ms + o->token_lifetime_s * 1000, now_ms);
    json_t *j = json_pack("{s:s,s:s,s:I}", "access_token", access, "token_type", "Bearer",
                          "expires_in", (json_int_t)o->token_lifetime_s);
    if (o->issue_refresh_tokens) {
        char *refresh = sim_tokens_issue(a->refresh, t->ti, grant,
                                         now_ms + o->refresh_lifetime_s * 1000, now_ms);
        json_object_set_new(j, "refresh_token", json_string(refresh));
        free(refresh);
    }
    out->status = 200;
    out->body = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    free(access);
}

/* The refresh_token grant: uses the refresh token up and issues new tokens under its grant.
 * A token of another tenant is refused without being used up. */
static void refresh_grant(ion_auth_t *a, const ion_tenant_t *t, const char *body,
                          const ion_token_opts_t *o, int64_t now_ms, ion_token_reply_t *out)
{
    char *token = sim_oauth_form_field(body, "refresh_token");
    char owner[64] = "", grant[80] = "";
    sim_token_state_t st = token && *token ? sim_tokens_check(a->refresh, token, now_ms, owner,
                                                              sizeof owner)
                                           : SIM_TOKEN_UNKNOWN;
    if (!token || !*token)
        reply(out, 400, "invalid_request", "Missing form parameter: refresh_token");
    else if (st == SIM_TOKEN_EXPIRED)
        reply(out, 400, "invalid_grant", "Refresh token expired");
    else if (st == SIM_TOKEN_VALID && strcmp(owner, t->ti) != 0)
        reply(out, 400, "invalid_grant", "Refresh token was issued for another tenant");
    else if (st != SIM_TOKEN_VALID || !sim_tokens_grant(a->refresh, token, grant, sizeof grant) ||
             sim_tokens_take(a->refresh, token, now_ms, owner, sizeof owner) != SIM_TOKEN_VALID)
        reply(out, 400, "invalid_grant", "Invalid refresh token (unknown, revoked or already "
              "used)");
    else {
        issue(a, t, grant, o, now_ms, out);
        out->issued = ION_ISSUED_REFRESH;
    }
    free(token);
}

void ion_auth_token(ion_auth_t *a, const ion_tenant_t *t, const char *content_type,
                    const char *authorization, const char *body, const ion_token_opts_t *o,
                    int64_t now_ms, ion_token_reply_t *out)
{
    memset(out, 0, sizeof *out);
    if (!sim_oauth_is_form(content_type)) {
        reply(out, 400, "invalid_request",
              "Content-Type must be application/x-www-form-urlencoded");
        return;
    }
    char *form_id = sim_oauth_form_field(body, "client_id");
    char *form_secret = sim_oauth_form_field(body, "client_secret");
    char *grant_type = sim_oauth_form_field(body, "grant_type");
    client_creds_t c;
    creds_read(&c, authorization, form_id, form_secret);
    const char *desc;
    if (creds_verify(&c, t, &desc) < 0) {
        reply(out, 401, "invalid_client", desc);
    } else if (!grant_type || !*grant_type) {
        reply(out, 400, "invalid_request", "Missing form parameter: grant_type");
    } else if (strcmp(grant_type, "refresh_token") == 0) {
        refresh_grant(a, t, body, o, now_ms, out);
    } else if (strcmp(grant_type, "password") != 0) {
        reply(out, 400, "unsupported_grant_type",
              "Unsupported grant_type (password and refresh_token are served)");
    } else {
        char *user = sim_oauth_form_field(body, "username");
        char *pass = sim_oauth_form_field(body, "password");
        if (!user || !pass) {
            reply(out, 400, "invalid_request", "Missing form parameter: username or password");
        } else if (strcmp(user, t->saak) != 0 || !ct_str_equal(pass, t->sask)) {
            reply(out, 400, "invalid_grant", "Invalid resource owner credentials (service "
                  "account access key or secret key)");
        } else {
            char *grant = random_hex(16);
            issue(a, t, grant, o, now_ms, out);
            out->issued = ION_ISSUED_PASSWORD;
            free(grant);
        }
        free(user);
        free(pass);
    }
    creds_free(&c);
    free(form_id);
    free(form_secret);
    free(grant_type);
}

/* Revokes token of tenant t from store; a refresh token takes its grant along. */
static long revoke_in(ion_auth_t *a, const ion_tenant_t *t, bool refresh_store,
                      const char *token)
{
    sim_tokens_t *store = refresh_store ? a->refresh : a->access;
    char owner[64] = "", grant[80];
    sim_token_state_t st = sim_tokens_check(store, token, 0, owner, sizeof owner);
    if (st == SIM_TOKEN_UNKNOWN || strcmp(owner, t->ti) != 0)
        return 0;
    if (!refresh_store)
        return sim_tokens_revoke(store, token) ? 1 : 0;
    if (!sim_tokens_grant(store, token, grant, sizeof grant))
        return sim_tokens_revoke(store, token) ? 1 : 0;
    return sim_tokens_revoke_grant(a->refresh, grant) + sim_tokens_revoke_grant(a->access, grant);
}

int ion_auth_revoke(ion_auth_t *a, const ion_tenant_t *t, const char *authorization,
                    const char *client_id, const char *client_secret, const char *token,
                    const char *hint, char **body, long *revoked)
{
    *body = NULL;
    *revoked = 0;
    client_creds_t c;
    creds_read(&c, authorization, client_id, client_secret);
    const char *desc;
    int status = 200;
    if ((c.malformed || c.id || c.secret) && creds_verify(&c, t, &desc) < 0) {
        status = 401;
        *body = sim_oauth_error("invalid_client", desc);
    } else if (!token || !*token) {
        status = 400;
        *body = sim_oauth_error("invalid_request", "Missing parameter: token");
    } else {
        bool refresh_first = hint && strcmp(hint, "refresh_token") == 0;
        *revoked = revoke_in(a, t, refresh_first, token);
        if (*revoked == 0)
            *revoked = revoke_in(a, t, !refresh_first, token);
    }
    creds_free(&c);
    return status;
}

int ion_auth_check(ion_auth_t *a, const ion_tenant_t *t, const char *authorization,
                   int64_t now_ms, char *why, size_t why_len)
{
    const char *token = sim_oauth_bearer(authorization);
    if (!token) {
        snprintf(why, why_len, "Authorization: Bearer <access_token> required");
        return -1;
    }
    char owner[64];
    switch (sim_tokens_check(a->access, token, now_ms, owner, sizeof owner)) {
    case SIM_TOKEN_VALID:
        if (strcmp(owner, t->ti) == 0)
            return 0;
        snprintf(why, why_len, "access token was issued for tenant %s, not %s", owner, t->ti);
        return -1;
    case SIM_TOKEN_EXPIRED: snprintf(why, why_len, "access token expired"); return -1;
    case SIM_TOKEN_UNKNOWN: break;
    }
    snprintf(why, why_len, "unknown or revoked access token");
    return -1;
}

long ion_auth_revoke_all(ion_auth_t *a)
{
    return sim_tokens_revoke_all(a->access) + sim_tokens_revoke_all(a->refresh);
}
