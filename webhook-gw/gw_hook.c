/* gw_hook: see gw_hook.h. */
#include "gw_hook.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "util.h"

#define HOOK_PREFIX "/webhooks/"

static bool tenant_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > GWH_TENANT_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.')
            return false;
    return true;
}

gwh_route_t gwh_route(const char *method, const char *path, bool has_hook_secret,
                      char tenant[GWH_TENANT_MAX + 1])
{
    tenant[0] = '\0';
    bool get = strcmp(method, "GET") == 0;
    if (strcmp(path, "/healthz") == 0)
        return get ? GWH_HEALTHZ : GWH_BAD_METHOD;
    if (strcmp(path, "/metrics") == 0)
        return get ? GWH_METRICS : GWH_BAD_METHOD;
    if (!str_starts(path, HOOK_PREFIX))
        return GWH_NOT_FOUND;
    const char *id = path + strlen(HOOK_PREFIX);
    if (!tenant_ok(id))
        return GWH_NOT_FOUND;
    if (strcmp(method, "POST") != 0)
        return GWH_BAD_METHOD;
    snprintf(tenant, GWH_TENANT_MAX + 1, "%s", id);
    return has_hook_secret ? GWH_HANDSHAKE : GWH_DELIVERY;
}

bool gwh_signature_ok(const char *secret, const char *body, size_t len, const char *signature)
{
    if (!secret || !*secret || !signature || !*signature)
        return false;
    char want[65], got[65];
    hmac_sha256_hex(secret, strlen(secret), body, len, want);
    /* Lower-case a copy of the header (its length is public; only the content is compared). */
    size_t n = strnlen(signature, sizeof got - 1);
    for (size_t i = 0; i < n; i++)
        got[i] = (char)tolower((unsigned char)signature[i]);
    got[n] = '\0';
    bool whole = signature[n] == '\0';
    return ct_str_equal(want, got) && whole;
}

/* Fills e from one event object; the canonical dump is what is hashed and stored. */
static void event_init(gwh_event_t *e, json_t *obj)
{
    e->json = json_dumps(obj, JSON_SORT_KEYS | JSON_COMPACT);
    if (!e->json)
        abort();   /* only out of memory: an object always dumps */
    sha256_hex(e->json, strlen(e->json), e->sha);
    const char *gid = json_string_value(json_object_get(json_object_get(obj, "resource"), "gid"));
    e->resource_gid = gid && *gid ? xstrdup(gid) : NULL;
    e->obj = json_incref(obj);
}

int gwh_batch_parse(const char *body, size_t len, gwh_batch_t *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        snprintf(err, err_len, "malformed JSON: %s (line %d)", je.text, je.line);
        return -1;
    }
    json_t *events = json_object_get(root, "events");
    if (!json_is_array(events)) {
        snprintf(err, err_len, "no \"events\" array");
        json_decref(root);
        return -1;
    }
    size_t n = json_array_size(events);
    for (size_t i = 0; i < n; i++) {
        if (!json_is_object(json_array_get(events, i))) {
            snprintf(err, err_len, "event %zu is not an object", i);
            json_decref(root);
            return -1;
        }
    }
    out->ev = n ? xcalloc(n, sizeof *out->ev) : NULL;
    out->n = (int)n;
    for (size_t i = 0; i < n; i++)
        event_init(&out->ev[i], json_array_get(events, i));
    json_decref(root);
    return 0;
}

void gwh_batch_free(gwh_batch_t *b)
{
    for (int i = 0; i < b->n; i++) {
        free(b->ev[i].json);
        free(b->ev[i].resource_gid);
        json_decref(b->ev[i].obj);
    }
    free(b->ev);
    memset(b, 0, sizeof *b);
}

void gwh_job_id(const gwh_event_t *e, char out[21])
{
    snprintf(out, 21, "evt:%.16s", e->sha);
}
