/* Shared by the files of the MongoDB store (mongodb.c: connection, messages
 * and the ops table; mongo_schema.c: indexes; mongo_bson.c: values and field
 * reads; mongo_write.c: batches, links, deletion marks; mongo_read.c: state,
 * runs and reads; mongo_report.c: the report's reads), which are the only files
 * that include mongoc.h/bson.h. The store owns its client and collections; a
 * bson_value_t from mg_str() borrows the string it was given. */
#ifndef ESPSYNC_STORE_MONGO_INTERNAL_H
#define ESPSYNC_STORE_MONGO_INTERNAL_H

#include <stdint.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-qual"
#include <mongoc/mongoc.h>
#pragma GCC diagnostic pop

#include "store/mongodb.h"
#include "util/arena.h"
#include "util/buf.h"

enum coll_id {
	K_CAMPAIGNS,
	K_LINKS,
	K_PARTICIPANTS,
	K_EVENTS,
	K_CONTACTS,
	K_LISTS,
	K_STATE,
	K_RUNS,
	K_LEASES, /* sync_leases: one document per provider account */
	K__COUNT
};

struct mongo_store {
	struct store base;
	mongoc_client_t *client;
	mongoc_database_t *db;
	mongoc_collection_t *coll[K__COUNT];
	char *safe; /* URL with the password replaced, for messages */
	struct store_secrets secrets; /* kept out of driver messages */
};

/* Engagement flags in the earlier tool's embedded object (ENG_SENT has no
 * field there and is not stored). */
#define MG_N_ENGAGEMENT 5
struct mg_flag {
	const char *path;
	unsigned bit;
};
extern const struct mg_flag mg_engagement[MG_N_ENGAGEMENT];

/* mongodb.c */
extern const char *const mg_coll_names[K__COUNT];
/* Sets err (ERR_STORE) from the driver's error, secrets scrubbed; -1. */
int mg_err(struct err *err, const struct mongo_store *s, const char *what,
	   const bson_error_t *e);
/* Appends provider and account to a filter, each only when not NULL. */
void mg_filter_owner(bson_t *f, const char *provider, const char *account);
/* Appends provider and account to a document, NULL as null. */
void mg_append_owner(bson_t *d, const char *provider, const char *account);
/* A number of a command reply; 0 when missing. */
int64_t mg_reply_int(const bson_t *reply, const char *name);
mongoc_cursor_t *mg_find_docs(struct mongo_store *s, enum coll_id c,
			      const bson_t *filter, const char *sort,
			      int64_t limit);
int mg_find_one(struct mongo_store *s, enum coll_id c, const bson_t *filter,
		const char *sort, bson_t *out, int *found, struct err *err,
		const char *what);

/* mongo_schema.c */
int mg_create_indexes(struct mongo_store *s, struct err *err);

/* mongo_bson.c: values (a NULL string or TIME_NULL is null) */
bson_value_t mg_null(void);
bson_value_t mg_str(const char *s);
bson_value_t mg_int(int64_t n);
/* A list count, negative meaning unknown (null). */
bson_value_t mg_count(int64_t n);
bson_value_t mg_bool(int b);
bson_value_t mg_date(int64_t t);
bson_value_t mg_json(const char *text, bson_t *holder);
/* Field reads by dotted path. */
int mg_find(const bson_t *doc, const char *path, bson_iter_t *it);
const char *mg_get_str(const bson_t *doc, const char *path);
int64_t mg_get_int(const bson_t *doc, const char *path);
/* A number field; -1 when missing, null or not a number. */
int64_t mg_get_count(const bson_t *doc, const char *path);
int mg_get_bool(const bson_t *doc, const char *path);
int64_t mg_get_time(const bson_t *doc, const char *path);
char *mg_get_json(const bson_t *doc, const char *path, struct arena *a);

/* mongo_write.c */
int mg_write_batch(struct store *store, const struct batch *b,
		   struct store_counts *out, struct err *err);
int mg_link_participants(struct store *store, const char *provider,
			 const char *account, int64_t *changed,
			 struct err *err);
int mg_reconcile_contacts(struct store *store, const char *provider,
			  const char *account, int64_t after_id,
			  int64_t upto_id, const char *const *live_ids,
			  size_t n_live, int64_t at, int64_t *changed,
			  struct err *err);
int mg_reconcile_contact_set(struct store *store, const char *provider,
			     const char *account, const char *const *live_ids,
			     size_t n_live, int64_t at, int64_t *changed,
			     struct err *err);

/* mongo_read.c */
int mg_state_get(struct store *store, const char *provider, const char *account,
		 const char *stream, struct buf *out, int *found,
		 struct err *err);
int mg_state_reset(struct store *store, const char *provider,
		   const char *stream_prefix, int64_t *removed,
		   struct err *err);
int mg_state_each(struct store *store, const char *provider, store_state_fn fn,
		  void *ctx, struct err *err);
int mg_run_begin(struct store *store, struct run_row *run, struct err *err);
int mg_run_finish(struct store *store, const struct run_row *run,
		  struct err *err);
/* mongo_runs.c */
int mg_run_heartbeat(struct store *store, int64_t run_id, const char *provider,
		     const char *account, int64_t at, struct err *err);
int mg_run_reap(struct store *store, const char *provider, const char *account,
		int64_t now, int64_t *marked, struct err *err);
int mg_lease_take(struct store *store, const char *provider,
		  const char *account, struct lease_holder *holder,
		  struct err *err);
int mg_lease_drop(struct store *store, const char *provider,
		  const char *account, struct err *err);
int mg_run_newest(struct store *store, const char *provider, const char *status,
		  struct run_row *out, struct arena *arena, int *found,
		  struct err *err);
int mg_campaign_get(struct store *store, const char *provider,
		    const char *account, const char *campaign_id,
		    struct rec_campaign *out, struct arena *arena, int *found,
		    struct err *err);
int mg_stats(struct store *store, const char *provider, struct store_stats *out,
	     struct err *err);
int mg_each_campaign(struct store *store, const char *provider,
		     const char *campaign_id, store_campaign_fn fn, void *ctx,
		     struct err *err);
int mg_each_participant(struct store *store, const char *provider,
			const char *account, const char *campaign_id,
			store_participant_fn fn, void *ctx, struct err *err);
int mg_campaign_fields(struct store *store, const char *provider,
		       const char *account, const char *campaign_id,
		       struct buf *out, struct err *err);
/* Campaigns matching filter in sort order (mg_find_docs' spec). */
int mg_campaigns_query(struct mongo_store *s, const bson_t *filter,
		       const char *sort, store_campaign_fn fn, void *ctx,
		       struct err *err);

/* mongo_report.c: the report reads (store.h) */
int mg_report_totals(struct store *store, const struct store_period *p,
		     struct store_totals *out, struct err *err);
int mg_report_days(struct store *store, const struct store_period *p,
		   store_day_fn fn, void *ctx, struct err *err);
int mg_report_campaigns(struct store *store, const struct store_period *p,
			store_campaign_fn fn, void *ctx, struct err *err);
int mg_report_links(struct store *store, const struct store_period *p,
		    int64_t limit, store_link_fn fn, void *ctx,
		    struct err *err);
int mg_report_lists(struct store *store, const struct store_period *p,
		    store_list_fn fn, void *ctx, struct err *err);
int mg_report_accounts(struct store *store, const struct store_period *p,
		       store_account_fn fn, void *ctx, struct err *err);

#endif
