/* PostgreSQL: reconcile_contacts, the deletion marks of a keyset pass over
 * all contacts (store.h). One statement under the write lock: contacts of
 * the page that carry a deleted_at lose it, stored contacts in the page's
 * id range that are not on it get one. The range becomes one text range
 * per id length, so the (provider, account, contact_id) key is scanned. */
#include "store/pg_internal.h"

#include <stdio.h>
#include <stdlib.h>

#include "util/clock.h"
#include "util/jsonw.h"
#include "util/timeparse.h"
#include "util/banned.h"

#define PG_RECONCILE_PARAMS (5 + 2 * STORE_ID_SPANS)

int pg_reconcile_contacts(struct store *store, const char *provider,
			  const char *account, int64_t after_id,
			  int64_t upto_id, const char *const *live_ids,
			  size_t n_live, int64_t at, int64_t *changed,
			  struct err *err)
{
	struct pg_store *s = (struct pg_store *)store;
	struct store_id_span spans[STORE_ID_SPANS];
	size_t n_spans = store_id_spans(spans, after_id, upto_id), i;
	const char *p[PG_RECONCILE_PARAMS];
	struct buf q = BUF_INIT, ids = BUF_INIT;
	char now[21], when[21];
	PGresult *r = NULL;
	int ret = -1, rc;

	time_format_iso(clock_wall_s(), now);
	time_format_iso(at, when);
	if (store_ids_json(&ids, live_ids, n_live) < 0) {
		err_set(err, ERR_STORE, 0,
			"cannot reconcile contacts in store '%s': ids too "
			"long: more than %zu bytes",
			s->safe_url, ids.max);
		goto done;
	}
	p[0] = provider;
	p[1] = account;
	p[2] = now;
	p[3] = buf_str(&ids);
	p[4] = when;
	rc = buf_puts(&q,
		      "WITH live AS (SELECT json_array_elements_text($4::json)"
		      " AS id), back AS (UPDATE contacts SET deleted_at = NULL,"
		      " synced_at = $3::timestamptz WHERE provider = $1"
		      " AND account = $2 AND deleted_at IS NOT NULL"
		      " AND contact_id IN (SELECT id FROM live) RETURNING 1),"
		      " gone AS (UPDATE contacts SET deleted_at ="
		      " $5::timestamptz, synced_at = $3::timestamptz"
		      " WHERE provider = $1 AND account = $2"
		      " AND deleted_at IS NULL AND contact_id ~ '^[0-9]+$'"
		      " AND contact_id NOT IN (SELECT id FROM live) AND (");
	for (i = 0; i < n_spans; i++) {
		rc |= buf_printf(&q,
				 "%s(length(contact_id) = %d AND contact_id"
				 " BETWEEN $%zu AND $%zu)",
				 i ? " OR " : "", spans[i].digits, 6 + 2 * i,
				 7 + 2 * i);
		p[5 + 2 * i] = spans[i].lo;
		p[6 + 2 * i] = spans[i].hi;
	}
	rc |= buf_puts(&q, n_spans ? ")" : "FALSE)");
	rc |= buf_puts(&q, " RETURNING 1) SELECT (SELECT count(*) FROM back)"
			   " + (SELECT count(*) FROM gone)");
	if (rc) {
		err_set(err, ERR_STORE, 0,
			"cannot reconcile contacts in store '%s': statement "
			"too long: more than %zu bytes",
			s->safe_url, q.max);
		goto done;
	}
	if (pg_exec(s, "BEGIN; " PG_WRITE_LOCK, "begin a transaction in", err) <
	    0)
		goto done;
	r = pg_query(s, buf_str(&q), (int)(5 + 2 * n_spans), p,
		     "reconcile contacts in", err);
	if (!r || pg_exec(s, "COMMIT", "commit to", err) < 0)
		goto done;
	if (changed)
		*changed = pg_val_int(r, 0, 0);
	ret = 0;
done:
	if (ret < 0)
		pg_rollback(s);
	PQclear(r);
	buf_release(&q);
	buf_release(&ids);
	return ret;
}

/* Deletion marks of a complete scan (store.h): one statement, the live ids
 * as one JSON array. */
int pg_reconcile_contact_set(struct store *store, const char *provider,
			     const char *account, const char *const *live_ids,
			     size_t n_live, int64_t at, int64_t *changed,
			     struct err *err)
{
	struct pg_store *s = (struct pg_store *)store;
	struct buf ids = BUF_INIT;
	char now[21], when[21];
	const char *p[5];
	PGresult *r = NULL;
	int ret = -1;

	time_format_iso(clock_wall_s(), now);
	time_format_iso(at, when);
	if (store_ids_json(&ids, live_ids, n_live) < 0) {
		err_set(err, ERR_STORE, 0,
			"cannot reconcile contacts in store '%s': ids too "
			"long: more than %zu bytes",
			s->safe_url, ids.max);
		goto done;
	}
	p[0] = provider;
	p[1] = account;
	p[2] = now;
	p[3] = buf_str(&ids);
	p[4] = when;
	if (pg_exec(s, "BEGIN; " PG_WRITE_LOCK, "begin a transaction in", err) <
	    0)
		goto done;
	r = pg_query(
	    s,
	    "WITH live AS (SELECT json_array_elements_text($4::json) AS id),"
	    " back AS (UPDATE contacts SET deleted_at = NULL,"
	    " synced_at = $3::timestamptz WHERE provider = $1"
	    " AND account = $2 AND deleted_at IS NOT NULL"
	    " AND contact_id IN (SELECT id FROM live) RETURNING 1),"
	    " gone AS (UPDATE contacts SET deleted_at = $5::timestamptz,"
	    " synced_at = $3::timestamptz WHERE provider = $1"
	    " AND account = $2 AND deleted_at IS NULL"
	    " AND NOT EXISTS (SELECT 1 FROM live WHERE live.id ="
	    " contacts.contact_id) RETURNING 1)"
	    " SELECT (SELECT count(*) FROM back) + (SELECT count(*) FROM gone)",
	    5, p, "reconcile contacts in", err);
	if (!r || pg_exec(s, "COMMIT", "commit to", err) < 0)
		goto done;
	if (changed)
		*changed = pg_val_int(r, 0, 0);
	ret = 0;
done:
	if (ret < 0)
		pg_rollback(s);
	PQclear(r);
	buf_release(&ids);
	return ret;
}
