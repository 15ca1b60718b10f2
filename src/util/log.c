/* Leveled logging to stderr, plain or NDJSON. */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>

#include "util/buf.h"
#include "util/jsonw.h"
#include "util/banned.h"

static enum log_level cur_level = LOG_INFO;
static int cur_json;

void log_set_level(enum log_level level)
{
	cur_level = level;
}

enum log_level log_get_level(void)
{
	return cur_level;
}

void log_set_json(int is_json)
{
	cur_json = is_json;
}

int log_is_json(void)
{
	return cur_json;
}

static void emit(enum log_level level, const char *fmt, va_list ap)
{
	static const char *const names[] = {"quiet", "error", "warning", "info",
					    "debug"};
	struct buf line = BUF_INIT;
	struct buf msg = BUF_INIT;
	int rc = 0;

	if (level > cur_level)
		return;
	rc |= buf_vprintf(&msg, fmt, ap);
	if (cur_json) {
		rc |= buf_puts(&line, "{\"event\":\"log\",\"level\":");
		rc |= jsonw_string(&line, names[level]);
		rc |= buf_puts(&line, ",\"msg\":");
		rc |= jsonw_string(&line, buf_str(&msg));
		rc |= buf_puts(&line, "}\n");
	} else if (level <= LOG_WARN) {
		rc |= buf_printf(&line, "espsync: %s%s\n",
				 level == LOG_WARN ? "warning: " : "",
				 buf_str(&msg));
	} else {
		rc |= buf_printf(&line, "%s\n", buf_str(&msg));
	}
	/* A message past the buffer's maximum is not cut but replaced. */
	if (rc < 0)
		fputs(cur_json ? "{\"event\":\"log\",\"level\":\"error\","
				 "\"msg\":\"log message too long\"}\n"
			       : "espsync: log message too long\n",
		      stderr);
	else
		fputs(buf_str(&line), stderr);
	fflush(stderr);
	buf_release(&line);
	buf_release(&msg);
}

#define DEFINE_LOG(name, level)                                                \
	void name(const char *fmt, ...)                                        \
	{                                                                      \
		va_list ap;                                                    \
		va_start(ap, fmt);                                             \
		emit(level, fmt, ap);                                          \
		va_end(ap);                                                    \
	}

DEFINE_LOG(log_error, LOG_ERROR)
DEFINE_LOG(log_warn, LOG_WARN)
DEFINE_LOG(log_info, LOG_INFO)
DEFINE_LOG(log_debug, LOG_DEBUG)
