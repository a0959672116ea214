/* cli: see cli.h. */
#include "cli.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "util.h"

const char *cli_exe_dir(void)
{
    static char dir[PATH_MAX];
    if (!dir[0]) {
        char path[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
        if (n <= 0)
            return ".";
        path[n] = '\0';
        snprintf(dir, sizeof dir, "%s", dirname(path));
    }
    return dir;
}

const char *cli_run_dir(void)
{
    static char dir[PATH_MAX];
    if (!dir[0]) {
        const char *env = getenv("MLC_RUN_DIR");
        if (env && *env) {
            snprintf(dir, sizeof dir, "%s", env);
        } else {
            char path[PATH_MAX];
            snprintf(path, sizeof path, "%s/../run", cli_exe_dir());
            char *real = realpath(cli_exe_dir(), NULL);
            snprintf(dir, sizeof dir, "%s/../run", real ? real : cli_exe_dir());
            free(real);
            char *norm = realpath(dir, NULL);   /* exists once `up` ran */
            if (norm) {
                snprintf(dir, sizeof dir, "%s", norm);
                free(norm);
            }
        }
    }
    return dir;
}

json_t *cli_state_load(void)
{
    char *path = xasprintf("%s/state.json", cli_run_dir());
    json_t *j = json_load_file(path, 0, NULL);
    free(path);
    return j;
}

int cli_state_save(const json_t *state)
{
    char *path = xasprintf("%s/state.json", cli_run_dir());
    char *tmp = xasprintf("%s.tmp", path);
    int rc = json_dump_file(state, tmp, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -1;
    free(path);
    free(tmp);
    return rc;
}

void cli_env_from_state(void)
{
    json_t *st = cli_state_load();
    const char *redis = json_string_value(json_object_get(st, "redis_url"));
    const char *broker = json_string_value(json_object_get(st, "broker_url"));
    if (redis && !getenv("MLC_REDIS_URL"))
        setenv("MLC_REDIS_URL", redis, 1);
    if (broker && !getenv("MLC_BROKER_URL"))
        setenv("MLC_BROKER_URL", broker, 1);
    if (!getenv("MLC_MASTER_KEY") && !getenv("MLC_MASTER_KEY_FILE")) {
        char *key = xasprintf("%s/master.key", cli_run_dir());
        if (access(key, R_OK) == 0)
            setenv("MLC_MASTER_KEY_FILE", key, 1);
        free(key);
    }
    json_decref(st);
}

rds_t *cli_redis(void)
{
    char err[256];
    const char *url = env_or("MLC_REDIS_URL", DEFAULT_REDIS_URL);
    rds_t *r = rds_connect(url, err, sizeof err);
    if (!r)
        fprintf(stderr, "mlc: cannot reach Redis at %s: %s (is the stack up? `mlc up`)\n", url, err);
    return r;
}

int cli_master_key(uint8_t key[MLC_KEY_LEN])
{
    char err[256];
    if (master_key_load(key, err, sizeof err) != 0) {
        fprintf(stderr, "mlc: %s\n", err);
        return -1;
    }
    return 0;
}

void cli_print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (s)
        puts(s);
    free(s);
    json_decref(j);
}
