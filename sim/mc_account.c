/* The generated Mailchimp account: audiences with members (statuses, merge
 * fields, up to 60 tags, bulk imports sharing one last_changed second),
 * campaigns with per-recipient opens, clicks, bounces, unsubscribes and
 * abuse reports, and time advance that sends a draft, adds (partly late)
 * events, and changes, archives, creates and permanently deletes members. */
#include "mc_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define DAY 86400
#define LATE 300 /* advance: events up to 5 min before the old now */

const char *const mc_status_names[MS_N] = {"subscribed",    "unsubscribed",
					   "cleaned",	    "pending",
					   "transactional", "archived"};
const char *const mc_action_names[MA_N] = {"open", "click", "bounce",
					   "unsubscribe", "abuse"};
const char *const mc_tag_names[MC_N_TAGS] = {
    "vip", "customer", "lead", "webinar",    "solar", "heat-pump", "t07", "t08",
    "t09", "t10",      "t11",  "t12",	     "t13",   "t14",	   "t15", "t16",
    "t17", "t18",      "t19",  "t20",	     "t21",   "t22",	   "t23", "t24",
    "t25", "t26",      "t27",  "t28",	     "t29",   "t30",	   "t31", "t32",
    "t33", "t34",      "t35",  "t36",	     "t37",   "t38",	   "t39", "t40",
    "t41", "t42",      "t43",  "t44",	     "t45",   "t46",	   "t47", "t48",
    "t49", "t50",      "t51",  "t52",	     "t53",   "t54",	   "t55", "t56",
    "t57", "t58",      "t59",  "Ünïcode tag"};

static const char *const first_names[] = {
    "James", "Mary",  "Robert", "Patricia", "John",   "Jennifer", "Michael",
    "Linda", "David", "Maria",	"William",  "Sophie", "José",	  "Zoë"};
static const char *const last_names[] = {
    "Smith",  "Johnson", "Williams", "Brown",  "Jones",	  "Garcia",
    "Miller", "Davis",	 "Martinez", "Nguyen", "O'Brien", "Müller"};
static const char *const cities[] = {"Chicago", "Naperville", "Evanston",
				     "Springfield", "Madison"};
static const char *const list_names[MC_N_LISTS_MAX] = {
    "Newsletter", "Customers", "Webinar Leads", "Partners"};
static const char *const subjects[] = {
    "Energy Savings Newsletter", "Solar Rebates Update", "Heat Pump Offer",
    "Winter Efficiency Tips",	 "Webinar Invitation",	 "Customer Survey"};

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

static char *fmt(const char *f, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	int rc;

	va_start(ap, f);
	rc = buf_vprintf(&b, f, ap);
	va_end(ap);
	if (rc < 0)
		BUG("string too long");
	return buf_detach(&b, NULL);
}

#define PICK(r, v) ((v)[rng_below((r), sizeof(v) / sizeof((v)[0]))])

static void hex_id(struct rng *r, char *out, int n)
{
	static const char hex[] = "0123456789abcdef";
	int i;

	for (i = 0; i < n; i++)
		out[i] = hex[rng_below(r, 16)];
	out[n] = '\0';
}

static int64_t between(struct rng *r, int64_t lo, int64_t hi)
{
	return hi <= lo ? lo : lo + (int64_t)rng_below(r, (uint32_t)(hi - lo));
}

static struct mc_member *new_member(struct mc_account *a, int list, int64_t opt)
{
	struct rng *r = &a->rng;
	struct mc_member *m;
	char *lower;
	size_t i, n;
	int k;

	if (a->n_members == a->cap_members) {
		a->cap_members = a->cap_members ? a->cap_members * 2 : 256;
		a->members =
		    xrealloc(a->members, a->cap_members * sizeof(*a->members));
	}
	n = a->n_members++;
	m = &a->members[n];
	memset(m, 0, sizeof(*m));
	m->list = list;
	m->fname = xstrdup(PICK(r, first_names));
	m->lname = xstrdup(rng_pct(r, 10) ? "" : PICK(r, last_names));
	m->email = fmt(n % 9 == 4 ? "%s.Member%zu@Example.COM"
				  : "%s.member%zu@example.com",
		       n % 5 ? "pat" : "jo", n);
	lower = xstrdup(m->email);
	for (i = 0; lower[i]; i++)
		if (lower[i] >= 'A' && lower[i] <= 'Z')
			lower[i] = (char)(lower[i] - 'A' + 'a');
	md5_hex(lower, strlen(lower), m->id);
	free(lower);
	hex_id(r, m->unique_email_id, 10);
	hex_id(r, m->contact_id, 32);
	m->phone = rng_pct(r, 40) ? xstrdup("")
				  : fmt("+1 312 555 %04u", rng_below(r, 10000));
	m->city = xstrdup(PICK(r, cities));
	m->has_address = rng_pct(r, 50);
	m->web_id = a->next_web_id++;
	m->status = MS_SUBSCRIBED;
	m->opt = opt;
	m->signup = rng_pct(r, 50) ? -1 : opt - between(r, 60, 86400);
	m->last_changed = opt;
	m->deleted_at = -1;
	m->order_key = rng_next(r);
	if (n % 40 == 7) {
		/* More tags than a member row shows. */
		for (k = 0; k < 51 + (int)rng_below(r, 9); k++)
			m->tags |= (uint64_t)1 << k;
	} else if (rng_pct(r, 30)) {
		for (k = 0; k < 1 + (int)rng_below(r, 3); k++)
			m->tags |= (uint64_t)1 << rng_below(r, 6);
	}
	return m;
}

static void gen_members(struct mc_account *a, int list, int n)
{
	struct rng *r = &a->rng;
	int64_t t0 = a->lists[list].created, bulk = t0 + 3600;
	int i;

	for (i = 0; i < n; i++) {
		/* A third arrive in one bulk import: one shared second. */
		int is_bulk = i < n / 3;
		struct mc_member *m = new_member(
		    a, list,
		    is_bulk ? bulk : between(r, bulk + 60, a->now - 7 * DAY));
		unsigned u = rng_below(r, 100);

		if (u < 5)
			m->status = MS_UNSUBSCRIBED;
		else if (u < 9)
			m->status = MS_PENDING;
		else if (u < 11)
			m->status = MS_TRANSACTIONAL;
		else if (u < 15)
			m->status = MS_ARCHIVED;
		if (!is_bulk && rng_pct(r, 30))
			m->last_changed = between(r, m->opt, a->now - DAY);
	}
}

static int ev_cmp(const void *x, const void *y)
{
	const struct mc_event *a = x, *b = y;

	if (a->pos != b->pos)
		return a->pos < b->pos ? -1 : 1;
	if (a->t != b->t)
		return a->t < b->t ? -1 : 1;
	return a->action < b->action ? -1 : a->action > b->action;
}

static void index_events(struct mc_campaign *c)
{
	size_t i, p = 0;

	qsort(c->ev, c->n_ev, sizeof(*c->ev), ev_cmp);
	free(c->ev_start);
	c->ev_start = xcalloc(c->n_rcpt + 1, sizeof(size_t));
	for (i = 0; i <= c->n_rcpt; i++) {
		while (p < c->n_ev && c->ev[p].pos < i)
			p++;
		c->ev_start[i] = p;
	}
}

/* 1 when recipient pos already has an event of this action at t (the
 * natural key a client can rebuild: member, action, second, url). */
static int has_event(const struct mc_campaign *c, uint32_t pos, int action,
		     int64_t t, int link)
{
	size_t i;

	for (i = 0; i < c->n_ev; i++)
		if (c->ev[i].pos == pos && c->ev[i].action == action &&
		    (c->ev[i].t == t ||
		     (action == MA_UNSUB || action == MA_ABUSE)) &&
		    (action != MA_CLICK || c->ev[i].link == link))
			return 1;
	return 0;
}

/* Records one event and applies it to the member; 0 when it is dropped
 * (later than max_t or a duplicate). */
static int add_event(struct mc_account *a, struct mc_campaign *c, uint32_t pos,
		     int action, int64_t t, int64_t max_t, int link, int hard,
		     int64_t min_changed, int check)
{
	struct mc_member *m = &a->members[c->rcpt[pos]];
	struct mc_event *e;

	if (t > max_t || (check && has_event(c, pos, action, t, link)))
		return 0;
	if (c->n_ev == c->cap_ev) {
		c->cap_ev = c->cap_ev ? c->cap_ev * 2 : 64;
		c->ev = xrealloc(c->ev, c->cap_ev * sizeof(*c->ev));
	}
	e = &c->ev[c->n_ev++];
	memset(e, 0, sizeof(*e));
	e->t = t;
	e->pos = pos;
	e->action = (uint8_t)action;
	e->link = (uint8_t)link;
	e->hard = (uint8_t)hard;
	if (action == MA_ABUSE)
		e->id = a->next_abuse_id++;
	if ((action == MA_BOUNCE && hard) || action == MA_UNSUB) {
		m->status = action == MA_UNSUB ? MS_UNSUBSCRIBED : MS_CLEANED;
		if (t < min_changed)
			t = min_changed;
		if (t > m->last_changed)
			m->last_changed = t;
	}
	return 1;
}

/* The engagement of one recipient, from `from` on, no event after max_t;
 * scale f < 1 makes everything rarer (advance). */
static int engage(struct mc_account *a, struct mc_campaign *c, uint32_t pos,
		  int64_t from, int64_t max_t, double f, int64_t min_changed,
		  int check)
{
	struct rng *r = &a->rng;
	int64_t t;
	int n = 0, k;

	if (rng_pct(r, 3 * f)) {
		int hard = rng_pct(r, 60) && f >= 1;

		return add_event(a, c, pos, MA_BOUNCE,
				 from + between(r, 5, 600), max_t, 0, hard,
				 min_changed, check);
	}
	if (!rng_pct(r, 40 * f))
		return 0;
	t = from + between(r, 4, f >= 1 ? 3 * DAY : max_t - from + 1);
	if (!add_event(a, c, pos, MA_OPEN, t, max_t, 0, 0, min_changed, check))
		return 0;
	n++;
	if (rng_pct(r, 25))
		n += add_event(a, c, pos, MA_OPEN, t + between(r, 60, DAY),
			       max_t, 0, 0, min_changed, check);
	if (rng_pct(r, 30)) {
		k = (int)rng_below(r, (uint32_t)c->n_links);
		n += add_event(a, c, pos, MA_CLICK, t + between(r, 2, 300),
			       max_t, k, 0, min_changed, check);
		if (rng_pct(r, 20))
			n += add_event(
			    a, c, pos, MA_CLICK, t + between(r, 301, 900),
			    max_t, (k + 1) % c->n_links, 0, min_changed, check);
	}
	if (rng_pct(r, 2))
		n += add_event(a, c, pos, MA_UNSUB, t + between(r, 30, 600),
			       max_t, 0, 0, min_changed, check);
	else if (rng_pct(r, 0.5))
		n += add_event(a, c, pos, MA_ABUSE, t + between(r, 30, 600),
			       max_t, 0, 0, min_changed, check);
	return n;
}

/* Sends campaign c at t: its recipients are the list's live subscribed
 * members that opted in before t. */
static long send_campaign(struct mc_account *a, struct mc_campaign *c,
			  int64_t t, int64_t max_t, int64_t min_changed)
{
	size_t i, n = 0;
	long events = 0;

	c->is_draft = 0;
	c->send_time = t;
	c->rcpt = xmalloc((a->n_members + 1) * sizeof(*c->rcpt));
	for (i = 0; i < a->n_members; i++) {
		const struct mc_member *m = &a->members[i];

		if (m->list == c->list && m->status == MS_SUBSCRIBED &&
		    m->deleted_at < 0 && m->opt < t)
			c->rcpt[n++] = (uint32_t)i;
	}
	c->n_rcpt = n;
	for (i = 0; i < n; i++)
		events +=
		    engage(a, c, (uint32_t)i, t, max_t, 1, min_changed, 0);
	index_events(c);
	return events;
}

static struct mc_campaign *new_campaign(struct mc_account *a, int64_t created)
{
	struct rng *r = &a->rng;
	struct mc_campaign *c;
	int k;

	if (a->n_camps == a->cap_camps) {
		a->cap_camps = a->cap_camps ? a->cap_camps * 2 : 16;
		a->camps = xrealloc(a->camps, a->cap_camps * sizeof(*a->camps));
	}
	c = &a->camps[a->n_camps];
	memset(c, 0, sizeof(*c));
	hex_id(r, c->id, 10);
	c->web_id = a->next_web_id++;
	c->subject = xstrdup(PICK(r, subjects));
	c->title = fmt("%s #%zu", c->subject, a->n_camps + 1);
	c->list = (int)(a->n_camps % (size_t)a->n_lists);
	c->is_draft = 1;
	c->create_time = created;
	c->send_time = -1;
	c->n_links = 1 + (int)rng_below(r, MC_MAX_LINKS);
	for (k = 0; k < c->n_links; k++)
		c->link_url[k] =
		    fmt("https://example.com/%s/%d?utm=mc", c->id, k + 1);
	c->ev_start = xcalloc(1, sizeof(size_t));
	a->n_camps++;
	return c;
}

struct mc_account *mc_account_new(const struct mc_options *opt)
{
	struct mc_account *a = xcalloc(1, sizeof(*a));
	int l, i, n_c = opt->n_campaigns;

	a->now = opt->now;
	rng_init(&a->rng, rng_mix(opt->seed, 0x6d63));
	a->next_web_id = 100001;
	a->next_abuse_id = 501;
	a->n_lists = opt->n_lists;
	for (l = 0; l < a->n_lists; l++) {
		hex_id(&a->rng, a->lists[l].id, 10);
		a->lists[l].web_id = a->next_web_id++;
		a->lists[l].name = xstrdup(list_names[l]);
		a->lists[l].created = a->now - 400 * DAY + l * DAY;
		gen_members(a, l, opt->n_contacts);
	}
	/* Campaigns created over the 120 days before now, in order; about
	 * one in six stays a draft; sending 1-3 days after creation. */
	for (i = 0; i < n_c; i++) {
		int64_t created = a->now - 120 * DAY +
				  (int64_t)i * 115 * DAY / (n_c ? n_c : 1);
		struct mc_campaign *c = new_campaign(a, created);

		if (i % 6 != 5)
			send_campaign(a, c,
				      created + between(&a->rng, DAY, 3 * DAY),
				      a->now - 2, 0);
	}
	return a;
}

void mc_account_free(struct mc_account *a)
{
	size_t i;
	int k;

	if (!a)
		return;
	for (i = 0; i < a->n_members; i++) {
		struct mc_member *m = &a->members[i];

		free(m->email);
		free(m->fname);
		free(m->lname);
		free(m->phone);
		free(m->city);
	}
	for (i = 0; i < a->n_camps; i++) {
		struct mc_campaign *c = &a->camps[i];

		free(c->title);
		free(c->subject);
		for (k = 0; k < c->n_links; k++)
			free(c->link_url[k]);
		free(c->rcpt);
		free(c->ev);
		free(c->ev_start);
	}
	for (k = 0; k < a->n_lists; k++)
		free(a->lists[k].name);
	free(a->members);
	free(a->camps);
	free(a);
}

void mc_counts(const struct mc_account *a, const struct mc_campaign *c,
	       struct mc_counts *n)
{
	size_t p, i;
	int k;

	(void)a;
	memset(n, 0, sizeof(*n));
	n->last_open = n->last_click = -1;
	for (k = 0; k < MC_MAX_LINKS; k++)
		n->link_last[k] = -1;
	for (p = 0; p < c->n_rcpt; p++) {
		int opened = 0, clicked = 0, link_seen[MC_MAX_LINKS] = {0};

		for (i = c->ev_start[p]; i < c->ev_start[p + 1]; i++) {
			const struct mc_event *e = &c->ev[i];

			switch (e->action) {
			case MA_OPEN:
				n->opens++;
				opened = 1;
				if (e->t > n->last_open)
					n->last_open = e->t;
				break;
			case MA_CLICK:
				n->clicks++;
				clicked = 1;
				n->link_total[e->link]++;
				n->link_unique[e->link] += !link_seen[e->link];
				link_seen[e->link] = 1;
				if (e->t > n->last_click)
					n->last_click = e->t;
				if (e->t > n->link_last[e->link])
					n->link_last[e->link] = e->t;
				break;
			case MA_BOUNCE:
				if (e->hard)
					n->hard++;
				else
					n->soft++;
				break;
			case MA_UNSUB:
				n->unsub++;
				break;
			default:
				n->abuse++;
			}
		}
		n->unique_opens += opened;
		n->unique_clicks += clicked;
	}
}

long mc_find_campaign(const struct mc_account *a, const char *id)
{
	size_t i;

	for (i = 0; i < a->n_camps; i++)
		if (!strcmp(a->camps[i].id, id))
			return (long)i;
	return -1;
}

int mc_find_list(const struct mc_account *a, const char *id)
{
	int l;

	for (l = 0; l < a->n_lists; l++)
		if (!strcmp(a->lists[l].id, id))
			return l;
	return -1;
}

long mc_find_member(const struct mc_account *a, int list, const char *hash)
{
	size_t i;

	for (i = 0; i < a->n_members; i++)
		if (a->members[i].list == list &&
		    a->members[i].deleted_at < 0 &&
		    !strcmp(a->members[i].id, hash))
			return (long)i;
	return -1;
}

/* A random live member of any status, or NULL. */
static struct mc_member *pick_member(struct mc_account *a)
{
	int tries;

	for (tries = 0; tries < 50 && a->n_members; tries++) {
		struct mc_member *m =
		    &a->members[rng_below(&a->rng, (uint32_t)a->n_members)];

		if (m->deleted_at < 0)
			return m;
	}
	return NULL;
}

static void change_member(struct mc_account *a, struct mc_member *m, int64_t t,
			  int is_tags_silent)
{
	struct rng *r = &a->rng;
	unsigned u = rng_below(r, 5);

	if (u == 0) {
		free(m->fname);
		m->fname = xstrdup(PICK(r, first_names));
	} else if (u == 1 && m->status == MS_SUBSCRIBED) {
		m->status = MS_UNSUBSCRIBED;
	} else if (u == 2) {
		/* Archive, or unarchive (which moves last_changed too). */
		m->status =
		    m->status == MS_ARCHIVED ? MS_SUBSCRIBED : MS_ARCHIVED;
	} else if (u == 3) {
		m->tags ^= (uint64_t)1 << rng_below(r, 6);
		if (is_tags_silent)
			return;
	} else {
		free(m->phone);
		m->phone = fmt("+1 773 555 %04u", rng_below(r, 10000));
	}
	m->last_changed = t;
}

void mc_account_advance(struct mc_account *a, int64_t seconds,
			int is_tags_silent, struct mc_advance_result *out)
{
	struct rng *r = &a->rng;
	int64_t old = a->now, lo, hi;
	double f = seconds >= DAY ? 1.0 : (double)seconds / DAY;
	size_t i, n_live = 0, newest = (size_t)-1;
	long k, n;

	memset(out, 0, sizeof(*out));
	a->now += seconds;
	/* Member changes fall in (old now, new now - 2 s]. */
	lo = old + 1;
	hi = a->now - 2 > lo ? a->now - 2 : lo;
	for (i = 0; i < a->n_members; i++)
		n_live += a->members[i].deleted_at < 0;
	if (seconds >= 3600) {
		for (i = 0; i < a->n_camps && !a->camps[i].is_draft; i++)
			;
		if (i < a->n_camps) {
			struct mc_campaign *c = &a->camps[i];

			/* created before the old now, sent inside the window */
			out->new_events += send_campaign(a, c, lo + 60, hi, lo);
			out->sent_campaigns++;
		}
		new_campaign(a, between(r, lo, hi));
	}
	for (i = 0; i < a->n_camps; i++) {
		struct mc_campaign *c = &a->camps[i];
		size_t p;

		if (c->is_draft || c->send_time < old - 30 * DAY ||
		    c->send_time >= lo)
			continue;
		newest = i;
		for (p = 0; p < c->n_rcpt; p++) {
			int64_t from = between(r, old - LATE, hi);

			if (a->members[c->rcpt[p]].deleted_at >= 0 ||
			    c->ev_start[p] != c->ev_start[p + 1])
				continue;
			out->new_events +=
			    engage(a, c, (uint32_t)p, from, hi, f * 0.4, lo, 1);
		}
	}
	if (newest != (size_t)-1 && a->camps[newest].n_rcpt) {
		/* A late open: before the old now. */
		struct mc_campaign *c = &a->camps[newest];
		uint32_t p = rng_below(r, (uint32_t)c->n_rcpt);

		if (a->members[c->rcpt[p]].deleted_at < 0)
			out->new_events += add_event(a, c, p, MA_OPEN,
						     old - between(r, 1, LATE),
						     hi, 0, 0, lo, 1);
	}
	for (i = 0; i < a->n_camps; i++)
		if (!a->camps[i].is_draft)
			index_events(&a->camps[i]);
	n = 1 + (long)(0.02 * f * (double)n_live);
	for (k = 0; k < n; k++) {
		struct mc_member *m = pick_member(a);

		if (m) {
			change_member(a, m, between(r, lo, hi), is_tags_silent);
			out->updated_members++;
		}
	}
	n = 1 + (long)(0.01 * f * (double)n_live);
	for (k = 0; k < n; k++) {
		new_member(a, (int)(k % a->n_lists), between(r, lo, hi));
		out->new_members++;
	}
	if (seconds >= 3600) {
		n = 1 + (long)(0.002 * f * (double)n_live);
		for (k = 0; k < n; k++) {
			struct mc_member *m = pick_member(a);

			if (m) {
				m->deleted_at = between(r, lo, hi);
				out->deleted_members++;
			}
		}
	}
}
