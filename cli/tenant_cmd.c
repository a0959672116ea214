/* tenant_cmd: `mlc tenant add FILE [--ionapi FILE.ionapi] | list | show ID`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "http.h"
#include "ion_token.h"
#include "ionapi.h"
#include "tenant.h"
#include "util.h"

#define USAGE "usage: mlc tenant add FILE [--ionapi FILE.ionapi] | list | show ID\n"

/* Loads a JSON file; NULL after printing "FILE: not valid JSON at line L column C: why". */
static json_t *load_json(const char *file)
{
    json_error_t jerr;
    json_t *obj = json_load_file(file, 0, &jerr);
    if (!obj)
        fprintf(stderr, "mlc tenant add: %s: not valid JSON at line %d column %d: %s\n", file,
                jerr.line, jerr.column, jerr.text);
    return obj;
}

/* Merges the members of a .ionapi file into erp.ionapi of tenant (the file wins member by
 * member); a .ionapi that is not an object replaces erp.ionapi, so validation names it. */
static void merge_ionapi(json_t *tenant, json_t *ionapi)
{
    json_t *cur = json_path_get(tenant, "erp.ionapi");
    if (json_is_object(cur) && json_is_object(ionapi))
        json_object_update(cur, ionapi);
    else
        json_path_set(tenant, "erp.ionapi", json_incref(ionapi));
}

/* When the stored tenant authenticated at ION with other credentials than next (or next has
 * none), revokes the tokens cached for the old ones, best effort, and says what happened. */
static void revoke_replaced(rds_t *r, const uint8_t key[MLC_KEY_LEN], const tenant_cfg_t *old,
                            const tenant_cfg_t *next)
{
    ionapi_t before, after;
    char err[512];
    if (ionapi_parse(json_object_get(old->erp, "ionapi"), "erp.ionapi", &before, err,
                     sizeof err) != 0)
        return; /* the old tenant did not use ION */
    int changed = ionapi_parse(json_object_get(next->erp, "ionapi"), "erp.ionapi", &after, err,
                               sizeof err) != 0 || ionapi_identity_differs(&before, &after);
    http_client_t *http = NULL;
    ion_auth_t auth = { &before, old->id, r, key, NULL };
    if (changed && ion_token_cached(&auth)) {
        auth.http = http = http_client_new();
        int n = ion_token_revoke(&auth, err, sizeof err);
        if (n >= 0)
            printf("ION credentials replaced: revoked %d cached token%s of the previous ones\n", n,
                   n == 1 ? "" : "s");
        else
            printf("ION credentials replaced: could not revoke the previous token (%s); it is "
                   "no longer used\n", err);
    }
    http_client_destroy(&http);
    ionapi_free(&before);
    ionapi_free(&after);
}

static int tenant_add(const char *file, const char *ionapi_file)
{
    json_t *obj = load_json(file);
    if (!obj)
        return 1;
    if (ionapi_file) {
        json_t *ionapi = load_json(ionapi_file);
        if (!ionapi) {
            json_decref(obj);
            return 1;
        }
        merge_ionapi(obj, ionapi);
        json_decref(ionapi);
    }
    tenant_cfg_t cfg;
    char err[512];
    if (tenant_cfg_parse(obj, &cfg, err, sizeof err) != 0) {
        bool from_ionapi = ionapi_file && str_starts(err, "erp.ionapi");
        fprintf(stderr, "mlc tenant add: %s: %s\n", from_ionapi ? ionapi_file : file, err);
        json_decref(obj);
        return 1;
    }
    uint8_t key[MLC_KEY_LEN];
    rds_t *r = NULL;
    int rc = 1;
    if (cli_master_key(key) == 0 && (r = cli_redis())) {
        tenant_cfg_t old;
        char old_err[512];
        int had_old = tenant_load(r, key, cfg.id, &old, old_err, sizeof old_err) == 0;
        if (tenant_store(r, key, obj, err, sizeof err) != 0) {
            fprintf(stderr, "mlc tenant add: %s\n", err);
        } else {
            printf("tenant %s stored (%s, %zu flow%s", cfg.id, cfg.erp_type, cfg.nflows,
                   cfg.nflows == 1 ? "" : "s");
            for (size_t i = 0; i < cfg.nflows; i++)
                printf("%s %s: %s", i ? ";" : ":", cfg.flows[i].name,
                       cfg.flows[i].schedule ? cfg.flows[i].schedule : "no schedule");
            printf("); secrets sealed with the master key\n");
            if (had_old)
                revoke_replaced(r, key, &old, &cfg);
            rc = 0;
        }
        if (had_old)
            tenant_cfg_free(&old);
    }
    rds_destroy(&r);
    tenant_cfg_free(&cfg);
    json_decref(obj);
    return rc;
}

/* The effective config with every secret member replaced by "***". */
static json_t *redacted(const tenant_cfg_t *cfg)
{
    json_t *copy = json_deep_copy(cfg->raw);
    for (int i = 0; TENANT_SECRET_PATHS[i]; i++)
        if (json_path_get(copy, TENANT_SECRET_PATHS[i]))
            json_path_set(copy, TENANT_SECRET_PATHS[i], json_string("***"));
    return copy;
}

int cmd_tenant(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        printf(USAGE);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "add") == 0) {
        const char *file = NULL, *ionapi_file = NULL;
        int bad = 0;
        for (int i = 2; i < argc; i++) {
            if (strcmp(argv[i], "--ionapi") == 0 && i + 1 < argc && !ionapi_file)
                ionapi_file = argv[++i];
            else if (argv[i][0] != '-' && !file)
                file = argv[i];
            else
                bad = 1;
        }
        if (bad || !file) {
            fprintf(stderr, "usage: mlc tenant add FILE [--ionapi FILE.ionapi]\n");
            return 2;
        }
        return tenant_add(file, ionapi_file);
    }
    rds_t *r = cli_redis();
    if (!r)
        return 1;
    int rc = 0;
    if (strcmp(argv[1], "list") == 0) {
        int n;
        char **ids = tenant_ids(r, &n);
        for (int i = 0; i < n; i++)
            puts(ids[i]);
        tenant_ids_free(ids, n);
    } else if (strcmp(argv[1], "show") == 0 && argc == 3) {
        uint8_t key[MLC_KEY_LEN];
        tenant_cfg_t cfg;
        char err[512];
        if (cli_master_key(key) != 0) {
            rc = 1;
        } else if (tenant_load(r, key, argv[2], &cfg, err, sizeof err) != 0) {
            fprintf(stderr, "mlc tenant show: %s\n", err);
            rc = 1;
        } else {
            cli_print_json(redacted(&cfg));
            tenant_cfg_free(&cfg);
        }
    } else {
        fprintf(stderr, USAGE);
        rc = 2;
    }
    rds_destroy(&r);
    return rc;
}
