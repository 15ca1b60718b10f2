/* The store interface: a table of functions per database, chosen by URL.
 * Nothing above this header knows which database is in use. Every write is
 * an idempotent upsert keyed as in DESIGN §4; write_batch is one transaction
 * that also saves the batch's checkpoints. Strings passed in are borrowed;
 * strings handed to callbacks live until the callback returns. */
#ifndef ESPSYNC_STORE_H
#define ESPSYNC_STORE_H

#include <stdint.h>

#include "config/options.h"
#include "model/records.h"
#include "util/buf.h"
#include "util/err.h"

struct store;

/* Rows written by one write_batch, across all tables. */
struct store_counts {
	int64_t inserted;
	int64_t updated;   /* existing row whose content changed */
	int64_t unchanged; /* existing row left as it was */
	int64_t failed;
	/* Events not written because they are older than the store's
	 * retention period (not counted as failed). */
	int64_t outside_retention;
};

struct state_row {
	const char *provider, *account, *stream, *value;
	int64_t updated_at;
};

enum run_status {
	RUN_RUNNING = 0,
	RUN_COMPLETE,
	RUN_PARTIAL,
	RUN_FAILED,
	RUN_INTERRUPTED, /* stopped by a signal, or its process died */
	RUN__COUNT
};

struct run_row {
	int64_t run_id; /* assigned by run_begin */
	const char *provider, *account;
	int64_t started_at,
	    finished_at; /* epoch s; finished TIME_NULL while running */
	enum run_status status;
	int64_t requests, retries, throttled;
	const char *records_json; /* {"campaigns":N,...} */
	const char *error;	  /* NULL when none; never holds a secret */
	/* The process running it: host name, pid and the last sign of life
	 * (epoch s; run_begin sets it to started_at, run_heartbeat moves it).
	 * Rows written before these columns read as "", 0 and TIME_NULL. */
	const char *host;
	int64_t pid;
	int64_t heartbeat_at;
	/* Events older than the store's retention, not stored (written by
	 * run_finish where the store has a retention). */
	int64_t outside_retention;
};

/* Who holds the sync lease of a provider account (store_ops.lease_take). */
struct lease_holder {
	char host[128];
	int64_t pid;
	int64_t since;	      /* epoch s the holder took it */
	int64_t heartbeat_at; /* epoch s of its last sign of life */
};

struct store_stats {
	int64_t campaigns;
	int64_t participants;
	int64_t links;
	int64_t contacts;
	int64_t lists;
	int64_t events[EV__COUNT];
	/* Events older than the retention period that syncs could not keep
	 * (per account the most any run met); retention_days is the period
	 * (0: the store keeps everything). */
	int64_t events_outside_retention;
	int retention_days;
};

/* One CSV row's worth of a participant. */
struct export_row {
	const char *contact_id, *email, *status;
	const char *fields_json; /* JSON object or NULL */
	unsigned flags;
};

typedef int (*store_state_fn)(void *ctx, const struct state_row *row);
typedef int (*store_campaign_fn)(void *ctx, const char *provider,
				 const char *account,
				 const struct rec_campaign *c);
typedef int (*store_participant_fn)(void *ctx, const struct export_row *row);

/* ------------------------------------------------------------ report reads
 * What `espsync report` reads, aggregated inside the database and streamed
 * through callbacks so memory stays flat however many events there are.
 *
 * The period: provider and account NULL mean all; since and until are epoch
 * seconds of a half-open [since, until), TIME_NULL meaning unbounded.
 * - A campaign is in the period when its sent_at is set and inside it:
 *   drafts and campaigns never sent are in no period, not even an
 *   unbounded one.
 * - An event is in the period when its activity_timestamp is; days are UTC
 *   (activity_date), so with since and until at UTC midnights the events of
 *   the period are exactly those of its days.
 * Counters are the stored campaign statistics, 0 where the provider gave
 * none. These are the figures of the PostgreSQL views: report_totals'
 * sums are sum(recipients), sum(opens), ... of campaign_engagement over the
 * campaigns in the period, its events[t] the sum(events) of daily_activity
 * over the period's days; with an unbounded period and no provider,
 * events[] equals store_stats.events of `espsync stats`. */
struct store_period {
	const char *provider, *account; /* NULL: all */
	int64_t since, until;		/* [since, until); TIME_NULL: open */
};

/* Every provider and account, all time. */
#define STORE_PERIOD_ALL                                                       \
	{                                                                      \
		NULL, NULL, TIME_NULL, TIME_NULL                               \
	}

struct store_totals {
	int64_t campaigns;	      /* campaigns sent in the period */
	int64_t campaigns_with_stats; /* of those, with sent > 0 */
	/* Their counters summed: sent (recipients), opened_unique (unique
	 * opens), clicked_unique (unique clicks), bounced_hard, bounced_soft,
	 * complained, unsubscribed, and the totals. MongoDB keeps one bounce
	 * counter (the earlier tool's schema): it reads back as hard. */
	struct campaign_stats sums;
	int64_t events[EV__COUNT]; /* events in the period, per type */
};

/* Events of one UTC day and type; types the store does not know are left
 * out, and so are (day, type) pairs without events. */
struct store_day_row {
	int64_t day; /* epoch seconds of the day's UTC midnight */
	enum event_type type;
	int64_t events;
};

/* One clicked link of the period's campaigns (campaign_links rows). */
struct store_link_row {
	const char *url;
	int64_t clicks;	       /* sum of clicked_total */
	int64_t unique_clicks; /* sum of clicked_unique */
	int64_t campaigns;     /* campaigns of the period holding the link */
	/* JSON array of those campaigns' names (the campaign id where the
	 * name is NULL), most clicks first, then newest sent first. */
	const char *campaigns_json;
};

/* One stored list with what the store knows of its contacts. */
struct store_list_row {
	const char *provider, *account, *list_id, *name;
	/* The provider's counts; -1 when it gave none. */
	int64_t subscribed, unsubscribed, pending;
	int64_t
	    contacts;	 /* stored contacts on the list, not deleted upstream */
	int64_t added;	 /* stored contacts on it with created_at in period */
	int64_t deleted; /* contacts on it with deleted_at in the period */
};

/* One provider account the store holds data of (campaigns, contacts, lists
 * or runs), with its newest run. */
struct store_account_row {
	const char *provider, *account;
	int64_t campaigns; /* stored campaigns, sent or not, of any period */
	int has_run;	   /* 0: no run recorded; run is zeroed */
	struct run_row run;
};

typedef int (*store_day_fn)(void *ctx, const struct store_day_row *row);
typedef int (*store_link_fn)(void *ctx, const struct store_link_row *row);
typedef int (*store_list_fn)(void *ctx, const struct store_list_row *row);
typedef int (*store_account_fn)(void *ctx, const struct store_account_row *row);
/* One line of what a store says about itself ("dataset", "a.b (US)"). */
typedef int (*store_describe_fn)(void *ctx, const char *label,
				 const char *value);

/* One store setting (struct store_keys .keys) as the configuration
 * resolved it: the key and its value text, validated against the key's
 * definition; value NULL when unset and without a default. */
struct store_setting {
	const char *key, *value;
};

#define STORE_MAX_SETTINGS 32

/* Settings from the configuration that a backend may use; the strings are
 * borrowed from the configuration. */
struct store_options {
	/* PostgreSQL: days of email_activities kept, 0 = all; -1 = the
	 * built-in 730. A retention_days=N in the URL wins over it. */
	int retention_days;
	/* Every store's own settings: a backend looks up its keys with
	 * store_option_get. */
	struct store_setting settings[STORE_MAX_SETTINGS];
	size_t n_settings;
};

#define STORE_OPTIONS_INIT                                                     \
	{                                                                      \
		-1, {{NULL, NULL}}, 0                                          \
	}

/* The value of setting key in opts (may be NULL); else def's default
 * when def is given (the key's definition), else NULL. */
const char *store_option_get(const struct store_options *opts, const char *key,
			     const struct option_def *def);
/* The same as a whole number (def's checks made it one); dflt when
 * unset or not a number. */
int64_t store_option_int(const struct store_options *opts,
			 const struct option_def *def, int64_t dflt);

/* What a store's own API has cost since it was opened (a warehouse billed
 * per request, job and byte); the engine reports a run's difference. */
struct store_usage {
	int64_t requests; /* HTTP requests to the store's API */
	int64_t jobs;	  /* jobs that load or change data (not reads) */
	int64_t bytes_up; /* request bodies sent, uploads included */
};

struct store_ops {
	const char *name; /* the store's name, as its store_keys */
	/* Opens (creating or migrating the schema) with the configuration's
	 * settings, which a backend may ignore; opts may be NULL (=
	 * STORE_OPTIONS_INIT). ERR_STORE on failure. */
	int (*open)(struct store **out, const char *url,
		    const struct store_options *opts, struct err *err);
	void (*close)(struct store *s);

	int (*write_batch)(struct store *s, const struct batch *b,
			   struct store_counts *out, struct err *err);

	/* *found = 0 and out empty when there is no such row. */
	int (*state_get)(struct store *s, const char *provider,
			 const char *account, const char *stream,
			 struct buf *out, int *found, struct err *err);
	/* Any filter may be NULL (= all); stream_prefix matches the start. */
	int (*state_reset)(struct store *s, const char *provider,
			   const char *stream_prefix, int64_t *removed,
			   struct err *err);
	int (*state_each)(struct store *s, const char *provider,
			  store_state_fn fn, void *ctx, struct err *err);

	int (*run_begin)(struct store *s, struct run_row *run, struct err *err);
	int (*run_finish)(struct store *s, const struct run_row *run,
			  struct err *err);
	/* A sign of life of a running run (and of its lease): heartbeat_at
	 * = at for run_id, and for the lease row of provider/account held by
	 * this process. */
	int (*run_heartbeat)(struct store *s, int64_t run_id,
			     const char *provider, const char *account,
			     int64_t at, struct err *err);
	/* Marks as interrupted, finished at their last heartbeat, the runs
	 * still "running" whose process is gone (store_run_is_dead) and every
	 * running run of provider/account: the caller holds that account's
	 * lease, so none of them is alive. *marked counts them (may be
	 * NULL). */
	int (*run_reap)(struct store *s, const char *provider,
			const char *account, int64_t now, int64_t *marked,
			struct err *err);
	/* The sync lease of provider/account, one holder at a time: 0 when
	 * this process took it; ERR_BUSY with *holder filled when a live
	 * process holds it (a dead holder's lease is taken over). Held until
	 * lease_drop or the store is closed. */
	int (*lease_take)(struct store *s, const char *provider,
			  const char *account, struct lease_holder *holder,
			  struct err *err);
	int (*lease_drop)(struct store *s, const char *provider,
			  const char *account, struct err *err);
	/* Newest run of provider (any when NULL) whose status is named
	 * status (any when NULL); *found = 0 if none. Called through
	 * store_run_last and store_run_last_status. */
	int (*run_newest)(struct store *s, const char *provider,
			  const char *status, struct run_row *out,
			  struct arena *arena, int *found, struct err *err);

	/* Stored campaign (strings in arena); *found = 0 if none. */
	int (*campaign_get)(struct store *s, const char *provider,
			    const char *account, const char *campaign_id,
			    struct rec_campaign *out, struct arena *arena,
			    int *found, struct err *err);
	/* Copies status and fields from contacts into the participants of
	 * provider/account whose contact row says something different. */
	int (*link_participants)(struct store *s, const char *provider,
				 const char *account, int64_t *changed,
				 struct err *err);

	int (*stats)(struct store *s, const char *provider,
		     struct store_stats *out, struct err *err);
	/* Campaigns ordered by (provider, account, campaign_id); filters may
	 * be NULL. A non-zero return from fn stops and is returned. */
	int (*each_campaign)(struct store *s, const char *provider,
			     const char *campaign_id, store_campaign_fn fn,
			     void *ctx, struct err *err);
	/* Participants of one campaign ordered by email, contact_id. */
	int (*each_participant)(struct store *s, const char *provider,
				const char *account, const char *campaign_id,
				store_participant_fn fn, void *ctx,
				struct err *err);
	/* JSON array of field tags of the campaign's lists, in list order,
	 * first appearance wins; "[]" when unknown. */
	int (*campaign_fields)(struct store *s, const char *provider,
			       const char *account, const char *campaign_id,
			       struct buf *out, struct err *err);
	/* Reconciles the stored contacts of provider/account with one page
	 * of a keyset pass over all contacts (ids ascending): a contact whose
	 * id is a decimal in (after_id, upto_id] (INT64_MAX: no upper bound)
	 * and not among live_ids is gone upstream and gets deleted_at = at
	 * unless it has one; a contact among live_ids that has a deleted_at
	 * loses it (it is back upstream). after_id >= upto_id only does the
	 * latter. Rows are never removed; *changed counts marked and
	 * cleared rows (may be NULL). */
	int (*reconcile_contacts)(struct store *s, const char *provider,
				  const char *account, int64_t after_id,
				  int64_t upto_id, const char *const *live_ids,
				  size_t n_live, int64_t at, int64_t *changed,
				  struct err *err);

	/* Report reads over a period (see struct store_period). Each
	 * callback's non-zero return stops the read and is returned; strings
	 * handed to it live until it returns. */
	/* Totals of the period; all zeros for an empty store. */
	int (*report_totals)(struct store *s, const struct store_period *p,
			     struct store_totals *out, struct err *err);
	/* Events per UTC day and type in the period, ordered by day then
	 * type (enum order). */
	int (*report_days)(struct store *s, const struct store_period *p,
			   store_day_fn fn, void *ctx, struct err *err);
	/* Campaigns sent in the period, newest first (sent_at descending,
	 * then provider, account, campaign_id), with their counters. */
	int (*report_campaigns)(struct store *s, const struct store_period *p,
				store_campaign_fn fn, void *ctx,
				struct err *err);
	/* The links of the period's campaigns by url, most clicks first
	 * (then unique clicks, then url); at most limit rows (0: all). */
	int (*report_links)(struct store *s, const struct store_period *p,
			    int64_t limit, store_link_fn fn, void *ctx,
			    struct err *err);
	/* Stored lists of the period's provider/account ordered by
	 * provider, account, list_id; since/until bound added and deleted. */
	int (*report_lists)(struct store *s, const struct store_period *p,
			    store_list_fn fn, void *ctx, struct err *err);
	/* Accounts of the period's provider/account (times ignored) ordered
	 * by provider, account, each with its newest run (by run_id). */
	int (*report_accounts)(struct store *s, const struct store_period *p,
			       store_account_fn fn, void *ctx, struct err *err);

	/* Optional (NULL: nothing to say): what `check` shows under the
	 * store line, as label/value lines: the identity it connects as,
	 * where the data lives, whether its tables are as expected. Never a
	 * secret. A non-zero return from fn stops and is returned. */
	int (*describe)(struct store *s, store_describe_fn fn, void *ctx,
			struct err *err);
	/* Reconciles the stored contacts of provider/account with a complete
	 * scan upstream that found exactly live_ids (sorted by strcmp, no
	 * duplicates; ids of any shape): a stored contact not among them is
	 * gone and gets deleted_at = at unless it has one; one among them
	 * that has a deleted_at loses it. Rows are never removed; *changed
	 * counts marked and cleared rows (may be NULL). */
	int (*reconcile_contact_set)(struct store *s, const char *provider,
				     const char *account,
				     const char *const *live_ids, size_t n_live,
				     int64_t at, int64_t *changed,
				     struct err *err);
	/* Optional (NULL: the store has no API of its own to count): the
	 * counters since open into out. */
	void (*usage)(struct store *s, struct store_usage *out);
};

/* Decimal ids of one length in [lo, hi]: within one length, numeric
 * order is text order, so a store can range-scan its text key. */
struct store_id_span {
	int digits;
	char lo[20], hi[20];
};

#define STORE_ID_SPANS 18 /* ids longer than 18 digits are never matched */

/* Splits the ids in (after_id, upto_id] into spans of one length each
 * (canonical decimals, no leading zero); returns how many (0: empty). */
size_t store_id_spans(struct store_id_span out[STORE_ID_SPANS],
		      int64_t after_id, int64_t upto_id);

/* Appends ids as a JSON array of strings (reconcile_contacts hands the
 * live ids to SQL this way); -1 when out reaches its maximum. */
BUF_MUST_CHECK int store_ids_json(struct buf *out, const char *const *ids,
				  size_t n);

/* Engagement flags in the order of the participants table's columns sent,
 * opened, clicked, bounced, complained, unsubscribed. */
#define STORE_PARTICIPANT_FLAGS 6
extern const unsigned store_participant_flags[STORE_PARTICIPANT_FLAGS];

/* Run log helpers every backend shares. The name a run status is stored
 * under (an out-of-range status is recorded as "failed"); the status a
 * stored name stands for (unknown or NULL reads as RUN_FAILED); a start or
 * finish time where TIME_NULL or 0 means now. */
const char *store_run_status_name(enum run_status st);
enum run_status store_run_status_parse(const char *name);
int64_t store_time_or_now(int64_t t);
/* The newest run of provider (any when NULL), and the newest with status
 * (an out-of-range status matches no run); *found = 0 if none. A run
 * recorded as running whose process is gone (store_run_is_dead) comes back
 * from store_run_last as interrupted. */
int store_run_last(struct store *s, const char *provider, struct run_row *out,
		   struct arena *arena, int *found, struct err *err);
int store_run_last_status(struct store *s, const char *provider,
			  enum run_status status, struct run_row *out,
			  struct arena *arena, int *found, struct err *err);

/* A running run or a lease holder counts as dead after this long without
 * a heartbeat (a live run beats with every commit, and its longest wait,
 * a capped Retry-After, is 2 minutes). */
#define STORE_HEARTBEAT_STALE_S 600
/* This host's name for run rows and leases into out ("" when unknown). */
void store_host_name(char *out, size_t n);
/* 1 when the process host/pid with heartbeat heartbeat_at (TIME_NULL:
 * started_at) is gone at now: the same host and no such process, or no
 * heartbeat for STORE_HEARTBEAT_STALE_S. */
int store_holder_is_dead(const char *host, int64_t pid, int64_t heartbeat_at,
			 int64_t now);
/* store_holder_is_dead for a run row that is still "running". */
int store_run_is_dead(const struct run_row *run, int64_t now);

/* The JSON array campaign_fields returns, built one tag at a time: the
 * first appearance of a tag is kept, empty tags and tags holding a newline
 * are skipped. out is borrowed and reset by init; release closes it, or
 * makes it "[]" when is_ok is 0, and frees the rest. */
struct store_tags {
	struct buf *out;
	struct buf seen; /* "\n"-separated tags already written */
	int n;
};

/* out's maximum must hold at least "[]". */
void store_tags_init(struct store_tags *t, struct buf *out);
/* -1 when out (with room kept for the closing bracket) or the tags seen
 * reach their maximum size. */
int store_tags_add(struct store_tags *t, const char *tag);
void store_tags_release(struct store_tags *t, int is_ok);

/* Every backend's struct begins with this. */
struct store {
	const struct store_ops *ops;
};

/* One backend of the store registry: its face to the configuration (name,
 * URL schemes and checks, the earlier tool's settings) and its ops. */
struct store_backend {
	const struct store_keys *keys;
	const struct store_ops *ops;
};

/* The store registry (store/store.c), NULL-terminated. Adding a store is
 * one line there. */
extern const struct store_backend *const store_backends[];
/* The backend whose scheme (or own-URL test) matches url; NULL if none. */
const struct store_backend *store_backend_for(const char *url);

/* Opens url with the backend store_backend_for picks and settings opts
 * (NULL: STORE_OPTIONS_INIT). An unknown scheme is ERR_CONFIG. */
int store_open_with(struct store **out, const char *url,
		    const struct store_options *opts, struct err *err);
/* store_open_with without settings. */
int store_open(struct store **out, const char *url, struct err *err);
void store_close(struct store *s);
/* The secrets of a store URL, to keep out of driver messages (libpq and
 * libmongoc quote the URL or the token they could not parse): the userinfo
 * and the password (from the first ':' to the last '@', as store_redact_url
 * reads it, since a driver may cut at the first '@'), a password= query
 * value, each raw and percent-decoded, and the pieces a driver may split a
 * password into at '@', '/', '?', '#' or ':'. Owns its strings. */
struct store_secret {
	char *text;
	int is_piece; /* a piece: shorter ones match only as a whole word */
};

struct store_secrets {
	struct store_secret *v; /* longest first */
	size_t n;
};

void store_secrets_init(struct store_secrets *sec, const char *url);
void store_secrets_release(struct store_secrets *sec);

/* A driver message as our errors read it, into out (reset first): every
 * secret of sec (may be NULL) replaced by "***", one line, a lowercase start
 * (unless an acronym), no final period. A message past out's maximum
 * becomes a note saying so, never a cut one. */
void store_driver_msg(struct buf *out, const char *msg,
		      const struct store_secrets *sec);

/* The URL with any password replaced by "***", for messages. Owned by caller.
 * A URL past the buffer maximum gives "(store url too long to show)". */
char *store_redact_url(const char *url);

#endif
