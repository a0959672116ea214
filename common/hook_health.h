/* hook_health: the one-word verdict on a tenant's Asana webhook from what the writer, the
 * watchdog and the gateway left in K_HOOK. Pure; shared by the status page and /metrics
 * (cli/status.c webhook_status applies the same rule inline and could call this). */
#ifndef MLC_HOOK_HEALTH_H
#define MLC_HOOK_HEALTH_H
#include <stdbool.h>

/* Returns a static string: "registering" while K_HOOK_PENDING exists, "error" when last_error
 * is set, "not_registered" without a gid, "healthy" when active is "1", else "inactive".
 * NULL arguments count as absent. */
const char *hook_health(bool pending, const char *gid, const char *active, const char *last_error);

/* Every verdict hook_health can return, NULL-terminated (for a state-set metric). */
extern const char *const HOOK_HEALTH_STATES[];
#endif
