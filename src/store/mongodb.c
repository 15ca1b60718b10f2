/* The MongoDB store: the connection, messages with secrets scrubbed, the
 * helpers every mongo_*.c file uses and the ops table. What each op does
 * lives in mongo_schema.c (indexes), mongo_write.c (batches, participant
 * links, deletion marks) and mongo_read.c (state, runs, export, stats). */
#include "store/mongo_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/xalloc.h"
#include "util/banned.h"

const char *const mg_coll_names[K__COUNT] = {
    [K_CAMPAIGNS] = "campaigns",       [K_LINKS] = "campaign_links",
    [K_PARTICIPANTS] = "participants", [K_EVENTS] = "email_activities",
    [K_CONTACTS] = "contacts",	       [K_LISTS] = "lists",
    [K_STATE] = "sync_state",	       [K_RUNS] = "sync_runs",
    [K_LEASES] = "sync_leases",
};

/* ---- messages ---------------------------------------------------------- */

int mg_err(struct err *err, const struct mongo_store *s, const char *what,
	   const bson_error_t *e)
{
	struct buf m = BUF_INIT;

	store_driver_msg(&m, e ? e->message : NULL, &s->secrets);
	err_set(err, ERR_STORE, e ? (int)e->code : 0,
		"cannot %s mongodb store '%s': %s", what, s->safe, buf_str(&m));
	buf_release(&m);
	return -1;
}

/* Driver log lines go to our debug log (they never hold the password). */
static void log_handler(mongoc_log_level_t level, const char *domain,
			const char *message, void *ctx)
{
	(void)ctx;
	if (level <= MONGOC_LOG_LEVEL_WARNING)
		log_debug("mongodb %s: %s", domain, message);
}

/* ---- helpers ----------------------------------------------------------- */

/* ---- reads ------------------------------------------------------------- */

void mg_filter_owner(bson_t *f, const char *provider, const char *account)
{
	if (provider)
		BSON_APPEND_UTF8(f, "provider", provider);
	if (account)
		BSON_APPEND_UTF8(f, "account", account);
}

void mg_append_owner(bson_t *d, const char *provider, const char *account)
{
	bson_value_t p = mg_str(provider), a = mg_str(account);

	BSON_APPEND_VALUE(d, "provider", &p);
	BSON_APPEND_VALUE(d, "account", &a);
}

int64_t mg_reply_int(const bson_t *reply, const char *name)
{
	bson_iter_t it;

	if (!bson_iter_init_find(&it, reply, name) ||
	    !BSON_ITER_HOLDS_NUMBER(&it))
		return 0;
	return bson_iter_as_int64(&it);
}

/* Sort spec "a,b,c" ascending, or "-run_id" descending. */
mongoc_cursor_t *mg_find_docs(struct mongo_store *s, enum coll_id c,
			      const bson_t *filter, const char *sort,
			      int64_t limit)
{
	bson_t opts = BSON_INITIALIZER, srt;
	mongoc_cursor_t *cur;
	char *keys = xstrdup(sort ? sort : ""), *p = keys, *k;

	if (*keys) {
		BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &srt);
		while ((k = p) != NULL) {
			int dir = 1;

			p = strchr(p, ',');
			if (p)
				*p++ = '\0';
			if (*k == '-') {
				dir = -1;
				k++;
			}
			BSON_APPEND_INT32(&srt, k, dir);
		}
		bson_append_document_end(&opts, &srt);
	}
	if (limit > 0)
		BSON_APPEND_INT64(&opts, "limit", limit);
	cur = mongoc_collection_find_with_opts(s->coll[c], filter, &opts, NULL);
	bson_destroy(&opts);
	free(keys);
	return cur;
}

/* First document of a query, copied into *out; *found = 0 if none. */
int mg_find_one(struct mongo_store *s, enum coll_id c, const bson_t *filter,
		const char *sort, bson_t *out, int *found, struct err *err,
		const char *what)
{
	mongoc_cursor_t *cur = mg_find_docs(s, c, filter, sort, 1);
	const bson_t *doc;
	bson_error_t e;
	int ret = -1;

	*found = 0;
	bson_init(out);
	if (mongoc_cursor_next(cur, &doc)) {
		bson_destroy(out);
		bson_copy_to(doc, out);
		*found = 1;
	}
	if (mongoc_cursor_error(cur, &e)) {
		mg_err(err, s, what, &e);
		goto done;
	}
	ret = 0;
done:
	mongoc_cursor_destroy(cur);
	return ret;
}

/* ---- open, close ------------------------------------------------------- */

static void mg_close(struct store *store)
{
	struct mongo_store *s = (struct mongo_store *)store;
	size_t i;

	if (!s)
		return;
	for (i = 0; i < K__COUNT; i++)
		if (s->coll[i])
			mongoc_collection_destroy(s->coll[i]);
	if (s->db)
		mongoc_database_destroy(s->db);
	if (s->client)
		mongoc_client_destroy(s->client);
	free(s->safe);
	store_secrets_release(&s->secrets);
	free(s);
}

static void uri_default_ms(mongoc_uri_t *uri, const char *opt, int32_t ms)
{
	if (!mongoc_uri_has_option(uri, opt))
		mongoc_uri_set_option_as_int32(uri, opt, ms);
}

static int mg_open(struct store **out, const char *url,
		   const struct store_options *opts, struct err *err)
{
	struct mongo_store *s = xcalloc(1, sizeof(*s));
	mongoc_uri_t *uri = NULL;
	bson_t ping = BSON_INITIALIZER;
	bson_error_t e;
	const char *dbname;
	size_t i;
	int ret = -1;

	(void)opts;
	*out = NULL;
	s->base.ops = &mongodb_store_ops;
	s->safe = store_redact_url(url);
	store_secrets_init(&s->secrets, url);
	/* The handler first, so that nothing mongoc_init says reaches stderr
	 * in the driver's format. (Debian's libmongoc also initialises itself
	 * when loaded; a warning from that, before main, see the README's
	 * troubleshooting.) */
	mongoc_log_set_handler(log_handler, NULL);
	mongoc_init();
	uri = mongoc_uri_new_with_error(url, &e);
	if (!uri) {
		struct buf m = BUF_INIT;

		store_driver_msg(&m, e.message, &s->secrets);
		err_set(err, ERR_CONFIG, 0, "invalid mongodb store '%s': %s",
			s->safe, buf_str(&m));
		buf_release(&m);
		goto done;
	}
	uri_default_ms(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 3000);
	uri_default_ms(uri, MONGOC_URI_CONNECTTIMEOUTMS, 3000);
	if (!mongoc_uri_get_appname(uri))
		mongoc_uri_set_appname(uri, "espsync");
	s->client = mongoc_client_new_from_uri_with_error(uri, &e);
	if (!s->client) {
		mg_err(err, s, "open", &e);
		goto done;
	}
	mongoc_client_set_error_api(s->client, MONGOC_ERROR_API_VERSION_2);
	dbname = mongoc_uri_get_database(uri);
	if (!dbname || !*dbname)
		dbname = STORE_MONGODB_DEFAULT_DB;
	s->db = mongoc_client_get_database(s->client, dbname);
	for (i = 0; i < K__COUNT; i++)
		s->coll[i] =
		    mongoc_database_get_collection(s->db, mg_coll_names[i]);
	BSON_APPEND_INT32(&ping, "ping", 1);
	if (!mongoc_database_command_simple(s->db, &ping, NULL, NULL, &e)) {
		mg_err(err, s, "reach", &e);
		goto done;
	}
	if (mg_create_indexes(s, err) < 0)
		goto done;
	*out = &s->base;
	s = NULL;
	ret = 0;
done:
	bson_destroy(&ping);
	mongoc_uri_destroy(uri);
	mg_close(s ? &s->base : NULL);
	return ret;
}

static const char *mg_check_url(const char *url)
{
	const char *rest = strstr(url, "://");

	return rest && rest[3] ? NULL : "has no host";
}

/* The earlier tool's settings: a connection URL, else host, port and
 * database. */
static const struct option_def mg_seed_keys[] = {
    {.key = "MONGO_CONNECTION_URL",
     .kind = OPTK_STORE_URL,
     .help = "earlier tool's mongodb connection url; used when no "
	     "store url is given"},
    {.key = "MONGODB_HOST",
     .kind = OPTK_HOST,
     .help = "earlier tool's mongodb host; used when no store url "
	     "is given"},
    {.key = "MONGODB_PORT",
     .kind = OPTK_INT,
     .def = "27017",
     .min = 1,
     .max = 65535,
     .help = "earlier tool's mongodb port"},
    {.key = "MONGODB_DATABASE",
     .kind = OPTK_ID,
     .help = "earlier tool's mongodb database"},
};

static int mg_seed_url(char *out, size_t size, const char *const *values)
{
	const char *url = values[0], *host = values[1], *port = values[2];
	const char *db = values[3];
	int n;

	if (url)
		n = snprintf(out, size, "%s", url);
	else if (host)
		n = snprintf(out, size, "mongodb://%s:%s%s%s", host,
			     port ? port : "27017", db ? "/" : "",
			     db ? db : "");
	else
		return -1;
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

static const struct option_def mg_seed_flag = {
    .flag = "mongo-url",
    .arg = "URL",
    .kind = OPTK_STORE_URL,
    .commands = CMDB_SEED,
    .flags = OPTF_ALIAS,
    .alias_of = OPT_STORE,
    .help = "same as --store",
};

static const char *const mg_schemes[] = {"mongodb://", "mongodb+srv://", NULL};

static const struct store_keys mg_keys = {
    .name = "mongodb",
    .schemes = mg_schemes,
    .url_help = "mongodb://...",
    .check_url = mg_check_url,
    .seed_keys = mg_seed_keys,
    .n_seed_keys = sizeof(mg_seed_keys) / sizeof(mg_seed_keys[0]),
    .seed_url = mg_seed_url,
    .seed_flag = &mg_seed_flag,
};

const struct store_ops mongodb_store_ops = {
    .name = "mongodb",
    .open = mg_open,
    .close = mg_close,
    .write_batch = mg_write_batch,
    .state_get = mg_state_get,
    .state_reset = mg_state_reset,
    .state_each = mg_state_each,
    .run_begin = mg_run_begin,
    .run_finish = mg_run_finish,
    .run_newest = mg_run_newest,
    .run_heartbeat = mg_run_heartbeat,
    .run_reap = mg_run_reap,
    .lease_take = mg_lease_take,
    .lease_drop = mg_lease_drop,
    .campaign_get = mg_campaign_get,
    .link_participants = mg_link_participants,
    .stats = mg_stats,
    .each_campaign = mg_each_campaign,
    .each_participant = mg_each_participant,
    .campaign_fields = mg_campaign_fields,
    .reconcile_contacts = mg_reconcile_contacts,
    .report_totals = mg_report_totals,
    .report_days = mg_report_days,
    .report_campaigns = mg_report_campaigns,
    .report_links = mg_report_links,
    .report_lists = mg_report_lists,
    .report_accounts = mg_report_accounts,
    .reconcile_contact_set = mg_reconcile_contact_set,
};

const struct store_backend mongodb_store_backend = {
    .keys = &mg_keys,
    .ops = &mongodb_store_ops,
};
