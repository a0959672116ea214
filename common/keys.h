/* keys: every Redis key ml-connector uses, in one place (documented in docs/redis-keys.md).
 * Per-tenant keys carry the tenant in a hash tag {t} so one tenant's keys share a Cluster slot
 * and Lua scripts may touch several of them. Use with xasprintf(K_JOB, tenant, job_id). */
#ifndef MLC_KEYS_H
#define MLC_KEYS_H
#define K_TENANTS        "mlc:tenants"                 /* SET of tenant ids */
#define K_WORKERS        "mlc:workers"                 /* HASH worker id -> heartbeat JSON */
#define K_BROKER         "mlc:broker"                  /* HASH broker view, every second:
                                                          "<service>:<tenant>" -> queued ids,
                                                          workers -> count, updated_ms */
#define K_TENANT         "mlc:{%s}:tenant"             /* HASH config (secrets sealed), added_at */
#define K_JOB            "mlc:{%s}:job:%s"             /* HASH one job */
#define K_QUEUE          "mlc:{%s}:queue:%s"           /* ZSET queued job ids per service, score = enqueue ms */
#define K_LEASES         "mlc:{%s}:leases"             /* ZSET running job ids, score = lease expiry ms */
#define K_RETRY          "mlc:{%s}:retry"              /* ZSET job ids waiting to retry, score = not_before ms */
#define K_DLQ            "mlc:{%s}:dlq"                /* ZSET dead job ids, score = death ms */
#define K_JOBLOG         "mlc:{%s}:jobs"               /* ZSET recent job ids, score = created ms */
#define K_REC            "mlc:{%s}:rec:%s"             /* HASH per record, %s = ref "po:4711" */
#define K_TASKMAP        "mlc:{%s}:taskmap"            /* HASH ref -> Asana task gid */
#define K_GIDMAP         "mlc:{%s}:gidmap"             /* HASH Asana task gid -> ref */
#define K_CURSOR         "mlc:{%s}:cursor:%s"          /* STRING watermark per flow */
#define K_SYNC           "mlc:{%s}:sync:%s"            /* HASH last sync of a flow */
#define K_SYNC_LOG       "mlc:{%s}:sync:%s:log"        /* STREAM sync runs of a flow (synclog.h), approx. MAXLEN 1000 */
#define K_SYNC_HIST      "mlc:{%s}:sync:%s:hist"       /* HASH sync duration histogram of a flow (synclog.h) */
#define K_SCHED          "mlc:{%s}:sched:%s"           /* STRING next due ms of a flow's schedule */
#define K_TOKEN          "mlc:{%s}:token:%s"           /* STRING sealed access token, TTL = expires_in */
#define K_TOKEN_LOCK     "mlc:{%s}:token:%s:lock"      /* STRING single-flight refresh lock */
#define K_TOKEN_REFRESH  "mlc:{%s}:token:%s:refresh"   /* STRING sealed OAuth2 refresh token (ion), kept
                                                          until refused, rotated or revoked */
#define K_ASANA_FIELDS   "mlc:{%s}:asana:fields:%s"    /* HASH field name -> "gid type", per project gid */
#define K_ASANA_ENUM     "mlc:{asana:%s}:enum"         /* HASH option name -> option gid of one enum field gid (shared by the tenants of a workspace) */
#define K_ASANA_ENUM_LOCK "mlc:{asana:%s}:lock:enum:%.16s" /* STRING lock while an option (name hash) of a field gid is created */
#define K_ASANA_LOCK     "mlc:{%s}:asana:lock:%s"      /* STRING lock for a create (field/option/task) */
#define K_REF            "mlc:{%s}:ref:%s"             /* HASH reference data read from the ERP, e.g.
                                                          suppliers: id -> name (reference.c) */
#define K_REF_SYNCED     "mlc:{%s}:ref:%s:synced"      /* STRING last read ms, TTL MLC_REF_REFRESH_S:
                                                          while it exists no poll reads the reference */
#define K_ASANA_SLOTS    "mlc:{asana:%s}:inflight:%s"  /* ZSET in-flight Asana requests per token hash, reads|writes */
#define K_ASANA_WS_LOCK  "mlc:{asana:%s}:lock:fields"   /* STRING lock while custom fields of a workspace gid are created (tenants may share a workspace) */
#define K_ASANA_RATE     "mlc:{asana:%s}:rate"         /* STRING GCRA theoretical arrival time (ms) of a token's per-minute rate */
#define K_ASANA_ME       "mlc:{asana:%s}:me"           /* STRING the gid of the token's user (GET /users/me), TTL 1 day */
#define K_ASANA_PAUSE    "mlc:{asana:%s}:pause"        /* STRING set while a token is rate limited (TTL = Retry-After) */
#define K_HOOK           "mlc:{%s}:webhook"            /* HASH the tenant's Asana webhook: gid resource target secret(sealed) active created_at last_delivery_at */
#define K_HOOK_PENDING   "mlc:{%s}:webhook:pending"    /* STRING set (TTL 60 s) while this connector registers a webhook: value = resource gid */
#define K_HOOK_SEEN      "mlc:{%s}:webhook:seen:%s"    /* STRING dedupe of one event (sha of its content), TTL MLC_HOOK_DEDUPE_S */
#define K_WRITEBACK      "mlc:{%s}:writeback:%s"       /* HASH the approval write-back of one record ref: decision state
                                                          (running|applied|already|not_applicable|failed) job lock_until
                                                          task started_at finished_at mode conflicts error */
#define K_EVENTS         "mlc:{%s}:events"             /* STREAM verified webhook events, approx. MAXLEN MLC_EVENTS_MAXLEN */
#define K_AUDIT          "mlc:{%s}:audit"              /* STREAM audit trail of the tenant */
#define K_ERP_RATE       "mlc:{%s}:erp:rate"           /* STRING GCRA theoretical arrival time (ms) of the tenant's ERP rate */
#define K_ERP_PAUSE      "mlc:{%s}:erp:pause"          /* STRING set while the tenant's ERP asked to back off (429/503, TTL = Retry-After) */
#define K_STATS          "mlc:{%s}:stats"              /* HASH counters */
#endif
