/* Shared between the EmailOctopus route files (eo.c, eo_lists.c). */
#ifndef ESPSYNC_SIM_EO_INT_H
#define ESPSYNC_SIM_EO_INT_H

#include <pthread.h>

#include "eo.h"

struct eo {
	struct eo_options opt;
	pthread_mutex_t lock; /* guards acct */
	struct account *acct;
};

#define EO_TYPE_URL "https://emailoctopus.com/api-documentation/v2#"

/* An RFC 7807 body; errors_json is the inside of "errors":[...] or NULL. */
void eo_error(struct sim_response *r, unsigned status, const char *slug,
	      const char *detail, const char *errors_json);
void eo_not_found(struct sim_response *r);
/* Reads limit and starting_after; -1 after writing the 400. */
int eo_paging_args(const struct sim_request *req, struct sim_response *resp,
		   long *limit, struct cursor_key *after, int *has_after);
void eo_bad_cursor(struct sim_response *r);

/* /lists routes; segs are the path segments after "lists". 0, or -1 when
 * the body reached its maximum. */
BUF_MUST_CHECK int eo_lists_route(struct eo *eo, const struct sim_request *req,
				  struct sim_response *resp, char **segs,
				  int n_segs);

#endif
