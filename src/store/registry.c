/* The store registry: the one list of store backends, looked up by URL
 * scheme. Configuration validation, --help and store_open ask it. */
#include "store/store.h"

#include <stddef.h>
#include <string.h>

#include "util/banned.h"

/* The backends, in the order of help. Adding one is one line here:
 * X(name) for `const struct store_backend name_store_backend` defined in
 * its own files. */
#define STORES(X)                                                              \
	X(sqlite)                                                              \
	X(postgresql)                                                          \
	X(mongodb)                                                             \
	X(bigquery)

#define STORE_DECLARE(name)                                                    \
	extern const struct store_backend name##_store_backend;
#define STORE_ENTRY(name) &name##_store_backend,

STORES(STORE_DECLARE)

const struct store_backend *const store_backends[] = {STORES(STORE_ENTRY) NULL};

static int has_prefix(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

const struct store_backend *store_backend_for(const char *url)
{
	size_t i, k;

	for (i = 0; url && store_backends[i]; i++) {
		const struct store_keys *sk = store_backends[i]->keys;

		for (k = 0; sk->schemes && sk->schemes[k]; k++)
			if (has_prefix(url, sk->schemes[k]))
				return store_backends[i];
	}
	for (i = 0; url && store_backends[i]; i++) {
		const struct store_keys *sk = store_backends[i]->keys;

		if (sk->is_own_url && sk->is_own_url(url))
			return store_backends[i];
	}
	return NULL;
}
