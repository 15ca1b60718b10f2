/* espsync's entry point: parses the command line (including the earlier
 * tool's form), loads the configuration and runs one command from the
 * table below. */
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

struct cmd_struct {
	const char *name;
	int (*fn)(int argc, const char *const *argv, const struct config *cfg);
	const char *summary;
};

static const struct cmd_struct commands[] = {
    {"sync", cmd_sync, SUMMARY_SYNC},	 {"export", cmd_export, SUMMARY_EXPORT},
    {"stats", cmd_stats, SUMMARY_STATS}, {"state", cmd_state, SUMMARY_STATE},
    {"check", cmd_check, SUMMARY_CHECK}, {"help", NULL, SUMMARY_HELP},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static int print_help(const struct cli *cli)
{
	struct buf b = BUF_INIT;
	size_t i;

	if (cli->opt[OPT_HELP_MAN].value) {
		help_man(&b, cli->reg);
	} else if (cli->help_topic) {
		help_command(&b, cli->reg, command_spec_find(cli->help_topic));
	} else {
		help_overview_head(&b);
		for (i = 0; i < N_COMMANDS; i++)
			help_overview_command(&b, commands[i].name,
					      commands[i].summary);
		help_overview_tail(&b, cli->reg);
	}
	fputs(buf_str(&b), stdout);
	buf_release(&b);
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
	struct cmd_registry reg;
	struct err err = ERR_INIT;
	size_t i;
	int code = EXIT_USAGE;

	memset(&cfg, 0, sizeof(cfg));
	cmd_registry_init(&reg);
	if (cli_parse(&cli, argc, (const char *const *)argv, &reg.reg, &err) <
	    0) {
		fprintf(stderr, "espsync: %s; see 'espsync %s%s--help'\n",
			err.msg, cli.command ? cli.command : "",
			cli.command ? " " : "");
		goto done;
	}
	if (cli.opt[OPT_VERSION].value && !cli.opt[OPT_HELP].value) {
		printf("espsync %s\n", ESPSYNC_VERSION);
		code = 0;
		goto done;
	}
	if (cli.opt[OPT_HELP].value || cli.opt[OPT_HELP_MAN].value ||
	    !strcmp(cli.command, "help")) {
		code = print_help(&cli);
		goto done;
	}
	if (config_load(&cfg, &cli, (const char *const *)environ, &err) < 0) {
		fprintf(stderr, "espsync: %s\n", err.msg);
		goto done;
	}
	setup_logging(&cfg);
	for (i = 0; i < N_COMMANDS; i++)
		if (!strcmp(commands[i].name, cli.command))
			code = commands[i].fn(cli.n_args, cli.args, &cfg);
done:
	config_release(&cfg);
	return code;
}
