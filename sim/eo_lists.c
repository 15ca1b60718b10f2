/* EmailOctopus v2 list routes: /lists, /lists/{id}, its contacts (status
 * filter defaulting to subscribed, tag and date filters, lookup by id or by
 * MD5 of the lowercased email) and its tags. */
#include "eo_int.h"

#include <stdio.h>
#include <string.h>

#include "simtime.h"
#include "util/jsonw.h"
#include "util/banned.h"

static BUF_MUST_CHECK int list_json(const struct eo *eo, const struct list *l,
				    struct buf *b)
{
	int rc = 0;
	const struct account *a = eo->acct;
	long counts[3];
	int k, j;

	rc |= buf_printf(b, "{\"id\":\"%s\",\"name\":", l->id);
	rc |= jsonw_string(b, l->name);
	rc |= buf_puts(b, ",\"double_opt_in\":false,\"fields\":[");
	for (k = 0; k < l->n_fields; k++) {
		const struct field_def *f = &l->fields[k];

		rc |= buf_puts(b, k ? ",{\"label\":" : "{\"label\":");
		rc |= jsonw_string(b, f->label);
		rc |= buf_puts(b, ",\"tag\":");
		rc |= jsonw_string(b, f->tag);
		rc |=
		    buf_printf(b, ",\"type\":\"%s\"", field_type_name(f->type));
		if (f->type == FT_CHOICE_SINGLE ||
		    f->type == FT_CHOICE_MULTIPLE) {
			rc |= buf_puts(b, ",\"choices\":[");
			for (j = 0; j < f->n_choices; j++) {
				if (j)
					rc |= buf_putc(b, ',');
				rc |= jsonw_string(b, f->choices[j]);
			}
			rc |= buf_putc(b, ']');
		}
		rc |= buf_puts(b, ",\"fallback\":");
		rc |= jsonw_string(b, f->fallback);
		rc |= buf_putc(b, '}');
	}
	rc |= buf_puts(b, "],\"tags\":[");
	for (k = 0; k < l->n_tags; k++) {
		if (k)
			rc |= buf_putc(b, ',');
		rc |= jsonw_string(b, l->tags[k]);
	}
	account_list_counts(a, l, counts);
	rc |= buf_printf(b,
			 "],\"counts\":%s{\"pending\":%ld,\"subscribed\":%ld,"
			 "\"unsubscribed\":%ld}%s,\"created_at\":",
			 eo->opt.is_counts_array ? "[" : "", counts[CS_PENDING],
			 counts[CS_SUBSCRIBED], counts[CS_UNSUBSCRIBED],
			 eo->opt.is_counts_array ? "]" : "");
	rc |= simtime_json(b, l->created_at);
	rc |= buf_puts(b, ",\"last_updated_at\":");
	rc |= simtime_json(b, l->last_updated_at);
	rc |= buf_putc(b, '}');
	return rc;
}

static BUF_MUST_CHECK int contact_json(const struct account *a,
				       const struct contact *c, struct buf *b)
{
	int rc = 0;

	rc |= buf_printf(b, "{\"id\":\"%s\",\"email_address\":", c->id);
	rc |= jsonw_string(b, a->persons[c->person].email);
	rc |= buf_puts(b, ",\"fields\":");
	rc |= account_fields_json(a, c, b);
	rc |= buf_puts(b, ",\"tags\":");
	rc |= account_tags_json(a, c, b);
	rc |= buf_printf(b, ",\"status\":\"%s\",\"created_at\":",
			 contact_status_name(c->status));
	rc |= simtime_json(b, c->created_at);
	rc |= buf_puts(b, ",\"last_updated_at\":");
	rc |= simtime_json(b, c->last_updated_at);
	rc |= buf_putc(b, '}');
	return rc;
}

/* Lists are ordered by id; the cursor is ["id"]. */
static BUF_MUST_CHECK int get_lists(struct eo *eo,
				    const struct sim_request *req,
				    struct sim_response *resp)
{
	int rc = 0;
	const struct account *a = eo->acct;
	struct cursor_key after;
	struct page pg;
	int has_after;
	long limit;
	size_t i;

	if (eo_paging_args(req, resp, &limit, &after, &has_after) < 0)
		return rc;
	if (has_after && (after.n != 1 || after.is_int[0])) {
		eo_bad_cursor(resp);
		return rc;
	}
	rc |= buf_putc(&resp->body, '{');
	rc |= page_begin(&pg, &resp->body, limit);
	for (i = 0; i < a->n_lists; i++) {
		if (has_after && strcmp(a->lists[i].id, after.str[0]) <= 0)
			continue;
		if (!page_next_item(&pg))
			break;
		rc |= list_json(eo, &a->lists[i], &resp->body);
		cursor_set_str(&pg.last, 0, a->lists[i].id);
	}
	rc |= page_finish(&pg, sim_request_base_url(req), "/lists", NULL, 0,
			  eo->opt.paging_end);
	rc |= buf_putc(&resp->body, '}');
	return rc;
}

static BUF_MUST_CHECK int get_tags(struct eo *eo, const struct sim_request *req,
				   struct sim_response *resp,
				   const struct list *l, const char *path)
{
	int rc = 0;
	struct cursor_key after;
	struct page pg;
	int has_after, k;
	long limit;

	if (eo_paging_args(req, resp, &limit, &after, &has_after) < 0)
		return rc;
	if (has_after && (after.n != 1 || after.is_int[0])) {
		eo_bad_cursor(resp);
		return rc;
	}
	rc |= buf_putc(&resp->body, '{');
	rc |= page_begin(&pg, &resp->body, limit);
	for (k = 0; k < l->n_tags; k++) {
		if (has_after && strcmp(l->tags[k], after.str[0]) <= 0)
			continue;
		if (!page_next_item(&pg))
			break;
		rc |= buf_puts(&resp->body, "{\"tag\":");
		rc |= jsonw_string(&resp->body, l->tags[k]);
		rc |= buf_putc(&resp->body, '}');
		cursor_set_str(&pg.last, 0, l->tags[k]);
	}
	rc |= page_finish(&pg, sim_request_base_url(req), path, NULL, 0,
			  eo->opt.paging_end);
	rc |= buf_putc(&resp->body, '}');
	return rc;
}

struct contact_filter {
	const char *status_arg;
	enum contact_status status;
	const char *tag;
	int tag_bit; /* -1: tag unknown on this list, nothing matches */
	int64_t lo[2], hi[2]; /* created_at, last_updated_at bounds */
	const char *raw[4];
};

static const char *const filter_names[4] = {"created_at.gte", "created_at.lte",
					    "last_updated_at.gte",
					    "last_updated_at.lte"};

static void filter_error(struct sim_response *resp, const char *param,
			 const char *detail)
{
	char errs[200];

	snprintf(errs, sizeof(errs), "{\"parameter\":\"%s\",\"detail\":\"%s\"}",
		 param, detail);
	eo_error(resp, 400, "bad-request", "Bad request.", errs);
}

static int parse_filter(const struct sim_request *req,
			struct sim_response *resp, const struct list *l,
			struct contact_filter *f)
{
	int k;

	memset(f, 0, sizeof(*f));
	f->status = CS_SUBSCRIBED;
	f->status_arg = sim_request_arg(req, "status");
	if (f->status_arg) {
		for (k = 0; k < 3; k++)
			if (!strcmp(f->status_arg, contact_status_name(
						       (enum contact_status)k)))
				break;
		if (k == 3) {
			filter_error(resp, "status",
				     "The value you selected is not a valid "
				     "choice.");
			return -1;
		}
		f->status = (enum contact_status)k;
	}
	f->tag = sim_request_arg(req, "tag");
	f->tag_bit = -1;
	if (f->tag)
		for (k = 0; k < l->n_tags; k++)
			if (!strcmp(f->tag, l->tags[k]))
				f->tag_bit = k;
	f->lo[0] = f->lo[1] = INT64_MIN;
	f->hi[0] = f->hi[1] = INT64_MAX;
	for (k = 0; k < 4; k++) {
		int64_t t;

		f->raw[k] = sim_request_arg(req, filter_names[k]);
		if (!f->raw[k])
			continue;
		if (simtime_parse(f->raw[k], &t) < 0) {
			filter_error(resp, filter_names[k],
				     "This value is not a valid datetime.");
			return -1;
		}
		if (k % 2 == 0)
			f->lo[k / 2] = t;
		else
			f->hi[k / 2] = t;
	}
	return 0;
}

static int filter_match(const struct contact_filter *f, const struct contact *c)
{
	if (c->status != f->status)
		return 0;
	if (f->tag && (f->tag_bit < 0 || !(c->tags & (1u << f->tag_bit))))
		return 0;
	return c->created_at >= f->lo[0] && c->created_at <= f->hi[0] &&
	       c->last_updated_at >= f->lo[1] && c->last_updated_at <= f->hi[1];
}

/* Contacts are ordered by (created_at, id); the cursor holds both, as in
 * the docs' example cursor. */
static BUF_MUST_CHECK int get_contacts(struct eo *eo,
				       const struct sim_request *req,
				       struct sim_response *resp,
				       const struct list *l, const char *path)
{
	int rc = 0;
	const struct account *a = eo->acct;
	struct contact_filter f;
	struct cursor_key after;
	struct page_param params[6];
	struct page pg;
	int64_t after_t = 0;
	int has_after, k;
	long limit;
	size_t lo = 0, hi = l->n_members;

	if (eo_paging_args(req, resp, &limit, &after, &has_after) < 0 ||
	    parse_filter(req, resp, l, &f) < 0)
		return rc;
	if (has_after && (after.n != 2 || after.is_int[0] || after.is_int[1] ||
			  simtime_parse(after.str[0], &after_t) < 0)) {
		eo_bad_cursor(resp);
		return rc;
	}
	while (has_after && lo < hi) {
		size_t m = lo + (hi - lo) / 2;
		const struct contact *c = &a->contacts[l->members[m]];

		if (c->created_at < after_t ||
		    (c->created_at == after_t &&
		     strcmp(c->id, after.str[1]) <= 0))
			lo = m + 1;
		else
			hi = m;
	}
	rc |= buf_putc(&resp->body, '{');
	rc |= page_begin(&pg, &resp->body, limit);
	for (; lo < l->n_members; lo++) {
		const struct contact *c = &a->contacts[l->members[lo]];
		char iso[SIMTIME_ISO_LEN + 1];

		if (!filter_match(&f, c))
			continue;
		if (!page_next_item(&pg))
			break;
		rc |= contact_json(a, c, &resp->body);
		simtime_iso(iso, c->created_at);
		cursor_set_str(&pg.last, 0, iso);
		cursor_set_str(&pg.last, 1, c->id);
	}
	params[0].name = "status";
	params[0].value = f.status_arg;
	params[1].name = "tag";
	params[1].value = f.tag;
	for (k = 0; k < 4; k++) {
		params[2 + k].name = filter_names[k];
		params[2 + k].value = f.raw[k];
	}
	rc |= page_finish(&pg, sim_request_base_url(req), path, params, 6,
			  eo->opt.paging_end);
	rc |= buf_putc(&resp->body, '}');
	return rc;
}

int eo_lists_route(struct eo *eo, const struct sim_request *req,
		   struct sim_response *resp, char **segs, int n)
{
	int rc = 0;
	const struct account *a = eo->acct;
	const struct list *l;
	long li, ci;

	if (n == 0)
		return get_lists(eo, req, resp);
	li = account_find_list(a, segs[0]);
	if (li < 0 || n > 3) {
		eo_not_found(resp);
		return rc;
	}
	l = &a->lists[li];
	if (n == 1) {
		rc |= list_json(eo, l, &resp->body);
	} else if (strcmp(segs[1], "tags") == 0 && n == 2) {
		rc |= get_tags(eo, req, resp, l, sim_request_path(req));
	} else if (strcmp(segs[1], "contacts") != 0) {
		eo_not_found(resp);
	} else if (n == 2) {
		rc |= get_contacts(eo, req, resp, l, sim_request_path(req));
	} else if ((ci = account_find_contact(a, (size_t)li, segs[2])) < 0) {
		eo_not_found(resp);
	} else {
		rc |= contact_json(a, &a->contacts[ci], &resp->body);
	}
	return rc;
}
