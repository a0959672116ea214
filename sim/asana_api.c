/* asana_api: see asana_api.h. */
#include "asana_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asana_events.h"
#include "asana_input.h"
#include "asana_render.h"
#include "asana_webhooks.h"

#define API_PREFIX        "/api/1.0"
#define MAX_UNPAGED_ITEMS 1000   /* beyond this a listing without limit is refused */

static const struct {
    const char   *method;
    const char   *pattern;   /* '*' is the {gid} segment */
    as_route_id_t id;
    const char   *name;
} routes[] = {
    { "GET", "/users/me", AS_R_USERS_ME, "GET /users/me" },
    { "GET", "/workspaces", AS_R_WORKSPACES, "GET /workspaces" },
    { "GET", "/workspaces/*", AS_R_WORKSPACE, "GET /workspaces/{workspace_gid}" },
    { "GET", "/workspaces/*/custom_fields", AS_R_WORKSPACE_FIELDS,
      "GET /workspaces/{workspace_gid}/custom_fields" },
    { "GET", "/workspaces/*/projects", AS_R_WORKSPACE_PROJECTS,
      "GET /workspaces/{workspace_gid}/projects" },
    { "GET", "/projects/*", AS_R_PROJECT, "GET /projects/{project_gid}" },
    { "GET", "/projects/*/tasks", AS_R_PROJECT_TASKS, "GET /projects/{project_gid}/tasks" },
    { "GET", "/tasks", AS_R_TASKS, "GET /tasks" },
    { "GET", "/projects/*/custom_field_settings", AS_R_PROJECT_SETTINGS,
      "GET /projects/{project_gid}/custom_field_settings" },
    { "POST", "/projects/*/addCustomFieldSetting", AS_R_ADD_SETTING,
      "POST /projects/{project_gid}/addCustomFieldSetting" },
    { "POST", "/custom_fields", AS_R_FIELD_CREATE, "POST /custom_fields" },
    { "GET", "/custom_fields/*", AS_R_FIELD, "GET /custom_fields/{custom_field_gid}" },
    { "POST", "/custom_fields/*/enum_options", AS_R_OPTION_CREATE,
      "POST /custom_fields/{custom_field_gid}/enum_options" },
    { "PUT", "/enum_options/*", AS_R_OPTION_UPDATE, "PUT /enum_options/{enum_option_gid}" },
    { "POST", "/tasks", AS_R_TASK_CREATE, "POST /tasks" },
    { "GET", "/tasks/*", AS_R_TASK_GET, "GET /tasks/{task_gid}" },
    { "PUT", "/tasks/*", AS_R_TASK_UPDATE, "PUT /tasks/{task_gid}" },
    { "DELETE", "/tasks/*", AS_R_TASK_DELETE, "DELETE /tasks/{task_gid}" },
    { "POST", "/webhooks", AS_R_WEBHOOK_CREATE, "POST /webhooks" },
    { "GET", "/webhooks", AS_R_WEBHOOKS, "GET /webhooks" },
    { "GET", "/webhooks/*", AS_R_WEBHOOK_GET, "GET /webhooks/{webhook_gid}" },
    { "DELETE", "/webhooks/*", AS_R_WEBHOOK_DELETE, "DELETE /webhooks/{webhook_gid}" },
    { "GET", "/events", AS_R_EVENTS, "GET /events" },
};

/* Matches path (after the prefix) against pattern; the '*' segment goes to r->param. */
static bool match(const char *pattern, const char *path, as_route_t *r)
{
    r->param = NULL;
    r->param_len = 0;
    while (*pattern && *path) {
        if (*pattern == '*') {
            size_t n = strcspn(path, "/");
            if (n == 0)
                return false;
            r->param = path;
            r->param_len = n;
            path += n;
            pattern++;
        } else if (*pattern++ != *path++) {
            return false;
        }
    }
    return *pattern == '\0' && (*path == '\0' || strcmp(path, "/") == 0);
}

void as_api_route(const char *method, const char *path, as_route_t *r)
{
    static const char *const writes[] = { "POST", "PUT", "PATCH", "DELETE" };
    static const char *const unmatched[] = { "POST (no route)", "PUT (no route)",
                                             "PATCH (no route)", "DELETE (no route)" };
    memset(r, 0, sizeof *r);
    r->name = strcmp(method, "GET") == 0 ? "GET (no route)" : "OTHER (no route)";
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) {
        if (strcmp(method, writes[i]) == 0) {
            r->write = true;
            r->name = unmatched[i];
        }
    }
    size_t plen = strlen(API_PREFIX);
    if (strncmp(path, API_PREFIX, plen) != 0 || (path[plen] != '/' && path[plen] != '\0'))
        return;
    path += plen;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (strcmp(routes[i].method, method) == 0 && match(routes[i].pattern, path, r)) {
            r->id = routes[i].id;
            r->name = routes[i].name;
            return;
        }
    }
    r->param = NULL;
    r->param_len = 0;
}

const char *as_req_query(const asana_req_t *req, const char *name)
{
    for (size_t i = 0; i < req->nquery; i++)
        if (strcmp(req->query[i].name, name) == 0)
            return req->query[i].value;
    return NULL;
}

/* ---- replies ------------------------------------------------------------------------------- */

static void reply_error(as_api_reply_t *out, int status, const char *message)
{
    out->status = status;
    buf_reset(&out->body);
    as_render_error(&out->body, status, message);
}

static void reply_err(as_api_reply_t *out, const as_err_t *err)
{
    reply_error(out, err->status, err->msg);
}

/* {"data": obj} with status. */
static void reply_object(const as_api_ctx_t *c, as_api_reply_t *out, int status, as_rtype_t rt,
                         const void *obj, const as_sel_t *sel, as_form_t form)
{
    as_jw_t w;
    out->status = status;
    as_jw_init(&w, &out->body);
    as_jw_obj(&w);
    as_jw_key(&w, "data");
    as_render(&w, c->st, rt, obj, sel, form);
    as_jw_end_obj(&w);
}

static const char *base_url(const as_api_ctx_t *c)
{
    return c->req->base_url ? c->req->base_url : "http://127.0.0.1";
}

static void set_location(const as_api_ctx_t *c, as_api_reply_t *out, const char *what,
                         uint64_t gid)
{
    out->location = xasprintf("%s" API_PREFIX "/%s/%llu", base_url(c), what,
                              (unsigned long long)gid);
}

/* The route's {gid} as a number; -1 after replying 400 "<resource>: Not a recognized ID". */
static int path_gid(const as_route_t *r, const char *resource, uint64_t *gid,
                    as_api_reply_t *out)
{
    char text[64], msg[160];
    snprintf(text, sizeof text, "%.*s", (int)r->param_len, r->param);
    if (as_gid_parse(text, gid) == 0)
        return 0;
    snprintf(msg, sizeof msg, "%s: Not a recognized ID: %s", resource, text);
    reply_error(out, 400, msg);
    return -1;
}

static void reply_unknown(as_api_reply_t *out, const char *resource, uint64_t gid)
{
    char msg[160];
    snprintf(msg, sizeof msg, "%s: Unknown object: %llu", resource, (unsigned long long)gid);
    reply_error(out, 404, msg);
}

/* The object of kind named by the route's {gid}; NULL after replying 400 (not a gid) or
 * 404 (no such object). resource names it in messages ("task"). */
static void *path_object(const as_route_t *r, const as_api_ctx_t *c, as_kind_t kind,
                         const char *resource, as_api_reply_t *out)
{
    uint64_t gid;
    if (path_gid(r, resource, &gid, out) != 0)
        return NULL;
    void *obj = as_store_get(c->st, gid, kind);
    if (!obj)
        reply_unknown(out, resource, gid);
    return obj;
}

/* 0 when the route's {gid} is our workspace, -1 after replying 400 / 404. */
static int path_workspace(const as_route_t *r, const as_api_ctx_t *c, as_api_reply_t *out)
{
    uint64_t gid;
    if (path_gid(r, "workspace", &gid, out) != 0)
        return -1;
    if (gid == as_store_workspace_gid(c->st))
        return 0;
    reply_unknown(out, "workspace", gid);
    return -1;
}

/* The opt_fields selection for rt (from the query, else from the body's options.fields);
 * *sel NULL when none was given. -1 after replying 400. */
static int selection(const as_api_ctx_t *c, as_rtype_t rt, const char *body_fields,
                     as_sel_t **sel, as_api_reply_t *out)
{
    const char *text = as_req_query(c->req, "opt_fields");
    as_err_t err;
    *sel = NULL;
    if (!text)
        text = body_fields;
    if (!text)
        return 0;
    if (!(*sel = as_sel_parse(rt, text, &err))) {
        reply_err(out, &err);
        return -1;
    }
    return 0;
}

/* Parses a write: the body's data object and the selection for the answer. Returns the body
 * root (caller json_decref's it), or NULL after replying 400. */
static json_t *write_body(const as_api_ctx_t *c, as_rtype_t rt, json_t **data, as_sel_t **sel,
                          as_api_reply_t *out)
{
    as_err_t err;
    char *body_fields;
    json_t *root = as_input_body(c->req->body, c->req->body_len, data, &body_fields, &err);
    *sel = NULL;
    if (!root) {
        reply_err(out, &err);
        return NULL;
    }
    int rc = selection(c, rt, body_fields, sel, out);
    free(body_fields);
    if (rc != 0) {
        json_decref(root);
        return NULL;
    }
    return root;
}

/* ---- lists and pagination ------------------------------------------------------------------ */

typedef bool (*keep_fn)(const void *item, const void *arg);

typedef struct {
    as_rtype_t   rt;
    void *const *items;
    size_t       n;
    bool         tasks;      /* items are tasks in seq order: offsets carry seqs (stable when
                                tasks are deleted meanwhile) */
    keep_fn      keep;       /* NULL: every item */
    const void  *keep_arg;
} list_t;

/* A MAC over the list identity and position so only tokens we issued for this list pass. */
static uint32_t token_mac(const as_api_ctx_t *c, const as_route_t *r, uint64_t pos)
{
    uint32_t h = 2166136261u ^ c->offset_salt;
    const char *parts[] = { r->name, r->param ? r->param : "" };
    size_t lens[] = { strlen(r->name), r->param_len };
    for (int p = 0; p < 2; p++)
        for (size_t i = 0; i < lens[p]; i++)
            h = (h ^ (unsigned char)parts[p][i]) * 16777619u;
    for (int i = 0; i < 8; i++)
        h = (h ^ (uint8_t)(pos >> (8 * i))) * 16777619u;
    return h;
}

static int token_decode(const as_api_ctx_t *c, const as_route_t *r, const char *text,
                        uint64_t *pos)
{
    unsigned long long p;
    unsigned mac;
    int used = 0;
    if (sscanf(text, "%llx.%8x%n", &p, &mac, &used) != 2 || text[used] != '\0' ||
        mac != token_mac(c, r, p))
        return -1;
    *pos = p;
    return 0;
}

static uint64_t list_pos(const list_t *l, size_t i)
{
    return l->tasks ? ((const as_task_t *)l->items[i])->seq : i;
}

/* Index of the first item at or after position pos. */
static size_t list_index(const list_t *l, uint64_t pos)
{
    if (!l->tasks)
        return pos < l->n ? (size_t)pos : l->n;
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (((const as_task_t *)l->items[mid])->seq < pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static size_t next_kept(const list_t *l, size_t i)
{
    while (i < l->n && l->keep && !l->keep(l->items[i], l->keep_arg))
        i++;
    return i;
}

/* "next_page": {offset, path, uri} continuing at item index next. */
static void write_next_page(as_jw_t *w, const as_route_t *r, const as_api_ctx_t *c,
                            const list_t *l, size_t next, int limit)
{
    uint64_t pos = list_pos(l, next);
    char token[48];
    snprintf(token, sizeof token, "%llx.%08x", (unsigned long long)pos, token_mac(c, r, pos));
    buf_t path;
    buf_init(&path);
    buf_appendf(&path, "%s?", c->req->path + strlen(API_PREFIX));
    for (size_t i = 0; i < c->req->nquery; i++) {
        const asana_kv_t *q = &c->req->query[i];
        if (strcmp(q->name, "limit") == 0 || strcmp(q->name, "offset") == 0)
            continue;
        char *k = url_encode(q->name), *v = url_encode(q->value ? q->value : "");
        buf_appendf(&path, "%s=%s&", k, v);
        free(k);
        free(v);
    }
    buf_appendf(&path, "limit=%d&offset=%s", limit, token);
    char *uri = xasprintf("%s" API_PREFIX "%s", base_url(c), path.data);
    as_jw_key(w, "next_page");
    as_jw_obj(w);
    as_jw_key(w, "offset");
    as_jw_str(w, token);
    as_jw_key(w, "path");
    as_jw_str(w, path.data);
    as_jw_key(w, "uri");
    as_jw_str(w, uri);
    as_jw_end_obj(w);
    free(uri);
    buf_free(&path);
}

/* Checks limit, offset and opt_fields of a listing; the first index to answer in *start and
 * the selection in *sel. -1 after replying 400. */
static int list_params(const as_route_t *r, const as_api_ctx_t *c, const list_t *l, int *limit,
                       size_t *start, as_sel_t **sel, as_api_reply_t *out)
{
    as_err_t err;
    const char *offset = as_req_query(c->req, "offset");
    uint64_t pos = 0;
    if (as_input_limit(as_req_query(c->req, "limit"), limit, &err) != 0) {
        reply_err(out, &err);
        return -1;
    }
    if (offset && token_decode(c, r, offset, &pos) != 0) {
        reply_error(out, 400, "offset: Your pagination token is invalid.");
        return -1;
    }
    *start = next_kept(l, offset ? list_index(l, pos) : 0);
    if (*limit == 0) {
        size_t count = 0;
        for (size_t j = *start; j < l->n && count <= MAX_UNPAGED_ITEMS; j = next_kept(l, j + 1))
            count++;
        if (count > MAX_UNPAGED_ITEMS) {
            reply_error(out, 400, "The result is too large. You should use pagination (may "
                                  "require specifying a workspace)!");
            return -1;
        }
    }
    return selection(c, l->rt, NULL, sel, out);
}

/* Answers a listing: limit (1..100; without it everything, up to 1000 items), offset tokens,
 * opt_fields, "next_page" (null on the last page). Items are in their compact form. */
static void reply_list(const as_route_t *r, const as_api_ctx_t *c, const list_t *l,
                       as_api_reply_t *out)
{
    int limit;
    size_t i;
    as_sel_t *sel;
    if (list_params(r, c, l, &limit, &i, &sel, out) != 0)
        return;
    as_jw_t w;
    out->status = 200;
    as_jw_init(&w, &out->body);
    as_jw_obj(&w);
    as_jw_key(&w, "data");
    as_jw_arr(&w);
    for (int emitted = 0; i < l->n && (!limit || emitted < limit); emitted++) {
        as_render(&w, c->st, l->rt, l->items[i], sel, AS_FORM_COMPACT);
        i = next_kept(l, i + 1);
    }
    as_jw_end_arr(&w);
    if (limit && i < l->n) {
        write_next_page(&w, r, c, l, i, limit);
    } else {
        as_jw_key(&w, "next_page");
        as_jw_null(&w);
    }
    as_jw_end_obj(&w);
    as_sel_free(&sel);
}

/* ---- handlers -------------------------------------------------------------------------------- */

/* A single object in its full form (or the selection). */
static void reply_single(const as_api_ctx_t *c, as_api_reply_t *out, as_rtype_t rt,
                         const void *obj)
{
    as_sel_t *sel;
    if (selection(c, rt, NULL, &sel, out) != 0)
        return;
    reply_object(c, out, 200, rt, obj, sel, AS_FORM_FULL);
    as_sel_free(&sel);
}

static void h_users_me(const as_route_t *r, const as_api_ctx_t *c, as_api_reply_t *out)
{
    reply_single(c, out, AS_RT_USER, NULL);
}

static void h_workspaces(const as_route_t *r, const as_api_ctx_t *c, as_api_reply_t *out)
{
    void *const one[] = { c->st };
    list_t l = { .rt = AS_RT_WORKSPACE, .items = one, .n = 1 };
    reply_list(r, c, &l, out);
}

static void h_workspace(const as_route_t *r, const as_api_ctx_t *c, as_api_reply_t *out)
{
    if (path_workspace(r, c, out) == 0)
        reply_single(c, out, AS_RT_WORKSPACE, NULL);
}

static void h_workspace_fields(const as_route_t *r, const as_api_ctx_t *c, as_api_reply_t *out)
{
    if (path_workspace(r, c, out) != 0)
        return;
    list_t l = { .rt = AS_RT_FIELD };
    l.items = (void *const *)as_store_fields(c->st, &l.n);
    reply_list(r, c, &l, out);
}

static void h_workspace_projects(const as_route_t *r, const as_api_ctx_t *c,
                                 as_api_reply_t *out)
{
    if (path_workspace(r, c, out) != 0)
        return;
    list_t l = { .rt = AS_RT_PROJECT };
    l.items = (void *const *)as_store_projects(c->st, &l.n);
    reply_list(r, c, &l, out);
}

static void h_project(const as_route_t *r, const as_api_ctx_t *c, as_api_reply_t *out)
{
    as_project_t *p = path_object(r, c, AS_K_PROJECT, "project", out);
    if (p)
        reply_single(c, out, AS_RT_PROJECT, p);
}

typedef struct {
    int64_t completed_since, modified_since;   /* -1: no filter */
} task_filter_t;

static bool keep_task(const void *item, const void *arg)
{
    const as_task_t *t = item;
    const task_filter_t *f = arg;
    if (f->completed_since >= 0 && t->completed && t->completed_ms < f->completed_since)
        return false;
    return f->modified_since < 0 || t->modified_ms >= f->modified_since;
}

/* Lists p's tasks with the completed_since / modified_since filters of the query. */
static void reply_tasks(const as_route_t *r, const as_api_ctx_t *c, as_project_t *p,
                        as_api_reply_t *out)
{
    task_filter_t f;
    as_err_t err;
    if (as_input_since("completed_since", as_req_query(c->req, "completed_since"), true,
                       c->now_ms, &f.completed_since, &err) != 0 ||
        as_input_since("modified_since", as_req_query(c->req, "modified_since"), false,
                       c->now_ms, &f.modified_since, &err) != 0) {
        reply_err(out, &err);
        return;
    }
    list_t l = { .rt = AS_RT_TASK, .items = (void *const *)p->tasks, .n = p->ntasks,
                 .tasks = true, .keep = keep_task, .keep_arg = &f };
    reply_list(r, c, &l, out);
}

static void h_project_tasks(const as_route_t *r, const as_api_ctx_t *c, as_api_reply_t *out)
{
    as_project_t *p = path_object(r, c, AS_K_PROJECT, "project", out);
    if (p)
        reply_tasks(r, c, p, out);
}

/* GET /tasks: Asana wants one of project, tag, section, user_task_list or assignee +
 * workspace; the simulator serves project (what the connector's reconciliation uses). */
static void h_tasks(const as_route_t *r, const as_api_ctx_t *c, as_api_reply_t *out)
{
    const char *project = as_req_query(c->req, "project");
    uint64_t gid;
    char msg[160];
    if (!project) {
        reply_error(out, 400, "Must specify exactly one of project, tag, section, user task list, "
                              "or assignee + workspace");
        return;
    }
    if (as_gid_parse(project, &gid) != 0) {
        snprintf(msg, sizeof msg, "project: Not a recognized ID: %.64s", project);
        reply_error(out, 400, msg);
        return;
    }
    as_project_t *p = as_store_get(c->st, gid, AS_K_PROJECT);
    if (!p)
        reply_unknown(out, "project", gid);
    else
        reply_tasks(r, c, p, out);
}

static void h_project_settings(const as_route_t *r, const as_api_ctx_t *c, as_api_reply_t *out)
{
    as_project_t *p = path_object(r, c, AS_K_PROJECT, "project", out);
    if (!p)
        return;
    list_t l = { .rt = AS_RT_SETTING, .items = (void *const *)p->settings, .n = p->nsettings };
    reply_list(r, c, &l, out);
}

static void h_add_setting(const as_route_t *r, const as_api_ctx_t *c, as_api_reply_t *out)
{
    as_project_t *p = path_object(r, c, AS_K_PROJECT, "project", out);
    json_t *data;
    as_sel_t *sel;
    json_t *root = p ? write_body(c, AS_RT_SETTING, &data, &sel, out) : NULL;
    as_setting_input_t in;
    as_err_t err;
    as_setting_t *s = NULL;
    if (!root)
        return;
    if (as_input_setting(data, &in, &err) != 0 ||
        !(s = as_store_setting_add(c->st, p, &in, &err)))
        reply_err(out, &err);
    else
        reply_object(c, out, 200, AS_RT_SETTING, s, sel, AS_FORM_FULL);
    as_sel_free(&sel);
    json_decref(root);
}

static void h_field_create(const as_route_t *r, const as_api_ctx_t *c, as_api_reply_t *out)
{
    json_t *data;
    as_sel_t *sel;
    json_t *root = write_body(c, AS_RT_FIELD, &data, &sel, out);
    as_field_input_t in;
    as_err_t err;
    as_field_t *f = NULL;
    if (!root)
        return;
    if (as_input_field(data, &in, &err) != 0) {
        reply_err(out, &err);
    } else if (!(f = as_store_field_create(c->st, &in, &c->policy, &out->duplicate_enum_names,
                                           &err))) {
        reply_err(out, &err);
        as_field_input_free(&in);
    } else {
        reply_object(c, out, 201, AS_RT_FIELD, f, sel, AS_FORM_FULL);
        set_location(c, out, "custom_fields", f->gid);
        as_field_input_free(&in);
    }
    as_sel_free(&sel);
    json_decref(root);
}

static void h_field(const as_route_t *r, const as_api_ctx_t *c, as_api_reply_t *out)
{
    as_field_t *f = path_object(r, c, AS_K_FIELD, "custom_field", out);
    if (f)
        reply_single(c, out, AS_RT_FIELD, f);
}

static void h_option_create(const as_route_t *r, const as_api_ctx_t *c, as_api_reply_t *out)
{
    as_field_t *f = path_object(r, c, AS_K_FIELD, "custom_field", out);
    json_t *data;
    as_sel_t *sel;
    json_t *root = f ? write_body(c, AS_RT_OPTION, &data, &sel, out) : NULL;
    as_option_input_t in;
    as_err_t err;
    bool duplicate;
    as_option_t *o = NULL;
    if (!root)
        return;
    if (as_input_option(data, true, &in, &err) != 0 ||
        !(o = as_store_option_create(c->st, f, &in, &c->policy, &duplicate, &err))) {
        reply_err(out, &err);
    } else {
        out->duplicate_enum_names = duplicate;
        reply_object(c, out, 201, AS_RT_OPTION, o, sel, AS_FORM_FULL);
    }
    as_sel_free(&sel);
    json_decref(root);
}

static void h_option_update(const as_route_t *r, const as_api_ctx_t *c, as_api_reply_t *out)
{
    as_option_t *o = path_object(r, c, AS_K_OPTION, "enum_option", out);
    json_t *data;
    as_sel_t *sel;
    json_t *root = o ? write_body(c, AS_RT_OPTION, &data, &sel, out) : NULL;
    as_option_input_t in;
    as_err_t err;
    if (!root)
        return;
    if (as_input_option(data, false, &in, &err) != 0 ||
        as_store_option_update(o, &in, &c->policy, &err) != 0)
        reply_err(out, &err);
    else
        reply_object(c, out, 200, AS_RT_OPTION, o, sel, AS_FORM_FULL);
    as_sel_free(&sel);
    json_decref(root);
}

/* Hands the events of a write on task t to the webhooks (before: snapshot for changes). */
static void emit(const as_api_ctx_t *c, as_ev_action_t action, const as_task_snap_t *before,
                 const as_task_t *t)
{
    as_event_list_t events = { NULL, 0 };
    if (!c->hooks)
        return;
    as_events_build(action, before, t, as_store_user_gid(c->st), c->now_ms, &events);
    as_hooks_record(c->hooks, &events);
}

static void h_task_create(const as_route_t *r, const as_api_ctx_t *c, as_api_reply_t *out)
{
    json_t *data;
    as_sel_t *sel;
    json_t *root = write_body(c, AS_RT_TASK, &data, &sel, out);
    as_task_input_t in;
    as_err_t err;
    as_task_t *t = NULL;
    if (!root)
        return;
    if (as_input_task(data, true, &in, &err) != 0) {
        reply_err(out, &err);
    } else {
        if (!(t = as_store_task_create(c->st, &in, &c->policy, c->now_ms, &err))) {
            reply_err(out, &err);
        } else {
            reply_object(c, out, 201, AS_RT_TASK, t, sel, AS_FORM_FULL);
            set_location(c, out, "tasks", t->gid);
            emit(c, AS_EV_ADDED, NULL, t);
        }
        as_task_input_free(&in);
    }
    as_sel_free(&sel);
    json_decref(root);
}

static void h_task_get(const as_route_t *r, const as_api_ctx_t *c, as_api_reply_t *out)
{
    as_task_t *t = path_object(r, c, AS_K_TASK, "task", out);
    if (t)
        reply_single(c, out, AS_RT_TASK, t);
}

static void h_task_update(const as_route_t *r, const as_api_ctx_t *c, as_api_reply_t *out)
{
    as_task_t *t = path_object(r, c, AS_K_TASK, "task", out);
    json_t *data;
    as_sel_t *sel;
    json_t *root = t ? write_body(c, AS_RT_TASK, &data, &sel, out) : NULL;
    as_task_input_t in;
    as_err_t err;
    if (!root)
        return;
    if (as_input_task(data, false, &in, &err) != 0) {
        reply_err(out, &err);
    } else {
        as_task_snap_t before;
        as_task_snap_take(t, &before);
        if (as_store_task_update(c->st, t, &in, &c->policy, c->now_ms, &err) != 0) {
            reply_err(out, &err);
        } else {
            reply_object(c, out, 200, AS_RT_TASK, t, sel, AS_FORM_FULL);
            emit(c, AS_EV_CHANGED, &before, t);
        }
        as_task_snap_free(&before);
        as_task_input_free(&in);
    }
    as_sel_free(&sel);
    json_decref(root);
}

static void h_task_delete(const as_route_t *r, const as_api_ctx_t *c, as_api_reply_t *out)
{
    as_task_t *t = path_object(r, c, AS_K_TASK, "task", out);
    if (!t)
        return;
    emit(c, AS_EV_DELETED, NULL, t);
    as_store_task_delete(c->st, t);
    out->status = 200;
    buf_append(&out->body, "{\"data\":{}}", 11);
}

typedef void (*handler_fn)(const as_route_t *r, const as_api_ctx_t *c, as_api_reply_t *out);

#define NO_FIELDS   "Custom Fields are not available for free users or guests."
#define NO_SETTINGS "Custom Field Settings are not available for free users."

static const struct {
    handler_fn  fn;
    const char *free_plan;   /* the 402 message on a free plan; NULL: served on every plan */
} handlers[AS_R_COUNT] = {
    [AS_R_USERS_ME] = { h_users_me, NULL },
    [AS_R_WORKSPACES] = { h_workspaces, NULL },
    [AS_R_WORKSPACE] = { h_workspace, NULL },
    [AS_R_WORKSPACE_FIELDS] = { h_workspace_fields, NO_FIELDS },
    [AS_R_WORKSPACE_PROJECTS] = { h_workspace_projects, NULL },
    [AS_R_PROJECT] = { h_project, NULL },
    [AS_R_PROJECT_TASKS] = { h_project_tasks, NULL },
    [AS_R_TASKS] = { h_tasks, NULL },
    [AS_R_PROJECT_SETTINGS] = { h_project_settings, NO_SETTINGS },
    [AS_R_ADD_SETTING] = { h_add_setting, NO_SETTINGS },
    [AS_R_FIELD_CREATE] = { h_field_create, NO_FIELDS },
    [AS_R_FIELD] = { h_field, NO_FIELDS },
    [AS_R_OPTION_CREATE] = { h_option_create, NO_FIELDS },
    [AS_R_OPTION_UPDATE] = { h_option_update, NO_FIELDS },
    [AS_R_TASK_CREATE] = { h_task_create, NULL },
    [AS_R_TASK_GET] = { h_task_get, NULL },
    [AS_R_TASK_UPDATE] = { h_task_update, NULL },
    [AS_R_TASK_DELETE] = { h_task_delete, NULL },
};

void as_api_handle(const as_route_t *r, const as_api_ctx_t *c, as_api_reply_t *out)
{
    out->status = 500;
    out->location = NULL;
    out->duplicate_enum_names = 0;
    if (r->id == AS_R_NONE || !handlers[r->id].fn)
        reply_error(out, 404, "No matching route for request");
    else if (handlers[r->id].free_plan && !c->policy.premium)
        reply_error(out, 402, handlers[r->id].free_plan);
    else
        handlers[r->id].fn(r, c, out);
}
