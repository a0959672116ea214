/* ion_m3: the simulated M3 API behind the ION gateway (m3api-rest): "execute" calls of the
 * served MI transactions, v2 ({"results":[{"transaction","records":[..]}],...}) and v1
 * ({"Program","Transaction","Metadata","MIRecord":[..]}) bodies. Pure parts (parsing of the
 * PROGRAM/TRANSACTION;matrix part of the URL, error bodies) are separate from execution,
 * which reads and writes an ion_store. docs/simulators.md lists the transactions. */
#ifndef MLC_SIM_ION_M3_H
#define MLC_SIM_ION_M3_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ion_store.h"
#include "util.h"

typedef struct {
    int     version;          /* 1 (/execute/) or 2 (/v2/execute/) */
    char    program[16];
    char    transaction[32];
    long    maxrecs;          /* -1 when not given */
    char  **returncols;       /* field names, NULL when not given */
    size_t  nreturncols;
    bool    excludempty;      /* leave out fields whose value is blank */
    bool    metadata;         /* v1: include "Metadata" (default true) */
} ion_m3_call_t;

/* Parses spec, the path after ".../execute/": "PPS001MI/ListHeadBasic;maxrecs=10;
 * returncols=PUNO,SUNO;excludempty=true" (matrix parameters maxrecs, returncols, excludempty,
 * metadata). Returns 0, or -1 with err (no program/transaction, unknown matrix parameter, bad
 * value); c is then empty. Only the form is checked, not whether the transaction exists. */
int ion_m3_parse_call(const char *spec, int version, ion_m3_call_t *c, char *err,
                      size_t err_len);
void ion_m3_call_free(ion_m3_call_t *c);   /* safe twice */

/* Appends the error body of a failed call to out: v2 {"results":[{"transaction",
 * "errorMessage","errorType":"ServerReturnedNOK","errorCode","errorField","records":[]}],
 * "wasTerminated":false,"nrOfSuccessfullTransactions":0,"nrOfFailedTransactions":1}; v1
 * {"@type":"ServerReturnedNOK","@code","@field","Message"}. code / field may be NULL. */
void ion_m3_error_body(buf_t *out, int version, const char *transaction, const char *code,
                       const char *field, const char *message);

typedef struct {
    const char *company;       /* the CONO that exists ("100") */
    const char *division;      /* the DIVI that exists ("AAA") */
    const char *user;          /* CHID of writes */
    long        max_maxrecs;   /* maxrecs cap; maxrecs 0 means this many */
    int64_t     now_ms;
} ion_m3_env_t;

typedef struct {
    int  status;     /* 200 (also for business errors), 400 (request errors) */
    bool nok;        /* the transaction failed (error body) */
    bool wrote;      /* a record was changed */
} ion_m3_result_t;

/* Runs call with the query inputs names[i]=values[i] against st and appends the response body
 * to out. Request errors (unknown program or transaction, unknown input or returncols field,
 * maxrecs over max_maxrecs) answer 400; business errors (missing mandatory input, unknown
 * company/division/record, record already approved) answer 200 with the error filled in.
 * Lists return records with key >= the key input, in key order, at most maxrecs (default
 * 100 or max_maxrecs when lower; 0 = max_maxrecs). Takes the store's lock itself. */
void ion_m3_execute(ion_store_t *st, const ion_m3_env_t *env, const ion_m3_call_t *call,
                    const char *const *names, const char *const *values, size_t n, buf_t *out,
                    ion_m3_result_t *res);
#endif
