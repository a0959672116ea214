/* sim_tokens: the opaque tokens of a simulated authorization server (IFS IAM, ION): random hex
 * strings, each mapped to an owner (a client id, a tenant), an expiry time and optionally the
 * grant it belongs to (so revoking a grant revokes every token issued under it). Expired
 * tokens are dropped whenever new ones are issued. Thread-safe. */
#ifndef MLC_SIM_SIM_TOKENS_H
#define MLC_SIM_SIM_TOKENS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sim_tokens sim_tokens_t;

/* What a lookup found. */
typedef enum {
    SIM_TOKEN_VALID = 0,
    SIM_TOKEN_UNKNOWN = -1,   /* never issued, revoked or already taken */
    SIM_TOKEN_EXPIRED = -2,
} sim_token_state_t;

/* An empty store. Aborts on out of memory. */
sim_tokens_t *sim_tokens_new(void);
/* Frees and NULLs *t; safe on NULL and twice. */
void sim_tokens_destroy(sim_tokens_t **t);

/* Issues a new random token (64 hex characters) owned by owner, under grant (NULL: none),
 * valid while now < expires_ms. Returns it malloc'd (caller frees). */
char *sim_tokens_issue(sim_tokens_t *t, const char *owner, const char *grant, int64_t expires_ms,
                       int64_t now_ms);
/* Looks token up at now_ms; on SIM_TOKEN_VALID copies its owner (truncated to owner_len).
 * owner may be NULL when only the state matters. */
sim_token_state_t sim_tokens_check(sim_tokens_t *t, const char *token, int64_t now_ms,
                                   char *owner, size_t owner_len);
/* Like sim_tokens_check, and removes the token whatever its state (one-time tokens such as
 * rotating refresh tokens): a second take of the same token is SIM_TOKEN_UNKNOWN. */
sim_token_state_t sim_tokens_take(sim_tokens_t *t, const char *token, int64_t now_ms,
                                  char *owner, size_t owner_len);
/* The grant of a held token (expired or not) copied into grant; false when the store does
 * not hold it or it has no grant. */
bool sim_tokens_grant(sim_tokens_t *t, const char *token, char *grant, size_t grant_len);
/* Removes token; true when the store held it (expired or not). */
bool sim_tokens_revoke(sim_tokens_t *t, const char *token);
/* Removes every token issued under grant; returns how many. */
long sim_tokens_revoke_grant(sim_tokens_t *t, const char *grant);
/* Removes every token; returns how many the store held (expired ones included). */
long sim_tokens_revoke_all(sim_tokens_t *t);
#endif
