/* The simulated Mailchimp Marketing API v3.0 under /3.0/: one generated
 * account (audiences, members, campaigns, reports with per-recipient
 * activity), HTTP Basic / Bearer / OAuth / apikey authentication with the
 * data center taken from the key's suffix, problem+json errors, and the
 * 10-connection limit (enforced by the server through
 * provider_limits.max_in_flight). See docs/simulator.md. */
#ifndef ESPSYNC_SIM_MC_H
#define ESPSYNC_SIM_MC_H

#include <stdint.h>

#include "server.h"

/* How an over-limit request is refused: the documented 429 problem
 * document, a 429 or a 403 without a body ("at exceptionally high
 * volumes"), or the three in turn. */
enum mc_throttle { MC_THR_JSON, MC_THR_BARE429, MC_THR_BARE403, MC_THR_MIXED };

struct mc_options {
	const char *key; /* borrowed; "<hex>-<dc>" */
	uint64_t seed;
	int n_campaigns;
	int n_contacts; /* members per audience */
	int n_lists;
	int64_t now;
	/* Runtime switches (also settable at /_sim/mc). */
	enum mc_throttle throttle;
	int is_wrong_dc_403; /* wrong data center: 403 WrongDatacenter */
	int is_tags_silent;  /* tag edits do not move last_changed */
	int is_insertion;    /* no sort_field: insertion order, not seeded */
	int is_disabled;     /* 403 "User Disabled" on every call */
	int is_keep_alive;   /* no "Connection: close" (recorded on all) */
	long latency_ms;     /* before every Mailchimp answer */
};

struct mc;

struct mc *mc_new(const struct mc_options *opt);
void mc_free(struct mc *mc);

extern const struct sim_provider mc_provider;

#endif
