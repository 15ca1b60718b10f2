/* Mailchimp Marketing API v3.0: what mailchimp.c and mc_map.c share and
 * what the unit tests call. */
#ifndef ESPSYNC_MAILCHIMP_H
#define ESPSYNC_MAILCHIMP_H

#include <stddef.h>

#include "source/source.h"

/* Rows per page: the API's maximum (a larger count is silently capped). */
#define MC_PAGE 1000

/* Contact "statuses" of a list: the members (archived ones are only
 * listed when asked for), and two list-side reads that complete the list
 * row (its merge fields and its tags). */
#define MC_ST_MEMBERS "all"
#define MC_ST_ARCHIVED "archived"
#define MC_ST_FIELDS "merge-fields"
#define MC_ST_TAGS "tags"

/* Report kinds (source_report_kind.status). */
#define MC_RK_ACTIVITY "email-activity"
#define MC_RK_UNSUBSCRIBED "unsubscribed"
#define MC_RK_ABUSE "abuse-reports"

extern const struct source source_mailchimp;

/* The data center of a key ("…-us6" -> "us6"): the part after the last
 * '-', letters then digits. 0, or -1 when the key names none. */
int mc_key_dc(const char *key, char *out, size_t n);
/* 1 when dc looks like a data center ("us6"). */
int mc_is_dc(const char *dc);
/* The problem document of an error body: "title: detail" (either alone
 * when the other is missing) into out; 0, or -1 when the body is not a
 * JSON object with either. */
int mc_problem(const char *body, size_t len, long *status, char *out, size_t n);

/* The items array of a page of q (NULL when missing). */
const struct json *mc_items(const struct json *root,
			    const struct source_query *q);

/* Mapping (mc_map.c). */
int mc_map_lists(struct source_map *m, const struct json *root,
		 struct err *err);
int mc_map_contacts(struct source_map *m, const struct json *root,
		    struct err *err);
int mc_map_campaigns(struct source_map *m, const struct json *root,
		     struct err *err);
int mc_map_campaign(struct source_map *m, const struct json *root,
		    struct err *err);
int mc_map_links(struct source_map *m, const struct json *root,
		 struct err *err);
int mc_map_report(struct source_map *m, const struct json *root,
		  struct err *err);
int mc_map_summary(struct campaign_stats *out, const struct json *root,
		   struct err *err);

#endif
