/* Shared by the files of the SQLite store (sqlite.c: open, cached statements,
 * transactions and the ops table; sqlite_schema.c: migrations;
 * sqlite_write.c: upserts, checkpoints, runs and reconciliation;
 * sqlite_read.c: state, runs and reads; sqlite_report.c: the report's reads),
 * which are the only files that include sqlite3.h. The store owns its
 * connection and cached statements; a statement from sq_prep is the caller's
 * to finalize. */
#ifndef ESPSYNC_STORE_SQLITE_INTERNAL_H
#define ESPSYNC_STORE_SQLITE_INTERNAL_H

#include <stdint.h>

#include <sqlite3.h>

#include "store/sqlite.h"
#include "util/buf.h"

enum upsert_table {
	T_CAMPAIGNS,
	T_LINKS,
	T_PARTICIPANTS,
	T_EVENTS,
	T_CONTACTS,
	T_LISTS,
	T__COUNT
};

/* Cached statements: two per upsert table (INSERT ... ON CONFLICT DO
 * NOTHING, then UPDATE ... WHERE <differs>), then the fixed ones. */
enum stmt_id {
	ST_BEGIN = 2 * T__COUNT,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_STATE_SET,
	ST_STATE_DEL,
	ST__COUNT
};

struct sqlite_store {
	struct store base;
	sqlite3 *db;
	char *path;
	sqlite3_stmt *st[ST__COUNT];
};

/* sqlite.c */
/* Sets err (ERR_STORE) from the connection's last error; returns -1. */
int sq_db_err(struct err *err, struct sqlite_store *s, const char *what);
/* Binds v as text (NULL binds NULL); v must outlive the statement's step. */
int sq_bind_text(sqlite3_stmt *st, int i, const char *v);
/* Prepares sql and binds the n params as text (NULL binds NULL) to ?1..?n;
 * the strings must outlive the statement's steps. */
int sq_prep(struct sqlite_store *s, const char *sql, int n,
	    const char *const *params, sqlite3_stmt **out, struct err *err);
/* Steps cached statement id and resets it; -1 on error (no err set). */
int sq_run_cached(struct sqlite_store *s, int id);
/* The write transaction (BEGIN IMMEDIATE) around a batch or a
 * reconciliation; what names the commit in its error. Rollback is a no-op
 * when no transaction is open. */
int sq_begin(struct sqlite_store *s, struct err *err);
int sq_commit(struct sqlite_store *s, const char *what, struct err *err);
void sq_rollback(struct sqlite_store *s);
int sq_exec(struct sqlite_store *s, const char *sql, struct err *err,
	    const char *what);

/* sqlite_schema.c */
/* Creates or migrates the schema to STORE_SQLITE_SCHEMA_VERSION. */
int sq_migrate(struct sqlite_store *s, struct err *err);

/* sqlite_write.c */
/* Builds the INSERT (which = 0) or UPDATE (which = 1) of table t. */
void sq_build_upsert(struct buf *q, enum upsert_table t, int which);
int sq_write_batch(struct store *store, const struct batch *b,
		   struct store_counts *out, struct err *err);
int sq_run_begin(struct store *store, struct run_row *run, struct err *err);
int sq_run_finish(struct store *store, const struct run_row *run,
		  struct err *err);
int sq_link_participants(struct store *store, const char *provider,
			 const char *account, int64_t *changed,
			 struct err *err);
int sq_reconcile_contacts(struct store *store, const char *provider,
			  const char *account, int64_t after_id,
			  int64_t upto_id, const char *const *live_ids,
			  size_t n_live, int64_t at, int64_t *changed,
			  struct err *err);
int sq_reconcile_contact_set(struct store *store, const char *provider,
			     const char *account, const char *const *live_ids,
			     size_t n_live, int64_t at, int64_t *changed,
			     struct err *err);

/* sqlite_runs.c */
int sq_run_heartbeat(struct store *store, int64_t run_id, const char *provider,
		     const char *account, int64_t at, struct err *err);
int sq_run_reap(struct store *store, const char *provider, const char *account,
		int64_t now, int64_t *marked, struct err *err);
int sq_lease_take(struct store *store, const char *provider,
		  const char *account, struct lease_holder *holder,
		  struct err *err);
int sq_lease_drop(struct store *store, const char *provider,
		  const char *account, struct err *err);

/* sqlite_read.c */
int sq_state_get(struct store *store, const char *provider, const char *account,
		 const char *stream, struct buf *out, int *found,
		 struct err *err);
int sq_state_reset(struct store *store, const char *provider,
		   const char *stream_prefix, int64_t *removed,
		   struct err *err);
int sq_state_each(struct store *store, const char *provider, store_state_fn fn,
		  void *ctx, struct err *err);
int sq_run_newest(struct store *store, const char *provider, const char *status,
		  struct run_row *out, struct arena *arena, int *found,
		  struct err *err);
int sq_campaign_get(struct store *store, const char *provider,
		    const char *account, const char *campaign_id,
		    struct rec_campaign *out, struct arena *arena, int *found,
		    struct err *err);
int sq_stats(struct store *store, const char *provider, struct store_stats *out,
	     struct err *err);
int sq_each_campaign(struct store *store, const char *provider,
		     const char *campaign_id, store_campaign_fn fn, void *ctx,
		     struct err *err);
int sq_each_participant(struct store *store, const char *provider,
			const char *account, const char *campaign_id,
			store_participant_fn fn, void *ctx, struct err *err);
int sq_campaign_fields(struct store *store, const char *provider,
		       const char *account, const char *campaign_id,
		       struct buf *out, struct err *err);
/* Campaign rows of "SELECT <columns> FROM campaigns AS c <tail>". */
int sq_campaigns_query(struct sqlite_store *s, const char *tail, int n,
		       const char *const *params, store_campaign_fn fn,
		       void *ctx, struct err *err);

/* sqlite_report.c: the report reads (store.h) */
int sq_report_totals(struct store *store, const struct store_period *p,
		     struct store_totals *out, struct err *err);
int sq_report_days(struct store *store, const struct store_period *p,
		   store_day_fn fn, void *ctx, struct err *err);
int sq_report_campaigns(struct store *store, const struct store_period *p,
			store_campaign_fn fn, void *ctx, struct err *err);
int sq_report_links(struct store *store, const struct store_period *p,
		    int64_t limit, store_link_fn fn, void *ctx,
		    struct err *err);
int sq_report_lists(struct store *store, const struct store_period *p,
		    store_list_fn fn, void *ctx, struct err *err);
int sq_report_accounts(struct store *store, const struct store_period *p,
		       store_account_fn fn, void *ctx, struct err *err);

#endif
