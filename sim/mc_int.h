/* Shared between the Mailchimp simulator files: the generated account
 * (mc_account.c), the provider (mc.c: auth, errors, projections), the
 * routes (mc_api.c; mc_members.c for members and per-recipient reports)
 * and the ground truth (mc_truth.c). */
#ifndef ESPSYNC_SIM_MC_INT_H
#define ESPSYNC_SIM_MC_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "mc.h"
#include "rng.h"
#include "util/buf.h"

#define MC_MAX_LINKS 3
#define MC_N_TAGS 60	  /* tags of an audience */
#define MC_SHOWN_TAGS 50  /* a member row shows at most this many */
#define MC_MAX_COUNT 1000 /* the silent page cap */
#define MC_N_LISTS_MAX 4

enum mc_status {
	MS_SUBSCRIBED,
	MS_UNSUBSCRIBED,
	MS_CLEANED,
	MS_PENDING,
	MS_TRANSACTIONAL,
	MS_ARCHIVED,
	MS_N
};

extern const char *const mc_status_names[MS_N];

struct mc_member {
	char id[33]; /* MD5 of the lowercased email: subscriber_hash */
	char unique_email_id[11];
	char contact_id[33];
	char *email;
	char *fname, *lname, *phone, *city; /* "" when unset */
	int has_address;
	int list;
	int status;
	long web_id;
	int64_t signup; /* -1: "" */
	int64_t opt;
	int64_t last_changed;
	int64_t deleted_at; /* -1: live */
	uint64_t tags;	    /* bit i: the audience's tag i */
	uint64_t order_key; /* the seeded default order */
};

enum mc_action { MA_OPEN, MA_CLICK, MA_BOUNCE, MA_UNSUB, MA_ABUSE, MA_N };

extern const char *const mc_action_names[MA_N];

struct mc_event {
	int64_t t;
	uint32_t pos; /* recipient position in the campaign */
	uint8_t action;
	uint8_t link; /* click */
	uint8_t hard; /* bounce */
	long id;      /* abuse report id */
};

struct mc_counts {
	long opens, unique_opens, clicks, unique_clicks;
	long hard, soft, unsub, abuse;
	int64_t last_open, last_click; /* -1: "" */
	long link_total[MC_MAX_LINKS], link_unique[MC_MAX_LINKS];
	int64_t link_last[MC_MAX_LINKS];
};

struct mc_campaign {
	char id[11];
	long web_id;
	char *title, *subject;
	int list;
	int is_draft;
	int64_t create_time, send_time; /* send_time -1 for drafts */
	int n_links;
	char *link_url[MC_MAX_LINKS];
	uint32_t *rcpt; /* member indexes, in email-activity order */
	size_t n_rcpt;
	/* Sorted by (pos, t); ev_start[pos] .. ev_start[pos + 1]. */
	struct mc_event *ev;
	size_t n_ev, cap_ev;
	size_t *ev_start;
	/* Requests for its per-recipient reports since the last
	 * /_sim/mc?reset_reads=1 (tests: what a run re-read). */
	long reads;
};

struct mc_list {
	char id[11];
	long web_id;
	char *name;
	int64_t created;
};

struct mc_account {
	int64_t now;
	struct rng rng;
	struct mc_list lists[MC_N_LISTS_MAX];
	int n_lists;
	struct mc_member *members;
	size_t n_members, cap_members;
	struct mc_campaign *camps; /* ascending create_time */
	size_t n_camps, cap_camps;
	long next_web_id, next_abuse_id;
};

struct mc_advance_result {
	long new_events, updated_members, new_members, deleted_members;
	long sent_campaigns;
};

extern const char *const mc_tag_names[MC_N_TAGS];

struct mc_account *mc_account_new(const struct mc_options *opt);
void mc_account_free(struct mc_account *a);
/* is_tags_silent: a tag edit leaves last_changed alone. */
void mc_account_advance(struct mc_account *a, int64_t seconds,
			int is_tags_silent, struct mc_advance_result *out);
void mc_counts(const struct mc_account *a, const struct mc_campaign *c,
	       struct mc_counts *out);
long mc_find_campaign(const struct mc_account *a, const char *id);
int mc_find_list(const struct mc_account *a, const char *id);
/* A live member of list by subscriber hash, or -1. */
long mc_find_member(const struct mc_account *a, int list, const char *hash);
/* The ground truth document; -1 when out reached its maximum. */
BUF_MUST_CHECK int mc_truth(const struct mc_account *a, struct buf *out);

/* The provider state. */
struct mc {
	struct mc_options opt;
	char dc[16];	      /* the account's data center */
	pthread_mutex_t lock; /* guards acct, the switches and n_throttled */
	struct mc_account *acct;
	long n_throttled, n_ids;
};

/* Time as the API writes it: "YYYY-MM-DDTHH:MM:SS+00:00", or "" when
 * t < 0. 0, or -1 when b reached its maximum. */
BUF_MUST_CHECK int mc_put_time(struct buf *b, int64_t t);
/* A problem+json error document with X-Request-Id = instance. */
void mc_problem(struct sim_response *r, unsigned status, const char *title,
		const char *detail);
/* count (default 10, silently capped at 1000) and offset. */
void mc_paging(const struct sim_request *req, long *count, long *offset);
/* A since_/before_ filter: 0 absent or ignored (malformed values drop the
 * filter), 1 with *t set, -1 for the "+0000" form that gets a 500. */
int mc_time_arg(const struct sim_request *req, const char *name, int64_t *t);
/* The _links array of a collection (self only). */
BUF_MUST_CHECK int mc_put_links(struct buf *b, const char *path);

void mc_not_found(struct sim_response *r);
/* Every route under /3.0 (segs: the path segments after it). */
BUF_MUST_CHECK int mc_route(struct mc *mc, const struct sim_request *req,
			    struct sim_response *resp, char **segs, int n_segs);
/* /lists/{id}/members..., /lists/{id}/merge-fields, tag-search */
BUF_MUST_CHECK int mc_members_route(struct mc *mc,
				    const struct sim_request *req,
				    struct sim_response *resp, char **segs,
				    int n_segs);
/* /reports/{id}/email-activity, sent-to, unsubscribed, abuse-reports,
 * click-details */
BUF_MUST_CHECK int mc_report_route(struct mc *mc, const struct sim_request *req,
				   struct sim_response *resp, char **segs,
				   int n_segs);

#endif
