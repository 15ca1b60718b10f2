/* Shared between the ActiveCampaign simulator files: the generated account
 * (ac_account.c), its ground truth (ac_truth.c), the v3 routes (ac.c,
 * ac_contacts.c) and the v1 report actions (ac_v1.c). */
#ifndef ESPSYNC_SIM_AC_INT_H
#define ESPSYNC_SIM_AC_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "ac.h"
#include "ac_tz.h"
#include "rng.h"
#include "util/buf.h"

#define AC_N_LISTS 3
#define AC_N_TAGS 6
#define AC_N_FIELDS 5
#define AC_MAX_LINKS 3

/* contactLists status codes, kept raw as the API shows them. */
enum ac_list_status {
	ACL_NONE = 0, /* not a member (the API's "0" is unconfirmed) */
	ACL_ACTIVE = 1,
	ACL_UNSUB = 2,
	ACL_BOUNCED = 3
};

struct ac_contact {
	long id;
	char *email;
	char *first, *last, *phone;
	int64_t cdate;
	int64_t updated;    /* updated_timestamp / edate: last change */
	int64_t deleted_at; /* -1: not deleted */
	uint8_t lstat[AC_N_LISTS];
	int64_t lsdate[AC_N_LISTS], ludate[AC_N_LISTS];
	long lunsub_campaign[AC_N_LISTS]; /* 0: none */
	uint32_t tags;			  /* bit i: tag i */
	int64_t tag_cdate;
	char *vals[AC_N_FIELDS]; /* NULL: no fieldValue row */
	int bounced_hard, bounced_soft;
	int64_t bounced_date; /* -1: none */
	uint64_t order_key;   /* the seeded default order */
};

enum ac_ev_type { AEV_OPEN, AEV_CLICK, AEV_BOUNCE, AEV_UNSUB, AEV_N };

struct ac_event {
	int64_t t;
	uint32_t contact; /* index into contacts */
	uint16_t times;
	uint8_t link; /* click: link index */
	uint8_t hard; /* bounce: 1 hard, 0 soft */
	long id;      /* bounce row id */
};

struct ac_events {
	struct ac_event *v;
	size_t n, cap;
};

struct ac_counts {
	long opens, uniqueopens, linkclicks, uniquelinkclicks;
	long hardbounces, softbounces, unsubscribes;
};

struct ac_campaign {
	long id, message_id;
	char *name;
	long automation; /* automation id; 0: a one-off campaign */
	int is_draft;
	int draft_style; /* 0: null dates, 1: zero sentinels */
	int list;	 /* target list index */
	int64_t cdate, mdate, sdate, updated;
	int n_links;
	char *link_url[AC_MAX_LINKS];
	long link_id[AC_MAX_LINKS];
	uint32_t *rcpt; /* contact indexes */
	size_t n_rcpt;
	uint8_t *flags;		    /* per recipient position, AC_F_* */
	struct ac_events ev[AEV_N]; /* each sorted by (t, contact id) */
	struct ac_counts cnt;
};

#define AC_F_OPEN 1
#define AC_F_BOUNCE 2
#define AC_F_UNSUB 4
#define AC_F_CLICK0 8

struct ac_field {
	long id;
	const char *title, *perstag, *type;
};

struct ac_account {
	struct ac_tz tz;
	int64_t now;
	struct rng rng;
	struct ac_contact *contacts; /* ascending id */
	size_t n_contacts, cap_contacts;
	struct ac_campaign *camps; /* ascending id */
	size_t n_camps;
	long next_contact_id, next_bounce_id;
	int64_t lists_cdate;
	int is_live; /* ac_options.is_live, for the truth's bounce times */
};

struct ac_advance_result {
	long new_events, updated_contacts, new_contacts, deleted_contacts;
};

extern const char *const ac_list_names[AC_N_LISTS];
extern const char *const ac_list_stringids[AC_N_LISTS];
extern const char *const ac_tag_names[AC_N_TAGS];
extern const struct ac_field ac_fields[AC_N_FIELDS];

struct ac_account *ac_account_new(const struct ac_options *opt,
				  const struct ac_tz *tz);
void ac_account_free(struct ac_account *a);
int ac_account_advance(struct ac_account *a, int64_t seconds,
		       struct ac_advance_result *out);
/* Index of the contact with this id (deleted ones included), or -1. */
long ac_find_contact(const struct ac_account *a, long id);
long ac_find_campaign(const struct ac_account *a, long id);
/* The ground truth document; -1 when out reached its maximum. */
BUF_MUST_CHECK int ac_truth(const struct ac_account *a, struct buf *out);

/* The provider state. */
struct ac {
	struct ac_options opt;
	struct ac_tz tz;
	pthread_mutex_t lock; /* guards acct and the switches in opt */
	struct ac_account *acct;
	struct rng fault_rng;
	long n_403;
};

/* Time values as the API writes them: ISO with offset, naive local wall
 * time, local date; t < 0 writes null. 0, or -1 when b reached its maximum
 * (as every int function here that writes into a buffer or a response). */
BUF_MUST_CHECK int ac_put_iso(const struct ac_account *a, struct buf *b,
			      int64_t t);
BUF_MUST_CHECK int ac_put_naive(const struct ac_account *a, struct buf *b,
				int64_t t);
BUF_MUST_CHECK int ac_put_date(const struct ac_account *a, struct buf *b,
			       int64_t t);
/* {"message": msg} with status (a 500 if even that does not fit). */
void ac_message(struct sim_response *r, unsigned status, const char *msg);
/* Offset paging arguments: 0, or -1 after writing the 422. */
int ac_paging(const struct ac *ac, const struct sim_request *req,
	      struct sim_response *resp, long *limit, long *offset);
/* A positive decimal id, or -1. */
long ac_parse_id(const char *s);

/* v3 contact routes; segs are the path segments after /api/3. */
BUF_MUST_CHECK int ac_contacts_route(struct ac *ac,
				     const struct sim_request *req,
				     struct sim_response *resp, char **segs,
				     int n_segs);
/* The route name (/_sim/stats by_route) of the campaign detail requests:
 * campaignMessage(s), campaignLists, messages/{id}. */
#define AC_DETAIL_ROUTE "campaign_detail"
/* The sender and subject of a campaign's message (ac_detail.c). */
const char *ac_from_name(const struct ac_campaign *c);
const char *ac_from_email(const struct ac_campaign *c);
BUF_MUST_CHECK int ac_put_subject(struct buf *b, const struct ac_campaign *c);
/* /campaigns/{id}/<what> for what in campaignMessages, campaignMessage,
 * campaignLists: 0 or -1 as above, 1 when what is none of them. */
BUF_MUST_CHECK int ac_detail_route(struct ac *ac, struct sim_response *resp,
				   const struct ac_campaign *c,
				   const char *what);
/* /messages/{id} */
BUF_MUST_CHECK int ac_message_route(struct ac *ac, struct sim_response *resp,
				    const char *seg);
/* /admin/api.php */
BUF_MUST_CHECK int ac_v1_handle(struct ac *ac, const struct sim_request *req,
				struct sim_response *resp);

#endif
