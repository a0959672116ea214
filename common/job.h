/* job: the job model. Redis is the source of truth: a job is recorded (HASH K_JOB + ZSET
 * K_QUEUE) before anything is published on ZeroMQ, and every state change is one Lua script,
 * so two workers can never both run a job and nothing is lost when a process dies.
 *
 * States:  queued -> running (lease) -> done
 *                             |-> retry (not_before) -> queued     (transient failure)
 *                             |-> retry, attempt given back        (job_defer: a shared limit
 *                                                                   refused the run)
 *                             |-> dead  (K_DLQ, with the reason)   (permanent or out of tries)
 *          dead -> queued, attempt 0 (job_replay: an operator's `mlc dlq replay`)
 *          running with an expired lease -> queued (reaper)
 *
 * Job hash fields: id tenant service type ref parent payload state attempt max_attempts
 *   created_ms updated_ms lease_until worker not_before error result permanent (1: died of a
 *   permanent failure)
 * Ids are chosen by the producer; equal ids dedupe: enqueueing an id that is queued, running
 * or waiting to retry changes nothing. */
#ifndef MLC_JOB_H
#define MLC_JOB_H
#include <stdint.h>
#include <stdbool.h>
#include "redis.h"

typedef struct {
    char   *id;
    char   *tenant;
    char   *service;      /* "poll" | "write" : which worker pool runs it */
    char   *type;         /* "poll_flow" | "upsert_task" | later "writeback", ... */
    char   *ref;          /* flow name for poll_flow, record ref "po:4711" for upsert_task */
    char   *parent;       /* id of the job that created this one, or NULL */
    char   *payload;      /* JSON text or NULL */
    char   *state;        /* "queued" | "running" | "retry" | "done" | "dead" */
    int     attempt;      /* runs started so far */
    int     max_attempts; /* 0 = job_max_attempts(type) */
    int64_t created_ms;
    int64_t lease_until;
    int64_t not_before;
    char   *worker;
    char   *error;
} job_t;

/* Records j (id, tenant, service, type, ref, parent, payload, max_attempts used; 0 means
 * job_max_attempts(type)) as queued.
 * Returns 1 when created or re-queued (state was done/dead/absent), 0 when an equal id was
 * already queued/running/retry (nothing changed), -1 on Redis failure. */
int job_enqueue(rds_t *r, const job_t *j);
/* The same for n jobs of one tenant in one pipeline; returns how many were created or -1. */
int job_enqueue_many(rds_t *r, const job_t *jobs, int n);
/* Pipelined form of job_enqueue (e.g. inside MULTI/EXEC with the record state it belongs to):
 * appends the enqueue script call to r's pipeline; its reply (1/0 as job_enqueue) is read with
 * rds_get_reply. Returns 0 appended, -1 on failure. */
int job_append_enqueue(rds_t *r, const job_t *j);
/* job_append_enqueue for producers that send the same work again (a poll finding content that
 * never reached Asana): the same, except that a job dead of a permanent failure stays dead
 * (0): only `mlc dlq replay` brings it back. One that ran out of tries, or expired, runs again. */
int job_append_revive(rds_t *r, const job_t *j);
/* Embedding the enqueue in a caller's own Lua script (one atomic step with other writes whose
 * outcome decides whether to enqueue). job_enqueue_lua: the enqueue script's source; it reads
 * KEYS[1..5] and ARGV[1..10] and returns 1/0 as job_enqueue, so wrapped as
 * `local function enqueue(KEYS, ARGV) <source> end` it is a function of those two tables.
 * job_enqueue_argv: the JOB_ENQUEUE_ARGC strings (5 keys, then 10 arguments) of j's enqueue at
 * now (ms), malloc'd; release them with job_enqueue_argv_free (safe on NULL). */
#define JOB_ENQUEUE_ARGC 15
const char *job_enqueue_lua(void);
char **job_enqueue_argv(const job_t *j, int64_t now);
void job_enqueue_argv_free(char **argv);
/* Claims a queued job for worker: state running, attempt+1, lease_until = now + lease_ms,
 * removed from K_QUEUE, added to K_LEASES. Fills *out (job_free it). Returns 1 claimed,
 * 0 not claimable (unknown, or not queued: another worker has it or it is finished), -1 error. */
int job_claim(rds_t *r, const char *tenant, const char *id, const char *worker,
              int64_t lease_ms, job_t *out);
/* Extends the lease while worker still owns the running job. 1 ok, 0 lost, -1 error. */
int job_touch(rds_t *r, const char *tenant, const char *id, const char *worker, int64_t lease_ms);
/* Marks done (result JSON text may be NULL); the hash expires after MLC_JOB_TTL_S (default
 * 86400). When the job has a parent, HINCRBY parent children_done 1. 1 ok, 0 lost, -1 error. */
int job_done(rds_t *r, const char *tenant, const char *id, const char *worker, const char *result);
/* Records a failure. permanent or attempt >= max_attempts -> dead (K_DLQ, parent
 * children_dead+1); else retry with not_before = retry_at_ms (K_RETRY). Returns 1 when now in
 * retry, 2 when dead, 0 lost, -1 error. */
int job_fail(rds_t *r, const char *tenant, const char *id, const char *worker,
             const char *error, bool permanent, int64_t retry_at_ms);
/* Gives a running job back for a retry at retry_at_ms without using up an attempt: the run
 * was refused by a shared rate limit or pause before doing its work (a busy limit is no
 * failure of the job, so it never makes a job dead). State retry, attempt - 1, K_RETRY;
 * counts jobs_deferred in K_STATS. Returns 1 when now in retry, 0 lost (not running or
 * another worker's), -1 error. */
int job_defer(rds_t *r, const char *tenant, const char *id, const char *worker,
              const char *error, int64_t retry_at_ms);
/* Reaper: moves running jobs whose lease expired before now_ms back to queued. Writes their
 * ids (malloc'd, caller frees each and the array) to *ids. Returns the count or -1. */
int job_requeue_expired(rds_t *r, const char *tenant, int64_t now_ms, char ***ids);
/* Retry timer: moves retry jobs whose not_before <= now_ms to queued; same contract. */
int job_promote_retries(rds_t *r, const char *tenant, int64_t now_ms, char ***ids);
/* Loads a job by id. 1 found, 0 absent, -1 error. */
int job_load(rds_t *r, const char *tenant, const char *id, job_t *out);
/* Re-queues a dead job (operator replay), atomically: state queued, attempt 0 (it gets its
 * full max_attempts again), error / not_before / worker / lease cleared, removed from K_DLQ,
 * added to K_QUEUE of its service; the parent's children_dead goes back down by one. The
 * caller publishes the id on the bus afterwards (job_submit's rule: Redis first). When service
 * is not NULL it receives the job's service (malloc'd, caller frees) on success.
 * Returns 1 replayed, 0 when the job is absent or not dead (nothing changed; a DLQ entry
 * whose job hash is gone or no longer dead is dropped from K_DLQ), -1 on Redis failure. */
int job_replay(rds_t *r, const char *tenant, const char *id, char **service);
/* The max_attempts of a new job of type: MLC_MAX_ATTEMPTS_<TYPE> (type upper-cased, other
 * characters than letters and digits as '_', e.g. MLC_MAX_ATTEMPTS_UPSERT_TASK), else
 * MLC_MAX_ATTEMPTS, else 8. Values below 1 or not integers are ignored. job_enqueue uses it
 * when j->max_attempts is 0. */
int job_max_attempts(const char *type);
/* Adds n to the parent's "children" counter (a poll job announcing its write jobs). */
int job_add_children(rds_t *r, const char *tenant, const char *id, long n);
void job_free(job_t *j);   /* frees fields, zeroes; safe twice */
#endif
