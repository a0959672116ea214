/* tenant_cmd: `mlc tenant add FILE | list | show ID`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "tenant.h"
#include "util.h"

static int tenant_add(const char *file)
{
    json_error_t jerr;
    json_t *obj = json_load_file(file, 0, &jerr);
    if (!obj) {
        fprintf(stderr, "mlc tenant add: %s: not valid JSON at line %d column %d: %s\n", file,
                jerr.line, jerr.column, jerr.text);
        return 1;
    }
    tenant_cfg_t cfg;
    char err[512];
    if (tenant_cfg_parse(obj, &cfg, err, sizeof err) != 0) {
        fprintf(stderr, "mlc tenant add: %s: %s\n", file, err);
        json_decref(obj);
        return 1;
    }
    uint8_t key[MLC_KEY_LEN];
    rds_t *r = NULL;
    int rc = 1;
    if (cli_master_key(key) == 0 && (r = cli_redis())) {
        if (tenant_store(r, key, obj, err, sizeof err) != 0) {
            fprintf(stderr, "mlc tenant add: %s\n", err);
        } else {
            printf("tenant %s stored (%s, %zu flow%s", cfg.id, cfg.erp_type, cfg.nflows,
                   cfg.nflows == 1 ? "" : "s");
            for (size_t i = 0; i < cfg.nflows; i++)
                printf("%s %s: %s", i ? ";" : ":", cfg.flows[i].name,
                       cfg.flows[i].schedule ? cfg.flows[i].schedule : "no schedule");
            printf("); secrets sealed with the master key\n");
            rc = 0;
        }
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
        printf("usage: mlc tenant add FILE | list | show ID\n");
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "add") == 0) {
        if (argc != 3) {
            fprintf(stderr, "usage: mlc tenant add FILE\n");
            return 2;
        }
        return tenant_add(argv[2]);
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
        fprintf(stderr, "usage: mlc tenant add FILE | list | show ID\n");
        rc = 2;
    }
    rds_destroy(&r);
    return rc;
}
