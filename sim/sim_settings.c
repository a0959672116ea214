/* sim_settings: see sim_settings.h. */
#include "sim_settings.h"

#include <stdio.h>
#include <string.h>

int sim_setting_apply(const sim_setting_t *defs, void *settings, const char *name,
                      const json_t *v, char *err, size_t err_len)
{
    for (const sim_setting_t *d = defs; d->name; d++) {
        if (strcmp(name, d->name) != 0)
            continue;
        char *member = (char *)settings + d->offset;
        if (d->is_bool) {
            if (!json_is_boolean(v)) {
                snprintf(err, err_len, "%s: must be true or false", name);
                return -1;
            }
            *(bool *)member = json_is_true(v);
            return 1;
        }
        json_int_t n = json_is_integer(v) ? json_integer_value(v) : 0;
        if (!json_is_integer(v) || n < d->min || n > d->max) {
            snprintf(err, err_len, "%s: must be an integer from %ld to %ld", name, d->min,
                     d->max);
            return -1;
        }
        *(long *)member = (long)n;
        return 1;
    }
    return 0;
}

int sim_settings_update(const sim_setting_t *defs, void *settings, const json_t *obj,
                        char *err, size_t err_len)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        int r = sim_setting_apply(defs, settings, k, v, err, err_len);
        if (r == 0) {
            char names[512];
            snprintf(err, err_len, "%s: not a runtime setting (known: %s)", k,
                     sim_settings_names(defs, names, sizeof names));
        }
        if (r <= 0)
            return -1;
    }
    return 0;
}

json_t *sim_settings_json(const sim_setting_t *defs, const void *settings)
{
    json_t *j = json_object();
    for (const sim_setting_t *d = defs; d->name; d++) {
        const char *member = (const char *)settings + d->offset;
        json_object_set_new(j, d->name, d->is_bool ? json_boolean(*(const bool *)member)
                                                   : json_integer(*(const long *)member));
    }
    return j;
}

char *sim_settings_names(const sim_setting_t *defs, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (const sim_setting_t *d = defs; d->name && used < len; d++) {
        int n = snprintf(buf + used, len - used, "%s%s", used ? " " : "", d->name);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    return buf;
}
