/* The SQLite schema: the migrations and the version check that runs them
 * on open (docs/architecture.md, "SQLite schema"). */
#include "store/sqlite_internal.h"

#include <stdio.h>

#include "util/banned.h"

/* Migration N (1-based) takes a database from version N-1 to N; all pending
 * steps run in one transaction. Append only: never edit a shipped step. */
static const char *const migrations[] = {
    "CREATE TABLE campaigns (provider TEXT NOT NULL, account TEXT NOT NULL,"
    " campaign_id TEXT NOT NULL, name TEXT, subject TEXT, from_name TEXT,"
    " from_email TEXT, status TEXT, created_at TEXT, sent_at TEXT,"
    " to_lists TEXT, sent INTEGER NOT NULL DEFAULT 0,"
    " opened_unique INTEGER NOT NULL DEFAULT 0,"
    " opened_total INTEGER NOT NULL DEFAULT 0,"
    " clicked_unique INTEGER NOT NULL DEFAULT 0,"
    " clicked_total INTEGER NOT NULL DEFAULT 0,"
    " bounced_hard INTEGER NOT NULL DEFAULT 0,"
    " bounced_soft INTEGER NOT NULL DEFAULT 0,"
    " complained INTEGER NOT NULL DEFAULT 0,"
    " unsubscribed INTEGER NOT NULL DEFAULT 0, synced_at TEXT,"
    " PRIMARY KEY (provider, account, campaign_id));"
    "CREATE INDEX campaigns_status ON campaigns (status);"
    "CREATE INDEX campaigns_synced_at ON campaigns (synced_at);"
    "CREATE TABLE campaign_links (provider TEXT NOT NULL,"
    " account TEXT NOT NULL, campaign_id TEXT NOT NULL, url TEXT NOT NULL,"
    " clicked_total INTEGER NOT NULL DEFAULT 0,"
    " clicked_unique INTEGER NOT NULL DEFAULT 0, synced_at TEXT,"
    " PRIMARY KEY (provider, account, campaign_id, url));"
    "CREATE TABLE participants (provider TEXT NOT NULL,"
    " account TEXT NOT NULL, campaign_id TEXT NOT NULL,"
    " contact_id TEXT NOT NULL, email_address TEXT, status TEXT,"
    " fields TEXT, sent INTEGER NOT NULL DEFAULT 0,"
    " opened INTEGER NOT NULL DEFAULT 0,"
    " clicked INTEGER NOT NULL DEFAULT 0,"
    " bounced INTEGER NOT NULL DEFAULT 0,"
    " complained INTEGER NOT NULL DEFAULT 0,"
    " unsubscribed INTEGER NOT NULL DEFAULT 0, synced_at TEXT,"
    " PRIMARY KEY (provider, account, campaign_id, contact_id));"
    "CREATE INDEX participants_email ON participants"
    " (provider, account, campaign_id, email_address, contact_id);"
    "CREATE TABLE email_activities (event_id TEXT PRIMARY KEY NOT NULL,"
    " provider TEXT NOT NULL, account TEXT NOT NULL,"
    " campaign_id TEXT NOT NULL, campaign_name TEXT, contact_id TEXT,"
    " contact_email TEXT, event_type TEXT NOT NULL,"
    " activity_timestamp TEXT NOT NULL, activity_date TEXT NOT NULL,"
    " times INTEGER, link_url TEXT, bounce_type TEXT, created_at TEXT,"
    " updated_at TEXT);"
    "CREATE INDEX email_activities_contact ON email_activities"
    " (contact_email, campaign_id, event_type);"
    "CREATE INDEX email_activities_campaign ON email_activities"
    " (provider, account, campaign_id, activity_date);"
    "CREATE TABLE contacts (provider TEXT NOT NULL, account TEXT NOT NULL,"
    " contact_id TEXT NOT NULL, email TEXT, first_name TEXT,"
    " last_name TEXT, phone TEXT, status TEXT, fields TEXT, tags TEXT,"
    " lists TEXT, created_at TEXT, updated_at TEXT, deleted_at TEXT,"
    " synced_at TEXT, PRIMARY KEY (provider, account, contact_id));"
    "CREATE INDEX contacts_email ON contacts (email);"
    "CREATE TABLE lists (provider TEXT NOT NULL, account TEXT NOT NULL,"
    " list_id TEXT NOT NULL, name TEXT, fields TEXT, tags TEXT,"
    " subscribed INTEGER, unsubscribed INTEGER, pending INTEGER,"
    " created_at TEXT, updated_at TEXT, synced_at TEXT,"
    " PRIMARY KEY (provider, account, list_id));"
    "CREATE TABLE sync_state (provider TEXT NOT NULL,"
    " account TEXT NOT NULL, stream TEXT NOT NULL, value TEXT,"
    " updated_at TEXT, PRIMARY KEY (provider, account, stream));"
    "CREATE TABLE sync_runs (run_id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " provider TEXT, account TEXT, started_at TEXT, finished_at TEXT,"
    " status TEXT NOT NULL, requests INTEGER NOT NULL DEFAULT 0,"
    " retries INTEGER NOT NULL DEFAULT 0,"
    " throttled INTEGER NOT NULL DEFAULT 0, records TEXT, error TEXT);",
    /* 2: opens the provider does not count as machine opens (NULL:
     * unknown, as for providers that do not report them). */
    "ALTER TABLE campaigns ADD COLUMN verified_opens INTEGER;"
    "ALTER TABLE campaigns ADD COLUMN verified_unique_opens INTEGER;",
    /* 3: the report's reads of events per day and type in a period read
     * this index alone (sqlite_report.c). */
    "CREATE INDEX IF NOT EXISTS email_activities_day ON email_activities"
    " (activity_date, event_type, provider, account);",
    /* 4 (issue 10): who runs a run and its last sign of life, so that a
     * dead run is told from a live one; the sync lease of each provider
     * account (sqlite_runs.c). */
    "ALTER TABLE sync_runs ADD COLUMN host TEXT;"
    "ALTER TABLE sync_runs ADD COLUMN pid INTEGER;"
    "ALTER TABLE sync_runs ADD COLUMN heartbeat_at TEXT;"
    "CREATE INDEX sync_runs_status ON sync_runs (status);"
    "CREATE TABLE sync_leases (provider TEXT NOT NULL,"
    " account TEXT NOT NULL, host TEXT, pid INTEGER, since TEXT,"
    " heartbeat_at TEXT, PRIMARY KEY (provider, account));",
};

#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))
_Static_assert(N_MIGRATIONS == STORE_SQLITE_SCHEMA_VERSION,
	       "one migration per schema version");

static int read_version(struct sqlite_store *s, int64_t *out, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	if (sq_prep(s, "SELECT value FROM meta WHERE key = 'schema_version'", 0,
		    NULL, &st, err) < 0)
		goto done;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
	} else if (rc == SQLITE_DONE) {
		*out = 0;
	} else {
		sq_db_err(err, s, "read schema version of");
		goto done;
	}
	ret = 0;
done:
	sqlite3_finalize(st);
	return ret;
}

int sq_migrate(struct sqlite_store *s, struct err *err)
{
	char sql[96];
	int64_t version = 0, v;
	int ret = -1, in_tx = 0;

	if (sq_exec(s, "BEGIN IMMEDIATE", err, "open") < 0)
		goto done;
	in_tx = 1;
	if (sq_exec(s,
		    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY"
		    " NOT NULL, value TEXT)",
		    err, "open") < 0 ||
	    read_version(s, &version, err) < 0)
		goto done;
	if (version > N_MIGRATIONS || version < 0) {
		err_set(err, ERR_STORE, 0,
			"cannot open store '%s': schema version %lld is newer "
			"than this espsync knows (%d); upgrade espsync",
			s->path, (long long)version, N_MIGRATIONS);
		goto done;
	}
	for (v = version; v < N_MIGRATIONS; v++)
		if (sq_exec(s, migrations[v], err, "migrate") < 0)
			goto done;
	snprintf(sql, sizeof(sql),
		 "INSERT OR REPLACE INTO meta VALUES ('schema_version', '%d')",
		 N_MIGRATIONS);
	if (version < N_MIGRATIONS && sq_exec(s, sql, err, "migrate") < 0)
		goto done;
	if (sq_exec(s, "COMMIT", err, "migrate") < 0)
		goto done;
	in_tx = 0;
	ret = 0;
done:
	if (in_tx && !sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}
