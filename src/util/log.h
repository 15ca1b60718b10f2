/* Diagnostics on stderr. The level and program name are the only process-wide
 * state below cmd/. Messages never contain secrets: callers redact first. */
#ifndef ESPSYNC_LOG_H
#define ESPSYNC_LOG_H

enum log_level { LOG_QUIET = 0, LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* When on, log lines are NDJSON objects {"event":"log","level":..,"msg":..}. */
void log_set_json(int is_json);
/* Whether --json is in force (messages as JSON lines). */
int log_is_json(void);

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
