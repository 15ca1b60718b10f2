/* The sync entry point cmd_sync calls: one provider account into one store,
 * resumable from checkpoints, within a time budget. */
#ifndef ESPSYNC_SYNC_H
#define ESPSYNC_SYNC_H

#include <signal.h>
#include <stdint.h>

#include "store/store.h"
#include "util/err.h"

struct source; /* a provider of the registry (source/source.h) */

enum sync_stream {
	STREAM_CAMPAIGNS = 1 << 0,
	STREAM_REPORTS = 1 << 1, /* summary + links */
	STREAM_PARTICIPANTS = 1 << 2,
	STREAM_ACTIVITIES = 1 << 3,
	STREAM_CONTACTS = 1 << 4,
	STREAM_LISTS = 1 << 5,
	STREAM_ALL = (1 << 6) - 1
};

/* Positions in sync_report.records: the bit position of each stream. */
enum sync_slot {
	SYNC_SLOT_CAMPAIGNS = 0,
	SYNC_SLOT_REPORTS,
	SYNC_SLOT_PARTICIPANTS,
	SYNC_SLOT_ACTIVITIES,
	SYNC_SLOT_CONTACTS,
	SYNC_SLOT_LISTS,
	SYNC_SLOTS
};

/* Parses "campaigns,reports,…"; -1 with err on an unknown name. */
int sync_streams_parse(const char *list, unsigned *out, struct err *err);

enum sync_mode {
	SYNC_DEFAULT = 0, /* re-read reports only where counters changed */
	SYNC_FULL,	  /* re-read everything */
	SYNC_INCREMENTAL, /* also skip campaigns checked < hours ago */
};

enum progress_mode {
	PROGRESS_NONE = 0, /* --quiet */
	PROGRESS_TTY,	   /* one updating line per stream */
	PROGRESS_PLAIN,	   /* log lines (cron) */
	PROGRESS_JSON,	   /* NDJSON events on stderr */
};

struct progress_event; /* core/progress.h */
/* Hears the run's pages and campaigns (struct progress_event). */
typedef void (*sync_progress_fn)(void *userdata,
				 const struct progress_event *ev);

struct sync_request {
	const struct source *source; /* the provider, from source_registry */
	const char *api_url;	     /* base URL, no trailing slash */
	const char *api_key;	     /* never logged */
	const char *region;   /* data center (PROLE_REGION); NULL: none */
	const char *account;  /* store account name */
	const char *timezone; /* IANA zone for naive timestamps; NULL: UTC */
	double rate_per_sec, burst; /* 0: the source's own */
	int max_inflight;
	enum sync_mode mode;
	int64_t hours;		  /* SYNC_INCREMENTAL threshold */
	const char *campaign_id;  /* NULL: all campaigns */
	unsigned streams;	  /* enum sync_stream bits */
	int64_t deadline_mono_ms; /* 0: none */
	int64_t lookback_s;	  /* overlap for time windows */
	/* Keyset contacts (source.has_contacts_keyset) and contact scans
	 * (source.has_contact_scan): a full pass that also finds deletions
	 * when the last one started this long ago; 0: the default (a day),
	 * negative: every run. */
	int64_t reconcile_s;
	enum progress_mode progress;
	/* Set to a signal's number by the caller's handler: no request starts
	 * after it, pages in flight are committed or dropped whole, and the
	 * run is recorded interrupted (ERR_INTERRUPTED, code = the signal).
	 * Waits wake on it. NULL: no such flag. */
	const volatile sig_atomic_t *stop_signal;
	/* How long to wait for another sync of the same provider account to
	 * release the store's lease; 0: ERR_BUSY at once. */
	int64_t lease_wait_ms;
	/* Told of every page and campaign besides the progress output;
	 * NULL: nobody. Called on the thread running sync_run. */
	sync_progress_fn progress_hook;
	void *progress_data;
};

struct sync_report {
	int64_t run_id;
	int64_t requests, retries, throttled;
	int64_t records[SYNC_SLOTS]; /* per enum sync_slot */
	int64_t events;
	int64_t rows_inserted, rows_updated, rows_unchanged;
	int64_t campaigns_skipped; /* unchanged counters or --hours */
	/* Campaigns listed whose reports the run did not reach (it stopped
	 * early); 0 on a complete run. */
	int64_t campaigns_remaining;
	/* Events older than the store's retention period, not stored
	 * (PostgreSQL with ESPSYNC_RETENTION_DAYS > 0). */
	int64_t events_outside_retention;
	int64_t runs_reaped; /* dead runs this run marked interrupted */
	/* What the store's own API cost this run (store_ops.usage; 0 for
	 * stores without one). */
	int64_t store_requests, store_jobs, store_bytes_up;
	int is_partial;
	double elapsed_s;
};

/* Runs one provider sync. Returns 0 when complete; -1 with err otherwise
 * (ERR_PARTIAL when the time budget ended it with state saved,
 * ERR_INTERRUPTED when req->stop_signal did, ERR_BUSY when another live
 * sync of the account holds the lease). The run is recorded in sync_runs
 * either way when the store is reachable; while it runs it holds the
 * account's lease. */
int sync_run(struct store *store, const struct sync_request *req,
	     struct sync_report *out, struct err *err);

/* What `espsync check` learns from one cheap authenticated request. */
struct probe_result {
	long status;	    /* HTTP status of the probe */
	int64_t latency_ms; /* round trip */
	char detail[160];   /* e.g. "reached, 3 lists"; no secrets */
};

/* One authenticated request to the provider (no store access). ERR_AUTH on
 * rejected credentials, with the provider-specific explanation. */
int sync_probe(const struct sync_request *req, struct probe_result *out,
	       struct err *err);

#endif
