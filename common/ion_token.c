/* ion_token: see ion_token.h. */
#include "ion_token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "keys.h"
#include "log.h"
#include "reqstats.h"
#include "token.h"
#include "util.h"

/* "n1=v1&n2=v2..." of NULL-terminated name/value pairs, values percent-encoded. Caller frees. */
static char *form_of(const char *const pairs[])
{
    buf_t b;
    buf_init(&b);
    buf_append(&b, "", 0);
    for (size_t i = 0; pairs[i]; i += 2) {
        char *v = url_encode(pairs[i + 1] ? pairs[i + 1] : "");
        buf_appendf(&b, "%s%s=%s", i ? "&" : "", pairs[i], v);
        free(v);
    }
    return buf_steal(&b);
}

static char *refresh_key(const ion_auth_t *a)
{
    return xasprintf(K_TOKEN_REFRESH, a->tenant, ION_TOKEN_SYSTEM);
}

static char *refresh_aad(const ion_auth_t *a)
{
    return xasprintf("token:%s:%s:refresh", a->tenant, ION_TOKEN_SYSTEM);
}

/* The stored refresh token (malloc'd), NULL when none or it does not open. */
static char *refresh_load(const ion_auth_t *a)
{
    char *k = refresh_key(a);
    redisReply *rep = rds_cmd(a->redis, "GET %s", k);
    free(k);
    char *token = NULL;
    if (rds_ok(rep) && rep->type == REDIS_REPLY_STRING) {
        char *aad = refresh_aad(a);
        token = open_secret(a->master_key, aad, rep->str, NULL);
        free(aad);
    }
    if (rep)
        freeReplyObject(rep);
    return token;
}

static void refresh_store(const ion_auth_t *a, const char *token)
{
    char *aad = refresh_aad(a);
    char *sealed = seal_secret(a->master_key, aad, token, strlen(token));
    free(aad);
    if (!sealed)
        return;
    char *k = refresh_key(a);
    redisReply *rep = rds_cmd(a->redis, "SET %s %s", k, sealed);
    if (rep)
        freeReplyObject(rep);
    free(k);
    free(sealed);
}

static void refresh_drop(const ion_auth_t *a)
{
    char *k = refresh_key(a);
    redisReply *rep = rds_cmd(a->redis, "DEL %s", k);
    if (rep)
        freeReplyObject(rep);
    free(k);
}

/* One grant at pu+ot; keeps a refresh token the server issues. Returns 0 / -1 like
 * token_request, with the HTTP status in *status. */
static int grant(const ion_auth_t *a, const char *const pairs[], char **token, long *expires_in,
                 long *status, char *err, size_t err_len)
{
    char *url = ionapi_token_url(a->ion);
    char *form = form_of(pairs);
    char *refresh = NULL;
    int rc = token_request(a->http, url, form, "ion", token, expires_in, &refresh, status, err,
                           err_len);
    reqstats_token(a->tenant, ION_TOKEN_SYSTEM);
    if (rc == 0 && refresh)
        refresh_store(a, refresh);
    free(refresh);
    free(form);
    free(url);
    return rc;
}

int ion_token_fetch(void *ud, char **token, long *expires_in_s, char *err, size_t err_len)
{
    const ion_auth_t *a = ud;
    const ionapi_t *ion = a->ion;
    long status = 0;
    char *refresh = refresh_load(a);
    if (refresh) {
        const char *const pairs[] = { "grant_type", "refresh_token", "refresh_token", refresh,
                                      "client_id", ion->ci, "client_secret", ion->cs, NULL };
        int rc = grant(a, pairs, token, expires_in_s, &status, err, err_len);
        free(refresh);
        if (rc == 0)
            return 0;
        if (status != 400 && status != 401)
            return -1; /* unreachable or failing: try again later, the refresh token may be fine */
        mlog(LOG_WARN, "ion.refresh_refused", "tenant %s: %s; using the password grant", a->tenant,
             err);
        refresh_drop(a);
    }
    const char *const pairs[] = { "grant_type", "password", "username", ion->saak,
                                  "password", ion->sask, "client_id", ion->ci,
                                  "client_secret", ion->cs, NULL };
    return grant(a, pairs, token, expires_in_s, &status, err, err_len);
}

int ion_token_cached(const ion_auth_t *a)
{
    char *access = token_peek(a->redis, a->master_key, a->tenant, ION_TOKEN_SYSTEM);
    char *refresh = access ? NULL : refresh_load(a);
    int cached = access || refresh;
    free(access);
    free(refresh);
    return cached;
}

/* Revokes one token at url. Returns 0, or -1 with err. */
static int revoke_one(const ion_auth_t *a, const char *url, const char *token, const char *hint,
                      char *err, size_t err_len)
{
    const char *const pairs[] = { "token", token, "token_type_hint", hint,
                                  "client_id", a->ion->ci, "client_secret", a->ion->cs, NULL };
    char *form = form_of(pairs);
    const char *hdrs[] = { "Content-Type: application/x-www-form-urlencoded", NULL };
    http_req_t req = { .method = "POST", .url = url, .headers = hdrs, .body = form,
                       .body_len = strlen(form) };
    http_resp_t resp;
    int rc = -1;
    int sent = http_do(a->http, &req, &resp);
    reqstats_response(a->tenant, REQSTATS_ERP, &resp);
    if (sent != 0)
        snprintf(err, err_len, "ion revoke endpoint unreachable: %s", resp.error);
    else if (resp.status != 200)
        snprintf(err, err_len, "ion revoke endpoint answered %ld for the %s: %.200s", resp.status,
                 hint, resp.body.data ? resp.body.data : "");
    else
        rc = 0;
    http_resp_free(&resp);
    free(form);
    return rc;
}

int ion_token_revoke(const ion_auth_t *a, char *err, size_t err_len)
{
    char *tokens[2] = { token_peek(a->redis, a->master_key, a->tenant, ION_TOKEN_SYSTEM),
                        refresh_load(a) };
    const char *const hints[2] = { "access_token", "refresh_token" };
    char *url = ionapi_revoke_url(a->ion);
    int revoked = 0, failed = 0;
    if (!url && (tokens[0] || tokens[1])) {
        snprintf(err, err_len, "the .ionapi names no revoke path (or)");
        failed = 1;
    }
    for (int i = 0; i < 2 && url; i++) {
        char why[384];
        if (!tokens[i])
            continue;
        if (revoke_one(a, url, tokens[i], hints[i], why, sizeof why) == 0)
            revoked++;
        else if (!failed++)
            snprintf(err, err_len, "%s", why);
    }
    token_invalidate(a->redis, a->tenant, ION_TOKEN_SYSTEM);
    refresh_drop(a);
    free(tokens[0]);
    free(tokens[1]);
    free(url);
    return failed ? -1 : revoked;
}
