/* wb_m3: write-back to Infor M3 through the ION API gateway (see writeback.h,
 * docs/writeback.md).
 *
 * Mode "mi" runs a configured MI transaction (default APS450MI/ApproveInvoice) with inputs
 * from the record key and the tenant's erp members. M3 has no locking token, so the record is
 * always read first (default APS450MI/GetHead) and the decision made on its state: a batch
 * already approved is never approved a second time. M3 reports business errors inside a 200;
 * when the transaction fails that way, the record is read again, so an approval that someone
 * else applied in between is recognised as WB_ALREADY. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ion.h"
#include "m3.h"
#include "util.h"
#include "wb.h"

/* The error an MI answer reports, "<PROGRAM>/<TRANSACTION> ServerReturnedNOK WIN0103 field
 * INBN: <message>" (the form the read driver uses), or NULL when it reports none. v2 looks at
 * results[0] and nrOfFailedTransactions, v1 at the ServerReturnedNOK members. Caller frees. */
static char *mi_error(const json_t *doc, bool v1, const char *program, const char *transaction)
{
    const json_t *e = v1 ? doc : json_array_get(json_object_get(doc, "results"), 0);
    const char *msg = json_string_value(json_object_get(e, v1 ? "Message" : "errorMessage"));
    const char *type = json_string_value(json_object_get(e, v1 ? "@type" : "errorType"));
    const char *code = json_string_value(json_object_get(e, v1 ? "@code" : "errorCode"));
    const char *field = json_string_value(json_object_get(e, v1 ? "@field" : "errorField"));
    json_int_t failed = v1 ? 0 : json_integer_value(json_object_get(doc, "nrOfFailedTransactions"));
    if (!(msg && *msg) && !(type && *type) && !(code && *code) && failed <= 0)
        return NULL;
    buf_t b;
    buf_init(&b);
    buf_appendf(&b, "%s/%s", program, transaction);
    if (type && *type)
        buf_appendf(&b, " %s", type);
    if (code && *code)
        buf_appendf(&b, " %s", code);
    if (field && *field)
        buf_appendf(&b, " field %s", field);
    buf_appendf(&b, ": %s", msg && *msg ? msg : "failed");
    return buf_steal(&b);
}

/* The first record of a successful MI answer as a flat object (new reference), NULL when it
 * has none. */
static json_t *mi_first_record(const json_t *doc, bool v1)
{
    if (v1) {
        char err[128];
        const json_t *rec = json_array_get(json_object_get(doc, "MIRecord"), 0);
        return rec ? m3_v1_flatten(rec, err, sizeof err) : NULL;
    }
    json_t *records = json_object_get(json_array_get(json_object_get(doc, "results"), 0),
                                      "records");
    return json_incref(json_array_get(records, 0));
}

typedef struct {
    wb_run_t     *run;
    ion_session_t s;
    bool          v1;
    json_t       *inputs;   /* resolved: "{key}" and "{<erp member>}" replaced */
} m3_wb_t;

/* Runs program/transaction with the inputs; on success 0 with *record (when record is not
 * NULL) the first record or NULL. -1 after failing out: an error inside a 200 or a 400 is
 * permanent, 408/429/5xx retryable. */
static int mi_call(m3_wb_t *x, const char *program, const char *transaction, json_t **record)
{
    wb_result_t *out = x->run->out;
    char *url = m3_call_url(x->s.api_base, x->v1, program, transaction, x->inputs);
    wb_answer_t a;
    int rc = wb_send(x->run, &x->s.src, "GET", url, NULL, NULL, &a);
    free(url);
    if (rc != 0)
        return -1;
    json_t *doc = json_loadb(a.body, a.len, 0, NULL);
    char *err = doc ? mi_error(doc, x->v1, program, transaction) : NULL;
    rc = -1;
    if (a.status != 200) {
        wb_fail_status(out, "m3", &a, err);
    } else if (err) {
        wb_fail(out, 0, "m3 %s", err);
    } else if (!json_is_object(doc)) {
        wb_fail(out, 1, "m3 %s/%s: the answer is not JSON", program, transaction);
    } else {
        if (record)
            *record = mi_first_record(doc, x->v1);
        rc = 0;
    }
    free(err);
    json_decref(doc);
    wb_answer_free(&a);
    return rc;
}

/* Reads the record and decides on it. Returns 1 when decided (out final: WB_ALREADY,
 * WB_NOT_APPLICABLE or WB_FAILED), 0 when the transaction is to run. */
static int read_and_decide(m3_wb_t *x)
{
    json_t *rec = NULL;
    if (mi_call(x, wb_str(x->run, "read_program"), wb_str(x->run, "read_transaction"), &rec) != 0)
        return 1;
    int decided = 1;
    if (!rec)
        wb_fail(x->run->out, 0, "m3 %s/%s: no record for %s", wb_str(x->run, "read_program"),
                wb_str(x->run, "read_transaction"), x->run->in->erp_key);
    else
        decided = wb_decide(x->run, rec);
    json_decref(rec);
    return decided;
}

/* The inputs setting with "{key}" as the record key and "{name}" as erp.name. Returns a new
 * object, or NULL after failing out (not an object, a value not a string, an erp member not
 * set). */
static json_t *resolve_inputs(wb_run_t *run)
{
    json_t *given = json_object_get(run->settings, "inputs");
    if (!json_is_object(given)) {
        wb_fail(run->out, 0, "flow %s: writeback.inputs: must be an object", run->in->flow->name);
        return NULL;
    }
    json_t *inputs = json_object();
    const char *name;
    json_t *v;
    json_object_foreach(given, name, v) {
        const char *text = json_string_value(v);
        size_t n = text ? strlen(text) : 0;
        const char *value = text;
        if (n >= 3 && text[0] == '{' && text[n - 1] == '}') {
            char *member = strndup(text + 1, n - 2);
            value = strcmp(member, "key") == 0
                ? run->in->erp_key
                : json_string_value(json_object_get(run->in->tenant->erp, member));
            free(member);
        }
        if (!value || !*value) {
            wb_fail(run->out, 0, "flow %s: writeback.inputs.%s: %s", run->in->flow->name, name,
                    text ? "names an erp member that is not set" : "must be a string");
            json_decref(inputs);
            return NULL;
        }
        json_object_set_new(inputs, name, json_string(value));
    }
    return inputs;
}

static void m3_write_back(m3_wb_t *x)
{
    wb_run_t *run = x->run;
    wb_result_t *out = run->out;
    const char *program = wb_str(run, "program"), *transaction = wb_str(run, "transaction");
    if (read_and_decide(x))
        return;
    if (mi_call(x, program, transaction, NULL) == 0) {
        out->status = WB_APPLIED;
        return;
    }
    if (out->retryable)
        return;
    /* Refused: maybe because someone applied the decision (or blocked the record) since the
     * read. Otherwise the refusal stands. */
    wb_result_t refused = *out;
    if (read_and_decide(x) && out->status != WB_FAILED)
        return;
    out->status = refused.status;
    out->retryable = refused.retryable;
    out->retry_after_ms = refused.retry_after_ms;
    memcpy(out->error, refused.error, sizeof out->error);
}

static void m3_apply(const wb_request_t *in, wb_result_t *out)
{
    static const char *const modes[] = { "mi", NULL };
    wb_run_t run;
    if (wb_begin(&run, in, out, modes) == 0 && wb_need(&run, "program") &&
        wb_need(&run, "transaction") && wb_need(&run, "read_program") &&
        wb_need(&run, "read_transaction")) {
        const char *api = wb_str(&run, "api");
        m3_wb_t x = { .run = &run, .v1 = api && strcmp(api, "v1") == 0,
                      .inputs = resolve_inputs(&run) };
        erp_result_t er = { 0 };
        if (x.inputs && ion_session_open(&x.s, &run.erp, "m3", NULL, &er) != 0) {
            wb_fail(out, er.retryable, "%s", er.error);
        } else if (x.inputs) {
            m3_write_back(&x);
            ion_session_close(&x.s);
        }
        json_decref(x.inputs);
    }
    wb_end(&run);
}

const wb_driver_t WB_M3 = { "m3", m3_apply };
