/* ops: what the operator commands (audit, ping, webhooks, sync --plan, reconcile) share. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "tenant.h"

rds_t *cli_tenant_open(const char *cmd, const char *id, uint8_t key[MLC_KEY_LEN],
                       tenant_cfg_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    if (cli_master_key(key) != 0)
        return NULL;
    rds_t *r = cli_redis();
    if (!r)
        return NULL;
    json_t *known = cli_tenants(r, cmd, id);
    char err[512];
    if (known && tenant_load(r, key, id, cfg, err, sizeof err) != 0) {
        fprintf(stderr, "mlc %s: %s\n", cmd, err);
        json_decref(known);
        known = NULL;
    }
    if (!known) {
        rds_destroy(&r);
        return NULL;
    }
    json_decref(known);
    return r;
}

json_t *cli_hgetall(rds_t *r, const char *key)
{
    redisReply *rep = rds_cmd(r, "HGETALL %s", key);
    json_t *o = NULL;
    if (rds_ok(rep) && rep->type == REDIS_REPLY_ARRAY) {
        o = json_object();
        for (size_t i = 0; i + 1 < rep->elements; i += 2)
            if (rep->element[i]->str && rep->element[i + 1]->str)
                json_object_set_new(o, rep->element[i]->str,
                                    json_stringn(rep->element[i + 1]->str,
                                                 rep->element[i + 1]->len));
    }
    if (rep)
        freeReplyObject(rep);
    return o;
}

const char *cli_text(const json_t *o, const char *k, const char *def)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s && *s ? s : def;
}
