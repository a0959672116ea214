/* worker_cli: see worker_cli.h. */
#include "worker_cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "crypto.h"
#include "log.h"
#include "util.h"

static void usage(FILE *out, const char *prog, const char *about, const char *env_help, int threads)
{
    fprintf(out,
        "usage: %s [--tenants a,b] [--threads N] [--worker-id ID]\n"
        "%s\n"
        "  --tenants LIST   only take jobs of these tenants (default: all)\n"
        "  --threads N      concurrent jobs (default %d)\n"
        "  --worker-id ID   id shown in status and job state (default: MLC_WORKER_ID or generated)\n"
        "Environment: MLC_REDIS_URL, MLC_BROKER_URL, MLC_MASTER_KEY or MLC_MASTER_KEY_FILE,\n"
        "  MLC_LEASE_MS (job lease, default 30000), MLC_LOG_LEVEL%s%s\n",
        prog, about, threads, env_help ? ",\n  " : ".", env_help ? env_help : "");
}

int worker_cli_main(int argc, char **argv, const char *prog, const char *about,
                    const char *env_help, worker_opts_t *wo)
{
    static const struct option opts[] = {
        { "tenants", required_argument, NULL, 't' }, { "threads", required_argument, NULL, 'n' },
        { "worker-id", required_argument, NULL, 'w' }, { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 } };
    int c;
    while ((c = getopt_long(argc, argv, "t:n:w:h", opts, NULL)) != -1) {
        switch (c) {
        case 't': wo->tenants = optarg; break;
        case 'n': wo->threads = atoi(optarg); break;
        case 'w': wo->worker_id = optarg; break;
        case 'h': usage(stdout, prog, about, env_help, wo->threads); return 0;
        default: usage(stderr, prog, about, env_help, wo->threads); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument %s (see --help)\n", prog, argv[optind]);
        return 2;
    }
    if (wo->threads < 1 || wo->threads > 64) {
        fprintf(stderr, "%s: --threads must be 1..64\n", prog);
        return 2;
    }
    log_init(prog);
    install_stop_signals();
    uint8_t key[MLC_KEY_LEN];
    char err[256];
    if (master_key_load(key, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return 1;
    }
    wo->redis_url = env_or("MLC_REDIS_URL", DEFAULT_REDIS_URL);
    wo->broker_url = env_or("MLC_BROKER_URL", DEFAULT_BROKER_URL);
    if (!wo->worker_id)
        wo->worker_id = getenv("MLC_WORKER_ID");
    wo->lease_ms = env_long("MLC_LEASE_MS", wo->lease_ms);
    return worker_run(wo) == 0 ? 0 : 1;
}
