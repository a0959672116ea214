/* ratelimit: limits shared by every process through Redis, each check one Lua script.
 * In-flight slots: a ZSET of holders scored by expiry, so a holder that dies frees its slot
 * after ttl. Pause: a key with a TTL set from a 429/503 Retry-After; while it exists every
 * process waits instead of calling that system. Rate: a GCRA (generic cell rate algorithm)
 * per key: one theoretical arrival time in Redis, requests spaced 60000/rate_per_min ms apart
 * on the Redis server's clock, with a burst allowance, so N processes together never exceed
 * the rate over any window longer than the burst. The spacing keeps RL_RATE_HEADROOM below
 * the rate: a turn is granted on Redis's clock but the request reaches the server a few ms
 * later, by a varying delay; spaced at exactly the rate, one late request would put N + 1 in
 * some window of the server's. 2% leaves up to 200 ms of such jitter per 10-s window (at any
 * rate), for 2% of throughput. */
#ifndef MLC_RATELIMIT_H
#define MLC_RATELIMIT_H
#include <stdbool.h>
#include <stdint.h>
#include "redis.h"

#define RL_RATE_HEADROOM 0.02

/* Takes one of cap slots in slots_key unless pause_key is set. Returns 1 acquired (holder
 * recorded), 0 when the caller must wait (*wait_ms: the pause left, or a short poll interval
 * when all slots are taken), -1 when Redis is unreachable. */
int rl_slot_acquire(rds_t *r, const char *slots_key, const char *pause_key, int cap,
                    int64_t ttl_ms, const char *holder, int64_t *wait_ms);
/* Blocking form: waits (up to max_wait_ms) for a slot. 1 acquired, 0 timed out (*paused_ms
 * set to the pause left when a pause was the reason), -1 Redis unreachable. */
int rl_slot_wait(rds_t *r, const char *slots_key, const char *pause_key, int cap,
                 int64_t ttl_ms, const char *holder, int64_t max_wait_ms, int64_t *paused_ms);
void rl_slot_release(rds_t *r, const char *slots_key, const char *holder);
/* Takes one request of rate_per_min (burst: requests allowed back to back, >= 1) from
 * rate_key unless pause_key (may be NULL) is set. Returns 1 taken, 0 when the caller must
 * wait *wait_ms first (rate: until its turn; pause: the pause left), -1 Redis unreachable. */
int rl_rate_take(rds_t *r, const char *rate_key, const char *pause_key, long rate_per_min,
                 int burst, int64_t *wait_ms);
/* rl_rate_take that also says why it refused: *paused is true when pause_key is set (*wait_ms
 * is then the pause left: a caller holding a shared thread gives its work back at once
 * instead of sleeping through it), false when the refusal is the rate's (wait for the turn). */
int rl_rate_try(rds_t *r, const char *rate_key, const char *pause_key, long rate_per_min,
                int burst, int64_t *wait_ms, bool *paused);
/* The burst a rate allows: 1 + rate_per_min / 1200, a twentieth of a second's requests. At
 * high rates turns then pass several per millisecond (strict spacing would let callers that
 * sleep whole milliseconds through only one a millisecond); the extra burst is 0.5% of a 10-s
 * window's share, well inside RL_RATE_HEADROOM, so no 10-s window sees more than the rate
 * allows. */
int rl_rate_burst(long rate_per_min);
/* Blocking form: sleeps until its turn when that comes within max_wait_ms, and through a
 * pause when it ends within max_pause_ms (0: never: a thread that serves other tenants is
 * not held by this one's pause). 1 taken; 0 refused at once, without sleeping the rest, with
 * *retry_after_ms (may be NULL) set to the wait that was too long; -1 Redis unreachable. */
int rl_rate_wait(rds_t *r, const char *rate_key, const char *pause_key, long rate_per_min,
                 int burst, int64_t max_wait_ms, int64_t max_pause_ms, int64_t *retry_after_ms);
/* Refusals seen by the calling thread: rl_slot_wait and rl_rate_wait count one each time they
 * give up, and callers with their own wait loop (erp_gate) count theirs with
 * rl_refusal_note. The worker loop takes the count around each job: a run cut short by a
 * shared limit is given back with job_defer instead of using up one of its attempts.
 * rl_refusals_take returns the count, or 0 when the thread itself called rl_pause in that
 * time (its run got a 429/503 answer: a real failure, which uses up an attempt), and zeroes
 * both. */
void rl_refusal_note(void);
int rl_refusals_take(void);
/* Sets (or extends, never shortens) the pause window to ms from now. */
void rl_pause(rds_t *r, const char *pause_key, int64_t ms);
#endif
