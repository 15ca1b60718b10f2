/* The store registry: picks a backend by the store URL's scheme and opens
 * it; also redacts URLs so a password never reaches a message, and holds
 * the helpers every backend shares. */
#include "store/store.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/clock.h"
#include "util/jsonw.h"
#include "util/xalloc.h"
#include "util/banned.h"

static const char *const run_status_names[] = {
    [RUN_RUNNING] = "running",
    [RUN_COMPLETE] = "complete",
    [RUN_PARTIAL] = "partial",
    [RUN_FAILED] = "failed",
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
	if (host && *host && !strcmp(host, here) && pid > 0 && pid <= INT32_MAX &&
	    kill((pid_t)pid, 0) < 0 && errno == ESRCH)
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
