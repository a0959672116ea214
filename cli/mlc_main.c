/* mlc: the operator CLI of ml-connector. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "log.h"
#include "reqstats.h"
#include "util.h"

static void usage(FILE *out)
{
    fprintf(out,
        "usage: mlc COMMAND [options]\n"
        "\n"
        "Local stack\n"
        "  up [--demo]            start Redis (unless MLC_REDIS_URL is set), broker, scheduler,\n"
        "                         poller, writer, webhook gateway in the background; --demo adds\n"
        "                         the simulators and a demo tenant and syncs it\n"
        "  down                   stop what `up` started\n"
        "  status [--json]        processes, endpoints, queues, last sync per tenant and flow\n"
        "\n"
        "Tenants and syncs\n"
        "  tenant add FILE [--ionapi FILE.ionapi]\n"
        "                         validate a tenant file (an Infor .ionapi merged into\n"
        "                         erp.ionapi), seal its secrets, store it\n"
        "  tenant list|show ID    list tenants / show one (secrets redacted)\n"
        "  sync TENANT [--flow F] [--full] [--wait] [--timeout S]\n"
        "                         run a sync now; --wait until every task is written\n"
        "  sync TENANT --plan [--flow F] [--full] [--json]\n"
        "                         what a sync would create/update in Asana, without writing\n"
        "\n"
        "Operations\n"
        "  audit TENANT RECORD [--json] [--limit N]\n"
        "                         the whole trail of one PO or invoice (po:4711 or 4711) from\n"
        "                         Redis: record, task, write-back, webhook events, audit timeline\n"
        "  ping TENANT [--json]   ERP token + one ERP row, Asana user + project: a verdict per\n"
        "                         check; exit status 0 only when all pass\n"
        "  webhooks list [TENANT] [--json] | register TENANT | delete TENANT\n"
        "                         the Asana webhook as stored and as Asana sees it; register\n"
        "                         (through the writer) or delete it\n"
        "  reconcile TENANT [--repair] [--json]\n"
        "                         drift between the ERP records in Redis and the Asana tasks;\n"
        "                         --repair queues the writes that fix it (exit 3: drift found)\n"
        "\n"
        "Jobs\n"
        "  jobs [TENANT] [--state queued|running|retry|dead|done] [--type T] [--limit N] [--json]\n"
        "                         job counts per state per tenant, then the newest jobs: id,\n"
        "                         type, record, state, attempt/max, retry time or lease, error\n"
        "  jobs show TENANT ID [--json]\n"
        "                         every field of one job\n"
        "  dlq list [TENANT] [--json]\n"
        "                         dead jobs with their reason and time of death\n"
        "  dlq replay TENANT ID|--all\n"
        "                         re-queue dead jobs with their full attempts and hand them to\n"
        "                         the workers (fix the cause first)\n"
        "\n"
        "Environment: MLC_REDIS_URL, MLC_BROKER_URL, MLC_MASTER_KEY or MLC_MASTER_KEY_FILE,\n"
        "MLC_RUN_DIR (default <install>/run); for the processes that create jobs\n"
        "MLC_MAX_ATTEMPTS (default 8) and MLC_MAX_ATTEMPTS_<TYPE> (e.g. _UPSERT_TASK): runs\n"
        "of a job before it is dead. See README.md and docs/.\n");
}

/* Adds the Asana and ERP requests the command made (ping, sync --plan, reconcile, webhooks,
 * tenant add revoking ION tokens) to the tenants' counters, like the workers do. */
static void flush_request_counters(void)
{
    if (reqstats_pending() == 0)
        return;
    char err[256];
    rds_t *r = rds_connect(env_or("MLC_REDIS_URL", DEFAULT_REDIS_URL), err, sizeof err);
    if (reqstats_flush(r) < 0)
        fprintf(stderr, "mlc: %ld request counters not recorded in Redis%s%s\n",
                reqstats_pending(), r ? "" : ": ", r ? "" : err);
    rds_destroy(&r);
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    log_init("mlc");
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = { { "up", cmd_up }, { "down", cmd_down }, { "status", cmd_status },
                 { "sync", cmd_sync }, { "tenant", cmd_tenant }, { "jobs", cmd_jobs },
                 { "dlq", cmd_dlq }, { "audit", cmd_audit }, { "ping", cmd_ping },
                 { "webhooks", cmd_webhooks }, { "reconcile", cmd_reconcile } };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        if (strcmp(argv[1], cmds[i].name) == 0) {
            cli_env_from_state();
            int rc = cmds[i].fn(argc - 1, argv + 1);
            flush_request_counters();
            return rc;
        }
    }
    fprintf(stderr, "mlc: unknown command \"%s\" (see mlc --help)\n", argv[1]);
    return 2;
}
