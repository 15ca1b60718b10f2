/* Tests for the BigQuery store's credentials and REST helpers: base64url,
 * the RS256 JWT verified with the public half of a test key made with
 * openssl, key-file parsing, the token endpoint's answers, the error
 * mapping of BigQuery's answers (which are retried, which are not) and
 * the map of rows already written. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "store/bq_internal.h"
#include "util/buf.h"

static void test_b64url(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	assert_int_equal(bq_b64url(&b, "\xfb\xff", 2), 0);
	assert_string_equal(buf_str(&b), "-_8");
	buf_reset(&b);
	assert_int_equal(bq_b64url(&b, "abc", 3), 0);
	assert_string_equal(buf_str(&b), "YWJj");
	buf_reset(&b);
	assert_int_equal(bq_b64url(&b, "a", 1), 0);
	assert_string_equal(buf_str(&b), "YQ");
	buf_release(&b);
}

static char *make_key_pem(void)
{
	EVP_PKEY *k = EVP_RSA_gen(2048);
	BIO *bio = BIO_new(BIO_s_mem());
	char *p = NULL, *out;
	long n;

	assert_non_null(k);
	assert_int_equal(
	    PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL), 1);
	n = BIO_get_mem_data(bio, &p);
	out = strndup(p, (size_t)n);
	BIO_free(bio);
	EVP_PKEY_free(k);
	return out;
}

static size_t b64url_decode(const char *s, size_t n, unsigned char *out)
{
	unsigned v = 0;
	int bits = 0;
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		const char *tab =
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrs"
		    "tuvwxyz0123456789-_";
		const char *c = strchr(tab, s[i]);

		v = v << 6 | (unsigned)(c - tab);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(v >> bits);
		}
	}
	return o;
}

static void test_jwt_verifies(void **state)
{
	struct bq_cred c;
	struct buf jwt = BUF_INIT;
	struct err e = ERR_INIT;
	unsigned char sig[512], payload[1024];
	const char *d1, *d2;
	EVP_PKEY *pub;
	EVP_MD_CTX *md;
	BIO *bio;
	size_t n;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.private_key = make_key_pem();
	c.email = strdup("sa@p.iam.gserviceaccount.com");
	c.key_id = strdup("kid1234");
	c.token_uri = strdup("https://oauth2.googleapis.com/token");
	c.source = strdup("test key");
	assert_int_equal(bq_jwt_make(&jwt, &c, 1700000000, &e), 0);
	d1 = strchr(buf_str(&jwt), '.');
	d2 = strrchr(buf_str(&jwt), '.');
	assert_true(d1 && d2 && d1 != d2);
	n = b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), payload);
	payload[n] = 0;
	assert_non_null(strstr((char *)payload, "\"iat\":1700000000"));
	assert_non_null(strstr((char *)payload, "\"exp\":1700003600"));
	assert_non_null(strstr((char *)payload,
			       "\"iss\":\"sa@p.iam.gserviceaccount.com\""));
	/* the signature verifies with the key's public half */
	bio = BIO_new_mem_buf(c.private_key, -1);
	pub = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	n = b64url_decode(d2 + 1, strlen(d2 + 1), sig);
	md = EVP_MD_CTX_new();
	assert_int_equal(
	    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub), 1);
	assert_int_equal(EVP_DigestVerify(md, sig, n,
					  (const unsigned char *)buf_str(&jwt),
					  (size_t)(d2 - buf_str(&jwt))),
			 1);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pub);
	BIO_free(bio);
	buf_release(&jwt);
	bq_cred_release(&c);
}

static void test_cred_parse(void **state)
{
	struct bq_cred c;
	struct err e = ERR_INIT;
	const char *sa =
	    "{\"type\":\"service_account\",\"client_email\":\"a@b\","
	    "\"private_key\":\"PEM\",\"private_key_id\":\"k1\"}";
	const char *user = "{\"type\":\"authorized_user\",\"client_id\":\"i\","
			   "\"client_secret\":\"s\",\"refresh_token\":\"r\"}";

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(bq_cred_parse(&c, sa, strlen(sa), "f.json", &e), 0);
	assert_int_equal(c.kind, BQ_CRED_SERVICE_ACCOUNT);
	assert_string_equal(c.token_uri, BQ_TOKEN_URI);
	bq_cred_release(&c);
	assert_int_equal(bq_cred_parse(&c, user, strlen(user), "u.json", &e),
			 0);
	assert_int_equal(c.kind, BQ_CRED_USER);
	bq_cred_release(&c);
	assert_int_equal(bq_cred_parse(&c, "{\"type\":\"service_account\"}", 26,
				       "x.json", &e),
			 -1);
	assert_int_equal(e.kind, ERR_STORE);
	assert_non_null(strstr(e.msg, "x.json"));
	assert_null(strstr(e.msg, "PEM"));
	bq_cred_release(&c);
	assert_int_equal(bq_cred_parse(&c, "nope", 4, "y.json", &e), -1);
	bq_cred_release(&c);
}

static void test_token_parse(void **state)
{
	char *tok = NULL;
	int64_t ex = 0;
	struct err e = ERR_INIT;
	const char *ok = "{\"access_token\":\"ya29.x\",\"expires_in\":3599,"
			 "\"token_type\":\"Bearer\"}";
	const char *str = "{\"access_token\":\"t\",\"expires_in\":\"120\"}";
	const char *bad = "{\"error\":\"invalid_grant\",\"error_description\":"
			  "\"Invalid JWT Signature.\"}";

	(void)state;
	assert_int_equal(bq_token_parse(ok, strlen(ok), 200, &tok, &ex, &e), 0);
	assert_string_equal(tok, "ya29.x");
	assert_int_equal(ex, 3599);
	free(tok);
	assert_int_equal(bq_token_parse(str, strlen(str), 200, &tok, &ex, &e),
			 0);
	assert_int_equal(ex, 120);
	free(tok);
	assert_int_equal(bq_token_parse(bad, strlen(bad), 400, &tok, &ex, &e),
			 -1);
	assert_null(tok);
	assert_non_null(strstr(e.msg, "invalid_grant"));
	assert_non_null(strstr(e.msg, "Invalid JWT Signature"));
}

static void test_error_mapping(void **state)
{
	char reason[64], msg[128];
	const char *body = "{\"error\":{\"code\":403,\"message\":\"Exceeded\","
			   "\"errors\":[{\"reason\":\"rateLimitExceeded\"}]}}";

	(void)state;
	bq_error_parse(body, strlen(body), reason, sizeof(reason), msg,
		       sizeof(msg));
	assert_string_equal(reason, "rateLimitExceeded");
	assert_string_equal(msg, "Exceeded");
	bq_error_parse("<html>", 6, reason, sizeof(reason), msg, sizeof(msg));
	assert_string_equal(reason, "");
	assert_true(bq_is_retryable(403, "rateLimitExceeded"));
	assert_true(bq_is_retryable(503, ""));
	assert_true(bq_is_retryable(500, "internalError"));
	assert_false(bq_is_retryable(403, "accessDenied"));
	assert_false(bq_is_retryable(403, "quotaExceeded"));
	assert_false(bq_is_retryable(404, "notFound"));
	assert_false(bq_is_retryable(400, "invalidQuery"));
	assert_true(bq_job_is_retryable("jobBackendError", NULL));
	assert_true(bq_job_is_retryable(
	    "invalidQuery", "Could not serialize access to table p:d.t due to "
			    "concurrent update"));
	assert_true(bq_job_is_retryable(
	    "invalidQuery", "Transaction is aborted due to concurrent update "
			    "against table p.d.t"));
	assert_false(bq_job_is_retryable("invalidQuery", "Syntax error"));
	assert_false(bq_job_is_retryable("invalid", NULL));
}

/* The map of rows already written: put/get with growth, the stored form
 * round-trips, the run's entries win over the last run's, not-known
 * entries (0) and the skipped kind are left out, bad text is refused. */
static void test_seen_map(void **state)
{
	struct bq_seen run = {0}, old = {0}, back = {0};
	struct buf b = BUF_INIT;
	uint64_t k[3], v = 0;
	int i;

	(void)state;
	k[0] = bq_seen_key(BK_CONTACTS, bq_seen_hash("42", 2, "x", 1));
	k[1] = bq_seen_key(BK_RECON_LIVE, bq_seen_hash("42", 2, "live", 4));
	k[2] = bq_seen_key(BK_LISTS, bq_seen_hash("7", 1, "", 0));
	assert_int_equal(bq_seen_kind(k[1]), BK_RECON_LIVE);
	assert_int_not_equal(k[0], k[1]);
	for (i = 1; i <= 1000; i++)
		bq_seen_put(&run, bq_seen_key(BK_CAMPAIGNS, (uint64_t)i),
			    (uint64_t)i);
	assert_true(bq_seen_get(&run, bq_seen_key(BK_CAMPAIGNS, 777), &v));
	assert_int_equal(v, 777);
	assert_false(bq_seen_get(&run, bq_seen_key(BK_CAMPAIGNS, 1001), &v));
	bq_seen_clear(&run);
	bq_seen_put(&run, k[0], 5);
	bq_seen_put(&run, k[2], 0); /* not known: left out */
	bq_seen_put(&old, k[0], 4); /* the run's 5 wins */
	bq_seen_put(&old, k[1], 1); /* skipped kind */
	bq_seen_put(&old, k[2], 9); /* the run says not known: left out */
	assert_int_equal(bq_seen_format(&b, &run, &old, BK_RECON_LIVE), 0);
	assert_int_equal(bq_seen_parse(&back, buf_str(&b)), 0);
	assert_int_equal(back.n, 1);
	assert_true(bq_seen_get(&back, k[0], &v));
	assert_int_equal(v, 5);
	buf_reset(&b);
	assert_int_equal(bq_seen_format(&b, &run, &old, -1), 0);
	assert_int_equal(bq_seen_parse(&back, buf_str(&b)), 0);
	assert_int_equal(back.n, 2);
	assert_true(bq_seen_get(&back, k[1], &v));
	assert_int_equal(v, 1);
	assert_int_equal(bq_seen_parse(&back, "2:00"), -1);
	assert_int_equal(back.n, 0);
	assert_int_equal(bq_seen_parse(&back, "1:0123456789abcdefXX"), -1);
	assert_int_equal(bq_seen_parse(&back, NULL), -1);
	buf_release(&b);
	bq_seen_release(&run);
	bq_seen_release(&old);
	bq_seen_release(&back);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_b64url),
	    cmocka_unit_test(test_jwt_verifies),
	    cmocka_unit_test(test_cred_parse),
	    cmocka_unit_test(test_token_parse),
	    cmocka_unit_test(test_error_mapping),
	    cmocka_unit_test(test_seen_map),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
