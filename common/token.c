/* token: see token.h. The cached value is the sealed JSON {"token":..,"expires_at":ms,
 * "lifetime":ms}; its Redis TTL is the lifetime, so an expired token can never be read. */
#include "token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "keys.h"
#include "lock.h"
#include "log.h"
#include "util.h"

typedef struct {
    char   *token;
    int64_t expires_at;
    int64_t lifetime;
} cached_t;

static char *token_aad(const char *tenant, const char *system)
{
    return xasprintf("token:%s:%s", tenant, system);
}

/* Reads the cached token; 1 found (fills c), 0 none or unreadable. */
static int cache_read(rds_t *r, const uint8_t key[MLC_KEY_LEN], const char *tenant,
                      const char *system, cached_t *c)
{
    char *k = xasprintf(K_TOKEN, tenant, system);
    redisReply *rep = rds_cmd(r, "GET %s", k);
    free(k);
    int found = 0;
    if (rds_ok(rep) && rep->type == REDIS_REPLY_STRING) {
        char *aad = token_aad(tenant, system);
        char *plain = open_secret(key, aad, rep->str, NULL);
        free(aad);
        json_t *obj = plain ? json_loads(plain, 0, NULL) : NULL;
        const char *t = json_string_value(json_object_get(obj, "token"));
        if (t) {
            c->token = xstrdup(t);
            c->expires_at = json_integer_value(json_object_get(obj, "expires_at"));
            c->lifetime = json_integer_value(json_object_get(obj, "lifetime"));
            found = 1;
        }
        json_decref(obj);
        free(plain);
    }
    if (rep)
        freeReplyObject(rep);
    return found;
}

static void cache_write(rds_t *r, const uint8_t key[MLC_KEY_LEN], const char *tenant,
                        const char *system, const char *token, int64_t lifetime)
{
    json_t *obj = json_pack("{s:s, s:I, s:I}", "token", token, "expires_at",
                            (json_int_t)(now_ms() + lifetime), "lifetime", (json_int_t)lifetime);
    char *text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    char *aad = token_aad(tenant, system);
    char *sealed = seal_secret(key, aad, text, strlen(text));
    free(aad);
    free(text);
    if (!sealed)
        return;
    char *k = xasprintf(K_TOKEN, tenant, system);
    redisReply *rep = rds_cmd(r, "SET %s %s PX %lld", k, sealed, (long long)lifetime);
    if (rep)
        freeReplyObject(rep);
    free(k);
    free(sealed);
}

/* Refresh-ahead window for a token of the given lifetime. */
static int64_t ahead_ms(int64_t refresh_ahead_ms, int64_t lifetime)
{
    int64_t third = lifetime / 3;
    return refresh_ahead_ms < third ? refresh_ahead_ms : third;
}

char *token_get(rds_t *r, const uint8_t key[MLC_KEY_LEN], const char *tenant,
                const char *system, int64_t refresh_ahead_ms, token_fetch_fn fetch, void *ud,
                char *err, size_t err_len)
{
    char *lock_key = xasprintf(K_TOKEN_LOCK, tenant, system);
    char *result = NULL;
    int64_t deadline = mono_ms() + 15000;
    snprintf(err, err_len, "token: timed out waiting for the refresh of another process");

    while (!result && mono_ms() < deadline) {
        cached_t c = { 0 };
        int have = cache_read(r, key, tenant, system, &c);
        int64_t now = now_ms();
        if (have && c.expires_at - now > ahead_ms(refresh_ahead_ms, c.lifetime)) {
            result = c.token;
            break;
        }
        /* Missing or due for refresh: only the holder of the lock fetches. */
        int unreachable = 0;
        char *owner = lock_try(r, lock_key, 10000, &unreachable);
        if (unreachable) {
            snprintf(err, err_len, "token: redis unreachable");
            free(c.token);
            break;
        }
        if (owner) {
            cached_t again = { 0 };
            if (cache_read(r, key, tenant, system, &again) &&
                again.expires_at - now_ms() > ahead_ms(refresh_ahead_ms, again.lifetime)) {
                result = again.token; /* another process refreshed meanwhile */
            } else {
                free(again.token);
                char *fresh = NULL;
                long expires_in = 0;
                if (fetch(ud, &fresh, &expires_in, err, err_len) == 0 && fresh) {
                    if (expires_in <= 0)
                        expires_in = 60;
                    cache_write(r, key, tenant, system, fresh, (int64_t)expires_in * 1000);
                    mlog(LOG_INFO, "token.refresh", "tenant %s %s token refreshed, expires_in %lds",
                         tenant, system, expires_in);
                    result = fresh;
                } else if (have && c.expires_at > now_ms()) {
                    mlog(LOG_WARN, "token.refresh_failed", "tenant %s %s: %s (using current token)",
                         tenant, system, err);
                    result = c.token;
                    c.token = NULL;
                } else {
                    free(fresh);
                }
            }
            lock_release(r, lock_key, owner);
            free(c.token);
            break;
        }
        /* Someone else refreshes: keep using the current token while it is valid. */
        if (have && c.expires_at - now_ms() > 500) {
            result = c.token;
            break;
        }
        free(c.token);
        sleep_ms(25);
    }
    free(lock_key);
    return result;
}

void token_invalidate(rds_t *r, const char *tenant, const char *system)
{
    char *k = xasprintf(K_TOKEN, tenant, system);
    redisReply *rep = rds_cmd(r, "DEL %s", k);
    if (rep)
        freeReplyObject(rep);
    free(k);
}

char *token_peek(rds_t *r, const uint8_t key[MLC_KEY_LEN], const char *tenant,
                 const char *system)
{
    cached_t c = { 0 };
    if (cache_read(r, key, tenant, system, &c) && c.expires_at > now_ms())
        return c.token;
    free(c.token);
    return NULL;
}

int token_request(http_client_t *http, const char *url, const char *form, const char *label,
                  char **access, long *expires_in_s, char **refresh, long *status, char *err,
                  size_t err_len)
{
    *access = *refresh = NULL;
    *expires_in_s = 0;
    const char *hdrs[] = { "Content-Type: application/x-www-form-urlencoded",
                           "Accept: application/json", NULL };
    http_req_t req = { .method = "POST", .url = url, .headers = hdrs, .body = form,
                       .body_len = strlen(form) };
    http_resp_t resp;
    int rc = -1;
    if (http_do(http, &req, &resp) != 0) {
        snprintf(err, err_len, "%s token endpoint unreachable: %s", label, resp.error);
    } else if (resp.status != 200) {
        snprintf(err, err_len, "%s token endpoint answered %ld: %.200s", label, resp.status,
                 resp.body.data ? resp.body.data : "");
    } else {
        json_t *obj = json_loadb(resp.body.data, resp.body.len, 0, NULL);
        const char *at = json_string_value(json_object_get(obj, "access_token"));
        const char *rt = json_string_value(json_object_get(obj, "refresh_token"));
        json_t *exp = json_object_get(obj, "expires_in");
        if (at && *at && json_is_integer(exp)) {
            *access = xstrdup(at);
            *refresh = rt && *rt ? xstrdup(rt) : NULL;
            *expires_in_s = (long)json_integer_value(exp);
            rc = 0;
        } else {
            snprintf(err, err_len, "%s token response lacks access_token/expires_in", label);
        }
        json_decref(obj);
    }
    *status = resp.status;
    http_resp_free(&resp);
    return rc;
}
