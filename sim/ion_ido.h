/* ion_ido: the simulated SyteLine (CloudSuite Industrial) IDO REST service behind the ION
 * gateway: ido/load (properties, filter, orderby, recordcap, loadtype FIRST/NEXT with an
 * opaque bookmark, MoreRowsExist, _ItemId per row) and ido/update (Action 2 with ItemId
 * optimistic locking). The pure parts — the filter subset, orderby, bookmarks and ItemIds —
 * have their own functions so unit tests drive them without a store. */
#ifndef MLC_SIM_ION_IDO_H
#define MLC_SIM_ION_IDO_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ion_store.h"
#include "util.h"

/* ---- filter: a small SQL WHERE subset ---------------------------------------------------- */

typedef struct ion_filter ion_filter_t;

/* Parses text: <Property> <op> <literal> [AND <Property> <op> <literal>]..., op one of
 * = <> != < <= > >=, literal 'text' ('' escapes a quote; N'text' too) or a number; AND is
 * case-insensitive. Properties of t only. Literals are converted to the property's kind:
 * numbers for INT/DEC, dates ("yyyyMMdd", "yyyy-MM-dd", with an optional " HH:mm:ss[.fff]" or
 * "THH:mm:ss[.fff]") for DATE/STAMP. Returns NULL with err: "Invalid column name 'X'.",
 * "Incorrect syntax near '...'.", "Conversion failed when converting ...". An empty text is a
 * filter that matches everything. */
ion_filter_t *ion_filter_parse(const char *text, const ion_table_t *t, char *err,
                               size_t err_len);
/* True when the row with field texts vals satisfies every condition. */
bool ion_filter_match(const ion_filter_t *f, const ion_table_t *t, char *const *vals);
void ion_filter_free(ion_filter_t **f);   /* NULLs *f; safe on NULL and twice */

/* ---- orderby ----------------------------------------------------------------------------- */

/* Parses "Prop", "Prop ASC" or "Prop DESC" (one property of t; NULL or empty = the key
 * ascending) into *field and *desc. Returns 0, or -1 with err. */
int ion_orderby_parse(const char *text, const ion_table_t *t, size_t *field, bool *desc,
                      char *err, size_t err_len);

/* ---- bookmarks --------------------------------------------------------------------------- */

typedef struct {
    char *property;   /* the orderby property */
    bool  desc;
    char *value;      /* its value in the last row returned */
    char *key;        /* that row's key */
} ion_bookmark_t;

/* The opaque bookmark after a row: "<B><P><p>PoNum</p></P><D><f>false</f></D><L><v>..</v>
 * <k>..</k></L></B>" (values XML-escaped). malloc'd. */
char *ion_bookmark_encode(const char *property, bool desc, const char *value, const char *key);
/* Parses a bookmark made by ion_bookmark_encode into *b (ion_bookmark_free it). Returns 0, or
 * -1 when it is not one (b zeroed). */
int ion_bookmark_decode(const char *text, ion_bookmark_t *b);
void ion_bookmark_free(ion_bookmark_t *b);   /* safe twice */

/* ---- ItemIds ----------------------------------------------------------------------------- */

/* The _ItemId of a row of t: "PBT=[po] po.ID=[<RowPointer>] po.DT=[yyyy-MM-dd HH:mm:ss.fff]"
 * (DT = RecordDate), into out (>= 128 bytes). Returns out. */
char *ion_item_id(const ion_table_t *t, char *const *vals, char *out, size_t len);
/* Splits an ItemId of t into its row pointer and DT. Returns 0, or -1 when item_id is not an
 * ItemId of t's base table. */
int ion_item_id_parse(const ion_table_t *t, const char *item_id, char *row_pointer,
                      size_t rp_len, char *dt, size_t dt_len);

/* ---- operations -------------------------------------------------------------------------- */

typedef struct {
    const char *properties, *filter, *orderby, *recordcap, *loadtype, *bookmark;  /* or NULL */
} ion_ido_load_t;

/* Runs a load of t's IDO and appends the body to out: {"Items":[{..,"_ItemId":..}],
 * "Bookmark":..,"MoreRowsExist":b,"Success":true,"Message":null}, or on a bad parameter
 * {"Items":null,"Bookmark":null,"MoreRowsExist":false,"Success":false,"Message":".."} (still
 * HTTP 200). recordcap -1 or absent = 200 rows, 0 = all. Rows ordered by (orderby value, key),
 * both descending with DESC. Empty values are null. Takes the store's lock. Returns the number
 * of items (-1 on Success false). */
long ion_ido_load(ion_store_t *st, const ion_table_t *t, const ion_ido_load_t *q, buf_t *out);

typedef struct {
    int  status;      /* 200 (Success true or false), 400 (body not JSON / no Changes) */
    long written;     /* rows changed */
    bool conflict;    /* refused for a stale ItemId */
} ion_ido_update_result_t;

/* Runs an update of t's IDO from the JSON body and appends the answer to out:
 * {"Success":true,"Message":null,"RefreshItems":[..]|null} (items only with refresh), or
 * Success false with a Message and nothing changed (all changes or none): Action other than 2,
 * missing or foreign ItemId, row gone, stale ItemId ("... has been modified by another user
 * ..."), unknown or read-only property, bad value. who is recorded as UpdatedBy. Takes the
 * store's lock. */
void ion_ido_update(ion_store_t *st, const ion_table_t *t, const char *body, size_t len,
                    bool refresh, const char *who, int64_t now_ms, buf_t *out,
                    ion_ido_update_result_t *res);
#endif
