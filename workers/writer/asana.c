/* asana: see asana.h. */
#include "asana.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "keys.h"
#include "log.h"
#include "ratelimit.h"
#include "reqstats.h"
#include "util.h"

void asana_init(asana_t *a, http_client_t *http, rds_t *redis, const tenant_cfg_t *t)
{
    memset(a, 0, sizeof *a);
    a->http = http;
    a->redis = redis;
    a->tenant = t->id;
    a->base = t->asana_base;
    const char *token = a->token = t->asana_token;
    a->rate_per_min = t->asana_rate_per_min;
    char hex[65];
    sha256_hex(token, strlen(token), hex);
    memcpy(a->token_id, hex, 16);
    a->token_id[16] = '\0';
    a->write_cap = (int)env_long("MLC_ASANA_WRITE_CONCURRENCY", 15);
    a->read_cap = (int)env_long("MLC_ASANA_READ_CONCURRENCY", 50);
}

void asana_res_free(asana_res_t *res)
{
    json_decref(res->body);
    res->body = NULL;
    res->data = NULL;
}

/* First error message of an Asana error body, or a fallback. */
static void error_text(const asana_res_t *res, const char *method, const char *path, char *out,
                       size_t len)
{
    json_t *errs = json_object_get(res->body, "errors");
    const char *msg = json_string_value(json_object_get(json_array_get(errs, 0), "message"));
    snprintf(out, len, "asana %s %s: %ld %s", method, path, res->status, msg ? msg : "");
}

int asana_append_release(asana_t *a)
{
    if (!a->held_holder)
        return 0;
    rds_append(a->redis, "ZREM %s %s", a->held_slots, a->held_holder);
    free(a->held_slots);
    free(a->held_holder);
    a->held_slots = a->held_holder = NULL;
    return 1;
}

void asana_release(asana_t *a)
{
    if (!a->held_holder)
        return;
    rl_slot_release(a->redis, a->held_slots, a->held_holder);
    free(a->held_slots);
    free(a->held_holder);
    a->held_slots = a->held_holder = NULL;
}

int asana_call(asana_t *a, const char *method, const char *path, json_t *data, asana_res_t *res)
{
    memset(res, 0, sizeof *res);
    asana_release(a);
    bool write = strcmp(method, "GET") != 0;
    char *slots = xasprintf(K_ASANA_SLOTS, a->token_id, write ? "writes" : "reads");
    char *pause = xasprintf(K_ASANA_PAUSE, a->token_id);
    char *holder = random_hex(8);
    char *url = xasprintf("%s%s", a->base, path);
    char *auth = xasprintf("Authorization: Bearer %s", a->token);
    char *body = NULL;
    if (data) {
        json_t *wrap = json_pack("{s:o}", "data", data);
        body = json_dumps(wrap, JSON_COMPACT | JSON_REAL_PRECISION(15));
        json_decref(wrap);
    }
    const char *hdrs[] = { auth, "Accept: application/json", "Content-Type: application/json", NULL };
    int rc = -1;
    char *rate = xasprintf(K_ASANA_RATE, a->token_id);
    for (int attempt = 0; attempt < 3; attempt++) {
        int64_t paused = 0, later = 0;
        int turn = a->rate_per_min > 0
                       ? rl_rate_wait(a->redis, rate, pause, a->rate_per_min,
                                      rl_rate_burst(a->rate_per_min), ASANA_TURN_WAIT_MS,
                                      ASANA_PAUSE_WAIT_MS, &later) : 1;
        if (turn != 1) {
            res->retryable = 1;
            res->retry_after_ms = later > 0 ? later : 1000;
            snprintf(res->error, sizeof res->error, turn < 0 ? "redis unreachable"
                     : "asana rate (%ld/min per token) or pause: next turn in %lld ms",
                     a->rate_per_min, (long long)later);
            break;
        }
        int got = rl_slot_wait(a->redis, slots, pause, write ? a->write_cap : a->read_cap, 60000,
                               holder, 2000, &paused);
        if (got != 1) {
            res->retryable = 1;
            res->retry_after_ms = paused;
            snprintf(res->error, sizeof res->error, got < 0 ? "redis unreachable"
                     : paused ? "asana paused after a 429 (token rate limited)"
                              : "asana in-flight limit busy");
            break;
        }
        http_req_t req = { .method = method, .url = url, .headers = hdrs, .body = body,
                           .body_len = body ? strlen(body) : 0, .timeout_ms = ASANA_TIMEOUT_MS };
        http_resp_t resp;
        int hr = http_do(a->http, &req, &resp);
        reqstats_response(a->tenant, REQSTATS_ASANA, &resp);
        bool defer = a->defer_release && write && hr == 0 && resp.status >= 200 && resp.status < 300;
        if (defer) {
            a->held_slots = slots;
            a->held_holder = holder;
            slots = holder = NULL;
        } else {
            rl_slot_release(a->redis, slots, holder);
        }
        res->status = resp.status;
        json_decref(res->body);
        res->body = hr == 0 && resp.body.len ? json_loadb(resp.body.data, resp.body.len, 0, NULL)
                                             : NULL;
        if (hr != 0) {
            res->retryable = 1;
            snprintf(res->error, sizeof res->error, "asana %s %s: %s", method, path, resp.error);
        } else if (resp.status >= 200 && resp.status < 300) {
            res->data = json_object_get(res->body, "data");
            rc = 0;
        } else {
            error_text(res, method, path, res->error, sizeof res->error);
            res->retryable = resp.status == 429 || resp.status >= 500;
            long ra = http_retry_after_ms(&resp);
            if (resp.status == 429 || (resp.status == 503 && ra > 0)) {
                if (resp.status == 429)
                if (ra < 0)
                    ra = 1000;
                rl_pause(a->redis, pause, ra);
                mlog(LOG_WARN, "asana.pause", "%ld: pausing token %s for %ld ms", resp.status,
                     a->token_id, ra);
            }
            res->retry_after_ms = ra > 0 ? ra : 0;
        }
        http_resp_free(&resp);
        /* Short waits are absorbed here; long ones go back to the job as a retry time. */
        if (rc == 0 || !res->retryable || res->status != 429 || res->retry_after_ms > 2000)
            break;
    }
    free(rate);
    free(slots);
    free(pause);
    free(holder);
    free(url);
    free(auth);
    free(body);
    return rc;
}

char *asana_me(asana_t *a)
{
    char *key = xasprintf(K_ASANA_ME, a->token_id);
    redisReply *rep = rds_cmd(a->redis, "GET %s", key);
    char *gid = rep && rep->type == REDIS_REPLY_STRING ? xstrdup(rep->str) : NULL;
    if (rep)
        freeReplyObject(rep);
    if (!gid) {
        asana_res_t res;
        if (asana_call(a, "GET", "/users/me?opt_fields=gid", NULL, &res) == 0) {
            const char *g = json_string_value(json_object_get(res.data, "gid"));
            gid = g ? xstrdup(g) : NULL;
        }
        asana_res_free(&res);
        if (gid) {
            rep = rds_cmd(a->redis, "SET %s %s EX 86400", key, gid);
            if (rep)
                freeReplyObject(rep);
        }
    }
    free(key);
    return gid;
}

int asana_each_page(asana_t *a, const char *first_path,
                    void (*fn)(void *ud, json_t *page), void *ud, asana_res_t *res)
{
    char *path = xstrdup(first_path);
    int rc = 0;
    while (path) {
        if (asana_call(a, "GET", path, NULL, res) != 0) {
            rc = -1;
            break;
        }
        fn(ud, res->data);
        const char *offset = json_string_value(
            json_object_get(json_object_get(res->body, "next_page"), "offset"));
        free(path);
        path = NULL;
        if (offset) {
            char *enc = url_encode(offset);
            path = xasprintf("%s&offset=%s", first_path, enc);
            free(enc);
        }
        asana_res_free(res);
    }
    free(path);
    return rc;
}
