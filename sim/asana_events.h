/* asana_events: the events of the simulated Asana. Builds Asana event objects from task writes
 * (a snapshot taken before a write, compared with the task after it), keeps the recent events
 * of every project in a log, and answers GET /events from that log with sync tokens. Pure
 * apart from memory: no I/O, no locks (asana_webhooks locks the log and feeds webhooks).
 *
 * Event JSON (one object, Asana's EventResponse): {"user":{"gid","resource_type":"user"},
 * "created_at", "action": "added"|"changed"|"deleted", "resource":{"gid","resource_type":
 * "task","resource_subtype"}, "parent": project {gid,resource_type,name} for added, else null,
 * "change":{"field","action":"changed","new_value"} (changed only)}. One event per changed
 * field and per project of the task. */
#ifndef MLC_SIM_ASANA_EVENTS_H
#define MLC_SIM_ASANA_EVENTS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "asana_store.h"
#include "util.h"

#define AS_EVENTS_PAGE 100   /* events per GET /events answer */

typedef enum { AS_EV_ADDED = 0, AS_EV_CHANGED, AS_EV_DELETED } as_ev_action_t;
const char *as_ev_action_name(as_ev_action_t a);

/* One event, what filters look at plus its JSON text. */
typedef struct {
    uint64_t       seq;            /* set by as_evlog_append: 1, 2, ... */
    uint64_t       project;        /* the project it belongs to (webhook / events resource) */
    as_ev_action_t action;
    char           field[32];      /* the changed field ("completed", "custom_fields"), or "" */
    char           subtype[16];    /* the task's resource_subtype */
    char          *json;           /* the event object, malloc'd */
} as_event_t;

/* A growable list of events; zero-initialise, free with as_event_list_free. */
typedef struct {
    as_event_t *items;
    size_t      n;
} as_event_list_t;
void as_event_list_free(as_event_list_t *l);

/* What of a task an event can report, copied before a write (the store changes the task in
 * place). Field and option pointers are borrowed from the store: use the snapshot only while
 * the store lock that was held to take it is still held. */
typedef struct {
    char             *name, *notes, *subtype;
    bool              completed;
    char              due_on[11];
    int64_t           due_at_ms;
    as_value_t       *values;      /* text copied */
    size_t            nvalues;
} as_task_snap_t;
void as_task_snap_take(const as_task_t *t, as_task_snap_t *s);
void as_task_snap_free(as_task_snap_t *s);

/* Appends to out the events of one write on task t by user at now_ms, one set per project of
 * t: AS_EV_ADDED (t just created; before NULL), AS_EV_DELETED (t about to be deleted; before
 * NULL), AS_EV_CHANGED (before = snapshot before the write; one event per field whose value
 * differs: name, notes, resource_subtype, completed, due_on, due_at, custom_fields; none when
 * nothing changed). */
void as_events_build(as_ev_action_t action, const as_task_snap_t *before, const as_task_t *t,
                     uint64_t user_gid, int64_t now_ms, as_event_list_t *out);

/* ---- the event log and GET /events ----------------------------------------------------- */
typedef struct as_evlog as_evlog_t;

/* A log keeping the last capacity events (all projects); salt makes the sync tokens of
 * another run (or before as_evlog_expire_tokens) unknown. */
as_evlog_t *as_evlog_new(size_t capacity, uint32_t salt);
void as_evlog_destroy(as_evlog_t **log);
/* Takes e (its json is owned by the log from now on) and numbers it; the oldest event goes
 * when the log is full, which makes older sync tokens expire. Returns the seq. */
uint64_t as_evlog_append(as_evlog_t *log, as_event_t *e);
/* Makes every sync token issued so far invalid (the next GET /events answers 412). */
void as_evlog_expire_tokens(as_evlog_t *log, uint32_t new_salt);
/* Events recorded so far (the seq of the newest; 0 when none). */
uint64_t as_evlog_last_seq(const as_evlog_t *log);

/* Answers GET /events for project with the sync token sync (NULL when not given) into body:
 * returns 412 with {"errors":[...],"sync":fresh} when sync is NULL, not one of ours, for
 * another project, or older than the log; else 200 with {"data":[at most AS_EVENTS_PAGE
 * events after the token, oldest first],"sync":next,"has_more":bool}. */
int as_evlog_fetch(const as_evlog_t *log, uint64_t project, const char *sync, buf_t *body);
#endif
