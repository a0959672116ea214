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

/* Appends name to the comma list unless present. */
static void select_add(buf_t *b, const char *name)
{
    if (!name || !*name)
        return;
    size_t n = strlen(name);
    for (const char *p = b->data; p && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return;
        p = end ? end + 1 : p + len;
    }
    if (b->len)
        buf_append(b, ",", 1);
    buf_append(b, name, n);
}

char *ifs_select(const flow_cfg_t *flow)
{
    buf_t b;
    buf_init(&b);
    buf_append(&b, "", 0);
    select_add(&b, flow->key_field);
    select_add(&b, flow->modified_field);
    select_add(&b, flow->company_field);
    const char *k;
    json_t *v;
    json_object_foreach(flow->map, k, v) select_add(&b, json_string_value(v));
    return buf_steal(&b);
}

char *ifs_page_url(const char *base_url, const flow_cfg_t *flow, const char *company,
                   const char *since, const char *after_key, int top)
{
    char *filter = ifs_filter(flow, company, since, after_key);
    char *select = ifs_select(flow);
    char *f = url_encode(filter);
    char *s = url_encode(select);
    char *o = url_encode(flow->key_field);
    size_t blen = strlen(base_url);
    const char *slash = blen && base_url[blen - 1] == '/' ? "" : "/";
    char *url = xasprintf("%s%s%s%s?$select=%s%s%s&$orderby=%s&$top=%d", base_url, slash,
                          IFS_PROJECTION_PATH + 1, flow->entity, s, *filter ? "&$filter=" : "",
                          f, o, top);
    free(filter);
    free(select);
    free(f);
    free(s);
    free(o);
    return url;
}

/* ---- token ------------------------------------------------------------------------------ */

typedef struct {
    const tenant_cfg_t *tenant;
    http_client_t      *http;
} token_req_t;

static const char *erp_str(const tenant_cfg_t *t, const char *name)
{
    return json_string_value(json_object_get(t->erp, name));
}

/* Client-credentials grant against erp.token_url. */
static int ifs_fetch_token(void *ud, char **token, long *expires_in, char *err, size_t err_len)
{
    token_req_t *tr = ud;
    const tenant_cfg_t *t = tr->tenant;
    char *id = url_encode(erp_str(t, "client_id"));
    char *secret = url_encode(erp_str(t, "client_secret"));
    char *scope = url_encode(erp_str(t, "scope") ? erp_str(t, "scope") : "openid");
    char *form = xasprintf("grant_type=client_credentials&client_id=%s&client_secret=%s&scope=%s",
                           id, secret, scope);
    free(id);
    free(secret);
    free(scope);
    const char *hdrs[] = { "Content-Type: application/x-www-form-urlencoded",
                           "Accept: application/json", NULL };
    http_req_t req = { .method = "POST", .url = erp_str(t, "token_url"), .headers = hdrs,
                       .body = form, .body_len = strlen(form) };
    http_resp_t resp;
    int rc = -1;
    if (http_do(tr->http, &req, &resp) != 0) {
        snprintf(err, err_len, "ifs token endpoint unreachable: %s", resp.error);
    } else if (resp.status != 200) {
        snprintf(err, err_len, "ifs token endpoint answered %ld: %.200s", resp.status,
                 resp.body.data ? resp.body.data : "");
    } else {
        json_t *obj = json_loadb(resp.body.data, resp.body.len, 0, NULL);
        const char *at = json_string_value(json_object_get(obj, "access_token"));
        json_t *exp = json_object_get(obj, "expires_in");
        if (at && json_is_integer(exp)) {
            *token = xstrdup(at);
            *expires_in = (long)json_integer_value(exp);
            rc = 0;
        } else {
            snprintf(err, err_len, "ifs token response lacks access_token/expires_in");
        }
        json_decref(obj);
    }
    http_resp_free(&resp);
    free(form);
    return rc;
}

/* ---- paging ----------------------------------------------------------------------------- */

typedef struct {
    const erp_read_t *in;
    record_sink_fn    sink;
    void             *ud;
    jscan_t          *scan;
    char             *next_link;
    char             *last_key;
    char             *err_code;
    char             *err_msg;
    long              rows;       /* rows of the current keyset request */
    char              map_err[256];
    int               stopped;
} page_state_t;

static char *decode_scalar(const char *raw, size_t len)
{
    json_t *v = json_loadb(raw, len, JSON_DECODE_ANY, NULL);
    char *s = json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
    json_decref(v);
    return s;
}

static void on_scalar(void *ud, const char *path, const char *raw, size_t len)
{
    page_state_t *ps = ud;
    if (strcmp(path, "@odata.nextLink") == 0) {
        free(ps->next_link);
        ps->next_link = decode_scalar(raw, len);
    } else if (strcmp(path, "error.code") == 0) {
        free(ps->err_code);
        ps->err_code = decode_scalar(raw, len);
    } else if (strcmp(path, "error.message") == 0) {
        free(ps->err_msg);
        ps->err_msg = decode_scalar(raw, len);
    }
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
    if (ps->sink(ps->ud, heap) != 0) {
        ps->stopped = 1;
        return 1;
    }
    return 0;
}

static int body_sink(void *ud, const char *data, size_t len)
{
    page_state_t *ps = ud;
    return jscan_feed(ps->scan, data, len) == 0 ? 0 : 1;
}

/* Classifies a non-200 answer into out. */
static void classify_status(const http_resp_t *resp, const page_state_t *ps, erp_result_t *out)
{
    long st = resp->status;
    out->retryable = st == 429 || st == 503 || st >= 500 || st == 408;
    long ra = http_retry_after_ms(resp);
    out->retry_after_ms = ra > 0 ? ra : 0;
    snprintf(out->error, sizeof out->error, "ifs answered %ld%s%s%s%s", st,
             ps->err_code ? " " : "", ps->err_code ? ps->err_code : "",
             ps->err_msg ? ": " : "", ps->err_msg ? ps->err_msg : "");
}

static void ifs_read(const erp_read_t *in, record_sink_fn sink, void *ud, erp_result_t *out)
{
    memset(out, 0, sizeof *out);
    const tenant_cfg_t *t = in->tenant;
    token_req_t tr = { t, in->http };
    const char *base = erp_str(t, "base_url");
    const char *company = erp_str(t, "company");
    int top = in->flow->page_size > 0 ? in->flow->page_size : 5000;
    char *after_key = NULL;
    int auth_retry = 0;

    for (;;) {
        page_state_t ps = { .in = in, .sink = sink, .ud = ud };
        char *url = ifs_page_url(base, in->flow, company, in->since, after_key, top);
        int more_pages = 0;
        while (url) {
            char terr[256];
            char *token = token_get(in->redis, in->master_key, t->id, "ifs", 30000,
                                    ifs_fetch_token, &tr, terr, sizeof terr);
            if (!token) {
                snprintf(out->error, sizeof out->error, "%s", terr);
                out->retryable = 1;
                free(url);
                url = NULL;
                goto page_done;
            }
            char *auth = xasprintf("Authorization: Bearer %s", token);
            free(token);
            const char *hdrs[] = { auth, "Accept: application/json", NULL };
            ps.scan = jscan_new("value", on_row, on_scalar, &ps);
            free(ps.next_link);
            ps.next_link = NULL;
            http_req_t req = { .method = "GET", .url = url, .headers = hdrs, .sink = body_sink,
                               .sink_ud = &ps };
            http_resp_t resp;
            int rc = http_do(in->http, &req, &resp);
            free(auth);
            int finished = rc == 0 && jscan_finish(ps.scan) == 0;
            if (rc != 0) {
                snprintf(out->error, sizeof out->error, "ifs unreachable: %s", resp.error);
                out->retryable = 1;
            } else if (resp.status == 401 && !auth_retry) {
                /* Token expired early or was revoked: refresh once and repeat the page. */
                auth_retry = 1;
                token_invalidate(in->redis, t->id, "ifs");
                http_resp_free(&resp);
                jscan_destroy(&ps.scan);
                continue;
            } else if (resp.status != 200) {
                classify_status(&resp, &ps, out);
            } else if (ps.map_err[0]) {
                snprintf(out->error, sizeof out->error, "%s: %s", in->flow->entity, ps.map_err);
            } else if (!finished && !ps.stopped) {
                snprintf(out->error, sizeof out->error, "%s: malformed page: %s", in->flow->entity,
                         jscan_error(ps.scan));
                out->retryable = 1;
            }
            http_resp_free(&resp);
            jscan_destroy(&ps.scan);
            free(url);
            url = NULL;
            if (out->error[0] || ps.stopped) {
                if (ps.stopped && !out->error[0])
                    snprintf(out->error, sizeof out->error, "stopped by the pipeline");
                goto page_done;
            }
            auth_retry = 0;
            out->pages++;
            if (ps.next_link) {
                url = ps.next_link;
                ps.next_link = NULL;
            }
        }
        more_pages = ps.rows >= top && ps.last_key;
    page_done:
        out->rows += ps.rows;
        free(ps.next_link);
        free(ps.err_code);
        free(ps.err_msg);
        free(after_key);
        after_key = ps.last_key;
        if (out->error[0] || !more_pages)
            break;
    }
    out->ok = out->error[0] == '\0';
    free(after_key);
}

const erp_driver_t ERP_IFS = { "ifs", ifs_read };

const erp_driver_t *erp_driver(const char *type)
{
    if (type && strcmp(type, "ifs") == 0)
        return &ERP_IFS;
    return NULL;
}
