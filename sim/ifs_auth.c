/* ifs_auth: see ifs_auth.h. Tokens live in a JSON object token -> [client_id, expiry_ms]
 * (jansson objects are hash tables) behind one mutex; expired ones are purged when new ones
 * are issued. */
#include "ifs_auth.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto.h"
#include "util.h"

struct ifs_auth {
    pthread_mutex_t mu;
    json_t         *clients;   /* client_id -> secret */
    json_t         *tokens;    /* token -> [client_id, expiry_ms] */
};

ifs_auth_t *ifs_auth_new(const json_t *clients)
{
    ifs_auth_t *a = xcalloc(1, sizeof *a);
    pthread_mutex_init(&a->mu, NULL);
    a->clients = json_deep_copy(clients);
    a->tokens = json_object();
    return a;
}

void ifs_auth_destroy(ifs_auth_t **a)
{
    if (!a || !*a)
        return;
    json_decref((*a)->clients);
    json_decref((*a)->tokens);
    pthread_mutex_destroy(&(*a)->mu);
    free(*a);
    *a = NULL;
}

/* Finds form field name in an application/x-www-form-urlencoded body; malloc'd decoded value
 * or NULL when absent or malformed. */
static char *form_field(const char *body, const char *name)
{
    size_t nlen = strlen(name);
    for (const char *p = body; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
            char *raw = xasprintf("%.*s", (int)(len - nlen - 1), p + nlen + 1);
            char *val = url_decode(raw, true);
            free(raw);
            return val;
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

static void oauth_error(ifs_token_reply_t *out, int status, const char *error, const char *desc)
{
    out->status = status;
    json_t *j = json_pack("{s:s,s:s}", "error", error, "error_description", desc);
    out->body = json_dumps(j, JSON_COMPACT);
    json_decref(j);
}

/* Splits "Basic base64(id:secret)" (both url-encoded per RFC 6749 2.3.1) into malloc'd parts.
 * Returns 0, or -1 when the header is not a well-formed Basic credential. */
static int basic_credentials(const char *authorization, char **id, char **secret)
{
    if (!authorization || strncasecmp(authorization, "Basic ", 6) != 0)
        return -1;
    size_t len;
    uint8_t *raw = b64_decode(authorization + 6, &len);
    if (!raw)
        return -1;
    char *text = xasprintf("%.*s", (int)len, (const char *)raw);
    free(raw);
    char *colon = strchr(text, ':');
    int rc = -1;
    if (colon) {
        *colon = '\0';
        *id = url_decode(text, true);
        *secret = url_decode(colon + 1, true);
        rc = *id && *secret ? 0 : -1;
        if (rc) {
            free(*id);
            free(*secret);
        }
    }
    free(text);
    return rc;
}

/* Drops expired tokens. Caller holds mu. */
static void purge_expired(ifs_auth_t *a, int64_t now_ms)
{
    const char *k;
    json_t *v, *tmp;
    json_object_foreach_safe(a->tokens, tmp, k, v) {
        if (json_integer_value(json_array_get(v, 1)) <= now_ms)
            json_object_del(a->tokens, k);
    }
}

void ifs_auth_token(ifs_auth_t *a, const char *content_type, const char *authorization,
                    const char *body, long lifetime_s, int64_t now_ms, ifs_token_reply_t *out)
{
    memset(out, 0, sizeof *out);
    char *grant = NULL, *id = NULL, *secret = NULL, *scope = NULL;
    if (!content_type ||
        strncasecmp(content_type, "application/x-www-form-urlencoded", 33) != 0) {
        oauth_error(out, 400, "invalid_request",
                    "Content-Type must be application/x-www-form-urlencoded");
        return;
    }
    grant = form_field(body, "grant_type");
    scope = form_field(body, "scope");
    if (authorization && basic_credentials(authorization, &id, &secret) < 0) {
        oauth_error(out, 401, "unauthorized_client", "Malformed HTTP Basic client credentials");
        goto done;
    }
    if (!id) {
        id = form_field(body, "client_id");
        secret = form_field(body, "client_secret");
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
    char *token = random_hex(32);
    char *session = random_hex(16);
    pthread_mutex_lock(&a->mu);
    purge_expired(a, now_ms);
    json_object_set_new(a->tokens, token,
                        json_pack("[s,I]", id, (json_int_t)(now_ms + lifetime_s * 1000)));
    pthread_mutex_unlock(&a->mu);
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
    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0) {
        snprintf(why, why_len, "Authorization: Bearer <access_token> required");
        return -1;
    }
    const char *token = authorization + 7;
    while (*token == ' ')
        token++;
    int rc = -1;
    pthread_mutex_lock(&a->mu);
    json_t *t = json_object_get(a->tokens, token);
    if (!t) {
        snprintf(why, why_len, "unknown or revoked access token");
    } else if (json_integer_value(json_array_get(t, 1)) <= now_ms) {
        snprintf(why, why_len, "access token expired");
    } else {
        snprintf(client, client_len, "%s", json_string_value(json_array_get(t, 0)));
        rc = 0;
    }
    pthread_mutex_unlock(&a->mu);
    return rc;
}

long ifs_auth_revoke_all(ifs_auth_t *a)
{
    pthread_mutex_lock(&a->mu);
    long n = (long)json_object_size(a->tokens);
    json_object_clear(a->tokens);
    pthread_mutex_unlock(&a->mu);
    return n;
}
