/* EmailOctopus API v2: endpoints, cursor paging, error envelopes and the
 * mapping of JSON pages to records, tolerant of the quirks listed in the API
 * notes (nullable names, counts as object or array, mixed field value types,
 * repeated report rows, rows without occurred_at, case of enums). */
#include "source/emailoctopus.h"

#include <stdio.h>
#include <string.h>

#include "util/jsonw.h"
#include "util/log.h"
#include "util/timeparse.h"
#include "util/banned.h"

#define EO_PAGE_LIMIT "100"

static const char *const eo_retry_after[] = {"X-RateLimit-Retry-After",
					     "Retry-After", NULL};
static const char *const eo_secret_params[] = {"api_key", NULL};
static const char *const eo_contact_statuses[] = {"subscribed", "unsubscribed",
						  "pending", NULL};

static const struct source_report_kind eo_report_kinds[] = {
    {"sent", EV_SENT, ENG_SENT},
    {"opened", EV_OPEN, ENG_OPENED},
    {"clicked", EV_CLICK, ENG_CLICKED},
    {"bounced", EV_BOUNCE, ENG_BOUNCED},
    {"complained", EV_COMPLAINT, ENG_COMPLAINED},
    {"unsubscribed", EV_UNSUBSCRIBE, ENG_UNSUBSCRIBED},
};

static int eo_auth_header(struct buf *out, const char *api_key)
{
	return buf_printf(out, "Authorization: Bearer %s", api_key);
}

static int put_path_id(struct buf *out, const char *id)
{
	return source_urlencode(out, id ? id : "");
}

static int eo_url(struct buf *out, const char *api_url,
		  const struct source_query *q)
{
	int first = 1;
	int rc = buf_puts(out, api_url);

	switch (q->endpoint) {
	case SRC_PROBE:
		rc = rc ? rc : buf_puts(out, "/lists");
		rc = rc ? rc : source_put_param(out, &first, "limit", "1");
		break;
	case SRC_LISTS:
	case SRC_CAMPAIGNS:
		rc =
		    rc ? rc
		       : buf_puts(out, q->endpoint == SRC_LISTS ? "/lists"
								: "/campaigns");
		rc = rc ? rc
			: source_put_param(out, &first, "limit", EO_PAGE_LIMIT);
		break;
	case SRC_CONTACTS:
		rc = rc ? rc : buf_puts(out, "/lists/");
		rc = rc ? rc : put_path_id(out, q->list_id);
		rc = rc ? rc : buf_puts(out, "/contacts");
		rc = rc ? rc
			: source_put_param(out, &first, "status", q->status);
		rc = rc ? rc
			: source_put_param(out, &first, "limit", EO_PAGE_LIMIT);
		rc = rc ? rc
			: source_put_param(out, &first, "last_updated_at.gte",
					   q->since_iso);
		break;
	case SRC_CAMPAIGN:
	case SRC_SUMMARY:
	case SRC_LINKS:
	case SRC_REPORT:
		rc = rc ? rc : buf_puts(out, "/campaigns/");
		rc = rc ? rc : put_path_id(out, q->campaign_id);
		if (q->endpoint == SRC_SUMMARY)
			rc = rc ? rc : buf_puts(out, "/reports/summary");
		else if (q->endpoint == SRC_LINKS)
			rc = rc ? rc : buf_puts(out, "/reports/links");
		if (q->endpoint != SRC_REPORT)
			break;
		rc = rc ? rc : buf_puts(out, "/reports");
		rc = rc ? rc
			: source_put_param(out, &first, "status", q->status);
		rc = rc ? rc
			: source_put_param(out, &first, "limit", EO_PAGE_LIMIT);
		break;
	case SRC_FIELDS: /* not an EmailOctopus request */
	case SRC_CONTACT_PART:
	case SRC_TAGS:
	case SRC_CAMPAIGN_DETAIL:
		return -1;
	}
	if (rc == 0 && q->cursor && *q->cursor)
		rc = source_put_param(out, &first, "starting_after", q->cursor);
	return rc;
}

/* v2 paging: {"paging":{"next":{"url","starting_after"}}}. The last page is
 * undocumented, so a missing paging, a null/empty next, a next without url
 * and cursor, and a cursor equal to the one just used all end the stream. A
 * next url off our API origin is never followed (it would receive the key):
 * the request is rebuilt from the cursor instead. */
static void eo_next_page(struct source_next *out, const struct json *root,
			 const char *api_url, const struct source_query *q)
{
	const struct json *next = json_get(json_get(root, "paging"), "next");
	const char *url = source_nonempty(json_str(json_get(next, "url")));
	const char *cursor =
	    source_nonempty(json_str(json_get(next, "starting_after")));
	struct buf from_url = BUF_INIT;
	struct source_query nq = *q;

	out->has_next = 0;
	buf_reset(&out->url);
	buf_reset(&out->cursor);
	if (json_type(next) != JSON_OBJECT || (!url && !cursor))
		goto done;
	if (!cursor &&
	    source_url_query_param(&from_url, url, "starting_after") == 0)
		cursor = buf_str(&from_url);
	if (cursor && q->cursor && strcmp(cursor, q->cursor) == 0)
		goto done;
	if (cursor && buf_puts(&out->cursor, cursor))
		goto done;
	if (url && source_url_is_on_origin(url, api_url)) {
		if (buf_puts(&out->url, url))
			goto done;
	} else if (cursor) {
		if (url)
			log_debug("emailoctopus: next page link is off the api "
				  "origin; using its cursor");
		nq.cursor = cursor;
		if (eo_url(&out->url, api_url, &nq))
			goto done;
	} else {
		log_warn("emailoctopus: ignoring a next page link off the api "
			 "origin without a cursor");
		goto done;
	}
	out->has_next = 1;
done:
	buf_release(&from_url);
}

static int eo_is_reportable(const char *status)
{
	return status &&
	       (strcmp(status, "sent") == 0 || strcmp(status, "sending") == 0);
}

int eo_error_parse(const char *body, size_t len, long *status, char *detail,
		   size_t detail_size)
{
	struct json_doc *doc = NULL;
	const struct json *root, *st;
	const char *d;
	int64_t n;
	int rc = -1;

	*status = 0;
	if (detail_size)
		detail[0] = '\0';
	if (!body || json_parse(&doc, body, len, NULL) < 0)
		goto done;
	root = json_root(doc);
	if (json_type(root) != JSON_OBJECT)
		goto done;
	/* "status" is typed string in the spec, integer in practice. */
	st = json_get(root, "status");
	if (json_int(st, &n) == 0 && n > 0 && n < 1000)
		*status = (long)n;
	d = source_nonempty(json_str(json_get(root, "detail")));
	if (!d)
		d = source_nonempty(json_str(json_get(root, "title")));
	if (!d) {
		/* v1 envelope: {"error":{"code","message"}} */
		d = source_nonempty(
		    json_str(json_get(json_get(root, "error"), "message")));
	}
	source_printable(detail, detail_size < 61 ? detail_size : 61, d);
	rc = d || *status ? 0 : -1;
done:
	json_doc_free(doc);
	return rc;
}

static void eo_http_error(struct err *err, long status, const char *body,
			  size_t body_len, const char *what)
{
	char detail[64];
	long env_status;

	eo_error_parse(body, body_len, &env_status, detail, sizeof(detail));
	if (status == 0)
		status = env_status;
	switch (status) {
	case 401:
		err_set(err, ERR_AUTH, 401,
			"emailoctopus rejected the API key (401 \"%s\"): keys "
			"created before October 2024 are legacy and only work "
			"with API v1; create a new key in EmailOctopus and set "
			"EMAILOCTOPUS_API_KEY",
			*detail ? detail : "Invalid key.");
		break;
	case 403:
		err_set(err, ERR_AUTH, 403,
			"emailoctopus denied access to %s (403 \"%s\"): check "
			"the API key and the account's plan",
			what, *detail ? detail : "Access denied.");
		break;
	default:
		source_http_error_other(err, "emailoctopus", status, what,
					detail, "Resource not found.");
		break;
	}
}

static void eo_probe_detail(char *out, size_t n, const struct json *root)
{
	const struct json *data = json_get(root, "data");
	const struct json *next = json_get(json_get(root, "paging"), "next");

	if (json_type(data) != JSON_ARRAY)
		snprintf(out, n,
			 "reached, unexpected answer to the lists "
			 "request");
	else if (json_len(data) == 0)
		snprintf(out, n, "reached, no lists");
	else if (json_type(next) == JSON_OBJECT)
		snprintf(out, n, "reached, several lists");
	else
		snprintf(out, n, "reached, 1 list");
}

/* Mapping helpers. */

/* Compact JSON of v in the arena; empty_as replaces a missing or null
 * value, and an empty array where an object was expected (PHP encodes empty
 * maps as []). */
static const char *json_text(struct source_map *m, const struct json *v,
			     enum json_type want, const char *empty_as)
{
	struct buf b = BUF_INIT;
	const char *s = NULL;
	enum json_type t = json_type(v);

	if (t == JSON_ARRAY && want == JSON_OBJECT && json_len(v) == 0)
		t = JSON_MISSING;
	if (t != want) {
		s = arena_strdup(&m->batch->arena, empty_as);
		goto done;
	}
	if (json_write(&b, v) == 0)
		s = arena_strndup(&m->batch->arena, buf_str(&b), b.len);
done:
	buf_release(&b);
	return s;
}

static const struct json *page_data(const struct json *root, struct err *err)
{
	const struct json *data = json_get(root, "data");

	if (json_type(data) != JSON_ARRAY) {
		err_set(err, ERR_PARSE, 0,
			"emailoctopus page has no \"data\" array");
		return NULL;
	}
	return data;
}

static int64_t count_or_unknown(const struct json *v)
{
	int64_t n;

	return json_int(v, &n) == 0 && n >= 0 ? n : -1;
}

static int map_one_campaign(struct source_map *m, const struct json *c)
{
	const char *id = source_nonempty(json_str(json_get(c, "id")));
	const struct json *from = json_get(c, "from");
	struct rec_campaign *r;

	if (!id) {
		m->n_skipped++;
		return 0;
	}
	r = batch_add_campaign(m->batch);
	r->campaign_id = arena_strdup(&m->batch->arena, id);
	r->name = source_str(m, json_get(c, "name"));
	r->subject = source_str(m, json_get(c, "subject"));
	r->from_name = source_str(m, json_get(from, "name"));
	r->from_email = source_str(m, json_get(from, "email_address"));
	r->status =
	    source_lower(&m->batch->arena, json_str(json_get(c, "status")));
	r->created_at = source_time(m, json_get(c, "created_at"));
	r->sent_at = source_time(m, json_get(c, "sent_at"));
	r->to_lists_json = json_text(m, json_get(c, "to"), JSON_ARRAY, NULL);
	r->has_stats = 0;
	/* A sent_at may have reports whatever the status (the official
	 * examples show drafts with one; a 403 on such a draft's summary is
	 * "no report", core/sync_streams.c). */
	r->has_sends = r->sent_at != TIME_NULL;
	return 0;
}

static int eo_map_campaigns(struct source_map *m, const struct json *root,
			    struct err *err)
{
	const struct json *data = page_data(root, err);
	size_t i;

	if (!data)
		return -1;
	m->n_rows = json_len(data);
	for (i = 0; i < m->n_rows; i++)
		map_one_campaign(m, json_at(data, i));
	return 0;
}

static int eo_map_campaign(struct source_map *m, const struct json *root,
			   struct err *err)
{
	if (json_type(root) != JSON_OBJECT ||
	    !source_nonempty(json_str(json_get(root, "id"))))
		return err_set(err, ERR_PARSE, 0,
			       "emailoctopus campaign has no \"id\"");
	m->n_rows = 1;
	return map_one_campaign(m, root);
}

/* A counter object such as {"unique","total"} or {"hard","soft"}. A bare
 * number fills both halves, or only the first when is_split (the halves
 * add up to the number). */
static void pair(const struct json *v, const char *a, const char *b,
		 int64_t *out_a, int64_t *out_b, int is_split)
{
	int64_t n;

	if (json_int(v, &n) == 0) {
		*out_a = n;
		*out_b = is_split ? 0 : n;
		return;
	}
	if (json_int(json_get(v, a), &n) == 0)
		*out_a = n;
	if (json_int(json_get(v, b), &n) == 0)
		*out_b = n;
}

static int eo_map_summary(struct campaign_stats *out, const struct json *root,
			  struct err *err)
{
	int64_t n;

	memset(out, 0, sizeof(*out));
	if (json_type(root) != JSON_OBJECT)
		return err_set(err, ERR_PARSE, 0,
			       "emailoctopus summary is not an object");
	if (json_int(json_get(root, "sent"), &n) == 0)
		out->sent = n;
	pair(json_get(root, "opened"), "unique", "total", &out->opened_unique,
	     &out->opened_total, 0);
	pair(json_get(root, "clicked"), "unique", "total", &out->clicked_unique,
	     &out->clicked_total, 0);
	pair(json_get(root, "bounced"), "hard", "soft", &out->bounced_hard,
	     &out->bounced_soft, 1);
	if (json_int(json_get(root, "complained"), &n) == 0)
		out->complained = n;
	if (json_int(json_get(root, "unsubscribed"), &n) == 0)
		out->unsubscribed = n;
	return 0;
}

static int eo_map_links(struct source_map *m, const struct json *root,
			struct err *err)
{
	const struct json *data = page_data(root, err);
	size_t i;

	if (!data)
		return -1;
	m->n_rows = json_len(data);
	for (i = 0; i < m->n_rows; i++) {
		const struct json *it = json_at(data, i);
		const char *url =
		    source_nonempty(json_str(json_get(it, "url")));
		struct rec_link *l;
		int64_t total = 0, uniq = 0;

		if (!url) {
			m->n_skipped++;
			continue;
		}
		if (json_int(json_get(it, "clicked_total"), &total) < 0 ||
		    json_int(json_get(it, "clicked_unique"), &uniq) < 0)
			pair(json_get(it, "clicked"), "total", "unique", &total,
			     &uniq, 0);
		l = batch_add_link(m->batch);
		l->campaign_id = arena_strdup(&m->batch->arena, m->campaign_id);
		l->url = arena_strdup(&m->batch->arena, url);
		l->clicked_total = total;
		l->clicked_unique = uniq;
	}
	return 0;
}

/* v2 rows are {contact_id, contact_email_address, occurred_at}; v1-shaped
 * rows nest a contact object. A contact may repeat (one row per open or
 * click): each row with a time is its own event, identical rows share an
 * event id. Rows without occurred_at only set the participant flag. */
static int eo_map_report(struct source_map *m, const struct json *root,
			 struct err *err)
{
	const struct json *data = page_data(root, err);
	struct arena *a = &m->batch->arena;
	const char *cid = NULL, *cname = NULL;
	size_t i;

	if (!data)
		return -1;
	m->n_rows = json_len(data);
	for (i = 0; i < m->n_rows; i++) {
		const struct json *row = json_at(data, i);
		const struct json *contact = json_get(row, "contact");
		const char *id =
		    source_nonempty(json_str(json_get(row, "contact_id")));
		const char *email =
		    json_str(json_get(row, "contact_email_address"));
		struct rec_participant *p;
		struct rec_event *ev;
		int64_t when;

		if (!id)
			id = source_nonempty(json_str(json_get(contact, "id")));
		if (!email)
			email = json_str(json_get(contact, "email_address"));
		if (!id) {
			m->n_skipped++;
			continue;
		}
		if (!cid) {
			cid = arena_strdup(a, m->campaign_id);
			cname = arena_strdup(a, m->campaign_name);
		}
		p = batch_add_participant(m->batch);
		p->campaign_id = cid;
		p->contact_id = arena_strdup(a, id);
		p->email = arena_strdup(a, email);
		p->flags = m->kind->flag;
		when = source_time(m, json_get(row, "occurred_at"));
		if (!m->want_events || when == TIME_NULL)
			continue;
		ev = batch_add_event(m->batch);
		ev->campaign_id = cid;
		ev->campaign_name = cname;
		ev->contact_id = p->contact_id;
		ev->contact_email = p->email;
		ev->type = m->kind->type;
		ev->ts = when;
		ev->times = 1;
		event_make_id(ev, m->batch->provider, m->batch->account);
	}
	return 0;
}

static const char *field_string(struct source_map *m, const struct json *fields,
				const char *tag)
{
	return arena_strdup(&m->batch->arena,
			    source_nonempty(json_str(json_get(fields, tag))));
}

/* ["<list id>"]: the lists_json of the contacts of m->list_id. */
static int list_array(struct source_map *m, const char **out, struct err *err)
{
	struct buf b = BUF_INIT;
	int rc = buf_putc(&b, '[');

	rc |= jsonw_string(&b, m->list_id);
	rc |= buf_putc(&b, ']');
	if (rc)
		err_set(err, ERR_RUNTIME, 0,
			"list id too long: more than %zu bytes", b.max);
	else
		*out = arena_strndup(&m->batch->arena, buf_str(&b), b.len);
	buf_release(&b);
	return rc;
}

static int eo_map_contacts(struct source_map *m, const struct json *root,
			   struct err *err)
{
	const struct json *data = page_data(root, err);
	struct arena *a = &m->batch->arena;
	const char *lists = NULL;
	size_t i;

	if (!data)
		return -1;
	m->n_rows = json_len(data);
	for (i = 0; i < m->n_rows; i++) {
		const struct json *it = json_at(data, i);
		const struct json *fields = json_get(it, "fields");
		const char *id = source_nonempty(json_str(json_get(it, "id")));
		const char *status = json_str(json_get(it, "status"));
		struct rec_contact *c;

		if (!id) {
			m->n_skipped++;
			continue;
		}
		if (!lists && m->list_id && list_array(m, &lists, err) < 0)
			return -1;
		c = batch_add_contact(m->batch);
		c->contact_id = arena_strdup(a, id);
		c->email = source_str(m, json_get(it, "email_address"));
		c->first_name = field_string(m, fields, "FirstName");
		c->last_name = field_string(m, fields, "LastName");
		c->phone = field_string(m, fields, "Phone");
		c->status = source_lower(a, status ? status : m->status);
		c->fields_json = json_text(m, fields, JSON_OBJECT, "{}");
		c->tags_json =
		    json_text(m, json_get(it, "tags"), JSON_ARRAY, "[]");
		c->lists_json = lists;
		c->created_at = source_time(m, json_get(it, "created_at"));
		c->updated_at = source_time(m, json_get(it, "last_updated_at"));
		c->deleted_at = TIME_NULL;
		if (c->updated_at != TIME_NULL &&
		    (m->newest_updated_at == TIME_NULL ||
		     c->updated_at > m->newest_updated_at))
			m->newest_updated_at = c->updated_at;
	}
	return 0;
}

/* List fields in list order as [{tag,label,type}], type lowercased. */
static const char *list_fields(struct source_map *m, const struct json *v)
{
	struct buf b = BUF_INIT;
	const char *s;
	size_t i, n = json_len(v);
	int first = 1;
	int rc = buf_putc(&b, '[');

	for (i = 0; i < n && json_type(v) == JSON_ARRAY && rc == 0; i++) {
		const struct json *f = json_at(v, i);
		const char *tag = json_str(json_get(f, "tag"));
		char *type;

		if (!tag)
			continue;
		type = source_lower(&m->batch->arena,
				    json_str(json_get(f, "type")));
		rc = buf_puts(&b, first ? "{" : ",{");
		rc = rc ? rc : jsonw_key(&b, "tag", 1);
		rc = rc ? rc : jsonw_string(&b, tag);
		rc = rc ? rc : jsonw_key(&b, "label", 0);
		rc = rc ? rc : jsonw_string(&b, json_str(json_get(f, "label")));
		rc = rc ? rc : jsonw_key(&b, "type", 0);
		rc = rc ? rc : jsonw_string(&b, type);
		rc = rc ? rc : buf_putc(&b, '}');
		first = 0;
	}
	rc = rc ? rc : buf_putc(&b, ']');
	s = rc ? NULL : arena_strndup(&m->batch->arena, buf_str(&b), b.len);
	buf_release(&b);
	return s;
}

static int eo_map_lists(struct source_map *m, const struct json *root,
			struct err *err)
{
	const struct json *data = page_data(root, err);
	size_t i;

	if (!data)
		return -1;
	m->n_rows = json_len(data);
	for (i = 0; i < m->n_rows; i++) {
		const struct json *it = json_at(data, i);
		const struct json *counts = json_get(it, "counts");
		const char *id = source_nonempty(json_str(json_get(it, "id")));
		struct rec_list *l;

		if (!id) {
			m->n_skipped++;
			continue;
		}
		/* The spec types counts as an array of one object. */
		if (json_type(counts) == JSON_ARRAY)
			counts = json_at(counts, 0);
		l = batch_add_list(m->batch);
		l->list_id = arena_strdup(&m->batch->arena, id);
		l->name = source_str(m, json_get(it, "name"));
		l->fields_json = list_fields(m, json_get(it, "fields"));
		l->tags_json =
		    json_text(m, json_get(it, "tags"), JSON_ARRAY, "[]");
		l->subscribed =
		    count_or_unknown(json_get(counts, "subscribed"));
		l->unsubscribed =
		    count_or_unknown(json_get(counts, "unsubscribed"));
		l->pending = count_or_unknown(json_get(counts, "pending"));
		l->created_at = source_time(m, json_get(it, "created_at"));
		l->updated_at = source_time(m, json_get(it, "last_updated_at"));
	}
	return 0;
}

#define EO_KEY(role) (1u << (role))

/* EmailOctopus's configuration keys (struct source_keys). */
static const struct option_def eo_key_defs[] = {
    {.key = "EMAILOCTOPUS_API_KEY",
     .kind = OPTK_SECRET,
     .role = PROLE_API_KEY,
     .help = "emailoctopus api key (v2, sent as a bearer token)"},
    {.key = "EMAILOCTOPUS_API_URL",
     .kind = OPTK_URL,
     .role = PROLE_API_URL,
     .def = "https://api.emailoctopus.com",
     .help = "emailoctopus api base url"},
    {.key = "ESPSYNC_RATE_EMAILOCTOPUS",
     .kind = OPTK_NUMBER,
     .role = PROLE_RATE,
     .def = "10",
     .min = 0.01,
     .max = 1000,
     .help = "emailoctopus requests per second"},
    {.key = "ESPSYNC_BURST_EMAILOCTOPUS",
     .kind = OPTK_NUMBER,
     .role = PROLE_BURST,
     .def = "100",
     .min = 1,
     .max = 10000,
     .help = "emailoctopus request burst (token bucket size)"},
};

static const struct source_keys eo_keys = {
    .name = "emailoctopus",
    .title = "EmailOctopus",
    .keys = eo_key_defs,
    .n_keys = sizeof(eo_key_defs) / sizeof(eo_key_defs[0]),
    .required_roles = EO_KEY(PROLE_API_KEY),
    .is_account_url_host = 0,
    /* the earlier tool synced EmailOctopus only */
    .is_earlier_tool = 1,
};

const struct source source_emailoctopus = {
    .name = "emailoctopus",
    .keys = &eo_keys,
    .rate_per_sec = 10.0,
    .burst = 100.0,
    .retry_403_attempts = 2,
    .is_503_throttle = 0,
    .remaining_header = "X-RateLimiting-Remaining",
    .retry_after_headers = eo_retry_after,
    .secret_params = eo_secret_params,
    .contact_statuses = eo_contact_statuses,
    .report_kinds = eo_report_kinds,
    .n_report_kinds = sizeof(eo_report_kinds) / sizeof(eo_report_kinds[0]),
    .auth_header = eo_auth_header,
    .url = eo_url,
    .next_page = eo_next_page,
    .is_reportable = eo_is_reportable,
    .http_error = eo_http_error,
    .probe_detail = eo_probe_detail,
    .map_lists = eo_map_lists,
    .map_contacts = eo_map_contacts,
    .map_campaigns = eo_map_campaigns,
    .map_campaign = eo_map_campaign,
    .map_links = eo_map_links,
    .map_report = eo_map_report,
    .map_summary = eo_map_summary,
};
