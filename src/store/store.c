/* The store registry: picks a backend by the store URL's scheme and opens
 * it; also redacts URLs so a password never reaches a message, and holds
 * the helpers every backend shares. */
#include "store/store.h"

#include <errno.h>
#include <ctype.h>
#include <inttypes.h>
#include <signal.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/clock.h"
#include "util/jsonw.h"
#include "util/num.h"
#include "util/xalloc.h"
#include "util/banned.h"

static const char *const run_status_names[] = {
    [RUN_RUNNING] = "running",	       [RUN_COMPLETE] = "complete",
    [RUN_PARTIAL] = "partial",	       [RUN_FAILED] = "failed",
    [RUN_INTERRUPTED] = "interrupted",
};

const unsigned store_participant_flags[STORE_PARTICIPANT_FLAGS] = {
    ENG_SENT,	 ENG_OPENED,	 ENG_CLICKED,
    ENG_BOUNCED, ENG_COMPLAINED, ENG_UNSUBSCRIBED,
};

static int has_prefix(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

const char *store_option_get(const struct store_options *opts, const char *key,
			     const struct option_def *def)
{
	size_t i;

	for (i = 0; opts && i < opts->n_settings; i++)
		if (opts->settings[i].key &&
		    !strcmp(opts->settings[i].key, key))
			return opts->settings[i].value;
	return def ? def->def : NULL;
}

int64_t store_option_int(const struct store_options *opts,
			 const struct option_def *def, int64_t dflt)
{
	const char *v = store_option_get(opts, def->key, def);
	int64_t n;

	if (!v || num_parse_i64(v, &n) < 0)
		return dflt;
	return n;
}

int store_open(struct store **out, const char *url, struct err *err)
{
	return store_open_with(out, url, NULL, err);
}

/* "A, B or C" from every backend's url_help; -1 past out's maximum. */
static int backends_help(struct buf *out)
{
	size_t i;
	int rc = 0;

	for (i = 0; store_backends[i]; i++) {
		if (i)
			rc |= buf_puts(out,
				       store_backends[i + 1] ? ", " : " or ");
		rc |= buf_puts(out, store_backends[i]->keys->url_help);
	}
	return rc;
}

int store_open_with(struct store **out, const char *url,
		    const struct store_options *opts, struct err *err)
{
	const struct store_backend *be = store_backend_for(url);
	struct buf expected = BUF_INIT;
	char *safe = NULL;
	int ret = -1;

	*out = NULL;
	if (!url || !*url) {
		err_set(err, ERR_CONFIG, 0, "no store url given");
		goto done;
	}
	if (be) {
		ret = be->ops->open(out, url, opts, err);
		goto done;
	}
	safe = store_redact_url(url);
	/* A list past its buffer's maximum is named, not shown cut. */
	err_set(err, ERR_CONFIG, 0, "unknown store '%s': expected %s", safe,
		backends_help(&expected) < 0 ? "a known store url"
					     : buf_str(&expected));
done:
	buf_release(&expected);
	free(safe);
	return ret;
}

void store_close(struct store *s)
{
	if (s)
		s->ops->close(s);
}

/* Appends text, replacing the value of any password=... query parameter. */
static int redact_query(struct buf *b, const char *s)
{
	int rc = 0;

	while (*s) {
		const char *amp = strchr(s, '&');
		size_t n = amp ? (size_t)(amp - s) + 1 : strlen(s);

		if (has_prefix(s, "password=")) {
			rc |= buf_puts(b, "password=***");
			if (amp)
				rc |= buf_putc(b, '&');
		} else {
			rc |= buf_append(b, s, n);
		}
		s += n;
	}
	return rc;
}

char *store_redact_url(const char *url)
{
	struct buf b = BUF_INIT;
	const char *scheme_end, *auth, *at, *colon, *q;
	int rc = 0;

	if (!url)
		return xstrdup("");
	scheme_end = strstr(url, "://");
	if (!scheme_end)
		return xstrdup(url);
	auth = scheme_end + 3;
	/* The last '@' ends the userinfo: a password may hold unescaped '@',
	 * '/' or '?'. Cutting too much is safe, too little is not. */
	at = strrchr(auth, '@');
	if (at) {
		colon = memchr(auth, ':', (size_t)(at - auth));
		if (colon) {
			rc |= buf_append(&b, url, (size_t)(colon - url) + 1);
			rc |= buf_puts(&b, "***");
			rc |= buf_puts(&b, at);
		} else {
			rc |= buf_puts(&b, url);
		}
	} else {
		rc |= buf_puts(&b, url);
	}
	q = rc ? NULL : strchr(buf_str(&b), '?');
	if (q) {
		char *rest = xstrdup(q + 1);

		b.len = (size_t)(q - b.data) + 1;
		b.data[b.len] = '\0';
		rc |= redact_query(&b, rest);
		free(rest);
	}
	if (rc) {
		/* A url with pieces missing would mislead the reader. */
		buf_release(&b);
		return xstrdup("(store url too long to show)");
	}
	return buf_detach(&b, NULL);
}

/* ---- secrets in driver messages ---------------------------------------- */

/* Pieces shorter than this are scrubbed only where they stand alone: "se"
 * of "se/cret" in `invalid integer value "se"`, not in "server". */
#define PIECE_ANYWHERE_LEN 4
#define SECRET_DELIMS "@/?#:"

static void secrets_add(struct store_secrets *sec, const char *p, size_t len,
			int is_piece)
{
	size_t i;

	if (!len)
		return;
	for (i = 0; i < sec->n; i++) {
		if (strlen(sec->v[i].text) == len &&
		    !memcmp(sec->v[i].text, p, len)) {
			if (!is_piece)
				sec->v[i].is_piece = 0;
			return;
		}
	}
	sec->v = xrealloc(sec->v, (sec->n + 1) * sizeof(*sec->v));
	sec->v[sec->n].text = xstrndup(p, len);
	sec->v[sec->n].is_piece = is_piece;
	sec->n++;
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* p[0..len) with each valid %XX decoded (a NUL stays encoded: a C string
 * cannot hold it, nor can a driver's message); others are kept. */
static char *pct_decode(const char *p, size_t len)
{
	char *out = xmalloc(len + 1);
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		int hi = p[i] == '%' && i + 2 < len ? hex_val(p[i + 1]) : -1;
		int lo = hi >= 0 ? hex_val(p[i + 2]) : -1;

		if (lo >= 0 && (hi | lo)) {
			out[n++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			out[n++] = p[i];
		}
	}
	out[n] = '\0';
	return out;
}

static void secrets_add_pieces(struct store_secrets *sec, const char *p,
			       size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t n = 0;

		while (i + n < len && !strchr(SECRET_DELIMS, p[i + n]))
			n++;
		if (n < len)
			secrets_add(sec, p + i, n, 1);
		i += n + 1;
	}
}

/* A secret as written, percent-decoded, and the pieces of both. */
static void secrets_add_all(struct store_secrets *sec, const char *p,
			    size_t len, int has_pieces)
{
	char *dec = pct_decode(p, len);

	secrets_add(sec, p, len, 0);
	secrets_add(sec, dec, strlen(dec), 0);
	if (has_pieces) {
		secrets_add_pieces(sec, p, len);
		secrets_add_pieces(sec, dec, strlen(dec));
	}
	free(dec);
}

static int by_length_desc(const void *a, const void *b)
{
	size_t la = strlen(((const struct store_secret *)a)->text);
	size_t lb = strlen(((const struct store_secret *)b)->text);

	return la < lb ? 1 : la > lb ? -1 : 0;
}

void store_secrets_init(struct store_secrets *sec, const char *url)
{
	const char *auth = url ? strstr(url, "://") : NULL, *at, *colon, *q;

	sec->v = NULL;
	sec->n = 0;
	if (!auth)
		return;
	auth += 3;
	at = strrchr(auth, '@');
	colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
	if (colon) {
		secrets_add_all(sec, auth, (size_t)(at - auth), 0);
		secrets_add_all(sec, colon + 1, (size_t)(at - colon - 1), 1);
	}
	for (q = strchr(auth, '?'); q; q = strchr(q, '&')) {
		size_t n;

		q++;
		n = strcspn(q, "&");
		if (has_prefix(q, "password="))
			secrets_add_all(sec, q + 9, n - 9, 1);
	}
	if (sec->n)
		qsort(sec->v, sec->n, sizeof(*sec->v), by_length_desc);
}

void store_secrets_release(struct store_secrets *sec)
{
	size_t i;

	for (i = 0; i < sec->n; i++)
		free(sec->v[i].text);
	free(sec->v);
	sec->v = NULL;
	sec->n = 0;
}

static int is_word_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* The length of the secret at msg (start is the message's start), or 0. */
static size_t secret_at(const struct store_secrets *sec, const char *start,
			const char *msg)
{
	size_t i, len;

	for (i = 0; sec && i < sec->n; i++) {
		len = strlen(sec->v[i].text);
		if (strncmp(msg, sec->v[i].text, len))
			continue;
		if (sec->v[i].is_piece && len < PIECE_ANYWHERE_LEN &&
		    ((msg > start && is_word_char(msg[-1])) ||
		     is_word_char(msg[len])))
			continue;
		return len;
	}
	return 0;
}

static int scrub(struct buf *out, const char *msg,
		 const struct store_secrets *sec)
{
	const char *start = msg;
	int rc = 0;

	while (*msg) {
		size_t n = secret_at(sec, start, msg);

		if (n) {
			rc |= buf_puts(out, "***");
			msg += n;
		} else {
			rc |= buf_putc(out, *msg++);
		}
	}
	return rc;
}

/* Runs of blanks and line breaks become one space; no blank, '.' at the
 * end; a capital first letter is lowered unless an acronym follows. */
static void tidy(struct buf *m)
{
	size_t i, n = 0;
	int space = 0;

	for (i = 0; i < m->len; i++) {
		char c = m->data[i];

		if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
			space = n > 0;
			continue;
		}
		if (space)
			m->data[n++] = ' ';
		space = 0;
		m->data[n++] = c;
	}
	while (n && (m->data[n - 1] == '.' || m->data[n - 1] == ' '))
		n--;
	m->len = n;
	m->data[n] = '\0';
	if (n && isupper((unsigned char)m->data[0]) &&
	    !(n > 1 && isupper((unsigned char)m->data[1])))
		m->data[0] = (char)tolower((unsigned char)m->data[0]);
}

void store_driver_msg(struct buf *out, const char *msg,
		      const struct store_secrets *sec)
{
	struct buf once = BUF_INIT;
	int rc;

	buf_reset(out);
	/* Scrubbed before tidying (a password may hold blanks) and after
	 * (tidying may join what a line break kept apart). */
	rc = scrub(&once, msg && *msg ? msg : "unknown error", sec);
	if (!rc) {
		tidy(&once);
		rc = scrub(out, once.len ? buf_str(&once) : "unknown error",
			   sec);
	}
	if (rc) {
		buf_reset(out);
		rc = buf_puts(out, "driver message too long to show");
	}
	if (rc)
		BUG("store: message buffer cannot hold a short note");
	buf_release(&once);
}

size_t store_id_spans(struct store_id_span out[STORE_ID_SPANS],
		      int64_t after_id, int64_t upto_id)
{
	int64_t lo = after_id < 0 ? 1 : after_id + 1, hi = upto_id;
	int64_t first = 1, last = 9; /* smallest and largest of L digits */
	size_t n = 0;
	int digits;

	if (after_id == INT64_MAX)
		return 0;
	if (lo < 1)
		lo = 1;
	for (digits = 1; digits <= STORE_ID_SPANS && lo <= hi; digits++) {
		int64_t a = lo > first ? lo : first;
		int64_t b = hi < last ? hi : last;

		if (a <= b) {
			out[n].digits = digits;
			snprintf(out[n].lo, sizeof(out[n].lo), "%" PRId64, a);
			snprintf(out[n].hi, sizeof(out[n].hi), "%" PRId64, b);
			n++;
		}
		if (digits < STORE_ID_SPANS) {
			first *= 10;
			last = last * 10 + 9;
		}
	}
	return n;
}

const char *store_run_status_name(enum run_status st)
{
	return (unsigned)st < RUN__COUNT ? run_status_names[st] : "failed";
}

/* A run still recorded as running whose process is gone is shown as what
 * the next sync will record it as: interrupted at its last heartbeat. */
static void present_dead_run(struct run_row *run)
{
	if (!store_run_is_dead(run, clock_wall_s()))
		return;
	run->status = RUN_INTERRUPTED;
	run->finished_at = run->heartbeat_at != TIME_NULL ? run->heartbeat_at
							  : run->started_at;
}

int store_run_last(struct store *s, const char *provider, struct run_row *out,
		   struct arena *arena, int *found, struct err *err)
{
	int rc = s->ops->run_newest(s, provider, NULL, out, arena, found, err);

	if (rc == 0 && *found)
		present_dead_run(out);
	return rc;
}

int store_run_last_status(struct store *s, const char *provider,
			  enum run_status status, struct run_row *out,
			  struct arena *arena, int *found, struct err *err)
{
	return s->ops->run_newest(s, provider,
				  (unsigned)status < RUN__COUNT
				      ? run_status_names[status]
				      : "unknown",
				  out, arena, found, err);
}

enum run_status store_run_status_parse(const char *name)
{
	int i;

	for (i = RUN_RUNNING; i < RUN__COUNT; i++)
		if (name && !strcmp(name, run_status_names[i]))
			return (enum run_status)i;
	return RUN_FAILED;
}

void store_host_name(char *out, size_t n)
{
	if (!n)
		return;
	if (gethostname(out, n) < 0)
		out[0] = '\0';
	out[n - 1] = '\0';
}

int store_holder_is_dead(const char *host, int64_t pid, int64_t heartbeat_at,
			 int64_t now)
{
	char here[128];

	store_host_name(here, sizeof(here));
	/* kill(pid, 0) fails with ESRCH only when no such process exists */
	if (host && *host && !strcmp(host, here) && pid > 0 &&
	    pid <= INT32_MAX && kill((pid_t)pid, 0) < 0 && errno == ESRCH)
		return 1;
	return heartbeat_at != TIME_NULL &&
	       now - heartbeat_at > STORE_HEARTBEAT_STALE_S;
}

int store_run_is_dead(const struct run_row *run, int64_t now)
{
	int64_t beat = run->heartbeat_at != TIME_NULL ? run->heartbeat_at
						      : run->started_at;

	return run->status == RUN_RUNNING &&
	       store_holder_is_dead(run->host, run->pid, beat, now);
}

int64_t store_time_or_now(int64_t t)
{
	return t == TIME_NULL || t == 0 ? clock_wall_s() : t;
}

int store_ids_json(struct buf *out, const char *const *ids, size_t n)
{
	size_t i;
	int rc = buf_putc(out, '[');

	for (i = 0; i < n; i++) {
		if (i)
			rc |= buf_putc(out, ',');
		rc |= jsonw_string(out, ids[i]);
	}
	return rc | buf_putc(out, ']');
}

void store_tags_init(struct store_tags *t, struct buf *out)
{
	t->out = out;
	buf_init(&t->seen, BUF_DEFAULT_MAX);
	t->n = 0;
	buf_reset(out);
	/* add keeps room for the closing bracket, so release cannot fail */
	if (out->max < 2 || buf_putc(out, '[') < 0 ||
	    buf_putc(&t->seen, '\n') < 0)
		BUG("store_tags: the output buffer cannot hold []");
}

/* Lists have tens of fields, so a linear search of seen is fine. */
int store_tags_add(struct store_tags *t, const char *tag)
{
	size_t len;
	const char *p;

	if (!tag || !*tag || strchr(tag, '\n'))
		return 0;
	len = strlen(tag);
	for (p = strstr(buf_str(&t->seen), tag); p; p = strstr(p + 1, tag))
		if (p[-1] == '\n' && p[len] == '\n')
			return 0;
	if ((t->n++ && buf_putc(t->out, ',') < 0) ||
	    jsonw_string(t->out, tag) < 0 || t->out->len >= t->out->max ||
	    buf_puts(&t->seen, tag) < 0 || buf_putc(&t->seen, '\n') < 0)
		return -1;
	return 0;
}

void store_tags_release(struct store_tags *t, int is_ok)
{
	int rc;

	if (is_ok) {
		rc = buf_putc(t->out, ']');
	} else {
		buf_reset(t->out);
		rc = buf_puts(t->out, "[]");
	}
	if (rc)
		BUG("store_tags: no room left for the closing bracket");
	buf_release(&t->seen);
}
