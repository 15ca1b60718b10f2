/* The MongoDB store's run liveness: heartbeats of running runs, the marking
 * of runs whose process died, and the sync lease of a provider account: a
 * sync_leases document (unique on provider, account) taken over only by
 * a conditional update that names the dead holder it replaces. */
#include "store/mongo_internal.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/banned.h"

#define LEASE_ATTEMPTS 5
#define DEAD_RUN_ERROR                                                         \
	"the process running it ended without finishing it (killed or "        \
	"crashed)"

static void append_me(bson_t *d, const char *host)
{
	BSON_APPEND_UTF8(d, "host", host);
	BSON_APPEND_INT64(d, "pid", (int64_t)getpid());
}

int mg_run_heartbeat(struct store *store, int64_t run_id, const char *provider,
		     const char *account, int64_t at, struct err *err)
{
	struct mongo_store *s = (struct mongo_store *)store;
	bson_t sel = BSON_INITIALIZER, lsel = BSON_INITIALIZER;
	bson_t update = BSON_INITIALIZER, set;
	bson_value_t t = mg_date(at);
	bson_error_t e;
	char host[128];
	int ret = -1;

	store_host_name(host, sizeof(host));
	BSON_APPEND_INT64(&sel, "run_id", run_id);
	mg_filter_owner(&lsel, provider, account);
	append_me(&lsel, host);
	BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
	BSON_APPEND_VALUE(&set, "heartbeat_at", &t);
	bson_append_document_end(&update, &set);
	if (!mongoc_collection_update_one(s->coll[K_RUNS], &sel, &update, NULL,
					  NULL, &e) ||
	    !mongoc_collection_update_one(s->coll[K_LEASES], &lsel, &update,
					  NULL, NULL, &e)) {
		mg_err(err, s, "record a heartbeat in", &e);
		goto done;
	}
	ret = 0;
done:
	bson_destroy(&sel);
	bson_destroy(&lsel);
	bson_destroy(&update);
	return ret;
}

static int is_owner(const bson_t *doc, const char *provider,
		    const char *account)
{
	const char *p = mg_get_str(doc, "provider");
	const char *a = mg_get_str(doc, "account");

	return provider && p && a && !strcmp(p, provider) &&
	       !strcmp(a, account);
}

/* Marks run_id interrupted if it is still running; 1 when it was. */
static int mark_interrupted(struct mongo_store *s, const bson_t *doc,
			    struct err *err)
{
	bson_t sel = BSON_INITIALIZER, update = BSON_INITIALIZER, set, reply;
	int64_t at = mg_get_time(doc, "heartbeat_at");
	bson_value_t t;
	bson_error_t e;
	int ret = -1;

	if (at == TIME_NULL)
		at = mg_get_time(doc, "started_at");
	t = mg_date(at);
	BSON_APPEND_INT64(&sel, "run_id", mg_get_int(doc, "run_id"));
	BSON_APPEND_UTF8(&sel, "status", "running");
	BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
	BSON_APPEND_UTF8(&set, "status", "interrupted");
	BSON_APPEND_VALUE(&set, "finished_at", &t);
	BSON_APPEND_UTF8(&set, "error", DEAD_RUN_ERROR);
	bson_append_document_end(&update, &set);
	if (!mongoc_collection_update_one(s->coll[K_RUNS], &sel, &update, NULL,
					  &reply, &e)) {
		mg_err(err, s, "mark a dead run in", &e);
		goto done;
	}
	ret = mg_reply_int(&reply, "modifiedCount") > 0;
done:
	bson_destroy(&reply);
	bson_destroy(&sel);
	bson_destroy(&update);
	return ret;
}

int mg_run_reap(struct store *store, const char *provider, const char *account,
		int64_t now, int64_t *marked, struct err *err)
{
	struct mongo_store *s = (struct mongo_store *)store;
	bson_t f = BSON_INITIALIZER, *dead[64];
	mongoc_cursor_t *cur;
	const bson_t *doc;
	bson_error_t e;
	size_t n = 0, i;
	int64_t count = 0;
	int rc, ret = -1;

	BSON_APPEND_UTF8(&f, "status", "running");
	cur = mg_find_docs(s, K_RUNS, &f, "run_id", 64);
	while (n < 64 && mongoc_cursor_next(cur, &doc)) {
		struct run_row run;

		memset(&run, 0, sizeof(run));
		run.status = RUN_RUNNING;
		run.host = mg_get_str(doc, "host");
		run.pid = mg_get_int(doc, "pid");
		run.started_at = mg_get_time(doc, "started_at");
		run.heartbeat_at = mg_get_time(doc, "heartbeat_at");
		if (is_owner(doc, provider, account) ||
		    store_run_is_dead(&run, now))
			dead[n++] = bson_copy(doc);
	}
	if (mongoc_cursor_error(cur, &e)) {
		mg_err(err, s, "read runs from", &e);
		goto done;
	}
	for (i = 0; i < n; i++) {
		rc = mark_interrupted(s, dead[i], err);
		if (rc < 0)
			goto done;
		count += rc;
	}
	if (marked)
		*marked = count;
	ret = 0;
done:
	for (i = 0; i < n; i++)
		bson_destroy(dead[i]);
	mongoc_cursor_destroy(cur);
	bson_destroy(&f);
	return ret;
}

static void read_holder(const bson_t *doc, struct lease_holder *h)
{
	const char *host = mg_get_str(doc, "host");

	snprintf(h->host, sizeof(h->host), "%s", host ? host : "");
	h->pid = mg_get_int(doc, "pid");
	h->since = mg_get_time(doc, "since");
	h->heartbeat_at = mg_get_time(doc, "heartbeat_at");
}

static void append_lease(bson_t *d, const char *host, int64_t now)
{
	bson_value_t t = mg_date(now);

	append_me(d, host);
	BSON_APPEND_VALUE(d, "since", &t);
	BSON_APPEND_VALUE(d, "heartbeat_at", &t);
}

/* One try: 1 taken, 0 lost a race (try again), -1 err (ERR_BUSY with
 * *holder when a live process holds it). */
static int lease_try(struct mongo_store *s, const char *provider,
		     const char *account, struct lease_holder *holder,
		     struct err *err)
{
	bson_t f = BSON_INITIALIZER, doc, sel = BSON_INITIALIZER;
	bson_t update = BSON_INITIALIZER, set, reply = BSON_INITIALIZER;
	struct lease_holder h;
	bson_error_t e;
	char host[128];
	int64_t now = clock_wall_s();
	int found = 0, ret = -1;

	memset(&h, 0, sizeof(h));
	store_host_name(host, sizeof(host));
	mg_filter_owner(&f, provider, account);
	if (mg_find_one(s, K_LEASES, &f, NULL, &doc, &found, err,
			"read the sync lease from") < 0)
		goto done;
	if (!found) {
		bson_t ins = BSON_INITIALIZER;

		mg_append_owner(&ins, provider, account);
		append_lease(&ins, host, now);
		ret = mongoc_collection_insert_one(s->coll[K_LEASES], &ins,
						   NULL, NULL, &e)
			  ? 1
			  : 0;
		bson_destroy(&ins);
		if (!ret && e.code != 11000)
			ret = mg_err(err, s, "take the sync lease in", &e);
		goto done;
	}
	read_holder(&doc, &h);
	if (!(h.pid == (int64_t)getpid() && !strcmp(h.host, host)) &&
	    !store_holder_is_dead(
		h.host, h.pid,
		h.heartbeat_at != TIME_NULL ? h.heartbeat_at : h.since, now)) {
		*holder = h;
		ret = err_set(err, ERR_BUSY, 0, "the sync lease is held");
		goto done;
	}
	/* Take it over from the dead holder, only if it is still theirs. */
	mg_filter_owner(&sel, provider, account);
	BSON_APPEND_UTF8(&sel, "host", h.host);
	BSON_APPEND_INT64(&sel, "pid", h.pid);
	BSON_APPEND_DOCUMENT_BEGIN(&update, "$set", &set);
	append_lease(&set, host, now);
	bson_append_document_end(&update, &set);
	if (!mongoc_collection_update_one(s->coll[K_LEASES], &sel, &update,
					  NULL, &reply, &e)) {
		ret = mg_err(err, s, "take the sync lease in", &e);
		goto done;
	}
	ret = mg_reply_int(&reply, "matchedCount") == 1;
done:
	bson_destroy(&reply);
	bson_destroy(&update);
	bson_destroy(&sel);
	bson_destroy(&doc);
	bson_destroy(&f);
	return ret;
}

int mg_lease_take(struct store *store, const char *provider,
		  const char *account, struct lease_holder *holder,
		  struct err *err)
{
	struct mongo_store *s = (struct mongo_store *)store;
	int attempt, rc;

	for (attempt = 0; attempt < LEASE_ATTEMPTS; attempt++) {
		rc = lease_try(s, provider, account, holder, err);
		if (rc != 0)
			return rc > 0 ? 0 : -1;
	}
	return err_set(err, ERR_STORE, 0,
		       "cannot take the sync lease in '%s': other processes "
		       "keep taking it",
		       s->safe);
}

int mg_lease_drop(struct store *store, const char *provider,
		  const char *account, struct err *err)
{
	struct mongo_store *s = (struct mongo_store *)store;
	bson_t sel = BSON_INITIALIZER;
	bson_error_t e;
	char host[128];
	int ret = 0;

	store_host_name(host, sizeof(host));
	mg_filter_owner(&sel, provider, account);
	append_me(&sel, host);
	if (!mongoc_collection_delete_one(s->coll[K_LEASES], &sel, NULL, NULL,
					  &e))
		ret = mg_err(err, s, "release the sync lease in", &e);
	bson_destroy(&sel);
	return ret;
}
