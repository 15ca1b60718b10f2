/* Fuzz target for the ActiveCampaign campaigns and engagement side: any
 * body is read as a v1 report page of every kind (with and without a
 * window cutoff), as a campaigns page and one campaign, checked as a
 * disguised error body, and read for its next page. Nothing may crash; a
 * next page must stay on the API origin and move forward. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "source/activecampaign.h"
#include "util/json.h"
#include "util/log.h"
#include "util/num.h"

#define API "https://acct.api-us1.com"

static void map_all(const struct json *root)
{
	const struct source *ac = &source_activecampaign;
	struct campaign_stats st;
	struct batch b;
	struct source_map m;
	size_t k;
	int pass;

	batch_init(&b, "activecampaign", "acct");
	for (pass = 0; pass < 2; pass++)
		for (k = 0; k < ac->n_report_kinds; k++) {
			memset(&m, 0, sizeof(m));
			m.batch = &b;
			m.campaign_id = "7";
			m.campaign_name = "c";
			m.kind = &ac->report_kinds[k];
			m.want_events = 1;
			m.newest_updated_at = TIME_NULL;
			m.cutoff = pass ? 1700000000 : TIME_NULL;
			(void)ac->map_report(&m, root, NULL);
			if (!pass && m.is_past_cutoff)
				abort();
			batch_clear(&b);
		}
	memset(&m, 0, sizeof(m));
	m.batch = &b;
	m.newest_updated_at = TIME_NULL;
	m.cutoff = TIME_NULL;
	(void)ac->map_campaigns(&m, root, NULL);
	(void)ac->map_campaign(&m, root, NULL);
	(void)ac->map_summary(&st, root, NULL);
	batch_release(&b);
}

static void paging(const struct json *root, enum source_endpoint ep,
		   const char *status, const char *cursor)
{
	struct source_query q = {.endpoint = ep,
				 .campaign_id = "7",
				 .status = status,
				 .cursor = cursor};
	struct source_next n = {0, BUF_INIT, BUF_INIT};
	int64_t next;

	source_activecampaign.next_page(&n, root, API, &q);
	if (n.has_next && !source_url_is_on_origin(buf_str(&n.url), API))
		abort();
	if (n.has_next && (num_parse_i64(buf_str(&n.cursor), &next) < 0 ||
			   next <= strtoll(cursor, NULL, 10)))
		abort();
	buf_release(&n.url);
	buf_release(&n.cursor);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_doc *doc = NULL;
	struct err e = ERR_INIT;

	log_set_level(LOG_QUIET);
	(void)ac_body_error(&e, (const char *)data, size);
	if (json_parse(&doc, (const char *)data, size, NULL) < 0)
		return 0;
	map_all(json_root(doc));
	paging(json_root(doc), SRC_REPORT, "open", "3");
	paging(json_root(doc), SRC_REPORT, "click", "1");
	paging(json_root(doc), SRC_CAMPAIGNS, NULL, "100");
	json_doc_free(doc);
	return 0;
}
