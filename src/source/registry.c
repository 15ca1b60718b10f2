/* The provider registry: the one list of providers. Everything else
 * (configuration keys, --provider, check, sync, state show) iterates it. */
#include "source/source.h"

#include <stddef.h>
#include <strings.h>

#include "source/activecampaign.h"
#include "source/emailoctopus.h"
#include "util/banned.h"

const struct source *const source_registry[] = {
    &source_emailoctopus,
    &source_activecampaign,
    NULL,
};

const struct source *source_find(const char *name)
{
	size_t i;

	for (i = 0; name && source_registry[i]; i++)
		if (!strcasecmp(name, source_registry[i]->name))
			return source_registry[i];
	return NULL;
}
