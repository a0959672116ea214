/* asana_input: pure validation of what clients send to the simulated Asana (request bodies,
 * gids, query parameters), with the error messages Asana gives. Checks that need the data
 * (does this project exist, is this field on the task's project) are the store's; this module
 * checks shape and types only. No I/O, no locks.
 *
 * Messages follow Asana's "<field>: <problem>" style; where the real wording is known it is
 * used ("Could not parse request data, invalid JSON", "<f>: Not a recognized ID: <v>",
 * "<f>: Not a valid GID type: <type>", "<f>: Missing input", "<f>: Cannot write this
 * property", "You should specify one of workspace, parent, projects", "You may only provide
 * one of due_on or due_at!", "due_on: Date must be in ISO-8601 (yyyy-mm-dd) format, not:
 * <v>", "custom_fields: Value is not a JSON object: <v>"). A member Asana has but the
 * simulator does not serve is refused by name ("<f>: Not served by the Asana simulator")
 * rather than silently dropped; a member Asana does not have is "<f>: Unrecognized property".
 */
#ifndef MLC_SIM_ASANA_INPUT_H
#define MLC_SIM_ASANA_INPUT_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An error answer: HTTP status and the message of {"errors":[{"message":...}]}. */
typedef struct {
    int  status;
    char msg[640];
} as_err_t;

/* Sets *e and returns -1 (so callers can `return as_fail(...)`). */
int as_fail(as_err_t *e, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Custom field kinds the simulator serves. */
typedef enum { AS_CF_TEXT = 0, AS_CF_NUMBER, AS_CF_ENUM } as_cf_type_t;
const char *as_cf_type_name(as_cf_type_t t);

/* A gid in a path or query: digits only, 1..19 of them, not zero. 0 and *out set, or -1. */
int as_gid_parse(const char *s, uint64_t *out);
/* A gid in a body member (what names it in messages): 0, or -1 with a 400 in err ("<what>:
 * Not a valid GID type: <type>" for a non-string, "<what>: Not a recognized ID: <v>"). */
int as_input_gid(const json_t *v, const char *what, uint64_t *out, as_err_t *err);
/* A value as messages show it: strings bare, anything else compact JSON, cut to len. */
const char *as_shown(const json_t *v, char *buf, size_t len);

/* Parses a write body {"data": {...}[, "options": {...}]}. Returns the root (caller
 * json_decref's it) with *data pointing at the data object inside it and *opt_fields set to a
 * malloc'd comma list from options.fields (NULL when absent). NULL with a 400 in err when the
 * body is not JSON, has no data object, or has other top-level members. */
json_t *as_input_body(const char *body, size_t len, json_t **data, char **opt_fields,
                      as_err_t *err);

/* One member of task.custom_fields: the field gid and its value (borrowed from the body). */
typedef struct {
    uint64_t      field;
    const json_t *value;
} as_cf_input_t;

/* A task create or update. Strings are borrowed from the body; has_* say what was sent.
 * due_on NULL with has_due_on = clear; due_at_ms -1 with has_due_at = clear. */
typedef struct {
    bool           has_name, has_notes, has_completed, has_due_on, has_due_at, has_subtype;
    const char    *name, *notes, *due_on, *subtype;
    bool           completed;
    int64_t        due_at_ms;
    uint64_t      *projects;     /* create only; malloc'd */
    size_t         nprojects;
    uint64_t       workspace;    /* create only; 0 = not sent */
    as_cf_input_t *cfs;          /* malloc'd */
    size_t         ncfs;
} as_task_input_t;

/* Validates the data object of POST /tasks (create) or PUT /tasks/{gid} into *in (free with
 * as_task_input_free). 0, or -1 with a 400 in err and *in freed. */
int as_input_task(const json_t *data, bool create, as_task_input_t *in, as_err_t *err);
void as_task_input_free(as_task_input_t *in);

/* An enum option create (POST /custom_fields/{gid}/enum_options, or one of a new field's
 * enum_options) or update (PUT /enum_options/{gid}). insert_* 0 = not sent. */
typedef struct {
    const char *name, *color;
    bool        has_enabled, enabled;
    uint64_t    insert_before, insert_after;
} as_option_input_t;
int as_input_option(const json_t *data, bool create, as_option_input_t *in, as_err_t *err);

/* A custom field create (POST /custom_fields). */
typedef struct {
    uint64_t           workspace;
    const char        *name, *description;
    as_cf_type_t       type;
    int                precision;              /* -1 = not sent */
    const char        *format, *currency_code; /* NULL = not sent */
    const char        *custom_label, *custom_label_position;
    bool               has_notifications;
    bool               notifications;
    as_option_input_t *options;                /* malloc'd */
    size_t             noptions;
} as_field_input_t;
int as_input_field(const json_t *data, as_field_input_t *in, as_err_t *err);
void as_field_input_free(as_field_input_t *in);

/* POST /projects/{gid}/addCustomFieldSetting. */
typedef struct {
    uint64_t field;
    bool     important;
    uint64_t insert_before, insert_after;
} as_setting_input_t;
int as_input_setting(const json_t *data, as_setting_input_t *in, as_err_t *err);

/* The limit query parameter: NULL -> 0 (absent), else 1..100; -1 with a 400 otherwise. */
int as_input_limit(const char *s, int *limit, as_err_t *err);
/* A date-time query parameter (completed_since, modified_since) named param: NULL -> -1
 * (absent); "now" (when allow_now) -> now_ms; else ISO-8601. -1 with a 400 in err when bad
 * (*ms left alone), else 0. */
int as_input_since(const char *param, const char *s, bool allow_now, int64_t now_ms,
                   int64_t *ms, as_err_t *err);
#endif
