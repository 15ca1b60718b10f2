/* Retry decisions for every provider (see retry.h). Throttling has its own,
 * larger budget so a busy account does not turn into failed requests, and
 * its wait comes from the server when the server says how long. */
#include "core/retry.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/num.h"
#include "util/timeparse.h"
#include "util/banned.h"

uint64_t retry_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

int64_t retry_backoff_ms(const struct retry_policy *pol, int n, uint64_t *rng)
{
	int64_t base = pol->backoff_base_ms > 0 ? pol->backoff_base_ms : 1;
	int64_t max = pol->backoff_max_ms > base ? pol->backoff_max_ms : base;
	int64_t ceil = base;
	int i;

	for (i = 0; i < n && ceil < max; i++)
		ceil = ceil > max / 2 ? max : ceil * 2;
	if (ceil > max)
		ceil = max;
	return base + (int64_t)(retry_rand(rng) % (uint64_t)(ceil - base + 1));
}

static int is_throttle_status(const struct retry_policy *pol, long status)
{
	return status == 429 || (status == 503 && pol->is_503_throttle);
}

static int is_transient_status(long status)
{
	return status == 408 || (status >= 500 && status <= 599);
}

static int64_t throttle_wait(const struct retry_policy *pol,
			     const struct retry_state *st,
			     const struct retry_response *resp, uint64_t *rng)
{
	int64_t wait = resp->retry_after_ms;

	if (wait < 0)
		wait = retry_backoff_ms(pol, st->throttles, rng);
	if (pol->max_retry_after_ms > 0 && wait > pol->max_retry_after_ms)
		wait = pol->max_retry_after_ms;
	if (wait < pol->min_throttle_wait_ms)
		wait = pol->min_throttle_wait_ms;
	return wait;
}

void retry_decide(struct retry_decision *out, const struct retry_policy *pol,
		  struct retry_state *st, const struct retry_response *resp,
		  uint64_t *rng)
{
	long status = resp->status;
	int is_error = 0;

	out->action = RETRY_FINAL;
	out->is_throttle = 0;
	out->delay_ms = 0;
	st->attempts++;
	/* A permission 403 repeats; one between other failures is the
	 * intermittent kind (faults, throttling), so only a run of 403s in a
	 * row ends the request. */
	if (resp->net != RETRY_NET_NONE || status != 403)
		st->forbidden = 0;
	if (resp->net == RETRY_NET_FATAL)
		return;
	if (resp->net == RETRY_NET_NONE &&
	    (resp->is_throttle || is_throttle_status(pol, status))) {
		st->throttles++;
		out->is_throttle = 1;
		if (st->throttles < pol->max_throttle_attempts) {
			out->action = RETRY_AGAIN;
			out->delay_ms = throttle_wait(pol, st, resp, rng);
		}
		return;
	}
	if (resp->net == RETRY_NET_TRANSIENT || is_transient_status(status))
		is_error = 1;
	else if (status >= 200 && status <= 299)
		is_error = resp->is_body_unusable;
	else if (status == 403) {
		st->forbidden++;
		is_error = st->forbidden <= pol->retry_403_attempts;
	}
	if (!is_error)
		return;
	st->errors++;
	if (st->errors < pol->max_attempts) {
		out->action = RETRY_AGAIN;
		out->delay_ms = retry_backoff_ms(pol, st->errors, rng);
	}
}

static int month_index(const char *mon)
{
	static const char *const names[] = {"Jan", "Feb", "Mar", "Apr",
					    "May", "Jun", "Jul", "Aug",
					    "Sep", "Oct", "Nov", "Dec"};
	int i;

	for (i = 0; i < 12; i++)
		if (!strcasecmp(mon, names[i]))
			return i + 1;
	return -1;
}

struct hdate {
	char wd[16], mon[4], tz[4];
	int d, y, hh, mm, ss;
};

/* IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT" */
static int scan_imf(const char *s, struct hdate *t)
{
	int n = -1;

	return sscanf(s,
		      "%15[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d %3[A-Z]%n",
		      t->wd, &t->d, t->mon, &t->y, &t->hh, &t->mm, &t->ss,
		      t->tz, &n) == 8 &&
	       n > 0 && !s[n];
}

/* RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT" */
static int scan_rfc850(const char *s, struct hdate *t)
{
	int n = -1;

	if (sscanf(s, "%15[A-Za-z], %2d-%3[A-Za-z]-%2d %2d:%2d:%2d %3[A-Z]%n",
		   t->wd, &t->d, t->mon, &t->y, &t->hh, &t->mm, &t->ss, t->tz,
		   &n) != 8 ||
	    n < 0 || s[n])
		return 0;
	t->y += t->y < 70 ? 2000 : 1900;
	return 1;
}

/* asctime "Sun Nov  6 08:49:37 1994" */
static int scan_asctime(const char *s, struct hdate *t)
{
	int n = -1;

	memcpy(t->tz, "GMT", 4);
	return sscanf(s, "%15[A-Za-z] %3[A-Za-z] %2d %2d:%2d:%2d %4d%n", t->wd,
		      t->mon, &t->d, &t->hh, &t->mm, &t->ss, &t->y, &n) == 7 &&
	       n > 0 && !s[n];
}

/* The three date forms of RFC 9110 section 5.6.7 (GMT; "UTC" tolerated). */
static int parse_http_date(const char *s, int64_t *out_s)
{
	struct hdate t;
	int m;

	memset(&t, 0, sizeof(t));
	if (!scan_imf(s, &t) && !scan_rfc850(s, &t) && !scan_asctime(s, &t))
		return -1;
	m = month_index(t.mon);
	if (m < 0 || (strcmp(t.tz, "GMT") && strcmp(t.tz, "UTC")) || t.d < 1 ||
	    t.d > 31 || t.hh < 0 || t.hh > 23 || t.mm < 0 || t.mm > 59 ||
	    t.ss < 0 || t.ss > 60 || t.y < 1970)
		return -1;
	*out_s = time_days_from_civil(t.y, (unsigned)m, (unsigned)t.d) * 86400 +
		 t.hh * 3600 + t.mm * 60 + t.ss;
	return 0;
}

int retry_after_parse(const char *s, int64_t now_wall_s, int64_t *out_ms)
{
	double secs;
	int64_t at_s, ms;

	if (!s)
		return -1;
	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s)
		return -1;
	if (num_parse_double(s, &secs) == 0) {
		if (secs < 0 || secs > 1e15)
			return -1;
		if (secs >= 1e12) /* Unix time in milliseconds */
			ms = (int64_t)secs - now_wall_s * 1000;
		else if (secs >= 1e9) /* Unix time in seconds */
			ms = ((int64_t)secs - now_wall_s) * 1000;
		else
			ms = (int64_t)(secs * 1000.0 + 0.5);
	} else if (parse_http_date(s, &at_s) == 0) {
		ms = (at_s - now_wall_s) * 1000;
	} else {
		return -1;
	}
	*out_ms = ms > 0 ? ms : 0;
	return 0;
}
