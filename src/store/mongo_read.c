/* MongoDB reads and run records: sync state, the run log, campaigns, stats
 * and the export's participant and field reads. */
#include "store/mongo_internal.h"

#include <ctype.h>
#include <string.h>

#include "util/banned.h"

static char *lower_dup(struct arena *a, const char *s)
{
	char *d = arena_strdup(a, s), *p;

	for (p = d; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

int mg_state_get(struct store *store, const char *provider, const char *account,
		 const char *stream, struct buf *out, int *found,
		 struct err *err)
{
	struct mongo_store *s = (struct mongo_store *)store;
	bson_t f = BSON_INITIALIZER, doc;
	const char *v;
	int ret = -1;

	buf_reset(out);
	mg_filter_owner(&f, provider, account);
	BSON_APPEND_UTF8(&f, "stream", stream);
	if (mg_find_one(s, K_STATE, &f, NULL, &doc, found, err,
			"read sync state from") < 0)
		goto done;
	v = mg_get_str(&doc, "value");
	if (*found && buf_puts(out, v ? v : "") < 0) {
		*found = 0;
		err_set(err, ERR_STORE, 0,
			"sync state '%s' in store '%s' is too large", stream,
			s->safe);
		goto done;
	}
	ret = 0;
done:
	bson_destroy(&doc);
	bson_destroy(&f);
	return ret;
}

int mg_state_reset(struct store *store, const char *provider,
		   const char *stream_prefix, int64_t *removed, struct err *err)
{
	struct mongo_store *s = (struct mongo_store *)store;
	bson_t f = BSON_INITIALIZER, reply = BSON_INITIALIZER, re;
	struct buf pat = BUF_INIT;
	bson_error_t e;
	const char *p;
	int ret = -1, rc;

	mg_filter_owner(&f, provider, NULL);
	if (stream_prefix) {
		rc = buf_putc(&pat, '^');
		for (p = stream_prefix; *p; p++) {
			if (strchr("\\^$.|?*+()[]{}", *p))
				rc |= buf_putc(&pat, '\\');
			rc |= buf_putc(&pat, *p);
		}
		if (rc) {
			err_set(err, ERR_STORE, 0,
				"cannot reset sync state in mongodb store "
				"'%s': stream prefix too long: more than %zu "
				"bytes",
				s->safe, pat.max);
			goto done;
		}
		BSON_APPEND_DOCUMENT_BEGIN(&f, "stream", &re);
		BSON_APPEND_UTF8(&re, "$regex", buf_str(&pat));
		bson_append_document_end(&f, &re);
	}
	if (!mongoc_collection_delete_many(s->coll[K_STATE], &f, NULL, &reply,
					   &e)) {
		mg_err(err, s, "reset sync state in", &e);
		goto done;
	}
	if (removed)
		*removed = mg_reply_int(&reply, "deletedCount");
	ret = 0;
done:
	bson_destroy(&reply);
	bson_destroy(&f);
	buf_release(&pat);
	return ret;
}

int mg_state_each(struct store *store, const char *provider, store_state_fn fn,
		  void *ctx, struct err *err)
{
	struct mongo_store *s = (struct mongo_store *)store;
	bson_t f = BSON_INITIALIZER;
	mongoc_cursor_t *cur;
	const bson_t *doc;
	bson_error_t e;
	int ret = 0;

	mg_filter_owner(&f, provider, NULL);
	cur = mg_find_docs(s, K_STATE, &f, "provider,account,stream", 0);
	while (!ret && mongoc_cursor_next(cur, &doc)) {
		struct state_row row;

		row.provider = mg_get_str(doc, "provider");
		row.account = mg_get_str(doc, "account");
		row.stream = mg_get_str(doc, "stream");
		row.value = mg_get_str(doc, "value");
		row.updated_at = mg_get_time(doc, "updated_at");
		ret = fn(ctx, &row);
	}
	if (!ret && mongoc_cursor_error(cur, &e))
		ret = mg_err(err, s, "read sync state from", &e);
	mongoc_cursor_destroy(cur);
	bson_destroy(&f);
	return ret;
}

static void append_run_counts(bson_t *d, const struct run_row *r)
{
	bson_value_t err_v = mg_str(r->error);

	BSON_APPEND_INT64(d, "requests", r->requests);
	BSON_APPEND_INT64(d, "retries", r->retries);
	BSON_APPEND_INT64(d, "throttled", r->throttled);
	{
		bson_t holder;
		bson_value_t rec = mg_json(r->records_json, &holder);

		BSON_APPEND_VALUE(d, "records", &rec);
		bson_destroy(&holder);
	}
	BSON_APPEND_VALUE(d, "error", &err_v);
}

/* run_id is the newest run's plus one; a concurrent run that took the same
 * number makes the insert fail on the unique index, and we try again. */
int mg_run_begin(struct store *store, struct run_row *run, struct err *err)
{
	struct mongo_store *s = (struct mongo_store *)store;
	bson_t empty = BSON_INITIALIZER, last, doc;
	bson_error_t e;
	int attempt, found, ret = -1;

	run->started_at = store_time_or_now(run->started_at);
	run->finished_at = TIME_NULL;
	run->status = RUN_RUNNING;
	for (attempt = 0; attempt < 5; attempt++) {
		bson_value_t t = mg_date(run->started_at), nul = mg_null();

		if (mg_find_one(s, K_RUNS, &empty, "-run_id", &last, &found,
				err, "record a run in") < 0) {
			bson_destroy(&last);
			goto done;
		}
		run->run_id = (found ? mg_get_int(&last, "run_id") : 0) + 1;
		bson_destroy(&last);
		bson_init(&doc);
		BSON_APPEND_INT64(&doc, "run_id", run->run_id);
		mg_append_owner(&doc, run->provider, run->account);
		BSON_APPEND_VALUE(&doc, "started_at", &t);
		BSON_APPEND_VALUE(&doc, "finished_at", &nul);
		BSON_APPEND_UTF8(&doc, "status", "running");
		append_run_counts(&doc, run);
		{
			bson_value_t host = mg_str(run->host);

			BSON_APPEND_VALUE(&doc, "host", &host);
			BSON_APPEND_INT64(&doc, "pid", run->pid);
			BSON_APPEND_VALUE(&doc, "heartbeat_at", &t);
		}
		if (mongoc_collection_insert_one(s->coll[K_RUNS], &doc, NULL,
						 NULL, &e)) {
			bson_destroy(&doc);
			ret = 0;
			goto done;
		}
		bson_destroy(&doc);
		if (e.code != 11000)
			break;
	}
	mg_err(err, s, "record a run in", &e);
done:
	bson_destroy(&empty);
	return ret;
}

int mg_run_finish(struct store *store, const struct run_row *run,
		  struct err *err)
{
	struct mongo_store *s = (struct mongo_store *)store;
	bson_t sel = BSON_INITIALIZER, update = BSON_INITIALIZER, set, reply;
	bson_value_t t = mg_date(store_time_or_now(run->finished_at));
	bson_error_t e;
	int ret = -1;

	BSON_APPEND_INT64(&sel, "run_id", run->run_id);
	BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
	BSON_APPEND_VALUE(&set, "finished_at", &t);
	BSON_APPEND_UTF8(&set, "status", store_run_status_name(run->status));
	append_run_counts(&set, run);
	bson_append_document_end(&update, &set);
	if (!mongoc_collection_update_one(s->coll[K_RUNS], &sel, &update, NULL,
					  &reply, &e)) {
		mg_err(err, s, "record a run in", &e);
		goto done;
	}
	if (mg_reply_int(&reply, "matchedCount") != 1) {
		err_set(err, ERR_STORE, 0, "no run %lld in store '%s'",
			(long long)run->run_id, s->safe);
		goto done;
	}
	ret = 0;
done:
	bson_destroy(&reply);
	bson_destroy(&sel);
	bson_destroy(&update);
	return ret;
}

int mg_run_newest(struct store *store, const char *provider, const char *status,
		  struct run_row *out, struct arena *arena, int *found,
		  struct err *err)
{
	struct mongo_store *s = (struct mongo_store *)store;
	bson_t f = BSON_INITIALIZER, doc;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	mg_filter_owner(&f, provider, NULL);
	if (status)
		BSON_APPEND_UTF8(&f, "status", status);
	if (mg_find_one(s, K_RUNS, &f, "-run_id", &doc, found, err,
			"read runs from") < 0)
		goto done;
	if (*found) {
		out->run_id = mg_get_int(&doc, "run_id");
		out->provider =
		    arena_strdup(arena, mg_get_str(&doc, "provider"));
		out->account = arena_strdup(arena, mg_get_str(&doc, "account"));
		out->started_at = mg_get_time(&doc, "started_at");
		out->finished_at = mg_get_time(&doc, "finished_at");
		out->status =
		    store_run_status_parse(mg_get_str(&doc, "status"));
		out->requests = mg_get_int(&doc, "requests");
		out->retries = mg_get_int(&doc, "retries");
		out->throttled = mg_get_int(&doc, "throttled");
		out->records_json = mg_get_json(&doc, "records", arena);
		out->error = arena_strdup(arena, mg_get_str(&doc, "error"));
		out->host = arena_strdup(arena, mg_get_str(&doc, "host"));
		out->pid = mg_get_int(&doc, "pid");
		out->heartbeat_at = mg_get_time(&doc, "heartbeat_at");
	}
	ret = 0;
done:
	bson_destroy(&doc);
	bson_destroy(&f);
	return ret;
}

/* Campaign document -> record, strings in the arena; bounces come back as
 * hard (the earlier tool's schema has one bounced counter). */
static void read_campaign(const bson_t *doc, struct rec_campaign *c,
			  struct arena *a)
{
	struct campaign_stats *x = &c->stats;

	memset(c, 0, sizeof(*c));
	c->campaign_id = arena_strdup(a, mg_get_str(doc, "campaign_id"));
	c->name = arena_strdup(a, mg_get_str(doc, "name"));
	c->subject = arena_strdup(a, mg_get_str(doc, "subject"));
	c->from_name = arena_strdup(a, mg_get_str(doc, "from_name"));
	c->from_email = arena_strdup(a, mg_get_str(doc, "from_email"));
	c->status = lower_dup(a, mg_get_str(doc, "status"));
	c->created_at = mg_get_time(doc, "created_at");
	c->sent_at = mg_get_time(doc, "sent_at");
	c->to_lists_json = mg_get_json(doc, "to_lists", a);
	c->has_stats = 1;
	x->sent = mg_get_int(doc, "statistics.sent.total");
	x->opened_unique = mg_get_int(doc, "statistics.opened.unique");
	x->opened_total = mg_get_int(doc, "statistics.opened.total");
	x->clicked_unique = mg_get_int(doc, "statistics.clicked.unique");
	x->clicked_total = mg_get_int(doc, "statistics.clicked.total");
	x->bounced_hard = mg_get_int(doc, "statistics.bounced.total");
	x->complained = mg_get_int(doc, "statistics.complained.total");
	x->unsubscribed = mg_get_int(doc, "statistics.unsubscribed.total");
	c->synced_at = mg_get_time(doc, "synced_at");
	c->verified_opens = mg_get_count(doc, "verified_opens");
	c->verified_unique_opens = mg_get_count(doc, "verified_unique_opens");
}

int mg_campaign_get(struct store *store, const char *provider,
		    const char *account, const char *campaign_id,
		    struct rec_campaign *out, struct arena *arena, int *found,
		    struct err *err)
{
	struct mongo_store *s = (struct mongo_store *)store;
	bson_t f = BSON_INITIALIZER, doc;
	int ret = -1;

	mg_filter_owner(&f, provider, account);
	BSON_APPEND_UTF8(&f, "campaign_id", campaign_id);
	if (mg_find_one(s, K_CAMPAIGNS, &f, NULL, &doc, found, err,
			"read campaigns from") < 0)
		goto done;
	if (*found)
		read_campaign(&doc, out, arena);
	ret = 0;
done:
	bson_destroy(&doc);
	bson_destroy(&f);
	return ret;
}

static int count(struct mongo_store *s, enum coll_id c, const bson_t *f,
		 int64_t *out, struct err *err)
{
	bson_error_t e;
	int64_t n = mongoc_collection_count_documents(s->coll[c], f, NULL, NULL,
						      NULL, &e);

	if (n < 0)
		return mg_err(err, s, "count documents in", &e);
	*out = n;
	return 0;
}

int mg_stats(struct store *store, const char *provider, struct store_stats *out,
	     struct err *err)
{
	struct mongo_store *s = (struct mongo_store *)store;
	bson_t f = BSON_INITIALIZER, ef;
	int t, ret = -1;

	memset(out, 0, sizeof(*out));
	mg_filter_owner(&f, provider, NULL);
	if (count(s, K_CAMPAIGNS, &f, &out->campaigns, err) < 0 ||
	    count(s, K_PARTICIPANTS, &f, &out->participants, err) < 0 ||
	    count(s, K_LINKS, &f, &out->links, err) < 0 ||
	    count(s, K_CONTACTS, &f, &out->contacts, err) < 0 ||
	    count(s, K_LISTS, &f, &out->lists, err) < 0)
		goto done;
	for (t = 0; t < EV__COUNT; t++) {
		int rc;

		bson_copy_to(&f, &ef);
		BSON_APPEND_UTF8(&ef, "event_type",
				 event_type_name((enum event_type)t));
		rc = count(s, K_EVENTS, &ef, &out->events[t], err);
		bson_destroy(&ef);
		if (rc < 0)
			goto done;
	}
	ret = 0;
done:
	bson_destroy(&f);
	return ret;
}

int mg_each_campaign(struct store *store, const char *provider,
		     const char *campaign_id, store_campaign_fn fn, void *ctx,
		     struct err *err)
{
	struct mongo_store *s = (struct mongo_store *)store;
	bson_t f = BSON_INITIALIZER;
	mongoc_cursor_t *cur;
	const bson_t *doc;
	bson_error_t e;
	int ret = 0;

	mg_filter_owner(&f, provider, NULL);
	if (campaign_id)
		BSON_APPEND_UTF8(&f, "campaign_id", campaign_id);
	cur =
	    mg_find_docs(s, K_CAMPAIGNS, &f, "provider,account,campaign_id", 0);
	while (!ret && mongoc_cursor_next(cur, &doc)) {
		struct arena a = ARENA_INIT;
		struct rec_campaign c;

		read_campaign(doc, &c, &a);
		ret = fn(ctx, mg_get_str(doc, "provider"),
			 mg_get_str(doc, "account"), &c);
		arena_release(&a);
	}
	if (!ret && mongoc_cursor_error(cur, &e))
		ret = mg_err(err, s, "read campaigns from", &e);
	mongoc_cursor_destroy(cur);
	bson_destroy(&f);
	return ret;
}

int mg_each_participant(struct store *store, const char *provider,
			const char *account, const char *campaign_id,
			store_participant_fn fn, void *ctx, struct err *err)
{
	struct mongo_store *s = (struct mongo_store *)store;
	bson_t f = BSON_INITIALIZER;
	mongoc_cursor_t *cur;
	const bson_t *doc;
	bson_error_t e;
	size_t k;
	int ret = 0;

	mg_filter_owner(&f, provider, account);
	BSON_APPEND_UTF8(&f, "campaign_id", campaign_id);
	cur =
	    mg_find_docs(s, K_PARTICIPANTS, &f, "email_address,contact_id", 0);
	while (!ret && mongoc_cursor_next(cur, &doc)) {
		struct arena a = ARENA_INIT;
		struct export_row row;

		row.contact_id = mg_get_str(doc, "contact_id");
		row.email = mg_get_str(doc, "email_address");
		row.status = mg_get_str(doc, "status");
		row.fields_json = mg_get_json(doc, "fields", &a);
		row.flags = 0;
		for (k = 0; k < MG_N_ENGAGEMENT; k++)
			if (mg_get_bool(doc, mg_engagement[k].path))
				row.flags |= mg_engagement[k].bit;
		ret = fn(ctx, &row);
		arena_release(&a);
	}
	if (!ret && mongoc_cursor_error(cur, &e))
		ret = mg_err(err, s, "read participants from", &e);
	mongoc_cursor_destroy(cur);
	bson_destroy(&f);
	return ret;
}

int mg_campaign_fields(struct store *store, const char *provider,
		       const char *account, const char *campaign_id,
		       struct buf *out, struct err *err)
{
	struct mongo_store *s = (struct mongo_store *)store;
	bson_t f = BSON_INITIALIZER, camp;
	struct store_tags tags;
	bson_iter_t lists;
	int found, ret = -1;

	store_tags_init(&tags, out);
	mg_filter_owner(&f, provider, account);
	BSON_APPEND_UTF8(&f, "campaign_id", campaign_id);
	if (mg_find_one(s, K_CAMPAIGNS, &f, NULL, &camp, &found, err,
			"read campaigns from") < 0)
		goto done;
	if (found && mg_find(&camp, "to_lists", &lists) &&
	    BSON_ITER_HOLDS_ARRAY(&lists) &&
	    bson_iter_recurse(&lists, &lists)) {
		while (bson_iter_next(&lists)) {
			bson_t lf = BSON_INITIALIZER, list;
			bson_iter_t fl;
			int has;

			if (!BSON_ITER_HOLDS_UTF8(&lists))
				continue;
			mg_filter_owner(&lf, provider, account);
			BSON_APPEND_UTF8(&lf, "list_id",
					 bson_iter_utf8(&lists, NULL));
			has = mg_find_one(s, K_LISTS, &lf, NULL, &list, &found,
					  err, "read lists from");
			bson_destroy(&lf);
			if (has < 0) {
				bson_destroy(&list);
				goto done;
			}
			if (found && mg_find(&list, "fields", &fl) &&
			    BSON_ITER_HOLDS_ARRAY(&fl) &&
			    bson_iter_recurse(&fl, &fl)) {
				while (bson_iter_next(&fl)) {
					const char *tag = NULL;
					bson_iter_t t;

					if (BSON_ITER_HOLDS_UTF8(&fl))
						tag = bson_iter_utf8(&fl, NULL);
					else if (BSON_ITER_HOLDS_DOCUMENT(
						     &fl) &&
						 bson_iter_recurse(&fl, &t) &&
						 bson_iter_find(&t, "tag") &&
						 BSON_ITER_HOLDS_UTF8(&t))
						tag = bson_iter_utf8(&t, NULL);
					if (store_tags_add(&tags, tag) < 0) {
						bson_destroy(&list);
						err_set(err, ERR_STORE, 0,
							"fields of campaign "
							"'%s' are too large",
							campaign_id);
						goto done;
					}
				}
			}
			bson_destroy(&list);
		}
	}
	ret = 0;
done:
	store_tags_release(&tags, ret == 0);
	bson_destroy(&camp);
	bson_destroy(&f);
	return ret;
}

/* Campaigns matching filter in sort order (mg_find_docs' spec), for the
 * report's reads. */
int mg_campaigns_query(struct mongo_store *s, const bson_t *filter,
		       const char *sort, store_campaign_fn fn, void *ctx,
		       struct err *err)
{
	mongoc_cursor_t *cur = mg_find_docs(s, K_CAMPAIGNS, filter, sort, 0);
	const bson_t *doc;
	bson_error_t e;
	int ret = 0;

	while (!ret && mongoc_cursor_next(cur, &doc)) {
		struct arena a = ARENA_INIT;
		struct rec_campaign c;

		read_campaign(doc, &c, &a);
		ret = fn(ctx, mg_get_str(doc, "provider"),
			 mg_get_str(doc, "account"), &c);
		arena_release(&a);
	}
	if (!ret && mongoc_cursor_error(cur, &e))
		ret = mg_err(err, s, "read campaigns from", &e);
	mongoc_cursor_destroy(cur);
	return ret;
}
