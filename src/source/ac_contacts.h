/* ActiveCampaign contacts, lists, custom fields and tags: the URLs of
 * SRC_LISTS, SRC_CONTACTS, SRC_FIELDS and SRC_TAGS, their paging, and the
 * mapping of their pages. The activecampaign descriptor delegates to these.
 * Everything mapped lives in the batch arena; names go to the engine-owned
 * source_names of the source_map. */
#ifndef ESPSYNC_AC_CONTACTS_H
#define ESPSYNC_AC_CONTACTS_H

#include <stdint.h>

#include "source/source.h"

/* Rows per page: the API's maximum. */
#define AC_PAGE_LIMIT 100

/* Side-loads asked for on every contacts page. */
#define AC_CONTACTS_INCLUDE "fieldValues,contactTags,contactLists"

/* 1 when the endpoint is one of ours (lists, contacts, fields, tags). */
int ac_contacts_handles(enum source_endpoint ep);

/* URL of q under api_url (no trailing slash, without "/api/3").
 * SRC_LISTS, SRC_FIELDS, SRC_TAGS: offset paging, q->cursor is the offset
 * ("0" or NULL first). SRC_CONTACTS: keyset paging,
 * orders[id]=ASC&id_greater=<q->cursor or 0>&limit=100 with offset fixed at
 * 0, the side-loads, and filters[updated_after]=<q->since_iso> when set.
 * Returns 0, -1 when out is full or ep is not ours. */
int ac_contacts_url(struct buf *out, const char *api_url,
		    const struct source_query *q);

/* The next page of q. Offset collections: the cursor is the next offset,
 * while the page was full or meta.total (a string or a number) says more.
 * Contacts: the cursor is the greatest id on the page, while the page was
 * full (100, or a lower limit echoed in meta.page_input) or meta.total
 * exceeds the rows on it (a server that clamps limit); a page whose ids
 * do not pass q->cursor ends the stream. */
void ac_contacts_next_page(struct source_next *out, const struct json *root,
			   const char *api_url, const struct source_query *q);

/* GET /lists rows -> lists (name, created_at, updated_at; counts unknown). */
int ac_map_lists(struct source_map *m, const struct json *root,
		 struct err *err);
/* GET /fields rows -> m->field_names (id -> title, else perstag). */
int ac_map_fields(struct source_map *m, const struct json *root,
		  struct err *err);
/* GET /tags rows -> m->tag_names (id -> tag). */
int ac_map_tags(struct source_map *m, const struct json *root, struct err *err);
/* GET /contacts page with side-loads -> contacts. fields is an object
 * {title: value} from fieldValues (m->field_names; an unknown field keeps
 * its id), tags an array of names in tag id order, lists an array of
 * {"id","status"} with the raw membership status ("1" active, "2"
 * unsubscribed, "3" bounced, "0" unconfirmed, "91" removed) in list id
 * order. status is one word: active (a membership "1"), unconfirmed ("0"),
 * bounced ("3"), unsubscribed ("2"), else none. Empty strings stay empty
 * strings (a cleared phone clears it); null and missing keys are unknown.
 * deleted_at is the row's deleted_at, or its update time when only
 * deleted = "1". A contact repeated on the page is kept once, the newest.
 * m->newest_updated_at gets the newest update time. */
int ac_map_contacts(struct source_map *m, const struct json *root,
		    struct err *err);

/* Greatest contact id of a contacts page into out: 0, or -1 when no row
 * has a positive decimal id (other rows are ignored). */
int ac_contacts_page_max_id(const struct json *root, int64_t *out);

#endif
