/* Account time zones for the simulated ActiveCampaign account: a small
 * built-in table (US and EU daylight-saving rules, no libc time zone
 * functions), so naive "YYYY-MM-DD HH:MM:SS" wall times and ISO-8601 values
 * with the account's DST-aware offset come out the same on every machine. */
#ifndef ESPSYNC_SIM_AC_TZ_H
#define ESPSYNC_SIM_AC_TZ_H

#include <stdint.h>

enum ac_dst_rule { DST_NONE, DST_US, DST_EU };

struct ac_tz {
	const char *name;
	int std_offset; /* seconds east of UTC */
	enum ac_dst_rule rule;
};

/* 0, or -1 when the zone is not in the table. */
int ac_tz_lookup(const char *name, struct ac_tz *out);
/* The names the table knows, comma-separated (for usage messages). */
const char *ac_tz_names(void);
/* Seconds east of UTC at instant t. */
int ac_tz_offset(const struct ac_tz *z, int64_t t);
/* 1 when the local wall time of t occurs twice (a fall-back hour). */
int ac_tz_is_ambiguous(const struct ac_tz *z, int64_t t);
/* The first instant in [from, to) where the offset changes, or -1. */
int64_t ac_tz_next_change(const struct ac_tz *z, int64_t from, int64_t to);
/* "2025-11-01T22:00:00-05:00" */
void ac_tz_iso(const struct ac_tz *z, int64_t t, char out[26]);
/* "2025-11-01 22:00:00" (local wall time) */
void ac_tz_naive(const struct ac_tz *z, int64_t t, char out[20]);
/* "2025-11-01" (local date) */
void ac_tz_date(const struct ac_tz *z, int64_t t, char out[11]);
/* The UTC instant of local midnight of t's local date. */
int64_t ac_tz_local_midnight(const struct ac_tz *z, int64_t t);
/* Parses a filter value: with Z or an offset it is absolute; a naive
 * date-time or a date is account-local wall time. 0, or -1. */
int ac_tz_parse(const struct ac_tz *z, const char *s, int64_t *out);

#endif
