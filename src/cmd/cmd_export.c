/* `espsync export csv`: writes the stored campaigns as csv files through
 * export_csv and says how many. */
#include "cmd/cmd.h"

#include <stdio.h>
#include <string.h>

#include "export/export_csv.h"
#include "util/jsonw.h"
#include "util/banned.h"

/* Returns 0, or EXIT_RUNTIME when the JSON summary did not fit. */
static int print_result(const struct config *cfg,
			const struct export_options *opts,
			const struct export_result *res)
{
	struct buf b = BUF_INIT;
	int rc = 0, code;

	const char *combined = config_str(cfg, OPT_COMBINED);

	if (!cfg->is_json) {
		if (cfg->verbosity >= 0 && combined)
			printf("exported %lld rows to %s\n",
			       (long long)res->rows, combined);
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
	struct export_options opts = EXPORT_OPTIONS_INIT;
	struct export_result res = {0, 0};
	struct err err = ERR_INIT;
	struct store *store = NULL;
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
	opts.is_formula_protect = !config_is_set(cfg, OPT_NO_FORMULA_PROTECT);
	code = cmd_open_store(&store, cfg, "export");
	if (code)
		goto done;
	if (config_str(cfg, OPT_COMBINED)
		? export_csv_combined(store, &opts,
				      config_str(cfg, OPT_COMBINED), &res,
				      &err) < 0
		: export_csv(store, &opts, &res, &err) < 0) {
		/* export messages name the campaign or directory already */
		code = cmd_fail(&err, "export csv");
		cmd_json_failure(cfg, "export", &err, code);
		goto done;
	}
	code = print_result(cfg, &opts, &res);
done:
	if (store)
		store_close(store);
	return code;
}
