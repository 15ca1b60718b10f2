/* A provider source as data plus mapping callbacks: how to address the API
 * (URLs, auth header, paging), how it paces and fails, and how one JSON page
 * becomes records. The page loop, checkpoints, budget and run log live once
 * in core/sync; a source never does I/O. Everything a source returns is
 * borrowed from the source's static tables or written into caller buffers
 * and the batch arena. */
#ifndef ESPSYNC_SOURCE_H
#define ESPSYNC_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "config/options.h"
#include "model/records.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/json.h"
#include "util/tz.h"

/* The requests the engine knows how to plan. */
enum source_endpoint {
	SRC_PROBE = 0, /* one cheap authenticated request */
	SRC_LISTS,     /* paged lists */
	SRC_CONTACTS,  /* paged contacts of list_id in status, since */
	SRC_CAMPAIGNS, /* paged campaigns */
	SRC_CAMPAIGN,  /* one campaign by campaign_id */
	SRC_SUMMARY,   /* summary counters of campaign_id */
	SRC_LINKS,     /* link report of campaign_id */
	SRC_REPORT,    /* paged per-contact report of campaign_id, status */
	SRC_FIELDS,    /* paged custom field definitions (ActiveCampaign) */
	SRC_TAGS,      /* paged tag definitions (ActiveCampaign) */
	/* The rest of one contact (contact_id of list_id, status) that its
	 * SRC_CONTACTS row left out (source_map.follow_ids), mapped by
	 * map_contacts with source_map.contact_id set. */
	SRC_CONTACT_PART,
	/* The parts of campaign_id its listing leaves out (subject, sender,
	 * target lists), read once per sent campaign whose stored row has no
	 * to_lists yet, in steps: the cursor names the step (NULL: the
	 * first), next_page the one after it (with root NULL when the step
	 * answered 404: the step to try instead, or none). Each step is
	 * mapped by map_campaign_detail; the engine writes the merged row
	 * after the last one. */
	SRC_CAMPAIGN_DETAIL,
};

struct source_query {
	enum source_endpoint endpoint;
	const char *list_id, *campaign_id;
	const char *contact_id; /* SRC_CONTACT_PART */
	const char *status;	/* contact or report status word */
	const char *since_iso;	/* contacts updated at or after; NULL: all */
	const char *cursor;	/* NULL: first page */
};

/* id -> name pairs learnt before contacts are mapped (ActiveCampaign field
 * titles and tag names), sorted by id (as text) for lookups. Owned by the
 * engine across pages; the strings are heap copies released with
 * source_names_release. */
struct source_names {
	char **ids, **names;
	size_t n, cap;
};

/* Adds (or replaces) id -> name; copies both. */
void source_names_put(struct source_names *d, const char *id, const char *name);
/* The name of id, or NULL. */
const char *source_names_get(const struct source_names *d, const char *id);
void source_names_release(struct source_names *d);

/* One per-contact report stream of a campaign. */
struct source_report_kind {
	const char *status; /* query word, also the checkpoint name part */
	enum event_type type;
	unsigned flag; /* enum engagement bit set on the participant */
};

/* Where the page after this one is. The engine owns the buffers. */
struct source_next {
	int has_next;
	struct buf url;	   /* absolute URL on the configured API origin */
	struct buf cursor; /* opaque cursor to checkpoint; may be empty */
};

/* What a mapping callback maps into, and what it reports back. */
struct source_map {
	struct batch *batch;
	const char *list_id, *campaign_id, *campaign_name;
	const struct source_report_kind *kind; /* SRC_REPORT */
	const char *status;	/* SRC_CONTACTS: queried status */
	const char *contact_id; /* SRC_CONTACT_PART: the contact */
	/* Out (SRC_CONTACTS): ids of contacts whose row was incomplete; the
	 * engine reads SRC_CONTACT_PART for each. Arena strings. */
	const char **follow_ids;
	size_t n_follow;
	int64_t naive_offset_s; /* for timestamps without an offset */
	const struct tz *tz;	/* account zone for naive times; NULL: UTC */
	/* SRC_REPORT: events older than cutoff are not mapped (TIME_NULL:
	 * none); the map sets is_past_cutoff when a newest-first page
	 * reached it, and the engine then ends the stream. */
	int64_t cutoff;
	int is_past_cutoff;
	int want_events; /* SRC_REPORT: also make events */
	/* SRC_FIELDS / SRC_TAGS fill these; SRC_CONTACTS reads them. */
	struct source_names *field_names, *tag_names;
	/* Out: newest updated-at seen (contacts) or newest event time
	 * (reports), TIME_NULL when none. */
	int64_t newest_updated_at;
	size_t n_rows;	  /* items on the page */
	size_t n_skipped; /* items without the keys we need */
};

/* Maps a parsed page into m->batch. Returns 0, or -1 with ERR_PARSE when
 * the document is not the expected shape (the engine retries the page). */
typedef int (*source_map_fn)(struct source_map *m, const struct json *root,
			     struct err *err);

/* One provider. Adding a provider is one file defining a struct source and
 * one line in source_registry (registry.c); config, core and cmd only read
 * these fields. The capability flags (is_, has_) change what the engine
 * does; each is 0 for the common behaviour. */
struct source {
	const char *name; /* lowercase; also the store's provider column */
	/* Configuration keys (role-tagged, with defaults and validation),
	 * account default, title and whether the earlier tool's flags mean
	 * this provider (keys->is_earlier_tool); keys->name is name. */
	const struct source_keys *keys;
	/* Pacing defaults (struct fetch_options) when the configuration has
	 * no key for PROLE_RATE / PROLE_BURST. */
	double rate_per_sec, burst;
	/* A 403 is retried this many times before it counts as final. */
	int retry_403_attempts;
	/* A 503 means "slow down" and is retried like a 429. */
	int is_503_throttle;
	/* A 403 without a JSON body means "slow down" (retried like a 429);
	 * a 403 with one is an answer (retry_403_attempts). */
	int is_bare_403_throttle;
	/* The provider limits simultaneous requests, not requests per
	 * second (its PROLE_CONNECTIONS key sets the in-flight cap): a
	 * throttled answer lowers the cap for a while instead of pausing
	 * every request (fetch_options.is_throttle_connections). */
	int is_throttle_connections;
	/* Response header with the remaining request tokens; NULL: none. */
	const char *remaining_header;
	/* Headers holding the wait before a retry, NULL-terminated. */
	const char *const *retry_after_headers;
	/* Query parameters redacted from logged URLs, NULL-terminated. */
	const char *const *secret_params;
	/* Contact statuses to page through per list, NULL-terminated. */
	const char *const *contact_statuses;
	const struct source_report_kind *report_kinds;
	size_t n_report_kinds;
	/* The campaign listing carries the summary counters (has_stats):
	 * no SRC_SUMMARY request per campaign. */
	int is_summary_in_listing;
	/* Report pages come newest first and the engine may read them only
	 * back to a per-campaign window start (see source_map.cutoff);
	 * `state show` prints its activities_today line even at 0. */
	int is_report_windowed;
	/* (Windowed sources get the window start as since_iso of their
	 * SRC_REPORT queries, for servers that filter events by time.) */
	int64_t default_lookback_s; /* 0: the engine's default */
	/* The link report (SRC_LINKS) is paged: next_page is asked for the
	 * page after each one. */
	int is_links_paged;
	/* Whole-request timeout in seconds; 0: the engine's default. */
	long timeout_s;
	/* SRC_PROBE is the first SRC_CAMPAIGNS page: a sync maps the probe's
	 * answer as that page instead of asking twice. */
	int is_probe_campaigns_page;

	/* The API base URL when none is configured (no PROLE_API_URL
	 * value), from the key and the PROLE_REGION value (may be NULL):
	 * a data center named by the key. -1 with err (ERR_CONFIG) when
	 * they name none. NULL: the API URL key has a default. */
	int (*api_url_for)(struct buf *out, const char *api_key,
			   const char *region, struct err *err);
	/* The header line carrying the key (added to out). */
	int (*auth_header)(struct buf *out, const char *api_key);
	/* Absolute URL of q under api_url (no trailing slash). */
	int (*url)(struct buf *out, const char *api_url,
		   const struct source_query *q);
	/* Fills out from a parsed page of q. Only URLs on api_url's origin
	 * are returned; anything else is rebuilt with the cursor. */
	void (*next_page)(struct source_next *out, const struct json *root,
			  const char *api_url, const struct source_query *q);
	/* 1 when a campaign in this (lowercase) status has reports. */
	int (*is_reportable)(const char *status);
	/* Turns a final HTTP error into err: kind (ERR_AUTH for rejected
	 * credentials, ERR_NOT_FOUND, ERR_HTTP) and a message with the
	 * provider's own words; what names the object ("campaign 'X'"). */
	void (*http_error)(struct err *err, long status, const char *body,
			   size_t body_len, const char *what);
	/* A 2xx body that is an error in disguise (v1 answers XML auth
	 * errors with 200): fills err and returns -1; NULL or 0 when the
	 * body is to be parsed as usual. */
	int (*body_error)(struct err *err, const char *body, size_t len);
	/* What the probe asks for, in messages ("the campaigns"); NULL:
	 * "the lists". */
	const char *probe_what;
	/* A one-line description of a successful probe page. */
	void (*probe_detail)(char *out, size_t n, const struct json *root);

	/* Contacts are one account-wide keyset stream (core/sync_contacts.c)
	 * instead of per list and status: contact_statuses is unused. */
	int has_contacts_keyset;
	/* A walk of every list's contact streams from the start (no since)
	 * sees every live contact of the account: on --full and every
	 * ESPSYNC_RECONCILE the engine walks so, and when such a walk
	 * completes within a run, stored contacts it did not see are marked
	 * deleted (store reconcile_contact_set). Per-list sources only. */
	int has_contact_scan;

	source_map_fn map_lists;
	source_map_fn map_contacts;
	source_map_fn map_fields;    /* SRC_FIELDS page into m->field_names */
	source_map_fn map_tags;	     /* SRC_TAGS page into m->tag_names */
	source_map_fn map_campaigns; /* a page of campaigns */
	source_map_fn map_campaign;  /* one campaign object */
	/* One SRC_CAMPAIGN_DETAIL step: at most one campaign (campaign_id
	 * of the map) with the detail fields that step carries; to_lists
	 * is set by the step that reads the target lists ("[]" for none).
	 * NULL: the listing carries everything. */
	source_map_fn map_campaign_detail;
	source_map_fn map_links;
	source_map_fn map_report;
	/* Summary counters of one campaign. */
	int (*map_summary)(struct campaign_stats *out, const struct json *root,
			   struct err *err);
};

/* The provider registry (source/registry.c): every provider, in the order
 * of help, check and sync, NULL-terminated. Adding a provider is one line
 * there. */
extern const struct source *const source_registry[];
/* The provider named name (case-insensitive); NULL when none. */
const struct source *source_find(const char *name);

/* Appends s percent-encoded for a query value (RFC 3986 unreserved kept). */
int source_urlencode(struct buf *out, const char *s);
/* scheme://host[:port] of url, lowercased, into out; -1 if url has none. */
int source_url_origin(struct buf *out, const char *url);
/* 1 when url is on the origin of base_url (same scheme, host and port) and
 * holds only printable ASCII. */
int source_url_is_on_origin(const char *url, const char *base_url);
/* Percent-decoded value of query parameter name in url into out; -1 when
 * absent or empty. */
int source_url_query_param(struct buf *out, const char *url, const char *name);
/* A page value as mapped into m's batch: the string in the batch arena
 * (NULL for a missing or non-string value), the time as epoch seconds
 * (naive times at m->naive_offset_s; TIME_NULL when unreadable). */
const char *source_str(struct source_map *m, const struct json *v);
int64_t source_time(const struct source_map *m, const struct json *v);
/* Lowercased copy of s in the arena (NULL stays NULL). */
char *source_lower(struct arena *a, const char *s);
/* s, or NULL when s is NULL or empty. */
const char *source_nonempty(const char *s);
/* Copies s into out (size bytes, NUL-terminated), cut to fit, with every
 * byte outside printable ASCII replaced by '?': provider words quoted in an
 * error line. */
void source_printable(char *out, size_t size, const char *s);
/* Appends "?name=value" (the first) or "&name=value", value
 * percent-encoded; nothing when value is NULL. */
int source_put_param(struct buf *out, int *is_first, const char *name,
		     const char *value);
/* The error of a final HTTP status that has no provider-specific meaning:
 * 404 is ERR_NOT_FOUND ("WHAT not found on PROVIDER (404 "detail")", with
 * not_found when detail is empty), anything else ERR_HTTP with the
 * provider's detail when it gave one. */
void source_http_error_other(struct err *err, const char *provider, long status,
			     const char *what, const char *detail,
			     const char *not_found);

#endif
