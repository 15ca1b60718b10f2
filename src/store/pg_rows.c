/* COPY text rows for the PostgreSQL store: one line per record, columns in
 * the order of the staging tables in pg_write.c (seq excluded), escaped for
 * COPY's text format. */
#include "store/pg_internal.h"

#include <stdio.h>

#include "util/banned.h"

static int put_text(struct buf *b, const char *v)
{
	return buf_putc(b, '\t') | pg_copy_field(b, v);
}

static int put_time(struct buf *b, int64_t t)
{
	char iso[21];

	if (t == TIME_NULL)
		return buf_puts(b, "\t\\N");
	time_format_iso(t, iso);
	return buf_putc(b, '\t') | buf_puts(b, iso);
}

static int put_int(struct buf *b, int64_t v)
{
	return buf_printf(b, "\t%lld", (long long)v);
}

/* Negative counts mean "unknown" and stage NULL (keep the stored value). */
static int put_count(struct buf *b, int64_t v)
{
	return v < 0 ? buf_puts(b, "\t\\N") : put_int(b, v);
}

int pg_row_campaign(struct buf *o, const struct batch *b,
		    const struct rec_campaign *r, const char *now)
{
	const struct campaign_stats *x = &r->stats;
	int rc = 0;

	rc |= put_text(o, b->provider);
	rc |= put_text(o, b->account);
	rc |= put_text(o, r->campaign_id);
	rc |= put_text(o, r->name);
	rc |= put_text(o, r->subject);
	rc |= put_text(o, r->from_name);
	rc |= put_text(o, r->from_email);
	rc |= put_text(o, r->status);
	rc |= put_time(o, r->created_at);
	rc |= put_time(o, r->sent_at);
	rc |= put_text(o, r->to_lists_json);
	rc |= put_int(o, r->has_stats != 0);
	rc |= put_int(o, x->sent);
	rc |= put_int(o, x->opened_unique);
	rc |= put_int(o, x->opened_total);
	rc |= put_int(o, x->clicked_unique);
	rc |= put_int(o, x->clicked_total);
	rc |= put_int(o, x->bounced_hard);
	rc |= put_int(o, x->bounced_soft);
	rc |= put_int(o, x->complained);
	rc |= put_int(o, x->unsubscribed);
	rc |= put_count(o, r->verified_opens);
	rc |= put_count(o, r->verified_unique_opens);
	rc |= put_text(o, now);
	return rc;
}

int pg_row_link(struct buf *o, const struct batch *b, const struct rec_link *r,
		const char *now)
{
	int rc = 0;

	rc |= put_text(o, b->provider);
	rc |= put_text(o, b->account);
	rc |= put_text(o, r->campaign_id);
	rc |= put_text(o, r->url);
	rc |= put_int(o, r->clicked_total);
	rc |= put_int(o, r->clicked_unique);
	rc |= put_text(o, now);
	return rc;
}

int pg_row_participant(struct buf *o, const struct batch *b,
		       const struct rec_participant *r, const char *now)
{
	int i, rc = 0;

	rc |= put_text(o, b->provider);
	rc |= put_text(o, b->account);
	rc |= put_text(o, r->campaign_id);
	rc |= put_text(o, r->contact_id);
	rc |= put_text(o, r->email);
	for (i = 0; i < STORE_PARTICIPANT_FLAGS; i++)
		rc |= put_int(o, (r->flags & store_participant_flags[i]) != 0);
	rc |= put_text(o, now);
	return rc;
}

int pg_row_event(struct buf *o, const struct batch *b,
		 const struct rec_event *r, const char *now)
{
	char date[11];
	int rc = 0;

	time_format_date(r->ts, date);
	rc |= pg_copy_field(o, r->event_id);
	rc |= put_text(o, date);
	rc |= put_text(o, b->provider);
	rc |= put_text(o, b->account);
	rc |= put_text(o, r->campaign_id);
	rc |= put_text(o, r->campaign_name);
	rc |= put_text(o, r->contact_id);
	rc |= put_text(o, r->contact_email);
	rc |= put_text(o, event_type_name(r->type));
	rc |= put_time(o, r->ts);
	rc |= put_int(o, r->times);
	rc |= put_text(o, r->link_url);
	rc |= put_text(o, r->bounce_type);
	rc |= put_text(o, "now"); /* created_at: the transaction's start time */
	rc |= put_text(o, now);
	return rc;
}

int pg_row_contact(struct buf *o, const struct batch *b,
		   const struct rec_contact *r, const char *now)
{
	int rc = 0;

	rc |= put_text(o, b->provider);
	rc |= put_text(o, b->account);
	rc |= put_text(o, r->contact_id);
	rc |= put_text(o, r->email);
	rc |= put_text(o, r->first_name);
	rc |= put_text(o, r->last_name);
	rc |= put_text(o, r->phone);
	rc |= put_text(o, r->status);
	rc |= put_text(o, r->fields_json);
	rc |= put_text(o, r->tags_json);
	rc |= put_text(o, r->lists_json);
	rc |= put_time(o, r->created_at);
	rc |= put_time(o, r->updated_at);
	rc |= put_time(o, r->deleted_at);
	rc |= put_text(o, now);
	return rc;
}

int pg_row_list(struct buf *o, const struct batch *b, const struct rec_list *r,
		const char *now)
{
	int rc = 0;

	rc |= put_text(o, b->provider);
	rc |= put_text(o, b->account);
	rc |= put_text(o, r->list_id);
	rc |= put_text(o, r->name);
	rc |= put_text(o, r->fields_json);
	rc |= put_text(o, r->tags_json);
	rc |= put_count(o, r->subscribed);
	rc |= put_count(o, r->unsubscribed);
	rc |= put_count(o, r->pending);
	rc |= put_time(o, r->created_at);
	rc |= put_time(o, r->updated_at);
	rc |= put_text(o, now);
	return rc;
}

int pg_copy_field(struct buf *b, const char *s)
{
	const char *p, *run;

	if (!s)
		return buf_append(b, "\\N", 2);
	for (run = p = s; *p; p++) {
		const char *esc = NULL;

		switch (*p) {
		case '\\':
			esc = "\\\\";
			break;
		case '\t':
			esc = "\\t";
			break;
		case '\n':
			esc = "\\n";
			break;
		case '\r':
			esc = "\\r";
			break;
		default:
			continue;
		}
		if (buf_append(b, run, (size_t)(p - run)) < 0 ||
		    buf_append(b, esc, 2) < 0)
			return -1;
		run = p + 1;
	}
	return buf_append(b, run, (size_t)(p - run));
}
