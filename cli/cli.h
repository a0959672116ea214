/* cli: shared pieces of the mlc operator CLI: where the local stack lives (run dir, state
 * file), how to reach Redis and the broker, and the subcommands. */
#ifndef MLC_CLI_H
#define MLC_CLI_H
#include <jansson.h>
#include "config.h"
#include "crypto.h"
#include "redis.h"

/* Directory of the mlc binary (borrowed, resolved once). */
const char *cli_exe_dir(void);
/* The run dir: MLC_RUN_DIR or <exe dir>/../run (borrowed). */
const char *cli_run_dir(void);
/* run/state.json of a running local stack, or NULL (caller json_decref). */
json_t *cli_state_load(void);
int cli_state_save(const json_t *state);
/* Makes MLC_REDIS_URL / MLC_BROKER_URL / MLC_MASTER_KEY_FILE point at the local stack when the
 * environment does not name them, so every command talks to what `mlc up` started. */
void cli_env_from_state(void);
/* Connects to Redis (MLC_REDIS_URL); prints the reason and returns NULL on failure. */
rds_t *cli_redis(void);
/* Loads the master key; prints the reason and returns -1 on failure. */
int cli_master_key(uint8_t key[MLC_KEY_LEN]);
/* Prints JSON to stdout (indented) and frees it. */
void cli_print_json(json_t *j);

/* Job inspection shared by `mlc jobs` and `mlc dlq` (cli/jobs.c).
 * The tenants a command covers: [tenant] when it is known, every tenant (sorted) when tenant
 * is NULL. A JSON array of ids (caller json_decref), or NULL after printing "mlc CMD: unknown
 * tenant T" or the Redis failure. */
json_t *cli_tenants(rds_t *r, const char *cmd, const char *tenant);
/* The job hashes of ids[0..n) of tenant, read in one pipeline, as JSON objects (every hash
 * field; the numeric ones attempt, max_attempts, *_ms, lease_until, not_before, children*
 * as integers), in the order of ids; ids without a hash (expired) are left out. NULL on a
 * Redis failure. Caller json_decref. */
json_t *cli_jobs_load(rds_t *r, const char *tenant, char *const *ids, size_t n);
/* The string member k of object o (borrowed), or def when absent or not a string. */
const char *cli_str(const json_t *o, const char *k, const char *def);
/* "12s ago" / "in 3m" / "-" (ms 0) for an epoch-ms time, into buf. Returns buf. */
const char *cli_when(int64_t ms, char *buf, size_t len);

/* Operator commands (cli/ops.c): opens tenant id for `mlc CMD`: the master key into key, the
 * tenant into *cfg (tenant_cfg_free it) and returns the Redis connection (rds_destroy it).
 * NULL after printing why (unknown tenant, Redis, master key); *cfg is then empty. */
rds_t *cli_tenant_open(const char *cmd, const char *id, uint8_t key[MLC_KEY_LEN],
                       tenant_cfg_t *cfg);
/* HGETALL key as a JSON object of strings (empty when the key is absent); NULL when Redis
 * failed. Caller json_decref. */
json_t *cli_hgetall(rds_t *r, const char *key);
/* As cli_str, but an empty string (how a Redis hash field is cleared) is def as well. */
const char *cli_text(const json_t *o, const char *k, const char *def);

int cmd_up(int argc, char **argv);
int cmd_down(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_sync(int argc, char **argv);
int cmd_tenant(int argc, char **argv);
int cmd_jobs(int argc, char **argv);
int cmd_dlq(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_ping(int argc, char **argv);
int cmd_webhooks(int argc, char **argv);
int cmd_reconcile(int argc, char **argv);
/* `mlc sync TENANT --plan ...` (cli/plan.c): cmd_sync hands its whole argv over. */
int cmd_sync_plan(int argc, char **argv);
#endif
