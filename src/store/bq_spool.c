/* The BigQuery spool: write_batch and the reconcile calls append their rows
 * (and checkpoints) as NDJSON rows of the staging table to a local file,
 * leaving out rows the store already holds as they are (bq_seen.c); the
 * flush that loads the file and merges it is in bq_write.c. */
#include "store/bq_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "util/jsonw.h"
#include "util/xalloc.h"
#include "util/banned.h"

const char *const bq_kind_names[BK__COUNT] = {
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
	rc = buf_printf(b, "{\"_t\":\"%s\",\"_seq\":%" PRId64, bq_kind_names[k],
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
int bq_batch_is_run(const struct bq_store *s, const char *provider,
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
	int rc = 0, in_run = bq_batch_is_run(s, bt->provider, bt->account);

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

/* Spools what the run's account has written, as its checkpoint
 * BQ_SEEN_STREAM, into the flush that writes the rows: at the end of a
 * complete run, the rows of this run; before, these over the last run's
 * (a crash then leaves a checkpoint true of what is stored). */
int bq_spool_seen(struct bq_store *s, int is_final, struct err *err)
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
	int rc = 0, ret, in_run = bq_batch_is_run(s, provider, account);
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
