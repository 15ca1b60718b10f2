/* MongoDB indexes: the earlier tool's and espsync's own, created idempotently
 * with one createIndexes command per collection when the store opens. */
#include "store/mongo_internal.h"

#include "util/buf.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* The earlier tool's indexes (DESIGN §4) first, then the ones espsync's own
 * filters and sorts need. Unique only where the earlier tool had it or the
 * key is espsync's own, so a sharded cluster can keep them (README). */
static const struct {
	enum coll_id coll;
	const char *keys[6];
	int unique;
} indexes[] = {
    {K_CAMPAIGNS, {"campaign_id"}, 1},
    {K_CAMPAIGNS, {"status"}, 0},
    {K_CAMPAIGNS, {"synced_at"}, 0},
    {K_CAMPAIGNS, {"provider", "account", "campaign_id"}, 0},
    {K_PARTICIPANTS, {"campaign_id", "contact_id"}, 1},
    {K_PARTICIPANTS, {"campaign_id"}, 0},
    {K_PARTICIPANTS, {"email_address"}, 0},
    {K_PARTICIPANTS,
     {"provider", "account", "campaign_id", "email_address", "contact_id"},
     0},
    {K_EVENTS, {"event_id"}, 1},
    {K_EVENTS, {"contact_email", "campaign_id", "event_type"}, 0},
    {K_EVENTS, {"provider", "account", "campaign_id", "activity_date"}, 0},
    {K_CONTACTS, {"provider", "contact_id"}, 1},
    {K_CONTACTS, {"provider", "account", "contact_id"}, 0},
    {K_CONTACTS, {"email"}, 0},
    {K_LINKS, {"provider", "account", "campaign_id", "url"}, 1},
    {K_LISTS, {"provider", "account", "list_id"}, 1},
    {K_STATE, {"provider", "account", "stream"}, 1},
    {K_RUNS, {"run_id"}, 1},
    {K_RUNS, {"status"}, 0},
    {K_LEASES, {"provider", "account"}, 1},
};

int mg_create_indexes(struct mongo_store *s, struct err *err)
{
	bson_error_t e;
	size_t c, i;
	int ret = 0;

	for (c = 0; c < K__COUNT && !ret; c++) {
		bson_t cmd = BSON_INITIALIZER, arr, idx, keys;
		char num[16];
		const char *ik;
		uint32_t n = 0;

		BSON_APPEND_UTF8(&cmd, "createIndexes", mg_coll_names[c]);
		BSON_APPEND_ARRAY_BEGIN(&cmd, "indexes", &arr);
		for (i = 0; i < sizeof(indexes) / sizeof(indexes[0]); i++) {
			struct buf name = BUF_INIT;
			size_t k;

			if (indexes[i].coll != (enum coll_id)c)
				continue;
			bson_uint32_to_string(n++, &ik, num, sizeof(num));
			BSON_APPEND_DOCUMENT_BEGIN(&arr, ik, &idx);
			BSON_APPEND_DOCUMENT_BEGIN(&idx, "key", &keys);
			for (k = 0; k < 6 && indexes[i].keys[k]; k++) {
				BSON_APPEND_INT32(&keys, indexes[i].keys[k], 1);
				if (buf_printf(&name, "%s%s_1", k ? "_" : "",
					       indexes[i].keys[k]) < 0)
					BUG("mongodb: index name too long");
			}
			bson_append_document_end(&idx, &keys);
			BSON_APPEND_UTF8(&idx, "name", buf_str(&name));
			if (indexes[i].unique)
				BSON_APPEND_BOOL(&idx, "unique", true);
			bson_append_document_end(&arr, &idx);
			buf_release(&name);
		}
		bson_append_array_end(&cmd, &arr);
		if (!mongoc_database_write_command_with_opts(s->db, &cmd, NULL,
							     NULL, &e))
			ret = mg_err(err, s, "create indexes in", &e);
		bson_destroy(&cmd);
	}
	return ret;
}
