/* gw_cache: see gw_cache.h. */
#include "gw_cache.h"

#include <stdlib.h>
#include <string.h>

#include "gw_hook.h"
#include "util.h"

typedef struct {
    char    tenant[GWH_TENANT_MAX + 1];   /* "" = empty slot */
    char   *sealed;
    char   *secret;
    int64_t read_ms;
    int64_t touched_ms;   /* last gwc_touch_due that said yes */
} slot_t;

struct gwc {
    slot_t *slots;
    int     n;
};

/* FNV-1a of the tenant id, reduced to a slot index. */
static int slot_of(const gwc_t *c, const char *tenant)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)tenant; *p; p++)
        h = (h ^ *p) * 16777619u;
    return (int)(h % (uint32_t)c->n);
}

static void slot_clear(slot_t *s)
{
    if (s->secret)
        memset(s->secret, 0, strlen(s->secret));
    free(s->secret);
    free(s->sealed);
    memset(s, 0, sizeof *s);
}

gwc_t *gwc_new(int nslots)
{
    gwc_t *c = xcalloc(1, sizeof *c);
    c->n = nslots > 0 ? nslots : 1;
    c->slots = xcalloc((size_t)c->n, sizeof *c->slots);
    return c;
}

void gwc_destroy(gwc_t **c)
{
    if (!*c)
        return;
    for (int i = 0; i < (*c)->n; i++)
        slot_clear(&(*c)->slots[i]);
    free((*c)->slots);
    free(*c);
    *c = NULL;
}

bool gwc_get(const gwc_t *c, const char *tenant, int64_t now_ms, int64_t max_age_ms,
             const char **sealed, const char **secret)
{
    const slot_t *s = &c->slots[slot_of(c, tenant)];
    if (!s->tenant[0] || strcmp(s->tenant, tenant) != 0 || s->read_ms < now_ms - max_age_ms)
        return false;
    *sealed = s->sealed;
    *secret = s->secret;
    return true;
}

void gwc_put(gwc_t *c, const char *tenant, const char *sealed, const char *secret, int64_t now_ms)
{
    if (strlen(tenant) > GWH_TENANT_MAX)
        return;
    slot_t *s = &c->slots[slot_of(c, tenant)];
    int64_t touched = strcmp(s->tenant, tenant) == 0 ? s->touched_ms : 0;
    slot_clear(s);
    strcpy(s->tenant, tenant);
    s->touched_ms = touched;
    s->sealed = xstrdup(sealed);
    s->secret = xstrdup(secret);
    s->read_ms = now_ms;
}

void gwc_drop(gwc_t *c, const char *tenant)
{
    slot_t *s = &c->slots[slot_of(c, tenant)];
    if (s->tenant[0] && strcmp(s->tenant, tenant) == 0)
        slot_clear(s);
}

bool gwc_touch_due(gwc_t *c, const char *tenant, int64_t now_ms, int64_t every_ms)
{
    slot_t *s = &c->slots[slot_of(c, tenant)];
    if (!s->tenant[0] || strcmp(s->tenant, tenant) != 0)
        return true;
    if (s->touched_ms > now_ms - every_ms)
        return false;
    s->touched_ms = now_ms;
    return true;
}
