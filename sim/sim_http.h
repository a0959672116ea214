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
/* Answers status with the compact dump of j (application/json); takes j's reference. A NULL j
 * (a json_pack that met text which is not UTF-8) answers a fixed error body instead. */
void sim_reply_json(httpd_resp_t *resp, int status, json_t *j);
/* Answers status without a body (204, ...). */
void sim_reply_status(httpd_resp_t *resp, int status);
/* Adds "Retry-After: <seconds>". */
void sim_retry_after(httpd_resp_t *resp, long seconds);
/* The request body as a JSON object (an empty body is {}). New reference, or NULL with err
 * ("invalid JSON body: ..." / "the body must be a JSON object"). */
json_t *sim_json_object_body(const httpd_req_t *req, char *err, size_t err_len);

/* The decoded query parameters of a request, in order (arrays and strings malloc'd). */
typedef struct {
    char  **names, **values;
    size_t  n, cap;
} sim_params_t;
/* Appends every query parameter of req to *p (start from a zeroed sim_params_t). */
void sim_params_read(const httpd_req_t *req, sim_params_t *p);
void sim_params_free(sim_params_t *p);   /* frees and zeroes; safe twice */

/* Appends s as a JSON string literal (quoted, escaped) to b. */
void sim_append_json_string(buf_t *b, const char *s);
/* Like sim_append_json_string, with s right-padded with spaces to width characters (UTF-8
 * code points) inside the quotes, as M3 sends alphanumeric fields; no padding when s is
 * already that long. */
void sim_append_json_padded(buf_t *b, const char *s, size_t width);
#endif
