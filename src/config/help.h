/* Help text and the man page, generated from the option table and the
 * registry (providers' keys, stores, commands) so that what the parser
 * accepts and what the documentation says cannot drift apart. Everything is
 * appended to a caller-owned buf of BUF_DEFAULT_MAX (BUF_INIT): the text is a
 * few KiB from fixed tables, so an append that fails there is a BUG(). */
#ifndef ESPSYNC_HELP_H
#define ESPSYNC_HELP_H

#include "config/options.h"
#include "util/buf.h"

/* `espsync --help`: the commands of reg, options, keys, exit codes. */
void help_overview(struct buf *out, const struct config_registry *reg);

/* `espsync CMD --help` / `espsync help CMD`. */
void help_command(struct buf *out, const struct config_registry *reg,
		  const struct command_spec *spec);

/* docs/espsync.1 (roff); `espsync --help-man` prints it. */
void help_man(struct buf *out, const struct config_registry *reg);

#endif
