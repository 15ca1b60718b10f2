/* SHA-256 against the FIPS 180-2 / NIST example vectors, including inputs
 * that straddle the padding boundary and streaming in odd-sized pieces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/sha256.h"

static void hex(const unsigned char md[32], char out[65])
{
	int i;

	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void digest(const void *p, size_t n, char out[65])
{
	struct sha256 s;
	unsigned char md[32];

	sha256_init(&s);
	sha256_update(&s, p, n);
	sha256_final(&s, md);
	hex(md, out);
}

static const struct {
	const char *in;
	const char *want;
} vectors[] = {
    {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklm"
     "nopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
     "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
    {"The quick brown fox jumps over the lazy dog",
     "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592"},
};

static void test_vectors(void **state)
{
	char got[65];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		digest(vectors[i].in, strlen(vectors[i].in), got);
		assert_string_equal(got, vectors[i].want);
	}
}

static void test_million_a(void **state)
{
	struct sha256 s;
	unsigned char md[32];
	char block[1000], got[65];
	int i;

	(void)state;
	memset(block, 'a', sizeof(block));
	sha256_init(&s);
	for (i = 0; i < 1000; i++)
		sha256_update(&s, block, sizeof(block));
	sha256_final(&s, md);
	hex(md, got);
	assert_string_equal(
	    got,
	    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* Lengths around 55/56/63/64 bytes exercise both padding branches; streamed
 * and one-shot digests must agree. */
static void test_streaming_matches_oneshot(void **state)
{
	unsigned char msg[200];
	size_t n, i, step;

	(void)state;
	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (unsigned char)(i * 7 + 3);
	for (n = 0; n <= sizeof(msg); n++) {
		char a[65], b[65];

		digest(msg, n, a);
		for (step = 1; step <= 13; step += 6) {
			struct sha256 s;
			unsigned char md[32];

			sha256_init(&s);
			for (i = 0; i < n; i += step)
				sha256_update(&s, msg + i,
					      n - i < step ? n - i : step);
			sha256_final(&s, md);
			hex(md, b);
			assert_string_equal(a, b);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vectors),
	    cmocka_unit_test(test_million_a),
	    cmocka_unit_test(test_streaming_matches_oneshot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
