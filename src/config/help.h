/* Help text and the man page, generated from the option table so that what
 * the parser accepts and what the documentation says cannot drift apart.
 * Everything is appended to a caller-owned buf. */
#ifndef ESPSYNC_HELP_H
#define ESPSYNC_HELP_H

#include "config/options.h"
#include "util/buf.h"

/* `espsync --help` in three parts: the caller lists the commands between
 * them (main.c owns the command table). */
void help_overview_head(struct buf *out);
void help_overview_command(struct buf *out, const char *name,
			   const char *summary);
void help_overview_tail(struct buf *out, const struct config_registry *reg);

/* `espsync CMD --help` / `espsync help CMD`. */
void help_command(struct buf *out, const struct config_registry *reg,
		  const struct command_spec *spec);

/* docs/espsync.1 (roff); `espsync --help-man` prints it. */
void help_man(struct buf *out, const struct config_registry *reg);

#endif
