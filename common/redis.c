/* redis: one hiredis connection with one reconnect-and-retry on connection errors,
 * pipelining and Lua scripts by EVALSHA (SHA-1 computed locally, SCRIPT LOAD on NOSCRIPT). */
#include "redis.h"

#include <errno.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "log.h"
#include "util.h"

#define RDS_TIMEOUT_MS 2000

struct rds {
    char         *url;
    char         *host;      /* TCP host, NULL for a unix socket */
    int           port;
    char         *path;      /* unix socket path, NULL for TCP */
    char         *user;      /* ACL user (redis://user:pass@...), NULL = default user */
    char         *password;  /* NULL = no AUTH */
    int           db;
    redisContext *c;         /* NULL while disconnected */
    int           pending;   /* pipelined commands whose replies were not read yet */
};

/* ---- URL parsing (pure) ---------------------------------------------------------------- */

/* Splits "user:pass" / ":pass" / "pass"-less userinfo (percent-decoded) into r. 0 or -1. */
static int parse_userinfo(rds_t *r, const char *info, size_t len)
{
    char *raw = xmalloc(len + 1);
    memcpy(raw, info, len);
    raw[len] = '\0';
    char *colon = strchr(raw, ':');
    int rc = 0;
    if (colon) {
        *colon = '\0';
        if (*raw)
            r->user = url_decode(raw, false);
        r->password = url_decode(colon + 1, false);
        if ((*raw && !r->user) || !r->password)
            rc = -1;
    } else {
        r->password = url_decode(raw, false); /* redis://secret@host: a bare password */
        rc = r->password ? 0 : -1;
    }
    free(raw);
    return rc;
}

/* Parses a decimal in [lo, hi] from s (whole string); -1 when it is not one. */
static long parse_range(const char *s, long lo, long hi)
{
    if (!*s)
        return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    return errno || *end || v < lo || v > hi ? -1 : v;
}

/* Fills the connection parameters of r from r->url. Returns 0 or -1 with err (which never
 * repeats the URL: it may hold a password). */
static int parse_url(rds_t *r, char *err, size_t err_len)
{
    const char *u = r->url;
    r->port = 6379;
    if (str_starts(u, "unix://")) {
        const char *p = u + 7;
        const char *q = strchr(p, '?');
        size_t n = q ? (size_t)(q - p) : strlen(p);
        if (n == 0 || *p != '/') {
            snprintf(err, err_len, "redis url: unix socket path must be absolute");
            return -1;
        }
        r->path = xmalloc(n + 1);
        memcpy(r->path, p, n);
        r->path[n] = '\0';
        if (q) { /* only "?db=N" is understood */
            if (!str_starts(q, "?db=") || (r->db = (int)parse_range(q + 4, 0, 1000000)) < 0) {
                snprintf(err, err_len, "redis url: expected ?db=N");
                return -1;
            }
        }
        return 0;
    }
    if (!str_starts(u, "redis://")) {
        snprintf(err, err_len, "redis url: must start with redis:// or unix://");
        return -1;
    }
    const char *p = u + 8;
    const char *slash = strchr(p, '/');
    const char *end = slash ? slash : p + strlen(p);
    const char *at = memrchr(p, '@', (size_t)(end - p));
    if (at) {
        if (parse_userinfo(r, p, (size_t)(at - p)) < 0) {
            snprintf(err, err_len, "redis url: malformed user/password");
            return -1;
        }
        p = at + 1;
    }
    const char *colon = memchr(p, ':', (size_t)(end - p));
    const char *host_end = colon ? colon : end;
    if (host_end == p) {
        snprintf(err, err_len, "redis url: missing host");
        return -1;
    }
    r->host = xmalloc((size_t)(host_end - p) + 1);
    memcpy(r->host, p, (size_t)(host_end - p));
    r->host[host_end - p] = '\0';
    if (colon) {
        char port[16];
        size_t n = (size_t)(end - colon - 1);
        if (n == 0 || n >= sizeof port) {
            snprintf(err, err_len, "redis url: bad port");
            return -1;
        }
        memcpy(port, colon + 1, n);
        port[n] = '\0';
        if ((r->port = (int)parse_range(port, 1, 65535)) < 0) {
            snprintf(err, err_len, "redis url: bad port");
            return -1;
        }
    }
    if (slash && slash[1] && (r->db = (int)parse_range(slash + 1, 0, 1000000)) < 0) {
        snprintf(err, err_len, "redis url: bad db number");
        return -1;
    }
    return 0;
}

/* ---- connection ------------------------------------------------------------------------ */

/* "host:port" or the socket path of r, for messages (the URL may hold a password). */
static const char *endpoint(const rds_t *r, char *buf, size_t len)
{
    if (r->path)
        snprintf(buf, len, "%s", r->path);
    else
        snprintf(buf, len, "%s:%d", r->host, r->port);
    return buf;
}

/* Runs one setup command (AUTH/SELECT/PING) on a fresh context; 0 or -1 with err. */
static int setup_cmd(redisContext *c, char *err, size_t err_len, int argc, const char **argv)
{
    redisReply *rep = redisCommandArgv(c, argc, argv, NULL);
    int rc = 0;
    if (!rep) {
        snprintf(err, err_len, "redis %s: %s", argv[0], c->errstr);
        rc = -1;
    } else if (rep->type == REDIS_REPLY_ERROR) {
        snprintf(err, err_len, "redis %s: %s", argv[0], rep->str);
        rc = -1;
    }
    if (rep)
        freeReplyObject(rep);
    return rc;
}

/* (Re)connects r: drops any old context, connects with 2 s timeouts, AUTH, SELECT, PING.
 * Returns 0, or -1 with err and r left disconnected. */
static int rds_open(rds_t *r, char *err, size_t err_len)
{
    if (r->c)
        redisFree(r->c);
    r->c = NULL;
    r->pending = 0;
    char where[300];
    struct timeval tv = {RDS_TIMEOUT_MS / 1000, (RDS_TIMEOUT_MS % 1000) * 1000};
    redisContext *c = r->path ? redisConnectUnixWithTimeout(r->path, tv)
                              : redisConnectWithTimeout(r->host, r->port, tv);
    if (!c || c->err) {
        snprintf(err, err_len, "redis connect %s: %s", endpoint(r, where, sizeof where),
                 c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        return -1;
    }
    if (redisSetTimeout(c, tv) != REDIS_OK) {
        snprintf(err, err_len, "redis %s: cannot set timeout", endpoint(r, where, sizeof where));
        redisFree(c);
        return -1;
    }
    if (r->password) {
        const char *argv[3] = {"AUTH", r->user ? r->user : r->password, r->password};
        if (setup_cmd(c, err, err_len, r->user ? 3 : 2, argv) < 0) {
            redisFree(c);
            return -1;
        }
    }
    if (r->db) {
        char db[16];
        snprintf(db, sizeof db, "%d", r->db);
        const char *argv[2] = {"SELECT", db};
        if (setup_cmd(c, err, err_len, 2, argv) < 0) {
            redisFree(c);
            return -1;
        }
    }
    const char *ping[1] = {"PING"}; /* proves the server answers (and needs no AUTH) */
    if (setup_cmd(c, err, err_len, 1, ping) < 0) {
        redisFree(c);
        return -1;
    }
    r->c = c;
    return 0;
}

/* Makes sure r has a usable connection; 0 or -1 (Redis unreachable). */
static int ensure_connected(rds_t *r)
{
    if (r->c && !r->c->err)
        return 0;
    char err[256];
    return rds_open(r, err, sizeof err);
}

/* Drops the connection after an I/O error; the next call reconnects. */
static void mark_broken(rds_t *r)
{
    if (r->c)
        redisFree(r->c);
    r->c = NULL;
    r->pending = 0;
}

/* Replies of an abandoned pipeline would be mistaken for the next command's reply: read
 * and drop them first. Returns 0, or -1 when the connection broke meanwhile. */
static int drain_pending(rds_t *r)
{
    while (r->pending > 0 && r->c) {
        redisReply *rep = rds_get_reply(r);
        if (!rep)
            return -1;
        freeReplyObject(rep);
    }
    return 0;
}

int rds_drain(rds_t *r, int n)
{
    int rc = 0;
    for (int i = 0; i < n; i++) {
        redisReply *rep = rds_get_reply(r);
        if (!rep)
            return -1;
        if (rep->type == REDIS_REPLY_ERROR)
            rc = -1;
        freeReplyObject(rep);
    }
    return rc;
}

rds_t *rds_connect(const char *url, char *err, size_t err_len)
{
    rds_t *r = xcalloc(1, sizeof *r);
    r->url = xstrdup(url);
    if (parse_url(r, err, err_len) < 0 || rds_open(r, err, err_len) < 0) {
        rds_destroy(&r);
        return NULL;
    }
    return r;
}

void rds_destroy(rds_t **rp)
{
    if (!rp || !*rp)
        return;
    rds_t *r = *rp;
    if (r->c)
        redisFree(r->c);
    free(r->url);
    free(r->host);
    free(r->path);
    free(r->user);
    free(r->password);
    free(r);
    *rp = NULL;
}

const char *rds_url(const rds_t *r) { return r->url; }

/* ---- commands -------------------------------------------------------------------------- */

/* One attempt of a command on the current connection; NULL when the connection failed. */
static redisReply *try_argv(rds_t *r, int argc, const char **argv, const size_t *argvlen)
{
    if (ensure_connected(r) < 0 || drain_pending(r) < 0)
        return NULL;
    redisReply *rep = redisCommandArgv(r->c, argc, argv, argvlen);
    if (!rep)
        mark_broken(r);
    return rep;
}

redisReply *rds_cmdargv(rds_t *r, int argc, const char **argv, const size_t *argvlen)
{
    redisReply *rep = try_argv(r, argc, argv, argvlen);
    return rep ? rep : try_argv(r, argc, argv, argvlen);
}

static redisReply *try_fmt(rds_t *r, const char *fmt, va_list ap)
{
    if (ensure_connected(r) < 0 || drain_pending(r) < 0)
        return NULL;
    redisReply *rep = redisvCommand(r->c, fmt, ap);
    if (!rep)
        mark_broken(r);
    return rep;
}

redisReply *rds_cmd(rds_t *r, const char *fmt, ...)
{
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    redisReply *rep = try_fmt(r, fmt, ap);
    if (!rep)
        rep = try_fmt(r, fmt, again);
    va_end(again);
    va_end(ap);
    return rep;
}

/* Appending never touches the network, so there is nothing to retry: connect first (only
 * possible at the start of a pipeline) and buffer. */
static int append_ready(rds_t *r)
{
    if (r->pending == 0)
        return ensure_connected(r);
    return r->c ? 0 : -1;
}

int rds_append(rds_t *r, const char *fmt, ...)
{
    if (append_ready(r) < 0)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    int rc = redisvAppendCommand(r->c, fmt, ap);
    va_end(ap);
    if (rc != REDIS_OK)
        return -1;
    r->pending++;
    return 0;
}

int rds_appendargv(rds_t *r, int argc, const char **argv, const size_t *argvlen)
{
    if (append_ready(r) < 0 || redisAppendCommandArgv(r->c, argc, argv, argvlen) != REDIS_OK)
        return -1;
    r->pending++;
    return 0;
}

redisReply *rds_get_reply(rds_t *r)
{
    if (!r->c || r->pending == 0)
        return NULL;
    void *rep = NULL;
    if (redisGetReply(r->c, &rep) != REDIS_OK || !rep) {
        mark_broken(r);
        return NULL;
    }
    r->pending--;
    return rep;
}

/* ---- scripts --------------------------------------------------------------------------- */

/* Several threads share one static rds_script_t: the lazily filled sha is guarded. */
static pthread_mutex_t sha_lock = PTHREAD_MUTEX_INITIALIZER;

/* Copies the script's SHA-1 (lowercase hex, as Redis names scripts) into out[41]. */
static void script_sha(rds_script_t *s, char out[41])
{
    pthread_mutex_lock(&sha_lock);
    if (!s->sha[0]) {
        unsigned char d[SHA_DIGEST_LENGTH];
        SHA1((const unsigned char *)s->src, strlen(s->src), d);
        for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
            snprintf(s->sha + 2 * i, 3, "%02x", d[i]);
    }
    memcpy(out, s->sha, 41);
    pthread_mutex_unlock(&sha_lock);
}

int rds_script_ensure(rds_t *r, rds_script_t *s)
{
    char sha[41];
    script_sha(s, sha);
    redisReply *rep = rds_cmd(r, "SCRIPT LOAD %s", s->src);
    int rc = rds_ok(rep) && rep->type == REDIS_REPLY_STRING ? 0 : -1;
    if (rc < 0 && rep && rep->type == REDIS_REPLY_ERROR)
        mlog(LOG_ERROR, "redis.script", "script %s does not load: %s", s->name, rep->str);
    if (rep)
        freeReplyObject(rep);
    return rc;
}

/* Builds the argv of cmd ("EVALSHA" with a sha, or "EVAL" with the source) body nkeys args...
 * into argv/argvlen (nargs + 3 slots). */
static void eval_argv(const char *cmd, const char *body, char nkeys_buf[16], int nkeys, int nargs,
                      const char **args, const size_t *lens, const char **argv, size_t *argvlen)
{
    snprintf(nkeys_buf, 16, "%d", nkeys);
    argv[0] = cmd;
    argv[1] = body;
    argv[2] = nkeys_buf;
    for (int i = 0; i < 3; i++)
        argvlen[i] = strlen(argv[i]);
    for (int i = 0; i < nargs; i++) {
        argv[3 + i] = args[i];
        argvlen[3 + i] = lens ? lens[i] : strlen(args[i]);
    }
}

redisReply *rds_eval(rds_t *r, rds_script_t *s, int nkeys, int nargs, const char **args,
                     const size_t *lens)
{
    char sha[41], nk[16];
    script_sha(s, sha);
    const char **argv = xmalloc(sizeof *argv * (size_t)(nargs + 3));
    size_t *argvlen = xmalloc(sizeof *argvlen * (size_t)(nargs + 3));
    eval_argv("EVALSHA", sha, nk, nkeys, nargs, args, lens, argv, argvlen);
    redisReply *rep = rds_cmdargv(r, nargs + 3, argv, argvlen);
    if (rep && rep->type == REDIS_REPLY_ERROR && str_starts(rep->str, "NOSCRIPT")) {
        freeReplyObject(rep);
        rep = NULL;
        if (rds_script_ensure(r, s) == 0)
            rep = rds_cmdargv(r, nargs + 3, argv, argvlen);
    }
    free(argv);
    free(argvlen);
    return rep;
}

static int append_eval(rds_t *r, const char *cmd, const char *body, int nkeys, int nargs,
                       const char **args, const size_t *lens)
{
    char nk[16];
    const char **argv = xmalloc(sizeof *argv * (size_t)(nargs + 3));
    size_t *argvlen = xmalloc(sizeof *argvlen * (size_t)(nargs + 3));
    eval_argv(cmd, body, nk, nkeys, nargs, args, lens, argv, argvlen);
    int rc = rds_appendargv(r, nargs + 3, argv, argvlen);
    free(argv);
    free(argvlen);
    return rc;
}

int rds_append_eval(rds_t *r, rds_script_t *s, int nkeys, int nargs, const char **args,
                    const size_t *lens)
{
    char sha[41];
    script_sha(s, sha);
    return append_eval(r, "EVALSHA", sha, nkeys, nargs, args, lens);
}

int rds_append_eval_src(rds_t *r, const rds_script_t *s, int nkeys, int nargs, const char **args,
                        const size_t *lens)
{
    return append_eval(r, "EVAL", s->src, nkeys, nargs, args, lens);
}

/* ---- replies --------------------------------------------------------------------------- */

bool rds_ok(const redisReply *rep) { return rep && rep->type != REDIS_REPLY_ERROR; }

long long rds_int(const redisReply *rep, long long def)
{
    if (!rep)
        return def;
    if (rep->type == REDIS_REPLY_INTEGER)
        return rep->integer;
    if (rep->type != REDIS_REPLY_STRING || rep->len == 0)
        return def;
    char *end;
    errno = 0;
    long long v = strtoll(rep->str, &end, 10);
    return errno || *end ? def : v;
}

char *rds_str(const redisReply *rep)
{
    if (!rep || (rep->type != REDIS_REPLY_STRING && rep->type != REDIS_REPLY_STATUS))
        return NULL;
    char *s = xmalloc(rep->len + 1);
    memcpy(s, rep->str, rep->len);
    s[rep->len] = '\0';
    return s;
}
