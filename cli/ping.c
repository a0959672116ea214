/* ping: `mlc ping TENANT [--json]`: are the tenant's ERP and Asana reachable with the stored
 * credentials? One cheap call per check, with the clients the workers use:
 *   erp token      a fresh token from the ERP's authorization server (IFS IAM client
 *                  credentials, ION password / refresh grant), not the cached one
 *   erp read       one row of the first flow, read by the flow's driver (IFS $top=1, M3
 *                  maxrecs=2 (the driver's least), SyteLine recordcap=1)
 *   asana token    GET /users/me
 *   asana project  GET /projects/{gid}: it exists, the token sees it, it is in the workspace
 * Exit status 0 only when every check passed. Writes nothing but token caches and the shared
 * rate-limit state of the ERP and Asana calls. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asana.h"
#include "cli.h"
#include "erp.h"
#include "ifs.h"
#include "ion.h"
#include "util.h"

#define PING_USAGE "usage: mlc ping TENANT [--json]\n"

typedef struct {
    json_t *checks;   /* [{check, ok, detail}] */
    bool    json;
    int     failed;
} ping_t;

/* Records one verdict and prints it unless --json. */
static void verdict(ping_t *p, const char *check, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void verdict(ping_t *p, const char *check, bool ok, const char *fmt, ...)
{
    char detail[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    json_array_append_new(p->checks, json_pack("{s:s, s:b, s:s}", "check", check, "ok", ok,
                                               "detail", detail));
    p->failed += !ok;
    if (!p->json)
        printf("%-14s %s%s%s%s\n", check, ok ? "ok" : "FAILED: ", ok && *detail ? " (" : "", detail,
               ok && *detail ? ")" : "");
}

/* A fresh token from the ERP's authorization server: 0 with *expires_in_s, -1 with err. */
static int erp_token(const erp_read_t *in, long *expires_in_s, char *err, size_t err_len)
{
    char *token = NULL;
    int rc;
    if (strcmp(in->tenant->erp_type, "ifs") == 0) {
        ifs_token_ud_t tr = { in->tenant, in->http };
        rc = ifs_fetch_token(&tr, &token, expires_in_s, err, err_len);
    } else {
        ion_session_t s;
        erp_result_t res = { 0 };
        rc = ion_session_open(&s, in, in->tenant->erp_type, NULL, &res);
        if (rc != 0)
            snprintf(err, err_len, "%s", res.error);
        else
            rc = ion_token_fetch(&s.auth, &token, expires_in_s, err, err_len);
        ion_session_close(&s);
    }
    free(token);
    return rc;
}

/* Sink of the read check: keeps the first record's ref and stops the read. */
static int first_row(void *ud, record_t *rec)
{
    char **ref = ud;
    if (!*ref)
        *ref = record_ref(rec);
    record_free(rec);
    free(rec);
    return 1;
}

static void check_erp(ping_t *p, const tenant_cfg_t *t, rds_t *r, http_client_t *http,
                      const uint8_t *key)
{
    char err[512];
    long expires_in = 0;
    erp_read_t in = { .tenant = t, .redis = r, .http = http, .master_key = key };
    bool token_ok = erp_token(&in, &expires_in, err, sizeof err) == 0;
    if (token_ok)
        verdict(p, "erp token", true, "%s, expires in %ld s", t->erp_type, expires_in);
    else
        verdict(p, "erp token", false, "%s", err);
    const erp_driver_t *drv = erp_driver(t->erp_type);
    if (!token_ok) {
        verdict(p, "erp read", false, "not tried: no token");
        return;
    }
    if (!drv) {
        verdict(p, "erp read", false, "no driver for ERP type %s", t->erp_type);
        return;
    }
    if (t->nflows == 0) {
        verdict(p, "erp read", false, "the tenant has no flow");
        return;
    }
    flow_cfg_t one = t->flows[0];   /* shallow copy: only the page size differs */
    one.page_size = 1;
    in.flow = &one;
    char *ref = NULL;
    erp_result_t res;
    drv->read(&in, first_row, &ref, &res);
    if (res.ok || ref)
        verdict(p, "erp read", true, "%s: %s", one.name, ref ? ref : "0 rows");
    else
        verdict(p, "erp read", false, "%s: %s", one.name, res.error);
    free(ref);
}

static void check_asana(ping_t *p, const tenant_cfg_t *t, rds_t *r, http_client_t *http)
{
    asana_t a;
    asana_init(&a, http, r, t);
    asana_res_t res = { 0 };
    if (asana_call(&a, "GET", "/users/me?opt_fields=name,email", NULL, &res) == 0)
        verdict(p, "asana token", true, "user %s <%s>",
                json_string_value(json_object_get(res.data, "name")) ?: "?",
                json_string_value(json_object_get(res.data, "email")) ?: "?");
    else
        verdict(p, "asana token", false, "%s", res.error);
    asana_res_free(&res);
    char *path = xasprintf("/projects/%s?opt_fields=name,workspace.gid", t->asana_project);
    if (asana_call(&a, "GET", path, NULL, &res) == 0) {
        const char *name = json_string_value(json_object_get(res.data, "name"));
        const char *ws = json_string_value(
            json_object_get(json_object_get(res.data, "workspace"), "gid"));
        if (ws && t->asana_workspace && strcmp(ws, t->asana_workspace) != 0)
            verdict(p, "asana project", false, "project %s (%s) is in workspace %s, the tenant "
                    "names workspace %s", t->asana_project, name ? name : "?", ws,
                    t->asana_workspace);
        else
            verdict(p, "asana project", true, "%s: %s", t->asana_project, name ? name : "?");
    } else {
        verdict(p, "asana project", false, "%s", res.error);
    }
    asana_res_free(&res);
    free(path);
    asana_release(&a);
}

int cmd_ping(int argc, char **argv)
{
    const char *tenant = NULL;
    ping_t p = { 0 };
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf(PING_USAGE
                   "Checks the credentials and reachability of the tenant's ERP and Asana with one\n"
                   "cheap call each: a fresh ERP token, one ERP row of the first flow, GET\n"
                   "/users/me and GET /projects/{gid}. Exit status 0 only when all pass.\n");
            return 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            p.json = true;
        } else if (argv[i][0] != '-' && !tenant) {
            tenant = argv[i];
        } else {
            fprintf(stderr, "mlc ping: unexpected argument %s\n" PING_USAGE, argv[i]);
            return 2;
        }
    }
    if (!tenant) {
        fprintf(stderr, PING_USAGE);
        return 2;
    }
    uint8_t key[MLC_KEY_LEN];
    tenant_cfg_t cfg;
    rds_t *r = cli_tenant_open("ping", tenant, key, &cfg);
    if (!r)
        return 1;
    http_client_t *http = http_client_new();
    p.checks = json_array();
    check_erp(&p, &cfg, r, http, key);
    check_asana(&p, &cfg, r, http);
    if (p.json)
        cli_print_json(json_pack("{s:s, s:b, s:O}", "tenant", cfg.id, "ok", p.failed == 0,
                                 "checks", p.checks));
    else
        printf("%s: %s\n", cfg.id, p.failed ? "FAILED" : "all checks passed");
    json_decref(p.checks);
    http_client_destroy(&http);
    tenant_cfg_free(&cfg);
    rds_destroy(&r);
    return p.failed ? 1 : 0;
}
