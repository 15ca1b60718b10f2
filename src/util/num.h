/* Checked number parsing: whole string, no overflow, no silent zero. */
#ifndef ESPSYNC_NUM_H
#define ESPSYNC_NUM_H

#include <stdint.h>

/* Return 0 on success, -1 when s is not entirely a number in range. */
int num_parse_i64(const char *s, int64_t *out);
int num_parse_i64_range(const char *s, int64_t min, int64_t max, int64_t *out);
int num_parse_double(const char *s, double *out);
/* "480s", "8m", "2h", "90" (seconds) -> milliseconds. */
int num_parse_duration_ms(const char *s, int64_t *out);

#endif
