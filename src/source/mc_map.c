/* Mailchimp pages to records: audiences (with their merge fields and tags),
 * members, campaigns (/reports rows with counters, /campaigns rows with
 * settings), click details and the per-recipient reports. Unset times are
 * "" and become NULL; an ADDRESS merge field stays an object. */
#include "source/mailchimp.h"

#include <string.h>

#include "util/jsonw.h"
#include "util/timeparse.h"
#include "util/banned.h"

static const char *nonempty(struct source_map *m, const struct json *v)
{
	return arena_strdup(&m->batch->arena, source_nonempty(json_str(v)));
}

static int64_t count_of(const struct json *v)
{
	int64_t n;

	return json_int(v, &n) == 0 && n >= 0 ? n : 0;
}

static int64_t count_or_unknown(const struct json *v)
{
	int64_t n;

	return json_int(v, &n) == 0 && n >= 0 ? n : -1;
}

/* The finished text of b in the arena, or an error: a value too large
 * for the buffer is never stored cut. */
static int done_text(struct source_map *m, struct buf *b, int rc,
		     const char **out, struct err *err)
{
	*out = NULL;
	if (rc)
		err_set(err, ERR_PARSE, 0,
			"mailchimp value too large: more than %zu bytes",
			b->max);
	else
		*out = arena_strndup(&m->batch->arena, buf_str(b), b->len);
	buf_release(b);
	return rc ? -1 : 0;
}

/* Compact JSON of v, or empty_as when v is not of type want. */
static int json_text(struct source_map *m, const struct json *v,
		     enum json_type want, const char *empty_as,
		     const char **out, struct err *err)
{
	struct buf b = BUF_INIT;

	if (json_type(v) != want) {
		*out = arena_strdup(&m->batch->arena, empty_as);
		return 0;
	}
	return done_text(m, &b, json_write(&b, v), out, err);
}

/* ["<id>"]: the to_lists / lists array of one list id. */
static int one_id_array(struct source_map *m, const char *id, const char **out,
			struct err *err)
{
	struct buf b = BUF_INIT;
	int rc;

	if (!id) {
		*out = NULL;
		return 0;
	}
	rc = buf_putc(&b, '[');
	rc = rc ? rc : jsonw_string(&b, id);
	rc = rc ? rc : buf_putc(&b, ']');
	return done_text(m, &b, rc, out, err);
}

/* The names of an array of {id, name} objects (member or list tags). */
static int tag_names(struct source_map *m, const struct json *tags,
		     const char **out, struct err *err)
{
	struct buf b = BUF_INIT;
	size_t i, n = json_len(tags);
	int rc = buf_putc(&b, '['), first = 1;

	for (i = 0; i < n && rc == 0; i++) {
		const char *name = json_str(json_get(json_at(tags, i), "name"));

		if (!name)
			continue;
		rc = first ? 0 : buf_putc(&b, ',');
		rc = rc ? rc : jsonw_string(&b, name);
		first = 0;
	}
	rc = rc ? rc : buf_putc(&b, ']');
	return done_text(m, &b, rc, out, err);
}

static const struct json *items_or_fail(const struct json *root,
					const char *key, struct err *err)
{
	const struct json *items = json_get(root, key);

	if (json_type(items) != JSON_ARRAY) {
		err_set(err, ERR_PARSE, 0, "mailchimp page has no \"%s\" array",
			key);
		return NULL;
	}
	return items;
}

int mc_map_lists(struct source_map *m, const struct json *root, struct err *err)
{
	const struct json *items = items_or_fail(root, "lists", err);
	size_t i;

	if (!items)
		return -1;
	m->n_rows = json_len(items);
	for (i = 0; i < m->n_rows; i++) {
		const struct json *it = json_at(items, i);
		const struct json *stats = json_get(it, "stats");
		const char *id = source_nonempty(json_str(json_get(it, "id")));
		struct rec_list *l;

		if (!id) {
			m->n_skipped++;
			continue;
		}
		l = batch_add_list(m->batch);
		l->list_id = arena_strdup(&m->batch->arena, id);
		l->name = source_str(m, json_get(it, "name"));
		/* merge fields and tags come with their own requests */
		l->subscribed =
		    count_or_unknown(json_get(stats, "member_count"));
		l->unsubscribed =
		    count_or_unknown(json_get(stats, "unsubscribe_count"));
		l->pending = -1;
		l->created_at = source_time(m, json_get(it, "date_created"));
	}
	return 0;
}

/* /lists/{id}/merge-fields: the list's fields as [{tag,label,type}]. */
static int map_fields(struct source_map *m, const struct json *root,
		      struct err *err)
{
	const struct json *items = items_or_fail(root, "merge_fields", err);
	struct buf b = BUF_INIT;
	struct rec_list *l;
	size_t i;
	int rc, first = 1;

	if (!items)
		return -1;
	m->n_rows = json_len(items);
	rc = buf_putc(&b, '[');
	for (i = 0; i < m->n_rows && rc == 0; i++) {
		const struct json *f = json_at(items, i);
		const char *tag = json_str(json_get(f, "tag"));

		if (!tag) {
			m->n_skipped++;
			continue;
		}
		rc = buf_puts(&b, first ? "{" : ",{");
		rc = rc ? rc : jsonw_key(&b, "tag", 1);
		rc = rc ? rc : jsonw_string(&b, tag);
		rc = rc ? rc : jsonw_key(&b, "label", 0);
		rc = rc ? rc : jsonw_string(&b, json_str(json_get(f, "name")));
		rc = rc ? rc : jsonw_key(&b, "type", 0);
		rc = rc ? rc
			: jsonw_string(
			      &b, source_lower(&m->batch->arena,
					       json_str(json_get(f, "type"))));
		rc = rc ? rc : buf_putc(&b, '}');
		first = 0;
	}
	rc = rc ? rc : buf_putc(&b, ']');
	l = batch_add_list(m->batch);
	l->list_id = arena_strdup(&m->batch->arena, m->list_id);
	l->subscribed = l->unsubscribed = l->pending = -1;
	return done_text(m, &b, rc, &l->fields_json, err);
}

/* /lists/{id}/tag-search: the list's tag names. */
static int map_list_tags(struct source_map *m, const struct json *root,
			 struct err *err)
{
	const struct json *items = items_or_fail(root, "tags", err);
	struct rec_list *l;

	if (!items)
		return -1;
	m->n_rows = json_len(items);
	l = batch_add_list(m->batch);
	l->list_id = arena_strdup(&m->batch->arena, m->list_id);
	l->subscribed = l->unsubscribed = l->pending = -1;
	return tag_names(m, items, &l->tags_json, err);
}

static const char *merge_string(struct source_map *m, const struct json *mf,
				const char *tag)
{
	const struct json *v = json_get(mf, tag);

	return json_type(v) == JSON_STRING ? source_str(m, v) : NULL;
}

/* A row whose tags_count exceeds the tags it lists (at most 50) is read
 * again for its tags. */
static int follow(struct source_map *m, const struct json *row, const char *id)
{
	int64_t n;

	if (json_int(json_get(row, "tags_count"), &n) < 0 ||
	    n <= (int64_t)json_len(json_get(row, "tags")))
		return 0;
	if (m->n_follow % 16 == 0) {
		const char **more = arena_alloc(
		    &m->batch->arena, (m->n_follow + 16) * sizeof(*more));

		if (m->n_follow)
			memcpy(more, m->follow_ids,
			       m->n_follow * sizeof(*more));
		m->follow_ids = more;
	}
	m->follow_ids[m->n_follow++] = id;
	return 0;
}

static int map_members(struct source_map *m, const struct json *root,
		       struct err *err)
{
	const struct json *items = items_or_fail(root, "members", err);
	struct arena *a = &m->batch->arena;
	const char *lists = NULL;
	size_t i;

	if (!items)
		return -1;
	if (one_id_array(m, m->list_id, &lists, err) < 0)
		return -1;
	m->n_rows = json_len(items);
	for (i = 0; i < m->n_rows; i++) {
		const struct json *it = json_at(items, i);
		const struct json *mf = json_get(it, "merge_fields");
		const char *id = source_nonempty(json_str(json_get(it, "id")));
		struct rec_contact *c;
		int64_t t;

		if (!id) {
			m->n_skipped++;
			continue;
		}
		c = batch_add_contact(m->batch);
		c->contact_id = arena_strdup(a, id);
		c->email = source_str(m, json_get(it, "email_address"));
		c->first_name = merge_string(m, mf, "FNAME");
		c->last_name = merge_string(m, mf, "LNAME");
		c->phone = merge_string(m, mf, "PHONE");
		c->status = source_lower(a, json_str(json_get(it, "status")));
		if (json_text(m, mf, JSON_OBJECT, "{}", &c->fields_json, err) <
			0 ||
		    tag_names(m, json_get(it, "tags"), &c->tags_json, err) < 0)
			return -1;
		c->lists_json = lists;
		if (follow(m, it, c->contact_id) < 0)
			return -1;
		c->created_at =
		    source_time(m, json_get(it, "timestamp_signup"));
		if (c->created_at == TIME_NULL)
			c->created_at =
			    source_time(m, json_get(it, "timestamp_opt"));
		c->updated_at = t =
		    source_time(m, json_get(it, "last_changed"));
		c->deleted_at = TIME_NULL;
		if (t != TIME_NULL && (m->newest_updated_at == TIME_NULL ||
				       t > m->newest_updated_at))
			m->newest_updated_at = t;
	}
	return 0;
}

/* /lists/{id}/members/{hash}/tags: every tag of one member whose row
 * carried only 50 (the other fields are unknown here, so they keep the
 * values the row wrote). One page of up to 1000 tags. */
static int map_member_tags(struct source_map *m, const struct json *root,
			   struct err *err)
{
	const struct json *items = items_or_fail(root, "tags", err);
	struct rec_contact *c;

	if (!items)
		return -1;
	m->n_rows = json_len(items);
	c = batch_add_contact(m->batch);
	c->contact_id = arena_strdup(&m->batch->arena, m->contact_id);
	c->deleted_at = TIME_NULL;
	return tag_names(m, items, &c->tags_json, err);
}

int mc_map_contacts(struct source_map *m, const struct json *root,
		    struct err *err)
{
	if (m->contact_id)
		return map_member_tags(m, root, err);
	if (m->status && strcmp(m->status, MC_ST_FIELDS) == 0)
		return map_fields(m, root, err);
	if (m->status && strcmp(m->status, MC_ST_TAGS) == 0)
		return map_list_tags(m, root, err);
	return map_members(m, root, err);
}

static void report_stats(struct campaign_stats *s, const struct json *r)
{
	const struct json *opens = json_get(r, "opens");
	const struct json *clicks = json_get(r, "clicks");
	const struct json *bounces = json_get(r, "bounces");
	const struct json *uc = json_get(clicks, "unique_subscriber_clicks");

	memset(s, 0, sizeof(*s));
	s->sent = count_of(json_get(r, "emails_sent"));
	s->opened_unique = count_of(json_get(opens, "unique_opens"));
	s->opened_total = count_of(json_get(opens, "opens_total"));
	/* Unique clickers, as the other providers count them. */
	s->clicked_unique = count_of(json_type(uc) == JSON_NUMBER
					 ? uc
					 : json_get(clicks, "unique_clicks"));
	s->clicked_total = count_of(json_get(clicks, "clicks_total"));
	s->bounced_hard = count_of(json_get(bounces, "hard_bounces"));
	s->bounced_soft = count_of(json_get(bounces, "soft_bounces"));
	s->complained = count_of(json_get(r, "abuse_reports"));
	s->unsubscribed = count_of(json_get(r, "unsubscribed"));
}

/* A /reports row: a sent campaign with its counters. */
static int map_report_row(struct source_map *m, const struct json *r,
			  struct err *err)
{
	const char *id = source_nonempty(json_str(json_get(r, "id")));
	const char *delivery =
	    json_str(json_get(json_get(r, "delivery_status"), "status"));
	struct rec_campaign *c;

	if (!id) {
		m->n_skipped++;
		return 0;
	}
	c = batch_add_campaign(m->batch);
	c->campaign_id = arena_strdup(&m->batch->arena, id);
	c->name = source_str(m, json_get(r, "campaign_title"));
	c->subject = source_str(m, json_get(r, "subject_line"));
	c->status = delivery && strcmp(delivery, "delivering") == 0 ? "sending"
								    : "sent";
	c->sent_at = source_time(m, json_get(r, "send_time"));
	c->has_stats = 1;
	report_stats(&c->stats, r);
	return one_id_array(m,
			    source_nonempty(json_str(json_get(r, "list_id"))),
			    &c->to_lists_json, err);
}

/* A /campaigns row (or the one campaign of --campaign). In the listing a
 * sent or sending campaign was planned from its /reports row already: its
 * status stays unknown here so it is not planned twice (the /reports row
 * stored it). */
static int map_campaign_row(struct source_map *m, const struct json *c,
			    int is_listing, struct err *err)
{
	const char *id = source_nonempty(json_str(json_get(c, "id")));
	const struct json *set = json_get(c, "settings");
	struct rec_campaign *r;
	const char *status;

	if (!id) {
		m->n_skipped++;
		return 0;
	}
	r = batch_add_campaign(m->batch);
	r->campaign_id = arena_strdup(&m->batch->arena, id);
	r->name = source_str(m, json_get(set, "title"));
	r->subject = source_str(m, json_get(set, "subject_line"));
	r->from_name = source_str(m, json_get(set, "from_name"));
	r->from_email = nonempty(m, json_get(set, "reply_to"));
	status =
	    source_lower(&m->batch->arena, json_str(json_get(c, "status")));
	r->status = is_listing && source_mailchimp.is_reportable(status)
			? NULL
			: status;
	r->created_at = source_time(m, json_get(c, "create_time"));
	r->sent_at = source_time(m, json_get(c, "send_time"));
	r->has_stats = 0;
	return one_id_array(m,
			    source_nonempty(json_str(json_get(
				json_get(c, "recipients"), "list_id"))),
			    &r->to_lists_json, err);
}

int mc_map_campaigns(struct source_map *m, const struct json *root,
		     struct err *err)
{
	const struct json *items = json_get(root, "reports");
	int is_reports = json_type(items) == JSON_ARRAY;
	size_t i;

	if (!is_reports)
		items = items_or_fail(root, "campaigns", err);
	if (!items)
		return -1;
	m->n_rows = json_len(items);
	for (i = 0; i < m->n_rows; i++) {
		const struct json *it = json_at(items, i);
		int rc = is_reports ? map_report_row(m, it, err)
				    : map_campaign_row(m, it, 1, err);

		if (rc < 0)
			return -1;
	}
	return 0;
}

int mc_map_campaign(struct source_map *m, const struct json *root,
		    struct err *err)
{
	if (json_type(root) != JSON_OBJECT ||
	    !source_nonempty(json_str(json_get(root, "id"))))
		return err_set(err, ERR_PARSE, 0,
			       "mailchimp campaign has no \"id\"");
	m->n_rows = 1;
	return map_campaign_row(m, root, 0, err);
}

int mc_map_summary(struct campaign_stats *out, const struct json *root,
		   struct err *err)
{
	if (json_type(root) != JSON_OBJECT)
		return err_set(err, ERR_PARSE, 0,
			       "mailchimp report is not an object");
	report_stats(out, root);
	return 0;
}

int mc_map_links(struct source_map *m, const struct json *root, struct err *err)
{
	const struct json *items = items_or_fail(root, "urls_clicked", err);
	size_t i;

	if (!items)
		return -1;
	m->n_rows = json_len(items);
	for (i = 0; i < m->n_rows; i++) {
		const struct json *it = json_at(items, i);
		const char *url =
		    source_nonempty(json_str(json_get(it, "url")));
		struct rec_link *l;

		if (!url) {
			m->n_skipped++;
			continue;
		}
		l = batch_add_link(m->batch);
		l->campaign_id = arena_strdup(&m->batch->arena, m->campaign_id);
		l->url = arena_strdup(&m->batch->arena, url);
		l->clicked_total = count_of(json_get(it, "total_clicks"));
		l->clicked_unique = count_of(json_get(it, "unique_clicks"));
	}
	return 0;
}

/* What one report row is about. */
struct row_ctx {
	const char *cid, *cname; /* arena copies, shared by the page */
	struct rec_participant *p;
};

static struct rec_event *add_event(struct source_map *m, struct row_ctx *rc,
				   enum event_type type, int64_t when,
				   const char *url, const char *bounce_type)
{
	struct rec_event *ev;

	if (!m->want_events || when == TIME_NULL ||
	    (m->cutoff != TIME_NULL && when < m->cutoff))
		return NULL;
	ev = batch_add_event(m->batch);
	ev->campaign_id = rc->cid;
	ev->campaign_name = rc->cname;
	ev->contact_id = rc->p->contact_id;
	ev->contact_email = rc->p->email;
	ev->type = type;
	ev->ts = when;
	ev->times = 1;
	ev->link_url = url;
	ev->bounce_type = bounce_type;
	event_make_id(ev, m->batch->provider, m->batch->account);
	if (m->newest_updated_at == TIME_NULL || when > m->newest_updated_at)
		m->newest_updated_at = when;
	return ev;
}

/* One email-activity row: the recipient (sent), and each open, click
 * (with its URL) and bounce (hard or soft) as an event. The same action
 * twice in one second (and URL) is one event with times 2. */
static void activity_row(struct source_map *m, struct row_ctx *rc,
			 const struct json *acts)
{
	size_t i, n = json_len(acts), first = m->batch->n_events;

	for (i = 0; i < n; i++) {
		const struct json *a = json_at(acts, i);
		const char *action = json_str(json_get(a, "action"));
		const char *url = NULL, *bt = NULL;
		enum event_type type;
		int64_t when = source_time(m, json_get(a, "timestamp"));
		size_t j;

		if (!action)
			continue;
		if (!strcmp(action, "open")) {
			type = EV_OPEN;
			rc->p->flags |= ENG_OPENED;
		} else if (!strcmp(action, "click")) {
			type = EV_CLICK;
			rc->p->flags |= ENG_CLICKED;
			url = nonempty(m, json_get(a, "url"));
		} else if (!strcmp(action, "bounce")) {
			type = EV_BOUNCE;
			rc->p->flags |= ENG_BOUNCED;
			bt = source_lower(
			    &m->batch->arena,
			    source_nonempty(json_str(json_get(a, "type"))));
		} else {
			continue;
		}
		for (j = first; j < m->batch->n_events; j++) {
			struct rec_event *e = &m->batch->events[j];

			if (e->type == type && e->ts == when &&
			    ((!e->link_url && !url) ||
			     (e->link_url && url && !strcmp(e->link_url, url))))
				break;
		}
		if (j < m->batch->n_events && when != TIME_NULL)
			m->batch->events[j].times++;
		else
			add_event(m, rc, type, when, url, bt);
	}
}

int mc_map_report(struct source_map *m, const struct json *root,
		  struct err *err)
{
	const char *kind = m->kind ? m->kind->status : "";
	int is_activity = !strcmp(kind, MC_RK_ACTIVITY);
	int is_abuse = !strcmp(kind, MC_RK_ABUSE);
	const struct json *items = items_or_fail(root,
						 is_activity ? "emails"
						 : is_abuse  ? "abuse_reports"
							     : "unsubscribes",
						 err);
	struct arena *a = &m->batch->arena;
	struct row_ctx rc = {NULL, NULL, NULL};
	size_t i;

	if (!items)
		return -1;
	m->n_rows = json_len(items);
	for (i = 0; i < m->n_rows; i++) {
		const struct json *row = json_at(items, i);
		const char *id =
		    source_nonempty(json_str(json_get(row, "email_id")));

		if (!id) {
			m->n_skipped++;
			continue;
		}
		if (!rc.cid) {
			rc.cid = arena_strdup(a, m->campaign_id);
			rc.cname = arena_strdup(a, m->campaign_name);
		}
		rc.p = batch_add_participant(m->batch);
		rc.p->campaign_id = rc.cid;
		rc.p->contact_id = arena_strdup(a, id);
		rc.p->email = source_str(m, json_get(row, "email_address"));
		rc.p->flags = m->kind ? m->kind->flag : 0;
		if (is_activity)
			activity_row(m, &rc, json_get(row, "activity"));
		else
			add_event(m, &rc, m->kind->type,
				  source_time(
				      m, json_get(row, is_abuse ? "date"
								: "timestamp")),
				  NULL, NULL);
	}
	return 0;
}
