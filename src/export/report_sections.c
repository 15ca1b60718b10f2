/* The report's tables: campaigns (newest first, best and worst marked),
 * top links and the funnel, deliverability against stated thresholds,
 * lists, and one part per provider account. Each explains an empty table
 * instead of drawing one. */
#include "export/report_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util/json.h"
#include "util/banned.h"

/* Campaigns with at least this many recipients compete for best/worst. */
#define RANK_MIN_SENT 1
/* Names of a link's campaigns shown before "and N more". */
#define LINK_CAMPAIGN_NAMES 3

static int is_multi_account(const struct report *r)
{
	return r->n_accounts > 1;
}

static void put_campaign_name(struct chart_out *o,
			      const struct report_campaign *c)
{
	if (c->name && *c->name)
		chart_text(o, c->name);
	else {
		chart_puts(o, "<em>untitled</em> ");
		chart_text(o, c->campaign_id);
	}
}

/* Best and worst by click rate, then open rate; -1 when fewer than two
 * campaigns have recipients. */
static void rank(const struct report *r, long *best, long *worst)
{
	double bk = 0, bo = 0, wk = 0, wo = 0;
	size_t i, n = 0;

	*best = *worst = -1;
	for (i = 0; i < r->n_campaigns; i++) {
		const struct campaign_stats *s = &r->campaigns[i].st;
		double k, op;

		if (s->sent < RANK_MIN_SENT)
			continue;
		n++;
		k = report_rate(s->clicked_unique, s->sent);
		op = report_rate(s->opened_unique, s->sent);
		if (*best < 0 || k > bk || (k == bk && op > bo)) {
			*best = (long)i;
			bk = k;
			bo = op;
		}
		if (*worst < 0 || k < wk || (k == wk && op < wo)) {
			*worst = (long)i;
			wk = k;
			wo = op;
		}
	}
	if (n < 2)
		*best = *worst = -1;
}

static void rate_cell(struct chart_out *o, double v, double max,
		      const char *color)
{
	chart_puts(o, "<td class=\"num\">");
	report_put_rate(o, v);
	if (!isnan(v))
		report_put_bar(o, v, max, color);
	chart_puts(o, "</td>");
}

void report_write_campaigns(struct chart_out *o, const struct report *r)
{
	double max_open = 0, max_click = 0;
	long best, worst;
	int has_verified = 0;
	size_t i;

	chart_puts(o, "<section id=\"campaigns\"><h2>3. Campaigns</h2>\n");
	if (!r->n_campaigns) {
		chart_puts(o, "<p class=\"empty\">No campaign was sent in this "
			      "period.</p></section>\n");
		return;
	}
	rank(r, &best, &worst);
	for (i = 0; i < r->n_campaigns; i++)
		if (r->campaigns[i].verified_unique_opens >= 0)
			has_verified = 1;
	for (i = 0; i < r->n_campaigns; i++) {
		const struct campaign_stats *s = &r->campaigns[i].st;
		double op = report_rate(s->opened_unique, s->sent);
		double k = report_rate(s->clicked_unique, s->sent);

		if (!isnan(op) && op > max_open)
			max_open = op;
		if (!isnan(k) && k > max_click)
			max_click = k;
	}
	chart_puts(o, "<table><thead><tr><th>Sent</th><th>Campaign</th>");
	if (is_multi_account(r))
		chart_puts(o, "<th>Account</th>");
	chart_puts(o, "<th class=\"num\">Recipients</th><th class=\"num\">"
		      "Open rate</th>");
	if (has_verified)
		chart_puts(o, "<th class=\"num\">Verified open rate</th>");
	chart_puts(o, "<th class=\"num\">Click rate</th>"
		      "<th class=\"num\">Bounce rate</th><th class=\"num\">"
		      "Unsubscribe rate</th></tr></thead><tbody>\n");
	for (i = 0; i < r->n_campaigns; i++) {
		const struct report_campaign *c = &r->campaigns[i];
		const struct campaign_stats *s = &c->st;

		chart_puts(o, "<tr><td class=\"num\">");
		report_put_date(o, c->sent_at);
		chart_puts(o, "</td><td class=\"name\">");
		put_campaign_name(o, c);
		if ((long)i == best)
			chart_puts(o, "<span class=\"badge best\">\xe2\x98\x85 "
				      "best</span>");
		if ((long)i == worst)
			chart_puts(o,
				   "<span class=\"badge worst\">\xe2\x96\xbc "
				   "worst</span>");
		chart_puts(o, "</td>");
		if (is_multi_account(r)) {
			chart_puts(o, "<td>");
			chart_text(o, c->provider);
			chart_puts(o, " / ");
			chart_text(o, c->account);
			chart_puts(o, "</td>");
		}
		if (s->sent <= 0) {
			chart_puts(o, "<td class=\"num\">0</td><td colspan=\"");
			chart_puts(o, has_verified ? "5" : "4");
			chart_puts(o, "\" class=\"note\">no statistics: the "
				      "provider reported no recipients</td>"
				      "</tr>\n");
			continue;
		}
		chart_puts(o, "<td class=\"num\">");
		report_put_count(o, s->sent);
		chart_puts(o, "</td>");
		rate_cell(o, report_rate(s->opened_unique, s->sent), max_open,
			  "#0072B2");
		if (has_verified) {
			chart_puts(o, "<td class=\"num\">");
			report_put_rate(
			    o, c->verified_unique_opens < 0
				   ? NAN
				   : report_rate(c->verified_unique_opens,
						 s->sent));
			chart_puts(o, "</td>");
		}
		rate_cell(o, report_rate(s->clicked_unique, s->sent), max_click,
			  "#009E73");
		chart_puts(o, "<td class=\"num\">");
		report_put_rate(
		    o, report_rate(s->bounced_hard + s->bounced_soft, s->sent));
		chart_puts(o, "</td><td class=\"num\">");
		report_put_rate(o, report_rate(s->unsubscribed, s->sent));
		chart_puts(o, "</td></tr>\n");
	}
	chart_puts(o, "</tbody></table>\n<p class=\"note\">Newest first. Best "
		      "and worst: the highest and lowest click rate (then "
		      "open rate) among the campaigns with recipients, when "
		      "there are at least two.");
	if (has_verified)
		chart_puts(o,
			   " Verified open rate: unique opens the provider "
			   "does not count as machine opens (Apple Mail "
			   "Privacy Protection, security scanners), where it "
			   "reports them.");
	chart_puts(o, "</p></section>\n");
}

/* "Spring sale, Newsletter 3 and 2 more" from a JSON array of names. */
static void link_campaigns(struct chart_out *o, const struct report_link *l)
{
	struct json_doc *doc = NULL;
	struct err e = ERR_INIT;
	const struct json *arr;
	size_t i, n;

	if (!l->campaigns_json ||
	    json_parse(&doc, l->campaigns_json, strlen(l->campaigns_json), &e) <
		0) {
		report_put_count(o, l->campaigns);
		goto done;
	}
	arr = json_root(doc);
	n = json_len(arr);
	for (i = 0; i < n && i < LINK_CAMPAIGN_NAMES; i++) {
		if (i)
			chart_puts(o, ", ");
		chart_text(o, json_str(json_at(arr, i)));
	}
	if (n > LINK_CAMPAIGN_NAMES)
		chart_printf(o, " and %zu more", n - LINK_CAMPAIGN_NAMES);
done:
	json_doc_free(doc);
}

static void funnel(struct chart_out *o, const struct report *r)
{
	const struct campaign_stats *s = &r->cur.sums;
	const struct {
		const char *label, *id, *color;
		int64_t n;
	} steps[] = {
	    {"Sent", "funnel-sent", "#56B4E9", s->sent},
	    {"Opened", "funnel-opened", "#0072B2", s->opened_unique},
	    {"Clicked", "funnel-clicked", "#009E73", s->clicked_unique},
	};
	size_t i;

	chart_puts(o, "<h3>Engagement funnel</h3>\n");
	if (s->sent <= 0) {
		chart_puts(o, "<p class=\"empty\">No funnel: the period's "
			      "campaigns have no recipients.</p>\n");
		return;
	}
	chart_puts(o, "<svg xmlns=\"http://www.w3.org/2000/svg\" "
		      "class=\"chart\" role=\"img\" viewBox=\"0 0 960 120\" "
		      "width=\"960\" height=\"120\"><title>Engagement "
		      "funnel</title><desc>");
	for (i = 0; i < 3; i++)
		chart_printf(o, "%s%s %lld", i ? ", " : "", steps[i].label,
			     (long long)steps[i].n);
	chart_puts(o, " (unique recipients)</desc>");
	for (i = 0; i < 3; i++) {
		double f = (double)steps[i].n / (double)s->sent;
		double y = 6 + (double)i * 38;

		if (f > 1)
			f = 1;
		chart_printf(o,
			     "<text x=\"0\" y=\"%.0f\">%s</text><rect "
			     "x=\"80\" y=\"%.0f\" width=\"%.1f\" height=\"26\" "
			     "fill=\"%s\"/><text x=\"%.1f\" y=\"%.0f\">",
			     y + 17, steps[i].label, y, 1 + 700 * f,
			     steps[i].color, 90 + 700 * f, y + 17);
		report_put_count(o, steps[i].n);
		chart_puts(o, " (");
		report_put_rate(o, report_rate(steps[i].n, s->sent));
		chart_puts(o, ")</text>");
	}
	chart_puts(o, "</svg>\n<table><tbody>");
	for (i = 0; i < 3; i++) {
		chart_printf(o, "<tr><th>%s</th><td class=\"num\" id=\"%s\">",
			     steps[i].label, steps[i].id);
		report_put_count(o, steps[i].n);
		chart_puts(o, "</td></tr>");
	}
	chart_puts(o, "</tbody></table>\n");
}

void report_write_links(struct chart_out *o, const struct report *r)
{
	size_t i;

	chart_puts(o, "<section id=\"links\"><h2>4. Links and "
		      "funnel</h2>\n<h3>Top clicked links</h3>\n");
	if (!r->n_links) {
		chart_puts(o,
			   "<p class=\"empty\">No clicked link is stored for "
			   "the period's campaigns.</p>\n");
	} else {
		chart_puts(o,
			   "<table><thead><tr><th>Link</th><th class=\"num\">"
			   "Clicks</th><th class=\"num\">Unique clicks</th>"
			   "<th>Campaigns</th></tr></thead><tbody>\n");
		for (i = 0; i < r->n_links; i++) {
			const struct report_link *l = &r->links[i];

			chart_puts(o, "<tr><td class=\"url\">");
			chart_text(o, l->url);
			chart_puts(o, "</td><td class=\"num\">");
			report_put_count(o, l->clicks);
			chart_puts(o, "</td><td class=\"num\">");
			report_put_count(o, l->unique_clicks);
			chart_puts(o, "</td><td class=\"name\">");
			link_campaigns(o, l);
			chart_puts(o, "</td></tr>\n");
		}
		chart_puts(o, "</tbody></table>\n");
	}
	funnel(o, r);
	chart_puts(o, "</section>\n");
}

void report_write_deliverability(struct chart_out *o, const struct report *r)
{
	size_t i, n = 0, flagged = 0;

	chart_puts(o, "<section id=\"deliverability\"><h2>5. "
		      "Deliverability</h2>\n");
	chart_printf(o,
		     "<p class=\"note\">Flagged: a complaint rate of %.1f%% or "
		     "more, or a bounce rate (hard and soft) of %.0f%% or "
		     "more, the thresholds mailbox providers and sending "
		     "services commonly warn at.</p>\n",
		     REPORT_COMPLAINT_THRESHOLD * 100,
		     REPORT_BOUNCE_THRESHOLD * 100);
	for (i = 0; i < r->n_campaigns; i++)
		n += r->campaigns[i].st.sent > 0;
	if (!n) {
		chart_puts(o,
			   "<p class=\"empty\">No campaign of the period has "
			   "recipients, so there is nothing to "
			   "measure.</p></section>\n");
		return;
	}
	chart_puts(o, "<table><thead><tr><th>Sent</th><th>Campaign</th>"
		      "<th class=\"num\">Recipients</th><th class=\"num\">Hard "
		      "bounces</th><th class=\"num\">Soft bounces</th>"
		      "<th class=\"num\">Bounce rate</th><th class=\"num\">"
		      "Complaints</th><th class=\"num\">Complaint rate</th>"
		      "<th>Flag</th></tr></thead><tbody>\n");
	for (i = 0; i < r->n_campaigns; i++) {
		const struct report_campaign *c = &r->campaigns[i];
		const struct campaign_stats *s = &c->st;
		double b, k;
		int is_b, is_k;

		if (s->sent <= 0)
			continue;
		b = report_rate(s->bounced_hard + s->bounced_soft, s->sent);
		k = report_rate(s->complained, s->sent);
		is_b = b >= REPORT_BOUNCE_THRESHOLD;
		is_k = k >= REPORT_COMPLAINT_THRESHOLD;
		flagged += is_b || is_k;
		chart_puts(o, "<tr><td class=\"num\">");
		report_put_date(o, c->sent_at);
		chart_puts(o, "</td><td class=\"name\">");
		put_campaign_name(o, c);
		chart_puts(o, "</td><td class=\"num\">");
		report_put_count(o, s->sent);
		chart_puts(o, "</td><td class=\"num\">");
		report_put_count(o, s->bounced_hard);
		chart_puts(o, "</td><td class=\"num\">");
		report_put_count(o, s->bounced_soft);
		chart_printf(o, "</td><td class=\"num%s\">",
			     is_b ? " flag" : "");
		report_put_rate(o, b);
		chart_puts(o, "</td><td class=\"num\">");
		report_put_count(o, s->complained);
		chart_printf(o, "</td><td class=\"num%s\">",
			     is_k ? " flag" : "");
		chart_printf(o, "%.2f%%", k * 100);
		chart_printf(
		    o, "</td><td class=\"flag\">%s%s%s</td></tr>\n",
		    is_b ? "\xe2\x9a\xa0 bounces" : "",
		    is_b && is_k ? ", " : "",
		    is_k ? (is_b ? "complaints" : "\xe2\x9a\xa0 complaints")
			 : "");
	}
	chart_puts(o, "</tbody></table>\n<p class=\"note\" id=\"flagged\">");
	report_put_count(o, (int64_t)flagged);
	chart_puts(o, " of ");
	report_put_count(o, (int64_t)n);
	chart_puts(o, " campaigns flagged.</p></section>\n");
}

static void count_or_unknown(struct chart_out *o, int64_t n)
{
	chart_puts(o, "<td class=\"num\">");
	if (n < 0)
		chart_puts(o, "\xe2\x80\x94");
	else
		report_put_count(o, n);
	chart_puts(o, "</td>");
}

void report_write_lists(struct chart_out *o, const struct report *r)
{
	size_t i;

	chart_puts(o, "<section id=\"lists\"><h2>6. Lists and "
		      "audiences</h2>\n");
	if (!r->n_lists) {
		chart_puts(o, "<p class=\"empty\">The store holds no list for "
			      "this provider and account (sync the lists "
			      "stream to see them).</p></section>\n");
		return;
	}
	chart_puts(o, "<table><thead><tr><th>List</th>");
	if (is_multi_account(r))
		chart_puts(o, "<th>Account</th>");
	chart_puts(o, "<th class=\"num\">Subscribed</th><th class=\"num\">"
		      "Unsubscribed</th><th class=\"num\">Pending</th>"
		      "<th class=\"num\">Stored contacts</th><th class=\"num\">"
		      "Added in period</th><th class=\"num\">Deleted upstream "
		      "in period</th></tr></thead><tbody>\n");
	for (i = 0; i < r->n_lists; i++) {
		const struct store_list_row *l = &r->lists[i];

		chart_puts(o, "<tr><td class=\"name\">");
		chart_text(o, l->name && *l->name ? l->name : l->list_id);
		chart_puts(o, "</td>");
		if (is_multi_account(r)) {
			chart_puts(o, "<td>");
			chart_text(o, l->provider);
			chart_puts(o, " / ");
			chart_text(o, l->account);
			chart_puts(o, "</td>");
		}
		count_or_unknown(o, l->subscribed);
		count_or_unknown(o, l->unsubscribed);
		count_or_unknown(o, l->pending);
		count_or_unknown(o, l->contacts);
		count_or_unknown(o, l->added);
		count_or_unknown(o, l->deleted);
		chart_puts(o, "</tr>\n");
	}
	chart_puts(o, "</tbody></table>\n<p class=\"note\">Subscribed, "
		      "unsubscribed and pending are the provider's own counts "
		      "(a dash where it gives none); stored contacts, added "
		      "(created in the period) and deleted upstream (found "
		      "gone in the period) come from the contacts the store "
		      "holds.</p></section>\n");
}

void report_write_accounts(struct chart_out *o, const struct report *r)
{
	size_t i;

	chart_puts(o, "<section id=\"accounts\"><h2>7. Provider "
		      "accounts</h2>\n");
	if (!is_multi_account(r)) {
		chart_puts(o, "<p class=\"note\">");
		if (r->n_accounts == 1) {
			chart_puts(o, "One account in this report: ");
			chart_text(o, r->accounts[0].provider);
			chart_puts(o, " / ");
			chart_text(o, r->accounts[0].account);
			chart_puts(o, "; the figures above are its own.");
		} else {
			chart_puts(o, "No provider account in this report.");
		}
		chart_puts(o, "</p></section>\n");
		return;
	}
	for (i = 0; i < r->n_accounts; i++) {
		const struct report_account *a = &r->accounts[i];
		char prefix[32];

		snprintf(prefix, sizeof(prefix), "a%zu-", i + 1);
		chart_puts(o, "<h3>");
		chart_text(o, a->provider);
		chart_puts(o, " / ");
		chart_text(o, a->account);
		chart_puts(o, "</h3>\n");
		report_put_cards(o, &a->totals, &a->prev, prefix);
	}
	chart_puts(o, "</section>\n");
}
