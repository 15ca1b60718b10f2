/* The Mailchimp ground truth (GET /_sim/truth?provider=mailchimp): every
 * audience, campaign (with the report counters), member (deleted ones
 * flagged) and event, in UTC "…Z" times. See docs/simulator.md. */
#include "mc_int.h"

#include <string.h>

#include "util/jsonw.h"
#include "util/banned.h"

static BUF_MUST_CHECK int put_tags(const struct mc_member *m, struct buf *b)
{
	int k, rc = 0, first = 1;

	rc |= buf_putc(b, '[');
	for (k = 0; k < MC_N_TAGS; k++) {
		if (!(m->tags >> k & 1))
			continue;
		if (!first)
			rc |= buf_putc(b, ',');
		rc |= jsonw_string(b, mc_tag_names[k]);
		first = 0;
	}
	rc |= buf_putc(b, ']');
	return rc;
}

static BUF_MUST_CHECK int put_time_or_null(struct buf *b, int64_t t)
{
	return t < 0 ? buf_puts(b, "null") : jsonw_time(b, t);
}

static BUF_MUST_CHECK int truth_lists(const struct mc_account *a, struct buf *b)
{
	int l, k, rc = 0;

	rc |= buf_puts(b, "\"lists\":[");
	for (l = 0; l < a->n_lists; l++) {
		long cnt[MS_N] = {0};
		size_t i;

		for (i = 0; i < a->n_members; i++)
			if (a->members[i].list == l &&
			    a->members[i].deleted_at < 0)
				cnt[a->members[i].status]++;
		rc |= buf_printf(b, "%s{\"id\":\"%s\",\"name\":", l ? "," : "",
				 a->lists[l].id);
		rc |= jsonw_string(b, a->lists[l].name);
		rc |= buf_puts(b, ",\"created_at\":");
		rc |= jsonw_time(b, a->lists[l].created);
		rc |= buf_printf(
		    b,
		    ",\"merge_fields\":[\"FNAME\",\"LNAME\",\"ADDRESS\","
		    "\"PHONE\"],\"subscribed\":%ld,\"unsubscribed\":%ld,"
		    "\"cleaned\":%ld,\"pending\":%ld,\"archived\":%ld,"
		    "\"tags\":[",
		    cnt[MS_SUBSCRIBED], cnt[MS_UNSUBSCRIBED], cnt[MS_CLEANED],
		    cnt[MS_PENDING], cnt[MS_ARCHIVED]);
		for (k = 0; k < MC_N_TAGS; k++) {
			if (k)
				rc |= buf_putc(b, ',');
			rc |= jsonw_string(b, mc_tag_names[k]);
		}
		rc |= buf_puts(b, "]}");
	}
	rc |= buf_puts(b, "],");
	return rc;
}

static BUF_MUST_CHECK int truth_campaign(const struct mc_account *a,
					 const struct mc_campaign *c,
					 struct buf *b)
{
	struct mc_counts n;
	size_t p, live = 0;
	int k, rc = 0;

	mc_counts(a, c, &n);
	for (p = 0; p < c->n_rcpt; p++)
		live += a->members[c->rcpt[p]].deleted_at < 0;
	rc |= buf_printf(b, "{\"id\":\"%s\",\"web_id\":%ld,\"title\":", c->id,
			 c->web_id);
	rc |= jsonw_string(b, c->title);
	rc |= buf_puts(b, ",\"subject\":");
	rc |= jsonw_string(b, c->subject);
	rc |= buf_printf(b,
			 ",\"status\":\"%s\",\"is_draft\":%s,\"list_id\":"
			 "\"%s\",\"created_at\":",
			 c->is_draft ? "save" : "sent",
			 c->is_draft ? "true" : "false", a->lists[c->list].id);
	rc |= jsonw_time(b, c->create_time);
	rc |= buf_puts(b, ",\"sent_at\":");
	rc |= put_time_or_null(b, c->send_time);
	rc |= buf_printf(
	    b,
	    ",\"emails_sent\":%zu,\"recipients\":%zu,\"opens_total\":%ld,"
	    "\"unique_opens\":%ld,\"clicks_total\":%ld,\"unique_clicks\":%ld,"
	    "\"hard_bounces\":%ld,\"soft_bounces\":%ld,\"unsubscribed\":%ld,"
	    "\"abuse_reports\":%ld,\"last_open\":",
	    c->is_draft ? (size_t)0 : c->n_rcpt, live, n.opens, n.unique_opens,
	    n.clicks, n.unique_clicks, n.hard, n.soft, n.unsub, n.abuse);
	rc |= put_time_or_null(b, n.last_open);
	rc |= buf_puts(b, ",\"last_click\":");
	rc |= put_time_or_null(b, n.last_click);
	rc |= buf_puts(b, ",\"links\":[");
	for (k = 0; k < c->n_links; k++) {
		rc |= buf_puts(b, k ? ",{\"url\":" : "{\"url\":");
		rc |= jsonw_string(b, c->link_url[k]);
		rc |= buf_printf(b,
				 ",\"total_clicks\":%ld,\"unique_clicks\":%ld}",
				 n.link_total[k], n.link_unique[k]);
	}
	rc |= buf_puts(b, "]}");
	return rc;
}

static BUF_MUST_CHECK int truth_member(const struct mc_account *a,
				       const struct mc_member *m, struct buf *b)
{
	int rc = 0;

	rc |=
	    buf_printf(b, "{\"id\":\"%s\",\"list_id\":\"%s\",\"email\":", m->id,
		       a->lists[m->list].id);
	rc |= jsonw_string(b, m->email);
	rc |= buf_puts(b, ",\"first_name\":");
	rc |= jsonw_string(b, m->fname);
	rc |= buf_puts(b, ",\"last_name\":");
	rc |= jsonw_string(b, m->lname);
	rc |= buf_puts(b, ",\"phone\":");
	rc |= jsonw_string(b, m->phone);
	rc |= buf_printf(b, ",\"status\":\"%s\",\"merge_fields\":{\"FNAME\":",
			 mc_status_names[m->status]);
	rc |= jsonw_string(b, m->fname);
	rc |= buf_puts(b, ",\"LNAME\":");
	rc |= jsonw_string(b, m->lname);
	rc |= buf_puts(b, ",\"ADDRESS\":");
	if (m->has_address) {
		rc |= buf_puts(b, "{\"addr1\":\"1 Main St\",\"addr2\":\"\","
				  "\"city\":");
		rc |= jsonw_string(b, m->city);
		rc |= buf_puts(b, ",\"state\":\"IL\",\"zip\":\"60601\","
				  "\"country\":\"US\"}");
	} else {
		rc |= buf_puts(b, "\"\"");
	}
	rc |= buf_puts(b, ",\"PHONE\":");
	rc |= jsonw_string(b, m->phone);
	rc |= buf_printf(
	    b, "},\"tags_count\":%d,\"tags\":", __builtin_popcountll(m->tags));
	rc |= put_tags(m, b);
	rc |= buf_puts(b, ",\"timestamp_opt\":");
	rc |= jsonw_time(b, m->opt);
	rc |= buf_puts(b, ",\"timestamp_signup\":");
	rc |= put_time_or_null(b, m->signup);
	rc |= buf_puts(b, ",\"last_changed\":");
	rc |= jsonw_time(b, m->last_changed);
	rc |= buf_printf(b, ",\"deleted\":%s,\"deleted_at\":",
			 m->deleted_at >= 0 ? "true" : "false");
	rc |= put_time_or_null(b, m->deleted_at);
	rc |= buf_putc(b, '}');
	return rc;
}

static BUF_MUST_CHECK int truth_events(const struct mc_account *a,
				       const struct mc_campaign *c, int *first,
				       struct buf *b)
{
	static const char *const types[MA_N] = {"open", "click", "bounce",
						"unsubscribe", "complaint"};
	size_t i;
	int rc = 0;

	for (i = 0; i < c->n_ev; i++) {
		const struct mc_event *e = &c->ev[i];
		const struct mc_member *m = &a->members[c->rcpt[e->pos]];

		rc |= buf_printf(b,
				 "%s{\"campaign_id\":\"%s\",\"member_id\":"
				 "\"%s\",\"email\":",
				 *first ? "" : ",", c->id, m->id);
		rc |= jsonw_string(b, m->email);
		rc |= buf_printf(
		    b, ",\"type\":\"%s\",\"occurred_at\":", types[e->action]);
		rc |= jsonw_time(b, e->t);
		rc |= buf_puts(b, ",\"link_url\":");
		rc |= jsonw_string(
		    b, e->action == MA_CLICK ? c->link_url[e->link] : NULL);
		rc |=
		    buf_printf(b, ",\"bounce_type\":%s,\"member_deleted\":%s}",
			       e->action != MA_BOUNCE ? "null"
			       : e->hard	      ? "\"hard\""
						      : "\"soft\"",
			       m->deleted_at >= 0 ? "true" : "false");
		*first = 0;
	}
	return rc;
}

int mc_truth(const struct mc_account *a, struct buf *out)
{
	size_t i;
	int rc = 0, first = 1;

	rc |= buf_puts(out, "{\"provider\":\"mailchimp\",\"now\":");
	rc |= jsonw_time(out, a->now);
	rc |= buf_putc(out, ',');
	rc |= truth_lists(a, out);
	rc |= buf_puts(out, "\"campaigns\":[");
	for (i = 0; i < a->n_camps; i++) {
		if (i)
			rc |= buf_putc(out, ',');
		rc |= truth_campaign(a, &a->camps[i], out);
	}
	rc |= buf_puts(out, "],\"members\":[");
	for (i = 0; i < a->n_members; i++) {
		if (i)
			rc |= buf_putc(out, ',');
		rc |= truth_member(a, &a->members[i], out);
	}
	rc |= buf_puts(out, "],\"events\":[");
	for (i = 0; i < a->n_camps; i++)
		rc |= truth_events(a, &a->camps[i], &first, out);
	rc |= buf_puts(out, "]}\n");
	return rc;
}
