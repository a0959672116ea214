/* wb_ifs: write-back to IFS Cloud (see writeback.h, docs/writeback.md).
 *
 * Mode "action" POSTs the bound action .../<Set>(<key>)/IfsApp.<Projection>.<Type>_<Action>,
 * mode "patch" PATCHes {"<member>": <value>} onto the entity. Both always carry If-Match with
 * the entity's @odata.etag as read, never "*" and never nothing: without If-Match IFS treats a
 * PATCH as an upsert. With no stored ETag (or read_first) the entity is read first and the
 * decision made on its state; a 412 means it changed since the ETag was read: read it again,
 * decide again on the fresh state and retry with the fresh ETag, at most max_conflicts times. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ifs.h"
#include "util.h"
#include "wb.h"

typedef struct {
    wb_run_t      *run;
    ifs_token_ud_t token;
    erp_source_t   src;
    char          *entity_url;
    char          *etag;         /* If-Match of the next write; NULL: read the entity first */
} ifs_wb_t;

/* Fails out for an answer that is not a success, with IFS's error code and message. */
static void fail_answer(ifs_wb_t *x, const wb_answer_t *a)
{
    json_t *doc = json_loadb(a->body, a->len, 0, NULL);
    json_t *err = json_object_get(doc, "error");
    const char *code = json_string_value(json_object_get(err, "code"));
    const char *msg = json_string_value(json_object_get(err, "message"));
    char *detail = code || msg ? xasprintf("%s%s%s", code ? code : "", code && msg ? ": " : "",
                                           msg ? msg : "")
                               : NULL;
    wb_fail_status(x->run->out, "ifs", a, detail);
    free(detail);
    json_decref(doc);
}

/* GETs the entity into *row (new reference) and takes its @odata.etag as the next If-Match.
 * Returns 0, or -1 after failing out. */
static int read_entity(ifs_wb_t *x, json_t **row)
{
    wb_answer_t a;
    if (wb_send(x->run, &x->src, "GET", x->entity_url, NULL, NULL, &a) != 0)
        return -1;
    if (a.status != 200) {
        fail_answer(x, &a);
        wb_answer_free(&a);
        return -1;
    }
    *row = json_loadb(a.body, a.len, 0, NULL);
    const char *etag = json_string_value(json_object_get(*row, "@odata.etag"));
    if (!etag)
        etag = a.etag;
    int rc = 0;
    if (!json_is_object(*row)) {
        wb_fail(x->run->out, 1, "ifs %s: the entity is not JSON", x->run->in->flow->entity);
        rc = -1;
    } else if (!etag || !*etag || strcmp(etag, "*") == 0) {
        wb_fail(x->run->out, 0, "ifs %s(%s): the entity has no @odata.etag to write with",
                x->run->in->flow->entity, x->run->in->erp_key);
        rc = -1;
    } else {
        free(x->etag);
        x->etag = xstrdup(etag);
    }
    if (rc != 0) {
        json_decref(*row);
        *row = NULL;
    }
    wb_answer_free(&a);
    return rc;
}

/* Sends the write with If-Match x->etag. Returns 0 with *a, or -1 after failing out. */
static int write_entity(ifs_wb_t *x, wb_answer_t *a)
{
    wb_run_t *run = x->run;
    int patch = strcmp(wb_str(run, "mode"), "patch") == 0;
    char *if_match = xasprintf("If-Match: %s", x->etag);
    const char *headers[] = { if_match, "Content-Type: application/json",
                              patch ? "Prefer: return=minimal" : NULL, NULL };
    char *url, *body;
    if (patch) {
        url = xstrdup(x->entity_url);
        json_t *changes = json_object();
        json_object_set(changes, wb_str(run, "member"), json_object_get(run->settings, "value"));
        body = json_dumps(changes, JSON_COMPACT);
        json_decref(changes);
    } else {
        url = xasprintf("%s/IfsApp.%s.%s_%s", x->entity_url, wb_str(run, "projection"),
                        wb_str(run, "entity_type"), wb_str(run, "action"));
        body = xstrdup("{}");
    }
    int rc = wb_send(run, &x->src, patch ? "PATCH" : "POST", url, headers, body, a);
    free(if_match);
    free(url);
    free(body);
    return rc;
}

/* The ETag after a successful write: the ETag header, else the body's @odata.etag, else
 * NULL (a bound action answers 204 without one). */
static char *etag_after(const wb_answer_t *a)
{
    if (a->etag && *a->etag)
        return xstrdup(a->etag);
    json_t *doc = a->len ? json_loadb(a->body, a->len, 0, NULL) : NULL;
    const char *etag = json_string_value(json_object_get(doc, "@odata.etag"));
    char *copy = etag ? xstrdup(etag) : NULL;
    json_decref(doc);
    return copy;
}

/* Checks the settings the mode needs. Returns 0, or -1 after failing out. */
static int check_settings(wb_run_t *run)
{
    if (strcmp(wb_str(run, "mode"), "patch") == 0) {
        if (!wb_need(run, "member"))
            return -1;
        if (!json_object_get(run->settings, "value")) {
            wb_fail(run->out, 0, "flow %s: writeback.value: missing", run->in->flow->name);
            return -1;
        }
        return 0;
    }
    return wb_need(run, "action") && wb_need(run, "projection") && wb_need(run, "entity_type")
        ? 0 : -1;
}

static void ifs_write_back(wb_run_t *run, ifs_wb_t *x)
{
    const wb_request_t *in = run->in;
    wb_result_t *out = run->out;
    const char *stored = json_is_true(json_object_get(run->settings, "read_first")) ? NULL
                                                                                    : in->etag;
    if (stored && *stored && strcmp(stored, "*") != 0)
        x->etag = xstrdup(stored);
    for (;;) {
        if (!x->etag) {
            json_t *row = NULL;
            if (read_entity(x, &row) != 0)
                return;
            int decided = wb_decide(run, row);
            json_decref(row);
            if (decided)
                return;
        }
        wb_answer_t a;
        if (write_entity(x, &a) != 0)
            return;
        if (a.status == 200 || a.status == 204) {
            out->status = WB_APPLIED;
            out->etag = etag_after(&a);
        } else if (a.status == 412) {
            /* Changed since the ETag was read: read it again and decide again. */
            free(x->etag);
            x->etag = NULL;
            if (wb_conflict(run) == 0) {
                wb_answer_free(&a);
                continue;
            }
        } else {
            fail_answer(x, &a);
        }
        wb_answer_free(&a);
        return;
    }
}

static void ifs_apply(const wb_request_t *in, wb_result_t *out)
{
    static const char *const modes[] = { "action", "patch", NULL };
    wb_run_t run;
    if (wb_begin(&run, in, out, modes) == 0 && check_settings(&run) == 0) {
        const char *base = json_string_value(json_object_get(in->tenant->erp, "base_url"));
        ifs_wb_t x = { .run = &run, .token = { in->tenant, in->http } };
        x.src = (erp_source_t){ "ifs", "ifs", ifs_fetch_token, &x.token, NULL };
        x.entity_url = ifs_entity_url(base ? base : "", in->flow, in->erp_key);
        ifs_write_back(&run, &x);
        free(x.entity_url);
        free(x.etag);
    }
    wb_end(&run);
}

const wb_driver_t WB_IFS = { "ifs", ifs_apply };
