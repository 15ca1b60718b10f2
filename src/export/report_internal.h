/* What the report modules share: the figures read from the store for one
 * report (report_data.c) and the section writers (report_html.c,
 * report_sections.c). Everything lives in struct report and its arena;
 * its size follows campaigns, lists, links and days, never events. */
#ifndef ESPSYNC_REPORT_INTERNAL_H
#define ESPSYNC_REPORT_INTERNAL_H

#include "export/chart.h"
#include "export/report.h"
#include "util/arena.h"

struct report_campaign {
	const char *provider, *account, *campaign_id, *name;
	int64_t sent_at;
	struct campaign_stats st;
	/* Unique opens the provider does not count as machine opens; -1:
	 * not reported. */
	int64_t verified_unique_opens;
};

struct report_link {
	const char *url, *campaigns_json;
	int64_t clicks, unique_clicks, campaigns;
};

struct report_account {
	const char *provider, *account;
	int64_t campaigns;
	int has_run;
	struct run_row run;		  /* strings in the report's arena */
	struct store_totals totals, prev; /* the period and the one before */
};

struct report {
	const struct report_options *opts;
	int64_t since, until; /* the period: UTC midnights */
	int64_t prev_since;   /* the previous period: [prev_since, since) */
	int has_data;	      /* the store holds events or sent campaigns */
	struct store_totals cur, prev;
	int64_t n_days;
	int64_t (*days)[EV__COUNT];	   /* n_days rows, day 0 = since */
	struct report_campaign *campaigns; /* newest first */
	size_t n_campaigns, cap_campaigns;
	struct report_link *links;
	size_t n_links, cap_links;
	struct store_list_row *lists;
	size_t n_lists, cap_lists;
	struct report_account *accounts;
	size_t n_accounts, cap_accounts;
	struct arena arena;
};

/* Reads everything the report shows; r is released by report_release
 * also on failure. */
int report_load(struct report *r, struct store *s,
		const struct report_options *opts, struct err *err);
void report_release(struct report *r);

/* num / den, NAN when den is not positive (no division by zero reaches
 * the page: NAN is shown as a dash with its reason). */
double report_rate(int64_t num, int64_t den);

/* The document's parts (report_html.c, report_sections.c); each appends
 * to o. */
void report_write_head(struct chart_out *o, const struct report *r);
void report_write_headline(struct chart_out *o, const struct report *r);
void report_write_activity(struct chart_out *o, const struct report *r);
void report_write_campaigns(struct chart_out *o, const struct report *r);
void report_write_links(struct chart_out *o, const struct report *r);
void report_write_deliverability(struct chart_out *o, const struct report *r);
void report_write_lists(struct chart_out *o, const struct report *r);
void report_write_accounts(struct chart_out *o, const struct report *r);
void report_write_footer(struct chart_out *o, const struct report *r);

/* Helpers of the writers. */
void report_put_count(struct chart_out *o, int64_t n); /* "12,345" */
/* "12.3%", or a dash when v is NAN. */
void report_put_rate(struct chart_out *o, double v);
/* "2026-01-15" */
void report_put_date(struct chart_out *o, int64_t t);
/* The headline figures of totals t against prev as cards; id_prefix
 * keeps the ids of one account's cards apart from the report's. */
void report_put_cards(struct chart_out *o, const struct store_totals *t,
		      const struct store_totals *prev, const char *id_prefix);
/* A small inline bar for a rate in a table cell, scaled to max. */
void report_put_bar(struct chart_out *o, double v, double max,
		    const char *color);

#endif
