/* Shared by the files of the PostgreSQL store (postgresql.c: connection and
 * the ops table; pg_schema.c: migrations, partitions, retention; pg_write.c:
 * staging, COPY and merges; pg_rows.c: COPY text rows; pg_read.c: state, runs
 * and reads; pg_report.c: the report's reads; pg_reconcile.c: contact
 * deletion marks), which are the only files that include libpq-fe.h. A
 * PGresult returned here is the caller's to PQclear; the store owns
 * everything it points to. */
#ifndef ESPSYNC_STORE_PG_INTERNAL_H
#define ESPSYNC_STORE_PG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "store/postgresql.h"
#include "util/arena.h"
#include "util/buf.h"

/* Every writer takes this transaction-level advisory lock first, so two
 * syncs into one database take turns per batch as they do on SQLite. */
#define PG_WRITE_LOCK "SELECT pg_advisory_xact_lock(7305218801)"

/* Epoch seconds of a timestamptz column, NULL staying NULL. */
#define PG_EPOCH(c) "extract(epoch FROM " c ")::bigint"

/* The tables a batch writes, in the order it writes them. */
enum ptable {
	PT_CAMPAIGNS,
	PT_LINKS,
	PT_PARTICIPANTS,
	PT_EVENTS,
	PT_CONTACTS,
	PT_LISTS,
	PT__COUNT
};

/* Merge statements: one per table, campaigns twice (gate 0 and 1). */
enum { PG_MS_CAMPAIGNS_STATS = PT__COUNT, PG_MS__COUNT };

struct pg_store {
	struct store base;
	PGconn *db;
	char *safe_url;		      /* redacted, for messages */
	struct store_secrets secrets; /* kept out of driver messages */
	int retention_days;
	char *merge_sql[PG_MS__COUNT];
	/* UTC day numbers whose partition is known to exist, sorted. */
	int64_t *days;
	size_t n_days, cap_days;
	/* The last batch of events held one already stored: the next is
	 * merged through staging instead of COPYed straight in (pg_write.c). */
	int has_seen_stored_event;
	/* Rows staged per table since its last TRUNCATE (pg_write.c). */
	int64_t staged_rows[PT__COUNT];
};

/* postgresql.c */
int64_t pg_floor_div(int64_t a, int64_t b);
/* Sets err (ERR_STORE) from res or the connection; returns -1. */
int pg_db_err(struct err *err, struct pg_store *s, const char *what,
	      const PGresult *res);
/* Runs a statement with text parameters; the result, or NULL with err. */
PGresult *pg_query(struct pg_store *s, const char *sql, int n,
		   const char *const *params, const char *what,
		   struct err *err);
/* Runs one or more statements without parameters. */
int pg_exec(struct pg_store *s, const char *sql, const char *what,
	    struct err *err);
/* Rolls back the open transaction, if any. */
void pg_rollback(struct pg_store *s);
const char *pg_val(const PGresult *r, int row, int col);
int64_t pg_val_int(const PGresult *r, int row, int col);
int64_t pg_val_time(const PGresult *r, int row, int col);
char *pg_val_dup(const PGresult *r, int row, int col, struct arena *a);

/* pg_schema.c */
/* Creates or migrates the schema to STORE_PG_SCHEMA_VERSION. */
int pg_migrate(struct pg_store *s, struct err *err);
int pg_day_known(const struct pg_store *s, int64_t day);
void pg_day_add(struct pg_store *s, int64_t day);
/* First UTC day whose events are kept; INT64_MIN when all are. */
int64_t pg_first_kept_day(const struct pg_store *s);
/* Appends the statements creating the partitions of the n days (UTC day
 * numbers) to q; they run in the batch's transaction with its first
 * statement, and the days join the known set once it commits. -1 when q
 * reached its maximum. */
int pg_partitions_sql(struct buf *q, const int64_t *days, size_t n);
int pg_load_known_days(struct pg_store *s, struct err *err);
/* Drops partitions and default-partition rows older than retention. */
int pg_expire(struct pg_store *s, struct err *err);

/* pg_write.c */
/* Creates the session's staging tables and builds the merge statements. */
int pg_write_prepare(struct pg_store *s, struct err *err);
void pg_write_release(struct pg_store *s);
int pg_write_batch(struct store *store, const struct batch *b,
		   struct store_counts *out, struct err *err);

/* pg_rows.c: each appends one record's columns, each preceded by a tab
 * except the event's first (event_id), without the line's end. now is the
 * batch's time (synced_at, updated_at). -1 when o reached its maximum. */
int pg_row_campaign(struct buf *o, const struct batch *b,
		    const struct rec_campaign *r, const char *now);
int pg_row_link(struct buf *o, const struct batch *b, const struct rec_link *r,
		const char *now);
int pg_row_participant(struct buf *o, const struct batch *b,
		       const struct rec_participant *r, const char *now);
int pg_row_event(struct buf *o, const struct batch *b,
		 const struct rec_event *r, const char *now);
int pg_row_contact(struct buf *o, const struct batch *b,
		   const struct rec_contact *r, const char *now);
int pg_row_list(struct buf *o, const struct batch *b, const struct rec_list *r,
		const char *now);

/* pg_read.c */
int pg_state_get(struct store *store, const char *provider, const char *account,
		 const char *stream, struct buf *out, int *found,
		 struct err *err);
int pg_state_reset(struct store *store, const char *provider,
		   const char *stream_prefix, int64_t *removed,
		   struct err *err);
int pg_state_each(struct store *store, const char *provider, store_state_fn fn,
		  void *ctx, struct err *err);
int pg_run_begin(struct store *store, struct run_row *run, struct err *err);
int pg_run_finish(struct store *store, const struct run_row *run,
		  struct err *err);
int pg_run_newest(struct store *store, const char *provider, const char *status,
		  struct run_row *out, struct arena *arena, int *found,
		  struct err *err);
int pg_campaign_get(struct store *store, const char *provider,
		    const char *account, const char *campaign_id,
		    struct rec_campaign *out, struct arena *arena, int *found,
		    struct err *err);
int pg_link_participants(struct store *store, const char *provider,
			 const char *account, int64_t *changed,
			 struct err *err);
int pg_stats(struct store *store, const char *provider, struct store_stats *out,
	     struct err *err);
int pg_each_campaign(struct store *store, const char *provider,
		     const char *campaign_id, store_campaign_fn fn, void *ctx,
		     struct err *err);
int pg_each_participant(struct store *store, const char *provider,
			const char *account, const char *campaign_id,
			store_participant_fn fn, void *ctx, struct err *err);
int pg_campaign_fields(struct store *store, const char *provider,
		       const char *account, const char *campaign_id,
		       struct buf *out, struct err *err);
/* Campaign rows of "SELECT <columns> FROM campaigns AS c <tail>". */
int pg_campaigns_query(struct pg_store *s, const char *tail, int n,
		       const char *const *params, store_campaign_fn fn,
		       void *ctx, struct err *err);

/* pg_report.c: the report reads (store.h) */
int pg_report_totals(struct store *store, const struct store_period *p,
		     struct store_totals *out, struct err *err);
int pg_report_days(struct store *store, const struct store_period *p,
		   store_day_fn fn, void *ctx, struct err *err);
int pg_report_campaigns(struct store *store, const struct store_period *p,
			store_campaign_fn fn, void *ctx, struct err *err);
int pg_report_links(struct store *store, const struct store_period *p,
		    int64_t limit, store_link_fn fn, void *ctx,
		    struct err *err);
int pg_report_lists(struct store *store, const struct store_period *p,
		    store_list_fn fn, void *ctx, struct err *err);
int pg_report_accounts(struct store *store, const struct store_period *p,
		       store_account_fn fn, void *ctx, struct err *err);

/* pg_runs.c */
int pg_run_heartbeat(struct store *store, int64_t run_id, const char *provider,
		     const char *account, int64_t at, struct err *err);
int pg_run_reap(struct store *store, const char *provider, const char *account,
		int64_t now, int64_t *marked, struct err *err);
int pg_lease_take(struct store *store, const char *provider,
		  const char *account, struct lease_holder *holder,
		  struct err *err);
int pg_lease_drop(struct store *store, const char *provider,
		  const char *account, struct err *err);
/* pg_reconcile.c */
int pg_reconcile_contacts(struct store *store, const char *provider,
			  const char *account, int64_t after_id,
			  int64_t upto_id, const char *const *live_ids,
			  size_t n_live, int64_t at, int64_t *changed,
			  struct err *err);
int pg_reconcile_contact_set(struct store *store, const char *provider,
			     const char *account, const char *const *live_ids,
			     size_t n_live, int64_t at, int64_t *changed,
			     struct err *err);

#endif
