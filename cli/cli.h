/* cli: shared pieces of the mlc operator CLI: where the local stack lives (run dir, state
 * file), how to reach Redis and the broker, and the subcommands. */
#ifndef MLC_CLI_H
#define MLC_CLI_H
#include <jansson.h>
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

int cmd_up(int argc, char **argv);
int cmd_down(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_sync(int argc, char **argv);
int cmd_tenant(int argc, char **argv);
#endif
