/* BigQuery reads: checkpoints (read once per provider account with one
 * query, then kept current from the writes), runs, campaigns, stats and
 * export rows, all through jobs.query with parameters, paged. A read of
 * data first flushes what the spool holds. */
#include "store/bq_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"
#include "util/xalloc.h"
#include "util/banned.h"

static int64_t cell_int(const char *v)
{
	return v ? strtoll(v, NULL, 10) : 0;
}

static int64_t cell_time(const char *v)
{
	return v ? strtoll(v, NULL, 10) : TIME_NULL;
}

static int flush_first(struct bq_store *s, struct err *err)
{
	return bq_spool_data_rows(s) ? bq_flush(s, NULL, err) : 0;
}

/* SQL with `project.dataset.` put before each {table}. */
static int sql_of(struct buf *q, const struct bq_store *s, const char *tmpl,
		  struct err *err)
{
	const char *p = tmpl, *o;
	int rc = 0;

	while ((o = strchr(p, '{')) != NULL) {
		const char *e = strchr(o, '}');

		rc |= buf_append(q, p, (size_t)(o - p));
		rc |= buf_printf(q, "`%s.%s.%.*s`", s->c.project, s->c.dataset,
				 (int)(e - o - 1), o + 1);
		p = e + 1;
	}
	rc |= buf_puts(q, p);
	return rc ? err_set(err, ERR_STORE, 0, "bigquery query too long") : 0;
}

/* A query, after a flush of the spooled data when is_flush. */
static int read_query(struct bq_store *s, const char *tmpl,
		      const struct bq_param *p, size_t n, bq_row_fn fn,
		      void *ctx, int is_flush, struct err *err)
{
	struct buf q = BUF_INIT;
	int ret = -1;

	if ((!is_flush || flush_first(s, err) == 0) &&
	    sql_of(&q, s, tmpl, err) == 0)
		ret = bq_query(&s->c, buf_str(&q), p, n, fn, ctx, err);
	buf_release(&q);
	return ret;
}

int bq_read_query(struct bq_store *s, const char *tmpl,
		  const struct bq_param *p, size_t n, bq_row_fn fn, void *ctx,
		  struct err *err)
{
	return read_query(s, tmpl, p, n, fn, ctx, 1, err);
}

/* ---- state -------------------------------------------------------------- */

static int on_cache_row(void *ctx, const char *const *v, size_t n)
{
	struct bq_store *s = ctx;

	if (n >= 2 && v[0])
		bq_cache_put(s, v[0], v[1]);
	return 0;
}

int bq_state_get(struct store *st, const char *provider, const char *account,
		 const char *stream, struct buf *out, int *found,
		 struct err *err)
{
	struct bq_store *s = (struct bq_store *)st;
	struct bq_param p[2] = {{"provider", "STRING", provider, NULL, 0},
				{"account", "STRING", account, NULL, 0}};
	size_t i;

	*found = 0;
	buf_reset(out);
	if (!s->is_cached || strcmp(s->cache_provider, provider) ||
	    strcmp(s->cache_account, account)) {
		for (i = 0; i < s->n_cache; i++) {
			free(s->cache[i].stream);
			free(s->cache[i].value);
		}
		s->n_cache = 0;
		free(s->cache_provider);
		free(s->cache_account);
		s->cache_provider = xstrdup(provider);
		s->cache_account = xstrdup(account);
		s->is_cached = 0;
		if (bq_read_query(
			s,
			"SELECT stream, value FROM {sync_state} WHERE"
			" provider = @provider AND account = @account",
			p, 2, on_cache_row, s, err) < 0)
			return -1;
		s->is_cached = 1;
		bq_seen_loaded(s);
	}
	for (i = 0; i < s->n_cache; i++) {
		if (strcmp(s->cache[i].stream, stream) || !s->cache[i].value)
			continue;
		if (buf_puts(out, s->cache[i].value) < 0)
			return err_set(err, ERR_STORE, 0,
				       "checkpoint '%s' too long", stream);
		*found = 1;
	}
	return 0;
}

static int on_count2(void *ctx, const char *const *v, size_t n)
{
	int64_t *out = ctx;

	out[0] = n >= 1 ? cell_int(v[0]) : 0;
	out[1] = n >= 2 ? cell_int(v[1]) : 0;
	return 0;
}

int bq_state_reset(struct store *st, const char *provider,
		   const char *stream_prefix, int64_t *removed, struct err *err)
{
	struct bq_store *s = (struct bq_store *)st;
	struct bq_param p[2] = {{"provider", "STRING", provider, NULL, 0},
				{"prefix", "STRING", stream_prefix, NULL, 0}};
	struct buf q = BUF_INIT;
	int64_t n[2] = {0, 0};
	int ret = -1;
#define RESET_WHERE                                                            \
	" WHERE (@provider IS NULL OR provider = @provider) AND (@prefix IS"   \
	" NULL OR STARTS_WITH(stream, @prefix))"

	/* the store's own streams (BQ_OWN_PREFIX) go too, uncounted */
	if (bq_read_query(
		s,
		"SELECT COUNT(CASE WHEN NOT STARTS_WITH(stream, '" BQ_OWN_PREFIX
		"') THEN 1 END), COUNT(*) FROM {sync_state}" RESET_WHERE,
		p, 2, on_count2, n, err) < 0)
		goto done;
	if (n[1] &&
	    (sql_of(&q, s, "DELETE FROM {sync_state}" RESET_WHERE, err) < 0 ||
	     bq_exec(&s->c, buf_str(&q), p, 2, err) < 0))
		goto done;
	s->is_cached = 0;
	if (removed)
		*removed = n[0];
	ret = 0;
done:
	buf_release(&q);
	return ret;
}

struct each_state {
	store_state_fn fn;
	void *ctx;
};

static int on_state(void *ctx, const char *const *v, size_t n)
{
	struct each_state *x = ctx;
	struct state_row row;

	if (n < 5)
		return 0;
	row.provider = v[0];
	row.account = v[1];
	row.stream = v[2];
	row.value = v[3];
	row.updated_at = cell_time(v[4]);
	return x->fn(x->ctx, &row);
}

int bq_state_each(struct store *st, const char *provider, store_state_fn fn,
		  void *ctx, struct err *err)
{
	struct bq_param p[1] = {{"provider", "STRING", provider, NULL, 0}};
	struct each_state x = {fn, ctx};

	return bq_read_query(
	    (struct bq_store *)st,
	    "SELECT provider, account, stream, value,"
	    " UNIX_SECONDS(updated_at) FROM {sync_state}"
	    " WHERE (@provider IS NULL OR provider = @provider)"
	    " AND NOT STARTS_WITH(stream, '" BQ_OWN_PREFIX "')"
	    " ORDER BY provider, account, stream",
	    p, 1, on_state, &x, err);
}

/* ---- runs ------------------------------------------------------------- */

struct run_out {
	struct run_row *row;
	struct arena *arena;
	int *found;
};

static int on_run(void *ctx, const char *const *v, size_t n)
{
	struct run_out *x = ctx;
	struct run_row *r = x->row;

	if (n < 11)
		return 0;
	r->run_id = cell_int(v[0]);
	r->provider = arena_strdup(x->arena, v[1]);
	r->account = arena_strdup(x->arena, v[2]);
	r->started_at = cell_time(v[3]);
	r->finished_at = cell_time(v[4]);
	r->status = store_run_status_parse(v[5]);
	r->requests = cell_int(v[6]);
	r->retries = cell_int(v[7]);
	r->throttled = cell_int(v[8]);
	r->records_json = arena_strdup(x->arena, v[9]);
	r->error = arena_strdup(x->arena, v[10]);
	*x->found = 1;
	return 0;
}

int bq_run_newest(struct store *st, const char *provider, const char *status,
		  struct run_row *out, struct arena *arena, int *found,
		  struct err *err)
{
	struct bq_param p[2] = {{"provider", "STRING", provider, NULL, 0},
				{"status", "STRING", status, NULL, 0}};
	struct run_out x = {out, arena, found};

	*found = 0;
	memset(out, 0, sizeof(*out));
	return bq_read_query(
	    (struct bq_store *)st,
	    "SELECT run_id, provider, account,"
	    " UNIX_SECONDS(started_at), UNIX_SECONDS(finished_at),"
	    " status, requests, retries, throttled, records, error"
	    " FROM {sync_runs} WHERE (@provider IS NULL OR provider ="
	    " @provider) AND (@status IS NULL OR status = @status)"
	    " ORDER BY run_id DESC LIMIT 1",
	    p, 2, on_run, &x, err);
}

/* ---- campaigns ------------------------------------------------------- */

#define CAMPAIGN_COLS                                                          \
	"provider, account, campaign_id, name, subject, from_name,"            \
	" from_email, status, UNIX_SECONDS(created_at),"                       \
	" UNIX_SECONDS(sent_at), to_lists, sent, opened_unique,"               \
	" opened_total, clicked_unique, clicked_total, bounced_hard,"          \
	" bounced_soft, complained, unsubscribed, UNIX_SECONDS(synced_at),"    \
	" verified_opens, verified_unique_opens"

static void read_campaign(const char *const *v, struct rec_campaign *c,
			  struct arena *a)
{
	struct campaign_stats *x = &c->stats;

	memset(c, 0, sizeof(*c));
	c->campaign_id = a ? arena_strdup(a, v[2]) : v[2];
	c->name = a ? arena_strdup(a, v[3]) : v[3];
	c->subject = a ? arena_strdup(a, v[4]) : v[4];
	c->from_name = a ? arena_strdup(a, v[5]) : v[5];
	c->from_email = a ? arena_strdup(a, v[6]) : v[6];
	c->status = a ? arena_strdup(a, v[7]) : v[7];
	c->created_at = cell_time(v[8]);
	c->sent_at = cell_time(v[9]);
	c->to_lists_json = a ? arena_strdup(a, v[10]) : v[10];
	c->has_stats = 1;
	x->sent = cell_int(v[11]);
	x->opened_unique = cell_int(v[12]);
	x->opened_total = cell_int(v[13]);
	x->clicked_unique = cell_int(v[14]);
	x->clicked_total = cell_int(v[15]);
	x->bounced_hard = cell_int(v[16]);
	x->bounced_soft = cell_int(v[17]);
	x->complained = cell_int(v[18]);
	x->unsubscribed = cell_int(v[19]);
	c->synced_at = cell_time(v[20]);
	/* NULL: unknown */
	c->verified_opens = v[21] ? cell_int(v[21]) : -1;
	c->verified_unique_opens = v[22] ? cell_int(v[22]) : -1;
}

struct campaign_out {
	struct rec_campaign *c;
	struct arena *arena;
	int *found;
	store_campaign_fn fn;
	void *ctx;
};

static int on_campaign(void *ctx, const char *const *v, size_t n)
{
	struct campaign_out *x = ctx;
	struct rec_campaign c;

	if (n < 23)
		return 0;
	if (x->found) {
		read_campaign(v, x->c, x->arena);
		*x->found = 1;
		return 0;
	}
	read_campaign(v, &c, NULL);
	return x->fn(x->ctx, v[0], v[1], &c);
}

void bq_camps_forget(struct bq_store *s)
{
	arena_release(&s->camps_arena);
	memset(&s->camps_arena, 0, sizeof(s->camps_arena));
	free(s->camps);
	s->camps = NULL;
	s->n_camps = s->cap_camps = 0;
	bq_seen_release(&s->camps_index);
	free(s->camps_provider);
	free(s->camps_account);
	s->camps_provider = s->camps_account = NULL;
	s->has_camps = 0;
}

static uint64_t camp_key(const char *campaign_id)
{
	return bq_seen_key(
	    BK_CAMPAIGNS,
	    bq_seen_hash(campaign_id, strlen(campaign_id), "", 0));
}

static int on_camp_cache(void *ctx, const char *const *v, size_t n)
{
	struct bq_store *s = ctx;
	struct rec_campaign *c;

	if (n < 23 || !v[2])
		return 0;
	if (s->n_camps == s->cap_camps) {
		s->cap_camps = s->cap_camps ? 2 * s->cap_camps : 64;
		s->camps = xrealloc(s->camps, s->cap_camps * sizeof(*s->camps));
	}
	c = &s->camps[s->n_camps++];
	read_campaign(v, c, &s->camps_arena);
	bq_seen_put(&s->camps_index, camp_key(c->campaign_id),
		    (uint64_t)s->n_camps);
	return 0;
}

/* The stored campaigns of provider/account, once per flush that writes
 * campaigns: a sync asks for each campaign of the listing. */
static int camps_load(struct bq_store *s, const char *provider,
		      const char *account, struct err *err)
{
	struct bq_param p[2] = {{"provider", "STRING", provider, NULL, 0},
				{"account", "STRING", account, NULL, 0}};

	if (s->has_camps && !strcmp(s->camps_provider, provider) &&
	    !strcmp(s->camps_account, account))
		return 0;
	bq_camps_forget(s);
	/* no flush: what the spool holds is asked for with a flush */
	if (read_query(s,
		       "SELECT " CAMPAIGN_COLS " FROM {campaigns} WHERE"
		       " provider = @provider AND account = @account",
		       p, 2, on_camp_cache, s, 0, err) < 0) {
		bq_camps_forget(s);
		return -1;
	}
	s->camps_provider = xstrdup(provider);
	s->camps_account = xstrdup(account);
	s->has_camps = 1;
	return 0;
}

int bq_campaign_get(struct store *st, const char *provider, const char *account,
		    const char *campaign_id, struct rec_campaign *out,
		    struct arena *arena, int *found, struct err *err)
{
	struct bq_param p[3] = {{"provider", "STRING", provider, NULL, 0},
				{"account", "STRING", account, NULL, 0},
				{"id", "STRING", campaign_id, NULL, 0}};
	struct campaign_out x = {out, arena, found, NULL, NULL};
	struct bq_store *s = (struct bq_store *)st;
	const struct rec_campaign *c;
	uint64_t i = 0;

	*found = 0;
	if (!provider || !account || !campaign_id ||
	    bq_spool_has_campaign(s, provider, account, campaign_id))
		return bq_read_query(
		    s,
		    "SELECT " CAMPAIGN_COLS " FROM {campaigns} WHERE"
		    " provider = @provider AND account = @account AND"
		    " campaign_id = @id",
		    p, 3, on_campaign, &x, err);
	/* the spool holds no row of it: the stored one is current */
	if (camps_load(s, provider, account, err) < 0)
		return -1;
	if (!bq_seen_get(&s->camps_index, camp_key(campaign_id), &i) || !i ||
	    strcmp(s->camps[i - 1].campaign_id, campaign_id))
		return 0;
	c = &s->camps[i - 1];
	*out = *c;
	out->campaign_id = arena_strdup(arena, c->campaign_id);
	out->name = arena_strdup(arena, c->name);
	out->subject = arena_strdup(arena, c->subject);
	out->from_name = arena_strdup(arena, c->from_name);
	out->from_email = arena_strdup(arena, c->from_email);
	out->status = arena_strdup(arena, c->status);
	out->to_lists_json = arena_strdup(arena, c->to_lists_json);
	*found = 1;
	return 0;
}

int bq_campaigns_where(struct bq_store *s, const char *tail,
		       const struct bq_param *p, size_t n, store_campaign_fn fn,
		       void *ctx, struct err *err)
{
	struct campaign_out x = {NULL, NULL, NULL, fn, ctx};
	struct buf q = BUF_INIT;
	int ret = -1;

	if (buf_printf(&q, "SELECT " CAMPAIGN_COLS " FROM {campaigns} %s",
		       tail) < 0)
		err_set(err, ERR_STORE, 0, "bigquery query too long");
	else
		ret = bq_read_query(s, buf_str(&q), p, n, on_campaign, &x, err);
	buf_release(&q);
	return ret;
}

int bq_each_campaign(struct store *st, const char *provider,
		     const char *campaign_id, store_campaign_fn fn, void *ctx,
		     struct err *err)
{
	struct bq_param p[2] = {{"provider", "STRING", provider, NULL, 0},
				{"id", "STRING", campaign_id, NULL, 0}};
	struct campaign_out x = {NULL, NULL, NULL, fn, ctx};

	return bq_read_query((struct bq_store *)st,
			     "SELECT " CAMPAIGN_COLS " FROM {campaigns} WHERE"
			     " (@provider IS NULL OR provider = @provider) AND"
			     " (@id IS NULL OR campaign_id = @id)"
			     " ORDER BY provider, account, campaign_id",
			     p, 2, on_campaign, &x, err);
}

/* ---- stats -------------------------------------------------------------- */

static int on_stats(void *ctx, const char *const *v, size_t n)
{
	struct store_stats *out = ctx;
	enum event_type t;

	if (n < 2 || !v[0])
		return 0;
	if (!strcmp(v[0], "~campaigns"))
		out->campaigns = cell_int(v[1]);
	else if (!strcmp(v[0], "~participants"))
		out->participants = cell_int(v[1]);
	else if (!strcmp(v[0], "~links"))
		out->links = cell_int(v[1]);
	else if (!strcmp(v[0], "~contacts"))
		out->contacts = cell_int(v[1]);
	else if (!strcmp(v[0], "~lists"))
		out->lists = cell_int(v[1]);
	else if (event_type_parse(v[0], &t) == 0)
		out->events[t] = cell_int(v[1]);
	return 0;
}

int bq_stats(struct store *st, const char *provider, struct store_stats *out,
	     struct err *err)
{
	struct bq_param p[1] = {{"provider", "STRING", provider, NULL, 0}};
#define WP " WHERE @provider IS NULL OR provider = @provider"

	memset(out, 0, sizeof(*out));
	return bq_read_query(
	    (struct bq_store *)st,
	    "SELECT '~campaigns', COUNT(*) FROM {campaigns}" WP
	    " UNION ALL SELECT '~participants', COUNT(*) FROM"
	    " {participants}" WP " UNION ALL SELECT '~links', COUNT(*) FROM"
	    " {campaign_links}" WP
	    " UNION ALL SELECT '~contacts', COUNT(*) FROM"
	    " {contacts}" WP
	    " UNION ALL SELECT '~lists', COUNT(*) FROM {lists}" WP
	    " UNION ALL SELECT event_type, COUNT(*) FROM"
	    " {email_activities}" WP " GROUP BY event_type",
	    p, 1, on_stats, out, err);
}

/* ---- export ------------------------------------------------------------ */

struct part_out {
	store_participant_fn fn;
	void *ctx;
};

static int on_participant(void *ctx, const char *const *v, size_t n)
{
	struct part_out *x = ctx;
	struct export_row row;
	int i;

	if (n < 10)
		return 0;
	row.contact_id = v[0];
	row.email = v[1];
	row.status = v[2];
	row.fields_json = v[3];
	row.flags = 0;
	for (i = 0; i < STORE_PARTICIPANT_FLAGS; i++)
		if (cell_int(v[4 + i]))
			row.flags |= store_participant_flags[i];
	return x->fn(x->ctx, &row);
}

int bq_each_participant(struct store *st, const char *provider,
			const char *account, const char *campaign_id,
			store_participant_fn fn, void *ctx, struct err *err)
{
	struct bq_param p[3] = {{"provider", "STRING", provider, NULL, 0},
				{"account", "STRING", account, NULL, 0},
				{"id", "STRING", campaign_id, NULL, 0}};
	struct part_out x = {fn, ctx};

	return bq_read_query(
	    (struct bq_store *)st,
	    "SELECT contact_id, email_address, status, fields, sent,"
	    " opened, clicked, bounced, complained, unsubscribed"
	    " FROM {participants} WHERE provider = @provider AND"
	    " account = @account AND campaign_id = @id"
	    " ORDER BY email_address, contact_id",
	    p, 3, on_participant, &x, err);
}

struct fields_out {
	struct buf lists;   /* to_lists JSON */
	struct json_doc *f; /* not used */
	char **ids, **fields;
	size_t n, cap;
};

static int on_to_lists(void *ctx, const char *const *v, size_t n)
{
	struct fields_out *x = ctx;

	if (n >= 1 && v[0] && buf_puts(&x->lists, v[0]) < 0)
		return -1;
	return 0;
}

static int on_list_fields(void *ctx, const char *const *v, size_t n)
{
	struct fields_out *x = ctx;

	if (n < 2 || !v[0])
		return 0;
	if (x->n == x->cap) {
		x->cap = x->cap ? 2 * x->cap : 16;
		x->ids = xrealloc(x->ids, x->cap * sizeof(*x->ids));
		x->fields = xrealloc(x->fields, x->cap * sizeof(*x->fields));
	}
	x->ids[x->n] = xstrdup(v[0]);
	x->fields[x->n] = v[1] ? xstrdup(v[1]) : NULL;
	x->n++;
	return 0;
}

/* Tags of the campaign's lists in list order then field order (as the
 * SQLite store); malformed JSON reads as empty. */
int bq_campaign_fields(struct store *st, const char *provider,
		       const char *account, const char *campaign_id,
		       struct buf *out, struct err *err)
{
	struct bq_store *s = (struct bq_store *)st;
	struct bq_param p[3] = {{"provider", "STRING", provider, NULL, 0},
				{"account", "STRING", account, NULL, 0},
				{"id", "STRING", campaign_id, NULL, 0}};
	struct fields_out x;
	struct json_doc *lists = NULL;
	struct store_tags tags;
	size_t i, k, j;
	int ret = -1;

	memset(&x, 0, sizeof(x));
	buf_init(&x.lists, 0);
	store_tags_init(&tags, out);
	if (bq_read_query(
		s,
		"SELECT to_lists FROM {campaigns} WHERE provider = @provider"
		" AND account = @account AND campaign_id = @id",
		p, 3, on_to_lists, &x, err) != 0)
		goto done;
	if (!x.lists.len ||
	    json_parse(&lists, x.lists.data, x.lists.len, NULL) < 0 ||
	    json_type(json_root(lists)) != JSON_ARRAY ||
	    !json_len(json_root(lists))) {
		ret = 0;
		goto done;
	}
	if (bq_read_query(s,
			  "SELECT list_id, fields FROM {lists} WHERE provider ="
			  " @provider AND account = @account",
			  p, 2, on_list_fields, &x, err) != 0)
		goto done;
	for (i = 0; i < json_len(json_root(lists)); i++) {
		const char *id = json_str(json_at(json_root(lists), i));

		for (k = 0; id && k < x.n; k++) {
			struct json_doc *fd = NULL;
			const struct json *arr;

			if (strcmp(x.ids[k], id) || !x.fields[k] ||
			    json_parse(&fd, x.fields[k], strlen(x.fields[k]),
				       NULL) < 0)
				continue;
			arr = json_root(fd);
			for (j = 0;
			     json_type(arr) == JSON_ARRAY && j < json_len(arr);
			     j++) {
				const struct json *f = json_at(arr, j);
				const char *tag =
				    json_type(f) == JSON_OBJECT
					? json_str(json_get(f, "tag"))
					: json_str(f);

				if (tag && store_tags_add(&tags, tag) < 0) {
					json_doc_free(fd);
					err_set(err, ERR_STORE, 0,
						"fields of campaign '%s' are "
						"too large",
						campaign_id);
					goto done;
				}
			}
			json_doc_free(fd);
		}
	}
	ret = 0;
done:
	store_tags_release(&tags, ret == 0);
	json_doc_free(lists);
	for (i = 0; i < x.n; i++) {
		free(x.ids[i]);
		free(x.fields[i]);
	}
	free(x.ids);
	free(x.fields);
	buf_release(&x.lists);
	return ret;
}
