/* Provider timestamps to UTC epoch seconds and back, without the C library's
 * time-zone state. */
#ifndef ESPSYNC_TIMEPARSE_H
#define ESPSYNC_TIMEPARSE_H

#include <stdint.h>

/* Marks an absent or sentinel timestamp. */
#define TIME_NULL INT64_MIN

/* Parses "YYYY-MM-DD", "YYYY-MM-DD[T ]HH:MM[:SS[.frac]]" with an optional
 * "Z", "+HH:MM", "+HHMM" or "+HH" offset. A timestamp without an offset is
 * read as UTC plus naive_offset_s (the caller's zone offset, 0 for UTC).
 * Returns 0 and sets *out; 1 and sets *out = TIME_NULL for empty strings and
 * "0000-00-00..." sentinels; -1 for anything else (out untouched). */
int time_parse(const char *s, int64_t naive_offset_s, int64_t *out);

/* "2024-11-15T10:00:00Z"; out must hold 21 bytes. */
void time_format_iso(int64_t epoch_s, char *out);
/* "2024-11-15"; out must hold 11 bytes. */
void time_format_date(int64_t epoch_s, char *out);
/* Days since 1970-01-01 of a proleptic Gregorian date. */
int64_t time_days_from_civil(int64_t y, unsigned m, unsigned d);
/* The proleptic Gregorian date of days since 1970-01-01 (its inverse). */
void time_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

#endif
