/* asana_gate: admission control of the simulated Asana, per token, as the real API does it:
 * a sliding 60-second request budget (rejected requests count too) and caps on requests in
 * flight (writes and reads apart). It also keeps the peaks the statistics report: the most
 * requests of one token in any 10-second window and the most writes / reads of one token in
 * flight at once. Windows are 100 ms slots. Time is passed in (monotonic ms), so the gate is
 * pure and testable. Not thread-safe: the simulator calls it under its own mutex. */
#ifndef MLC_SIM_ASANA_GATE_H
#define MLC_SIM_ASANA_GATE_H
#include <stdbool.h>
#include <stdint.h>

typedef struct asana_gate asana_gate_t;

typedef enum {
    GATE_ADMITTED = 0,
    GATE_RATE_LIMITED,     /* over rate_per_min in the last 60 s */
    GATE_TOO_MANY_IN_FLIGHT,
} gate_verdict_t;

typedef struct {
    int64_t per_10s_max;           /* most requests of one token in any 10 s since reset */
    int     max_in_flight_writes;  /* most writes of one token in flight since reset */
    int     max_in_flight_reads;
} asana_gate_peaks_t;

asana_gate_t *asana_gate_new(void);
/* Frees and NULLs *g; safe on NULL and twice. */
void asana_gate_destroy(asana_gate_t **g);

/* Counts one request of token at now_ms and decides. rate_per_min, max_writes, max_reads:
 * 0 = unlimited. On GATE_ADMITTED the token's in-flight count of that kind rises until
 * asana_gate_release; on a refusal *retry_after_s is set to the seconds after which the
 * request would pass (>= 1). */
gate_verdict_t asana_gate_admit(asana_gate_t *g, const char *token, bool write, int64_t now_ms,
                                int rate_per_min, int max_writes, int max_reads,
                                int *retry_after_s);
/* Ends an admitted request of token. */
void asana_gate_release(asana_gate_t *g, const char *token, bool write);

void asana_gate_peaks(const asana_gate_t *g, asana_gate_peaks_t *out);
/* Zeroes the peaks and forgets the rate windows (a test's setup traffic does not eat the
 * budget of what it measures next); requests in flight stay counted. */
void asana_gate_reset(asana_gate_t *g);
#endif
