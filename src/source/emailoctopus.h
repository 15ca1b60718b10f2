/* The EmailOctopus API v2 source (descriptor and mapping callbacks). */
#ifndef ESPSYNC_EMAILOCTOPUS_H
#define ESPSYNC_EMAILOCTOPUS_H

#include <stddef.h>

#include "source/source.h"

extern const struct source source_emailoctopus;

/* Reads an EmailOctopus error envelope ({"title","detail","status",...},
 * status as integer or string). *status is 0 when absent; detail gets a
 * printable, shortened copy of "detail" (or "title"), "" when absent.
 * Returns 0 when body was an envelope, -1 otherwise. */
int eo_error_parse(const char *body, size_t len, long *status, char *detail,
		   size_t detail_size);

#endif
