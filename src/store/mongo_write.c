/* MongoDB writes: unordered bulk upserts per collection that leave unchanged
 * documents alone, the batch's checkpoints, participant links and contact
 * deletion marks. */
#include "store/mongo_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "util/banned.h"

static char *upper_dup(const char *s)
{
	char *d, *p;

	if (!s)
		return NULL;
	d = xstrdup(s);
	for (p = d; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	return d;
}

/* ---- upserts ----------------------------------------------------------- */

/* How a field of an upsert is written, as in store/sqlite.c. */
enum mode {
	M_KEY,	/* selector (natural key) */
	M_INS,	/* written on insert only */
	M_KEEP, /* null means unknown: the stored value stays */
	M_SET,	/* overwritten as given */
	M_UPD,	/* updated (and compared) only: its insert form is elsewhere */
};

/* One record's upsert: the selector, the document fields for an insert,
 * and for an existing document the $set and the "differs" conditions. */
struct up {
	bson_t key, ins, set, diff;
	int n_diff;
};

static void up_init(struct up *u)
{
	bson_init(&u->key);
	bson_init(&u->ins);
	bson_init(&u->set);
	bson_init(&u->diff);
	u->n_diff = 0;
}

static void up_destroy(struct up *u)
{
	bson_destroy(&u->key);
	bson_destroy(&u->ins);
	bson_destroy(&u->set);
	bson_destroy(&u->diff);
}

static void up_add(struct up *u, const char *name, bson_value_t v, enum mode m)
{
	char idx[16];
	const char *ik;
	bson_t cond, ne;

	switch (m) {
	case M_KEY:
		BSON_APPEND_VALUE(&u->key, name, &v);
		return;
	case M_INS:
		BSON_APPEND_VALUE(&u->ins, name, &v);
		return;
	case M_KEEP:
		BSON_APPEND_VALUE(&u->ins, name, &v);
		if (v.value_type == BSON_TYPE_NULL)
			return;
		break;
	case M_SET:
		BSON_APPEND_VALUE(&u->ins, name, &v);
		break;
	case M_UPD:
		break;
	}
	BSON_APPEND_VALUE(&u->set, name, &v);
	bson_uint32_to_string((uint32_t)u->n_diff++, &ik, idx, sizeof(idx));
	BSON_APPEND_DOCUMENT_BEGIN(&u->diff, ik, &cond);
	BSON_APPEND_DOCUMENT_BEGIN(&cond, name, &ne);
	BSON_APPEND_VALUE(&ne, "$ne", &v);
	bson_append_document_end(&cond, &ne);
	bson_append_document_end(&u->diff, &cond);
}

static void up_json(struct up *u, const char *name, const char *json,
		    enum mode m)
{
	bson_t holder;

	up_add(u, name, mg_json(json, &holder), m);
	bson_destroy(&holder);
}

/* "Now" of a batch: inserted with the document, and set only when the
 * document changes (it is not part of the comparison). */
static void up_now(struct up *u, const char *name, int64_t now)
{
	bson_value_t v = mg_date(now);

	BSON_APPEND_VALUE(&u->ins, name, &v);
	BSON_APPEND_VALUE(&u->set, name, &v);
}

static void up_owner(struct up *u, const struct batch *b)
{
	mg_append_owner(&u->key, b->provider, b->account);
}

/* The update of an existing document: its selector also asks that some
 * field differs, so that an unchanged document is left alone. */
static void up_changed(const struct up *u, bson_t *sel, bson_t *update)
{
	bson_copy_to(&u->key, sel);
	BSON_APPEND_ARRAY(sel, "$or", &u->diff);
	bson_init(update);
	BSON_APPEND_DOCUMENT(update, "$set", &u->set);
}

typedef void (*build_fn)(struct up *u, const struct batch *b, size_t i,
			 int64_t now);

static void build_campaign(struct up *u, const struct batch *b, size_t i,
			   int64_t now)
{
	const struct rec_campaign *r = &b->campaigns[i];
	const struct campaign_stats *x = &r->stats;
	const int64_t bounced = x->bounced_hard + x->bounced_soft;
	const struct {
		const char *name;
		int64_t uniq, total;
	} st[] = {
	    {"sent", x->sent, x->sent},
	    {"opened", x->opened_unique, x->opened_total},
	    {"clicked", x->clicked_unique, x->clicked_total},
	    {"bounced", bounced, bounced},
	    {"complained", x->complained, x->complained},
	    {"unsubscribed", x->unsubscribed, x->unsubscribed},
	};
	char *status = upper_dup(r->status);
	bson_t stats, d;
	char path[64];
	size_t k;

	up_owner(u, b);
	up_add(u, "campaign_id", mg_str(r->campaign_id), M_KEY);
	up_add(u, "name", mg_str(r->name), M_KEEP);
	up_add(u, "subject", mg_str(r->subject), M_KEEP);
	up_add(u, "from_name", mg_str(r->from_name), M_KEEP);
	up_add(u, "from_email", mg_str(r->from_email), M_KEEP);
	up_add(u, "created_at", mg_date(r->created_at), M_KEEP);
	up_add(u, "sent_at", mg_date(r->sent_at), M_KEEP);
	up_add(u, "status", mg_str(status), M_KEEP);
	up_json(u, "to_lists", r->to_lists_json, M_KEEP);
	/* Not in the earlier tool's documents: top-level, and only when the
	 * provider reports them (its campaigns keep the earlier shape). */
	if (r->verified_opens >= 0)
		up_add(u, "verified_opens", mg_int(r->verified_opens), M_KEEP);
	if (r->verified_unique_opens >= 0)
		up_add(u, "verified_unique_opens",
		       mg_int(r->verified_unique_opens), M_KEEP);
	/* Statistics: zeros on insert without a summary, else as given. */
	BSON_APPEND_DOCUMENT_BEGIN(&u->ins, "statistics", &stats);
	for (k = 0; k < sizeof(st) / sizeof(st[0]); k++) {
		bson_value_t un = mg_int(r->has_stats ? st[k].uniq : 0);
		bson_value_t to = mg_int(r->has_stats ? st[k].total : 0);

		BSON_APPEND_DOCUMENT_BEGIN(&stats, st[k].name, &d);
		BSON_APPEND_VALUE(&d, "unique", &un);
		BSON_APPEND_VALUE(&d, "total", &to);
		bson_append_document_end(&stats, &d);
		if (!r->has_stats)
			continue;
		snprintf(path, sizeof(path), "statistics.%s.unique",
			 st[k].name);
		up_add(u, path, un, M_UPD);
		snprintf(path, sizeof(path), "statistics.%s.total", st[k].name);
		up_add(u, path, to, M_UPD);
	}
	bson_append_document_end(&u->ins, &stats);
	up_now(u, "synced_at", now);
	free(status);
}

static void build_link(struct up *u, const struct batch *b, size_t i,
		       int64_t now)
{
	const struct rec_link *r = &b->links[i];

	up_owner(u, b);
	up_add(u, "campaign_id", mg_str(r->campaign_id), M_KEY);
	up_add(u, "url", mg_str(r->url), M_KEY);
	up_add(u, "clicked_total", mg_int(r->clicked_total), M_SET);
	up_add(u, "clicked_unique", mg_int(r->clicked_unique), M_SET);
	up_now(u, "synced_at", now);
}

/* Status and fields are written by link_participants; flags are OR-ed in:
 * only a set flag is written to an existing document. */
static void build_participant(struct up *u, const struct batch *b, size_t i,
			      int64_t now)
{
	const struct rec_participant *r = &b->participants[i];
	bson_t eng;
	size_t k;

	up_owner(u, b);
	up_add(u, "campaign_id", mg_str(r->campaign_id), M_KEY);
	up_add(u, "contact_id", mg_str(r->contact_id), M_KEY);
	up_add(u, "email_address", mg_str(r->email), M_KEEP);
	up_add(u, "status", mg_null(), M_INS);
	up_add(u, "fields", mg_null(), M_INS);
	BSON_APPEND_DOCUMENT_BEGIN(&u->ins, "engagement", &eng);
	for (k = 0; k < MG_N_ENGAGEMENT; k++) {
		int on = (r->flags & mg_engagement[k].bit) != 0;

		BSON_APPEND_BOOL(&eng, strchr(mg_engagement[k].path, '.') + 1,
				 on);
		if (on)
			up_add(u, mg_engagement[k].path, mg_bool(1), M_UPD);
	}
	bson_append_document_end(&u->ins, &eng);
	up_now(u, "synced_at", now);
}

static void build_event(struct up *u, const struct batch *b, size_t i,
			int64_t now)
{
	const struct rec_event *r = &b->events[i];
	char date[11] = "";

	if (r->ts != TIME_NULL)
		time_format_date(r->ts, date);
	up_add(u, "event_id", mg_str(r->event_id), M_KEY);
	up_add(u, "provider", mg_str(b->provider), M_INS);
	up_add(u, "account", mg_str(b->account), M_INS);
	up_add(u, "campaign_id", mg_str(r->campaign_id), M_INS);
	up_add(u, "campaign_name", mg_str(r->campaign_name), M_KEEP);
	up_add(u, "contact_id", mg_str(r->contact_id), M_INS);
	up_add(u, "contact_email", mg_str(r->contact_email), M_INS);
	up_add(u, "event_type", mg_str(event_type_name(r->type)), M_INS);
	up_add(u, "activity_timestamp", mg_date(r->ts), M_INS);
	up_add(u, "activity_date", mg_str(*date ? date : NULL), M_INS);
	up_add(u, "times", mg_int(r->times), M_SET);
	up_add(u, "link_url", mg_str(r->link_url), M_KEEP);
	up_add(u, "bounce_type", mg_str(r->bounce_type), M_KEEP);
	up_add(u, "created_at", mg_date(now), M_INS);
	up_now(u, "updated_at", now);
}

static void build_contact(struct up *u, const struct batch *b, size_t i,
			  int64_t now)
{
	const struct rec_contact *r = &b->contacts[i];

	up_owner(u, b);
	up_add(u, "contact_id", mg_str(r->contact_id), M_KEY);
	up_add(u, "email", mg_str(r->email), M_KEEP);
	up_add(u, "first_name", mg_str(r->first_name), M_KEEP);
	up_add(u, "last_name", mg_str(r->last_name), M_KEEP);
	up_add(u, "phone", mg_str(r->phone), M_KEEP);
	up_add(u, "status", mg_str(r->status), M_KEEP);
	up_json(u, "fields", r->fields_json, M_KEEP);
	up_json(u, "tags", r->tags_json, M_KEEP);
	up_json(u, "lists", r->lists_json, M_KEEP);
	up_add(u, "created_at", mg_date(r->created_at), M_KEEP);
	up_add(u, "updated_at", mg_date(r->updated_at), M_KEEP);
	up_add(u, "deleted_at", mg_date(r->deleted_at), M_KEEP);
	up_now(u, "synced_at", now);
}

static void build_list(struct up *u, const struct batch *b, size_t i,
		       int64_t now)
{
	const struct rec_list *r = &b->lists[i];

	up_owner(u, b);
	up_add(u, "list_id", mg_str(r->list_id), M_KEY);
	up_add(u, "name", mg_str(r->name), M_KEEP);
	up_json(u, "fields", r->fields_json, M_KEEP);
	up_json(u, "tags", r->tags_json, M_KEEP);
	up_add(u, "subscribed", mg_count(r->subscribed), M_KEEP);
	up_add(u, "unsubscribed", mg_count(r->unsubscribed), M_KEEP);
	up_add(u, "pending", mg_count(r->pending), M_KEEP);
	up_add(u, "created_at", mg_date(r->created_at), M_KEEP);
	up_add(u, "updated_at", mg_date(r->updated_at), M_KEEP);
	up_now(u, "synced_at", now);
}

/* Marks the "index" of each element of the reply array name in mark[]. */
static int64_t reply_mark(const bson_t *reply, const char *name, char *mark,
			  size_t n)
{
	bson_iter_t it, arr, f;
	int64_t count = 0;

	if (!bson_iter_init_find(&it, reply, name) ||
	    !BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &arr))
		return 0;
	while (bson_iter_next(&arr)) {
		count++;
		if (BSON_ITER_HOLDS_DOCUMENT(&arr) &&
		    bson_iter_recurse(&arr, &f) &&
		    bson_iter_find(&f, "index") && BSON_ITER_HOLDS_NUMBER(&f)) {
			int64_t k = bson_iter_as_int64(&f);

			if (k >= 0 && (uint64_t)k < n)
				mark[k] = 1;
		}
	}
	return count;
}

/* Executes an unordered bulk; 0 when every operation succeeded. */
static int run_bulk(mongoc_bulk_operation_t *bulk, bson_t *reply,
		    bson_error_t *e)
{
	uint32_t ok = mongoc_bulk_operation_execute(bulk, reply, e);

	return ok ? 0 : -1;
}

static mongoc_bulk_operation_t *new_bulk(struct mongo_store *s, enum coll_id c)
{
	bson_t opts = BSON_INITIALIZER;
	mongoc_bulk_operation_t *bulk;

	BSON_APPEND_BOOL(&opts, "ordered", false);
	bulk = mongoc_collection_create_bulk_operation_with_opts(s->coll[c],
								 &opts);
	bson_destroy(&opts);
	return bulk;
}

/* Upserts records [from, from + n) of one array: first an upsert that only
 * inserts ($setOnInsert), then, for the documents that existed, a $set
 * whose selector also asks that some field differs, so that unchanged
 * documents are counted as such and keep their synced_at. */
static int upsert_chunk(struct mongo_store *s, enum coll_id c,
			const struct batch *b, size_t from, size_t n,
			build_fn fn, int64_t now, struct store_counts *cnt,
			struct err *err)
{
	struct up *ups = xcalloc(n, sizeof(*ups));
	char *done_mark = xcalloc(n ? n : 1, 1);
	char *bad = xcalloc(n ? n : 1, 1);
	mongoc_bulk_operation_t *bulk = NULL;
	bson_t upsert_opts = BSON_INITIALIZER, reply;
	bson_error_t e;
	int64_t ins = 0, upd = 0, failed = 0, pending = 0;
	size_t k;
	int ret = -1, have_reply = 0;

	BSON_APPEND_BOOL(&upsert_opts, "upsert", true);
	for (k = 0; k < n; k++) {
		up_init(&ups[k]);
		fn(&ups[k], b, from + k, now);
	}
	bulk = new_bulk(s, c);
	for (k = 0; k < n; k++) {
		bson_t update = BSON_INITIALIZER;

		BSON_APPEND_DOCUMENT(&update, "$setOnInsert", &ups[k].ins);
		if (!mongoc_bulk_operation_update_one_with_opts(
			bulk, &ups[k].key, &update, &upsert_opts, &e)) {
			bson_destroy(&update);
			mg_err(err, s, "write to", &e);
			failed = (int64_t)n;
			goto done;
		}
		bson_destroy(&update);
	}
	ret = run_bulk(bulk, &reply, &e);
	have_reply = 1;
	ins = mg_reply_int(&reply, "nUpserted");
	reply_mark(&reply, "upserted", done_mark, n);
	failed = reply_mark(&reply, "writeErrors", bad, n);
	if (ret < 0) {
		if (!failed)
			failed = (int64_t)n - ins;
		mg_err(err, s, "write to", &e);
		goto done;
	}
	bson_destroy(&reply);
	have_reply = 0;
	mongoc_bulk_operation_destroy(bulk);
	bulk = new_bulk(s, c);
	for (k = 0; k < n; k++) {
		bson_t sel, update;

		if (done_mark[k] || bad[k] || !ups[k].n_diff)
			continue;
		up_changed(&ups[k], &sel, &update);
		pending++;
		if (!mongoc_bulk_operation_update_one_with_opts(
			bulk, &sel, &update, NULL, &e)) {
			bson_destroy(&sel);
			bson_destroy(&update);
			failed = (int64_t)n - ins;
			ret = mg_err(err, s, "write to", &e);
			goto done;
		}
		bson_destroy(&sel);
		bson_destroy(&update);
	}
	if (pending) {
		memset(bad, 0, n);
		ret = run_bulk(bulk, &reply, &e);
		have_reply = 1;
		upd = mg_reply_int(&reply, "nModified");
		failed = reply_mark(&reply, "writeErrors", bad, n);
		if (ret < 0) {
			if (!failed)
				failed = pending - upd;
			mg_err(err, s, "write to", &e);
			goto done;
		}
	}
	ret = 0;
done:
	log_debug("mongodb %s: bulk of %zu: %lld inserted, %lld updated, "
		  "%lld unchanged, %lld failed",
		  mg_coll_names[c], n, (long long)ins, (long long)upd,
		  (long long)((int64_t)n - ins - upd - failed),
		  (long long)failed);
	cnt->inserted += ins;
	cnt->updated += upd;
	cnt->failed += failed;
	cnt->unchanged += (int64_t)n - ins - upd - failed;
	if (have_reply)
		bson_destroy(&reply);
	if (bulk)
		mongoc_bulk_operation_destroy(bulk);
	for (k = 0; k < n; k++)
		up_destroy(&ups[k]);
	bson_destroy(&upsert_opts);
	free(ups);
	free(done_mark);
	free(bad);
	return ret;
}

static int upsert_all(struct mongo_store *s, enum coll_id c,
		      const struct batch *b, size_t n, build_fn fn, int64_t now,
		      struct store_counts *cnt, struct err *err)
{
	size_t from, m;

	for (from = 0; from < n; from += m) {
		m = n - from < STORE_MONGODB_BULK_MAX ? n - from
						      : STORE_MONGODB_BULK_MAX;
		if (upsert_chunk(s, c, b, from, m, fn, now, cnt, err) < 0)
			return -1;
	}
	return 0;
}

/* Checkpoints go in only after the batch's data was written. */
static int write_states(struct mongo_store *s, const struct batch *b,
			int64_t now, struct err *err)
{
	mongoc_bulk_operation_t *bulk;
	bson_t upsert_opts = BSON_INITIALIZER, reply;
	bson_error_t e;
	size_t i;
	int ret = -1;

	if (!b->n_states)
		return 0;
	BSON_APPEND_BOOL(&upsert_opts, "upsert", true);
	bulk = new_bulk(s, K_STATE);
	for (i = 0; i < b->n_states; i++) {
		const struct state_update *u = &b->states[i];
		bson_t sel = BSON_INITIALIZER, update = BSON_INITIALIZER, set;
		bson_value_t t = mg_date(now);
		bool ok;

		mg_append_owner(&sel, b->provider, b->account);
		BSON_APPEND_UTF8(&sel, "stream", u->stream);
		if (u->value) {
			BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
			BSON_APPEND_UTF8(&set, "value", u->value);
			BSON_APPEND_VALUE(&set, "updated_at", &t);
			bson_append_document_end(&update, &set);
			ok = mongoc_bulk_operation_update_one_with_opts(
			    bulk, &sel, &update, &upsert_opts, &e);
		} else {
			ok = mongoc_bulk_operation_remove_one_with_opts(
			    bulk, &sel, NULL, &e);
		}
		bson_destroy(&sel);
		bson_destroy(&update);
		if (!ok) {
			mg_err(err, s, "write sync state to", &e);
			goto done;
		}
	}
	if (run_bulk(bulk, &reply, &e) < 0) {
		bson_destroy(&reply);
		mg_err(err, s, "write sync state to", &e);
		goto done;
	}
	bson_destroy(&reply);
	ret = 0;
done:
	mongoc_bulk_operation_destroy(bulk);
	bson_destroy(&upsert_opts);
	return ret;
}

/* State rows are checkpoints, not data: they are not counted in *out. No
 * transaction: what was written stays, but a failed batch writes no
 * checkpoint, so the next run re-reads the page. */
int mg_write_batch(struct store *store, const struct batch *b,
		   struct store_counts *out, struct err *err)
{
	struct mongo_store *s = (struct mongo_store *)store;
	struct store_counts c = {0, 0, 0, 0, 0};
	int64_t now = clock_wall_s();
	int ret = -1;

	if (upsert_all(s, K_CAMPAIGNS, b, b->n_campaigns, build_campaign, now,
		       &c, err) < 0 ||
	    upsert_all(s, K_LINKS, b, b->n_links, build_link, now, &c, err) <
		0 ||
	    upsert_all(s, K_PARTICIPANTS, b, b->n_participants,
		       build_participant, now, &c, err) < 0 ||
	    upsert_all(s, K_EVENTS, b, b->n_events, build_event, now, &c, err) <
		0 ||
	    upsert_all(s, K_CONTACTS, b, b->n_contacts, build_contact, now, &c,
		       err) < 0 ||
	    upsert_all(s, K_LISTS, b, b->n_lists, build_list, now, &c, err) < 0)
		goto done;
	if (write_states(s, b, now, err) < 0)
		goto done;
	ret = 0;
done:
	if (ret < 0) {
		int64_t n = (int64_t)batch_count(b);

		if (c.failed < n - c.inserted - c.updated - c.unchanged)
			c.failed = n - c.inserted - c.updated - c.unchanged;
	}
	if (out)
		*out = c;
	return ret;
}

/* One updateMany per contact, in bulks: participants of the contact whose
 * status or fields differ get the contact's (built as an upsert's update of
 * an existing document). */
int mg_link_participants(struct store *store, const char *provider,
			 const char *account, int64_t *changed, struct err *err)
{
	struct mongo_store *s = (struct mongo_store *)store;
	bson_t f = BSON_INITIALIZER, reply;
	mongoc_cursor_t *cur;
	mongoc_bulk_operation_t *bulk = NULL;
	const bson_t *doc;
	bson_error_t e;
	int64_t now = clock_wall_s(), total = 0;
	size_t pending = 0;
	int ret = -1, more = 1;

	mg_filter_owner(&f, provider, account);
	cur = mg_find_docs(s, K_CONTACTS, &f, NULL, 0);
	while (more) {
		more = mongoc_cursor_next(cur, &doc);
		if (more) {
			const char *id = mg_get_str(doc, "contact_id");
			char *st = upper_dup(mg_get_str(doc, "status"));
			bson_value_t fv = mg_null();
			bson_t sel, upd;
			bson_iter_t it;
			struct up u;

			if (mg_find(doc, "fields", &it))
				fv = *bson_iter_value(&it);
			up_init(&u);
			mg_filter_owner(&u.key, provider, account);
			up_add(&u, "contact_id", mg_str(id ? id : ""), M_KEY);
			up_add(&u, "status", mg_str(st), M_UPD);
			up_add(&u, "fields", fv, M_UPD);
			up_now(&u, "synced_at", now);
			up_changed(&u, &sel, &upd);
			if (!bulk)
				bulk = new_bulk(s, K_PARTICIPANTS);
			if (!mongoc_bulk_operation_update_many_with_opts(
				bulk, &sel, &upd, NULL, &e))
				more = -1;
			pending++;
			free(st);
			up_destroy(&u);
			bson_destroy(&sel);
			bson_destroy(&upd);
			if (more < 0) {
				mg_err(err, s, "link participants in", &e);
				goto done;
			}
		}
		if (bulk && (!more || pending >= STORE_MONGODB_BULK_MAX)) {
			int ok = run_bulk(bulk, &reply, &e) == 0;

			total += mg_reply_int(&reply, "nModified");
			bson_destroy(&reply);
			mongoc_bulk_operation_destroy(bulk);
			bulk = NULL;
			pending = 0;
			if (!ok) {
				mg_err(err, s, "link participants in", &e);
				goto done;
			}
		}
	}
	if (mongoc_cursor_error(cur, &e)) {
		mg_err(err, s, "read contacts from", &e);
		goto done;
	}
	if (changed)
		*changed = total;
	ret = 0;
done:
	if (bulk)
		mongoc_bulk_operation_destroy(bulk);
	mongoc_cursor_destroy(cur);
	bson_destroy(&f);
	return ret;
}

/* Appends live ids as an array under key ("$in" or "$nin"). */
static void append_ids(bson_t *d, const char *key, const char *const *ids,
		       size_t n)
{
	bson_t arr;
	char idx[16];
	const char *ik;
	size_t i;

	BSON_APPEND_ARRAY_BEGIN(d, key, &arr);
	for (i = 0; i < n; i++) {
		bson_uint32_to_string((uint32_t)i, &ik, idx, sizeof(idx));
		BSON_APPEND_UTF8(&arr, ik, ids[i] ? ids[i] : "");
	}
	bson_append_array_end(d, &arr);
}

/* {$set: {deleted_at, synced_at}}: a contact's deletion mark or its
 * removal. */
static void set_deleted(bson_t *update, bson_value_t deleted_at,
			bson_value_t now)
{
	bson_t set;

	BSON_APPEND_DOCUMENT_BEGIN(update, "$set", &set);
	BSON_APPEND_VALUE(&set, "deleted_at", &deleted_at);
	BSON_APPEND_VALUE(&set, "synced_at", &now);
	bson_append_document_end(update, &set);
}

/* Deletion marks of a keyset page (store.h): one unordered bulk of two
 * updateMany. The id range is one {$regex, $gte, $lte} clause per id
 * length: decimal ids of one length order as text. */
int mg_reconcile_contacts(struct store *store, const char *provider,
			  const char *account, int64_t after_id,
			  int64_t upto_id, const char *const *live_ids,
			  size_t n_live, int64_t at, int64_t *changed,
			  struct err *err)
{
	struct mongo_store *s = (struct mongo_store *)store;
	struct store_id_span spans[STORE_ID_SPANS];
	size_t n_spans = store_id_spans(spans, after_id, upto_id), i;
	mongoc_bulk_operation_t *bulk = NULL;
	bson_t back = BSON_INITIALIZER, gone = BSON_INITIALIZER;
	bson_t set_back = BSON_INITIALIZER, set_gone = BSON_INITIALIZER;
	bson_t reply, c, or, clause, ne;
	bson_value_t now = mg_date(clock_wall_s());
	bson_error_t e;
	char idx[16], re[32];
	const char *ik;
	int ret = -1, has_reply = 0;

	if (changed)
		*changed = 0;
	if (!n_live && !n_spans)
		return 0;
	bulk = new_bulk(s, K_CONTACTS);
	if (n_live) {
		mg_filter_owner(&back, provider, account);
		BSON_APPEND_DOCUMENT_BEGIN(&back, "deleted_at", &ne);
		BSON_APPEND_NULL(&ne, "$ne");
		bson_append_document_end(&back, &ne);
		BSON_APPEND_DOCUMENT_BEGIN(&back, "contact_id", &c);
		append_ids(&c, "$in", live_ids, n_live);
		bson_append_document_end(&back, &c);
		set_deleted(&set_back, mg_null(), now);
		if (!mongoc_bulk_operation_update_many_with_opts(
			bulk, &back, &set_back, NULL, &e))
			goto fail;
	}
	if (n_spans) {
		mg_filter_owner(&gone, provider, account);
		BSON_APPEND_NULL(&gone, "deleted_at");
		BSON_APPEND_ARRAY_BEGIN(&gone, "$or", & or);
		for (i = 0; i < n_spans; i++) {
			bson_uint32_to_string((uint32_t)i, &ik, idx,
					      sizeof(idx));
			snprintf(re, sizeof(re), "^[0-9]{%d}$",
				 spans[i].digits);
			BSON_APPEND_DOCUMENT_BEGIN(& or, ik, &clause);
			BSON_APPEND_DOCUMENT_BEGIN(&clause, "contact_id", &c);
			BSON_APPEND_UTF8(&c, "$regex", re);
			BSON_APPEND_UTF8(&c, "$gte", spans[i].lo);
			BSON_APPEND_UTF8(&c, "$lte", spans[i].hi);
			append_ids(&c, "$nin", live_ids, n_live);
			bson_append_document_end(&clause, &c);
			bson_append_document_end(& or, &clause);
		}
		bson_append_array_end(&gone, & or);
		set_deleted(&set_gone, mg_date(at), now);
		if (!mongoc_bulk_operation_update_many_with_opts(
			bulk, &gone, &set_gone, NULL, &e))
			goto fail;
	}
	has_reply = 1;
	if (run_bulk(bulk, &reply, &e) < 0)
		goto fail;
	if (changed)
		*changed = mg_reply_int(&reply, "nModified");
	ret = 0;
	goto done;
fail:
	mg_err(err, s, "reconcile contacts in", &e);
done:
	mongoc_bulk_operation_destroy(bulk);
	if (has_reply)
		bson_destroy(&reply);
	bson_destroy(&back);
	bson_destroy(&gone);
	bson_destroy(&set_back);
	bson_destroy(&set_gone);
	return ret;
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* ids[from, from + n) get deleted_at = value: one unordered bulk of one
 * update per id, *total += the documents changed. */
static int mark_chunk(struct mongo_store *s, const char *provider,
		      const char *account, char *const *ids, size_t n,
		      bson_value_t value, int64_t *total, struct err *err)
{
	mongoc_bulk_operation_t *bulk = new_bulk(s, K_CONTACTS);
	bson_value_t now = mg_date(clock_wall_s());
	bson_error_t e;
	bson_t reply;
	size_t i;
	int ok = 1;

	for (i = 0; i < n && ok; i++) {
		bson_t sel = BSON_INITIALIZER, upd = BSON_INITIALIZER;

		mg_filter_owner(&sel, provider, account);
		BSON_APPEND_UTF8(&sel, "contact_id", ids[i]);
		set_deleted(&upd, value, now);
		ok = mongoc_bulk_operation_update_one_with_opts(bulk, &sel,
								&upd, NULL, &e);
		bson_destroy(&sel);
		bson_destroy(&upd);
	}
	if (ok) {
		ok = run_bulk(bulk, &reply, &e) == 0;
		*total += mg_reply_int(&reply, "nModified");
		bson_destroy(&reply);
	}
	mongoc_bulk_operation_destroy(bulk);
	return ok ? 0 : mg_err(err, s, "reconcile contacts in", &e);
}

/* Deletion marks of a complete scan (store.h): the stored contacts of
 * provider/account are read once and compared with the sorted live ids
 * (no query carries the whole set: a document is at most 16 MB), then
 * the ones to mark or clear are updated in bulks. */
int mg_reconcile_contact_set(struct store *store, const char *provider,
			     const char *account, const char *const *live_ids,
			     size_t n_live, int64_t at, int64_t *changed,
			     struct err *err)
{
	struct mongo_store *s = (struct mongo_store *)store;
	bson_t f = BSON_INITIALIZER;
	mongoc_cursor_t *cur;
	const bson_t *doc;
	bson_error_t e;
	char **gone = NULL, **back = NULL;
	size_t n_gone = 0, n_back = 0, cap_gone = 0, cap_back = 0, i, m;
	int64_t total = 0;
	int ret = -1;

	mg_filter_owner(&f, provider, account);
	cur = mg_find_docs(s, K_CONTACTS, &f, NULL, 0);
	while (mongoc_cursor_next(cur, &doc)) {
		const char *id = mg_get_str(doc, "contact_id");
		int is_deleted = mg_get_time(doc, "deleted_at") != TIME_NULL;
		int is_live = id && bsearch(&id, live_ids, n_live,
					    sizeof(*live_ids), cmp_id) != NULL;

		if (!id || is_live == !is_deleted)
			continue;
		if (is_live) {
			if (n_back == cap_back) {
				cap_back = cap_back ? 2 * cap_back : 64;
				back = xrealloc(back, cap_back * sizeof(*back));
			}
			back[n_back++] = xstrdup(id);
		} else {
			if (n_gone == cap_gone) {
				cap_gone = cap_gone ? 2 * cap_gone : 64;
				gone = xrealloc(gone, cap_gone * sizeof(*gone));
			}
			gone[n_gone++] = xstrdup(id);
		}
	}
	if (mongoc_cursor_error(cur, &e)) {
		mg_err(err, s, "read contacts from", &e);
		goto done;
	}
	for (i = 0; i < n_back; i += m) {
		m = n_back - i < STORE_MONGODB_BULK_MAX
			? n_back - i
			: STORE_MONGODB_BULK_MAX;
		if (mark_chunk(s, provider, account, back + i, m, mg_null(),
			       &total, err) < 0)
			goto done;
	}
	for (i = 0; i < n_gone; i += m) {
		m = n_gone - i < STORE_MONGODB_BULK_MAX
			? n_gone - i
			: STORE_MONGODB_BULK_MAX;
		if (mark_chunk(s, provider, account, gone + i, m, mg_date(at),
			       &total, err) < 0)
			goto done;
	}
	if (changed)
		*changed = total;
	ret = 0;
done:
	for (i = 0; i < n_gone; i++)
		free(gone[i]);
	for (i = 0; i < n_back; i++)
		free(back[i]);
	free(gone);
	free(back);
	mongoc_cursor_destroy(cur);
	bson_destroy(&f);
	return ret;
}
