/* refdata: see refdata.h. */
#include "refdata.h"

#include <stdlib.h>

#include "keys.h"
#include "util.h"

json_t *refdata_load(rds_t *r, const char *tenant, const char *what)
{
    char *key = xasprintf(K_REF, tenant, what);
    redisReply *rep = rds_cmd(r, "HGETALL %s", key);
    free(key);
    json_t *obj = NULL;
    if (rds_ok(rep) && rep->type == REDIS_REPLY_ARRAY) {
        obj = json_object();
        for (size_t i = 0; i + 1 < rep->elements; i += 2)
            json_object_set_new(obj, rep->element[i]->str, json_string(rep->element[i + 1]->str));
    }
    if (rep)
        freeReplyObject(rep);
    return obj;
}
