/* The generated ActiveCampaign account: contacts with list memberships,
 * tags and custom field values, campaigns with per-contact open, click,
 * bounce and unsubscribe rows (v1 report semantics: one row per contact,
 * tstamp of the first event, `times` counting them), and time advance that
 * adds late-arriving events and changes, deletes and creates contacts. */
#include "ac_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"
#include "util/banned.h"

#define DAY 86400

const char *const ac_list_names[AC_N_LISTS] = {"Newsletter", "Customers",
					       "Webinar Leads"};
const char *const ac_list_stringids[AC_N_LISTS] = {"newsletter", "customers",
						   "webinar-leads"};
const char *const ac_tag_names[AC_N_TAGS] = {
    "vip", "customer", "lead", "webinar", "solar", "heat-pump"};
const struct ac_field ac_fields[AC_N_FIELDS] = {
    {1, "Company", "COMPANY", "text"},	 {2, "City", "CITY", "text"},
    {3, "Birthday", "BIRTHDAY", "date"}, {4, "Plan", "PLAN", "dropdown"},
    {5, "Notes", "NOTES", "textarea"},
};

static const char *const first_names[] = {
    "James", "Mary",  "Robert", "Patricia", "John",   "Jennifer", "Michael",
    "Linda", "David", "Maria",	"William",  "Sophie", "José",	  "Zoë"};
static const char *const last_names[] = {
    "Smith",  "Johnson", "Williams", "Brown",  "Jones",	  "Garcia",
    "Miller", "Davis",	 "Martinez", "Nguyen", "O'Brien", "Müller"};
static const char *const companies[] = {"Acme Solar", "Prairie Energy",
					"Lakeside Homes", "Windy City Co-op"};
static const char *const cities[] = {"Chicago", "Naperville", "Evanston",
				     "Springfield", "Madison"};
static const char *const plans[] = {"Basic", "Pro", "Enterprise"};
static const char *const subjects[] = {
    "Energy Savings Newsletter", "Solar Rebates Update", "Heat Pump Offer",
    "Winter Efficiency Tips",	 "Webinar Invitation",	 "Customer Survey"};

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

static char *fmt(const char *f, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, f);
	if (buf_vprintf(&b, f, ap) < 0)
		BUG("string too long");
	va_end(ap);
	return buf_detach(&b, NULL);
}

static const char *pick(struct rng *r, const char *const *v, size_t n)
{
	return v[rng_below(r, (uint32_t)n)];
}

#define PICK(r, v) pick((r), (v), sizeof(v) / sizeof((v)[0]))

/* No event lands in a repeated (fall-back) local hour, so naive wall
 * times always name one instant. */
static int64_t fix_time(const struct ac_account *a, int64_t t)
{
	if (!ac_tz_is_ambiguous(&a->tz, t))
		return t;
	if (t + 7200 <= a->now && !ac_tz_is_ambiguous(&a->tz, t + 7200))
		return t + 7200;
	while (ac_tz_is_ambiguous(&a->tz, t))
		t -= 3600;
	return t;
}

static char *field_value(struct rng *r, int k, int variant)
{
	switch (k) {
	case 0:
		return xstrdup(PICK(r, companies));
	case 1:
		return xstrdup(PICK(r, cities));
	case 2:
		return fmt("%04u-%02u-%02u", 1950 + rng_below(r, 55),
			   1 + rng_below(r, 12), 1 + rng_below(r, 28));
	case 3:
		return xstrdup(PICK(r, plans));
	default:
		if (variant % 5 == 0)
			return xstrdup("Call after 5pm, \"urgent\"\nline 2");
		return fmt("note %u", rng_below(r, 1000));
	}
}

/* "jose.42@example.com"; every seventh address has capitals. */
static char *make_email(const char *first, long id)
{
	struct buf b = BUF_INIT;
	const char *p;
	int rc = 0;

	for (p = first; *p; p++)
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
			rc |= buf_putc(
			    &b, (char)(id % 7 == 3 || *p > 'Z' ? *p : *p + 32));
	rc |= buf_printf(&b, ".%ld@%s", id,
			 id % 7 == 3 ? "Example.COM" : "example.com");
	if (rc < 0)
		BUG("email address too long");
	return buf_detach(&b, NULL);
}

static void set_val(struct ac_contact *c, int k, char *v)
{
	free(c->vals[k]);
	c->vals[k] = v;
}

static uint32_t add_contact(struct ac_account *a, int64_t cdate)
{
	struct ac_contact *c;
	long i;
	int k;

	if (a->n_contacts == a->cap_contacts) {
		a->cap_contacts = a->cap_contacts ? a->cap_contacts * 2 : 256;
		a->contacts = xrealloc(a->contacts,
				       a->cap_contacts * sizeof(*a->contacts));
	}
	c = &a->contacts[a->n_contacts];
	memset(c, 0, sizeof(*c));
	c->id = a->next_contact_id;
	a->next_contact_id +=
	    1 + (rng_pct(&a->rng, 10) ? rng_below(&a->rng, 4) : 0);
	i = c->id;
	c->first = xstrdup(PICK(&a->rng, first_names));
	c->last = rng_pct(&a->rng, 8) ? xstrdup("")
				      : xstrdup(PICK(&a->rng, last_names));
	c->email = make_email(c->first, i);
	c->phone = rng_pct(&a->rng, 40)
		       ? xstrdup("")
		       : fmt("+1 312 555 %04u", rng_below(&a->rng, 10000));
	c->cdate = cdate;
	c->updated = cdate;
	if (rng_pct(&a->rng, 30))
		c->updated =
		    cdate + rng_below(&a->rng, (uint32_t)(a->now - cdate + 1));
	c->deleted_at = -1;
	c->bounced_date = -1;
	c->order_key = rng_mix((uint64_t)i, 0x5eed);
	for (k = 0; k < AC_N_LISTS; k++) {
		static const double join[AC_N_LISTS] = {80, 40, 25};

		if (!rng_pct(&a->rng, join[k]) && !(k == 0 && i % 3 == 0))
			continue;
		c->lstat[k] = rng_pct(&a->rng, 8) ? ACL_UNSUB : ACL_ACTIVE;
		c->lsdate[k] = cdate;
		c->ludate[k] = cdate;
	}
	for (k = 0; k < AC_N_TAGS; k++)
		if (rng_pct(&a->rng, 20))
			c->tags |= 1u << k;
	c->tag_cdate = cdate;
	for (k = 0; k < AC_N_FIELDS; k++) {
		uint32_t u = rng_below(&a->rng, 10);

		if (u < 2)
			continue; /* no value row */
		c->vals[k] =
		    u == 2 ? xstrdup("") : field_value(&a->rng, k, (int)i);
	}
	return (uint32_t)a->n_contacts++;
}

long ac_find_contact(const struct ac_account *a, long id)
{
	size_t lo = 0, hi = a->n_contacts;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (a->contacts[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < a->n_contacts && a->contacts[lo].id == id ? (long)lo : -1;
}

long ac_find_campaign(const struct ac_account *a, long id)
{
	size_t i;

	for (i = 0; i < a->n_camps; i++)
		if (a->camps[i].id == id)
			return (long)i;
	return -1;
}

static int ev_cmp(const void *x, const void *y)
{
	const struct ac_event *p = x, *q = y;

	if (p->t != q->t)
		return p->t < q->t ? -1 : 1;
	if (p->contact != q->contact)
		return p->contact < q->contact ? -1 : 1;
	return (int)p->link - (int)q->link;
}

static void recount(struct ac_campaign *c)
{
	struct ac_counts *n = &c->cnt;
	size_t i;

	memset(n, 0, sizeof(*n));
	for (i = 0; i < c->ev[AEV_OPEN].n; i++)
		n->opens += c->ev[AEV_OPEN].v[i].times;
	n->uniqueopens = (long)c->ev[AEV_OPEN].n;
	for (i = 0; i < c->ev[AEV_CLICK].n; i++)
		n->linkclicks += c->ev[AEV_CLICK].v[i].times;
	for (i = 0; i < c->n_rcpt; i++)
		if (c->flags[i] >= AC_F_CLICK0)
			n->uniquelinkclicks++;
	for (i = 0; i < c->ev[AEV_BOUNCE].n; i++) {
		if (c->ev[AEV_BOUNCE].v[i].hard)
			n->hardbounces++;
		else
			n->softbounces++;
	}
	n->unsubscribes = (long)c->ev[AEV_UNSUB].n;
}

static void sort_events(struct ac_campaign *c)
{
	int k;

	for (k = 0; k < AEV_N; k++)
		if (c->ev[k].n > 1)
			qsort(c->ev[k].v, c->ev[k].n, sizeof(struct ac_event),
			      ev_cmp);
	recount(c);
}

/* Records one event of recipient pos and applies it to the contact. */
static void add_event(struct ac_account *a, struct ac_campaign *c,
		      enum ac_ev_type type, size_t pos, int64_t t, int link,
		      int hard, int times)
{
	struct ac_events *e = &c->ev[type];
	struct ac_event *v;
	struct ac_contact *ct = &a->contacts[c->rcpt[pos]];

	t = fix_time(a, t);
	if (e->n == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 16;
		e->v = xrealloc(e->v, e->cap * sizeof(*e->v));
	}
	v = &e->v[e->n++];
	memset(v, 0, sizeof(*v));
	v->t = t;
	v->contact = c->rcpt[pos];
	v->times = (uint16_t)times;
	v->link = (uint8_t)link;
	v->hard = (uint8_t)hard;
	if (type == AEV_OPEN) {
		c->flags[pos] |= AC_F_OPEN;
	} else if (type == AEV_CLICK) {
		c->flags[pos] |= (uint8_t)(AC_F_CLICK0 << link);
	} else if (type == AEV_BOUNCE) {
		v->id = a->next_bounce_id++;
		c->flags[pos] |= AC_F_BOUNCE;
		if (hard) {
			ct->bounced_hard++;
			ct->lstat[c->list] = ACL_BOUNCED;
			ct->ludate[c->list] = t;
		} else {
			ct->bounced_soft++;
		}
		ct->bounced_date = t;
		if (t > ct->updated)
			ct->updated = t;
	} else {
		c->flags[pos] |= AC_F_UNSUB;
		ct->lstat[c->list] = ACL_UNSUB;
		ct->ludate[c->list] = t;
		ct->lunsub_campaign[c->list] = c->id;
		if (t > ct->updated)
			ct->updated = t;
	}
}

/* The events of one recipient after the send, up to now. */
static void gen_recipient(struct ac_account *a, struct ac_campaign *c,
			  size_t pos)
{
	struct rng *r = &a->rng;
	int64_t t0, t;
	int k;

	if (rng_pct(r, 3)) {
		add_event(a, c, AEV_BOUNCE, pos,
			  c->sdate + 60 + rng_below(r, 3600), 0, rng_pct(r, 60),
			  1);
		return;
	}
	if (!rng_pct(r, 45))
		return;
	t0 = c->sdate + 120 + (int64_t)(rng_unit(r) * rng_unit(r) * 3 * DAY);
	if (t0 > a->now)
		return;
	add_event(a, c, AEV_OPEN, pos, t0, 0, 0,
		  1 + (rng_pct(r, 25) ? 1 + (int)rng_below(r, 3) : 0));
	if (rng_pct(r, 30)) {
		k = (int)rng_below(r, (uint32_t)c->n_links);
		t = t0 + 5 + rng_below(r, 900);
		if (t <= a->now)
			add_event(a, c, AEV_CLICK, pos, t, k, 0,
				  1 + rng_pct(r, 20));
		if (c->n_links > 1 && rng_pct(r, 20)) {
			k = (k + 1) % c->n_links;
			t += 30 + rng_below(r, 600);
			if (t <= a->now)
				add_event(a, c, AEV_CLICK, pos, t, k, 0, 1);
		}
	}
	t = t0 + 30 + rng_below(r, 3600);
	if (rng_pct(r, 2) && t <= a->now)
		add_event(a, c, AEV_UNSUB, pos, t, 0, 0, 1);
}

static void send_campaign(struct ac_account *a, struct ac_campaign *c)
{
	size_t i, pos;
	int64_t last = c->sdate + 3600;
	int k;

	c->rcpt = xmalloc((a->n_contacts + 1) * sizeof(*c->rcpt));
	for (i = 0; i < a->n_contacts; i++) {
		const struct ac_contact *ct = &a->contacts[i];

		if (ct->lstat[c->list] == ACL_ACTIVE && ct->cdate < c->sdate &&
		    ct->deleted_at < 0)
			c->rcpt[c->n_rcpt++] = (uint32_t)i;
	}
	c->flags = xcalloc(c->n_rcpt + 1, 1);
	for (pos = 0; pos < c->n_rcpt; pos++)
		gen_recipient(a, c, pos);
	sort_events(c);
	for (k = 0; k < AEV_N; k++)
		if (c->ev[k].n && c->ev[k].v[c->ev[k].n - 1].t > last)
			last = c->ev[k].v[c->ev[k].n - 1].t;
	c->updated = last < a->now ? last : a->now;
}

/* Automation emails: status "1", an automation id, sent to every active
 * member of list 1 since 40 days ago and to each new one as it joins
 * (send_amt grows). Their own generator keeps the other campaigns as
 * they were without them. */
static void add_automations(struct ac_account *a, const struct ac_options *opt,
			    long id)
{
	struct rng saved = a->rng;
	int i, k;

	rng_init(&a->rng, rng_mix(opt->seed, 0xA7));
	for (i = 0; i < opt->n_automations; i++) {
		struct ac_campaign *c = &a->camps[a->n_camps++];

		c->id = id + 1 + i;
		c->message_id = 100 + c->id;
		c->automation = 130 + 2 * i;
		c->list = 0;
		c->name = fmt("Welcome series email %d", i + 1);
		c->sdate = a->now - 40 * DAY + i * 3600;
		c->cdate = c->sdate - 2 * DAY;
		c->mdate = c->cdate + 600;
		c->n_links = 1;
		c->link_id[0] = c->id * 10 + 1;
		c->link_url[0] =
		    fmt("https://www.example.com/welcome?a=%ld", c->automation);
		for (k = 1; k < AC_MAX_LINKS; k++)
			c->link_id[k] = 0;
		send_campaign(a, c);
	}
	a->rng = saved;
}

/* A contact that joined list 1 after an automation's start gets it. */
static void automation_join(struct ac_account *a, uint32_t ci)
{
	size_t i;

	for (i = 0; i < a->n_camps; i++) {
		struct ac_campaign *c = &a->camps[i];

		if (!c->automation ||
		    a->contacts[ci].lstat[c->list] != ACL_ACTIVE)
			continue;
		c->rcpt = xrealloc(c->rcpt, (c->n_rcpt + 1) * sizeof(*c->rcpt));
		c->flags = xrealloc(c->flags, c->n_rcpt + 1);
		c->rcpt[c->n_rcpt] = ci;
		c->flags[c->n_rcpt] = 0;
		c->n_rcpt++;
		c->updated = a->now;
	}
}

struct ac_account *ac_account_new(const struct ac_options *opt,
				  const struct ac_tz *tz)
{
	struct ac_account *a = xcalloc(1, sizeof(*a));
	int64_t start, span, change;
	long id = 0;
	int i, n = opt->n_campaigns, best = -1;

	a->tz = *tz;
	a->now = opt->now;
	a->is_live = opt->is_live;
	rng_init(&a->rng, rng_mix(opt->seed, 0xAC));
	a->next_contact_id = 1;
	a->next_bounce_id = 1;
	a->lists_cdate = a->now - 500 * DAY;
	for (i = 0; i < opt->n_contacts; i++)
		add_contact(a, a->now - 400 * DAY +
				   (int64_t)400 * DAY * i / opt->n_contacts +
				   rng_below(&a->rng, 3600));
	a->camps =
	    xcalloc((size_t)(n + opt->n_automations) + 1, sizeof(*a->camps));
	a->n_camps = (size_t)n;
	start = a->now - 120 * DAY;
	span = 119 * DAY;
	for (i = 0; i < n; i++) {
		struct ac_campaign *c = &a->camps[i];
		int k;

		id += 1 + (rng_pct(&a->rng, 20) ? rng_below(&a->rng, 3) : 0);
		c->id = id;
		c->message_id = 100 + id;
		c->list = i % 4 == 3 ? 1 : 0;
		c->is_draft = i % 6 == 2;
		c->draft_style = (i / 6) % 2;
		c->name = fmt("%s #%d", PICK(&a->rng, subjects), i + 1);
		c->sdate = start + span * (2 * i + 1) / (2 * n) +
			   rng_below(&a->rng, 6 * 3600);
		c->n_links = 1 + (int)rng_below(&a->rng, AC_MAX_LINKS);
		for (k = 0; k < c->n_links; k++) {
			c->link_id[k] = id * 10 + k + 1;
			c->link_url[k] =
			    fmt("https://www.example.com/%s?utm_campaign=c%ld",
				k == 0	 ? "solar"
				: k == 1 ? "heat-pumps"
					 : "rebates",
				id);
		}
		if (!c->is_draft &&
		    (best < 0 ||
		     llabs(c->sdate - (start + span / 2)) <
			 llabs(a->camps[best].sdate - (start + span / 2))))
			best = i;
	}
	/* One sent campaign goes out 6 hours before the window's DST change,
	 * so its events straddle it. */
	change = ac_tz_next_change(&a->tz, start, a->now - DAY);
	if (change > 0 && best >= 0) {
		int64_t ds = DAY * 1000, d;

		for (i = 0; i < n; i++) {
			d = llabs(a->camps[i].sdate - change);
			if (!a->camps[i].is_draft && d < ds) {
				ds = d;
				best = i;
			}
		}
		a->camps[best].sdate = change - 6 * 3600;
	}
	for (i = 0; i < n; i++) {
		struct ac_campaign *c = &a->camps[i];

		c->cdate = c->sdate - DAY - rng_below(&a->rng, 5 * DAY);
		c->mdate = c->cdate + rng_below(&a->rng, 3600);
		if (c->is_draft) {
			c->sdate = -1;
			c->updated = c->mdate;
			c->flags = xcalloc(1, 1);
			continue;
		}
		send_campaign(a, c);
	}
	add_automations(a, opt, id);
	return a;
}

static void free_contact(struct ac_contact *c)
{
	int k;

	free(c->email);
	free(c->first);
	free(c->last);
	free(c->phone);
	for (k = 0; k < AC_N_FIELDS; k++)
		free(c->vals[k]);
}

void ac_account_free(struct ac_account *a)
{
	size_t i;
	int k;

	if (!a)
		return;
	for (i = 0; i < a->n_contacts; i++)
		free_contact(&a->contacts[i]);
	free(a->contacts);
	for (i = 0; i < a->n_camps; i++) {
		struct ac_campaign *c = &a->camps[i];

		free(c->name);
		for (k = 0; k < c->n_links; k++)
			free(c->link_url[k]);
		free(c->rcpt);
		free(c->flags);
		for (k = 0; k < AEV_N; k++)
			free(c->ev[k].v);
	}
	free(a->camps);
	free(a);
}

/* A uniform instant in [lo, hi]. */
static int64_t between(struct rng *r, int64_t lo, int64_t hi)
{
	if (hi <= lo)
		return lo;
	return lo + (int64_t)(rng_unit(r) * (double)(hi - lo + 1));
}

static long advance_campaign(struct ac_account *a, struct ac_campaign *c,
			     int64_t old, double frac)
{
	struct rng *r = &a->rng;
	int64_t lo = old - 1800 > c->sdate ? old - 1800 : c->sdate + 1;
	size_t pos, before = 0, after = 0;
	int k;

	for (k = 0; k < AEV_N; k++)
		before += c->ev[k].n;
	for (pos = 0; pos < c->n_rcpt; pos++) {
		uint8_t f = c->flags[pos];

		if (a->contacts[c->rcpt[pos]].deleted_at >= 0 ||
		    (f & (AC_F_BOUNCE | AC_F_UNSUB)))
			continue;
		if (!(f & AC_F_OPEN)) {
			if (rng_pct(r, 15 * frac))
				add_event(a, c, AEV_OPEN, pos,
					  between(r, lo, a->now), 0, 0, 1);
			else if (rng_pct(r, 0.5 * frac))
				add_event(a, c, AEV_BOUNCE, pos,
					  between(r, lo, a->now), 0, 0, 1);
			continue;
		}
		if (f < AC_F_CLICK0 && rng_pct(r, 8 * frac))
			add_event(a, c, AEV_CLICK, pos, between(r, lo, a->now),
				  (int)rng_below(r, (uint32_t)c->n_links), 0,
				  1);
		if (rng_pct(r, 1 * frac))
			add_event(a, c, AEV_UNSUB, pos, between(r, lo, a->now),
				  0, 0, 1);
	}
	for (k = 0; k < AEV_N; k++)
		after += c->ev[k].n;
	return (long)(after - before);
}

/* An event timestamped just before the advance started that the API did
 * not show yet (reports are live and late). */
static long late_arrival(struct ac_account *a, int64_t old)
{
	struct ac_campaign *c = NULL;
	size_t i, pos;
	int64_t back;

	for (i = 0; i < a->n_camps; i++)
		if (!a->camps[i].is_draft && a->camps[i].sdate < old - 60 &&
		    (!c || a->camps[i].sdate > c->sdate))
			c = &a->camps[i];
	if (!c)
		return 0;
	back = old - c->sdate - 1 < 1800 ? old - c->sdate - 1 : 1800;
	for (pos = 0; pos < c->n_rcpt; pos++) {
		if (c->flags[pos] || a->contacts[c->rcpt[pos]].deleted_at >= 0)
			continue;
		add_event(a, c, AEV_OPEN, pos,
			  old - 1 - rng_below(&a->rng, (uint32_t)back), 0, 0,
			  1);
		sort_events(c);
		c->updated = a->now;
		return 1;
	}
	return 0;
}

/* A random live contact, or -1. */
static long live_contact(struct ac_account *a)
{
	int tries;

	for (tries = 0; tries < 50 && a->n_contacts; tries++) {
		long i = rng_below(&a->rng, (uint32_t)a->n_contacts);

		if (a->contacts[i].deleted_at < 0)
			return i;
	}
	return -1;
}

static void change_contact(struct ac_account *a, struct ac_contact *c,
			   int64_t t)
{
	struct rng *r = &a->rng;
	int k;

	switch (rng_below(r, 5)) {
	case 0:
		free(c->first);
		c->first = xstrdup(PICK(r, first_names));
		break;
	case 1:
		free(c->phone);
		c->phone = fmt("+1 773 555 %04u", rng_below(r, 10000));
		break;
	case 2:
		k = (int)rng_below(r, AC_N_FIELDS);
		set_val(c, k, field_value(r, k, (int)rng_below(r, 10)));
		break;
	case 3:
		c->tags ^= 1u << rng_below(r, AC_N_TAGS);
		c->tag_cdate = t;
		break;
	default:
		k = (int)rng_below(r, AC_N_LISTS);
		if (c->lstat[k] == ACL_NONE)
			c->lsdate[k] = t;
		c->lstat[k] =
		    c->lstat[k] == ACL_ACTIVE ? ACL_UNSUB : ACL_ACTIVE;
		c->ludate[k] = t;
		c->lunsub_campaign[k] = 0;
	}
	c->updated = t;
}

int ac_account_advance(struct ac_account *a, int64_t seconds,
		       struct ac_advance_result *out)
{
	int64_t old = a->now;
	double frac;
	size_t i;
	long n, j;

	memset(out, 0, sizeof(*out));
	if (seconds <= 0)
		return -1;
	a->now += seconds;
	frac = seconds >= DAY ? 1.0 : (double)seconds / DAY;
	for (i = 0; i < a->n_camps; i++) {
		struct ac_campaign *c = &a->camps[i];
		long added;

		if (c->is_draft ||
		    (c->sdate < old - 30 * DAY && !c->automation))
			continue;
		added = advance_campaign(a, c, old, frac);
		out->new_events += added;
		if (added) {
			sort_events(c);
			c->updated = a->now;
		}
	}
	out->new_events += late_arrival(a, old);
	n = 1 + (long)((double)a->n_contacts * 0.02 * frac);
	for (j = 0; j < n; j++) {
		long c = live_contact(a);

		if (c < 0)
			break;
		change_contact(a, &a->contacts[c],
			       between(&a->rng, old + 1, a->now));
		out->updated_contacts++;
	}
	n = seconds >= 3600 ? 1 + (long)((double)a->n_contacts * 0.002 * frac)
			    : 0;
	for (j = 0; j < n; j++) {
		long c = live_contact(a);

		if (c < 0)
			break;
		a->contacts[c].deleted_at = between(&a->rng, old + 1, a->now);
		out->deleted_contacts++;
	}
	n = 1 + (long)((double)a->n_contacts * 0.01 * frac);
	for (j = 0; j < n; j++)
		automation_join(
		    a, add_contact(a, between(&a->rng, old + 1, a->now)));
	out->new_contacts = n;
	return 0;
}
