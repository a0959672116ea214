/* asana_render: JSON text of the simulated Asana's objects as the API shows them: compact
 * form in lists, full form for a single object, or exactly the opt_fields selection (dotted
 * paths such as custom_fields.enum_value.gid; naming an object field without sub-fields gives
 * that object's default form; "gid" always comes). Writes text straight into a buffer (no
 * JSON tree per request). Pure: reads the store, which the caller keeps locked.
 *
 * Also a small streaming JSON writer (as_jw_*) the simulator uses for its other answers. */
#ifndef MLC_SIM_ASANA_RENDER_H
#define MLC_SIM_ASANA_RENDER_H
#include <stdbool.h>
#include <stdint.h>

#include "asana_input.h"
#include "asana_store.h"
#include "util.h"

/* ---- streaming JSON writer ------------------------------------------------------------------ */
typedef struct {
    buf_t *b;
    int    depth;
    bool   after_key;
    bool   need_comma[32];
} as_jw_t;

void as_jw_init(as_jw_t *w, buf_t *b);
void as_jw_obj(as_jw_t *w);          /* { */
void as_jw_arr(as_jw_t *w);          /* [ */
void as_jw_end_obj(as_jw_t *w);      /* } */
void as_jw_end_arr(as_jw_t *w);      /* ] */
void as_jw_key(as_jw_t *w, const char *key);
void as_jw_str(as_jw_t *w, const char *s);      /* NULL writes null */
void as_jw_gid(as_jw_t *w, uint64_t gid);       /* a gid is a JSON string of digits */
void as_jw_int(as_jw_t *w, int64_t v);
void as_jw_num(as_jw_t *w, double v);           /* shortest text that reads back as v */
void as_jw_bool(as_jw_t *w, bool v);
void as_jw_null(as_jw_t *w);
void as_jw_time(as_jw_t *w, int64_t ms);        /* "YYYY-MM-DDTHH:MM:SS.mmmZ"; ms <= 0: null */

/* ---- Asana objects --------------------------------------------------------------------------- */
typedef enum {
    AS_RT_NONE = 0,
    AS_RT_USER,
    AS_RT_WORKSPACE,
    AS_RT_PROJECT,
    AS_RT_SECTION,
    AS_RT_MEMBERSHIP,     /* object: the as_project_t the task is in */
    AS_RT_TASK,
    AS_RT_FIELD,          /* a custom field definition */
    AS_RT_FIELD_VALUE,    /* object: as_field_t, with the task in the context */
    AS_RT_OPTION,
    AS_RT_SETTING,
} as_rtype_t;

typedef enum { AS_FORM_COMPACT = 1, AS_FORM_FULL = 2, AS_FORM_VALUE = 4 } as_form_t;

typedef struct as_sel as_sel_t;

/* Parses opt_fields (comma-separated dotted paths) for objects of type rt. Returns the
 * selection (free with as_sel_free), or NULL with a 400 in err naming a field that rt does
 * not have or the simulator does not serve. "offset", "path" and "uri" (list envelopes) are
 * accepted and ignored. */
as_sel_t *as_sel_parse(as_rtype_t rt, const char *opt_fields, as_err_t *err);
void as_sel_free(as_sel_t **sel);

/* Writes obj of type rt: the selection sel when non-NULL, else the given form. obj is the
 * type's store struct (as_task_t, as_project_t, ...; NULL for the user and the workspace). */
void as_render(as_jw_t *w, const as_store_t *st, as_rtype_t rt, const void *obj,
               const as_sel_t *sel, as_form_t form);

/* The display_value of field f on task t ("" never; NULL when unset). Writes into buf. */
const char *as_render_display(const as_task_t *t, const as_field_t *f, char *buf, size_t len);

/* The error body {"errors":[{"message","help"[,"phrase"]}]} (phrase for 5xx) into b. */
void as_render_error(buf_t *b, int status, const char *message);
#endif
