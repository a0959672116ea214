/* worker_cli: the shared command line of worker processes (mlc-poller, mlc-writer):
 * --tenants, --threads, --worker-id, --help; environment for Redis, broker and master key. */
#ifndef MLC_WORKER_CLI_H
#define MLC_WORKER_CLI_H
#include "worker.h"

/* Parses argv over the defaults in *wo, checks the master key, runs worker_run. Returns the
 * process exit code (0 clean stop, 1 failure, 2 usage). about: one line printed by --help;
 * env_help: extra environment lines for --help (may be NULL). */
int worker_cli_main(int argc, char **argv, const char *prog, const char *about,
                    const char *env_help, worker_opts_t *wo);
#endif
