/* asana_webhooks: see asana_webhooks.h. Webhooks live in an array in creation (gid) order;
 * each has a queue of event JSON texts waiting for delivery. The delivery thread picks a
 * webhook that is due, sends up to MAX_BATCH queued events without the mutex, then records the
 * outcome on the webhook (found again by gid: it may have been deleted meanwhile). */
#include "asana_webhooks.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asana_render.h"
#include "crypto.h"
#include "http.h"

#define API_PREFIX          "/api/1.0"
#define HOOK_TIMEOUT_MS     10000                   /* handshake and delivery answer limit */
#define MAX_BATCH           100                     /* events per delivery */
#define MAX_BACKOFF_MS      (3600LL * 1000)
#define HEARTBEAT_MS        (8LL * 3600 * 1000)
#define IDLE_WAIT_MS        1000
#define EVENT_LOG_CAPACITY  10000
#define HANDSHAKE_FAILED    "Could not complete activation handshake with target URL. Please " \
                            "ensure that the receiving server is accepting connections and " \
                            "echoes the X-Hook-Secret header"

/* ---- filters and signatures (pure) ---------------------------------------------------------- */

static char *opt_string(const json_t *o, const char *key, int *bad)
{
    const json_t *v = json_object_get(o, key);
    if (!v)
        return NULL;
    if (!json_is_string(v)) {
        *bad = 1;
        return NULL;
    }
    return xstrdup(json_string_value(v));
}

/* One filter object into *f; 0 or -1 with err. */
static int parse_filter(const json_t *o, size_t idx, as_hook_filter_t *f, as_err_t *err)
{
    static const char *const known[] = { "resource_type", "resource_subtype", "action",
                                         "fields" };
    const char *key;
    const json_t *v;
    int bad = 0;
    if (!json_is_object(o))
        return as_fail(err, 400, "filters[%zu]: Not an object", idx);
    json_object_foreach((json_t *)o, key, v) {
        size_t k = 0;
        while (k < 4 && strcmp(key, known[k]) != 0)
            k++;
        if (k == 4)
            return as_fail(err, 400, "filters[%zu].%s: Unrecognized property", idx, key);
    }
    f->resource_type = opt_string(o, "resource_type", &bad);
    f->resource_subtype = opt_string(o, "resource_subtype", &bad);
    f->action = opt_string(o, "action", &bad);
    if (bad)
        return as_fail(err, 400, "filters[%zu]: resource_type, resource_subtype and action "
                                 "must be strings", idx);
    const json_t *fields = json_object_get(o, "fields");
    if (!fields || json_is_null(fields))
        return 0;
    if (!json_is_array(fields))
        return as_fail(err, 400, "filters[%zu].fields: Not an array of strings", idx);
    if (!f->action || strcmp(f->action, "changed") != 0)
        return as_fail(err, 400, "filters[%zu].fields: Only valid with action \"changed\"", idx);
    f->fields = xcalloc(json_array_size(fields) + 1, sizeof *f->fields);
    size_t i;
    json_array_foreach(fields, i, v) {
        if (!json_is_string(v))
            return as_fail(err, 400, "filters[%zu].fields: Not an array of strings", idx);
        f->fields[f->nfields++] = xstrdup(json_string_value(v));
    }
    return 0;
}

int as_hook_filters_parse(const json_t *v, as_hook_filter_t **out, size_t *n, as_err_t *err)
{
    *out = NULL;
    *n = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return as_fail(err, 400, "filters: Not an array");
    as_hook_filter_t *f = xcalloc(json_array_size(v) + 1, sizeof *f);
    size_t i;
    const json_t *o;
    json_array_foreach(v, i, o) {
        if (parse_filter(o, i, &f[i], err) != 0) {
            as_hook_filters_free(&f, i + 1);
            return -1;
        }
    }
    *out = f;
    *n = json_array_size(v);
    return 0;
}

void as_hook_filters_free(as_hook_filter_t **fp, size_t n)
{
    if (!fp || !*fp)
        return;
    for (size_t i = 0; i < n; i++) {
        as_hook_filter_t *f = &(*fp)[i];
        free(f->resource_type);
        free(f->resource_subtype);
        free(f->action);
        for (size_t j = 0; j < f->nfields; j++)
            free(f->fields[j]);
        free(f->fields);
    }
    free(*fp);
    *fp = NULL;
}

static bool filter_passes(const as_hook_filter_t *f, const as_event_t *e)
{
    if (f->resource_type && strcmp(f->resource_type, "task") != 0)
        return false;
    if (f->resource_subtype && strcmp(f->resource_subtype, e->subtype) != 0)
        return false;
    if (f->action && strcmp(f->action, as_ev_action_name(e->action)) != 0)
        return false;
    if (!f->nfields)
        return true;
    for (size_t i = 0; i < f->nfields; i++)
        if (strcmp(f->fields[i], e->field) == 0)
            return true;
    return false;
}

bool as_hook_filters_match(const as_hook_filter_t *f, size_t n, const as_event_t *e)
{
    if (n == 0)
        return true;
    for (size_t i = 0; i < n; i++)
        if (filter_passes(&f[i], e))
            return true;
    return false;
}

void as_hook_delivery_body(char *const *events, size_t n, buf_t *out)
{
    buf_append(out, "{\"events\":[", 11);
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_append(out, ",", 1);
        buf_append(out, events[i], strlen(events[i]));
    }
    buf_append(out, "]}", 2);
}

void as_hook_sign(const char *secret, const char *body, size_t len, bool wrong, char out[65])
{
    hmac_sha256_hex(secret, strlen(secret), body, len, out);
    if (wrong)
        out[0] = out[0] == '0' ? '1' : '0';
}

/* ---- the service ------------------------------------------------------------------------------ */

typedef struct {
    uint64_t          gid, resource;
    char             *resource_name, *target, *secret;
    bool              active;
    int64_t           created_ms, last_success_ms, last_failure_ms;   /* 0 = null */
    int64_t           next_attempt_ms, failure_deletion_ms;           /* 0 = null */
    char             *last_failure_content;
    int               retry_count;
    as_hook_filter_t *filters;
    size_t            nfilters;
    char            **queue;          /* event JSON texts, oldest first */
    size_t            nqueue;
    bool              heartbeat_due;
    int64_t           last_delivery_ms;
} hook_t;

struct as_hooks {
    pthread_mutex_t      mu;
    pthread_cond_t       wake;
    pthread_t            thread;
    bool                 stop;
    hook_t             **hooks;
    size_t               nhooks;
    uint64_t             workspace_gid, next_gid;
    as_evlog_t          *log;
    as_hooks_settings_t  set;
    as_hooks_stats_t     stats;
    as_project_lookup_fn lookup;
    void                *lookup_ud;
};

static void hook_free(hook_t *k)
{
    free(k->resource_name);
    free(k->target);
    free(k->secret);
    free(k->last_failure_content);
    as_hook_filters_free(&k->filters, k->nfilters);
    for (size_t i = 0; i < k->nqueue; i++)
        free(k->queue[i]);
    free(k->queue);
    free(k);
}

static size_t hook_index(const as_hooks_t *h, uint64_t gid)
{
    size_t i = 0;
    while (i < h->nhooks && h->hooks[i]->gid != gid)
        i++;
    return i;
}

static hook_t *hook_find(const as_hooks_t *h, uint64_t gid)
{
    size_t i = hook_index(h, gid);
    return i < h->nhooks ? h->hooks[i] : NULL;
}

/* Removes and frees webhook gid; false when there is none. */
static bool hook_remove(as_hooks_t *h, uint64_t gid)
{
    size_t i = hook_index(h, gid);
    if (i == h->nhooks)
        return false;
    hook_free(h->hooks[i]);
    memmove(&h->hooks[i], &h->hooks[i + 1], (h->nhooks - i - 1) * sizeof *h->hooks);
    h->nhooks--;
    return true;
}

static void queue_drop(hook_t *k, size_t n)
{
    if (n == 0)
        return;
    for (size_t i = 0; i < n; i++)
        free(k->queue[i]);
    memmove(k->queue, k->queue + n, (k->nqueue - n) * sizeof *k->queue);
    k->nqueue -= n;
}

void as_hooks_record(as_hooks_t *h, as_event_list_t *l)
{
    if (!h) {
        as_event_list_free(l);
        return;
    }
    pthread_mutex_lock(&h->mu);
    for (size_t i = 0; i < l->n; i++) {
        as_event_t *e = &l->items[i];
        for (size_t j = 0; j < h->nhooks; j++) {
            hook_t *k = h->hooks[j];
            if (!k->active || k->resource != e->project ||
                !as_hook_filters_match(k->filters, k->nfilters, e))
                continue;
            if (h->set.drop_events) {
                h->stats.events_dropped++;
                continue;
            }
            k->queue = xrealloc(k->queue, (k->nqueue + 1) * sizeof *k->queue);
            k->queue[k->nqueue++] = xstrdup(e->json);
        }
        as_evlog_append(h->log, e);
        h->stats.events_recorded++;
    }
    pthread_cond_broadcast(&h->wake);
    pthread_mutex_unlock(&h->mu);
    as_event_list_free(l);
}

/* ---- delivery --------------------------------------------------------------------------------- */

/* A delivery taken out of a webhook to send without the mutex. */
typedef struct {
    uint64_t gid;
    char    *target;
    size_t   nevents;        /* queued events it carries (0: heartbeat) */
    buf_t    body;
    char     signature[65];
} delivery_t;

static bool hook_due(const hook_t *k, int64_t now)
{
    if (!k->active || now < k->next_attempt_ms)
        return false;
    return k->nqueue > 0 || k->heartbeat_due || now - k->last_delivery_ms >= HEARTBEAT_MS;
}

/* The next delivery to make (mutex held); false with *wait_ms set when none is due. */
static bool next_delivery(as_hooks_t *h, delivery_t *d, int64_t *wait_ms)
{
    int64_t now = now_ms();
    *wait_ms = IDLE_WAIT_MS;
    for (size_t i = 0; i < h->nhooks; i++) {
        hook_t *k = h->hooks[i];
        if (!hook_due(k, now)) {
            if (k->active && (k->nqueue || k->heartbeat_due) && k->next_attempt_ms - now < *wait_ms)
                *wait_ms = k->next_attempt_ms - now;
            continue;
        }
        d->gid = k->gid;
        d->target = xstrdup(k->target);
        d->nevents = k->nqueue < MAX_BATCH ? k->nqueue : MAX_BATCH;
        buf_init(&d->body);
        as_hook_delivery_body(k->queue, d->nevents, &d->body);
        as_hook_sign(k->secret, d->body.data, d->body.len, h->set.sign_wrong, d->signature);
        return true;
    }
    return false;
}

/* Records the outcome of d (mutex held): on success the events leave the queue; on failure
 * the webhook backs off, or is deleted once its failure window has passed. */
static void delivery_done(as_hooks_t *h, const delivery_t *d, bool ok, const char *failure)
{
    hook_t *k = hook_find(h, d->gid);
    int64_t now = now_ms();
    if (!k)
        return;
    k->last_delivery_ms = now;
    if (ok) {
        h->stats.deliveries++;
        queue_drop(k, d->nevents);
        k->heartbeat_due = false;
        k->last_success_ms = now;
        k->retry_count = 0;
        k->next_attempt_ms = 0;
        k->failure_deletion_ms = 0;
        return;
    }
    h->stats.delivery_failures++;
    k->last_failure_ms = now;
    free(k->last_failure_content);
    k->last_failure_content = xstrdup(failure);
    if (!k->failure_deletion_ms)
        k->failure_deletion_ms = now + (int64_t)h->set.failure_window_s * 1000;
    if (now >= k->failure_deletion_ms) {
        hook_remove(h, d->gid);
        return;
    }
    int shift = k->retry_count < 20 ? k->retry_count : 20;
    int64_t delay = ((int64_t)h->set.retry_base_ms) << shift;
    k->retry_count++;
    if (delay > MAX_BACKOFF_MS)
        delay = MAX_BACKOFF_MS;
    k->next_attempt_ms = now + delay < k->failure_deletion_ms ? now + delay
                                                              : k->failure_deletion_ms;
}

/* POSTs d; true on a 2xx, else false with the failure text ("<status> <body start>" or the
 * transport error) in failure. */
static bool deliver(http_client_t *c, const delivery_t *d, char *failure, size_t len)
{
    char sig[96];
    snprintf(sig, sizeof sig, "X-Hook-Signature: %s", d->signature);
    const char *headers[] = { "Content-Type: application/json", sig, NULL };
    http_req_t req = { .method = "POST", .url = d->target, .headers = headers,
                       .body = d->body.data, .body_len = d->body.len,
                       .timeout_ms = HOOK_TIMEOUT_MS };
    http_resp_t resp;
    int rc = http_do(c, &req, &resp);
    bool ok = rc == 0 && resp.status >= 200 && resp.status < 300;
    if (rc != 0)
        snprintf(failure, len, "%s", resp.error);
    else if (!ok)
        snprintf(failure, len, "%ld %.200s", resp.status, resp.body.data ? resp.body.data : "");
    http_resp_free(&resp);
    return ok;
}

static void *delivery_thread(void *arg)
{
    as_hooks_t *h = arg;
    http_client_t *c = http_client_new();
    pthread_mutex_lock(&h->mu);
    while (!h->stop) {
        delivery_t d;
        int64_t wait_ms;
        if (!next_delivery(h, &d, &wait_ms)) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            int64_t ns = ts.tv_nsec + (wait_ms > 0 ? wait_ms : 1) * 1000000LL;
            ts.tv_sec += ns / 1000000000LL;
            ts.tv_nsec = ns % 1000000000LL;
            pthread_cond_timedwait(&h->wake, &h->mu, &ts);
            continue;
        }
        pthread_mutex_unlock(&h->mu);
        char failure[256] = "";
        bool ok = c && deliver(c, &d, failure, sizeof failure);
        pthread_mutex_lock(&h->mu);
        delivery_done(h, &d, ok, failure);
        free(d.target);
        buf_free(&d.body);
    }
    pthread_mutex_unlock(&h->mu);
    http_client_destroy(&c);
    return NULL;
}

/* ---- lifecycle ---------------------------------------------------------------------------------- */

as_hooks_t *as_hooks_new(uint64_t workspace_gid, uint64_t gid_base, uint32_t salt,
                         as_project_lookup_fn lookup, void *lookup_ud)
{
    as_hooks_t *h = xcalloc(1, sizeof *h);
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->wake, NULL);
    h->workspace_gid = workspace_gid;
    h->next_gid = gid_base;
    h->log = as_evlog_new(EVENT_LOG_CAPACITY, salt);
    h->set = (as_hooks_settings_t){ false, false, 86400, 1000 };
    h->lookup = lookup;
    h->lookup_ud = lookup_ud;
    if (pthread_create(&h->thread, NULL, delivery_thread, h) != 0) {
        fprintf(stderr, "asana_webhooks: cannot start the delivery thread\n");
        abort();
    }
    return h;
}

void as_hooks_destroy(as_hooks_t **hp)
{
    if (!hp || !*hp)
        return;
    as_hooks_t *h = *hp;
    pthread_mutex_lock(&h->mu);
    h->stop = true;
    pthread_cond_broadcast(&h->wake);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->thread, NULL);
    for (size_t i = 0; i < h->nhooks; i++)
        hook_free(h->hooks[i]);
    free(h->hooks);
    as_evlog_destroy(&h->log);
    pthread_cond_destroy(&h->wake);
    pthread_mutex_destroy(&h->mu);
    free(h);
    *hp = NULL;
}

void as_hooks_configure(as_hooks_t *h, const as_hooks_settings_t *set)
{
    pthread_mutex_lock(&h->mu);
    h->set = *set;
    pthread_cond_broadcast(&h->wake);
    pthread_mutex_unlock(&h->mu);
}

void as_hooks_stats(as_hooks_t *h, as_hooks_stats_t *out)
{
    pthread_mutex_lock(&h->mu);
    *out = h->stats;
    out->webhooks = h->nhooks;
    pthread_mutex_unlock(&h->mu);
}

void as_hooks_reset_stats(as_hooks_t *h)
{
    pthread_mutex_lock(&h->mu);
    memset(&h->stats, 0, sizeof h->stats);
    pthread_mutex_unlock(&h->mu);
}

/* ---- rendering and replies -------------------------------------------------------------------- */

static void reply_error(as_api_reply_t *out, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void reply_error(as_api_reply_t *out, int status, const char *fmt, ...)
{
    char msg[640];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    out->status = status;
    buf_reset(&out->body);
    as_render_error(&out->body, status, msg);
}

static void write_filters(as_jw_t *w, const hook_t *k)
{
    as_jw_arr(w);
    for (size_t i = 0; i < k->nfilters; i++) {
        const as_hook_filter_t *f = &k->filters[i];
        as_jw_obj(w);
        as_jw_key(w, "resource_type");
        as_jw_str(w, f->resource_type);
        as_jw_key(w, "resource_subtype");
        as_jw_str(w, f->resource_subtype);
        as_jw_key(w, "action");
        as_jw_str(w, f->action);
        as_jw_key(w, "fields");
        as_jw_arr(w);
        for (size_t j = 0; j < f->nfields; j++)
            as_jw_str(w, f->fields[j]);
        as_jw_end_arr(w);
        as_jw_end_obj(w);
    }
    as_jw_end_arr(w);
}

/* The webhook in its full form (WebhookResponse). */
static void write_hook(as_jw_t *w, const hook_t *k)
{
    as_jw_obj(w);
    as_jw_key(w, "gid");
    as_jw_gid(w, k->gid);
    as_jw_key(w, "resource_type");
    as_jw_str(w, "webhook");
    as_jw_key(w, "active");
    as_jw_bool(w, k->active);
    as_jw_key(w, "resource");
    as_jw_obj(w);
    as_jw_key(w, "gid");
    as_jw_gid(w, k->resource);
    as_jw_key(w, "name");
    as_jw_str(w, k->resource_name);
    as_jw_key(w, "resource_type");
    as_jw_str(w, "project");
    as_jw_end_obj(w);
    as_jw_key(w, "target");
    as_jw_str(w, k->target);
    const struct {
        const char *name;
        int64_t     ms;
    } times[] = {
        { "created_at", k->created_ms },
        { "last_success_at", k->last_success_ms },
        { "last_failure_at", k->last_failure_ms },
        { "next_attempt_after", k->next_attempt_ms },
        { "failure_deletion_timestamp", k->failure_deletion_ms },
    };
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        as_jw_key(w, times[i].name);
        as_jw_time(w, times[i].ms);
    }
    as_jw_key(w, "last_failure_content");
    as_jw_str(w, k->last_failure_content);
    as_jw_key(w, "delivery_retry_count");
    as_jw_int(w, k->retry_count);
    as_jw_key(w, "filters");
    write_filters(w, k);
    as_jw_end_obj(w);
}

/* {"data": webhook[, "X-Hook-Secret": secret]} */
static void reply_hook(as_api_reply_t *out, int status, const hook_t *k, const char *secret)
{
    as_jw_t w;
    out->status = status;
    buf_reset(&out->body);
    as_jw_init(&w, &out->body);
    as_jw_obj(&w);
    as_jw_key(&w, "data");
    write_hook(&w, k);
    if (secret) {
        as_jw_key(&w, "X-Hook-Secret");
        as_jw_str(&w, secret);
    }
    as_jw_end_obj(&w);
}

/* A gid query argument name: 0 with *gid (0 when absent and optional), -1 after replying. */
static int query_gid(const asana_req_t *req, const char *name, bool required, uint64_t *gid,
                     as_api_reply_t *out)
{
    const char *v = as_req_query(req, name);
    *gid = 0;
    if (!v && !required)
        return 0;
    if (!v) {
        reply_error(out, 400, "%s: Missing input", name);
        return -1;
    }
    if (as_gid_parse(v, gid) != 0) {
        reply_error(out, 400, "%s: Not a recognized ID: %.64s", name, v);
        return -1;
    }
    return 0;
}

/* The name of project gid into name; -1 after replying 404 when there is no such project. */
static int project_name(as_hooks_t *h, uint64_t gid, char *name, size_t len,
                        as_api_reply_t *out)
{
    if (h->lookup(h->lookup_ud, gid, name, len))
        return 0;
    reply_error(out, 404, "resource: Unknown object: %llu (the simulator serves webhooks and "
                          "events on projects only)", (unsigned long long)gid);
    return -1;
}

static bool duplicate(const as_hooks_t *h, uint64_t resource, const char *target)
{
    for (size_t i = 0; i < h->nhooks; i++)
        if (h->hooks[i]->resource == resource && strcmp(h->hooks[i]->target, target) == 0)
            return true;
    return false;
}

/* ---- POST /webhooks ----------------------------------------------------------------------------- */

/* The validated create request; strings borrowed from the body. */
typedef struct {
    uint64_t          resource;
    const char       *target;
    as_hook_filter_t *filters;
    size_t            nfilters;
} create_t;

static int parse_create(const json_t *data, create_t *c, as_err_t *err)
{
    const char *key;
    const json_t *v;
    memset(c, 0, sizeof *c);
    json_object_foreach((json_t *)data, key, v) {
        if (strcmp(key, "resource") != 0 && strcmp(key, "target") != 0 &&
            strcmp(key, "filters") != 0)
            return as_fail(err, 400, "%s: Unrecognized property", key);
    }
    const json_t *res = json_object_get(data, "resource");
    const json_t *tgt = json_object_get(data, "target");
    if (!res)
        return as_fail(err, 400, "resource: Missing input");
    if (as_input_gid(res, "resource", &c->resource, err) != 0)
        return -1;
    if (!tgt)
        return as_fail(err, 400, "target: Missing input");
    c->target = json_string_value(tgt);
    if (!c->target || (!str_starts(c->target, "https://") && !str_starts(c->target, "http://")))
        return as_fail(err, 400, "target: Not a valid http(s) URL");
    return as_hook_filters_parse(json_object_get(data, "filters"), &c->filters, &c->nfilters,
                                 err);
}

/* POSTs the handshake to target; NULL when it passed, else a static description. */
static const char *handshake(const char *target, const char *secret)
{
    http_client_t *c = http_client_new();
    if (!c)
        return "out of memory";
    char header[96];
    snprintf(header, sizeof header, "X-Hook-Secret: %s", secret);
    const char *headers[] = { header, NULL };
    http_req_t req = { .method = "POST", .url = target, .headers = headers,
                       .timeout_ms = HOOK_TIMEOUT_MS };
    http_resp_t resp;
    const char *why = NULL;
    if (http_do(c, &req, &resp) != 0) {
        why = "the target did not answer";
    } else if (resp.status != 200 && resp.status != 204) {
        why = "the target did not answer 200 or 204";
    } else {
        char *echo = http_resp_header(&resp, "X-Hook-Secret");
        if (!echo || strcmp(echo, secret) != 0)
            why = "the target did not echo X-Hook-Secret";
        free(echo);
    }
    http_resp_free(&resp);
    http_client_destroy(&c);
    return why;
}

static void h_create(as_hooks_t *h, const asana_req_t *req, as_api_reply_t *out)
{
    json_t *data;
    char *body_fields = NULL, name[256];
    as_err_t err;
    create_t c;
    json_t *root = as_input_body(req->body, req->body_len, &data, &body_fields, &err);
    free(body_fields);
    if (!root) {
        reply_error(out, err.status, "%s", err.msg);
        return;
    }
    if (parse_create(data, &c, &err) != 0) {
        reply_error(out, err.status, "%s", err.msg);
        json_decref(root);
        return;
    }
    if (project_name(h, c.resource, name, sizeof name, out) != 0)
        goto done;
    pthread_mutex_lock(&h->mu);
    bool dup = duplicate(h, c.resource, c.target);
    pthread_mutex_unlock(&h->mu);
    if (dup) {
        reply_error(out, 403, "Duplicated webhook");
        goto done;
    }
    char *secret = random_hex(16);
    const char *why = handshake(c.target, secret);
    pthread_mutex_lock(&h->mu);
    if (why) {
        h->stats.handshake_failures++;
        reply_error(out, 400, HANDSHAKE_FAILED " (%s).", why);
    } else if (duplicate(h, c.resource, c.target)) {
        reply_error(out, 403, "Duplicated webhook");
    } else {
        hook_t *k = xcalloc(1, sizeof *k);
        k->gid = h->next_gid++;
        k->resource = c.resource;
        k->resource_name = xstrdup(name);
        k->target = xstrdup(c.target);
        k->secret = secret;
        secret = NULL;
        k->active = true;
        k->created_ms = now_ms();
        k->filters = c.filters;
        k->nfilters = c.nfilters;
        c.filters = NULL;
        k->heartbeat_due = true;
        h->hooks = xrealloc(h->hooks, (h->nhooks + 1) * sizeof *h->hooks);
        h->hooks[h->nhooks++] = k;
        h->stats.handshakes++;
        reply_hook(out, 201, k, k->secret);
        pthread_cond_broadcast(&h->wake);
    }
    pthread_mutex_unlock(&h->mu);
    free(secret);
done:
    as_hook_filters_free(&c.filters, c.nfilters);
    json_decref(root);
}

/* ---- GET /webhooks, GET and DELETE /webhooks/{gid} ---------------------------------------------- */

static void write_next_page(as_jw_t *w, const asana_req_t *req, uint64_t workspace,
                            uint64_t resource, int limit, uint64_t next)
{
    char path[256], res[48] = "";
    if (resource)
        snprintf(res, sizeof res, "&resource=%llu", (unsigned long long)resource);
    snprintf(path, sizeof path, "/webhooks?workspace=%llu%s&limit=%d&offset=%llu",
             (unsigned long long)workspace, res, limit, (unsigned long long)next);
    char *uri = xasprintf("%s" API_PREFIX "%s",
                          req->base_url ? req->base_url : "http://127.0.0.1", path);
    char offset[24];
    snprintf(offset, sizeof offset, "%llu", (unsigned long long)next);
    as_jw_key(w, "next_page");
    as_jw_obj(w);
    as_jw_key(w, "offset");
    as_jw_str(w, offset);
    as_jw_key(w, "path");
    as_jw_str(w, path);
    as_jw_key(w, "uri");
    as_jw_str(w, uri);
    as_jw_end_obj(w);
    free(uri);
}

/* Webhooks of the workspace (optionally of one resource) in creation order; the offset token
 * is the gid of the first webhook of the page. */
static void h_list(as_hooks_t *h, const asana_req_t *req, as_api_reply_t *out)
{
    uint64_t workspace, resource, from = 0;
    int limit;
    as_err_t err;
    const char *offset = as_req_query(req, "offset");
    if (query_gid(req, "workspace", true, &workspace, out) != 0 ||
        query_gid(req, "resource", false, &resource, out) != 0)
        return;
    if (workspace != h->workspace_gid) {
        reply_error(out, 404, "workspace: Unknown object: %llu", (unsigned long long)workspace);
        return;
    }
    if (as_input_limit(as_req_query(req, "limit"), &limit, &err) != 0) {
        reply_error(out, err.status, "%s", err.msg);
        return;
    }
    if (offset && as_gid_parse(offset, &from) != 0) {
        reply_error(out, 400, "offset: Your pagination token is invalid.");
        return;
    }
    as_jw_t w;
    out->status = 200;
    buf_reset(&out->body);
    as_jw_init(&w, &out->body);
    as_jw_obj(&w);
    as_jw_key(&w, "data");
    as_jw_arr(&w);
    pthread_mutex_lock(&h->mu);
    int emitted = 0;
    uint64_t next = 0;
    for (size_t i = 0; i < h->nhooks; i++) {
        const hook_t *k = h->hooks[i];
        if (k->gid < from || (resource && k->resource != resource))
            continue;
        if (limit && emitted == limit) {
            next = k->gid;
            break;
        }
        write_hook(&w, k);
        emitted++;
    }
    pthread_mutex_unlock(&h->mu);
    as_jw_end_arr(&w);
    if (next) {
        write_next_page(&w, req, workspace, resource, limit, next);
    } else {
        as_jw_key(&w, "next_page");
        as_jw_null(&w);
    }
    as_jw_end_obj(&w);
}

/* The route's {gid} as a webhook gid; -1 after replying 400. */
static int route_gid(const as_route_t *r, uint64_t *gid, as_api_reply_t *out)
{
    char text[64];
    snprintf(text, sizeof text, "%.*s", (int)r->param_len, r->param);
    if (as_gid_parse(text, gid) == 0)
        return 0;
    reply_error(out, 400, "webhook: Not a recognized ID: %s", text);
    return -1;
}

static void h_get(as_hooks_t *h, const as_route_t *r, as_api_reply_t *out)
{
    uint64_t gid;
    if (route_gid(r, &gid, out) != 0)
        return;
    pthread_mutex_lock(&h->mu);
    const hook_t *k = hook_find(h, gid);
    if (k)
        reply_hook(out, 200, k, NULL);
    else
        reply_error(out, 404, "webhook: Unknown object: %llu", (unsigned long long)gid);
    pthread_mutex_unlock(&h->mu);
}

static void h_delete(as_hooks_t *h, const as_route_t *r, as_api_reply_t *out)
{
    uint64_t gid;
    if (route_gid(r, &gid, out) != 0)
        return;
    pthread_mutex_lock(&h->mu);
    bool found = hook_remove(h, gid);
    pthread_mutex_unlock(&h->mu);
    if (!found) {
        reply_error(out, 404, "webhook: Unknown object: %llu", (unsigned long long)gid);
        return;
    }
    out->status = 200;
    buf_reset(&out->body);
    buf_append(&out->body, "{\"data\":{}}", 11);
}

/* ---- GET /events ---------------------------------------------------------------------------- */

static void h_events(as_hooks_t *h, const asana_req_t *req, as_api_reply_t *out)
{
    uint64_t resource;
    char name[256];
    if (query_gid(req, "resource", true, &resource, out) != 0 ||
        project_name(h, resource, name, sizeof name, out) != 0)
        return;
    buf_reset(&out->body);
    pthread_mutex_lock(&h->mu);
    out->status = as_evlog_fetch(h->log, resource, as_req_query(req, "sync"), &out->body);
    pthread_mutex_unlock(&h->mu);
}

bool as_hooks_route(const as_route_t *r)
{
    return r->id == AS_R_WEBHOOK_CREATE || r->id == AS_R_WEBHOOKS || r->id == AS_R_WEBHOOK_GET ||
           r->id == AS_R_WEBHOOK_DELETE || r->id == AS_R_EVENTS;
}

void as_hooks_handle(as_hooks_t *h, const as_route_t *r, const asana_req_t *req,
                     as_api_reply_t *out)
{
    out->status = 500;
    switch (r->id) {
    case AS_R_WEBHOOK_CREATE: h_create(h, req, out); break;
    case AS_R_WEBHOOKS: h_list(h, req, out); break;
    case AS_R_WEBHOOK_GET: h_get(h, r, out); break;
    case AS_R_WEBHOOK_DELETE: h_delete(h, r, out); break;
    case AS_R_EVENTS: h_events(h, req, out); break;
    default: reply_error(out, 404, "No matching route for request"); break;
    }
}

/* ---- /_sim/ ------------------------------------------------------------------------------------ */

bool as_hooks_sim(as_hooks_t *h, const char *method, const char *what, as_api_reply_t *out)
{
    char verb[16];
    unsigned long long gid;
    int used = 0;
    bool post = strcmp(method, "POST") == 0;
    if (strcmp(what, "events/expire-sync") == 0) {
        if (!post)
            return false;
        pthread_mutex_lock(&h->mu);
        as_evlog_expire_tokens(h->log, (uint32_t)now_ms() ^ (uint32_t)h->next_gid);
        pthread_mutex_unlock(&h->mu);
    } else if (sscanf(what, "webhooks/%llu/%15[a-z]%n", &gid, verb, &used) == 2 &&
               what[used] == '\0' && post &&
               (strcmp(verb, "delete") == 0 || strcmp(verb, "deactivate") == 0)) {
        pthread_mutex_lock(&h->mu);
        hook_t *k = hook_find(h, gid);
        if (k && strcmp(verb, "delete") == 0) {
            hook_remove(h, gid);
        } else if (k) {
            k->active = false;
            queue_drop(k, k->nqueue);
            k->heartbeat_due = false;
        }
        pthread_mutex_unlock(&h->mu);
        if (!k) {
            reply_error(out, 404, "webhook: Unknown object: %llu", gid);
            return true;
        }
    } else {
        return false;
    }
    out->status = 200;
    buf_reset(&out->body);
    buf_append(&out->body, "{\"ok\":true}", 11);
    return true;
}
