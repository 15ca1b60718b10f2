/* ActiveCampaign: the v3 API for campaigns (offset paging, every scalar a
 * JSON string, "0000-00-00" sentinels) and the legacy v1 report actions for
 * per-contact engagement (rows as members "0".."19" beside result_code,
 * "Failed: Nothing is returned" after the last page, XML with HTTP 200 when
 * the key is refused). Both take the key in the Api-Token header, never in
 * the URL. Contacts, lists and tags are mapped in ac_contacts.c. */
#include "source/activecampaign.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "source/ac_contacts.h"
#include "util/log.h"
#include "util/jsonw.h"
#include "util/num.h"
#include "util/timeparse.h"
#include "util/banned.h"

#define AC_CAMPAIGN_LIMIT 100
#define AC_V1_PAGE_ROWS 20
#define AC_MAX_PAGE 1000000
#define AC_LOOKBACK_S (48 * 3600)
#define BOUNCE_DATE_SLACK_S (2 * 86400)
#define MAX_OFFSET_S (14 * 3600)
#define MAX_LEARNED 64

static const char *const ac_retry_after[] = {"Retry-After", NULL};
static const char *const ac_secret_params[] = {"api_key", "api_pass", NULL};
static const char *const ac_contact_statuses[] = {NULL};

/* The status word doubles as the checkpoint name part. */
static const struct source_report_kind ac_report_kinds[] = {
    {"open", EV_OPEN, ENG_OPENED},
    {"click", EV_CLICK, ENG_CLICKED},
    {"bounce", EV_BOUNCE, ENG_BOUNCED},
    {"unsubscribe", EV_UNSUBSCRIBE, ENG_UNSUBSCRIBED},
};

static const char *v1_action(enum event_type t)
{
	switch (t) {
	case EV_OPEN:
		return "campaign_report_open_list";
	case EV_CLICK:
		return "campaign_report_link_list";
	case EV_BOUNCE:
		return "campaign_report_bounce_list";
	case EV_UNSUBSCRIBE:
		return "campaign_report_unsubscription_list";
	default:
		return NULL;
	}
}

static const struct source_report_kind *kind_of(const char *status)
{
	size_t i;

	for (i = 0;
	     status && i < sizeof(ac_report_kinds) / sizeof(ac_report_kinds[0]);
	     i++)
		if (!strcmp(ac_report_kinds[i].status, status))
			return &ac_report_kinds[i];
	return NULL;
}

static int ac_auth_header(struct buf *out, const char *api_key)
{
	return buf_printf(out, "Api-Token: %s", api_key);
}

/* A non-negative decimal cursor (offset or page); -1 when absent/bad. */
static int64_t cursor_num(const char *s)
{
	int64_t n = 0;

	if (!s || !*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || n > AC_MAX_PAGE * 1000LL)
			return -1;
		n = n * 10 + (*s - '0');
	}
	return n;
}

/* Campaign details come in steps named by the cursor: the campaign's
 * message link (NULL: /campaignMessages, DETAIL_MESSAGE1: the singular
 * /campaignMessage some accounts link instead), the message by id
 * (DETAIL_MESSAGE_AT "<id>": sender and subject), then the target lists. */
#define DETAIL_MESSAGE1 "campaignMessage"
#define DETAIL_MESSAGE_AT "message:"
#define DETAIL_LISTS "lists"

static int detail_path(struct buf *out, const struct source_query *q)
{
	const char *c = q->cursor;
	size_t at = strlen(DETAIL_MESSAGE_AT);
	int rc = 0;

	if (c && !strncmp(c, DETAIL_MESSAGE_AT, at)) {
		if (cursor_num(c + at) < 1)
			return -1;
		rc = rc ? rc : buf_puts(out, "/api/3/messages/");
		return rc ? rc : buf_puts(out, c + at);
	}
	rc = rc ? rc : buf_puts(out, "/api/3/campaigns/");
	rc = rc ? rc : source_urlencode(out, q->campaign_id);
	if (!c)
		return rc ? rc : buf_puts(out, "/campaignMessages");
	if (!strcmp(c, DETAIL_MESSAGE1))
		return rc ? rc : buf_puts(out, "/campaignMessage");
	if (!strcmp(c, DETAIL_LISTS))
		return rc ? rc : buf_puts(out, "/campaignLists");
	return -1;
}

static int ac_url(struct buf *out, const char *api_url,
		  const struct source_query *q)
{
	const struct source_report_kind *k;
	int first = 1;
	int64_t n;
	int rc;
	char num[24];

	if (ac_contacts_handles(q->endpoint))
		return ac_contacts_url(out, api_url, q);
	rc = buf_puts(out, api_url);
	switch (q->endpoint) {
	case SRC_PROBE: /* the first campaigns page, reused by the sync */
	case SRC_CAMPAIGNS:
		n = cursor_num(q->cursor);
		snprintf(num, sizeof(num), "%" PRId64, n < 0 ? 0 : n);
		rc = rc ? rc : buf_puts(out, "/api/3/campaigns");
		rc = rc ? rc : source_put_param(out, &first, "limit", "100");
		rc = rc ? rc : source_put_param(out, &first, "offset", num);
		break;
	case SRC_CAMPAIGN:
	case SRC_SUMMARY:
	case SRC_LINKS:
		rc = rc ? rc : buf_puts(out, "/api/3/campaigns/");
		rc = rc ? rc : source_urlencode(out, q->campaign_id);
		if (q->endpoint == SRC_LINKS)
			rc = rc ? rc : buf_puts(out, "/links");
		break;
	case SRC_CAMPAIGN_DETAIL:
		if (!q->campaign_id)
			return -1;
		rc = rc ? rc : detail_path(out, q);
		break;
	case SRC_REPORT:
		k = kind_of(q->status);
		if (!k)
			return -1;
		n = cursor_num(q->cursor);
		snprintf(num, sizeof(num), "%" PRId64, n < 1 ? 1 : n);
		rc = rc ? rc : buf_puts(out, "/admin/api.php");
		rc = rc ? rc
			: source_put_param(out, &first, "api_action",
					   v1_action(k->type));
		rc = rc ? rc
			: source_put_param(out, &first, "api_output", "json");
		rc =
		    rc ? rc
		       : source_put_param(out, &first, "campaignid",
					  q->campaign_id ? q->campaign_id : "");
		rc = rc ? rc : source_put_param(out, &first, "page", num);
		rc = rc ? rc
			: source_put_param(out, &first, "sort_direction",
					   "DESC");
		break;
	default:
		return -1;
	}
	return rc;
}

static int is_row_key(const char *k)
{
	if (!k || !*k)
		return 0;
	for (; *k; k++)
		if (*k < '0' || *k > '9')
			return 0;
	return 1;
}

static size_t v1_row_count(const struct json *root)
{
	size_t i, n = 0;

	for (i = 0; i < json_len(root) && json_type(root) == JSON_OBJECT; i++)
		if (is_row_key(json_key(json_at(root, i))))
			n++;
	return n;
}

/* The campaign's message row: the first of "campaignMessages" (split
 * tests have more; their first carries the campaign's sender), or the
 * "campaignMessage" object; NULL when the answer has neither. */
static const struct json *campaign_message(const struct json *root)
{
	const struct json *v = json_get(root, "campaignMessages");

	if (json_type(v) == JSON_ARRAY)
		v = json_at(v, 0);
	else
		v = json_get(root, "campaignMessage");
	return json_type(v) == JSON_OBJECT ? v : NULL;
}

/* The message id of a campaign message row: "messageid", else the
 * relation key "message"; NULL when neither is a positive decimal. */
static const char *message_id(const struct json *row)
{
	const char *id = source_nonempty(json_str(json_get(row, "messageid")));

	if (cursor_num(id) < 1)
		id = source_nonempty(json_str(json_get(row, "message")));
	return cursor_num(id) < 1 || strlen(id) > 18 ? NULL : id;
}

/* The detail step after q's (root NULL: q's answered 404). */
static void detail_next(struct source_next *out, const struct json *root,
			const char *api_url, const struct source_query *q)
{
	struct source_query nq = *q;
	const char *c = q->cursor, *mid = NULL;
	char next[64];

	if (c && !strncmp(c, DETAIL_MESSAGE_AT, strlen(DETAIL_MESSAGE_AT)))
		snprintf(next, sizeof(next), "%s", DETAIL_LISTS);
	else if (c && strcmp(c, DETAIL_MESSAGE1))
		return; /* the lists were the last step */
	else if (!root && !c)
		snprintf(next, sizeof(next), "%s", DETAIL_MESSAGE1);
	else if (root && (mid = message_id(campaign_message(root))))
		snprintf(next, sizeof(next), "%s%s", DETAIL_MESSAGE_AT, mid);
	else
		snprintf(next, sizeof(next), "%s", DETAIL_LISTS);
	nq.cursor = next;
	if (buf_puts(&out->cursor, next) || ac_url(&out->url, api_url, &nq))
		return;
	out->has_next = 1;
}

/* Campaigns: offset pages of 100 until a short page or meta.total (a
 * string). Reports: v1 pages of 20 until a short page or result_code 0. */
static void ac_next_page(struct source_next *out, const struct json *root,
			 const char *api_url, const struct source_query *q)
{
	struct source_query nq = *q;
	int64_t pos, total, code;
	size_t rows;
	char num[24];

	if (ac_contacts_handles(q->endpoint)) {
		ac_contacts_next_page(out, root, api_url, q);
		return;
	}
	out->has_next = 0;
	buf_reset(&out->url);
	buf_reset(&out->cursor);
	if (q->endpoint == SRC_CAMPAIGN_DETAIL) {
		detail_next(out, root, api_url, q);
		return;
	}
	if (q->endpoint == SRC_CAMPAIGNS) {
		rows = json_len(json_get(root, "campaigns"));
		if (json_type(json_get(root, "campaigns")) != JSON_ARRAY ||
		    rows < AC_CAMPAIGN_LIMIT)
			return;
		pos = cursor_num(q->cursor);
		pos = (pos < 0 ? 0 : pos) + (int64_t)rows;
		if (json_int(json_get(json_get(root, "meta"), "total"),
			     &total) == 0 &&
		    pos >= total)
			return;
	} else if (q->endpoint == SRC_REPORT) {
		rows = v1_row_count(root);
		if (json_int(json_get(root, "result_code"), &code) < 0 ||
		    code != 1 || rows < AC_V1_PAGE_ROWS)
			return;
		pos = cursor_num(q->cursor);
		pos = (pos < 1 ? 1 : pos) + 1;
		if (pos > AC_MAX_PAGE)
			return;
	} else {
		return;
	}
	snprintf(num, sizeof(num), "%" PRId64, pos);
	nq.cursor = num;
	if (buf_puts(&out->cursor, num) || ac_url(&out->url, api_url, &nq))
		return;
	out->has_next = 1;
}

static int ac_is_reportable(const char *status)
{
	return status &&
	       (!strcmp(status, "sent") || !strcmp(status, "sending") ||
		!strcmp(status, "paused") || !strcmp(status, "stopped") ||
		!strcmp(status, "automation"));
}

const char *ac_campaign_status(struct arena *a, const char *code)
{
	/* The v3 enum is undocumented; these are the codes the web app
	 * shows. "5" is a completed send. */
	static const char *const words[] = {
	    "draft",   "scheduled", "sending",	"paused",
	    "stopped", "sent",	    "disabled", "pending approval"};
	int64_t n;

	if (!code)
		return NULL;
	if (num_parse_i64(code, &n) == 0 && n >= 0 &&
	    n < (int64_t)(sizeof(words) / sizeof(words[0])))
		return words[n];
	return arena_printf(a, "status-%.20s", code);
}

static void error_detail(char *out, size_t size, const char *body, size_t len)
{
	struct json_doc *doc = NULL;
	const struct json *root;
	const char *d = NULL;

	out[0] = '\0';
	if (!body || json_parse(&doc, body, len, NULL) < 0)
		return;
	root = json_root(doc);
	d = source_nonempty(json_str(json_get(root, "message")));
	if (!d)
		d = source_nonempty(json_str(
		    json_get(json_at(json_get(root, "errors"), 0), "title")));
	source_printable(out, size < 81 ? size : 81, d);
	json_doc_free(doc);
}

static void ac_http_error(struct err *err, long status, const char *body,
			  size_t body_len, const char *what)
{
	char detail[96];

	error_detail(detail, sizeof(detail), body, body_len);
	switch (status) {
	case 401:
		err_set(err, ERR_AUTH, 401,
			"activecampaign rejected the api token (401 \"%s\"): "
			"copy the key from Settings > Developer into "
			"ACTIVECAMPAIGN_API_KEY",
			*detail ? detail : "Unauthorized");
		break;
	case 402:
		err_set(err, ERR_INACTIVE, 402,
			"activecampaign account is inactive (402 \"%s\"): "
			"reactivate the account or its billing, then sync "
			"again",
			*detail ? detail : "Payment Required");
		break;
	case 403:
		err_set(err, ERR_AUTH, 403,
			"activecampaign denied access to %s (403 \"%s\"): "
			"check ACTIVECAMPAIGN_API_KEY and the user's "
			"permissions",
			what, *detail ? detail : "Forbidden");
		break;
	default:
		source_http_error_other(err, "activecampaign", status, what,
					detail, "Not Found");
		break;
	}
}

int ac_body_error(struct err *err, const char *body, size_t len)
{
	size_t i = 0, n;
	char head[512];

	while (i < len && (body[i] == ' ' || body[i] == '\t' ||
			   body[i] == '\r' || body[i] == '\n'))
		i++;
	if (i >= len || body[i] != '<')
		return 0;
	/* The body need not be NUL-terminated: copy at most len bytes. */
	for (n = 0; i < len && n + 1 < sizeof(head); i++, n++)
		head[n] = (unsigned char)body[i] >= 0x20 &&
				  (unsigned char)body[i] < 0x7f
			      ? body[i]
			      : '?';
	head[n] = '\0';
	if (!strstr(head, "not_allowed") && !strstr(head, "<error>") &&
	    !strstr(head, "not authorized"))
		return 0;
	return err_set(err, ERR_AUTH, 200,
		       "activecampaign v1 api refused the api token (\"You are "
		       "not authorized to access this file\"): check "
		       "ACTIVECAMPAIGN_API_KEY and ACTIVECAMPAIGN_API_URL");
}

static void ac_probe_detail(char *out, size_t n, const struct json *root)
{
	int64_t total;

	if (json_type(json_get(root, "campaigns")) != JSON_ARRAY)
		snprintf(out, n,
			 "reached, unexpected answer to the campaigns "
			 "request");
	else if (json_int(json_get(json_get(root, "meta"), "total"), &total) ==
		 0)
		snprintf(out, n, "reached, %" PRId64 " campaigns", total);
	else
		snprintf(out, n, "reached, campaigns listed");
}

int64_t ac_time(const struct tz *tz, const char *s)
{
	int64_t t;

	if (!s || time_parse(s, 0, &t) != 0)
		return TIME_NULL;
	if (strlen(s) > 10 && strpbrk(s + 10, "Zz+-"))
		return t;
	return tz_local_to_utc(tz, t);
}

static int64_t count(const struct json *v)
{
	int64_t n;

	return json_int(v, &n) == 0 && n >= 0 ? n : 0;
}

static const char *str(struct source_map *m, const struct json *v)
{
	return arena_strdup(&m->batch->arena, source_nonempty(json_str(v)));
}

/* "0000-00-00..." and "" are no date. */
static int has_date(const struct json *v)
{
	int64_t t;

	return source_nonempty(json_str(v)) &&
	       time_parse(json_str(v), 0, &t) == 0;
}

/* An id-valued key that is set: "132", not null, "", "0". */
static int has_id(const struct json *v)
{
	const char *s = source_nonempty(json_str(v));

	return s && strcmp(s, "0") != 0;
}

/* Status "1" is how automation campaigns show (they never reach "5"):
 * with an automation id it is named "automation", else the web app's
 * word. */
static const char *campaign_status(struct arena *a, const struct json *c)
{
	const char *code = source_nonempty(json_str(json_get(c, "status")));

	if (code && !strcmp(code, "1") && has_id(json_get(c, "automation")))
		return "automation";
	return ac_campaign_status(a, code);
}

static int map_one_campaign(struct source_map *m, const struct json *c)
{
	const char *id = source_nonempty(json_str(json_get(c, "id")));
	struct rec_campaign *r;
	struct campaign_stats *st;
	int64_t n;

	if (!id) {
		m->n_skipped++;
		return 0;
	}
	r = batch_add_campaign(m->batch);
	r->campaign_id = arena_strdup(&m->batch->arena, id);
	r->name = str(m, json_get(c, "name"));
	r->subject = str(m, json_get(c, "subject"));
	r->from_name = str(m, json_get(c, "fromname"));
	r->from_email = str(m, json_get(c, "fromemail"));
	r->status = campaign_status(&m->batch->arena, c);
	r->created_at = ac_time(m->tz, json_str(json_get(c, "cdate")));
	r->sent_at = ac_time(m->tz, json_str(json_get(c, "sdate")));
	r->to_lists_json = NULL;
	r->has_stats = 1;
	st = &r->stats;
	st->sent = count(json_get(c, "send_amt"));
	st->opened_unique = count(json_get(c, "uniqueopens"));
	st->opened_total = count(json_get(c, "opens"));
	st->clicked_unique = count(json_get(c, "uniquelinkclicks"));
	st->clicked_total = count(json_get(c, "linkclicks"));
	st->bounced_hard = count(json_get(c, "hardbounces"));
	st->bounced_soft = count(json_get(c, "softbounces"));
	st->unsubscribed = count(json_get(c, "unsubscribes"));
	if (json_int(json_get(c, "verified_opens"), &n) == 0 && n >= 0)
		r->verified_opens = n;
	if (json_int(json_get(c, "verified_unique_opens"), &n) == 0 && n >= 0)
		r->verified_unique_opens = n;
	/* Reports exist when something went out, whatever the status says
	 * (automation emails keep status "1" while they send). */
	r->has_sends = st->sent > 0 || st->opened_total > 0 ||
		       st->clicked_total > 0 || st->bounced_hard > 0 ||
		       st->bounced_soft > 0 || st->unsubscribed > 0 ||
		       has_date(json_get(c, "sdate")) ||
		       has_date(json_get(c, "ldate"));
	return 0;
}

static int ac_map_campaigns(struct source_map *m, const struct json *root,
			    struct err *err)
{
	const struct json *data = json_get(root, "campaigns");
	size_t i;

	if (json_type(data) != JSON_ARRAY)
		return err_set(err, ERR_PARSE, 0,
			       "activecampaign page has no \"campaigns\" "
			       "array");
	m->n_rows = json_len(data);
	for (i = 0; i < m->n_rows; i++)
		map_one_campaign(m, json_at(data, i));
	return 0;
}

static const struct json *campaign_object(const struct json *root)
{
	const struct json *c = json_get(root, "campaign");

	if (json_type(c) != JSON_OBJECT)
		c = root;
	return source_nonempty(json_str(json_get(c, "id"))) ? c : NULL;
}

static int ac_map_campaign(struct source_map *m, const struct json *root,
			   struct err *err)
{
	const struct json *c = campaign_object(root);

	if (!c)
		return err_set(err, ERR_PARSE, 0,
			       "activecampaign campaign has no \"id\"");
	m->n_rows = 1;
	return map_one_campaign(m, c);
}

/* The target lists of a campaign: ids of "campaignLists" rows ("list",
 * else "listid") as a JSON array of strings. */
static int lists_array(struct source_map *m, const struct json *rows,
		       const char **out, struct err *err)
{
	struct buf b = BUF_INIT;
	size_t i, n = json_len(rows);
	int rc = buf_putc(&b, '['), first = 1;

	for (i = 0; i < n && rc == 0; i++) {
		const struct json *row = json_at(rows, i);
		const char *id =
		    source_nonempty(json_str(json_get(row, "list")));

		if (!id)
			id = source_nonempty(json_str(json_get(row, "listid")));
		if (!id || !strcmp(id, "0"))
			continue;
		rc = first ? 0 : buf_putc(&b, ',');
		rc = rc ? rc : jsonw_string(&b, id);
		first = 0;
	}
	rc = rc ? rc : buf_putc(&b, ']');
	if (rc)
		err_set(err, ERR_PARSE, 0,
			"activecampaign target lists too large: more than %zu "
			"bytes",
			b.max);
	else
		*out = arena_strndup(&m->batch->arena, buf_str(&b), b.len);
	buf_release(&b);
	return rc ? -1 : 0;
}

/* One step of a campaign's details, told apart by its wrapper: the
 * campaign message (subject), the message (sender, subject) or the
 * campaign lists (target list ids). */
static int ac_map_campaign_detail(struct source_map *m, const struct json *root,
				  struct err *err)
{
	const struct json *msg = json_get(root, "message");
	const struct json *lists = json_get(root, "campaignLists");
	const struct json *cm = campaign_message(root);
	struct rec_campaign *r;

	if (!m->campaign_id)
		return err_set(err, ERR_RUNTIME, 0, "no campaign id");
	if (json_type(msg) != JSON_OBJECT && json_type(lists) != JSON_ARRAY &&
	    !cm && json_type(json_get(root, "campaignMessages")) != JSON_ARRAY)
		return err_set(err, ERR_PARSE, 0,
			       "activecampaign campaign details have no "
			       "\"campaignMessages\", \"message\" or "
			       "\"campaignLists\"");
	r = batch_add_campaign(m->batch);
	r->campaign_id = arena_strdup(&m->batch->arena, m->campaign_id);
	m->n_rows = 1;
	if (json_type(lists) == JSON_ARRAY)
		return lists_array(m, lists, &r->to_lists_json, err);
	if (json_type(msg) == JSON_OBJECT) {
		r->subject = str(m, json_get(msg, "subject"));
		r->from_name = str(m, json_get(msg, "fromname"));
		r->from_email = str(m, json_get(msg, "fromemail"));
	} else if (cm) {
		r->subject = str(m, json_get(cm, "subject"));
	}
	return 0;
}

static int ac_map_summary(struct campaign_stats *out, const struct json *root,
			  struct err *err)
{
	struct batch b;
	struct source_map m;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&m, 0, sizeof(m));
	batch_init(&b, "activecampaign", "");
	m.batch = &b;
	rc = ac_map_campaign(&m, root, err);
	if (rc == 0 && b.n_campaigns == 1)
		*out = b.campaigns[0].stats;
	batch_release(&b);
	return rc;
}

/* Offsets learnt from one report page: rows that carry a naive local time
 * beside its ISO value tell the account's offset at that wall time. The
 * account's naive times need not follow ACTIVECAMPAIGN_TIMEZONE (a live
 * account's tstamp runs at +09:30 while its ISO values say +10:30), so a
 * row with only a naive time or a date takes the offset learnt nearest to
 * it on the page; the configured zone only when the page tells nothing. */
struct learned {
	int64_t wall[MAX_LEARNED]; /* naive wall time read as UTC */
	int64_t off[MAX_LEARNED];  /* wall - utc */
	size_t n;
};

/* One engagement row (or link-list info entry) of a contact. */
struct v1_row {
	const struct json *row;
	const char *link_url;
	const char *cid, *cname;
	int64_t when;
	int64_t cutoff; /* m->cutoff, earlier for date-only rows */
	struct learned *lr;
	size_t n_untied;
};

/* The contact a row names: subscriberid, else id with an email (not on
 * bounce rows, whose id is the bounce's), else the lower-cased email. */
static const char *row_contact(struct source_map *m, const struct json *row)
{
	const char *id =
	    source_nonempty(json_str(json_get(row, "subscriberid")));
	const char *email = source_nonempty(json_str(json_get(row, "email")));

	if (id)
		return arena_strdup(&m->batch->arena, id);
	id = source_nonempty(json_str(json_get(row, "id")));
	if (id && email && m->kind->type != EV_BOUNCE)
		return arena_strdup(&m->batch->arena, id);
	return email ? source_lower(&m->batch->arena, email) : NULL;
}

static void untied(struct source_map *m, struct v1_row *r)
{
	const char *t = json_str(json_get(r->row, "tstamp"));
	char shown[48];

	r->n_untied++;
	source_printable(shown, sizeof(shown), t ? t : "no tstamp");
	log_debug("activecampaign: campaign %s %s report: row at %s names no "
		  "contact (no subscriberid, id or email)",
		  r->cid ? r->cid : "?", m->kind->status, shown);
}

static void map_v1_row(struct source_map *m, struct v1_row *r)
{
	const char *id = row_contact(m, r->row);
	const char *type;
	struct rec_participant *p;
	struct rec_event *ev;
	int64_t times;

	if (!id) {
		untied(m, r);
		return;
	}
	if (r->cutoff != TIME_NULL && r->when != TIME_NULL &&
	    r->when < r->cutoff)
		return;
	p = batch_add_participant(m->batch);
	p->campaign_id = r->cid;
	p->contact_id = id;
	p->email = str(m, json_get(r->row, "email"));
	p->flags = m->kind->flag;
	if (!m->want_events || r->when == TIME_NULL)
		return;
	ev = batch_add_event(m->batch);
	ev->campaign_id = r->cid;
	ev->campaign_name = r->cname;
	ev->contact_id = p->contact_id;
	ev->contact_email = p->email;
	ev->type = m->kind->type;
	ev->ts = r->when;
	ev->times =
	    json_int(json_get(r->row, "times"), &times) == 0 && times > 0
		? times
		: 1;
	ev->link_url = r->link_url;
	if (ev->type == EV_BOUNCE) {
		type = json_str(json_get(r->row, "type"));
		if (type && !strcmp(type, "hard"))
			ev->bounce_type = "hard";
		else if (type && !strcmp(type, "soft"))
			ev->bounce_type = "soft";
	}
	event_make_id(ev, m->batch->provider, m->batch->account);
	if (m->newest_updated_at == TIME_NULL || ev->ts > m->newest_updated_at)
		m->newest_updated_at = ev->ts;
}

static int has_offset(const char *s)
{
	return s && strlen(s) > 10 && strpbrk(s + 10, "Zz+-");
}

/* A naive "YYYY-MM-DD[ HH:MM:SS]" as if UTC; TIME_NULL when it is not. */
static int64_t naive_wall(const char *s)
{
	int64_t t;

	if (!s || has_offset(s) || time_parse(s, 0, &t) != 0)
		return TIME_NULL;
	return t;
}

/* The ISO value of key "K_iso" as UTC, with its own offset in *off. */
static int64_t iso_time(const char *s, int64_t *off)
{
	int64_t t, wall;
	char head[20];

	if (!has_offset(s) || time_parse(s, 0, &t) != 0 || strlen(s) < 19)
		return TIME_NULL;
	memcpy(head, s, 19);
	head[19] = '\0';
	head[10] = ' ';
	if (time_parse(head, 0, &wall) != 0)
		return TIME_NULL;
	*off = wall - t;
	return t;
}

static int is_midnight(const char *s)
{
	return s && strlen(s) >= 19 && !strncmp(s + 10, "T00:00:00", 9);
}

static int is_date_only(const char *s)
{
	return s && strlen(s) == 10;
}

/* Learns wall - utc from the pairs (key, key_iso) of one row. */
static void learn_row(struct learned *lr, const struct json *row)
{
	static const char *const keys[][2] = {{"tstamp", "tstamp_iso"},
					      {"sdate", "sdate_iso"},
					      {"udate", "udate_iso"}};
	size_t k;

	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		const char *naive = json_str(json_get(row, keys[k][0]));
		const char *iso = json_str(json_get(row, keys[k][1]));
		int64_t wall = naive_wall(naive), own, t = iso_time(iso, &own);
		int64_t off = wall - t;

		/* A date-only or midnight-only ISO value says nothing about
		 * the time of day; neither does an offset no zone has. */
		if (wall == TIME_NULL || t == TIME_NULL ||
		    is_date_only(naive) || is_midnight(iso) ||
		    off > MAX_OFFSET_S || off < -MAX_OFFSET_S || off % 900)
			continue;
		if (lr->n < MAX_LEARNED) {
			lr->wall[lr->n] = wall;
			lr->off[lr->n] = off;
			lr->n++;
		}
	}
}

static void learn_page(struct learned *lr, const struct json *root,
		       int is_link_list)
{
	size_t i, j;

	for (i = 0; i < json_len(root); i++) {
		const struct json *row = json_at(root, i);
		const struct json *info = json_get(row, "info");

		if (!is_row_key(json_key(row)) || json_type(row) != JSON_OBJECT)
			continue;
		if (!is_link_list) {
			learn_row(lr, row);
			continue;
		}
		for (j = 0; j < json_len(info); j++)
			if (json_type(json_at(info, j)) == JSON_OBJECT)
				learn_row(lr, json_at(info, j));
	}
}

/* The offset learnt nearest to wall, or 0 with *found 0. */
static int64_t learned_offset(const struct learned *lr, int64_t wall,
			      int *found)
{
	int64_t best = 0, d, best_d = INT64_MAX;
	size_t i;

	*found = 0;
	for (i = 0; lr && i < lr->n; i++) {
		d = lr->wall[i] > wall ? lr->wall[i] - wall
				       : wall - lr->wall[i];
		if (d < best_d) {
			best_d = d;
			best = lr->off[i];
			*found = 1;
		}
	}
	return best;
}

/* A naive wall time (or date) as UTC: the learnt offset, else the
 * configured zone. */
static int64_t naive_to_utc(const struct source_map *m,
			    const struct learned *lr, int64_t wall)
{
	int found;
	int64_t off = learned_offset(lr, wall, &found);

	return found ? wall - off : tz_local_to_utc(m->tz, wall);
}

/* The time of a row: tstamp_iso when valid, except that a local-midnight
 * tstamp_iso beside a tstamp with a time of day on the same date gives
 * that time (bounce rows lose it); else the naive tstamp (an invalid
 * tstamp_iso such as "2023-30-28T..." included). */
static int64_t row_time(const struct source_map *m, const struct learned *lr,
			const struct json *row)
{
	const char *iso = json_str(json_get(row, "tstamp_iso"));
	const char *naive = json_str(json_get(row, "tstamp"));
	int64_t own = 0, t = iso_time(iso, &own), wall = naive_wall(naive);

	if (t != TIME_NULL && wall != TIME_NULL && is_midnight(iso) &&
	    !is_date_only(naive) && !strncmp(iso, naive, 10) &&
	    strcmp(naive + 10, " 00:00:00") != 0)
		return wall - own;
	if (t != TIME_NULL)
		return t;
	if (wall == TIME_NULL)
		return ac_time(m->tz, naive); /* an ISO tstamp, or nothing */
	return naive_to_utc(m, lr, wall);
}

/* A link-list row: the link's counters, and each info entry (an array, or
 * an object keyed "0".."n") as one click of that link. */
static void map_link_row(struct source_map *m, struct v1_row *r)
{
	const struct json *link = r->row, *info = json_get(link, "info");
	const char *url = source_nonempty(json_str(json_get(link, "link")));
	struct rec_link *l;
	size_t i;

	if (!url) {
		m->n_skipped++;
		return;
	}
	/* The open pixel is modelled as a link "open" (Read Tracker): its
	 * rows are opens, which the open list reports. */
	if (!strcmp(url, "open"))
		return;
	url = arena_strdup(&m->batch->arena, url);
	l = batch_add_link(m->batch);
	l->campaign_id = r->cid;
	l->url = url;
	l->clicked_unique = count(json_get(link, "a_unique"));
	l->clicked_total = count(json_get(link, "a_total"));
	if (json_type(info) != JSON_ARRAY && json_type(info) != JSON_OBJECT)
		return;
	for (i = 0; i < json_len(info); i++) {
		struct v1_row e = *r;

		e.row = json_at(info, i);
		if (json_type(e.row) != JSON_OBJECT)
			continue;
		e.link_url = url;
		e.when = row_time(m, r->lr, e.row);
		map_v1_row(m, &e);
		r->n_untied = e.n_untied;
	}
}

static int ac_map_report(struct source_map *m, const struct json *root,
			 struct err *err)
{
	struct v1_row r;
	struct learned lr;
	int64_t code, prev = TIME_NULL;
	int is_desc = 1, has_old = 0;
	size_t i;

	if (json_type(root) != JSON_OBJECT ||
	    json_int(json_get(root, "result_code"), &code) < 0)
		return err_set(err, ERR_PARSE, 0,
			       "activecampaign report has no result_code");
	m->n_rows = 0;
	if (code != 1)
		return 0; /* "Failed: Nothing is returned": the end */
	memset(&r, 0, sizeof(r));
	memset(&lr, 0, sizeof(lr));
	learn_page(&lr, root, m->kind->type == EV_CLICK);
	if (lr.n)
		log_debug("activecampaign: campaign %s %s report: naive times "
			  "at %+lld s from UTC (learnt from %zu rows)",
			  m->campaign_id ? m->campaign_id : "?",
			  m->kind->status, (long long)lr.off[0], lr.n);
	r.lr = &lr;
	/* Bounce rows carry a date only (local midnight): a bounce of today
	 * may be dated hours before the window start. */
	r.cutoff = m->cutoff;
	if (r.cutoff != TIME_NULL && m->kind->type == EV_BOUNCE)
		r.cutoff -= BOUNCE_DATE_SLACK_S;
	r.cid = arena_strdup(&m->batch->arena, m->campaign_id);
	r.cname = arena_strdup(&m->batch->arena, m->campaign_name);
	for (i = 0; i < json_len(root); i++) {
		const struct json *member = json_at(root, i);

		if (!is_row_key(json_key(member)))
			continue;
		m->n_rows++;
		if (json_type(member) != JSON_OBJECT) {
			m->n_skipped++;
			continue;
		}
		r.row = member;
		if (m->kind->type == EV_CLICK) {
			map_link_row(m, &r);
			continue;
		}
		r.when = row_time(m, &lr, member);
		if (r.when != TIME_NULL) {
			if (prev != TIME_NULL && r.when > prev)
				is_desc = 0;
			prev = r.when;
			if (r.cutoff != TIME_NULL && r.when < r.cutoff)
				has_old = 1;
		}
		map_v1_row(m, &r);
	}
	if (r.n_untied)
		log_info("activecampaign: campaign %s %s report: %zu rows name "
			 "no contact and were not stored (-v lists them)",
			 m->campaign_id ? m->campaign_id : "?", m->kind->status,
			 r.n_untied);
	/* Only a page that really is newest first may end the window: a
	 * server ignoring sort_direction must not cut the report short. */
	m->is_past_cutoff = has_old && is_desc;
	return 0;
}

#define AC_KEY(role) (1u << (role))

/* ActiveCampaign's configuration keys (struct source_keys). It documents
 * no burst: one request per 1/rate s (the descriptor's burst). */
static const struct option_def ac_key_defs[] = {
    {.key = "ACTIVECAMPAIGN_API_URL",
     .kind = OPTK_URL,
     .role = PROLE_API_URL,
     .help = "the account's activecampaign api url, e.g. "
	     "https://ACCOUNT.api-us1.com"},
    {.key = "ACTIVECAMPAIGN_API_KEY",
     .kind = OPTK_SECRET,
     .role = PROLE_API_KEY,
     .help = "activecampaign api token"},
    {.key = "ACTIVECAMPAIGN_TIMEZONE",
     .kind = OPTK_TIMEZONE,
     .role = PROLE_TIMEZONE,
     .def = "UTC",
     .help = "iana time zone of activecampaign's naive timestamps"},
    {.key = "ESPSYNC_RATE_ACTIVECAMPAIGN",
     .kind = OPTK_NUMBER,
     .role = PROLE_RATE,
     .def = "5",
     .min = 0.01,
     .max = 1000,
     .help = "activecampaign requests per second"},
};

static const struct source_keys ac_keys = {
    .name = "activecampaign",
    .title = "ActiveCampaign",
    .keys = ac_key_defs,
    .n_keys = sizeof(ac_key_defs) / sizeof(ac_key_defs[0]),
    .required_roles = AC_KEY(PROLE_API_URL) | AC_KEY(PROLE_API_KEY),
    .is_account_url_host = 1,
};

const struct source source_activecampaign = {
    .name = "activecampaign",
    .keys = &ac_keys,
    .rate_per_sec = 5.0,
    .burst = 1.0,
    .retry_403_attempts = 3,
    .is_503_throttle = 1,
    .remaining_header = "RateLimit-Remaining",
    .retry_after_headers = ac_retry_after,
    .secret_params = ac_secret_params,
    .contact_statuses = ac_contact_statuses,
    .report_kinds = ac_report_kinds,
    .n_report_kinds = sizeof(ac_report_kinds) / sizeof(ac_report_kinds[0]),
    .is_summary_in_listing = 1,
    .is_report_windowed = 1,
    .default_lookback_s = AC_LOOKBACK_S,
    .is_probe_campaigns_page = 1,
    .auth_header = ac_auth_header,
    .url = ac_url,
    .next_page = ac_next_page,
    .is_reportable = ac_is_reportable,
    .http_error = ac_http_error,
    .body_error = ac_body_error,
    .probe_what = "the campaigns",
    .probe_detail = ac_probe_detail,
    .has_contacts_keyset = 1,
    .map_lists = ac_map_lists,
    .map_contacts = ac_map_contacts,
    .map_fields = ac_map_fields,
    .map_tags = ac_map_tags,
    .map_campaigns = ac_map_campaigns,
    .map_campaign = ac_map_campaign,
    .map_campaign_detail = ac_map_campaign_detail,
    .map_links = NULL, /* links come with the click report */
    .map_report = ac_map_report,
    .map_summary = ac_map_summary,
};
