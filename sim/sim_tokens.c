/* sim_tokens: see sim_tokens.h. A JSON object token -> [owner, expires_ms, grant|null]
 * (jansson objects are hash tables) behind one mutex. */
#include "sim_tokens.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "util.h"

struct sim_tokens {
    pthread_mutex_t mu;
    json_t         *tokens;   /* token -> [owner, expires_ms, grant|null] */
};

sim_tokens_t *sim_tokens_new(void)
{
    sim_tokens_t *t = xcalloc(1, sizeof *t);
    pthread_mutex_init(&t->mu, NULL);
    t->tokens = json_object();
    return t;
}

void sim_tokens_destroy(sim_tokens_t **t)
{
    if (!t || !*t)
        return;
    json_decref((*t)->tokens);
    pthread_mutex_destroy(&(*t)->mu);
    free(*t);
    *t = NULL;
}

/* Drops expired tokens. Caller holds mu. */
static void purge_expired(sim_tokens_t *t, int64_t now_ms)
{
    const char *k;
    json_t *v, *tmp;
    json_object_foreach_safe(t->tokens, tmp, k, v) {
        if (json_integer_value(json_array_get(v, 1)) <= now_ms)
            json_object_del(t->tokens, k);
    }
}

char *sim_tokens_issue(sim_tokens_t *t, const char *owner, const char *grant, int64_t expires_ms,
                       int64_t now_ms)
{
    char *token = random_hex(32);
    pthread_mutex_lock(&t->mu);
    purge_expired(t, now_ms);
    json_object_set_new(t->tokens, token,
                        json_pack("[s,I,s?]", owner, (json_int_t)expires_ms, grant));
    pthread_mutex_unlock(&t->mu);
    return token;
}

/* The lookup of check and take; removes the token when take. */
static sim_token_state_t lookup(sim_tokens_t *t, const char *token, int64_t now_ms, bool take,
                                char *owner, size_t owner_len)
{
    sim_token_state_t st = SIM_TOKEN_UNKNOWN;
    pthread_mutex_lock(&t->mu);
    json_t *v = token ? json_object_get(t->tokens, token) : NULL;
    if (v && json_integer_value(json_array_get(v, 1)) <= now_ms) {
        st = SIM_TOKEN_EXPIRED;
    } else if (v) {
        st = SIM_TOKEN_VALID;
        if (owner)
            snprintf(owner, owner_len, "%s", json_string_value(json_array_get(v, 0)));
    }
    if (v && take)
        json_object_del(t->tokens, token);
    pthread_mutex_unlock(&t->mu);
    return st;
}

sim_token_state_t sim_tokens_check(sim_tokens_t *t, const char *token, int64_t now_ms,
                                   char *owner, size_t owner_len)
{
    return lookup(t, token, now_ms, false, owner, owner_len);
}

sim_token_state_t sim_tokens_take(sim_tokens_t *t, const char *token, int64_t now_ms,
                                  char *owner, size_t owner_len)
{
    return lookup(t, token, now_ms, true, owner, owner_len);
}

bool sim_tokens_grant(sim_tokens_t *t, const char *token, char *grant, size_t grant_len)
{
    pthread_mutex_lock(&t->mu);
    json_t *v = json_object_get(t->tokens, token);
    const char *g = v ? json_string_value(json_array_get(v, 2)) : NULL;
    if (g)
        snprintf(grant, grant_len, "%s", g);
    pthread_mutex_unlock(&t->mu);
    return g != NULL;
}

long sim_tokens_revoke_grant(sim_tokens_t *t, const char *grant)
{
    long n = 0;
    const char *k;
    json_t *v, *tmp;
    pthread_mutex_lock(&t->mu);
    json_object_foreach_safe(t->tokens, tmp, k, v) {
        const char *g = json_string_value(json_array_get(v, 2));
        if (g && strcmp(g, grant) == 0) {
            json_object_del(t->tokens, k);
            n++;
        }
    }
    pthread_mutex_unlock(&t->mu);
    return n;
}

bool sim_tokens_revoke(sim_tokens_t *t, const char *token)
{
    pthread_mutex_lock(&t->mu);
    bool held = json_object_del(t->tokens, token) == 0;
    pthread_mutex_unlock(&t->mu);
    return held;
}

long sim_tokens_revoke_all(sim_tokens_t *t)
{
    pthread_mutex_lock(&t->mu);
    long n = (long)json_object_size(t->tokens);
    json_object_clear(t->tokens);
    pthread_mutex_unlock(&t->mu);
    return n;
}
