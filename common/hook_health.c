/* hook_health: see hook_health.h. */
#include "hook_health.h"

#include <string.h>

const char *const HOOK_HEALTH_STATES[] = { "healthy", "registering", "inactive", "error",
                                           "not_registered", NULL };

const char *hook_health(bool pending, const char *gid, const char *active, const char *last_error)
{
    if (pending)
        return "registering";
    if (last_error && *last_error)
        return "error";
    if (!gid || !*gid)
        return "not_registered";
    return active && strcmp(active, "1") == 0 ? "healthy" : "inactive";
}
