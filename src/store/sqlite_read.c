/* SQLite reads and small writes: checkpoints (sync_state), the newest
 * runs, and what export, stats and the sync engine read back. */
#include "store/sqlite_internal.h"

#include <string.h>

#include "util/banned.h"

/* Reads turn stored ISO text back into epoch seconds with
 * CAST(strftime('%s', col) AS INTEGER); NULL stays NULL. */

static int64_t col_time(sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return TIME_NULL;
	return sqlite3_column_int64(st, i);
}

static const char *col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

static char *col_dup(sqlite3_stmt *st, int i, struct arena *a)
{
	return arena_strdup(a, col_text(st, i));
}

int sq_state_get(struct store *store, const char *provider, const char *account,
		 const char *stream, struct buf *out, int *found,
		 struct err *err)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	const char *args[3] = {provider, account, stream};
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	*found = 0;
	buf_reset(out);
	if (sq_prep(s,
		    "SELECT value FROM sync_state WHERE provider = ?1"
		    " AND account = ?2 AND stream = ?3",
		    3, args, &st, err) < 0)
		goto done;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *v = col_text(st, 0);

		if (buf_puts(out, v ? v : "") < 0) {
			err_set(err, ERR_STORE, 0,
				"sync state '%s' in store '%s' is too large",
				stream, s->path);
			goto done;
		}
		*found = 1;
	} else if (rc != SQLITE_DONE) {
		sq_db_err(err, s, "read sync state from");
		goto done;
	}
	ret = 0;
done:
	sqlite3_finalize(st);
	return ret;
}

int sq_state_reset(struct store *store, const char *provider,
		   const char *stream_prefix, int64_t *removed, struct err *err)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	const char *args[2] = {provider, stream_prefix};
	sqlite3_stmt *st = NULL;
	int ret = -1;

	if (sq_prep(s,
		    "DELETE FROM sync_state WHERE (?1 IS NULL OR provider = ?1)"
		    " AND (?2 IS NULL OR substr(stream, 1, length(?2)) = ?2)",
		    2, args, &st, err) < 0)
		goto done;
	if (sqlite3_step(st) != SQLITE_DONE) {
		sq_db_err(err, s, "reset sync state in");
		goto done;
	}
	if (removed)
		*removed = sqlite3_changes(s->db);
	ret = 0;
done:
	sqlite3_finalize(st);
	return ret;
}

int sq_state_each(struct store *store, const char *provider, store_state_fn fn,
		  void *ctx, struct err *err)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	const char *args[1] = {provider};
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	if (sq_prep(s,
		    "SELECT provider, account, stream, value,"
		    " CAST(strftime('%s', updated_at) AS INTEGER)"
		    " FROM sync_state WHERE ?1 IS NULL OR provider = ?1"
		    " ORDER BY provider, account, stream",
		    1, args, &st, err) < 0)
		goto done;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct state_row row;

		row.provider = col_text(st, 0);
		row.account = col_text(st, 1);
		row.stream = col_text(st, 2);
		row.value = col_text(st, 3);
		row.updated_at = col_time(st, 4);
		ret = fn(ctx, &row);
		if (ret)
			goto done;
	}
	if (rc != SQLITE_DONE) {
		ret = sq_db_err(err, s, "read sync state from");
		goto done;
	}
	ret = 0;
done:
	sqlite3_finalize(st);
	return ret;
}

/* Newest run of provider (NULL: any) with status (NULL: any). */
int sq_run_newest(struct store *store, const char *provider, const char *status,
		  struct run_row *out, struct arena *arena, int *found,
		  struct err *err)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	const char *args[2] = {provider, status};
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	*found = 0;
	memset(out, 0, sizeof(*out));
	if (sq_prep(
		s,
		"SELECT run_id, provider, account,"
		" CAST(strftime('%s', started_at) AS INTEGER),"
		" CAST(strftime('%s', finished_at) AS INTEGER), status,"
		" requests, retries, throttled, records, error, host, pid,"
		" CAST(strftime('%s', heartbeat_at) AS INTEGER) FROM sync_runs"
		" WHERE (?1 IS NULL OR provider = ?1)"
		" AND (?2 IS NULL OR status = ?2) ORDER BY run_id DESC LIMIT 1",
		2, args, &st, err) < 0)
		goto done;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->run_id = sqlite3_column_int64(st, 0);
		out->provider = col_dup(st, 1, arena);
		out->account = col_dup(st, 2, arena);
		out->started_at = col_time(st, 3);
		out->finished_at = col_time(st, 4);
		out->status = store_run_status_parse(col_text(st, 5));
		out->requests = sqlite3_column_int64(st, 6);
		out->retries = sqlite3_column_int64(st, 7);
		out->throttled = sqlite3_column_int64(st, 8);
		out->records_json = col_dup(st, 9, arena);
		out->error = col_dup(st, 10, arena);
		out->host = col_dup(st, 11, arena);
		out->pid = sqlite3_column_int64(st, 12);
		out->heartbeat_at = col_time(st, 13);
		*found = 1;
	} else if (rc != SQLITE_DONE) {
		sq_db_err(err, s, "read runs from");
		goto done;
	}
	ret = 0;
done:
	sqlite3_finalize(st);
	return ret;
}

#define CAMPAIGN_COLS                                                          \
	"provider, account, campaign_id, name, subject, from_name,"            \
	" from_email, status,"                                                 \
	" CAST(strftime('%s', created_at) AS INTEGER),"                        \
	" CAST(strftime('%s', sent_at) AS INTEGER), to_lists, sent,"           \
	" opened_unique, opened_total, clicked_unique, clicked_total,"         \
	" bounced_hard, bounced_soft, complained, unsubscribed,"               \
	" CAST(strftime('%s', synced_at) AS INTEGER), verified_opens,"         \
	" verified_unique_opens"

/* Fills c from a row of CAMPAIGN_COLS; strings point into the statement
 * unless an arena is given. */
static void read_campaign(sqlite3_stmt *st, struct rec_campaign *c,
			  struct arena *a)
{
	struct campaign_stats *x = &c->stats;

	memset(c, 0, sizeof(*c));
	c->campaign_id = a ? col_dup(st, 2, a) : col_text(st, 2);
	c->name = a ? col_dup(st, 3, a) : col_text(st, 3);
	c->subject = a ? col_dup(st, 4, a) : col_text(st, 4);
	c->from_name = a ? col_dup(st, 5, a) : col_text(st, 5);
	c->from_email = a ? col_dup(st, 6, a) : col_text(st, 6);
	c->status = a ? col_dup(st, 7, a) : col_text(st, 7);
	c->created_at = col_time(st, 8);
	c->sent_at = col_time(st, 9);
	c->to_lists_json = a ? col_dup(st, 10, a) : col_text(st, 10);
	c->has_stats = 1;
	x->sent = sqlite3_column_int64(st, 11);
	x->opened_unique = sqlite3_column_int64(st, 12);
	x->opened_total = sqlite3_column_int64(st, 13);
	x->clicked_unique = sqlite3_column_int64(st, 14);
	x->clicked_total = sqlite3_column_int64(st, 15);
	x->bounced_hard = sqlite3_column_int64(st, 16);
	x->bounced_soft = sqlite3_column_int64(st, 17);
	x->complained = sqlite3_column_int64(st, 18);
	x->unsubscribed = sqlite3_column_int64(st, 19);
	c->synced_at = col_time(st, 20);
	c->verified_opens = sqlite3_column_type(st, 21) == SQLITE_NULL
				? -1
				: sqlite3_column_int64(st, 21);
	c->verified_unique_opens = sqlite3_column_type(st, 22) == SQLITE_NULL
				       ? -1
				       : sqlite3_column_int64(st, 22);
}

int sq_campaign_get(struct store *store, const char *provider,
		    const char *account, const char *campaign_id,
		    struct rec_campaign *out, struct arena *arena, int *found,
		    struct err *err)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	const char *args[3] = {provider, account, campaign_id};
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	*found = 0;
	if (sq_prep(s,
		    "SELECT " CAMPAIGN_COLS
		    " FROM campaigns WHERE provider = ?1"
		    " AND account = ?2 AND campaign_id = ?3",
		    3, args, &st, err) < 0)
		goto done;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		read_campaign(st, out, arena);
		*found = 1;
	} else if (rc != SQLITE_DONE) {
		sq_db_err(err, s, "read campaigns from");
		goto done;
	}
	ret = 0;
done:
	sqlite3_finalize(st);
	return ret;
}

#define WHERE_PROVIDER " WHERE ?1 IS NULL OR provider = ?1"

int sq_stats(struct store *store, const char *provider, struct store_stats *out,
	     struct err *err)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	const char *args[1] = {provider};
	sqlite3_stmt *st = NULL;
	enum event_type t;
	int rc, ret = -1;

	memset(out, 0, sizeof(*out));
	if (sq_prep(s,
		    "SELECT (SELECT count(*) FROM campaigns" WHERE_PROVIDER "),"
		    " (SELECT count(*) FROM participants" WHERE_PROVIDER "),"
		    " (SELECT count(*) FROM campaign_links" WHERE_PROVIDER "),"
		    " (SELECT count(*) FROM contacts" WHERE_PROVIDER "),"
		    " (SELECT count(*) FROM lists" WHERE_PROVIDER ")",
		    1, args, &st, err) < 0)
		goto done;
	if (sqlite3_step(st) != SQLITE_ROW)
		goto fail;
	out->campaigns = sqlite3_column_int64(st, 0);
	out->participants = sqlite3_column_int64(st, 1);
	out->links = sqlite3_column_int64(st, 2);
	out->contacts = sqlite3_column_int64(st, 3);
	out->lists = sqlite3_column_int64(st, 4);
	sqlite3_finalize(st);
	st = NULL;
	if (sq_prep(s,
		    "SELECT event_type, count(*) FROM email_activities"
		    " WHERE ?1 IS NULL OR provider = ?1 GROUP BY event_type",
		    1, args, &st, err) < 0)
		goto done;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (event_type_parse(col_text(st, 0), &t) == 0)
			out->events[t] = sqlite3_column_int64(st, 1);
	if (rc != SQLITE_DONE)
		goto fail;
	ret = 0;
	goto done;
fail:
	sq_db_err(err, s, "count rows in");
done:
	sqlite3_finalize(st);
	return ret;
}

int sq_each_campaign(struct store *store, const char *provider,
		     const char *campaign_id, store_campaign_fn fn, void *ctx,
		     struct err *err)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	const char *args[2] = {provider, campaign_id};
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	if (sq_prep(s,
		    "SELECT " CAMPAIGN_COLS " FROM campaigns"
		    " WHERE (?1 IS NULL OR provider = ?1)"
		    " AND (?2 IS NULL OR campaign_id = ?2)"
		    " ORDER BY provider, account, campaign_id",
		    2, args, &st, err) < 0)
		goto done;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct rec_campaign c;

		read_campaign(st, &c, NULL);
		ret = fn(ctx, col_text(st, 0), col_text(st, 1), &c);
		if (ret)
			goto done;
	}
	if (rc != SQLITE_DONE) {
		ret = sq_db_err(err, s, "read campaigns from");
		goto done;
	}
	ret = 0;
done:
	sqlite3_finalize(st);
	return ret;
}

int sq_each_participant(struct store *store, const char *provider,
			const char *account, const char *campaign_id,
			store_participant_fn fn, void *ctx, struct err *err)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	const char *args[3] = {provider, account, campaign_id};
	sqlite3_stmt *st = NULL;
	int rc, ret = -1, i;

	if (sq_prep(s,
		    "SELECT contact_id, email_address, status, fields, sent,"
		    " opened, clicked, bounced, complained, unsubscribed"
		    " FROM participants WHERE provider = ?1 AND account = ?2"
		    " AND campaign_id = ?3 ORDER BY email_address, contact_id",
		    3, args, &st, err) < 0)
		goto done;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct export_row row;

		row.contact_id = col_text(st, 0);
		row.email = col_text(st, 1);
		row.status = col_text(st, 2);
		row.fields_json = col_text(st, 3);
		row.flags = 0;
		for (i = 0; i < STORE_PARTICIPANT_FLAGS; i++)
			if (sqlite3_column_int(st, 4 + i))
				row.flags |= store_participant_flags[i];
		ret = fn(ctx, &row);
		if (ret)
			goto done;
	}
	if (rc != SQLITE_DONE) {
		ret = sq_db_err(err, s, "read participants from");
		goto done;
	}
	ret = 0;
done:
	sqlite3_finalize(st);
	return ret;
}

/* Tags of the campaign's lists in list order then field order; malformed
 * JSON in either column reads as empty. Field items may be {tag,...}
 * objects or bare strings. */
int sq_campaign_fields(struct store *store, const char *provider,
		       const char *account, const char *campaign_id,
		       struct buf *out, struct err *err)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	const char *args[3] = {provider, account, campaign_id};
	sqlite3_stmt *st = NULL;
	struct store_tags tags;
	int rc, ret = -1;

	store_tags_init(&tags, out);
	if (sq_prep(
		s,
		"SELECT CASE f.type WHEN 'object' THEN"
		" json_extract(f.value, '$.tag') WHEN 'text' THEN f.value END"
		" FROM campaigns AS c,"
		" json_each(iif(json_valid(c.to_lists), c.to_lists, '[]'))"
		" AS tl JOIN lists AS l ON l.provider = c.provider"
		" AND l.account = c.account AND l.list_id = tl.value,"
		" json_each(iif(json_valid(l.fields), l.fields, '[]')) AS f"
		" WHERE c.provider = ?1 AND c.account = ?2"
		" AND c.campaign_id = ?3 ORDER BY tl.key, f.key",
		3, args, &st, err) < 0)
		goto done;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (store_tags_add(&tags, col_text(st, 0)) < 0) {
			err_set(err, ERR_STORE, 0,
				"fields of campaign '%s' are too large",
				campaign_id);
			goto done;
		}
	}
	if (rc != SQLITE_DONE) {
		sq_db_err(err, s, "read list fields from");
		goto done;
	}
	ret = 0;
done:
	store_tags_release(&tags, ret == 0);
	sqlite3_finalize(st);
	return ret;
}

/* Campaign rows of "SELECT <the columns read_campaign reads> FROM campaigns
 * AS c <tail>" (the report's reads), with n text params. */
int sq_campaigns_query(struct sqlite_store *s, const char *tail, int n,
		       const char *const *params, store_campaign_fn fn,
		       void *ctx, struct err *err)
{
	struct buf q = BUF_INIT;
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	if (buf_puts(&q, "SELECT " CAMPAIGN_COLS " FROM campaigns AS c ") < 0 ||
	    buf_puts(&q, tail) < 0) {
		err_set(err, ERR_STORE, 0, "campaign query too long");
		goto done;
	}
	if (sq_prep(s, buf_str(&q), n, params, &st, err) < 0)
		goto done;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct rec_campaign c;

		read_campaign(st, &c, NULL);
		ret = fn(ctx, col_text(st, 0), col_text(st, 1), &c);
		if (ret)
			goto done;
	}
	if (rc != SQLITE_DONE) {
		ret = sq_db_err(err, s, "read campaigns from");
		goto done;
	}
	ret = 0;
done:
	sqlite3_finalize(st);
	buf_release(&q);
	return ret;
}
