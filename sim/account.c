/* Generates the simulated account (lists, people, per-list contacts,
 * campaigns) deterministically from the seed, and answers lookups. Report
 * rows are made in events.c, the ground truth in truth.c. */
#include "account.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "simtime.h"
#include "util/jsonw.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define DAY 86400

static const char *const interests[] = {
    "EV charging", "Heat pumps", "Insulation", "Smart thermostats", "Solar"};

/* Field order as in the earlier tool's data; the first list adds three
 * fields of the other types. */
static const struct field_def all_fields[] = {
    {"FirstName", "First name", FT_TEXT, "Friend", NULL, 0},
    {"LastName", "Last name", FT_TEXT, NULL, NULL, 0},
    {"City", "City", FT_TEXT, "your area", NULL, 0},
    {"ZIP", "ZIP code", FT_TEXT, NULL, NULL, 0},
    {"kWh", "Annual usage (kWh)", FT_TEXT, NULL, NULL, 0},
    {"Cell", "Cell phone", FT_TEXT, NULL, NULL, 0},
    {"Address", "Street address", FT_TEXT, NULL, NULL, 0},
    {"annualcost", "Annual cost", FT_TEXT, NULL, NULL, 0},
    {"AnnualSavings", "Annual savings", FT_TEXT, NULL, NULL, 0},
    {"MonthlyCost", "Monthly cost", FT_TEXT, NULL, NULL, 0},
    {"MonthlySaving", "Monthly saving", FT_TEXT, NULL, NULL, 0},
    {"DailyCost", "Daily cost", FT_TEXT, NULL, NULL, 0},
    {"Birthday", "Birthday", FT_DATE, NULL, NULL, 0},
    {"HouseholdSize", "Household size", FT_NUMBER, NULL, NULL, 0},
    {"Interests", "Interests", FT_CHOICE_MULTIPLE, NULL, interests, 5},
};
#define N_COMMON_FIELDS 12
#define N_FIRST_FIELDS 15

static const char *const list_names[] = {
    "Newsletter",	"Customers",	    "Solar leads",
    "Webinar signups",	"Referral program", "Commercial accounts",
    "Energy audit 2025"};
static const char *const tag_sets[][4] = {
    {"customer", "solar-lead", "vip", NULL},
    {"lead", "webinar", NULL, NULL},
    {"2024-import", "referral", "vip", NULL},
    {"commercial", "priority", NULL, NULL},
};

static const char *const first_names[] = {
    "James",   "Mary",	"John",	   "Patricia",	"Robert",  "Jennifer",
    "Michael", "Linda", "William", "Elizabeth", "David",   "Barbara",
    "Richard", "Susan", "Joseph",  "Jessica",	"Thomas",  "Sarah",
    "Charles", "Karen", "Daniel",  "Nancy",	"Matthew", "Lisa",
    "Anthony", "Betty", "Mark",	   "Margaret",	"José",	   "Zoë"};
static const char *const last_names[] = {
    "Smith",  "Johnson",  "Williams",  "Brown",	   "Jones",	"Garcia",
    "Miller", "Davis",	  "Rodriguez", "Martinez", "Hernandez", "Lopez",
    "Wilson", "Anderson", "Thomas",    "Taylor",   "Moore",	"Jackson",
    "Martin", "Lee",	  "Perez",     "Thompson", "White",	"Harris",
    "Clark",  "Lewis",	  "Robinson",  "Walker",   "Young",	"O'Neil"};
static const char *const cities[][2] = {
    {"Columbus", "43215"},   {"Cleveland", "44114"},
    {"Cincinnati", "45202"}, {"Toledo", "43604"},
    {"Akron", "44308"},	     {"Dayton", "45402"},
    {"Parma", "44129"},	     {"Canton", "44702"},
    {"Youngstown", "44503"}, {"Lorain", "44052"},
    {"Hamilton", "45011"},   {"Springfield", "45502"},
    {"Kettering", "45429"},  {"Elyria", "44035"},
    {"Lakewood", "44107"},   {"Cuyahoga Falls", "44221"}};
static const char *const streets[] = {"Main", "Oak",	    "Maple", "Cedar",
				      "Elm",  "Washington", "Lake",  "Hill",
				      "Park", "Walnut",	    "High",  "Broad"};
static const char *const street_kinds[] = {"St", "Ave", "Rd", "Blvd", "Dr"};
static const char *const domains[] = {"example.com", "example.org",
				      "example.net", "mail.example.com"};
static const char *const hostile_vals[] = {
    "=HYPERLINK(\"http://evil.example\",\"click\")", "+1 555 0100",
    "-2+3+cmd|' /C calc'!A0", "@SUM(1,2)", "O'Brien, \"Jr\"\nSuite 5, Floor 2"};
static const char *const months[] = {
    "January", "February", "March",	"April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December"};
static const char *const topics[] = {
    "Energy Savings Newsletter", "Solar Incentives Update",
    "Winter Heating Tips", "Your Savings Report", "Community Solar Invite"};

#define NELEM(x) (sizeof(x) / sizeof((x)[0]))

static char *xprintf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static char *xprintf(const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	if (buf_vprintf(&b, fmt, ap) < 0)
		BUG("string too long");
	va_end(ap);
	return buf_detach(&b, NULL);
}

/* "$6,674.70" */
static char *money(long cents)
{
	long d = cents / 100;

	if (d >= 1000)
		return xprintf("$%ld,%03ld.%02ld", d / 1000, d % 1000,
			       cents % 100);
	return xprintf("$%ld.%02ld", d, cents % 100);
}

static void lower_copy(char *dst, size_t cap, const char *src)
{
	size_t i;

	for (i = 0; src[i] && i + 1 < cap; i++) {
		char ch = src[i];

		dst[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
	}
	dst[i] = '\0';
}

/* Email-safe ASCII form of a name: letters only, lowercased. */
static void email_part(char *dst, size_t cap, const char *name)
{
	size_t o = 0;

	for (; *name && o + 1 < cap; name++) {
		char ch = *name;

		if (ch >= 'A' && ch <= 'Z')
			dst[o++] = (char)(ch - 'A' + 'a');
		else if (ch >= 'a' && ch <= 'z')
			dst[o++] = ch;
	}
	dst[o] = '\0';
}

uint32_t account_new_person(struct account *a)
{
	struct rng *r = &a->rng;
	uint32_t idx = (uint32_t)a->n_persons;
	struct person *p;
	const char *fn = first_names[rng_below(r, NELEM(first_names))];
	const char *ln = last_names[rng_below(r, NELEM(last_names))];
	int city = (int)rng_below(r, NELEM(cities));
	long kwh = 6000 + rng_below(r, 14000);
	long rate = 11 + rng_below(r, 9); /* cents per kWh */
	long annual = kwh * rate,
	     savings = annual * (18 + rng_below(r, 15)) / 100;
	char f[40], l[40];

	if (a->n_persons == a->cap_persons) {
		a->cap_persons = a->cap_persons ? a->cap_persons * 2 : 256;
		a->persons =
		    xrealloc(a->persons, a->cap_persons * sizeof(*a->persons));
	}
	p = &a->persons[a->n_persons++];
	memset(p, 0, sizeof(*p));
	email_part(f, sizeof(f), fn);
	email_part(l, sizeof(l), ln);
	/* Every ninth address has capitals, so lookups by MD5 must lowercase.
	 */
	if (idx % 9 == 4)
		p->email = xprintf("%c%s.%c%s.%u@Example.COM", f[0] - 32, f + 1,
				   l[0] - 32, l + 1, idx + 1);
	else
		p->email = xprintf("%s.%s.%u@%s", f, l, idx + 1,
				   domains[rng_below(r, NELEM(domains))]);
	p->vals[0] = xstrdup(fn);
	p->vals[1] = rng_pct(r, 3) ? NULL : xstrdup(ln);
	p->vals[2] = xstrdup(cities[city][0]);
	p->vals[3] = xstrdup(cities[city][1]);
	p->vals[4] = xprintf("%ld", kwh);
	if (!rng_pct(r, 8))
		p->vals[5] = xprintf(
		    "%d%07u", (int[]){614, 740, 937, 513, 216}[rng_below(r, 5)],
		    rng_below(r, 10000000));
	if (!rng_pct(r, 5))
		p->vals[6] =
		    xprintf("%u %s %s", 1 + rng_below(r, 9000),
			    streets[rng_below(r, NELEM(streets))],
			    street_kinds[rng_below(r, NELEM(street_kinds))]);
	p->vals[7] = money(annual);
	p->vals[8] = money(savings);
	p->vals[9] = money(annual / 12);
	p->vals[10] = money(savings / 12);
	p->vals[11] = money(annual / 365);
	if (!rng_pct(r, 15)) {
		char d[11];

		simtime_date(d, (time_days_from_civil(1940, 1, 1) +
				 rng_below(r, 60 * 365)) *
				    DAY);
		p->vals[12] = xstrdup(d);
	}
	if (!rng_pct(r, 10))
		p->vals[13] = xprintf("%u", 1 + rng_below(r, 6));
	if (!rng_pct(r, 20)) {
		struct buf b = BUF_INIT;
		size_t i;
		int rc = 0;

		for (i = 0; i < NELEM(interests); i++)
			if (rng_pct(r, 35)) {
				if (b.len)
					rc |= buf_putc(&b, '|');
				rc |= buf_puts(&b, interests[i]);
			}
		if (rc < 0)
			BUG("interests too long");
		/* An empty choice_multiple value is "" (JSON []). */
		p->vals[14] = b.len ? buf_detach(&b, NULL) : xstrdup("");
		buf_release(&b);
	}
	if (a->opt.is_hostile && idx % 11 == 5) {
		static const int slot[] = {0, 2, 6, 1, 6};
		int k = (int)(idx / 11 % NELEM(hostile_vals));

		free(p->vals[slot[k]]);
		p->vals[slot[k]] = xstrdup(hostile_vals[k]);
	}
	return idx;
}

static int contact_cmp_idx(const struct account *a, uint32_t x, uint32_t y)
{
	const struct contact *cx = &a->contacts[x], *cy = &a->contacts[y];

	if (cx->created_at != cy->created_at)
		return cx->created_at < cy->created_at ? -1 : 1;
	return strcmp(cx->id, cy->id);
}

uint32_t account_add_contact(struct account *a, uint32_t list, uint32_t person,
			     enum contact_status st, int64_t created_at)
{
	struct list *l = &a->lists[list];
	struct contact *c;
	uint32_t idx = (uint32_t)a->n_contacts;
	uint64_t hi, lo;
	char low[256];
	size_t i, pos;
	int k;

	if (a->n_contacts == a->cap_contacts) {
		size_t old = a->cap_contacts;

		a->cap_contacts = old ? old * 2 : 1024;
		a->contacts = xrealloc(a->contacts,
				       a->cap_contacts * sizeof(*a->contacts));
		for (i = 0; i < a->n_camps; i++) {
			struct campaign *cp = &a->camps[i];

			cp->flags = xrealloc(cp->flags, a->cap_contacts *
							    sizeof(uint16_t));
			memset(cp->flags + old, 0,
			       (a->cap_contacts - old) * sizeof(uint16_t));
		}
	}
	c = &a->contacts[a->n_contacts++];
	memset(c, 0, sizeof(*c));
	rng_uuid(&a->rng, &hi, &lo);
	uuid_format(c->id, hi, lo);
	lower_copy(low, sizeof(low), a->persons[person].email);
	md5_hex(low, strlen(low), c->md5);
	c->list = list;
	c->person = person;
	c->status = st;
	for (k = 0; k < l->n_fields; k++)
		c->vals[k] = a->persons[person].vals[k]
				 ? xstrdup(a->persons[person].vals[k])
				 : NULL;
	for (k = 0; k < l->n_tags; k++)
		if (rng_pct(&a->rng, 20))
			c->tags |= 1u << k;
	c->created_at = created_at;
	c->last_updated_at = created_at;
	if (a->now > created_at && rng_pct(&a->rng, 30))
		c->last_updated_at =
		    created_at +
		    rng_below(&a->rng, (uint32_t)(a->now - created_at));
	if (l->n_members == l->cap_members) {
		l->cap_members = l->cap_members ? l->cap_members * 2 : 256;
		l->members =
		    xrealloc(l->members, l->cap_members * sizeof(*l->members));
	}
	pos = l->n_members++;
	while (pos > 0 && contact_cmp_idx(a, l->members[pos - 1], idx) > 0) {
		l->members[pos] = l->members[pos - 1];
		pos--;
	}
	l->members[pos] = idx;
	return idx;
}

static int list_cmp(const void *x, const void *y)
{
	return strcmp(((const struct list *)x)->id,
		      ((const struct list *)y)->id);
}

static void make_lists(struct account *a)
{
	size_t i;

	a->n_lists = (size_t)a->opt.n_lists;
	a->lists = xcalloc(a->n_lists, sizeof(*a->lists));
	for (i = 0; i < a->n_lists; i++) {
		struct list *l = &a->lists[i];
		uint64_t hi, lo;
		int k;

		rng_uuid(&a->rng, &hi, &lo);
		uuid_format(l->id, hi, lo);
		l->name = list_names[i % NELEM(list_names)];
		l->tags = tag_sets[i % NELEM(tag_sets)];
		for (k = 0; k < 4 && l->tags[k]; k++)
			;
		l->n_tags = k;
		l->created_at = a->now - 800 * DAY + (int64_t)i * 7 * DAY;
		l->last_updated_at =
		    l->created_at + rng_below(&a->rng, 90 * DAY);
	}
	qsort(a->lists, a->n_lists, sizeof(*a->lists), list_cmp);
	/* Fields are assigned in API (id) order: the first list has all. */
	for (i = 0; i < a->n_lists; i++) {
		a->lists[i].fields = all_fields;
		a->lists[i].n_fields =
		    i == 0 ? N_FIRST_FIELDS : N_COMMON_FIELDS;
	}
}

static enum contact_status pick_status(struct rng *r)
{
	uint32_t v = rng_below(r, 100);

	return v < 85 ? CS_SUBSCRIBED : v < 95 ? CS_UNSUBSCRIBED : CS_PENDING;
}

static void make_contacts(struct account *a)
{
	uint32_t *in_list = NULL;
	size_t li;
	int i;

	for (li = 0; li < a->n_lists; li++) {
		size_t known = a->n_persons;
		int shared = li == 0 ? 0 : a->opt.n_contacts / 4;

		in_list = xrealloc(in_list, (known + 1) * sizeof(*in_list));
		memset(in_list, 0, (known + 1) * sizeof(*in_list));
		for (i = 0; i < a->opt.n_contacts; i++) {
			uint32_t p;
			int64_t created =
			    a->now - DAY - rng_below(&a->rng, 720 * DAY);

			if (i < shared && known > 0) {
				p = rng_below(&a->rng, (uint32_t)known);
				if (in_list[p])
					p = account_new_person(a);
				else
					in_list[p] = 1;
			} else {
				p = account_new_person(a);
			}
			account_add_contact(a, (uint32_t)li, p,
					    pick_status(&a->rng), created);
		}
	}
	free(in_list);
}

static void set_campaign_text(struct account *a, struct campaign *c, int i)
{
	static const char *const hostile_names[] = {
	    "../../x", "a,b \"c\"\nd \xF0\x9F\x98\x80",
	    "tab\there\x01"
	    "control",
	    NULL};
	int64_t when = c->sent_at >= 0 ? c->sent_at : c->created_at;
	char date[11];
	int month;
	struct buf html = BUF_INIT;
	int k, rc = 0;

	simtime_date(date, when);
	month = (date[5] - '0') * 10 + (date[6] - '0');
	c->name = xprintf("%s %.4s %s", months[month - 1], date,
			  topics[i % NELEM(topics)]);
	c->subject =
	    xprintf("Your %s update: save more this %s", months[month - 1],
		    month >= 3 && month <= 8 ? "summer" : "winter");
	if (a->opt.is_hostile && c->status == CAMP_SENT && i < 4) {
		free(c->name);
		if (hostile_names[i]) {
			c->name = xstrdup(hostile_names[i]);
		} else {
			struct buf b = BUF_INIT;

			while (b.len < 300)
				if (buf_puts(&b, "Very long campaign name ") <
				    0)
					BUG("campaign name too long");
			b.len = 300;
			b.data[300] = '\0';
			c->name = buf_detach(&b, NULL);
		}
	}
	rc |=
	    buf_printf(&html, "<html><body><h1>%s</h1><p>Hello {{FirstName}},",
		       months[month - 1]);
	for (k = 0; k < c->n_links; k++)
		rc |= buf_printf(&html, " <a href=\"%s\">offer %d</a>",
				 c->links[k].url, k + 1);
	rc |= buf_puts(&html, "</p></body></html>");
	if (rc < 0)
		BUG("campaign html too long");
	c->html = buf_detach(&html, NULL);
}

static int camp_cmp(const void *x, const void *y)
{
	const struct campaign *cx = x, *cy = y;

	if (cx->created_at != cy->created_at)
		return cx->created_at < cy->created_at ? -1 : 1;
	return strcmp(cx->id, cy->id);
}

static void make_campaigns(struct account *a)
{
	static const char *const paths[] = {"solar", "heat-pumps", "audit",
					    "rebates", "ev-charging"};
	int n = a->opt.n_campaigns, n_sending = n >= 3, n_error = n >= 5;
	int n_draft = n >= 2 ? (n / 6 > 1 ? n / 6 : 1) : 0;
	int n_sent = n - n_sending - n_error - n_draft, i;
	int64_t span = 300 * DAY;

	a->n_camps = (size_t)n;
	a->camps = xcalloc(a->n_camps ? a->n_camps : 1, sizeof(*a->camps));
	for (i = 0; i < n; i++) {
		struct campaign *c = &a->camps[i];
		uint64_t hi, lo;
		int k;

		rng_uuid(&a->rng, &hi, &lo);
		uuid_format(c->id, hi, lo);
		c->from_name = "EmpowerSaves";
		c->from_email = "info@empowersaves.com";
		c->flags = xcalloc(a->cap_contacts, sizeof(uint16_t));
		c->n_to = 1;
		c->to[0] = (uint32_t)(i % (int)a->n_lists);
		if (i % 4 == 1 && a->n_lists >= 2) {
			c->n_to = 2;
			c->to[1] = (uint32_t)((i + 1) % (int)a->n_lists);
		}
		c->n_links = 1 + (int)rng_below(&a->rng, MAX_LINKS);
		for (k = 0; k < c->n_links; k++)
			c->links[k].url = xprintf(
			    "https://www.empowersaves.com/%s?utm_campaign=c%d",
			    paths[(i + k) % NELEM(paths)], i + 1);
		if (i < n_sent) {
			c->status = CAMP_SENT;
			c->sent_at = a->now - 2 * DAY -
				     (int64_t)(n_sent - 1 - i) * span / n_sent -
				     rng_below(&a->rng, DAY / 2);
			c->created_at =
			    c->sent_at - DAY - rng_below(&a->rng, 6 * DAY);
		} else if (i < n_sent + n_error) {
			c->status = CAMP_ERROR;
			c->created_at =
			    a->now - 4 * DAY - rng_below(&a->rng, DAY);
			c->sent_at = -1;
		} else if (i < n_sent + n_error + n_sending) {
			c->status = CAMP_SENDING;
			c->created_at =
			    a->now - DAY - rng_below(&a->rng, DAY / 4);
			c->sent_at = a->now - 1800;
		} else {
			c->status = CAMP_DRAFT;
			c->created_at =
			    a->now - 3600 - rng_below(&a->rng, 10 * DAY);
			c->sent_at = -1;
		}
		if (c->status == CAMP_DRAFT && a->opt.is_draft_sent_at)
			c->sent_at = c->created_at + 3600;
		set_campaign_text(a, c, i);
		if (c->status == CAMP_DRAFT &&
		    i == n_sent + n_error + n_sending) {
			free(c->name);
			free(c->subject);
			c->name = NULL;
			c->subject = NULL;
		}
	}
}

static int sent_order_cmp(const void *x, const void *y)
{
	const struct campaign *cx = *(struct campaign *const *)x;
	const struct campaign *cy = *(struct campaign *const *)y;

	if (cx->sent_at != cy->sent_at)
		return cx->sent_at < cy->sent_at ? -1 : 1;
	return strcmp(cx->id, cy->id);
}

struct account *account_new(const struct account_options *opt)
{
	struct account *a = xcalloc(1, sizeof(*a));
	struct campaign **order;
	size_t i;

	a->opt = *opt;
	if (a->opt.n_lists < 1)
		a->opt.n_lists = 1;
	if (a->opt.n_campaigns < 0)
		a->opt.n_campaigns = 0;
	if (a->opt.n_contacts < 0)
		a->opt.n_contacts = 0;
	a->now = opt->now;
	rng_init(&a->rng, opt->seed);
	make_lists(a);
	make_contacts(a);
	make_campaigns(a);
	qsort(a->camps, a->n_camps, sizeof(*a->camps), camp_cmp);
	/* Events in sending order, so an unsubscribe in one campaign removes
	 * the contact from the recipients of later ones. */
	order = xcalloc(a->n_camps + 1, sizeof(*order));
	for (i = 0; i < a->n_camps; i++)
		order[i] = &a->camps[i];
	qsort(order, a->n_camps, sizeof(*order), sent_order_cmp);
	for (i = 0; i < a->n_camps; i++)
		if (account_has_reports(order[i]))
			account_generate_events(a, order[i]);
	free(order);
	return a;
}

void account_free(struct account *a)
{
	size_t i;
	int k;

	if (!a)
		return;
	for (i = 0; i < a->n_lists; i++)
		free(a->lists[i].members);
	free(a->lists);
	for (i = 0; i < a->n_persons; i++) {
		free(a->persons[i].email);
		for (k = 0; k < MAX_FIELDS; k++)
			free(a->persons[i].vals[k]);
	}
	free(a->persons);
	for (i = 0; i < a->n_contacts; i++)
		for (k = 0; k < MAX_FIELDS; k++)
			free(a->contacts[i].vals[k]);
	free(a->contacts);
	for (i = 0; i < a->n_camps; i++) {
		struct campaign *c = &a->camps[i];

		free(c->name);
		free(c->subject);
		free(c->html);
		free(c->flags);
		for (k = 0; k < RT_STORED; k++)
			free(c->rep[k].v);
		for (k = 0; k < c->n_links; k++)
			free(c->links[k].url);
	}
	free(a->camps);
	free(a);
}

long account_find_campaign(const struct account *a, const char *id)
{
	size_t i;

	for (i = 0; i < a->n_camps; i++)
		if (strcmp(a->camps[i].id, id) == 0)
			return (long)i;
	return -1;
}

long account_find_list(const struct account *a, const char *id)
{
	size_t i;

	for (i = 0; i < a->n_lists; i++)
		if (strcmp(a->lists[i].id, id) == 0)
			return (long)i;
	return -1;
}

long account_find_contact(const struct account *a, size_t list,
			  const char *id_or_md5)
{
	const struct list *l = &a->lists[list];
	char low[64];
	size_t i;

	lower_copy(low, sizeof(low), id_or_md5);
	for (i = 0; i < l->n_members; i++) {
		const struct contact *c = &a->contacts[l->members[i]];

		if (strcmp(c->id, low) == 0 || strcmp(c->md5, low) == 0)
			return (long)l->members[i];
	}
	return -1;
}

int account_has_reports(const struct campaign *c)
{
	return c->status == CAMP_SENT || c->status == CAMP_SENDING;
}

enum occ_mode account_row_occ(const struct account *a, const struct row *r)
{
	/* Starter plan: "full reports older than 30 days would only be
	 * visible for Pro plan users" (api doc §2.6). */
	if (a->opt.is_free_plan && r->t < a->now - 30 * DAY &&
	    r->occ == OCC_PRESENT)
		return OCC_ABSENT;
	return (enum occ_mode)r->occ;
}

int account_fields_json(const struct account *a, const struct contact *c,
			struct buf *out)
{
	const struct list *l = &a->lists[c->list];
	int k, rc = buf_putc(out, '{');

	for (k = 0; rc == 0 && k < l->n_fields; k++) {
		const char *v = c->vals[k];

		rc |= jsonw_key(out, l->fields[k].tag, k == 0);
		if (!v) {
			rc |= buf_puts(out, "null");
		} else if (l->fields[k].type == FT_NUMBER) {
			rc |= buf_puts(out, v);
		} else if (l->fields[k].type == FT_CHOICE_MULTIPLE) {
			const char *p = v;

			rc |= buf_putc(out, '[');
			while (*v && rc == 0) {
				const char *e = strchr(p, '|');
				size_t n = e ? (size_t)(e - p) : strlen(p);

				if (p != v)
					rc |= buf_putc(out, ',');
				rc |= jsonw_stringn(out, p, n);
				if (!e)
					break;
				p = e + 1;
			}
			rc |= buf_putc(out, ']');
		} else {
			rc |= jsonw_string(out, v);
		}
	}
	rc |= buf_putc(out, '}');
	return rc ? -1 : 0;
}

const char *report_type_name(enum report_type rt)
{
	static const char *const names[] = {
	    "sent",	  "opened",	  "clicked",	"bounced",
	    "complained", "unsubscribed", "not-opened", "not-clicked"};

	return (unsigned)rt < RT_ALL ? names[rt] : "?";
}

const char *campaign_status_name(enum campaign_status s)
{
	static const char *const names[] = {"draft", "sending", "sent",
					    "error"};

	return names[s];
}

const char *contact_status_name(enum contact_status s)
{
	static const char *const names[] = {"subscribed", "unsubscribed",
					    "pending"};

	return names[s];
}

const char *field_type_name(enum field_type t)
{
	static const char *const names[] = {"text", "number", "date",
					    "choice_single", "choice_multiple"};

	return names[t];
}
