/* splitmix64 generator and UUID formatting for the simulator; see rng.h. */
#include "rng.h"

#include <string.h>

#include "util/banned.h"

void rng_init(struct rng *r, uint64_t seed)
{
	r->s = seed ^ 0x6a09e667f3bcc909ULL;
}

uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t rng_mix(uint64_t a, uint64_t b)
{
	struct rng r;

	rng_init(&r, a * 0x9e3779b97f4a7c15ULL + b);
	return rng_next(&r);
}

uint32_t rng_below(struct rng *r, uint32_t n)
{
	if (n == 0)
		return 0;
	return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

double rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) / 9007199254740992.0;
}

int rng_pct(struct rng *r, double pct)
{
	return rng_unit(r) * 100.0 < pct;
}

void rng_uuid(struct rng *r, uint64_t *hi, uint64_t *lo)
{
	*hi = (rng_next(r) & ~0xf000ULL) | 0x4000ULL;
	*lo = (rng_next(r) & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
}

static const char hexdig[] = "0123456789abcdef";

void uuid_format(char out[UUID_LEN + 1], uint64_t hi, uint64_t lo)
{
	int i, o = 0;

	for (i = 0; i < 32; i++) {
		uint64_t v = i < 16 ? hi : lo;
		int shift = 60 - 4 * (i % 16);

		if (i == 8 || i == 12 || i == 16 || i == 20)
			out[o++] = '-';
		out[o++] = hexdig[(v >> shift) & 0xf];
	}
	out[o] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int uuid_parse(const char *s, uint64_t *hi, uint64_t *lo)
{
	uint64_t h = 0, l = 0;
	int i, n = 0;

	if (strlen(s) != UUID_LEN)
		return -1;
	for (i = 0; i < UUID_LEN; i++) {
		int v;

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -1;
			continue;
		}
		v = hexval(s[i]);
		if (v < 0)
			return -1;
		if (n < 16)
			h = (h << 4) | (uint64_t)v;
		else
			l = (l << 4) | (uint64_t)v;
		n++;
	}
	*hi = h;
	*lo = l;
	return 0;
}
