/* The ground truth document served at /_sim/truth: everything a correct
 * sync must end up with, derived from the same rows the API pages through.
 * Shared serialisers (summary, tags, counts) live here too. */
#include "account.h"

#include <string.h>

#include "simtime.h"
#include "util/jsonw.h"
#include "util/banned.h"

int account_summary_json(const struct campaign *c, struct buf *out)
{
	const struct summary *s = &c->sum;

	return buf_printf(out,
			  "{\"id\":\"%s\",\"sent\":%ld,\"bounced\":"
			  "{\"hard\":%ld,\"soft\":%ld},\"opened\":"
			  "{\"total\":%ld,\"unique\":%ld},\"clicked\":"
			  "{\"total\":%ld,\"unique\":%ld},\"complained\":"
			  "%ld,\"unsubscribed\":%ld}",
			  c->id, s->sent, s->bounced_hard, s->bounced_soft,
			  s->opened_total, s->opened_unique, s->clicked_total,
			  s->clicked_unique, s->complained, s->unsubscribed);
}

int account_tags_json(const struct account *a, const struct contact *c,
		      struct buf *out)
{
	const struct list *l = &a->lists[c->list];
	int k, rc = buf_putc(out, '['), first = 1;

	for (k = 0; k < l->n_tags; k++) {
		if (!(c->tags & (1u << k)))
			continue;
		if (!first)
			rc |= buf_putc(out, ',');
		rc |= jsonw_string(out, l->tags[k]);
		first = 0;
	}
	rc |= buf_putc(out, ']');
	return rc ? -1 : 0;
}

void account_list_counts(const struct account *a, const struct list *l,
			 long counts[3])
{
	size_t i;

	counts[0] = counts[1] = counts[2] = 0;
	for (i = 0; i < l->n_members; i++)
		counts[a->contacts[l->members[i]].status]++;
}

static BUF_MUST_CHECK int truth_campaigns(const struct account *a,
					  struct buf *out)
{
	size_t i;
	int rc = buf_puts(out, "\"campaigns\":[");

	for (i = 0; i < a->n_camps; i++) {
		const struct campaign *c = &a->camps[i];
		int j;

		rc |= buf_printf(out,
				 "%s{\"id\":\"%s\",\"status\":\"%s\","
				 "\"name\":",
				 i ? "," : "", c->id,
				 campaign_status_name(c->status));
		rc |= jsonw_string(out, c->name);
		rc |= buf_puts(out, ",\"subject\":");
		rc |= jsonw_string(out, c->subject);
		rc |= buf_puts(out, ",\"from_name\":");
		rc |= jsonw_string(out, c->from_name);
		rc |= buf_puts(out, ",\"from_email\":");
		rc |= jsonw_string(out, c->from_email);
		rc |= buf_puts(out, ",\"created_at\":");
		rc |= simtime_json(out, c->created_at);
		rc |= buf_puts(out, ",\"sent_at\":");
		rc |= simtime_json(out, c->sent_at);
		rc |= buf_puts(out, ",\"to\":[");
		for (j = 0; j < c->n_to; j++)
			rc |= buf_printf(out, "%s\"%s\"", j ? "," : "",
					 a->lists[c->to[j]].id);
		rc |= buf_puts(out, "],\"summary\":");
		if (account_has_reports(c))
			rc |= account_summary_json(c, out);
		else
			rc |= buf_puts(out, "null");
		rc |= buf_putc(out, '}');
	}
	rc |= buf_puts(out, "],\"links\":[");
	for (i = 0; i < a->n_camps; i++) {
		const struct campaign *c = &a->camps[i];
		int j;

		if (!account_has_reports(c))
			continue;
		for (j = 0; j < c->n_links; j++) {
			if (out->data[out->len - 1] != '[')
				rc |= buf_putc(out, ',');
			rc |= buf_printf(
			    out, "{\"campaign_id\":\"%s\",\"url\":", c->id);
			rc |= jsonw_string(out, c->links[j].url);
			rc |= buf_printf(out,
					 ",\"clicked_total\":%ld,"
					 "\"clicked_unique\":%ld}",
					 c->links[j].clicked_total,
					 c->links[j].clicked_unique);
		}
	}
	rc |= buf_putc(out, ']');
	return rc ? -1 : 0;
}

static BUF_MUST_CHECK int truth_lists(const struct account *a, struct buf *out)
{
	size_t i;
	int rc = buf_puts(out, "\"lists\":[");

	for (i = 0; i < a->n_lists; i++) {
		const struct list *l = &a->lists[i];
		long counts[3];
		int k;

		rc |= buf_printf(
		    out, "%s{\"id\":\"%s\",\"name\":", i ? "," : "", l->id);
		rc |= jsonw_string(out, l->name);
		rc |= buf_puts(out, ",\"fields\":[");
		for (k = 0; k < l->n_fields; k++) {
			rc |= buf_printf(out, "%s{\"tag\":", k ? "," : "");
			rc |= jsonw_string(out, l->fields[k].tag);
			rc |= buf_puts(out, ",\"label\":");
			rc |= jsonw_string(out, l->fields[k].label);
			rc |= buf_printf(out, ",\"type\":\"%s\"}",
					 field_type_name(l->fields[k].type));
		}
		rc |= buf_puts(out, "],\"tags\":[");
		for (k = 0; k < l->n_tags; k++) {
			if (k)
				rc |= buf_putc(out, ',');
			rc |= jsonw_string(out, l->tags[k]);
		}
		account_list_counts(a, l, counts);
		rc |= buf_printf(out,
				 "],\"counts\":{\"pending\":%ld,"
				 "\"subscribed\":%ld,\"unsubscribed\":%ld}}",
				 counts[CS_PENDING], counts[CS_SUBSCRIBED],
				 counts[CS_UNSUBSCRIBED]);
	}
	rc |= buf_putc(out, ']');
	return rc ? -1 : 0;
}

static BUF_MUST_CHECK int truth_contacts(const struct account *a,
					 struct buf *out)
{
	size_t i;
	int rc = buf_puts(out, "\"contacts\":[");

	for (i = 0; i < a->n_contacts; i++) {
		const struct contact *c = &a->contacts[i];

		rc |= buf_printf(out,
				 "%s{\"id\":\"%s\",\"list_id\":\"%s\","
				 "\"email_address\":",
				 i ? "," : "", c->id, a->lists[c->list].id);
		rc |= jsonw_string(out, a->persons[c->person].email);
		rc |= buf_printf(out, ",\"status\":\"%s\",\"fields\":",
				 contact_status_name(c->status));
		rc |= account_fields_json(a, c, out);
		rc |= buf_puts(out, ",\"tags\":");
		rc |= account_tags_json(a, c, out);
		rc |= buf_puts(out, ",\"created_at\":");
		rc |= simtime_json(out, c->created_at);
		rc |= buf_puts(out, ",\"last_updated_at\":");
		rc |= simtime_json(out, c->last_updated_at);
		rc |= buf_putc(out, '}');
	}
	rc |= buf_putc(out, ']');
	return rc ? -1 : 0;
}

static BUF_MUST_CHECK int truth_participants(const struct account *a,
					     struct buf *out)
{
	size_t i, j;
	int rc = buf_puts(out, "\"participants\":["), first = 1;

	for (i = 0; i < a->n_camps; i++) {
		const struct campaign *c = &a->camps[i];
		const struct rows *s = &c->rep[RT_SENT];

		if (!account_has_reports(c))
			continue;
		for (j = 0; j < s->n; j++) {
			const struct contact *ct =
			    &a->contacts[s->v[j].contact];
			uint16_t f = c->flags[s->v[j].contact];

			rc |= buf_printf(out,
					 "%s{\"campaign_id\":\"%s\","
					 "\"contact_id\":\"%s\","
					 "\"email_address\":",
					 first ? "" : ",", c->id, ct->id);
			first = 0;
			rc |= jsonw_string(out, a->persons[ct->person].email);
			rc |= buf_printf(out, ",\"status\":\"%s\",\"fields\":",
					 contact_status_name(ct->status));
			rc |= account_fields_json(a, ct, out);
			rc |= buf_printf(
			    out,
			    ",\"opened\":%s,\"clicked\":%s,\"bounced\":%s,"
			    "\"complained\":%s,\"unsubscribed\":%s}",
			    f & (1u << RT_OPENED) ? "true" : "false",
			    f & (1u << RT_CLICKED) ? "true" : "false",
			    f & (1u << RT_BOUNCED) ? "true" : "false",
			    f & (1u << RT_COMPLAINED) ? "true" : "false",
			    f & (1u << RT_UNSUBSCRIBED) ? "true" : "false");
		}
	}
	rc |= buf_putc(out, ']');
	return rc ? -1 : 0;
}

static BUF_MUST_CHECK int truth_events(const struct account *a, struct buf *out)
{
	static const char *const types[] = {
	    "sent", "open", "click", "bounce", "complaint", "unsubscribe"};
	size_t i, j;
	int rc = buf_puts(out, "\"events\":["), first = 1, k;

	for (i = 0; i < a->n_camps; i++) {
		const struct campaign *c = &a->camps[i];

		if (!account_has_reports(c))
			continue;
		for (k = 0; k < RT_STORED; k++) {
			for (j = 0; j < c->rep[k].n; j++) {
				const struct row *r = &c->rep[k].v[j];
				const struct contact *ct =
				    &a->contacts[r->contact];

				if (account_row_occ(a, r) != OCC_PRESENT)
					continue;
				rc |=
				    buf_printf(out,
					       "%s{\"campaign_id\":\"%s\","
					       "\"contact_id\":\"%s\","
					       "\"email_address\":",
					       first ? "" : ",", c->id, ct->id);
				first = 0;
				rc |= jsonw_string(
				    out, a->persons[ct->person].email);
				rc |= buf_printf(out,
						 ",\"type\":\"%s\","
						 "\"occurred_at\":",
						 types[k]);
				rc |= simtime_json(out, r->t);
				rc |= buf_putc(out, '}');
			}
		}
	}
	rc |= buf_putc(out, ']');
	return rc ? -1 : 0;
}

int account_truth(const struct account *a, struct buf *out)
{
	int rc = buf_puts(out, "{\"now\":");

	rc |= simtime_json(out, a->now);
	rc |= buf_putc(out, ',');
	rc |= truth_campaigns(a, out);
	rc |= buf_putc(out, ',');
	rc |= truth_lists(a, out);
	rc |= buf_putc(out, ',');
	rc |= truth_contacts(a, out);
	rc |= buf_putc(out, ',');
	rc |= truth_participants(a, out);
	rc |= buf_putc(out, ',');
	rc |= truth_events(a, out);
	rc |= buf_puts(out, "}\n");
	return rc ? -1 : 0;
}
