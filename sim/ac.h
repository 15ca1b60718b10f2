/* The simulated ActiveCampaign API: v3 under /api/3/ (Api-Token header,
 * string-typed JSON, offset and id_greater paging) and the v1 report
 * actions at /admin/api.php, over one generated account with an account
 * time zone. One provider table serves both, so v1 and v3 share one token
 * bucket, as on the real account. See docs/simulator.md. */
#ifndef ESPSYNC_SIM_AC_H
#define ESPSYNC_SIM_AC_H

#include <stdint.h>

#include "server.h"

enum ac_updated_mode { AC_UPD_DATETIME, AC_UPD_DATE, AC_UPD_IGNORED };
/* Campaign detail shapes (ac_detail.c). */
enum ac_detail_mode { AC_DETAIL_PLURAL, AC_DETAIL_SINGULAR, AC_DETAIL_LEAN };

struct ac_options {
	const char *key;      /* borrowed; valid on v3 and v1 */
	const char *timezone; /* IANA name from the built-in table */
	uint64_t seed;
	int n_campaigns;
	int n_automations; /* automation campaigns after the others */
	int n_contacts;
	int64_t now;
	/* Runtime switches (also settable at /_sim/ac). */
	int is_inactive;     /* 402 on every authenticated call */
	int is_throttle_503; /* 503 instead of 429 when throttled */
	double pct_403;	     /* intermittent 403 on a valid key */
	long slow_offset_ms; /* extra ms per 1000 rows of /contacts offset */
	int is_naive;	     /* v1 rows without tstamp_iso / udate_iso */
	int is_limit_422;    /* limit outside 1..100 is 422, not clamped */
	int is_v1_desc;	     /* v1 default order newest first */
	/* v1 rows as a live account writes them (issue 15): naive tstamp at
	 * the zone's standard offset whatever DST says, some rows without
	 * tstamp_iso or with an invalid one, rows without subscriberid
	 * (id + email), one row naming no contact, bounce tstamp with the
	 * time of day beside a local-midnight tstamp_iso, and the extra keys
	 * tstamp_settings, sdate_iso, email_source, a_unsub_date/time,
	 * result_message "Success!". */
	int is_live;
	enum ac_updated_mode updated_mode;
	enum ac_detail_mode detail_mode;
};

struct ac;

/* NULL when the time zone is unknown. */
struct ac *ac_new(const struct ac_options *opt);
void ac_free(struct ac *ac);

extern const struct sim_provider ac_provider;

#endif
