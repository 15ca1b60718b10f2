/* ActiveCampaign v3 contacts, lists, custom fields and tags: URLs, offset
 * and keyset paging, and page mapping. Contacts come with their field
 * values, tags and list memberships side-loaded (include=), so one request
 * maps 100 whole contacts; every scalar may be a string, a number, null, ""
 * or a 0000-00-00 sentinel, and any key may be missing. */
#include "source/ac_contacts.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/jsonw.h"
#include "util/log.h"
#include "util/timeparse.h"
#include "util/tz.h"
#include "util/banned.h"

/* Longest decimal id we accept (fits int64 with room). */
#define ID_MAX_DIGITS 18

int ac_contacts_handles(enum source_endpoint ep)
{
	return ep == SRC_LISTS || ep == SRC_CONTACTS || ep == SRC_FIELDS ||
	       ep == SRC_TAGS;
}

/* A positive decimal id from a string ("12") or a number. */
static int parse_id(const struct json *v, int64_t *out)
{
	const char *s = json_str(v);
	int64_t n = 0;
	size_t i;

	if (!s) {
		if (json_type(v) != JSON_NUMBER || json_int(v, &n) < 0 ||
		    n <= 0)
			return -1;
		*out = n;
		return 0;
	}
	for (i = 0; s[i]; i++)
		if (s[i] < '0' || s[i] > '9' || i >= ID_MAX_DIGITS)
			return -1;
	for (i = 0; s[i]; i++)
		n = n * 10 + (s[i] - '0');
	if (n <= 0)
		return -1;
	*out = n;
	return 0;
}

/* A saved cursor (offset or last id): decimal or 0. */
static int64_t cursor_num(const char *s)
{
	int64_t n = 0;
	size_t i;

	for (i = 0; s && s[i]; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= ID_MAX_DIGITS)
			return 0;
		n = n * 10 + (s[i] - '0');
	}
	return n;
}

/* A scalar as text in the arena: strings as they are, numbers in decimal
 * (or as written), bools as "1"/"0"; NULL for null, missing and
 * containers. */
static const char *text(struct arena *a, const struct json *v)
{
	struct buf b = BUF_INIT;
	const char *s = NULL;
	int is_true;

	switch (json_type(v)) {
	case JSON_STRING:
		return arena_strdup(a, json_str(v));
	case JSON_NUMBER:
		if (json_write(&b, v) == 0)
			s = arena_strndup(a, buf_str(&b), b.len);
		buf_release(&b);
		return s;
	case JSON_BOOL:
		return json_bool(v, &is_true) == 0 && is_true ? "1" : "0";
	default:
		return NULL;
	}
}

/* An AC timestamp: with an offset as given, naive ones (and bare dates)
 * in the account zone; TIME_NULL for "", null, sentinels and junk. */
static int64_t ac_ts(const struct source_map *m, const struct json *v)
{
	const char *s = json_str(v);
	int64_t t;

	if (!s || time_parse(s, 0, &t) != 0)
		return TIME_NULL;
	if (strlen(s) > 10 && strpbrk(s + 10, "Zz+-"))
		return t;
	if (m->tz)
		return tz_local_to_utc(m->tz, t);
	return t - m->naive_offset_s;
}

static const char *collection_of(enum source_endpoint ep)
{
	switch (ep) {
	case SRC_LISTS:
		return "lists";
	case SRC_FIELDS:
		return "fields";
	case SRC_TAGS:
		return "tags";
	case SRC_CONTACTS:
		return "contacts";
	default:
		return NULL;
	}
}

int ac_contacts_url(struct buf *out, const char *api_url,
		    const struct source_query *q)
{
	const char *name = collection_of(q->endpoint);
	char num[24];
	int first = 1, rc;

	if (!name)
		return -1;
	rc = buf_printf(out, "%s/api/3/%s", api_url, name);
	snprintf(num, sizeof(num), "%" PRId64, cursor_num(q->cursor));
	if (q->endpoint != SRC_CONTACTS) {
		rc = rc ? rc : source_put_param(out, &first, "limit", "100");
		return rc ? rc : source_put_param(out, &first, "offset", num);
	}
	/* Keyset paging (API notes §2.2): offset stays 0, so a large account
	 * never pays for deep offsets. */
	rc = rc ? rc : source_put_param(out, &first, "orders%5Bid%5D", "ASC");
	rc = rc ? rc : source_put_param(out, &first, "id_greater", num);
	rc = rc ? rc : source_put_param(out, &first, "limit", "100");
	rc = rc ? rc : source_put_param(out, &first, "offset", "0");
	rc = rc ? rc
		: source_put_param(out, &first, "include", AC_CONTACTS_INCLUDE);
	if (q->since_iso && *q->since_iso)
		rc = rc ? rc
			: source_put_param(out, &first,
					   "filters%5Bupdated_after%5D",
					   q->since_iso);
	return rc;
}

int ac_contacts_page_max_id(const struct json *root, int64_t *out)
{
	const struct json *rows = json_get(root, "contacts");
	size_t i, n = json_len(rows);
	int64_t id, best = -1;

	for (i = 0; i < n && json_type(rows) == JSON_ARRAY; i++)
		if (parse_id(json_get(json_at(rows, i), "id"), &id) == 0 &&
		    id > best)
			best = id;
	if (best < 0)
		return -1;
	*out = best;
	return 0;
}

/* meta.total as a number ("12" or 12); -1 when absent or unreadable. */
static int64_t meta_total(const struct json *root)
{
	int64_t n;

	return json_int(json_get(json_get(root, "meta"), "total"), &n) == 0 &&
		       n >= 0
		   ? n
		   : -1;
}

/* The page size the server applied: meta.page_input.limit when it is
 * below ours, else ours. */
static int64_t echoed_limit(const struct json *root)
{
	const struct json *in = json_get(json_get(root, "meta"), "page_input");
	int64_t n;

	if (json_int(json_get(in, "limit"), &n) == 0 && n > 0 &&
	    n < AC_PAGE_LIMIT)
		return n;
	return AC_PAGE_LIMIT;
}

void ac_contacts_next_page(struct source_next *out, const struct json *root,
			   const char *api_url, const struct source_query *q)
{
	const char *name = collection_of(q->endpoint);
	const struct json *rows = name ? json_get(root, name) : NULL;
	size_t n = json_len(rows);
	int64_t total = meta_total(root), at = cursor_num(q->cursor), next;
	struct source_query nq = *q;
	char num[24];

	out->has_next = 0;
	buf_reset(&out->url);
	buf_reset(&out->cursor);
	if (json_type(rows) != JSON_ARRAY || n == 0)
		return;
	if (q->endpoint == SRC_CONTACTS) {
		/* A server that clamps limit below 100 says so in the
		 * meta.page_input echo, or that more remain in meta.total
		 * (rows after id_greater): a short page is no end then. */
		if ((int64_t)n < echoed_limit(root) &&
		    (total < 0 || total <= (int64_t)n))
			return;
		if (ac_contacts_page_max_id(root, &next) < 0 || next <= at) {
			log_warn("activecampaign: contact ids do not advance "
				 "past %" PRId64 "; the contacts pass ends",
				 at);
			return;
		}
	} else {
		next = at + (int64_t)n;
		if (n < AC_PAGE_LIMIT && (total < 0 || total <= next))
			return;
	}
	snprintf(num, sizeof(num), "%" PRId64, next);
	nq.cursor = num;
	if (buf_puts(&out->cursor, num) < 0 ||
	    ac_contacts_url(&out->url, api_url, &nq) < 0)
		return;
	out->has_next = 1;
}

static const struct json *page_rows(const struct json *root, const char *name,
				    struct err *err)
{
	const struct json *rows = json_get(root, name);

	if (json_type(rows) != JSON_ARRAY) {
		err_set(err, ERR_PARSE, 0,
			"activecampaign page has no \"%s\" array", name);
		return NULL;
	}
	return rows;
}

int ac_map_fields(struct source_map *m, const struct json *root,
		  struct err *err)
{
	const struct json *rows = page_rows(root, "fields", err);
	size_t i, j;

	if (!rows)
		return -1;
	m->n_rows = json_len(rows);
	for (i = 0; i < m->n_rows; i++) {
		const struct json *f = json_at(rows, i);
		const char *id = text(&m->batch->arena, json_get(f, "id"));
		const char *title =
		    source_nonempty(json_str(json_get(f, "title")));
		const char *perstag =
		    source_nonempty(json_str(json_get(f, "perstag")));
		const char *name = title ? title : perstag ? perstag : id;

		if (!source_nonempty(id) || !m->field_names) {
			m->n_skipped++;
			continue;
		}
		/* Two fields with one title keep apart by perstag. */
		for (j = 0; title && perstag && j < m->field_names->n; j++)
			if (strcmp(m->field_names->names[j], title) == 0 &&
			    strcmp(m->field_names->ids[j], id) != 0)
				name = perstag;
		source_names_put(m->field_names, id, name);
	}
	return 0;
}

int ac_map_tags(struct source_map *m, const struct json *root, struct err *err)
{
	const struct json *rows = page_rows(root, "tags", err);
	size_t i;

	if (!rows)
		return -1;
	m->n_rows = json_len(rows);
	for (i = 0; i < m->n_rows; i++) {
		const struct json *t = json_at(rows, i);
		const char *id = text(&m->batch->arena, json_get(t, "id"));
		const char *tag = text(&m->batch->arena, json_get(t, "tag"));

		if (!source_nonempty(id) || !tag || !m->tag_names) {
			m->n_skipped++;
			continue;
		}
		source_names_put(m->tag_names, id, tag);
	}
	return 0;
}

/* Numeric order of decimal ids held as text: shorter first. */
static int id_text_cmp(const void *x, const void *y)
{
	const char *p = *(const char *const *)x, *q = *(const char *const *)y;
	size_t lp = strlen(p), lq = strlen(q);

	if (lp != lq)
		return lp < lq ? -1 : 1;
	return strcmp(p, q);
}

/* [{"tag":T,"label":T}] of every known field in id order: AC fields are
 * account-wide, so each list offers them all (the CSV export's columns). */
static const char *list_fields(struct source_map *m)
{
	const struct source_names *d = m->field_names;
	struct buf b = BUF_INIT;
	const char *s = NULL, **ids;
	size_t i;
	int rc = buf_putc(&b, '[');

	ids = arena_alloc(&m->batch->arena, (d->n + 1) * sizeof(*ids));
	for (i = 0; i < d->n; i++)
		ids[i] = d->ids[i];
	qsort(ids, d->n, sizeof(*ids), id_text_cmp);
	for (i = 0; i < d->n && rc == 0; i++) {
		const char *name = source_names_get(d, ids[i]);

		rc = buf_puts(&b, i ? ",{" : "{");
		rc = rc ? rc : jsonw_key(&b, "tag", 1);
		rc = rc ? rc : jsonw_string(&b, name);
		rc = rc ? rc : jsonw_key(&b, "label", 0);
		rc = rc ? rc : jsonw_string(&b, name);
		rc = rc ? rc : buf_putc(&b, '}');
	}
	rc = rc ? rc : buf_putc(&b, ']');
	if (rc == 0)
		s = arena_strndup(&m->batch->arena, buf_str(&b), b.len);
	buf_release(&b);
	return s;
}

int ac_map_lists(struct source_map *m, const struct json *root, struct err *err)
{
	const struct json *rows = page_rows(root, "lists", err);
	struct arena *a = &m->batch->arena;
	const char *fields = NULL;
	size_t i;

	if (!rows)
		return -1;
	m->n_rows = json_len(rows);
	for (i = 0; i < m->n_rows; i++) {
		const struct json *it = json_at(rows, i);
		const char *id = text(a, json_get(it, "id"));
		struct rec_list *l;

		if (!source_nonempty(id)) {
			m->n_skipped++;
			continue;
		}
		if (!fields && m->field_names && m->field_names->n)
			fields = list_fields(m);
		l = batch_add_list(m->batch);
		l->list_id = id;
		l->name = text(a, json_get(it, "name"));
		l->fields_json = fields;
		l->tags_json = NULL;
		l->subscribed = l->unsubscribed = l->pending = -1;
		l->created_at = ac_ts(m, json_get(it, "cdate"));
		if (l->created_at == TIME_NULL)
			l->created_at =
			    ac_ts(m, json_get(it, "created_timestamp"));
		l->updated_at = ac_ts(m, json_get(it, "udate"));
		if (l->updated_at == TIME_NULL)
			l->updated_at =
			    ac_ts(m, json_get(it, "updated_timestamp"));
	}
	return 0;
}

/* Side-loads, in the order of their slots. */
enum side_kind { SIDE_FIELDS = 0, SIDE_TAGS, SIDE_LISTS, SIDE__COUNT };

static const char *const side_names[SIDE__COUNT] = {
    "fieldValues", "contactTags", "contactLists"};
static const char *const side_keys[SIDE__COUNT] = {"field", "tag", "list"};

/* One contact row of the page. */
struct page_contact {
	int64_t id, updated;
	size_t at; /* position on the page */
	const struct json *row;
	size_t first[SIDE__COUNT], count[SIDE__COUNT];
};

/* One side-loaded row, attached to the contact at index pos. */
struct side_row {
	size_t pos, at;
	int64_t key; /* field, tag or list id */
	const struct json *row;
};

/* By id; among equal ids the newest update first, then the later row. */
static int page_contact_cmp(const void *x, const void *y)
{
	const struct page_contact *p = x, *q = y;

	if (p->id != q->id)
		return p->id < q->id ? -1 : 1;
	if (p->updated != q->updated)
		return p->updated > q->updated ? -1 : 1;
	return p->at > q->at ? -1 : p->at < q->at;
}

static int side_row_cmp(const void *x, const void *y)
{
	const struct side_row *p = x, *q = y;

	if (p->pos != q->pos)
		return p->pos < q->pos ? -1 : 1;
	if (p->key != q->key)
		return p->key < q->key ? -1 : 1;
	return p->at < q->at ? -1 : p->at > q->at;
}

static int64_t contact_updated(const struct source_map *m, const struct json *c)
{
	int64_t t = ac_ts(m, json_get(c, "edate"));

	/* udate is the creation time on the official example; edate and
	 * updated_timestamp are the last change. */
	if (t == TIME_NULL)
		t = ac_ts(m, json_get(c, "updated_timestamp"));
	if (t == TIME_NULL)
		t = ac_ts(m, json_get(c, "udate"));
	return t;
}

/* Index of id among the n unique, sorted contacts, or -1. */
static long find_contact(const struct page_contact *v, size_t n, int64_t id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].id == id)
			return (long)mid;
		if (v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Attaches the rows of one side-load to the contacts; -1 when absent. */
static int attach_side(struct source_map *m, const struct json *root,
		       enum side_kind k, struct page_contact *v, size_t n,
		       struct side_row **out)
{
	const struct json *rows = json_get(root, side_names[k]);
	size_t i, len = json_len(rows), used = 0;
	struct side_row *s;

	if (json_type(rows) != JSON_ARRAY)
		return -1;
	s = arena_alloc(&m->batch->arena, (len ? len : 1) * sizeof(*s));
	for (i = 0; i < len; i++) {
		const struct json *r = json_at(rows, i);
		int64_t cid, key;
		long pos;

		if (parse_id(json_get(r, "contact"), &cid) < 0 ||
		    parse_id(json_get(r, side_keys[k]), &key) < 0 ||
		    (pos = find_contact(v, n, cid)) < 0)
			continue;
		s[used].pos = (size_t)pos;
		s[used].at = i;
		s[used].key = key;
		s[used].row = r;
		used++;
	}
	qsort(s, used, sizeof(*s), side_row_cmp);
	for (i = 0; i < used; i++) {
		struct page_contact *c = &v[s[i].pos];

		if (c->count[k]++ == 0)
			c->first[k] = i;
	}
	*out = s;
	return 0;
}

/* "\n"-separated names in seen; 1 when name is there already, -1 when it
 * does not fit in seen. */
static int seen_before(struct buf *seen, const char *name)
{
	size_t len = strlen(name);
	const char *p;

	for (p = strstr(buf_str(seen), name); p; p = strstr(p + 1, name))
		if (p > seen->data && p[-1] == '\n' && p[len] == '\n')
			return 1;
	if (buf_puts(seen, name) < 0 || buf_putc(seen, '\n') < 0)
		return -1;
	return 0;
}

/* {name: value} of one contact's field values, names from m->field_names
 * (an unknown field is named by its id). First row of a field wins. */
static const char *fields_json(struct source_map *m,
			       const struct page_contact *c,
			       const struct side_row *s)
{
	struct buf b = BUF_INIT, seen = BUF_INIT;
	const char *out = NULL;
	char idtext[24];
	size_t i, end = c->first[SIDE_FIELDS] + c->count[SIDE_FIELDS];
	int rc = buf_putc(&b, '{') | buf_putc(&seen, '\n'), n = 0, is_dup;

	for (i = c->first[SIDE_FIELDS]; i < end && rc == 0; i++) {
		const char *name, *value;

		snprintf(idtext, sizeof(idtext), "%" PRId64, s[i].key);
		name = source_names_get(m->field_names, idtext);
		if (!name)
			name = idtext;
		if (strchr(name, '\n'))
			continue;
		is_dup = seen_before(&seen, name);
		if (is_dup < 0)
			rc = -1;
		if (is_dup)
			continue;
		value = text(&m->batch->arena, json_get(s[i].row, "value"));
		rc = jsonw_key(&b, name, n++ == 0);
		rc = rc ? rc : jsonw_string(&b, value);
	}
	rc = rc ? rc : buf_putc(&b, '}');
	if (rc == 0)
		out = arena_strndup(&m->batch->arena, buf_str(&b), b.len);
	buf_release(&b);
	buf_release(&seen);
	return out;
}

/* Tag names in tag id order (an unknown tag by its id). */
static const char *tags_json(struct source_map *m, const struct page_contact *c,
			     const struct side_row *s)
{
	struct buf b = BUF_INIT;
	const char *out = NULL, *name;
	char idtext[24];
	size_t i, end = c->first[SIDE_TAGS] + c->count[SIDE_TAGS];
	int rc = buf_putc(&b, '['), n = 0;

	for (i = c->first[SIDE_TAGS]; i < end && rc == 0; i++) {
		if (i > c->first[SIDE_TAGS] && s[i].key == s[i - 1].key)
			continue;
		snprintf(idtext, sizeof(idtext), "%" PRId64, s[i].key);
		name = source_names_get(m->tag_names, idtext);
		rc = n++ ? buf_putc(&b, ',') : 0;
		rc = rc ? rc : jsonw_string(&b, name ? name : idtext);
	}
	rc = rc ? rc : buf_putc(&b, ']');
	if (rc == 0)
		out = arena_strndup(&m->batch->arena, buf_str(&b), b.len);
	buf_release(&b);
	return out;
}

/* Precedence of a membership status for the contact's one-word status. */
static const char *status_word(const char *code, int *rank)
{
	static const struct {
		const char *code, *word;
	} words[] = {{"1", "active"},
		     {"0", "unconfirmed"},
		     {"3", "bounced"},
		     {"2", "unsubscribed"}};
	size_t i;

	for (i = 0; code && i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(code, words[i].code) == 0) {
			*rank = (int)i;
			return words[i].word;
		}
	*rank = 99;
	return "none";
}

/* [{"id","status"}] in list id order (raw status codes) and the status
 * word into *status. */
static const char *lists_json(struct source_map *m,
			      const struct page_contact *c,
			      const struct side_row *s, const char **status)
{
	struct buf b = BUF_INIT;
	const char *out = NULL, *code, *word;
	size_t i, end = c->first[SIDE_LISTS] + c->count[SIDE_LISTS];
	int rc = buf_putc(&b, '['), n = 0, best = 99, rank;

	*status = "none";
	for (i = c->first[SIDE_LISTS]; i < end && rc == 0; i++) {
		if (i > c->first[SIDE_LISTS] && s[i].key == s[i - 1].key)
			continue;
		code = text(&m->batch->arena, json_get(s[i].row, "status"));
		word = status_word(code, &rank);
		if (rank < best) {
			best = rank;
			*status = word;
		}
		rc = buf_puts(&b, n++ ? ",{" : "{");
		rc = rc ? rc : jsonw_key(&b, "id", 1);
		rc = rc ? rc : buf_printf(&b, "\"%" PRId64 "\"", s[i].key);
		rc = rc ? rc : jsonw_key(&b, "status", 0);
		rc = rc ? rc : jsonw_string(&b, code);
		rc = rc ? rc : buf_putc(&b, '}');
	}
	rc = rc ? rc : buf_putc(&b, ']');
	if (rc == 0)
		out = arena_strndup(&m->batch->arena, buf_str(&b), b.len);
	buf_release(&b);
	return out;
}

/* A string member, first of two spellings ("firstName", "first_name"). */
static const char *member(struct arena *a, const struct json *c,
			  const char *key, const char *alt)
{
	const struct json *v = json_get(c, key);

	if (json_type(v) == JSON_MISSING && alt)
		v = json_get(c, alt);
	return text(a, v);
}

/* The fields, tags and lists JSON builders give NULL only when the JSON
 * passes the buffer maximum: the page fails rather than store less. */
static int map_contact(struct source_map *m, const struct page_contact *c,
		       struct side_row *const side[SIDE__COUNT],
		       struct err *err)
{
	struct arena *a = &m->batch->arena;
	struct rec_contact *r = batch_add_contact(m->batch);
	const struct json *row = c->row;
	const char *deleted = text(a, json_get(row, "deleted"));

	r->contact_id = arena_printf(a, "%" PRId64, c->id);
	r->email = member(a, row, "email", NULL);
	r->first_name = member(a, row, "firstName", "first_name");
	r->last_name = member(a, row, "lastName", "last_name");
	r->phone = member(a, row, "phone", NULL);
	r->created_at = ac_ts(m, json_get(row, "cdate"));
	if (r->created_at == TIME_NULL)
		r->created_at = ac_ts(m, json_get(row, "created_timestamp"));
	r->updated_at = c->updated;
	r->deleted_at = ac_ts(m, json_get(row, "deleted_at"));
	if (deleted && strcmp(deleted, "0") == 0)
		r->deleted_at = TIME_NULL;
	else if (deleted && strcmp(deleted, "1") == 0 &&
		 r->deleted_at == TIME_NULL)
		r->deleted_at =
		    r->updated_at != TIME_NULL ? r->updated_at : r->created_at;
	if (side[SIDE_FIELDS])
		r->fields_json = fields_json(m, c, side[SIDE_FIELDS]);
	if (side[SIDE_TAGS])
		r->tags_json = tags_json(m, c, side[SIDE_TAGS]);
	if (side[SIDE_LISTS])
		r->lists_json = lists_json(m, c, side[SIDE_LISTS], &r->status);
	if ((side[SIDE_FIELDS] && !r->fields_json) ||
	    (side[SIDE_TAGS] && !r->tags_json) ||
	    (side[SIDE_LISTS] && !r->lists_json))
		return err_set(err, ERR_PARSE, 0,
			       "contact %" PRId64 ": fields, tags or lists too "
			       "long: more than %zu bytes",
			       c->id, (size_t)BUF_DEFAULT_MAX);
	if (c->updated != TIME_NULL && (m->newest_updated_at == TIME_NULL ||
					c->updated > m->newest_updated_at))
		m->newest_updated_at = c->updated;
	return 0;
}

int ac_map_contacts(struct source_map *m, const struct json *root,
		    struct err *err)
{
	const struct json *rows = page_rows(root, "contacts", err);
	struct page_contact *v;
	struct side_row *side[SIDE__COUNT] = {NULL, NULL, NULL};
	size_t i, n = 0, uniq = 0;
	int k;

	if (!rows)
		return -1;
	m->n_rows = json_len(rows);
	v = arena_alloc(&m->batch->arena,
			(m->n_rows ? m->n_rows : 1) * sizeof(*v));
	for (i = 0; i < m->n_rows; i++) {
		const struct json *c = json_at(rows, i);

		memset(&v[n], 0, sizeof(v[n]));
		if (parse_id(json_get(c, "id"), &v[n].id) < 0) {
			m->n_skipped++;
			continue;
		}
		v[n].row = c;
		v[n].at = i;
		v[n].updated = contact_updated(m, c);
		n++;
	}
	/* Keyset order, one row per id: the newest of any repeats. */
	qsort(v, n, sizeof(*v), page_contact_cmp);
	for (i = 0; i < n; i++)
		if (uniq == 0 || v[i].id != v[uniq - 1].id)
			v[uniq++] = v[i];
	for (k = 0; k < SIDE__COUNT; k++)
		if (attach_side(m, root, (enum side_kind)k, v, uniq, &side[k]) <
		    0)
			side[k] = NULL;
	for (i = 0; i < uniq; i++)
		if (map_contact(m, &v[i], side, err) < 0)
			return -1;
	return 0;
}
