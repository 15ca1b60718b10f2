/* IANA time zones from the system's compiled TZif files, read without the C
 * library's TZ state (setenv/localtime are banned): UTC offsets at an
 * instant and local wall time to UTC. A struct tz is owned by the caller of
 * tz_load and freed with tz_free; NULL means UTC everywhere. */
#ifndef ESPSYNC_TZ_H
#define ESPSYNC_TZ_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define TZ_DEFAULT_DIR "/usr/share/zoneinfo"

struct tz;

/* 1 when name looks like an IANA zone: letters, digits, '/', '_', '+',
 * '-', no leading '/', no "..", at most 64 bytes. */
int tz_name_is_valid(const char *name);
/* Loads dir/name ("UTC" and "Etc/UTC" need no file). ERR_CONFIG when the
 * name is invalid or unknown, ERR_PARSE when the file is not TZif. */
int tz_load(struct tz **out, const char *dir, const char *name,
	    struct err *err);
/* Parses a TZif image (versions 1-4; 64-bit data when present). */
int tz_parse(struct tz **out, const unsigned char *data, size_t len,
	     struct err *err);
void tz_free(struct tz *tz);
/* Seconds east of UTC in effect at utc_s. */
int64_t tz_offset_at(const struct tz *tz, int64_t utc_s);
/* The instant a local wall time (given as if it were UTC epoch seconds)
 * names. In a repeated hour the earlier instant; in a skipped hour the
 * offset before the change. */
int64_t tz_local_to_utc(const struct tz *tz, int64_t local_s);

#endif
