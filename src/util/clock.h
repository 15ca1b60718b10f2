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
/* Sleeps ms milliseconds or until a signal arrives, whichever is first
 * (callers that wait on a flag a handler sets sleep in short slices). */
void clock_sleep_ms(int64_t ms);

#endif
