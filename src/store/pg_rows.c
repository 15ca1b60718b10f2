/* COPY text rows for the PostgreSQL store: one line per record, columns in
 * the order of the staging tables in pg_write.c (seq excluded), escaped for
 * COPY's text format. */
#include "store/pg_internal.h"

#include <stdio.h>

#include "util/banned.h"

static void put_text(struct buf *b, const char *v)
{
	buf_putc(b, '\t');
	pg_copy_field(b, v);
}

static void put_time(struct buf *b, int64_t t)
{
	char iso[21];

	if (t == TIME_NULL) {
		buf_puts(b, "\t\\N");
		return;
	}
	time_format_iso(t, iso);
	buf_putc(b, '\t');
	buf_puts(b, iso);
}

static void put_int(struct buf *b, int64_t v)
{
	buf_printf(b, "\t%lld", (long long)v);
}

/* Negative counts mean "unknown" and stage NULL (keep the stored value). */
static void put_count(struct buf *b, int64_t v)
{
	if (v < 0)
		buf_puts(b, "\t\\N");
	else
		put_int(b, v);
}

void pg_row_campaign(struct buf *o, const struct batch *b,
		     const struct rec_campaign *r, const char *now)
{
	const struct campaign_stats *x = &r->stats;

	put_text(o, b->provider);
	put_text(o, b->account);
	put_text(o, r->campaign_id);
	put_text(o, r->name);
	put_text(o, r->subject);
	put_text(o, r->from_name);
	put_text(o, r->from_email);
	put_text(o, r->status);
	put_time(o, r->created_at);
	put_time(o, r->sent_at);
	put_text(o, r->to_lists_json);
	put_int(o, r->has_stats != 0);
	put_int(o, x->sent);
	put_int(o, x->opened_unique);
	put_int(o, x->opened_total);
	put_int(o, x->clicked_unique);
	put_int(o, x->clicked_total);
	put_int(o, x->bounced_hard);
	put_int(o, x->bounced_soft);
	put_int(o, x->complained);
	put_int(o, x->unsubscribed);
	put_text(o, now);
}

void pg_row_link(struct buf *o, const struct batch *b, const struct rec_link *r,
		 const char *now)
{
	put_text(o, b->provider);
	put_text(o, b->account);
	put_text(o, r->campaign_id);
	put_text(o, r->url);
	put_int(o, r->clicked_total);
	put_int(o, r->clicked_unique);
	put_text(o, now);
}

void pg_row_participant(struct buf *o, const struct batch *b,
			const struct rec_participant *r, const char *now)
{
	int i;

	put_text(o, b->provider);
	put_text(o, b->account);
	put_text(o, r->campaign_id);
	put_text(o, r->contact_id);
	put_text(o, r->email);
	for (i = 0; i < STORE_PARTICIPANT_FLAGS; i++)
		put_int(o, (r->flags & store_participant_flags[i]) != 0);
	put_text(o, now);
}

void pg_row_event(struct buf *o, const struct batch *b,
		  const struct rec_event *r, const char *now)
{
	char date[11];

	time_format_date(r->ts, date);
	pg_copy_field(o, r->event_id);
	put_text(o, date);
	put_text(o, b->provider);
	put_text(o, b->account);
	put_text(o, r->campaign_id);
	put_text(o, r->campaign_name);
	put_text(o, r->contact_id);
	put_text(o, r->contact_email);
	put_text(o, event_type_name(r->type));
	put_time(o, r->ts);
	put_int(o, r->times);
	put_text(o, r->link_url);
	put_text(o, r->bounce_type);
	put_text(o, "now"); /* created_at: the transaction's start time */
	put_text(o, now);
}

void pg_row_contact(struct buf *o, const struct batch *b,
		    const struct rec_contact *r, const char *now)
{
	put_text(o, b->provider);
	put_text(o, b->account);
	put_text(o, r->contact_id);
	put_text(o, r->email);
	put_text(o, r->first_name);
	put_text(o, r->last_name);
	put_text(o, r->phone);
	put_text(o, r->status);
	put_text(o, r->fields_json);
	put_text(o, r->tags_json);
	put_text(o, r->lists_json);
	put_time(o, r->created_at);
	put_time(o, r->updated_at);
	put_time(o, r->deleted_at);
	put_text(o, now);
}

void pg_row_list(struct buf *o, const struct batch *b, const struct rec_list *r,
		 const char *now)
{
	put_text(o, b->provider);
	put_text(o, b->account);
	put_text(o, r->list_id);
	put_text(o, r->name);
	put_text(o, r->fields_json);
	put_text(o, r->tags_json);
	put_count(o, r->subscribed);
	put_count(o, r->unsubscribed);
	put_count(o, r->pending);
	put_time(o, r->created_at);
	put_time(o, r->updated_at);
	put_text(o, now);
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
