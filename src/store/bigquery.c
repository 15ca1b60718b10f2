/* The BigQuery store, bigquery://PROJECT/DATASET[?location=L]: opening
 * (credentials, the dataset and the schema), closing (a last flush) and
 * the ops table. Credentials and tokens live in bq_auth.c, the REST
 * client in bq_rest.c, the schema in bq_schema.c, the spool in
 * bq_spool.c, flushes and runs in bq_write.c and reads in bq_read.c. Its
 * settings (bq_settings: credentials, the API root, flush sizes) are
 * configuration keys the configuration resolves and passes in through struct
 * store_options; nothing here reads the environment. */
#include "store/bq_internal.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/bq_schema.h"
#include "util/clock.h"
#include "util/json.h"
#include "util/log.h"
#include "util/num.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define SCHEME "bigquery://"

/* The store's settings (struct store_keys .keys), in this order. */
enum bq_setting {
	BQS_CREDENTIALS,
	BQS_GCLOUD_DIR,
	BQS_HOME,
	BQS_METADATA_HOST,
	BQS_METADATA_ROOT,
	BQS_API_URL,
	BQS_FLUSH_ROWS,
	BQS_FLUSH_SECONDS,
	BQS_BACKOFF_MS,
	BQS_ATTEMPTS,
	BQS__COUNT
};

/* The flush defaults are sized in docs/bigquery.md: 100,000 rows keep a
 * backfill far below 1,500 load jobs per table and day, 300 s bound how
 * much a crash repeats; every flush's MERGE bills at least 10 MB per table
 * it references, so fewer, larger flushes cost less. */
static const struct option_def bq_settings[BQS__COUNT] = {
    [BQS_CREDENTIALS] = {.key = "GOOGLE_APPLICATION_CREDENTIALS",
			 .kind = OPTK_PATH,
			 .help = "bigquery: service-account key file; else "
				 "gcloud's application-default file, else "
				 "the metadata server"},
    [BQS_GCLOUD_DIR] = {.key = "CLOUDSDK_CONFIG",
			.kind = OPTK_PATH,
			.help = "bigquery: gcloud's configuration directory "
				"(default ~/.config/gcloud), where the "
				"application-default file is looked for"},
    [BQS_HOME] = {.key = "HOME",
		  .kind = OPTK_PATH,
		  .flags = OPTF_HIDDEN,
		  .help = "home directory, for gcloud's configuration"},
    [BQS_METADATA_HOST] = {.key = "GCE_METADATA_HOST",
			   .kind = OPTK_HOST,
			   .help = "bigquery: metadata server host[:port] "
				   "(default metadata.google.internal)"},
    [BQS_METADATA_ROOT] = {.key = "GCE_METADATA_ROOT",
			   .kind = OPTK_HOST,
			   .flags = OPTF_HIDDEN,
			   .help = "bigquery: older name of "
				   "GCE_METADATA_HOST"},
    [BQS_API_URL] = {.key = "BIGQUERY_API_URL",
		     .kind = OPTK_URL,
		     .def = BQ_API_ROOT,
		     .help = "bigquery api root; the tests point it at a fake"},
    [BQS_FLUSH_ROWS] = {.key = "ESPSYNC_BQ_FLUSH_ROWS",
			.kind = OPTK_INT,
			.def = "100000",
			.min = 1,
			.max = 100000000,
			.help = "bigquery: rows spooled before a flush (one "
				"load job and one merge transaction)"},
    [BQS_FLUSH_SECONDS] = {.key = "ESPSYNC_BQ_FLUSH_SECONDS",
			   .kind = OPTK_INT,
			   .def = "300",
			   .min = 0,
			   .max = 86400,
			   .help = "bigquery: seconds spooled rows wait at "
				   "most before a flush"},
    [BQS_BACKOFF_MS] = {.key = "ESPSYNC_BQ_BACKOFF_MS",
			.kind = OPTK_INT,
			.def = "1000",
			.min = 1,
			.max = 600000,
			.flags = OPTF_HIDDEN,
			.help = "bigquery: first retry wait in milliseconds"},
    [BQS_ATTEMPTS] = {.key = "ESPSYNC_BQ_ATTEMPTS",
		      .kind = OPTK_INT,
		      .def = "6",
		      .min = 1,
		      .max = 100,
		      .flags = OPTF_HIDDEN,
		      .help = "bigquery: attempts per request or job"},
};

static const char *setting(const struct store_options *opts, enum bq_setting k)
{
	const char *v =
	    store_option_get(opts, bq_settings[k].key, &bq_settings[k]);

	return v && *v ? v : NULL;
}

static int64_t setting_int(const struct store_options *opts, enum bq_setting k)
{
	int64_t dflt = 0;

	num_parse_i64(bq_settings[k].def, &dflt);
	return store_option_int(opts, &bq_settings[k], dflt);
}

static int is_name(const char *s, size_t n, int is_project)
{
	size_t i;

	if (!n)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' &&
		    !(is_project &&
		      (s[i] == '-' || s[i] == '.' || s[i] == ':')))
			return 0;
	return 1;
}

static const char *bq_check_url(const char *url)
{
	const char *p = url + strlen(SCHEME), *slash = strchr(p, '/');
	const char *q;

	if (!slash || !is_name(p, (size_t)(slash - p), 1))
		return "needs bigquery://PROJECT/DATASET";
	q = strchr(slash + 1, '?');
	if (!is_name(slash + 1, q ? (size_t)(q - slash - 1) : strlen(slash + 1),
		     0))
		return "needs a dataset name of letters, digits and _";
	if (q && strncmp(q + 1, "location=", 9))
		return "knows only the parameter location=";
	return NULL;
}

static void bq_close(struct store *st)
{
	struct bq_store *s = (struct bq_store *)st;
	struct err e = ERR_INIT;
	size_t i;

	if (!s)
		return;
	if (s->spool_rows && bq_flush(s, NULL, &e) < 0)
		log_warn("%s", e.msg);
	if (s->c.requests)
		log_info("bigquery: %" PRId64 " requests, %" PRId64
			 " jobs, %" PRId64 " queries, %" PRId64
			 " bytes uploaded",
			 s->c.requests, s->c.jobs, s->c.queries, s->c.bytes_up);
	if (s->spool)
		fclose(s->spool);
	for (i = 0; i < s->n_cache; i++) {
		free(s->cache[i].stream);
		free(s->cache[i].value);
	}
	free(s->cache);
	free(s->cache_provider);
	free(s->cache_account);
	bq_seen_release(&s->seen_old);
	bq_seen_release(&s->seen_run);
	bq_seen_release(&s->spooled_campaigns);
	bq_camps_forget(s);
	bq_run_live_clear(s);
	free(s->run_live);
	free(s->run_spans);
	free(s->link_provider);
	free(s->link_account);
	free(s->run_provider);
	free(s->run_account);
	http_free(s->c.http);
	bq_cred_release(&s->c.cred);
	free(s->c.api);
	free(s->c.upload);
	free(s->c.project);
	free(s->c.dataset);
	free(s->c.location);
	free(s->c.safe);
	free(s);
}

/* Jobs are the jobs.insert ones (loads and DML): an idle run has none,
 * its one read of the checkpoints is a query (a request, not a job). */
static void bq_usage(struct store *st, struct store_usage *out)
{
	const struct bq_store *s = (const struct bq_store *)st;

	out->requests = s->c.requests;
	out->jobs = s->c.jobs;
	out->bytes_up = s->c.bytes_up;
}

static int bq_open(struct store **out, const char *url,
		   const struct store_options *opts, struct err *err)
{
	struct bq_store *s = NULL;
	const char *why, *p, *slash, *q, *root = setting(opts, BQS_API_URL);
	struct bq_cred_env env = {
	    setting(opts, BQS_CREDENTIALS), setting(opts, BQS_GCLOUD_DIR),
	    setting(opts, BQS_HOME), setting(opts, BQS_METADATA_HOST)};
	struct buf b = BUF_INIT;
	int ret = -1;

	*out = NULL;
	if ((why = bq_check_url(url)) != NULL) {
		err_set(err, ERR_CONFIG, 0, "store url '%s' %s", url, why);
		goto done;
	}
	s = xcalloc(1, sizeof(*s));
	s->base.ops = &bigquery_store_backend_ops;
	p = url + strlen(SCHEME);
	slash = strchr(p, '/');
	q = strchr(slash, '?');
	s->c.project = xstrndup(p, (size_t)(slash - p));
	s->c.dataset = q ? xstrndup(slash + 1, (size_t)(q - slash - 1))
			 : xstrdup(slash + 1);
	s->c.location = xstrdup(q ? q + 10 : "US");
	if (buf_printf(&b, "bigquery://%s/%s", s->c.project, s->c.dataset) < 0)
		goto too_long;
	s->c.safe = buf_detach(&b, NULL);
	if (!root || !*root)
		root = BQ_API_ROOT;
	if (buf_printf(&b, "%s/bigquery/v2", root) < 0)
		goto too_long;
	s->c.api = buf_detach(&b, NULL);
	if (buf_printf(&b, "%s/upload/bigquery/v2", root) < 0)
		goto too_long;
	s->c.upload = buf_detach(&b, NULL);
	snprintf(s->c.run_tag, sizeof(s->c.run_tag), "%" PRId64 "_%d",
		 clock_wall_ms(), (int)getpid());
	s->c.backoff_ms = (int)setting_int(opts, BQS_BACKOFF_MS);
	s->c.max_attempts = (int)setting_int(opts, BQS_ATTEMPTS);
	if (s->c.max_attempts < 1)
		s->c.max_attempts = 1;
	s->flush_rows = setting_int(opts, BQS_FLUSH_ROWS);
	s->flush_seconds = setting_int(opts, BQS_FLUSH_SECONDS);
	if (s->flush_rows < 1)
		s->flush_rows = 1;
	if (!env.metadata_host)
		env.metadata_host = setting(opts, BQS_METADATA_ROOT);
	s->retention_days =
	    opts && opts->retention_days >= 0 ? opts->retention_days : 730;
	if (http_new(&s->c.http, 2, err) < 0)
		goto done;
	if (bq_cred_load(&s->c.cred, &env, err) < 0)
		goto done;
	if (bq_schema_ensure(s, err) < 0)
		goto done;
	*out = &s->base;
	s = NULL;
	ret = 0;
	goto done;
too_long:
	err_set(err, ERR_CONFIG, 0, "store url too long");
done:
	buf_release(&b);
	bq_close(s ? &s->base : NULL);
	return ret;
}

/* "partitioned by F, clustered by A, B, C, partitions expire after N
 * days" from a table resource, or what is missing of the expected. */
static int table_layout(struct buf *b, const struct json *t, int is_events,
			int retention_days)
{
	const struct json *tp = json_get(t, "timePartitioning");
	const struct json *cl = json_get(json_get(t, "clustering"), "fields");
	const char *field = json_str(json_get(tp, "field"));
	const char *exp = json_str(json_get(tp, "expirationMs"));
	char want[32];
	size_t i;
	int rc = 0;

	if (!is_events)
		return buf_puts(b, "ok");
	if (!field || strcmp(field, "activity_date"))
		rc |= buf_puts(b, "NOT partitioned by activity_date");
	else
		rc |= buf_puts(b, "ok, partitioned by activity_date");
	rc |= buf_puts(b, json_len(cl) ? ", clustered by " : ", NOT clustered");
	for (i = 0; i < json_len(cl); i++)
		rc |= buf_printf(
		    b, "%s%s", i ? ", " : "",
		    json_str(json_at(cl, i)) ? json_str(json_at(cl, i)) : "?");
	if (json_len(cl) != 3 ||
	    strcmp(json_str(json_at(cl, 0)) ? json_str(json_at(cl, 0)) : "",
		   "contact_email") ||
	    strcmp(json_str(json_at(cl, 1)) ? json_str(json_at(cl, 1)) : "",
		   "campaign_id") ||
	    strcmp(json_str(json_at(cl, 2)) ? json_str(json_at(cl, 2)) : "",
		   "event_type"))
		rc |= buf_puts(b, " (expected contact_email, campaign_id, "
				  "event_type)");
	snprintf(want, sizeof(want), "%" PRId64,
		 (int64_t)retention_days * 86400000);
	if (exp)
		rc |= buf_printf(b, ", partitions expire after %lld days",
				 strtoll(exp, NULL, 10) / 86400000);
	else
		rc |= buf_puts(b, ", partitions never expire");
	if (retention_days > 0 ? !exp || strcmp(exp, want) : exp != NULL)
		rc |= buf_printf(b, " (ESPSYNC_RETENTION_DAYS says %d)",
				 retention_days);
	return rc;
}

/* What check shows: the identity, the dataset and each table's state. */
static int bq_describe(struct store *st, store_describe_fn fn, void *ctx,
		       struct err *err)
{
	struct bq_store *s = (struct bq_store *)st;
	const struct bq_cred *cr = &s->c.cred;
	const char *email = bq_cred_email(&s->c.cred, s->c.http);
	struct buf v = BUF_INIT, u = BUF_INIT;
	struct bq_resp r = {0, BUF_INIT, NULL, NULL};
	struct json_doc *doc = NULL;
	char label[64];
	size_t i, n;
	int rc = 0, ret = -1;

	if ((ret = fn(ctx, "account", email ? email : "(a user's login)")))
		goto done;
	ret = -1;
	n = cr->key_id ? strlen(cr->key_id) : 0;
	if (n >= 4 && buf_printf(&v, "...%s", cr->key_id + n - 4) < 0)
		goto too_long;
	if ((ret = fn(ctx, "key id", n >= 4 ? buf_str(&v) : "-")) ||
	    (ret = fn(ctx, "credentials", cr->source)))
		goto done;
	ret = -1;
	buf_reset(&v);
	if (buf_printf(&v, "%s.%s", s->c.project, s->c.dataset) < 0)
		goto too_long;
	if ((ret = fn(ctx, "dataset", buf_str(&v))) ||
	    (ret = fn(ctx, "location", s->c.location)))
		goto done;
	ret = -1;
	for (i = 0; i < BT__COUNT; i++) {
		const char *name = bq_tables[i].name;

		buf_reset(&u);
		buf_reset(&v);
		json_doc_free(doc);
		doc = NULL;
		bq_resp_release(&r);
		if (buf_printf(&u, "%s/projects/%s/datasets/%s/tables/%s",
			       s->c.api, s->c.project, s->c.dataset, name) < 0)
			goto too_long;
		if (bq_call(&s->c, "GET", buf_str(&u), NULL, NULL, 0, NULL, &r,
			    err) < 0)
			goto done;
		if (r.status == 404)
			rc = buf_puts(&v, "missing");
		else if (r.status / 100 != 2) {
			bq_fail(&s->c, &r, "describe", err);
			goto done;
		} else if (json_parse(&doc, r.body.data, r.body.len, NULL) < 0)
			rc = buf_puts(&v, "unreadable table resource");
		else
			rc = table_layout(&v, json_root(doc), i == BT_EVENTS,
					  s->retention_days);
		if (rc)
			goto too_long;
		snprintf(label, sizeof(label), "table %s", name);
		if ((ret = fn(ctx, label, buf_str(&v))))
			goto done;
		ret = -1;
	}
	ret = 0;
	goto done;
too_long:
	err_set(err, ERR_STORE, 0, "bigquery description too long");
done:
	json_doc_free(doc);
	bq_resp_release(&r);
	buf_release(&u);
	buf_release(&v);
	return ret;
}

static const char *const bq_schemes[] = {SCHEME, NULL};

static const struct store_keys bq_keys = {
    .name = "bigquery",
    .schemes = bq_schemes,
    .url_help = "bigquery://PROJECT/DATASET[?location=L]",
    .check_url = bq_check_url,
    .keys = bq_settings,
    .n_keys = BQS__COUNT,
};

const struct store_ops bigquery_store_backend_ops = {
    .name = "bigquery",
    .open = bq_open,
    .close = bq_close,
    .write_batch = bq_write_batch,
    .state_get = bq_state_get,
    .state_reset = bq_state_reset,
    .state_each = bq_state_each,
    .run_begin = bq_run_begin,
    .run_finish = bq_run_finish,
    .run_newest = bq_run_newest,
    .campaign_get = bq_campaign_get,
    .link_participants = bq_link_participants,
    .stats = bq_stats,
    .each_campaign = bq_each_campaign,
    .each_participant = bq_each_participant,
    .campaign_fields = bq_campaign_fields,
    .reconcile_contacts = bq_reconcile_contacts,
    .report_totals = bq_report_totals,
    .report_days = bq_report_days,
    .report_campaigns = bq_report_campaigns,
    .report_links = bq_report_links,
    .report_lists = bq_report_lists,
    .report_accounts = bq_report_accounts,
    .describe = bq_describe,
    .reconcile_contact_set = bq_reconcile_contact_set,
    .usage = bq_usage,
};

const struct store_backend bigquery_store_backend = {
    .keys = &bq_keys,
    .ops = &bigquery_store_backend_ops,
};
