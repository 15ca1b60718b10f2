/* PostgreSQL store driver for the benchmark and one end-to-end test.
 *
 *   pg_load --events N [--batch B] [--copy-file PATH] URL
 *       writes N synthetic events in batches of B (default 100, one API
 *       page, what a sync commits at once) with one checkpoint each
 *       through store_ops.write_batch and prints "events N inserted I
 *       seconds S rate R all A" (S: time inside write_batch; A: the whole
 *       loop); --copy-file also writes the same rows as COPY text (the
 *       ceiling).
 *   pg_load --dedupe URL
 *       checks de-duplication through write_batch: duplicates inside a
 *       batch, a batch stored twice, batches mixing stored and new events
 *       (both after a batch that met stored events and after one that did
 *       not), and a changed event; exits 0 when every count and row is
 *       right.
 *   pg_load --hostile URL
 *       writes one campaign named "'); DROP TABLE campaigns; --" with
 *       quotes, backslashes, tabs and control characters in its text and
 *       fields, reads it back through the store and exits 0 when every
 *       value round-tripped unchanged.
 *
 * Built against build/libespsync.a by bench/pg_load.sh or the e2e test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/records.h"
#include "store/store.h"
#include "util/buf.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int die(const struct err *e, const char *what)
{
	fprintf(stderr, "pg_load: %s: %s\n", what, e->msg);
	return 1;
}

/* Writes the event as a row of the ceiling table (same columns and
 * values as email_activities, minus created_at/updated_at). */
static void copy_row(FILE *f, const struct rec_event *ev)
{
	char iso[21], date[11];

	time_format_iso(ev->ts, iso);
	time_format_date(ev->ts, date);
	fprintf(f,
		"%s\t%s\temailoctopus\tbench\t%s\t%s\t%s\t%s\t%s\t%s\t%lld\t"
		"\\N\t\\N\n",
		ev->event_id, date, ev->campaign_id, ev->campaign_name,
		ev->contact_id, ev->contact_email, event_type_name(ev->type),
		iso, (long long)ev->times);
}

static int load(const char *url, long n, long batch, const char *copy_path)
{
	struct store *s = NULL;
	struct err e = ERR_INIT;
	struct batch b;
	FILE *cf = NULL;
	int64_t base = 1767225600; /* 2026-01-01 */
	double t0, t_all, store_s = 0;
	long i, written = 0;
	int ret = 1;

	batch_init(&b, "emailoctopus", "bench");
	if (store_open(&s, url, &e) < 0) {
		ret = die(&e, "open");
		goto done;
	}
	if (copy_path && !(cf = fopen(copy_path, "w"))) {
		perror(copy_path);
		goto done;
	}
	t0 = now_s();
	for (i = 0; i < n; i++) {
		struct rec_event *ev = batch_add_event(&b);
		long contact = (i * 7919) % 200000, camp = (i / 10000) % 100;

		ev->campaign_id = arena_printf(&b.arena, "camp-%03ld", camp);
		ev->campaign_name =
		    arena_printf(&b.arena, "Campaign %ld newsletter", camp);
		ev->contact_id =
		    arena_printf(&b.arena, "contact-%06ld", contact);
		ev->contact_email =
		    arena_printf(&b.arena, "person%06ld@example.com", contact);
		ev->type = (enum event_type)(i % 4);
		/* 30 days of events: 30 daily partitions */
		ev->ts = base + (i * 2591) % (30 * 86400);
		ev->times = 1;
		event_make_id(ev, b.provider, b.account);
		if (cf)
			copy_row(cf, ev);
		if (b.n_events == (size_t)batch || i == n - 1) {
			struct store_counts cnt;
			double w0 = now_s();

			/* a checkpoint per batch, as a sync saves one */
			batch_add_state(&b, "bench", "{\"n\":1}");
			if (s->ops->write_batch(s, &b, &cnt, &e) < 0) {
				ret = die(&e, "write_batch");
				goto done;
			}
			store_s += now_s() - w0;
			written += (long)cnt.inserted;
			batch_clear(&b);
		}
	}
	t_all = now_s() - t0;
	/* seconds: inside write_batch only (what the store costs); all:
	 * making the events (ids are SHA-256) and the ceiling file too */
	printf("events %ld inserted %ld seconds %.3f rate %.0f all %.3f\n", n,
	       written, store_s, (double)n / store_s, t_all);
	ret = 0;
done:
	if (cf)
		fclose(cf);
	batch_release(&b);
	store_close(s);
	return ret;
}

/* Adds event k (same k, same event_id) with times t to b. */
static void dedupe_event(struct batch *b, long k, int64_t t)
{
	struct rec_event *ev = batch_add_event(b);

	ev->campaign_id = "camp-1";
	ev->campaign_name = "Campaign 1";
	ev->contact_id = arena_printf(&b->arena, "contact-%ld", k);
	ev->contact_email = arena_printf(&b->arena, "p%ld@example.com", k);
	ev->type = EV_OPEN;
	ev->ts = 1767225600 + k * 3607; /* about a day per 24 events */
	ev->times = t;
	event_make_id(ev, b->provider, b->account);
}

/* Writes events lo..hi-1 (times t) as one batch; checks the counts. */
static int dedupe_step(struct store *s, const char *what, long lo, long hi,
		       int64_t t, long dups, int64_t ins, int64_t upd)
{
	struct batch b;
	struct store_counts c;
	struct err e = ERR_INIT;
	long k;
	int ret = 1;

	batch_init(&b, "emailoctopus", "dedupe");
	for (k = lo; k < hi; k++)
		dedupe_event(&b, k, k < lo + dups ? t - 1 : t);
	for (k = lo; k < lo + dups; k++) /* the later copy wins */
		dedupe_event(&b, k, t);
	batch_add_state(&b, "dedupe", what);
	if (s->ops->write_batch(s, &b, &c, &e) < 0) {
		ret = die(&e, what);
		goto done;
	}
	if (c.inserted != ins || c.updated != upd ||
	    c.unchanged != (int64_t)b.n_events - ins - upd) {
		fprintf(stderr,
			"pg_load: %s: inserted %lld updated %lld unchanged "
			"%lld, expected %lld %lld %lld\n",
			what, (long long)c.inserted, (long long)c.updated,
			(long long)c.unchanged, (long long)ins, (long long)upd,
			(long long)((int64_t)b.n_events - ins - upd));
		goto done;
	}
	ret = 0;
done:
	batch_release(&b);
	return ret;
}

static int dedupe(const char *url)
{
	struct store *s = NULL;
	struct err e = ERR_INIT;
	struct buf st = BUF_INIT;
	struct store_stats stats;
	int found = 0, ret = 1;

	if (store_open(&s, url, &e) < 0) {
		ret = die(&e, "open");
		goto done;
	}
	/* new rows with duplicates inside the batch: straight COPY */
	if (dedupe_step(s, "first", 0, 500, 1, 50, 500, 0) ||
	    /* every row stored: the COPY fails, the merge skips them */
	    dedupe_step(s, "again", 0, 500, 1, 0, 0, 0) ||
	    /* half stored, after a batch that met stored rows: merge */
	    dedupe_step(s, "half", 250, 750, 1, 10, 250, 0) ||
	    /* all new after a mixed batch: merge, then COPY again */
	    dedupe_step(s, "new", 750, 1000, 1, 0, 250, 0) ||
	    dedupe_step(s, "new2", 1000, 1200, 1, 0, 200, 0) ||
	    /* mixed after an all-new batch: the COPY fails, then merge */
	    dedupe_step(s, "mixed", 1100, 1300, 1, 0, 100, 0) ||
	    /* times changed on 20 stored events: updated */
	    dedupe_step(s, "changed", 0, 20, 2, 0, 0, 20) ||
	    dedupe_step(s, "tail", 1300, 1310, 1, 0, 10, 0) ||
	    /* 20 changed back, 1290 unchanged, 4690 new: past the rows
	     * after which the staging table is truncated, then once more */
	    dedupe_step(s, "big", 0, 6000, 1, 0, 4690, 20) ||
	    dedupe_step(s, "after", 6000, 6010, 1, 0, 10, 0))
		goto done;
	if (s->ops->stats(s, "emailoctopus", &stats, &e) < 0) {
		ret = die(&e, "stats");
		goto done;
	}
	if (stats.events[EV_OPEN] != 6010) {
		fprintf(stderr, "pg_load: %lld events stored, expected 6010\n",
			(long long)stats.events[EV_OPEN]);
		goto done;
	}
	if (s->ops->state_get(s, "emailoctopus", "dedupe", "dedupe", &st,
			      &found, &e) < 0 ||
	    !found || strcmp(buf_str(&st), "after")) {
		fprintf(stderr, "pg_load: the last checkpoint is missing\n");
		goto done;
	}
	printf("de-duplication checks passed\n");
	ret = 0;
done:
	buf_release(&st);
	store_close(s);
	return ret;
}

static const char hostile_name[] = "'); DROP TABLE campaigns; -- \\x \\\\ "
				   "\"q\" \t tab \r\n nl \x01\x7f \xc3\xa9";
static const char hostile_fields[] =
    "{\"Note\":\"back\\\\slash '); DROP TABLE contacts; -- \\\"q\\\" "
    "\\t \\n \\u0001 \\\\N \xf0\x9f\x98\x80\"}";

static int check_participant(void *ctx, const struct export_row *row)
{
	int *seen = ctx;

	(*seen)++;
	if (!row->fields_json || strcmp(row->fields_json, hostile_fields)) {
		fprintf(stderr, "pg_load: fields came back as %s\n",
			row->fields_json ? row->fields_json : "NULL");
		return -1;
	}
	if (!row->email || strcmp(row->email, "o'brien\\@example.com")) {
		fprintf(stderr, "pg_load: email came back changed\n");
		return -1;
	}
	return 0;
}

static int hostile(const char *url)
{
	struct store *s = NULL;
	struct err e = ERR_INIT;
	struct batch b;
	struct rec_campaign *c, got;
	struct rec_list *l;
	struct rec_contact *k;
	struct rec_participant *p;
	struct buf fields = BUF_INIT;
	struct arena a = ARENA_INIT;
	int found = 0, seen = 0, ret = 1;

	batch_init(&b, "emailoctopus", "hostile");
	if (store_open(&s, url, &e) < 0) {
		ret = die(&e, "open");
		goto done;
	}
	c = batch_add_campaign(&b);
	c->campaign_id = "c1'--";
	c->name = hostile_name;
	c->subject = "\\\\server\\share\\x00";
	c->status = "sent";
	c->sent_at = 1767225600;
	c->to_lists_json = "[\"l\\\\1\"]";
	l = batch_add_list(&b);
	l->list_id = "l\\1";
	l->name = "list";
	l->fields_json =
	    "[{\"tag\":\"Note\",\"label\":\"N\",\"type\":\"TEXT\"}]";
	l->subscribed = l->unsubscribed = l->pending = -1;
	k = batch_add_contact(&b);
	k->contact_id = "k1";
	k->email = "o'brien\\@example.com";
	k->status = "subscribed";
	k->fields_json = hostile_fields;
	p = batch_add_participant(&b);
	p->campaign_id = c->campaign_id;
	p->contact_id = "k1";
	p->email = k->email;
	p->flags = ENG_SENT | ENG_OPENED;
	batch_add_state(&b, "campaign:c1'--", "{\"x\":\"'\\\\\"}");
	if (s->ops->write_batch(s, &b, NULL, &e) < 0 ||
	    s->ops->link_participants(s, "emailoctopus", "hostile", NULL, &e) <
		0) {
		ret = die(&e, "write");
		goto done;
	}
	if (s->ops->campaign_get(s, "emailoctopus", "hostile", "c1'--", &got,
				 &a, &found, &e) < 0) {
		ret = die(&e, "campaign_get");
		goto done;
	}
	if (!found || strcmp(got.name, hostile_name) ||
	    strcmp(got.subject, c->subject) ||
	    strcmp(got.to_lists_json, c->to_lists_json)) {
		fprintf(stderr, "pg_load: campaign did not round-trip\n");
		goto done;
	}
	if (s->ops->each_participant(s, "emailoctopus", "hostile", "c1'--",
				     check_participant, &seen, &e) != 0 ||
	    seen != 1) {
		fprintf(stderr, "pg_load: participant did not round-trip\n");
		goto done;
	}
	if (s->ops->campaign_fields(s, "emailoctopus", "hostile", "c1'--",
				    &fields, &e) < 0 ||
	    strcmp(buf_str(&fields), "[\"Note\"]")) {
		fprintf(stderr, "pg_load: campaign fields %s\n",
			buf_str(&fields));
		goto done;
	}
	buf_reset(&fields);
	if (s->ops->state_get(s, "emailoctopus", "hostile", "campaign:c1'--",
			      &fields, &found, &e) < 0 ||
	    !found || strcmp(buf_str(&fields), "{\"x\":\"'\\\\\"}")) {
		fprintf(stderr, "pg_load: state did not round-trip\n");
		goto done;
	}
	printf("hostile values round-tripped\n");
	ret = 0;
done:
	buf_release(&fields);
	arena_release(&a);
	batch_release(&b);
	store_close(s);
	return ret;
}

int main(int argc, char **argv)
{
	long n = 0, batch = 100;
	const char *copy = NULL;
	int i, host = 0, dd = 0;

	for (i = 1; i < argc - 1; i++) {
		if (!strcmp(argv[i], "--events") && i + 1 < argc - 1)
			n = strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--batch") && i + 1 < argc - 1)
			batch = strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--copy-file") && i + 1 < argc - 1)
			copy = argv[++i];
		else if (!strcmp(argv[i], "--hostile"))
			host = 1;
		else if (!strcmp(argv[i], "--dedupe"))
			dd = 1;
		else
			break;
	}
	if (argc < 2 || i != argc - 1 ||
	    (!host && !dd && (n <= 0 || batch <= 0))) {
		fprintf(stderr, "usage: pg_load --events N [--batch B] "
				"[--copy-file PATH] URL | pg_load --hostile "
				"URL | pg_load --dedupe URL\n");
		return 2;
	}
	if (dd)
		return dedupe(argv[argc - 1]);
	return host ? hostile(argv[argc - 1])
		    : load(argv[argc - 1], n, batch, copy);
}
