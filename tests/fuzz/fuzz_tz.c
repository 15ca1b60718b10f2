/* Fuzz target for the TZif reader: any bytes are parsed as a zone file;
 * when accepted, offsets and local-to-UTC conversion are asked for around
 * a few instants. Nothing may crash and offsets stay within a day. */
#include <stdint.h>
#include <stdlib.h>

#include "util/tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t at[] = {INT64_MIN / 4, -1,		0,
				     1741507200,    1762066800, 4102444800,
				     INT64_MAX / 4};
	struct tz *z = NULL;
	size_t i;
	int64_t off;

	if (tz_parse(&z, data, size, NULL) < 0)
		return 0;
	for (i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		off = tz_offset_at(z, at[i]);
		(void)tz_local_to_utc(z, at[i]);
		if (off < -200000 || off > 200000)
			abort();
	}
	tz_free(z);
	return 0;
}
