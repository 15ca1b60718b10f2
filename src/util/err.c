/* Error value helpers and the mapping from error kind to exit code. */
#include "util/err.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/banned.h"

int err_set(struct err *err, enum err_kind kind, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	err->kind = kind;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int err_prefix(struct err *err, const char *fmt, ...)
{
	char old[sizeof(err->msg)];
	size_t n;
	int len;
	va_list ap;

	if (!err)
		return -1;
	memcpy(old, err->msg, sizeof(old));
	va_start(ap, fmt);
	len = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	n = len < 0 ? 0 : (size_t)len;
	if (n < sizeof(err->msg) - 3) {
		memcpy(err->msg + n, ": ", 2);
		n += 2;
		memcpy(err->msg + n, old, sizeof(err->msg) - n - 1);
		err->msg[sizeof(err->msg) - 1] = '\0';
	}
	return -1;
}

void err_clear(struct err *err)
{
	if (!err)
		return;
	err->kind = ERR_NONE;
	err->code = 0;
	err->msg[0] = '\0';
}

enum exit_code err_exit_code(const struct err *err)
{
	switch (err->kind) {
	case ERR_NONE:
		return EXIT_COMPLETE;
	case ERR_USAGE:
	case ERR_CONFIG:
		return EXIT_USAGE;
	case ERR_PARTIAL:
		return EXIT_PARTIAL;
	case ERR_AUTH:
	case ERR_INACTIVE:
		return EXIT_AUTH;
	case ERR_STORE:
		return EXIT_STORE;
	case ERR_NOT_FOUND:
		return EXIT_NOT_FOUND;
	case ERR_BUSY:
		return EXIT_BUSY;
	case ERR_INTERRUPTED:
		/* 128 + the signal, as a shell reports a process it killed */
		return err->code == SIGTERM ? EXIT_SIGTERM : EXIT_SIGINT;
	case ERR_RUNTIME:
	case ERR_NET:
	case ERR_HTTP:
	case ERR_PARSE:
	case ERR_IO:
		break;
	}
	return EXIT_RUNTIME;
}

const char *err_kind_name(enum err_kind kind)
{
	static const char *const names[] = {
	    [ERR_NONE] = "none",
	    [ERR_USAGE] = "usage",
	    [ERR_CONFIG] = "config",
	    [ERR_RUNTIME] = "runtime",
	    [ERR_NET] = "network",
	    [ERR_HTTP] = "http",
	    [ERR_PARSE] = "parse",
	    [ERR_IO] = "io",
	    [ERR_AUTH] = "auth",
	    [ERR_INACTIVE] = "inactive",
	    [ERR_STORE] = "store",
	    [ERR_NOT_FOUND] = "not_found",
	    [ERR_PARTIAL] = "partial",
	    [ERR_BUSY] = "busy",
	    [ERR_INTERRUPTED] = "interrupted",
	};
	if ((unsigned)kind < sizeof(names) / sizeof(names[0]) && names[kind])
		return names[kind];
	return "unknown";
}
