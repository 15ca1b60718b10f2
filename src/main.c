/* espsync's entry point: parses the command line (including the earlier
 * tool's form), loads the configuration and runs one command of the
 * command table (cmd/cmd_table.c). */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "config/cli.h"
#include "config/config.h"
#include "config/help.h"
#include "config/options.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/banned.h"

extern char **environ;

static int print_help(const struct cli *cli)
{
	struct buf b = BUF_INIT;

	if (cli->opt[OPT_HELP_MAN].value)
		help_man(&b, cli->reg);
	else if (cli->help_topic)
		help_command(&b, cli->reg,
			     command_spec_find(cli->reg, cli->help_topic));
	else
		help_overview(&b, cli->reg);
	fputs(buf_str(&b), stdout);
	buf_release(&b);
	return 0;
}

/* --json before any "--", even when parsing stopped before reaching it. */
static int wants_json(const struct cli *cli, int argc, char **argv)
{
	int i;

	if (cli->opt[OPT_JSON].value)
		return 1;
	for (i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--json"))
			return 1;
	return 0;
}

static void setup_logging(const struct config *cfg)
{
	size_t i;

	if (cfg->verbosity < 0)
		log_set_level(LOG_ERROR);
	else
		log_set_level(cfg->verbosity > 0 ? LOG_DEBUG : LOG_INFO);
	log_set_json(cfg->is_json);
	for (i = 0; i < cfg->n_notes; i++) {
		if (cfg->notes[i].level == LOG_WARN)
			log_warn("%s", cfg->notes[i].msg);
		else
			log_debug("%s", cfg->notes[i].msg);
	}
}

int main(int argc, char **argv)
{
	struct cli cli;
	struct config cfg;
	struct api_registry reg;
	struct err err = ERR_INIT;
	const struct command_spec *cmd;
	int code = EXIT_USAGE;

	memset(&cfg, 0, sizeof(cfg));
	cmd_registry_init(&reg);
	if (cli_parse(&cli, argc, (const char *const *)argv, &reg.reg, &err) <
	    0) {
		fprintf(stderr, "espsync: %s; see 'espsync %s%s--help'\n",
			err.msg, cli.command ? cli.command : "",
			cli.command ? " " : "");
		if (wants_json(&cli, argc, argv))
			cmd_json_error(cli.command, &err, code);
		goto done;
	}
	if (cli.opt[OPT_VERSION].value && !cli.opt[OPT_HELP].value) {
		printf("espsync %s\n", ESPSYNC_VERSION);
		code = 0;
		goto done;
	}
	cmd = command_spec_find(&reg.reg, cli.command);
	if (cli.opt[OPT_HELP].value || cli.opt[OPT_HELP_MAN].value || !cmd ||
	    !cmd->run) {
		code = print_help(&cli);
		goto done;
	}
	if (config_load(&cfg, &cli, (const char *const *)environ, &err) < 0) {
		fprintf(stderr, "espsync: %s\n", err.msg);
		if (wants_json(&cli, argc, argv))
			cmd_json_error(cli.command, &err, code);
		goto done;
	}
	setup_logging(&cfg);
	code = cmd->run(cli.n_args, cli.args, &cfg);
done:
	config_release(&cfg);
	return code;
}
