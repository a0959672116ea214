/* m3: Infor M3 through the ION API gateway (m3api-rest v2 and v1, docs/infor.md). Pure helpers
 * are exposed for tests; the driver is ERP_M3 (erp.h). */
#ifndef MLC_M3_H
#define MLC_M3_H
#include <stdbool.h>
#include <jansson.h>
#include "config.h"

/* maxrecs of a flow: its page_size, at least 2 (a page restarts at the previous page's last
 * key, so a page of one would never get past it). */
int m3_maxrecs(const flow_cfg_t *flow);
/* URL of one list request under api_base ({iu}/{ti}):
 *   v2: {base}/M3/m3api-rest/v2/execute/{PROGRAM}/{TRANSACTION};maxrecs=N;returncols=A,B?inputs
 *   v1: {base}/M3/m3api-rest/execute/{PROGRAM}/{TRANSACTION};maxrecs=N?inputs
 * inputs are the flow's inputs in order, then key_input=start_key when start_key is not NULL
 * (it replaces an input of the same name). Caller frees. */
char *m3_page_url(const char *api_base, const flow_cfg_t *flow, const char *start_key,
                  int maxrecs);
/* URL of one call (v2 or v1, no matrix parameters) of PROGRAM/TRANSACTION under api_base with
 * the string members of inputs as query inputs, in order. Caller frees. */
char *m3_call_url(const char *api_base, bool v1, const char *program, const char *transaction,
                  const json_t *inputs);
/* True when the record at index (0-based, in server order) of a page that started from
 * start_key is that start key again (trailing blanks ignored): the previous page had it. */
bool m3_is_repeat(const char *start_key, long index, const char *key);
/* True when another page is due: the page came back full (returned == maxrecs, the repeated
 * first record included) and its last key moved past start_key. */
bool m3_more_pages(long returned, int maxrecs, const char *start_key, const char *last_key);
/* A v1 MIRecord {"RowIndex":0,"NameValue":[{"Name":"PUNO","Value":"4711"},...]} as a flat
 * object {"PUNO":"4711",...} (new reference), or NULL with err when it has another shape. */
json_t *m3_v1_flatten(const json_t *mirecord, char *err, size_t err_len);
#endif
