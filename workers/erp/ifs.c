/* ifs: IFS Cloud connector. Token: OAuth2 client credentials against the IFS IAM (Keycloak)
 * realm, cached in Redis by token.c. Reads: keyset pages ordered by the flow's key
 * ($filter key gt 'last' and $top page_size) so rows are neither skipped nor repeated when data
 * changes between calls; inside each page the server may split further with @odata.nextLink,
 * which is followed. Bodies are streamed through jsonscan: one row in memory at a time. */
#include "ifs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "erp.h"
#include "jsonscan.h"
#include "log.h"
#include "reqstats.h"
#include "token.h"
#include "util.h"

#define IFS_PROJECTION_PATH "/main/ifsapplications/projection/v1/"

char *odata_quote(const char *s)
{
    buf_t b;
    buf_init(&b);
    buf_append(&b, "'", 1);
    for (const char *p = s; *p; p++) {
        if (*p == '\'')
            buf_append(&b, "''", 2);
        else
            buf_append(&b, p, 1);
    }
    buf_append(&b, "'", 1);
    return buf_steal(&b);
}

char *ifs_filter(const flow_cfg_t *flow, const char *company, const char *since,
                 const char *after_key)
{
    buf_t b;
    buf_init(&b);
    buf_append(&b, "", 0);
    if (company && flow->company_field) {
        char *q = odata_quote(company);
        buf_appendf(&b, "%s eq %s", flow->company_field, q);
        free(q);
    }
    if (since && flow->modified_field)
        buf_appendf(&b, "%s%s ge %s", b.len ? " and " : "", flow->modified_field, since);
    if (after_key) {
        char *q = odata_quote(after_key);
        buf_appendf(&b, "%s%s gt %s", b.len ? " and " : "", flow->key_field, q);
        free(q);
    }
    return buf_steal(&b);
}

/* "/" when base_url does not end in one, else "": joins it with IFS_PROJECTION_PATH + 1. */
static const char *base_slash(const char *base_url)
{
    size_t blen = strlen(base_url);
    return blen && base_url[blen - 1] == '/' ? "" : "/";
}

char *ifs_page_url(const char *base_url, const flow_cfg_t *flow, const char *company,
                   const char *since, const char *after_key, int top)
{
    char *filter = ifs_filter(flow, company, since, after_key);
    char *select = erp_members(flow);
    char *f = url_encode(filter);
    char *s = url_encode(select);
    char *o = url_encode(flow->key_field);
    char *url = xasprintf("%s%s%s%s?$select=%s%s%s&$orderby=%s&$top=%d", base_url,
                          base_slash(base_url), IFS_PROJECTION_PATH + 1, flow->entity, s,
                          *filter ? "&$filter=" : "", f, o, top);
    free(filter);
    free(select);
    free(f);
    free(s);
    free(o);
    return url;
}

char *ifs_entity_url(const char *base_url, const flow_cfg_t *flow, const char *key)
{
    /* The quotes stay literal; what is between them (doubled quotes included) is encoded. */
    char *quoted = odata_quote(key);
    quoted[strlen(quoted) - 1] = '\0';
    char *k = url_encode(quoted + 1);
    char *url = xasprintf("%s%s%s%s(%s='%s')", base_url, base_slash(base_url),
                          IFS_PROJECTION_PATH + 1, flow->entity, flow->key_field, k);
    free(quoted);
    free(k);
    return url;
}

/* ---- token ------------------------------------------------------------------------------ */

static const char *erp_str(const tenant_cfg_t *t, const char *name)
{
    return json_string_value(json_object_get(t->erp, name));
}

int ifs_fetch_token(void *ud, char **token, long *expires_in, char *err, size_t err_len)
{
    ifs_token_ud_t *tr = ud;
    const tenant_cfg_t *t = tr->tenant;
    char *id = url_encode(erp_str(t, "client_id"));
    char *secret = url_encode(erp_str(t, "client_secret"));
    char *scope = url_encode(erp_str(t, "scope") ? erp_str(t, "scope") : "openid");
    char *form = xasprintf("grant_type=client_credentials&client_id=%s&client_secret=%s&scope=%s",
                           id, secret, scope);
    free(id);
    free(secret);
    free(scope);
    char *refresh = NULL;
    long status;
    int rc = token_request(tr->http, erp_str(t, "token_url"), form, "ifs", token, expires_in,
                           &refresh, &status, err, err_len);
    reqstats_token(t->id, "ifs");
    free(refresh); /* client credentials need none: a new grant is as cheap */
    free(form);
    return rc;
}

/* ---- paging ----------------------------------------------------------------------------- */

typedef struct {
    const erp_read_t *in;
    record_sink_fn    sink;
    void             *ud;
    char             *next_link;
    char             *last_key;
    char             *err_code;
    char             *err_msg;
    long              rows;       /* rows of the current keyset request */
    char              map_err[256];
} page_state_t;

static char *decode_scalar(const char *raw, size_t len)
{
    json_t *v = json_loadb(raw, len, JSON_DECODE_ANY, NULL);
    char *s = json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
    json_decref(v);
    return s;
}

/* Keeps the newest value of a string scalar in *slot. */
static void keep_scalar(char **slot, const char *raw, size_t len)
{
    free(*slot);
    *slot = decode_scalar(raw, len);
}

static void on_scalar(void *ud, const char *path, const char *raw, size_t len)
{
    page_state_t *ps = ud;
    if (strcmp(path, "@odata.nextLink") == 0)
        keep_scalar(&ps->next_link, raw, len);
    else if (strcmp(path, "error.code") == 0)
        keep_scalar(&ps->err_code, raw, len);
    else if (strcmp(path, "error.message") == 0)
        keep_scalar(&ps->err_msg, raw, len);
}

/* Before each request: what a previous answer said about paging and errors is void. */
static void on_attempt(void *ud)
{
    page_state_t *ps = ud;
    free(ps->next_link);
    free(ps->err_code);
    free(ps->err_msg);
    ps->next_link = ps->err_code = ps->err_msg = NULL;
}

static int on_row(void *ud, const char *json, size_t len)
{
    page_state_t *ps = ud;
    json_error_t jerr;
    json_t *row = json_loadb(json, len, 0, &jerr);
    if (!row) {
        snprintf(ps->map_err, sizeof ps->map_err, "row is not JSON: %s", jerr.text);
        return 1;
    }
    record_t rec = { 0 };
    if (record_map(row, ps->in->flow->map, ps->in->flow->kind, &rec, ps->map_err,
                   sizeof ps->map_err) != 0) {
        json_decref(row);
        return 1;
    }
    const char *etag = json_string_value(json_object_get(row, "@odata.etag"));
    if (etag) {
        free(rec.etag);
        rec.etag = xstrdup(etag);
    }
    json_t *key = json_object_get(row, ps->in->flow->key_field);
    if (json_is_string(key)) {
        free(ps->last_key);
        ps->last_key = xstrdup(json_string_value(key));
    }
    json_decref(row);
    ps->rows++;
    record_t *heap = xmalloc(sizeof *heap);
    *heap = rec;
    return ps->sink(ps->ud, heap) != 0;
}

/* Reads one keyset request (following @odata.nextLink) into ps. Returns 0 when every part was
 * read, -1 with out filled. */
static int read_keyset(const erp_read_t *in, const erp_source_t *src, char *url,
                       page_state_t *ps, erp_result_t *out)
{
    const erp_scan_t sc = { "value", on_row, on_scalar, on_attempt, ps };
    while (url) {
        erp_page_t page;
        int rc = erp_fetch_page(in, src, &sc, url, &page, out);
        free(url);
        url = NULL;
        if (rc != 0)
            return -1;
        if (ps->map_err[0]) {
            snprintf(out->error, sizeof out->error, "%s: %s", in->flow->entity, ps->map_err);
            return -1;
        }
        if (page.stopped) {
            snprintf(out->error, sizeof out->error, "stopped by the pipeline");
            return -1;
        }
        if (page.status != 200) {
            char *detail = ps->err_code || ps->err_msg
                ? xasprintf("%s%s%s", ps->err_code ? ps->err_code : "",
                            ps->err_code && ps->err_msg ? ": " : "", ps->err_msg ? ps->err_msg : "")
                : NULL;
            erp_fail_status(out, "ifs", &page, detail);
            free(detail);
            return -1;
        }
        if (!page.complete) {
            snprintf(out->error, sizeof out->error, "%s: malformed page: %s", in->flow->entity,
                     page.scan_error);
            out->retryable = 1;
            return -1;
        }
        out->pages++;
        url = ps->next_link;
        ps->next_link = NULL;
    }
    return 0;
}

static void ifs_read(const erp_read_t *in, record_sink_fn sink, void *ud, erp_result_t *out)
{
    memset(out, 0, sizeof *out);
    const tenant_cfg_t *t = in->tenant;
    ifs_token_ud_t tr = { t, in->http };
    const erp_source_t src = { "ifs", "ifs", ifs_fetch_token, &tr, NULL };
    const char *base = erp_str(t, "base_url");
    const char *company = erp_str(t, "company");
    int top = in->flow->page_size > 0 ? in->flow->page_size : 5000;
    char *after_key = NULL;
    for (;;) {
        page_state_t ps = { .in = in, .sink = sink, .ud = ud };
        char *url = ifs_page_url(base, in->flow, company, in->since, after_key, top);
        int rc = read_keyset(in, &src, url, &ps, out);
        out->rows += ps.rows;
        on_attempt(&ps);
        free(after_key);
        after_key = ps.last_key;
        if (rc != 0 || ps.rows < top || !after_key)
            break;
    }
    out->ok = out->error[0] == '\0';
    free(after_key);
}

const erp_driver_t ERP_IFS = { "ifs", ifs_read };
