/* The one place that reads the clock. Everything else takes time as input. */
#ifndef ESPSYNC_CLOCK_H
#define ESPSYNC_CLOCK_H

#include <stdint.h>

/* Monotonic milliseconds, for deadlines, pacing and rates. */
int64_t clock_mono_ms(void);
/* Wall-clock seconds since the Unix epoch (UTC). */
int64_t clock_wall_s(void);
/* Wall-clock milliseconds since the Unix epoch (UTC). */
int64_t clock_wall_ms(void);

#endif
