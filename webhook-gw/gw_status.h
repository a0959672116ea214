/* gw_status: the gateway's read-only status page. GET /status is one self-contained HTML
 * page (inline CSS, charts drawn server-side as inline SVG, no script, no network) and GET
 * /status.json the model behind it (gw_agg.h). Both sit behind the token in
 * MLC_STATUS_TOKEN, given as "Authorization: Bearer <token>" or "?token=<token>"; with the
 * variable unset or empty the page is off (404). Routing, the token check and the HTML are
 * pure; gst_serve does the Redis reads. */
#ifndef MLC_GW_STATUS_H
#define MLC_GW_STATUS_H
#include <stdint.h>
#include <jansson.h>

#include "crypto.h"
#include "httpd.h"
#include "redis.h"

/* Runs per flow the page charts. */
#define GST_HISTORY 60

typedef enum { GST_NONE, GST_HTML, GST_JSON } gst_page_t;

/* Which page a request is for: GST_NONE for anything but GET /status and GET /status.json. */
gst_page_t gst_route(const char *method, const char *path);

/* The token check. want: the configured token (NULL or "" = page off); authorization: the
 * Authorization header or NULL; query_token: the ?token= argument or NULL. Returns 0 when
 * allowed, 404 when the page is off, 401 when no or a wrong token was given. Compares in
 * constant time. */
int gst_auth(const char *want, const char *authorization, const char *query_token);

/* The HTML page of a model (gwa_collect with history). malloc'd, caller frees. */
char *gst_html(const json_t *model);

/* The SVG bar chart of a flow's "history" array (records per run, changed inside each bar),
 * width x height pixels. malloc'd, caller frees. */
char *gst_chart(const json_t *history, int width, int height);

/* Answers a request gst_route classified as page: 404 / 401 from gst_auth (token from
 * MLC_STATUS_TOKEN), 503 when r is NULL or Redis failed, else 200 with the page. key opens
 * the tenants' configurations. */
void gst_serve(rds_t *r, const uint8_t key[MLC_KEY_LEN], gst_page_t page, const httpd_req_t *req,
               httpd_resp_t *resp);
#endif
