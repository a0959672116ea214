/* odata: see odata.h. A tokenizer and a recursive-descent parser build a small expression
 * tree, type-checked against the schema while it is built; evaluation walks the tree. */
#include "odata.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

const char *odata_type_name(odata_type_t t)
{
    switch (t) {
    case ODATA_STRING: return "Edm.String";
    case ODATA_DECIMAL: return "Edm.Decimal";
    case ODATA_DATE: return "Edm.Date";
    case ODATA_DATETIME: return "Edm.DateTimeOffset";
    case ODATA_BOOLEAN: return "Edm.Boolean";
    case ODATA_NULL: break;
    }
    return "null";
}

int odata_member_index(const odata_schema_t *s, const char *name)
{
    for (size_t i = 0; i < s->nmembers; i++)
        if (strcmp(s->members[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* Writes "unknown member 'name' (known: A, B, ...)" after the given prefix into err. */
static void unknown_member(char *err, size_t err_len, const char *option, const char *name,
                           const odata_schema_t *s)
{
    buf_t b;
    buf_init(&b);
    buf_appendf(&b, "%s: unknown member '%s' (known:", option, name);
    for (size_t i = 0; i < s->nmembers; i++)
        buf_appendf(&b, "%s %s", i ? "," : "", s->members[i].name);
    buf_append(&b, ")", 1);
    snprintf(err, err_len, "%s", b.data);
    buf_free(&b);
}

/* ---- tokens --------------------------------------------------------------------------- */

typedef enum { T_EOF, T_LPAREN, T_RPAREN, T_WORD, T_LITERAL } tok_kind_t;

typedef struct {
    tok_kind_t    kind;
    size_t        pos;     /* byte offset in the expression, for messages */
    char         *text;    /* T_WORD: the word; T_LITERAL: the literal as written */
    odata_value_t val;     /* T_LITERAL */
    char         *str;     /* T_LITERAL of type string: the unescaped text (owned) */
} token_t;

typedef struct {
    const char           *src;
    size_t                pos;
    const odata_schema_t *schema;
    token_t               tok;      /* current (look-ahead) token */
    char                 *err;
    size_t                err_len;
    bool                  failed;
    int                   depth;    /* nesting of '(' and 'not', bounded by MAX_DEPTH */
} parser_t;

/* Deeper expressions are refused so hostile input cannot exhaust the stack. */
#define MAX_DEPTH 64

static void fail(parser_t *p, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(parser_t *p, size_t pos, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = true;
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(p->err, p->err_len, "$filter (offset %zu): %s", pos, msg);
}

static void tok_clear(token_t *t)
{
    free(t->text);
    free(t->str);
    memset(t, 0, sizeof *t);
}

static bool is_word_start(char c) { return isalpha((unsigned char)c) || c == '_'; }
static bool is_word_char(char c) { return isalnum((unsigned char)c) || c == '_' || c == '.'; }

/* Reads a '...' literal starting at src[*i] (the opening quote); '' is an escaped quote.
 * Returns the unescaped text (malloc'd) and advances *i past the closing quote, NULL when the
 * literal is not terminated. */
static char *read_quoted(const char *src, size_t *i)
{
    buf_t b;
    buf_init(&b);
    size_t j = *i + 1;
    for (;;) {
        if (src[j] == '\0') {
            buf_free(&b);
            return NULL;
        }
        if (src[j] == '\'') {
            if (src[j + 1] == '\'') {
                buf_append(&b, "'", 1);
                j += 2;
                continue;
            }
            break;
        }
        buf_append(&b, &src[j], 1);
        j++;
    }
    *i = j + 1;
    buf_append(&b, "", 0);
    return buf_steal(&b);
}

/* Classifies an unquoted literal starting with a digit or '-': number, date or date-time.
 * Returns false when it is none of them. */
static bool classify_bare(const char *s, odata_value_t *v)
{
    size_t n = strlen(s);
    if (n == 10 && s[4] == '-' && s[7] == '-') {
        int64_t ms = parse_iso8601(s);
        if (ms < 0)
            return false;
        v->type = ODATA_DATE;
        v->ms = ms;
        return true;
    }
    if (n > 10 && s[4] == '-' && (s[10] == 'T' || s[10] == 't')) {
        /* DateTimeOffset literals need a zone: Z or +hh:mm / -hh:mm. */
        char last = s[n - 1];
        bool zone = last == 'Z' || last == 'z' ||
                    (n >= 6 && (s[n - 6] == '+' || s[n - 6] == '-') && s[n - 3] == ':');
        int64_t ms = zone ? parse_iso8601(s) : -1;
        if (ms < 0)
            return false;
        v->type = ODATA_DATETIME;
        v->ms = ms;
        return true;
    }
    const char *q = s;
    if (*q == '-' || *q == '+')
        q++;
    if (!isdigit((unsigned char)*q))
        return false;
    for (const char *c = q; *c; c++)
        if (!isdigit((unsigned char)*c) && *c != '.' && *c != 'e' && *c != 'E' && *c != '-' &&
            *c != '+')
            return false;
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (errno || *end)
        return false;
    v->type = ODATA_DECIMAL;
    v->num = d;
    return true;
}

/* Advances to the next token; on a lexical error marks the parser failed (T_EOF). */
static void next(parser_t *p)
{
    tok_clear(&p->tok);
    const char *s = p->src;
    while (s[p->pos] == ' ' || s[p->pos] == '\t')
        p->pos++;
    token_t *t = &p->tok;
    t->pos = p->pos;
    char c = s[p->pos];
    if (c == '\0') {
        t->kind = T_EOF;
    } else if (c == '(' || c == ')') {
        t->kind = c == '(' ? T_LPAREN : T_RPAREN;
        p->pos++;
    } else if (c == '\'') {
        size_t start = p->pos;
        char *str = read_quoted(s, &p->pos);
        if (!str) {
            fail(p, start, "unterminated string literal");
            t->kind = T_EOF;
            return;
        }
        t->kind = T_LITERAL;
        t->str = str;
        t->val.type = ODATA_STRING;
        t->val.str = str;
        t->text = xasprintf("%.*s", (int)(p->pos - start), s + start);
    } else if (is_word_start(c)) {
        size_t start = p->pos;
        while (is_word_char(s[p->pos]))
            p->pos++;
        t->text = xasprintf("%.*s", (int)(p->pos - start), s + start);
        if (s[p->pos] == '\'') {
            /* Qualified enum literal IfsApp.<Projection>.<Enum>'Value': compares as a string. */
            if (!strchr(t->text, '.')) {
                fail(p, start, "'%s' followed by a quote is not a qualified enum literal", t->text);
                t->kind = T_EOF;
                return;
            }
            char *str = read_quoted(s, &p->pos);
            if (!str) {
                fail(p, start, "unterminated enum literal");
                t->kind = T_EOF;
                return;
            }
            t->kind = T_LITERAL;
            t->str = str;
            t->val.type = ODATA_STRING;
            t->val.str = str;
            return;
        }
        t->kind = T_WORD;
        if (strcmp(t->text, "null") == 0) {
            t->kind = T_LITERAL;
            t->val.type = ODATA_NULL;
        } else if (strcmp(t->text, "true") == 0 || strcmp(t->text, "false") == 0) {
            t->kind = T_LITERAL;
            t->val.type = ODATA_BOOLEAN;
            t->val.b = t->text[0] == 't';
        }
    } else if (isdigit((unsigned char)c) || c == '-') {
        size_t start = p->pos;
        while (isalnum((unsigned char)s[p->pos]) ||
               (s[p->pos] && strchr(".:+-", s[p->pos])))
            p->pos++;
        t->text = xasprintf("%.*s", (int)(p->pos - start), s + start);
        if (!classify_bare(t->text, &t->val)) {
            fail(p, start, "malformed literal '%s' (expected a number, YYYY-MM-DD or "
                 "YYYY-MM-DDThh:mm:ssZ)", t->text);
            t->kind = T_EOF;
            return;
        }
        t->kind = T_LITERAL;
    } else {
        fail(p, p->pos, "unexpected character '%c'", c);
        t->kind = T_EOF;
    }
}

/* ---- tree ------------------------------------------------------------------------------ */

typedef enum { OP_EQ, OP_NE, OP_GT, OP_GE, OP_LT, OP_LE } cmp_op_t;
static const char *const CMP_OPS[] = {"eq", "ne", "gt", "ge", "lt", "le", NULL};

typedef struct {
    bool          is_member;
    size_t        member;
    odata_value_t lit;       /* lit.str points into str */
    char         *str;
} operand_t;

typedef enum { N_AND, N_OR, N_NOT, N_CMP } node_kind_t;

typedef struct node {
    node_kind_t  kind;
    struct node *l, *r;      /* N_AND/N_OR: both; N_NOT: l */
    cmp_op_t     op;         /* N_CMP */
    operand_t    a, b;       /* N_CMP */
} node_t;

struct odata_filter {
    node_t *root;
};

static void node_free(node_t *n)
{
    if (!n)
        return;
    node_free(n->l);
    node_free(n->r);
    free(n->a.str);
    free(n->b.str);
    free(n);
}

static node_t *node_new(node_kind_t kind, node_t *l, node_t *r)
{
    node_t *n = xcalloc(1, sizeof *n);
    n->kind = kind;
    n->l = l;
    n->r = r;
    return n;
}

static bool tok_is_word(const parser_t *p, const char *w)
{
    return p->tok.kind == T_WORD && strcmp(p->tok.text, w) == 0;
}

static odata_type_t operand_type(const parser_t *p, const operand_t *o)
{
    return o->is_member ? p->schema->members[o->member].type : o->lit.type;
}

/* Reads one operand (a member name or a literal) from the current token. */
static bool parse_operand(parser_t *p, operand_t *o)
{
    token_t *t = &p->tok;
    if (t->kind == T_LITERAL) {
        o->is_member = false;
        o->lit = t->val;
        o->str = t->str;      /* take ownership of the unescaped text */
        t->str = NULL;
        next(p);
        return true;
    }
    if (t->kind != T_WORD) {
        fail(p, t->pos, t->kind == T_EOF ? "unexpected end of expression, operand expected"
                                         : "operand expected");
        return false;
    }
    if (p->src[p->pos] == '(' ) {
        fail(p, t->pos, "function '%s' is not supported", t->text);
        return false;
    }
    int idx = odata_member_index(p->schema, t->text);
    if (idx < 0) {
        char msg[512];
        unknown_member(msg, sizeof msg, "$filter", t->text, p->schema);
        snprintf(p->err, p->err_len, "%s", msg);
        p->failed = true;
        return false;
    }
    o->is_member = true;
    o->member = (size_t)idx;
    next(p);
    return true;
}

/* Describes an operand for a type-mismatch message. */
static void describe(const parser_t *p, const operand_t *o, const char *lit_text, char *out,
                     size_t len)
{
    if (o->is_member)
        snprintf(out, len, "%s (%s)", p->schema->members[o->member].name,
                 odata_type_name(operand_type(p, o)));
    else
        snprintf(out, len, "%s literal %s", odata_type_name(o->lit.type), lit_text);
}

static node_t *parse_or(parser_t *p);

/* comparison := operand op operand */
static node_t *parse_comparison(parser_t *p)
{
    node_t *n = node_new(N_CMP, NULL, NULL);
    char a_text[128] = "", b_text[128] = "";
    if (p->tok.text)
        snprintf(a_text, sizeof a_text, "%s", p->tok.text);
    if (!parse_operand(p, &n->a))
        goto bad;
    size_t op_pos = p->tok.pos;
    int op = -1;
    for (int i = 0; p->tok.kind == T_WORD && CMP_OPS[i]; i++)
        if (strcmp(p->tok.text, CMP_OPS[i]) == 0)
            op = i;
    if (op < 0) {
        if (p->tok.kind == T_WORD && strcmp(p->tok.text, "has") == 0)
            fail(p, op_pos, "operator 'has' is not supported");
        else if (p->tok.kind == T_WORD && (strcmp(p->tok.text, "add") == 0 ||
                 strcmp(p->tok.text, "sub") == 0 || strcmp(p->tok.text, "mul") == 0 ||
                 strcmp(p->tok.text, "div") == 0 || strcmp(p->tok.text, "mod") == 0))
            fail(p, op_pos, "arithmetic operator '%s' is not supported", p->tok.text);
        else
            fail(p, op_pos, "comparison operator (eq ne gt ge lt le) expected");
        goto bad;
    }
    n->op = (cmp_op_t)op;
    next(p);
    if (p->tok.text)
        snprintf(b_text, sizeof b_text, "%s", p->tok.text);
    if (!parse_operand(p, &n->b))
        goto bad;
    odata_type_t ta = operand_type(p, &n->a), tb = operand_type(p, &n->b);
    if (ta != ODATA_NULL && tb != ODATA_NULL && ta != tb) {
        char da[192], db[192];
        describe(p, &n->a, a_text, da, sizeof da);
        describe(p, &n->b, b_text, db, sizeof db);
        const char *hint = "";
        if ((ta == ODATA_DATETIME || ta == ODATA_DATE) && tb == ODATA_STRING)
            hint = "; write dates and date-times unquoted, e.g. ChangedDate gt "
                   "2026-01-01T00:00:00Z";
        fail(p, op_pos, "type mismatch: %s cannot be compared with %s%s", da, db, hint);
        goto bad;
    }
    return n;
bad:
    node_free(n);
    return NULL;
}

/* unary := 'not' unary | '(' or ')' | comparison */
static node_t *parse_unary(parser_t *p)
{
    if ((tok_is_word(p, "not") || p->tok.kind == T_LPAREN) && p->depth >= MAX_DEPTH) {
        fail(p, p->tok.pos, "expression nested deeper than %d levels", MAX_DEPTH);
        return NULL;
    }
    if (tok_is_word(p, "not")) {
        next(p);
        p->depth++;
        node_t *inner = parse_unary(p);
        p->depth--;
        return inner ? node_new(N_NOT, inner, NULL) : NULL;
    }
    if (p->tok.kind == T_LPAREN) {
        size_t open = p->tok.pos;
        next(p);
        p->depth++;
        node_t *inner = parse_or(p);
        p->depth--;
        if (!inner)
            return NULL;
        if (p->tok.kind != T_RPAREN) {
            fail(p, p->tok.pos, "')' expected to close '(' at offset %zu", open);
            node_free(inner);
            return NULL;
        }
        next(p);
        return inner;
    }
    return parse_comparison(p);
}

/* Parses `sub (word sub)*` for the binary boolean operator word. */
static node_t *parse_binary(parser_t *p, const char *word, node_kind_t kind,
                            node_t *(*sub)(parser_t *))
{
    node_t *l = sub(p);
    while (l && tok_is_word(p, word)) {
        next(p);
        node_t *r = sub(p);
        if (!r) {
            node_free(l);
            return NULL;
        }
        l = node_new(kind, l, r);
    }
    return l;
}

static node_t *parse_and(parser_t *p) { return parse_binary(p, "and", N_AND, parse_unary); }
static node_t *parse_or(parser_t *p) { return parse_binary(p, "or", N_OR, parse_and); }

odata_filter_t *odata_filter_parse(const char *text, const odata_schema_t *schema, char *err,
                                   size_t err_len)
{
    parser_t p = {.src = text, .schema = schema, .err = err, .err_len = err_len};
    next(&p);
    if (p.tok.kind == T_EOF && !p.failed) {
        snprintf(err, err_len, "$filter: empty expression");
        return NULL;
    }
    node_t *root = p.failed ? NULL : parse_or(&p);
    if (root && p.tok.kind != T_EOF) {
        fail(&p, p.tok.pos, "unexpected '%s' after a complete expression (missing and/or?)",
             p.tok.text ? p.tok.text : p.tok.kind == T_RPAREN ? ")" : "(");
        node_free(root);
        root = NULL;
    }
    tok_clear(&p.tok);
    if (!root)
        return NULL;
    odata_filter_t *f = xcalloc(1, sizeof *f);
    f->root = root;
    return f;
}

void odata_filter_destroy(odata_filter_t **f)
{
    if (!f || !*f)
        return;
    node_free((*f)->root);
    free(*f);
    *f = NULL;
}

/* ---- evaluation ------------------------------------------------------------------------ */

/* Orders two non-null values of the same type. */
static int value_cmp(const odata_value_t *a, const odata_value_t *b)
{
    switch (a->type) {
    case ODATA_STRING: return strcmp(a->str, b->str);
    case ODATA_DECIMAL: return (a->num > b->num) - (a->num < b->num);
    case ODATA_DATE:
    case ODATA_DATETIME: return (a->ms > b->ms) - (a->ms < b->ms);
    case ODATA_BOOLEAN: return (int)a->b - (int)b->b;
    case ODATA_NULL: break;
    }
    return 0;
}

static void operand_value(const operand_t *o, const void *row, odata_get_fn get,
                          odata_value_t *out)
{
    if (o->is_member)
        get(row, o->member, out);
    else
        *out = o->lit;
}

static bool eval(const node_t *n, const void *row, odata_get_fn get)
{
    switch (n->kind) {
    case N_AND: return eval(n->l, row, get) && eval(n->r, row, get);
    case N_OR: return eval(n->l, row, get) || eval(n->r, row, get);
    case N_NOT: return !eval(n->l, row, get);
    case N_CMP: break;
    }
    odata_value_t a, b;
    operand_value(&n->a, row, get, &a);
    operand_value(&n->b, row, get, &b);
    if (a.type == ODATA_NULL || b.type == ODATA_NULL) {
        bool both = a.type == b.type;
        return n->op == OP_EQ ? both : n->op == OP_NE ? !both : false;
    }
    if (a.type != b.type)   /* a row value of another type than its schema says: no match */
        return n->op == OP_NE;
    int c = value_cmp(&a, &b);
    switch (n->op) {
    case OP_EQ: return c == 0;
    case OP_NE: return c != 0;
    case OP_GT: return c > 0;
    case OP_GE: return c >= 0;
    case OP_LT: return c < 0;
    case OP_LE: return c <= 0;
    }
    return false;
}

bool odata_filter_match(const odata_filter_t *f, const void *row, odata_get_fn get)
{
    return eval(f->root, row, get);
}

int odata_compare(const odata_order_t *keys, size_t nkeys, const void *a, const void *b,
                  odata_get_fn get)
{
    for (size_t i = 0; i < nkeys; i++) {
        odata_value_t va, vb;
        get(a, keys[i].member, &va);
        get(b, keys[i].member, &vb);
        int c;
        if (va.type == ODATA_NULL || vb.type == ODATA_NULL || va.type != vb.type)
            c = (va.type != ODATA_NULL) - (vb.type != ODATA_NULL);
        else
            c = value_cmp(&va, &vb);
        if (c)
            return keys[i].desc ? -c : c;
    }
    return 0;
}

/* ---- query options ---------------------------------------------------------------------- */

/* Splits a comma-separated list into trimmed items; returns the count (items malloc'd). */
static size_t split_list(const char *s, char ***out)
{
    size_t n = 0, cap = 4;
    char **items = xmalloc(cap * sizeof *items);
    const char *start = s;
    for (const char *c = s;; c++) {
        if (*c == ',' || *c == '\0') {
            char *raw = xasprintf("%.*s", (int)(c - start), start);
            if (n == cap)
                items = xrealloc(items, (cap *= 2) * sizeof *items);
            items[n++] = str_trim_dup(raw);
            free(raw);
            start = c + 1;
            if (*c == '\0')
                break;
        }
    }
    *out = items;
    return n;
}

static void free_list(char **items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(items[i]);
    free(items);
}

static int parse_select(odata_query_t *q, const char *v, const odata_schema_t *s, char *err,
                        size_t err_len)
{
    char **items;
    size_t n = split_list(v, &items);
    int rc = 0;
    if (n == 1 && strcmp(items[0], "*") == 0)
        goto done;
    q->select = xcalloc(n, sizeof *q->select);
    for (size_t i = 0; i < n && rc == 0; i++) {
        int idx = items[i][0] ? odata_member_index(s, items[i]) : -1;
        if (idx < 0) {
            if (items[i][0])
                unknown_member(err, err_len, "$select", items[i], s);
            else
                snprintf(err, err_len, "$select: empty item in '%s'", v);
            rc = -1;
        } else {
            q->select[q->nselect++] = (size_t)idx;
        }
    }
done:
    free_list(items, n);
    return rc;
}

static int parse_orderby(odata_query_t *q, const char *v, const odata_schema_t *s, char *err,
                         size_t err_len)
{
    char **items;
    size_t n = split_list(v, &items);
    int rc = 0;
    q->orderby = xcalloc(n, sizeof *q->orderby);
    for (size_t i = 0; i < n && rc == 0; i++) {
        char name[128], dir[16] = "", extra[8] = "";
        int got = sscanf(items[i], "%127s %15s %7s", name, dir, extra);
        int idx = got >= 1 ? odata_member_index(s, name) : -1;
        if (got < 1 || got > 2) {
            snprintf(err, err_len, "$orderby: malformed item '%s' (expected 'Member [asc|desc]')",
                     items[i]);
            rc = -1;
        } else if (idx < 0) {
            unknown_member(err, err_len, "$orderby", name, s);
            rc = -1;
        } else if (got == 2 && strcmp(dir, "asc") != 0 && strcmp(dir, "desc") != 0) {
            snprintf(err, err_len, "$orderby: direction '%s' of %s must be asc or desc", dir,
                     name);
            rc = -1;
        } else {
            q->orderby[q->norderby].member = (size_t)idx;
            q->orderby[q->norderby++].desc = got == 2 && strcmp(dir, "desc") == 0;
        }
    }
    free_list(items, n);
    return rc;
}

/* Parses a non-negative decimal integer that fits a long; -1 when malformed. */
static long parse_count(const char *v)
{
    if (!*v || strlen(v) > 15)
        return -1;
    for (const char *c = v; *c; c++)
        if (!isdigit((unsigned char)*c))
            return -1;
    return strtol(v, NULL, 10);
}

static const char *const OPTIONS[] = {"$filter", "$select", "$orderby", "$top", "$skip",
                                      "$count", "$skiptoken", NULL};

int odata_query_parse(odata_query_t *q, const char *const *names, const char *const *values,
                      size_t n, const odata_schema_t *schema, char *err, size_t err_len)
{
    memset(q, 0, sizeof *q);
    q->top = -1;
    bool seen[sizeof OPTIONS / sizeof OPTIONS[0]] = {false};
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *k = names[i], *v = values[i] ? values[i] : "";
        if (k[0] != '$')
            continue;
        int opt = -1;
        for (int j = 0; OPTIONS[j]; j++)
            if (strcmp(k, OPTIONS[j]) == 0)
                opt = j;
        if (opt < 0) {
            snprintf(err, err_len, "system query option %s is not supported (supported: "
                     "$filter $select $orderby $top $skip $count $skiptoken)", k);
            rc = -1;
            break;
        }
        if (seen[opt]) {
            snprintf(err, err_len, "system query option %s given more than once", k);
            rc = -1;
            break;
        }
        seen[opt] = true;
        long num;
        switch (opt) {
        case 0:
            q->filter = odata_filter_parse(v, schema, err, err_len);
            rc = q->filter ? 0 : -1;
            break;
        case 1: rc = parse_select(q, v, schema, err, err_len); break;
        case 2: rc = parse_orderby(q, v, schema, err, err_len); break;
        case 3:
        case 4:
            num = parse_count(v);
            if (num < 0) {
                snprintf(err, err_len, "%s: '%s' is not a non-negative integer", k, v);
                rc = -1;
            } else if (opt == 3) {
                q->top = num;
            } else {
                q->skip = num;
            }
            break;
        case 5:
            if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0) {
                snprintf(err, err_len, "$count: '%s' must be true or false", v);
                rc = -1;
            }
            q->count = strcmp(v, "true") == 0;
            break;
        default:
            q->skiptoken = odata_skiptoken_decode(v);
            if (q->skiptoken < 0) {
                snprintf(err, err_len, "$skiptoken: '%s' was not issued by this service", v);
                rc = -1;
            }
            break;
        }
    }
    if (rc)
        odata_query_free(q);
    return rc;
}

void odata_query_free(odata_query_t *q)
{
    odata_filter_destroy(&q->filter);
    free(q->select);
    free(q->orderby);
    memset(q, 0, sizeof *q);
    q->top = -1;
}

/* ---- $skiptoken ------------------------------------------------------------------------- */

/* A 16-bit check over the offset, so hand-made or stale-format tokens are refused. */
static unsigned token_check(long offset)
{
    return (unsigned)(((unsigned long)offset * 2654435761u) >> 7) & 0xffffu;
}

void odata_skiptoken_encode(long offset, char *buf, size_t len)
{
    snprintf(buf, len, "P%lx-%04x", offset, token_check(offset));
}

long odata_skiptoken_decode(const char *token)
{
    if (!token || token[0] != 'P' || !isxdigit((unsigned char)token[1]))
        return -1;
    char *end;
    errno = 0;
    long off = strtol(token + 1, &end, 16);
    if (errno || off < 0 || *end != '-')
        return -1;
    const char *chk = end + 1;
    if (strlen(chk) != 4 || strspn(chk, "0123456789abcdef") != 4)
        return -1;
    return strtoul(chk, NULL, 16) == token_check(off) ? off : -1;
}

/* ---- key predicates --------------------------------------------------------------------- */

char *odata_key_parse(const char *text, const char *key_name, char *err, size_t err_len)
{
    size_t n = strlen(text);
    if (n < 2 || text[0] != '(' || text[n - 1] != ')') {
        snprintf(err, err_len, "malformed key predicate '%s' (expected (%s='value'))", text,
                 key_name);
        return NULL;
    }
    size_t i = 1;
    if (text[i] != '\'') {
        size_t klen = strlen(key_name);
        if (strncmp(text + i, key_name, klen) != 0 || text[i + klen] != '=') {
            snprintf(err, err_len, "key predicate '%s' must name the key %s, e.g. (%s='value')",
                     text, key_name, key_name);
            return NULL;
        }
        i += klen + 1;
        if (text[i] != '\'') {
            snprintf(err, err_len, "key %s is Edm.String: quote its value, e.g. (%s='1')",
                     key_name, key_name);
            return NULL;
        }
    }
    char *val = read_quoted(text, &i);
    if (!val || i != n - 1) {
        free(val);
        snprintf(err, err_len, "malformed key predicate '%s' (expected (%s='value'))", text,
                 key_name);
        return NULL;
    }
    return val;
}
