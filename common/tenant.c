/* tenant: see tenant.h. Secrets are sealed member by member so the stored JSON stays readable
 * with redis-cli (everything but the secrets), and each secret is bound to its tenant and path
 * through the AAD: a sealed value copied to another tenant or member does not open. */
#include "tenant.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "util.h"

static char *secret_aad(const char *tenant, const char *path)
{
    return xasprintf("tenant:%s:%s", tenant, path);
}

/* Applies seal (when sealing) or open to every present secret member of obj in place.
 * Returns 0, or -1 with err naming the member that would not open. */
static int transform_secrets(json_t *obj, const char *tenant, const uint8_t key[MLC_KEY_LEN],
                             bool sealing, char *err, size_t err_len)
{
    for (int i = 0; TENANT_SECRET_PATHS[i]; i++) {
        const char *path = TENANT_SECRET_PATHS[i];
        json_t *v = json_path_get(obj, path);
        if (!json_is_string(v))
            continue;
        char *aad = secret_aad(tenant, path);
        const char *text = json_string_value(v);
        char *out = sealing ? seal_secret(key, aad, text, strlen(text))
                            : open_secret(key, aad, text, NULL);
        free(aad);
        if (!out) {
            snprintf(err, err_len, "%s: %s", path,
                     sealing ? "cannot seal secret"
                             : "cannot open secret (wrong MLC_MASTER_KEY or tampered data)");
            return -1;
        }
        json_path_set(obj, path, json_string(out));
        free(out);
    }
    return 0;
}

int tenant_store(rds_t *r, const uint8_t key[MLC_KEY_LEN], const json_t *cfg, char *err,
                 size_t err_len)
{
    tenant_cfg_t parsed;
    if (tenant_cfg_parse(cfg, &parsed, err, err_len) != 0)
        return -1;
    char *id = xstrdup(parsed.id);
    tenant_cfg_free(&parsed);

    json_t *copy = json_deep_copy(cfg);
    int rc = transform_secrets(copy, id, key, true, err, err_len);
    char *text = rc == 0 ? json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(copy);
    if (rc == 0) {
        char *hkey = xasprintf(K_TENANT, id);
        char added[32];
        iso8601_ms(now_ms(), added, sizeof added);
        redisReply *a = rds_cmd(r, "HSET %s config %s updated_at %s", hkey, text, added);
        redisReply *b = rds_ok(a) ? rds_cmd(r, "SADD %s %s", K_TENANTS, id) : NULL;
        if (!rds_ok(a) || !rds_ok(b)) {
            snprintf(err, err_len, "redis: cannot store tenant %s", id);
            rc = -1;
        }
        if (a)
            freeReplyObject(a);
        if (b)
            freeReplyObject(b);
        free(hkey);
    }
    free(text);
    free(id);
    return rc;
}

int tenant_load(rds_t *r, const uint8_t key[MLC_KEY_LEN], const char *id, tenant_cfg_t *out,
                char *err, size_t err_len)
{
    char *hkey = xasprintf(K_TENANT, id);
    redisReply *rep = rds_cmd(r, "HGET %s config", hkey);
    free(hkey);
    if (!rds_ok(rep) || rep->type != REDIS_REPLY_STRING) {
        snprintf(err, err_len, rep ? "tenant %s: not found" : "redis unreachable", id);
        if (rep)
            freeReplyObject(rep);
        return -1;
    }
    json_error_t jerr;
    json_t *obj = json_loadb(rep->str, rep->len, 0, &jerr);
    freeReplyObject(rep);
    if (!obj) {
        snprintf(err, err_len, "tenant %s: stored config is not JSON: %s", id, jerr.text);
        return -1;
    }
    int rc = transform_secrets(obj, id, key, false, err, err_len);
    if (rc == 0)
        rc = tenant_cfg_parse(obj, out, err, err_len);
    json_decref(obj);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char **tenant_ids(rds_t *r, int *n)
{
    *n = 0;
    redisReply *rep = rds_cmd(r, "SMEMBERS %s", K_TENANTS);
    if (!rds_ok(rep) || rep->type != REDIS_REPLY_ARRAY || rep->elements == 0) {
        if (rep)
            freeReplyObject(rep);
        return NULL;
    }
    char **ids = xcalloc(rep->elements, sizeof *ids);
    for (size_t i = 0; i < rep->elements; i++)
        ids[(*n)++] = xstrdup(rep->element[i]->str);
    freeReplyObject(rep);
    qsort(ids, (size_t)*n, sizeof *ids, cmp_str);
    return ids;
}

void tenant_ids_free(char **ids, int n)
{
    for (int i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

typedef struct cache_entry {
    tenant_cfg_t        cfg;
    int64_t             loaded_ms;
    struct cache_entry *next;
} cache_entry_t;

struct tenant_cache {
    int64_t        ttl_ms;
    cache_entry_t *head;
};

tenant_cache_t *tenant_cache_new(int64_t ttl_ms)
{
    tenant_cache_t *c = xcalloc(1, sizeof *c);
    c->ttl_ms = ttl_ms;
    return c;
}

const tenant_cfg_t *tenant_cache_get(tenant_cache_t *c, rds_t *r, const uint8_t key[MLC_KEY_LEN],
                                     const char *id, char *err, size_t err_len)
{
    cache_entry_t *e = c->head;
    while (e && strcmp(e->cfg.id, id) != 0)
        e = e->next;
    int64_t now = mono_ms();
    if (e && now - e->loaded_ms < c->ttl_ms)
        return &e->cfg;
    tenant_cfg_t fresh;
    if (tenant_load(r, key, id, &fresh, err, err_len) != 0)
        return NULL;
    if (!e) {
        e = xcalloc(1, sizeof *e);
        e->next = c->head;
        c->head = e;
    } else {
        tenant_cfg_free(&e->cfg);
    }
    e->cfg = fresh;
    e->loaded_ms = now;
    return &e->cfg;
}

void tenant_cache_destroy(tenant_cache_t **c)
{
    if (!c || !*c)
        return;
    for (cache_entry_t *e = (*c)->head, *next; e; e = next) {
        next = e->next;
        tenant_cfg_free(&e->cfg);
        free(e);
    }
    free(*c);
    *c = NULL;
}
