/* ifs_auth: see ifs_auth.h. Tokens live in a sim_tokens store (owner = client_id); the
 * OAuth wire pieces come from sim_oauth. */
#include "ifs_auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "sim_oauth.h"
#include "sim_tokens.h"
#include "util.h"

struct ifs_auth {
    json_t       *clients;   /* client_id -> secret, read-only after new */
    sim_tokens_t *tokens;    /* token -> client_id */
};

ifs_auth_t *ifs_auth_new(const json_t *clients)
{
    ifs_auth_t *a = xcalloc(1, sizeof *a);
    a->clients = json_deep_copy(clients);
    a->tokens = sim_tokens_new();
    return a;
}

void ifs_auth_destroy(ifs_auth_t **a)
{
    if (!a || !*a)
        return;
    json_decref((*a)->clients);
    sim_tokens_destroy(&(*a)->tokens);
    free(*a);
    *a = NULL;
}

static void oauth_error(ifs_token_reply_t *out, int status, const char *error, const char *desc)
{
    out->status = status;
    out->body = sim_oauth_error(error, desc);
}

void ifs_auth_token(ifs_auth_t *a, const char *content_type, const char *authorization,
                    const char *body, long lifetime_s, int64_t now_ms, ifs_token_reply_t *out)
{
    memset(out, 0, sizeof *out);
    char *grant = NULL, *id = NULL, *secret = NULL, *scope = NULL;
    if (!sim_oauth_is_form(content_type)) {
        oauth_error(out, 400, "invalid_request",
                    "Content-Type must be application/x-www-form-urlencoded");
        return;
    }
    grant = sim_oauth_form_field(body, "grant_type");
    scope = sim_oauth_form_field(body, "scope");
    if (authorization && sim_oauth_basic(authorization, &id, &secret) < 0) {
        oauth_error(out, 401, "unauthorized_client", "Malformed HTTP Basic client credentials");
        goto done;
    }
    if (!id) {
        id = sim_oauth_form_field(body, "client_id");
        secret = sim_oauth_form_field(body, "client_secret");
    }
    if (!grant) {
        oauth_error(out, 400, "invalid_request", "Missing form parameter: grant_type");
        goto done;
    }
    json_t *expected = id ? json_object_get(a->clients, id) : NULL;
    if (!expected || !secret || !ct_str_equal(json_string_value(expected), secret)) {
        oauth_error(out, 401, "unauthorized_client",
                    "Invalid client or Invalid client credentials");
        goto done;
    }
    if (strcmp(grant, "client_credentials") != 0) {
        oauth_error(out, 400, "unsupported_grant_type", "Unsupported grant_type");
        goto done;
    }
    char *token = sim_tokens_issue(a->tokens, id, NULL, now_ms + lifetime_s * 1000, now_ms);
    char *session = random_hex(16);
    json_t *j = json_pack("{s:s,s:I,s:i,s:s,s:i,s:s,s:s}", "access_token", token, "expires_in",
                          (json_int_t)lifetime_s, "refresh_expires_in", 0, "token_type",
                          "Bearer", "not-before-policy", 0, "session_state", session, "scope",
                          scope && *scope ? scope : "openid microprofile-jwt");
    out->status = 200;
    out->body = json_dumps(j, JSON_COMPACT);
    snprintf(out->client_id, sizeof out->client_id, "%s", id);
    json_decref(j);
    free(token);
    free(session);
done:
    free(grant);
    free(id);
    free(secret);
    free(scope);
}

int ifs_auth_check(ifs_auth_t *a, const char *authorization, int64_t now_ms, char *client,
                   size_t client_len, char *why, size_t why_len)
{
    const char *token = sim_oauth_bearer(authorization);
    if (!token) {
        snprintf(why, why_len, "Authorization: Bearer <access_token> required");
        return -1;
    }
    switch (sim_tokens_check(a->tokens, token, now_ms, client, client_len)) {
    case SIM_TOKEN_VALID: return 0;
    case SIM_TOKEN_EXPIRED: snprintf(why, why_len, "access token expired"); break;
    case SIM_TOKEN_UNKNOWN: snprintf(why, why_len, "unknown or revoked access token"); break;
    }
    return -1;
}

long ifs_auth_revoke_all(ifs_auth_t *a)
{
    return sim_tokens_revoke_all(a->tokens);
}
