/* jsonscan: incremental JSON splitter (pure, no I/O). Feeds arbitrary chunks of one JSON
 * document and hands out, one by one, the raw bytes of every element of the array found at a
 * dotted path, without ever holding the whole document: a 5000-row OData page costs one row
 * of memory. Arrays met on the way down are traversed element by element, so the path
 * "results.records" reaches M3 v2 rows inside every element of "results".
 * Scalars outside the target array are reported with their dotted path
 * ("@odata.nextLink", "Bookmark", "results.errorMessage") so paging and error fields are seen.
 */
#ifndef MLC_JSONSCAN_H
#define MLC_JSONSCAN_H
#include <stddef.h>

typedef struct jscan jscan_t;
/* One element of the target array: raw JSON text (an object, usually) of len bytes, not
 * NUL-terminated. Return 0 to continue, non-zero to stop (jscan_feed returns that value). */
typedef int (*jscan_item_fn)(void *ud, const char *json, size_t len);
/* A scalar member outside the target array: dotted path and its raw JSON token (strings keep
 * their quotes and escapes; use json_loadb with JSON_DECODE_ANY to decode). */
typedef void (*jscan_scalar_fn)(void *ud, const char *path, const char *raw, size_t len);

/* path: dotted member names from the root, e.g. "value". Returns NULL on out of memory. */
jscan_t *jscan_new(const char *path, jscan_item_fn on_item, jscan_scalar_fn on_scalar, void *ud);
/* Feeds the next chunk. Returns 0, -1 on a syntax error (see jscan_error), or the non-zero
 * value an item callback returned. After an error every later feed returns -1. */
int jscan_feed(jscan_t *s, const char *data, size_t len);
/* Declares the end of input: 0 when exactly one complete JSON value was read, else -1. */
int jscan_finish(jscan_t *s);
/* Human-readable reason for the last error, with the byte offset. */
const char *jscan_error(const jscan_t *s);
/* Number of target-array elements handed out so far. */
size_t jscan_items(const jscan_t *s);
/* Frees the scanner and NULLs *s; safe on NULL and twice. */
void jscan_destroy(jscan_t **s);
#endif
