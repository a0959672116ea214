/* sim_http: see sim_http.h. */
#include "sim_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sim_reply_buf(httpd_resp_t *resp, int status, const char *content_type, buf_t *b)
{
    free(resp->body);
    resp->status = status;
    resp->body_len = b->len;
    resp->body = buf_steal(b);
    httpd_resp_header(resp, "Content-Type", content_type);
}

void sim_reply_json(httpd_resp_t *resp, int status, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    /* j is NULL when json_pack refused a string that is not UTF-8 (echoed request text) */
    httpd_resp_json(resp, status, text ? text : "{\"error\":\"the answer could not be encoded: "
                                                "the request holds text that is not UTF-8\"}");
    free(text);
    json_decref(j);
}

void sim_reply_status(httpd_resp_t *resp, int status)
{
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
    resp->status = status;
}

void sim_retry_after(httpd_resp_t *resp, long seconds)
{
    char v[24];
    snprintf(v, sizeof v, "%ld", seconds);
    httpd_resp_header(resp, "Retry-After", v);
}

json_t *sim_json_object_body(const httpd_req_t *req, char *err, size_t err_len)
{
    size_t len;
    const char *body = httpd_body(req, &len);
    json_error_t jerr;
    json_t *j = len ? json_loadb(body, len, 0, &jerr) : json_object();
    if (!j) {
        snprintf(err, err_len, "invalid JSON body: %s", jerr.text);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        snprintf(err, err_len, "the body must be a JSON object");
        return NULL;
    }
    return j;
}

static void add_param(void *ud, const char *k, const char *v)
{
    sim_params_t *p = ud;
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 8;
        p->names = xrealloc(p->names, p->cap * sizeof *p->names);
        p->values = xrealloc(p->values, p->cap * sizeof *p->values);
    }
    p->names[p->n] = xstrdup(k);
    p->values[p->n++] = xstrdup(v);
}

void sim_params_read(const httpd_req_t *req, sim_params_t *p)
{
    httpd_query_each(req, add_param, p);
}

void sim_params_free(sim_params_t *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->names[i]);
        free(p->values[i]);
    }
    free(p->names);
    free(p->values);
    memset(p, 0, sizeof *p);
}

void sim_append_json_padded(buf_t *b, const char *s, size_t width)
{
    static const char hex[] = "0123456789abcdef";
    static const char spaces[] = "                                ";
    buf_append(b, "\"", 1);
    const char *run = s;
    size_t chars = 0;
    for (const unsigned char *p = (const unsigned char *)s;; p++) {
        unsigned char c = *p;
        chars += (c & 0xC0) != 0x80;
        if (c != '\0' && c != '"' && c != '\\' && c >= 0x20)
            continue;
        buf_append(b, run, (size_t)((const char *)p - run));
        if (c == '\0')
            break;
        char esc[6] = {'\\', (char)c, 0, 0, 0, 0};
        size_t n = 2;
        if (c == '\n')
            esc[1] = 'n';
        else if (c == '\r')
            esc[1] = 'r';
        else if (c == '\t')
            esc[1] = 't';
        else if (c < 0x20) {
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
        }
        buf_append(b, esc, n);
        run = (const char *)p + 1;
    }
    chars--;   /* the terminating NUL was counted */
    while (chars < width) {
        size_t n = width - chars < sizeof spaces - 1 ? width - chars : sizeof spaces - 1;
        buf_append(b, spaces, n);
        chars += n;
    }
    buf_append(b, "\"", 1);
}

void sim_append_json_string(buf_t *b, const char *s)
{
    sim_append_json_padded(b, s, 0);
}
