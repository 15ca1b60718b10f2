/* The PostgreSQL store: the connection, the helpers every pg_*.c file uses
 * and the ops table. What each op does lives in pg_schema.c (migrations,
 * partitions, retention), pg_write.c (batches) and pg_read.c (state, runs,
 * export and stats). docs/architecture.md, "PostgreSQL", has the design. */
#include "store/pg_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"
#include "util/banned.h"

/* ------------------------------------------------------------ helpers */

int64_t pg_floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static int is_param(const char *s, const char *name)
{
	size_t n = strlen(name);

	return !strncmp(s, name, n) && s[n] == '=';
}

int pg_split_url(const char *url, char **conninfo, int *retention_days,
		 struct err *err)
{
	struct buf b = BUF_INIT;
	const char *q = strchr(url, '?'), *s;
	char sep = '?';
	int ret = -1, rc;

	*conninfo = NULL;
	if (!q) {
		*conninfo = xstrdup(url);
		return 0;
	}
	rc = buf_append(&b, url, (size_t)(q - url));
	for (s = q + 1; *s;) {
		const char *amp = strchr(s, '&');
		size_t n = amp ? (size_t)(amp - s) : strlen(s);

		if (is_param(s, "retention_days")) {
			char *end = NULL;
			const char *v = s + strlen("retention_days=");
			long d = strtol(v, &end, 10);

			if (end == v || end != s + n || d < 0 || d > 100000) {
				err_set(err, ERR_CONFIG, 0,
					"store url: retention_days must be a "
					"number of days from 0 to 100000");
				goto done;
			}
			*retention_days = (int)d;
		} else if (n > 0) {
			rc |= buf_putc(&b, sep);
			rc |= buf_append(&b, s, n);
			sep = '&';
		}
		s += n + (amp != NULL);
	}
	if (rc) {
		err_set(err, ERR_CONFIG, 0,
			"store url too long: more than %zu bytes", b.max);
		goto done;
	}
	*conninfo = buf_detach(&b, NULL);
	ret = 0;
done:
	buf_release(&b);
	return ret;
}

int pg_db_err(struct err *err, struct pg_store *s, const char *what,
	      const PGresult *res)
{
	struct buf line = BUF_INIT;
	const char *m = NULL;

	if (res)
		m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (!m || !*m)
		m = s->db ? PQerrorMessage(s->db) : NULL;
	store_driver_msg(&line, m, &s->secrets);
	err_set(err, ERR_STORE, 0, "cannot %s store '%s': %s", what,
		s->safe_url, buf_str(&line));
	buf_release(&line);
	return -1;
}

/* Runs a statement with text parameters; the result, or NULL with err set. */
PGresult *pg_query(struct pg_store *s, const char *sql, int n,
		   const char *const *params, const char *what, struct err *err)
{
	PGresult *res =
	    PQexecParams(s->db, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return res;
	pg_db_err(err, s, what, res);
	PQclear(res);
	return NULL;
}

/* Runs one or more statements without parameters. */
int pg_exec(struct pg_store *s, const char *sql, const char *what,
	    struct err *err)
{
	PGresult *res = PQexec(s->db, sql);
	ExecStatusType st = PQresultStatus(res);
	int ret = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		ret = pg_db_err(err, s, what, res);
	PQclear(res);
	return ret;
}

void pg_rollback(struct pg_store *s)
{
	if (PQtransactionStatus(s->db) != PQTRANS_IDLE)
		PQclear(PQexec(s->db, "ROLLBACK"));
}

const char *pg_val(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

int64_t pg_val_int(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col)
		   ? 0
		   : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

int64_t pg_val_time(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col)
		   ? TIME_NULL
		   : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

char *pg_val_dup(const PGresult *r, int row, int col, struct arena *a)
{
	return arena_strdup(a, pg_val(r, row, col));
}

/* ------------------------------------------------------------ open */

static void pg_close(struct store *store)
{
	struct pg_store *s = (struct pg_store *)store;

	if (!s)
		return;
	if (s->db)
		PQfinish(s->db);
	pg_write_release(s);
	free(s->days);
	free(s->safe_url);
	store_secrets_release(&s->secrets);
	free(s);
}

/* Server notices (NOTICE: relation exists, skipping) are not ours to
 * print. */
static void no_notices(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* Retention: the URL's retention_days, else opts->retention_days when
 * >= 0, else STORE_PG_RETENTION_DAYS. */
static int pg_open(struct store **out, const char *url,
		   const struct store_options *opts, struct err *err)
{
	struct pg_store *s = xcalloc(1, sizeof(*s));
	char *conninfo = NULL;
	int ret = -1;

	*out = NULL;
	s->base.ops = &postgresql_store_ops;
	s->safe_url = store_redact_url(url);
	store_secrets_init(&s->secrets, url);
	s->retention_days = opts && opts->retention_days >= 0
				? opts->retention_days
				: STORE_PG_RETENTION_DAYS;
	if (pg_split_url(url, &conninfo, &s->retention_days, err) < 0)
		goto done;
	s->db = PQconnectdb(conninfo);
	if (!s->db) {
		err_set(err, ERR_STORE, 0,
			"cannot open store '%s': out of "
			"memory",
			s->safe_url);
		goto done;
	}
	if (PQstatus(s->db) != CONNECTION_OK) {
		pg_db_err(err, s, "open", NULL);
		goto done;
	}
	PQsetNoticeProcessor(s->db, no_notices, NULL);
	if (PQsetClientEncoding(s->db, "UTF8") != 0) {
		pg_db_err(err, s, "open", NULL);
		goto done;
	}
	if (pg_exec(s,
		    "SET TIME ZONE 'UTC'; SET client_min_messages = warning;"
		    " SET DateStyle = 'ISO, YMD'",
		    "open", err) < 0 ||
	    pg_migrate(s, err) < 0)
		goto done;
	if (pg_write_prepare(s, err) < 0 || pg_load_known_days(s, err) < 0)
		goto done;
	*out = &s->base;
	s = NULL;
	ret = 0;
done:
	free(conninfo);
	pg_close(s ? &s->base : NULL);
	return ret;
}

/* A bare "postgresql://" is fine: libpq takes PGHOST, PGPORT... */
static const char *const pg_schemes[] = {"postgresql://", "postgres://", NULL};

static const struct store_keys pg_keys = {
    .name = "postgresql",
    .schemes = pg_schemes,
    .url_help = "postgresql://...",
};

const struct store_ops postgresql_store_ops = {
    .name = "postgresql",
    .open = pg_open,
    .close = pg_close,
    .write_batch = pg_write_batch,
    .state_get = pg_state_get,
    .state_reset = pg_state_reset,
    .state_each = pg_state_each,
    .run_begin = pg_run_begin,
    .run_finish = pg_run_finish,
    .run_heartbeat = pg_run_heartbeat,
    .run_reap = pg_run_reap,
    .lease_take = pg_lease_take,
    .lease_drop = pg_lease_drop,
    .run_newest = pg_run_newest,
    .campaign_get = pg_campaign_get,
    .link_participants = pg_link_participants,
    .stats = pg_stats,
    .each_campaign = pg_each_campaign,
    .each_participant = pg_each_participant,
    .campaign_fields = pg_campaign_fields,
    .reconcile_contacts = pg_reconcile_contacts,
    .report_totals = pg_report_totals,
    .report_days = pg_report_days,
    .report_campaigns = pg_report_campaigns,
    .report_links = pg_report_links,
    .report_lists = pg_report_lists,
    .report_accounts = pg_report_accounts,
    .reconcile_contact_set = pg_reconcile_contact_set,
};

const struct store_backend postgresql_store_backend = {
    .keys = &pg_keys,
    .ops = &postgresql_store_ops,
};
