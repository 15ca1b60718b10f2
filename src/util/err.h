/* Error values passed up from deep code; only cmd_* and main print them. */
#ifndef ESPSYNC_ERR_H
#define ESPSYNC_ERR_H

enum err_kind {
	ERR_NONE = 0,
	ERR_USAGE,	 /* bad flags or arguments: exit 2 */
	ERR_CONFIG,	 /* bad or missing configuration: exit 2 */
	ERR_RUNTIME,	 /* anything else that failed: exit 1 */
	ERR_NET,	 /* network failure after retries: exit 1 */
	ERR_HTTP,	 /* provider answered an error status: exit 1 */
	ERR_PARSE,	 /* provider sent a body we cannot read: exit 1 */
	ERR_IO,		 /* local file error: exit 1 */
	ERR_AUTH,	 /* provider rejected the credentials: exit 4 */
	ERR_INACTIVE,	 /* provider account suspended (402): exit 4 */
	ERR_STORE,	 /* store unreachable or failing: exit 5 */
	ERR_NOT_FOUND,	 /* unknown campaign or object: exit 6 */
	ERR_PARTIAL,	 /* time budget reached, state saved: exit 3 */
	ERR_BUSY,	 /* another sync of the account holds the lease: 7 */
	ERR_INTERRUPTED, /* stopped by a signal, state saved: 128 + signal */
};

enum exit_code {
	EXIT_COMPLETE = 0,
	EXIT_RUNTIME = 1,
	EXIT_USAGE = 2,
	EXIT_PARTIAL = 3,
	EXIT_AUTH = 4,
	EXIT_STORE = 5,
	EXIT_NOT_FOUND = 6,
	EXIT_BUSY = 7,
	EXIT_SIGINT = 130,  /* 128 + SIGINT */
	EXIT_SIGTERM = 143, /* 128 + SIGTERM */
};

/* kind decides retries and exit codes; code is a detail (HTTP status, errno,
 * library code; the signal number for ERR_INTERRUPTED); msg is one lowercase
 * line without a trailing period. */
struct err {
	enum err_kind kind;
	int code;
	char msg[256];
};

#define ERR_INIT                                                               \
	{                                                                      \
		ERR_NONE, 0, ""                                                \
	}

/* Fills err (may be NULL) and returns -1, so callers can `return err_set(...)`.
 */
int err_set(struct err *err, enum err_kind kind, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Prefixes the existing message with "what: ". */
int err_prefix(struct err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void err_clear(struct err *err);
enum exit_code err_exit_code(const struct err *err);
const char *err_kind_name(enum err_kind kind);

#endif
