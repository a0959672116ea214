/* asana_events: see asana_events.h. */
#include "asana_events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asana_render.h"

#define SYNC_STALE "Sync token invalid or too old. If you are attempting to keep resources in " \
                   "sync, you must fetch the full dataset for this query now and use the new " \
                   "sync token for the next sync."

const char *as_ev_action_name(as_ev_action_t a)
{
    static const char *const names[] = { "added", "changed", "deleted" };
    return names[a];
}

void as_event_list_free(as_event_list_t *l)
{
    for (size_t i = 0; l && i < l->n; i++)
        free(l->items[i].json);
    if (l) {
        free(l->items);
        l->items = NULL;
        l->n = 0;
    }
}

/* ---- snapshots ------------------------------------------------------------------------------- */

void as_task_snap_take(const as_task_t *t, as_task_snap_t *s)
{
    memset(s, 0, sizeof *s);
    s->name = xstrdup(t->name ? t->name : "");
    s->notes = xstrdup(t->notes ? t->notes : "");
    s->subtype = xstrdup(t->subtype ? t->subtype : "default_task");
    s->completed = t->completed;
    memcpy(s->due_on, t->due_on, sizeof s->due_on);
    s->due_at_ms = t->due_at_ms;
    s->values = xcalloc(t->nvalues + 1, sizeof *s->values);
    s->nvalues = t->nvalues;
    for (size_t i = 0; i < t->nvalues; i++) {
        s->values[i] = t->values[i];
        s->values[i].text = t->values[i].text ? xstrdup(t->values[i].text) : NULL;
    }
}

void as_task_snap_free(as_task_snap_t *s)
{
    if (!s)
        return;
    free(s->name);
    free(s->notes);
    free(s->subtype);
    for (size_t i = 0; i < s->nvalues; i++)
        free(s->values[i].text);
    free(s->values);
    memset(s, 0, sizeof *s);
}

/* ---- building events ------------------------------------------------------------------------- */

/* What one event reports besides its task: the change (field "" for added / deleted). */
typedef struct {
    const char       *field;
    const as_field_t *cf;        /* custom_fields: the field that changed */
} change_t;

/* The custom field change's new_value: the field with its value on t (null values when
 * cleared) and the display value. */
static void write_cf_value(as_jw_t *w, const as_task_t *t, const as_field_t *f)
{
    static const char *const value_keys[] = { "text_value", "number_value", "enum_value" };
    const as_value_t *v = as_task_value(t, f);
    char buf[64];
    as_jw_obj(w);
    as_jw_key(w, "gid");
    as_jw_gid(w, f->gid);
    as_jw_key(w, "resource_type");
    as_jw_str(w, "custom_field");
    as_jw_key(w, "name");
    as_jw_str(w, f->name);
    as_jw_key(w, "resource_subtype");
    as_jw_str(w, as_cf_type_name(f->type));
    as_jw_key(w, "type");
    as_jw_str(w, as_cf_type_name(f->type));
    as_jw_key(w, value_keys[f->type]);
    if (!v) {
        as_jw_null(w);
    } else if (f->type == AS_CF_TEXT) {
        as_jw_str(w, v->text);
    } else if (f->type == AS_CF_NUMBER) {
        as_jw_num(w, v->number);
    } else {
        as_jw_obj(w);
        as_jw_key(w, "gid");
        as_jw_gid(w, v->option->gid);
        as_jw_key(w, "resource_type");
        as_jw_str(w, "enum_option");
        as_jw_key(w, "name");
        as_jw_str(w, v->option->name);
        as_jw_end_obj(w);
    }
    as_jw_key(w, "display_value");
    as_jw_str(w, as_render_display(t, f, buf, sizeof buf));
    as_jw_end_obj(w);
}

/* The new value of plain field name on t. */
static void write_new_value(as_jw_t *w, const as_task_t *t, const char *field)
{
    if (strcmp(field, "name") == 0)
        as_jw_str(w, t->name);
    else if (strcmp(field, "notes") == 0)
        as_jw_str(w, t->notes);
    else if (strcmp(field, "resource_subtype") == 0)
        as_jw_str(w, t->subtype);
    else if (strcmp(field, "completed") == 0)
        as_jw_bool(w, t->completed);
    else if (strcmp(field, "due_on") == 0)
        as_jw_str(w, t->due_on[0] ? t->due_on : NULL);
    else
        as_jw_time(w, t->due_at_ms);   /* due_at; -1 (null) writes null */
}

static void add_event(as_event_list_t *out, as_ev_action_t action, const change_t *ch,
                      const as_task_t *t, const as_project_t *p, uint64_t user_gid,
                      int64_t now_ms)
{
    buf_t b;
    as_jw_t w;
    buf_init(&b);
    as_jw_init(&w, &b);
    as_jw_obj(&w);
    as_jw_key(&w, "user");
    as_jw_obj(&w);
    as_jw_key(&w, "gid");
    as_jw_gid(&w, user_gid);
    as_jw_key(&w, "resource_type");
    as_jw_str(&w, "user");
    as_jw_end_obj(&w);
    as_jw_key(&w, "created_at");
    as_jw_time(&w, now_ms);
    as_jw_key(&w, "action");
    as_jw_str(&w, as_ev_action_name(action));
    as_jw_key(&w, "resource");
    as_jw_obj(&w);
    as_jw_key(&w, "gid");
    as_jw_gid(&w, t->gid);
    as_jw_key(&w, "resource_type");
    as_jw_str(&w, "task");
    as_jw_key(&w, "resource_subtype");
    as_jw_str(&w, t->subtype ? t->subtype : "default_task");
    as_jw_end_obj(&w);
    as_jw_key(&w, "parent");
    if (action == AS_EV_ADDED) {
        as_jw_obj(&w);
        as_jw_key(&w, "gid");
        as_jw_gid(&w, p->gid);
        as_jw_key(&w, "resource_type");
        as_jw_str(&w, "project");
        as_jw_key(&w, "name");
        as_jw_str(&w, p->name);
        as_jw_end_obj(&w);
    } else {
        as_jw_null(&w);
    }
    if (action == AS_EV_CHANGED) {
        as_jw_key(&w, "change");
        as_jw_obj(&w);
        as_jw_key(&w, "field");
        as_jw_str(&w, ch->field);
        as_jw_key(&w, "action");
        as_jw_str(&w, "changed");
        as_jw_key(&w, "new_value");
        if (ch->cf)
            write_cf_value(&w, t, ch->cf);
        else
            write_new_value(&w, t, ch->field);
        as_jw_end_obj(&w);
    }
    as_jw_end_obj(&w);
    out->items = xrealloc(out->items, (out->n + 1) * sizeof *out->items);
    as_event_t *e = &out->items[out->n++];
    memset(e, 0, sizeof *e);
    e->project = p->gid;
    e->action = action;
    snprintf(e->field, sizeof e->field, "%s", ch ? ch->field : "");
    snprintf(e->subtype, sizeof e->subtype, "%s", t->subtype ? t->subtype : "default_task");
    e->json = buf_steal(&b);
}

static bool str_differs(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") != 0;
}

static const as_value_t *snap_value(const as_task_snap_t *s, const as_field_t *f)
{
    for (size_t i = 0; i < s->nvalues; i++)
        if (s->values[i].field == f)
            return &s->values[i];
    return NULL;
}

static bool value_differs(const as_value_t *a, const as_value_t *b)
{
    if (!a || !b)
        return a != b;
    switch (a->field->type) {
    case AS_CF_TEXT: return str_differs(a->text, b->text);
    case AS_CF_NUMBER: return a->number != b->number;
    case AS_CF_ENUM: return a->option != b->option;
    }
    return true;
}

/* The changes between before and t, in a fixed order (plain fields, then custom fields in
 * the order of the task's values, then cleared ones); returns how many went into ch. */
static size_t diff(const as_task_snap_t *before, const as_task_t *t, change_t **ch)
{
    size_t n = 0;
    *ch = xcalloc(6 + t->nvalues + before->nvalues, sizeof **ch);
    if (str_differs(before->name, t->name))
        (*ch)[n++] = (change_t){ "name", NULL };
    if (str_differs(before->notes, t->notes))
        (*ch)[n++] = (change_t){ "notes", NULL };
    if (str_differs(before->subtype, t->subtype))
        (*ch)[n++] = (change_t){ "resource_subtype", NULL };
    if (before->completed != t->completed)
        (*ch)[n++] = (change_t){ "completed", NULL };
    if (strcmp(before->due_on, t->due_on) != 0)
        (*ch)[n++] = (change_t){ "due_on", NULL };
    if (before->due_at_ms != t->due_at_ms)
        (*ch)[n++] = (change_t){ "due_at", NULL };
    for (size_t i = 0; i < t->nvalues; i++)
        if (value_differs(snap_value(before, t->values[i].field), &t->values[i]))
            (*ch)[n++] = (change_t){ "custom_fields", t->values[i].field };
    for (size_t i = 0; i < before->nvalues; i++)
        if (!as_task_value(t, before->values[i].field))
            (*ch)[n++] = (change_t){ "custom_fields", before->values[i].field };
    return n;
}

void as_events_build(as_ev_action_t action, const as_task_snap_t *before, const as_task_t *t,
                     uint64_t user_gid, int64_t now_ms, as_event_list_t *out)
{
    change_t *ch = NULL;
    size_t nch = action == AS_EV_CHANGED ? diff(before, t, &ch) : 1;
    for (size_t p = 0; p < t->nprojects; p++)
        for (size_t i = 0; i < nch; i++)
            add_event(out, action, ch ? &ch[i] : NULL, t, t->projects[p], user_gid, now_ms);
    free(ch);
}

/* ---- the log ------------------------------------------------------------------------------- */

struct as_evlog {
    as_event_t *ring;
    size_t      cap, head, count;   /* oldest at head */
    uint64_t    last_seq;
    uint64_t    dropped_upto;       /* seq of the newest event evicted, 0: none */
    uint32_t    salt;
};

as_evlog_t *as_evlog_new(size_t capacity, uint32_t salt)
{
    as_evlog_t *log = xcalloc(1, sizeof *log);
    log->cap = capacity ? capacity : 1;
    log->ring = xcalloc(log->cap, sizeof *log->ring);
    log->salt = salt;
    return log;
}

void as_evlog_destroy(as_evlog_t **logp)
{
    if (!logp || !*logp)
        return;
    as_evlog_t *log = *logp;
    for (size_t i = 0; i < log->count; i++)
        free(log->ring[(log->head + i) % log->cap].json);
    free(log->ring);
    free(log);
    *logp = NULL;
}

uint64_t as_evlog_append(as_evlog_t *log, as_event_t *e)
{
    if (log->count == log->cap) {
        as_event_t *old = &log->ring[log->head];
        log->dropped_upto = old->seq;
        free(old->json);
        log->head = (log->head + 1) % log->cap;
        log->count--;
    }
    e->seq = ++log->last_seq;
    log->ring[(log->head + log->count++) % log->cap] = *e;
    e->json = NULL;
    return e->seq;
}

void as_evlog_expire_tokens(as_evlog_t *log, uint32_t new_salt)
{
    log->salt = new_salt == log->salt ? new_salt + 1 : new_salt;
}

uint64_t as_evlog_last_seq(const as_evlog_t *log)
{
    return log->last_seq;
}

/* FNV-1a over salt, project and position: only tokens we issued for this project pass. */
static uint32_t sync_mac(const as_evlog_t *log, uint64_t project, uint64_t seq)
{
    uint32_t h = 2166136261u ^ log->salt;
    for (int i = 0; i < 8; i++)
        h = (h ^ (uint8_t)(project >> (8 * i))) * 16777619u;
    for (int i = 0; i < 8; i++)
        h = (h ^ (uint8_t)(seq >> (8 * i))) * 16777619u;
    return h;
}

static void write_token(const as_evlog_t *log, uint64_t project, uint64_t seq, char out[48])
{
    snprintf(out, 48, "%llx%08x", (unsigned long long)seq, sync_mac(log, project, seq));
}

/* The position of a token, or -1 when it is not ours, not this project's, or too old. */
static int read_token(const as_evlog_t *log, uint64_t project, const char *text, uint64_t *seq)
{
    size_t n = text ? strlen(text) : 0;
    if (n < 9 || n > 24 || strspn(text, "0123456789abcdef") != n)
        return -1;
    char head[24];
    memcpy(head, text, n - 8);
    head[n - 8] = '\0';
    uint64_t s = strtoull(head, NULL, 16);
    uint32_t mac = (uint32_t)strtoul(text + n - 8, NULL, 16);
    if (mac != sync_mac(log, project, s) || s > log->last_seq || s < log->dropped_upto)
        return -1;
    *seq = s;
    return 0;
}

int as_evlog_fetch(const as_evlog_t *log, uint64_t project, const char *sync, buf_t *body)
{
    char token[48];
    uint64_t from;
    as_jw_t w;
    if (read_token(log, project, sync, &from) != 0) {
        write_token(log, project, log->last_seq, token);
        as_jw_init(&w, body);
        as_jw_obj(&w);
        as_jw_key(&w, "errors");
        as_jw_arr(&w);
        as_jw_obj(&w);
        as_jw_key(&w, "message");
        as_jw_str(&w, SYNC_STALE);
        as_jw_end_obj(&w);
        as_jw_end_arr(&w);
        as_jw_key(&w, "sync");
        as_jw_str(&w, token);
        as_jw_end_obj(&w);
        return 412;
    }
    uint64_t next = log->last_seq;
    size_t sent = 0;
    bool more = false;
    buf_append(body, "{\"data\":[", 9);
    for (size_t i = 0; i < log->count; i++) {
        const as_event_t *e = &log->ring[(log->head + i) % log->cap];
        if (e->seq <= from || e->project != project)
            continue;
        if (sent == AS_EVENTS_PAGE) {
            more = true;
            break;
        }
        if (sent++)
            buf_append(body, ",", 1);
        buf_append(body, e->json, strlen(e->json));
        next = e->seq;
    }
    if (!more)
        next = log->last_seq;
    write_token(log, project, next, token);
    buf_appendf(body, "],\"sync\":\"%s\",\"has_more\":%s}", token, more ? "true" : "false");
    return 200;
}
