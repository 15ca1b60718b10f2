/* The simulated EmailOctopus account: lists with custom fields, per-list
 * contacts, campaigns and their per-contact report rows, all generated
 * deterministically from a seed, plus simulated time that can be advanced to
 * create new events. The account owns everything reachable from it; callers
 * serialise access (one mutex in the provider). */
#ifndef ESPSYNC_SIM_ACCOUNT_H
#define ESPSYNC_SIM_ACCOUNT_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"
#include "util/buf.h"

enum field_type {
	FT_TEXT,
	FT_NUMBER,
	FT_DATE,
	FT_CHOICE_SINGLE,
	FT_CHOICE_MULTIPLE
};

enum contact_status { CS_SUBSCRIBED, CS_UNSUBSCRIBED, CS_PENDING };

enum campaign_status { CAMP_DRAFT, CAMP_SENDING, CAMP_SENT, CAMP_ERROR };

/* Stored report kinds; not-opened and not-clicked are derived from sent. */
enum report_type {
	RT_SENT,
	RT_OPENED,
	RT_CLICKED,
	RT_BOUNCED,
	RT_COMPLAINED,
	RT_UNSUBSCRIBED,
	RT_STORED,
	RT_NOT_OPENED = RT_STORED,
	RT_NOT_CLICKED,
	RT_ALL
};

/* Per-campaign per-contact flags (bit = 1 << report_type), plus the links
 * a contact clicked at bit FLAG_LINK0 + link index. */
#define FLAG_LINK0 8
#define MAX_LINKS 3
#define MAX_FIELDS 16

enum occ_mode { OCC_PRESENT, OCC_ABSENT, OCC_NULL };

struct field_def {
	const char *tag;
	const char *label;
	enum field_type type;
	const char *fallback; /* NULL: JSON null */
	const char *const *choices;
	int n_choices;
};

struct list {
	char id[UUID_LEN + 1];
	const char *name;
	const struct field_def *fields;
	int n_fields;
	const char *const *tags; /* sorted, static strings */
	int n_tags;
	int64_t created_at;
	int64_t last_updated_at;
	uint32_t *members; /* contact indexes, sorted by (created_at, id) */
	size_t n_members, cap_members;
};

struct contact {
	char id[UUID_LEN + 1];
	char md5[33]; /* of the lowercased email */
	uint32_t list;
	uint32_t person;
	enum contact_status status;
	/* One value per list field: text as is, number as decimal digits,
	 * choice_multiple as choices joined by '|'; NULL is JSON null. */
	char *vals[MAX_FIELDS];
	uint32_t tags; /* bit i: list tag i */
	int64_t created_at;
	int64_t last_updated_at;
};

/* One human; each list membership is its own contact with a copy of the
 * person's values (EmailOctopus contacts are per list). */
struct person {
	char *email;
	char *vals[MAX_FIELDS]; /* in the order of the first list's fields */
};

struct row {
	int64_t t; /* seconds; also the sort key when occurred_at is hidden */
	uint64_t idh, idl;
	uint32_t contact;
	uint8_t occ;  /* enum occ_mode */
	uint8_t link; /* clicked: link index */
	uint8_t hard; /* bounced: 1 hard, 0 soft */
};

struct rows {
	struct row *v;
	size_t n, cap;
};

struct link {
	char *url;
	long clicked_total;
	long clicked_unique;
};

struct summary {
	long sent, opened_total, opened_unique, clicked_total, clicked_unique;
	long bounced_hard, bounced_soft, complained, unsubscribed;
};

struct campaign {
	char id[UUID_LEN + 1];
	enum campaign_status status;
	char *name;    /* may be NULL */
	char *subject; /* may be NULL */
	const char *from_name;
	const char *from_email;
	char *html;
	int64_t created_at;
	int64_t sent_at; /* -1: null */
	uint32_t to[2];
	int n_to;
	struct rows rep[RT_STORED];
	uint16_t *flags; /* per contact index, n_contacts entries */
	struct link links[MAX_LINKS];
	int n_links;
	struct summary sum;
};

struct account_options {
	uint64_t seed;
	int n_campaigns;
	int n_lists;
	int n_contacts; /* per list */
	int64_t now;
	double missing_occurred_at_pct;
	int is_hostile;
	int is_free_plan; /* rows older than 30 days lose occurred_at */
	/* Drafts with a sent_at (as in the official examples) whose summary
	 * answers 403, as a live account did (issue 15). */
	int is_draft_sent_at;
};

struct account {
	struct account_options opt;
	int64_t now;
	struct rng rng;
	struct list *lists; /* sorted by id */
	size_t n_lists;
	struct person *persons;
	size_t n_persons, cap_persons;
	struct contact *contacts;
	size_t n_contacts, cap_contacts;
	struct campaign *camps; /* sorted by (created_at, id) */
	size_t n_camps;
	int missing_toggle;
};

struct advance_result {
	long new_events;
	long updated_contacts;
};

struct account *account_new(const struct account_options *opt);
void account_free(struct account *a);

/* Lookups by UUID text; -1 when unknown. */
long account_find_campaign(const struct account *a, const char *id);
long account_find_list(const struct account *a, const char *id);
/* By contact id or MD5 of the lowercased email, within one list. */
long account_find_contact(const struct account *a, size_t list,
			  const char *id_or_md5);
int account_has_reports(const struct campaign *c);
/* How a row shows occurred_at now (free-plan retention applied). */
enum occ_mode account_row_occ(const struct account *a, const struct row *r);

/* Field values of a contact as a JSON object. */
BUF_MUST_CHECK int account_fields_json(const struct account *a,
				       const struct contact *c,
				       struct buf *out);
/* The summary report object {"id","sent","bounced",...}. */
BUF_MUST_CHECK int account_summary_json(const struct campaign *c,
					struct buf *out);
/* The contact's tags as a JSON array, in list tag order. */
BUF_MUST_CHECK int account_tags_json(const struct account *a,
				     const struct contact *c, struct buf *out);
/* Contacts of a list per status (indexed by enum contact_status). */
void account_list_counts(const struct account *a, const struct list *l,
			 long counts[3]);
/* 0, or -1 when seconds is not positive. */
int account_advance(struct account *a, int64_t seconds,
		    struct advance_result *out);
/* The ground truth document (see docs/simulator.md). */
BUF_MUST_CHECK int account_truth(const struct account *a, struct buf *out);

/* Internal to the account modules (account.c, events.c, truth.c). */
uint32_t account_new_person(struct account *a);
uint32_t account_add_contact(struct account *a, uint32_t list, uint32_t person,
			     enum contact_status st, int64_t created_at);
void account_generate_events(struct account *a, struct campaign *c);
void account_add_row(struct account *a, struct campaign *c, enum report_type rt,
		     int64_t t, uint32_t contact, int link, int hard);
void account_sort_rows(struct rows *r, size_t from);
int row_cmp(const struct row *x, const struct row *y);
const char *report_type_name(enum report_type rt);
const char *campaign_status_name(enum campaign_status s);
const char *contact_status_name(enum contact_status s);
const char *field_type_name(enum field_type t);

#endif
