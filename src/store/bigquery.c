/* The BigQuery store, bigquery://PROJECT/DATASET[?location=L]: opening
 * (credentials, the dataset and the schema), closing (a last flush) and
 * the ops table. Credentials and tokens live in bq_auth.c, the REST
 * client in bq_rest.c, the schema in bq_schema.c, writes in bq_write.c
 * and reads in bq_read.c. Settings come from the environment:
 * GOOGLE_APPLICATION_CREDENTIALS, BIGQUERY_API_URL (tests),
 * ESPSYNC_BQ_FLUSH_ROWS, ESPSYNC_BQ_FLUSH_SECONDS. */
#include "store/bq_internal.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define SCHEME "bigquery://"

static int64_t env_int(const char *name, int64_t dflt)
{
	const char *v = getenv(name);
	char *end;
	long long n;

	if (!v || !*v)
		return dflt;
	n = strtoll(v, &end, 10);
	return *end ? dflt : n;
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
			 " jobs, %" PRId64 " bytes uploaded",
			 s->c.requests, s->c.jobs, s->c.bytes_up);
	if (s->spool)
		fclose(s->spool);
	for (i = 0; i < s->n_cache; i++) {
		free(s->cache[i].stream);
		free(s->cache[i].value);
	}
	free(s->cache);
	free(s->cache_provider);
	free(s->cache_account);
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

static int bq_open(struct store **out, const char *url,
		   const struct store_options *opts, struct err *err)
{
	struct bq_store *s = NULL;
	const char *why, *p, *slash, *q, *root = getenv("BIGQUERY_API_URL");
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
	s->c.backoff_ms = (int)env_int("ESPSYNC_BQ_BACKOFF_MS", 1000);
	s->c.max_attempts = (int)env_int("ESPSYNC_BQ_ATTEMPTS", 6);
	if (s->c.max_attempts < 1)
		s->c.max_attempts = 1;
	s->flush_rows = env_int("ESPSYNC_BQ_FLUSH_ROWS", 100000);
	s->flush_seconds = env_int("ESPSYNC_BQ_FLUSH_SECONDS", 300);
	if (s->flush_rows < 1)
		s->flush_rows = 1;
	s->retention_days =
	    opts && opts->retention_days >= 0 ? opts->retention_days : 730;
	if (http_new(&s->c.http, 2, err) < 0)
		goto done;
	if (bq_cred_load(&s->c.cred, err) < 0)
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

static const char *const bq_schemes[] = {SCHEME, NULL};

static const struct store_keys bq_keys = {
    .name = "bigquery",
    .schemes = bq_schemes,
    .url_help = "bigquery://PROJECT/DATASET[?location=L]",
    .check_url = bq_check_url,
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
    .reconcile_contacts = NULL,
};

const struct store_backend bigquery_store_backend = {
    .keys = &bq_keys,
    .ops = &bigquery_store_backend_ops,
};
