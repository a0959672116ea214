/* ratelimit: see ratelimit.h. */
#include "ratelimit.h"

#include <stdlib.h>

#include "util.h"

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
    char buf[24];
    snprintf(buf, sizeof buf, "%lld", (long long)(ms > 0 ? ms : 1));
    const char *args[] = { pause_key, buf };
    redisReply *rep = rds_eval(r, &PAUSE, 1, 2, args, NULL);
    if (rep)
        freeReplyObject(rep);
}
