/* wb_syteline: write-back to SyteLine / CloudSuite Industrial IDOs through the ION API gateway
 * (see writeback.h, docs/writeback.md).
 *
 * Mode "ido" updates one property of the record's row (default Stat) with Action 2, the row's
 * ItemId and UpdateLocking 1, so the update applies only to the row as it was read. With no
 * stored ItemId (or read_first) the row is loaded first by a key filter and the decision made
 * on its state. An update the IDO refuses (Success false) loads the row again: when its ItemId
 * moved, the refusal was a stale ItemId (a conflict): decide again on the fresh row and retry
 * with its ItemId, at most max_conflicts times; otherwise the refusal is final. Telling stale
 * from other refusals by the ItemId, not by the message text, keeps it independent of the
 * IDO's wording and language. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ifs.h"
#include "ion.h"
#include "syteline.h"
#include "util.h"
#include "wb.h"

#define IDO_PATH "/CSI/IDORequestService/ido/"

typedef struct {
    wb_run_t     *run;
    ion_session_t s;
    const char   *ido;
    const char   *key_property;
    const char   *member;
} sl_wb_t;

/* Sends one IDO request; returns 0 with *doc (the parsed body, new reference) when it
 * answered 200 with JSON, else -1 after failing out; *message is its Message (borrowed from
 * *doc) or NULL. */
static int ido_call(sl_wb_t *x, const char *method, const char *url, const char *body,
                    json_t **doc, const char **message)
{
    static const char *const json_body[] = { "Content-Type: application/json", NULL };
    wb_answer_t a;
    if (wb_send(x->run, &x->s.src, method, url, body ? json_body : NULL, body, &a) != 0)
        return -1;
    *doc = json_loadb(a.body, a.len, 0, NULL);
    *message = json_string_value(json_object_get(*doc, "Message"));
    int rc = -1;
    if (a.status != 200)
        wb_fail_status(x->run->out, "syteline", &a, *message);
    else if (!json_is_object(*doc))
        wb_fail(x->run->out, 1, "syteline %s: the answer is not JSON", x->ido);
    else
        rc = 0;
    if (rc != 0) {
        json_decref(*doc);
        *doc = NULL;
        *message = NULL;
    }
    wb_answer_free(&a);
    return rc;
}

/* Loads the record's row (key, state and written properties and its _ItemId) into *row (new
 * reference). Returns 0, or -1 after failing out (no such row: permanent). */
static int load_row(sl_wb_t *x, json_t **row)
{
    wb_run_t *run = x->run;
    /* IDO filters quote text like OData: 'it''s'. */
    char *literal = odata_quote(run->in->erp_key);
    char *filter = xasprintf("%s = %s", x->key_property, literal);
    const char *state = wb_str(run, "state_member");
    char *props = xasprintf("%s%s%s%s%s", x->key_property, state ? "," : "", state ? state : "",
                            x->member ? "," : "", x->member ? x->member : "");
    char *ido = url_encode(x->ido), *f = url_encode(filter), *p = url_encode(props);
    char *url = xasprintf("%s" IDO_PATH "load/%s?properties=%s&filter=%s&recordcap=1",
                          x->s.api_base, ido, p, f);
    free(literal);
    free(filter);
    free(props);
    free(ido);
    free(f);
    free(p);
    json_t *doc;
    const char *message;
    int rc = ido_call(x, "GET", url, NULL, &doc, &message);
    free(url);
    if (rc != 0)
        return -1;
    *row = json_incref(json_array_get(json_object_get(doc, "Items"), 0));
    if (json_is_false(json_object_get(doc, "Success")))
        wb_fail(run->out, 0, "syteline %s: %s", x->ido, message ? message : "load failed");
    else if (!json_is_object(*row))
        wb_fail(run->out, 0, "syteline %s: no row with %s = %s", x->ido, x->key_property,
                run->in->erp_key);
    else if (!json_string_value(json_object_get(*row, "_ItemId")))
        wb_fail(run->out, 0, "syteline %s: the row of %s has no _ItemId", x->ido,
                run->in->erp_key);
    json_decref(doc);
    if (run->out->status == WB_FAILED) {
        json_decref(*row);
        *row = NULL;
        return -1;
    }
    return 0;
}

/* Sends the update with item_id. Returns 0 when applied (out WB_APPLIED with the new ItemId
 * when the answer has it), 1 when the IDO refused it (*refusal: its message, malloc'd), -1
 * after failing out. */
static int update_row(sl_wb_t *x, const char *item_id, char **refusal)
{
    wb_run_t *run = x->run;
    json_t *value = json_object_get(run->settings, "value");
    json_t *change = json_pack("{s:[{s:i, s:s, s:[{s:s, s:O, s:b, s:b}], s:i}]}", "Changes",
                               "Action", 2, "ItemId", item_id, "Properties", "Name", x->member,
                               "Value", value, "Modified", 1, "IsNull", json_is_null(value),
                               "UpdateLocking", 1);
    char *body = json_dumps(change, JSON_COMPACT);
    json_decref(change);
    char *ido = url_encode(x->ido);
    char *url = xasprintf("%s" IDO_PATH "update/%s?refresh=true", x->s.api_base, ido);
    free(ido);
    json_t *doc;
    const char *message;
    int rc = ido_call(x, "POST", url, body, &doc, &message);
    free(url);
    free(body);
    if (rc != 0)
        return -1;
    if (json_is_true(json_object_get(doc, "Success"))) {
        json_t *fresh = json_array_get(json_object_get(doc, "RefreshItems"), 0);
        const char *id = json_string_value(json_object_get(fresh, "_ItemId"));
        run->out->status = WB_APPLIED;
        run->out->etag = id ? xstrdup(id) : NULL;
    } else {
        *refusal = xstrdup(message ? message : "update refused");
        rc = 1;
    }
    json_decref(doc);
    return rc;
}

static void syteline_write_back(sl_wb_t *x)
{
    wb_run_t *run = x->run;
    const char *stored = json_is_true(json_object_get(run->settings, "read_first")) ? NULL
                                                                                    : run->in->etag;
    char *item_id = stored && *stored ? xstrdup(stored) : NULL;
    json_t *row = NULL;
    for (;;) {
        if (!item_id) {
            if (load_row(x, &row) != 0 || wb_decide(run, row))
                break;
            item_id = xstrdup(json_string_value(json_object_get(row, "_ItemId")));
        }
        char *refusal = NULL;
        if (update_row(x, item_id, &refusal) != 1)
            break;
        json_decref(row);
        row = NULL;
        int loaded = load_row(x, &row) == 0;
        const char *fresh = loaded ? json_string_value(json_object_get(row, "_ItemId")) : NULL;
        if (loaded && strcmp(fresh, item_id) == 0) {
            wb_fail(run->out, 0, "syteline %s: %s", x->ido, refusal);
        } else if (loaded && wb_conflict(run) == 0 && !wb_decide(run, row)) {
            free(item_id);
            item_id = xstrdup(fresh);
            free(refusal);
            continue;
        }
        free(refusal);
        break;
    }
    json_decref(row);
    free(item_id);
}

static void syteline_apply(const wb_request_t *in, wb_result_t *out)
{
    static const char *const modes[] = { "ido", NULL };
    wb_run_t run;
    if (wb_begin(&run, in, out, modes) == 0 && wb_need(&run, "ido") &&
        wb_need(&run, "key_property") && wb_need(&run, "member")) {
        if (!json_object_get(run.settings, "value")) {
            wb_fail(out, 0, "flow %s: writeback.value: missing", in->flow->name);
        } else {
            char *header = syteline_config_header(in->tenant);
            sl_wb_t x = { .run = &run, .ido = wb_str(&run, "ido"),
                          .key_property = wb_str(&run, "key_property"),
                          .member = wb_str(&run, "member") };
            erp_result_t er = { 0 };
            if (ion_session_open(&x.s, &run.erp, "syteline", header, &er) != 0) {
                wb_fail(out, er.retryable, "%s", er.error);
            } else {
                syteline_write_back(&x);
                ion_session_close(&x.s);
            }
            free(header);
        }
    }
    wb_end(&run);
}

const wb_driver_t WB_SYTELINE = { "syteline", syteline_apply };
