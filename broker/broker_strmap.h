/* strmap: a string -> int64 hash map (chained, grows at load 1). Used by the broker for the
 * dedupe set of each queue and for the dispatch times of job ids. Keys are copied. */
#ifndef MLC_BROKER_STRMAP_H
#define MLC_BROKER_STRMAP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct smap smap_t;

smap_t *smap_new(void);               /* aborts on out of memory, like xmalloc */
void smap_destroy(smap_t **m);        /* frees keys and the map, nulls *m; safe twice */
/* true and *val (if non-NULL) when key is present. */
bool smap_get(const smap_t *m, const char *key, int64_t *val);
/* Inserts or overwrites. */
void smap_set(smap_t *m, const char *key, int64_t val);
/* true when key was present (and is now removed). */
bool smap_del(smap_t *m, const char *key);
size_t smap_count(const smap_t *m);
/* Removes every entry for which drop(ud, key, val) returns true; returns how many. */
size_t smap_filter(smap_t *m, bool (*drop)(void *ud, const char *key, int64_t val), void *ud);
#endif
