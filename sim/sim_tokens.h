/* sim_tokens: the opaque tokens of a simulated authorization server (IFS IAM, ION): random hex
 * strings, each mapped to an owner (a client id, a tenant) and an expiry time. Expired tokens
 * are dropped whenever new ones are issued. Thread-safe. */
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

/* Issues a new random token (64 hex characters) owned by owner, valid while now < expires_ms.
 * Returns it malloc'd (caller frees). */
char *sim_tokens_issue(sim_tokens_t *t, const char *owner, int64_t expires_ms, int64_t now_ms);
/* Looks token up at now_ms; on SIM_TOKEN_VALID copies its owner (truncated to owner_len). */
sim_token_state_t sim_tokens_check(sim_tokens_t *t, const char *token, int64_t now_ms,
                                   char *owner, size_t owner_len);
/* Like sim_tokens_check, and removes the token whatever its state (one-time tokens such as
 * rotating refresh tokens): a second take of the same token is SIM_TOKEN_UNKNOWN. */
sim_token_state_t sim_tokens_take(sim_tokens_t *t, const char *token, int64_t now_ms,
                                  char *owner, size_t owner_len);
/* Removes token; true when the store held it (expired or not). */
bool sim_tokens_revoke(sim_tokens_t *t, const char *token);
/* Removes every token; returns how many the store held (expired ones included). */
long sim_tokens_revoke_all(sim_tokens_t *t);
#endif
