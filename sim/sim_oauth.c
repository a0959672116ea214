/* sim_oauth: see sim_oauth.h. */
#include "sim_oauth.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto.h"
#include "util.h"

bool sim_oauth_is_form(const char *content_type)
{
    return content_type &&
           strncasecmp(content_type, "application/x-www-form-urlencoded", 33) == 0 &&
           (content_type[33] == '\0' || content_type[33] == ';' || content_type[33] == ' ');
}

char *sim_oauth_form_field(const char *body, const char *name)
{
    size_t nlen = strlen(name);
    for (const char *p = body; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
            char *raw = xasprintf("%.*s", (int)(len - nlen - 1), p + nlen + 1);
            char *val = url_decode(raw, true);
            free(raw);
            return val;
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

int sim_oauth_basic(const char *authorization, char **id, char **secret)
{
    if (!authorization || strncasecmp(authorization, "Basic ", 6) != 0)
        return -1;
    size_t len;
    uint8_t *raw = b64_decode(authorization + 6, &len);
    if (!raw)
        return -1;
    char *text = xasprintf("%.*s", (int)len, (const char *)raw);
    free(raw);
    char *colon = strchr(text, ':');
    int rc = -1;
    if (colon) {
        *colon = '\0';
        *id = url_decode(text, true);
        *secret = url_decode(colon + 1, true);
        rc = *id && *secret ? 0 : -1;
        if (rc) {
            free(*id);
            free(*secret);
            *id = *secret = NULL;
        }
    }
    free(text);
    return rc;
}

const char *sim_oauth_bearer(const char *authorization)
{
    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
        return NULL;
    const char *token = authorization + 7;
    while (*token == ' ')
        token++;
    return *token ? token : NULL;
}

char *sim_oauth_error(const char *error, const char *description)
{
    json_t *j = json_pack("{s:s,s:s}", "error", error, "error_description", description);
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return text;
}
