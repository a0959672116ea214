/* webhooks: `mlc webhooks list|register|delete`: the tenant's Asana webhook as Redis stores it
 * (K_HOOK, the sealed secret left out) and as Asana sees it; a registration run by the writer
 * (a "webhook_check" job, hooks.h); a deletion in Asana and in K_HOOK. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asana.h"
#include "audit.h"
#include "bus.h"
#include "cli.h"
#include "job.h"
#include "keys.h"
#include "util.h"

#define HOOKS_USAGE                                                                          \
    "usage: mlc webhooks list [TENANT] [--json]\n"                                          \
    "       mlc webhooks register TENANT [--timeout S]\n"                                   \
    "       mlc webhooks delete TENANT\n"

/* The K_HOOK fields shown, in this order. */
static const char *const STORED[] = { "gid", "resource", "target", "active", "created_at",
                                      "handshake_at", "checked_at", "last_success_at",
                                      "last_failure_at", "delivery_retry_count",
                                      "last_delivery_at", "last_heartbeat_at", "reconciled_at",
                                      "last_error", NULL };

static void collect(void *ud, json_t *page)
{
    json_array_extend(ud, page);
}

/* K_HOOK of the tenant without the secret (whose presence becomes "secret_sealed": true);
 * NULL when Redis failed. */
static json_t *stored_hook(rds_t *r, const char *tenant)
{
    char *key = xasprintf(K_HOOK, tenant);
    json_t *h = cli_hgetall(r, key);
    free(key);
    if (h && json_object_get(h, "secret")) {
        json_object_del(h, "secret");
        json_object_set_new(h, "secret_sealed", json_true());
    }
    return h;
}

/* What one tenant's webhook looks like: {tenant, stored, asana | asana_error, in_asana}. */
static json_t *hook_view(rds_t *r, const tenant_cfg_t *t, http_client_t *http)
{
    json_t *stored = stored_hook(r, t->id);
    if (!stored)
        return NULL;
    asana_t a;
    asana_init(&a, http, r, t);
    char *path = xasprintf("/webhooks?workspace=%s&resource=%s&limit=100&opt_fields=active,"
                           "resource.name,target,created_at,last_success_at,last_failure_at,"
                           "last_failure_content,delivery_retry_count,filters",
                           t->asana_workspace, t->asana_project);
    json_t *list = json_array();
    asana_res_t res = { 0 };
    json_t *view = json_pack("{s:s, s:s, s:o}", "tenant", t->id, "project", t->asana_project,
                             "stored", stored);
    if (asana_each_page(&a, path, collect, list, &res) == 0) {
        const char *gid = json_string_value(json_object_get(stored, "gid"));
        bool found = false;
        size_t i;
        json_t *w;
        json_array_foreach(list, i, w) {
            const char *g = json_string_value(json_object_get(w, "gid"));
            found |= gid && g && strcmp(g, gid) == 0;
        }
        json_object_set(view, "asana", list);
        json_object_set_new(view, "in_asana", json_boolean(found));
    } else {
        json_object_set_new(view, "asana_error", json_string(res.error));
    }
    asana_res_free(&res);
    asana_release(&a);
    json_decref(list);
    free(path);
    return view;
}

static void hook_print(const json_t *v)
{
    const json_t *stored = json_object_get(v, "stored");
    const char *gid = cli_text(stored, "gid", NULL);
    if (gid)
        printf("%s: webhook %s on project %s -> %s\n", cli_text(v, "tenant", "?"), gid,
               cli_text(v, "project", "?"), cli_text(stored, "target", "?"));
    else
        printf("%s: no webhook stored (project %s)\n", cli_text(v, "tenant", "?"),
               cli_text(v, "project", "?"));
    printf("  stored:");
    for (int i = 1; STORED[i]; i++)
        if (cli_text(stored, STORED[i], NULL) && strcmp(STORED[i], "target") != 0)
            printf(" %s=%s", STORED[i], cli_text(stored, STORED[i], ""));
    printf("%s\n", json_is_true(json_object_get(stored, "secret_sealed")) ? " secret=(sealed)" : "");
    if (json_object_get(v, "asana_error")) {
        printf("  asana: cannot list webhooks: %s\n", cli_text(v, "asana_error", "?"));
        return;
    }
    const json_t *list = json_object_get(v, "asana");
    if (gid && !json_is_true(json_object_get(v, "in_asana")))
        printf("  asana: webhook %s NOT FOUND (deleted in Asana; the watchdog registers again)\n",
               gid);
    if (json_array_size(list) == 0)
        printf("  asana: no webhook on the project\n");
    size_t i;
    const json_t *w;
    json_array_foreach(list, i, w) {
        const char *g = cli_text(w, "gid", "?");
        json_int_t retries = json_integer_value(json_object_get(w, "delivery_retry_count"));
        printf("  asana: %s %s%s -> %s, last success %s, last failure %s, %lld retr%s\n", g,
               json_is_true(json_object_get(w, "active")) ? "active" : "INACTIVE",
               gid && strcmp(g, gid) == 0 ? " (the stored one)" : " (not ours)",
               cli_text(w, "target", "?"), cli_text(w, "last_success_at", "-"),
               cli_text(w, "last_failure_at", "-"), (long long)retries, retries == 1 ? "y" : "ies");
        if (cli_text(w, "last_failure_content", NULL))
            printf("         last failure: %s\n", cli_text(w, "last_failure_content", ""));
    }
}

static int hooks_list(const char *tenant, bool json)
{
    rds_t *r = cli_redis();
    if (!r)
        return 1;
    json_t *ids = cli_tenants(r, "webhooks list", tenant);
    rds_destroy(&r);
    if (!ids)
        return 1;
    json_t *views = json_array();
    http_client_t *http = http_client_new();
    int rc = 0;
    size_t i;
    json_t *id;
    json_array_foreach(ids, i, id) {
        uint8_t key[MLC_KEY_LEN];
        tenant_cfg_t cfg;
        rds_t *tr = cli_tenant_open("webhooks list", json_string_value(id), key, &cfg);
        json_t *v = tr ? hook_view(tr, &cfg, http) : NULL;
        if (!v)
            rc = 1;
        else if (json)
            json_array_append(views, v);
        else
            hook_print(v);
        json_decref(v);
        if (tr)
            tenant_cfg_free(&cfg);
        rds_destroy(&tr);
    }
    if (json)
        cli_print_json(json_incref(views));
    json_decref(views);
    json_decref(ids);
    http_client_destroy(&http);
    return rc;
}

/* Polls job id of tenant until it is done or dead (or timeout_s passes). Returns its final
 * state (malloc'd) with its result and error, or NULL on timeout / Redis failure. */
static char *job_wait(rds_t *r, const char *tenant, const char *id, int timeout_s, char **result,
                      char **error)
{
    char *key = xasprintf(K_JOB, tenant, id);
    int64_t end = mono_ms() + (int64_t)timeout_s * 1000;
    char *state = NULL, *shown_error = NULL;
    *result = *error = NULL;
    while (mono_ms() < end) {
        redisReply *rep = rds_cmd(r, "HMGET %s state result error", key);
        if (!rds_ok(rep) || rep->type != REDIS_REPLY_ARRAY || rep->elements != 3) {
            if (rep)
                freeReplyObject(rep);
            break;
        }
        state = rds_str(rep->element[0]);
        *result = rds_str(rep->element[1]);
        *error = rds_str(rep->element[2]);
        freeReplyObject(rep);
        if (state && (strcmp(state, "done") == 0 || strcmp(state, "dead") == 0))
            break;
        if (state && strcmp(state, "retry") == 0 && *error &&
            (!shown_error || strcmp(shown_error, *error) != 0)) {
            printf("writer will retry: %s\n", *error);
            free(shown_error);
            shown_error = xstrdup(*error);
        }
        free(state);
        free(*result);
        free(*error);
        state = *result = *error = NULL;
        sleep_ms(100);
    }
    free(shown_error);
    free(key);
    return state;
}

static int hooks_register(const char *tenant, int timeout_s)
{
    uint8_t key[MLC_KEY_LEN];
    tenant_cfg_t cfg;
    rds_t *r = cli_tenant_open("webhooks register", tenant, key, &cfg);
    if (!r)
        return 1;
    bus_t *bus = bus_producer_new(env_or("MLC_BROKER_URL", DEFAULT_BROKER_URL));
    char *id = xasprintf("webhook_check:cli-%lld", (long long)now_ms());
    job_t j = { .id = id, .tenant = cfg.id, .service = "write", .type = "webhook_check",
                .ref = "-", .payload = "{\"requested_by\":\"cli\"}" };
    int rc = 1;
    if (job_submit(r, bus, &j) < 0) {
        fprintf(stderr, "mlc webhooks register: cannot record job %s in Redis\n", id);
    } else {
        printf("queued %s; waiting for the writer\n", id);
        char *result, *error;
        char *state = job_wait(r, cfg.id, id, timeout_s, &result, &error);
        json_t *res = result ? json_loads(result, 0, NULL) : NULL;
        if (!state) {
            fprintf(stderr, "mlc webhooks register: job %s not finished after %d s (see `mlc jobs "
                    "show %s %s`)\n", id, timeout_s, cfg.id, id);
        } else if (strcmp(state, "dead") == 0) {
            fprintf(stderr, "mlc webhooks register: FAILED: %s\n", error ? error : "?");
        } else if (json_object_get(res, "registered")) {
            printf("registered webhook %s (%s)\n", cli_text(res, "registered", "?"),
                   cli_text(res, "reason", "-"));
            rc = 0;
        } else if (json_object_get(res, "healthy")) {
            printf("webhook %s is registered and healthy: nothing to do\n",
                   cli_text(res, "healthy", "?"));
            rc = 0;
        } else if (json_object_get(res, "skipped")) {
            printf("no webhook wanted: %s\n", cli_text(res, "skipped", "?"));
            rc = 0;
        } else {
            fprintf(stderr, "mlc webhooks register: FAILED: %s\n",
                    cli_text(res, "error", result ? result : "no result"));
        }
        json_decref(res);
        free(state);
        free(result);
        free(error);
    }
    free(id);
    bus_destroy(&bus);
    tenant_cfg_free(&cfg);
    rds_destroy(&r);
    return rc;
}

static int hooks_delete(const char *tenant)
{
    uint8_t key[MLC_KEY_LEN];
    tenant_cfg_t cfg;
    rds_t *r = cli_tenant_open("webhooks delete", tenant, key, &cfg);
    if (!r)
        return 1;
    char *hook_key = xasprintf(K_HOOK, cfg.id);
    redisReply *rep = rds_cmd(r, "HGET %s gid", hook_key);
    char *gid = rds_str(rep);
    if (rep)
        freeReplyObject(rep);
    int rc = 1;
    if (!gid || !*gid) {
        fprintf(stderr, "mlc webhooks delete: tenant %s has no webhook stored (see `mlc webhooks "
                "list %s`)\n", cfg.id, cfg.id);
    } else {
        http_client_t *http = http_client_new();
        asana_t a;
        asana_init(&a, http, r, &cfg);
        asana_res_t res = { 0 };
        char *path = xasprintf("/webhooks/%s", gid);
        bool gone = asana_call(&a, "DELETE", path, NULL, &res) == 0 || res.status == 404;
        if (!gone) {
            fprintf(stderr, "mlc webhooks delete: %s\n", res.error);
        } else {
            rep = rds_cmd(r, "HDEL %s gid active", hook_key);
            if (rds_ok(rep)) {
                audit_add(r, cfg.id, "webhook", "webhook.deleted",
                          json_pack("{s:s, s:s, s:b}", "gid", gid, "by", "mlc",
                                    "already_gone", res.status == 404));
                printf("deleted webhook %s of tenant %s%s\n", gid, cfg.id,
                       res.status == 404 ? " (Asana no longer had it)" : "");
                if (json_is_false(json_path_get(cfg.raw, "asana.webhook")))
                    printf("asana.webhook is false in the tenant: no new one is registered\n");
                else
                    printf("note: the webhook watchdog registers a new one at its next check "
                           "(MLC_WEBHOOK_WATCHDOG_S) unless the tenant sets \"asana\": "
                           "{\"webhook\": false}\n");
                rc = 0;
            } else {
                fprintf(stderr, "mlc webhooks delete: deleted in Asana but cannot clear %s\n",
                        hook_key);
            }
            if (rep)
                freeReplyObject(rep);
        }
        asana_res_free(&res);
        asana_release(&a);
        free(path);
        http_client_destroy(&http);
    }
    free(gid);
    free(hook_key);
    tenant_cfg_free(&cfg);
    rds_destroy(&r);
    return rc;
}

int cmd_webhooks(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        printf(HOOKS_USAGE
               "  list       the stored webhook of each tenant (secret left out) next to the\n"
               "             webhooks Asana has on the tenant's project\n"
               "  register   asks the writer to check the webhook and register it when none is\n"
               "             stored or Asana deleted or deactivated it; waits for the outcome\n"
               "             (--timeout S, default 60)\n"
               "  delete     deletes the webhook in Asana and forgets it in Redis; the watchdog\n"
               "             registers a new one unless the tenant sets asana.webhook false\n");
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1], *tenant = NULL;
    bool json = false;
    int timeout_s = 60;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0 && strcmp(sub, "list") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc &&
                   strcmp(sub, "register") == 0) {
            timeout_s = atoi(argv[++i]);
        } else if (argv[i][0] != '-' && !tenant) {
            tenant = argv[i];
        } else {
            fprintf(stderr, "mlc webhooks: unexpected argument %s\n" HOOKS_USAGE, argv[i]);
            return 2;
        }
    }
    if (strcmp(sub, "list") == 0)
        return hooks_list(tenant, json);
    if (tenant && strcmp(sub, "register") == 0)
        return hooks_register(tenant, timeout_s > 0 ? timeout_s : 60);
    if (tenant && strcmp(sub, "delete") == 0)
        return hooks_delete(tenant);
    fprintf(stderr, HOOKS_USAGE);
    return 2;
}
