/* Unit tests for the simulated Asana (sim/asana_*.c): requests go through asana_sim_serve
 * (no socket); the gate, the configuration, the JSON writer and the store's gid map are also
 * driven directly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../sim/asana_config.h"
#include "../../sim/asana_gate.h"
#include "../../sim/asana_render.h"
#include "../../sim/asana_sim.h"
#include "../../sim/asana_store.h"
#include "util.h"

#define WS      "1200000000000001"
#define P1      "1200000000000101"
#define P2      "1200000000000102"
#define TOKEN   "demo-pat"

/* ---- helpers --------------------------------------------------------------------------------- */

typedef struct {
    int     status;
    json_t *body;
    char   *location, *retry_after, *content_type;
} res_t;

static char *header_value(const httpd_resp_t *r, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < r->nheaders; i++)
        if (strncasecmp(r->headers[i], name, n) == 0 && r->headers[i][n] == ':')
            return xstrdup(r->headers[i] + n + 2);
    return NULL;
}

/* Serves METHOD url (path with an optional query, values %-encoded) with token (NULL: no
 * Authorization) and body (NULL: none). */
static res_t call(asana_sim_t *s, const char *method, const char *url, const char *token,
                  const char *body)
{
    char *copy = xstrdup(url), *q = strchr(copy, '?');
    asana_kv_t kv[16];
    char *decoded[32];
    size_t n = 0, nd = 0;
    if (q) {
        *q++ = '\0';
        char *save = NULL;
        for (char *p = strtok_r(q, "&", &save); p && n < 16; p = strtok_r(NULL, "&", &save)) {
            char *eq = strchr(p, '=');
            if (eq)
                *eq = '\0';
            decoded[nd] = url_decode(p, true);
            decoded[nd + 1] = url_decode(eq ? eq + 1 : "", true);
            kv[n++] = (asana_kv_t){ decoded[nd], decoded[nd + 1] };
            nd += 2;
        }
    }
    char auth[128];
    snprintf(auth, sizeof auth, "Bearer %s", token ? token : "");
    asana_req_t req = { .method = method, .path = copy, .query = kv, .nquery = n,
                        .authorization = token ? auth : NULL, .body = body,
                        .body_len = body ? strlen(body) : 0,
                        .base_url = "http://sim.test:1234" };
    httpd_resp_t resp = { 0 };
    asana_sim_serve(s, &req, &resp);
    res_t r = { .status = resp.status };
    json_error_t je;
    r.body = json_loadb(resp.body, resp.body_len, 0, &je);
    if (!r.body)
        fail_msg("answer is not JSON (%s): %.*s", je.text, (int)resp.body_len, resp.body);
    r.location = header_value(&resp, "Location");
    r.retry_after = header_value(&resp, "Retry-After");
    r.content_type = header_value(&resp, "Content-Type");
    free(resp.body);
    for (int i = 0; i < resp.nheaders; i++)
        free(resp.headers[i]);
    for (size_t i = 0; i < nd; i++)
        free(decoded[i]);
    free(copy);
    return r;
}

static void res_free(res_t *r)
{
    json_decref(r->body);
    free(r->location);
    free(r->retry_after);
    free(r->content_type);
    memset(r, 0, sizeof *r);
}

static res_t api(asana_sim_t *s, const char *method, const char *url, const char *body)
{
    char *full = xasprintf("/api/1.0%s", url);
    res_t r = call(s, method, full, TOKEN, body);
    free(full);
    return r;
}

/* The first error message of an answer ("" when none). */
static const char *error_of(const res_t *r)
{
    const char *m = json_string_value(json_object_get(
        json_array_get(json_object_get(r->body, "errors"), 0), "message"));
    return m ? m : "";
}

/* Asserts status and, when msg is non-NULL, the error message. */
static void expect(asana_sim_t *s, const char *method, const char *url, const char *body,
                   int status, const char *msg)
{
    res_t r = api(s, method, url, body);
    if (r.status != status || (msg && strcmp(error_of(&r), msg) != 0))
        fail_msg("%s %s %s: expected %d \"%s\", got %d \"%s\"", method, url, body ? body : "",
                 status, msg ? msg : "", r.status, error_of(&r));
    res_free(&r);
}

static const char *dstr(const json_t *o, const char *path)
{
    return json_string_value(json_object_get(json_object_get(o, "data"), path));
}

/* Creates something and returns its gid (malloc'd); fails the test unless 200/201. */
static char *create(asana_sim_t *s, const char *url, const char *body)
{
    res_t r = api(s, "POST", url, body);
    if (r.status != 201 && r.status != 200)
        fail_msg("POST %s %s: %d %s", url, body, r.status, error_of(&r));
    char *gid = xstrdup(dstr(r.body, "gid"));
    res_free(&r);
    return gid;
}

static asana_sim_t *sim_new(const char *config)
{
    char err[256];
    asana_sim_t *s = asana_sim_new(config, err, sizeof err);
    if (!s)
        fail_msg("asana_sim_new: %s", err);
    return s;
}

/* A project P1 with a text field, a number field (precision 2) and an enum field (ACME,
 * Globex) on it. */
typedef struct {
    asana_sim_t *s;
    char        *text, *number, *enm, *acme, *globex;
} fixture_t;

static void fixture_setup(fixture_t *f, const char *config)
{
    char body[512];
    f->s = sim_new(config);
    f->text = create(f->s, "/custom_fields", "{\"data\":{\"workspace\":\"" WS "\",\"name\":"
                     "\"PO number\",\"resource_subtype\":\"text\"}}");
    f->number = create(f->s, "/custom_fields", "{\"data\":{\"workspace\":\"" WS "\",\"name\":"
                       "\"Amount\",\"resource_subtype\":\"number\",\"precision\":2}}");
    f->enm = create(f->s, "/custom_fields", "{\"data\":{\"workspace\":\"" WS "\",\"name\":"
                    "\"Supplier\",\"resource_subtype\":\"enum\"}}");
    snprintf(body, sizeof body, "/custom_fields/%s/enum_options", f->enm);
    f->acme = create(f->s, body, "{\"data\":{\"name\":\"ACME\"}}");
    f->globex = create(f->s, body, "{\"data\":{\"name\":\"Globex\",\"color\":\"blue\"}}");
    const char *fields[] = { f->text, f->number, f->enm };
    for (int i = 0; i < 3; i++) {
        snprintf(body, sizeof body, "{\"data\":{\"custom_field\":\"%s\"}}", fields[i]);
        free(create(f->s, "/projects/" P1 "/addCustomFieldSetting", body));
    }
}

static void fixture_teardown(fixture_t *f)
{
    asana_sim_destroy(&f->s);
    free(f->text);
    free(f->number);
    free(f->enm);
    free(f->acme);
    free(f->globex);
}

/* POST /tasks in P1 with extra data members (",..." or ""); returns the gid. */
static char *task_in_p1(fixture_t *f, const char *name, const char *extra)
{
    char body[2048];
    snprintf(body, sizeof body, "{\"data\":{\"name\":\"%s\",\"projects\":[\"" P1 "\"]%s}}", name,
             extra);
    return create(f->s, "/tasks", body);
}

static json_int_t stat_of(asana_sim_t *s, const char *name)
{
    res_t r = call(s, "GET", "/_sim/stats", NULL, NULL);
    json_int_t v = json_integer_value(json_object_get(r.body, name));
    res_free(&r);
    return v;
}

/* ---- configuration --------------------------------------------------------------------------- */

static void test_config_defaults_and_changes(void **state)
{
    (void)state;
    asana_config_t c;
    char err[256];
    asana_config_defaults(&c);
    assert_int_equal(c.nprojects, 3);
    assert_string_equal(c.projects[2].name, "SyteLine Procurement");
    assert_true(asana_config_has_token(&c, "demo-pat"));
    assert_false(asana_config_has_token(&c, "other"));
    assert_int_equal(c.write_concurrency, 15);
    assert_int_equal(c.read_concurrency, 50);
    assert_int_equal(c.rate_per_min, 0);
    assert_true(c.premium);

    assert_int_equal(asana_config_apply(&c, "{\"rate_per_min\":1500,\"tokens\":[\"a\",\"b\"],"
                                            "\"projects\":[{\"gid\":\"77\",\"name\":\"X\"}]}",
                                        true, err, sizeof err), 0);
    assert_int_equal(c.rate_per_min, 1500);
    assert_true(asana_config_has_token(&c, "b"));
    assert_int_equal(c.nprojects, 1);
    /* Run time: projects add or rename; workspace members are fixed. */
    assert_int_equal(asana_config_apply(&c, "{\"projects\":[{\"gid\":\"77\",\"name\":\"Y\"},"
                                            "{\"gid\":\"78\",\"name\":\"Z\"}]}",
                                        false, err, sizeof err), 0);
    assert_int_equal(c.nprojects, 2);
    assert_string_equal(c.projects[0].name, "Y");
    assert_int_equal(asana_config_apply(&c, "{\"workspace_gid\":\"5\"}", false, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "run time"));
    /* All or nothing: the good member before the bad one is not applied. */
    assert_int_equal(asana_config_apply(&c, "{\"latency_ms\":5,\"fail_5xx_pct\":101}", false,
                                        err, sizeof err), -1);
    assert_int_equal(c.latency_ms, 0);
    assert_int_equal(asana_config_apply(&c, "{\"bogus\":1}", false, err, sizeof err), -1);
    assert_non_null(strstr(err, "bogus"));
    assert_int_equal(asana_config_apply(&c, "{\"premium\":1}", false, err, sizeof err), -1);
    assert_int_equal(asana_config_apply(&c, "[1]", false, err, sizeof err), -1);
    assert_int_equal(asana_config_apply(&c, "{\"projects\":[{\"gid\":\"1200000000010000\","
                                            "\"name\":\"too high\"}]}", false, err, sizeof err),
                     -1);
    char *json = asana_config_json(&c);
    assert_non_null(strstr(json, "\"rate_per_min\":1500"));
    assert_non_null(strstr(json, "\"gid\":\"78\""));
    free(json);
    asana_config_free(&c);
    asana_config_free(&c);

    assert_null(asana_sim_new("{\"tokens\":\"x\"}", err, sizeof err));
    assert_non_null(strstr(err, "tokens"));
}

/* ---- admission: auth, rate, concurrency ------------------------------------------------------ */

static void test_gate_sliding_window(void **state)
{
    (void)state;
    asana_gate_t *g = asana_gate_new();
    int retry = 0;
    int64_t t0 = 1000000;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(asana_gate_admit(g, "a", false, t0 + i * 1000, 5, 0, 0, &retry),
                         GATE_ADMITTED);
        asana_gate_release(g, "a", false);
    }
    /* The 6th within 60 s is refused until the first leaves the window (at t0 + 60 s). */
    assert_int_equal(asana_gate_admit(g, "a", false, t0 + 10000, 5, 0, 0, &retry),
                     GATE_RATE_LIMITED);
    assert_int_equal(retry, 51); /* the refusal counts: two must leave the window */
    /* Another token has its own budget. */
    assert_int_equal(asana_gate_admit(g, "b", false, t0 + 10000, 5, 0, 0, &retry), GATE_ADMITTED);
    asana_gate_release(g, "b", false);
    /* Refused requests count: at t0+60.1 s the first request left, but the refusal at t0+10 s
     * is still in the window with the other four, so a new one is refused again. */
    assert_int_equal(asana_gate_admit(g, "a", false, t0 + 60100, 5, 0, 0, &retry),
                     GATE_RATE_LIMITED);
    assert_int_equal(asana_gate_admit(g, "a", false, t0 + 200000, 5, 0, 0, &retry),
                     GATE_ADMITTED);
    asana_gate_release(g, "a", false);
    asana_gate_peaks_t p;
    asana_gate_peaks(g, &p);
    assert_int_equal(p.per_10s_max, 5); /* t0 .. t0+4 s; at t0+10 s, t0 has left the 10 s */
    /* Reset forgets peaks and windows: a burst right after passes again. */
    for (int i = 0; i < 5; i++)
        assert_int_equal(asana_gate_admit(g, "a", false, t0 + 200500, 5, 0, 0, &retry),
                         i < 4 ? GATE_ADMITTED : GATE_RATE_LIMITED);
    asana_gate_reset(g);
    asana_gate_peaks(g, &p);
    assert_int_equal(p.per_10s_max, 0);
    assert_int_equal(asana_gate_admit(g, "a", false, t0 + 200600, 5, 0, 0, &retry),
                     GATE_ADMITTED);
    asana_gate_destroy(&g);
    asana_gate_destroy(&g);
}

static void test_gate_in_flight_caps(void **state)
{
    (void)state;
    asana_gate_t *g = asana_gate_new();
    int retry;
    for (int i = 0; i < 3; i++)
        assert_int_equal(asana_gate_admit(g, "t", true, 5000, 0, 3, 1, &retry), GATE_ADMITTED);
    assert_int_equal(asana_gate_admit(g, "t", true, 5000, 0, 3, 1, &retry),
                     GATE_TOO_MANY_IN_FLIGHT);
    assert_int_equal(retry, 1);
    /* Reads are counted apart from writes. */
    assert_int_equal(asana_gate_admit(g, "t", false, 5000, 0, 3, 1, &retry), GATE_ADMITTED);
    assert_int_equal(asana_gate_admit(g, "t", false, 5000, 0, 3, 1, &retry),
                     GATE_TOO_MANY_IN_FLIGHT);
    asana_gate_release(g, "t", true);
    assert_int_equal(asana_gate_admit(g, "t", true, 5000, 0, 3, 1, &retry), GATE_ADMITTED);
    asana_gate_peaks_t p;
    asana_gate_peaks(g, &p);
    assert_int_equal(p.max_in_flight_writes, 3);
    assert_int_equal(p.max_in_flight_reads, 1);
    asana_gate_destroy(&g);
}

static void test_auth(void **state)
{
    (void)state;
    asana_sim_t *s = sim_new(NULL);
    res_t r = call(s, "GET", "/api/1.0/users/me", NULL, NULL);
    assert_int_equal(r.status, 401);
    assert_string_equal(error_of(&r), "Not Authorized");
    assert_string_equal(r.content_type, "application/json; charset=UTF-8");
    res_free(&r);
    r = call(s, "GET", "/api/1.0/users/me", "wrong", NULL);
    assert_int_equal(r.status, 401);
    res_free(&r);
    r = call(s, "GET", "/api/1.0/users/me", TOKEN, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(dstr(r.body, "resource_type"), "user");
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(
                            json_object_get(r.body, "data"), "workspaces"), 0), "gid")), WS);
    res_free(&r);
    assert_int_equal(stat_of(s, "total"), 3);
    r = call(s, "GET", "/_sim/stats", NULL, NULL);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r.body, "requests"),
                                                        "GET /users/me 401")), 2);
    res_free(&r);
    asana_sim_destroy(&s);
}

static void test_rate_limit_answers_429(void **state)
{
    (void)state;
    asana_sim_t *s = sim_new("{\"rate_per_min\":3}");
    for (int i = 0; i < 3; i++)
        expect(s, "GET", "/workspaces", NULL, 200, NULL);
    res_t r = api(s, "GET", "/workspaces", NULL);
    assert_int_equal(r.status, 429);
    assert_string_equal(error_of(&r), "You've made too many requests and hit a rate limit. "
                                      "Please retry after the given amount of time.");
    assert_non_null(r.retry_after);
    assert_true(atoi(r.retry_after) >= 1 && atoi(r.retry_after) <= 60);
    res_free(&r);
    assert_int_equal(stat_of(s, "rate_limited"), 1);
    assert_int_equal(stat_of(s, "per_10s_max"), 4);
    /* Lifting the limit at run time lets requests through again. */
    r = call(s, "POST", "/_sim/config", NULL, "{\"rate_per_min\":0}");
    assert_int_equal(r.status, 200);
    res_free(&r);
    expect(s, "GET", "/workspaces", NULL, 200, NULL);
    asana_sim_destroy(&s);
}

typedef struct {
    asana_sim_t *s;
    int          status;
} racer_t;

static void *race_post(void *arg)
{
    racer_t *r = arg;
    res_t res = api(r->s, "POST", "/tasks", "{\"data\":{\"name\":\"t\",\"workspace\":\"" WS "\"}}");
    r->status = res.status;
    res_free(&res);
    return NULL;
}

static void test_write_concurrency_cap(void **state)
{
    (void)state;
    asana_sim_t *s = sim_new("{\"write_concurrency\":2,\"latency_ms\":300}");
    racer_t racers[5];
    pthread_t th[5];
    for (int i = 0; i < 5; i++) {
        racers[i].s = s;
        pthread_create(&th[i], NULL, race_post, &racers[i]);
    }
    int ok = 0, limited = 0;
    for (int i = 0; i < 5; i++) {
        pthread_join(th[i], NULL);
        ok += racers[i].status == 201;
        limited += racers[i].status == 429;
    }
    assert_int_equal(ok, 2);
    assert_int_equal(limited, 3);
    assert_int_equal(stat_of(s, "max_in_flight_writes"), 2);
    assert_int_equal(stat_of(s, "tasks"), 2);
    asana_sim_destroy(&s);
}

static void test_fault_injection(void **state)
{
    (void)state;
    asana_sim_t *s = sim_new("{\"fail_5xx_pct\":100}");
    res_t r = api(s, "POST", "/tasks", "{\"data\":{\"name\":\"t\",\"workspace\":\"" WS "\"}}");
    assert_true(r.status == 500 || r.status == 502 || r.status == 503);
    assert_non_null(json_object_get(json_array_get(json_object_get(r.body, "errors"), 0),
                                    "phrase"));
    res_free(&r);
    assert_int_equal(stat_of(s, "tasks"), 0);
    /* The write is applied and then the answer is lost: the task exists. */
    r = call(s, "POST", "/_sim/config", NULL, "{\"fail_5xx_pct\":0,\"fail_after_write_pct\":100}");
    res_free(&r);
    r = api(s, "POST", "/tasks", "{\"data\":{\"name\":\"lost\",\"workspace\":\"" WS "\"}}");
    assert_int_equal(r.status, 504);
    assert_null(r.location);
    res_free(&r);
    assert_int_equal(stat_of(s, "tasks"), 1);
    expect(s, "GET", "/workspaces", NULL, 200, NULL); /* reads are not affected */
    r = call(s, "POST", "/_sim/config", NULL, "{\"fail_after_write_pct\":0,\"fail_429_pct\":100}");
    res_free(&r);
    r = api(s, "GET", "/users/me", NULL);
    assert_int_equal(r.status, 429);
    assert_string_equal(r.retry_after, "1");
    res_free(&r);
    assert_int_equal(stat_of(s, "injected_faults"), 3);
    asana_sim_destroy(&s);
}

/* ---- custom fields, options, settings -------------------------------------------------------- */

static void test_custom_fields(void **state)
{
    (void)state;
    fixture_t f;
    fixture_setup(&f, NULL);
    char url[256];
    /* Full definition with the number format. */
    snprintf(url, sizeof url, "/custom_fields/%s", f.number);
    res_t r = api(f.s, "GET", url, NULL);
    assert_int_equal(r.status, 200);
    json_t *d = json_object_get(r.body, "data");
    assert_string_equal(json_string_value(json_object_get(d, "resource_subtype")), "number");
    assert_int_equal(json_integer_value(json_object_get(d, "precision")), 2);
    assert_null(json_object_get(d, "enum_options"));
    res_free(&r);
    /* Location of a created field; 400s in Asana's words. */
    r = api(f.s, "POST", "/custom_fields", "{\"data\":{\"workspace\":\"" WS "\",\"name\":\"Cur\","
                                           "\"resource_subtype\":\"number\",\"format\":"
                                           "\"currency\",\"currency_code\":\"EUR\"}}");
    assert_int_equal(r.status, 201);
    assert_true(str_starts(r.location, "http://sim.test:1234/api/1.0/custom_fields/"));
    assert_string_equal(dstr(r.body, "currency_code"), "EUR");
    res_free(&r);
    expect(f.s, "POST", "/custom_fields", "{\"data\":{\"workspace\":\"" WS "\",\"name\":\"Amount\","
           "\"resource_subtype\":\"number\"}}", 400, NULL);
    expect(f.s, "POST", "/custom_fields", "{\"data\":{\"name\":\"N\",\"resource_subtype\":"
           "\"text\"}}", 400, "workspace: Missing input");
    expect(f.s, "POST", "/custom_fields", "{\"data\":{\"workspace\":\"" WS "\",\"name\":\"D\","
           "\"resource_subtype\":\"date\"}}", 400,
           "resource_subtype: date custom fields are not served by the Asana simulator "
           "(text, number and enum are)");
    expect(f.s, "POST", "/custom_fields", "{\"data\":{\"workspace\":\"" WS "\",\"name\":\"P\","
           "\"resource_subtype\":\"number\",\"precision\":7}}", 400,
           "precision: Value must be an integer between 0 and 6: 7");
    expect(f.s, "POST", "/custom_fields", "{\"data\":{\"workspace\":\"99\",\"name\":\"W\","
           "\"resource_subtype\":\"text\"}}", 400, "workspace: Unknown object: 99");
    expect(f.s, "GET", "/custom_fields/123", NULL, 404, "custom_field: Unknown object: 123");
    /* Listing pages through the workspace's fields with offset tokens. */
    r = api(f.s, "GET", "/workspaces/" WS "/custom_fields?limit=2", NULL);
    assert_int_equal(json_array_size(json_object_get(r.body, "data")), 2);
    json_t *next = json_object_get(r.body, "next_page");
    char *offset = xstrdup(json_string_value(json_object_get(next, "offset")));
    assert_true(str_starts(json_string_value(json_object_get(next, "path")),
                           "/workspaces/" WS "/custom_fields?limit=2&offset="));
    assert_true(str_starts(json_string_value(json_object_get(next, "uri")),
                           "http://sim.test:1234/api/1.0/workspaces/"));
    res_free(&r);
    snprintf(url, sizeof url, "/workspaces/" WS "/custom_fields?limit=2&offset=%s", offset);
    r = api(f.s, "GET", url, NULL);
    assert_int_equal(json_array_size(json_object_get(r.body, "data")), 2);
    assert_true(json_is_null(json_object_get(r.body, "next_page")));
    res_free(&r);
    /* An offset from another list, or made up, is refused. */
    snprintf(url, sizeof url, "/projects/" P1 "/custom_field_settings?limit=2&offset=%s", offset);
    expect(f.s, "GET", url, NULL, 400, "offset: Your pagination token is invalid.");
    free(offset);
    expect(f.s, "GET", "/workspaces/" WS "/custom_fields?limit=2&offset=eyJ0", NULL, 400,
           "offset: Your pagination token is invalid.");
    expect(f.s, "GET", "/workspaces/" WS "/custom_fields?limit=0", NULL, 400,
           "limit: Value must be an integer between 1 and 100: 0");
    expect(f.s, "GET", "/workspaces/" WS "/custom_fields?limit=101", NULL, 400, NULL);
    expect(f.s, "GET", "/workspaces/" WS "/custom_fields?limit=ten", NULL, 400, NULL);
    expect(f.s, "GET", "/workspaces/99/custom_fields", NULL, 404, "workspace: Unknown object: 99");
    fixture_teardown(&f);
}

static void test_enum_options(void **state)
{
    (void)state;
    fixture_t f;
    fixture_setup(&f, "{\"reject_enum_option_names\":[\"Poison Ltd\"]}");
    char url[256];
    snprintf(url, sizeof url, "/custom_fields/%s/enum_options", f.enm);
    res_t r = api(f.s, "POST", url, "{\"data\":{\"name\":\"ACME\",\"insert_before\":\"1\"}}");
    assert_int_equal(r.status, 400);
    assert_string_equal(error_of(&r), "insert_before: Unknown object: 1");
    res_free(&r);
    assert_int_equal(stat_of(f.s, "duplicate_enum_names"), 0);
    /* Asana allows a second option of the same name; the simulator counts it. */
    r = api(f.s, "POST", url, "{\"data\":{\"name\":\"ACME\"}}");
    assert_int_equal(r.status, 201);
    assert_string_equal(dstr(r.body, "resource_type"), "enum_option");
    assert_true(json_is_true(json_object_get(json_object_get(r.body, "data"), "enabled")));
    assert_string_equal(dstr(r.body, "color"), "none");
    res_free(&r);
    assert_int_equal(stat_of(f.s, "duplicate_enum_names"), 1);
    expect(f.s, "POST", url, "{\"data\":{\"name\":\"Poison Ltd\"}}", 400,
           "name: Enum option name \"Poison Ltd\" refused (simulated failure: "
           "reject_enum_option_names)");
    expect(f.s, "POST", url, "{\"data\":{\"color\":\"red\"}}", 400, "name: Missing input");
    expect(f.s, "POST", url, "{\"data\":{\"name\":\"X\",\"shade\":1}}", 400,
           "shade: Unrecognized property");
    snprintf(url, sizeof url, "/custom_fields/%s/enum_options", f.text);
    expect(f.s, "POST", url, "{\"data\":{\"name\":\"X\"}}", 400, NULL);
    /* At most 500 options per field. */
    char *big = create(f.s, "/custom_fields", "{\"data\":{\"workspace\":\"" WS "\",\"name\":"
                       "\"Many\",\"resource_subtype\":\"enum\"}}");
    snprintf(url, sizeof url, "/custom_fields/%s/enum_options", big);
    for (int i = 0; i < 500; i++) {
        char body[64];
        snprintf(body, sizeof body, "{\"data\":{\"name\":\"o%d\"}}", i);
        free(create(f.s, url, body));
    }
    expect(f.s, "POST", url, "{\"data\":{\"name\":\"one too many\"}}", 400,
           "enum_options: A custom field can have at most 500 enum options (disabled ones "
           "included)");
    free(big);
    /* A disabled option cannot be chosen any more. */
    snprintf(url, sizeof url, "/enum_options/%s", f.globex);
    r = api(f.s, "PUT", url, "{\"data\":{\"enabled\":false}}");
    assert_int_equal(r.status, 200);
    assert_true(json_is_false(json_object_get(json_object_get(r.body, "data"), "enabled")));
    res_free(&r);
    char body[256], msg[256];
    snprintf(body, sizeof body, "{\"data\":{\"name\":\"t\",\"projects\":[\"" P1 "\"],"
                                "\"custom_fields\":{\"%s\":\"%s\"}}}", f.enm, f.globex);
    snprintf(msg, sizeof msg, "custom_fields: %s: Enum option %s is disabled", f.enm, f.globex);
    expect(f.s, "POST", "/tasks", body, 400, msg);
    fixture_teardown(&f);
}

static void test_custom_field_settings(void **state)
{
    (void)state;
    fixture_t f;
    fixture_setup(&f, NULL);
    res_t r = api(f.s, "GET", "/projects/" P1 "/custom_field_settings", NULL);
    json_t *data = json_object_get(r.body, "data");
    assert_int_equal(json_array_size(data), 3);
    json_t *third = json_array_get(data, 2);
    assert_string_equal(json_string_value(json_object_get(third, "resource_type")),
                        "custom_field_setting");
    json_t *cf = json_object_get(third, "custom_field");
    assert_string_equal(json_string_value(json_object_get(cf, "gid")), f.enm);
    assert_string_equal(json_string_value(json_object_get(cf, "resource_subtype")), "enum");
    assert_string_equal(json_string_value(json_object_get(json_array_get(
                            json_object_get(cf, "enum_options"), 1), "name")), "Globex");
    assert_string_equal(json_string_value(json_object_get(json_object_get(third, "parent"),
                                                          "gid")), P1);
    assert_false(json_is_true(json_object_get(third, "is_important")));
    res_free(&r);
    char body[256], msg[256];
    snprintf(body, sizeof body, "{\"data\":{\"custom_field\":\"%s\"}}", f.text);
    snprintf(msg, sizeof msg, "custom_field: Custom field with ID %s is already on project " P1,
             f.text);
    expect(f.s, "POST", "/projects/" P1 "/addCustomFieldSetting", body, 400, msg);
    expect(f.s, "POST", "/projects/" P1 "/addCustomFieldSetting",
           "{\"data\":{\"custom_field\":\"Amount\"}}", 400,
           "custom_field: Not a recognized ID: Amount");
    expect(f.s, "POST", "/projects/" P1 "/addCustomFieldSetting",
           "{\"data\":{\"custom_field\":\"42\"}}", 400, "custom_field: Unknown object: 42");
    expect(f.s, "POST", "/projects/" P1 "/addCustomFieldSetting", "{\"data\":{}}", 400,
           "custom_field: Missing input");
    expect(f.s, "POST", "/projects/9/addCustomFieldSetting", body, 404,
           "project: Unknown object: 9");
    /* insert_before puts the setting first; opt_fields selects exactly. */
    snprintf(body, sizeof body, "{\"data\":{\"custom_field\":\"%s\",\"is_important\":true}}",
             f.text);
    free(create(f.s, "/projects/" P2 "/addCustomFieldSetting", body));
    r = api(f.s, "GET", "/projects/" P2 "/custom_field_settings?opt_fields=is_important,"
                        "custom_field.name", NULL);
    json_t *s0 = json_array_get(json_object_get(r.body, "data"), 0);
    assert_int_equal(json_object_size(s0), 3);
    assert_true(json_is_true(json_object_get(s0, "is_important")));
    assert_int_equal(json_object_size(json_object_get(s0, "custom_field")), 2);
    res_free(&r);
    /* Free plan: custom fields are refused with 402. */
    r = call(f.s, "POST", "/_sim/config", NULL, "{\"premium\":false}");
    res_free(&r);
    expect(f.s, "GET", "/projects/" P1 "/custom_field_settings", NULL, 402,
           "Custom Field Settings are not available for free users.");
    expect(f.s, "GET", "/workspaces/" WS "/custom_fields", NULL, 402,
           "Custom Fields are not available for free users or guests.");
    snprintf(body, sizeof body, "{\"data\":{\"name\":\"t\",\"projects\":[\"" P1 "\"],"
                                "\"custom_fields\":{\"%s\":\"x\"}}}", f.text);
    expect(f.s, "POST", "/tasks", body, 402,
           "Custom Fields are not available for free users or guests.");
    expect(f.s, "POST", "/tasks", "{\"data\":{\"name\":\"t\",\"projects\":[\"" P1 "\"]}}", 201,
           NULL);
    fixture_teardown(&f);
}

/* ---- tasks ----------------------------------------------------------------------------------- */

static void test_task_create_validation(void **state)
{
    (void)state;
    fixture_t f;
    fixture_setup(&f, NULL);
    char cf[128], body[4096], msg[256];
    const struct {
        const char *body;
        int         status;
        const char *msg;
    } cases[] = {
        { "nope", 400, "Could not parse request data, invalid JSON" },
        { "{\"name\":\"x\"}", 400, "Unrecognized request field 'name'. The only allowed keys at "
                                   "the top level are: data, options." },
        { "{}", 400, "data: Missing input" },
        { "{\"data\":[]}", 400, "data: Value is not a JSON object: []" },
        { "{\"data\":{\"name\":\"x\"}}", 400,
          "You should specify one of workspace, parent, projects" },
        { "{\"data\":{\"name\":1,\"workspace\":\"" WS "\"}}", 400,
          "name: Value is not a string: 1" },
        { "{\"data\":{\"projects\":[\"99\"]}}", 400, "projects: [0]: Unknown object: 99" },
        { "{\"data\":{\"projects\":[\"abc\"]}}", 400, "projects: [0]: Not a recognized ID: abc" },
        { "{\"data\":{\"projects\":[5]}}", 400, "projects: [0]: Not a valid GID type: number" },
        { "{\"data\":{\"projects\":\"" P1 "\"}}", 400,
          "projects: Value is not an array: " P1 },
        { "{\"data\":{\"workspace\":\"" WS "\",\"foo\":1}}", 400, "foo: Unrecognized property" },
        { "{\"data\":{\"workspace\":\"" WS "\",\"assignee\":\"me\"}}", 400,
          "assignee: Not served by the Asana simulator" },
        { "{\"data\":{\"workspace\":\"" WS "\",\"created_at\":\"x\"}}", 400,
          "created_at: Cannot write this property" },
        { "{\"data\":{\"workspace\":\"7\"}}", 400, "workspace: Unknown object: 7" },
        { "{\"data\":{\"workspace\":\"" WS "\",\"completed\":\"yes\"}}", 400,
          "completed: Value is not a boolean: yes" },
        { "{\"data\":{\"workspace\":\"" WS "\",\"due_on\":\"2026-02-30\"}}", 400,
          "due_on: Date must be in ISO-8601 (yyyy-mm-dd) format, not: 2026-02-30" },
        { "{\"data\":{\"workspace\":\"" WS "\",\"due_on\":\"2026-02-03\",\"due_at\":null}}", 400,
          "You may only provide one of due_on or due_at!" },
        { "{\"data\":{\"workspace\":\"" WS "\",\"custom_fields\":[1]}}", 400,
          "custom_fields: Value is not a JSON object: [1]" },
        { "{\"data\":{\"workspace\":\"" WS "\",\"custom_fields\":{\"x1\":1}}}", 400,
          "custom_fields: Not a recognized ID: x1" },
        { "{\"data\":{\"workspace\":\"" WS "\",\"custom_fields\":{\"42\":1}}}", 400,
          "Custom field with ID 42 not found" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect(f.s, "POST", "/tasks", cases[i].body, cases[i].status, cases[i].msg);

    /* Values by field type. */
    const struct {
        const char *field, *value, *msg_fmt;
    } values[] = {
        { f.number, "\"12\"", "custom_fields: %s: Value is not a number: 12" },
        { f.text, "12", "custom_fields: %s: Value is not a string: 12" },
        { f.enm, "\"ACME\"", "custom_fields: %s: Not a recognized ID: ACME" },
        { f.enm, "7", "custom_fields: %s: Not a valid GID type: number" },
    };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        snprintf(body, sizeof body, "{\"data\":{\"projects\":[\"" P1 "\"],\"custom_fields\":"
                                    "{\"%s\":%s}}}", values[i].field, values[i].value);
        snprintf(msg, sizeof msg, values[i].msg_fmt, values[i].field);
        expect(f.s, "POST", "/tasks", body, 400, msg);
    }
    /* An option of another field. */
    char *other = create(f.s, "/custom_fields", "{\"data\":{\"workspace\":\"" WS "\",\"name\":"
                         "\"Other\",\"resource_subtype\":\"enum\",\"enum_options\":[{\"name\":"
                         "\"ACME\"}]}}");
    snprintf(cf, sizeof cf, "/custom_fields/%s?opt_fields=enum_options", other);
    res_t r = api(f.s, "GET", cf, NULL);
    const char *foreign = json_string_value(json_object_get(json_array_get(json_object_get(
        json_object_get(r.body, "data"), "enum_options"), 0), "gid"));
    snprintf(body, sizeof body, "{\"data\":{\"projects\":[\"" P1 "\"],\"custom_fields\":"
                                "{\"%s\":\"%s\"}}}", f.enm, foreign);
    snprintf(msg, sizeof msg, "custom_fields: %s: Enum option %s is not an option of this custom "
                              "field", f.enm, foreign);
    expect(f.s, "POST", "/tasks", body, 400, msg);
    res_free(&r);
    /* A field that exists but is not on the task's project. */
    snprintf(body, sizeof body, "{\"data\":{\"projects\":[\"" P2 "\"],\"custom_fields\":"
                                "{\"%s\":\"x\"}}}", f.text);
    snprintf(msg, sizeof msg, "Custom field with ID %s is not on given object", f.text);
    expect(f.s, "POST", "/tasks", body, 400, msg);
    free(other);
    /* Text: 1024 characters (not bytes) pass, 1025 do not. */
    buf_t text;
    buf_init(&text);
    for (int i = 0; i < 1024; i++)
        buf_append(&text, "\xc3\xa9", 2);
    snprintf(body, sizeof body, "{\"data\":{\"projects\":[\"" P1 "\"],\"custom_fields\":"
                                "{\"%s\":\"%s\"}}}", f.text, text.data);
    expect(f.s, "POST", "/tasks", body, 201, NULL);
    buf_append(&text, "e", 1);
    snprintf(body, sizeof body, "{\"data\":{\"projects\":[\"" P1 "\"],\"custom_fields\":"
                                "{\"%s\":\"%s\"}}}", f.text, text.data);
    snprintf(msg, sizeof msg, "custom_fields: %s: Text value is longer than 1024 characters",
             f.text);
    expect(f.s, "POST", "/tasks", body, 400, msg);
    buf_free(&text);
    /* Nothing was created by the refusals. */
    assert_int_equal(stat_of(f.s, "tasks"), 1);
    fixture_teardown(&f);
}

static void test_task_lifecycle(void **state)
{
    (void)state;
    fixture_t f;
    fixture_setup(&f, NULL);
    char extra[512], url[256], body[1024];
    snprintf(extra, sizeof extra, ",\"notes\":\"n\",\"due_on\":\"2026-12-24\",\"custom_fields\":"
             "{\"%s\":\"4711\",\"%s\":1234.5,\"%s\":\"%s\"}", f.text, f.number, f.enm, f.acme);
    snprintf(body, sizeof body, "{\"data\":{\"name\":\"PO 4711\",\"projects\":[\"" P1 "\"]%s}}",
             extra);
    res_t r = api(f.s, "POST", "/tasks", body);
    assert_int_equal(r.status, 201);
    char *gid = xstrdup(dstr(r.body, "gid"));
    snprintf(url, sizeof url, "http://sim.test:1234/api/1.0/tasks/%s", gid);
    assert_string_equal(r.location, url);
    /* The full task. */
    json_t *d = json_object_get(r.body, "data");
    assert_string_equal(json_string_value(json_object_get(d, "resource_type")), "task");
    assert_string_equal(json_string_value(json_object_get(d, "due_on")), "2026-12-24");
    assert_true(json_is_false(json_object_get(d, "completed")));
    assert_true(json_is_null(json_object_get(d, "completed_at")));
    json_t *cfs = json_object_get(d, "custom_fields");
    assert_int_equal(json_array_size(cfs), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(cfs, 1),
                                                          "display_value")), "1234.50");
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(cfs, 2),
                                                                          "enum_value"), "gid")),
                        f.acme);
    char *modified = xstrdup(json_string_value(json_object_get(d, "modified_at")));
    res_free(&r);

    /* opt_fields: exactly what is named, plus gid. */
    snprintf(url, sizeof url, "/tasks/%s?opt_fields=name,custom_fields.number_value,"
                              "memberships.project.gid", gid);
    r = api(f.s, "GET", url, NULL);
    d = json_object_get(r.body, "data");
    assert_int_equal(json_object_size(d), 4);
    cfs = json_object_get(d, "custom_fields");
    assert_int_equal(json_object_size(json_array_get(cfs, 0)), 1); /* text field: gid only */
    assert_true(json_number_value(json_object_get(json_array_get(cfs, 1), "number_value")) ==
                1234.5);
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(
                            json_object_get(d, "memberships"), 0), "project"), "gid")), P1);
    res_free(&r);
    snprintf(url, sizeof url, "/tasks/%s?opt_fields=name,bogus", gid);
    expect(f.s, "GET", url, NULL, 400,
           "opt_fields: bogus: Unknown field, or not served by the Asana simulator");
    snprintf(url, sizeof url, "/tasks/%s?opt_fields=name.first", gid);
    expect(f.s, "GET", url, NULL, 400, NULL);

    /* An update without a change leaves modified_at alone. */
    sleep_ms(3);
    snprintf(url, sizeof url, "/tasks/%s", gid);
    r = api(f.s, "PUT", url, "{\"data\":{\"name\":\"PO 4711\"}}");
    assert_int_equal(r.status, 200);
    assert_string_equal(dstr(r.body, "modified_at"), modified);
    res_free(&r);
    /* Only what is sent changes; completing sets completed_at; null clears a value. */
    snprintf(body, sizeof body, "{\"data\":{\"completed\":true,\"custom_fields\":{\"%s\":null,"
                                "\"%s\":\"%s\"}}}", f.number, f.enm, f.globex);
    r = api(f.s, "PUT", url, body);
    assert_int_equal(r.status, 200);
    d = json_object_get(r.body, "data");
    assert_string_not_equal(json_string_value(json_object_get(d, "modified_at")), modified);
    assert_true(json_is_true(json_object_get(d, "completed")));
    assert_non_null(json_string_value(json_object_get(d, "completed_at")));
    assert_string_equal(json_string_value(json_object_get(d, "notes")), "n");
    res_free(&r);
    r = call(f.s, "GET", "/_sim/tasks?project=" P1, NULL, NULL);
    json_t *t0 = json_array_get(json_object_get(r.body, "data"), 0);
    json_t *by_name = json_object_get(t0, "custom_fields");
    assert_string_equal(json_string_value(json_object_get(by_name, "PO number")), "4711");
    assert_true(json_is_null(json_object_get(by_name, "Amount")));
    assert_string_equal(json_string_value(json_object_get(by_name, "Supplier")), "Globex");
    assert_string_equal(json_string_value(json_object_get(json_object_get(t0,
                            "custom_fields_by_gid"), f.enm)), f.globex);
    assert_true(json_is_true(json_object_get(t0, "completed")));
    res_free(&r);
    /* Create-only and unknown members on update. */
    expect(f.s, "PUT", url, "{\"data\":{\"projects\":[\"" P2 "\"]}}", 400,
           "projects: Cannot write this property");
    expect(f.s, "PUT", url, "{\"data\":{\"workspace\":\"" WS "\"}}", 400,
           "workspace: Cannot write this property");
    expect(f.s, "PUT", url, "{\"data\":{\"followers\":[]}}", 400,
           "followers: Cannot write this property");
    expect(f.s, "PUT", url, "{\"data\":{\"memberships\":[]}}", 400,
           "memberships: Cannot write this property");
    expect(f.s, "PUT", url, "{\"data\":{\"tags\":[]}}", 400, "tags: Cannot write this property");
    expect(f.s, "PUT", url, "{\"data\":{\"name\":null}}", 400, "name: Value is not a string: null");
    expect(f.s, "PUT", "/tasks/5", "{\"data\":{}}", 404, "task: Unknown object: 5");
    expect(f.s, "GET", "/tasks/abc", NULL, 400, "task: Not a recognized ID: abc");
    /* Delete. */
    r = api(f.s, "DELETE", url, NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_object_size(json_object_get(r.body, "data")), 0);
    res_free(&r);
    expect(f.s, "GET", url, NULL, 404, NULL);
    expect(f.s, "PATCH", url, "{}", 404, "No matching route for request");
    expect(f.s, "GET", "/nothing/here", NULL, 404, "No matching route for request");
    assert_int_equal(stat_of(f.s, "tasks"), 0);
    free(modified);
    free(gid);
    fixture_teardown(&f);
}

/* Follows next_page of a task listing to the end; returns the number of tasks seen. */
static size_t walk_pages(asana_sim_t *s, const char *first_url)
{
    char url[1024];
    size_t seen = 0;
    snprintf(url, sizeof url, "%s", first_url);
    for (;;) {
        res_t r = api(s, "GET", url, NULL);
        assert_int_equal(r.status, 200);
        seen += json_array_size(json_object_get(r.body, "data"));
        json_t *next = json_object_get(r.body, "next_page");
        if (json_is_null(next)) {
            res_free(&r);
            return seen;
        }
        snprintf(url, sizeof url, "%s", json_string_value(json_object_get(next, "path")));
        res_free(&r);
    }
}

static void test_task_listing(void **state)
{
    (void)state;
    fixture_t f;
    fixture_setup(&f, NULL);
    char *gids[25];
    for (int i = 0; i < 25; i++) {
        char name[16];
        snprintf(name, sizeof name, "t%02d", i);
        gids[i] = task_in_p1(&f, name, "");
    }
    /* Compact tasks: gid, resource_type, name, resource_subtype. */
    res_t r = api(f.s, "GET", "/projects/" P1 "/tasks?limit=10", NULL);
    json_t *first = json_array_get(json_object_get(r.body, "data"), 0);
    assert_int_equal(json_object_size(first), 4);
    assert_string_equal(json_string_value(json_object_get(first, "name")), "t00");
    assert_string_equal(json_string_value(json_object_get(first, "resource_subtype")),
                        "default_task");
    char *offset = xstrdup(json_string_value(json_object_get(json_object_get(r.body,
                                                                              "next_page"),
                                                             "offset")));
    res_free(&r);
    /* A task deleted between pages does not shift the next page. */
    char url[256];
    snprintf(url, sizeof url, "/tasks/%s", gids[10]);
    expect(f.s, "DELETE", url, NULL, 200, NULL);
    snprintf(url, sizeof url, "/projects/" P1 "/tasks?limit=10&offset=%s", offset);
    r = api(f.s, "GET", url, NULL);
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(
                            r.body, "data"), 0), "name")), "t11");
    res_free(&r);
    free(offset);
    assert_int_equal(walk_pages(f.s, "/projects/" P1 "/tasks?limit=7&opt_fields=name"), 24);
    assert_int_equal(walk_pages(f.s, "/projects/" P1 "/tasks"), 24);
    /* completed_since=now: incomplete only; modified_since: recently changed only. */
    sleep_ms(5);
    char since[40];
    iso8601_ms(now_ms(), since, sizeof since);
    sleep_ms(5);
    for (int i = 0; i < 3; i++) {
        snprintf(url, sizeof url, "/tasks/%s", gids[i]);
        expect(f.s, "PUT", url, "{\"data\":{\"completed\":true}}", 200, NULL);
    }
    sleep_ms(3); /* "now" after the completions */
    assert_int_equal(walk_pages(f.s, "/projects/" P1 "/tasks?completed_since=now&limit=5"), 21);
    snprintf(url, sizeof url, "/projects/" P1 "/tasks?modified_since=%s&limit=2", since);
    assert_int_equal(walk_pages(f.s, url), 3);
    expect(f.s, "GET", "/projects/" P1 "/tasks?modified_since=yesterday", NULL, 400,
           "modified_since: Date-time must be in ISO-8601 format, not: yesterday");
    expect(f.s, "GET", "/projects/77/tasks", NULL, 404, "project: Unknown object: 77");
    for (int i = 0; i < 25; i++)
        free(gids[i]);
    fixture_teardown(&f);
}

static void test_unpaginated_listing_is_capped(void **state)
{
    (void)state;
    asana_sim_t *s = sim_new(NULL);
    for (int i = 0; i < 1001; i++)
        free(create(s, "/tasks", "{\"data\":{\"name\":\"x\",\"projects\":[\"" P2 "\"]}}"));
    expect(s, "GET", "/projects/" P2 "/tasks", NULL, 400,
           "The result is too large. You should use pagination (may require specifying a "
           "workspace)!");
    expect(s, "GET", "/projects/" P2 "/tasks?limit=100", NULL, 200, NULL);
    asana_sim_destroy(&s);
}

static void test_sim_endpoints(void **state)
{
    (void)state;
    fixture_t f;
    fixture_setup(&f, NULL);
    free(task_in_p1(&f, "a", ""));
    res_t r = call(f.s, "GET", "/_sim/stats", NULL, NULL);
    json_t *req = json_object_get(r.body, "requests");
    assert_int_equal(json_integer_value(json_object_get(req, "POST /tasks 201")), 1);
    assert_int_equal(json_integer_value(json_object_get(req, "POST /custom_fields 201")), 3);
    assert_int_equal(json_integer_value(json_object_get(r.body, "writes")), 9);
    assert_int_equal(json_integer_value(json_object_get(r.body, "max_in_flight_writes")), 1);
    res_free(&r);
    r = call(f.s, "POST", "/_sim/reset-stats", NULL, NULL);
    assert_int_equal(r.status, 200);
    res_free(&r);
    assert_int_equal(stat_of(f.s, "total"), 0);
    assert_int_equal(stat_of(f.s, "per_10s_max"), 0);
    assert_int_equal(stat_of(f.s, "tasks"), 1);
    /* Run-time configuration: a new project appears; bad changes are refused whole. */
    r = call(f.s, "POST", "/_sim/config", NULL,
             "{\"projects\":[{\"gid\":\"1200000000000104\",\"name\":\"Extra\"}]}");
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(json_object_get(r.body, "projects")), 4);
    res_free(&r);
    expect(f.s, "GET", "/projects/1200000000000104", NULL, 200, NULL);
    r = call(f.s, "POST", "/_sim/config", NULL, "{\"latency_ms\":\"slow\"}");
    assert_int_equal(r.status, 400);
    res_free(&r);
    r = call(f.s, "GET", "/_sim/tasks?project=" P2, NULL, NULL);
    assert_int_equal(json_array_size(json_object_get(r.body, "data")), 0);
    res_free(&r);
    r = call(f.s, "GET", "/_sim/tasks?project=5", NULL, NULL);
    assert_int_equal(r.status, 404);
    res_free(&r);
    /* Reset: tasks and fields gone, projects and config stay; old gids stay unknown. */
    r = call(f.s, "POST", "/_sim/reset", NULL, NULL);
    res_free(&r);
    assert_int_equal(stat_of(f.s, "tasks"), 0);
    r = api(f.s, "GET", "/workspaces/" WS "/custom_fields", NULL);
    assert_int_equal(json_array_size(json_object_get(r.body, "data")), 0);
    res_free(&r);
    r = api(f.s, "GET", "/projects/" P1 "/custom_field_settings", NULL);
    assert_int_equal(json_array_size(json_object_get(r.body, "data")), 0);
    res_free(&r);
    char url[128];
    snprintf(url, sizeof url, "/custom_fields/%s", f.text);
    expect(f.s, "GET", url, NULL, 404, NULL);
    expect(f.s, "GET", "/projects/1200000000000104", NULL, 200, NULL);
    r = call(f.s, "GET", "/_sim/nothing", NULL, NULL);
    assert_int_equal(r.status, 404);
    res_free(&r);
    fixture_teardown(&f);
}

static void test_project_and_workspace(void **state)
{
    (void)state;
    asana_sim_t *s = sim_new("{\"workspace_name\":\"Acme Corp\"}");
    res_t r = api(s, "GET", "/projects/" P1, NULL);
    assert_string_equal(dstr(r.body, "name"), "IFS Procurement");
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(
                            r.body, "data"), "workspace"), "name")), "Acme Corp");
    res_free(&r);
    r = api(s, "GET", "/workspaces/" WS, NULL);
    assert_true(json_is_false(json_object_get(json_object_get(r.body, "data"),
                                              "is_organization")));
    res_free(&r);
    r = api(s, "GET", "/workspaces/" WS "/projects?opt_fields=name", NULL);
    assert_int_equal(json_array_size(json_object_get(r.body, "data")), 3);
    assert_int_equal(json_object_size(json_array_get(json_object_get(r.body, "data"), 0)), 2);
    res_free(&r);
    expect(s, "GET", "/projects/x", NULL, 400, "project: Not a recognized ID: x");
    asana_sim_destroy(&s);
}

/* ---- pure pieces: JSON writer, gid map ------------------------------------------------------- */

static void test_json_writer(void **state)
{
    (void)state;
    buf_t b;
    as_jw_t w;
    buf_init(&b);
    as_jw_init(&w, &b);
    as_jw_obj(&w);
    as_jw_key(&w, "s");
    as_jw_str(&w, "q\"b\\n\n\x01é");
    as_jw_key(&w, "a");
    as_jw_arr(&w);
    as_jw_num(&w, 0.1);
    as_jw_num(&w, 1234.0);
    as_jw_num(&w, -2.5e-7);
    as_jw_num(&w, 1e21);
    as_jw_gid(&w, 1200000000000001ULL);
    as_jw_null(&w);
    as_jw_obj(&w);
    as_jw_end_obj(&w);
    as_jw_end_arr(&w);
    as_jw_key(&w, "t");
    as_jw_time(&w, 1767225600123);
    as_jw_end_obj(&w);
    assert_string_equal(b.data, "{\"s\":\"q\\\"b\\\\n\\n\\u0001é\",\"a\":[0.1,1234,-2.5e-07,"
                                "1e+21,\"1200000000000001\",null,{}],"
                                "\"t\":\"2026-01-01T00:00:00.123Z\"}");
    json_t *back = json_loads(b.data, 0, NULL);
    assert_non_null(back);
    json_decref(back);
    buf_free(&b);
}

static void test_store_gid_map_under_churn(void **state)
{
    (void)state;
    as_store_t *st = as_store_new(1, "W", 1000);
    as_policy_t pol = { true, NULL, 0 };
    as_err_t err;
    as_project_t *p = as_store_project_put(st, 10, "P", 0);
    enum { N = 20000 };
    as_task_t **tasks = xcalloc(N, sizeof *tasks);
    json_t *data = json_pack("{s:s,s:[s]}", "name", "x", "projects", "10");
    as_task_input_t in;
    assert_int_equal(as_input_task(data, true, &in, &err), 0);
    for (int i = 0; i < N; i++)
        assert_non_null(tasks[i] = as_store_task_create(st, &in, &pol, i, &err));
    as_task_input_free(&in);
    json_decref(data);
    for (int i = 0; i < N; i += 2)
        as_store_task_delete(st, tasks[i]);
    assert_int_equal(as_store_task_count(st), N / 2);
    assert_int_equal(p->ntasks, N / 2);
    for (int i = 1; i < N; i += 2) {
        assert_ptr_equal(as_store_get(st, tasks[i]->gid, AS_K_TASK), tasks[i]);
        assert_null(as_store_get(st, tasks[i]->gid, AS_K_PROJECT));
    }
    for (int i = 1; i + 2 < N; i += 2) /* project order is creation order */
        assert_true(p->tasks[i / 2]->seq < p->tasks[i / 2 + 1]->seq);
    assert_ptr_equal(as_store_get(st, 10, AS_K_PROJECT), p);
    free(tasks);
    as_store_destroy(&st);
    as_store_destroy(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults_and_changes),
        cmocka_unit_test(test_gate_sliding_window),
        cmocka_unit_test(test_gate_in_flight_caps),
        cmocka_unit_test(test_auth),
        cmocka_unit_test(test_rate_limit_answers_429),
        cmocka_unit_test(test_write_concurrency_cap),
        cmocka_unit_test(test_fault_injection),
        cmocka_unit_test(test_custom_fields),
        cmocka_unit_test(test_enum_options),
        cmocka_unit_test(test_custom_field_settings),
        cmocka_unit_test(test_task_create_validation),
        cmocka_unit_test(test_task_lifecycle),
        cmocka_unit_test(test_task_listing),
        cmocka_unit_test(test_unpaginated_listing_is_capped),
        cmocka_unit_test(test_sim_endpoints),
        cmocka_unit_test(test_project_and_workspace),
        cmocka_unit_test(test_json_writer),
        cmocka_unit_test(test_store_gid_map_under_churn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
