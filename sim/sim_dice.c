/* sim_dice: see sim_dice.h. */
#include "sim_dice.h"

#include <pthread.h>
#include <stdlib.h>

#include "util.h"

struct sim_dice {
    pthread_mutex_t mu;
    uint64_t        state;
};

sim_dice_t *sim_dice_new(uint64_t seed)
{
    sim_dice_t *d = xcalloc(1, sizeof *d);
    pthread_mutex_init(&d->mu, NULL);
    sim_dice_reseed(d, seed);
    return d;
}

void sim_dice_destroy(sim_dice_t **d)
{
    if (!d || !*d)
        return;
    pthread_mutex_destroy(&(*d)->mu);
    free(*d);
    *d = NULL;
}

void sim_dice_reseed(sim_dice_t *d, uint64_t seed)
{
    pthread_mutex_lock(&d->mu);
    d->state = seed ? seed : 0x9E3779B97F4A7C15ull;
    pthread_mutex_unlock(&d->mu);
}

unsigned sim_dice_roll(sim_dice_t *d)
{
    pthread_mutex_lock(&d->mu);
    uint64_t x = d->state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    d->state = x;
    pthread_mutex_unlock(&d->mu);
    return (unsigned)(x % 10000);
}

uint64_t sim_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
