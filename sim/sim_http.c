/* sim_http: see sim_http.h. */
#include "sim_http.h"

#include <stdio.h>
#include <stdlib.h>

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
    char *text = json_dumps(j, JSON_COMPACT);
    httpd_resp_json(resp, status, text);
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
