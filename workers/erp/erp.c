/* erp: the driver list and the page request every driver uses (see erp.h). */
#include "erp.h"
#include "erp_gate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "reqstats.h"
#include "util.h"

/* Renew a token this long before it expires (token.c caps it at a third of its lifetime). */
#define ERP_TOKEN_AHEAD_MS 30000

static const erp_driver_t *const DRIVERS[] = { &ERP_IFS, &ERP_M3, &ERP_SYTELINE };

const erp_driver_t *erp_driver(const char *type)
{
    for (size_t i = 0; type && i < sizeof DRIVERS / sizeof DRIVERS[0]; i++)
        if (strcmp(DRIVERS[i]->type, type) == 0)
            return DRIVERS[i];
    return NULL;
}

/* Appends name to the comma list unless present. */
static void member_add(buf_t *b, const char *name)
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

char *erp_since(rds_t *r, const char *tenant, const char *flow, bool full)
{
    if (full)
        return NULL;
    char *key = xasprintf(K_CURSOR, tenant, flow);
    redisReply *rep = rds_cmd(r, "GET %s", key);
    free(key);
    char *since = NULL;
    int64_t ms = rds_ok(rep) && rep->type == REDIS_REPLY_STRING ? parse_iso8601(rep->str) : -1;
    if (ms > 0) {
        char buf[32];
        since = xstrdup(iso8601_s((ms - env_long("MLC_POLL_OVERLAP_S", 60) * 1000) / 1000, buf,
                                  sizeof buf));
    }
    if (rep)
        freeReplyObject(rep);
    return since;
}

char *erp_members(const flow_cfg_t *flow)
{
    buf_t b;
    buf_init(&b);
    buf_append(&b, "", 0);
    member_add(&b, flow->key_field);
    member_add(&b, flow->modified_field);
    member_add(&b, flow->company_field);
    const char *k;
    json_t *v;
    json_object_foreach(flow->map, k, v) member_add(&b, json_string_value(v));
    return buf_steal(&b);
}

int erp_gate(const erp_read_t *in, const char *label, char *err, size_t err_len,
             int64_t *retry_after_ms)
{
    int64_t later = 0;
    int g = erp_gate_wait(in->redis, in->tenant, ERP_GATE_MAX_WAIT_MS, &later);
    if (g == 1)
        return 0;
    if (g < 0)
        snprintf(err, err_len, "%s: redis unreachable", label);
    else
        snprintf(err, err_len, "%s: the tenant's ERP is paused or at its rate limit "
                 "(next turn in %lld ms)", label, (long long)later);
    *retry_after_ms = later;
    return -1;
}

char *erp_auth_header(const erp_read_t *in, const erp_source_t *src, char *err, size_t err_len)
{
    char terr[256];
    char *token = token_get(in->redis, in->master_key, in->tenant->id, src->system,
                            ERP_TOKEN_AHEAD_MS, src->fetch, src->fetch_ud, terr, sizeof terr);
    if (!token) {
        snprintf(err, err_len, "%s", terr);
        return NULL;
    }
    char *auth = xasprintf("Authorization: Bearer %s", token);
    free(token);
    return auth;
}

/* Body sink state: the scanner of the current attempt and what feeding it gave. */
typedef struct {
    jscan_t *scan;
    int      rc;   /* 0 fine, -1 syntax error (rest of the body swallowed), >0 stopped */
} feed_t;

/* A syntax error does not abort the transfer, so the status and headers of an answer that is
 * not JSON (an HTML 503 page) still arrive; a stopping item callback does abort it. */
static int feed(void *ud, const char *data, size_t len)
{
    feed_t *f = ud;
    if (f->rc == 0)
        f->rc = jscan_feed(f->scan, data, len);
    return f->rc > 0;
}

int erp_fetch_page(const erp_read_t *in, const erp_source_t *src, const erp_scan_t *sc,
                   const char *url, erp_page_t *page, erp_result_t *out)
{
    const char *tenant = in->tenant->id;
    for (int attempt = 0;; attempt++) {
        memset(page, 0, sizeof *page);
        if (erp_gate(in, src->label, out->error, sizeof out->error, &out->retry_after_ms) != 0) {
            out->retryable = 1;
            return -1;
        }
        char *auth = erp_auth_header(in, src, out->error, sizeof out->error);
        if (!auth) {
            out->retryable = 1;
            return -1;
        }
        const char *hdrs[] = { auth, "Accept: application/json", src->header, NULL };
        if (sc->on_attempt)
            sc->on_attempt(sc->ud);
        feed_t f = { jscan_new(sc->path, sc->on_item, sc->on_scalar, sc->ud), 0 };
        http_req_t req = { .method = "GET", .url = url, .headers = hdrs, .sink = feed,
                           .sink_ud = &f };
        http_resp_t resp;
        int rc = http_do(in->http, &req, &resp);
        reqstats_response(tenant, REQSTATS_ERP, &resp);
        free(auth);
        page->stopped = f.rc > 0;
        if (rc != 0 && !page->stopped) {
            snprintf(out->error, sizeof out->error, "%s unreachable: %s", src->label, resp.error);
            out->retryable = 1;
        } else {
            page->status = resp.status;
            page->complete = f.rc == 0 && jscan_finish(f.scan) == 0;
            if (!page->complete && !page->stopped)
                snprintf(page->scan_error, sizeof page->scan_error, "%s", jscan_error(f.scan));
            long ra = http_retry_after_ms(&resp);
            page->retry_after_ms = ra > 0 ? ra : 0;
            erp_gate_answer(in->redis, in->tenant, resp.status, ra);
        }
        http_resp_free(&resp);
        jscan_destroy(&f.scan);
        if (rc != 0 && !page->stopped)
            return -1;
        if (page->status != 401 || attempt > 0)
            return 0;
        /* The token expired early or was revoked: fetch a new one and repeat once. */
        token_invalidate(in->redis, tenant, src->system);
    }
}

void erp_fail_status(erp_result_t *out, const char *label, const erp_page_t *page,
                     const char *detail)
{
    long st = page->status;
    out->retryable = st == 408 || st == 429 || st >= 500;
    out->retry_after_ms = page->retry_after_ms;
    snprintf(out->error, sizeof out->error, "%s answered %ld%s%s", label, st, detail ? ": " : "",
             detail ? detail : "");
}
