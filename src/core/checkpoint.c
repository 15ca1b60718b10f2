/* Checkpoint JSON values of the sync engine; see checkpoint.h. */
#include "core/checkpoint.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util/json.h"
#include "util/jsonw.h"
#include "util/log.h"
#include "util/timeparse.h"
#include "util/banned.h"

static struct json_doc *parse(const char *value)
{
	struct json_doc *doc = NULL;

	if (!value || json_parse(&doc, value, strlen(value), NULL) < 0)
		return NULL;
	if (json_type(json_root(doc)) != JSON_OBJECT) {
		json_doc_free(doc);
		return NULL;
	}
	return doc;
}

static int64_t get_time(const struct json *v)
{
	int64_t t;

	if (json_int(v, &t) == 0)
		return t;
	if (time_parse(json_str(v), 0, &t) == 0)
		return t;
	return TIME_NULL;
}

void ckpt_campaign_parse(struct ckpt_campaign *out, const char *value,
			 const char *const *names, size_t n_names)
{
	struct json_doc *doc = parse(value);
	const struct json *root = json_root(doc), *done;
	const char *counters;
	size_t i, j;
	int b;

	memset(out, 0, sizeof(*out));
	out->checked_at = TIME_NULL;
	out->since = out->pass_started_at = out->newest = TIME_NULL;
	if (!doc)
		return;
	out->has_state = 1;
	if (json_get(root, "since")) {
		out->has_window = 1;
		out->since = get_time(json_get(root, "since"));
		out->pass_started_at =
		    get_time(json_get(root, "pass_started_at"));
		out->newest = get_time(json_get(root, "newest"));
	}
	counters = json_str(json_get(root, "counters"));
	if (counters && strlen(counters) < sizeof(out->counters))
		memcpy(out->counters, counters, strlen(counters) + 1);
	out->checked_at = get_time(json_get(root, "checked_at"));
	if (json_bool(json_get(root, "complete"), &b) == 0)
		out->is_complete = b;
	done = json_get(root, "done");
	for (i = 0; i < json_len(done) && json_type(done) == JSON_ARRAY; i++) {
		const char *s = json_str(json_at(done, i));

		for (j = 0; s && j < n_names && j < 32; j++)
			if (strcmp(s, names[j]) == 0)
				out->done_mask |= 1u << j;
	}
	json_doc_free(doc);
}

int ckpt_campaign_format(struct buf *out, const struct ckpt_campaign *c,
			 const char *const *names, size_t n_names)
{
	int rc = buf_putc(out, '{');
	int first = 1;
	size_t j;

	rc = rc ? rc : jsonw_key(out, "counters", 1);
	rc = rc ? rc : jsonw_string(out, c->counters);
	rc = rc ? rc : jsonw_key(out, "checked_at", 0);
	rc = rc ? rc
		: (c->checked_at == TIME_NULL ? buf_puts(out, "null")
					      : jsonw_int(out, c->checked_at));
	rc = rc ? rc : jsonw_key(out, "complete", 0);
	rc = rc ? rc : buf_puts(out, c->is_complete ? "true" : "false");
	if (c->has_window) {
		rc = rc ? rc : jsonw_key(out, "since", 0);
		rc = rc ? rc : jsonw_time(out, c->since);
		rc = rc ? rc : jsonw_key(out, "pass_started_at", 0);
		rc = rc ? rc : jsonw_time(out, c->pass_started_at);
		rc = rc ? rc : jsonw_key(out, "newest", 0);
		rc = rc ? rc : jsonw_time(out, c->newest);
	}
	if (!c->is_complete) {
		rc = rc ? rc : jsonw_key(out, "done", 0);
		rc = rc ? rc : buf_putc(out, '[');
		for (j = 0; j < n_names && j < 32 && rc == 0; j++) {
			if (!(c->done_mask & (1u << j)))
				continue;
			if (!first)
				rc = buf_putc(out, ',');
			rc = rc ? rc : jsonw_string(out, names[j]);
			first = 0;
		}
		rc = rc ? rc : buf_putc(out, ']');
	}
	return rc ? rc : buf_putc(out, '}');
}

void ckpt_counters(char *out, size_t size, const struct campaign_stats *s)
{
	snprintf(out, size,
		 "%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64
		 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64,
		 s->sent, s->opened_unique, s->opened_total, s->clicked_unique,
		 s->clicked_total, s->bounced_hard, s->bounced_soft,
		 s->complained, s->unsubscribed);
}

void ckpt_cursor_parse(struct buf *out, const char *value)
{
	struct json_doc *doc = parse(value);
	const char *c = json_str(json_get(json_root(doc), "starting_after"));

	buf_reset(out);
	if (c && buf_puts(out, c) < 0) {
		log_warn("checkpoint cursor longer than %zu bytes: "
			 "the pass starts over",
			 out->max);
		buf_reset(out);
	}
	json_doc_free(doc);
}

int ckpt_cursor_format(struct buf *out, const char *cursor)
{
	int rc = buf_putc(out, '{');

	rc = rc ? rc : jsonw_key(out, "starting_after", 1);
	rc = rc ? rc : jsonw_string(out, cursor);
	return rc ? rc : buf_putc(out, '}');
}

void ckpt_contacts_init(struct ckpt_contacts *c)
{
	c->has_state = 0;
	c->since = TIME_NULL;
	buf_init(&c->cursor, 4096);
	c->pass_started_at = TIME_NULL;
	c->newest = TIME_NULL;
}

void ckpt_contacts_release(struct ckpt_contacts *c)
{
	buf_release(&c->cursor);
}

void ckpt_contacts_parse(struct ckpt_contacts *out, const char *value)
{
	struct json_doc *doc = parse(value);
	const struct json *root = json_root(doc);
	const char *cursor;

	out->has_state = 0;
	out->since = TIME_NULL;
	out->pass_started_at = TIME_NULL;
	out->newest = TIME_NULL;
	buf_reset(&out->cursor);
	if (!doc)
		goto done;
	cursor = json_str(json_get(root, "starting_after"));
	if (cursor && buf_puts(&out->cursor, cursor) < 0) {
		log_warn("checkpoint cursor longer than %zu bytes: "
			 "the pass starts over",
			 out->cursor.max);
		goto done;
	}
	out->has_state = 1;
	out->since = get_time(json_get(root, "since"));
	out->pass_started_at = get_time(json_get(root, "pass_started_at"));
	out->newest = get_time(json_get(root, "newest"));
done:
	json_doc_free(doc);
}

int ckpt_contacts_format(struct buf *out, const struct ckpt_contacts *c)
{
	int rc = buf_putc(out, '{');

	rc = rc ? rc : jsonw_key(out, "since", 1);
	rc = rc ? rc : jsonw_time(out, c->since);
	rc = rc ? rc : jsonw_key(out, "starting_after", 0);
	rc = rc ? rc
		: jsonw_string(out, c->cursor.len ? buf_str(&c->cursor) : NULL);
	if (c->cursor.len) {
		rc = rc ? rc : jsonw_key(out, "pass_started_at", 0);
		rc = rc ? rc
			: (c->pass_started_at == TIME_NULL
			       ? buf_puts(out, "null")
			       : jsonw_int(out, c->pass_started_at));
		rc = rc ? rc : jsonw_key(out, "newest", 0);
		rc = rc ? rc : jsonw_time(out, c->newest);
	}
	return rc ? rc : buf_putc(out, '}');
}

void ckpt_today_parse(int64_t *day, int64_t *count, const char *value)
{
	struct json_doc *doc = parse(value);
	const struct json *root = json_root(doc);
	int64_t t;

	*day = -1;
	*count = 0;
	if (!doc)
		return;
	if (time_parse(json_str(json_get(root, "date")), 0, &t) == 0 &&
	    json_int(json_get(root, "count"), count) == 0 && *count >= 0)
		*day = t >= 0 ? t / 86400 : -1;
	else
		*count = 0;
	json_doc_free(doc);
}

int ckpt_today_format(struct buf *out, int64_t day, int64_t count)
{
	char date[11];
	int rc;

	time_format_date(day * 86400, date);
	rc = buf_puts(out, "{\"date\":");
	rc = rc ? rc : jsonw_string(out, date);
	rc = rc ? rc : jsonw_key(out, "count", 0);
	rc = rc ? rc : jsonw_int(out, count);
	return rc ? rc : buf_putc(out, '}');
}

int64_t ckpt_newest_parse(const char *value)
{
	struct json_doc *doc = parse(value);
	int64_t t = get_time(json_get(json_root(doc), "newest"));

	json_doc_free(doc);
	return t;
}

int ckpt_newest_format(struct buf *out, int64_t newest)
{
	int rc = buf_puts(out, "{\"newest\":");

	rc = rc ? rc : jsonw_time(out, newest);
	return rc ? rc : buf_putc(out, '}');
}

int64_t ckpt_next_since(int64_t pass_started_at, int64_t newest,
			int64_t lookback_s)
{
	int64_t t = pass_started_at;

	if (newest != TIME_NULL && (t == TIME_NULL || newest < t))
		t = newest;
	if (t == TIME_NULL)
		return TIME_NULL;
	return t - lookback_s;
}
