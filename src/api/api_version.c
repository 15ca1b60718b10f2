/* espsync_version and espsync_api_version: what a program linked against
 * libespsync learns before it makes a handle. */
#include "espsync.h"

#include "config/options.h"
#include "util/banned.h"

const char *espsync_version(void)
{
	return ESPSYNC_VERSION;
}

int espsync_api_version(void)
{
	return ESPSYNC_API_VERSION;
}
