/* sync: `mlc sync TENANT`: run-now. Submits one poll job per flow (recorded in Redis, then
 * published) and with --wait follows them and the write jobs they spawn until all are
 * finished. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus.h"
#include "cli.h"
#include "config.h"
#include "job.h"
#include "keys.h"
#include "tenant.h"
#include "util.h"

typedef struct {
    char *id;
    char *flow;
    bool  finished;
    bool  failed;
} tracked_t;

/* Progress of one poll job: its state and its children's counters. */
static void poll_progress(rds_t *r, const char *tenant, tracked_t *t, long *children, long *done,
                          long *dead, char **state, char **error)
{
    char *key = xasprintf(K_JOB, tenant, t->id);
    redisReply *rep = rds_cmd(r, "HMGET %s state children children_done children_dead error", key);
    free(key);
    *children = *done = *dead = 0;
    *state = *error = NULL;
    if (rds_ok(rep) && rep->type == REDIS_REPLY_ARRAY && rep->elements == 5) {
        *state = rds_str(rep->element[0]);
        *children = rds_int(rep->element[1], 0);
        *done = rds_int(rep->element[2], 0);
        *dead = rds_int(rep->element[3], 0);
        *error = rds_str(rep->element[4]);
    }
    if (rep)
        freeReplyObject(rep);
}

#define BAR_WIDTH 30

/* A text bar of BAR_WIDTH cells, '#' for the share done of total ('.' while total is unknown). */
static void progress_bar(char bar[BAR_WIDTH + 1], long done, long total)
{
    int full = total > 0 ? (int)((double)done * BAR_WIDTH / (double)total) : 0;
    for (int i = 0; i < BAR_WIDTH; i++)
        bar[i] = i < full ? '#' : '.';
    bar[BAR_WIDTH] = '\0';
}

static int wait_all(rds_t *r, const char *tenant, tracked_t *jobs, size_t n, int timeout_s)
{
    int64_t start = mono_ms(), end = start + (int64_t)timeout_s * 1000;
    bool tty = isatty(1);
    int failed = 0;
    for (;;) {
        size_t finished = 0;
        long all_children = 0, all_done = 0, all_dead = 0;
        for (size_t i = 0; i < n; i++) {
            long c, d, x;
            char *state, *error;
            poll_progress(r, tenant, &jobs[i], &c, &d, &x, &state, &error);
            all_children += c;
            all_done += d;
            all_dead += x;
            bool poll_over = state && (strcmp(state, "done") == 0 || strcmp(state, "dead") == 0);
            if (poll_over && d + x >= c && !jobs[i].finished) {
                jobs[i].finished = true;
                jobs[i].failed = strcmp(state, "dead") == 0 || x > 0;
                printf("%s%s: %s, %ld write job%s done%s%ld failed%s%s\n", tty ? "\r\033[K" : "",
                       jobs[i].flow, strcmp(state, "dead") == 0 ? "poll FAILED" : "polled", d,
                       d == 1 ? "" : "s", ", ", x, error && *error ? ": " : "",
                       error ? error : "");
            }
            finished += jobs[i].finished;
            free(state);
            free(error);
        }
        if (finished == n)
            break;
        if (tty) {
            double secs = (double)(mono_ms() - start) / 1000.0;
            double rate = secs > 0 ? (double)(all_done + all_dead) / secs : 0;
            long left = all_children - all_done - all_dead;
            char bar[BAR_WIDTH + 1];
            progress_bar(bar, all_done + all_dead, all_children);
            printf("\r\033[K[%s] %ld/%ld tasks written, %.0f/s, ETA %.0fs", bar,
                   all_done + all_dead, all_children, rate, rate > 0 ? (double)left / rate : 0.0);
            fflush(stdout);
        }
        if (mono_ms() > end) {
            fprintf(stderr, "%smlc sync: timed out after %d s (jobs keep running; see `mlc status`)\n",
                    tty ? "\n" : "", timeout_s);
            return 3;
        }
        sleep_ms(20);
    }
    for (size_t i = 0; i < n; i++)
        failed += jobs[i].failed;
    printf("sync of %s finished in %.1f s%s\n", tenant, (double)(mono_ms() - start) / 1000.0,
           failed ? " with failures (see `mlc status`)" : "");
    return failed ? 1 : 0;
}

int cmd_sync(int argc, char **argv)
{
    const char *tenant = NULL, *only = NULL;
    bool wait = false, full = false;
    int timeout_s = 600;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--plan") == 0)
            return cmd_sync_plan(argc, argv);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--wait") == 0) {
            wait = true;
        } else if (strcmp(argv[i], "--full") == 0) {
            full = true;
        } else if (strcmp(argv[i], "--flow") == 0 && i + 1 < argc) {
            only = argv[++i];
        } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            timeout_s = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--help") == 0) {
            printf("usage: mlc sync TENANT [--flow F] [--full] [--wait] [--timeout S]\n"
                   "       mlc sync TENANT --plan [--flow F] [--full] [--json]\n"
                   "  --full     read every record, ignoring the watermark (changes are still\n"
                   "             detected by content hash: unchanged records cost no Asana call)\n"
                   "  --wait     wait until the polls and every write job they created are finished\n"
                   "  --plan     read the ERP and list what a sync would create or update in Asana,\n"
                   "             writing nothing (see mlc sync TENANT --plan --help)\n");
            return 0;
        } else if (!tenant && argv[i][0] != '-') {
            tenant = argv[i];
        } else {
            fprintf(stderr, "mlc sync: unexpected argument %s (see --help)\n", argv[i]);
            return 2;
        }
    }
    if (!tenant) {
        fprintf(stderr, "usage: mlc sync TENANT [--flow F] [--full] [--wait]\n");
        return 2;
    }
    uint8_t key[MLC_KEY_LEN];
    if (cli_master_key(key) != 0)
        return 1;
    rds_t *r = cli_redis();
    if (!r)
        return 1;
    tenant_cfg_t cfg;
    char err[512];
    if (tenant_load(r, key, tenant, &cfg, err, sizeof err) != 0) {
        fprintf(stderr, "mlc sync: %s\n", err);
        rds_destroy(&r);
        return 1;
    }
    bus_t *bus = bus_producer_new(env_or("MLC_BROKER_URL", DEFAULT_BROKER_URL));
    tracked_t *jobs = xcalloc(cfg.nflows, sizeof *jobs);
    size_t n = 0;
    int rc = 0;
    int64_t now = now_ms();
    for (size_t i = 0; i < cfg.nflows; i++) {
        if (only && strcmp(only, cfg.flows[i].name) != 0)
            continue;
        char *id = xasprintf("poll:%s:now-%lld", cfg.flows[i].name, (long long)now);
        char *payload = xasprintf("{\"full\":%s,\"requested_by\":\"cli\"}", full ? "true" : "false");
        job_t j = { .id = id, .tenant = cfg.id, .service = "poll", .type = "poll_flow",
                    .ref = cfg.flows[i].name, .payload = payload,
                    .max_attempts = job_max_attempts("poll_flow") };
        if (job_submit(r, bus, &j) < 0) {
            fprintf(stderr, "mlc sync: cannot record job %s in Redis\n", id);
            rc = 1;
        } else {
            printf("queued %s\n", id);
        }
        jobs[n].id = id;
        jobs[n++].flow = cfg.flows[i].name;
        free(payload);
    }
    if (only && n == 0) {
        fprintf(stderr, "mlc sync: tenant %s has no flow %s\n", tenant, only);
        rc = 2;
    }
    if (rc == 0 && wait)
        rc = wait_all(r, cfg.id, jobs, n, timeout_s);
    for (size_t i = 0; i < n; i++)
        free(jobs[i].id);
    free(jobs);
    bus_destroy(&bus);
    tenant_cfg_free(&cfg);
    rds_destroy(&r);
    return rc;
}
