/* asana_store: see asana_store.h. */
#include "asana_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define MAX_ENUM_OPTIONS 500
#define MAX_TEXT_CHARS   1024

/* ---- gid map: open addressing, linear probing, backward-shift deletion ---------------------- */

typedef struct {
    uint64_t  gid;      /* 0 = empty */
    as_kind_t kind;
    void     *obj;
} entry_t;

typedef struct {
    entry_t *slots;
    size_t   cap;       /* power of two */
    size_t   n;
} gidmap_t;

static size_t map_home(const gidmap_t *m, uint64_t gid)
{
    uint64_t x = gid + 0x9E3779B97F4A7C15ULL; /* splitmix64 finalizer */
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return (size_t)(x ^ (x >> 31)) & (m->cap - 1);
}

static entry_t *map_find(const gidmap_t *m, uint64_t gid)
{
    if (!m->cap)
        return NULL;
    for (size_t i = map_home(m, gid);; i = (i + 1) & (m->cap - 1)) {
        if (m->slots[i].gid == gid)
            return &m->slots[i];
        if (m->slots[i].gid == 0)
            return NULL;
    }
}

static void map_put(gidmap_t *m, uint64_t gid, as_kind_t kind, void *obj);

static void map_grow(gidmap_t *m)
{
    gidmap_t bigger = { xcalloc(m->cap ? m->cap * 2 : 1024, sizeof(entry_t)),
                        m->cap ? m->cap * 2 : 1024, 0 };
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].gid)
            map_put(&bigger, m->slots[i].gid, m->slots[i].kind, m->slots[i].obj);
    free(m->slots);
    *m = bigger;
}

/* Inserts or replaces. The load stays at or below one half. */
static void map_put(gidmap_t *m, uint64_t gid, as_kind_t kind, void *obj)
{
    if ((m->n + 1) * 2 > m->cap)
        map_grow(m);
    size_t i = map_home(m, gid);
    while (m->slots[i].gid && m->slots[i].gid != gid)
        i = (i + 1) & (m->cap - 1);
    if (!m->slots[i].gid)
        m->n++;
    m->slots[i] = (entry_t){ gid, kind, obj };
}

static void map_del(gidmap_t *m, uint64_t gid)
{
    entry_t *e = map_find(m, gid);
    if (!e)
        return;
    size_t mask = m->cap - 1, hole = (size_t)(e - m->slots);
    m->n--;
    /* Pull back later members of the probe run that may not sit past the hole. */
    for (size_t i = (hole + 1) & mask; m->slots[i].gid; i = (i + 1) & mask) {
        size_t home = map_home(m, m->slots[i].gid);
        if (((i - home) & mask) >= ((i - hole) & mask)) {
            m->slots[hole] = m->slots[i];
            hole = i;
        }
    }
    m->slots[hole].gid = 0;
}

/* ---- store --------------------------------------------------------------------------------- */

struct as_store {
    gidmap_t       map;
    uint64_t       next_gid, next_seq;
    uint64_t       workspace_gid, user_gid;
    char          *workspace_name;
    as_project_t **projects;
    size_t         nprojects;
    as_field_t   **fields;
    size_t         nfields;
    as_task_t    **tasks;
    size_t         ntasks;
};

/* Makes room for element n of an array whose capacity is the next power of two of its
 * length (so it grows only when n is a power of two). Returns the possibly moved array. */
static void *grow(void *arr, size_t n, size_t elem)
{
    if (n & (n - 1))
        return arr;
    return xrealloc(arr, (n ? 2 * n : 1) * elem);
}

/* Inserts p at index at of an array of pointers of length *n. */
static void *insert_ptr(void *arr, size_t *n, size_t at, void *p)
{
    void **a = grow(arr, *n, sizeof(void *));
    memmove(a + at + 1, a + at, (*n - at) * sizeof *a);
    a[at] = p;
    (*n)++;
    return a;
}

static uint64_t new_gid(as_store_t *st) { return st->next_gid++; }

as_store_t *as_store_new(uint64_t workspace_gid, const char *workspace_name, uint64_t gid_start)
{
    as_store_t *st = xcalloc(1, sizeof *st);
    st->workspace_gid = workspace_gid;
    st->workspace_name = xstrdup(workspace_name);
    st->next_gid = gid_start;
    st->next_seq = 1;
    st->user_gid = new_gid(st);
    return st;
}

static void option_free(as_option_t *o)
{
    free(o->name);
    free(o->color);
    free(o);
}

static void field_free(as_field_t *f)
{
    for (size_t i = 0; i < f->noptions; i++)
        option_free(f->options[i]);
    free(f->options);
    free(f->name);
    free(f->description);
    free(f->format);
    free(f->currency_code);
    free(f->custom_label);
    free(f->custom_label_position);
    free(f);
}

static void value_clear(as_value_t *v)
{
    free(v->text);
    v->text = NULL;
}

static void task_free(as_task_t *t)
{
    for (size_t i = 0; i < t->nvalues; i++)
        value_clear(&t->values[i]);
    free(t->values);
    free(t->projects);
    free(t->name);
    free(t->notes);
    free(t->subtype);
    free(t);
}

void as_store_reset(as_store_t *st)
{
    for (size_t i = 0; i < st->ntasks; i++)
        task_free(st->tasks[i]);
    free(st->tasks);
    st->tasks = NULL;
    st->ntasks = 0;
    for (size_t i = 0; i < st->nfields; i++)
        field_free(st->fields[i]);
    free(st->fields);
    st->fields = NULL;
    st->nfields = 0;
    free(st->map.slots);
    memset(&st->map, 0, sizeof st->map);
    for (size_t i = 0; i < st->nprojects; i++) {
        as_project_t *p = st->projects[i];
        for (size_t j = 0; j < p->nsettings; j++)
            free(p->settings[j]);
        free(p->settings);
        free(p->tasks);
        p->settings = NULL;
        p->tasks = NULL;
        p->nsettings = p->ntasks = 0;
        map_put(&st->map, p->gid, AS_K_PROJECT, p);
        map_put(&st->map, p->section_gid, AS_K_SECTION, p);
    }
}

void as_store_destroy(as_store_t **stp)
{
    if (!stp || !*stp)
        return;
    as_store_t *st = *stp;
    as_store_reset(st);
    for (size_t i = 0; i < st->nprojects; i++) {
        free(st->projects[i]->name);
        free(st->projects[i]);
    }
    free(st->projects);
    free(st->map.slots);
    free(st->workspace_name);
    free(st);
    *stp = NULL;
}

uint64_t as_store_workspace_gid(const as_store_t *st) { return st->workspace_gid; }
const char *as_store_workspace_name(const as_store_t *st) { return st->workspace_name; }
uint64_t as_store_user_gid(const as_store_t *st) { return st->user_gid; }
size_t as_store_task_count(const as_store_t *st) { return st->ntasks; }

as_project_t *const *as_store_projects(const as_store_t *st, size_t *n)
{
    *n = st->nprojects;
    return st->projects;
}

as_field_t *const *as_store_fields(const as_store_t *st, size_t *n)
{
    *n = st->nfields;
    return st->fields;
}

as_task_t *const *as_store_tasks(const as_store_t *st, size_t *n)
{
    *n = st->ntasks;
    return st->tasks;
}

void *as_store_get(const as_store_t *st, uint64_t gid, as_kind_t kind)
{
    const entry_t *e = map_find(&st->map, gid);
    return e && e->kind == kind ? e->obj : NULL;
}

as_project_t *as_store_project_put(as_store_t *st, uint64_t gid, const char *name,
                                   int64_t now_ms)
{
    as_project_t *p = as_store_get(st, gid, AS_K_PROJECT);
    if (!p) {
        p = xcalloc(1, sizeof *p);
        p->gid = gid;
        p->section_gid = new_gid(st);
        p->created_ms = now_ms;
        st->projects = insert_ptr(st->projects, &st->nprojects, st->nprojects, p);
        map_put(&st->map, p->gid, AS_K_PROJECT, p);
        map_put(&st->map, p->section_gid, AS_K_SECTION, p);
    }
    free(p->name);
    p->name = xstrdup(name);
    return p;
}

/* ---- custom fields and options ------------------------------------------------------------- */

static bool name_rejected(const as_policy_t *pol, const char *name)
{
    for (size_t i = 0; i < pol->nreject; i++)
        if (strcmp(pol->reject_option_names[i], name) == 0)
            return true;
    return false;
}

static int check_option_name(const as_policy_t *pol, const char *name, as_err_t *err)
{
    if (name && name_rejected(pol, name))
        return as_fail(err, 400, "name: Enum option name \"%s\" refused (simulated failure: "
                                 "reject_enum_option_names)", name);
    return 0;
}

static bool field_has_option_named(const as_field_t *f, const char *name)
{
    for (size_t i = 0; i < f->noptions; i++)
        if (strcmp(f->options[i]->name, name) == 0)
            return true;
    return false;
}

/* Index of option gid among f's options, or -1. */
static long option_index(const as_field_t *f, uint64_t gid)
{
    for (size_t i = 0; i < f->noptions; i++)
        if (f->options[i]->gid == gid)
            return (long)i;
    return -1;
}

/* Creates an option at index at of f (checked by the caller). */
static as_option_t *option_new(as_store_t *st, as_field_t *f, size_t at,
                               const as_option_input_t *in)
{
    as_option_t *o = xcalloc(1, sizeof *o);
    o->gid = new_gid(st);
    o->name = xstrdup(in->name);
    o->color = xstrdup(in->color ? in->color : "none");
    o->enabled = true; /* "On creation of an enum option, enabled is always set to true" */
    o->field = f;
    f->options = insert_ptr(f->options, &f->noptions, at, o);
    map_put(&st->map, o->gid, AS_K_OPTION, o);
    return o;
}

static char *dup_or_null(const char *s) { return s ? xstrdup(s) : NULL; }

as_field_t *as_store_field_create(as_store_t *st, const as_field_input_t *in,
                                  const as_policy_t *pol, size_t *duplicates, as_err_t *err)
{
    *duplicates = 0;
    if (in->workspace != st->workspace_gid) {
        as_fail(err, 400, "workspace: Unknown object: %llu", (unsigned long long)in->workspace);
        return NULL;
    }
    for (size_t i = 0; i < st->nfields; i++) {
        if (strcmp(st->fields[i]->name, in->name) == 0) {
            as_fail(err, 400, "name: A custom field named \"%s\" already exists in this "
                              "workspace (%llu)", in->name,
                    (unsigned long long)st->fields[i]->gid);
            return NULL;
        }
    }
    if (in->noptions > MAX_ENUM_OPTIONS) {
        as_fail(err, 400, "enum_options: A custom field can have at most %d enum options",
                MAX_ENUM_OPTIONS);
        return NULL;
    }
    for (size_t i = 0; i < in->noptions; i++)
        if (check_option_name(pol, in->options[i].name, err) != 0)
            return NULL;
    as_field_t *f = xcalloc(1, sizeof *f);
    f->gid = new_gid(st);
    f->name = xstrdup(in->name);
    f->description = xstrdup(in->description ? in->description : "");
    f->type = in->type;
    f->precision = in->precision >= 0 ? in->precision : 0;
    f->format = xstrdup(in->format ? in->format : "none");
    f->currency_code = dup_or_null(in->currency_code);
    f->custom_label = dup_or_null(in->custom_label);
    f->custom_label_position = dup_or_null(in->custom_label_position);
    f->notifications = in->has_notifications ? in->notifications : true;
    for (size_t i = 0; i < in->noptions; i++) {
        if (field_has_option_named(f, in->options[i].name))
            (*duplicates)++;
        option_new(st, f, f->noptions, &in->options[i]);
    }
    st->fields = insert_ptr(st->fields, &st->nfields, st->nfields, f);
    map_put(&st->map, f->gid, AS_K_FIELD, f);
    return f;
}

/* Where a new option / setting goes: at the end, or before / after a sibling found by
 * index_of (-1 when gid is not a sibling). */
static int insert_position(uint64_t before, uint64_t after,
                           long (*index_of)(const void *, uint64_t), const void *parent, size_t n,
                           size_t *at, as_err_t *err)
{
    *at = n;
    uint64_t sibling = before ? before : after;
    if (!sibling)
        return 0;
    long i = index_of(parent, sibling);
    if (i < 0)
        return as_fail(err, 400, "%s: Unknown object: %llu",
                       before ? "insert_before" : "insert_after", (unsigned long long)sibling);
    *at = (size_t)i + (before ? 0 : 1);
    return 0;
}

static long option_index_of(const void *field, uint64_t gid) { return option_index(field, gid); }

as_option_t *as_store_option_create(as_store_t *st, as_field_t *f, const as_option_input_t *in,
                                    const as_policy_t *pol, bool *duplicate, as_err_t *err)
{
    *duplicate = false;
    size_t at;
    if (f->type != AS_CF_ENUM) {
        as_fail(err, 400, "custom_field: Enum options can only be added to enum custom fields, "
                          "%llu is %s", (unsigned long long)f->gid, as_cf_type_name(f->type));
        return NULL;
    }
    if (f->noptions >= MAX_ENUM_OPTIONS) {
        as_fail(err, 400, "enum_options: A custom field can have at most %d enum options "
                          "(disabled ones included)", MAX_ENUM_OPTIONS);
        return NULL;
    }
    if (check_option_name(pol, in->name, err) != 0 ||
        insert_position(in->insert_before, in->insert_after, option_index_of, f, f->noptions,
                        &at, err) != 0)
        return NULL;
    *duplicate = field_has_option_named(f, in->name);
    return option_new(st, f, at, in);
}

int as_store_option_update(as_option_t *o, const as_option_input_t *in, const as_policy_t *pol,
                           as_err_t *err)
{
    if (in->name && !*in->name)
        return as_fail(err, 400, "name: Missing input");
    if (check_option_name(pol, in->name, err) != 0)
        return -1;
    if (in->name) {
        free(o->name);
        o->name = xstrdup(in->name);
    }
    if (in->color) {
        free(o->color);
        o->color = xstrdup(in->color);
    }
    if (in->has_enabled)
        o->enabled = in->enabled;
    return 0;
}

static long setting_index_of(const void *project, uint64_t gid)
{
    const as_project_t *p = project;
    for (size_t i = 0; i < p->nsettings; i++)
        if (p->settings[i]->gid == gid)
            return (long)i;
    return -1;
}

as_setting_t *as_store_setting_add(as_store_t *st, as_project_t *p, const as_setting_input_t *in,
                                   as_err_t *err)
{
    as_field_t *f = as_store_get(st, in->field, AS_K_FIELD);
    size_t at;
    if (!f) {
        as_fail(err, 400, "custom_field: Unknown object: %llu", (unsigned long long)in->field);
        return NULL;
    }
    for (size_t i = 0; i < p->nsettings; i++) {
        if (p->settings[i]->field == f) {
            as_fail(err, 400, "custom_field: Custom field with ID %llu is already on project %llu",
                    (unsigned long long)f->gid, (unsigned long long)p->gid);
            return NULL;
        }
    }
    if (insert_position(in->insert_before, in->insert_after, setting_index_of, p, p->nsettings,
                        &at, err) != 0)
        return NULL;
    as_setting_t *s = xcalloc(1, sizeof *s);
    s->gid = new_gid(st);
    s->field = f;
    s->project = p;
    s->important = in->important;
    p->settings = insert_ptr(p->settings, &p->nsettings, at, s);
    map_put(&st->map, s->gid, AS_K_SETTING, s);
    return s;
}

/* ---- tasks ----------------------------------------------------------------------------------- */

/* A custom field value checked against its field, ready to apply. */
typedef struct {
    as_field_t  *field;
    bool         clear;
    const char  *text;
    double       number;
    as_option_t *option;
} change_t;

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static bool field_on_projects(const as_field_t *f, as_project_t *const *projects, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < projects[i]->nsettings; j++)
            if (projects[i]->settings[j]->field == f)
                return true;
    return false;
}

/* Checks one custom_fields member against the store and the task's projects. */
static int check_value(const as_store_t *st, const as_cf_input_t *cf, const as_policy_t *pol,
                       as_project_t *const *projects, size_t nprojects, change_t *out,
                       as_err_t *err)
{
    char buf[96], what[64];
    unsigned long long fgid = (unsigned long long)cf->field;
    memset(out, 0, sizeof *out);
    out->field = as_store_get(st, cf->field, AS_K_FIELD);
    if (!out->field)
        return as_fail(err, 400, "Custom field with ID %llu not found", fgid);
    if (!field_on_projects(out->field, projects, nprojects))
        return as_fail(err, 400, "Custom field with ID %llu is not on given object", fgid);
    const json_t *v = cf->value;
    if (json_is_null(v)) {
        out->clear = true;
        return 0;
    }
    switch (out->field->type) {
    case AS_CF_TEXT:
        if (!json_is_string(v))
            return as_fail(err, 400, "custom_fields: %llu: Value is not a string: %s", fgid,
                           as_shown(v, buf, sizeof buf));
        out->text = json_string_value(v);
        if (utf8_chars(out->text) > MAX_TEXT_CHARS)
            return as_fail(err, 400, "custom_fields: %llu: Text value is longer than %d "
                                     "characters", fgid, MAX_TEXT_CHARS);
        return 0;
    case AS_CF_NUMBER:
        if (!json_is_number(v))
            return as_fail(err, 400, "custom_fields: %llu: Value is not a number: %s", fgid,
                           as_shown(v, buf, sizeof buf));
        out->number = json_number_value(v);
        return 0;
    case AS_CF_ENUM: {
        uint64_t og;
        snprintf(what, sizeof what, "custom_fields: %llu", fgid);
        if (as_input_gid(v, what, &og, err) != 0)
            return -1;
        out->option = as_store_get(st, og, AS_K_OPTION);
        if (!out->option || out->option->field != out->field)
            return as_fail(err, 400, "custom_fields: %llu: Enum option %llu is not an option of "
                                     "this custom field", fgid, (unsigned long long)og);
        if (!out->option->enabled)
            return as_fail(err, 400, "custom_fields: %llu: Enum option %llu is disabled", fgid,
                           (unsigned long long)og);
        /* The poison knob also hits options that existed before it was switched on. */
        if (name_rejected(pol, out->option->name))
            return as_fail(err, 400, "custom_fields: %llu: Enum option \"%s\" refused (simulated "
                                     "failure: reject_enum_option_names)", fgid,
                           out->option->name);
        return 0;
    }
    }
    return 0;
}

/* Checks every custom_fields member; *changes is malloc'd (caller frees) on success. */
static int check_values(const as_store_t *st, const as_task_input_t *in, const as_policy_t *pol,
                        as_project_t *const *projects, size_t nprojects, change_t **changes,
                        as_err_t *err)
{
    *changes = NULL;
    if (in->ncfs == 0)
        return 0;
    if (!pol->premium)
        return as_fail(err, 402, "Custom Fields are not available for free users or guests.");
    *changes = xcalloc(in->ncfs, sizeof **changes);
    for (size_t i = 0; i < in->ncfs; i++) {
        if (check_value(st, &in->cfs[i], pol, projects, nprojects, &(*changes)[i], err) != 0) {
            free(*changes);
            *changes = NULL;
            return -1;
        }
    }
    return 0;
}

const as_value_t *as_task_value(const as_task_t *t, const as_field_t *f)
{
    for (size_t i = 0; i < t->nvalues; i++)
        if (t->values[i].field == f)
            return &t->values[i];
    return NULL;
}

/* Applies one checked change; true when the task's value differs afterwards. */
static bool apply_change(as_task_t *t, const change_t *c)
{
    as_value_t *v = (as_value_t *)as_task_value(t, c->field);
    if (c->clear) {
        if (!v)
            return false;
        value_clear(v);
        *v = t->values[--t->nvalues];
        return true;
    }
    if (v) {
        bool same = c->field->type == AS_CF_TEXT     ? strcmp(v->text, c->text) == 0
                    : c->field->type == AS_CF_NUMBER ? v->number == c->number
                                                     : v->option == c->option;
        if (same)
            return false;
        value_clear(v);
    } else {
        t->values = grow(t->values, t->nvalues, sizeof *t->values);
        v = &t->values[t->nvalues++];
    }
    *v = (as_value_t){ .field = c->field, .number = c->number, .option = c->option,
                       .text = c->text ? xstrdup(c->text) : NULL };
    return true;
}

static bool set_text(char **dst, const char *src)
{
    if (strcmp(*dst, src) == 0)
        return false;
    free(*dst);
    *dst = xstrdup(src);
    return true;
}

/* Applies the plain members of in to t (fresh tasks included); true when something changed. */
static bool apply_members(as_task_t *t, const as_task_input_t *in, int64_t now_ms)
{
    bool changed = false;
    if (in->has_name)
        changed |= set_text(&t->name, in->name);
    if (in->has_notes)
        changed |= set_text(&t->notes, in->notes);
    if (in->has_subtype)
        changed |= set_text(&t->subtype, in->subtype);
    if (in->has_completed && in->completed != t->completed) {
        t->completed = in->completed;
        t->completed_ms = in->completed ? now_ms : 0;
        changed = true;
    }
    if (in->has_due_on || in->has_due_at) {
        /* One of the two is sent; due_at also sets due_on to its UTC date. */
        char due_on[32] = "";
        int64_t due_at = in->has_due_at ? in->due_at_ms : -1;
        if (in->due_on)
            snprintf(due_on, sizeof due_on, "%s", in->due_on);
        else if (due_at >= 0)
            iso8601_ms(due_at, due_on, sizeof due_on);
        due_on[10] = '\0';
        changed |= strcmp(due_on, t->due_on) != 0 || due_at != t->due_at_ms;
        memcpy(t->due_on, due_on, sizeof t->due_on);
        t->due_at_ms = due_at;
    }
    return changed;
}

as_task_t *as_store_task_create(as_store_t *st, const as_task_input_t *in,
                                const as_policy_t *pol, int64_t now_ms, as_err_t *err)
{
    if (in->workspace && in->workspace != st->workspace_gid) {
        as_fail(err, 400, "workspace: Unknown object: %llu", (unsigned long long)in->workspace);
        return NULL;
    }
    as_project_t **projects = xcalloc(in->nprojects + 1, sizeof *projects);
    size_t np = 0;
    change_t *changes = NULL;
    for (size_t i = 0; i < in->nprojects; i++) {
        as_project_t *p = as_store_get(st, in->projects[i], AS_K_PROJECT);
        if (!p) {
            as_fail(err, 400, "projects: [%zu]: Unknown object: %llu", i,
                    (unsigned long long)in->projects[i]);
            goto fail;
        }
        size_t j = 0;
        while (j < np && projects[j] != p)
            j++;
        if (j == np)
            projects[np++] = p;
    }
    if (check_values(st, in, pol, projects, np, &changes, err) != 0)
        goto fail;
    as_task_t *t = xcalloc(1, sizeof *t);
    t->gid = new_gid(st);
    t->seq = st->next_seq++;
    t->name = xstrdup("");
    t->notes = xstrdup("");
    t->subtype = xstrdup("default_task");
    t->created_ms = t->modified_ms = now_ms;
    t->due_at_ms = -1;
    t->projects = projects;
    t->nprojects = np;
    apply_members(t, in, now_ms);
    for (size_t i = 0; i < in->ncfs; i++)
        apply_change(t, &changes[i]);
    free(changes);
    t->slot = st->ntasks;
    st->tasks = insert_ptr(st->tasks, &st->ntasks, st->ntasks, t);
    for (size_t i = 0; i < np; i++) /* the newest seq goes last */
        projects[i]->tasks = insert_ptr(projects[i]->tasks, &projects[i]->ntasks,
                                        projects[i]->ntasks, t);
    map_put(&st->map, t->gid, AS_K_TASK, t);
    return t;
fail:
    free(projects);
    return NULL;
}

int as_store_task_update(as_store_t *st, as_task_t *t, const as_task_input_t *in,
                         const as_policy_t *pol, int64_t now_ms, as_err_t *err)
{
    change_t *changes;
    if (check_values(st, in, pol, t->projects, t->nprojects, &changes, err) != 0)
        return -1;
    bool changed = apply_members(t, in, now_ms);
    for (size_t i = 0; i < in->ncfs; i++)
        changed |= apply_change(t, &changes[i]);
    free(changes);
    if (changed)
        t->modified_ms = now_ms;
    return 0;
}

size_t as_project_task_from(const as_project_t *p, uint64_t seq)
{
    size_t lo = 0, hi = p->ntasks;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->tasks[mid]->seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void as_store_task_delete(as_store_t *st, as_task_t *t)
{
    map_del(&st->map, t->gid);
    st->tasks[t->slot] = st->tasks[--st->ntasks];
    st->tasks[t->slot]->slot = t->slot;
    for (size_t i = 0; i < t->nprojects; i++) {
        as_project_t *p = t->projects[i];
        size_t at = as_project_task_from(p, t->seq);
        memmove(p->tasks + at, p->tasks + at + 1, (p->ntasks - at - 1) * sizeof *p->tasks);
        p->ntasks--;
    }
    task_free(t);
}
