/* Fuzz target for the EmailOctopus page mapping: any body is run through
 * every mapper, the paging reader and the error envelope reader. Nothing
 * may crash, and a followed next link must stay on the API origin. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "source/emailoctopus.h"
#include "util/json.h"
#include "util/log.h"

#define API "https://api.emailoctopus.com"

static void map_all(const struct json *root)
{
	const struct source *eo = &source_emailoctopus;
	struct batch b;
	struct source_map m;
	struct campaign_stats st;
	size_t k;

	batch_init(&b, "emailoctopus", "default");
	for (k = 0; k < eo->n_report_kinds; k++) {
		memset(&m, 0, sizeof(m));
		m.batch = &b;
		m.list_id = "l1";
		m.campaign_id = "c1";
		m.campaign_name = "n";
		m.kind = &eo->report_kinds[k];
		m.status = "subscribed";
		m.want_events = 1;
		m.newest_updated_at = TIME_NULL;
		(void)eo->map_report(&m, root, NULL);
		if (k == 0) {
			(void)eo->map_campaigns(&m, root, NULL);
			(void)eo->map_campaign(&m, root, NULL);
			(void)eo->map_links(&m, root, NULL);
			(void)eo->map_contacts(&m, root, NULL);
			(void)eo->map_lists(&m, root, NULL);
			(void)eo->map_summary(&st, root, NULL);
		}
		batch_clear(&b);
	}
	batch_release(&b);
}

static void paging(const struct json *root)
{
	const struct source *eo = &source_emailoctopus;
	struct source_query q = {.endpoint = SRC_REPORT,
				 .campaign_id = "c1",
				 .status = "opened",
				 .cursor = "AAA"};
	struct source_next n = {0, BUF_INIT, BUF_INIT};

	eo->next_page(&n, root, API, &q);
	if (n.has_next && !source_url_is_on_origin(buf_str(&n.url), API))
		abort();
	buf_release(&n.url);
	buf_release(&n.cursor);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_doc *doc = NULL;
	struct err err = ERR_INIT;
	char detail[64];
	long status;

	log_set_level(LOG_QUIET);
	(void)eo_error_parse((const char *)data, size, &status, detail,
			     sizeof(detail));
	source_emailoctopus.http_error(&err, 400, (const char *)data, size,
				       "x");
	if (json_parse(&doc, (const char *)data, size, NULL) < 0)
		return 0;
	map_all(json_root(doc));
	paging(json_root(doc));
	json_doc_free(doc);
	return 0;
}
