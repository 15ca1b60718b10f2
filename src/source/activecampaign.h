/* The ActiveCampaign source: v3 campaigns (offset paging, string numbers)
 * and the v1 per-contact report actions (numbered-key envelope, XML auth
 * errors with HTTP 200). Contacts, lists and tags are in ac_contacts.c. */
#ifndef ESPSYNC_ACTIVECAMPAIGN_H
#define ESPSYNC_ACTIVECAMPAIGN_H

#include <stddef.h>

#include "source/source.h"

extern const struct source source_activecampaign;

/* v3 campaign status code ("5") to the stored word ("sent"); unknown codes
 * become "status-<code>" in the arena (NULL stays NULL). */
const char *ac_campaign_status(struct arena *a, const char *code);

/* A v1 body that is the XML "not authorized" answer: ERR_AUTH, -1. */
int ac_body_error(struct err *err, const char *body, size_t len);

/* An AC timestamp to UTC: with an offset as given, naive ones (and bare
 * dates, at local midnight) in tz; TIME_NULL for empty and 0000-00-00
 * sentinels or anything unreadable. */
int64_t ac_time(const struct tz *tz, const char *s);

#endif
