/* lock: see lock.h. */
#include "lock.h"

#include <stdlib.h>

#include "crypto.h"

static rds_script_t UNLOCK = { "lock_release",
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0" };

char *lock_try(rds_t *r, const char *key, int64_t ttl_ms, int *unreachable)
{
    char *owner = random_hex(8);
    redisReply *rep = rds_cmd(r, "SET %s %s NX PX %lld", key, owner, (long long)ttl_ms);
    if (unreachable)
        *unreachable = rep == NULL;
    int ok = rds_ok(rep) && rep->type == REDIS_REPLY_STATUS;
    if (rep)
        freeReplyObject(rep);
    if (!ok) {
        free(owner);
        return NULL;
    }
    return owner;
}

void lock_release(rds_t *r, const char *key, char *owner)
{
    if (!owner)
        return;
    const char *args[] = { key, owner };
    redisReply *rep = rds_eval(r, &UNLOCK, 1, 2, args, NULL);
    if (rep)
        freeReplyObject(rep);
    free(owner);
}

int lock_append_release(rds_t *r, const char *key, const char *owner)
{
    if (!owner)
        return 0;
    const char *args[] = { key, owner };
    return rds_append_eval_src(r, &UNLOCK, 1, 2, args, NULL) == 0 ? 1 : 0;
}
