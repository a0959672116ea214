/* fixture: header-only helpers for tests that need real processes.
 *   fx_redis_start / fx_redis_stop   a private redis-server on a free 127.0.0.1 port < 32768
 *                                    (no persistence) and a unix socket beside it;
 *                                    fx_redis_start_on picks the port (restart tests)
 *   fx_redis_open / fx_redis_close   the same plus a product client (rds) connected to it:
 *                                    the group setup and teardown of most Redis tests
 *   fx_redis_cmd                      one command on a fresh connection, for assertions
 *   fx_bin                            path of a program built next to the running test
 *                                    (bin/tests/test_x -> bin/<name>; honours BIN=...)
 *   fx_spawn / fx_stop / fx_wait      fork/exec a program with extra environment, stop it
 * Every child gets PR_SET_PDEATHSIG(SIGKILL), so nothing outlives a crashed test.
 * All functions are static inline: a test includes what it uses without unused warnings. */
#ifndef MLC_TEST_FIXTURE_H
#define MLC_TEST_FIXTURE_H
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "redis.h"

extern char **environ;

typedef struct {
    pid_t pid;
    int   port;
    char  url[64];   /* redis://127.0.0.1:PORT/0 */
    char  sock[108]; /* unix socket path */
} fx_redis_t;

static inline long fx_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void fx_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

/* A TCP port in [20000, 32767] that 127.0.0.1 can bind right now (below the kernel's
 * ephemeral range, so outgoing connections do not take it meanwhile); -1 when none found. */
static inline int fx_free_port(void)
{
    static unsigned seed;
    if (!seed)
        seed = (unsigned)getpid() ^ (unsigned)fx_mono_ms();
    for (int tries = 0; tries < 200; tries++) {
        int port = 20000 + (int)(rand_r(&seed) % 12768);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0)
            return -1;
        struct sockaddr_in a;
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_port = htons((uint16_t)port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
        close(fd);
        if (ok)
            return port;
    }
    return -1;
}

/* Directory of the running test's bin tree ("…/bin" for "…/bin/tests/test_x") in out. */
static inline const char *fx_bin_dir(char *out, size_t len)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n < 0)
        n = 0;
    exe[n] = '\0';
    char *d = dirname(exe);  /* …/bin/tests */
    snprintf(out, len, "%s", dirname(d));
    return out;
}

/* Path of program name in the bin tree, e.g. fx_bin("mlc-broker", buf, sizeof buf); an
 * empty string when it does not fit in out. */
static inline const char *fx_bin(const char *name, char *out, size_t len)
{
    char dir[PATH_MAX];
    if (snprintf(out, len, "%s/%s", fx_bin_dir(dir, sizeof dir), name) >= (int)len)
        out[0] = '\0';
    return out;
}

/* Starts prog (a path, or a name looked up in PATH) with argv (argv[0] included,
 * NULL-terminated) and the current environment plus env ("NAME=value", NULL-terminated,
 * may be NULL; these win over inherited ones). stdout goes to /dev/null unless
 * FX_VERBOSE is set; stderr is kept. Returns the child's pid or -1. */
static inline pid_t fx_spawn(const char *prog, const char *const argv[], const char *const env[])
{
    size_t n_env = 0, n_extra = 0;
    while (environ[n_env])
        n_env++;
    while (env && env[n_extra])
        n_extra++;
    char **envp = calloc(n_env + n_extra + 1, sizeof *envp);
    if (!envp)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < n_env; i++) {
        int overridden = 0;
        for (size_t j = 0; j < n_extra && !overridden; j++) {
            const char *eq = strchr(env[j], '=');
            size_t name_len = eq ? (size_t)(eq - env[j]) : strlen(env[j]);
            overridden = strncmp(environ[i], env[j], name_len) == 0 &&
                         environ[i][name_len] == '=';
        }
        if (!overridden)
            envp[k++] = environ[i];
    }
    for (size_t j = 0; j < n_extra; j++)
        envp[k++] = (char *)env[j];
    envp[k] = NULL;
    int quiet = getenv("FX_VERBOSE") == NULL;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        if (quiet) {
            int fd = open("/dev/null", O_WRONLY);
            if (fd >= 0) {
                dup2(fd, STDOUT_FILENO);
                if (getenv("FX_QUIET_STDERR"))
                    dup2(fd, STDERR_FILENO);
                close(fd);
            }
        }
        if (strchr(prog, '/'))
            execve(prog, (char *const *)argv, envp);
        else
            execvpe(prog, (char *const *)argv, envp);
        _exit(127);
    }
    free(envp);
    return pid;
}

/* Waits up to timeout_ms for pid to exit. Returns its wait status, or -1 when it is still
 * running (or is not our child). */
static inline int fx_wait(pid_t pid, long timeout_ms)
{
    long deadline = fx_mono_ms() + timeout_ms;
    for (;;) {
        int status;
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            return status;
        if (w < 0 || fx_mono_ms() >= deadline)
            return -1;
        fx_sleep_ms(10);
    }
}

/* Sends sig to pid and reaps it, escalating to SIGKILL after 5 s. Returns the wait status
 * (-1 if pid is not a child). */
static inline int fx_stop(pid_t pid, int sig)
{
    if (pid <= 0)
        return -1;
    kill(pid, sig);
    int status = fx_wait(pid, 5000);
    if (status == -1 && kill(pid, SIGKILL) == 0)
        status = fx_wait(pid, 5000);
    return status;
}

/* True when a redis-server answers PING on port. */
static inline int fx_redis_pings(int port)
{
    struct timeval tv = {0, 200000};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    int ok = 0;
    if (c && !c->err) {
        redisReply *rep = redisCommand(c, "PING");
        ok = rep && rep->type == REDIS_REPLY_STATUS && strcmp(rep->str, "PONG") == 0;
        if (rep)
            freeReplyObject(rep);
    }
    if (c)
        redisFree(c);
    return ok;
}

/* Starts redis-server on port and waits until it answers PING (up to 5 s). Returns 0 and
 * fills *rs, or -1 (e.g. the port is taken). */
static inline int fx_redis_start_on(fx_redis_t *rs, int port)
{
    memset(rs, 0, sizeof *rs);
    char portbuf[16];
    snprintf(portbuf, sizeof portbuf, "%d", port);
    snprintf(rs->sock, sizeof rs->sock, "/tmp/mlc-test-redis-%d.sock", port);
    const char *argv[] = {"redis-server", "--port", portbuf, "--bind", "127.0.0.1",
                          "--save", "", "--appendonly", "no", "--daemonize", "no",
                          "--dir", "/tmp", "--unixsocket", rs->sock,
                          "--unixsocketperm", "700", "--loglevel", "warning", NULL};
    pid_t pid = fx_spawn("redis-server", argv, NULL);
    if (pid < 0)
        return -1;
    long deadline = fx_mono_ms() + 5000;
    while (fx_mono_ms() < deadline) {
        if (fx_redis_pings(port)) {
            rs->pid = pid;
            rs->port = port;
            snprintf(rs->url, sizeof rs->url, "redis://127.0.0.1:%d/0", port);
            return 0;
        }
        if (fx_wait(pid, 0) != -1)
            return -1; /* exited: port taken */
        fx_sleep_ms(20);
    }
    fx_stop(pid, SIGKILL);
    return -1;
}

/* Starts redis-server on a free port (a few tried). Returns 0 and fills *rs, or -1. */
static inline int fx_redis_start(fx_redis_t *rs)
{
    for (int tries = 0; tries < 5; tries++) {
        int port = fx_free_port();
        if (port > 0 && fx_redis_start_on(rs, port) == 0)
            return 0;
    }
    return -1;
}

/* Stops the redis-server of fx_redis_start and removes its socket; safe twice. */
static inline void fx_redis_stop(fx_redis_t *rs)
{
    if (rs->pid > 0)
        fx_stop(rs->pid, SIGTERM);
    rs->pid = 0;
    if (rs->sock[0])
        unlink(rs->sock);
}

/* fx_redis_start, then *r connected to it. 0, or -1 (the server is stopped again). */
static inline int fx_redis_open(fx_redis_t *rs, rds_t **r)
{
    if (fx_redis_start(rs) < 0)
        return -1;
    char err[256];
    *r = rds_connect(rs->url, err, sizeof err);
    if (!*r) {
        fprintf(stderr, "fixture: %s\n", err);
        fx_redis_stop(rs);
        return -1;
    }
    return 0;
}

/* Closes *r (NULLs it) and stops the server; safe twice. */
static inline void fx_redis_close(fx_redis_t *rs, rds_t **r)
{
    rds_destroy(r);
    fx_redis_stop(rs);
}

/* A redis-cli-like helper for assertions: runs one command on a fresh connection to rs and
 * returns the reply (freeReplyObject it) or NULL. */
static inline redisReply *fx_redis_cmd(const fx_redis_t *rs, const char *fmt, ...)
{
    redisContext *c = redisConnect("127.0.0.1", rs->port);
    if (!c || c->err) {
        if (c)
            redisFree(c);
        return NULL;
    }
    va_list ap;
    va_start(ap, fmt);
    redisReply *rep = redisvCommand(c, fmt, ap);
    va_end(ap);
    redisFree(c);
    return rep;
}
#endif
