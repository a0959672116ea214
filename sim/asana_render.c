/* asana_render: see asana_render.h. Every object type is a table of its fields in output
 * order; each field says in which default forms it shows and how to write it. A selection
 * (opt_fields) is a tree of field names checked against those tables once, at parse time. */
#include "asana_render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- streaming JSON writer ------------------------------------------------------------------ */

void as_jw_init(as_jw_t *w, buf_t *b)
{
    memset(w, 0, sizeof *w);
    w->b = b;
}

/* Separates a value from what came before it in the enclosing array. */
static void before_value(as_jw_t *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->depth > 0 && w->need_comma[w->depth])
        buf_append(w->b, ",", 1);
    w->need_comma[w->depth] = true;
}

static void jw_open(as_jw_t *w, char c)
{
    before_value(w);
    buf_append(w->b, &c, 1);
    w->need_comma[++w->depth] = false;
}

static void jw_close(as_jw_t *w, char c)
{
    buf_append(w->b, &c, 1);
    w->depth--;
}

void as_jw_obj(as_jw_t *w) { jw_open(w, '{'); }
void as_jw_arr(as_jw_t *w) { jw_open(w, '['); }
void as_jw_end_obj(as_jw_t *w) { jw_close(w, '}'); }
void as_jw_end_arr(as_jw_t *w) { jw_close(w, ']'); }

static void put_string(buf_t *b, const char *s)
{
    buf_append(b, "\"", 1);
    const char *run = s;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch != '"' && ch != '\\' && ch >= 0x20)
            continue;
        buf_append(b, run, (size_t)(s - run));
        run = s + 1;
        switch (ch) {
        case '"': buf_append(b, "\\\"", 2); break;
        case '\\': buf_append(b, "\\\\", 2); break;
        case '\n': buf_append(b, "\\n", 2); break;
        case '\r': buf_append(b, "\\r", 2); break;
        case '\t': buf_append(b, "\\t", 2); break;
        default: buf_appendf(b, "\\u%04x", ch); break;
        }
    }
    buf_append(b, run, (size_t)(s - run));
    buf_append(b, "\"", 1);
}

void as_jw_key(as_jw_t *w, const char *key)
{
    if (w->need_comma[w->depth])
        buf_append(w->b, ",", 1);
    w->need_comma[w->depth] = true;
    put_string(w->b, key);
    buf_append(w->b, ":", 1);
    w->after_key = true;
}

void as_jw_str(as_jw_t *w, const char *s)
{
    before_value(w);
    if (s)
        put_string(w->b, s);
    else
        buf_append(w->b, "null", 4);
}

void as_jw_gid(as_jw_t *w, uint64_t gid)
{
    before_value(w);
    char digits[24], *p = digits + sizeof digits;
    do {
        *--p = (char)('0' + gid % 10);
        gid /= 10;
    } while (gid);
    *--p = '"';
    buf_append(w->b, p, (size_t)(digits + sizeof digits - p));
    buf_append(w->b, "\"", 1);
}

void as_jw_int(as_jw_t *w, int64_t v)
{
    before_value(w);
    buf_appendf(w->b, "%lld", (long long)v);
}

void as_jw_num(as_jw_t *w, double v)
{
    char text[40];
    for (int precision = 15; precision <= 17; precision++) {
        snprintf(text, sizeof text, "%.*g", precision, v);
        if (strtod(text, NULL) == v)
            break;
    }
    before_value(w);
    buf_append(w->b, text, strlen(text));
}

void as_jw_bool(as_jw_t *w, bool v)
{
    before_value(w);
    buf_append(w->b, v ? "true" : "false", v ? 4 : 5);
}

void as_jw_null(as_jw_t *w)
{
    before_value(w);
    buf_append(w->b, "null", 4);
}

void as_jw_time(as_jw_t *w, int64_t ms)
{
    char text[32];
    as_jw_str(w, ms > 0 ? iso8601_ms(ms, text, sizeof text) : NULL);
}

/* ---- selections ------------------------------------------------------------------------------ */

struct as_sel {
    char     *name;
    as_sel_t *kids;
    size_t    nkids;
};

static const as_sel_t *sel_kid(const as_sel_t *s, const char *name)
{
    for (size_t i = 0; i < s->nkids; i++)
        if (strcmp(s->kids[i].name, name) == 0)
            return &s->kids[i];
    return NULL;
}

static void sel_clear(as_sel_t *s)
{
    for (size_t i = 0; i < s->nkids; i++)
        sel_clear(&s->kids[i]);
    free(s->kids);
    free(s->name);
}

void as_sel_free(as_sel_t **sel)
{
    if (!sel || !*sel)
        return;
    sel_clear(*sel);
    free(*sel);
    *sel = NULL;
}

/* ---- object tables --------------------------------------------------------------------------- */

typedef struct {
    const as_store_t *st;
    const as_task_t  *task;    /* whose custom field values are being written, or NULL */
} rctx_t;

typedef struct fdef fdef_t;
/* Writes field f of obj ("key": value) or nothing when it does not apply to obj. kid: the
 * selection below this field (NULL: the field's default form). */
typedef void (*emit_fn)(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *obj,
                        const as_sel_t *kid);

struct fdef {
    const char *name;
    unsigned    forms;        /* AS_FORM_* bits in which the field shows by default */
    emit_fn     emit;
    as_rtype_t  child;        /* type of the object(s) the field holds, AS_RT_NONE: scalar */
    as_form_t   child_form;   /* their form when no sub-field is selected */
    const char *konst;        /* value of constant string fields */
};

typedef struct {
    const char   *resource_type;   /* NULL: the object has no gid (memberships) */
    const fdef_t *fields;
} tdef_t;

static void render_obj(as_jw_t *w, const rctx_t *c, as_rtype_t rt, const void *obj,
                       const as_sel_t *sel, as_form_t form);

/* Default forms a field shows in (OPT_IN: only when opt_fields names it). */
#define OPT_IN 0u
#define FULL   ((unsigned)AS_FORM_FULL)
#define BOTH   ((unsigned)(AS_FORM_COMPACT | AS_FORM_FULL))
#define VALUE  ((unsigned)AS_FORM_VALUE)

/* Writes a child object of field f. */
static void child(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *obj,
                  const as_sel_t *kid)
{
    rctx_t cc = *c;
    if (f->child != AS_RT_FIELD_VALUE)
        cc.task = NULL;
    render_obj(w, &cc, f->child, obj, kid && kid->nkids ? kid : NULL, f->child_form);
}

static void key(as_jw_t *w, const fdef_t *f) { as_jw_key(w, f->name); }

/* Constants. */
static void e_konst(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o, const as_sel_t *k)
{
    key(w, f);
    as_jw_str(w, f->konst);
}
static void e_null(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o, const as_sel_t *k)
{
    key(w, f);
    as_jw_null(w);
}
static void e_false(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o, const as_sel_t *k)
{
    key(w, f);
    as_jw_bool(w, false);
}
static void e_true(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o, const as_sel_t *k)
{
    key(w, f);
    as_jw_bool(w, true);
}
static void e_zero(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o, const as_sel_t *k)
{
    key(w, f);
    as_jw_int(w, 0);
}
static void e_empty(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o, const as_sel_t *k)
{
    key(w, f);
    as_jw_arr(w);
    as_jw_end_arr(w);
}
/* The simulated user (who created everything) or the workspace: the store's singletons. */
static void e_single(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o,
                     const as_sel_t *k)
{
    key(w, f);
    child(w, f, c, NULL, k);
}

/* User. */
static void e_user_name(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o,
                        const as_sel_t *k)
{
    key(w, f);
    as_jw_str(w, "Simulated User");
}
static void e_user_workspaces(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o,
                              const as_sel_t *k)
{
    key(w, f);
    as_jw_arr(w);
    child(w, f, c, NULL, k);
    as_jw_end_arr(w);
}
static const fdef_t user_fields[] = {
    { "resource_type", BOTH, e_konst, 0, 0, "user" },
    { "name", BOTH, e_user_name, 0, 0, NULL },
    { "email", FULL, e_konst, 0, 0, "sim-user@example.com" },
    { "photo", FULL, e_null, 0, 0, NULL },
    { "workspaces", FULL, e_user_workspaces, AS_RT_WORKSPACE, AS_FORM_COMPACT, NULL },
    { NULL, 0, NULL, 0, 0, NULL },
};

/* Workspace. */
static void e_ws_name(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o,
                      const as_sel_t *k)
{
    key(w, f);
    as_jw_str(w, as_store_workspace_name(c->st));
}
static void e_ws_domains(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o,
                         const as_sel_t *k)
{
    key(w, f);
    as_jw_arr(w);
    as_jw_str(w, "example.com");
    as_jw_end_arr(w);
}
static const fdef_t workspace_fields[] = {
    { "resource_type", BOTH, e_konst, 0, 0, "workspace" },
    { "name", BOTH, e_ws_name, 0, 0, NULL },
    { "email_domains", FULL, e_ws_domains, 0, 0, NULL },
    { "is_organization", FULL, e_false, 0, 0, NULL },
    { NULL, 0, NULL, 0, 0, NULL },
};

/* Project (and its section, and a task's membership in it: all three take the project). */
static void e_project_name(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o,
                           const as_sel_t *k)
{
    key(w, f);
    as_jw_str(w, ((const as_project_t *)o)->name);
}
static void e_project_created(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o,
                              const as_sel_t *k)
{
    key(w, f);
    as_jw_time(w, ((const as_project_t *)o)->created_ms);
}
static void e_project_settings(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o,
                               const as_sel_t *k)
{
    const as_project_t *p = o;
    key(w, f);
    as_jw_arr(w);
    for (size_t i = 0; i < p->nsettings; i++)
        child(w, f, c, p->settings[i], k);
    as_jw_end_arr(w);
}
static void e_project_link(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o,
                           const as_sel_t *k)
{
    char url[128];
    snprintf(url, sizeof url, "https://app.asana.com/1/%llu/project/%llu",
             (unsigned long long)as_store_workspace_gid(c->st),
             (unsigned long long)((const as_project_t *)o)->gid);
    key(w, f);
    as_jw_str(w, url);
}
/* A field holding the same project object (a section's project, a membership's project). */
static void e_same(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o, const as_sel_t *k)
{
    key(w, f);
    child(w, f, c, o, k);
}
static const fdef_t project_fields[] = {
    { "resource_type", BOTH, e_konst, 0, 0, "project" },
    { "name", BOTH, e_project_name, 0, 0, NULL },
    { "archived", FULL, e_false, 0, 0, NULL },
    { "color", FULL, e_null, 0, 0, NULL },
    { "completed", FULL, e_false, 0, 0, NULL },
    { "created_at", FULL, e_project_created, 0, 0, NULL },
    { "modified_at", FULL, e_project_created, 0, 0, NULL },
    { "notes", FULL, e_konst, 0, 0, "" },
    { "default_view", FULL, e_konst, 0, 0, "list" },
    { "owner", FULL, e_single, AS_RT_USER, AS_FORM_COMPACT, NULL },
    { "team", FULL, e_null, 0, 0, NULL },
    { "workspace", FULL, e_single, AS_RT_WORKSPACE, AS_FORM_COMPACT, NULL },
    { "custom_field_settings", FULL, e_project_settings, AS_RT_SETTING, AS_FORM_FULL, NULL },
    { "permalink_url", FULL, e_project_link, 0, 0, NULL },
    { NULL, 0, NULL, 0, 0, NULL },
};
static const fdef_t section_fields[] = {
    { "resource_type", BOTH, e_konst, 0, 0, "section" },
    { "name", BOTH, e_konst, 0, 0, "Untitled section" },
    { "created_at", FULL, e_project_created, 0, 0, NULL },
    { "project", FULL, e_same, AS_RT_PROJECT, AS_FORM_COMPACT, NULL },
    { NULL, 0, NULL, 0, 0, NULL },
};
static const fdef_t membership_fields[] = {
    { "project", BOTH, e_same, AS_RT_PROJECT, AS_FORM_COMPACT, NULL },
    { "section", BOTH, e_same, AS_RT_SECTION, AS_FORM_COMPACT, NULL },
    { NULL, 0, NULL, 0, 0, NULL },
};

/* Task. */
#define TASK ((const as_task_t *)o)
static void e_task_name(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o,
                        const as_sel_t *k)
{
    key(w, f);
    as_jw_str(w, TASK->name);
}
static void e_task_subtype(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o,
                           const as_sel_t *k)
{
    key(w, f);
    as_jw_str(w, TASK->subtype);
}
static void e_task_notes(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o,
                         const as_sel_t *k)
{
    key(w, f);
    as_jw_str(w, TASK->notes);
}
static void e_task_completed(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o,
                             const as_sel_t *k)
{
    key(w, f);
    as_jw_bool(w, TASK->completed);
}
static void e_task_completed_at(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o,
                                const as_sel_t *k)
{
    key(w, f);
    as_jw_time(w, TASK->completed_ms);
}
static void e_task_completed_by(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o,
                                const as_sel_t *k)
{
    if (!TASK->completed)
        e_null(w, f, c, o, k);
    else
        e_single(w, f, c, o, k);
}
static void e_task_created_at(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o,
                              const as_sel_t *k)
{
    key(w, f);
    as_jw_time(w, TASK->created_ms);
}
static void e_task_modified_at(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o,
                               const as_sel_t *k)
{
    key(w, f);
    as_jw_time(w, TASK->modified_ms);
}
static void e_task_due_on(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o,
                          const as_sel_t *k)
{
    key(w, f);
    as_jw_str(w, TASK->due_on[0] ? TASK->due_on : NULL);
}
static void e_task_due_at(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o,
                          const as_sel_t *k)
{
    key(w, f);
    as_jw_time(w, TASK->due_at_ms >= 0 ? TASK->due_at_ms : 0);
}
/* memberships and projects: one object per project of the task. */
static void e_task_projects(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o,
                            const as_sel_t *k)
{
    key(w, f);
    as_jw_arr(w);
    for (size_t i = 0; i < TASK->nprojects; i++)
        child(w, f, c, TASK->projects[i], k);
    as_jw_end_arr(w);
}
/* The fields of every project of the task, each once, in project and setting order. */
static void e_task_custom_fields(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o,
                                 const as_sel_t *k)
{
    const as_task_t *t = o;
    rctx_t vc = { c->st, t };
    key(w, f);
    as_jw_arr(w);
    for (size_t i = 0; i < t->nprojects; i++) {
        for (size_t j = 0; j < t->projects[i]->nsettings; j++) {
            const as_field_t *field = t->projects[i]->settings[j]->field;
            bool seen = false;
            for (size_t e = 0; e < i && !seen; e++)
                for (size_t s = 0; s < t->projects[e]->nsettings && !seen; s++)
                    seen = t->projects[e]->settings[s]->field == field;
            if (!seen)
                child(w, f, &vc, field, k);
        }
    }
    as_jw_end_arr(w);
}
static void e_task_link(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o,
                        const as_sel_t *k)
{
    char url[128];
    snprintf(url, sizeof url, "https://app.asana.com/1/%llu/task/%llu",
             (unsigned long long)as_store_workspace_gid(c->st), (unsigned long long)TASK->gid);
    key(w, f);
    as_jw_str(w, url);
}
#undef TASK
static const fdef_t task_fields[] = {
    { "resource_type", BOTH, e_konst, 0, 0, "task" },
    { "name", BOTH, e_task_name, 0, 0, NULL },
    { "resource_subtype", BOTH, e_task_subtype, 0, 0, NULL },
    { "created_by", OPT_IN, e_single, AS_RT_USER, AS_FORM_COMPACT, NULL },   /* opt-in */
    { "approval_status", OPT_IN, e_konst, 0, 0, "pending" },              /* opt-in here */
    { "assignee", FULL, e_null, AS_RT_USER, AS_FORM_COMPACT, NULL },
    { "assignee_section", OPT_IN, e_null, AS_RT_SECTION, AS_FORM_COMPACT, NULL },
    { "completed", FULL, e_task_completed, 0, 0, NULL },
    { "completed_at", FULL, e_task_completed_at, 0, 0, NULL },
    { "completed_by", FULL, e_task_completed_by, AS_RT_USER, AS_FORM_COMPACT, NULL },
    { "created_at", FULL, e_task_created_at, 0, 0, NULL },
    { "dependencies", OPT_IN, e_empty, 0, 0, NULL },
    { "dependents", OPT_IN, e_empty, 0, 0, NULL },
    { "due_at", FULL, e_task_due_at, 0, 0, NULL },
    { "due_on", FULL, e_task_due_on, 0, 0, NULL },
    { "followers", FULL, e_empty, AS_RT_USER, AS_FORM_COMPACT, NULL },
    { "hearted", FULL, e_false, 0, 0, NULL },
    { "hearts", FULL, e_empty, 0, 0, NULL },
    { "liked", FULL, e_false, 0, 0, NULL },
    { "likes", FULL, e_empty, 0, 0, NULL },
    { "memberships", FULL, e_task_projects, AS_RT_MEMBERSHIP, AS_FORM_FULL, NULL },
    { "modified_at", FULL, e_task_modified_at, 0, 0, NULL },
    { "notes", FULL, e_task_notes, 0, 0, NULL },
    { "num_hearts", FULL, e_zero, 0, 0, NULL },
    { "num_likes", FULL, e_zero, 0, 0, NULL },
    { "num_subtasks", OPT_IN, e_zero, 0, 0, NULL },
    { "start_at", FULL, e_null, 0, 0, NULL },
    { "start_on", FULL, e_null, 0, 0, NULL },
    { "actual_time_minutes", FULL, e_null, 0, 0, NULL },
    { "custom_fields", FULL, e_task_custom_fields, AS_RT_FIELD_VALUE, AS_FORM_VALUE, NULL },
    { "parent", FULL, e_null, AS_RT_TASK, AS_FORM_COMPACT, NULL },
    { "projects", FULL, e_task_projects, AS_RT_PROJECT, AS_FORM_COMPACT, NULL },
    { "tags", FULL, e_empty, 0, 0, NULL },
    { "workspace", FULL, e_single, AS_RT_WORKSPACE, AS_FORM_COMPACT, NULL },
    { "permalink_url", FULL, e_task_link, 0, 0, NULL },
    { NULL, 0, NULL, 0, 0, NULL },
};

/* Custom field: a definition, or (with c->task) its value on that task. */
#define FIELD ((const as_field_t *)o)
static bool is_number(const void *o) { return FIELD->type == AS_CF_NUMBER; }

static void e_cf_name(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o,
                      const as_sel_t *k)
{
    key(w, f);
    as_jw_str(w, FIELD->name);
}
static void e_cf_type(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o,
                      const as_sel_t *k)
{
    key(w, f);
    as_jw_str(w, as_cf_type_name(FIELD->type));
}
static void e_cf_description(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o,
                             const as_sel_t *k)
{
    key(w, f);
    as_jw_str(w, FIELD->description);
}
static void e_cf_options(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o,
                         const as_sel_t *k)
{
    if (FIELD->type != AS_CF_ENUM)
        return;
    key(w, f);
    as_jw_arr(w);
    for (size_t i = 0; i < FIELD->noptions; i++)
        child(w, f, c, FIELD->options[i], k);
    as_jw_end_arr(w);
}
static void e_cf_precision(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o,
                           const as_sel_t *k)
{
    if (!is_number(o))
        return;
    key(w, f);
    as_jw_int(w, FIELD->precision);
}
static void e_cf_format(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o,
                        const as_sel_t *k)
{
    if (!is_number(o))
        return;
    key(w, f);
    as_jw_str(w, FIELD->format);
}
/* currency_code is null unless the format is currency, custom_label* unless it is custom. */
static void e_cf_currency(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o,
                          const as_sel_t *k)
{
    if (!is_number(o))
        return;
    key(w, f);
    as_jw_str(w, strcmp(FIELD->format, "currency") == 0 ? FIELD->currency_code : NULL);
}
static void e_cf_label(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o,
                       const as_sel_t *k)
{
    if (!is_number(o))
        return;
    bool custom = strcmp(FIELD->format, "custom") == 0;
    key(w, f);
    as_jw_str(w, !custom                           ? NULL
                 : strcmp(f->name, "custom_label") == 0 ? FIELD->custom_label
                                                        : FIELD->custom_label_position);
}
static void e_cf_notifications(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o,
                               const as_sel_t *k)
{
    key(w, f);
    as_jw_bool(w, FIELD->notifications);
}
/* Value members: only on a task, only for the field's own type. */
static void e_cf_enabled(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o,
                         const as_sel_t *k)
{
    if (c->task)
        e_true(w, f, c, o, k);
}
static void e_cf_display(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o,
                         const as_sel_t *k)
{
    char buf[64];
    if (!c->task)
        return;
    key(w, f);
    as_jw_str(w, as_render_display(c->task, FIELD, buf, sizeof buf));
}
static void e_cf_value(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o,
                       const as_sel_t *k)
{
    static const char *const names[] = { "text_value", "number_value", "enum_value" };
    if (!c->task || strcmp(f->name, names[FIELD->type]) != 0)
        return;
    const as_value_t *v = as_task_value(c->task, FIELD);
    key(w, f);
    if (!v)
        as_jw_null(w);
    else if (FIELD->type == AS_CF_TEXT)
        as_jw_str(w, v->text);
    else if (FIELD->type == AS_CF_NUMBER)
        as_jw_num(w, v->number);
    else
        child(w, f, c, v->option, k);
}
#undef FIELD
static const fdef_t field_fields[] = {
    { "resource_type", BOTH | VALUE, e_konst, 0, 0, "custom_field" },
    { "name", BOTH | VALUE, e_cf_name, 0, 0, NULL },
    { "resource_subtype", BOTH | VALUE, e_cf_type, 0, 0, NULL },
    { "type", BOTH | VALUE, e_cf_type, 0, 0, NULL },
    { "representation_type", FULL | VALUE, e_cf_type, 0, 0, NULL },
    { "enabled", VALUE, e_cf_enabled, 0, 0, NULL },
    { "description", FULL | VALUE, e_cf_description, 0, 0, NULL },
    { "enum_options", BOTH | VALUE, e_cf_options, AS_RT_OPTION, AS_FORM_COMPACT, NULL },
    { "precision", FULL | VALUE, e_cf_precision, 0, 0, NULL },
    { "format", FULL | VALUE, e_cf_format, 0, 0, NULL },
    { "currency_code", FULL | VALUE, e_cf_currency, 0, 0, NULL },
    { "custom_label", FULL | VALUE, e_cf_label, 0, 0, NULL },
    { "custom_label_position", FULL | VALUE, e_cf_label, 0, 0, NULL },
    { "is_global_to_workspace", FULL, e_true, 0, 0, NULL },
    { "has_notifications_enabled", FULL | VALUE, e_cf_notifications, 0, 0, NULL },
    { "is_formula_field", FULL | VALUE, e_false, 0, 0, NULL },
    { "is_value_read_only", FULL | VALUE, e_false, 0, 0, NULL },
    { "created_by", FULL | VALUE, e_single, AS_RT_USER, AS_FORM_COMPACT, NULL },
    { "display_value", VALUE, e_cf_display, 0, 0, NULL },
    { "text_value", VALUE, e_cf_value, 0, 0, NULL },
    { "number_value", VALUE, e_cf_value, 0, 0, NULL },
    { "enum_value", VALUE, e_cf_value, AS_RT_OPTION, AS_FORM_COMPACT, NULL },
    { NULL, 0, NULL, 0, 0, NULL },
};

/* Enum option. */
#define OPTION ((const as_option_t *)o)
static void e_opt_name(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o,
                       const as_sel_t *k)
{
    key(w, f);
    as_jw_str(w, OPTION->name);
}
static void e_opt_enabled(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o,
                          const as_sel_t *k)
{
    key(w, f);
    as_jw_bool(w, OPTION->enabled);
}
static void e_opt_color(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o,
                        const as_sel_t *k)
{
    key(w, f);
    as_jw_str(w, OPTION->color);
}
#undef OPTION
static const fdef_t option_fields[] = {
    { "resource_type", BOTH, e_konst, 0, 0, "enum_option" },
    { "name", BOTH, e_opt_name, 0, 0, NULL },
    { "enabled", BOTH, e_opt_enabled, 0, 0, NULL },
    { "color", BOTH, e_opt_color, 0, 0, NULL },
    { NULL, 0, NULL, 0, 0, NULL },
};

/* Custom field setting. */
static void e_set_field(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o,
                        const as_sel_t *k)
{
    key(w, f);
    child(w, f, c, ((const as_setting_t *)o)->field, k);
}
static void e_set_important(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o,
                            const as_sel_t *k)
{
    key(w, f);
    as_jw_bool(w, ((const as_setting_t *)o)->important);
}
static void e_set_project(as_jw_t *w, const fdef_t *f, const rctx_t *c, const void *o,
                          const as_sel_t *k)
{
    key(w, f);
    child(w, f, c, ((const as_setting_t *)o)->project, k);
}
static const fdef_t setting_fields[] = {
    { "resource_type", BOTH, e_konst, 0, 0, "custom_field_setting" },
    { "custom_field", BOTH, e_set_field, AS_RT_FIELD, AS_FORM_COMPACT, NULL },
    { "is_important", BOTH, e_set_important, 0, 0, NULL },
    { "project", BOTH, e_set_project, AS_RT_PROJECT, AS_FORM_COMPACT, NULL },
    { "parent", BOTH, e_set_project, AS_RT_PROJECT, AS_FORM_COMPACT, NULL },
    { NULL, 0, NULL, 0, 0, NULL },
};

static const tdef_t types[] = {
    [AS_RT_USER] = { "user", user_fields },
    [AS_RT_WORKSPACE] = { "workspace", workspace_fields },
    [AS_RT_PROJECT] = { "project", project_fields },
    [AS_RT_SECTION] = { "section", section_fields },
    [AS_RT_MEMBERSHIP] = { NULL, membership_fields },
    [AS_RT_TASK] = { "task", task_fields },
    [AS_RT_FIELD] = { "custom_field", field_fields },
    [AS_RT_FIELD_VALUE] = { "custom_field", field_fields },
    [AS_RT_OPTION] = { "enum_option", option_fields },
    [AS_RT_SETTING] = { "custom_field_setting", setting_fields },
};

static uint64_t gid_of(const rctx_t *c, as_rtype_t rt, const void *obj)
{
    switch (rt) {
    case AS_RT_USER: return as_store_user_gid(c->st);
    case AS_RT_WORKSPACE: return as_store_workspace_gid(c->st);
    case AS_RT_PROJECT: return ((const as_project_t *)obj)->gid;
    case AS_RT_SECTION: return ((const as_project_t *)obj)->section_gid;
    case AS_RT_TASK: return ((const as_task_t *)obj)->gid;
    case AS_RT_FIELD:
    case AS_RT_FIELD_VALUE: return ((const as_field_t *)obj)->gid;
    case AS_RT_OPTION: return ((const as_option_t *)obj)->gid;
    case AS_RT_SETTING: return ((const as_setting_t *)obj)->gid;
    default: return 0;
    }
}

static void render_obj(as_jw_t *w, const rctx_t *c, as_rtype_t rt, const void *obj,
                       const as_sel_t *sel, as_form_t form)
{
    const tdef_t *t = &types[rt];
    as_jw_obj(w);
    if (t->resource_type) {
        as_jw_key(w, "gid");
        as_jw_gid(w, gid_of(c, rt, obj));
    }
    for (const fdef_t *f = t->fields; f->name; f++) {
        const as_sel_t *kid = NULL;
        if (sel) {
            if (!(kid = sel_kid(sel, f->name)))
                continue;
        } else if (!(f->forms & form)) {
            continue;
        }
        f->emit(w, f, c, obj, kid);
    }
    as_jw_end_obj(w);
}

void as_render(as_jw_t *w, const as_store_t *st, as_rtype_t rt, const void *obj,
               const as_sel_t *sel, as_form_t form)
{
    rctx_t c = { st, NULL };
    render_obj(w, &c, rt, obj, sel, form);
}

/* ---- opt_fields parsing ---------------------------------------------------------------------- */

static const fdef_t *field_def(as_rtype_t rt, const char *name)
{
    for (const fdef_t *f = types[rt].fields; f->name; f++)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

/* The kid of s called name, added when missing. */
static as_sel_t *sel_add(as_sel_t *s, const char *name)
{
    as_sel_t *k = (as_sel_t *)sel_kid(s, name);
    if (k)
        return k;
    s->kids = xrealloc(s->kids, (s->nkids + 1) * sizeof *s->kids);
    k = &s->kids[s->nkids++];
    memset(k, 0, sizeof *k);
    k->name = xstrdup(name);
    return k;
}

/* Adds one dotted path (trimmed, non-empty) to the selection rooted at root. */
static int add_path(as_sel_t *root, as_rtype_t rt, char *path, as_err_t *err)
{
    char *full = xstrdup(path), *save = NULL;
    if (strncmp(path, "this.", 5) == 0)
        path += 5;
    if (!strchr(path, '.') && (strcmp(path, "offset") == 0 || strcmp(path, "path") == 0 ||
                               strcmp(path, "uri") == 0)) {
        free(full);
        return 0;
    }
    as_sel_t *node = root;
    as_rtype_t cur = rt;
    int rc = 0;
    for (char *seg = strtok_r(path, ".", &save); seg; seg = strtok_r(NULL, ".", &save)) {
        const fdef_t *f = cur == AS_RT_NONE ? NULL : field_def(cur, seg);
        bool gid = cur != AS_RT_NONE && types[cur].resource_type && strcmp(seg, "gid") == 0;
        if (!f && !gid) {
            rc = as_fail(err, 400, "opt_fields: %s: Unknown field, or not served by the Asana "
                                   "simulator", full);
            break;
        }
        node = sel_add(node, seg);
        cur = f ? f->child : AS_RT_NONE;
    }
    free(full);
    return rc;
}

as_sel_t *as_sel_parse(as_rtype_t rt, const char *opt_fields, as_err_t *err)
{
    as_sel_t *root = xcalloc(1, sizeof *root);
    char *text = xstrdup(opt_fields), *save = NULL;
    for (char *p = strtok_r(text, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        char *path = str_trim_dup(p);
        size_t n = strlen(path);
        int rc = 0;
        if (n && (path[0] == '.' || path[n - 1] == '.' || strstr(path, "..")))
            rc = as_fail(err, 400, "opt_fields: %s: Not a valid field path", path);
        else if (n)
            rc = add_path(root, rt, path, err);
        free(path);
        if (rc != 0) {
            as_sel_free(&root);
            break;
        }
    }
    free(text);
    return root;
}

/* ---- values and errors ----------------------------------------------------------------------- */

const char *as_render_display(const as_task_t *t, const as_field_t *f, char *buf, size_t len)
{
    const as_value_t *v = as_task_value(t, f);
    if (!v)
        return NULL;
    switch (f->type) {
    case AS_CF_TEXT: return v->text;
    case AS_CF_ENUM: return v->option->name;
    case AS_CF_NUMBER:
        if (strcmp(f->format, "percentage") == 0)
            snprintf(buf, len, "%.*f%%", f->precision, v->number * 100.0);
        else
            snprintf(buf, len, "%.*f", f->precision, v->number);
        return buf;
    }
    return NULL;
}

void as_render_error(buf_t *b, int status, const char *message)
{
    as_jw_t w;
    as_jw_init(&w, b);
    as_jw_obj(&w);
    as_jw_key(&w, "errors");
    as_jw_arr(&w);
    as_jw_obj(&w);
    as_jw_key(&w, "message");
    as_jw_str(&w, message);
    as_jw_key(&w, "help");
    as_jw_str(&w, "For more information on API status codes and how to handle them, read the "
                  "docs on errors: https://developers.asana.com/docs/errors");
    if (status >= 500) {
        as_jw_key(&w, "phrase");
        as_jw_str(&w, "9 simulated servers sigh softly");
    }
    as_jw_end_obj(&w);
    as_jw_end_arr(&w);
    as_jw_end_obj(&w);
}
