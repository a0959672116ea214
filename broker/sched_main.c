/* mlc-scheduler: per-flow schedules and job housekeeping, one tick per second (scheduler.h). */
#include <getopt.h>
#include <stdio.h>

#include "config.h"
#include "crypto.h"
#include "log.h"
#include "scheduler.h"
#include "util.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mlc-scheduler [--once]\n"
            "Publishes poll jobs when flows are due, re-queues jobs of dead workers and due\n"
            "retries. Several schedulers may run; each slot fires once.\n"
            "  --once   run one tick, then exit (exit 1 when Redis was unreachable)\n"
            "Environment: MLC_REDIS_URL (default %s), MLC_BROKER_URL (default %s),\n"
            "  MLC_MASTER_KEY or MLC_MASTER_KEY_FILE, MLC_LOG_LEVEL.\n",
            DEFAULT_REDIS_URL, DEFAULT_BROKER_URL);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"once", no_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    bool once = false;
    int c;
    while ((c = getopt_long(argc, argv, "oh", opts, NULL)) != -1) {
        switch (c) {
        case 'o': once = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "mlc-scheduler: unexpected argument %s (see --help)\n", argv[optind]);
        return 2;
    }
    log_init("mlc-scheduler");
    install_stop_signals();
    uint8_t key[MLC_KEY_LEN];
    char err[256];
    if (master_key_load(key, err, sizeof err) != 0) {
        fprintf(stderr, "mlc-scheduler: %s\n", err);
        return 1;
    }
    sched_t *s = sched_new(env_or("MLC_REDIS_URL", DEFAULT_REDIS_URL),
                           env_or("MLC_BROKER_URL", DEFAULT_BROKER_URL), key);
    if (!s)
        return 1;
    mlog(LOG_INFO, "sched.start", "scheduler started%s", once ? " (one tick)" : "");
    int rc = 0;
    while (!g_stop) {
        int64_t next = mono_ms() + 1000;
        rc = sched_tick(s);
        if (once)
            break;
        sleep_ms(next - mono_ms());
    }
    sched_destroy(&s);
    return once && rc < 0 ? 1 : 0;
}
