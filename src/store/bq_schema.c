/* The BigQuery schema: the tables of DESIGN §4 with BigQuery types,
 * created through the API on first use (tables.insert costs no job), the
 * schema version in meta (a table label and a row), email_activities
 * partitioned by activity_date and clustered like the earlier pipeline,
 * and the views daily_activity and campaign_engagement. */
#include "store/bq_schema.h"

#include <stdio.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util/jsonw.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define C(n, t, m)                                                             \
	{                                                                      \
		n, t, m                                                        \
	}
#define END                                                                    \
	{                                                                      \
		NULL, NULL, BM_KEY                                             \
	}

static const struct bq_col campaigns_cols[] = {
    C("provider", "STRING", BM_KEY),
    C("account", "STRING", BM_KEY),
    C("campaign_id", "STRING", BM_KEY),
    C("name", "STRING", BM_KEEP),
    C("subject", "STRING", BM_KEEP),
    C("from_name", "STRING", BM_KEEP),
    C("from_email", "STRING", BM_KEEP),
    C("status", "STRING", BM_KEEP),
    C("created_at", "TIMESTAMP", BM_KEEP),
    C("sent_at", "TIMESTAMP", BM_KEEP),
    C("to_lists", "STRING", BM_KEEP),
    C("sent", "INT64", BM_STAT),
    C("opened_unique", "INT64", BM_STAT),
    C("opened_total", "INT64", BM_STAT),
    C("clicked_unique", "INT64", BM_STAT),
    C("clicked_total", "INT64", BM_STAT),
    C("bounced_hard", "INT64", BM_STAT),
    C("bounced_soft", "INT64", BM_STAT),
    C("complained", "INT64", BM_STAT),
    C("unsubscribed", "INT64", BM_STAT),
    C("synced_at", "TIMESTAMP", BM_NOW),
    /* schema version 2 (added by a tables.patch on version 1) */
    C("verified_opens", "INT64", BM_KEEP),
    C("verified_unique_opens", "INT64", BM_KEEP),
    END,
};

static const struct bq_col links_cols[] = {
    C("provider", "STRING", BM_KEY),	 C("account", "STRING", BM_KEY),
    C("campaign_id", "STRING", BM_KEY),	 C("url", "STRING", BM_KEY),
    C("clicked_total", "INT64", BM_SET), C("clicked_unique", "INT64", BM_SET),
    C("synced_at", "TIMESTAMP", BM_NOW), END,
};

static const struct bq_col participants_cols[] = {
    C("provider", "STRING", BM_KEY),
    C("account", "STRING", BM_KEY),
    C("campaign_id", "STRING", BM_KEY),
    C("contact_id", "STRING", BM_KEY),
    C("email_address", "STRING", BM_KEEP),
    C("status", "STRING", BM_LINK),
    C("fields", "STRING", BM_LINK),
    C("sent", "INT64", BM_OR),
    C("opened", "INT64", BM_OR),
    C("clicked", "INT64", BM_OR),
    C("bounced", "INT64", BM_OR),
    C("complained", "INT64", BM_OR),
    C("unsubscribed", "INT64", BM_OR),
    C("synced_at", "TIMESTAMP", BM_NOW),
    END,
};

static const struct bq_col events_cols[] = {
    C("event_id", "STRING", BM_KEY),
    C("provider", "STRING", BM_INS),
    C("account", "STRING", BM_INS),
    C("campaign_id", "STRING", BM_INS),
    C("campaign_name", "STRING", BM_KEEP),
    C("contact_id", "STRING", BM_INS),
    C("contact_email", "STRING", BM_INS),
    C("event_type", "STRING", BM_INS),
    C("activity_timestamp", "TIMESTAMP", BM_INS),
    C("activity_date", "DATE", BM_INS),
    C("times", "INT64", BM_SET),
    C("link_url", "STRING", BM_KEEP),
    C("bounce_type", "STRING", BM_KEEP),
    C("created_at", "TIMESTAMP", BM_BORN),
    C("updated_at", "TIMESTAMP", BM_NOW),
    END,
};

static const struct bq_col contacts_cols[] = {
    C("provider", "STRING", BM_KEY),
    C("account", "STRING", BM_KEY),
    C("contact_id", "STRING", BM_KEY),
    C("email", "STRING", BM_KEEP),
    C("first_name", "STRING", BM_KEEP),
    C("last_name", "STRING", BM_KEEP),
    C("phone", "STRING", BM_KEEP),
    C("status", "STRING", BM_KEEP),
    C("fields", "STRING", BM_KEEP),
    C("tags", "STRING", BM_KEEP),
    C("lists", "STRING", BM_KEEP),
    C("created_at", "TIMESTAMP", BM_KEEP),
    C("updated_at", "TIMESTAMP", BM_KEEP),
    C("deleted_at", "TIMESTAMP", BM_KEEP),
    C("synced_at", "TIMESTAMP", BM_NOW),
    END,
};

static const struct bq_col lists_cols[] = {
    C("provider", "STRING", BM_KEY),
    C("account", "STRING", BM_KEY),
    C("list_id", "STRING", BM_KEY),
    C("name", "STRING", BM_KEEP),
    C("fields", "STRING", BM_KEEP),
    C("tags", "STRING", BM_KEEP),
    C("subscribed", "INT64", BM_KEEP),
    C("unsubscribed", "INT64", BM_KEEP),
    C("pending", "INT64", BM_KEEP),
    C("created_at", "TIMESTAMP", BM_KEEP),
    C("updated_at", "TIMESTAMP", BM_KEEP),
    C("synced_at", "TIMESTAMP", BM_NOW),
    END,
};

static const struct bq_col state_cols[] = {
    C("provider", "STRING", BM_KEY),	  C("account", "STRING", BM_KEY),
    C("stream", "STRING", BM_KEY),	  C("value", "STRING", BM_SET),
    C("updated_at", "TIMESTAMP", BM_NOW), END,
};

static const struct bq_col runs_cols[] = {
    C("run_id", "INT64", BM_KEY),	   C("provider", "STRING", BM_SET),
    C("account", "STRING", BM_SET),	   C("started_at", "TIMESTAMP", BM_SET),
    C("finished_at", "TIMESTAMP", BM_SET), C("status", "STRING", BM_SET),
    C("requests", "INT64", BM_SET),	   C("retries", "INT64", BM_SET),
    C("throttled", "INT64", BM_SET),	   C("records", "STRING", BM_SET),
    C("error", "STRING", BM_SET),	   END,
};

static const struct bq_col meta_cols[] = {
    C("key", "STRING", BM_KEY),
    C("value", "STRING", BM_SET),
    END,
};

const struct bq_table bq_tables[BT__COUNT] = {
    [BT_CAMPAIGNS] = {"campaigns", campaigns_cols},
    [BT_LINKS] = {"campaign_links", links_cols},
    [BT_PARTICIPANTS] = {"participants", participants_cols},
    [BT_EVENTS] = {"email_activities", events_cols},
    [BT_CONTACTS] = {"contacts", contacts_cols},
    [BT_LISTS] = {"lists", lists_cols},
    [BT_STATE] = {"sync_state", state_cols},
    [BT_RUNS] = {"sync_runs", runs_cols},
    [BT_META] = {"meta", meta_cols},
};

/* Views: the PostgreSQL ones (pg_schema.c) in GoogleSQL. The rates
 * divide in NUMERIC as PostgreSQL's numeric does: in FLOAT64, 631 / 800 =
 * 0.78875 is the double just below and rounds to 0.7887, not 0.7888. */
static const struct {
	const char *name, *sql;
} views[] = {
    {"daily_activity",
     "SELECT activity_date, event_type, COUNT(*) AS events,"
     " COUNT(DISTINCT contact_email) AS unique_contacts,"
     " COUNT(DISTINCT campaign_id) AS campaigns FROM `%s.%s.email_activities`"
     " GROUP BY activity_date, event_type"},
    {"campaign_engagement",
     "SELECT provider, account, campaign_id, name, sent_at,"
     " sent AS recipients, opened_unique AS opens, clicked_unique AS clicks,"
     " bounced_hard + bounced_soft AS bounces, complained AS complaints,"
     " unsubscribed AS unsubscribes,"
     " ROUND(SAFE_DIVIDE(CAST(opened_unique AS NUMERIC), sent), 4)"
     " AS open_rate,"
     " ROUND(SAFE_DIVIDE(CAST(clicked_unique AS NUMERIC), sent), 4)"
     " AS click_rate,"
     " ROUND(SAFE_DIVIDE(CAST(bounced_hard + bounced_soft AS NUMERIC),"
     " sent), 4) AS bounce_rate,"
     " ROUND(SAFE_DIVIDE(CAST(unsubscribed AS NUMERIC), sent), 4)"
     " AS unsubscribe_rate FROM `%s.%s.campaigns`"},
};

/* Appends "view":{…} of view i and the closing brace. */
static int view_body(struct buf *b, const struct bq_store *s, size_t i)
{
	struct buf q = BUF_INIT;
	int rc;

	rc = buf_printf(&q, views[i].sql, s->c.project, s->c.dataset);
	rc |= buf_puts(b, "\"view\":{\"query\":");
	rc |= jsonw_string(b, buf_str(&q));
	rc |= buf_puts(b, ",\"useLegacySql\":false}}");
	buf_release(&q);
	return rc;
}

int bq_fields_json(struct buf *b, const struct bq_col *cols)
{
	const struct bq_col *c;
	int rc = buf_putc(b, '[');

	for (c = cols; c->name; c++) {
		rc |= buf_puts(b, c == cols ? "{\"name\":" : ",{\"name\":");
		rc |= jsonw_string(b, c->name);
		rc |= buf_printf(b, ",\"type\":\"%s\"%s}", c->type,
				 c->mode == BM_KEY ? ",\"mode\":\"REQUIRED\""
						   : "");
	}
	rc |= buf_putc(b, ']');
	return rc;
}

/* The staging table: _t (kind), _seq and the union of every target's
 * columns (same name, same type everywhere) plus has_stats and the
 * deletion marks' _op, _len, _lo, _hi. */
int bq_stage_schema(struct buf *b)
{
	static const enum bq_table_id kinds[] = {
	    BT_CAMPAIGNS, BT_LINKS, BT_PARTICIPANTS, BT_EVENTS,
	    BT_CONTACTS,  BT_LISTS, BT_STATE};
	struct buf seen = BUF_INIT;
	size_t k;
	int rc = 0;

	rc |= buf_puts(b, "[{\"name\":\"_t\",\"type\":\"STRING\"},"
			  "{\"name\":\"_seq\",\"type\":\"INT64\"},"
			  "{\"name\":\"has_stats\",\"type\":\"INT64\"},"
			  "{\"name\":\"_op\",\"type\":\"INT64\"},"
			  "{\"name\":\"_len\",\"type\":\"INT64\"},"
			  "{\"name\":\"_lo\",\"type\":\"STRING\"},"
			  "{\"name\":\"_hi\",\"type\":\"STRING\"}");
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		const struct bq_col *c;

		for (c = bq_tables[kinds[k]].cols; c->name; c++) {
			char key[64];

			if (c->mode == BM_NOW || c->mode == BM_BORN ||
			    c->mode == BM_LINK)
				continue;
			snprintf(key, sizeof(key), "\n%s\n", c->name);
			if (seen.len && strstr(buf_str(&seen), key))
				continue;
			rc |= buf_puts(&seen, key);
			rc |= buf_puts(b, ",{\"name\":");
			rc |= jsonw_string(b, c->name);
			rc |= buf_printf(b, ",\"type\":\"%s\"}", c->type);
		}
	}
	rc |= buf_putc(b, ']');
	buf_release(&seen);
	return rc;
}

/* tables.insert of one table or view; 409 (it exists) is fine: 1. */
static int create(struct bq_store *s, const char *table, const char *body,
		  struct err *err)
{
	struct bq_resp r = {0, BUF_INIT, NULL, NULL};
	struct buf u = BUF_INIT;
	int ret = -1;

	if (buf_printf(&u, "%s/projects/%s/datasets/%s/tables", s->c.api,
		       s->c.project, s->c.dataset) < 0) {
		err_set(err, ERR_STORE, 0, "bigquery request too long");
		goto done;
	}
	if (bq_call(&s->c, "POST", buf_str(&u), "application/json", body,
		    strlen(body), NULL, &r, err) < 0)
		goto done;
	if (r.status / 100 != 2 && r.status != 409) {
		bq_fail(&s->c, &r, "create a table in", err);
		err_prefix(err, "table '%s'", table);
		goto done;
	}
	log_debug("bigquery: table %s %s", table,
		  r.status == 409 ? "exists" : "created");
	ret = r.status == 409;
done:
	bq_resp_release(&r);
	buf_release(&u);
	return ret;
}

/* tables.patch of an existing table: body is a partial Table resource
 * (the fields it names are replaced). */
static int patch(struct bq_store *s, const char *table, const char *body,
		 struct err *err)
{
	struct bq_resp r = {0, BUF_INIT, NULL, NULL};
	struct buf u = BUF_INIT;
	int ret = -1;

	if (buf_printf(&u, "%s/projects/%s/datasets/%s/tables/%s", s->c.api,
		       s->c.project, s->c.dataset, table) < 0) {
		err_set(err, ERR_STORE, 0, "bigquery request too long");
		goto done;
	}
	if (bq_call(&s->c, "PATCH", buf_str(&u), "application/json", body,
		    strlen(body), NULL, &r, err) < 0)
		goto done;
	if (r.status / 100 != 2) {
		bq_fail(&s->c, &r, "update a table in", err);
		err_prefix(err, "table '%s'", table);
		goto done;
	}
	ret = 0;
done:
	bq_resp_release(&r);
	buf_release(&u);
	return ret;
}

/* Gives an existing table the columns it lacks: a patch with the whole
 * field list, the new fields NULLABLE at the end (BigQuery adds them; the
 * rows it has read NULL there). Same list again: nothing changes. */
static int patch_fields(struct bq_store *s, enum bq_table_id t, struct err *err)
{
	struct buf b = BUF_INIT;
	int rc, ret = -1;

	rc = buf_puts(&b, "{\"schema\":{\"fields\":");
	rc |= bq_fields_json(&b, bq_tables[t].cols);
	rc |= buf_puts(&b, "}}");
	if (rc)
		err_set(err, ERR_STORE, 0, "bigquery request too long");
	else
		ret = patch(s, bq_tables[t].name, buf_str(&b), err);
	buf_release(&b);
	if (ret == 0)
		log_info("bigquery: table %s has the columns of schema "
			 "version %d",
			 bq_tables[t].name, BQ_SCHEMA_VERSION);
	return ret;
}

/* Gives an existing view i this version's definition (tables.patch of
 * view.query: no job). */
static int patch_view(struct bq_store *s, size_t i, struct err *err)
{
	struct buf b = BUF_INIT;
	int ret = -1;

	if (buf_putc(&b, '{') < 0 || view_body(&b, s, i) < 0) {
		err_set(err, ERR_STORE, 0, "bigquery view too long");
		goto done;
	}
	ret = patch(s, views[i].name, buf_str(&b), err);
	if (ret == 0)
		log_info("bigquery: view %s has the definition of schema "
			 "version %d",
			 views[i].name, BQ_SCHEMA_VERSION);
done:
	buf_release(&b);
	return ret;
}

/* From version 1: campaigns.verified_opens and verified_unique_opens
 * (2); from 1 or 2: the views' definitions of version 3 (the rates in
 * NUMERIC). */
static int migrate(struct bq_store *s, long version, struct err *err)
{
	struct buf b = BUF_INIT;
	size_t i;
	int ret = -1;

	if (version < 2 && patch_fields(s, BT_CAMPAIGNS, err) < 0)
		goto done;
	for (i = 0; version < 3 && i < sizeof(views) / sizeof(views[0]); i++)
		if (patch_view(s, i, err) < 0)
			goto done;
	/* the label last: it says the schema is complete */
	if (buf_printf(&b, "{\"labels\":{\"espsync_schema\":\"%d\"}}",
		       BQ_SCHEMA_VERSION) < 0) {
		err_set(err, ERR_STORE, 0, "bigquery request too long");
		goto done;
	}
	ret = patch(s, bq_tables[BT_META].name, buf_str(&b), err);
done:
	buf_release(&b);
	return ret;
}

static int table_head(struct buf *b, const struct bq_store *s,
		      const char *table)
{
	int rc = buf_puts(b, "{\"tableReference\":{\"projectId\":");

	rc |= jsonw_string(b, s->c.project);
	rc |= buf_puts(b, ",\"datasetId\":");
	rc |= jsonw_string(b, s->c.dataset);
	rc |= buf_puts(b, ",\"tableId\":");
	rc |= jsonw_string(b, table);
	rc |= buf_putc(b, '}');
	return rc;
}

static int create_views(struct bq_store *s, struct err *err)
{
	struct buf b = BUF_INIT;
	size_t i;
	int rc, ret = -1;

	for (i = 0; i < sizeof(views) / sizeof(views[0]); i++) {
		buf_reset(&b);
		rc = table_head(&b, s, views[i].name);
		rc |= buf_putc(&b, ',');
		rc |= view_body(&b, s, i);
		if (rc) {
			err_set(err, ERR_STORE, 0, "bigquery view too long");
			goto done;
		}
		rc = create(s, views[i].name, buf_str(&b), err);
		if (rc < 0)
			goto done;
		/* left by an interrupted creation, maybe an earlier version's
		 */
		if (rc == 1 && patch_view(s, i, err) < 0)
			goto done;
	}
	ret = 0;
done:
	buf_release(&b);
	return ret;
}

static int create_all(struct bq_store *s, struct err *err)
{
	struct buf b = BUF_INIT;
	size_t i, k;
	int rc, ret = -1;

	/* meta last: its label says the schema is complete */
	for (k = 0; k <= BT__COUNT; k++) {
		i = k < BT_META ? k : k == BT_META ? BT__COUNT : BT_META;
		if (i == BT__COUNT) {
			if (create_views(s, err) < 0)
				goto done;
			continue;
		}
		buf_reset(&b);
		rc = table_head(&b, s, bq_tables[i].name);
		rc |= buf_puts(&b, ",\"schema\":{\"fields\":");
		rc |= bq_fields_json(&b, bq_tables[i].cols);
		rc |= buf_putc(&b, '}');
		if (i == BT_EVENTS) {
			rc |= buf_puts(&b, ",\"timePartitioning\":{\"type\":"
					   "\"DAY\",\"field\":"
					   "\"activity_date\"");
			if (s->retention_days > 0)
				rc |= buf_printf(
				    &b, ",\"expirationMs\":\"%" PRId64 "\"",
				    (int64_t)s->retention_days * 86400000);
			rc |= buf_puts(&b, "},\"clustering\":{\"fields\":["
					   "\"contact_email\",\"campaign_id\","
					   "\"event_type\"]},"
					   "\"requirePartitionFilter\":false");
		}
		if (i == BT_META)
			rc |= buf_printf(&b,
					 ",\"labels\":{\"espsync_schema\":"
					 "\"%d\"}",
					 BQ_SCHEMA_VERSION);
		rc |= buf_putc(&b, '}');
		if (rc) {
			err_set(err, ERR_STORE, 0, "bigquery table too long");
			goto done;
		}
		rc = create(s, bq_tables[i].name, buf_str(&b), err);
		if (rc < 0)
			goto done;
		/* left by an earlier version's interrupted creation */
		if (rc == 1 && i == BT_CAMPAIGNS &&
		    patch_fields(s, BT_CAMPAIGNS, err) < 0)
			goto done;
	}
	ret = 0;
done:
	buf_release(&b);
	return ret;
}

/* The dataset exists (created in the URL's location when missing). */
static int ensure_dataset(struct bq_store *s, struct err *err)
{
	struct bq_resp r = {0, BUF_INIT, NULL, NULL};
	struct buf u = BUF_INIT, b = BUF_INIT;
	struct json_doc *doc = NULL;
	const char *loc;
	int rc, ret = -1;

	rc = buf_printf(&u, "%s/projects/%s/datasets/%s", s->c.api,
			s->c.project, s->c.dataset);
	if (rc)
		goto too_long;
	if (bq_call(&s->c, "GET", buf_str(&u), NULL, NULL, 0, NULL, &r, err) <
	    0)
		goto done;
	if (r.status == 404) {
		buf_reset(&u);
		rc = buf_printf(&u, "%s/projects/%s/datasets", s->c.api,
				s->c.project);
		rc |= buf_puts(&b, "{\"datasetReference\":{\"projectId\":");
		rc |= jsonw_string(&b, s->c.project);
		rc |= buf_puts(&b, ",\"datasetId\":");
		rc |= jsonw_string(&b, s->c.dataset);
		rc |= buf_puts(&b, "},\"location\":");
		rc |= jsonw_string(&b, s->c.location);
		rc |= buf_puts(&b, ",\"description\":\"espsync\"}");
		if (rc)
			goto too_long;
		if (bq_call(&s->c, "POST", buf_str(&u), "application/json",
			    b.data, b.len, NULL, &r, err) < 0)
			goto done;
		if (r.status / 100 != 2 && r.status != 409) {
			bq_fail(&s->c, &r, "create the dataset of", err);
			goto done;
		}
		log_info("bigquery: created dataset %s.%s in %s", s->c.project,
			 s->c.dataset, s->c.location);
	} else if (r.status / 100 != 2) {
		bq_fail(&s->c, &r, "open", err);
		goto done;
	} else if (json_parse(&doc, r.body.data, r.body.len, NULL) == 0 &&
		   (loc = json_str(json_get(json_root(doc), "location")))) {
		/* Jobs must run where the dataset lives. */
		free(s->c.location);
		s->c.location = xstrdup(loc);
	}
	ret = 0;
	goto done;
too_long:
	err_set(err, ERR_STORE, 0, "bigquery request too long");
done:
	json_doc_free(doc);
	bq_resp_release(&r);
	buf_release(&u);
	buf_release(&b);
	return ret;
}

int bq_schema_ensure(struct bq_store *s, struct err *err)
{
	struct bq_resp r = {0, BUF_INIT, NULL, NULL};
	struct json_doc *doc = NULL;
	struct buf u = BUF_INIT, q = BUF_INIT;
	const char *v;
	long version = 0;
	int rc, ret = -1;

	if (ensure_dataset(s, err) < 0)
		goto done;
	rc = buf_printf(&u, "%s/projects/%s/datasets/%s/tables/meta", s->c.api,
			s->c.project, s->c.dataset);
	if (rc)
		goto too_long;
	if (bq_call(&s->c, "GET", buf_str(&u), NULL, NULL, 0, NULL, &r, err) <
	    0)
		goto done;
	if (r.status / 100 == 2 &&
	    json_parse(&doc, r.body.data, r.body.len, NULL) == 0 &&
	    (v = json_str(json_get(json_get(json_root(doc), "labels"),
				   "espsync_schema"))))
		version = strtol(v, NULL, 10);
	else if (r.status / 100 != 2 && r.status != 404) {
		bq_fail(&s->c, &r, "open", err);
		goto done;
	}
	if (version > BQ_SCHEMA_VERSION) {
		err_set(err, ERR_STORE, 0,
			"cannot open store '%s': schema version %ld is newer "
			"than this espsync knows (%d); upgrade espsync",
			s->c.safe, version, BQ_SCHEMA_VERSION);
		goto done;
	}
	if (version == BQ_SCHEMA_VERSION) {
		ret = 0;
		goto done;
	}
	if (version == 0 ? create_all(s, err) < 0
			 : migrate(s, version, err) < 0)
		goto done;
	rc = buf_puts(&q, "MERGE INTO ");
	rc |= bq_table_ref(&q, &s->c, "meta");
	rc |= buf_printf(&q,
			 " T USING (SELECT 'schema_version' AS key, '%d' AS"
			 " value) S ON T.key = S.key WHEN MATCHED THEN UPDATE"
			 " SET value = S.value WHEN NOT MATCHED THEN INSERT"
			 " (key, value) VALUES (S.key, S.value)",
			 BQ_SCHEMA_VERSION);
	if (rc)
		goto too_long;
	if (bq_exec(&s->c, buf_str(&q), NULL, 0, err) < 0)
		goto done;
	ret = 0;
	goto done;
too_long:
	err_set(err, ERR_STORE, 0, "bigquery request too long");
done:
	json_doc_free(doc);
	bq_resp_release(&r);
	buf_release(&u);
	buf_release(&q);
	return ret;
}
