/* sim_http: response and request helpers shared by the simulators' HTTP handlers (on top of
 * common/httpd). */
#ifndef MLC_SIM_SIM_HTTP_H
#define MLC_SIM_SIM_HTTP_H
#include <stddef.h>
#include <jansson.h>
#include "httpd.h"
#include "util.h"

/* Answers status with the bytes of b, without copying: b is left empty. */
void sim_reply_buf(httpd_resp_t *resp, int status, const char *content_type, buf_t *b);
/* Answers status with the compact dump of j (application/json); takes j's reference. */
void sim_reply_json(httpd_resp_t *resp, int status, json_t *j);
/* Answers status without a body (204, ...). */
void sim_reply_status(httpd_resp_t *resp, int status);
/* Adds "Retry-After: <seconds>". */
void sim_retry_after(httpd_resp_t *resp, long seconds);
/* The request body as a JSON object (an empty body is {}). New reference, or NULL with err
 * ("invalid JSON body: ..." / "the body must be a JSON object"). */
json_t *sim_json_object_body(const httpd_req_t *req, char *err, size_t err_len);
#endif
