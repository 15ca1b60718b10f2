/* The provider registry: the one list of providers. Everything else
 * (configuration keys, --provider, check, sync, state show) iterates it. */
#include "source/source.h"

#include <stddef.h>
#include <strings.h>

#include "util/banned.h"

/* The providers, in the order of help, check and sync. Adding one is one
 * line here: X(name) for the descriptor `const struct source source_name`
 * defined in its own file. */
#define SOURCES(X)                                                             \
	X(emailoctopus)                                                        \
	X(activecampaign)                                                      \
	X(mailchimp)

#define SOURCE_DECLARE(name) extern const struct source source_##name;
#define SOURCE_ENTRY(name) &source_##name,

SOURCES(SOURCE_DECLARE)

const struct source *const source_registry[] = {SOURCES(SOURCE_ENTRY) NULL};

const struct source *source_find(const char *name)
{
	size_t i;

	for (i = 0; name && source_registry[i]; i++)
		if (!strcasecmp(name, source_registry[i]->name))
			return source_registry[i];
	return NULL;
}
