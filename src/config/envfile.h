/* The .env reader: KEY=VALUE lines from a file we treat as hostile input.
 * Supported: `export ` prefix, blank lines, # comments, 'single' and
 * "double" quoted values (\n \t \r \" \\ escapes in double quotes), inline
 * ` #` comments after unquoted values, CRLF, a UTF-8 BOM. The env_file owns
 * its entries; values are never put into error messages. */
#ifndef ESPSYNC_ENVFILE_H
#define ESPSYNC_ENVFILE_H

#include <stddef.h>

#include "util/err.h"

#define ENV_FILE_MAX_BYTES ((size_t)1 << 20)
#define ENV_LINE_MAX_BYTES ((size_t)64 << 10)
/* Distinct keys; bounds the work a hostile file can cause. */
#define ENV_MAX_ENTRIES 4096

struct env_entry {
	char *key;
	char *value;
	int line;      /* 1-based */
	int prev_line; /* the key's previous line when repeated, else 0 */
};

struct env_file {
	char *name; /* the path as given, for messages */
	struct env_entry *entries;
	size_t n, cap;
	int is_loaded;	       /* 0: no file (missing default .env) */
	int is_group_readable; /* group or world may read it */
};

void env_file_init(struct env_file *f);
void env_file_release(struct env_file *f);

/* Parses text (len bytes) into f. A later duplicate key replaces an earlier
 * one (prev_line tells). ERR_CONFIG "invalid line N in 'NAME': why" on a
 * malformed line. */
int env_file_parse(struct env_file *f, const char *name, const char *text,
		   size_t len, struct err *err);

/* Reads and parses path. A missing file is fine (f stays empty) unless
 * is_required; anything else that fails is ERR_CONFIG. */
int env_file_load(struct env_file *f, const char *path, int is_required,
		  struct err *err);

/* The entry for key, or NULL. */
const struct env_entry *env_file_get(const struct env_file *f, const char *key);

#endif
