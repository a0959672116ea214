/* fields: see fields.h. */
#include "fields.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "keys.h"
#include "lock.h"
#include "log.h"
#include "util.h"

struct fields_cache {
    json_t *options;   /* "<field gid>\x1f<name>" -> option gid */
    json_t *fields;    /* "<tenant>\x1f<project>" -> {logical: [gid, type]} */
};

static const struct {
    field_id_t  id;
    const char *logical;
    const char *type;
} FIELD_DEFS[FIELD_COUNT] = {
    { FIELD_NUMBER_TEXT, "number", "text" },     { FIELD_ERP_KEY, "erp_key", "text" },
    { FIELD_SUPPLIER, "supplier", "enum" },      { FIELD_AMOUNT, "amount", "number" },
    { FIELD_CURRENCY, "currency", "enum" },      { FIELD_GL_ACCOUNT, "gl_account", "enum" },
    { FIELD_COST_CENTER, "cost_center", "enum" }, { FIELD_STATUS, "status", "enum" },
};

fields_cache_t *fields_cache_new(void)
{
    fields_cache_t *c = xcalloc(1, sizeof *c);
    c->options = json_object();
    c->fields = json_object();
    return c;
}

void fields_cache_destroy(fields_cache_t **c)
{
    if (!c || !*c)
        return;
    json_decref((*c)->options);
    json_decref((*c)->fields);
    free(*c);
    *c = NULL;
}

void fields_free(fields_t *f)
{
    for (int i = 0; i < FIELD_COUNT; i++) {
        free(f->gid[i]);
        free(f->type[i]);
    }
    memset(f, 0, sizeof *f);
}

static void append_page(void *ud, json_t *page)
{
    json_array_extend(ud, page);
}

/* Every element of a paginated list into out. 0 or -1 (res set). */
static int list_all(asana_t *a, const char *first_path, json_t *out, asana_res_t *res)
{
    return asana_each_page(a, first_path, append_page, out, res);
}

/* name -> {gid, subtype} of the project's fields and the workspace's fields. */
static int load_existing(asana_t *a, const tenant_cfg_t *t, json_t *in_project,
                         json_t *in_workspace, asana_res_t *res)
{
    char *p = xasprintf("/projects/%s/custom_field_settings?limit=100&opt_fields="
                        "custom_field.gid,custom_field.name,custom_field.resource_subtype",
                        t->asana_project);
    json_t *settings = json_array();
    int rc = list_all(a, p, settings, res);
    free(p);
    size_t i;
    json_t *s;
    json_array_foreach(settings, i, s) {
        json_t *cf = json_object_get(s, "custom_field");
        const char *name = json_string_value(json_object_get(cf, "name"));
        if (name)
            json_object_set(in_project, name, cf);
    }
    json_decref(settings);
    if (rc != 0)
        return -1;
    char *w = xasprintf("/workspaces/%s/custom_fields?limit=100&opt_fields=gid,name,resource_subtype",
                        t->asana_workspace);
    json_t *all = json_array();
    rc = list_all(a, w, all, res);
    free(w);
    json_array_foreach(all, i, s) {
        const char *name = json_string_value(json_object_get(s, "name"));
        if (name && !json_object_get(in_workspace, name))
            json_object_set(in_workspace, name, s);
    }
    json_decref(all);
    return rc;
}

/* Creates the field in the workspace. Returns its compact object (owned) or NULL. */
static json_t *create_field(asana_t *a, const tenant_cfg_t *t, const char *name, const char *type,
                            asana_res_t *res)
{
    json_t *data = json_pack("{s:s, s:s, s:s}", "workspace", t->asana_workspace, "name", name,
                             "resource_subtype", type);
    if (strcmp(type, "number") == 0) {
        json_object_set_new(data, "precision", json_integer(2));
        json_object_set_new(data, "format", json_string("currency"));
        json_object_set_new(data, "currency_code", json_string(t->currency_code));
    }
    if (asana_call(a, "POST", "/custom_fields", data, res) != 0)
        return NULL;
    json_t *cf = json_incref(res->data);
    asana_res_free(res);
    mlog(LOG_INFO, "asana.field_created", "tenant %s: created custom field \"%s\" (%s)", t->id,
         name, type);
    return cf;
}

static int add_to_project(asana_t *a, const tenant_cfg_t *t, const char *field_gid,
                          asana_res_t *res)
{
    char *p = xasprintf("/projects/%s/addCustomFieldSetting", t->asana_project);
    int rc = asana_call(a, "POST", p, json_pack("{s:s}", "custom_field", field_gid), res);
    free(p);
    asana_res_free(res);
    return rc;
}

/* Reads K_ASANA_FIELDS into out; returns how many logical fields were found. */
static int read_cached(asana_t *a, const tenant_cfg_t *t, fields_t *out)
{
    char *key = xasprintf(K_ASANA_FIELDS, t->id, t->asana_project);
    redisReply *rep = rds_cmd(a->redis, "HGETALL %s", key);
    free(key);
    int found = 0;
    for (size_t i = 0; rds_ok(rep) && rep->type == REDIS_REPLY_ARRAY && i + 1 < rep->elements; i += 2) {
        for (int f = 0; f < FIELD_COUNT; f++) {
            const char *name = json_string_value(json_object_get(t->asana_fields, FIELD_DEFS[f].logical));
            if (!name || strcmp(name, rep->element[i]->str) != 0 || out->gid[f])
                continue;
            char gid[64], type[16];
            if (sscanf(rep->element[i + 1]->str, "%63s %15s", gid, type) == 2) {
                out->gid[f] = xstrdup(gid);
                out->type[f] = xstrdup(type);
                found++;
            }
        }
    }
    if (rep)
        freeReplyObject(rep);
    return found;
}

/* Looks the fields up in Asana and creates the missing ones; caller holds the fields lock. */
static int discover(asana_t *a, const tenant_cfg_t *t, fields_t *out, asana_res_t *res)
{
    json_t *in_project = json_object(), *in_workspace = json_object();
    int rc = load_existing(a, t, in_project, in_workspace, res);
    char *key = xasprintf(K_ASANA_FIELDS, t->id, t->asana_project);
    for (int f = 0; rc == 0 && f < FIELD_COUNT; f++) {
        const char *name = json_string_value(json_object_get(t->asana_fields, FIELD_DEFS[f].logical));
        const char *want = FIELD_DEFS[f].type;
        json_t *cf = json_object_get(in_project, name);
        bool attached = cf != NULL;
        json_t *owned = NULL;
        if (!cf)
            cf = json_object_get(in_workspace, name);
        if (!cf)
            cf = owned = create_field(a, t, name, want, res);
        if (!cf && res->status == 400) {
            /* Created meanwhile by a process outside our lock (another connector install, an
             * admin): look again before giving up. */
            json_t *again = json_object(), *unused = json_object();
            if (load_existing(a, t, unused, again, res) == 0)
                cf = owned = json_incref(json_object_get(again, name));
            json_decref(again);
            json_decref(unused);
        }
        if (!cf) {
            rc = -1;
            break;
        }
        const char *type = json_string_value(json_object_get(cf, "resource_subtype"));
        const char *gid = json_string_value(json_object_get(cf, "gid"));
        if (!gid || !type || strcmp(type, want) != 0) {
            snprintf(res->error, sizeof res->error,
                     "asana custom field \"%s\" is of type %s, the connector needs %s: rename it or "
                     "set asana.fields.%s to another name", name, type ? type : "?", want,
                     FIELD_DEFS[f].logical);
            res->retryable = 0;
            json_decref(owned);
            rc = -1;
            break;
        }
        if (!attached && add_to_project(a, t, gid, res) != 0) {
            json_decref(owned);
            rc = -1;
            break;
        }
        char *value = xasprintf("%s %s", gid, type);
        redisReply *rep = rds_cmd(a->redis, "HSET %s %s %s", key, name, value);
        free(value);
        if (rep)
            freeReplyObject(rep);
        out->gid[f] = xstrdup(gid);
        out->type[f] = xstrdup(type);
        json_decref(owned);
    }
    free(key);
    json_decref(in_project);
    json_decref(in_workspace);
    return rc;
}

static void cache_fields(fields_cache_t *cache, const char *ckey, const fields_t *f)
{
    json_t *obj = json_object();
    for (int i = 0; i < FIELD_COUNT; i++)
        json_object_set_new(obj, FIELD_DEFS[i].logical, json_pack("[s,s]", f->gid[i], f->type[i]));
    json_object_set_new(cache->fields, ckey, obj);
}

static int from_thread_cache(fields_cache_t *cache, const char *ckey, fields_t *out)
{
    json_t *obj = json_object_get(cache->fields, ckey);
    if (!obj)
        return 0;
    for (int i = 0; i < FIELD_COUNT; i++) {
        json_t *pair = json_object_get(obj, FIELD_DEFS[i].logical);
        out->gid[i] = xstrdup(json_string_value(json_array_get(pair, 0)));
        out->type[i] = xstrdup(json_string_value(json_array_get(pair, 1)));
    }
    return 1;
}

int fields_resolve(asana_t *a, const tenant_cfg_t *t, fields_cache_t *cache, fields_t *out,
                   asana_res_t *res)
{
    memset(out, 0, sizeof *out);
    memset(res, 0, sizeof *res);
    char *ckey = xasprintf("%s\x1f%s", t->id, t->asana_project);
    int rc = 0;
    if (from_thread_cache(cache, ckey, out))
        goto done;
    /* Per workspace: tenants sharing a workspace must not create a field twice. */
    char *lock_key = xasprintf(K_ASANA_WS_LOCK, t->asana_workspace);
    int64_t deadline = mono_ms() + 30000;
    for (;;) {
        if (read_cached(a, t, out) == FIELD_COUNT)
            break;
        fields_free(out);
        int unreachable = 0;
        char *owner = lock_try(a->redis, lock_key, 30000, &unreachable);
        if (owner) {
            if (read_cached(a, t, out) != FIELD_COUNT) {
                fields_free(out);
                rc = discover(a, t, out, res);
            }
            lock_release(a->redis, lock_key, owner);
            break;
        }
        if (unreachable || mono_ms() > deadline) {
            snprintf(res->error, sizeof res->error, unreachable ? "redis unreachable"
                     : "timed out waiting for another writer to resolve the custom fields");
            res->retryable = 1;
            rc = -1;
            break;
        }
        sleep_ms(50);
    }
    free(lock_key);
    if (rc == 0)
        cache_fields(cache, ckey, out);
    else
        fields_free(out);
done:
    free(ckey);
    return rc;
}

/* HGET of one cached option; malloc'd gid or NULL. */
static char *option_cached(rds_t *r, const char *key, const char *name)
{
    redisReply *rep = rds_cmd(r, "HGET %s %s", key, name);
    char *gid = rds_ok(rep) && rep->type == REDIS_REPLY_STRING ? xstrdup(rep->str) : NULL;
    if (rep)
        freeReplyObject(rep);
    return gid;
}

/* Stores every option Asana has for the field; returns the gid of name when among them. */
static char *refresh_options(asana_t *a, const char *key, const char *field_gid, const char *name,
                             asana_res_t *res)
{
    char *p = xasprintf("/custom_fields/%s?opt_fields=enum_options.gid,enum_options.name,"
                        "enum_options.enabled", field_gid);
    int rc = asana_call(a, "GET", p, NULL, res);
    free(p);
    if (rc != 0)
        return NULL;
    char *found = NULL;
    size_t i;
    json_t *opt;
    json_array_foreach(json_object_get(res->data, "enum_options"), i, opt) {
        const char *n = json_string_value(json_object_get(opt, "name"));
        const char *g = json_string_value(json_object_get(opt, "gid"));
        if (!n || !g || json_is_false(json_object_get(opt, "enabled")))
            continue;
        redisReply *rep = rds_cmd(a->redis, "HSETNX %s %s %s", key, n, g);
        if (rep)
            freeReplyObject(rep);
        if (!found && strcmp(n, name) == 0)
            found = xstrdup(g);
    }
    asana_res_free(res);
    return found;
}

char *enum_option(asana_t *a, const char *tenant, const char *field_gid, const char *name,
                  fields_cache_t *cache, asana_res_t *res)
{
    memset(res, 0, sizeof *res);
    char *ckey = xasprintf("%s\x1f%s", field_gid, name);
    const char *hit = json_string_value(json_object_get(cache->options, ckey));
    if (hit) {
        free(ckey);
        return xstrdup(hit);
    }
    /* Per field, not per tenant: tenants sharing a workspace share its fields' options. */
    char *key = xasprintf(K_ASANA_ENUM, field_gid);
    char name_hash[65];
    sha256_hex(name, strlen(name), name_hash);
    char *lock_key = xasprintf(K_ASANA_ENUM_LOCK, field_gid, name_hash);
    char *gid = NULL;
    int64_t deadline = mono_ms() + 20000;
    while (!(gid = option_cached(a->redis, key, name))) {
        int unreachable = 0;
        char *owner = lock_try(a->redis, lock_key, 20000, &unreachable);
        if (owner) {
            gid = option_cached(a->redis, key, name);
            if (!gid)
                gid = refresh_options(a, key, field_gid, name, res);
            if (!gid && !res->error[0]) {
                char *p = xasprintf("/custom_fields/%s/enum_options", field_gid);
                if (asana_call(a, "POST", p, json_pack("{s:s}", "name", name), res) == 0) {
                    const char *g = json_string_value(json_object_get(res->data, "gid"));
                    if (g) {
                        gid = xstrdup(g);
                        redisReply *rep = rds_cmd(a->redis, "HSET %s %s %s", key, name, g);
                        if (rep)
                            freeReplyObject(rep);
                    }
                }
                free(p);
                asana_res_free(res);
            }
            lock_release(a->redis, lock_key, owner);
            break;
        }
        if (unreachable || mono_ms() > deadline) {
            if (unreachable)
                snprintf(res->error, sizeof res->error, "redis unreachable");
            else
                snprintf(res->error, sizeof res->error,
                         "timed out waiting for another writer to create enum option \"%s\"", name);
            res->retryable = 1;
            break;
        }
        sleep_ms(20);
    }
    if (gid)
        json_object_set_new(cache->options, ckey, json_string(gid));
    free(ckey);
    free(key);
    free(lock_key);
    return gid;
}
