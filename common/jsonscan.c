/* jsonscan: incremental JSON splitter, see jsonscan.h.
 *
 * A byte-driven state machine: a lexer for the current token (string, number, literal) and a
 * stack of open containers. Nothing of the document is kept except the bytes being captured:
 * the current target-array element (an item), or a scalar / member name outside the target
 * array. Capture is done by remembering where it started in the current chunk and copying
 * whole spans, so the per-byte cost stays small. */
#include "jsonscan.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define JSCAN_MAX_DEPTH 512
/* Scalars and member names outside items are meant to be small (links, bookmarks, flags). */
#define JSCAN_MAX_TOKEN (1u << 20)

typedef enum { F_OBJ, F_ARR } frame_kind_t;

typedef enum {
    OBJ_FIRST,  /* after '{': member name or '}' */
    OBJ_KEY,    /* after ',': member name */
    OBJ_COLON,  /* after a member name */
    OBJ_VALUE,  /* after ':' */
    OBJ_NEXT,   /* after a member value: ',' or '}' */
    ARR_FIRST,  /* after '[': value or ']' */
    ARR_VALUE,  /* after ',' */
    ARR_NEXT,   /* after an element: ',' or ']' */
} frame_state_t;

typedef struct {
    uint8_t  kind;       /* frame_kind_t */
    uint8_t  state;      /* frame_state_t */
    bool     on_path;    /* every member name from the root matched the path so far */
    bool     key_match;  /* object: the current member name is the next path segment */
    bool     is_target;  /* array at the end of the path: its elements are items */
    uint16_t matched;    /* path segments matched to reach this container */
    size_t   path_base;  /* length of the dotted path at this container */
} frame_t;

typedef enum { LEX_NONE, LEX_STRING, LEX_NUMBER, LEX_LITERAL } lex_kind_t;
typedef enum { STR_CHAR, STR_ESC, STR_HEX } str_state_t;
typedef enum { NUM_MINUS, NUM_ZERO, NUM_INT, NUM_DOT, NUM_FRAC, NUM_E, NUM_ESIGN, NUM_EXP } num_state_t;
typedef enum { CAP_NONE, CAP_ITEM, CAP_SCALAR, CAP_KEY } cap_kind_t;
typedef enum { ROOT_START, ROOT_OPEN, ROOT_DONE } root_state_t;

struct jscan {
    char         **seg;      /* path segments */
    uint16_t       nseg;
    jscan_item_fn  on_item;
    jscan_scalar_fn on_scalar;
    void          *ud;

    frame_t        stack[JSCAN_MAX_DEPTH];
    size_t         depth;
    root_state_t   root;

    lex_kind_t     lex;
    bool           lex_is_key;
    int            lex_sub;  /* str_state_t / num_state_t / literal position */
    int            hex_left;
    const char    *literal;

    cap_kind_t     cap;
    size_t         cap_from; /* capture start in the current chunk */
    size_t         cap_offset; /* capture start in the document */
    size_t         item_depth; /* stack depth of the target array while an item is captured */
    buf_t          capbuf;
    buf_t          path;     /* dotted member path of the current position */

    size_t         offset;   /* bytes consumed before the current chunk */
    size_t         items;
    int            rc;       /* 0 while alive; -1 after an error; the callback's stop value */
    char           err[160];
};

/* Splits path on '.' into s->seg; returns 0, -1 on out of memory. */
static int split_path(jscan_t *s, const char *path)
{
    if (!path || !*path)
        return 0;
    size_t n = 1;
    for (const char *p = path; *p; p++)
        n += *p == '.';
    if (n > UINT16_MAX)
        return -1;
    s->seg = calloc(n, sizeof *s->seg);
    if (!s->seg)
        return -1;
    const char *start = path;
    for (size_t i = 0; i < n; i++) {
        const char *dot = strchr(start, '.');
        size_t len = dot ? (size_t)(dot - start) : strlen(start);
        s->seg[i] = strndup(start, len);
        if (!s->seg[i])
            return -1;
        s->nseg = (uint16_t)(i + 1);
        start += len + 1;
    }
    return 0;
}

jscan_t *jscan_new(const char *path, jscan_item_fn on_item, jscan_scalar_fn on_scalar, void *ud)
{
    jscan_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    if (split_path(s, path) < 0) {
        jscan_destroy(&s);
        return NULL;
    }
    s->on_item = on_item;
    s->on_scalar = on_scalar;
    s->ud = ud;
    buf_init(&s->capbuf);
    buf_init(&s->path);
    return s;
}

void jscan_destroy(jscan_t **sp)
{
    if (!sp || !*sp)
        return;
    jscan_t *s = *sp;
    for (uint16_t i = 0; i < s->nseg; i++)
        free(s->seg[i]);
    free(s->seg);
    buf_free(&s->capbuf);
    buf_free(&s->path);
    free(s);
    *sp = NULL;
}

const char *jscan_error(const jscan_t *s)
{
    return s->err;
}

size_t jscan_items(const jscan_t *s)
{
    return s->items;
}

/* Puts the scanner in its dead error state (offset: from the start of the document);
 * returns -1. */
static int fail(jscan_t *s, size_t offset, const char *what)
{
    snprintf(s->err, sizeof s->err, "%s at offset %zu", what, offset);
    s->rc = -1;
    return -1;
}

/* fail() for an unexpected byte c, saying what was expected instead. */
static int unexpected(jscan_t *s, size_t at, unsigned char c, const char *expected)
{
    char what[120];
    if (c >= 0x20 && c < 0x7f)
        snprintf(what, sizeof what, "unexpected '%c' (expected %s)", c, expected);
    else
        snprintf(what, sizeof what, "unexpected byte 0x%02x (expected %s)", c, expected);
    return fail(s, s->offset + at, what);
}

/* Current dotted path as a C string (borrowed). */
static const char *path_str(const jscan_t *s)
{
    return s->path.len ? s->path.data : "";
}

static void path_truncate(jscan_t *s, size_t len)
{
    if (s->path.len > len) {
        s->path.len = len;
        s->path.data[len] = '\0';
    }
}

static void cap_start(jscan_t *s, cap_kind_t kind, size_t at)
{
    s->cap = kind;
    s->cap_from = at;
    s->cap_offset = s->offset + at;
    buf_reset(&s->capbuf);
}

/* Moves data[cap_from, end) into the capture buffer; -1 when a small token grows too long. */
static int cap_flush(jscan_t *s, const char *data, size_t end)
{
    buf_append(&s->capbuf, data + s->cap_from, end - s->cap_from);
    s->cap_from = end;
    if (s->cap != CAP_ITEM && s->capbuf.len > JSCAN_MAX_TOKEN)
        return fail(s, s->cap_offset, "token longer than 1 MiB outside the target array");
    return 0;
}

/* A member name outside any item ended (capture holds it with its quotes): sets the path to
 * "<container path>.<name>" and whether the name continues the target path. */
static void key_done(jscan_t *s)
{
    frame_t *f = &s->stack[s->depth - 1];
    json_t *decoded = json_loadb(s->capbuf.data, s->capbuf.len, JSON_DECODE_ANY, NULL);
    const char *name = json_string_value(decoded);
    size_t name_len = decoded ? json_string_length(decoded) : 0;
    if (!name) { /* \u0000 or a lone surrogate: keep the raw text, it matches nothing */
        name = s->capbuf.data + 1;
        name_len = s->capbuf.len - 2;
    }
    path_truncate(s, f->path_base);
    if (f->path_base)
        buf_append(&s->path, ".", 1);
    buf_append(&s->path, name, name_len);
    f->key_match = decoded && f->on_path && f->matched < s->nseg &&
                   strlen(s->seg[f->matched]) == name_len &&
                   memcmp(s->seg[f->matched], name, name_len) == 0;
    json_decref(decoded);
    s->cap = CAP_NONE;
}

/* A value ended just before data[end]. Hands out the finished item or scalar, then moves the
 * enclosing container (or the root) past the value. Returns 0 or the item callback's stop
 * value. */
static int value_done(jscan_t *s, const char *data, size_t end)
{
    int rc = 0;
    if (s->cap == CAP_ITEM && s->depth == s->item_depth) {
        cap_flush(s, data, end);
        s->cap = CAP_NONE;
        s->items++;
        if (s->on_item)
            rc = s->on_item(s->ud, s->capbuf.data, s->capbuf.len);
    } else if (s->cap == CAP_SCALAR) {
        if (cap_flush(s, data, end) < 0)
            return -1;
        s->cap = CAP_NONE;
        if (s->on_scalar)
            s->on_scalar(s->ud, path_str(s), s->capbuf.data, s->capbuf.len);
    }
    if (s->depth == 0) {
        s->root = ROOT_DONE;
    } else {
        frame_t *f = &s->stack[s->depth - 1];
        f->state = f->kind == F_OBJ ? OBJ_NEXT : ARR_NEXT;
    }
    if (rc) {
        snprintf(s->err, sizeof s->err, "stopped by the item callback (%d)", rc);
        s->rc = rc;
    }
    return rc;
}

static int push(jscan_t *s, size_t at, frame_kind_t kind, bool on_path, unsigned matched)
{
    if (s->depth == JSCAN_MAX_DEPTH)
        return fail(s, s->offset + at, "nesting deeper than 512 levels");
    frame_t *f = &s->stack[s->depth++];
    memset(f, 0, sizeof *f);
    f->kind = (uint8_t)kind;
    f->state = kind == F_OBJ ? OBJ_FIRST : ARR_FIRST;
    f->on_path = on_path;
    f->matched = (uint16_t)matched;
    f->is_target = kind == F_ARR && on_path && matched == s->nseg && s->cap != CAP_ITEM;
    f->path_base = s->path.len;
    return 0;
}

/* Closes the top container with its bracket at data[at]. */
static int pop(jscan_t *s, const char *data, size_t at)
{
    path_truncate(s, s->stack[--s->depth].path_base);
    return value_done(s, data, at + 1);
}

/* A value starts with data[at] inside the current container (or at the root). */
static int begin_value(jscan_t *s, const char *data, size_t at)
{
    unsigned char c = (unsigned char)data[at];
    frame_t *parent = s->depth ? &s->stack[s->depth - 1] : NULL;
    bool on_path = false;
    unsigned matched = 0;
    if (s->cap == CAP_ITEM) {
        /* inside an item: only syntax matters */
    } else if (parent && parent->is_target) {
        cap_start(s, CAP_ITEM, at);
        s->item_depth = s->depth;
    } else if (!parent) {
        on_path = true;
    } else if (parent->kind == F_OBJ) {
        on_path = parent->key_match;
        matched = parent->matched + 1u;
    } else {
        on_path = parent->on_path;
        matched = parent->matched;
    }
    if (!parent)
        s->root = ROOT_OPEN;

    if (c == '{' || c == '[')
        return push(s, at, c == '{' ? F_OBJ : F_ARR, on_path, matched);

    bool scalar_start = c == '"' || c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' ||
                        c == 'n';
    if (!scalar_start)
        return unexpected(s, at, c, "a value");
    if (s->cap == CAP_NONE)
        cap_start(s, CAP_SCALAR, at);
    s->lex_is_key = false;
    if (c == '"') {
        s->lex = LEX_STRING;
        s->lex_sub = STR_CHAR;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        s->lex = LEX_NUMBER;
        s->lex_sub = c == '-' ? NUM_MINUS : c == '0' ? NUM_ZERO : NUM_INT;
    } else {
        s->lex = LEX_LITERAL;
        s->literal = c == 't' ? "true" : c == 'f' ? "false" : "null";
        s->lex_sub = 1;
    }
    return 0;
}

/* A member name starts with the quote at data[at]. */
static void begin_key(jscan_t *s, size_t at)
{
    if (s->cap == CAP_NONE)
        cap_start(s, CAP_KEY, at);
    s->lex = LEX_STRING;
    s->lex_sub = STR_CHAR;
    s->lex_is_key = true;
}

/* The current string token ended with its closing quote at data[at]. */
static int string_done(jscan_t *s, const char *data, size_t at)
{
    s->lex = LEX_NONE;
    if (!s->lex_is_key)
        return value_done(s, data, at + 1);
    s->stack[s->depth - 1].state = OBJ_COLON;
    if (s->cap == CAP_KEY) {
        if (cap_flush(s, data, at + 1) < 0)
            return -1;
        key_done(s);
    }
    return 0;
}

static bool is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int lex_string(jscan_t *s, const char *data, size_t at)
{
    unsigned char c = (unsigned char)data[at];
    switch (s->lex_sub) {
    case STR_CHAR:
        if (c == '"')
            return string_done(s, data, at);
        if (c == '\\')
            s->lex_sub = STR_ESC;
        else if (c < 0x20)
            return fail(s, s->offset + at, "control character in a string");
        return 0;
    case STR_ESC:
        if (c == 'u') {
            s->lex_sub = STR_HEX;
            s->hex_left = 4;
        } else if (strchr("\"\\/bfnrt", c) && c) {
            s->lex_sub = STR_CHAR;
        } else {
            return unexpected(s, at, c, "an escape character");
        }
        return 0;
    default: /* STR_HEX */
        if (!is_hex(c))
            return unexpected(s, at, c, "a hex digit in \\u escape");
        if (--s->hex_left == 0)
            s->lex_sub = STR_CHAR;
        return 0;
    }
}

/* Returns 1 when c ends the number (c is not part of it and must be processed again), 0 when
 * c was consumed, -1 on a malformed number. */
static int lex_number(jscan_t *s, size_t at, unsigned char c)
{
    bool digit = c >= '0' && c <= '9';
    switch (s->lex_sub) {
    case NUM_MINUS:
        if (!digit)
            return unexpected(s, at, c, "a digit");
        s->lex_sub = c == '0' ? NUM_ZERO : NUM_INT;
        return 0;
    case NUM_ZERO:
    case NUM_INT:
        if (digit && s->lex_sub == NUM_INT)
            return 0;
        if (c == '.')
            s->lex_sub = NUM_DOT;
        else if (c == 'e' || c == 'E')
            s->lex_sub = NUM_E;
        else if (digit)
            return fail(s, s->offset + at, "leading zero in a number");
        else
            return 1;
        return 0;
    case NUM_DOT:
        if (!digit)
            return unexpected(s, at, c, "a digit after '.'");
        s->lex_sub = NUM_FRAC;
        return 0;
    case NUM_FRAC:
        if (digit)
            return 0;
        if (c == 'e' || c == 'E') {
            s->lex_sub = NUM_E;
            return 0;
        }
        return 1;
    case NUM_E:
        if (c == '+' || c == '-') {
            s->lex_sub = NUM_ESIGN;
            return 0;
        }
        /* fall through */
    case NUM_ESIGN:
        if (!digit)
            return unexpected(s, at, c, "a digit in the exponent");
        s->lex_sub = NUM_EXP;
        return 0;
    default: /* NUM_EXP */
        return digit ? 0 : 1;
    }
}

static bool number_complete(const jscan_t *s)
{
    return s->lex_sub == NUM_ZERO || s->lex_sub == NUM_INT || s->lex_sub == NUM_FRAC ||
           s->lex_sub == NUM_EXP;
}

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* One structural byte (no token under way). */
static int structural(jscan_t *s, const char *data, size_t at)
{
    unsigned char c = (unsigned char)data[at];
    if (is_space(c))
        return 0;
    if (s->depth == 0) {
        if (s->root == ROOT_DONE)
            return unexpected(s, at, c, "end of input after the document");
        return begin_value(s, data, at);
    }
    frame_t *f = &s->stack[s->depth - 1];
    switch (f->state) {
    case OBJ_FIRST:
        if (c == '}')
            return pop(s, data, at);
        /* fall through */
    case OBJ_KEY:
        if (c != '"')
            return unexpected(s, at, c, f->state == OBJ_FIRST ? "a member name or '}'"
                                                               : "a member name");
        begin_key(s, at);
        return 0;
    case OBJ_COLON:
        if (c != ':')
            return unexpected(s, at, c, "':'");
        f->state = OBJ_VALUE;
        return 0;
    case OBJ_VALUE:
    case ARR_VALUE:
        return begin_value(s, data, at);
    case ARR_FIRST:
        if (c == ']')
            return pop(s, data, at);
        return begin_value(s, data, at);
    default: { /* OBJ_NEXT, ARR_NEXT */
        char close = f->state == OBJ_NEXT ? '}' : ']';
        if (c == close)
            return pop(s, data, at);
        if (c != ',')
            return unexpected(s, at, c, close == '}' ? "',' or '}'" : "',' or ']'");
        f->state = f->state == OBJ_NEXT ? OBJ_KEY : ARR_VALUE;
        return 0;
    }
    }
}

/* One byte; a finished number makes the byte go through structural() as well. */
static int step(jscan_t *s, const char *data, size_t at)
{
    unsigned char c = (unsigned char)data[at];
    switch (s->lex) {
    case LEX_STRING:
        return lex_string(s, data, at);
    case LEX_LITERAL:
        if (c != (unsigned char)s->literal[s->lex_sub])
            return unexpected(s, at, c, s->literal);
        if (s->literal[++s->lex_sub] == '\0') {
            s->lex = LEX_NONE;
            return value_done(s, data, at + 1);
        }
        return 0;
    case LEX_NUMBER: {
        int r = lex_number(s, at, c);
        if (r <= 0)
            return r;
        s->lex = LEX_NONE;
        int rc = value_done(s, data, at);
        if (rc)
            return rc;
        return structural(s, data, at);
    }
    case LEX_NONE:
        break;
    }
    return structural(s, data, at);
}

int jscan_feed(jscan_t *s, const char *data, size_t len)
{
    if (s->rc)
        return s->rc;
    for (size_t i = 0; i < len; i++) {
        int rc = step(s, data, i);
        if (rc)
            return rc;
    }
    if (s->cap != CAP_NONE && cap_flush(s, data, len) < 0)
        return -1;
    s->cap_from = 0;
    s->offset += len;
    return 0;
}

int jscan_finish(jscan_t *s)
{
    if (s->rc)
        return -1;
    if (s->lex == LEX_NUMBER && s->depth == 0 && number_complete(s)) {
        s->lex = LEX_NONE;
        value_done(s, "", 0);
    }
    if (s->root != ROOT_DONE)
        return fail(s, s->offset, s->root == ROOT_START && s->lex == LEX_NONE ? "empty document"
                                                                       : "unexpected end of input");
    return 0;
}
