/* SQLite store: schema and version, idempotent upserts and their counts,
 * synced_at only on change, flag OR-ing, rollback of failed batches, state,
 * runs, stats, reads, and store URL dispatch/redaction. The raw sqlite3 API
 * is used only to look at and poke the file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store/sqlite.h"
#include "store/store.h"

struct fixture {
	char dir[64];
	char path[128];
	struct store *s;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct err err = ERR_INIT;

	snprintf(f->dir, sizeof(f->dir), "/tmp/espsync-sqlite-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	/* A missing parent directory must be created. */
	snprintf(f->path, sizeof(f->path), "%s/sub/dir/t.db", f->dir);
	if (sqlite_store_ops.open(&f->s, f->path, NULL, &err) < 0) {
		fprintf(stderr, "open: %s\n", err.msg);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[200];

	store_close(f->s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* First column of the first row of sql on a second connection, or "" when
 * NULL / no row. */
static void raw_query(const char *path, const char *sql, char *out, size_t size)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	out[0] = '\0';
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(out, size, "%s",
			 (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static int64_t raw_int(const char *path, const char *sql)
{
	char buf[64];

	raw_query(path, sql, buf, sizeof(buf));
	return strtoll(buf, NULL, 10);
}

static int write_b(struct store *s, const struct batch *b,
		   struct store_counts *c)
{
	struct err err = ERR_INIT;
	int rc = s->ops->write_batch(s, b, c, &err);

	if (rc)
		fprintf(stderr, "write_batch: %s\n", err.msg);
	return rc;
}

/* One record of every kind. */
static void fill_batch(struct batch *b)
{
	struct rec_campaign *c = batch_add_campaign(b);
	struct rec_link *l = batch_add_link(b);
	struct rec_participant *p = batch_add_participant(b);
	struct rec_event *e = batch_add_event(b);
	struct rec_contact *ct = batch_add_contact(b);
	struct rec_list *li = batch_add_list(b);

	c->campaign_id = "c1";
	c->name = "November Newsletter";
	c->subject = "Savings";
	c->status = "sent";
	c->created_at = 1730419200; /* 2024-11-01 */
	c->sent_at = 1731664800;    /* 2024-11-15T10:00:00Z */
	c->to_lists_json = "[\"l1\"]";
	c->has_stats = 1;
	c->stats.sent = 1000;
	c->stats.opened_unique = 450;
	l->campaign_id = "c1";
	l->url = "https://example.com/";
	l->clicked_total = 5;
	l->clicked_unique = 4;
	p->campaign_id = "c1";
	p->contact_id = "k1";
	p->email = "john@example.com";
	p->flags = ENG_SENT | ENG_OPENED;
	e->campaign_id = "c1";
	e->contact_id = "k1";
	e->contact_email = "john@example.com";
	e->type = EV_OPEN;
	e->ts = 1731668400;
	e->times = 1;
	event_make_id(e, b->provider, b->account);
	ct->contact_id = "k1";
	ct->email = "john@example.com";
	ct->status = "subscribed";
	ct->fields_json = "{\"FirstName\":\"John\"}";
	li->list_id = "l1";
	li->name = "Main";
	li->fields_json = "[{\"tag\":\"FirstName\"}]";
	li->subscribed = 10;
}

static void expect_columns(const char *path, const char *table,
			   const char *want)
{
	char sql[256], got[1024];

	snprintf(sql, sizeof(sql),
		 "SELECT group_concat(name, ',') FROM pragma_table_info('%s')",
		 table);
	raw_query(path, sql, got, sizeof(got));
	assert_string_equal(got, want);
}

#define TEXT_OF(x) #x
#define TEXT_OF_VALUE(x) TEXT_OF(x)
#define SCHEMA_VERSION_TEXT TEXT_OF_VALUE(STORE_SQLITE_SCHEMA_VERSION)

static void test_schema_created(void **state)
{
	struct fixture *f = *state;
	char v[64];

	raw_query(f->path,
		  "SELECT value FROM meta WHERE key = 'schema_version'", v,
		  sizeof(v));
	assert_string_equal(v, SCHEMA_VERSION_TEXT);
	raw_query(f->path, "PRAGMA journal_mode", v, sizeof(v));
	assert_string_equal(v, "wal");
	expect_columns(f->path, "campaigns",
		       "provider,account,campaign_id,name,subject,from_name,"
		       "from_email,status,created_at,sent_at,to_lists,sent,"
		       "opened_unique,opened_total,clicked_unique,"
		       "clicked_total,bounced_hard,bounced_soft,complained,"
		       "unsubscribed,synced_at,verified_opens,"
		       "verified_unique_opens");
	expect_columns(f->path, "campaign_links",
		       "provider,account,campaign_id,url,clicked_total,"
		       "clicked_unique,synced_at");
	expect_columns(f->path, "participants",
		       "provider,account,campaign_id,contact_id,email_address,"
		       "status,fields,sent,opened,clicked,bounced,complained,"
		       "unsubscribed,synced_at");
	expect_columns(f->path, "email_activities",
		       "event_id,provider,account,campaign_id,campaign_name,"
		       "contact_id,contact_email,event_type,"
		       "activity_timestamp,activity_date,times,link_url,"
		       "bounce_type,created_at,updated_at");
	expect_columns(f->path, "contacts",
		       "provider,account,contact_id,email,first_name,"
		       "last_name,phone,status,fields,tags,lists,created_at,"
		       "updated_at,deleted_at,synced_at");
	expect_columns(f->path, "lists",
		       "provider,account,list_id,name,fields,tags,subscribed,"
		       "unsubscribed,pending,created_at,updated_at,synced_at");
	expect_columns(f->path, "sync_state",
		       "provider,account,stream,value,updated_at");
	expect_columns(f->path, "sync_runs",
		       "run_id,provider,account,started_at,finished_at,status,"
		       "requests,retries,throttled,records,error,host,pid,"
		       "heartbeat_at");
	expect_columns(f->path, "sync_leases",
		       "provider,account,host,pid,since,heartbeat_at");
}

static void test_reopen_keeps_data(void **state)
{
	struct fixture *f = *state;
	struct err err = ERR_INIT;
	struct batch b;
	struct store_counts c;

	batch_init(&b, "emailoctopus", "default");
	fill_batch(&b);
	assert_int_equal(write_b(f->s, &b, &c), 0);
	store_close(f->s);
	assert_int_equal(store_open(&f->s, f->path, &err), 0);
	assert_int_equal(write_b(f->s, &b, &c), 0);
	assert_int_equal(c.inserted, 0);
	assert_int_equal(c.unchanged, 6);
	batch_release(&b);
}

static void test_newer_version_refused(void **state)
{
	struct fixture *f = *state;
	struct err err = ERR_INIT;
	struct store *s = NULL;

	store_close(f->s);
	f->s = NULL;
	raw_exec(f->path, "UPDATE meta SET value = '99'"
			  " WHERE key = 'schema_version'");
	assert_int_equal(sqlite_store_ops.open(&s, f->path, NULL, &err), -1);
	assert_null(s);
	assert_int_equal(err.kind, ERR_STORE);
	assert_non_null(strstr(err.msg, "newer"));
	assert_non_null(strstr(err.msg, f->path));
	raw_exec(f->path, "UPDATE meta SET value = '" SCHEMA_VERSION_TEXT "'"
			  " WHERE key = 'schema_version'");
	assert_int_equal(sqlite_store_ops.open(&f->s, f->path, NULL, &err), 0);
}

/* A version 1 database gets migrations 2, 3 and 4 (verified opens, the
 * report's event index, run liveness and the sync lease). */
static void test_migrates_version_1(void **state)
{
	struct fixture *f = *state;
	struct err err = ERR_INIT;
	char v[64];

	store_close(f->s);
	f->s = NULL;
	raw_exec(f->path,
		 "DROP INDEX email_activities_day;"
		 " ALTER TABLE campaigns DROP COLUMN verified_opens;"
		 " ALTER TABLE campaigns DROP COLUMN"
		 " verified_unique_opens;"
		 " DROP INDEX sync_runs_status; DROP TABLE sync_leases;"
		 " ALTER TABLE sync_runs DROP COLUMN host;"
		 " ALTER TABLE sync_runs DROP COLUMN pid;"
		 " ALTER TABLE sync_runs DROP COLUMN heartbeat_at;"
		 " UPDATE meta SET value = '1'"
		 " WHERE key = 'schema_version'");
	assert_int_equal(sqlite_store_ops.open(&f->s, f->path, NULL, &err), 0);
	raw_query(f->path,
		  "SELECT value FROM meta WHERE key = 'schema_version'", v,
		  sizeof(v));
	assert_string_equal(v, SCHEMA_VERSION_TEXT);
	raw_query(f->path,
		  "SELECT group_concat(name) FROM pragma_index_info("
		  "'email_activities_day')",
		  v, sizeof(v));
	assert_string_equal(v, "activity_date,event_type,provider,account");
}

static void test_open_errors(void **state)
{
	struct fixture *f = *state;
	struct err err = ERR_INIT;
	struct store *s = NULL;
	char path[200];
	FILE *fp;

	/* The parent "directory" is a regular file. */
	snprintf(path, sizeof(path), "%s/plain", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("this is not a database, just some text that is long enough "
	      "to not look like an empty file at all................\n",
	      fp);
	fclose(fp);
	snprintf(path, sizeof(path), "%s/plain/x.db", f->dir);
	assert_int_equal(sqlite_store_ops.open(&s, path, NULL, &err), -1);
	assert_int_equal(err.kind, ERR_STORE);
	assert_non_null(strstr(err.msg, "cannot open store '"));
	assert_non_null(strstr(err.msg, "not a directory"));

	snprintf(path, sizeof(path), "%s/plain", f->dir);
	err_clear(&err);
	assert_int_equal(sqlite_store_ops.open(&s, path, NULL, &err), -1);
	assert_int_equal(err.kind, ERR_STORE);
	assert_non_null(strstr(err.msg, "cannot open store '"));
	assert_non_null(strstr(err.msg, "not a database"));
	assert_null(s);
}

static void test_store_open_dispatch(void **state)
{
	static const struct {
		const char *url;
		enum err_kind kind;
		const char *msg_has;
	} cases[] = {
	    /* Nothing listens on port 1: the PostgreSQL backend fails fast. */
	    {"postgresql://u:s3cret@127.0.0.1:1/espsync", ERR_STORE,
	     "store 'postgresql://u:***@127.0.0.1:1/espsync'"},
	    {"postgres://127.0.0.1:1/x?retention_days=x", ERR_CONFIG,
	     "retention_days"},
	    /* Nothing listens on port 1: the MongoDB backend fails fast. */
	    {"mongodb://u:s3cret@127.0.0.1:1/db", ERR_STORE,
	     "mongodb store 'mongodb://u:***@127.0.0.1:1/db'"},
	    {"mongodb+srv://u:s3cret@h:1", ERR_CONFIG, "***"},
	    {"mysql://h/db", ERR_CONFIG, "unknown store 'mysql://h/db'"},
	    {"data/espsync.sqlite", ERR_CONFIG, "unknown store"},
	    {"", ERR_CONFIG, "no store"},
	    {"sqlite:", ERR_CONFIG, "names no file"},
	};
	struct fixture *f = *state;
	struct store *s = NULL;
	char url[200];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct err err = ERR_INIT;

		assert_int_equal(store_open(&s, cases[i].url, &err), -1);
		assert_null(s);
		assert_int_equal(err.kind, cases[i].kind);
		assert_non_null(strstr(err.msg, cases[i].msg_has));
		assert_null(strstr(err.msg, "s3cret"));
	}
	snprintf(url, sizeof(url), "sqlite:%s/a.db", f->dir);
	assert_int_equal(store_open(&s, url, NULL), 0);
	assert_string_equal(s->ops->name, "sqlite");
	store_close(s);
	snprintf(url, sizeof(url), "%s/b/c.db", f->dir);
	assert_int_equal(store_open(&s, url, NULL), 0);
	store_close(s);
	store_close(NULL);
}

static void test_redact_url(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"postgresql://user:pw@host:5432/db",
	     "postgresql://user:***@host:5432/db"},
	    {"postgresql://user@host/db", "postgresql://user@host/db"},
	    {"postgresql://host/db?user=u&password=pw&sslmode=require",
	     "postgresql://host/db?user=u&password=***&sslmode=require"},
	    {"mongodb://u:p@ss/w?rd@h1,h2/db", "mongodb://u:***@h1,h2/db"},
	    {"sqlite:data/espsync.db", "sqlite:data/espsync.db"},
	    {"mongodb://h/db?password=x", "mongodb://h/db?password=***"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = store_redact_url(cases[i].in);

		assert_string_equal(got, cases[i].want);
		free(got);
	}
}

/* The tag list every store's campaign_fields builds (store.c). */
static void test_store_tags(void **state)
{
	static const char *const tags[] = {"a",	   "b",	 NULL, "",     "a",
					   "x\ny", "ab", "b",  "\"q\""};
	struct buf out = BUF_INIT;
	struct store_tags t;
	size_t i;

	(void)state;
	store_tags_init(&t, &out);
	for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
		assert_int_equal(store_tags_add(&t, tags[i]), 0);
	store_tags_release(&t, 1);
	assert_string_equal(buf_str(&out),
			    "[\"a\",\"b\",\"ab\",\"\\\"q\\\"\"]");
	store_tags_init(&t, &out);
	assert_int_equal(store_tags_add(&t, "a"), 0);
	store_tags_release(&t, 0);
	assert_string_equal(buf_str(&out), "[]");
	buf_release(&out);
}

/* A tag that leaves no room for the closing bracket is refused, so the
 * list is never written cut ("[\"a\"" without its "]"). */
static void test_store_tags_full(void **state)
{
	struct buf out;
	struct store_tags t;

	(void)state;
	buf_init(&out, 5);
	store_tags_init(&t, &out);
	assert_int_equal(store_tags_add(&t, "a"), 0);
	store_tags_release(&t, 1);
	assert_string_equal(buf_str(&out), "[\"a\"]");
	buf_release(&out);
	buf_init(&out, 4);
	store_tags_init(&t, &out);
	assert_int_equal(store_tags_add(&t, "a"), -1);
	store_tags_release(&t, 0);
	assert_string_equal(buf_str(&out), "[]");
	buf_release(&out);
}

static void test_upsert_idempotent(void **state)
{
	struct fixture *f = *state;
	struct batch b;
	struct store_counts c;

	batch_init(&b, "emailoctopus", "default");
	fill_batch(&b);
	assert_int_equal(write_b(f->s, &b, &c), 0);
	assert_int_equal(c.inserted, 6);
	assert_int_equal(c.updated, 0);
	assert_int_equal(c.unchanged, 0);
	assert_int_equal(write_b(f->s, &b, &c), 0);
	assert_int_equal(c.inserted, 0);
	assert_int_equal(c.updated, 0);
	assert_int_equal(c.unchanged, 6);
	assert_int_equal(c.failed, 0);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM campaigns"), 1);
	/* Another account is another row. */
	b.account = "second";
	assert_int_equal(write_b(f->s, &b, &c), 0);
	assert_int_equal(c.inserted, 5); /* event ids were made for default */
	assert_int_equal(c.unchanged, 1);
	batch_release(&b);
}

static void test_stored_values(void **state)
{
	struct fixture *f = *state;
	struct batch b;
	struct store_counts c;
	char v[128];

	batch_init(&b, "emailoctopus", "default");
	fill_batch(&b);
	assert_int_equal(write_b(f->s, &b, &c), 0);
	raw_query(f->path, "SELECT sent_at FROM campaigns", v, sizeof(v));
	assert_string_equal(v, "2024-11-15T10:00:00Z");
	raw_query(f->path,
		  "SELECT activity_timestamp || ' ' || activity_date || ' ' ||"
		  " event_type || ' ' || times FROM email_activities",
		  v, sizeof(v));
	assert_string_equal(v, "2024-11-15T11:00:00Z 2024-11-15 open 1");
	raw_query(f->path, "SELECT event_id FROM email_activities", v,
		  sizeof(v));
	assert_string_equal(v, b.events[0].event_id);
	raw_query(f->path, "SELECT sent || opened || clicked FROM participants",
		  v, sizeof(v));
	assert_string_equal(v, "110");
	raw_query(f->path, "SELECT ifnull(pending, 'null') FROM lists", v,
		  sizeof(v));
	assert_string_equal(v, "null");
	raw_query(f->path, "SELECT synced_at FROM campaigns", v, sizeof(v));
	assert_int_equal(strlen(v), 20);
	assert_int_equal(v[19], 'Z');
	batch_release(&b);
}

static void test_changed_row_updates_synced_at(void **state)
{
	struct fixture *f = *state;
	struct batch b;
	struct store_counts c;
	char v[64];

	batch_init(&b, "emailoctopus", "default");
	fill_batch(&b);
	assert_int_equal(write_b(f->s, &b, &c), 0);
	raw_exec(f->path, "UPDATE campaigns SET synced_at = 'old';"
			  " UPDATE contacts SET synced_at = 'old';"
			  " UPDATE email_activities SET updated_at = 'old'");
	assert_int_equal(write_b(f->s, &b, &c), 0);
	assert_int_equal(c.updated, 0);
	raw_query(f->path, "SELECT synced_at FROM campaigns", v, sizeof(v));
	assert_string_equal(v, "old");

	b.campaigns[0].name = "Renamed";
	b.events[0].times = 3;
	assert_int_equal(write_b(f->s, &b, &c), 0);
	assert_int_equal(c.updated, 2);
	assert_int_equal(c.unchanged, 4);
	raw_query(f->path, "SELECT name || ' ' || synced_at FROM campaigns", v,
		  sizeof(v));
	assert_non_null(strstr(v, "Renamed 2"));
	raw_query(f->path, "SELECT synced_at FROM contacts", v, sizeof(v));
	assert_string_equal(v, "old");
	raw_query(f->path, "SELECT times || updated_at FROM email_activities",
		  v, sizeof(v));
	assert_int_equal(v[0], '3');
	assert_string_not_equal(v + 1, "old");
	batch_release(&b);
}

/* NULL means unknown: it never erases a stored value, and has_stats = 0
 * leaves statistics alone. */
static void test_null_keeps_stored(void **state)
{
	struct fixture *f = *state;
	struct batch b;
	struct store_counts c;
	struct rec_campaign *r;
	char v[128];

	batch_init(&b, "emailoctopus", "default");
	fill_batch(&b);
	assert_int_equal(write_b(f->s, &b, &c), 0);
	batch_clear(&b);
	r = batch_add_campaign(&b);
	r->campaign_id = "c1";
	assert_int_equal(write_b(f->s, &b, &c), 0);
	assert_int_equal(c.unchanged, 1);
	r->has_stats = 1;
	r->stats.sent = 1001;
	assert_int_equal(write_b(f->s, &b, &c), 0);
	assert_int_equal(c.updated, 1);
	raw_query(f->path,
		  "SELECT name || ' ' || sent || ' ' || opened_unique || ' ' ||"
		  " sent_at FROM campaigns",
		  v, sizeof(v));
	assert_string_equal(v,
			    "November Newsletter 1001 0 2024-11-15T10:00:00Z");
	batch_release(&b);
}

static void test_participant_flags_or(void **state)
{
	struct fixture *f = *state;
	struct batch b;
	struct store_counts c;
	struct rec_participant *p;
	char v[128];

	batch_init(&b, "emailoctopus", "default");
	p = batch_add_participant(&b);
	p->campaign_id = "c1";
	p->contact_id = "k1";
	p->email = "a@example.com";
	p->flags = ENG_OPENED;
	assert_int_equal(write_b(f->s, &b, &c), 0);
	p->flags = ENG_CLICKED;
	p->email = NULL;
	assert_int_equal(write_b(f->s, &b, &c), 0);
	assert_int_equal(c.updated, 1);
	p->flags = 0;
	assert_int_equal(write_b(f->s, &b, &c), 0);
	assert_int_equal(c.unchanged, 1);
	p->flags = ENG_OPENED | ENG_BOUNCED | ENG_COMPLAINED |
		   ENG_UNSUBSCRIBED | ENG_SENT;
	assert_int_equal(write_b(f->s, &b, &c), 0);
	assert_int_equal(c.updated, 1);
	raw_query(f->path,
		  "SELECT email_address || sent || opened || clicked ||"
		  " bounced || complained || unsubscribed FROM participants",
		  v, sizeof(v));
	assert_string_equal(v, "a@example.com111111");
	batch_release(&b);
}

static void test_failed_batch_rolls_back(void **state)
{
	struct fixture *f = *state;
	struct err err = ERR_INIT;
	struct batch b;
	struct store_counts c;
	struct rec_participant *p;
	struct buf v = BUF_INIT;
	int found = 1;

	batch_init(&b, "emailoctopus", "default");
	fill_batch(&b);
	batch_add_state(&b, "campaigns", "{\"cursor\":\"x\"}");
	p = batch_add_participant(&b);
	p->campaign_id = "c1"; /* contact_id NULL violates NOT NULL */
	assert_int_equal(f->s->ops->write_batch(f->s, &b, &c, &err), -1);
	assert_int_equal(err.kind, ERR_STORE);
	assert_non_null(strstr(err.msg, "participants"));
	assert_int_equal(c.inserted, 0);
	assert_int_equal(c.failed, 7);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM campaigns"), 0);
	assert_int_equal(f->s->ops->state_get(f->s, "emailoctopus", "default",
					      "campaigns", &v, &found, &err),
			 0);
	assert_int_equal(found, 0);
	/* The store is usable afterwards. */
	b.n_participants = 1;
	assert_int_equal(write_b(f->s, &b, &c), 0);
	assert_int_equal(c.inserted, 6);
	assert_int_equal(f->s->ops->state_get(f->s, "emailoctopus", "default",
					      "campaigns", &v, &found, &err),
			 0);
	assert_int_equal(found, 1);
	assert_string_equal(buf_str(&v), "{\"cursor\":\"x\"}");
	buf_release(&v);
	batch_release(&b);
}

struct collected {
	char text[512];
	int stop_after;
	int n;
};

static int collect_state(void *ctx, const struct state_row *row)
{
	struct collected *col = ctx;
	size_t len = strlen(col->text);

	snprintf(col->text + len, sizeof(col->text) - len, "%s/%s/%s=%s;",
		 row->provider, row->account, row->stream, row->value);
	assert_true(row->updated_at > 1700000000);
	return ++col->n == col->stop_after ? 42 : 0;
}

static void test_state_ops(void **state)
{
	struct fixture *f = *state;
	struct err err = ERR_INIT;
	struct batch b;
	struct collected col = {"", 0, 0};
	struct buf v = BUF_INIT;
	int64_t removed = 0;
	int found;

	batch_init(&b, "emailoctopus", "default");
	batch_add_state(&b, "reports:c1:opened", "1");
	batch_add_state(&b, "campaigns", "2");
	batch_add_state(&b, "reports:c2:sent", "3");
	assert_int_equal(write_b(f->s, &b, NULL), 0);
	batch_clear(&b);
	batch_add_state(&b, "campaigns", "4");
	batch_add_state(&b, "reports:c2:sent", NULL);
	assert_int_equal(write_b(f->s, &b, NULL), 0);
	b.provider = "activecampaign";
	assert_int_equal(write_b(f->s, &b, NULL), 0);

	assert_int_equal(
	    f->s->ops->state_each(f->s, NULL, collect_state, &col, &err), 0);
	assert_string_equal(col.text,
			    "activecampaign/default/campaigns=4;"
			    "emailoctopus/default/campaigns=4;"
			    "emailoctopus/default/reports:c1:opened=1;");
	col.text[0] = '\0';
	col.n = 0;
	col.stop_after = 1;
	assert_int_equal(f->s->ops->state_each(f->s, "emailoctopus",
					       collect_state, &col, &err),
			 42);
	assert_string_equal(col.text, "emailoctopus/default/campaigns=4;");

	assert_int_equal(f->s->ops->state_reset(f->s, "emailoctopus",
						"reports:", &removed, &err),
			 0);
	assert_int_equal(removed, 1);
	assert_int_equal(f->s->ops->state_get(f->s, "emailoctopus", "default",
					      "campaigns", &v, &found, &err),
			 0);
	assert_int_equal(found, 1);
	assert_string_equal(buf_str(&v), "4");
	assert_int_equal(
	    f->s->ops->state_reset(f->s, NULL, NULL, &removed, &err), 0);
	assert_int_equal(removed, 2);
	assert_int_equal(f->s->ops->state_get(f->s, "emailoctopus", "default",
					      "campaigns", &v, &found, &err),
			 0);
	assert_int_equal(found, 0);
	assert_string_equal(buf_str(&v), "");
	buf_release(&v);
	batch_release(&b);
}

static void test_runs(void **state)
{
	struct fixture *f = *state;
	struct err err = ERR_INIT;
	struct arena a = ARENA_INIT;
	struct run_row r = {0}, r2 = {0}, got;
	char host[128];
	int found = 1;

	assert_int_equal(store_run_last(f->s, NULL, &got, &a, &found, &err), 0);
	assert_int_equal(found, 0);
	r.provider = "emailoctopus";
	r.account = "default";
	/* a run of a live process: store_run_last shows it running */
	r.started_at = (int64_t)time(NULL) - 60;
	r.host = host;
	r.pid = (int64_t)getpid();
	store_host_name(host, sizeof(host));
	assert_int_equal(f->s->ops->run_begin(f->s, &r, &err), 0);
	assert_true(r.run_id > 0);
	r2.provider = "activecampaign";
	r2.started_at = TIME_NULL;
	assert_int_equal(f->s->ops->run_begin(f->s, &r2, &err), 0);
	assert_true(r2.run_id > r.run_id);
	assert_true(r2.started_at > 1700000000);

	assert_int_equal(
	    store_run_last(f->s, "emailoctopus", &got, &a, &found, &err), 0);
	assert_int_equal(found, 1);
	assert_int_equal(got.run_id, r.run_id);
	assert_int_equal(got.status, RUN_RUNNING);
	assert_int_equal(got.finished_at, TIME_NULL);
	assert_int_equal(got.started_at, r.started_at);
	assert_int_equal(got.heartbeat_at, r.started_at);
	assert_int_equal(got.pid, getpid());
	assert_string_equal(got.host, host);
	assert_null(got.error);

	r.status = RUN_PARTIAL;
	r.finished_at = 1731665000;
	r.requests = 12;
	r.retries = 2;
	r.throttled = 1;
	r.records_json = "{\"campaigns\":3}";
	r.error = "time budget reached";
	assert_int_equal(f->s->ops->run_finish(f->s, &r, &err), 0);
	assert_int_equal(
	    store_run_last(f->s, "emailoctopus", &got, &a, &found, &err), 0);
	assert_int_equal(got.status, RUN_PARTIAL);
	assert_int_equal(got.finished_at, 1731665000);
	assert_int_equal(got.requests, 12);
	assert_int_equal(got.retries, 2);
	assert_int_equal(got.throttled, 1);
	assert_string_equal(got.records_json, "{\"campaigns\":3}");
	assert_string_equal(got.error, "time budget reached");
	assert_string_equal(got.account, "default");
	assert_int_equal(store_run_last(f->s, NULL, &got, &a, &found, &err), 0);
	assert_int_equal(got.run_id, r2.run_id);
	assert_null(got.account);

	assert_int_equal(store_run_last_status(f->s, NULL, RUN_PARTIAL, &got,
					       &a, &found, &err),
			 0);
	assert_int_equal(found, 1);
	assert_int_equal(got.run_id, r.run_id);
	assert_int_equal(store_run_last_status(f->s, "emailoctopus",
					       RUN_COMPLETE, &got, &a, &found,
					       &err),
			 0);
	assert_int_equal(found, 0);

	r.run_id = 999;
	assert_int_equal(f->s->ops->run_finish(f->s, &r, &err), -1);
	assert_int_equal(err.kind, ERR_STORE);
	arena_release(&a);
}

/* The lease: a live holder makes lease_take ERR_BUSY naming it; a holder
 * whose pid is gone is taken over; run_reap marks the dead run and every
 * running run of the account it is called for. */
static void test_lease_and_reap(void **state)
{
	struct fixture *f = *state;
	struct err err = ERR_INIT;
	struct arena a = ARENA_INIT;
	struct lease_holder h;
	struct run_row r = {0}, got;
	char host[128], sql[512];
	int64_t marked = -1, now = (int64_t)time(NULL);
	int found = 0;

	store_host_name(host, sizeof(host));
	assert_int_equal(
	    f->s->ops->lease_take(f->s, "emailoctopus", "a", &h, &err), 0);
	/* taking it again from the same process is fine */
	assert_int_equal(
	    f->s->ops->lease_take(f->s, "emailoctopus", "a", &h, &err), 0);
	/* pid 1 is alive: its lease holds */
	snprintf(sql, sizeof(sql),
		 "UPDATE sync_leases SET pid = 1, host = '%s',"
		 " since = '2026-01-15T02:00:03Z',"
		 " heartbeat_at = strftime('%%Y-%%m-%%dT%%H:%%M:%%SZ', 'now')",
		 host);
	raw_exec(f->path, sql);
	memset(&h, 0, sizeof(h));
	assert_int_equal(
	    f->s->ops->lease_take(f->s, "emailoctopus", "a", &h, &err), -1);
	assert_int_equal(err.kind, ERR_BUSY);
	assert_int_equal(err_exit_code(&err), EXIT_BUSY);
	assert_int_equal(h.pid, 1);
	assert_string_equal(h.host, host);
	assert_int_equal(h.since, 1768442403);
	/* another account is free */
	assert_int_equal(
	    f->s->ops->lease_take(f->s, "emailoctopus", "b", &h, &err), 0);
	/* a pid no process has: the lease is taken over */
	raw_exec(f->path, "UPDATE sync_leases SET pid = 2147483646");
	assert_int_equal(
	    f->s->ops->lease_take(f->s, "emailoctopus", "a", &h, &err), 0);
	assert_int_equal(f->s->ops->lease_drop(f->s, "emailoctopus", "a", &err),
			 0);

	/* a running run of a dead pid, and one of a live one */
	r.provider = "activecampaign";
	r.account = "x";
	r.started_at = now - 30;
	r.host = host;
	r.pid = 2147483646;
	assert_int_equal(f->s->ops->run_begin(f->s, &r, &err), 0);
	assert_int_equal(
	    store_run_last(f->s, "activecampaign", &got, &a, &found, &err), 0);
	assert_int_equal(got.status, RUN_INTERRUPTED);
	r.provider = "emailoctopus";
	r.pid = 1;
	assert_int_equal(f->s->ops->run_begin(f->s, &r, &err), 0);
	assert_int_equal(f->s->ops->run_heartbeat(
			     f->s, r.run_id, "emailoctopus", "x", now, &err),
			 0);
	assert_int_equal(
	    f->s->ops->run_reap(f->s, NULL, NULL, now, &marked, &err), 0);
	assert_int_equal(marked, 1);
	assert_int_equal(store_run_last_status(f->s, "activecampaign",
					       RUN_INTERRUPTED, &got, &a,
					       &found, &err),
			 0);
	assert_int_equal(found, 1);
	assert_int_equal(got.finished_at, now - 30);
	assert_int_equal(
	    store_run_last(f->s, "emailoctopus", &got, &a, &found, &err), 0);
	assert_int_equal(got.status, RUN_RUNNING);
	assert_int_equal(got.heartbeat_at, now);
	/* holding the account's lease, every running run of it is dead */
	assert_int_equal(
	    f->s->ops->run_reap(f->s, "emailoctopus", "x", now, &marked, &err),
	    0);
	assert_int_equal(marked, 1);
	arena_release(&a);
}

static void test_stats(void **state)
{
	struct fixture *f = *state;
	struct err err = ERR_INIT;
	struct batch b;
	struct store_stats st;
	struct rec_event *e;

	batch_init(&b, "emailoctopus", "default");
	fill_batch(&b);
	e = batch_add_event(&b);
	e->campaign_id = "c1";
	e->contact_id = "k2";
	e->type = EV_OPEN;
	e->ts = 1731668400;
	event_make_id(e, b.provider, b.account);
	e = batch_add_event(&b);
	*e = b.events[1];
	e->type = EV_BOUNCE;
	event_make_id(e, b.provider, b.account);
	assert_int_equal(write_b(f->s, &b, NULL), 0);
	b.provider = "activecampaign";
	b.n_events = 0;
	assert_int_equal(write_b(f->s, &b, NULL), 0);

	assert_int_equal(f->s->ops->stats(f->s, "emailoctopus", &st, &err), 0);
	assert_int_equal(st.campaigns, 1);
	assert_int_equal(st.participants, 1);
	assert_int_equal(st.links, 1);
	assert_int_equal(st.contacts, 1);
	assert_int_equal(st.lists, 1);
	assert_int_equal(st.events[EV_OPEN], 2);
	assert_int_equal(st.events[EV_BOUNCE], 1);
	assert_int_equal(st.events[EV_CLICK], 0);
	assert_int_equal(f->s->ops->stats(f->s, NULL, &st, &err), 0);
	assert_int_equal(st.campaigns, 2);
	assert_int_equal(st.events[EV_OPEN], 2);
	batch_release(&b);
}

static void add_list(struct batch *b, const char *id, const char *fields)
{
	struct rec_list *l = batch_add_list(b);

	l->list_id = id;
	l->fields_json = fields;
}

static void test_campaign_fields_order(void **state)
{
	struct fixture *f = *state;
	struct err err = ERR_INIT;
	struct batch b;
	struct rec_campaign *c;
	struct buf out = BUF_INIT;

	batch_init(&b, "emailoctopus", "default");
	add_list(&b, "A",
		 "[{\"tag\":\"FirstName\",\"type\":\"text\"},"
		 "{\"tag\":\"City\"},{\"tag\":\"ZIP\"}]");
	add_list(&b, "B", "[{\"tag\":\"kWh\"},{\"tag\":\"City\"},\"Cell\"]");
	add_list(&b, "bad", "not json");
	c = batch_add_campaign(&b);
	c->campaign_id = "c1";
	c->to_lists_json = "[\"B\",\"missing\",\"A\",\"bad\"]";
	c = batch_add_campaign(&b);
	c->campaign_id = "c2";
	c->to_lists_json = "{broken";
	assert_int_equal(write_b(f->s, &b, NULL), 0);
	assert_int_equal(f->s->ops->campaign_fields(
			     f->s, "emailoctopus", "default", "c1", &out, &err),
			 0);
	assert_string_equal(
	    buf_str(&out), "[\"kWh\",\"City\",\"Cell\",\"FirstName\",\"ZIP\"]");
	assert_int_equal(f->s->ops->campaign_fields(
			     f->s, "emailoctopus", "default", "c2", &out, &err),
			 0);
	assert_string_equal(buf_str(&out), "[]");
	assert_int_equal(f->s->ops->campaign_fields(f->s, "emailoctopus",
						    "default", "none", &out,
						    &err),
			 0);
	assert_string_equal(buf_str(&out), "[]");
	buf_release(&out);
	batch_release(&b);
}

static int collect_participant(void *ctx, const struct export_row *row)
{
	struct collected *col = ctx;
	size_t len = strlen(col->text);

	snprintf(col->text + len, sizeof(col->text) - len, "%s|%s|%s|%s|%u;",
		 row->contact_id, row->email ? row->email : "-",
		 row->status ? row->status : "-",
		 row->fields_json ? row->fields_json : "-", row->flags);
	return 0;
}

static void test_link_participants(void **state)
{
	struct fixture *f = *state;
	struct err err = ERR_INIT;
	struct batch b;
	struct rec_participant *p;
	struct collected col = {"", 0, 0};
	int64_t changed = -1;

	batch_init(&b, "emailoctopus", "default");
	fill_batch(&b);
	p = batch_add_participant(&b);
	p->campaign_id = "c1";
	p->contact_id = "k0";
	p->email = "zed@example.com";
	p->flags = ENG_CLICKED;
	p = batch_add_participant(&b);
	p->campaign_id = "c1";
	p->contact_id = "k3";
	p->email = "amy@example.com";
	assert_int_equal(write_b(f->s, &b, NULL), 0);
	assert_int_equal(f->s->ops->link_participants(
			     f->s, "emailoctopus", "default", &changed, &err),
			 0);
	assert_int_equal(changed, 1);
	assert_int_equal(f->s->ops->link_participants(
			     f->s, "emailoctopus", "default", &changed, &err),
			 0);
	assert_int_equal(changed, 0);
	assert_int_equal(
	    f->s->ops->each_participant(f->s, "emailoctopus", "default", "c1",
					collect_participant, &col, &err),
	    0);
	assert_string_equal(col.text, "k3|amy@example.com|-|-|0;"
				      "k1|john@example.com|subscribed|"
				      "{\"FirstName\":\"John\"}|33;"
				      "k0|zed@example.com|-|-|2;");
	/* A contact change flows through on the next link. */
	batch_clear(&b);
	fill_batch(&b);
	b.contacts[0].status = "unsubscribed";
	assert_int_equal(write_b(f->s, &b, NULL), 0);
	assert_int_equal(f->s->ops->link_participants(
			     f->s, "emailoctopus", "default", &changed, &err),
			 0);
	assert_int_equal(changed, 1);
	batch_release(&b);
}

/* A complete scan found live: every other contact of provider/account is
 * marked, a marked one that is live again is cleared, other accounts and
 * providers are untouched. */
static void test_reconcile_contact_set(void **state)
{
	static const char *const ids[] = {"0a1f", "3c", "9e", "b7", "ff"};
	const char *live[] = {"3c", "b7"};
	struct fixture *f = *state;
	struct err err = ERR_INIT;
	struct batch b;
	char out[160];
	int64_t changed = -1;
	size_t i;

	batch_init(&b, "mailchimp", "acct");
	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		struct rec_contact *c = batch_add_contact(&b);

		c->contact_id = ids[i];
		c->email = "x@example.org";
	}
	assert_int_equal(write_b(f->s, &b, NULL), 0);
	batch_release(&b);
	batch_init(&b, "mailchimp", "other");
	batch_add_contact(&b)->contact_id = "9e";
	assert_int_equal(write_b(f->s, &b, NULL), 0);
	batch_release(&b);
	assert_int_equal(
	    f->s->ops->reconcile_contact_set(f->s, "mailchimp", "acct", live, 2,
					     1767225600, &changed, &err),
	    0);
	assert_int_equal(changed, 3);
	raw_query(f->path,
		  "SELECT group_concat(contact_id || '=' ||"
		  " coalesce(deleted_at, '-'), ' ') FROM (SELECT * FROM"
		  " contacts ORDER BY account, contact_id)",
		  out, sizeof(out));
	assert_string_equal(out, "0a1f=2026-01-01T00:00:00Z 3c=- "
				 "9e=2026-01-01T00:00:00Z b7=- "
				 "ff=2026-01-01T00:00:00Z 9e=-");
	/* Again: nothing to do. Then 9e is back and b7 gone. */
	assert_int_equal(
	    f->s->ops->reconcile_contact_set(f->s, "mailchimp", "acct", live, 2,
					     1767225600, &changed, &err),
	    0);
	assert_int_equal(changed, 0);
	live[1] = "9e";
	assert_int_equal(
	    f->s->ops->reconcile_contact_set(f->s, "mailchimp", "acct", live, 2,
					     1767225600, &changed, &err),
	    0);
	assert_int_equal(changed, 2);
	raw_query(f->path,
		  "SELECT group_concat(contact_id, ' ') FROM (SELECT * FROM"
		  " contacts WHERE deleted_at IS NULL ORDER BY account,"
		  " contact_id)",
		  out, sizeof(out));
	assert_string_equal(out, "3c 9e 9e");
	/* An empty scan marks every contact of the account. */
	assert_int_equal(
	    f->s->ops->reconcile_contact_set(f->s, "mailchimp", "acct", NULL, 0,
					     1767225600, &changed, &err),
	    0);
	assert_int_equal(changed, 2);
}

static int collect_campaign(void *ctx, const char *provider,
			    const char *account, const struct rec_campaign *c)
{
	struct collected *col = ctx;
	size_t len = strlen(col->text);

	snprintf(col->text + len, sizeof(col->text) - len, "%s/%s/%s;",
		 provider, account, c->campaign_id);
	return ++col->n == col->stop_after ? 7 : 0;
}

static void test_campaign_reads(void **state)
{
	struct fixture *f = *state;
	struct err err = ERR_INIT;
	struct arena a = ARENA_INIT;
	struct batch b;
	struct rec_campaign got;
	struct collected col = {"", 0, 0};
	int found = 0;

	batch_init(&b, "emailoctopus", "default");
	fill_batch(&b);
	batch_add_campaign(&b)->campaign_id = "a0";
	assert_int_equal(write_b(f->s, &b, NULL), 0);
	b.provider = "activecampaign";
	assert_int_equal(write_b(f->s, &b, NULL), 0);

	assert_int_equal(f->s->ops->campaign_get(f->s, "emailoctopus",
						 "default", "c1", &got, &a,
						 &found, &err),
			 0);
	assert_int_equal(found, 1);
	assert_string_equal(got.name, "November Newsletter");
	assert_int_equal(got.sent_at, 1731664800);
	assert_int_equal(got.created_at, 1730419200);
	assert_int_equal(got.stats.sent, 1000);
	assert_int_equal(got.stats.opened_unique, 450);
	assert_string_equal(got.to_lists_json, "[\"l1\"]");
	assert_true(got.synced_at > 1700000000);
	assert_int_equal(f->s->ops->campaign_get(f->s, "emailoctopus",
						 "default", "a0", &got, &a,
						 &found, &err),
			 0);
	assert_int_equal(got.sent_at, TIME_NULL);
	assert_null(got.name);
	assert_int_equal(f->s->ops->campaign_get(f->s, "emailoctopus",
						 "default", "zz", &got, &a,
						 &found, &err),
			 0);
	assert_int_equal(found, 0);

	assert_int_equal(f->s->ops->each_campaign(f->s, NULL, NULL,
						  collect_campaign, &col, &err),
			 0);
	assert_string_equal(col.text,
			    "activecampaign/default/a0;"
			    "activecampaign/default/c1;"
			    "emailoctopus/default/a0;emailoctopus/default/c1;");
	col.text[0] = '\0';
	col.n = 0;
	assert_int_equal(f->s->ops->each_campaign(f->s, "emailoctopus", "c1",
						  collect_campaign, &col, &err),
			 0);
	assert_string_equal(col.text, "emailoctopus/default/c1;");
	col.text[0] = '\0';
	col.n = 0;
	col.stop_after = 2;
	assert_int_equal(f->s->ops->each_campaign(f->s, NULL, NULL,
						  collect_campaign, &col, &err),
			 7);
	arena_release(&a);
	batch_release(&b);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_schema_created),
	    T(test_reopen_keeps_data),
	    T(test_newer_version_refused),
	    T(test_migrates_version_1),
	    T(test_open_errors),
	    T(test_store_open_dispatch),
	    cmocka_unit_test(test_redact_url),
	    cmocka_unit_test(test_store_tags),
	    cmocka_unit_test(test_store_tags_full),
	    T(test_upsert_idempotent),
	    T(test_stored_values),
	    T(test_changed_row_updates_synced_at),
	    T(test_null_keeps_stored),
	    T(test_participant_flags_or),
	    T(test_failed_batch_rolls_back),
	    T(test_state_ops),
	    T(test_runs),
	    T(test_lease_and_reap),
	    T(test_stats),
	    T(test_campaign_fields_order),
	    T(test_link_participants),
	    T(test_reconcile_contact_set),
	    T(test_campaign_reads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
