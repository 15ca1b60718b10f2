/* The records a source produces and a store writes: plain data, no behaviour
 * beyond naming and event ids. Strings are borrowed (usually from the batch
 * arena); NULL means "unknown". Times are UTC epoch seconds or TIME_NULL. */
#ifndef ESPSYNC_RECORDS_H
#define ESPSYNC_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/timeparse.h"

enum event_type {
	EV_SENT = 0,
	EV_OPEN,
	EV_CLICK,
	EV_BOUNCE,
	EV_COMPLAINT,
	EV_UNSUBSCRIBE,
	EV__COUNT
};

/* "sent", "open", "click", "bounce", "complaint", "unsubscribe". */
const char *event_type_name(enum event_type t);
/* Inverse of event_type_name; -1 when unknown. */
int event_type_parse(const char *s, enum event_type *out);

/* Participant engagement flags. */
enum engagement {
	ENG_OPENED = 1 << 0,
	ENG_CLICKED = 1 << 1,
	ENG_BOUNCED = 1 << 2,
	ENG_COMPLAINED = 1 << 3,
	ENG_UNSUBSCRIBED = 1 << 4,
	ENG_SENT = 1 << 5, /* in the sent report; not exported as a column */
};

struct campaign_stats {
	int64_t sent;
	int64_t opened_unique, opened_total;
	int64_t clicked_unique, clicked_total;
	int64_t bounced_hard, bounced_soft;
	int64_t complained;
	int64_t unsubscribed;
};

struct rec_campaign {
	const char *campaign_id;
	const char *name, *subject, *from_name, *from_email;
	const char *status; /* provider's word, normalised to lowercase */
	int64_t created_at, sent_at;
	const char *to_lists_json; /* JSON array of list ids, or NULL */
	int has_stats;		   /* 0: leave stored statistics as they are */
	struct campaign_stats stats;
	/* Opens that are not machine opens (Apple Mail Privacy Protection,
	 * scanners), as the provider counts them; -1: unknown (stored value
	 * kept, NULL when none). */
	int64_t verified_opens, verified_unique_opens;
	/* The provider shows sends (counters, send dates): reports may exist
	 * whatever the status word says. Not stored. */
	int has_sends;
	int64_t synced_at; /* set by the store on read; ignored on write */
};

struct rec_link {
	const char *campaign_id;
	const char *url;
	int64_t clicked_total, clicked_unique;
};

/* A participant row is the union of what reports say about one contact in
 * one campaign: flags are OR-ed into the stored row, never cleared. Status
 * and fields come from contacts (store_ops.link_participants). */
struct rec_participant {
	const char *campaign_id;
	const char *contact_id;
	const char *email;
	unsigned flags; /* enum engagement bits */
};

#define EVENT_ID_HEX 32

struct rec_event {
	char event_id[EVENT_ID_HEX + 1];
	const char *campaign_id, *campaign_name;
	const char *contact_id, *contact_email;
	enum event_type type;
	int64_t ts; /* never TIME_NULL: rows without a time are not events */
	int64_t times;
	const char *link_url;	 /* click only */
	const char *bounce_type; /* "hard", "soft" or NULL */
};

struct rec_contact {
	const char *contact_id;
	const char *email;
	const char *first_name, *last_name, *phone;
	const char *status;	 /* lowercase */
	const char *fields_json; /* JSON object, tag -> value */
	const char *tags_json;	 /* JSON array of strings */
	const char *lists_json;	 /* JSON array of list ids */
	int64_t created_at, updated_at, deleted_at;
};

struct rec_list {
	const char *list_id;
	const char *name;
	const char
	    *fields_json; /* JSON array of {tag,label,type} in list order */
	const char *tags_json;
	int64_t subscribed, unsubscribed, pending; /* -1 when unknown */
	int64_t created_at, updated_at;
};

/* A checkpoint written in the same transaction as the batch it follows. */
struct state_update {
	const char *stream; /* e.g. "campaigns", "reports:<id>:opened" */
	const char *value;  /* JSON text; NULL deletes the row */
};

/* Everything one page produced, for one provider account. The arena owns
 * the strings; the arrays grow with batch_add_*(). */
struct batch {
	const char *provider, *account;
	struct arena arena;
	struct rec_campaign *campaigns;
	size_t n_campaigns, cap_campaigns;
	struct rec_link *links;
	size_t n_links, cap_links;
	struct rec_participant *participants;
	size_t n_participants, cap_participants;
	struct rec_event *events;
	size_t n_events, cap_events;
	struct rec_contact *contacts;
	size_t n_contacts, cap_contacts;
	struct rec_list *lists;
	size_t n_lists, cap_lists;
	struct state_update *states;
	size_t n_states, cap_states;
	/* Set when the page ended a stream that deleted contacts upstream:
	 * not used by EmailOctopus. */
};

void batch_init(struct batch *b, const char *provider, const char *account);
/* Frees arrays and arena; the batch can be reused after batch_init. */
void batch_release(struct batch *b);
/* Clears records and arena, keeps provider/account and array capacity. */
void batch_clear(struct batch *b);
size_t batch_count(const struct batch *b);

/* Each returns a zeroed record (times TIME_NULL) appended to the batch. */
struct rec_campaign *batch_add_campaign(struct batch *b);
struct rec_link *batch_add_link(struct batch *b);
struct rec_participant *batch_add_participant(struct batch *b);
struct rec_event *batch_add_event(struct batch *b);
struct rec_contact *batch_add_contact(struct batch *b);
struct rec_list *batch_add_list(struct batch *b);
void batch_add_state(struct batch *b, const char *stream, const char *value);

/* Fills ev->event_id: hex of the first 16 bytes of SHA-256 over
 * (provider, account, campaign_id, contact key, type, ts, link_url), fields
 * separated so that no two tuples hash the same input. The contact key is the
 * contact id, or the lowercased email when the id is unknown. */
void event_make_id(struct rec_event *ev, const char *provider,
		   const char *account);

#endif
