/* ratelimit: see ratelimit.h. */
#include "ratelimit.h"

#include <stdlib.h>

#include "util.h"

/* The calling thread's refusals and pauses set since the last rl_refusals_take. */
static __thread int t_refusals, t_pauses;

void rl_refusal_note(void)
{
    t_refusals++;
}

int rl_refusals_take(void)
{
    int n = t_pauses ? 0 : t_refusals;
    t_refusals = t_pauses = 0;
    return n;
}

static rds_script_t ACQUIRE = { "slot_acquire",
    "local p = redis.call('PTTL', KEYS[2]) "
    "if p > 0 then return -p end "
    "local now = tonumber(ARGV[1]) "
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now) "
    "if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then "
    "  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[4]) "
    "  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2) "
    "  return 1 end "
    "return 0" };

/* KEYS: rate key, pause key. ARGV: emission interval ms, burst tolerance ms, "1" when the pause
 * key is to be checked. Returns 0 when
 * taken, else the ms to wait (negative: a pause). Time is the server's, so every process
 * shares one clock. */
static rds_script_t GCRA = { "rate_gcra",
    "if ARGV[3] == '1' then "
    "  local p = redis.call('PTTL', KEYS[2]) "
    "  if p > 0 then return -p end "
    "end "
    "local t = redis.call('TIME') "
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "
    "local tat = tonumber(redis.call('GET', KEYS[1]) or '0') "
    "if tat < now then tat = now end "
    "local ahead = tat - now - tonumber(ARGV[2]) "
    "if ahead > 0 then return math.ceil(ahead) end "
    "local new = tat + tonumber(ARGV[1]) "
    "redis.call('SET', KEYS[1], string.format('%.3f', new), 'PX', math.ceil(new - now) + 1000) "
    "return 0" };

static rds_script_t PAUSE = { "pause_extend",
    "if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then "
    "  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1]) end return 1" };

int rl_slot_acquire(rds_t *r, const char *slots_key, const char *pause_key, int cap,
                    int64_t ttl_ms, const char *holder, int64_t *wait_ms)
{
    char now[24], capbuf[16], ttl[24];
    snprintf(now, sizeof now, "%lld", (long long)now_ms());
    snprintf(capbuf, sizeof capbuf, "%d", cap);
    snprintf(ttl, sizeof ttl, "%lld", (long long)ttl_ms);
    const char *args[] = { slots_key, pause_key, now, capbuf, ttl, holder };
    redisReply *rep = rds_eval(r, &ACQUIRE, 2, 6, args, NULL);
    if (!rds_ok(rep)) {
        if (rep)
            freeReplyObject(rep);
        return -1;
    }
    long long v = rds_int(rep, 0);
    freeReplyObject(rep);
    if (v == 1)
        return 1;
    *wait_ms = v < 0 ? -v : 5;
    return 0;
}

int rl_slot_wait(rds_t *r, const char *slots_key, const char *pause_key, int cap,
                 int64_t ttl_ms, const char *holder, int64_t max_wait_ms, int64_t *paused_ms)
{
    int64_t deadline = mono_ms() + max_wait_ms;
    *paused_ms = 0;
    for (;;) {
        int64_t wait = 0;
        int rc = rl_slot_acquire(r, slots_key, pause_key, cap, ttl_ms, holder, &wait);
        if (rc != 0)
            return rc;
        int64_t left = deadline - mono_ms();
        if (wait > left) {
            *paused_ms = wait > 5 ? wait : 0;
            rl_refusal_note();
            return 0;
        }
        sleep_ms(wait);
    }
}

int rl_rate_try(rds_t *r, const char *rate_key, const char *pause_key, long rate_per_min,
                int burst, int64_t *wait_ms, bool *paused)
{
    double interval = 60000.0 / ((double)(rate_per_min > 0 ? rate_per_min : 1) *
                                 (1.0 - RL_RATE_HEADROOM));
    char iv[32], tol[32];
    snprintf(iv, sizeof iv, "%.3f", interval);
    snprintf(tol, sizeof tol, "%.3f", interval * (burst > 1 ? burst - 1 : 0));
    const char *args[] = { rate_key, pause_key ? pause_key : rate_key, iv, tol,
                           pause_key ? "1" : "0" };
    redisReply *rep = rds_eval(r, &GCRA, 2, 5, args, NULL);
    if (!rds_ok(rep) || rep->type != REDIS_REPLY_INTEGER) {
        if (rep)
            freeReplyObject(rep);
        return -1;
    }
    long long v = rep->integer;
    freeReplyObject(rep);
    *paused = v < 0;
    if (v == 0)
        return 1;
    *wait_ms = v < 0 ? -v : v;
    return 0;
}

int rl_rate_take(rds_t *r, const char *rate_key, const char *pause_key, long rate_per_min,
                 int burst, int64_t *wait_ms)
{
    bool paused;
    return rl_rate_try(r, rate_key, pause_key, rate_per_min, burst, wait_ms, &paused);
}

int rl_rate_wait(rds_t *r, const char *rate_key, const char *pause_key, long rate_per_min,
                 int burst, int64_t max_wait_ms, int64_t max_pause_ms, int64_t *retry_after_ms)
{
    int64_t now = mono_ms(), deadline = now + max_wait_ms, pause_deadline = now + max_pause_ms;
    for (;;) {
        int64_t wait = 0;
        bool paused = false;
        int rc = rl_rate_try(r, rate_key, pause_key, rate_per_min, burst, &wait, &paused);
        if (rc != 0)
            return rc;
        now = mono_ms();
        if (wait > (paused ? pause_deadline : deadline) - now) {
            if (retry_after_ms)
                *retry_after_ms = wait;
            rl_refusal_note();
            return 0;
        }
        sleep_ms(wait);
    }
}

void rl_slot_release(rds_t *r, const char *slots_key, const char *holder)
{
    redisReply *rep = rds_cmd(r, "ZREM %s %s", slots_key, holder);
    if (rep)
        freeReplyObject(rep);
}

void rl_pause(rds_t *r, const char *pause_key, int64_t ms)
{
    t_pauses++;
    char buf[24];
    snprintf(buf, sizeof buf, "%lld", (long long)(ms > 0 ? ms : 1));
    const char *args[] = { pause_key, buf };
    redisReply *rep = rds_eval(r, &PAUSE, 1, 2, args, NULL);
    if (rep)
        freeReplyObject(rep);
}

int rl_rate_burst(long rate_per_min)
{
    return 1 + (int)(rate_per_min > 0 ? rate_per_min / 1200 : 0);
}
