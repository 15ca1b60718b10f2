/* BigQuery credentials: a service-account key (an RS256-signed JWT
 * exchanged at the key's token_uri), gcloud's authorized_user refresh
 * token, or the metadata server on Google Cloud. The only file that
 * includes OpenSSL. Neither a key nor a token is ever put in a message. */
#include "store/bq_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "util/clock.h"
#include "util/jsonw.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define KEY_FILE_MAX (1 << 20)

void bq_cred_release(struct bq_cred *c)
{
	if (c->private_key)
		memset(c->private_key, 0, strlen(c->private_key));
	if (c->token)
		memset(c->token, 0, strlen(c->token));
	free(c->source);
	free(c->email);
	free(c->key_id);
	free(c->private_key);
	free(c->token_uri);
	free(c->client_id);
	free(c->client_secret);
	free(c->refresh_token);
	free(c->project_id);
	free(c->metadata_root);
	free(c->token);
	memset(c, 0, sizeof(*c));
}

static char *dup_member(const struct json *o, const char *key)
{
	const char *v = json_str(json_get(o, key));

	return v && *v ? xstrdup(v) : NULL;
}

int bq_cred_parse(struct bq_cred *c, const char *json, size_t len,
		  const char *source, struct err *err)
{
	struct json_doc *doc = NULL;
	const struct json *o;
	const char *type;
	int ret = -1;

	if (json_parse(&doc, json, len, NULL) < 0 ||
	    json_type(o = json_root(doc)) != JSON_OBJECT) {
		err_set(err, ERR_STORE, 0,
			"cannot read bigquery credentials '%s': not a JSON "
			"key file",
			source);
		goto done;
	}
	type = json_str(json_get(o, "type"));
	c->source = xstrdup(source);
	c->project_id = dup_member(o, "project_id");
	if (type && !strcmp(type, "service_account")) {
		c->kind = BQ_CRED_SERVICE_ACCOUNT;
		c->email = dup_member(o, "client_email");
		c->key_id = dup_member(o, "private_key_id");
		c->private_key = dup_member(o, "private_key");
		c->token_uri = dup_member(o, "token_uri");
		if (!c->token_uri)
			c->token_uri = xstrdup(BQ_TOKEN_URI);
		if (!c->email || !c->private_key) {
			err_set(err, ERR_STORE, 0,
				"cannot read bigquery credentials '%s': the "
				"service-account key has no %s",
				source,
				c->email ? "private_key" : "client_email");
			goto done;
		}
	} else if (type && !strcmp(type, "authorized_user")) {
		c->kind = BQ_CRED_USER;
		c->client_id = dup_member(o, "client_id");
		c->client_secret = dup_member(o, "client_secret");
		c->refresh_token = dup_member(o, "refresh_token");
		/* Google's clients always use this endpoint for user
		 * credentials; the override is for the tests' fake. */
		c->token_uri = dup_member(o, "token_uri");
		if (!c->token_uri)
			c->token_uri = xstrdup(BQ_TOKEN_URI);
		if (!c->client_id || !c->client_secret || !c->refresh_token) {
			err_set(err, ERR_STORE, 0,
				"cannot read bigquery credentials '%s': an "
				"authorized_user file needs client_id, "
				"client_secret and refresh_token",
				source);
			goto done;
		}
	} else {
		err_set(err, ERR_STORE, 0,
			"cannot read bigquery credentials '%s': type '%s' is "
			"not supported (service_account or authorized_user)",
			source, type ? type : "(none)");
		goto done;
	}
	ret = 0;
done:
	json_doc_free(doc);
	return ret;
}

static int read_file(const char *path, struct buf *out, struct err *err)
{
	FILE *f = fopen(path, "rb");
	char chunk[4096];
	size_t n;
	int ret = -1;

	if (!f)
		return err_set(err, ERR_STORE, errno,
			       "cannot read bigquery credentials '%s': %s",
			       path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (buf_append(out, chunk, n) < 0) {
			err_set(err, ERR_STORE, 0,
				"cannot read bigquery credentials '%s': "
				"larger than %zu bytes",
				path, out->max);
			goto done;
		}
	}
	if (ferror(f)) {
		err_set(err, ERR_STORE, errno,
			"cannot read bigquery credentials '%s': %s", path,
			strerror(errno));
		goto done;
	}
	ret = 0;
done:
	fclose(f);
	return ret;
}

static int load_file(struct bq_cred *c, const char *path, struct err *err)
{
	struct buf b;
	int ret;

	buf_init(&b, KEY_FILE_MAX);
	ret = read_file(path, &b, err);
	if (ret == 0)
		ret = bq_cred_parse(c, buf_str(&b), b.len, path, err);
	if (b.data)
		memset(b.data, 0, b.len);
	buf_release(&b);
	return ret;
}

int bq_cred_load(struct bq_cred *c, const struct bq_cred_env *env,
		 struct err *err)
{
	const char *path = env->key_file, *dir = env->gcloud_dir;
	const char *home = env->home, *host = env->metadata_host;
	struct buf adc = BUF_INIT;
	int ret = -1;

	memset(c, 0, sizeof(*c));
	if (path && *path)
		return load_file(c, path, err);
	if (dir && *dir)
		ret = buf_printf(
		    &adc, "%s/application_default_credentials.json", dir);
	else if (home && *home)
		ret = buf_printf(&adc,
				 "%s/.config/gcloud/"
				 "application_default_credentials.json",
				 home);
	if (ret == 0 && access(buf_str(&adc), F_OK) == 0) {
		ret = load_file(c, buf_str(&adc), err);
		buf_release(&adc);
		return ret;
	}
	buf_release(&adc);
	if (!host || !*host)
		host = "metadata.google.internal";
	c->kind = BQ_CRED_METADATA;
	c->source = xstrdup("metadata server");
	if (buf_printf(&adc, "http://%s/computeMetadata/v1", host) < 0) {
		buf_release(&adc);
		return err_set(err, ERR_STORE, 0,
			       "cannot use the metadata server: host name "
			       "too long");
	}
	c->metadata_root = buf_detach(&adc, NULL);
	return 0;
}

/* ---- JWT ---------------------------------------------------------------- */

int bq_b64url(struct buf *out, const void *data, size_t n)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
	    "wxyz0123456789-_";
	const unsigned char *p = data;
	size_t i;
	int rc = 0;

	for (i = 0; i + 2 < n; i += 3) {
		unsigned v =
		    (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		char q[4] = {tab[v >> 18], tab[(v >> 12) & 63],
			     tab[(v >> 6) & 63], tab[v & 63]};
		rc |= buf_append(out, q, 4);
	}
	if (n - i == 1) {
		unsigned v = (unsigned)p[i] << 16;
		char q[2] = {tab[v >> 18], tab[(v >> 12) & 63]};
		rc |= buf_append(out, q, 2);
	} else if (n - i == 2) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
		char q[3] = {tab[v >> 18], tab[(v >> 12) & 63],
			     tab[(v >> 6) & 63]};
		rc |= buf_append(out, q, 3);
	}
	return rc;
}

static int sign_rs256(struct buf *out, const char *pem, const char *msg,
		      size_t len, const char *source, struct err *err)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *key = NULL;
	EVP_MD_CTX *md = NULL;
	unsigned char *sig = NULL;
	size_t sig_len = 0;
	int ret = -1;

	if (bio)
		key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	if (!key) {
		err_set(err, ERR_STORE, 0,
			"cannot read bigquery credentials '%s': the private "
			"key is not a PEM RSA key",
			source);
		goto done;
	}
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, NULL, &sig_len, (const unsigned char *)msg,
			   len) != 1) {
		err_set(err, ERR_STORE, 0,
			"cannot sign a token request with the key of '%s'",
			source);
		goto done;
	}
	sig = xmalloc(sig_len);
	if (EVP_DigestSign(md, sig, &sig_len, (const unsigned char *)msg,
			   len) != 1) {
		err_set(err, ERR_STORE, 0,
			"cannot sign a token request with the key of '%s'",
			source);
		goto done;
	}
	if (bq_b64url(out, sig, sig_len) < 0) {
		err_set(err, ERR_STORE, 0, "token request too long");
		goto done;
	}
	ret = 0;
done:
	free(sig);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	BIO_free(bio);
	return ret;
}

int bq_jwt_make(struct buf *out, const struct bq_cred *c, int64_t now,
		struct err *err)
{
	struct buf h = BUF_INIT, p = BUF_INIT;
	int rc = 0, ret = -1;

	rc |= buf_puts(&h, "{\"alg\":\"RS256\",\"typ\":\"JWT\"");
	if (c->key_id) {
		rc |= buf_puts(&h, ",\"kid\":");
		rc |= jsonw_string(&h, c->key_id);
	}
	rc |= buf_putc(&h, '}');
	rc |= buf_puts(&p, "{\"iss\":");
	rc |= jsonw_string(&p, c->email);
	rc |= buf_puts(&p, ",\"scope\":\"" BQ_SCOPE "\",\"aud\":");
	rc |= jsonw_string(&p, c->token_uri);
	rc |= buf_printf(&p, ",\"iat\":%lld,\"exp\":%lld}", (long long)now,
			 (long long)now + 3600);
	rc |= bq_b64url(out, h.data, h.len);
	rc |= buf_putc(out, '.');
	rc |= bq_b64url(out, p.data, p.len);
	if (rc) {
		err_set(err, ERR_STORE, 0, "token request too long");
		goto done;
	}
	buf_reset(&h);
	if (sign_rs256(&h, c->private_key, out->data, out->len, c->source,
		       err) < 0 ||
	    buf_putc(out, '.') < 0 || buf_append(out, h.data, h.len) < 0) {
		if (err && err->kind == ERR_NONE)
			err_set(err, ERR_STORE, 0, "token request too long");
		goto done;
	}
	ret = 0;
done:
	buf_release(&h);
	buf_release(&p);
	return ret;
}

/* ---- token endpoint ---------------------------------------------------- */

int bq_token_parse(const char *body, size_t len, long status, char **token,
		   int64_t *expires_in, struct err *err)
{
	struct json_doc *doc = NULL;
	const struct json *o = NULL, *ex;
	const char *tok = NULL, *e, *d;
	int ret = -1;

	*token = NULL;
	*expires_in = 0;
	if (json_parse(&doc, body, len, NULL) == 0)
		o = json_root(doc);
	if (status / 100 != 2 || json_type(o) != JSON_OBJECT ||
	    !(tok = json_str(json_get(o, "access_token"))) || !*tok) {
		e = json_str(json_get(o, "error"));
		d = json_str(json_get(o, "error_description"));
		if (e && d)
			err_set(err, ERR_STORE, (int)status,
				"the token endpoint refused: %.60s: %.120s", e,
				d);
		else if (e)
			err_set(err, ERR_STORE, (int)status,
				"the token endpoint refused: %.60s", e);
		else
			err_set(err, ERR_STORE, (int)status,
				"the token endpoint answered HTTP %ld without "
				"a token",
				status);
		goto done;
	}
	ex = json_get(o, "expires_in");
	if (json_type(ex) == JSON_STRING) {
		char *end;
		long long v = strtoll(json_str(ex), &end, 10);

		*expires_in = *end ? 0 : v;
	} else if (json_int(ex, expires_in) < 0) {
		*expires_in = 0;
	}
	if (*expires_in <= 0)
		*expires_in = 3600;
	*token = xstrdup(tok);
	ret = 0;
done:
	json_doc_free(doc);
	return ret;
}

/* Appends s form-urlencoded. */
static int form_escape(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int rc = 0;

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("-._~", ch)) {
			rc |= buf_putc(b, (char)ch);
		} else {
			rc |= buf_putc(b, '%');
			rc |= buf_putc(b, hex[ch >> 4]);
			rc |= buf_putc(b, hex[ch & 15]);
		}
	}
	return rc;
}

static int token_request(struct bq_cred *c, struct http *h, struct buf *form,
			 struct err *err)
{
	static const char *const form_headers[] = {
	    "Content-Type: application/x-www-form-urlencoded", "Expect:", NULL};
	static const char *const md_headers[] = {"Metadata-Flavor: Google",
						 NULL};
	struct http_get req = HTTP_GET_INIT;
	struct http_xfer *x = NULL;
	struct buf url = BUF_INIT;
	const char *body;
	size_t len;
	int64_t expires_in = 0;
	char *tok = NULL;
	int attempt, ret = -1;

	if (c->kind == BQ_CRED_METADATA) {
		if (buf_printf(&url,
			       "%s/instance/service-accounts/default/token",
			       c->metadata_root) < 0)
			goto too_long;
		req.url = buf_str(&url);
		req.headers = md_headers;
	} else {
		req.url = c->token_uri;
		req.headers = form_headers;
		req.method = "POST";
		req.body = form->data;
		req.body_len = form->len;
	}
	req.max_body_bytes = 1 << 20;
	for (attempt = 0; attempt < 3; attempt++) {
		http_xfer_free(x);
		x = NULL;
		if (http_do(&x, h, &req, err) < 0)
			goto done;
		if (http_xfer_net_err(x) == HTTP_NET_OK &&
		    http_xfer_status(x) < 500)
			break;
	}
	if (http_xfer_net_err(x) != HTTP_NET_OK) {
		err_set(err, ERR_STORE, 0,
			"cannot reach the %s for a bigquery token: %s",
			c->kind == BQ_CRED_METADATA ? "metadata server"
						    : "token endpoint",
			http_xfer_errmsg(x));
		goto done;
	}
	body = http_xfer_body(x, &len);
	if (bq_token_parse(body, len, http_xfer_status(x), &tok, &expires_in,
			   err) < 0) {
		err_prefix(err, "cannot get a bigquery token for '%s'",
			   c->source);
		goto done;
	}
	if (c->token) {
		memset(c->token, 0, strlen(c->token));
		free(c->token);
	}
	c->token = tok;
	c->expires_at = clock_wall_s() + expires_in;
	ret = 0;
	goto done;
too_long:
	err_set(err, ERR_STORE, 0, "token request too long");
done:
	http_xfer_free(x);
	buf_release(&url);
	return ret;
}

int bq_token_fetch(struct bq_cred *c, struct http *h, struct err *err)
{
	struct buf form = BUF_INIT, jwt = BUF_INIT;
	int rc = 0, ret = -1;

	if (c->kind == BQ_CRED_SERVICE_ACCOUNT) {
		if (bq_jwt_make(&jwt, c, clock_wall_s(), err) < 0)
			goto done;
		rc |= buf_puts(&form, "grant_type=urn%3Aietf%3Aparams%3Aoauth"
				      "%3Agrant-type%3Ajwt-bearer&assertion=");
		rc |= form_escape(&form, buf_str(&jwt));
	} else if (c->kind == BQ_CRED_USER) {
		rc |= buf_puts(&form, "grant_type=refresh_token&client_id=");
		rc |= form_escape(&form, c->client_id);
		rc |= buf_puts(&form, "&client_secret=");
		rc |= form_escape(&form, c->client_secret);
		rc |= buf_puts(&form, "&refresh_token=");
		rc |= form_escape(&form, c->refresh_token);
	}
	if (rc) {
		err_set(err, ERR_STORE, 0, "token request too long");
		goto done;
	}
	ret = token_request(c, h, &form, err);
done:
	if (form.data)
		memset(form.data, 0, form.len);
	buf_release(&form);
	buf_release(&jwt);
	return ret;
}

const char *bq_cred_email(struct bq_cred *c, struct http *h)
{
	static const char *const md_headers[] = {"Metadata-Flavor: Google",
						 NULL};
	struct http_get req = HTTP_GET_INIT;
	struct http_xfer *x = NULL;
	struct buf url = BUF_INIT;
	struct err e = ERR_INIT;

	if (c->email || c->kind != BQ_CRED_METADATA)
		return c->email;
	if (buf_printf(&url, "%s/instance/service-accounts/default/email",
		       c->metadata_root) == 0) {
		req.url = buf_str(&url);
		req.headers = md_headers;
		req.max_body_bytes = 4096;
		if (http_do(&x, h, &req, &e) == 0 &&
		    http_xfer_net_err(x) == HTTP_NET_OK &&
		    http_xfer_status(x) == 200)
			c->email = xstrdup(http_xfer_body(x, NULL));
	}
	http_xfer_free(x);
	buf_release(&url);
	return c->email;
}
