/* Unit tests for the pure parts of the simulated Asana's webhooks and events
 * (sim/asana_events.c, sim/asana_webhooks.c): webhook filters, events built from task writes
 * on a real store, the delivery body and its signature, the event log with its sync tokens,
 * and the webhook members of the configuration. Handshakes and deliveries over HTTP are in
 * tests/integration/test_asana_webhooks.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../sim/asana_config.h"
#include "../../sim/asana_events.h"
#include "../../sim/asana_store.h"
#include "../../sim/asana_webhooks.h"
#include "crypto.h"
#include "util.h"

#define PROJECT 10
#define USER_OF(st) as_store_user_gid(st)

/* ---- helpers --------------------------------------------------------------------------------- */

static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, 0, &je);
    if (!v)
        fail_msg("bad JSON in test: %s (%s)", text, je.text);
    return v;
}

static as_event_t event(as_ev_action_t action, const char *field)
{
    as_event_t e = { .project = PROJECT, .action = action };
    snprintf(e.field, sizeof e.field, "%s", field);
    snprintf(e.subtype, sizeof e.subtype, "default_task");
    return e;
}

/* A store with project PROJECT carrying an enum field "Supplier" (options ACME, Nordic) and a
 * number field "Amount". */
typedef struct {
    as_store_t *st;
    as_field_t *supplier, *amount;
} world_t;

static as_field_t *add_field(as_store_t *st, const char *json)
{
    as_field_input_t in;
    as_err_t err;
    size_t dups;
    as_policy_t pol = { .premium = true };
    json_t *data = parse(json);
    assert_int_equal(as_input_field(data, &in, &err), 0);
    as_field_t *f = as_store_field_create(st, &in, &pol, &dups, &err);
    assert_non_null(f);
    as_field_input_free(&in);
    json_decref(data);
    char body[96];
    snprintf(body, sizeof body, "{\"custom_field\":\"%llu\"}", (unsigned long long)f->gid);
    as_setting_input_t sin;
    data = parse(body);
    assert_int_equal(as_input_setting(data, &sin, &err), 0);
    assert_non_null(as_store_setting_add(st, as_store_get(st, PROJECT, AS_K_PROJECT), &sin, &err));
    json_decref(data);
    return f;
}

static void world_new(world_t *w)
{
    w->st = as_store_new(1, "W", 1000);
    as_store_project_put(w->st, PROJECT, "Procurement", 0);
    w->supplier = add_field(w->st, "{\"workspace\":\"1\",\"name\":\"Supplier\",\"resource_subtype\":"
                                   "\"enum\",\"enum_options\":[{\"name\":\"ACME\"},"
                                   "{\"name\":\"Nordic\"}]}");
    w->amount = add_field(w->st, "{\"workspace\":\"1\",\"name\":\"Amount\",\"resource_subtype\":"
                                 "\"number\",\"precision\":2}");
}

/* Creates (t NULL) or updates t with the task data json; returns the task. */
static as_task_t *write_task(as_store_t *st, as_task_t *t, const char *json)
{
    as_task_input_t in;
    as_err_t err;
    as_policy_t pol = { .premium = true };
    json_t *data = parse(json);
    assert_int_equal(as_input_task(data, t == NULL, &in, &err), 0);
    if (t)
        assert_int_equal(as_store_task_update(st, t, &in, &pol, 2000, &err), 0);
    else
        assert_non_null(t = as_store_task_create(st, &in, &pol, 1000, &err));
    as_task_input_free(&in);
    json_decref(data);
    return t;
}

static json_t *event_json(const as_event_list_t *l, size_t i)
{
    assert_true(i < l->n);
    return parse(l->items[i].json);
}

/* ---- filters ----------------------------------------------------------------------------------- */

static void test_filters_match(void **state)
{
    (void)state;
    as_hook_filter_t *f;
    size_t n;
    as_err_t err;
    json_t *v = parse("[{\"resource_type\":\"task\",\"action\":\"changed\","
                      "\"fields\":[\"completed\",\"custom_fields\"]},"
                      "{\"resource_type\":\"task\",\"action\":\"deleted\"}]");
    assert_int_equal(as_hook_filters_parse(v, &f, &n, &err), 0);
    assert_int_equal(n, 2);
    as_event_t completed = event(AS_EV_CHANGED, "completed");
    as_event_t cf = event(AS_EV_CHANGED, "custom_fields");
    as_event_t name = event(AS_EV_CHANGED, "name");
    as_event_t added = event(AS_EV_ADDED, "");
    as_event_t deleted = event(AS_EV_DELETED, "");
    assert_true(as_hook_filters_match(f, n, &completed));
    assert_true(as_hook_filters_match(f, n, &cf));
    assert_false(as_hook_filters_match(f, n, &name));
    assert_false(as_hook_filters_match(f, n, &added));
    assert_true(as_hook_filters_match(f, n, &deleted));
    assert_true(as_hook_filters_match(NULL, 0, &name));   /* no filters: everything */
    as_hook_filters_free(&f, n);
    as_hook_filters_free(&f, n);
    json_decref(v);

    v = parse("[{\"resource_type\":\"project\"}]");
    assert_int_equal(as_hook_filters_parse(v, &f, &n, &err), 0);
    assert_false(as_hook_filters_match(f, n, &completed));   /* events are about tasks */
    as_hook_filters_free(&f, n);
    json_decref(v);

    v = parse("[{\"resource_subtype\":\"milestone\"}]");
    assert_int_equal(as_hook_filters_parse(v, &f, &n, &err), 0);
    assert_false(as_hook_filters_match(f, n, &completed));
    as_hook_filters_free(&f, n);
    json_decref(v);

    assert_int_equal(as_hook_filters_parse(NULL, &f, &n, &err), 0);
    assert_int_equal(n, 0);
    static const char *const bad[] = {
        "{}", "[1]", "[{\"colour\":\"red\"}]", "[{\"action\":7}]",
        "[{\"action\":\"added\",\"fields\":[\"name\"]}]",
        "[{\"action\":\"changed\",\"fields\":\"name\"}]",
        "[{\"action\":\"changed\",\"fields\":[\"name\",3]}]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = parse(bad[i]);
        assert_int_equal(as_hook_filters_parse(v, &f, &n, &err), -1);
        assert_int_equal(err.status, 400);
        assert_null(f);
        json_decref(v);
    }
}

/* ---- events from task writes ------------------------------------------------------------------ */

static void test_events_of_changes(void **state)
{
    (void)state;
    world_t w;
    world_new(&w);
    char json[256];
    as_task_t *t = write_task(w.st, NULL, "{\"name\":\"PO-1\",\"projects\":[\"10\"]}");
    as_task_snap_t before;
    as_event_list_t l = { NULL, 0 };

    as_task_snap_take(t, &before);
    snprintf(json, sizeof json,
             "{\"completed\":true,\"name\":\"PO-1\",\"custom_fields\":{\"%llu\":\"%llu\","
             "\"%llu\":12.5}}",
             (unsigned long long)w.supplier->gid, (unsigned long long)w.supplier->options[1]->gid,
             (unsigned long long)w.amount->gid);
    write_task(w.st, t, json);
    as_events_build(AS_EV_CHANGED, &before, t, USER_OF(w.st), 5000, &l);
    as_task_snap_free(&before);
    assert_int_equal(l.n, 3);   /* the unchanged name gives none */
    assert_string_equal(l.items[0].field, "completed");
    assert_string_equal(l.items[1].field, "custom_fields");
    assert_string_equal(l.items[2].field, "custom_fields");
    json_t *e = event_json(&l, 0);
    json_t *user = json_object_get(e, "user");
    char gid[24];
    snprintf(gid, sizeof gid, "%llu", (unsigned long long)t->gid);
    assert_string_equal(json_string_value(json_object_get(user, "resource_type")), "user");
    assert_string_equal(json_string_value(json_object_get(e, "action")), "changed");
    assert_string_equal(json_string_value(json_object_get(e, "created_at")),
                        "1970-01-01T00:00:05.000Z");
    assert_true(json_is_null(json_object_get(e, "parent")));
    json_t *res = json_object_get(e, "resource");
    assert_string_equal(json_string_value(json_object_get(res, "gid")), gid);
    assert_string_equal(json_string_value(json_object_get(res, "resource_type")), "task");
    assert_string_equal(json_string_value(json_object_get(res, "resource_subtype")),
                        "default_task");
    json_t *ch = json_object_get(e, "change");
    assert_string_equal(json_string_value(json_object_get(ch, "field")), "completed");
    assert_string_equal(json_string_value(json_object_get(ch, "action")), "changed");
    assert_true(json_is_true(json_object_get(ch, "new_value")));
    json_decref(e);
    e = event_json(&l, 1);
    json_t *nv = json_object_get(json_object_get(e, "change"), "new_value");
    assert_string_equal(json_string_value(json_object_get(nv, "resource_type")), "custom_field");
    assert_string_equal(json_string_value(json_object_get(nv, "resource_subtype")), "enum");
    assert_string_equal(json_string_value(json_object_get(nv, "display_value")), "Nordic");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(nv, "enum_value"), "name")), "Nordic");
    json_decref(e);
    e = event_json(&l, 2);
    nv = json_object_get(json_object_get(e, "change"), "new_value");
    assert_true(json_number_value(json_object_get(nv, "number_value")) == 12.5);
    assert_string_equal(json_string_value(json_object_get(nv, "display_value")), "12.50");
    json_decref(e);
    as_event_list_free(&l);

    /* clearing a value reports it with a null value; an identical write reports nothing */
    as_task_snap_take(t, &before);
    snprintf(json, sizeof json, "{\"custom_fields\":{\"%llu\":null}}",
             (unsigned long long)w.amount->gid);
    write_task(w.st, t, json);
    as_events_build(AS_EV_CHANGED, &before, t, USER_OF(w.st), 6000, &l);
    as_task_snap_free(&before);
    assert_int_equal(l.n, 1);
    e = event_json(&l, 0);
    nv = json_object_get(json_object_get(e, "change"), "new_value");
    assert_true(json_is_null(json_object_get(nv, "number_value")));
    json_decref(e);
    as_event_list_free(&l);
    as_task_snap_take(t, &before);
    write_task(w.st, t, "{\"completed\":true}");
    as_events_build(AS_EV_CHANGED, &before, t, USER_OF(w.st), 7000, &l);
    as_task_snap_free(&before);
    assert_int_equal(l.n, 0);
    as_event_list_free(&l);
    as_store_destroy(&w.st);
}

static void test_events_added_and_deleted(void **state)
{
    (void)state;
    world_t w;
    world_new(&w);
    as_task_t *t = write_task(w.st, NULL, "{\"name\":\"PO-2\",\"projects\":[\"10\"]}");
    as_event_list_t l = { NULL, 0 };
    as_events_build(AS_EV_ADDED, NULL, t, USER_OF(w.st), 1000, &l);
    as_events_build(AS_EV_DELETED, NULL, t, USER_OF(w.st), 2000, &l);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.items[0].project, PROJECT);
    json_t *e = event_json(&l, 0);
    assert_string_equal(json_string_value(json_object_get(e, "action")), "added");
    json_t *parent = json_object_get(e, "parent");
    assert_string_equal(json_string_value(json_object_get(parent, "gid")), "10");
    assert_string_equal(json_string_value(json_object_get(parent, "resource_type")), "project");
    assert_null(json_object_get(e, "change"));
    json_decref(e);
    e = event_json(&l, 1);
    assert_string_equal(json_string_value(json_object_get(e, "action")), "deleted");
    assert_true(json_is_null(json_object_get(e, "parent")));
    assert_null(json_object_get(e, "change"));
    json_decref(e);
    as_event_list_free(&l);
    as_event_list_free(&l);
    as_store_destroy(&w.st);
}

/* ---- delivery body and signature ------------------------------------------------------------ */

static void test_delivery_signature(void **state)
{
    (void)state;
    char sig[65];
    static const char fox[] = "The quick brown fox jumps over the lazy dog";
    as_hook_sign("key", fox, strlen(fox), false, sig);
    assert_string_equal(sig, "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
    as_hook_sign("key", fox, strlen(fox), true, sig);
    assert_string_not_equal(sig,
                            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
    assert_int_equal(strlen(sig), 64);

    char *events[] = { "{\"action\":\"changed\"}", "{\"action\":\"added\"}" };
    buf_t b;
    buf_init(&b);
    as_hook_delivery_body(events, 2, &b);
    assert_string_equal(b.data, "{\"events\":[{\"action\":\"changed\"},{\"action\":\"added\"}]}");
    char expect[65];
    hmac_sha256_hex("s3cret", 6, b.data, b.len, expect);
    as_hook_sign("s3cret", b.data, b.len, false, sig);
    assert_string_equal(sig, expect);
    buf_reset(&b);
    as_hook_delivery_body(NULL, 0, &b);
    assert_memory_equal(b.data, "{\"events\":[]}", 13);
    assert_int_equal(b.len, 13);
    buf_free(&b);
}

/* ---- the event log ---------------------------------------------------------------------------- */

static void append(as_evlog_t *log, uint64_t project, int i)
{
    as_event_t e = event(AS_EV_CHANGED, "completed");
    e.project = project;
    e.json = xasprintf("{\"n\":%d}", i);
    as_evlog_append(log, &e);
    assert_null(e.json);
}

/* Fetches into *out (parsed) and returns the status. */
static int fetch(const as_evlog_t *log, uint64_t project, const char *sync, json_t **out)
{
    buf_t b;
    buf_init(&b);
    int status = as_evlog_fetch(log, project, sync, &b);
    *out = parse(b.data);
    buf_free(&b);
    return status;
}

static void test_event_log_sync_tokens(void **state)
{
    (void)state;
    as_evlog_t *log = as_evlog_new(200, 42);
    json_t *r;
    char sync[64];
    assert_int_equal(fetch(log, PROJECT, NULL, &r), 412);
    assert_non_null(json_object_get(r, "errors"));
    snprintf(sync, sizeof sync, "%s", json_string_value(json_object_get(r, "sync")));
    json_decref(r);
    assert_int_equal(fetch(log, PROJECT, "nonsense", &r), 412);
    json_decref(r);

    for (int i = 0; i < 150; i++)
        append(log, i % 3 == 2 ? PROJECT + 1 : PROJECT, i);   /* 100 for PROJECT */
    assert_int_equal(as_evlog_last_seq(log), 150);
    assert_int_equal(fetch(log, PROJECT + 1, sync, &r), 412);   /* another project's token */
    json_decref(r);
    assert_int_equal(fetch(log, PROJECT, sync, &r), 200);
    assert_int_equal(json_array_size(json_object_get(r, "data")), 100);
    assert_true(json_is_false(json_object_get(r, "has_more")));
    snprintf(sync, sizeof sync, "%s", json_string_value(json_object_get(r, "sync")));
    json_decref(r);
    for (int i = 150; i < 160; i++)
        append(log, PROJECT, i);
    assert_int_equal(fetch(log, PROJECT, sync, &r), 200);
    json_t *data = json_object_get(r, "data");
    assert_int_equal(json_array_size(data), 10);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(data, 0), "n")), 150);
    json_decref(r);

    /* more than a page: has_more, and the next token continues */
    assert_int_equal(fetch(log, PROJECT, NULL, &r), 412);
    snprintf(sync, sizeof sync, "%s", json_string_value(json_object_get(r, "sync")));
    json_decref(r);
    for (int i = 0; i < 120; i++)
        append(log, PROJECT, 1000 + i);
    assert_int_equal(fetch(log, PROJECT, sync, &r), 200);
    assert_int_equal(json_array_size(json_object_get(r, "data")), 100);
    assert_true(json_is_true(json_object_get(r, "has_more")));
    snprintf(sync, sizeof sync, "%s", json_string_value(json_object_get(r, "sync")));
    json_decref(r);
    assert_int_equal(fetch(log, PROJECT, sync, &r), 200);
    data = json_object_get(r, "data");
    assert_int_equal(json_array_size(data), 20);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(data, 19), "n")), 1119);
    assert_true(json_is_false(json_object_get(r, "has_more")));
    snprintf(sync, sizeof sync, "%s", json_string_value(json_object_get(r, "sync")));
    json_decref(r);

    /* a token older than the log: 412; as does one from before expire_tokens */
    char old[64];
    snprintf(old, sizeof old, "%s", sync);
    for (int i = 0; i < 250; i++)
        append(log, PROJECT, 2000 + i);
    assert_int_equal(fetch(log, PROJECT, old, &r), 412);
    snprintf(sync, sizeof sync, "%s", json_string_value(json_object_get(r, "sync")));
    json_decref(r);
    assert_int_equal(fetch(log, PROJECT, sync, &r), 200);
    json_decref(r);
    as_evlog_expire_tokens(log, 42);
    assert_int_equal(fetch(log, PROJECT, sync, &r), 412);
    json_decref(r);
    as_evlog_destroy(&log);
    as_evlog_destroy(&log);
}

/* ---- configuration ------------------------------------------------------------------------------ */

static void test_config_webhook_members(void **state)
{
    (void)state;
    asana_config_t c;
    char err[256];
    asana_config_defaults(&c);
    assert_int_equal(c.webhook_failure_window_s, 86400);
    assert_int_equal(c.webhook_retry_base_ms, 1000);
    assert_false(c.drop_webhook_events);
    assert_false(c.webhook_sign_wrong);
    assert_int_equal(asana_config_apply(&c, "{\"webhook_failure_window_s\":3,\"webhook_retry_"
                                            "base_ms\":50,\"drop_webhook_events\":true,"
                                            "\"webhook_sign_wrong\":true}",
                                        false, err, sizeof err), 0);
    assert_int_equal(c.webhook_failure_window_s, 3);
    assert_int_equal(c.webhook_retry_base_ms, 50);
    assert_true(c.drop_webhook_events && c.webhook_sign_wrong);
    assert_int_equal(asana_config_apply(&c, "{\"drop_webhook_events\":1}", false, err,
                                        sizeof err), -1);
    assert_int_equal(asana_config_apply(&c, "{\"webhook_failure_window_s\":0}", false, err,
                                        sizeof err), -1);
    char *json = asana_config_json(&c);
    assert_non_null(strstr(json, "\"drop_webhook_events\":true"));
    assert_non_null(strstr(json, "\"webhook_failure_window_s\":3"));
    free(json);
    asana_config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filters_match),
        cmocka_unit_test(test_events_of_changes),
        cmocka_unit_test(test_events_added_and_deleted),
        cmocka_unit_test(test_delivery_signature),
        cmocka_unit_test(test_event_log_sync_tokens),
        cmocka_unit_test(test_config_webhook_members),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
