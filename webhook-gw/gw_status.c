/* gw_status: see gw_status.h. Numbers on the page carry data-k attributes so tests (and
 * scrapers) can find them without depending on the layout. */
#include "gw_status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto.h"
#include "gw_agg.h"
#include "util.h"

#define CHART_W 560
#define CHART_H 160

gst_page_t gst_route(const char *method, const char *path)
{
    if (strcmp(method, "GET") != 0)
        return GST_NONE;
    if (strcmp(path, "/status") == 0)
        return GST_HTML;
    if (strcmp(path, "/status.json") == 0)
        return GST_JSON;
    return GST_NONE;
}

int gst_auth(const char *want, const char *authorization, const char *query_token)
{
    if (!want || !*want)
        return 404;
    const char *given = query_token;
    if (authorization && strncasecmp(authorization, "Bearer ", 7) == 0)
        given = authorization + 7;
    return given && ct_str_equal(want, given) ? 0 : 401;
}

/* ---- HTML ------------------------------------------------------------------------------- */

static void esc(buf_t *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': buf_append(b, "&amp;", 5); break;
        case '<': buf_append(b, "&lt;", 4); break;
        case '>': buf_append(b, "&gt;", 4); break;
        case '"': buf_append(b, "&quot;", 6); break;
        case '\'': buf_append(b, "&#39;", 5); break;
        default: buf_append(b, s, 1);
        }
    }
}

static json_int_t num(const json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* "YYYY-MM-DD HH:MM:SS UTC" of epoch ms. */
static void utc(buf_t *b, int64_t ms)
{
    char iso[32];
    iso8601_s(ms / 1000, iso, sizeof iso);
    iso[10] = ' ';
    iso[19] = '\0';
    buf_appendf(b, "%s UTC", iso);
}

/* utc() of ms and its age relative to now "(N min ago)", or "never" for 0. */
static void when(buf_t *b, int64_t ms, int64_t now)
{
    if (ms <= 0) {
        buf_appendf(b, "never");
        return;
    }
    utc(b, ms);
    int64_t age = (now - ms) / 1000;
    if (age < 0)
        age = 0;
    const char *unit = age < 120 ? "s" : age < 7200 ? "min" : age < 172800 ? "h" : "d";
    int64_t n = age < 120 ? age : age < 7200 ? age / 60 : age < 172800 ? age / 3600 : age / 86400;
    buf_appendf(b, " <span class=\"age\">(%lld %s ago)</span>", (long long)n, unit);
}

/* "HH:MM" of epoch ms. */
static void hhmm(int64_t ms, char out[8])
{
    char iso[32];
    iso8601_s(ms / 1000, iso, sizeof iso);
    snprintf(out, 8, "%.5s", iso + 11);
}

char *gst_chart(const json_t *history, int width, int height)
{
    enum { LEFT = 48, RIGHT = 8, TOP = 10, BOTTOM = 22 };
    buf_t b;
    buf_init(&b);
    size_t n = json_array_size(history);
    buf_appendf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"%d\" height=\"%d\" "
                    "viewBox=\"0 0 %d %d\" role=\"img\" data-runs=\"%zu\">", width, height, width, height, n);
    int pw = width - LEFT - RIGHT, ph = height - TOP - BOTTOM;
    buf_appendf(&b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#f6f8fa\"/>", LEFT, TOP, pw, ph);
    if (n == 0) {
        buf_appendf(&b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"#57606a\">no sync run "
                        "recorded yet</text></svg>", LEFT + pw / 2, TOP + ph / 2);
        return buf_steal(&b);
    }
    json_int_t max = 1;
    for (size_t i = 0; i < n; i++)
        if (num(json_array_get(history, i), "records") > max)
            max = num(json_array_get(history, i), "records");
    /* GST_HISTORY slots at least, filled from the left: bars keep their width as runs come. */
    double slot = (double)pw / (double)(n > GST_HISTORY ? n : GST_HISTORY);
    double bar = slot > 3 ? slot * 0.8 : slot;
    for (size_t i = 0; i < n; i++) {
        const json_t *run = json_array_get(history, i);
        json_int_t rec = num(run, "records"), chg = num(run, "changed");
        double x = LEFT + slot * (double)i + (slot - bar) / 2;
        double hr = (double)ph * (double)rec / (double)max, hc = (double)ph * (double)chg / (double)max;
        bool ok = json_is_true(json_object_get(run, "ok"));
        char iso[32];
        iso8601_s(num(run, "finished_ms") / 1000, iso, sizeof iso);
        buf_appendf(&b, "<g><title>%s: %lld records, %lld changed, %lld ms%s</title>", iso,
                    (long long)rec, (long long)chg, (long long)num(run, "duration_ms"), ok ? "" : ", failed");
        buf_appendf(&b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>", x,
                    TOP + ph - (hr < 1 ? 1 : hr), bar, hr < 1 ? 1 : hr, ok ? "#9ec5fe" : "#ff8182");
        if (hc > 0)
            buf_appendf(&b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#0969da\"/>",
                        x, TOP + ph - hc, bar, hc);
        buf_appendf(&b, "</g>");
    }
    char first[8], last[8];
    hhmm(num(json_array_get(history, 0), "finished_ms"), first);
    hhmm(num(json_array_get(history, n - 1), "finished_ms"), last);
    buf_appendf(&b, "<g fill=\"#57606a\" font-size=\"11\">"
                    "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%lld</text>"
                    "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">0</text>"
                    "<text x=\"%d\" y=\"%d\">%s</text>", LEFT - 4, TOP + 10, (long long)max,
                LEFT - 4, TOP + ph, LEFT, height - 6, first);
    if (n > 1)
        buf_appendf(&b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"end\">%s</text>",
                    LEFT + slot * (double)n, height - 6, last);
    buf_appendf(&b, "</g></svg>");
    return buf_steal(&b);
}

static const char CSS[] =
    "body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#1f2328;background:#fff}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:0 0 12px}.sub,.age{color:#57606a}"
    "section.tenant{border:1px solid #d0d7de;border-radius:8px;padding:16px;margin:16px 0}"
    ".cards{display:flex;flex-wrap:wrap;gap:12px;margin-bottom:12px}"
    ".card{border:1px solid #d0d7de;border-radius:6px;padding:8px 12px;min-width:110px;background:#f6f8fa}"
    ".card b{display:block;font-size:20px}.card span{color:#57606a;font-size:12px}"
    ".card.bad b{color:#cf222e}"
    "table{border-collapse:collapse;margin-bottom:12px}th,td{padding:4px 10px;border-bottom:1px solid #d0d7de;text-align:left}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".badge{display:inline-block;border-radius:10px;padding:1px 8px;font-size:12px;color:#fff;vertical-align:middle}"
    ".healthy,.ok{background:#1a7f37}.registering,.running{background:#9a6700}.inactive,.not_registered{background:#6e7781}"
    ".error{background:#cf222e}.erp{font-size:12px;color:#57606a}.err{color:#cf222e}"
    ".legend i{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}"
    ".charts{display:flex;flex-wrap:wrap;gap:8px 32px}h3{font-size:14px;margin:8px 0 4px}"
    ".legend{font-weight:normal;color:#57606a;font-size:12px}";

/* A number card with its data-k key. bad: highlight when the value is not 0. */
static void card(buf_t *b, const char *label, const char *k, json_int_t v, bool bad)
{
    buf_appendf(b, "<div class=\"card%s\"><b data-k=\"%s\">%lld</b><span>%s</span></div>",
                bad && v ? " bad" : "", k, (long long)v, label);
}

static void flow_rows(buf_t *b, json_t *flows, int64_t now)
{
    buf_appendf(b, "<table class=\"flows\"><tr><th>Flow</th><th>Status</th><th>Last sync</th>"
                   "<th>Duration</th><th>Records</th><th>Changed</th><th>Error</th></tr>");
    const char *k;
    json_t *f;
    json_object_foreach(flows, k, f) {
        const char *st = *str(f, "status") ? str(f, "status") : "never";
        buf_appendf(b, "<tr data-flow=\"");
        esc(b, k);
        buf_appendf(b, "\"><td>");
        esc(b, k);
        buf_appendf(b, "</td><td><span class=\"badge %s\" data-k=\"status\">",
                    *str(f, "error") ? "error" : strcmp(st, "running") == 0 ? "running"
                    : strcmp(st, "never") == 0 ? "inactive" : "ok");
        esc(b, st);
        buf_appendf(b, "</span></td><td>");
        when(b, num(f, "finished_ms"), now);
        buf_appendf(b, "</td><td class=\"n\" data-k=\"duration_ms\">%.1f s</td>"
                       "<td class=\"n\" data-k=\"records\">%lld</td><td class=\"n\" data-k=\"changed\">%lld</td>"
                       "<td class=\"err\">", (double)num(f, "duration_ms") / 1000,
                    (long long)num(f, "records"), (long long)num(f, "changed"));
        esc(b, str(f, "error"));
        buf_appendf(b, "</td></tr>");
    }
    buf_appendf(b, "</table>");
}

/* Flows whose last finished run failed. */
static json_int_t failed_syncs(json_t *flows)
{
    json_int_t n = 0;
    const char *k;
    json_t *f;
    json_object_foreach(flows, k, f)
        n += *str(f, "error") != '\0';
    return n;
}

/* One row per tenant: the page's first screen answers "is anything wrong". */
static void overview(buf_t *b, json_t *tenants, int64_t now)
{
    buf_appendf(b, "<table class=\"overview\"><tr><th>Tenant</th><th>ERP</th><th>Webhook</th>"
                   "<th>Tasks mapped</th><th>Records synced</th><th>Queued</th><th>Failures</th>"
                   "<th>Last sync</th></tr>");
    const char *id, *k;
    json_t *t, *f;
    json_object_foreach(tenants, id, t) {
        const json_t *q = json_object_get(t, "queues"), *c = json_object_get(t, "counters");
        json_t *flows = json_object_get(t, "flows");
        int64_t last = 0;
        json_object_foreach(flows, k, f)
            if (num(f, "finished_ms") > last)
                last = num(f, "finished_ms");
        json_int_t failures = failed_syncs(flows) + num(q, "dead") + num(c, "writeback_failed");
        const char *health = str(json_object_get(t, "webhook"), "health");
        buf_appendf(b, "<tr data-tenant=\"");
        esc(b, id);
        buf_appendf(b, "\"><td>");
        esc(b, id);
        buf_appendf(b, "</td><td>");
        esc(b, str(t, "erp"));
        buf_appendf(b, "</td><td><span class=\"badge %s\">%s</span></td>"
                       "<td class=\"n\" data-k=\"tasks_mapped\">%lld</td><td class=\"n\" data-k=\"records_synced\">%lld</td>"
                       "<td class=\"n\">%lld</td><td class=\"n%s\" data-k=\"failures\">%lld</td><td>",
                    health, health, (long long)num(t, "tasks_mapped"), (long long)num(c, "records_seen"),
                    (long long)(num(q, "poll") + num(q, "write")), failures ? " err" : "", (long long)failures);
        when(b, last, now);
        buf_appendf(b, "</td></tr>");
    }
    buf_appendf(b, "</table>");
}

static void tenant_section(buf_t *b, const char *id, const json_t *t, int64_t now)
{
    const json_t *c = json_object_get(t, "counters"), *q = json_object_get(t, "queues");
    const json_t *h = json_object_get(t, "webhook");
    json_t *flows = json_object_get(t, "flows");
    buf_appendf(b, "<section class=\"tenant\" data-tenant=\"");
    esc(b, id);
    buf_appendf(b, "\"><h2>");
    esc(b, *str(t, "name") ? str(t, "name") : id);
    buf_appendf(b, " <span class=\"erp\">");
    esc(b, id);
    buf_appendf(b, " &middot; ");
    esc(b, str(t, "erp"));
    buf_appendf(b, "</span> <span class=\"badge %s\" data-k=\"webhook\">webhook %s</span></h2>",
                str(h, "health"), str(h, "health"));
    if (*str(t, "error")) {
        buf_appendf(b, "<p class=\"err\">");
        esc(b, str(t, "error"));
        buf_appendf(b, "</p>");
    }
    const char *k;
    json_t *f;
    buf_appendf(b, "<div class=\"cards\">");
    card(b, "tasks mapped", "tasks_mapped", num(t, "tasks_mapped"), false);
    card(b, "records synced", "records_synced", num(c, "records_seen"), false);
    card(b, "records changed", "records_changed", num(c, "records_changed"), false);
    card(b, "tasks created", "tasks_created", num(c, "tasks_created"), false);
    card(b, "tasks updated", "tasks_updated", num(c, "tasks_updated"), false);
    card(b, "write-backs applied", "writeback_applied", num(c, "writeback_applied"), false);
    card(b, "failed syncs", "failed_syncs", failed_syncs(flows), true);
    card(b, "dead jobs (DLQ)", "dead", num(q, "dead"), true);
    card(b, "write-backs failed", "writeback_failed", num(c, "writeback_failed"), true);
    card(b, "job retries", "jobs_retried", num(c, "jobs_retried"), false);
    buf_appendf(b, "</div><table class=\"queues\"><tr><th>Queued poll</th><th>Queued write</th>"
                   "<th>Running</th><th>Retry</th><th>Dead</th></tr><tr>");
    static const char *const QK[] = { "poll", "write", "running", "retry", "dead" };
    for (int i = 0; i < 5; i++)
        buf_appendf(b, "<td class=\"n\" data-k=\"queue_%s\">%lld</td>", QK[i], (long long)num(q, QK[i]));
    buf_appendf(b, "</tr></table><p>Webhook: last delivery ");
    when(b, num(h, "last_delivery_ms"), now);
    buf_appendf(b, ", last check ");
    when(b, num(h, "checked_ms"), now);
    if (*str(h, "last_error")) {
        buf_appendf(b, ", <span class=\"err\">");
        esc(b, str(h, "last_error"));
        buf_appendf(b, "</span>");
    }
    buf_appendf(b, "</p>");
    flow_rows(b, flows, now);
    buf_appendf(b, "<div class=\"charts\">");
    json_object_foreach(flows, k, f) {
        buf_appendf(b, "<figure style=\"margin:0\"><h3>Records per sync run: ");
        esc(b, k);
        buf_appendf(b, "<span class=\"legend\"><i style=\"background:#9ec5fe\"></i>read"
                       "<i style=\"background:#0969da\"></i>changed<i style=\"background:#ff8182\"></i>failed</span></h3>");
        char *svg = gst_chart(json_object_get(f, "history"), CHART_W, CHART_H);
        buf_appendf(b, "%s</figure>", svg);
        free(svg);
    }
    buf_appendf(b, "</div></section>");
}

char *gst_html(const json_t *model)
{
    buf_t b;
    buf_init(&b);
    int64_t now = num(model, "generated_ms");
    buf_appendf(&b, "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                    "<title>ml-connector status</title><style>%s</style></head><body>"
                    "<h1>ml-connector status</h1><p class=\"sub\">generated ", CSS);
    utc(&b, now);
    buf_appendf(&b, " &middot; workers alive:");
    const char *k;
    json_t *v;
    size_t nw = 0;
    json_object_foreach(json_object_get(model, "workers"), k, v) {
        buf_appendf(&b, "%s ", nw++ ? "," : "");
        esc(&b, k);
        buf_appendf(&b, " <b data-k=\"workers_");
        esc(&b, k);
        buf_appendf(&b, "\">%lld</b>", (long long)json_integer_value(v));
    }
    if (!nw)
        buf_appendf(&b, " <b>none</b>");
    buf_appendf(&b, "</p>");
    overview(&b, json_object_get(model, "tenants"), now);
    json_object_foreach(json_object_get(model, "tenants"), k, v)
        tenant_section(&b, k, v, now);
    if (!json_object_size(json_object_get(model, "tenants")))
        buf_appendf(&b, "<p>No tenant configured.</p>");
    buf_appendf(&b, "</body></html>\n");
    return buf_steal(&b);
}

/* ---- serving ---------------------------------------------------------------------------- */

static void page_headers(httpd_resp_t *resp)
{
    httpd_resp_header(resp, "Cache-Control", "no-store");
    httpd_resp_header(resp, "Content-Security-Policy",
                      "default-src 'none'; style-src 'unsafe-inline'; img-src data:");
}

void gst_serve(rds_t *r, const uint8_t key[MLC_KEY_LEN], gst_page_t page, const httpd_req_t *req,
               httpd_resp_t *resp)
{
    int denied = gst_auth(getenv("MLC_STATUS_TOKEN"), httpd_header(req, "Authorization"),
                          httpd_query(req, "token"));
    if (denied == 401)
        httpd_resp_header(resp, "WWW-Authenticate", "Bearer realm=\"ml-connector status\"");
    if (denied) {
        httpd_resp_json(resp, denied, denied == 404 ? "{\"error\":\"not found\"}"
                                                    : "{\"error\":\"missing or wrong status token\"}");
        return;
    }
    json_t *model = r ? gwa_collect(r, key, GST_HISTORY, now_ms()) : NULL;
    if (!model) {
        httpd_resp_json(resp, 503, "{\"error\":\"storage unavailable\"}");
        return;
    }
    page_headers(resp);
    char *text = page == GST_JSON ? json_dumps(model, JSON_COMPACT) : gst_html(model);
    httpd_resp_body(resp, 200, page == GST_JSON ? "application/json" : "text/html; charset=utf-8",
                    text, strlen(text));
    free(text);
    json_decref(model);
}
