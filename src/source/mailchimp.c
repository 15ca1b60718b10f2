/* Mailchimp Marketing API v3.0: the data center and credentials, URLs,
 * offset paging (count=1000, a short page ends a stream; total_items is
 * never trusted), the problem+json errors and the descriptor. The mapping
 * of pages to records is in mc_map.c. */
#include "source/mailchimp.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/timeparse.h"
#include "util/banned.h"

#define MC_COUNT "1000"
/* A key's data center and a server prefix: "us6". */
#define MC_DC_MAX 16

static const char *const mc_secret_params[] = {"apikey", "access_token", NULL};
static const char *const mc_contact_statuses[] = {
    MC_ST_FIELDS, MC_ST_TAGS, MC_ST_MEMBERS, MC_ST_ARCHIVED, NULL};

/* One stream reads every recipient's opens, clicks and bounces; the
 * unsubscribes and complaints have their own reports. Their event type is
 * the one each row makes (email-activity rows say theirs). */
static const struct source_report_kind mc_report_kinds[] = {
    {MC_RK_ACTIVITY, EV_OPEN, ENG_SENT},
    {MC_RK_UNSUBSCRIBED, EV_UNSUBSCRIBE, ENG_UNSUBSCRIBED},
    {MC_RK_ABUSE, EV_COMPLAINT, ENG_COMPLAINED},
};

int mc_is_dc(const char *dc)
{
	size_t i = 0, letters, digits;

	if (!dc)
		return 0;
	while (dc[i] >= 'a' && dc[i] <= 'z')
		i++;
	letters = i;
	while (dc[i] >= '0' && dc[i] <= '9')
		i++;
	digits = i - letters;
	return letters && digits && !dc[i] && i < MC_DC_MAX;
}

int mc_key_dc(const char *key, char *out, size_t n)
{
	const char *dash = key ? strrchr(key, '-') : NULL;

	if (!dash || !mc_is_dc(dash + 1) || strlen(dash + 1) + 1 > n)
		return -1;
	memcpy(out, dash + 1, strlen(dash + 1) + 1);
	return 0;
}

static int mc_api_url_for(struct buf *out, const char *api_key,
			  const char *region, struct err *err)
{
	char dc[MC_DC_MAX];

	if (region && *region) {
		if (!mc_is_dc(region))
			return err_set(err, ERR_CONFIG, 0,
				       "invalid MAILCHIMP_SERVER_PREFIX "
				       "'%.20s': expected a data center such "
				       "as us6",
				       region);
		snprintf(dc, sizeof(dc), "%s", region);
	} else if (mc_key_dc(api_key, dc, sizeof(dc)) < 0) {
		return err_set(err, ERR_CONFIG, 0,
			       "the mailchimp api key names no data center "
			       "(an API key ends in '-us6' or similar): for "
			       "an OAuth token set MAILCHIMP_SERVER_PREFIX, "
			       "or set MAILCHIMP_API_URL");
	}
	buf_reset(out);
	if (buf_printf(out, "https://%s.api.mailchimp.com/3.0", dc))
		return err_set(err, ERR_RUNTIME, 0, "api url too long");
	return 0;
}

/* An API key (it names its data center) goes as HTTP Basic with any user
 * name; an OAuth token as a bearer token. */
static int mc_auth_header(struct buf *out, const char *api_key)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char dc[MC_DC_MAX];
	struct buf plain = BUF_INIT;
	const unsigned char *p;
	size_t i, n;
	int rc;

	if (mc_key_dc(api_key, dc, sizeof(dc)) < 0)
		return buf_printf(out, "Authorization: Bearer %s", api_key);
	rc = buf_printf(&plain, "espsync:%s", api_key);
	rc = rc ? rc : buf_puts(out, "Authorization: Basic ");
	p = (const unsigned char *)buf_str(&plain);
	n = plain.len;
	for (i = 0; i < n && rc == 0; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		char q[4];

		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		q[0] = b64[(v >> 18) & 63];
		q[1] = b64[(v >> 12) & 63];
		q[2] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		q[3] = i + 2 < n ? b64[v & 63] : '=';
		rc = buf_append(out, q, 4);
	}
	buf_release(&plain);
	return rc;
}

static int put_id(struct buf *out, const char *id)
{
	return source_urlencode(out, id ? id : "");
}

/* A cursor's offset: "1000", "r1000", "c0" (the letter is skipped). */
static long cursor_offset(const char *cursor)
{
	long n = 0;

	if (!cursor)
		return 0;
	while (*cursor && (*cursor < '0' || *cursor > '9'))
		cursor++;
	for (; *cursor >= '0' && *cursor <= '9' && n < 100000000; cursor++)
		n = n * 10 + (*cursor - '0');
	return n;
}

static int put_paging(struct buf *out, int *first, long offset)
{
	char off[24];

	snprintf(off, sizeof(off), "%ld", offset);
	if (source_put_param(out, first, "count", MC_COUNT))
		return -1;
	return source_put_param(out, first, "offset", off);
}

/* Members cursor "<anchor>.<skip>": rows changed after anchor − 1 s
 * (anchor "x": after the stream's since), skip of them already read. */
struct mc_anchor {
	int64_t anchor; /* TIME_NULL: none */
	long skip;
};

static void anchor_parse(struct mc_anchor *a, const char *cursor)
{
	char *end;
	long long t;

	a->anchor = TIME_NULL;
	a->skip = 0;
	if (!cursor || !*cursor)
		return;
	if (*cursor != 'x') {
		t = strtoll(cursor, &end, 10);
		if (end == cursor || *end != '.')
			return;
		a->anchor = (int64_t)t;
		cursor = end;
	}
	a->skip = cursor_offset(cursor);
}

static int members_url(struct buf *out, int *first,
		       const struct source_query *q)
{
	struct mc_anchor a;
	char since[21];
	const char *since_iso = q->since_iso;
	int rc;

	anchor_parse(&a, q->cursor);
	if (a.anchor != TIME_NULL) {
		time_format_iso(a.anchor - 1, since);
		since_iso = since;
	}
	rc = buf_puts(out, "/members");
	rc = rc ? rc : put_paging(out, first, a.skip);
	if (rc == 0 && q->status && strcmp(q->status, MC_ST_ARCHIVED) == 0)
		rc = source_put_param(out, first, "status", MC_ST_ARCHIVED);
	rc = rc ? rc
		: source_put_param(out, first, "sort_field", "last_changed");
	rc = rc ? rc : source_put_param(out, first, "sort_dir", "ASC");
	rc = rc ? rc
		: source_put_param(out, first, "since_last_changed", since_iso);
	rc = rc ? rc
		: source_put_param(out, first, "exclude_fields",
				   "members._links,_links");
	return rc;
}

static int list_url(struct buf *out, int *first, const struct source_query *q)
{
	int rc = buf_puts(out, "/lists/");

	rc = rc ? rc : put_id(out, q->list_id);
	if (rc)
		return rc;
	if (q->status && strcmp(q->status, MC_ST_FIELDS) == 0) {
		rc = buf_puts(out, "/merge-fields");
		rc = rc ? rc : put_paging(out, first, cursor_offset(q->cursor));
		return rc ? rc
			  : source_put_param(out, first, "exclude_fields",
					     "merge_fields._links,_links");
	}
	if (q->status && strcmp(q->status, MC_ST_TAGS) == 0) {
		rc = buf_puts(out, "/tag-search");
		return rc ? rc
			  : put_paging(out, first, cursor_offset(q->cursor));
	}
	return members_url(out, first, q);
}

/* The campaign listing reads /reports (the sent campaigns with their
 * counters) and then /campaigns (every campaign's settings): cursor
 * "r<offset>" or "c<offset>". */
static int campaigns_url(struct buf *out, int *first, const char *cursor)
{
	int rc;

	if (cursor && cursor[0] == 'c') {
		rc = buf_puts(out, "/campaigns");
		rc = rc ? rc : put_paging(out, first, cursor_offset(cursor));
		return rc ? rc
			  : source_put_param(out, first, "exclude_fields",
					     "campaigns._links,_links");
	}
	rc = buf_puts(out, "/reports");
	rc = rc ? rc : put_paging(out, first, cursor_offset(cursor));
	return rc ? rc
		  : source_put_param(
			out, first, "exclude_fields",
			"reports._links,reports.timeseries,"
			"reports.industry_stats,reports.list_stats,"
			"reports.timewarp,_links");
}

static int report_url(struct buf *out, int *first, const struct source_query *q)
{
	const char *st = q->status ? q->status : "";
	int rc = buf_printf(out, "/%s", st);

	if (rc)
		return rc;
	if (strcmp(st, MC_RK_ABUSE) == 0)
		return source_put_param(out, first, "exclude_fields",
					"abuse_reports._links,_links");
	rc = put_paging(out, first, cursor_offset(q->cursor));
	if (rc == 0 && strcmp(st, MC_RK_ACTIVITY) == 0) {
		rc = source_put_param(out, first, "since", q->since_iso);
		rc = rc ? rc
			: source_put_param(out, first, "fields",
					   "emails.email_id,"
					   "emails.email_address,"
					   "emails.activity,total_items");
	} else if (rc == 0) {
		rc = source_put_param(out, first, "exclude_fields",
				      "unsubscribes._links,_links");
	}
	return rc;
}

static int mc_url(struct buf *out, const char *api_url,
		  const struct source_query *q)
{
	int first = 1;
	int rc = buf_puts(out, api_url);

	if (rc)
		return rc;
	switch (q->endpoint) {
	case SRC_PROBE: /* the first /reports page, reused by the sync */
		return campaigns_url(out, &first, NULL);
	case SRC_LISTS:
		rc = buf_puts(out, "/lists");
		rc =
		    rc ? rc : put_paging(out, &first, cursor_offset(q->cursor));
		return rc ? rc
			  : source_put_param(out, &first, "exclude_fields",
					     "lists._links,_links");
	case SRC_CONTACTS:
		return list_url(out, &first, q);
	case SRC_CAMPAIGNS:
		return campaigns_url(out, &first, q->cursor);
	case SRC_CAMPAIGN:
		rc = buf_puts(out, "/campaigns/");
		rc = rc ? rc : put_id(out, q->campaign_id);
		return rc ? rc
			  : source_put_param(out, &first, "exclude_fields",
					     "_links");
	case SRC_SUMMARY:
	case SRC_LINKS:
	case SRC_REPORT:
		rc = buf_puts(out, "/reports/");
		rc = rc ? rc : put_id(out, q->campaign_id);
		if (rc)
			return rc;
		if (q->endpoint == SRC_REPORT)
			return report_url(out, &first, q);
		if (q->endpoint == SRC_SUMMARY)
			return source_put_param(out, &first, "exclude_fields",
						"_links,timeseries,"
						"industry_stats,list_stats,"
						"timewarp");
		rc = buf_puts(out, "/click-details");
		rc =
		    rc ? rc : put_paging(out, &first, cursor_offset(q->cursor));
		return rc ? rc
			  : source_put_param(out, &first, "exclude_fields",
					     "urls_clicked._links,_links");
	case SRC_CONTACT_PART:
		/* a member's tags past the 50 of the listing */
		rc = buf_puts(out, "/lists/");
		rc = rc ? rc : put_id(out, q->list_id);
		rc = rc ? rc : buf_puts(out, "/members/");
		rc = rc ? rc : put_id(out, q->contact_id);
		rc = rc ? rc : buf_puts(out, "/tags");
		rc =
		    rc ? rc : put_paging(out, &first, cursor_offset(q->cursor));
		return rc ? rc
			  : source_put_param(out, &first, "exclude_fields",
					     "tags._links,_links");
	case SRC_FIELDS: /* not Mailchimp requests */
	case SRC_TAGS:
	case SRC_CAMPAIGN_DETAIL:
		break;
	}
	return -1;
}

const struct json *mc_items(const struct json *root,
			    const struct source_query *q)
{
	const char *key = NULL;
	const char *st = q->status ? q->status : "";

	switch (q->endpoint) {
	case SRC_LISTS:
		key = "lists";
		break;
	case SRC_CONTACT_PART:
		key = "tags";
		break;
	case SRC_CONTACTS:
		key = !strcmp(st, MC_ST_FIELDS) ? "merge_fields"
		      : !strcmp(st, MC_ST_TAGS) ? "tags"
						: "members";
		break;
	case SRC_CAMPAIGNS:
		key = json_type(json_get(root, "reports")) == JSON_ARRAY
			  ? "reports"
			  : "campaigns";
		break;
	case SRC_LINKS:
		key = "urls_clicked";
		break;
	case SRC_REPORT:
		key = !strcmp(st, MC_RK_ACTIVITY)	? "emails"
		      : !strcmp(st, MC_RK_UNSUBSCRIBED) ? "unsubscribes"
							: "abuse_reports";
		break;
	default:
		return NULL;
	}
	root = json_get(root, key);
	return json_type(root) == JSON_ARRAY ? root : NULL;
}

static int64_t row_changed(const struct json *row)
{
	int64_t t;

	if (time_parse(json_str(json_get(row, "last_changed")), 0, &t) != 0)
		return TIME_NULL;
	return t;
}

/* The members page after this one. Pages are in last_changed order, so
 * the next one starts at the last row's second (re-anchored: a member
 * edited during the walk moves behind us instead of shifting rows past a
 * page boundary, and offsets stay shallow), skipping the rows of that
 * second already read. A page out of order (the sort ignored) keeps the
 * anchor it had and only moves the offset. */
static void members_next(char *out, size_t n, const struct json *items,
			 const char *cursor)
{
	struct mc_anchor a;
	size_t i, len = json_len(items), same = 0;
	int64_t prev = TIME_NULL, t = TIME_NULL;
	int is_sorted = len > 0;

	anchor_parse(&a, cursor);
	for (i = 0; i < len && is_sorted; i++) {
		t = row_changed(json_at(items, i));
		if (t == TIME_NULL || (prev != TIME_NULL && t < prev))
			is_sorted = 0;
		same = prev != TIME_NULL && t == prev ? same + 1 : 1;
		prev = t;
	}
	if (is_sorted && a.anchor != TIME_NULL && t == a.anchor)
		a.skip += (long)len;
	else if (is_sorted) {
		a.anchor = t;
		a.skip = (long)same;
	} else {
		a.skip += (long)len;
	}
	if (a.anchor == TIME_NULL)
		snprintf(out, n, "x.%ld", a.skip);
	else
		snprintf(out, n, "%lld.%ld", (long long)a.anchor, a.skip);
}

/* Offset paging: a page of MC_PAGE rows continues, a shorter one ends the
 * stream (total_items is wrong under some filters). The campaign listing
 * goes on from /reports to /campaigns. Abuse reports are one answer. */
static void mc_next_page(struct source_next *out, const struct json *root,
			 const char *api_url, const struct source_query *q)
{
	const struct json *items = mc_items(root, q);
	size_t n = json_len(items);
	int is_full = items && n >= MC_PAGE;
	struct source_query nq = *q;
	char cursor[64];

	out->has_next = 0;
	buf_reset(&out->url);
	buf_reset(&out->cursor);
	if (!items)
		return;
	if (q->endpoint == SRC_CAMPAIGNS) {
		int is_campaigns = q->cursor && q->cursor[0] == 'c';

		if (is_full)
			snprintf(cursor, sizeof(cursor), "%c%ld",
				 is_campaigns ? 'c' : 'r',
				 cursor_offset(q->cursor) + (long)n);
		else if (!is_campaigns)
			snprintf(cursor, sizeof(cursor), "c0");
		else
			return;
	} else if (!is_full || (q->endpoint == SRC_REPORT && q->status &&
				!strcmp(q->status, MC_RK_ABUSE))) {
		return;
	} else if (q->endpoint == SRC_CONTACTS && q->status &&
		   (!strcmp(q->status, MC_ST_MEMBERS) ||
		    !strcmp(q->status, MC_ST_ARCHIVED))) {
		members_next(cursor, sizeof(cursor), items, q->cursor);
	} else {
		snprintf(cursor, sizeof(cursor), "%ld",
			 cursor_offset(q->cursor) + (long)n);
	}
	nq.cursor = cursor;
	if (mc_url(&out->url, api_url, &nq) || buf_puts(&out->cursor, cursor))
		return;
	out->has_next = 1;
}

static int mc_is_reportable(const char *status)
{
	return status &&
	       (strcmp(status, "sent") == 0 || strcmp(status, "sending") == 0);
}

int mc_problem(const char *body, size_t len, long *status, char *out, size_t n)
{
	struct json_doc *doc = NULL;
	const struct json *root;
	const char *title, *detail;
	char t[48], d[112];
	int64_t st;
	int rc = -1;

	*status = 0;
	if (n)
		out[0] = '\0';
	if (!body || !len || json_parse(&doc, body, len, NULL) < 0)
		goto done;
	root = json_root(doc);
	if (json_type(root) != JSON_OBJECT)
		goto done;
	if (json_int(json_get(root, "status"), &st) == 0 && st > 0 && st < 1000)
		*status = (long)st;
	title = source_nonempty(json_str(json_get(root, "title")));
	detail = source_nonempty(json_str(json_get(root, "detail")));
	source_printable(t, sizeof(t), title);
	source_printable(d, sizeof(d), detail);
	if (title && detail)
		snprintf(out, n, "%s: %s", t, d);
	else
		snprintf(out, n, "%s", title ? t : d);
	rc = title || detail ? 0 : -1;
done:
	json_doc_free(doc);
	return rc;
}

static void mc_http_error(struct err *err, long status, const char *body,
			  size_t body_len, const char *what)
{
	char detail[168];
	long doc_status;
	int has_doc = mc_problem(body, body_len, &doc_status, detail,
				 sizeof(detail)) == 0;

	if (status == 0)
		status = doc_status;
	switch (status) {
	case 401:
		err_set(err, ERR_AUTH, 401,
			"mailchimp rejected the api key (401 \"%s\"): check "
			"MAILCHIMP_API_KEY and its data center (the '-us6' "
			"suffix; MAILCHIMP_SERVER_PREFIX for an OAuth token)",
			has_doc ? detail : "API Key Invalid");
		break;
	case 403:
		if (has_doc)
			err_set(err, ERR_AUTH, 403,
				"mailchimp denied access to %s (403 \"%s\"): "
				"check the key's data center and the "
				"account",
				what, detail);
		else
			err_set(err, ERR_HTTP, 403,
				"mailchimp kept refusing %s (403 without a "
				"body: overloaded); lower "
				"ESPSYNC_CONNECTIONS_MAILCHIMP",
				what);
		break;
	case 429:
		err_set(err, ERR_HTTP, 429,
			"mailchimp kept refusing %s (429 \"%s\"): other "
			"integrations share the account's 10 connections; "
			"lower ESPSYNC_CONNECTIONS_MAILCHIMP",
			what, has_doc ? detail : "Too Many Requests");
		break;
	default:
		source_http_error_other(err, "mailchimp", status, what,
					has_doc ? detail : "",
					"The requested resource could not be "
					"found.");
		break;
	}
}

/* The probe is the first /reports page: its total_items (not trusted for
 * paging, fine for a greeting) counts the sent campaigns. */
static void mc_probe_detail(char *out, size_t n, const struct json *root)
{
	int64_t total;

	if (json_type(json_get(root, "reports")) != JSON_ARRAY)
		snprintf(out, n,
			 "reached, unexpected answer to the reports request");
	else if (json_int(json_get(root, "total_items"), &total) == 0)
		snprintf(out, n, "reached, %" PRId64 " sent campaigns", total);
	else
		snprintf(out, n, "reached, reports listed");
}

#define MC_KEY(role) (1u << (role))

/* Mailchimp's configuration keys (struct source_keys). */
static const struct option_def mc_key_defs[] = {
    {.key = "MAILCHIMP_API_KEY",
     .kind = OPTK_SECRET,
     .role = PROLE_API_KEY,
     .help = "mailchimp api key ('…-us6', names its data center) or oauth "
	     "token"},
    {.key = "MAILCHIMP_SERVER_PREFIX",
     .kind = OPTK_STRING,
     .role = PROLE_REGION,
     .help = "mailchimp data center ('us6') for an oauth token"},
    {.key = "MAILCHIMP_API_URL",
     .kind = OPTK_URL,
     .role = PROLE_API_URL,
     .help = "mailchimp api base url (default "
	     "https://<dc>.api.mailchimp.com/3.0)"},
    {.key = "ESPSYNC_CONNECTIONS_MAILCHIMP",
     .kind = OPTK_INT,
     .role = PROLE_CONNECTIONS,
     .def = "6",
     .min = 1,
     .max = 10,
     .help = "mailchimp simultaneous requests (the account allows 10)"},
};

static const struct source_keys mc_keys = {
    .name = "mailchimp",
    .title = "Mailchimp",
    .keys = mc_key_defs,
    .n_keys = sizeof(mc_key_defs) / sizeof(mc_key_defs[0]),
    .required_roles = MC_KEY(PROLE_API_KEY),
    .is_account_url_host = 0,
    .is_earlier_tool = 0,
};

const struct source source_mailchimp = {
    .name = "mailchimp",
    .keys = &mc_keys,
    /* No per-second quota: the connection cap paces. */
    .rate_per_sec = 1000.0,
    .burst = 1000.0,
    .retry_403_attempts = 0,
    .is_503_throttle = 0,
    .is_bare_403_throttle = 1,
    .is_throttle_connections = 1,
    .remaining_header = NULL,
    .retry_after_headers = NULL,
    .secret_params = mc_secret_params,
    .contact_statuses = mc_contact_statuses,
    .report_kinds = mc_report_kinds,
    .n_report_kinds = sizeof(mc_report_kinds) / sizeof(mc_report_kinds[0]),
    .is_summary_in_listing = 1,
    .is_report_windowed = 1,
    .default_lookback_s = 600,
    /* the probe reads the first /reports page: the campaign fan-out
     * starts one round trip earlier */
    .is_probe_campaigns_page = 1,
    /* click-details pages by 1000 links like the others */
    .is_links_paged = 1,
    /* the server cuts a call at 120 s (reference §2.1) */
    .timeout_s = 130,
    .api_url_for = mc_api_url_for,
    .auth_header = mc_auth_header,
    .url = mc_url,
    .next_page = mc_next_page,
    .is_reportable = mc_is_reportable,
    .http_error = mc_http_error,
    .probe_what = "the campaign reports",
    .probe_detail = mc_probe_detail,
    .has_contacts_keyset = 0,
    /* members and archived members from the start see every member */
    .has_contact_scan = 1,
    .map_lists = mc_map_lists,
    .map_contacts = mc_map_contacts,
    .map_campaigns = mc_map_campaigns,
    .map_campaign = mc_map_campaign,
    .map_links = mc_map_links,
    .map_report = mc_map_report,
    .map_summary = mc_map_summary,
};
