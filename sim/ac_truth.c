/* The ActiveCampaign ground truth served at
 * /_sim/truth?provider=activecampaign: campaigns with counters, lists,
 * tags, fields, contacts (deleted ones flagged) and one event per v1
 * report row, all instants in UTC ("...Z"). See docs/simulator.md. */
#include "ac_int.h"

#include <string.h>

#include "util/jsonw.h"
#include "util/timeparse.h"
#include "util/banned.h"

/* The simulator marks "no time" with t < 0. */
static BUF_MUST_CHECK int put_utc(struct buf *b, int64_t t)
{
	return jsonw_time(b, t < 0 ? TIME_NULL : t);
}

static BUF_MUST_CHECK int truth_campaigns(const struct ac_account *a,
					  struct buf *b)
{
	int rc = 0;
	size_t i;
	int k;

	rc |= buf_puts(b, "\"campaigns\":[");
	for (i = 0; i < a->n_camps; i++) {
		const struct ac_campaign *c = &a->camps[i];
		const struct ac_counts *n = &c->cnt;

		rc |= buf_printf(b, "%s{\"id\":\"%ld\",\"name\":", i ? "," : "",
				 c->id);
		rc |= jsonw_string(b, c->name);
		rc |= buf_printf(b,
				 ",\"status\":\"%s\",\"is_draft\":%s,"
				 "\"message_id\":\"%ld\",\"list_id\":\"%d\","
				 "\"created_at\":",
				 c->automation ? "1"
				 : c->is_draft ? "0"
					       : "5",
				 c->is_draft ? "true" : "false", c->message_id,
				 c->list + 1);
		rc |= put_utc(b, c->cdate);
		rc |= buf_puts(b, ",\"subject\":");
		rc |= ac_put_subject(b, c);
		rc |= buf_puts(b, ",\"from_name\":");
		rc |= jsonw_string(b, ac_from_name(c));
		rc |= buf_puts(b, ",\"from_email\":");
		rc |= jsonw_string(b, ac_from_email(c));
		if (c->automation)
			rc |= buf_printf(b, ",\"automation\":\"%ld\"",
					 c->automation);
		rc |= buf_puts(b, ",\"sent_at\":");
		rc |= put_utc(b, c->is_draft ? -1 : c->sdate);
		rc |= buf_puts(b, ",\"updated_at\":");
		rc |= put_utc(b, c->updated);
		rc |= buf_printf(
		    b,
		    ",\"send_amt\":%zu,\"opens\":%ld,\"uniqueopens\":%ld,"
		    "\"linkclicks\":%ld,\"uniquelinkclicks\":%ld,"
		    "\"hardbounces\":%ld,\"softbounces\":%ld,"
		    "\"unsubscribes\":%ld,\"links\":[",
		    c->n_rcpt, n->opens, n->uniqueopens, n->linkclicks,
		    n->uniquelinkclicks, n->hardbounces, n->softbounces,
		    n->unsubscribes);
		for (k = 0; k < c->n_links; k++) {
			rc |= buf_puts(b, k ? "," : "");
			rc |= jsonw_string(b, c->link_url[k]);
		}
		rc |= buf_puts(b, "]}");
	}
	rc |= buf_puts(b, "]");
	return rc;
}

/* active if any list is active, else bounced, else unsubscribed, else
 * none (no list membership). */
static const char *contact_status(const struct ac_contact *c)
{
	int k, seen[4] = {0};

	for (k = 0; k < AC_N_LISTS; k++)
		seen[c->lstat[k]] = 1;
	return seen[ACL_ACTIVE]	   ? "active"
	       : seen[ACL_BOUNCED] ? "bounced"
	       : seen[ACL_UNSUB]   ? "unsubscribed"
				   : "none";
}

static BUF_MUST_CHECK int truth_contact(const struct ac_contact *c,
					struct buf *b)
{
	int rc = 0;
	int k, first;

	rc |= buf_printf(b, "{\"id\":\"%ld\",\"email\":", c->id);
	rc |= jsonw_string(b, c->email);
	rc |= buf_puts(b, ",\"first_name\":");
	rc |= jsonw_string(b, c->first);
	rc |= buf_puts(b, ",\"last_name\":");
	rc |= jsonw_string(b, c->last);
	rc |= buf_puts(b, ",\"phone\":");
	rc |= jsonw_string(b, c->phone);
	rc |=
	    buf_printf(b, ",\"status\":\"%s\",\"fields\":{", contact_status(c));
	for (k = 0, first = 1; k < AC_N_FIELDS; k++) {
		if (!c->vals[k])
			continue;
		rc |= buf_puts(b, first ? "" : ",");
		rc |= jsonw_string(b, ac_fields[k].title);
		rc |= buf_putc(b, ':');
		rc |= jsonw_string(b, c->vals[k]);
		first = 0;
	}
	rc |= buf_puts(b, "},\"fields_by_perstag\":{");
	for (k = 0, first = 1; k < AC_N_FIELDS; k++) {
		if (!c->vals[k])
			continue;
		rc |= buf_puts(b, first ? "" : ",");
		rc |= jsonw_string(b, ac_fields[k].perstag);
		rc |= buf_putc(b, ':');
		rc |= jsonw_string(b, c->vals[k]);
		first = 0;
	}
	rc |= buf_puts(b, "},\"tags\":[");
	for (k = 0, first = 1; k < AC_N_TAGS; k++) {
		if (!(c->tags & (1u << k)))
			continue;
		rc |= buf_puts(b, first ? "" : ",");
		rc |= jsonw_string(b, ac_tag_names[k]);
		first = 0;
	}
	rc |= buf_puts(b, "],\"lists\":[");
	for (k = 0, first = 1; k < AC_N_LISTS; k++) {
		if (c->lstat[k] == ACL_NONE)
			continue;
		rc |= buf_printf(b, "%s{\"id\":\"%d\",\"status\":\"%d\"}",
				 first ? "" : ",", k + 1, c->lstat[k]);
		first = 0;
	}
	rc |= buf_puts(b, "],\"created_at\":");
	rc |= put_utc(b, c->cdate);
	rc |= buf_puts(b, ",\"updated_at\":");
	rc |= put_utc(b, c->updated);
	rc |= buf_printf(b, ",\"deleted\":%s,\"deleted_at\":",
			 c->deleted_at >= 0 ? "true" : "false");
	rc |= put_utc(b, c->deleted_at);
	rc |= buf_putc(b, '}');
	return rc;
}

static BUF_MUST_CHECK int truth_events(const struct ac_account *a,
				       struct buf *b)
{
	int rc = 0;
	static const char *const names[AEV_N] = {"open", "click", "bounce",
						 "unsubscribe"};
	size_t i, j;
	int k, first = 1;

	rc |= buf_puts(b, "\"events\":[");
	for (i = 0; i < a->n_camps; i++) {
		const struct ac_campaign *c = &a->camps[i];

		for (k = 0; k < AEV_N; k++) {
			for (j = 0; j < c->ev[k].n; j++) {
				const struct ac_event *e = &c->ev[k].v[j];
				const struct ac_contact *ct =
				    &a->contacts[e->contact];

				rc |= buf_printf(
				    b,
				    "%s{\"campaign_id\":\"%ld\","
				    "\"contact_id\":\"%ld\",\"email\":",
				    first ? "" : ",", c->id, ct->id);
				first = 0;
				rc |= jsonw_string(b, ct->email);
				rc |= buf_printf(
				    b, ",\"type\":\"%s\",\"occurred_at\":",
				    names[k]);
				/* A bounce row only has the local date
				 * (live rows: also the time of day). */
				rc |= put_utc(
				    b, k == AEV_BOUNCE && !a->is_live
					   ? ac_tz_local_midnight(&a->tz, e->t)
					   : e->t);
				rc |= buf_puts(b, ",\"exact_at\":");
				rc |= put_utc(b, e->t);
				rc |=
				    buf_printf(b, ",\"times\":%u,\"link_url\":",
					       (unsigned)e->times);
				rc |= jsonw_string(b, k == AEV_CLICK
							  ? c->link_url[e->link]
							  : NULL);
				rc |= buf_puts(b, ",\"bounce_type\":");
				rc |= jsonw_string(b, k != AEV_BOUNCE ? NULL
						      : e->hard	      ? "hard"
								      : "soft");
				rc |= buf_putc(b, '}');
			}
		}
	}
	rc |= buf_putc(b, ']');
	return rc;
}

int ac_truth(const struct ac_account *a, struct buf *out)
{
	size_t i;
	int k, rc = 0;

	rc |= buf_puts(out, "{\"provider\":\"activecampaign\",\"now\":");
	rc |= put_utc(out, a->now);
	rc |= buf_printf(out, ",\"timezone\":\"%s\",", a->tz.name);
	rc |= truth_campaigns(a, out);
	rc |= buf_puts(out, ",\"lists\":[");
	for (k = 0; k < AC_N_LISTS; k++) {
		rc |= buf_printf(
		    out, "%s{\"id\":\"%d\",\"name\":", k ? "," : "", k + 1);
		rc |= jsonw_string(out, ac_list_names[k]);
		rc |= buf_printf(out, ",\"stringid\":\"%s\",\"created_at\":",
				 ac_list_stringids[k]);
		rc |= put_utc(out, a->lists_cdate + k * 86400L);
		rc |= buf_putc(out, '}');
	}
	rc |= buf_puts(out, "],\"tags\":[");
	for (k = 0; k < AC_N_TAGS; k++) {
		rc |= buf_printf(out, "%s{\"id\":\"%d\",\"tag\":", k ? "," : "",
				 k + 1);
		rc |= jsonw_string(out, ac_tag_names[k]);
		rc |= buf_putc(out, '}');
	}
	rc |= buf_puts(out, "],\"fields\":[");
	for (k = 0; k < AC_N_FIELDS; k++)
		rc |= buf_printf(
		    out,
		    "%s{\"id\":\"%ld\",\"title\":\"%s\",\"perstag\":"
		    "\"%s\",\"type\":\"%s\"}",
		    k ? "," : "", ac_fields[k].id, ac_fields[k].title,
		    ac_fields[k].perstag, ac_fields[k].type);
	rc |= buf_puts(out, "],\"contacts\":[");
	for (i = 0; i < a->n_contacts; i++) {
		if (i)
			rc |= buf_putc(out, ',');
		rc |= truth_contact(&a->contacts[i], out);
	}
	rc |= buf_puts(out, "],");
	rc |= truth_events(a, out);
	rc |= buf_puts(out, "}\n");
	return rc;
}
