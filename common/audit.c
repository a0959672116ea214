/* audit: see audit.h. */
#include "audit.h"

#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "util.h"

/* Builds the XADD argv for one entry into argv/lens (9 slots); returns argc. Strings owned by
 * the caller through key/maxlen/detail_text. */
static int xadd_argv(const char *key, const char *maxlen, const char *ref, const char *event,
                     const char *detail_text, const char **argv, size_t *lens)
{
    int n = 0;
    argv[n++] = "XADD";
    argv[n++] = key;
    argv[n++] = "MAXLEN";
    argv[n++] = "~";
    argv[n++] = maxlen;
    argv[n++] = "*";
    argv[n++] = "ref";
    argv[n++] = ref ? ref : "-";
    argv[n++] = "event";
    argv[n++] = event;
    argv[n++] = "detail";
    argv[n++] = detail_text;
    for (int i = 0; i < n; i++)
        lens[i] = strlen(argv[i]);
    return n;
}

static int audit_emit(rds_t *r, const char *tenant, const char *ref, const char *event,
                      json_t *detail, bool pipelined)
{
    char *key = xasprintf(K_AUDIT, tenant);
    char *maxlen = xasprintf("%ld", env_long("MLC_AUDIT_MAXLEN", 1000000));
    char *text = detail ? json_dumps(detail, JSON_COMPACT) : xstrdup("{}");
    const char *argv[12];
    size_t lens[12];
    int argc = xadd_argv(key, maxlen, ref, event, text ? text : "{}", argv, lens);
    int rc;
    if (pipelined) {
        rc = rds_appendargv(r, argc, argv, lens);
    } else {
        redisReply *rep = rds_cmdargv(r, argc, argv, lens);
        rc = rds_ok(rep) ? 0 : -1;
        if (rep)
            freeReplyObject(rep);
    }
    free(key);
    free(maxlen);
    free(text);
    json_decref(detail);
    return rc;
}

int audit_add(rds_t *r, const char *tenant, const char *ref, const char *event, json_t *detail)
{
    return audit_emit(r, tenant, ref, event, detail, false);
}

int audit_append(rds_t *r, const char *tenant, const char *ref, const char *event, json_t *detail)
{
    return audit_emit(r, tenant, ref, event, detail, true);
}
