/* rng.h: bark's own seeded random number generator (xoshiro256** seeded through splitmix64). */
#ifndef BARK_RNG_H
#define BARK_RNG_H

#include <stdint.h>

/* The generator state. The same seed gives the same stream on every platform: the algorithm is
 * xoshiro256** (Blackman and Vigna, 2018) with its four words filled by splitmix64(seed). */
typedef struct bark_rng {
    uint64_t s[4];
} bark_rng;

void bark_rng_seed(bark_rng *r, uint64_t seed);
/* The next 64 random bits. */
uint64_t bark_rng_u64(bark_rng *r);
/* A uniform double in [0, 1) from the top 53 bits of the next output. */
double bark_rng_uniform(bark_rng *r);

#endif
