/* Deterministic pseudo-random numbers (splitmix64) and UUID text, so the same
 * seed always generates the same simulated account, byte for byte. */
#ifndef ESPSYNC_SIM_RNG_H
#define ESPSYNC_SIM_RNG_H

#include <stdint.h>

struct rng {
	uint64_t s;
};

#define UUID_LEN 36

void rng_init(struct rng *r, uint64_t seed);
uint64_t rng_next(struct rng *r);
/* Uniform in 0..n-1; n 0 gives 0. */
uint32_t rng_below(struct rng *r, uint32_t n);
/* Uniform in [0, 1). */
double rng_unit(struct rng *r);
/* True with probability pct/100. */
int rng_pct(struct rng *r, double pct);
/* A version-4 style UUID as two 64-bit halves. */
void rng_uuid(struct rng *r, uint64_t *hi, uint64_t *lo);
/* Lowercase 8-4-4-4-12 text; text order equals (hi, lo) numeric order. */
void uuid_format(char out[UUID_LEN + 1], uint64_t hi, uint64_t lo);
/* Return 0 and the halves, or -1 when s is not a lowercase/uppercase UUID. */
int uuid_parse(const char *s, uint64_t *hi, uint64_t *lo);
/* Mixes several values into one seed (for independent sub-streams). */
uint64_t rng_mix(uint64_t a, uint64_t b);

#endif
