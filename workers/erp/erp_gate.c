/* erp_gate: see erp_gate.h. */
#include "erp_gate.h"

#include <stdlib.h>

#include "keys.h"
#include "log.h"
#include "ratelimit.h"
#include "util.h"

static long rate_of(const tenant_cfg_t *t)
{
    json_t *v = json_object_get(t->erp, "rate_per_min");
    return json_is_integer(v) && json_integer_value(v) > 0 ? (long)json_integer_value(v) : 0;
}

int erp_gate_wait(rds_t *r, const tenant_cfg_t *t, int64_t max_wait_ms, int64_t *retry_after_ms)
{
    long rate = rate_of(t);
    if (!rate)
        return 1;
    char *rate_key = xasprintf(K_ERP_RATE, t->id), *pause_key = xasprintf(K_ERP_PAUSE, t->id);
    int rc = rl_rate_wait(r, rate_key, pause_key, rate, rl_rate_burst(rate), max_wait_ms, 0,
                          retry_after_ms);
    free(rate_key);
    free(pause_key);
    return rc;
}

void erp_gate_answer(rds_t *r, const tenant_cfg_t *t, long status, long retry_after_ms)
{
    if (status != 429 && !(status == 503 && retry_after_ms > 0))
        return;
    long ms = retry_after_ms > 0 ? retry_after_ms : 1000;
    char *pause_key = xasprintf(K_ERP_PAUSE, t->id);
    rl_pause(r, pause_key, ms);
    free(pause_key);
    mlog(LOG_WARN, "erp.pause", "tenant %s: ERP answered %ld, its calls pause for %ld ms", t->id,
         status, ms);
}
