/* Per-contact report rows of sent campaigns: the initial history and the new
 * events that advancing simulated time creates. Summary counters and link
 * counters are updated with every row, so they always match the rows. */
#include "account.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"
#include "util/banned.h"

#define DAY 86400

int row_cmp(const struct row *x, const struct row *y)
{
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	if (x->idh != y->idh)
		return x->idh < y->idh ? -1 : 1;
	if (x->idl != y->idl)
		return x->idl < y->idl ? -1 : 1;
	return 0;
}

static int row_qcmp(const void *x, const void *y)
{
	return row_cmp(x, y);
}

void account_sort_rows(struct rows *r, size_t from)
{
	if (r->n > from)
		qsort(r->v + from, r->n - from, sizeof(*r->v), row_qcmp);
}

void account_add_row(struct account *a, struct campaign *c, enum report_type rt,
		     int64_t t, uint32_t contact, int link, int hard)
{
	struct rows *rs = &c->rep[rt];
	struct summary *s = &c->sum;
	uint16_t *f = &c->flags[contact];
	struct row *r;

	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 64;
		rs->v = xrealloc(rs->v, rs->cap * sizeof(*rs->v));
	}
	r = &rs->v[rs->n++];
	memset(r, 0, sizeof(*r));
	r->t = t;
	rng_uuid(&a->rng, &r->idh, &r->idl);
	r->contact = contact;
	r->link = (uint8_t)link;
	r->hard = (uint8_t)hard;
	/* Rows past the plan's retention lose occurred_at: key absent or
	 * null, alternately. */
	if ((rt == RT_OPENED || rt == RT_CLICKED) &&
	    rng_pct(&a->rng, a->opt.missing_occurred_at_pct))
		r->occ = (a->missing_toggle++ % 2) ? OCC_NULL : OCC_ABSENT;
	switch (rt) {
	case RT_SENT:
		s->sent++;
		break;
	case RT_OPENED:
		s->opened_total++;
		if (!(*f & (1u << RT_OPENED)))
			s->opened_unique++;
		break;
	case RT_CLICKED:
		s->clicked_total++;
		if (!(*f & (1u << RT_CLICKED)))
			s->clicked_unique++;
		c->links[link].clicked_total++;
		if (!(*f & (1u << (FLAG_LINK0 + link))))
			c->links[link].clicked_unique++;
		*f |= (uint16_t)(1u << (FLAG_LINK0 + link));
		break;
	case RT_BOUNCED:
		if (hard)
			s->bounced_hard++;
		else
			s->bounced_soft++;
		break;
	case RT_COMPLAINED:
		s->complained++;
		break;
	case RT_UNSUBSCRIBED:
		s->unsubscribed++;
		break;
	default:
		BUG("stored report type expected");
	}
	*f |= (uint16_t)(1u << rt);
}

/* Time from delivery to an open: minutes for most, days for a few. */
static int64_t open_delay(struct rng *r)
{
	double u = rng_unit(r);

	return 30 + (int64_t)(u * u * u * 4 * DAY);
}

static void unsubscribe(struct account *a, struct campaign *c, uint32_t ci,
			int64_t t)
{
	struct contact *ct = &a->contacts[ci];

	account_add_row(a, c, RT_UNSUBSCRIBED, t, ci, 0, 0);
	ct->status = CS_UNSUBSCRIBED;
	if (ct->last_updated_at < t)
		ct->last_updated_at = t;
}

static void recipient_events(struct account *a, struct campaign *c, uint32_t ci,
			     int64_t st)
{
	struct rng *r = &a->rng;
	int64_t now = a->now, t, tc;
	int extra;

	if (rng_pct(r, 3)) {
		t = st + 1 + rng_below(r, 300);
		if (t <= now)
			account_add_row(a, c, RT_BOUNCED, t, ci, 0,
					rng_pct(r, 60));
		return;
	}
	if (rng_pct(r, 40)) {
		t = st + open_delay(r);
		if (t <= now) {
			account_add_row(a, c, RT_OPENED, t, ci, 0, 0);
			if (rng_pct(r, 30)) {
				tc = t + 5 + rng_below(r, 900);
				if (tc <= now)
					account_add_row(
					    a, c, RT_CLICKED, tc, ci,
					    (int)rng_below(
						r, (uint32_t)c->n_links),
					    0);
				if (rng_pct(r, 20)) {
					tc += 10 + rng_below(r, DAY);
					if (tc <= now)
						account_add_row(
						    a, c, RT_CLICKED, tc, ci,
						    (int)rng_below(
							r,
							(uint32_t)c->n_links),
						    0);
				}
			}
			extra = rng_pct(r, 25) ? 1 + (int)rng_below(r, 3) : 0;
			while (extra-- > 0) {
				t += 60 + open_delay(r);
				if (t <= now)
					account_add_row(a, c, RT_OPENED, t, ci,
							0, 0);
			}
		}
	}
	if (rng_pct(r, 0.5)) {
		t = st + open_delay(r);
		if (t <= now)
			account_add_row(a, c, RT_COMPLAINED, t, ci, 0, 0);
	}
	if (rng_pct(r, 1)) {
		t = st + open_delay(r);
		if (t <= now)
			unsubscribe(a, c, ci, t);
	}
}

/* Recipients: subscribed contacts of the `to` lists, deduplicated by
 * person (email); the contact is the first subscribed membership found in
 * `to` order. A sending campaign has reached 60% of them so far. */
void account_generate_events(struct account *a, struct campaign *c)
{
	uint8_t *seen = xcalloc(a->n_persons + 1, 1);
	uint32_t *rcpt = xcalloc(a->n_contacts + 1, sizeof(*rcpt));
	size_t n = 0, i, k;
	int j;

	for (j = 0; j < c->n_to; j++) {
		const struct list *l = &a->lists[c->to[j]];

		for (i = 0; i < l->n_members; i++) {
			const struct contact *ct = &a->contacts[l->members[i]];

			if (ct->status != CS_SUBSCRIBED ||
			    ct->created_at > c->sent_at || seen[ct->person])
				continue;
			seen[ct->person] = 1;
			rcpt[n++] = l->members[i];
		}
	}
	if (c->status == CAMP_SENDING)
		n = n * 6 / 10;
	for (i = 0; i < n; i++) {
		int64_t st = c->sent_at + 1 + (int64_t)(i / 200);

		if (st > a->now)
			st = a->now;
		account_add_row(a, c, RT_SENT, st, rcpt[i], 0, 0);
		recipient_events(a, c, rcpt[i], st);
	}
	for (k = 0; k < RT_STORED; k++)
		account_sort_rows(&c->rep[k], 0);
	free(seen);
	free(rcpt);
}

/* A random recipient (sent row) of c for which want(flags) holds, or -1. */
static long pick_recipient(struct account *a, const struct campaign *c,
			   uint16_t must_have, uint16_t must_not)
{
	const struct rows *s = &c->rep[RT_SENT];
	size_t start, i;

	if (s->n == 0)
		return -1;
	start = rng_below(&a->rng, (uint32_t)s->n);
	for (i = 0; i < s->n; i++) {
		uint32_t ci = s->v[(start + i) % s->n].contact;
		uint16_t f = c->flags[ci];

		if ((f & must_have) == must_have && !(f & must_not))
			return (long)ci;
	}
	return -1;
}

static int64_t in_window(struct account *a, int64_t from, int64_t to)
{
	return from + 1 + rng_below(&a->rng, (uint32_t)(to - from));
}

static long advance_campaign(struct account *a, struct campaign *c,
			     int64_t from, int64_t to, long *updated)
{
	const uint16_t opened = 1u << RT_OPENED, bounced = 1u << RT_BOUNCED;
	const uint16_t unsub = 1u << RT_UNSUBSCRIBED;
	size_t before[RT_STORED];
	long n_new = 0, ci;
	int k, n_opens, i;

	for (k = 0; k < RT_STORED; k++)
		before[k] = c->rep[k].n;
	n_opens = 1 + (int)rng_below(&a->rng, 4) +
		  (int)((to - from) / 600 > 20 ? 20 : (to - from) / 600);
	for (i = 0; i < n_opens; i++) {
		int64_t t = in_window(a, from, to);

		if (rng_pct(&a->rng, 60))
			ci = pick_recipient(a, c, 0, opened | bounced);
		else
			ci = pick_recipient(a, c, opened, 0);
		if (ci < 0)
			continue;
		account_add_row(a, c, RT_OPENED, t, (uint32_t)ci, 0, 0);
		n_new++;
		if (rng_pct(&a->rng, 40)) {
			int64_t tc = t + (int64_t)rng_below(
					     &a->rng, (uint32_t)(to - t + 1));

			account_add_row(
			    a, c, RT_CLICKED, tc, (uint32_t)ci,
			    (int)rng_below(&a->rng, (uint32_t)c->n_links), 0);
			n_new++;
		}
	}
	if (rng_pct(&a->rng, 40)) {
		ci = pick_recipient(a, c, 0, unsub | bounced);
		if (ci >= 0) {
			unsubscribe(a, c, (uint32_t)ci, in_window(a, from, to));
			n_new++;
			(*updated)++;
		}
	}
	for (k = 0; k < RT_STORED; k++)
		account_sort_rows(&c->rep[k], before[k]);
	return n_new;
}

static void update_contact(struct account *a, uint32_t ci, int64_t t)
{
	static const char *const new_cities[][2] = {{"Dublin", "43017"},
						    {"Westerville", "43081"},
						    {"Mentor", "44060"},
						    {"Strongsville", "44136"}};
	struct contact *c = &a->contacts[ci];
	uint32_t v = rng_below(&a->rng, 4);
	char tmp[32];

	if (rng_pct(&a->rng, 50)) {
		free(c->vals[2]);
		free(c->vals[3]);
		c->vals[2] = xstrdup(new_cities[v][0]);
		c->vals[3] = xstrdup(new_cities[v][1]);
	} else {
		free(c->vals[4]);
		snprintf(tmp, sizeof(tmp), "%u",
			 6000 + rng_below(&a->rng, 14000));
		c->vals[4] = xstrdup(tmp);
	}
	if (c->last_updated_at < t)
		c->last_updated_at = t;
}

int account_advance(struct account *a, int64_t seconds,
		    struct advance_result *out)
{
	int64_t from = a->now, to;
	size_t n_rep = 0, i;
	struct campaign **rep;
	int k, n;

	memset(out, 0, sizeof(*out));
	if (seconds <= 0 || seconds > 10LL * 365 * DAY)
		return -1;
	to = from + seconds;
	a->now = to;
	rep = xcalloc(a->n_camps + 1, sizeof(*rep));
	for (i = 0; i < a->n_camps; i++)
		if (account_has_reports(&a->camps[i]))
			rep[n_rep++] = &a->camps[i];
	/* Distinct campaigns: each sorts only the rows it appended. */
	n = n_rep < 3 ? (int)n_rep : 3;
	for (k = 0; k < n; k++) {
		size_t j = (size_t)k +
			   rng_below(&a->rng, (uint32_t)(n_rep - (size_t)k));
		struct campaign *c = rep[j];

		rep[j] = rep[k];
		rep[k] = c;
		out->new_events +=
		    advance_campaign(a, c, from, to, &out->updated_contacts);
	}
	free(rep);
	n = 1 + (int)rng_below(&a->rng, 3);
	for (k = 0; k < n && a->n_contacts > 0; k++) {
		update_contact(a, rng_below(&a->rng, (uint32_t)a->n_contacts),
			       in_window(a, from, to));
		out->updated_contacts++;
	}
	for (k = 0; k < 2; k++) {
		uint32_t list = rng_below(&a->rng, (uint32_t)a->n_lists);
		uint32_t p = account_new_person(a);
		int64_t t = in_window(a, from, to);
		uint32_t ci = account_add_contact(a, list, p, CS_SUBSCRIBED, t);

		a->contacts[ci].last_updated_at = t;
		out->updated_contacts++;
	}
	return 0;
}
