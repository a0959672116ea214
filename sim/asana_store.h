/* asana_store: the data of the simulated Asana: one workspace, one user, projects (each with
 * one section), custom fields with enum options, custom field settings and tasks, every
 * object found by gid through one hash map. Mutations check everything first and change
 * nothing on failure (Asana's messages, see asana_input.h). Not thread-safe: the simulator
 * holds its lock around every call. Structures are visible so the renderer can read them;
 * only this module changes them. */
#ifndef MLC_SIM_ASANA_STORE_H
#define MLC_SIM_ASANA_STORE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "asana_input.h"

typedef enum {
    AS_K_NONE = 0,
    AS_K_PROJECT,
    AS_K_SECTION,
    AS_K_TASK,
    AS_K_FIELD,
    AS_K_OPTION,
    AS_K_SETTING,
} as_kind_t;

typedef struct as_field as_field_t;
typedef struct as_project as_project_t;

typedef struct {
    uint64_t    gid;
    char       *name;
    char       *color;
    bool        enabled;
    as_field_t *field;
} as_option_t;

struct as_field {
    uint64_t      gid;
    char         *name;
    char         *description;
    as_cf_type_t  type;
    int           precision;
    char         *format;                 /* number fields: "none" unless set */
    char         *currency_code;          /* NULL unless set */
    char         *custom_label, *custom_label_position;
    bool          notifications;
    as_option_t **options;                /* creation / insert order */
    size_t        noptions;
};

typedef struct {
    uint64_t      gid;
    as_field_t   *field;
    as_project_t *project;
    bool          important;
} as_setting_t;

/* A value of one field on a task. */
typedef struct {
    as_field_t *field;
    char        *text;                    /* AS_CF_TEXT */
    double       number;                  /* AS_CF_NUMBER */
    as_option_t *option;                  /* AS_CF_ENUM */
} as_value_t;

typedef struct {
    uint64_t       gid;
    uint64_t       seq;                   /* creation order, for project listings */
    size_t         slot;                  /* index in the store's task array */
    char          *name, *notes;
    char          *subtype;               /* "default_task" or "milestone" */
    bool           completed;
    int64_t        created_ms, modified_ms, completed_ms;   /* completed_ms 0 = null */
    char           due_on[11];            /* "" = null */
    int64_t        due_at_ms;             /* -1 = null */
    as_project_t **projects;
    size_t         nprojects;
    as_value_t    *values;                /* only fields with a value */
    size_t         nvalues;
} as_task_t;

struct as_project {
    uint64_t       gid;
    uint64_t       section_gid;
    char          *name;
    int64_t        created_ms;
    as_setting_t **settings;              /* display order */
    size_t         nsettings;
    as_task_t    **tasks;                 /* ascending seq */
    size_t         ntasks;
};

typedef struct as_store as_store_t;

/* What mutations consult from the configuration. */
typedef struct {
    bool               premium;
    const char *const *reject_option_names;   /* creating an option so named, or setting a
                                                 task's enum value to one, is a 400 */
    size_t             nreject;
} as_policy_t;

/* Creates the store of one workspace; generated gids start at gid_start (the user and the
 * project sections take the first ones). */
as_store_t *as_store_new(uint64_t workspace_gid, const char *workspace_name, uint64_t gid_start);
/* Frees everything and NULLs *st; safe on NULL and twice. */
void as_store_destroy(as_store_t **st);
/* Removes every task, custom field, option and setting; projects stay, gids keep counting
 * (an old gid never names a new object). */
void as_store_reset(as_store_t *st);

uint64_t as_store_workspace_gid(const as_store_t *st);
const char *as_store_workspace_name(const as_store_t *st);
uint64_t as_store_user_gid(const as_store_t *st);
size_t as_store_task_count(const as_store_t *st);
/* Projects in creation order; fields in creation order; every task (no order). */
as_project_t *const *as_store_projects(const as_store_t *st, size_t *n);
as_field_t *const *as_store_fields(const as_store_t *st, size_t *n);
as_task_t *const *as_store_tasks(const as_store_t *st, size_t *n);

/* The object of that kind with that gid, or NULL. */
void *as_store_get(const as_store_t *st, uint64_t gid, as_kind_t kind);

/* Adds a project, or renames the one with that gid. */
as_project_t *as_store_project_put(as_store_t *st, uint64_t gid, const char *name,
                                   int64_t now_ms);

/* Creates a custom field with its options. *duplicates counts option names given twice.
 * NULL with a 400 in err: unknown workspace, a name already used in the workspace, more than
 * 500 options, a rejected option name. */
as_field_t *as_store_field_create(as_store_t *st, const as_field_input_t *in,
                                  const as_policy_t *pol, size_t *duplicates, as_err_t *err);
/* Adds an option to enum field f (at the end, or before/after a sibling). *duplicate is set
 * when f already has an option of that name (Asana allows it). NULL with err: not an enum
 * field, 500 options already, a rejected name, an unknown sibling. */
as_option_t *as_store_option_create(as_store_t *st, as_field_t *f, const as_option_input_t *in,
                                    const as_policy_t *pol, bool *duplicate, as_err_t *err);
/* Renames / recolours / enables or disables an option. */
int as_store_option_update(as_option_t *o, const as_option_input_t *in, const as_policy_t *pol,
                           as_err_t *err);
/* Puts field in.field on project p. NULL with err: unknown field, already on the project,
 * unknown sibling setting. */
as_setting_t *as_store_setting_add(as_store_t *st, as_project_t *p, const as_setting_input_t *in,
                                   as_err_t *err);

/* Creates a task. NULL with err: unknown workspace or project, custom field problems
 * (unknown, not on the task's projects, wrong value type, disabled or foreign enum option,
 * text over 1024 characters), 402 for custom field values on a free plan. */
as_task_t *as_store_task_create(as_store_t *st, const as_task_input_t *in,
                                const as_policy_t *pol, int64_t now_ms, as_err_t *err);
/* Changes what in carries; modified_at moves only when something changed. 0, or -1 with err
 * and the task unchanged. */
int as_store_task_update(as_store_t *st, as_task_t *t, const as_task_input_t *in,
                         const as_policy_t *pol, int64_t now_ms, as_err_t *err);
void as_store_task_delete(as_store_t *st, as_task_t *t);

/* The value of field f on t, or NULL when unset. */
const as_value_t *as_task_value(const as_task_t *t, const as_field_t *f);
/* Index in p->tasks of the first task with seq >= seq. */
size_t as_project_task_from(const as_project_t *p, uint64_t seq);
#endif
