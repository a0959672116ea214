/* ionapi: see ionapi.h. */
#include "ionapi.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "util.h"

typedef enum { PLAIN, URL, SEGMENT } value_rule_t;

/* Every member ionapi_t names, where it goes and what it must look like. */
typedef struct {
    const char  *name;
    size_t       offset;
    bool         required;
    bool         secret;
    bool         identity;  /* part of who the token is issued to (ionapi_identity_differs) */
    value_rule_t rule;
} member_t;

static const member_t MEMBERS[] = {
    { "ti",   offsetof(ionapi_t, ti),      true,  false, true,  SEGMENT },
    { "cn",   offsetof(ionapi_t, cn),      false, false, false, PLAIN },
    { "ci",   offsetof(ionapi_t, ci),      true,  false, true,  PLAIN },
    { "cs",   offsetof(ionapi_t, cs),      true,  true,  true,  PLAIN },
    { "iu",   offsetof(ionapi_t, iu),      true,  false, false, URL },
    { "pu",   offsetof(ionapi_t, pu),      true,  false, true,  URL },
    { "oa",   offsetof(ionapi_t, oa),      false, false, false, URL },
    { "ot",   offsetof(ionapi_t, ot),      true,  false, true,  URL },
    { "or",   offsetof(ionapi_t, or_path), false, false, false, URL },
    { "saak", offsetof(ionapi_t, saak),    true,  false, true,  PLAIN },
    { "sask", offsetof(ionapi_t, sask),    true,  true,  true,  PLAIN },
};
#define NMEMBERS (sizeof MEMBERS / sizeof MEMBERS[0])

static char **slot(ionapi_t *a, const member_t *m)
{
    return (char **)((char *)a + m->offset);
}

static const char *value(const ionapi_t *a, const member_t *m)
{
    return *(char *const *)((const char *)a + m->offset);
}

/* True when s holds no control character, space or backslash: safe inside a URL we build. */
static bool url_safe(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= ' ' || *p == 0x7f || *p == '\\')
            return false;
    return true;
}

/* What is wrong with the shape of a URL or SEGMENT value s, or NULL. iu and pu are absolute
 * http(s) URLs with a host; the paths (oa ot or) are appended to pu, so they only must be URL-safe; ti
 * becomes one path segment of every API URL. */
static const char *shape_problem(const member_t *m, const char *s)
{
    if (m->rule == URL) {
        bool absolute = strcmp(m->name, "iu") == 0 || strcmp(m->name, "pu") == 0;
        if (!url_safe(s))
            return "must not contain spaces or control characters";
        const char *host = str_starts(s, "http://") ? s + 7 : str_starts(s, "https://") ? s + 8 : NULL;
        if (absolute && (!host || !*host || strchr("/?#", *host)))
            return "must be an http(s) URL";
    } else if (m->rule == SEGMENT) {
        if (strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.~") !=
                strlen(s) || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
            return "must consist of letters, digits and _-.~";
    }
    return NULL;
}

int ionapi_parse(const json_t *obj, const char *path, ionapi_t *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(obj)) {
        snprintf(err, err_len, "%s: must be a JSON object", path);
        return -1;
    }
    for (size_t i = 0; i < NMEMBERS; i++) {
        const member_t *m = &MEMBERS[i];
        const json_t *v = json_object_get(obj, m->name);
        char got[64];
        if (!v) {
            if (!m->required)
                continue;
            snprintf(err, err_len, "%s.%s: missing", path, m->name);
            goto fail;
        }
        if (!json_is_string(v)) {
            if (m->secret)
                snprintf(err, err_len, "%s.%s: must be a string", path, m->name);
            else
                snprintf(err, err_len, "%s.%s: must be a string (got %s)", path, m->name,
                         json_describe(v, got, sizeof got));
            goto fail;
        }
        const char *s = json_string_value(v);
        const char *problem = !*s ? "must not be empty"
                              : strlen(s) > IONAPI_MAX_VALUE ? "is too long" : NULL;
        if (problem) {
            snprintf(err, err_len, "%s.%s: %s", path, m->name, problem);
            goto fail;
        }
        if ((problem = shape_problem(m, s))) { /* shapes are checked on non-secrets only */
            snprintf(err, err_len, "%s.%s: %s (got %s)", path, m->name, problem,
                     json_describe(v, got, sizeof got));
            goto fail;
        }
        *slot(out, m) = xstrdup(json_string_value(v));
    }
    out->raw = json_deep_copy(obj);
    return 0;
fail:
    ionapi_free(out);
    return -1;
}

void ionapi_free(ionapi_t *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < NMEMBERS; i++)
        free(*slot(a, &MEMBERS[i]));
    json_decref(a->raw);
    memset(a, 0, sizeof *a);
}

/* base + "/" + tail with exactly one slash where they meet. Caller frees. */
static char *join_url(const char *base, const char *tail)
{
    size_t n = strlen(base);
    while (n && base[n - 1] == '/')
        n--;
    while (*tail == '/')
        tail++;
    return xasprintf("%.*s/%s", (int)n, base, tail);
}

char *ionapi_token_url(const ionapi_t *a)
{
    return join_url(a->pu, a->ot);
}

char *ionapi_revoke_url(const ionapi_t *a)
{
    return a->or_path ? join_url(a->pu, a->or_path) : NULL;
}

char *ionapi_api_base(const ionapi_t *a)
{
    return join_url(a->iu, a->ti);
}

int ionapi_identity_differs(const ionapi_t *a, const ionapi_t *b)
{
    for (size_t i = 0; i < NMEMBERS; i++) {
        const char *x = value(a, &MEMBERS[i]), *y = value(b, &MEMBERS[i]);
        if (MEMBERS[i].identity && (!x || !y ? x != y : strcmp(x, y) != 0))
            return 1;
    }
    return 0;
}
