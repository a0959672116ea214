/* mlc-sim: runs the simulated IFS Cloud, Infor ION (M3 + SyteLine) and Asana servers, each on
 * its own HTTP port, until SIGTERM/SIGINT. See docs/simulators.md. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asana_sim.h"
#include "httpd.h"
#include "ifs_sim.h"
#include "ion_sim.h"
#include "log.h"
#include "util.h"

#define MAX_BODY (8u << 20)

static const char USAGE[] =
    "usage: mlc-sim [--bind 127.0.0.1] [--ifs-port 18081] [--ion-port 18082]\n"
    "               [--asana-port 18083] [--ifs-config JSON|FILE] [--ion-config JSON|FILE]\n"
    "               [--asana-config JSON|FILE] [--threads 4] [--port-file FILE]\n"
    "               [--only ifs|ion|asana]\n"
    "\n"
    "Runs the simulated IFS Cloud, Infor ION (M3 + SyteLine) and Asana until SIGTERM/SIGINT.\n"
    "  --bind ADDR          IPv4 address to listen on (default 127.0.0.1)\n"
    "  --ifs-port N         IFS Cloud port (default 18081; 0 = pick a free port)\n"
    "  --ion-port N         Infor ION API gateway port (default 18082; 0 = pick a free port)\n"
    "  --asana-port N       Asana port (default 18083; 0 = pick a free port)\n"
    "  --ifs-config X       IFS configuration: inline JSON (starting with '{') or a file\n"
    "  --ion-config X       ION configuration: inline JSON (starting with '{') or a file\n"
    "  --asana-config X     Asana configuration: inline JSON (starting with '{') or a file\n"
    "  --threads N          HTTP worker threads per server (default 4; 0 = one thread per\n"
    "                       connection, better with simulated latency)\n"
    "  --port-file FILE     once listening, write {\"ifs\":P,\"asana\":Q,\"ion\":R} to FILE\n"
    "  --only ifs|ion|asana run only one of the three\n"
    "  --help               this text\n"
    "Control endpoints (no auth) on each port under /_sim/: see docs/simulators.md.\n";

typedef struct {
    const char *bind;
    int         ifs_port, ion_port, asana_port, threads;
    const char *ifs_config, *ion_config, *asana_config, *port_file, *only;
} opts_t;

/* Parses a port or thread count; -1 when not an integer in [min, max]. */
static int parse_int(const char *s, int min, int max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    return errno || end == s || *end || v < min || v > max ? -1 : (int)v;
}

/* Returns 0 and fills o, 1 after --help, -1 after a usage error (message printed). */
static int parse_args(int argc, char **argv, opts_t *o)
{
    static const struct option LONG[] = {
        {"bind", required_argument, NULL, 'b'},       {"ifs-port", required_argument, NULL, 'i'},
        {"asana-port", required_argument, NULL, 'a'}, {"ifs-config", required_argument, NULL, 'I'},
        {"asana-config", required_argument, NULL, 'A'},
        {"ion-port", required_argument, NULL, 'n'},   {"ion-config", required_argument, NULL, 'N'},
        {"threads", required_argument, NULL, 't'},    {"port-file", required_argument, NULL, 'p'},
        {"only", required_argument, NULL, 'o'},       {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (opts_t){.bind = "127.0.0.1", .ifs_port = 18081, .ion_port = 18082, .asana_port = 18083,
                  .threads = 4};
    int c;
    while ((c = getopt_long(argc, argv, "", LONG, NULL)) != -1) {
        switch (c) {
        case 'b': o->bind = optarg; break;
        case 'i': o->ifs_port = parse_int(optarg, 0, 65535); break;
        case 'a': o->asana_port = parse_int(optarg, 0, 65535); break;
        case 'I': o->ifs_config = optarg; break;
        case 'A': o->asana_config = optarg; break;
        case 'n': o->ion_port = parse_int(optarg, 0, 65535); break;
        case 'N': o->ion_config = optarg; break;
        case 't': o->threads = parse_int(optarg, 0, 256); break;
        case 'p': o->port_file = optarg; break;
        case 'o': o->only = optarg; break;
        case 'h': fputs(USAGE, stdout); return 1;
        default: fputs(USAGE, stderr); return -1;
        }
    }
    const char *bad = optind < argc ? "unexpected argument"
                      : o->ifs_port < 0 || o->ion_port < 0 || o->asana_port < 0
                          ? "ports must be 0..65535"
                      : o->threads < 0 ? "--threads must be 0..256"
                      : o->only && strcmp(o->only, "ifs") && strcmp(o->only, "ion") &&
                              strcmp(o->only, "asana")
                          ? "--only must be ifs, ion or asana"
                          : NULL;
    if (bad) {
        fprintf(stderr, "mlc-sim: %s\n%s", bad, USAGE);
        return -1;
    }
    return 0;
}

/* Resolves a --*-config argument: inline JSON when it starts with '{', else a file to read.
 * Returns malloc'd text, NULL for "no configuration" (arg NULL); exits on unreadable files. */
static char *load_config(const char *arg)
{
    if (!arg)
        return NULL;
    while (*arg == ' ' || *arg == '\n' || *arg == '\t')
        arg++;
    if (*arg == '{')
        return xstrdup(arg);
    char *text = read_file(arg, NULL);
    if (!text) {
        mlog(LOG_ERROR, "sim.config", "cannot read %s: %s", arg, strerror(errno));
        exit(2);
    }
    return text;
}

/* Writes {"ifs":P,"asana":Q,"ion":R} atomically (temp file + rename). 0 or -1. */
static int write_port_file(const char *path, int ifs_port, int asana_port, int ion_port)
{
    char *tmp = xasprintf("%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    int rc = -1;
    if (f) {
        fprintf(f, "{\"ifs\":%d,\"asana\":%d,\"ion\":%d}\n", ifs_port, asana_port, ion_port);
        rc = fclose(f) == 0 && rename(tmp, path) == 0 ? 0 : -1;
    }
    if (rc)
        unlink(tmp);
    free(tmp);
    return rc;
}

static httpd_t *serve(const opts_t *o, int port, httpd_handler_fn handler, void *ud,
                      const char *what)
{
    char err[256];
    httpd_opts_t ho = {.bind_addr = o->bind, .port = port, .threads = o->threads,
                       .max_body = MAX_BODY, .handler = handler, .ud = ud};
    httpd_t *h = httpd_start(&ho, err, sizeof err);
    if (!h)
        mlog(LOG_ERROR, "sim.listen", "%s: %s", what, err);
    else
        mlog(LOG_INFO, "sim.listen", "%s listening on http://%s:%d", what, o->bind,
             httpd_port(h));
    return h;
}

int main(int argc, char **argv)
{
    log_init("mlc-sim");
    opts_t o;
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc > 0 ? 0 : 2;
    bool run_ifs = !o.only || strcmp(o.only, "ifs") == 0;
    bool run_asana = !o.only || strcmp(o.only, "asana") == 0;
    bool run_ion = !o.only || strcmp(o.only, "ion") == 0;
    char err[512];
    ifs_sim_t *ifs = NULL;
    ion_sim_t *ion = NULL;
    asana_sim_t *asana = NULL;
    httpd_t *ifs_http = NULL, *ion_http = NULL, *asana_http = NULL;
    int status = 1;

    if (run_ifs) {
        char *cfg = load_config(o.ifs_config);
        ifs = ifs_sim_new(cfg, err, sizeof err);
        free(cfg);
        if (!ifs) {
            mlog(LOG_ERROR, "sim.config", "%s", err);
            goto out;
        }
    }
    if (run_ion) {
        char *cfg = load_config(o.ion_config);
        ion = ion_sim_new(cfg, err, sizeof err);
        free(cfg);
        if (!ion) {
            mlog(LOG_ERROR, "sim.config", "%s", err);
            goto out;
        }
    }
    if (run_asana) {
        char *cfg = load_config(o.asana_config);
        asana = asana_sim_new(cfg, err, sizeof err);
        free(cfg);
        if (!asana) {
            mlog(LOG_ERROR, "sim.config", "asana config: %s", err);
            goto out;
        }
    }
    install_stop_signals();
    if (ifs && !(ifs_http = serve(&o, o.ifs_port, ifs_sim_handle, ifs, "ifs")))
        goto out;
    if (ion && !(ion_http = serve(&o, o.ion_port, ion_sim_handle, ion, "ion")))
        goto out;
    if (asana && !(asana_http = serve(&o, o.asana_port, asana_sim_handle, asana, "asana")))
        goto out;
    if (o.port_file && write_port_file(o.port_file, ifs_http ? httpd_port(ifs_http) : 0,
                                       asana_http ? httpd_port(asana_http) : 0,
                                       ion_http ? httpd_port(ion_http) : 0) < 0) {
        mlog(LOG_ERROR, "sim.port_file", "cannot write %s: %s", o.port_file, strerror(errno));
        goto out;
    }
    while (!g_stop)
        sleep_ms(200);
    mlog(LOG_INFO, "sim.stop", "stopping");
    status = 0;
out:
    httpd_stop(&ifs_http);
    httpd_stop(&ion_http);
    httpd_stop(&asana_http);
    ifs_sim_destroy(&ifs);
    ion_sim_destroy(&ion);
    asana_sim_destroy(&asana);
    return status;
}
