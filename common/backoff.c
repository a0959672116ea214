/* backoff: exponential backoff with full jitter on a per-thread PRNG. */
#include "backoff.h"

#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* Per-thread xorshift64* state, seeded from getrandom on first use (0 = unseeded). Jitter
 * needs spread, not secrecy, so a fast PRNG is enough and no lock is needed. */
static __thread uint64_t rng_state;

static uint64_t rng_next(void)
{
    if (rng_state == 0) {
        uint64_t seed = 0;
        if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)getpid() ^
                   (uint64_t)(uintptr_t)&seed;
        }
        rng_state = seed ? seed : 0x9E3779B97F4A7C15ull;
    }
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

int64_t backoff_ceiling(int attempt, int64_t base_ms, int64_t cap_ms)
{
    if (cap_ms <= 0 || base_ms <= 0)
        return 0;
    if (attempt < 0)
        attempt = 0;
    /* base << attempt would overflow (or exceed cap) once base > cap >> attempt. */
    if (attempt >= 62 || base_ms > (cap_ms >> attempt))
        return cap_ms;
    return base_ms << attempt;
}

int64_t backoff_full_jitter(int attempt, int64_t base_ms, int64_t cap_ms)
{
    int64_t ceiling = backoff_ceiling(attempt, base_ms, cap_ms);
    if (ceiling <= 0)
        return 0;
    /* Modulo bias is below 2^-40 for any realistic ceiling. */
    return (int64_t)(rng_next() % ((uint64_t)ceiling + 1));
}
