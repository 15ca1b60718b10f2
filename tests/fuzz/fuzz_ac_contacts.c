/* Fuzz target for the ActiveCampaign contacts side: any body is mapped as a
 * contacts page (with and without known field and tag names), a lists,
 * fields and tags page, and read for its next keyset and offset pages.
 * Nothing may crash; a next page must stay on the API origin and a keyset
 * cursor must pass the one it came from. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "source/ac_contacts.h"
#include "util/json.h"
#include "util/log.h"
#include "util/num.h"

#define API "https://acct.api-us1.com"

static void map_all(const struct json *root)
{
	struct source_names fields = {NULL, NULL, 0, 0};
	struct source_names tags = {NULL, NULL, 0, 0};
	struct batch b;
	struct source_map m;
	int pass;

	batch_init(&b, "activecampaign", "acct");
	for (pass = 0; pass < 2; pass++) {
		memset(&m, 0, sizeof(m));
		m.batch = &b;
		m.field_names = &fields;
		m.tag_names = &tags;
		m.newest_updated_at = TIME_NULL;
		m.cutoff = TIME_NULL;
		m.naive_offset_s = -5 * 3600;
		(void)ac_map_contacts(&m, root, NULL);
		(void)ac_map_lists(&m, root, NULL);
		(void)ac_map_fields(&m, root, NULL);
		(void)ac_map_tags(&m, root, NULL);
		batch_clear(&b);
	}
	batch_release(&b);
	source_names_release(&fields);
	source_names_release(&tags);
}

static void paging(const struct json *root, enum source_endpoint ep,
		   const char *cursor)
{
	struct source_query q = {.endpoint = ep, .cursor = cursor};
	struct source_next n = {0, BUF_INIT, BUF_INIT};
	int64_t next;

	ac_contacts_next_page(&n, root, API, &q);
	if (n.has_next && !source_url_is_on_origin(buf_str(&n.url), API))
		abort();
	if (n.has_next && ep == SRC_CONTACTS &&
	    (num_parse_i64(buf_str(&n.cursor), &next) < 0 ||
	     next <= strtoll(cursor, NULL, 10)))
		abort();
	buf_release(&n.url);
	buf_release(&n.cursor);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_doc *doc = NULL;

	log_set_level(LOG_QUIET);
	if (json_parse(&doc, (const char *)data, size, NULL) < 0)
		return 0;
	map_all(json_root(doc));
	paging(json_root(doc), SRC_CONTACTS, "7");
	paging(json_root(doc), SRC_LISTS, "100");
	json_doc_free(doc);
	return 0;
}
