/* sim_dice: the simulators' random numbers: the dice rolled for injected faults (a
 * thread-safe xorshift64 generator, reproducible for a seed) and the splitmix64 streams that
 * make seeded data deterministic. */
#ifndef MLC_SIM_SIM_DICE_H
#define MLC_SIM_SIM_DICE_H
#include <stdint.h>

typedef struct sim_dice sim_dice_t;

/* seed 0 picks a fixed non-zero seed. Aborts on out of memory. */
sim_dice_t *sim_dice_new(uint64_t seed);
void sim_dice_destroy(sim_dice_t **d);   /* NULLs *d; safe on NULL and twice */
/* Restarts the sequence from seed (0: the fixed seed). */
void sim_dice_reseed(sim_dice_t *d, uint64_t seed);
/* The next value in 0..9999 (a percentage with two decimals). */
unsigned sim_dice_roll(sim_dice_t *d);

/* The next value of the splitmix64 stream whose state is *state (advanced). Pure. */
uint64_t sim_splitmix64(uint64_t *state);
#endif
