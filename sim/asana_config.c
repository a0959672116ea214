/* asana_config: see asana_config.h. */
#include "asana_config.h"

#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const asana_project_cfg_t default_projects[] = {
    { 1200000000000101ULL, "IFS Procurement" },
    { 1200000000000102ULL, "M3 Procurement" },
    { 1200000000000103ULL, "SyteLine Procurement" },
};

/* Integer members and their ranges. */
static const struct {
    const char *name;
    size_t      off;
    int         lo, hi;
} int_members[] = {
    { "rate_per_min",         offsetof(asana_config_t, rate_per_min),         0, 1000000 },
    { "write_concurrency",    offsetof(asana_config_t, write_concurrency),    0, 100000 },
    { "read_concurrency",     offsetof(asana_config_t, read_concurrency),     0, 100000 },
    { "latency_ms",           offsetof(asana_config_t, latency_ms),           0, 600000 },
    { "fail_429_pct",         offsetof(asana_config_t, fail_429_pct),         0, 100 },
    { "fail_5xx_pct",         offsetof(asana_config_t, fail_5xx_pct),         0, 100 },
    { "fail_after_write_pct", offsetof(asana_config_t, fail_after_write_pct), 0, 100 },
    { "webhook_failure_window_s", offsetof(asana_config_t, webhook_failure_window_s), 1,
      30 * 86400 },
    { "webhook_retry_base_ms", offsetof(asana_config_t, webhook_retry_base_ms), 1, 3600000 },
};

/* Boolean members. */
static const struct {
    const char *name;
    size_t      off;
} bool_members[] = {
    { "premium",             offsetof(asana_config_t, premium) },
    { "drop_webhook_events", offsetof(asana_config_t, drop_webhook_events) },
    { "webhook_sign_wrong",  offsetof(asana_config_t, webhook_sign_wrong) },
};

static char **strv_dup(char *const *v, size_t n)
{
    char **out = xcalloc(n + 1, sizeof *out);
    for (size_t i = 0; i < n; i++)
        out[i] = xstrdup(v[i]);
    return out;
}

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

static void config_copy(asana_config_t *dst, const asana_config_t *src)
{
    *dst = *src;
    dst->tokens = strv_dup(src->tokens, src->ntokens);
    dst->workspace_name = xstrdup(src->workspace_name);
    dst->projects = xcalloc(src->nprojects + 1, sizeof *dst->projects);
    for (size_t i = 0; i < src->nprojects; i++) {
        dst->projects[i].gid = src->projects[i].gid;
        dst->projects[i].name = xstrdup(src->projects[i].name);
    }
    dst->reject_enum_option_names = strv_dup(src->reject_enum_option_names, src->nreject);
}

void asana_config_defaults(asana_config_t *c)
{
    static char *const tokens[] = { "demo-pat" };
    asana_config_t d = {
        .tokens = (char **)tokens,
        .ntokens = 1,
        .workspace_gid = 1200000000000001ULL,
        .workspace_name = "Demo Workspace",
        .projects = (asana_project_cfg_t *)default_projects,
        .nprojects = sizeof default_projects / sizeof default_projects[0],
        .premium = true,
        .write_concurrency = 15,
        .read_concurrency = 50,
        .gid_start = 1200000000010000ULL,
        .webhook_failure_window_s = 86400,
        .webhook_retry_base_ms = 1000,
    };
    config_copy(c, &d);
}

void asana_config_free(asana_config_t *c)
{
    strv_free(c->tokens, c->ntokens);
    free(c->workspace_name);
    for (size_t i = 0; c->projects && i < c->nprojects; i++)
        free(c->projects[i].name);
    free(c->projects);
    strv_free(c->reject_enum_option_names, c->nreject);
    memset(c, 0, sizeof *c);
}

bool asana_config_has_token(const asana_config_t *c, const char *token)
{
    for (size_t i = 0; token && i < c->ntokens; i++)
        if (strcmp(c->tokens[i], token) == 0)
            return true;
    return false;
}

static int fail(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
    return -1;
}

/* A gid: a digit string of 1..19 digits (or, with allow_int, a positive JSON integer). */
static int parse_gid(const json_t *v, bool allow_int, uint64_t *out)
{
    if (allow_int && json_is_integer(v) && json_integer_value(v) > 0) {
        *out = (uint64_t)json_integer_value(v);
        return 0;
    }
    const char *s = json_string_value(v);
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 19 || strspn(s, "0123456789") != n)
        return -1;
    *out = strtoull(s, NULL, 10);
    return *out ? 0 : -1;
}

/* An array of strings into a fresh NUL-terminated vector. */
static int parse_strv(const json_t *v, char ***out, size_t *n)
{
    if (!json_is_array(v))
        return -1;
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        if (!json_is_string(e))
            return -1;
    }
    *n = json_array_size(v);
    *out = xcalloc(*n + 1, sizeof **out);
    json_array_foreach(v, i, e) {
        (*out)[i] = xstrdup(json_string_value(e));
    }
    return 0;
}

/* Adds or renames the projects of array v in c (replacing the list first when replace). */
static int parse_projects(asana_config_t *c, const json_t *v, bool replace, char *err,
                          size_t err_len)
{
    if (!json_is_array(v))
        return fail(err, err_len, "projects: expected an array of {\"gid\",\"name\"}");
    if (replace) {
        for (size_t i = 0; i < c->nprojects; i++)
            free(c->projects[i].name);
        c->nprojects = 0;
    }
    size_t i;
    json_t *p;
    json_array_foreach(v, i, p) {
        uint64_t gid;
        const char *name = json_string_value(json_object_get(p, "name"));
        if (!json_is_object(p) || json_object_size(p) != 2 || !name ||
            parse_gid(json_object_get(p, "gid"), false, &gid) != 0)
            return fail(err, err_len,
                        "projects[%zu]: expected {\"gid\": digit string, \"name\": string}", i);
        size_t j = 0;
        while (j < c->nprojects && c->projects[j].gid != gid)
            j++;
        if (j == c->nprojects) {
            c->projects = xrealloc(c->projects, (c->nprojects + 1) * sizeof *c->projects);
            c->projects[c->nprojects].gid = gid;
            c->projects[c->nprojects++].name = NULL;
        }
        free(c->projects[j].name);
        c->projects[j].name = xstrdup(name);
    }
    return 0;
}

/* Applies one member to c; 0, or -1 with err set. */
static int apply_member(asana_config_t *c, const char *key, const json_t *v, bool initial,
                        char *err, size_t err_len)
{
    for (size_t i = 0; i < sizeof int_members / sizeof int_members[0]; i++) {
        if (strcmp(key, int_members[i].name) != 0)
            continue;
        json_int_t n = json_integer_value(v);
        if (!json_is_integer(v) || n < int_members[i].lo || n > int_members[i].hi)
            return fail(err, err_len, "%s: expected an integer in %d..%d", key,
                        int_members[i].lo, int_members[i].hi);
        *(int *)((char *)c + int_members[i].off) = (int)n;
        return 0;
    }
    for (size_t i = 0; i < sizeof bool_members / sizeof bool_members[0]; i++) {
        if (strcmp(key, bool_members[i].name) != 0)
            continue;
        if (!json_is_boolean(v))
            return fail(err, err_len, "%s: expected true or false", key);
        *(bool *)((char *)c + bool_members[i].off) = json_is_true(v);
        return 0;
    }
    if (!initial && (strcmp(key, "workspace_gid") == 0 || strcmp(key, "workspace_name") == 0 ||
                     strcmp(key, "gid_start") == 0))
        return fail(err, err_len, "%s: cannot change at run time (restart the simulator)", key);
    if (strcmp(key, "tokens") == 0 || strcmp(key, "reject_enum_option_names") == 0) {
        bool tok = key[0] == 't';
        char **vec;
        size_t n;
        if (parse_strv(v, &vec, &n) != 0)
            return fail(err, err_len, "%s: expected an array of strings", key);
        strv_free(tok ? c->tokens : c->reject_enum_option_names, tok ? c->ntokens : c->nreject);
        *(tok ? &c->tokens : &c->reject_enum_option_names) = vec;
        *(tok ? &c->ntokens : &c->nreject) = n;
    } else if (strcmp(key, "workspace_gid") == 0) {
        if (parse_gid(v, false, &c->workspace_gid) != 0)
            return fail(err, err_len, "workspace_gid: expected a digit string");
    } else if (strcmp(key, "gid_start") == 0) {
        if (parse_gid(v, true, &c->gid_start) != 0)
            return fail(err, err_len, "gid_start: expected a positive integer or digit string");
    } else if (strcmp(key, "workspace_name") == 0) {
        if (!json_is_string(v))
            return fail(err, err_len, "workspace_name: expected a string");
        free(c->workspace_name);
        c->workspace_name = xstrdup(json_string_value(v));
    } else if (strcmp(key, "projects") == 0) {
        return parse_projects(c, v, initial, err, err_len);
    } else {
        return fail(err, err_len, "unknown config member \"%s\"", key);
    }
    return 0;
}

/* Checks what no single member can: gids distinct and below gid_start. */
static int validate(const asana_config_t *c, char *err, size_t err_len)
{
    if (c->workspace_gid >= c->gid_start)
        return fail(err, err_len, "workspace_gid must be below gid_start");
    for (size_t i = 0; i < c->nprojects; i++) {
        uint64_t g = c->projects[i].gid;
        if (g >= c->gid_start || g == c->workspace_gid)
            return fail(err, err_len,
                        "project %llu: gid must be below gid_start and differ from the "
                        "workspace", (unsigned long long)g);
    }
    return 0;
}

int asana_config_apply(asana_config_t *c, const char *json, bool initial, char *err,
                       size_t err_len)
{
    json_error_t je;
    json_t *root = json_loads(json ? json : "", 0, &je);
    if (!json_is_object(root)) {
        json_decref(root);
        return fail(err, err_len, "config is not a JSON object (%s)", je.text);
    }
    asana_config_t next;
    config_copy(&next, c);
    const char *key;
    json_t *v;
    int rc = 0;
    json_object_foreach(root, key, v) {
        if ((rc = apply_member(&next, key, v, initial, err, err_len)) != 0)
            break;
    }
    if (rc == 0)
        rc = validate(&next, err, err_len);
    json_decref(root);
    if (rc != 0) {
        asana_config_free(&next);
        return -1;
    }
    asana_config_free(c);
    *c = next;
    return 0;
}

static json_t *strv_json(char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *gid_json(uint64_t gid)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)gid);
    return json_string(buf);
}

char *asana_config_json(const asana_config_t *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "tokens", strv_json(c->tokens, c->ntokens));
    json_object_set_new(o, "workspace_gid", gid_json(c->workspace_gid));
    json_object_set_new(o, "workspace_name", json_string(c->workspace_name));
    json_t *projects = json_array();
    for (size_t i = 0; i < c->nprojects; i++)
        json_array_append_new(projects, json_pack("{s:o,s:s}", "gid",
                                                  gid_json(c->projects[i].gid), "name",
                                                  c->projects[i].name));
    json_object_set_new(o, "projects", projects);
    for (size_t i = 0; i < sizeof bool_members / sizeof bool_members[0]; i++)
        json_object_set_new(o, bool_members[i].name,
                            json_boolean(*(const bool *)((const char *)c + bool_members[i].off)));
    for (size_t i = 0; i < sizeof int_members / sizeof int_members[0]; i++)
        json_object_set_new(o, int_members[i].name,
                            json_integer(*(const int *)((const char *)c + int_members[i].off)));
    json_object_set_new(o, "reject_enum_option_names",
                        strv_json(c->reject_enum_option_names, c->nreject));
    json_object_set_new(o, "gid_start", gid_json(c->gid_start));
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return text;
}
