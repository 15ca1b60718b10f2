/* The HTML document of `espsync report html`: the head with its inline
 * style (screen and A4/Letter print), the headline figures against the
 * previous period, the activity charts and the footer, and the atomic write
 * of the file. Every value from the store goes through chart_text(); the
 * Content-Security-Policy forbids scripts and every fetch as a second
 * fence. */
#include "export/report_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/xalloc.h"
#include "util/banned.h"

#define DAY_S 86400
#define WEEK_S (7 * DAY_S)

/* One colour per event type, from the Okabe-Ito palette. */
static const char *const event_colors[EV__COUNT] = {
    "#56B4E9", "#0072B2", "#009E73", "#E69F00", "#D55E00", "#CC79A7",
};

static const char *const event_labels[EV__COUNT] = {
    "Sent", "Opens", "Clicks", "Bounces", "Complaints", "Unsubscribes",
};

static const char style[] =
    "<style>\n"
    ":root{--ink:#1d2430;--muted:#5b6575;--line:#d8dde5;--bg:#f6f7f9;"
    "--good:#0072B2;--bad:#D55E00}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 "
    "system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,"
    "'Liberation Sans',sans-serif;-webkit-print-color-adjust:exact;"
    "print-color-adjust:exact}\n"
    "main{max-width:1040px;margin:0 auto;padding:24px 28px 40px}\n"
    "header h1{margin:0;font-size:26px}\n"
    ".sub{color:var(--muted);margin:4px 0 0}\n"
    "section{background:#fff;border:1px solid var(--line);border-radius:8px;"
    "padding:16px 20px;margin:18px 0;break-inside:avoid-page}\n"
    "h2{font-size:18px;margin:0 0 10px}h3{font-size:15px;margin:14px 0 6px}\n"
    ".cards{display:grid;grid-template-columns:repeat(4,1fr);gap:10px}\n"
    ".card{border:1px solid var(--line);border-radius:6px;padding:10px 12px}\n"
    ".card .label{color:var(--muted);font-size:12px;text-transform:uppercase;"
    "letter-spacing:.03em}\n"
    ".card .value{font-size:24px;font-weight:600;margin:2px 0}\n"
    ".card .detail,.change{font-size:12px;color:var(--muted)}\n"
    ".up-good,.down-good{color:var(--good)}.up-bad,.down-bad{color:var(--bad)}"
    "\n"
    "table{border-collapse:collapse;width:100%;font-size:13px}\n"
    "th,td{text-align:left;padding:5px 8px;border-bottom:1px solid "
    "var(--line);vertical-align:top}\n"
    "th{font-size:12px;color:var(--muted);font-weight:600}\n"
    "td.num,th.num{text-align:right;white-space:nowrap;"
    "font-variant-numeric:tabular-nums}\n"
    "td.name{max-width:300px;overflow-wrap:anywhere}\n"
    "td.url{max-width:420px;overflow-wrap:anywhere}\n"
    "svg.chart{width:100%;height:auto;display:block;margin:6px 0}\n"
    "svg.chart text{font:11px sans-serif;fill:var(--ink)}\n"
    "svg.chart .grid{stroke:#e6e9ee}svg.chart .axis{stroke:#8a93a3}\n"
    "svg.bar{vertical-align:middle;margin-left:6px}\n"
    ".badge{display:inline-block;font-size:11px;padding:0 6px;"
    "border-radius:9px;margin-left:6px;border:1px solid}\n"
    ".best{color:var(--good)}.worst{color:var(--bad)}\n"
    ".flag{color:var(--bad);font-weight:600}\n"
    ".note{color:var(--muted);font-size:13px;margin:6px 0}\n"
    ".empty{padding:14px;border:1px dashed var(--line);border-radius:6px;"
    "color:var(--muted)}\n"
    "footer{color:var(--muted);font-size:12px;margin-top:22px}\n"
    "@page{size:A4;margin:12mm}\n"
    "@media print{body{background:#fff;font-size:11px}main{max-width:none;"
    "padding:0}section{border:none;padding:6px 0;margin:8px 0}"
    ".cards{grid-template-columns:repeat(4,1fr)}}\n"
    "@media (max-width:720px){.cards{grid-template-columns:repeat(2,1fr)}}\n"
    "</style>\n";

/* ---------------------------------------------------------------- helpers */

void report_put_count(struct chart_out *o, int64_t n)
{
	char digits[24], out[40];
	size_t len, i, k = 0;
	uint64_t u = n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;

	snprintf(digits, sizeof(digits), "%llu", (unsigned long long)u);
	len = strlen(digits);
	if (n < 0)
		out[k++] = '-';
	for (i = 0; i < len; i++) {
		if (i && (len - i) % 3 == 0)
			out[k++] = ',';
		out[k++] = digits[i];
	}
	out[k] = '\0';
	chart_puts(o, out);
}

void report_put_rate(struct chart_out *o, double v)
{
	if (isnan(v))
		chart_puts(o, "\xe2\x80\x94");
	else
		chart_printf(o, "%.1f%%", v * 100);
}

void report_put_date(struct chart_out *o, int64_t t)
{
	char d[16];

	if (t == TIME_NULL) {
		chart_puts(o, "\xe2\x80\x94");
		return;
	}
	time_format_date(t, d);
	chart_puts(o, d);
}

void report_put_bar(struct chart_out *o, double v, double max,
		    const char *color)
{
	double w = 0;

	if (!isnan(v) && max > 0)
		w = 60 * (v / max > 1 ? 1 : v / max);
	chart_printf(o,
		     "<svg class=\"bar\" width=\"60\" height=\"8\" "
		     "aria-hidden=\"true\"><rect width=\"60\" height=\"8\" "
		     "fill=\"#eef0f3\"/><rect width=\"%.1f\" height=\"8\" "
		     "fill=\"%s\"/></svg>",
		     w, color);
}

/* "Jan 15" */
static void short_date(char *out, size_t size, int64_t t)
{
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
					     "May", "Jun", "Jul", "Aug",
					     "Sep", "Oct", "Nov", "Dec"};
	char d[16];
	int m;

	time_format_date(t, d);
	m = (d[5] - '0') * 10 + (d[6] - '0');
	if (m < 1 || m > 12)
		m = 1;
	snprintf(out, size, "%s %d", months[m - 1],
		 (d[8] - '0') * 10 + (d[9] - '0'));
}

static void put_period(struct chart_out *o, int64_t since, int64_t until)
{
	report_put_date(o, since);
	chart_puts(o, " \xe2\x80\x93 ");
	report_put_date(o, until - DAY_S);
}

/* ---------------------------------------------------------------- head */

void report_write_head(struct chart_out *o, const struct report *r)
{
	const struct report_options *opts = r->opts;
	char now[32];

	chart_puts(o,
		   "<!DOCTYPE html>\n<html lang=\"en\"><head>"
		   "<meta charset=\"utf-8\">\n"
		   "<meta http-equiv=\"Content-Security-Policy\" "
		   "content=\"default-src 'none'; style-src 'unsafe-inline'; "
		   "img-src data:; form-action 'none'; base-uri 'none'\">\n"
		   "<meta name=\"viewport\" content=\"width=device-width, "
		   "initial-scale=1\">\n<meta name=\"generator\" "
		   "content=\"espsync " ESPSYNC_VERSION "\">\n"
		   "<title>Email engagement report ");
	put_period(o, r->since, r->until);
	chart_puts(o, "</title>\n");
	chart_puts(o, style);
	chart_puts(o, "</head>\n<body><main>\n<header><h1>Email engagement "
		      "report</h1>\n<p class=\"sub\" id=\"period\">");
	put_period(o, r->since, r->until);
	chart_printf(o, " (%lld days, UTC)",
		     (long long)((r->until - r->since) / DAY_S));
	chart_puts(o, " \xc2\xb7 ");
	if (opts->provider || opts->account) {
		chart_text(o,
			   opts->provider ? opts->provider : "every provider");
		chart_puts(o, " / ");
		chart_text(o, opts->account ? opts->account : "every account");
	} else {
		chart_puts(o, "every provider and account");
	}
	chart_puts(o,
		   "</p>\n<p class=\"sub\">Compared with the previous period "
		   "of the same length, ");
	put_period(o, r->prev_since, r->since);
	time_format_iso(opts->now, now);
	chart_printf(o, ". Generated %s.</p></header>\n", now);
}

/* ---------------------------------------------------------------- headline */

enum metric_kind { MK_COUNT, MK_RATE };

struct metric {
	const char *id, *label;
	enum metric_kind kind;
	int is_up_bad; /* a rise is bad news (bounces, complaints) */
};

static const struct metric metrics[] = {
    {"campaigns", "Campaigns sent", MK_COUNT, 0},
    {"recipients", "Recipients", MK_COUNT, 0},
    {"open-rate", "Unique open rate", MK_RATE, 0},
    {"click-rate", "Click rate", MK_RATE, 0},
    {"ctor", "Click-to-open rate", MK_RATE, 0},
    {"bounce-rate", "Bounce rate", MK_RATE, 1},
    {"complaint-rate", "Complaint rate", MK_RATE, 1},
    {"unsubscribe-rate", "Unsubscribe rate", MK_RATE, 1},
};

#define N_METRICS (sizeof(metrics) / sizeof(metrics[0]))

/* The value of metric i for totals t (a count as a double). */
static double metric_value(size_t i, const struct store_totals *t)
{
	const struct campaign_stats *s = &t->sums;

	switch (i) {
	case 0:
		return (double)t->campaigns;
	case 1:
		return (double)s->sent;
	case 2:
		return report_rate(s->opened_unique, s->sent);
	case 3:
		return report_rate(s->clicked_unique, s->sent);
	case 4:
		return report_rate(s->clicked_unique, s->opened_unique);
	case 5:
		return report_rate(s->bounced_hard + s->bounced_soft, s->sent);
	case 6:
		return report_rate(s->complained, s->sent);
	default:
		return report_rate(s->unsubscribed, s->sent);
	}
}

static void put_change(struct chart_out *o, const struct metric *m, double cur,
		       double prev, int has_prev)
{
	double d;
	const char *cls;

	if (!has_prev || isnan(prev) || isnan(cur) ||
	    (m->kind == MK_COUNT && prev <= 0)) {
		chart_puts(o, "<div class=\"change\">no data in the previous "
			      "period</div>");
		return;
	}
	d = m->kind == MK_COUNT ? (cur - prev) / prev : cur - prev;
	if (fabs(d) < 0.0005) {
		chart_puts(o, "<div class=\"change\">unchanged</div>");
		return;
	}
	if (d > 0)
		cls = m->is_up_bad ? "up-bad" : "up-good";
	else
		cls = m->is_up_bad ? "down-good" : "down-bad";
	chart_printf(o, "<div class=\"change %s\">%s %+.1f%s vs previous", cls,
		     d > 0 ? "\xe2\x96\xb2" : "\xe2\x96\xbc", d * 100,
		     m->kind == MK_COUNT ? "%" : " pts");
	chart_puts(o, "</div>");
}

void report_put_cards(struct chart_out *o, const struct store_totals *t,
		      const struct store_totals *prev, const char *id_prefix)
{
	int has_prev = prev->campaigns > 0;
	size_t i;

	chart_puts(o, "<div class=\"cards\">\n");
	for (i = 0; i < N_METRICS; i++) {
		const struct metric *m = &metrics[i];
		double v = metric_value(i, t);

		chart_printf(o,
			     "<div class=\"card\"><div class=\"label\">%s"
			     "</div><div class=\"value\" id=\"%s%s\">",
			     m->label, id_prefix, m->id);
		if (m->kind == MK_COUNT)
			report_put_count(o, (int64_t)v);
		else
			report_put_rate(o, v);
		chart_puts(o, "</div>");
		if (i == 5 && t->sums.sent > 0) {
			chart_puts(o, "<div class=\"detail\">hard ");
			report_put_rate(
			    o, report_rate(t->sums.bounced_hard, t->sums.sent));
			chart_puts(o, " \xc2\xb7 soft ");
			report_put_rate(
			    o, report_rate(t->sums.bounced_soft, t->sums.sent));
			chart_puts(o, "</div>");
		} else if (m->kind == MK_RATE && isnan(v)) {
			chart_printf(o, "<div class=\"detail\">%s</div>",
				     i == 4 ? "no opens to divide by"
					    : "no recipients to divide by");
		}
		put_change(o, m, v, metric_value(i, prev), has_prev);
		chart_puts(o, "</div>\n");
	}
	chart_puts(o, "</div>\n");
}

void report_write_headline(struct chart_out *o, const struct report *r)
{
	chart_puts(o,
		   "<section id=\"headline\"><h2>1. Headline figures</h2>\n");
	report_put_cards(o, &r->cur, &r->prev, "m-");
	if (!r->cur.campaigns)
		chart_puts(o, "<p class=\"note\">No campaign was sent in this "
			      "period, so there are no rates: each rate "
			      "divides by the recipients of the period's "
			      "campaigns.</p>\n");
	else if (r->cur.campaigns_with_stats < r->cur.campaigns) {
		chart_puts(o, "<p class=\"note\">");
		report_put_count(o, r->cur.campaigns -
					r->cur.campaigns_with_stats);
		chart_puts(o, " of the period's campaigns have no statistics "
			      "(no recipients stored); the rates come from the "
			      "others.</p>\n");
	}
	chart_puts(o, "<p class=\"note\">Rates divide the campaigns' unique "
		      "opens, unique clicks, bounces, complaints and "
		      "unsubscribes by their recipients; the click-to-open "
		      "rate divides unique clicks by unique opens. Changes of "
		      "rates are in percentage points.</p></section>\n");
}

/* ---------------------------------------------------------------- activity */

static void events_table(struct chart_out *o, const struct report *r)
{
	int t;

	chart_puts(o, "<table class=\"events\"><caption class=\"note\">Events "
		      "in the period, per type</caption><thead><tr>");
	for (t = 0; t < EV__COUNT; t++)
		chart_printf(o, "<th class=\"num\">%s</th>", event_labels[t]);
	chart_puts(o, "</tr></thead><tbody><tr>");
	for (t = 0; t < EV__COUNT; t++) {
		chart_printf(o, "<td class=\"num\" id=\"ev-%s\">",
			     event_type_name((enum event_type)t));
		report_put_count(o, r->cur.events[t]);
		chart_puts(o, "</td>");
	}
	chart_puts(o, "</tr></tbody></table>\n");
}

static void daily_chart(struct chart_out *o, const struct report *r)
{
	int64_t step = r->n_days > REPORT_DAILY_MAX_DAYS ? 7 : 1;
	size_t n = (size_t)((r->n_days + step - 1) / step), i;
	double *vals = xcalloc(n * EV__COUNT + 1, sizeof(double));
	char(*text)[16] = xcalloc(n + 1, sizeof(*text));
	const char **labels = xcalloc(n + 1, sizeof(*labels));
	struct chart_series series[EV__COUNT];
	struct buf desc = BUF_INIT;
	struct chart c;
	size_t n_series = 0;
	int t;

	for (i = 0; i < (size_t)r->n_days; i++)
		for (t = 0; t < EV__COUNT; t++)
			vals[(size_t)t * n + i / (size_t)step] +=
			    (double)r->days[i][t];
	for (i = 0; i < n; i++) {
		short_date(text[i], sizeof(text[i]),
			   r->since + (int64_t)i * step * DAY_S);
		labels[i] = text[i];
	}
	if (buf_printf(&desc,
		       "Events per %s from the first to the last day of the "
		       "period, stacked by type:",
		       step == 1 ? "day" : "week") < 0)
		o->is_full = 1;
	for (t = 0; t < EV__COUNT; t++) {
		if (!r->cur.events[t])
			continue;
		series[n_series].name = event_labels[t];
		series[n_series].values = vals + (size_t)t * n;
		series[n_series].color = event_colors[t];
		n_series++;
		if (buf_printf(&desc, " %s %lld", event_labels[t],
			       (long long)r->cur.events[t]) < 0)
			o->is_full = 1;
	}
	c = (struct chart){step == 1 ? "Daily activity" : "Weekly activity",
			   buf_str(&desc),
			   960,
			   260,
			   labels,
			   n,
			   series,
			   n_series,
			   0};
	if (!o->is_full && chart_stacked_bars(o->buf, &c) < 0)
		o->is_full = 1;
	buf_release(&desc);
	free(vals);
	free(text);
	free((void *)labels);
}

/* Open and click rates of the campaigns sent each week of the period. */
static void trend_chart(struct chart_out *o, const struct report *r)
{
	size_t n = (size_t)((r->n_days + 6) / 7), i, weeks_with = 0;
	int64_t(*sums)[3] = xcalloc(n + 1, sizeof(*sums));
	double *open = xcalloc(n + 1, sizeof(double));
	double *click = xcalloc(n + 1, sizeof(double));
	char(*text)[16] = xcalloc(n + 1, sizeof(*text));
	const char **labels = xcalloc(n + 1, sizeof(*labels));
	struct chart_series series[2];
	struct chart c;

	for (i = 0; i < r->n_campaigns; i++) {
		const struct report_campaign *k = &r->campaigns[i];
		int64_t w = (k->sent_at - r->since) / WEEK_S;

		if (w < 0 || (size_t)w >= n || k->st.sent <= 0)
			continue;
		sums[w][0] += k->st.sent;
		sums[w][1] += k->st.opened_unique;
		sums[w][2] += k->st.clicked_unique;
	}
	for (i = 0; i < n; i++) {
		open[i] = report_rate(sums[i][1], sums[i][0]);
		click[i] = report_rate(sums[i][2], sums[i][0]);
		weeks_with += sums[i][0] > 0;
		short_date(text[i], sizeof(text[i]),
			   r->since + (int64_t)i * WEEK_S);
		labels[i] = text[i];
	}
	series[0] = (struct chart_series){"Unique open rate", open, "#0072B2"};
	series[1] = (struct chart_series){"Click rate", click, "#E69F00"};
	c = (struct chart){"Weekly open and click rates",
			   "Unique open rate and click rate of the campaigns "
			   "sent each week (by the week's first day); weeks "
			   "without a campaign with recipients are gaps.",
			   960,
			   220,
			   labels,
			   n,
			   series,
			   2,
			   1};
	if (!weeks_with)
		chart_puts(o,
			   "<p class=\"empty\">No trend to draw: no campaign "
			   "with recipients was sent in this period.</p>\n");
	else if (!o->is_full && chart_lines(o->buf, &c) < 0)
		o->is_full = 1;
	free(sums);
	free(open);
	free(click);
	free(text);
	free((void *)labels);
}

void report_write_activity(struct chart_out *o, const struct report *r)
{
	int64_t all = 0;
	int t;

	for (t = 0; t < EV__COUNT; t++)
		all += r->cur.events[t];
	chart_puts(o, "<section id=\"activity\"><h2>2. Activity</h2>\n");
	if (!all)
		chart_puts(o, "<p class=\"empty\">No events in this period: "
			      "the store holds no opens, clicks, bounces, "
			      "complaints, unsubscribes or sends with a time "
			      "inside it.</p>\n");
	else
		daily_chart(o, r);
	events_table(o, r);
	if (r->cur.sums.sent > 0 && r->cur.events[EV_SENT] == 0)
		chart_puts(o, "<p class=\"note\">No per-recipient sent events "
			      "in this period: a provider that reports sends "
			      "only as campaign totals leaves them out. The "
			      "recipients above come from those "
			      "totals.</p>\n");
	chart_puts(o, "<h3>Open and click rates by week</h3>\n");
	trend_chart(o, r);
	chart_puts(o, "</section>\n");
}

/* ---------------------------------------------------------------- footer */

void report_write_footer(struct chart_out *o, const struct report *r)
{
	size_t i;

	chart_puts(o, "<footer><p>Store: <code id=\"store\">");
	chart_text(o, r->opts->store_name);
	chart_puts(o, "</code></p>\n<table><thead><tr><th>Provider</th>"
		      "<th>Account</th><th>Last sync</th><th>Status</th>"
		      "</tr></thead><tbody>\n");
	for (i = 0; i < r->n_accounts; i++) {
		const struct report_account *a = &r->accounts[i];
		char when[32];

		chart_puts(o, "<tr><td>");
		chart_text(o, a->provider);
		chart_puts(o, "</td><td>");
		chart_text(o, a->account);
		chart_puts(o, "</td><td>");
		if (!a->has_run) {
			chart_puts(o, "never</td><td>\xe2\x80\x94</td></tr>\n");
			continue;
		}
		time_format_iso(a->run.finished_at != TIME_NULL
				    ? a->run.finished_at
				    : a->run.started_at,
				when);
		chart_printf(o, "%s</td><td>%s", when,
			     store_run_status_name(a->run.status));
		if (a->run.error) {
			chart_puts(o, ": ");
			chart_text(o, a->run.error);
		}
		chart_puts(o, "</td></tr>\n");
	}
	if (!r->n_accounts)
		chart_puts(o,
			   "<tr><td colspan=\"4\">The store holds no "
			   "account yet: run espsync sync first.</td></tr>\n");
	chart_puts(o, "</tbody></table>\n<p>Written by espsync " ESPSYNC_VERSION
		      " from the store alone; this file runs "
		      "nothing and loads nothing.</p></footer>\n");
}

/* ---------------------------------------------------------------- document */

int report_html(struct buf *out, struct store *s,
		const struct report_options *opts, struct report_result *res,
		struct err *err)
{
	struct report r;
	struct chart_out o;
	size_t start = out->len;
	int ret = -1, t;

	if (report_load(&r, s, opts, err) < 0)
		goto done;
	chart_out_init(&o, out);
	report_write_head(&o, &r);
	report_write_headline(&o, &r);
	report_write_activity(&o, &r);
	report_write_campaigns(&o, &r);
	report_write_links(&o, &r);
	report_write_deliverability(&o, &r);
	report_write_lists(&o, &r);
	report_write_accounts(&o, &r);
	report_write_footer(&o, &r);
	chart_puts(&o, "</main></body></html>\n");
	if (chart_out_done(&o) < 0) {
		err_set(err, ERR_RUNTIME, 0,
			"report too large: more than %zu bytes", out->max);
		goto done;
	}
	if (res) {
		memset(res, 0, sizeof(*res));
		res->since = r.since;
		res->until = r.until;
		res->campaigns = r.cur.campaigns;
		for (t = 0; t < EV__COUNT; t++)
			res->events += r.cur.events[t];
		res->bytes = (int64_t)(out->len - start);
	}
	ret = 0;
done:
	report_release(&r);
	return ret;
}

/* mkdir -p of path's directory. */
static int make_parent_dirs(const char *path)
{
	char *p = xstrdup(path), *q;
	int ret = 0;

	for (q = p + 1; *q && ret == 0; q++) {
		if (*q != '/' || q[-1] == '/')
			continue;
		*q = '\0';
		if (mkdir(p, 0777) < 0 && errno != EEXIST)
			ret = -1;
		*q = '/';
	}
	free(p);
	return ret;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int report_html_file(const char *path, struct store *s,
		     const struct report_options *opts,
		     struct report_result *res, struct err *err)
{
	struct buf doc, tmp = BUF_INIT;
	int fd = -1, ret = -1, is_tmp = 0;

	buf_init(&doc, REPORT_MAX_BYTES);
	if (report_html(&doc, s, opts, res, err) < 0)
		goto done;
	if (make_parent_dirs(path) < 0 ||
	    buf_printf(&tmp, "%s.XXXXXX", path) < 0) {
		err_set(err, ERR_IO, errno, "cannot create '%s': %s", path,
			strerror(errno));
		goto done;
	}
	fd = mkstemp(tmp.data);
	is_tmp = fd >= 0;
	if (fd < 0 || fchmod(fd, 0644) < 0 ||
	    write_all(fd, doc.data, doc.len) < 0 || fsync(fd) < 0) {
		err_set(err, ERR_IO, errno, "cannot write '%s': %s", path,
			strerror(errno));
		goto done;
	}
	if (close(fd) < 0) {
		fd = -1;
		err_set(err, ERR_IO, errno, "cannot write '%s': %s", path,
			strerror(errno));
		goto done;
	}
	fd = -1;
	if (rename(tmp.data, path) < 0) {
		err_set(err, ERR_IO, errno, "cannot write '%s': %s", path,
			strerror(errno));
		goto done;
	}
	is_tmp = 0;
	ret = 0;
done:
	if (fd >= 0)
		close(fd);
	if (is_tmp)
		unlink(tmp.data);
	buf_release(&tmp);
	buf_release(&doc);
	return ret;
}
