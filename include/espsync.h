/* libespsync: espsync as a library. Everything the `espsync` command does
 * for sync, export csv, stats, state reset and check, callable from C (and
 * from Python through bindings/python). The command-line tool is built on
 * these functions.
 *
 * Conventions
 * - One opaque handle, `espsync`, made by espsync_new and freed by
 *   espsync_free. It holds the settings (the same keys as `.env`), an
 *   optional `.env` path, the progress callback, the cancel flag and the
 *   last error. Nothing of espsync's internal structures is visible here.
 * - Functions that can fail return an exit code of `enum espsync_code`
 *   (0 on success, the `espsync` command's exit codes otherwise) and keep
 *   the error in the handle: espsync_error_message / espsync_error_kind
 *   read it until the next call on the handle. No message ever holds a
 *   secret (API keys, tokens, private keys, store passwords).
 * - Strings passed in are copied or only read during the call; strings
 *   handed out (const char *) belong to the library and stay valid until
 *   the next call on the same handle (espsync_version's: forever).
 * - Thread safety: a handle is used by one thread at a time, except
 *   espsync_cancel, which may be called from any thread or a signal
 *   handler while another call runs. Different handles may be used from
 *   different threads at the same time.
 * - Structs passed in or out begin with `size`: set it to sizeof the
 *   struct (the *_INIT macros do), so that later versions may append
 *   fields without breaking callers built against this header.
 * - The library never prints unless the verbosity setting asks it to
 *   (espsync_set_verbosity); it never calls exit() and never installs
 *   signal handlers.
 *
 * Link with `pkg-config --cflags --libs espsync`. */
#ifndef ESPSYNC_PUBLIC_H
#define ESPSYNC_PUBLIC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define ESPSYNC_API __attribute__((visibility("default")))
#else
#define ESPSYNC_API
#endif

/* The version of this header's interface; espsync_api_version() returns
 * the library's. A library with the same value (and the same soname,
 * libespsync.so.0) runs programs built against this header. */
#define ESPSYNC_API_VERSION 1

/* Exit codes: the `espsync` command's (docs/espsync.1, "EXIT STATUS"). */
enum espsync_code {
	ESPSYNC_OK = 0,
	ESPSYNC_E_RUNTIME = 1,	   /* network, provider or local failure */
	ESPSYNC_E_USAGE = 2,	   /* bad setting, option or argument */
	ESPSYNC_PARTIAL = 3,	   /* time budget reached, state saved */
	ESPSYNC_E_AUTH = 4,	   /* provider rejected the credentials */
	ESPSYNC_E_STORE = 5,	   /* store unreachable or failing */
	ESPSYNC_E_NOT_FOUND = 6,   /* unknown campaign or object */
	ESPSYNC_E_BUSY = 7,	   /* another sync holds the account */
	ESPSYNC_INTERRUPTED = 130, /* espsync_cancel (128 + SIGINT) */
	ESPSYNC_TERMINATED = 143   /* espsync_cancel with SIGTERM */
};

typedef struct espsync espsync;

/* "1.2.3": the library's version, as `espsync --version` prints it. */
ESPSYNC_API const char *espsync_version(void);
/* ESPSYNC_API_VERSION of the library. */
ESPSYNC_API int espsync_api_version(void);

/* A new handle with no settings; NULL only when memory is exhausted. */
ESPSYNC_API espsync *espsync_new(void);
/* Frees the handle and everything it owns; NULL is allowed. Not while
 * another call on the handle runs. */
ESPSYNC_API void espsync_free(espsync *ctx);

/* Sets one setting, a `.env` key (ESPSYNC_STORE, EMAILOCTOPUS_API_KEY,
 * ESPSYNC_EXPORT_DIR, ...); value NULL removes it. Settings given here
 * win over the `.env` file's, which win over the defaults; the process
 * environment is not read. ESPSYNC_E_USAGE for a key espsync does not
 * know; values are validated when a command runs, with the command's
 * message ("invalid value for ESPSYNC_MAX_INFLIGHT ..."). */
ESPSYNC_API int espsync_set(espsync *ctx, const char *key, const char *value);
/* A `.env` file read (again) by every later call; NULL: none (the
 * default: the library reads no file it was not given). A missing or
 * unreadable file fails the calls with ESPSYNC_E_USAGE. */
ESPSYNC_API int espsync_set_env_file(espsync *ctx, const char *path);
/* -1: nothing is printed (the default); 0: warnings and errors on
 * stderr, as the command prints them; 1: also debug lines (-v). Logging
 * is process-wide: the level of the call running last applies. */
ESPSYNC_API void espsync_set_verbosity(espsync *ctx, int level);

/* The last failed call's message (one line, no secret) and its kind
 * ("usage", "config", "auth", "inactive", "store", "not_found",
 * "partial", "busy", "interrupted", "network", "http", "parse", "io",
 * "runtime"); "" when the last call succeeded. espsync_error_code is its exit code (0: none). */
ESPSYNC_API const char *espsync_error_message(const espsync *ctx);
ESPSYNC_API const char *espsync_error_kind(const espsync *ctx);
ESPSYNC_API int espsync_error_code(const espsync *ctx);

/* Progress of a running sync, delivered on the thread that called
 * espsync_sync. The event and its strings are valid during the callback
 * only. The callback must not call other functions on the handle except
 * espsync_cancel. */
enum espsync_event_kind {
	ESPSYNC_EVENT_PAGE = 1,	    /* a page of records was stored */
	ESPSYNC_EVENT_CAMPAIGN = 2, /* one campaign's reports are done */
	ESPSYNC_EVENT_PROVIDER = 3  /* one provider's run ended: result */
};

struct espsync_provider_result;

struct espsync_event {
	int kind;		/* enum espsync_event_kind */
	const char *provider;	/* "emailoctopus", ... */
	const char *account;	/* the store's account name */
	const char *stream;	/* PAGE: "lists", "contacts", "campaigns",
				   "reports"; else NULL */
	int64_t records;	/* PAGE: records in the page */
	int64_t done, total;	/* campaigns done / to do (-1: unknown) */
	const char *campaign_id; /* CAMPAIGN: the campaign; else NULL */
	int is_skipped;		 /* CAMPAIGN: counters unchanged, not read */
	const struct espsync_provider_result *result; /* PROVIDER */
};

typedef void (*espsync_progress_fn)(const struct espsync_event *ev,
				    void *userdata);
/* fn NULL: no callback. */
ESPSYNC_API void espsync_set_progress(espsync *ctx, espsync_progress_fn fn,
				      void *userdata);

/* Asks the running (or next) espsync_sync to stop: no request starts
 * after it, pages in flight are committed or dropped whole, waits wake
 * within a quarter of a second, and the sync returns ESPSYNC_INTERRUPTED
 * (signo SIGTERM: ESPSYNC_TERMINATED) with its checkpoints saved.
 * Async-signal-safe; any thread. The flag is cleared when espsync_sync
 * returns. */
ESPSYNC_API void espsync_cancel(espsync *ctx, int signo);

enum espsync_mode {
	ESPSYNC_MODE_DEFAULT = 0,     /* reports only where counters changed */
	ESPSYNC_MODE_FULL = 1,	      /* re-read everything (--full) */
	ESPSYNC_MODE_INCREMENTAL = 2  /* skip campaigns checked < hours ago */
};

struct espsync_sync_options {
	size_t size;		 /* sizeof(struct espsync_sync_options) */
	const char *provider;	 /* NULL: every configured provider */
	const char *campaign_id; /* NULL: all campaigns (--campaign) */
	int mode;		 /* enum espsync_mode */
	int64_t hours;		 /* INCREMENTAL: 0 means 24 (--hours) */
	const char *streams;	 /* "campaigns,reports,..."; NULL: all */
	int64_t max_runtime_ms;	 /* 0: ESPSYNC_MAX_RUNTIME's, else none */
	int64_t wait_ms;	 /* wait for another sync's lease (--wait) */
};

#define ESPSYNC_SYNC_OPTIONS_INIT                                              \
	{                                                                      \
		sizeof(struct espsync_sync_options), NULL, NULL,               \
		    ESPSYNC_MODE_DEFAULT, 0, NULL, 0, 0                        \
	}

/* Positions in espsync_provider_result.records. */
enum espsync_stream {
	ESPSYNC_STREAM_CAMPAIGNS = 0,
	ESPSYNC_STREAM_REPORTS,
	ESPSYNC_STREAM_PARTICIPANTS,
	ESPSYNC_STREAM_ACTIVITIES,
	ESPSYNC_STREAM_CONTACTS,
	ESPSYNC_STREAM_LISTS,
	ESPSYNC_STREAMS
};

#define ESPSYNC_MAX_PROVIDERS 16

struct espsync_provider_result {
	char provider[32];
	char account[160];
	int exit_code;	   /* enum espsync_code */
	char status[16];   /* "complete", "partial", "busy", "interrupted",
			      "failed" */
	char error_kind[16];	/* "" when complete */
	char error_message[256]; /* "" when complete; no secret */
	int64_t run_id;		 /* the run's row in sync_runs; 0: none */
	int64_t requests, retries, throttled; /* to the provider */
	int64_t records[ESPSYNC_STREAMS];     /* enum espsync_stream */
	int64_t events;			      /* engagement events read */
	int64_t rows_inserted, rows_updated, rows_unchanged;
	int64_t campaigns_skipped;   /* unchanged counters or hours */
	int64_t campaigns_remaining; /* not reached (partial, cancelled) */
	int64_t events_outside_retention;
	/* What the store's own API cost (BigQuery); 0 for the others. */
	int64_t store_requests, store_jobs, store_bytes_uploaded;
	double elapsed_s;
};

struct espsync_sync_summary {
	size_t size;	   /* sizeof(struct espsync_sync_summary) */
	int exit_code;	   /* the worst of the providers' */
	char status[16];   /* as espsync_provider_result.status */
	size_t n_providers; /* the providers that ran, in registry order */
	struct espsync_provider_result providers[ESPSYNC_MAX_PROVIDERS];
	/* Sums over providers. */
	int64_t requests, events, campaigns_skipped, campaigns_remaining;
	double elapsed_s;
};

/* Syncs the configured providers (or opts->provider) into the store
 * (ESPSYNC_STORE). opts NULL: the defaults. out may be NULL; when given,
 * out->size must be set; it is filled even when the sync fails after
 * starting. Returns the summary's exit_code: ESPSYNC_OK, ESPSYNC_PARTIAL
 * (time budget; run again to continue), ESPSYNC_INTERRUPTED/TERMINATED
 * (espsync_cancel), or an error; the error of the worst provider is the
 * handle's error. */
ESPSYNC_API int espsync_sync(espsync *ctx,
			     const struct espsync_sync_options *opts,
			     struct espsync_sync_summary *out);

struct espsync_export_options {
	size_t size;		 /* sizeof(struct espsync_export_options) */
	const char *dir;	 /* NULL: ESPSYNC_EXPORT_DIR's (data/exports) */
	const char *provider;	 /* NULL: every provider */
	const char *campaign_id; /* NULL: every sent campaign */
	const char *columns_map; /* NULL: ESPSYNC_CSV_COLUMNS's */
	int no_formula_protect;	 /* 1: cells starting =,+,-,@ kept as is */
	const char *combined;	 /* a file path: one combined csv; NULL */
};

#define ESPSYNC_EXPORT_OPTIONS_INIT                                            \
	{                                                                      \
		sizeof(struct espsync_export_options), NULL, NULL, NULL,       \
		    NULL, 0, NULL                                              \
	}

struct espsync_export_result {
	size_t size; /* sizeof(struct espsync_export_result) */
	int64_t files, rows;
};

/* Writes the stored campaigns' participants as csv files (each written
 * atomically). ESPSYNC_E_NOT_FOUND when campaign_id names no stored
 * campaign. */
ESPSYNC_API int espsync_export_csv(espsync *ctx,
				   const struct espsync_export_options *opts,
				   struct espsync_export_result *out);

/* Positions in espsync_stats.events. */
enum espsync_event_type {
	ESPSYNC_EV_SENT = 0,
	ESPSYNC_EV_OPENED,
	ESPSYNC_EV_CLICKED,
	ESPSYNC_EV_BOUNCED,
	ESPSYNC_EV_COMPLAINED,
	ESPSYNC_EV_UNSUBSCRIBED,
	ESPSYNC_EV_TYPES
};

struct espsync_stats {
	size_t size; /* sizeof(struct espsync_stats) */
	int64_t campaigns, participants, links, contacts, lists;
	int64_t events[ESPSYNC_EV_TYPES]; /* enum espsync_event_type */
	int64_t csv_files;		  /* campaign_*.csv in the export dir */
	int64_t events_outside_retention;
	int retention_days; /* 0: the store keeps everything */
	/* The newest run of sync_runs (has_last_run 0: none yet). */
	int has_last_run;
	int64_t last_run_id;
	char last_run_provider[32];
	char last_run_status[16];
	int64_t last_run_started_at, last_run_finished_at; /* unix s; 0 */
	/* Appended after the first draft of API 1. */
	char last_run_account[160];
	int64_t last_run_requests;
	/* Campaigns whose provider tells machine opens apart (0: none), their
	 * verified opens and all their opens (total, unique). */
	int64_t verified_campaigns;
	int64_t verified_opens, verified_unique_opens;
	int64_t verified_campaigns_opens, verified_campaigns_unique_opens;
};

/* The store's totals, as `espsync stats` prints them: of provider's
 * accounts (NULL: every provider). */
ESPSYNC_API int espsync_stats(espsync *ctx, const char *provider,
			      struct espsync_stats *out);

/* Removes checkpoints (`espsync state reset`): of provider (NULL: all)
 * and stream (NULL: all; else one of `state reset --stream`'s names).
 * *removed (may be NULL) gets how many. The next sync re-reads what they
 * covered; stored data stays. */
ESPSYNC_API int espsync_state_reset(espsync *ctx, const char *provider,
				    const char *stream, int64_t *removed);

/* One line of `espsync check`, in its order. */
enum espsync_check_section {
	ESPSYNC_CHECK_SETTING = 1, /* a setting: name, value (secrets masked),
				      detail = where it came from */
	ESPSYNC_CHECK_STORE = 2,   /* the store: name = label, value */
	ESPSYNC_CHECK_PROVIDER = 3 /* a provider probe: name = provider,
				      value = "reached, 3 lists" or error */
};

/* The items, in order:
 * - SETTING, name NULL: the .env file; value its path (NULL: none),
 *   detail "read" or "no file".
 * - SETTING per key: value NULL when unset; detail where the value came
 *   from ("'.env' line 7", "default", "setting", "unset"); source the
 *   same as one word ("default", ".env", "setting" (espsync_set),
 *   "environment" and "flag" (the command's), "unset"); is_secret (value
 *   is then "set (N chars)").
 * - STORE, name "store": value the store URL (password removed), detail
 *   "KEY, where" (the key that named the store and where its value came
 *   from), source the backend ("sqlite", ...; NULL when it failed); then
 *   one STORE item per line the store says about itself (name = label);
 *   a last one named "details" with error_message set when it could not
 *   say (exit_code 0: the store works).
 * - PROVIDER per provider: not configured: value "not configured", detail
 *   the keys to set (exit_code 2 when only some are set); configured:
 *   value the probe's answer ("reached, 3 lists", may be ""), detail
 *   NULL, http_status, latency_ms, and on failure error_kind and
 *   error_message. A last PROVIDER item with name NULL and exit_code 2
 *   when no provider is configured; its error_message says what to set.
 */
struct espsync_check_item {
	int section;	     /* enum espsync_check_section */
	const char *name;
	const char *value;   /* never a secret */
	const char *detail;  /* may be NULL */
	int exit_code;	     /* this item's: 0 fine, else its failure */
	int64_t latency_ms;  /* PROVIDER: the probe's round trip; else 0 */
	/* Appended after the first draft of API 1. */
	const char *source;	   /* SETTING, STORE: see above; else NULL */
	const char *error_kind;	   /* "auth", ... when it failed; else NULL */
	const char *error_message; /* when it failed (no secret); else NULL */
	long http_status;	   /* PROVIDER: the probe's; 0: none */
	int is_secret;		   /* SETTING: a secret key */
};

typedef void (*espsync_check_fn)(const struct espsync_check_item *item,
				 void *userdata);

/* Checks the settings, reaches the store and probes each configured
 * provider (or provider, when not NULL) with one request, calling fn
 * (may be NULL) for every line. Returns the worst item's exit code; the
 * handle's error is the worst item's. */
ESPSYNC_API int espsync_check(espsync *ctx, const char *provider,
			      espsync_check_fn fn, void *userdata);

#ifdef __cplusplus
}
#endif

#endif
