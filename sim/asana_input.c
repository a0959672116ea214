/* asana_input: see asana_input.h. */
#include "asana_input.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int as_fail(as_err_t *e, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    e->status = status;
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}

const char *as_cf_type_name(as_cf_type_t t)
{
    static const char *const names[] = { "text", "number", "enum" };
    return names[t];
}

int as_gid_parse(const char *s, uint64_t *out)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 19 || strspn(s, "0123456789") != n)
        return -1;
    *out = strtoull(s, NULL, 10);
    return *out ? 0 : -1;
}

const char *as_shown(const json_t *v, char *buf, size_t len)
{
    if (json_is_string(v)) {
        snprintf(buf, len, "%s", json_string_value(v));
        return buf;
    }
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    snprintf(buf, len, "%s", text ? text : "?");
    free(text);
    return buf;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER:
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    default: return "null";
    }
}

int as_input_gid(const json_t *v, const char *what, uint64_t *out, as_err_t *err)
{
    char buf[96];
    if (!json_is_string(v))
        return as_fail(err, 400, "%s: Not a valid GID type: %s", what, type_name(v));
    if (as_gid_parse(json_string_value(v), out) != 0)
        return as_fail(err, 400, "%s: Not a recognized ID: %s", what, as_shown(v, buf, sizeof buf));
    return 0;
}

static int want_string(const json_t *v, const char *what, const char **out, as_err_t *err)
{
    char buf[96];
    if (!json_is_string(v))
        return as_fail(err, 400, "%s: Value is not a string: %s", what,
                       as_shown(v, buf, sizeof buf));
    *out = json_string_value(v);
    return 0;
}

/* A string, or null (then *out = NULL). */
static int want_string_or_null(const json_t *v, const char *what, const char **out,
                               as_err_t *err)
{
    if (json_is_null(v)) {
        *out = NULL;
        return 0;
    }
    return want_string(v, what, out, err);
}

static int want_bool(const json_t *v, const char *what, bool *out, as_err_t *err)
{
    char buf[96];
    if (!json_is_boolean(v))
        return as_fail(err, 400, "%s: Value is not a boolean: %s", what,
                       as_shown(v, buf, sizeof buf));
    *out = json_is_true(v);
    return 0;
}

/* v must be one of the NULL-terminated words. */
static int want_word(const json_t *v, const char *what, const char *const *words,
                     const char **out, as_err_t *err)
{
    if (want_string(v, what, out, err) != 0)
        return -1;
    for (size_t i = 0; words[i]; i++)
        if (strcmp(*out, words[i]) == 0)
            return 0;
    char list[256] = "";
    for (size_t i = 0; words[i]; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                 words[i]);
    return as_fail(err, 400, "%s: Value must be one of %s, not: %s", what, list, *out);
}

json_t *as_input_body(const char *body, size_t len, json_t **data, char **opt_fields,
                      as_err_t *err)
{
    *data = NULL;
    *opt_fields = NULL;
    json_t *root = json_loadb(body ? body : "", body ? len : 0, 0, NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        as_fail(err, 400, "Could not parse request data, invalid JSON");
        return NULL;
    }
    const char *key;
    json_t *v;
    char buf[96];
    json_object_foreach(root, key, v) {
        if (strcmp(key, "data") != 0 && strcmp(key, "options") != 0) {
            as_fail(err, 400,
                    "Unrecognized request field '%s'. The only allowed keys at the top level "
                    "are: data, options.", key);
            goto bad;
        }
    }
    *data = json_object_get(root, "data");
    if (!*data) {
        as_fail(err, 400, "data: Missing input");
        goto bad;
    }
    if (!json_is_object(*data)) {
        as_fail(err, 400, "data: Value is not a JSON object: %s", as_shown(*data, buf, sizeof buf));
        goto bad;
    }
    json_t *options = json_object_get(root, "options");
    if (options) {
        if (!json_is_object(options)) {
            as_fail(err, 400, "options: Value is not a JSON object: %s",
                    as_shown(options, buf, sizeof buf));
            goto bad;
        }
        json_object_foreach(options, key, v) {
            if (strcmp(key, "pretty") == 0)
                continue;
            if (strcmp(key, "fields") != 0) {
                as_fail(err, 400, "options: %s: Unrecognized property", key);
                goto bad;
            }
            buf_t list;
            buf_init(&list);
            size_t i;
            json_t *f;
            json_array_foreach(v, i, f) {
                if (!json_is_string(f))
                    break;
                buf_appendf(&list, "%s%s", i ? "," : "", json_string_value(f));
            }
            if (!json_is_array(v) || i < json_array_size(v)) {
                buf_free(&list);
                as_fail(err, 400, "options: fields: Value is not an array of strings");
                goto bad;
            }
            free(*opt_fields);
            *opt_fields = list.data ? buf_steal(&list) : xstrdup("");
        }
    }
    return root;
bad:
    free(*opt_fields);
    *opt_fields = NULL;
    *data = NULL;
    json_decref(root);
    return NULL;
}

/* ---- property tables ---------------------------------------------------------------------- */

enum {
    P_SERVED = 0,
    P_READ_ONLY = 1,     /* Asana computes it */
    P_CREATE_ONLY = 2,   /* refused on update */
    P_NOT_SERVED = 4,    /* Asana takes it; the simulator does not */
};

typedef struct {
    const char *name;
    int         kind;
} prop_t;

/* Refuses members of data that are unknown, read-only, create-only on update or not served. */
static int check_props(const json_t *data, const prop_t *props, bool update, as_err_t *err)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)data, key, v) {
        const prop_t *p = props;
        while (p->name && strcmp(p->name, key) != 0)
            p++;
        if (!p->name)
            return as_fail(err, 400, "%s: Unrecognized property", key);
        if ((p->kind & P_READ_ONLY) || (update && (p->kind & P_CREATE_ONLY)))
            return as_fail(err, 400, "%s: Cannot write this property", key);
        if (p->kind & P_NOT_SERVED)
            return as_fail(err, 400, "%s: Not served by the Asana simulator", key);
    }
    return 0;
}

static const prop_t task_props[] = {
    { "name", P_SERVED }, { "notes", P_SERVED }, { "completed", P_SERVED },
    { "due_on", P_SERVED }, { "due_at", P_SERVED }, { "custom_fields", P_SERVED },
    { "resource_subtype", P_SERVED },
    { "projects", P_CREATE_ONLY }, { "workspace", P_CREATE_ONLY },
    { "memberships", P_CREATE_ONLY | P_NOT_SERVED }, { "followers", P_CREATE_ONLY | P_NOT_SERVED },
    { "tags", P_CREATE_ONLY | P_NOT_SERVED },
    { "assignee", P_NOT_SERVED }, { "assignee_section", P_NOT_SERVED },
    { "assignee_status", P_NOT_SERVED }, { "approval_status", P_NOT_SERVED },
    { "external", P_NOT_SERVED }, { "html_notes", P_NOT_SERVED }, { "liked", P_NOT_SERVED },
    { "parent", P_NOT_SERVED }, { "start_at", P_NOT_SERVED }, { "start_on", P_NOT_SERVED },
    { "custom_type", P_NOT_SERVED }, { "custom_type_status_option", P_NOT_SERVED },
    { "gid", P_READ_ONLY }, { "resource_type", P_READ_ONLY }, { "created_at", P_READ_ONLY },
    { "modified_at", P_READ_ONLY }, { "completed_at", P_READ_ONLY },
    { "completed_by", P_READ_ONLY }, { "created_by", P_READ_ONLY },
    { "assigned_by", P_READ_ONLY }, { "dependencies", P_READ_ONLY },
    { "dependents", P_READ_ONLY }, { "hearted", P_READ_ONLY }, { "hearts", P_READ_ONLY },
    { "likes", P_READ_ONLY }, { "num_hearts", P_READ_ONLY }, { "num_likes", P_READ_ONLY },
    { "num_subtasks", P_READ_ONLY }, { "is_rendered_as_separator", P_READ_ONLY },
    { "actual_time_minutes", P_READ_ONLY }, { "permalink_url", P_READ_ONLY },
    { NULL, 0 },
};

static const prop_t field_props[] = {
    { "workspace", P_SERVED }, { "name", P_SERVED }, { "resource_subtype", P_SERVED },
    { "description", P_SERVED }, { "enum_options", P_SERVED }, { "precision", P_SERVED },
    { "format", P_SERVED }, { "currency_code", P_SERVED }, { "custom_label", P_SERVED },
    { "custom_label_position", P_SERVED }, { "has_notifications_enabled", P_SERVED },
    { "owned_by_app", P_NOT_SERVED }, { "people_value", P_NOT_SERVED },
    { "reference_value", P_NOT_SERVED }, { "privacy_setting", P_NOT_SERVED },
    { "default_access_level", P_NOT_SERVED }, { "input_restrictions", P_NOT_SERVED },
    { "id_prefix", P_NOT_SERVED }, { "is_formula_field", P_NOT_SERVED },
    { "date_value", P_NOT_SERVED }, { "enum_value", P_NOT_SERVED },
    { "multi_enum_values", P_NOT_SERVED }, { "number_value", P_NOT_SERVED },
    { "text_value", P_NOT_SERVED },
    { "gid", P_READ_ONLY }, { "resource_type", P_READ_ONLY }, { "type", P_READ_ONLY },
    { "enabled", P_READ_ONLY }, { "display_value", P_READ_ONLY },
    { "representation_type", P_READ_ONLY }, { "is_global_to_workspace", P_READ_ONLY },
    { "created_by", P_READ_ONLY }, { "asana_created_field", P_READ_ONLY },
    { "is_value_read_only", P_READ_ONLY }, { "html_text_value", P_READ_ONLY },
    { NULL, 0 },
};

static const prop_t option_props[] = {
    { "name", P_SERVED }, { "color", P_SERVED }, { "enabled", P_SERVED },
    { "insert_before", P_CREATE_ONLY }, { "insert_after", P_CREATE_ONLY },
    { "gid", P_READ_ONLY }, { "resource_type", P_READ_ONLY },
    { NULL, 0 },
};

static const prop_t setting_props[] = {
    { "custom_field", P_SERVED }, { "is_important", P_SERVED },
    { "insert_before", P_SERVED }, { "insert_after", P_SERVED },
    { NULL, 0 },
};

/* ---- tasks -------------------------------------------------------------------------------- */

static int task_projects(const json_t *v, as_task_input_t *in, as_err_t *err)
{
    char buf[96];
    if (!json_is_array(v))
        return as_fail(err, 400, "projects: Value is not an array: %s",
                       as_shown(v, buf, sizeof buf));
    in->nprojects = json_array_size(v);
    in->projects = xcalloc(in->nprojects + 1, sizeof *in->projects);
    for (size_t i = 0; i < in->nprojects; i++) {
        char what[48];
        snprintf(what, sizeof what, "projects: [%zu]", i);
        if (as_input_gid(json_array_get(v, i), what, &in->projects[i], err) != 0)
            return -1;
    }
    return 0;
}

static int task_custom_fields(const json_t *v, as_task_input_t *in, as_err_t *err)
{
    char buf[96];
    if (!json_is_object(v))
        return as_fail(err, 400, "custom_fields: Value is not a JSON object: %s",
                       as_shown(v, buf, sizeof buf));
    in->cfs = xcalloc(json_object_size(v) + 1, sizeof *in->cfs);
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)v, key, val) {
        as_cf_input_t *cf = &in->cfs[in->ncfs++];
        if (as_gid_parse(key, &cf->field) != 0)
            return as_fail(err, 400, "custom_fields: Not a recognized ID: %s", key);
        cf->value = val;
    }
    return 0;
}

static int task_dates(const json_t *data, as_task_input_t *in, as_err_t *err)
{
    const json_t *on = json_object_get(data, "due_on"), *at = json_object_get(data, "due_at");
    if (on && at)
        return as_fail(err, 400, "You may only provide one of due_on or due_at!");
    char buf[96];
    if (on) {
        in->has_due_on = true;
        if (want_string_or_null(on, "due_on", &in->due_on, err) != 0)
            return -1;
        if (in->due_on && (strlen(in->due_on) != 10 || parse_iso8601(in->due_on) < 0))
            return as_fail(err, 400,
                           "due_on: Date must be in ISO-8601 (yyyy-mm-dd) format, not: %s",
                           as_shown(on, buf, sizeof buf));
    }
    if (at) {
        const char *s = NULL;
        in->has_due_at = true;
        if (want_string_or_null(at, "due_at", &s, err) != 0)
            return -1;
        in->due_at_ms = s ? parse_iso8601(s) : -1;
        if (s && (strlen(s) <= 10 || in->due_at_ms < 0))
            return as_fail(err, 400, "due_at: Date-time must be in ISO-8601 format, not: %s", s);
    }
    return 0;
}

int as_input_task(const json_t *data, bool create, as_task_input_t *in, as_err_t *err)
{
    static const char *const subtypes[] = { "default_task", "milestone", NULL };
    memset(in, 0, sizeof *in);
    in->due_at_ms = -1;
    const json_t *v;
    int rc = check_props(data, task_props, !create, err);
    if (rc == 0 && (v = json_object_get(data, "name")))
        in->has_name = (rc = want_string(v, "name", &in->name, err)) == 0;
    if (rc == 0 && (v = json_object_get(data, "notes")))
        in->has_notes = (rc = want_string(v, "notes", &in->notes, err)) == 0;
    if (rc == 0 && (v = json_object_get(data, "completed")))
        in->has_completed = (rc = want_bool(v, "completed", &in->completed, err)) == 0;
    if (rc == 0 && (v = json_object_get(data, "resource_subtype")))
        in->has_subtype = (rc = want_word(v, "resource_subtype", subtypes, &in->subtype,
                                          err)) == 0;
    if (rc == 0)
        rc = task_dates(data, in, err);
    if (rc == 0 && (v = json_object_get(data, "projects")))
        rc = task_projects(v, in, err);
    if (rc == 0 && (v = json_object_get(data, "workspace")))
        rc = as_input_gid(v, "workspace", &in->workspace, err);
    if (rc == 0 && (v = json_object_get(data, "custom_fields")))
        rc = task_custom_fields(v, in, err);
    if (rc == 0 && create && in->nprojects == 0 && in->workspace == 0)
        rc = as_fail(err, 400, "You should specify one of workspace, parent, projects");
    if (rc != 0)
        as_task_input_free(in);
    return rc;
}

void as_task_input_free(as_task_input_t *in)
{
    free(in->projects);
    free(in->cfs);
    in->projects = NULL;
    in->cfs = NULL;
    in->nprojects = in->ncfs = 0;
}

/* ---- enum options, custom fields, settings ------------------------------------------------ */

/* Parses an option object; prefix names it in messages ("" or "enum_options: [i]: "). */
static int option_parse(const json_t *data, bool create, const char *prefix,
                        as_option_input_t *in, as_err_t *err)
{
    memset(in, 0, sizeof *in);
    char what[64];
    const json_t *v;
    if (check_props(data, option_props, !create, err) != 0) {
        if (*prefix) {
            char inner[sizeof err->msg];
            snprintf(inner, sizeof inner, "%s", err->msg);
            as_fail(err, 400, "%s%s", prefix, inner);
        }
        return -1;
    }
    if ((v = json_object_get(data, "name"))) {
        snprintf(what, sizeof what, "%sname", prefix);
        if (want_string(v, what, &in->name, err) != 0)
            return -1;
    }
    if (create && (!in->name || !*in->name))
        return as_fail(err, 400, "%sname: Missing input", prefix);
    if ((v = json_object_get(data, "color"))) {
        snprintf(what, sizeof what, "%scolor", prefix);
        if (want_string(v, what, &in->color, err) != 0)
            return -1;
    }
    if ((v = json_object_get(data, "enabled"))) {
        snprintf(what, sizeof what, "%senabled", prefix);
        if (want_bool(v, what, &in->enabled, err) != 0)
            return -1;
        in->has_enabled = true;
    }
    if ((v = json_object_get(data, "insert_before")) &&
        as_input_gid(v, "insert_before", &in->insert_before, err) != 0)
        return -1;
    if ((v = json_object_get(data, "insert_after")) &&
        as_input_gid(v, "insert_after", &in->insert_after, err) != 0)
        return -1;
    if (in->insert_before && in->insert_after)
        return as_fail(err, 400, "insert_before, insert_after: Only one of them may be given");
    return 0;
}

int as_input_option(const json_t *data, bool create, as_option_input_t *in, as_err_t *err)
{
    return option_parse(data, create, "", in, err);
}

static int field_options(const json_t *v, as_field_input_t *in, as_err_t *err)
{
    char buf[96];
    if (!json_is_array(v))
        return as_fail(err, 400, "enum_options: Value is not an array: %s",
                       as_shown(v, buf, sizeof buf));
    if (in->type != AS_CF_ENUM && json_array_size(v) > 0)
        return as_fail(err, 400, "enum_options: Only allowed for enum custom fields");
    in->options = xcalloc(json_array_size(v) + 1, sizeof *in->options);
    size_t i;
    json_t *o;
    json_array_foreach(v, i, o) {
        char prefix[48];
        snprintf(prefix, sizeof prefix, "enum_options: [%zu]: ", i);
        if (!json_is_object(o))
            return as_fail(err, 400, "%sValue is not a JSON object: %s", prefix,
                           as_shown(o, buf, sizeof buf));
        if (option_parse(o, true, prefix, &in->options[i], err) != 0)
            return -1;
        if (in->options[i].insert_before || in->options[i].insert_after)
            return as_fail(err, 400, "%sinsert_before, insert_after: Not allowed here", prefix);
        in->noptions++;
    }
    return 0;
}

/* The number-format members of a new field. */
static int field_number_format(const json_t *data, as_field_input_t *in, as_err_t *err)
{
    static const char *const formats[] = { "currency", "identifier", "percentage", "custom",
                                           "duration", "none", NULL };
    static const char *const positions[] = { "prefix", "suffix", NULL };
    const json_t *v;
    char buf[96];
    if ((v = json_object_get(data, "precision"))) {
        json_int_t p = json_integer_value(v);
        if (!json_is_integer(v) || p < 0 || p > 6)
            return as_fail(err, 400, "precision: Value must be an integer between 0 and 6: %s",
                           as_shown(v, buf, sizeof buf));
        in->precision = (int)p;
    }
    if ((v = json_object_get(data, "format")) &&
        want_word(v, "format", formats, &in->format, err) != 0)
        return -1;
    if ((v = json_object_get(data, "currency_code"))) {
        if (want_string_or_null(v, "currency_code", &in->currency_code, err) != 0)
            return -1;
        const char *c = in->currency_code;
        if (c && (strlen(c) != 3 || strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 3))
            return as_fail(err, 400, "currency_code: Not an ISO 4217 currency code: %s", c);
    }
    if ((v = json_object_get(data, "custom_label")) &&
        want_string_or_null(v, "custom_label", &in->custom_label, err) != 0)
        return -1;
    if ((v = json_object_get(data, "custom_label_position")) && !json_is_null(v) &&
        want_word(v, "custom_label_position", positions, &in->custom_label_position, err) != 0)
        return -1;
    return 0;
}

int as_input_field(const json_t *data, as_field_input_t *in, as_err_t *err)
{
    static const char *const served[] = { "text", "number", "enum", NULL };
    static const char *const unserved[] = { "multi_enum", "date", "people", "reference", NULL };
    memset(in, 0, sizeof *in);
    in->precision = -1;
    const json_t *v;
    const char *subtype = NULL;
    int rc = check_props(data, field_props, false, err);
    if (rc == 0 && !(v = json_object_get(data, "workspace")))
        rc = as_fail(err, 400, "workspace: Missing input");
    if (rc == 0)
        rc = as_input_gid(v, "workspace", &in->workspace, err);
    if (rc == 0 && (v = json_object_get(data, "name")))
        rc = want_string(v, "name", &in->name, err);
    if (rc == 0 && (!in->name || !*in->name))
        rc = as_fail(err, 400, "name: Missing input");
    if (rc == 0 && !(v = json_object_get(data, "resource_subtype")))
        rc = as_fail(err, 400, "resource_subtype: Missing input");
    for (size_t i = 0; rc == 0 && unserved[i]; i++)
        if (json_is_string(v) && strcmp(json_string_value(v), unserved[i]) == 0)
            rc = as_fail(err, 400,
                         "resource_subtype: %s custom fields are not served by the Asana "
                         "simulator (text, number and enum are)", unserved[i]);
    if (rc == 0)
        rc = want_word(v, "resource_subtype", served, &subtype, err);
    if (rc == 0)
        in->type = strcmp(subtype, "text") == 0     ? AS_CF_TEXT
                   : strcmp(subtype, "number") == 0 ? AS_CF_NUMBER
                                                    : AS_CF_ENUM;
    if (rc == 0 && (v = json_object_get(data, "description")))
        rc = want_string(v, "description", &in->description, err);
    if (rc == 0 && (v = json_object_get(data, "has_notifications_enabled")))
        in->has_notifications = (rc = want_bool(v, "has_notifications_enabled",
                                                &in->notifications, err)) == 0;
    if (rc == 0)
        rc = field_number_format(data, in, err);
    if (rc == 0 && (v = json_object_get(data, "enum_options")))
        rc = field_options(v, in, err);
    if (rc != 0)
        as_field_input_free(in);
    return rc;
}

void as_field_input_free(as_field_input_t *in)
{
    free(in->options);
    in->options = NULL;
    in->noptions = 0;
}

int as_input_setting(const json_t *data, as_setting_input_t *in, as_err_t *err)
{
    memset(in, 0, sizeof *in);
    const json_t *v;
    if (check_props(data, setting_props, false, err) != 0)
        return -1;
    v = json_object_get(data, "custom_field");
    if (!v)
        return as_fail(err, 400, "custom_field: Missing input");
    if (json_is_object(v))
        return as_fail(err, 400, "custom_field: Creating a field inline is not served by the "
                                 "Asana simulator; create it with POST /custom_fields");
    if (as_input_gid(v, "custom_field", &in->field, err) != 0)
        return -1;
    if ((v = json_object_get(data, "is_important")) &&
        want_bool(v, "is_important", &in->important, err) != 0)
        return -1;
    if ((v = json_object_get(data, "insert_before")) &&
        as_input_gid(v, "insert_before", &in->insert_before, err) != 0)
        return -1;
    if ((v = json_object_get(data, "insert_after")) &&
        as_input_gid(v, "insert_after", &in->insert_after, err) != 0)
        return -1;
    if (in->insert_before && in->insert_after)
        return as_fail(err, 400, "insert_before, insert_after: Only one of them may be given");
    return 0;
}

/* ---- query parameters ---------------------------------------------------------------------- */

int as_input_limit(const char *s, int *limit, as_err_t *err)
{
    *limit = 0;
    if (!s)
        return 0;
    size_t n = strlen(s);
    long v = (n > 0 && n <= 3 && strspn(s, "0123456789") == n) ? strtol(s, NULL, 10) : -1;
    if (v < 1 || v > 100)
        return as_fail(err, 400, "limit: Value must be an integer between 1 and 100: %s", s);
    *limit = (int)v;
    return 0;
}

int as_input_since(const char *param, const char *s, bool allow_now, int64_t now_ms,
                   int64_t *ms, as_err_t *err)
{
    if (!s) {
        *ms = -1;
        return 0;
    }
    if (allow_now && strcmp(s, "now") == 0) {
        *ms = now_ms;
        return 0;
    }
    int64_t v = parse_iso8601(s);
    if (v < 0)
        return as_fail(err, 400, "%s: Date-time must be in ISO-8601 format, not: %s", param, s);
    *ms = v;
    return 0;
}
