/* asana_api: the Asana endpoints of the simulator: route matching and one handler per
 * endpoint, from a request to a status and a JSON body, on a store the caller has locked
 * (read lock for reads, write lock for writes). Admission (auth, limits, faults) is the
 * caller's. */
#ifndef MLC_SIM_ASANA_API_H
#define MLC_SIM_ASANA_API_H
#include <stdbool.h>
#include <stdint.h>

#include "asana_sim.h"
#include "asana_store.h"
#include "util.h"

typedef enum {
    AS_R_NONE = 0,         /* no matching route: 404 */
    AS_R_USERS_ME,
    AS_R_WORKSPACES,
    AS_R_WORKSPACE,
    AS_R_WORKSPACE_FIELDS,
    AS_R_WORKSPACE_PROJECTS,
    AS_R_PROJECT,
    AS_R_PROJECT_TASKS,
    AS_R_TASKS,            /* GET /tasks?project=..: getTasks, the only form with modified_since */
    AS_R_PROJECT_SETTINGS,
    AS_R_ADD_SETTING,
    AS_R_FIELD_CREATE,
    AS_R_FIELD,
    AS_R_OPTION_CREATE,
    AS_R_OPTION_UPDATE,
    AS_R_TASK_CREATE,
    AS_R_TASK_GET,
    AS_R_TASK_UPDATE,
    AS_R_TASK_DELETE,
    AS_R_WEBHOOK_CREATE,   /* webhooks and events: served by asana_webhooks */
    AS_R_WEBHOOKS,
    AS_R_WEBHOOK_GET,
    AS_R_WEBHOOK_DELETE,
    AS_R_EVENTS,
    AS_R_COUNT
} as_route_id_t;

typedef struct {
    as_route_id_t id;
    const char   *name;     /* "PUT /tasks/{task_gid}": the statistics key */
    bool          write;    /* POST, PUT, PATCH or DELETE */
    const char   *param;    /* the {gid} segment of the path (points into the path), or NULL */
    size_t        param_len;
} as_route_t;

/* Matches method and path; path must start with /api/1.0. Unknown routes (and known paths
 * with another method, as Asana does) give AS_R_NONE with name "<METHOD> (no route)". */
void as_api_route(const char *method, const char *path, as_route_t *r);

typedef struct as_hooks as_hooks_t;

typedef struct {
    const asana_req_t *req;
    as_store_t        *st;
    as_policy_t        policy;
    int64_t            now_ms;        /* wall clock, for created_at / modified_at */
    uint32_t           offset_salt;   /* makes offset tokens of another run invalid */
    as_hooks_t        *hooks;         /* receives the events of task writes; NULL: none */
} as_api_ctx_t;

typedef struct {
    int    status;
    buf_t  body;                      /* JSON */
    char  *location;                  /* malloc'd Location of a created object, or NULL */
    size_t duplicate_enum_names;      /* enum options created with a name already on the field */
} as_api_reply_t;

/* Serves the matched route. Fills *out (initialise body with buf_init; caller frees body and
 * location). Never fails: errors are replies. */
void as_api_handle(const as_route_t *r, const as_api_ctx_t *ctx, as_api_reply_t *out);

/* The value of query argument name in req, or NULL. */
const char *as_req_query(const asana_req_t *req, const char *name);
#endif
