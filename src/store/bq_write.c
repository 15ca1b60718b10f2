/* BigQuery writes. Batches are not sent one by one: write_batch appends
 * their rows (and checkpoints) as NDJSON to a local spool file; a flush
 * (ESPSYNC_BQ_FLUSH_ROWS rows, ESPSYNC_BQ_FLUSH_SECONDS, the end of the
 * run) loads the spool into a new staging table with one load job, then
 * runs one multi-statement transaction that MERGEs it into every target
 * and writes the checkpoints into sync_state. A checkpoint is never
 * committed before its data; a run that spooled nothing costs no job. */
#include "store/bq_schema.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/jsonw.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "util/banned.h"

static const char *const kind_names[BK__COUNT] = {
    [BK_CAMPAIGNS] = "campaigns",	[BK_LINKS] = "campaign_links",
    [BK_PARTICIPANTS] = "participants", [BK_EVENTS] = "email_activities",
    [BK_CONTACTS] = "contacts",		[BK_LISTS] = "lists",
    [BK_STATE] = "sync_state",		[BK_RECON_LIVE] = "recon_live",
    [BK_RECON_SPAN] = "recon_span",
};

/* ---- the spool ---------------------------------------------------------- */

static int put_str(struct buf *b, const char *key, const char *v)
{
	int rc;

	if (!v)
		return 0;
	rc = buf_printf(b, ",\"%s\":", key);
	rc |= jsonw_string(b, v);
	return rc;
}

static int put_int(struct buf *b, const char *key, int64_t v)
{
	return buf_printf(b, ",\"%s\":%" PRId64, key, v);
}

static int put_ts(struct buf *b, const char *key, int64_t t)
{
	char iso[32];

	if (t == TIME_NULL)
		return 0;
	time_format_iso(t, iso);
	iso[10] = ' ';
	iso[19] = '\0';
	return buf_printf(b, ",\"%s\":\"%s\"", key, iso);
}

/* Where the row being spooled begins in the batch's buffer, and its
 * content after the _seq member (what the written-rows hash reads). */
struct row_at {
	size_t start, body;
};

static int row_head(struct bq_store *s, struct buf *b, enum bq_kind k,
		    const struct batch *bt, struct row_at *at)
{
	int rc;

	at->start = b->len;
	rc = buf_printf(b, "{\"_t\":\"%s\",\"_seq\":%" PRId64, kind_names[k],
			++s->seq);
	at->body = b->len;
	rc |= put_str(b, "provider", bt->provider);
	rc |= put_str(b, "account", bt->account);
	return rc;
}

static int flag(unsigned flags, unsigned bit)
{
	return (flags & bit) ? 1 : 0;
}

/* The member names of a spooled row in order, comma-separated: rows of
 * one key with the same names write the same columns. Rows are flat
 * objects whose values are numbers or strings. */
static size_t row_shape(char *out, size_t size, const char *p, size_t n)
{
	size_t i, o = 0;
	int in_str = 0, is_key = 0, want_key = 0;

	for (i = 0; i < n && o + 2 < size; i++) {
		char c = p[i];

		if (in_str) {
			if (c == '\\') {
				i++;
			} else if (c == '"') {
				in_str = 0;
				if (is_key)
					out[o++] = ',';
			} else if (is_key) {
				out[o++] = c;
			}
		} else if (c == '"') {
			in_str = 1;
			is_key = want_key;
			want_key = 0;
		} else if (c == '{' || c == ',') {
			want_key = 1;
		}
	}
	return o;
}

/* The key of a spooled row in the written-rows maps: its kind, its key
 * (key parts joined by newlines) and the names it carries. */
static uint64_t row_key(enum bq_kind k, const char *key, const struct buf *b,
			const struct row_at *at)
{
	char shape[1024];
	size_t n = row_shape(shape, sizeof(shape), b->data + at->start,
			     b->len - at->start);

	return bq_seen_key((int)k, bq_seen_hash(key, strlen(key), shape, n));
}

/* 1 when a row of this key and content is stored (or spooled): what this
 * run wrote of the key, else what the last run did. */
static int seen_has(const struct bq_store *s, uint64_t key, uint64_t val,
		    int is_old_ok)
{
	uint64_t v = 0;

	if (bq_seen_get(&s->seen_run, key, &v))
		return v && v == val;
	return is_old_ok && bq_seen_get(&s->seen_old, key, &v) && v && v == val;
}

/* 1 when contact id lies in a deletion span (the SQL of recon_sql: as
 * many digits, between its bounds as text). */
static int span_covers(const struct store_id_span *sp, const char *id)
{
	size_t i, n = strlen(id);

	if (n != (size_t)sp->digits)
		return 0;
	for (i = 0; i < n; i++)
		if (id[i] < '0' || id[i] > '9')
			return 0;
	return strcmp(id, sp->lo) >= 0 && strcmp(id, sp->hi) <= 0;
}

/* 1 when a deletion span of this run may have marked contact id. */
static int run_spans_cover(const struct bq_store *s, const char *id)
{
	size_t i;

	if (s->run_span_all)
		return 1;
	for (i = 0; i < s->n_run_spans; i++)
		if (span_covers(&s->run_spans[i], id))
			return 1;
	return 0;
}

/* 1 when this batch belongs to the run, 2 when the checkpoints read (and
 * what the last run wrote) are of its account too; 0 otherwise. */
static int batch_is_run(const struct bq_store *s, const char *provider,
			const char *account)
{
	if (!s->has_run || !provider || !account || !s->run_provider ||
	    strcmp(provider, s->run_provider) ||
	    strcmp(account, s->run_account))
		return 0;
	return s->is_cached && !strcmp(provider, s->cache_provider) &&
		       !strcmp(account, s->cache_account)
		   ? 2
		   : 1;
}

/* Decides on the row just appended to b (at): 1 keeps it; 0 when it is
 * already stored as it is (the row is taken out of b again). Either way
 * the run remembers it. */
static int row_keep(struct bq_store *s, struct buf *b, enum bq_kind k,
		    const char *key, const struct row_at *at, int in_run)
{
	uint64_t rk, val;
	int is_stored;

	if (!in_run)
		return 1;
	rk = row_key(k, key, b, at);
	val = bq_seen_hash("", 0, b->data + at->body, b->len - at->body);
	is_stored = seen_has(s, rk, val, in_run == 2);
	bq_seen_put(&s->seen_run, rk, val);
	if (!is_stored)
		return 1;
	b->len = at->start;
	b->data[b->len] = '\0';
	return 0;
}

static uint64_t live_key(const char *contact_id)
{
	return bq_seen_key(
	    BK_RECON_LIVE,
	    bq_seen_hash(contact_id, strlen(contact_id), "live", 4));
}

/* A deleted contact row, or a deletion span covering it, makes an
 * earlier live sighting of a contact say nothing: it is kept as not
 * known. sp NULL: every contact of the account. */
static void forget_live(struct bq_store *s, const char *contact_id,
			const struct store_id_span *sp)
{
	size_t i;

	if (contact_id) {
		bq_seen_put(&s->seen_run, live_key(contact_id), 0);
		return;
	}
	for (i = 0; i < s->n_run_live; i++)
		if (!sp || span_covers(sp, s->run_live[i]))
			bq_seen_put(&s->seen_run, live_key(s->run_live[i]), 0);
}

/* A live sighting of this run (ids kept for the spans that follow). */
static void note_live(struct bq_store *s, const char *contact_id)
{
	if (s->n_run_live == s->cap_run_live) {
		s->cap_run_live = s->cap_run_live ? 2 * s->cap_run_live : 256;
		s->run_live = xrealloc(s->run_live,
				       s->cap_run_live * sizeof(*s->run_live));
	}
	s->run_live[s->n_run_live++] = xstrdup(contact_id);
	bq_seen_put(&s->seen_run, live_key(contact_id), 1);
}

void bq_run_live_clear(struct bq_store *s)
{
	size_t i;

	for (i = 0; i < s->n_run_live; i++)
		free(s->run_live[i]);
	s->n_run_live = 0;
	s->n_run_spans = 0;
	s->run_span_all = 0;
}

static void note_campaign(struct bq_store *s, const struct batch *bt,
			  const char *campaign_id)
{
	char pa[512];
	int n =
	    snprintf(pa, sizeof(pa), "%s\n%s", bt->provider ? bt->provider : "",
		     bt->account ? bt->account : "");

	if (n < 0 || (size_t)n >= sizeof(pa) || !campaign_id)
		return;
	bq_seen_put(
	    &s->spooled_campaigns,
	    bq_seen_key(BK_CAMPAIGNS, bq_seen_hash(pa, (size_t)n, campaign_id,
						   strlen(campaign_id))),
	    1);
}

int bq_spool_has_campaign(const struct bq_store *s, const char *provider,
			  const char *account, const char *campaign_id)
{
	char pa[512];
	uint64_t v;
	int n = snprintf(pa, sizeof(pa), "%s\n%s", provider ? provider : "",
			 account ? account : "");

	/* unknown: flush first, as before */
	if (n < 0 || (size_t)n >= sizeof(pa) || !campaign_id)
		return 1;
	return bq_seen_get(
	    &s->spooled_campaigns,
	    bq_seen_key(BK_CAMPAIGNS, bq_seen_hash(pa, (size_t)n, campaign_id,
						   strlen(campaign_id))),
	    &v);
}

int64_t bq_spool_data_rows(const struct bq_store *s)
{
	return s->spool_rows - s->kind_rows[BK_STATE];
}

static int state_is_cached(const struct bq_store *s, const char *stream,
			   const char *value)
{
	size_t i;

	if (!stream)
		return 0;
	for (i = 0; i < s->n_cache; i++) {
		const char *v = s->cache[i].value;

		if (strcmp(s->cache[i].stream, stream))
			continue;
		return v && value ? !strcmp(v, value) : v == value;
	}
	return 0;
}

/* The key parts of a row joined by newlines into key (NULL parts are
 * empty). */
static const char *key_of(char *key, size_t size, const char *a, const char *b,
			  int64_t n)
{
	snprintf(key, size, "%s\n%s\n%" PRId64, a ? a : "", b ? b : "", n);
	return key;
}

static int spool_rows(struct bq_store *s, const struct batch *bt, struct buf *b)
{
	struct row_at at;
	char key[4096];
	size_t i, k;
	int rc = 0, in_run = batch_is_run(s, bt->provider, bt->account);

	for (i = 0; i < bt->n_campaigns; i++) {
		const struct rec_campaign *c = &bt->campaigns[i];

		rc |= row_head(s, b, BK_CAMPAIGNS, bt, &at);
		rc |= put_str(b, "campaign_id", c->campaign_id);
		rc |= put_str(b, "name", c->name);
		rc |= put_str(b, "subject", c->subject);
		rc |= put_str(b, "from_name", c->from_name);
		rc |= put_str(b, "from_email", c->from_email);
		rc |= put_str(b, "status", c->status);
		rc |= put_ts(b, "created_at", c->created_at);
		rc |= put_ts(b, "sent_at", c->sent_at);
		rc |= put_str(b, "to_lists", c->to_lists_json);
		rc |= put_int(b, "has_stats", c->has_stats ? 1 : 0);
		rc |= put_int(b, "sent", c->stats.sent);
		rc |= put_int(b, "opened_unique", c->stats.opened_unique);
		rc |= put_int(b, "opened_total", c->stats.opened_total);
		rc |= put_int(b, "clicked_unique", c->stats.clicked_unique);
		rc |= put_int(b, "clicked_total", c->stats.clicked_total);
		rc |= put_int(b, "bounced_hard", c->stats.bounced_hard);
		rc |= put_int(b, "bounced_soft", c->stats.bounced_soft);
		rc |= put_int(b, "complained", c->stats.complained);
		rc |= put_int(b, "unsubscribed", c->stats.unsubscribed);
		/* absent (NULL): unknown, the stored value stays */
		if (c->verified_opens >= 0)
			rc |= put_int(b, "verified_opens", c->verified_opens);
		if (c->verified_unique_opens >= 0)
			rc |= put_int(b, "verified_unique_opens",
				      c->verified_unique_opens);
		rc |= buf_puts(b, "}\n");
		if (rc || !row_keep(s, b, BK_CAMPAIGNS,
				    key_of(key, sizeof(key), c->campaign_id,
					   NULL, c->has_stats ? 1 : 0),
				    &at, in_run))
			continue;
		note_campaign(s, bt, c->campaign_id);
		s->kind_rows[BK_CAMPAIGNS]++;
	}
	for (i = 0; i < bt->n_links; i++) {
		const struct rec_link *l = &bt->links[i];

		rc |= row_head(s, b, BK_LINKS, bt, &at);
		rc |= put_str(b, "campaign_id", l->campaign_id);
		rc |= put_str(b, "url", l->url);
		rc |= put_int(b, "clicked_total", l->clicked_total);
		rc |= put_int(b, "clicked_unique", l->clicked_unique);
		rc |= buf_puts(b, "}\n");
		if (rc || !row_keep(s, b, BK_LINKS,
				    key_of(key, sizeof(key), l->campaign_id,
					   l->url, 0),
				    &at, in_run))
			continue;
		s->kind_rows[BK_LINKS]++;
	}
	for (i = 0; i < bt->n_participants; i++) {
		const struct rec_participant *p = &bt->participants[i];
		static const char *const names[STORE_PARTICIPANT_FLAGS] = {
		    "sent",    "opened",     "clicked",
		    "bounced", "complained", "unsubscribed"};

		rc |= row_head(s, b, BK_PARTICIPANTS, bt, &at);
		rc |= put_str(b, "campaign_id", p->campaign_id);
		rc |= put_str(b, "contact_id", p->contact_id);
		rc |= put_str(b, "email_address", p->email);
		for (k = 0; k < STORE_PARTICIPANT_FLAGS; k++)
			rc |=
			    put_int(b, names[k],
				    flag(p->flags, store_participant_flags[k]));
		rc |= buf_puts(b, "}\n");
		s->kind_rows[BK_PARTICIPANTS]++;
		if (in_run)
			s->run_linkable = 1;
	}
	for (i = 0; i < bt->n_events; i++) {
		const struct rec_event *e = &bt->events[i];
		char date[16];
		int64_t day =
		    e->ts >= 0 ? e->ts / 86400 : -((-e->ts + 86399) / 86400);

		time_format_date(e->ts, date);
		rc |= row_head(s, b, BK_EVENTS, bt, &at);
		rc |= put_str(b, "event_id", e->event_id);
		rc |= put_str(b, "campaign_id", e->campaign_id);
		rc |= put_str(b, "campaign_name", e->campaign_name);
		rc |= put_str(b, "contact_id", e->contact_id);
		rc |= put_str(b, "contact_email", e->contact_email);
		rc |= put_str(b, "event_type", event_type_name(e->type));
		rc |= put_ts(b, "activity_timestamp", e->ts);
		rc |= put_str(b, "activity_date", date);
		rc |= put_int(b, "times", e->times);
		rc |= put_str(b, "link_url", e->link_url);
		rc |= put_str(b, "bounce_type", e->bounce_type);
		rc |= buf_puts(b, "}\n");
		if (!s->kind_rows[BK_EVENTS] || day < s->day_lo)
			s->day_lo = day;
		if (!s->kind_rows[BK_EVENTS] || day > s->day_hi)
			s->day_hi = day;
		s->kind_rows[BK_EVENTS]++;
	}
	for (i = 0; i < bt->n_contacts; i++) {
		const struct rec_contact *c = &bt->contacts[i];

		rc |= row_head(s, b, BK_CONTACTS, bt, &at);
		rc |= put_str(b, "contact_id", c->contact_id);
		rc |= put_str(b, "email", c->email);
		rc |= put_str(b, "first_name", c->first_name);
		rc |= put_str(b, "last_name", c->last_name);
		rc |= put_str(b, "phone", c->phone);
		rc |= put_str(b, "status", c->status);
		rc |= put_str(b, "fields", c->fields_json);
		rc |= put_str(b, "tags", c->tags_json);
		rc |= put_str(b, "lists", c->lists_json);
		rc |= put_ts(b, "created_at", c->created_at);
		rc |= put_ts(b, "updated_at", c->updated_at);
		rc |= put_ts(b, "deleted_at", c->deleted_at);
		rc |= buf_puts(b, "}\n");
		if (in_run && c->deleted_at != TIME_NULL)
			forget_live(s, c->contact_id ? c->contact_id : "",
				    NULL);
		if (rc ||
		    !row_keep(s, b, BK_CONTACTS,
			      key_of(key, sizeof(key), c->contact_id, NULL, 0),
			      &at, in_run))
			continue;
		s->kind_rows[BK_CONTACTS]++;
		if (in_run)
			s->run_linkable = 1;
	}
	for (i = 0; i < bt->n_lists; i++) {
		const struct rec_list *l = &bt->lists[i];

		rc |= row_head(s, b, BK_LISTS, bt, &at);
		rc |= put_str(b, "list_id", l->list_id);
		rc |= put_str(b, "name", l->name);
		rc |= put_str(b, "fields", l->fields_json);
		rc |= put_str(b, "tags", l->tags_json);
		if (l->subscribed >= 0)
			rc |= put_int(b, "subscribed", l->subscribed);
		if (l->unsubscribed >= 0)
			rc |= put_int(b, "unsubscribed", l->unsubscribed);
		if (l->pending >= 0)
			rc |= put_int(b, "pending", l->pending);
		rc |= put_ts(b, "created_at", l->created_at);
		rc |= put_ts(b, "updated_at", l->updated_at);
		rc |= buf_puts(b, "}\n");
		if (rc ||
		    !row_keep(s, b, BK_LISTS,
			      key_of(key, sizeof(key), l->list_id, NULL, 0),
			      &at, in_run))
			continue;
		s->kind_rows[BK_LISTS]++;
	}
	for (i = 0; i < bt->n_states; i++) {
		/* a checkpoint as it is stored (or spooled) is not written */
		if (in_run == 2 && state_is_cached(s, bt->states[i].stream,
						   bt->states[i].value))
			continue;
		rc |= row_head(s, b, BK_STATE, bt, &at);
		rc |= put_str(b, "stream", bt->states[i].stream);
		rc |= put_str(b, "value", bt->states[i].value);
		rc |= buf_puts(b, "}\n");
		s->kind_rows[BK_STATE]++;
	}
	return rc;
}

/* Keeps the cached checkpoints current (read-your-writes before a
 * flush). */
void bq_cache_put(struct bq_store *s, const char *stream, const char *value)
{
	size_t i;

	for (i = 0; i < s->n_cache; i++) {
		if (!strcmp(s->cache[i].stream, stream)) {
			free(s->cache[i].value);
			s->cache[i].value = value ? xstrdup(value) : NULL;
			return;
		}
	}
	if (s->n_cache == s->cap_cache) {
		s->cap_cache = s->cap_cache ? 2 * s->cap_cache : 64;
		s->cache = xrealloc(s->cache, s->cap_cache * sizeof(*s->cache));
	}
	s->cache[s->n_cache].stream = xstrdup(stream);
	s->cache[s->n_cache].value = value ? xstrdup(value) : NULL;
	s->n_cache++;
}

/* Appends b to the spool (created on first use). */
static int spool_put(struct bq_store *s, const struct buf *b, struct err *err)
{
	size_t i;

	if (!s->spool && !(s->spool = tmpfile()))
		return err_set(err, ERR_IO, 0,
			       "cannot create the bigquery spool file");
	if (b->len && fwrite(b->data, 1, b->len, s->spool) != b->len)
		return err_set(err, ERR_IO, 0,
			       "cannot write the bigquery spool file");
	if (!s->spool_rows)
		s->spool_since_ms = clock_mono_ms();
	s->spool_bytes += (int64_t)b->len;
	s->spool_rows = 0;
	for (i = 0; i < BK__COUNT; i++)
		s->spool_rows += s->kind_rows[i];
	return 0;
}

int bq_write_batch(struct store *st, const struct batch *bt,
		   struct store_counts *out, struct err *err)
{
	struct bq_store *s = (struct bq_store *)st;
	struct buf b = BUF_INIT;
	size_t i;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (spool_rows(s, bt, &b) < 0) {
		err_set(err, ERR_STORE, 0,
			"batch too large for the bigquery spool: more than "
			"%zu bytes",
			b.max);
		goto done;
	}
	if (spool_put(s, &b, err) < 0)
		goto done;
	if (s->is_cached && bt->provider && s->cache_provider &&
	    !strcmp(bt->provider, s->cache_provider) && bt->account &&
	    s->cache_account && !strcmp(bt->account, s->cache_account))
		for (i = 0; i < bt->n_states; i++)
			bq_cache_put(s, bt->states[i].stream,
				     bt->states[i].value);
	/* checkpoints alone wait for data (or the end of the run) */
	if (bq_spool_data_rows(s) >= s->flush_rows ||
	    (bq_spool_data_rows(s) && s->flush_seconds >= 0 &&
	     clock_mono_ms() - s->spool_since_ms >= s->flush_seconds * 1000)) {
		if (bq_flush(s, NULL, err) < 0)
			goto done;
	}
	ret = 0;
done:
	buf_release(&b);
	return ret;
}

/* ---- the flush ---------------------------------------------------------- */

static int key_list(struct buf *q, const struct bq_col *cols,
		    const char *prefix)
{
	const struct bq_col *c;
	int rc = 0, n = 0;

	for (c = cols; c->name; c++)
		if (c->mode == BM_KEY)
			rc |= buf_printf(q, "%s%s%s", n++ ? ", " : "", prefix,
					 c->name);
	return rc;
}

/* One MERGE from the staging table into table t (gate: has_stats value
 * of the campaign rows it takes, -1 for other tables). */
static int merge_sql(struct buf *q, struct bq_store *s, const char *stage,
		     enum bq_table_id t, int gate)
{
	const struct bq_col *c, *cols = bq_tables[t].cols;
	const char *sep;
	int rc = 0, n;

	rc |= buf_puts(q, "MERGE INTO ");
	rc |= bq_table_ref(q, &s->c, bq_tables[t].name);
	rc |= buf_puts(q, " T USING (SELECT ");
	for (sep = "", c = cols; c->name; c++) {
		if (c->mode == BM_NOW || c->mode == BM_BORN ||
		    c->mode == BM_LINK || (c->mode == BM_STAT && gate != 1))
			continue;
		if (c->mode == BM_OR) {
			rc |= buf_printf(q, "%sMAX(%s) OVER (PARTITION BY ",
					 sep, c->name);
			rc |= key_list(q, cols, "");
			rc |= buf_printf(q, ") AS %s", c->name);
		} else if (c->mode == BM_KEEP) {
			/* the newest known value of the flush's rows: a
			 * later row that does not know it (NULL) keeps an
			 * earlier row's, as one upsert after another would */
			rc |= buf_printf(q,
					 "%sLAST_VALUE(%s IGNORE NULLS) OVER"
					 " (PARTITION BY ",
					 sep, c->name);
			rc |= key_list(q, cols, "");
			rc |= buf_printf(q,
					 " ORDER BY _seq ROWS BETWEEN UNBOUNDED"
					 " PRECEDING AND UNBOUNDED FOLLOWING)"
					 " AS %s",
					 c->name);
		} else {
			rc |= buf_printf(q, "%s%s", sep, c->name);
		}
		sep = ", ";
	}
	rc |= buf_puts(q, " FROM ");
	rc |= bq_table_ref(q, &s->c, stage);
	rc |= buf_printf(q, " WHERE _t = '%s'", bq_tables[t].name);
	if (gate >= 0)
		rc |= buf_printf(q, " AND has_stats = %d", gate);
	rc |= buf_puts(q, " QUALIFY ROW_NUMBER() OVER (PARTITION BY ");
	rc |= key_list(q, cols, "");
	rc |= buf_puts(q, " ORDER BY _seq DESC) = 1) S ON ");
	for (n = 0, c = cols; c->name; c++)
		if (c->mode == BM_KEY)
			rc |= buf_printf(q, "%sT.%s = S.%s", n++ ? " AND " : "",
					 c->name, c->name);
	if (t == BT_EVENTS) {
		char lo[16], hi[16];

		/* constants, so BigQuery prunes the target's partitions */
		time_format_date(s->day_lo * 86400, lo);
		time_format_date(s->day_hi * 86400, hi);
		rc |= buf_printf(q,
				 " AND T.activity_date BETWEEN DATE '%s' AND"
				 " DATE '%s'",
				 lo, hi);
	}
	if (t == BT_STATE)
		rc |= buf_puts(q, " WHEN MATCHED AND S.value IS NULL THEN"
				  " DELETE");
	/* update only rows whose content changes */
	rc |= buf_puts(q, " WHEN MATCHED AND (");
	for (n = 0, c = cols; c->name; c++) {
		const char *o = n ? " OR " : "";

		switch (c->mode) {
		case BM_KEEP:
			rc |= buf_printf(q,
					 "%sT.%s IS DISTINCT FROM "
					 "COALESCE(S.%s, T.%s)",
					 o, c->name, c->name, c->name);
			n++;
			break;
		case BM_STAT:
			if (gate != 1)
				break;
			/* fall through */
		case BM_SET:
			rc |= buf_printf(q, "%sT.%s IS DISTINCT FROM S.%s", o,
					 c->name, c->name);
			n++;
			break;
		case BM_OR:
			rc |=
			    buf_printf(q,
				       "%sT.%s IS DISTINCT FROM (COALESCE(T.%s,"
				       " 0) | COALESCE(S.%s, 0))",
				       o, c->name, c->name, c->name);
			n++;
			break;
		default:
			break;
		}
	}
	if (!n)
		rc |= buf_puts(q, "FALSE");
	rc |= buf_puts(q, ") THEN UPDATE SET ");
	for (sep = "", c = cols; c->name; c++) {
		switch (c->mode) {
		case BM_KEEP:
			rc |= buf_printf(q, "%s%s = COALESCE(S.%s, T.%s)", sep,
					 c->name, c->name, c->name);
			break;
		case BM_STAT:
			if (gate != 1)
				continue;
			/* fall through */
		case BM_SET:
			rc |=
			    buf_printf(q, "%s%s = S.%s", sep, c->name, c->name);
			break;
		case BM_OR:
			rc |= buf_printf(q,
					 "%s%s = COALESCE(T.%s, 0) | "
					 "COALESCE(S.%s, 0)",
					 sep, c->name, c->name, c->name);
			break;
		case BM_NOW:
			rc |= buf_printf(q, "%s%s = CURRENT_TIMESTAMP()", sep,
					 c->name);
			break;
		default:
			continue;
		}
		sep = ", ";
	}
	rc |= buf_puts(q, " WHEN NOT MATCHED");
	if (t == BT_STATE)
		rc |= buf_puts(q, " AND S.value IS NOT NULL");
	rc |= buf_puts(q, " THEN INSERT (");
	for (sep = "", c = cols; c->name; c++) {
		rc |= buf_printf(q, "%s%s", sep, c->name);
		sep = ", ";
	}
	rc |= buf_puts(q, ") VALUES (");
	for (sep = "", c = cols; c->name; c++) {
		if (c->mode == BM_NOW || c->mode == BM_BORN)
			rc |= buf_printf(q, "%sCURRENT_TIMESTAMP()", sep);
		else if (c->mode == BM_LINK)
			rc |= buf_printf(q, "%sNULL", sep);
		else if (c->mode == BM_STAT && gate != 1)
			rc |= buf_printf(q, "%s0", sep);
		else
			rc |= buf_printf(q, "%sS.%s", sep, c->name);
		sep = ", ";
	}
	rc |= buf_puts(q, ");\n");
	return rc;
}

static int run_merge_sql(struct buf *q, struct bq_store *s)
{
	int rc = buf_puts(q, "MERGE INTO ");

	/* the account's last run status, read with the checkpoints */
	rc |= bq_table_ref(q, &s->c, "sync_state");
	rc |= buf_puts(
	    q, " T USING (SELECT @provider AS provider, @account AS account,"
	       " '" BQ_RUN_STREAM "' AS stream, @status AS value) S ON"
	       " T.provider = S.provider AND T.account = S.account AND"
	       " T.stream = S.stream WHEN MATCHED THEN UPDATE SET value ="
	       " S.value, updated_at = CURRENT_TIMESTAMP() WHEN NOT MATCHED"
	       " THEN INSERT (provider, account, stream, value, updated_at)"
	       " VALUES (S.provider, S.account, S.stream, S.value,"
	       " CURRENT_TIMESTAMP());\n");
	rc |= buf_puts(q, "MERGE INTO ");

	rc |= bq_table_ref(q, &s->c, "sync_runs");
	rc |= buf_puts(
	    q, " T USING (SELECT @run_id AS run_id, @provider AS provider,"
	       " @account AS account, TIMESTAMP_SECONDS(@started_at) AS"
	       " started_at, TIMESTAMP_SECONDS(@finished_at) AS finished_at,"
	       " @status AS status, @requests AS requests, @retries AS"
	       " retries, @throttled AS throttled, @records AS records,"
	       " @error AS error) S ON T.run_id = S.run_id WHEN MATCHED THEN"
	       " UPDATE SET finished_at = S.finished_at, status = S.status,"
	       " requests = S.requests, retries = S.retries, throttled ="
	       " S.throttled, records = S.records, error = S.error WHEN NOT"
	       " MATCHED THEN INSERT (run_id, provider, account, started_at,"
	       " finished_at, status, requests, retries, throttled, records,"
	       " error) VALUES (S.run_id, S.provider, S.account,"
	       " S.started_at, S.finished_at, S.status, S.requests,"
	       " S.retries, S.throttled, S.records, S.error);\n");
	return rc;
}

static int stage_create(struct bq_store *s, const char *stage, struct err *err)
{
	struct bq_resp r = {0, BUF_INIT, NULL, NULL};
	struct buf u = BUF_INIT, b = BUF_INIT;
	int rc, ret = -1;

	rc = buf_printf(&u, "%s/projects/%s/datasets/%s/tables", s->c.api,
			s->c.project, s->c.dataset);
	rc |= buf_puts(&b, "{\"tableReference\":{\"projectId\":");
	rc |= jsonw_string(&b, s->c.project);
	rc |= buf_puts(&b, ",\"datasetId\":");
	rc |= jsonw_string(&b, s->c.dataset);
	rc |= buf_printf(&b,
			 ",\"tableId\":\"%s\"},\"schema\":{\"fields\":", stage);
	rc |= bq_stage_schema(&b);
	/* leftovers of a killed run disappear on their own */
	rc |= buf_printf(&b, "},\"expirationTime\":\"%" PRId64 "\"}",
			 clock_wall_ms() + 86400000);
	if (rc) {
		err_set(err, ERR_STORE, 0, "bigquery request too long");
		goto done;
	}
	if (bq_call(&s->c, "POST", buf_str(&u), "application/json", b.data,
		    b.len, NULL, &r, err) < 0)
		goto done;
	if (r.status / 100 != 2 && r.status != 409) {
		bq_fail(&s->c, &r, "create a staging table in", err);
		goto done;
	}
	ret = 0;
done:
	bq_resp_release(&r);
	buf_release(&u);
	buf_release(&b);
	return ret;
}

static void stage_drop(struct bq_store *s, const char *stage)
{
	struct bq_resp r = {0, BUF_INIT, NULL, NULL};
	struct buf u = BUF_INIT;
	struct err e = ERR_INIT;

	if (buf_printf(&u, "%s/projects/%s/datasets/%s/tables/%s", s->c.api,
		       s->c.project, s->c.dataset, stage) == 0 &&
	    bq_call(&s->c, "DELETE", buf_str(&u), NULL, NULL, 0, NULL, &r,
		    &e) == 0 &&
	    r.status / 100 != 2 && r.status != 404)
		log_debug("bigquery: staging table %s stays until it expires",
			  stage);
	bq_resp_release(&r);
	buf_release(&u);
}

static int stage_load(struct bq_store *s, const char *stage, struct err *err)
{
	struct buf cfg = BUF_INIT;
	int rc, ret;

	rc = buf_puts(&cfg, "{\"load\":{\"destinationTable\":{\"projectId\":");
	rc |= jsonw_string(&cfg, s->c.project);
	rc |= buf_puts(&cfg, ",\"datasetId\":");
	rc |= jsonw_string(&cfg, s->c.dataset);
	rc |= buf_printf(&cfg,
			 ",\"tableId\":\"%s\"},\"sourceFormat\":"
			 "\"NEWLINE_DELIMITED_JSON\",\"writeDisposition\":"
			 "\"WRITE_APPEND\",\"createDisposition\":"
			 "\"CREATE_NEVER\",\"ignoreUnknownValues\":false,"
			 "\"maxBadRecords\":0},\"labels\":{\"app\":"
			 "\"espsync\"}}",
			 stage);
	if (rc) {
		buf_release(&cfg);
		return err_set(err, ERR_STORE, 0, "bigquery job too long");
	}
	if (fflush(s->spool) != 0) {
		buf_release(&cfg);
		return err_set(err, ERR_IO, 0,
			       "cannot write the bigquery spool file");
	}
	ret = bq_job_run(&s->c, buf_str(&cfg), s->spool, s->spool_bytes, NULL,
			 err);
	buf_release(&cfg);
	return ret;
}

static void spool_reset(struct bq_store *s)
{
	size_t i;

	if (s->spool) {
		rewind(s->spool);
		if (ftruncate(fileno(s->spool), 0) != 0) {
			fclose(s->spool);
			s->spool = NULL;
		}
	}
	s->spool_rows = s->spool_bytes = 0;
	for (i = 0; i < BK__COUNT; i++)
		s->kind_rows[i] = 0;
	s->day_lo = s->day_hi = 0;
	bq_seen_clear(&s->spooled_campaigns);
}

static int run_params(struct bq_param p[11], char num[5][24],
		      const struct run_row *run)
{
	snprintf(num[0], 24, "%" PRId64, run->run_id);
	snprintf(num[1], 24, "%" PRId64, store_time_or_now(run->started_at));
	snprintf(num[2], 24, "%" PRId64, run->requests);
	snprintf(num[3], 24, "%" PRId64, run->retries);
	snprintf(num[4], 24, "%" PRId64, run->throttled);
	p[0] = (struct bq_param){"run_id", "INT64", num[0], NULL, 0};
	p[1] = (struct bq_param){"provider", "STRING", run->provider, NULL, 0};
	p[2] = (struct bq_param){"account", "STRING", run->account, NULL, 0};
	p[3] = (struct bq_param){"started_at", "INT64", num[1], NULL, 0};
	p[4] = (struct bq_param){"finished_at", "INT64", NULL, NULL, 0};
	p[5] = (struct bq_param){"status", "STRING",
				 store_run_status_name(run->status), NULL, 0};
	p[6] = (struct bq_param){"requests", "INT64", num[2], NULL, 0};
	p[7] = (struct bq_param){"retries", "INT64", num[3], NULL, 0};
	p[8] = (struct bq_param){"throttled", "INT64", num[4], NULL, 0};
	p[9] =
	    (struct bq_param){"records", "STRING", run->records_json, NULL, 0};
	p[10] = (struct bq_param){"error", "STRING", run->error, NULL, 0};
	return 11;
}

/* The deletion marks of the spooled reconcile calls, in call order: a
 * contact seen live by any call loses its deleted_at; then one in a
 * call's range, not seen live by that call nor a later one, gets the
 * call's time unless it has a deleted_at (as the SQL stores do call by
 * call). One UPDATE each, after the contacts MERGE. */
static int recon_sql(struct buf *q, struct bq_store *s, const char *stage)
{
	int rc = buf_puts(q, "UPDATE ");

	rc |= bq_table_ref(q, &s->c, "contacts");
	rc |= buf_puts(q, " C SET deleted_at = NULL, synced_at ="
			  " CURRENT_TIMESTAMP() WHERE C.deleted_at IS NOT NULL"
			  " AND EXISTS (SELECT 1 FROM ");
	rc |= bq_table_ref(q, &s->c, stage);
	rc |= buf_puts(q, " L WHERE L._t = 'recon_live' AND L.provider ="
			  " C.provider AND L.account = C.account AND"
			  " L.contact_id = C.contact_id);\n");
	if (!s->kind_rows[BK_RECON_SPAN])
		return rc;
	rc |= buf_puts(q, "UPDATE ");
	rc |= bq_table_ref(q, &s->c, "contacts");
	rc |= buf_puts(q, " C SET deleted_at = G.at, synced_at ="
			  " CURRENT_TIMESTAMP() FROM (SELECT D.provider,"
			  " D.account, D.contact_id, MIN(R.deleted_at) AS at"
			  " FROM ");
	rc |= bq_table_ref(q, &s->c, "contacts");
	rc |= buf_puts(q, " D JOIN ");
	rc |= bq_table_ref(q, &s->c, stage);
	rc |= buf_puts(
	    q, " R ON R._t = 'recon_span' AND R.provider = D.provider AND"
	       " R.account = D.account WHERE D.deleted_at IS NULL AND"
	       " (R._len = 0 OR (LENGTH(D.contact_id) = R._len AND"
	       " D.contact_id BETWEEN R._lo AND R._hi AND"
	       " REGEXP_CONTAINS(D.contact_id, '^[0-9]+$'))) AND NOT EXISTS"
	       " (SELECT 1 FROM ");
	rc |= bq_table_ref(q, &s->c, stage);
	rc |= buf_puts(q, " L WHERE L._t = 'recon_live' AND L._op >= R._op"
			  " AND L.provider = D.provider AND L.account ="
			  " D.account AND L.contact_id = D.contact_id)"
			  " GROUP BY D.provider, D.account, D.contact_id) G"
			  " WHERE C.provider = G.provider AND C.account ="
			  " G.account AND C.contact_id = G.contact_id;\n");
	return rc;
}

/* The -v line of a flush: its rows (per kind), what it sent, its jobs
 * and the activity_date range its events MERGE touched. */
static void flush_log(const struct bq_store *s, int64_t jobs, int64_t bytes,
		      int64_t ms)
{
	char lo[16], hi[16], kinds[256], range[48];
	size_t i, n = 0;

	kinds[0] = '\0';
	for (i = 0; i < BK__COUNT && n < sizeof(kinds); i++) {
		if (!s->kind_rows[i])
			continue;
		n += (size_t)snprintf(kinds + n, sizeof(kinds) - n,
				      "%s%s %" PRId64, n ? ", " : "",
				      kind_names[i], s->kind_rows[i]);
	}
	if (s->kind_rows[BK_EVENTS]) {
		time_format_date(s->day_lo * 86400, lo);
		time_format_date(s->day_hi * 86400, hi);
		snprintf(range, sizeof(range), "activity_date %s..%s", lo, hi);
	} else {
		snprintf(range, sizeof(range), "no events MERGE");
	}
	log_debug("bigquery: flush %" PRId64 ": %" PRId64 " rows, %" PRId64
		  " events, %.1f KiB uploaded, %" PRId64 " jobs, %s, %" PRId64
		  " ms (%s)",
		  s->flushes, s->spool_rows, s->kind_rows[BK_EVENTS],
		  (double)bytes / 1024.0, jobs, range, ms, kinds);
}

/* Spools what the run's account has written, as its checkpoint
 * BQ_SEEN_STREAM, into the flush that writes the rows: at the end of a
 * complete run, the rows of this run; before, these over the last run's
 * (a crash then leaves a checkpoint true of what is stored). */
static int seen_spool(struct bq_store *s, int is_final, struct err *err)
{
	struct buf b = BUF_INIT;
	int is_old = !is_final && s->is_cached &&
		     !strcmp(s->cache_provider, s->run_provider) &&
		     !strcmp(s->cache_account, s->run_account);
	int rc, ret;

	rc = buf_printf(&b, "{\"_t\":\"sync_state\",\"_seq\":%" PRId64,
			++s->seq);
	rc |= put_str(&b, "provider", s->run_provider);
	rc |= put_str(&b, "account", s->run_account);
	rc |= put_str(&b, "stream", BQ_SEEN_STREAM);
	rc |= buf_puts(&b, ",\"value\":\"");
	rc |= bq_seen_format(&b, &s->seen_run, is_old ? &s->seen_old : NULL,
			     s->n_run_spans || s->run_span_all ? BK_RECON_LIVE
							       : -1);
	rc |= buf_puts(&b, "\"}\n");
	if (rc) {
		buf_release(&b);
		return err_set(err, ERR_STORE, 0,
			       "too many rows to remember for the bigquery "
			       "spool: more than %zu bytes",
			       b.max);
	}
	s->kind_rows[BK_STATE]++;
	ret = spool_put(s, &b, err);
	buf_release(&b);
	return ret;
}

/* link_participants in the flush's transaction: participants take the
 * status and fields of their contacts where they differ. */
static int link_sql(struct buf *q, struct bq_store *s)
{
	int rc = buf_puts(q, "UPDATE ");

	rc |= bq_table_ref(q, &s->c, "participants");
	rc |= buf_puts(q, " P SET status = C.status, fields = C.fields,"
			  " synced_at = CURRENT_TIMESTAMP() FROM ");
	rc |= bq_table_ref(q, &s->c, "contacts");
	rc |=
	    buf_puts(q, " C WHERE P.provider = @link_provider AND P.account ="
			" @link_account AND C.provider = P.provider AND"
			" C.account = P.account AND C.contact_id ="
			" P.contact_id AND (P.status IS DISTINCT FROM"
			" C.status OR P.fields IS DISTINCT FROM C.fields);\n");
	return rc;
}

static void link_clear(struct bq_store *s)
{
	free(s->link_provider);
	free(s->link_account);
	s->link_provider = s->link_account = NULL;
}

int bq_flush(struct bq_store *s, const struct run_row *run, struct err *err)
{
	struct buf q = BUF_INIT;
	struct bq_param p[13];
	char num[5][24], fin[24], stage[96];
	int64_t t0 = clock_mono_ms(), jobs0 = s->c.jobs, bytes0 = s->c.bytes_up;
	size_t n_params = 0;
	int rc = 0, ret = -1, has_data = s->spool_rows > 0;
	int is_final = run && run->status == RUN_COMPLETE, is_seen = 0;

	if (!has_data && !run)
		return 0;
	/* what the run wrote goes with the rows it wrote */
	if (bq_spool_data_rows(s) > 0 && s->has_run && s->run_provider) {
		if (seen_spool(s, is_final, err) < 0)
			goto done;
		is_seen = 1;
	}
	/* a script with the run row only needs no staging table */
	if (has_data)
		snprintf(stage, sizeof(stage), "_stage_%s_f%" PRId64,
			 s->c.run_tag, ++s->flushes);
	else
		snprintf(stage, sizeof(stage), "_stage_%s_none", s->c.run_tag);
	if (has_data &&
	    (stage_create(s, stage, err) < 0 || stage_load(s, stage, err) < 0))
		goto done;
	rc |= buf_puts(&q, "BEGIN TRANSACTION;\n");
	if (s->kind_rows[BK_CAMPAIGNS]) {
		rc |= merge_sql(&q, s, stage, BT_CAMPAIGNS, 0);
		rc |= merge_sql(&q, s, stage, BT_CAMPAIGNS, 1);
	}
	if (s->kind_rows[BK_LINKS])
		rc |= merge_sql(&q, s, stage, BT_LINKS, -1);
	if (s->kind_rows[BK_PARTICIPANTS])
		rc |= merge_sql(&q, s, stage, BT_PARTICIPANTS, -1);
	if (s->kind_rows[BK_EVENTS])
		rc |= merge_sql(&q, s, stage, BT_EVENTS, -1);
	if (s->kind_rows[BK_CONTACTS])
		rc |= merge_sql(&q, s, stage, BT_CONTACTS, -1);
	if (s->kind_rows[BK_LISTS])
		rc |= merge_sql(&q, s, stage, BT_LISTS, -1);
	if (s->kind_rows[BK_RECON_LIVE] || s->kind_rows[BK_RECON_SPAN])
		rc |= recon_sql(&q, s, stage);
	if (s->link_provider)
		rc |= link_sql(&q, s);
	if (s->kind_rows[BK_STATE])
		rc |= merge_sql(&q, s, stage, BT_STATE, -1);
	if (run) {
		n_params = (size_t)run_params(p, num, run);
		if (run->finished_at != TIME_NULL &&
		    run->status != RUN_RUNNING) {
			snprintf(fin, sizeof(fin), "%" PRId64,
				 store_time_or_now(run->finished_at));
			p[4].value = fin;
		}
		rc |= run_merge_sql(&q, s);
	}
	if (s->link_provider) {
		p[n_params++] = (struct bq_param){"link_provider", "STRING",
						  s->link_provider, NULL, 0};
		p[n_params++] = (struct bq_param){"link_account", "STRING",
						  s->link_account, NULL, 0};
	}
	rc |= buf_puts(&q, "COMMIT TRANSACTION;");
	if (rc) {
		err_set(err, ERR_STORE, 0, "bigquery script too long");
		goto done;
	}
	if (bq_exec(&s->c, buf_str(&q), p, n_params, err) < 0)
		goto done;
	if (has_data) {
		stage_drop(s, stage);
		flush_log(s, s->c.jobs - jobs0, s->c.bytes_up - bytes0,
			  clock_mono_ms() - t0);
		if (s->has_run)
			s->run_flushed = 1;
	} else {
		log_debug("bigquery: run row committed, %" PRId64 " jobs",
			  s->c.jobs - jobs0);
	}
	if (is_seen && is_final)
		s->run_seen_final = 1;
	if (run && s->is_cached && run->provider && run->account &&
	    !strcmp(s->cache_provider, run->provider) &&
	    !strcmp(s->cache_account, run->account)) {
		bq_cache_put(s, BQ_RUN_STREAM,
			     store_run_status_name(run->status));
		s->is_last_complete = run->status == RUN_COMPLETE;
	}
	if (s->kind_rows[BK_CAMPAIGNS])
		bq_camps_forget(s); /* read again when asked */
	link_clear(s);
	spool_reset(s);
	ret = 0;
done:
	buf_release(&q);
	return ret;
}

/* ---- runs ----------------------------------------------------------- */

int bq_run_begin(struct store *st, struct run_row *run, struct err *err)
{
	struct bq_store *s = (struct bq_store *)st;

	(void)err;
	/* No job: the run is recorded with its first flush, or at its end
	 * when it wrote anything or did not complete. */
	run->run_id = clock_wall_ms() * 1000 + (getpid() % 1000);
	s->run_id = run->run_id;
	s->has_run = 1;
	s->run_flushed = 0;
	free(s->run_provider);
	free(s->run_account);
	s->run_provider = run->provider ? xstrdup(run->provider) : NULL;
	s->run_account = run->account ? xstrdup(run->account) : NULL;
	bq_seen_clear(&s->seen_run);
	bq_run_live_clear(s);
	s->run_linkable = 0;
	s->run_seen_final = 0;
	link_clear(s);
	s->run_requests0 = s->c.requests;
	s->run_jobs0 = s->c.jobs;
	s->run_queries0 = s->c.queries;
	s->run_bytes0 = s->c.bytes_up;
	s->run_flushes0 = s->flushes;
	return 0;
}

/* The -v line at the end of a run: what it cost in BigQuery. */
static void run_log(const struct bq_store *s)
{
	log_debug(
	    "bigquery: run: %" PRId64 " flushes, %" PRId64 " requests, %" PRId64
	    " jobs, %" PRId64 " queries, %" PRId64 " bytes uploaded",
	    s->flushes - s->run_flushes0, s->c.requests - s->run_requests0,
	    s->c.jobs - s->run_jobs0, s->c.queries - s->run_queries0,
	    s->c.bytes_up - s->run_bytes0);
}

/* The end of a run: what the store now holds of the run's account is
 * what the run wrote (its last flush said so), or is read again. */
static void run_end(struct bq_store *s)
{
	struct bq_seen t;

	if (s->run_seen_final && s->is_cached && s->run_provider &&
	    !strcmp(s->cache_provider, s->run_provider) &&
	    !strcmp(s->cache_account, s->run_account)) {
		t = s->seen_old;
		s->seen_old = s->seen_run;
		s->seen_run = t;
	} else if (s->run_flushed) {
		s->is_cached = 0;
	}
	bq_seen_clear(&s->seen_run);
	link_clear(s);
	run_log(s);
	s->has_run = 0;
}

int bq_run_finish(struct store *st, const struct run_row *run, struct err *err)
{
	struct bq_store *s = (struct bq_store *)st;
	struct err fe = ERR_INIT;
	struct run_row failed;
	/* after a run that did not complete, the run and its checkpoints
	 * are written even without data */
	int is_idle = !bq_spool_data_rows(s) && !s->run_flushed &&
		      run->status == RUN_COMPLETE && s->is_last_complete &&
		      batch_is_run(s, run->provider, run->account) == 2;

	if (is_idle) {
		/* Checkpoints alone (a campaign checked again, a window
		 * moved on) are not worth a load and a transaction: the
		 * next run starts from the stored ones and finds the same
		 * rows stored. */
		if (s->spool_rows)
			log_debug("bigquery: nothing new; %" PRId64
				  " checkpoints not written, the run costs "
				  "no job",
				  s->spool_rows);
		else
			log_debug("bigquery: nothing new; the run costs no "
				  "job");
		if (s->spool_rows) {
			spool_reset(s);
			s->is_cached = 0; /* it holds what was not written */
		}
		run_end(s);
		return 0;
	}
	if (bq_flush(s, run, &fe) == 0) {
		run_end(s);
		return 0;
	}
	/* The data could not be committed: record the run failed (its
	 * checkpoints stay where they were). */
	failed = *run;
	failed.status = RUN_FAILED;
	failed.error = fe.msg;
	spool_reset(s);
	link_clear(s);
	s->is_cached = 0;
	if (bq_flush(s, &failed, NULL) < 0)
		log_debug("bigquery: cannot record the failed run");
	run_end(s);
	if (err)
		*err = fe;
	return -1;
}

int bq_link_participants(struct store *st, const char *provider,
			 const char *account, int64_t *changed, struct err *err)
{
	struct bq_store *s = (struct bq_store *)st;

	(void)err;
	if (changed)
		*changed = 0;
	/* No contact and no participant written in this run: nothing to
	 * link. Else the UPDATE runs in the run's last flush (no job of its
	 * own); the run ends with one. */
	if (!s->run_linkable)
		return 0;
	link_clear(s);
	s->link_provider = xstrdup(provider);
	s->link_account = xstrdup(account);
	return 0;
}

/* ---- deletion marks --------------------------------------------------- */

/* Spools one reconcile call: a recon_live row per live id and a
 * recon_span row per id range (one with _len 0: every contact). The
 * flush applies them after its MERGEs (recon_sql), so a mark is committed
 * with the checkpoints of the same flush and costs no job of its own. */
static int recon_spool(struct bq_store *s, const char *provider,
		       const char *account, const struct store_id_span *spans,
		       size_t n_spans, int is_all, const char *const *live,
		       size_t n_live, int64_t at, struct err *err)
{
	struct buf b = BUF_INIT;
	int64_t op = ++s->recon_ops, rows[BK__COUNT] = {0};
	size_t i;
	int rc = 0, ret, in_run = batch_is_run(s, provider, account);
	int has_span = is_all || n_spans;

	/* A span may mark a contact seen live before it: those sightings
	 * in its range say nothing any more. This call's own live rows are
	 * always sent (its span reads them). */
	if (in_run && is_all) {
		forget_live(s, NULL, NULL);
		s->run_span_all = 1;
	}
	for (i = 0; in_run && !is_all && i < n_spans; i++) {
		forget_live(s, NULL, &spans[i]);
		if (s->n_run_spans == s->cap_run_spans) {
			s->cap_run_spans =
			    s->cap_run_spans ? 2 * s->cap_run_spans : 64;
			s->run_spans =
			    xrealloc(s->run_spans,
				     s->cap_run_spans * sizeof(*s->run_spans));
		}
		s->run_spans[s->n_run_spans++] = spans[i];
	}
	for (i = 0; i < n_live; i++) {
		uint64_t v = 0;
		int is_stored = 0;

		/* stored live: seen so in this run (after any span over
		 * it), or by the last run and no span of this one covers
		 * it */
		if (in_run && !has_span) {
			if (bq_seen_get(&s->seen_run, live_key(live[i]), &v))
				is_stored = v == 1;
			else
				is_stored =
				    in_run == 2 &&
				    !run_spans_cover(s, live[i]) &&
				    seen_has(s, live_key(live[i]), 1, 1);
		}
		if (in_run)
			note_live(s, live[i]);
		if (is_stored)
			continue; /* its deleted_at is already NULL */
		rc |= buf_printf(&b,
				 "{\"_t\":\"recon_live\",\"_seq\":%" PRId64
				 ",\"_op\":%" PRId64,
				 ++s->seq, op);
		rc |= put_str(&b, "provider", provider);
		rc |= put_str(&b, "account", account);
		rc |= put_str(&b, "contact_id", live[i]);
		rc |= buf_puts(&b, "}\n");
		rows[BK_RECON_LIVE]++;
	}
	for (i = 0; i < (is_all ? 1 : n_spans); i++) {
		rc |= buf_printf(&b,
				 "{\"_t\":\"recon_span\",\"_seq\":%" PRId64
				 ",\"_op\":%" PRId64 ",\"_len\":%d",
				 ++s->seq, op, is_all ? 0 : spans[i].digits);
		if (!is_all) {
			rc |= put_str(&b, "_lo", spans[i].lo);
			rc |= put_str(&b, "_hi", spans[i].hi);
		}
		rc |= put_str(&b, "provider", provider);
		rc |= put_str(&b, "account", account);
		rc |= put_ts(&b, "deleted_at", at);
		rc |= buf_puts(&b, "}\n");
		rows[BK_RECON_SPAN]++;
	}
	if (rc) {
		buf_release(&b);
		return err_set(err, ERR_STORE, 0,
			       "cannot reconcile contacts in store '%s': ids "
			       "too long for the spool: more than %zu bytes",
			       s->c.safe, b.max);
	}
	s->kind_rows[BK_RECON_LIVE] += rows[BK_RECON_LIVE];
	s->kind_rows[BK_RECON_SPAN] += rows[BK_RECON_SPAN];
	ret = spool_put(s, &b, err);
	buf_release(&b);
	return ret;
}

int bq_reconcile_contacts(struct store *st, const char *provider,
			  const char *account, int64_t after_id,
			  int64_t upto_id, const char *const *live_ids,
			  size_t n_live, int64_t at, int64_t *changed,
			  struct err *err)
{
	struct bq_store *s = (struct bq_store *)st;
	struct store_id_span spans[STORE_ID_SPANS];
	size_t n_spans = store_id_spans(spans, after_id, upto_id);

	/* the marks are made by the flush: not counted here */
	if (changed)
		*changed = 0;
	if (!n_live && !n_spans)
		return 0; /* an idle page costs nothing */
	return recon_spool(s, provider, account, spans, n_spans, 0, live_ids,
			   n_live, at, err);
}

int bq_reconcile_contact_set(struct store *st, const char *provider,
			     const char *account, const char *const *live_ids,
			     size_t n_live, int64_t at, int64_t *changed,
			     struct err *err)
{
	if (changed)
		*changed = 0;
	return recon_spool((struct bq_store *)st, provider, account, NULL, 0, 1,
			   live_ids, n_live, at, err);
}
