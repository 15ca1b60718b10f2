/* `espsync report html`: reads the period's figures from the store through
 * export/report and writes one self-contained HTML file. */
#include "cmd/cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/report.h"
#include "util/clock.h"
#include "util/jsonw.h"
#include "util/timeparse.h"
#include "util/banned.h"

static int parse_day(const struct config *cfg, enum option_id id, int is_end,
		     int64_t *out)
{
	const char *s = config_str(cfg, id);

	*out = TIME_NULL;
	if (!s)
		return 0;
	if (report_parse_date(s, is_end, out) < 0)
		return cmd_usage("report",
				 "--%s '%.64s' is not a date: use "
				 "YYYY-MM-DD",
				 option_get(id)->flag, s);
	return 0;
}

static int print_result(const struct config *cfg, const char *path,
			const struct report_result *res)
{
	struct buf b = BUF_INIT;
	char since[16], last[16];
	int rc = 0, code;

	time_format_date(res->since, since);
	time_format_date(res->until - 86400, last);
	if (!cfg->is_json) {
		if (cfg->verbosity >= 0)
			printf("wrote %s: %s to %s, %lld campaigns, %lld "
			       "events\n",
			       path, since, last, (long long)res->campaigns,
			       (long long)res->events);
		return 0;
	}
	rc |= buf_puts(&b, "{\"command\":\"report\",\"format\":\"html\","
			   "\"status\":\"complete\",\"file\":");
	rc |= jsonw_string(&b, path);
	rc |= jsonw_key(&b, "since", 0);
	rc |= jsonw_string(&b, since);
	rc |= jsonw_key(&b, "until", 0);
	rc |= jsonw_string(&b, last);
	rc |= buf_printf(&b,
			 ",\"campaigns\":%lld,\"events\":%lld,\"bytes\":%lld,"
			 "\"exit_code\":0}",
			 (long long)res->campaigns, (long long)res->events,
			 (long long)res->bytes);
	code = cmd_print_json(&b, rc);
	buf_release(&b);
	return code;
}

int cmd_report(int argc, const char *const *argv, const struct config *cfg)
{
	struct report_options opts;
	struct report_result res;
	struct err err = ERR_INIT;
	struct store *store = NULL;
	const char *path = config_str(cfg, OPT_OUT);
	char *shown = NULL;
	int code;

	if (argc < 1)
		return cmd_usage("report", "missing format: use 'report html'");
	if (strcmp(argv[0], "html"))
		return cmd_usage("report", "unknown report format '%.64s'",
				 argv[0]);
	if (argc > 1)
		return cmd_usage("report", "unexpected argument '%.64s'",
				 argv[1]);
	memset(&opts, 0, sizeof(opts));
	code = parse_day(cfg, OPT_SINCE, 0, &opts.since);
	if (!code)
		code = parse_day(cfg, OPT_UNTIL, 1, &opts.until);
	if (code)
		return code;
	if (opts.since != TIME_NULL && opts.until != TIME_NULL &&
	    opts.until <= opts.since)
		return cmd_usage("report", "--until is before --since");
	opts.provider = cmd_only_provider(cfg);
	opts.account = config_is_set(cfg, OPT_ACCOUNT)
			   ? config_str(cfg, OPT_ACCOUNT)
			   : NULL;
	opts.now = clock_wall_s();
	shown = store_redact_url(cfg->store_url);
	opts.store_name = shown;
	code = cmd_open_store(&store, cfg, "report");
	if (code)
		goto done;
	if (report_html_file(path, store, &opts, &res, &err) < 0) {
		code = cmd_fail(&err, "cannot write report '%s'", path);
		cmd_json_failure(cfg, "report", &err, code);
		goto done;
	}
	code = print_result(cfg, path, &res);
done:
	if (store)
		store_close(store);
	free(shown);
	return code;
}
