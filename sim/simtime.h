/* Simulated time: seconds since the Unix epoch (UTC), formatted the way
 * EmailOctopus v2 does ("2015-12-01T12:59:37+00:00") and parsed from the
 * ISO 8601 forms clients send in filters. No libc time zone functions. */
#ifndef ESPSYNC_SIM_SIMTIME_H
#define ESPSYNC_SIM_SIMTIME_H

#include <stdint.h>

#include "util/buf.h"
#include "util/timeparse.h" /* time_days_from_civil */

#define SIMTIME_ISO_LEN 25 /* YYYY-MM-DDTHH:MM:SS+00:00 */

void simtime_iso(char out[SIMTIME_ISO_LEN + 1], int64_t t);
/* Appends t as a quoted simtime_iso string, or null when t < 0 (no time):
 * EmailOctopus's JSON time. */
BUF_MUST_CHECK int simtime_json(struct buf *out, int64_t t);
/* YYYY-MM-DD */
void simtime_date(char out[11], int64_t t);
/* IMF-fixdate for HTTP headers: "Thu, 15 Jan 2026 12:00:00 GMT". */
void simtime_http(char out[30], int64_t t);
/* Accepts YYYY-MM-DD, or YYYY-MM-DDTHH:MM[:SS[.frac]] followed by Z, +hh:mm,
 * +hhmm, -hh:mm or nothing (UTC); a space may stand for the 'T' or for a '+'
 * that was decoded from a query string. Return 0, or -1 when malformed. */
int simtime_parse(const char *s, int64_t *out);

#endif
