/* events: see events.h. */
#include "events.h"

#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "audit.h"
#include "keys.h"
#include "util.h"

job_outcome_t webhook_event_audit(job_ctx_t *ctx, const job_t *job)
{
    const char *gid = job->ref && str_starts(job->ref, "task:") ? job->ref + 5 : NULL;
    char *map = xasprintf(K_GIDMAP, job->tenant);
    redisReply *rep = gid ? rds_cmd(ctx->redis, "HGET %s %s", map, gid) : NULL;
    free(map);
    if (gid && !rep) {
        ctx->error = xstrdup("redis unreachable");
        return JOB_RETRY;
    }
    char *record = rep && rep->type == REDIS_REPLY_STRING ? xstrdup(rep->str) : NULL;
    if (rep)
        freeReplyObject(rep);
    json_t *event = job->payload ? json_loads(job->payload, 0, NULL) : NULL;
    json_t *detail = json_pack("{s:s?, s:o?, s:s, s:s}", "task", gid, "event", event, "mode",
                               "audit_only", "job", job->id);
    int rc = audit_add(ctx->redis, job->tenant, record ? record : job->ref, "writeback.audit_only",
                       detail);
    ctx->result = xasprintf("{\"record\":\"%s\",\"mode\":\"audit_only\"}", record ? record : "");
    free(record);
    if (rc != 0) {
        ctx->error = xstrdup("redis unreachable");
        return JOB_RETRY;
    }
    return JOB_OK;
}
