/* Fuzz target for store URL parsing: the input is a store URL, a newline
 * and a driver message. Picking the backend, its URL check, the PostgreSQL
 * split of espsync's own parameters and the redaction accept anything; the
 * secrets found in the URL never survive in a scrubbed driver message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/postgresql.h"
#include "store/store.h"
#include "util/buf.h"

static int is_note(const char *s)
{
	return !strcmp(s, "driver message too long to show") ||
	       !strcmp(s, "unknown error");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct store_backend *be;
	struct store_secrets sec;
	struct buf out = BUF_INIT;
	struct err err = ERR_INIT;
	char *s = malloc(size + 1), *msg, *safe, *conninfo = NULL;
	int days = -1;
	size_t i;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	msg = strchr(s, '\n');
	if (msg)
		*msg++ = '\0';
	be = store_backend_for(s);
	if (be && be->keys->check_url)
		(void)be->keys->check_url(s);
	if (pg_split_url(s, &conninfo, &days, &err) == 0 &&
	    (!conninfo || days < -1 || days > 100000))
		abort();
	free(conninfo);
	safe = store_redact_url(s);
	if (!safe)
		abort();
	free(safe);
	store_secrets_init(&sec, s);
	store_driver_msg(&out, msg, &sec);
	for (i = 0; i < sec.n; i++) {
		const char *t = sec.v[i].text;

		/* "***" itself, or a secret a note happens to hold, is no
		 * leak of the URL. */
		if (!sec.v[i].is_piece && !strchr(t, '*') &&
		    !is_note(buf_str(&out)) && strstr(buf_str(&out), t))
			abort();
		if (i && strlen(t) > strlen(sec.v[i - 1].text))
			abort();
	}
	store_secrets_release(&sec);
	buf_release(&out);
	free(s);
	return 0;
}
