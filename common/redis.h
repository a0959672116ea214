/* redis: hiredis access with reconnect, pipelining and Lua scripts (EVALSHA with a NOSCRIPT
 * fallback to SCRIPT LOAD). One rds_t is one connection: not thread-safe, one per thread. */
#ifndef MLC_REDIS_H
#define MLC_REDIS_H
#include <stddef.h>
#include <stdbool.h>
#include <hiredis/hiredis.h>

typedef struct rds rds_t;

/* url: redis://[:password@]host[:port][/db] or unix:///path/to/sock. Connects eagerly; returns
 * NULL with a reason in err when the URL is malformed or the first connect fails. */
rds_t *rds_connect(const char *url, char *err, size_t err_len);
void rds_destroy(rds_t **r);
/* The URL this connection was made with (borrowed). */
const char *rds_url(const rds_t *r);

/* Runs one command (hiredis format). On a connection error it reconnects once and retries
 * the command once. Returns the reply (caller frees with freeReplyObject) or NULL when Redis
 * is unreachable; a Redis error reply (REDIS_REPLY_ERROR) is returned as a reply. */
redisReply *rds_cmd(rds_t *r, const char *fmt, ...);
redisReply *rds_cmdargv(rds_t *r, int argc, const char **argv, const size_t *argvlen);

/* Pipelining: append commands, then read exactly that many replies with rds_get_reply.
 * A connection error mid-pipeline returns -1/NULL; the caller redoes the whole pipeline
 * (the connection is re-established on the next call). */
int rds_append(rds_t *r, const char *fmt, ...);
int rds_appendargv(rds_t *r, int argc, const char **argv, const size_t *argvlen);
redisReply *rds_get_reply(rds_t *r);
/* Reads and frees the next n pipelined replies. 0 when all n arrived and none is an error,
 * -1 otherwise (it stops at the first missing one: the connection broke and the rest went
 * with it). */
int rds_drain(rds_t *r, int n);

/* A Lua script; sha is filled lazily. Declare as static rds_script_t S = {"name", "lua src"}
 * (or with a third "" member). That positional form leaves sha to zero-initialisation, which
 * -Wextra reports as a missing initializer: the warning is off for files using this header. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
typedef struct {
    const char *name;
    const char *src;
    char        sha[41];
} rds_script_t;
/* EVALSHA script with nkeys keys then the rest args; loads the script on NOSCRIPT.
 * args: nkeys keys followed by nargs-nkeys arguments. Returns the reply or NULL. */
redisReply *rds_eval(rds_t *r, rds_script_t *s, int nkeys, int nargs, const char **args,
                     const size_t *lens);
/* Pipelined variant: appends the EVALSHA; the reply comes through rds_get_reply. Call
 * rds_script_ensure first so NOSCRIPT cannot occur mid-pipeline. */
int rds_append_eval(rds_t *r, rds_script_t *s, int nkeys, int nargs, const char **args,
                    const size_t *lens);
int rds_script_ensure(rds_t *r, rds_script_t *s);
/* Appends EVAL with the script's source (not EVALSHA): safe inside MULTI or a long pipeline,
 * where a NOSCRIPT could not be repaired; Redis still caches the compiled script. */
int rds_append_eval_src(rds_t *r, const rds_script_t *s, int nkeys, int nargs, const char **args,
                        const size_t *lens);

/* Reply helpers: true for a non-NULL, non-error reply. */
bool rds_ok(const redisReply *rep);
/* Integer value of an integer or numeric-string reply, def otherwise. */
long long rds_int(const redisReply *rep, long long def);
/* malloc'd copy of a string/status reply, NULL otherwise. */
char *rds_str(const redisReply *rep);
#endif
