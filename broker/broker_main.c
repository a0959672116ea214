/* mlc-broker: the ZeroMQ hub between producers and workers (see broker.h). */
#include <getopt.h>
#include <stdio.h>

#include "broker.h"
#include "config.h"
#include "log.h"
#include "util.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mlc-broker [--bind ENDPOINT]\n"
            "Routes job ids from producers to poller/writer workers, fair across tenants.\n"
            "  --bind ENDPOINT  ROUTER endpoint (default MLC_BROKER_URL or %s)\n"
            "Environment: MLC_BROKER_URL, MLC_REDIS_URL (default %s),\n"
            "  MLC_BROKER_RESYNC_MS (re-read of the Redis queues, default 2000), MLC_LOG_LEVEL.\n",
            DEFAULT_BROKER_URL, DEFAULT_REDIS_URL);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"bind", required_argument, NULL, 'b'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    broker_opts_t o = {.bind_url = env_or("MLC_BROKER_URL", DEFAULT_BROKER_URL),
                       .redis_url = env_or("MLC_REDIS_URL", DEFAULT_REDIS_URL),
                       .resync_ms = env_long("MLC_BROKER_RESYNC_MS", 2000)};
    int c;
    while ((c = getopt_long(argc, argv, "b:h", opts, NULL)) != -1) {
        switch (c) {
        case 'b': o.bind_url = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "mlc-broker: unexpected argument %s (see --help)\n", argv[optind]);
        return 2;
    }
    log_init("mlc-broker");
    install_stop_signals();
    broker_t *b = broker_new(&o);
    if (!b)
        return 1;
    broker_run(b);
    broker_destroy(&b);
    return 0;
}
