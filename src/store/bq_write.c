/* BigQuery writes. Batches are not sent one by one: write_batch appends
 * their rows (and checkpoints) as NDJSON to a local spool file
 * (bq_spool.c); a flush (ESPSYNC_BQ_FLUSH_ROWS rows,
 * ESPSYNC_BQ_FLUSH_SECONDS, the end of the run) loads the spool into a new
 * staging table with one load job, then runs one multi-statement
 * transaction that MERGEs it into every target and writes the checkpoints
 * into sync_state. A checkpoint is never committed before its data; a run
 * that spooled nothing costs no job. This file holds the flush and the
 * runs. */
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
				      bq_kind_names[i], s->kind_rows[i]);
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
		if (bq_spool_seen(s, is_final, err) < 0)
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
		      bq_batch_is_run(s, run->provider, run->account) == 2;

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
