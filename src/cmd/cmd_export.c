/* `espsync export csv`: runs espsync_export_csv with the command's options
 * and says how many files and rows it wrote. */
#include "cmd/cmd.h"

#include <stdio.h>
#include <string.h>

#include "api/api_internal.h"
#include "util/jsonw.h"
#include "util/banned.h"

/* Returns 0, or EXIT_RUNTIME when the JSON summary did not fit. */
static int print_result(const struct config *cfg,
			const struct espsync_export_options *opts,
			const struct espsync_export_result *res)
{
	struct buf b = BUF_INIT;
	int rc = 0, code;

	if (!cfg->is_json) {
		if (cfg->verbosity >= 0 && opts->combined)
			printf("exported %lld rows to %s\n",
			       (long long)res->rows, opts->combined);
		else if (cfg->verbosity >= 0)
			printf("exported %lld files (%lld rows) to %s\n",
			       (long long)res->files, (long long)res->rows,
			       opts->dir);
		return 0;
	}
	rc |= buf_puts(&b, "{\"command\":\"export\",\"format\":\"csv\","
			   "\"status\":\"complete\",\"dir\":");
	rc |= jsonw_string(&b, opts->dir);
	rc |= jsonw_key(&b, "campaign", 0);
	rc |= jsonw_string(&b, opts->campaign_id);
	rc |= buf_printf(&b, ",\"files\":%lld,\"rows\":%lld,\"exit_code\":0}",
			 (long long)res->files, (long long)res->rows);
	code = cmd_print_json(&b, rc);
	buf_release(&b);
	return code;
}

int cmd_export(int argc, const char *const *argv, const struct config *cfg)
{
	struct espsync_export_options opts = ESPSYNC_EXPORT_OPTIONS_INIT;
	struct espsync_export_result res = {sizeof(res), 0, 0};
	espsync *ctx;
	int code;

	if (argc < 1)
		return cmd_usage("export", "missing format: use 'export csv'");
	if (strcmp(argv[0], "csv"))
		return cmd_usage("export", "unknown export format '%.64s'",
				 argv[0]);
	if (argc > 1)
		return cmd_usage("export", "unexpected argument '%.64s'",
				 argv[1]);
	opts.dir = config_str(cfg, OPT_EXPORT_DIR);
	opts.provider = cmd_only_provider(cfg);
	opts.campaign_id = config_str(cfg, OPT_CAMPAIGN);
	opts.columns_map = config_str(cfg, OPT_CSV_COLUMNS);
	opts.no_formula_protect = config_is_set(cfg, OPT_NO_FORMULA_PROTECT);
	opts.combined = config_str(cfg, OPT_COMBINED);
	ctx = api_from_config(cfg);
	if (!ctx) {
		cmd_error("out of memory");
		return EXIT_RUNTIME;
	}
	code = espsync_export_csv(ctx, &opts, &res);
	if (code) {
		cmd_error("%s", espsync_error_message(ctx));
		cmd_json_failure(cfg, "export", api_error(ctx), code);
	} else {
		code = print_result(cfg, &opts, &res);
	}
	espsync_free(ctx);
	return code;
}
