/* writeback: settings, driver list and what the drivers share (see writeback.h, wb.h and
 * docs/writeback.md).
 *
 * Defaults per ERP type and record kind follow what the ERPs (and the simulators standing in
 * for them) accept: IFS a bound action Approve with the Objstate values of the projection,
 * M3 APS450MI/ApproveInvoice checked by GetHead SUPA (no PO approval transaction: audit only),
 * SyteLine an IDO update of Stat. A flow's "writeback" object is laid over them member by
 * member. */
#include "writeback.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reqstats.h"
#include "token.h"
#include "util.h"
#include "erp_gate.h"
#include "wb.h"

#define WB_BODY_MAX 2048
#define WB_MAX_CONFLICTS 3

/* ---- settings --------------------------------------------------------------------------- */

/* Defaults of a type and kind as JSON text; members derived from the flow are added by
 * type_defaults. */
static const struct {
    const char *type, *kind, *json;
} DEFAULTS[] = {
    { "ifs", "po",
      "{\"mode\":\"action\",\"action\":\"Approve\",\"done_states\":[\"Authorized\"],"
      "\"blocked_states\":[\"Closed\",\"Cancelled\",\"Rejected\"]}" },
    { "ifs", "invoice",
      "{\"mode\":\"action\",\"action\":\"Approve\",\"done_states\":[\"Approved\",\"Authorized\","
      "\"Posted\",\"Paid\"],\"blocked_states\":[\"Rejected\",\"Cancelled\"]}" },
    { "m3", "invoice",
      "{\"mode\":\"mi\",\"program\":\"APS450MI\",\"transaction\":\"ApproveInvoice\","
      "\"read_program\":\"APS450MI\",\"read_transaction\":\"GetHead\","
      "\"inputs\":{\"CONO\":\"{company}\",\"DIVI\":\"{division}\",\"INBN\":\"{key}\"},"
      "\"state_member\":\"SUPA\",\"done_states\":[\"90\"],\"blocked_states\":[]}" },
    { "m3", "po", "{\"mode\":\"audit_only\"}" },
    { "syteline", "po",
      "{\"mode\":\"ido\",\"member\":\"Stat\",\"value\":\"O\",\"done_states\":[\"O\",\"F\",\"C\"],"
      "\"blocked_states\":[]}" },
    { "syteline", "invoice",
      "{\"mode\":\"ido\",\"member\":\"Stat\",\"value\":\"A\",\"done_states\":[\"A\"],"
      "\"blocked_states\":[\"R\",\"H\"]}" },
};

static void set_default_str(json_t *s, const char *name, const char *value)
{
    if (value && *value && !json_object_get(s, name))
        json_object_set_new(s, name, json_string(value));
}

/* Projection and entity type of an IFS entity set path:
 * "PurchaseOrderHandling.svc/PurchaseOrderSet" -> "PurchaseOrderHandling" and "PurchaseOrder"
 * (the set name without "Set"), set into s unless present. */
static void ifs_names(json_t *s, const char *entity)
{
    const char *svc = entity ? strstr(entity, ".svc/") : NULL;
    if (!svc)
        return;
    const char *start = svc;
    while (start > entity && start[-1] != '/')
        start--;
    char *projection = strndup(start, (size_t)(svc - start));
    const char *set = svc + 5;
    size_t n = strlen(set);
    if (n > 3 && strcmp(set + n - 3, "Set") == 0)
        n -= 3;
    char *type = strndup(set, n);
    set_default_str(s, "projection", projection);
    set_default_str(s, "entity_type", type);
    free(projection);
    free(type);
}

/* The defaults of erp_type for flow (a new object; {"mode":"audit_only"} when none). */
static json_t *type_defaults(const char *erp_type, const flow_cfg_t *flow)
{
    json_t *s = NULL;
    for (size_t i = 0; !s && erp_type && flow->kind && i < sizeof DEFAULTS / sizeof DEFAULTS[0];
         i++)
        if (strcmp(DEFAULTS[i].type, erp_type) == 0 && strcmp(DEFAULTS[i].kind, flow->kind) == 0)
            s = json_loads(DEFAULTS[i].json, 0, NULL);
    if (!s)
        return json_pack("{s:s}", "mode", "audit_only");
    const char *status = json_string_value(json_object_get(flow->map, "status"));
    if (strcmp(erp_type, "ifs") == 0) {
        ifs_names(s, flow->entity);
        set_default_str(s, "state_member", status ? status : "Objstate");
    } else if (strcmp(erp_type, "m3") == 0) {
        const char *api = json_string_value(json_object_get(flow->raw, "api"));
        set_default_str(s, "api", api ? api : "v2");
    } else if (strcmp(erp_type, "syteline") == 0) {
        const char *ido = json_string_value(json_object_get(flow->raw, "ido"));
        set_default_str(s, "ido", ido ? ido : flow->entity);
        set_default_str(s, "key_property", flow->key_field);
        set_default_str(s, "state_member", status ? status : "Stat");
    }
    if (strcmp(erp_type, "m3") != 0) {
        json_object_set_new(s, "read_first", json_false());
        json_object_set_new(s, "max_conflicts", json_integer(WB_MAX_CONFLICTS));
    }
    return s;
}

json_t *wb_settings(const char *erp_type, const flow_cfg_t *flow)
{
    json_t *s = type_defaults(erp_type, flow);
    json_t *own = json_object_get(flow->raw, "writeback");
    if (json_is_object(own))
        json_object_update(s, own);
    return s;
}

/* ---- drivers ---------------------------------------------------------------------------- */

static const wb_driver_t *const DRIVERS[] = { &WB_IFS, &WB_M3, &WB_SYTELINE };

const wb_driver_t *wb_driver(const char *erp_type)
{
    for (size_t i = 0; erp_type && i < sizeof DRIVERS / sizeof DRIVERS[0]; i++)
        if (strcmp(DRIVERS[i]->type, erp_type) == 0)
            return DRIVERS[i];
    return NULL;
}

void wb_apply(const wb_request_t *in, wb_result_t *out)
{
    const wb_driver_t *d = wb_driver(in->tenant->erp_type);
    if (d) {
        d->apply(in, out);
        return;
    }
    /* No driver: only "audit_only" (the default of an unknown type) can be served. */
    static const char *const none[] = { NULL };
    wb_run_t run;
    if (wb_begin(&run, in, out, none) == 0)
        wb_fail(out, 0, "no write-back driver for ERP type %s",
                in->tenant->erp_type ? in->tenant->erp_type : "(none)");
    wb_end(&run);
}

void wb_result_free(wb_result_t *r)
{
    json_decref(r->calls);
    free(r->etag);
    memset(r, 0, sizeof *r);
}

/* ---- what the drivers share ------------------------------------------------------------- */

void wb_fail(wb_result_t *out, int retryable, const char *fmt, ...)
{
    out->status = WB_FAILED;
    out->retryable = retryable;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->error, sizeof out->error, fmt, ap);
    va_end(ap);
}

void wb_fail_status(wb_result_t *out, const char *label, const wb_answer_t *ans,
                    const char *detail)
{
    erp_page_t page = { .status = ans->status, .retry_after_ms = ans->retry_after_ms };
    erp_result_t r = { 0 };
    erp_fail_status(&r, label, &page, detail);
    wb_fail(out, r.retryable, "%s", r.error);
    out->retry_after_ms = r.retry_after_ms;
}

int wb_begin(wb_run_t *run, const wb_request_t *in, wb_result_t *out,
             const char *const *modes)
{
    memset(out, 0, sizeof *out);
    out->calls = json_array();
    const char *type = in->tenant->erp_type;
    *run = (wb_run_t){ .in = in, .out = out, .settings = wb_settings(type, in->flow),
                       .erp = { .tenant = in->tenant, .flow = in->flow, .redis = in->redis,
                                .http = in->http, .master_key = in->master_key } };
    json_t *own = json_object_get(in->flow->raw, "writeback");
    if (own && !json_is_object(own)) {
        wb_fail(out, 0, "flow %s: writeback: must be an object", in->flow->name);
        return 1;
    }
    const char *mode = wb_str(run, "mode");
    if (mode && strcmp(mode, "audit_only") == 0) {
        out->status = WB_NOT_APPLICABLE;
        snprintf(out->error, sizeof out->error, "audit_only");
        return 1;
    }
    int known = 0;
    buf_t list;
    buf_init(&list);
    for (const char *const *m = modes; *m; m++) {
        known |= mode && strcmp(mode, *m) == 0;
        buf_appendf(&list, "%s, ", *m);
    }
    if (!known) {
        char got[64];
        wb_fail(out, 0, "flow %s: writeback.mode: must be %saudit_only for %s (got %s)",
                in->flow->name, list.data ? list.data : "", type ? type : "(no type)",
                json_describe(json_object_get(run->settings, "mode"), got, sizeof got));
    } else if (!in->decision || strcmp(in->decision, "approve") != 0) {
        wb_fail(out, 0, "decision \"%.40s\" is not served (only approve)",
                in->decision ? in->decision : "");
    } else if (!in->erp_key || !*in->erp_key) {
        wb_fail(out, 0, "no ERP key");
    }
    buf_free(&list);
    return out->status == WB_FAILED ? 1 : 0;
}

void wb_end(wb_run_t *run)
{
    json_decref(run->settings);
    run->settings = NULL;
}

const char *wb_str(const wb_run_t *run, const char *name)
{
    const char *s = json_string_value(json_object_get(run->settings, name));
    return s && *s ? s : NULL;
}

int wb_int(const wb_run_t *run, const char *name, int lo, int hi, int dflt)
{
    json_t *v = json_object_get(run->settings, name);
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return dflt;
    return (int)json_integer_value(v);
}

const char *wb_need(wb_run_t *run, const char *name)
{
    const char *s = wb_str(run, name);
    if (!s)
        wb_fail(run->out, 0, "flow %s: writeback.%s: missing", run->in->flow->name, name);
    return s;
}

json_t *wb_body_json(const char *body, size_t len)
{
    if (!body)
        return json_null();
    if (len > WB_BODY_MAX) {
        len = WB_BODY_MAX;
        /* Do not end inside a UTF-8 sequence: drop its start bytes too. */
        while (len > 0 && ((unsigned char)body[len] & 0xC0) == 0x80)
            len--;
    }
    json_t *j = json_stringn(body, len);
    if (j)
        return j;
    char *copy = xmalloc(len + 1);
    for (size_t i = 0; i < len; i++)
        copy[i] = (unsigned char)body[i] < 0x80 && body[i] != '\0' ? body[i] : '?';
    copy[len] = '\0';
    j = json_string(copy);
    free(copy);
    return j;
}

/* Appends one exchange to calls. */
static void log_call(json_t *calls, const char *method, const char *url, const char *body,
                     long status, const char *response, size_t response_len)
{
    json_array_append_new(calls, json_pack("{s:s, s:s, s:o, s:I, s:o}", "method", method,
                                           "url", url, "request",
                                           wb_body_json(body, body ? strlen(body) : 0),
                                           "status", (json_int_t)status, "response",
                                           wb_body_json(response, response_len)));
}

int wb_send(wb_run_t *run, const erp_source_t *src, const char *method, const char *url,
            const char *const *headers, const char *body, wb_answer_t *ans)
{
    memset(ans, 0, sizeof *ans);
    const char *lines[16];
    for (int attempt = 0;; attempt++) {
        char err[sizeof run->out->error];
        int64_t later = 0;
        if (erp_gate(&run->erp, src->label, err, sizeof err, &later) != 0) {
            wb_fail(run->out, 1, "%s", err);
            run->out->retry_after_ms = later;
            return -1;
        }
        char *auth = erp_auth_header(&run->erp, src, err, sizeof err);
        if (!auth) {
            wb_fail(run->out, 1, "%s", err);
            return -1;
        }
        size_t n = 0;
        lines[n++] = auth;
        lines[n++] = "Accept: application/json";
        if (src->header)
            lines[n++] = src->header;
        for (size_t i = 0; headers && headers[i] && n < sizeof lines / sizeof lines[0] - 1; i++)
            lines[n++] = headers[i];
        lines[n] = NULL;
        http_req_t req = { .method = method, .url = url, .headers = lines, .body = body,
                           .body_len = body ? strlen(body) : 0 };
        http_resp_t resp;
        int rc = http_do(run->erp.http, &req, &resp);
        reqstats_response(run->in->tenant->id, REQSTATS_ERP, &resp);
        free(auth);
        if (rc != 0) {
            log_call(run->out->calls, method, url, body, 0, resp.error, strlen(resp.error));
            wb_fail(run->out, 1, "%s unreachable: %s", src->label, resp.error);
            http_resp_free(&resp);
            return -1;
        }
        log_call(run->out->calls, method, url, body, resp.status,
                 resp.body.data ? resp.body.data : "", resp.body.len);
        erp_gate_answer(run->erp.redis, run->in->tenant, resp.status, http_retry_after_ms(&resp));
        if (resp.status == 401 && attempt == 0) {
            /* The token expired early or was revoked: fetch a new one and repeat once. */
            http_resp_free(&resp);
            token_invalidate(run->erp.redis, run->in->tenant->id, src->system);
            continue;
        }
        ans->status = resp.status;
        ans->len = resp.body.len;
        ans->body = buf_steal(&resp.body);
        ans->etag = http_resp_header(&resp, "ETag");
        long ra = http_retry_after_ms(&resp);
        ans->retry_after_ms = ra > 0 ? ra : 0;
        http_resp_free(&resp);
        return 0;
    }
}

void wb_answer_free(wb_answer_t *a)
{
    free(a->body);
    free(a->etag);
    memset(a, 0, sizeof *a);
}

int wb_conflict(wb_run_t *run)
{
    int max = wb_int(run, "max_conflicts", 0, 100, WB_MAX_CONFLICTS);
    if (++run->out->conflicts <= max)
        return 0;
    wb_fail(run->out, 1, "%s: the record kept changing: %d stale-token answers in a row",
            run->in->erp_key, run->out->conflicts);
    return -1;
}

char *wb_member_text(const json_t *row, const char *member)
{
    const json_t *v = member ? json_object_get(row, member) : NULL;
    if (json_is_string(v))
        return str_trim_dup(json_string_value(v));
    if (json_is_integer(v))
        return xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
    if (json_is_real(v))
        return xasprintf("%.17g", json_real_value(v));
    return NULL;
}

/* True when text is one of the (trimmed) strings of the array setting name. */
static int listed(const wb_run_t *run, const char *name, const char *text)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(run->settings, name), i, v) {
        char *s = json_is_string(v) ? str_trim_dup(json_string_value(v)) : NULL;
        int eq = s && strcmp(s, text) == 0;
        free(s);
        if (eq)
            return 1;
    }
    return 0;
}

int wb_decide(const wb_run_t *run, const json_t *row)
{
    wb_result_t *out = run->out;
    const char *state_member = wb_str(run, "state_member");
    char *state = wb_member_text(row, state_member);
    int decided = 1;
    if (state && listed(run, "done_states", state)) {
        out->status = WB_ALREADY;
        snprintf(out->error, sizeof out->error, "%s is %s: already applied", state_member, state);
    } else if (state && listed(run, "blocked_states", state)) {
        out->status = WB_NOT_APPLICABLE;
        snprintf(out->error, sizeof out->error, "%s is %s: approval not applicable",
                 state_member, state);
    } else {
        const char *member = wb_str(run, "member");
        char *have = wb_member_text(row, member);
        char *target = wb_member_text(run->settings, "value");
        decided = have && target && strcmp(have, target) == 0;
        if (decided) {
            out->status = WB_ALREADY;
            snprintf(out->error, sizeof out->error, "%s is %s: already applied", member, have);
        }
        free(have);
        free(target);
    }
    free(state);
    return decided;
}
