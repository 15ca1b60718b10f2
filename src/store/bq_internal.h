/* What the bigquery_*.c and bq_*.c files share: credentials and tokens
 * (bq_auth.c, the only file that includes OpenSSL), the REST client with
 * retries and error mapping (bq_rest.c), the schema (bq_schema.c), the
 * spool (bq_spool.c), the flush and runs (bq_write.c) and the reads
 * (bq_read.c). */
#ifndef ESPSYNC_BQ_INTERNAL_H
#define ESPSYNC_BQ_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

#include "net/http.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"

#define BQ_SCOPE "https://www.googleapis.com/auth/bigquery"
#define BQ_TOKEN_URI "https://oauth2.googleapis.com/token"
#define BQ_API_ROOT "https://bigquery.googleapis.com"
/* 1: the tables of issue 11; 2: campaigns.verified_opens and
 * verified_unique_opens; 3: campaign_engagement's rates in NUMERIC. */
#define BQ_SCHEMA_VERSION 3
/* A token is renewed this long before it expires (Google's clients use
 * 3 min 45 s). */
#define BQ_REFRESH_EARLY_S 225

/* ---- credentials (bq_auth.c) ------------------------------------------ */

enum bq_cred_kind { BQ_CRED_SERVICE_ACCOUNT, BQ_CRED_USER, BQ_CRED_METADATA };

struct bq_cred {
	enum bq_cred_kind kind;
	char *source;	     /* file path or "metadata server", for messages */
	char *email;	     /* client_email; metadata: read on demand */
	char *key_id;	     /* private_key_id, may be NULL */
	char *private_key;   /* PEM; never printed */
	char *token_uri;     /* where tokens come from */
	char *client_id;     /* authorized_user */
	char *client_secret; /* authorized_user; never printed */
	char *refresh_token; /* authorized_user; never printed */
	char *project_id;    /* from the key file, may be NULL */
	char *metadata_root; /* http://HOST/computeMetadata/v1 */
	/* The current access token (never printed) and when it expires. */
	char *token;
	int64_t expires_at;
};

/* Where credentials are looked for: the settings of the same names
 * (struct store_options), each NULL when unset. */
struct bq_cred_env {
	const char *key_file;	   /* GOOGLE_APPLICATION_CREDENTIALS */
	const char *gcloud_dir;	   /* CLOUDSDK_CONFIG */
	const char *home;	   /* HOME */
	const char *metadata_host; /* GCE_METADATA_HOST, else _ROOT */
};

/* Finds credentials in Google's order: GOOGLE_APPLICATION_CREDENTIALS,
 * the gcloud application-default file, the metadata server. ERR_STORE
 * naming the file and what is wrong with it. */
int bq_cred_load(struct bq_cred *c, const struct bq_cred_env *env,
		 struct err *err);
/* Reads a key file's JSON (service_account or authorized_user). */
int bq_cred_parse(struct bq_cred *c, const char *json, size_t len,
		  const char *source, struct err *err);
void bq_cred_release(struct bq_cred *c);

/* base64url without padding. */
BUF_MUST_CHECK int bq_b64url(struct buf *out, const void *data, size_t n);
/* The RS256-signed assertion of the JWT-bearer grant. */
int bq_jwt_make(struct buf *out, const struct bq_cred *c, int64_t now,
		struct err *err);
/* Parses a token endpoint's answer: access_token and expires_in (number
 * or string). ERR_STORE with the endpoint's error and description. */
int bq_token_parse(const char *body, size_t len, long status, char **token,
		   int64_t *expires_in, struct err *err);
/* Fetches a new token into c->token (through h). */
int bq_token_fetch(struct bq_cred *c, struct http *h, struct err *err);
/* The service account's email: the key file's, or the metadata
 * server's; NULL for a user's refresh token. */
const char *bq_cred_email(struct bq_cred *c, struct http *h);

/* ---- REST client (bq_rest.c) ------------------------------------------ */

struct bq_client {
	struct http *http;
	struct bq_cred cred;
	char *api;    /* ROOT/bigquery/v2 */
	char *upload; /* ROOT/upload/bigquery/v2 */
	char *project, *dataset, *location;
	char *safe; /* "bigquery://project/dataset", for messages */
	int backoff_ms;
	int max_attempts;
	/* Per process, what -v and the run summary show: HTTP requests
	 * (token fetches included), jobs.insert jobs (loads and DML
	 * scripts, each attempt), jobs.query reads, request bodies sent. */
	int64_t requests, jobs, queries, bytes_up;
	int64_t job_seq;
	char run_tag[32];
};

struct bq_resp {
	long status;
	struct buf body;
	char *location; /* Location header (resumable uploads) */
	char *range;	/* Range header (resumable uploads) */
};

/* One request with a fresh token: retries network errors, 5xx, 429 and
 * 403 rateLimitExceeded with backoff, refreshes the token once on 401.
 * 0 with any final status in r (the caller judges it); -1 when no answer
 * came. ctype may be NULL. */
int bq_call(struct bq_client *c, const char *method, const char *url,
	    const char *ctype, const char *body, size_t len,
	    const char *const *headers, struct bq_resp *r, struct err *err);
void bq_resp_release(struct bq_resp *r);
/* The reason and message of an error body (empty when absent). */
void bq_error_parse(const char *body, size_t len, char *reason,
		    size_t reason_size, char *msg, size_t msg_size);
/* 1 when an HTTP answer with this status and reason is worth a retry. */
int bq_is_retryable(long status, const char *reason);
/* 1 when a job's error means "run it again under a new id". */
int bq_job_is_retryable(const char *reason, const char *message);
/* Fills err from a failed answer: what failed, the object, the cause and,
 * for access errors, the roles to grant. Returns -1. */
int bq_fail(struct bq_client *c, const struct bq_resp *r, const char *what,
	    struct err *err);

/* Runs a job (configuration JSON object text, e.g. {"query":{...}}) to
 * its end under an id espsync makes; data (may be NULL) is uploaded with
 * a load job. A job that fails retryably runs again under a new id.
 * *job_out (may be NULL) gets the finished job's JSON. */
int bq_job_run(struct bq_client *c, const char *config, FILE *data,
	       int64_t data_len, struct buf *job_out, struct err *err);

/* A query parameter: name and BigQuery type ("STRING", "INT64", ...);
 * value NULL is NULL. ARRAY<STRING> when values is set. */
struct bq_param {
	const char *name, *type, *value;
	const char *const *values;
	size_t n_values;
};

/* Called with each row's cells as text (NULL for NULL). */
typedef int (*bq_row_fn)(void *ctx, const char *const *cells, size_t n);

/* Runs a query (jobs.query, then getQueryResults page by page) and hands
 * each row to fn; a non-zero return from fn stops and is returned. */
int bq_query(struct bq_client *c, const char *sql,
	     const struct bq_param *params, size_t n_params, bq_row_fn fn,
	     void *ctx, struct err *err);
/* A DML statement or script as a job (own id); no rows. */
int bq_exec(struct bq_client *c, const char *sql, const struct bq_param *params,
	    size_t n_params, struct err *err);
/* Appends the JSON "queryParameters":[...] member (with a leading comma). */
BUF_MUST_CHECK int bq_params_json(struct buf *b, const struct bq_param *p,
				  size_t n);
/* `project.dataset.table` quoted for SQL. */
BUF_MUST_CHECK int bq_table_ref(struct buf *b, const struct bq_client *c,
				const char *table);

/* ---- rows already written (bq_seen.c) ---------------------------------- */

/* The sync_state stream (of each provider/account) holding what the last
 * run wrote; never shown by `state show`. */
#define BQ_SEEN_STREAM "bigquery:written"
/* The status of the account's last recorded run (written with its run
 * row): a run after one that did not complete is recorded even when it
 * wrote nothing, so the run log and the checkpoints catch up. */
#define BQ_RUN_STREAM "bigquery:run"
/* The store's own streams, never shown as checkpoints. */
#define BQ_OWN_PREFIX "bigquery:"

/* Row key hash -> content hash (0: not known, a row of that key is never
 * taken as stored), open addressing; key 0 marks a free slot. */
struct bq_seen {
	uint64_t *key, *val;
	size_t n, cap;
};

/* 64 bits of SHA-256 over a, a newline and b. */
uint64_t bq_seen_hash(const char *a, size_t alen, const char *b, size_t blen);
/* A map key: the hash with the row's kind (enum bq_kind) in its top
 * byte; bq_seen_kind reads it back. */
uint64_t bq_seen_key(int kind, uint64_t hash);
int bq_seen_kind(uint64_t key);
/* 1 with *val when key is in m. */
int bq_seen_get(const struct bq_seen *m, uint64_t key, uint64_t *val);
void bq_seen_put(struct bq_seen *m, uint64_t key, uint64_t val);
void bq_seen_clear(struct bq_seen *m);
void bq_seen_release(struct bq_seen *m);
/* Reads the stored form; -1 (m empty) when it is not one. */
int bq_seen_parse(struct bq_seen *m, const char *text);
/* The stored form of run's entries, then (old may be NULL) old's whose key
 * run lacks, but none of old's of kind skip_old_kind (-1: all kept);
 * entries without a content hash are left out, and those past 4 MiB. */
BUF_MUST_CHECK int bq_seen_format(struct buf *b, const struct bq_seen *run,
				  const struct bq_seen *old, int skip_old_kind);

/* ---- the store --------------------------------------------------------- */

/* The staging table's kinds of rows (column _t). */
enum bq_kind {
	BK_CAMPAIGNS,
	BK_LINKS,
	BK_PARTICIPANTS,
	BK_EVENTS,
	BK_CONTACTS,
	BK_LISTS,
	BK_STATE,
	/* deletion marks (reconcile_contacts, reconcile_contact_set),
	 * applied after the MERGEs of the flush */
	BK_RECON_LIVE, /* a contact a reconcile call saw live (_op) */
	BK_RECON_SPAN, /* ids a call covers: _len digits in [_lo, _hi], or
			* every contact when _len is 0; deleted_at = at */
	BK__COUNT
};

struct bq_state_entry {
	char *stream, *value; /* value NULL: deleted */
};

struct bq_store {
	struct store base;
	struct bq_client c;
	int retention_days;
	int64_t flush_rows, flush_seconds;
	/* The spool: NDJSON rows of the staging table since the last flush. */
	FILE *spool;
	int64_t spool_rows, spool_bytes, spool_since_ms;
	int64_t kind_rows[BK__COUNT];
	int64_t day_lo, day_hi; /* activity_date range of spooled events */
	int64_t seq;
	int64_t recon_ops; /* reconcile calls spooled (_op) */
	int64_t flushes;   /* flushes with data (each a load and a script) */
	/* sync_state of one provider/account, read once, kept current. */
	char *cache_provider, *cache_account;
	struct bq_state_entry *cache;
	size_t n_cache, cap_cache;
	int is_cached;
	/* What the last run of the cached provider/account wrote (read with
	 * the checkpoints), and what this run wrote or found written: a row
	 * in either with the same content is not spooled again. */
	struct bq_seen seen_old, seen_run;
	/* This run's live sightings (contact ids) and deletion spans: a
	 * span makes the sightings before it in its range say nothing. */
	char **run_live;
	size_t n_run_live, cap_run_live;
	struct store_id_span *run_spans;
	size_t n_run_spans, cap_run_spans;
	int run_span_all; /* a span of every contact */
	/* Campaign ids spooled since the last flush (campaign_get flushes
	 * first only for those). */
	struct bq_seen spooled_campaigns;
	/* The stored campaigns of one provider/account, read at once for
	 * campaign_get (one query instead of one per campaign); dropped by
	 * a flush that writes campaigns. */
	struct arena camps_arena;
	struct rec_campaign *camps;
	size_t n_camps, cap_camps;
	struct bq_seen camps_index; /* id hash -> index + 1 */
	char *camps_provider, *camps_account;
	int has_camps;
	/* link_participants of this account runs in the next flush's
	 * transaction (NULL: none pending). */
	char *link_provider, *link_account;
	/* The run of this process (run_begin): recorded with the flushes. */
	int64_t run_id;
	char *run_provider, *run_account;
	int has_run, run_flushed;
	int run_linkable;   /* contacts or participants spooled this run */
	int run_seen_final; /* its last flush wrote what it wrote */
	/* The cached account's last recorded run completed (its
	 * BQ_RUN_STREAM): only then may a run end without a flush. */
	int is_last_complete;
	/* The counters at run_begin, for the run's -v line. */
	int64_t run_requests0, run_jobs0, run_queries0, run_bytes0;
	int64_t run_flushes0;
};

extern const struct store_ops bigquery_store_backend_ops;

int bq_schema_ensure(struct bq_store *s, struct err *err);
/* The staging table's _t value of each kind of row. */
extern const char *const bq_kind_names[BK__COUNT];
/* 1 when rows of provider/account belong to the run, 2 when the
 * checkpoints read (and what the last run wrote) are of its account
 * too; 0 otherwise. */
int bq_batch_is_run(const struct bq_store *s, const char *provider,
		    const char *account);
/* Spools what the run's account has written (its BQ_SEEN_STREAM
 * checkpoint) into the flush that writes the rows; is_final: at the end
 * of a complete run. */
int bq_spool_seen(struct bq_store *s, int is_final, struct err *err);
/* Rows spooled other than checkpoints: a spool of checkpoints alone is
 * not worth a flush of its own. */
int64_t bq_spool_data_rows(const struct bq_store *s);
/* 1 when the spool holds a row of this campaign (reads of it flush
 * first). */
int bq_spool_has_campaign(const struct bq_store *s, const char *provider,
			  const char *account, const char *campaign_id);
/* Drops the campaigns read for campaign_get. */
void bq_camps_forget(struct bq_store *s);
/* Forgets this run's live sightings and spans. */
void bq_run_live_clear(struct bq_store *s);
/* The checkpoints were read: what the last run wrote comes with them. */
void bq_seen_loaded(struct bq_store *s);
void bq_cache_put(struct bq_store *s, const char *stream, const char *value);
/* The JSON schema fields of the staging table. */
BUF_MUST_CHECK int bq_stage_schema(struct buf *b);

int bq_write_batch(struct store *st, const struct batch *b,
		   struct store_counts *out, struct err *err);
/* Loads the spool and merges it with its checkpoints (and run, may be
 * NULL) in one transaction; nothing when both are empty. */
int bq_flush(struct bq_store *s, const struct run_row *run, struct err *err);
int bq_run_begin(struct store *st, struct run_row *run, struct err *err);
int bq_run_finish(struct store *st, const struct run_row *run, struct err *err);
int bq_link_participants(struct store *st, const char *provider,
			 const char *account, int64_t *changed,
			 struct err *err);
int bq_reconcile_contacts(struct store *st, const char *provider,
			  const char *account, int64_t after_id,
			  int64_t upto_id, const char *const *live_ids,
			  size_t n_live, int64_t at, int64_t *changed,
			  struct err *err);
int bq_reconcile_contact_set(struct store *st, const char *provider,
			     const char *account, const char *const *live_ids,
			     size_t n_live, int64_t at, int64_t *changed,
			     struct err *err);

/* A query whose {table} names get the dataset put before them, after a
 * flush of what the spool holds. */
int bq_read_query(struct bq_store *s, const char *tmpl,
		  const struct bq_param *p, size_t n, bq_row_fn fn, void *ctx,
		  struct err *err);
/* Campaign rows "SELECT <the campaign columns> FROM {campaigns} tail",
 * tail (WHERE ... ORDER BY ...) naming the table campaigns, to fn. */
int bq_campaigns_where(struct bq_store *s, const char *tail,
		       const struct bq_param *p, size_t n, store_campaign_fn fn,
		       void *ctx, struct err *err);

int bq_state_get(struct store *st, const char *provider, const char *account,
		 const char *stream, struct buf *out, int *found,
		 struct err *err);
int bq_state_reset(struct store *st, const char *provider,
		   const char *stream_prefix, int64_t *removed,
		   struct err *err);
int bq_state_each(struct store *st, const char *provider, store_state_fn fn,
		  void *ctx, struct err *err);
int bq_run_newest(struct store *st, const char *provider, const char *status,
		  struct run_row *out, struct arena *arena, int *found,
		  struct err *err);
int bq_campaign_get(struct store *st, const char *provider, const char *account,
		    const char *campaign_id, struct rec_campaign *out,
		    struct arena *arena, int *found, struct err *err);
int bq_stats(struct store *st, const char *provider, struct store_stats *out,
	     struct err *err);
int bq_each_campaign(struct store *st, const char *provider,
		     const char *campaign_id, store_campaign_fn fn, void *ctx,
		     struct err *err);
int bq_each_participant(struct store *st, const char *provider,
			const char *account, const char *campaign_id,
			store_participant_fn fn, void *ctx, struct err *err);
int bq_campaign_fields(struct store *st, const char *provider,
		       const char *account, const char *campaign_id,
		       struct buf *out, struct err *err);
int bq_report_totals(struct store *st, const struct store_period *p,
		     struct store_totals *out, struct err *err);
int bq_report_days(struct store *st, const struct store_period *p,
		   store_day_fn fn, void *ctx, struct err *err);
int bq_report_campaigns(struct store *st, const struct store_period *p,
			store_campaign_fn fn, void *ctx, struct err *err);
int bq_report_links(struct store *st, const struct store_period *p,
		    int64_t limit, store_link_fn fn, void *ctx,
		    struct err *err);
int bq_report_lists(struct store *st, const struct store_period *p,
		    store_list_fn fn, void *ctx, struct err *err);
int bq_report_accounts(struct store *st, const struct store_period *p,
		       store_account_fn fn, void *ctx, struct err *err);

#endif
