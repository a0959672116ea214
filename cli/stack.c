/* stack: `mlc up` and `mlc down`: the embedded default deployment. Processes run detached
 * (own session) with their logs in run/logs; run/state.json remembers their pids, the Redis
 * URL and every endpoint, so status and down work from any shell. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "crypto.h"
#include "tenant.h"
#include "util.h"

/* Starts argv[0] (a path) detached with stdout/stderr appended to log. Returns the pid or -1. */
static pid_t spawn(char *const argv[], const char *log)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        setsid();
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        int null = open("/dev/null", O_RDONLY);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        if (null >= 0)
            dup2(null, 0);
        execv(argv[0], argv);
        fprintf(stderr, "cannot start %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

static bool alive(pid_t pid)
{
    if (pid <= 0)
        return false;
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid)
        return false;
    return kill(pid, 0) == 0;
}

/* Waits until url's Redis answers PING (or the process died). */
static int wait_redis(const char *url, pid_t pid, int64_t timeout_ms)
{
    int64_t end = mono_ms() + timeout_ms;
    while (mono_ms() < end) {
        char err[128];
        rds_t *r = rds_connect(url, err, sizeof err);
        if (r) {
            redisReply *rep = rds_cmd(r, "PING");
            bool ok = rds_ok(rep);
            if (rep)
                freeReplyObject(rep);
            rds_destroy(&r);
            if (ok)
                return 0;
        }
        if (pid > 0 && !alive(pid))
            return -1;
        sleep_ms(50);
    }
    return -1;
}

/* Waits for a file to exist and hold JSON (the simulator's port file). */
static json_t *wait_json_file(const char *path, pid_t pid, int64_t timeout_ms)
{
    int64_t end = mono_ms() + timeout_ms;
    while (mono_ms() < end) {
        json_t *j = json_load_file(path, 0, NULL);
        if (j)
            return j;
        if (!alive(pid))
            return NULL;
        sleep_ms(50);
    }
    return NULL;
}

static int ensure_master_key(const char *run)
{
    if (getenv("MLC_MASTER_KEY") || getenv("MLC_MASTER_KEY_FILE"))
        return 0;
    char *path = xasprintf("%s/master.key", run);
    if (access(path, R_OK) != 0) {
        char *hex = random_hex(MLC_KEY_LEN);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (fd < 0 || write(fd, hex, strlen(hex)) != (ssize_t)strlen(hex) || write(fd, "\n", 1) != 1) {
            fprintf(stderr, "mlc: cannot write %s: %s\n", path, strerror(errno));
            if (fd >= 0)
                close(fd);
            free(hex);
            free(path);
            return -1;
        }
        close(fd);
        free(hex);
        printf("generated master key %s (keep it: it opens the stored credentials)\n", path);
    }
    setenv("MLC_MASTER_KEY_FILE", path, 1);
    free(path);
    return 0;
}

static void add_proc(json_t *procs, const char *name, pid_t pid, const char *log)
{
    json_array_append_new(procs, json_pack("{s:s, s:i, s:s}", "name", name, "pid", (int)pid,
                                           "log", log));
}

/* Starts bin/<prog> with args; records it. Returns 0 or -1 (message printed). */
static int start_proc(json_t *procs, const char *name, const char *prog, const char *extra1,
                      const char *extra2)
{
    char *exe = xasprintf("%s/%s", cli_exe_dir(), prog);
    char *log = xasprintf("%s/logs/%s.log", cli_run_dir(), name);
    char *argv[] = { exe, (char *)extra1, (char *)extra2, NULL };
    pid_t pid = spawn(argv, log);
    int rc = 0;
    if (pid < 0) {
        fprintf(stderr, "mlc: cannot start %s\n", prog);
        rc = -1;
    } else {
        add_proc(procs, name, pid, log);
    }
    free(exe);
    free(log);
    return rc;
}

/* Replaces every occurrence of from in text (malloc'd) by to; returns a new string. */
static char *replace_all(const char *text, const char *from, const char *to)
{
    buf_t b;
    buf_init(&b);
    size_t flen = strlen(from);
    for (const char *p = text, *hit; ; p = hit + flen) {
        hit = strstr(p, from);
        if (!hit) {
            buf_append(&b, p, strlen(p));
            break;
        }
        buf_append(&b, p, (size_t)(hit - p));
        buf_append(&b, to, strlen(to));
    }
    return buf_steal(&b);
}

/* The demo tenants shipped in deploy/demo (one per ERP), in the order they are added. */
static const char *const DEMO_TENANT_FILES[] = { "tenant-ifs.json", "tenant-m3.json",
                                                 "tenant-syteline.json", NULL };

/* A demo tenant file with its simulator URLs (written for the default ports 18081 IFS, 18082
 * ION, 18083 Asana) pointed at the ports in use. NULL (message printed) when unreadable. */
static json_t *demo_tenant(const char *file, const int ports[3])
{
    char *path = xasprintf("%s/../deploy/demo/%s", cli_exe_dir(), file);
    char *text = read_file(path, NULL);
    if (!text) {
        fprintf(stderr, "mlc: demo tenant %s: %s\n", path, strerror(errno));
        free(path);
        return NULL;
    }
    static const char *const DEFAULTS[3] = { "127.0.0.1:18081", "127.0.0.1:18082", "127.0.0.1:18083" };
    for (int i = 0; i < 3; i++) {
        char *to = xasprintf("127.0.0.1:%d", ports[i]);
        char *next = replace_all(text, DEFAULTS[i], to);
        free(text);
        free(to);
        text = next;
    }
    json_error_t jerr;
    json_t *t = json_loads(text, 0, &jerr);
    if (!t)
        fprintf(stderr, "mlc: demo tenant %s: %s\n", path, jerr.text);
    free(text);
    free(path);
    return t;
}

static void stop_pid(pid_t pid)
{
    if (!alive(pid))
        return;
    kill(pid, SIGTERM);
    for (int i = 0; i < 100 && alive(pid); i++)
        sleep_ms(50);
    if (alive(pid))
        kill(pid, SIGKILL);
}

static int stop_state(json_t *st)
{
    json_t *procs = json_object_get(st, "procs");
    /* Reverse start order: workers before the broker, Redis last. */
    for (size_t i = json_array_size(procs); i-- > 0;)
        stop_pid((pid_t)json_integer_value(json_object_get(json_array_get(procs, i), "pid")));
    return 0;
}

int cmd_up(int argc, char **argv)
{
    bool demo = false, sync_now = true;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--demo") == 0) {
            demo = true;
        } else if (strcmp(argv[i], "--no-sync") == 0) {
            sync_now = false;
        } else if (strcmp(argv[i], "--help") == 0) {
            printf("usage: mlc up [--demo [--no-sync]]\n"
                   "Starts the stack in the background (logs in %s/logs). Without MLC_REDIS_URL a\n"
                   "local redis-server (AOF on) is started on MLC_REDIS_PORT (default 16379).\n"
                   "--demo also starts the simulators (IFS on MLC_SIM_IFS_PORT, default 18081; Infor\n"
                   "ION on MLC_SIM_ION_PORT, 18082; Asana on MLC_SIM_ASANA_PORT, 18083), adds the demo\n"
                   "tenants (deploy/demo: IFS, M3, SyteLine) and syncs them; MLC_SIM_IFS_CONFIG,\n"
                   "MLC_SIM_ION_CONFIG, MLC_SIM_ASANA_CONFIG pass JSON settings to the simulators;\n"
                   "--no-sync adds the demo tenant without starting a sync (benchmarks).\n"
                   "The webhook gateway listens on MLC_GW_PORT (18088); Asana is told to deliver to\n"
                   "MLC_WEBHOOK_URL (default http://127.0.0.1:<MLC_GW_PORT>).\n",
                   cli_run_dir());
            return 0;
        } else {
            fprintf(stderr, "mlc up: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    json_t *old = cli_state_load();
    if (old) {
        json_t *procs = json_object_get(old, "procs");
        size_t i;
        json_t *p;
        bool any = false;
        json_array_foreach(procs, i, p) any |= alive((pid_t)json_integer_value(json_object_get(p, "pid")));
        if (any) {
            fprintf(stderr, "mlc up: already running (see `mlc status`, stop with `mlc down`)\n");
            json_decref(old);
            return 1;
        }
        json_decref(old);
    }
    const char *run = cli_run_dir();
    char *logs = xasprintf("%s/logs", run);
    mkdir(run, 0755);
    mkdir(logs, 0755);
    free(logs);
    if (ensure_master_key(run) != 0)
        return 1;

    json_t *st = json_object();
    json_t *procs = json_array();
    json_object_set_new(st, "procs", procs);
    json_t *endpoints = json_object();
    json_object_set_new(st, "endpoints", endpoints);
    int rc = 0;

    if (!getenv("MLC_REDIS_URL")) {
        long port = env_long("MLC_REDIS_PORT", 16379);
        char *dir = xasprintf("%s/redis", run);
        mkdir(dir, 0755);
        char *portstr = xasprintf("%ld", port);
        char *log = xasprintf("%s/logs/redis.log", run);
        char *argv_r[] = { "/usr/bin/redis-server", "--port", portstr, "--bind", "127.0.0.1",
                           "--dir", dir, "--appendonly", "yes", "--appendfsync", "everysec",
                           "--save", "", "--daemonize", "no", "--protected-mode", "yes", NULL };
        pid_t pid = spawn(argv_r, log);
        char *url = xasprintf("redis://127.0.0.1:%ld/0", port);
        if (pid < 0 || wait_redis(url, pid, 10000) != 0) {
            fprintf(stderr, "mlc up: redis-server did not start on port %ld (see %s)\n", port, log);
            rc = -1;
        } else {
            add_proc(procs, "redis", pid, log);
            setenv("MLC_REDIS_URL", url, 1);
        }
        free(dir);
        free(portstr);
        free(log);
        free(url);
    } else if (wait_redis(getenv("MLC_REDIS_URL"), 0, 5000) != 0) {
        fprintf(stderr, "mlc up: MLC_REDIS_URL %s does not answer\n", getenv("MLC_REDIS_URL"));
        rc = -1;
    }
    setenv("MLC_BROKER_URL", env_or("MLC_BROKER_URL", DEFAULT_BROKER_URL), 1);
    json_object_set_new(st, "redis_url", json_string(env_or("MLC_REDIS_URL", "")));
    json_object_set_new(st, "broker_url", json_string(getenv("MLC_BROKER_URL")));
    json_object_set_new(endpoints, "redis", json_string(env_or("MLC_REDIS_URL", "")));
    json_object_set_new(endpoints, "broker", json_string(getenv("MLC_BROKER_URL")));

    int ifs_port = (int)env_long("MLC_SIM_IFS_PORT", 18081);
    int ion_port = (int)env_long("MLC_SIM_ION_PORT", 18082);
    int asana_port = (int)env_long("MLC_SIM_ASANA_PORT", 18083);
    if (rc == 0 && demo) {
        char *pf = xasprintf("%s/sim-ports.json", run);
        unlink(pf);
        char *exe = xasprintf("%s/mlc-sim", cli_exe_dir());
        char *log = xasprintf("%s/logs/sim.log", run);
        char *ip = xasprintf("%d", ifs_port), *ap = xasprintf("%d", asana_port);
        char *np = xasprintf("%d", ion_port);
        /* Simulator settings for tests and demos (fault switches, latency, token lifetime). */
        /* One thread per connection: simulated latency must not serialize requests. */
        char *argv_s[20] = { exe, "--ifs-port", ip, "--ion-port", np, "--asana-port", ap,
                             "--port-file", pf, "--threads", "0" };
        int na = 11;
        static const char *const CONFIGS[][2] = { { "MLC_SIM_IFS_CONFIG", "--ifs-config" },
                                                  { "MLC_SIM_ION_CONFIG", "--ion-config" },
                                                  { "MLC_SIM_ASANA_CONFIG", "--asana-config" } };
        for (int c = 0; c < 3; c++) {
            const char *v = getenv(CONFIGS[c][0]);
            if (v && *v) {
                argv_s[na++] = (char *)CONFIGS[c][1];
                argv_s[na++] = (char *)v;
            }
        }
        argv_s[na] = NULL;
        pid_t pid = spawn(argv_s, log);
        json_t *ports = pid > 0 ? wait_json_file(pf, pid, 10000) : NULL;
        if (!ports) {
            fprintf(stderr, "mlc up: the simulators did not start (see %s)\n", log);
            rc = -1;
        } else {
            add_proc(procs, "sim", pid, log);
            ifs_port = (int)json_integer_value(json_object_get(ports, "ifs"));
            ion_port = (int)json_integer_value(json_object_get(ports, "ion"));
            asana_port = (int)json_integer_value(json_object_get(ports, "asana"));
            json_object_set_new(endpoints, "sim_ifs", json_sprintf("http://127.0.0.1:%d", ifs_port));
            json_object_set_new(endpoints, "sim_ion", json_sprintf("http://127.0.0.1:%d", ion_port));
            json_object_set_new(endpoints, "sim_asana",
                                json_sprintf("http://127.0.0.1:%d/api/1.0", asana_port));
        }
        json_decref(ports);
        free(pf);
        free(exe);
        free(log);
        free(ip);
        free(ap);
        free(np);
    }
    if (rc == 0) {
        char *gw_port = xasprintf("%ld", env_long("MLC_GW_PORT", 18088));
        /* Where Asana delivers webhooks: the local gateway unless the operator says otherwise. */
        char *hook_url = xasprintf("http://127.0.0.1:%s", gw_port);
        setenv("MLC_WEBHOOK_URL", env_or("MLC_WEBHOOK_URL", hook_url), 1);
        free(hook_url);
        json_object_set_new(endpoints, "webhook_url", json_string(getenv("MLC_WEBHOOK_URL")));
        rc |= start_proc(procs, "broker", "mlc-broker", NULL, NULL);
        rc |= start_proc(procs, "scheduler", "mlc-scheduler", NULL, NULL);
        rc |= start_proc(procs, "poller", "mlc-poller", NULL, NULL);
        rc |= start_proc(procs, "writer", "mlc-writer", NULL, NULL);
        rc |= start_proc(procs, "webhook-gw", "mlc-webhook-gw", "--port", gw_port);
        json_object_set_new(endpoints, "webhook_gw", json_sprintf("http://127.0.0.1:%s", gw_port));
        free(gw_port);
    }
    cli_state_save(st);
    if (rc == 0 && demo) {
        const int ports[3] = { ifs_port, ion_port, asana_port };
        uint8_t key[MLC_KEY_LEN];
        rds_t *r = cli_redis();
        if (!r || cli_master_key(key) != 0)
            rc = -1;
        for (int i = 0; rc == 0 && DEMO_TENANT_FILES[i]; i++) {
            json_t *t = demo_tenant(DEMO_TENANT_FILES[i], ports);
            char err[512];
            if (!t || tenant_store(r, key, t, err, sizeof err) != 0) {
                if (t)
                    fprintf(stderr, "mlc up: demo tenant %s: %s\n", DEMO_TENANT_FILES[i], err);
                rc = -1;
            } else if (sync_now) {
                char *sync_argv[] = { "sync", (char *)json_string_value(json_object_get(t, "id")), NULL };
                rc = cmd_sync(2, sync_argv) == 0 ? 0 : -1;
            }
            json_decref(t);
        }
        rds_destroy(&r);
    }
    if (rc != 0) {
        fprintf(stderr, "mlc up: failed; stopping what was started\n");
        stop_state(st);
        char *path = xasprintf("%s/state.json", run);
        unlink(path);
        free(path);
        json_decref(st);
        return 1;
    }
    printf("ml-connector is up (%zu processes, logs in %s/logs)\n", json_array_size(procs), run);
    if (demo)
        printf("demo: simulators IFS http://127.0.0.1:%d, Infor ION http://127.0.0.1:%d, Asana "
               "http://127.0.0.1:%d/api/1.0\n"
               "      tenants demo (IFS), demo-m3 and demo-syteline are syncing; watch with `bin/mlc status`\n",
               ifs_port, ion_port, asana_port);
    json_decref(st);
    return 0;
}

int cmd_down(int argc, char **argv)
{
    (void)argc, (void)argv;
    json_t *st = cli_state_load();
    if (!st) {
        printf("nothing to stop (no %s/state.json)\n", cli_run_dir());
        return 0;
    }
    stop_state(st);
    char *path = xasprintf("%s/state.json", cli_run_dir());
    unlink(path);
    free(path);
    printf("stopped %zu processes\n", json_array_size(json_object_get(st, "procs")));
    json_decref(st);
    return 0;
}
