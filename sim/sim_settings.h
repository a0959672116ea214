/* sim_settings: the run-time settings of a simulator (lifetimes, rates, latency, fault
 * percentages, switches) described by a table, so that the startup configuration, POST
 * /_sim/config and GET /_sim/config check and show them the same way. The settings live in
 * the caller's struct; each table entry names a long (in [min, max]) or a bool member by
 * offset. Pure. */
#ifndef MLC_SIM_SIM_SETTINGS_H
#define MLC_SIM_SIM_SETTINGS_H
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

typedef struct {
    const char *name;      /* NULL ends the table */
    size_t      offset;    /* of a long member, or of a bool member when is_bool */
    long        min, max;  /* longs only */
    bool        is_bool;
} sim_setting_t;

/* Applies one member to settings. Returns 1 when applied, 0 when name is not in defs, -1
 * with err ("<name>: must be an integer from MIN to MAX" / "<name>: must be true or false")
 * for a bad value (settings unchanged). */
int sim_setting_apply(const sim_setting_t *defs, void *settings, const char *name,
                      const json_t *v, char *err, size_t err_len);
/* Applies every member of the object obj. Returns 0, or -1 with err for a bad value or an
 * unknown member ("<name>: not a runtime setting (known: a b c)"); then settings may be
 * partly changed: pass a copy to keep all-or-nothing. */
int sim_settings_update(const sim_setting_t *defs, void *settings, const json_t *obj,
                        char *err, size_t err_len);
/* {"<name>":value,...} in table order. New reference. */
json_t *sim_settings_json(const sim_setting_t *defs, const void *settings);
/* The names of defs separated by spaces into buf (truncated to len). Returns buf. */
char *sim_settings_names(const sim_setting_t *defs, char *buf, size_t len);
#endif
