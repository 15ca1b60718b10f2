/* Fuzz target for the .env reader: any text parses or is refused with a
 * message, and what parses holds non-empty keys, distinct and bounded in
 * number, each found again by env_file_get. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/envfile.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct env_file f;
	struct err err = ERR_INIT;
	size_t i;

	env_file_init(&f);
	if (env_file_parse(&f, "fuzz.env", (const char *)data, size, &err) <
	    0) {
		if (!err.msg[0])
			abort();
		goto done;
	}
	if (f.n > ENV_MAX_ENTRIES)
		abort();
	for (i = 0; i < f.n; i++) {
		const struct env_entry *e = &f.entries[i];

		if (!e->key || !e->key[0] || !e->value || e->line < 1)
			abort();
		if (env_file_get(&f, e->key) != e)
			abort();
	}
done:
	env_file_release(&f);
	return 0;
}
