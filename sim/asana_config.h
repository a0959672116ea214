/* asana_config: the settings of the simulated Asana (tokens, workspace, projects, plan, rate
 * and concurrency limits, latency, fault injection), read from JSON. Pure: no I/O, no locks.
 *
 * JSON members (all optional; defaults in brackets):
 *   tokens ["demo-pat"], workspace_gid ["1200000000000001"], workspace_name ["Demo Workspace"],
 *   projects [IFS/M3/SyteLine Procurement, gids 1200000000000101..103] as [{"gid","name"}],
 *   premium [true], rate_per_min [0 = unlimited], write_concurrency [15], read_concurrency [50],
 *   latency_ms [0], reject_enum_option_names [[]] (poison: creating an enum option so named,
 *   or a task write setting an enum value to one, is a 400), gid_start [1200000000010000],
 *   fail_429_pct [0], fail_5xx_pct [0], fail_after_write_pct [0] (a write is applied, then
 *   answered 504 as if the response was lost), webhook_failure_window_s [86400] (failing
 *   deliveries for this long delete a webhook), webhook_retry_base_ms [1000] (first retry
 *   delay, doubling), drop_webhook_events [false] (events reach /events but no webhook),
 *   webhook_sign_wrong [false] (deliveries carry a bad X-Hook-Signature). Gids are digit strings (gid_start may also be
 *   a JSON integer); project gids must lie below gid_start so generated gids never collide. */
#ifndef MLC_SIM_ASANA_CONFIG_H
#define MLC_SIM_ASANA_CONFIG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t gid;
    char    *name;
} asana_project_cfg_t;

typedef struct {
    char               **tokens;
    size_t               ntokens;
    uint64_t             workspace_gid;
    char                *workspace_name;
    asana_project_cfg_t *projects;
    size_t               nprojects;
    bool                 premium;
    int                  rate_per_min;       /* 0 = unlimited */
    int                  write_concurrency;  /* 0 = unlimited */
    int                  read_concurrency;   /* 0 = unlimited */
    int                  latency_ms;
    char               **reject_enum_option_names;
    size_t               nreject;
    uint64_t             gid_start;
    int                  fail_429_pct;
    int                  fail_5xx_pct;
    int                  fail_after_write_pct;
    int                  webhook_failure_window_s;
    int                  webhook_retry_base_ms;
    bool                 drop_webhook_events;
    bool                 webhook_sign_wrong;
} asana_config_t;

/* Fills *c with the defaults (heap strings; free with asana_config_free). */
void asana_config_defaults(asana_config_t *c);

/* Applies the members of the JSON object text json onto *c. initial=true is the start-up
 * configuration: "projects" replaces the list. initial=false is a change at run time:
 * "projects" adds or renames (never removes) and workspace_gid, workspace_name and gid_start
 * are refused because objects already carry them. All or nothing: returns 0, or -1 with a
 * reason in err (unknown member, wrong type, out of range) and *c unchanged. */
int asana_config_apply(asana_config_t *c, const char *json, bool initial, char *err,
                       size_t err_len);

/* The configuration as a JSON object text (malloc'd, caller frees). */
char *asana_config_json(const asana_config_t *c);

/* True when token is one of the configured tokens. */
bool asana_config_has_token(const asana_config_t *c, const char *token);

/* Frees what *c holds and zeroes it; safe twice. */
void asana_config_free(asana_config_t *c);
#endif
