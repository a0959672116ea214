/* ifs_schema: the entity sets the simulated IFS Cloud serves (projection, set, key, members
 * with their OData types, which members a PATCH may change, bound actions). Pure data; the
 * names are the defaults the connector's IFS flows use (shared/ref/ERP.md). */
#ifndef MLC_SIM_IFS_SCHEMA_H
#define MLC_SIM_IFS_SCHEMA_H
#include <stdbool.h>
#include "odata.h"

typedef enum { IFS_PO = 0, IFS_INVOICE, IFS_SUPPLIER, IFS_NSETS } ifs_set_id_t;

typedef struct {
    const char *name;    /* "Approve": called as IfsApp.<Projection>.<Entity>_<name> */
    const char *state;   /* Objstate after the action */
} ifs_action_t;

typedef struct {
    ifs_set_id_t        id;
    const char         *projection;   /* "PurchaseOrderHandling" */
    const char         *set;          /* "PurchaseOrderSet" */
    const char         *entity;       /* "PurchaseOrder": entity type and action prefix */
    odata_schema_t      schema;       /* member 0 is the (string) key */
    const bool         *writable;     /* per member: a PATCH may change it */
    const ifs_action_t *actions;      /* NULL-name terminated */
    int                 changed_date; /* index of ChangedDate */
    int                 state;        /* index of Objstate, -1 when the set has none */
} ifs_set_def_t;

/* The definition of a set (borrowed, static). */
const ifs_set_def_t *ifs_set_def(ifs_set_id_t id);
/* The set called `set` in projection `projection` (NULL projection: any); NULL when absent. */
const ifs_set_def_t *ifs_set_find(const char *projection, const char *set);
/* The Objstate a bound action leads to, NULL when the set has no such action. */
const char *ifs_action_state(const ifs_set_def_t *d, const char *action);
#endif
