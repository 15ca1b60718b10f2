/* espsync-sim: parses flags, generates the account, serves it on
 * 127.0.0.1, writes the bound port to --port-file atomically, and exits 0
 * on SIGTERM or SIGINT. See docs/simulator.md. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ac.h"
#include "eo.h"
#include "mc.h"
#include "ac_tz.h"
#include "server.h"
#include "simtime.h"
#include "util/banned.h"

static const char usage[] =
    "usage: espsync-sim --port-file FILE [--port N] [--seed N]\n"
    "  [--campaigns N] [--lists N] [--contacts N] [--now ISO]\n"
    "  [--eo-key KEY] [--eo-legacy-key KEY] [--eo-rate R] [--eo-burst B]\n"
    "  [--eo-v1-rate R] [--eo-v1-block-ms N]\n"
    "  [--retry-after-format seconds|date|none] [--latency-ms N]\n"
    "  [--fault-5xx PCT] [--fault-503 PCT] [--fault-403 PCT]\n"
    "  [--fault-truncate PCT] [--fault-empty PCT]\n"
    "  [--fault-drop PCT] [--fault-slow PCT --slow-ms N] [--storm-429 N]\n"
    "  [--fault-seed N] [--paging-end null|empty|absent] [--counts-array]\n"
    "  [--missing-occurred-at PCT] [--free-plan] [--hostile-names]\n"
    "  [--draft-sent-at]\n"
    "  [--quiet]\n"
    "  [--ac-key KEY [--ac-timezone TZ] [--ac-campaigns N] [--ac-contacts N]\n"
    "   [--ac-rate R] [--ac-burst B] [--ac-fault-403 PCT] [--ac-throttle-503]\n"
    "   [--ac-inactive] [--ac-slow-offsets MS] [--ac-naive]\n"
    "   [--ac-limit-422] [--ac-v1-desc] [--ac-automations N] [--ac-live]\n"
    "   [--ac-updated-after datetime|date|ignored]]\n"
    "  [--mc-key KEY-DC [--mc-campaigns N] [--mc-contacts N] [--mc-lists N]\n"
    "   [--mc-connections N] [--mc-latency-ms N]\n"
    "   [--mc-throttle json|bare429|bare403|mixed] [--mc-wrong-dc-403]\n"
    "   [--mc-tags-silent] [--mc-insertion-order] [--mc-keep-alive]]\n";

enum {
	OPT_PORT_FILE = 256,
	OPT_PORT,
	OPT_SEED,
	OPT_CAMPAIGNS,
	OPT_LISTS,
	OPT_CONTACTS,
	OPT_NOW,
	OPT_EO_KEY,
	OPT_EO_LEGACY_KEY,
	OPT_EO_RATE,
	OPT_EO_BURST,
	OPT_EO_V1_RATE,
	OPT_EO_V1_BLOCK,
	OPT_RETRY_AFTER,
	OPT_LATENCY,
	OPT_F5XX,
	OPT_F503,
	OPT_F403,
	OPT_FTRUNC,
	OPT_FEMPTY,
	OPT_FDROP,
	OPT_FSLOW,
	OPT_SLOW_MS,
	OPT_STORM,
	OPT_FSEED,
	OPT_PAGING_END,
	OPT_COUNTS_ARRAY,
	OPT_MISSING_OCC,
	OPT_HOSTILE,
	OPT_FREE_PLAN,
	OPT_DRAFT_SENT_AT,
	OPT_QUIET,
	OPT_HELP,
	OPT_AC_KEY,
	OPT_AC_TZ,
	OPT_AC_CAMPAIGNS,
	OPT_AC_CONTACTS,
	OPT_AC_RATE,
	OPT_AC_BURST,
	OPT_AC_F403,
	OPT_AC_503,
	OPT_AC_INACTIVE,
	OPT_AC_SLOW,
	OPT_AC_NAIVE,
	OPT_AC_AUTOMATIONS,
	OPT_AC_LIVE,
	OPT_AC_422,
	OPT_AC_V1_DESC,
	OPT_AC_UPDATED,
	OPT_MC_KEY,
	OPT_MC_CAMPAIGNS,
	OPT_MC_CONTACTS,
	OPT_MC_LISTS,
	OPT_MC_CONNECTIONS,
	OPT_MC_LATENCY,
	OPT_MC_THROTTLE,
	OPT_MC_WRONG_DC,
	OPT_MC_TAGS_SILENT,
	OPT_MC_INSERTION,
	OPT_MC_KEEP_ALIVE
};

static const struct option long_opts[] = {
    {"port-file", required_argument, NULL, OPT_PORT_FILE},
    {"port", required_argument, NULL, OPT_PORT},
    {"seed", required_argument, NULL, OPT_SEED},
    {"campaigns", required_argument, NULL, OPT_CAMPAIGNS},
    {"lists", required_argument, NULL, OPT_LISTS},
    {"contacts", required_argument, NULL, OPT_CONTACTS},
    {"now", required_argument, NULL, OPT_NOW},
    {"eo-key", required_argument, NULL, OPT_EO_KEY},
    {"eo-legacy-key", required_argument, NULL, OPT_EO_LEGACY_KEY},
    {"eo-rate", required_argument, NULL, OPT_EO_RATE},
    {"eo-burst", required_argument, NULL, OPT_EO_BURST},
    {"eo-v1-rate", required_argument, NULL, OPT_EO_V1_RATE},
    {"eo-v1-block-ms", required_argument, NULL, OPT_EO_V1_BLOCK},
    {"retry-after-format", required_argument, NULL, OPT_RETRY_AFTER},
    {"latency-ms", required_argument, NULL, OPT_LATENCY},
    {"fault-5xx", required_argument, NULL, OPT_F5XX},
    {"fault-503", required_argument, NULL, OPT_F503},
    {"fault-403", required_argument, NULL, OPT_F403},
    {"fault-truncate", required_argument, NULL, OPT_FTRUNC},
    {"fault-empty", required_argument, NULL, OPT_FEMPTY},
    {"fault-drop", required_argument, NULL, OPT_FDROP},
    {"fault-slow", required_argument, NULL, OPT_FSLOW},
    {"slow-ms", required_argument, NULL, OPT_SLOW_MS},
    {"storm-429", required_argument, NULL, OPT_STORM},
    {"fault-seed", required_argument, NULL, OPT_FSEED},
    {"paging-end", required_argument, NULL, OPT_PAGING_END},
    {"counts-array", no_argument, NULL, OPT_COUNTS_ARRAY},
    {"missing-occurred-at", required_argument, NULL, OPT_MISSING_OCC},
    {"hostile-names", no_argument, NULL, OPT_HOSTILE},
    {"free-plan", no_argument, NULL, OPT_FREE_PLAN},
    {"draft-sent-at", no_argument, NULL, OPT_DRAFT_SENT_AT},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"help", no_argument, NULL, OPT_HELP},
    {"ac-key", required_argument, NULL, OPT_AC_KEY},
    {"ac-timezone", required_argument, NULL, OPT_AC_TZ},
    {"ac-campaigns", required_argument, NULL, OPT_AC_CAMPAIGNS},
    {"ac-contacts", required_argument, NULL, OPT_AC_CONTACTS},
    {"ac-rate", required_argument, NULL, OPT_AC_RATE},
    {"ac-burst", required_argument, NULL, OPT_AC_BURST},
    {"ac-fault-403", required_argument, NULL, OPT_AC_F403},
    {"ac-throttle-503", no_argument, NULL, OPT_AC_503},
    {"ac-inactive", no_argument, NULL, OPT_AC_INACTIVE},
    {"ac-slow-offsets", required_argument, NULL, OPT_AC_SLOW},
    {"ac-naive", no_argument, NULL, OPT_AC_NAIVE},
    {"ac-automations", required_argument, NULL, OPT_AC_AUTOMATIONS},
    {"ac-live", no_argument, NULL, OPT_AC_LIVE},
    {"ac-limit-422", no_argument, NULL, OPT_AC_422},
    {"ac-v1-desc", no_argument, NULL, OPT_AC_V1_DESC},
    {"ac-updated-after", required_argument, NULL, OPT_AC_UPDATED},
    {"mc-key", required_argument, NULL, OPT_MC_KEY},
    {"mc-campaigns", required_argument, NULL, OPT_MC_CAMPAIGNS},
    {"mc-contacts", required_argument, NULL, OPT_MC_CONTACTS},
    {"mc-lists", required_argument, NULL, OPT_MC_LISTS},
    {"mc-connections", required_argument, NULL, OPT_MC_CONNECTIONS},
    {"mc-latency-ms", required_argument, NULL, OPT_MC_LATENCY},
    {"mc-throttle", required_argument, NULL, OPT_MC_THROTTLE},
    {"mc-wrong-dc-403", no_argument, NULL, OPT_MC_WRONG_DC},
    {"mc-tags-silent", no_argument, NULL, OPT_MC_TAGS_SILENT},
    {"mc-insertion-order", no_argument, NULL, OPT_MC_INSERTION},
    {"mc-keep-alive", no_argument, NULL, OPT_MC_KEEP_ALIVE},
    {NULL, 0, NULL, 0}};

static int num_arg(const char *name, const char *v, double lo, double hi,
		   double *out)
{
	char *end;

	errno = 0;
	*out = strtod(v, &end);
	if (errno || end == v || *end || !(*out >= lo && *out <= hi)) {
		fprintf(stderr, "espsync-sim: invalid value '%s' for --%s\n", v,
			name);
		return -1;
	}
	return 0;
}

static int int_arg(const char *name, const char *v, long long lo, long long hi,
		   long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(v, &end, 10);
	if (errno || end == v || *end || *out < lo || *out > hi) {
		fprintf(stderr, "espsync-sim: invalid value '%s' for --%s\n", v,
			name);
		return -1;
	}
	return 0;
}

/* Writes "PORT\n" to a temp file next to path, then renames it. */
static int write_port_file(const char *path, int port)
{
	char tmp[4096];
	FILE *f;
	int rc = -1;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path,
			     (long)getpid()) >= sizeof(tmp))
		return -1;
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	if (fprintf(f, "%d\n", port) > 0 && fflush(f) == 0 &&
	    fsync(fileno(f)) == 0)
		rc = 0;
	if (fclose(f) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -1;
	if (rc != 0)
		unlink(tmp);
	return rc;
}

struct cli {
	const char *port_file;
	struct server_options srv;
	struct eo_options eo;
	double eo_rate, eo_burst;
	struct provider_limits v1;
	struct ac_options ac;
	struct provider_limits ac_lim;
	struct mc_options mc;
	struct provider_limits mc_lim;
};

/* The Mailchimp flags (see docs/simulator.md). */
static int parse_mc_arg(int o, const char *name, struct cli *c)
{
	static const char *const modes[] = {"json", "bare429", "bare403",
					    "mixed"};
	long long n;
	int rc = 0, k;

	switch (o) {
	case OPT_MC_KEY:
		c->mc.key = optarg;
		break;
	case OPT_MC_CAMPAIGNS:
		rc = int_arg(name, optarg, 0, 100000, &n);
		c->mc.n_campaigns = (int)n;
		break;
	case OPT_MC_CONTACTS:
		rc = int_arg(name, optarg, 0, 10000000, &n);
		c->mc.n_contacts = (int)n;
		break;
	case OPT_MC_LISTS:
		rc = int_arg(name, optarg, 1, 4, &n);
		c->mc.n_lists = (int)n;
		break;
	case OPT_MC_CONNECTIONS:
		rc = int_arg(name, optarg, 0, 100000, &n);
		c->mc_lim.max_in_flight = (int)n;
		break;
	case OPT_MC_LATENCY:
		rc = int_arg(name, optarg, 0, 3600000, &n);
		c->mc.latency_ms = (long)n;
		break;
	case OPT_MC_THROTTLE:
		for (k = 0; k < 4 && strcmp(optarg, modes[k]); k++)
			;
		if (k == 4)
			rc = int_arg(name, optarg, 1, 0, &n);
		c->mc.throttle = (enum mc_throttle)(k % 4);
		break;
	case OPT_MC_WRONG_DC:
		c->mc.is_wrong_dc_403 = 1;
		break;
	case OPT_MC_TAGS_SILENT:
		c->mc.is_tags_silent = 1;
		break;
	case OPT_MC_INSERTION:
		c->mc.is_insertion = 1;
		break;
	default:
		c->mc.is_keep_alive = 1;
	}
	return rc;
}

/* The ActiveCampaign flags (see docs/simulator.md). */
static int parse_ac_arg(int o, const char *name, struct cli *c)
{
	long long n;
	int rc = 0;

	switch (o) {
	case OPT_AC_KEY:
		c->ac.key = optarg;
		break;
	case OPT_AC_TZ:
		c->ac.timezone = optarg;
		break;
	case OPT_AC_CAMPAIGNS:
		rc = int_arg(name, optarg, 0, 100000, &n);
		c->ac.n_campaigns = (int)n;
		break;
	case OPT_AC_CONTACTS:
		rc = int_arg(name, optarg, 0, 10000000, &n);
		c->ac.n_contacts = (int)n;
		break;
	case OPT_AC_RATE:
		rc = num_arg(name, optarg, 0, 1e6, &c->ac_lim.rate_per_sec);
		break;
	case OPT_AC_BURST:
		rc = num_arg(name, optarg, 1, 1e6, &c->ac_lim.burst);
		break;
	case OPT_AC_F403:
		rc = num_arg(name, optarg, 0, 100, &c->ac.pct_403);
		break;
	case OPT_AC_503:
		c->ac.is_throttle_503 = 1;
		break;
	case OPT_AC_INACTIVE:
		c->ac.is_inactive = 1;
		break;
	case OPT_AC_SLOW:
		rc = int_arg(name, optarg, 0, 600000, &n);
		c->ac.slow_offset_ms = (long)n;
		break;
	case OPT_AC_AUTOMATIONS:
		rc = int_arg(name, optarg, 0, 100, &n);
		c->ac.n_automations = (int)n;
		break;
	case OPT_AC_LIVE:
		c->ac.is_live = 1;
		break;
	case OPT_AC_NAIVE:
		c->ac.is_naive = 1;
		break;
	case OPT_AC_422:
		c->ac.is_limit_422 = 1;
		break;
	case OPT_AC_V1_DESC:
		c->ac.is_v1_desc = 1;
		break;
	default:
		if (!strcmp(optarg, "datetime"))
			c->ac.updated_mode = AC_UPD_DATETIME;
		else if (!strcmp(optarg, "date"))
			c->ac.updated_mode = AC_UPD_DATE;
		else if (!strcmp(optarg, "ignored"))
			c->ac.updated_mode = AC_UPD_IGNORED;
		else
			rc = int_arg(name, optarg, 1, 0, &n);
	}
	return rc;
}

static int parse_args(int argc, char **argv, struct cli *c)
{
	long long n;
	double d;
	int o;

	while ((o = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		const char *name = o >= OPT_PORT_FILE && o <= OPT_MC_KEEP_ALIVE
				       ? long_opts[o - OPT_PORT_FILE].name
				       : "?";
		int rc = 0;

		switch (o) {
		case OPT_PORT_FILE:
			c->port_file = optarg;
			break;
		case OPT_PORT:
			rc = int_arg(name, optarg, 0, 65535, &n);
			c->srv.port = (int)n;
			break;
		case OPT_SEED:
			rc = int_arg(name, optarg, 0, INT64_MAX, &n);
			c->eo.account.seed = (uint64_t)n;
			break;
		case OPT_CAMPAIGNS:
			rc = int_arg(name, optarg, 0, 100000, &n);
			c->eo.account.n_campaigns = (int)n;
			break;
		case OPT_LISTS:
			rc = int_arg(name, optarg, 1, 32, &n);
			c->eo.account.n_lists = (int)n;
			break;
		case OPT_CONTACTS:
			rc = int_arg(name, optarg, 0, 10000000, &n);
			c->eo.account.n_contacts = (int)n;
			break;
		case OPT_NOW:
			if (simtime_parse(optarg, &c->eo.account.now) < 0) {
				fprintf(stderr,
					"espsync-sim: invalid time "
					"'%s' for --now\n",
					optarg);
				rc = -1;
			}
			break;
		case OPT_EO_KEY:
			c->eo.key = optarg;
			break;
		case OPT_EO_LEGACY_KEY:
			c->eo.legacy_key = optarg;
			break;
		case OPT_EO_RATE:
			rc = num_arg(name, optarg, 0, 1e6, &c->eo_rate);
			break;
		case OPT_EO_BURST:
			rc = num_arg(name, optarg, 1, 1e6, &c->eo_burst);
			break;
		case OPT_EO_V1_RATE:
			rc = num_arg(name, optarg, 1, 1e6, &c->v1.rate_per_sec);
			c->v1.burst = c->v1.rate_per_sec;
			break;
		case OPT_EO_V1_BLOCK:
			rc = int_arg(name, optarg, 0, 3600000, &n);
			c->v1.block_ms = (long)n;
			break;
		case OPT_RETRY_AFTER:
			if (!strcmp(optarg, "seconds"))
				c->srv.retry_after = RA_SECONDS;
			else if (!strcmp(optarg, "date"))
				c->srv.retry_after = RA_DATE;
			else if (!strcmp(optarg, "none"))
				c->srv.retry_after = RA_NONE;
			else
				rc = num_arg(name, optarg, 1, 0, &d);
			break;
		case OPT_LATENCY:
			rc = int_arg(name, optarg, 0, 3600000, &n);
			c->srv.faults.latency_ms = (long)n;
			break;
		case OPT_F5XX:
			rc = num_arg(name, optarg, 0, 100,
				     &c->srv.faults.pct_5xx);
			break;
		case OPT_F503:
			rc = num_arg(name, optarg, 0, 100,
				     &c->srv.faults.pct_503);
			break;
		case OPT_F403:
			rc = num_arg(name, optarg, 0, 100,
				     &c->srv.faults.pct_403);
			break;
		case OPT_FTRUNC:
			rc = num_arg(name, optarg, 0, 100,
				     &c->srv.faults.pct_truncate);
			break;
		case OPT_FEMPTY:
			rc = num_arg(name, optarg, 0, 100,
				     &c->srv.faults.pct_empty);
			break;
		case OPT_FDROP:
			rc = num_arg(name, optarg, 0, 100,
				     &c->srv.faults.pct_drop);
			break;
		case OPT_FSLOW:
			rc = num_arg(name, optarg, 0, 100,
				     &c->srv.faults.pct_slow);
			break;
		case OPT_SLOW_MS:
			rc = int_arg(name, optarg, 0, 3600000, &n);
			c->srv.faults.slow_ms = (long)n;
			break;
		case OPT_STORM:
			rc = int_arg(name, optarg, 0, 100000000, &n);
			c->srv.faults.storm_429 = (long)n;
			break;
		case OPT_FSEED:
			rc = int_arg(name, optarg, 0, INT64_MAX, &n);
			c->srv.fault_seed = (uint64_t)n;
			break;
		case OPT_PAGING_END:
			if (!strcmp(optarg, "null"))
				c->eo.paging_end = PAGING_END_NULL;
			else if (!strcmp(optarg, "empty"))
				c->eo.paging_end = PAGING_END_EMPTY;
			else if (!strcmp(optarg, "absent"))
				c->eo.paging_end = PAGING_END_ABSENT;
			else
				rc = num_arg(name, optarg, 1, 0, &d);
			break;
		case OPT_COUNTS_ARRAY:
			c->eo.is_counts_array = 1;
			break;
		case OPT_MISSING_OCC:
			rc = num_arg(name, optarg, 0, 100,
				     &c->eo.account.missing_occurred_at_pct);
			break;
		case OPT_HOSTILE:
			c->eo.account.is_hostile = 1;
			break;
		case OPT_FREE_PLAN:
			c->eo.account.is_free_plan = 1;
			break;
		case OPT_DRAFT_SENT_AT:
			c->eo.account.is_draft_sent_at = 1;
			break;
		case OPT_QUIET:
			c->srv.is_quiet = 1;
			break;
		case OPT_HELP:
			fputs(usage, stdout);
			exit(0);
		default:
			rc = o >= OPT_AC_KEY && o <= OPT_AC_UPDATED
				 ? parse_ac_arg(o, name, c)
			     : o >= OPT_MC_KEY && o <= OPT_MC_KEEP_ALIVE
				 ? parse_mc_arg(o, name, c)
				 : -1;
		}
		if (rc < 0)
			return -1;
	}
	if (optind < argc) {
		fprintf(stderr, "espsync-sim: unexpected argument '%s'\n",
			argv[optind]);
		return -1;
	}
	if (!c->port_file) {
		fprintf(stderr, "espsync-sim: --port-file is required\n");
		return -1;
	}
	if (c->ac.key && !*c->ac.key) {
		fprintf(stderr, "espsync-sim: --ac-key must not be empty\n");
		return -1;
	}
	if (c->mc.key && !strrchr(c->mc.key, '-')) {
		fprintf(stderr, "espsync-sim: --mc-key must end in -DC "
				"(e.g. -us6)\n");
		return -1;
	}
	if (c->eo.legacy_key && strcmp(c->eo.legacy_key, c->eo.key) == 0) {
		fprintf(stderr, "espsync-sim: --eo-legacy-key must differ "
				"from --eo-key\n");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct cli c;
	struct server *srv = NULL;
	struct eo *eo = NULL;
	struct ac *ac = NULL;
	struct mc *mc = NULL;
	struct provider_limits lim;
	sigset_t set;
	int port = 0, sig = 0, rc = 1;

	memset(&c, 0, sizeof(c));
	c.eo.key = "sim-eo-key";
	c.eo.account.seed = 1;
	c.eo.account.n_campaigns = 12;
	c.eo.account.n_lists = 3;
	c.eo.account.n_contacts = 200;
	c.eo.account.missing_occurred_at_pct = 2;
	c.eo.account.now =
	    time_days_from_civil(2026, 1, 15) * 86400 + 12 * 3600;
	c.eo_rate = 10;
	c.eo_burst = 100;
	c.v1.rate_per_sec = 10;
	c.v1.burst = 10;
	c.v1.block_ms = 60000;
	c.srv.fault_seed = 1;
	c.ac.timezone = "America/Chicago";
	c.ac.n_campaigns = 12;
	c.ac.n_contacts = 500;
	c.ac_lim.rate_per_sec = 5;
	c.ac_lim.burst = 1;
	c.mc.n_campaigns = 12;
	c.mc.n_contacts = 300;
	c.mc.n_lists = 1;
	c.mc_lim.rate_per_sec = 1e6; /* no quota: connections only */
	c.mc_lim.burst = 1e6;
	c.mc_lim.max_in_flight = 10;
	if (parse_args(argc, argv, &c) < 0) {
		fputs(usage, stderr);
		return 2;
	}
	/* Block the signals before any thread starts, so only sigwait()
	 * sees them; SIGPIPE from closed client sockets is ignored. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	c.ac.seed = c.eo.account.seed;
	c.ac.now = c.eo.account.now;
	if (c.ac.key && !(ac = ac_new(&c.ac))) {
		fprintf(stderr,
			"espsync-sim: unknown --ac-timezone '%s' (known: "
			"%s)\n",
			c.ac.timezone, ac_tz_names());
		return 2;
	}
	c.mc.seed = c.eo.account.seed;
	c.mc.now = c.eo.account.now;
	if (c.mc.key)
		mc = mc_new(&c.mc);
	eo = eo_new(&c.eo);
	srv = server_new(&c.srv);
	if (mc)
		server_add_provider(srv, &mc_provider, mc, &c.mc_lim);
	/* AC first: EmailOctopus v2 claims every remaining path. */
	if (ac)
		server_add_provider(srv, &ac_provider, ac, &c.ac_lim);
	lim.rate_per_sec = c.eo_rate;
	lim.burst = c.eo_burst;
	lim.block_ms = 0;
	lim.max_in_flight = 0;
	server_add_provider(srv, &eo_v1_provider, eo, &c.v1);
	server_add_provider(srv, &eo_provider, eo, &lim);
	if (server_start(srv, &port) < 0) {
		fprintf(stderr, "espsync-sim: cannot listen on 127.0.0.1:%d\n",
			c.srv.port);
		goto done;
	}
	if (write_port_file(c.port_file, port) < 0) {
		fprintf(stderr,
			"espsync-sim: cannot write port file '%s': %s\n",
			c.port_file, strerror(errno));
		goto done;
	}
	if (!c.srv.is_quiet)
		fprintf(stderr,
			"espsync-sim: listening on http://127.0.0.1:%d "
			"(seed %llu)\n",
			port, (unsigned long long)c.eo.account.seed);
	while (sigwait(&set, &sig) != 0)
		;
	rc = 0;
done:
	server_free(srv);
	eo_free(eo);
	ac_free(ac);
	mc_free(mc);
	return rc;
}
