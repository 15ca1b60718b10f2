/* The simulated EmailOctopus API v2 (root paths, Bearer keys, lowercase
 * enums, cursor paging, RFC 7807 errors) over one generated account. */
#ifndef ESPSYNC_SIM_EO_H
#define ESPSYNC_SIM_EO_H

#include "account.h"
#include "page.h"
#include "server.h"

struct eo_options {
	const char *key;	/* borrowed; valid on v2 */
	const char *legacy_key; /* borrowed, may be NULL; 401 on v2 */
	enum paging_end paging_end;
	int is_counts_array;
	struct account_options account;
};

struct eo;

struct eo *eo_new(const struct eo_options *opt);
void eo_free(struct eo *eo);

extern const struct sim_provider eo_provider;
/* v1.6 under /api/1.6/; its state is the same struct eo (register it
 * before eo_provider, which claims every other path). */
extern const struct sim_provider eo_v1_provider;

#endif
