/* Record batches (growable arrays plus one arena per page), event type
 * names, and the deterministic event id that makes re-fetched events land on
 * the same row. */
#include "model/records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/sha256.h"
#include "util/xalloc.h"
#include "util/banned.h"

static const char *const event_names[EV__COUNT] = {
    [EV_SENT] = "sent",		  [EV_OPEN] = "open",
    [EV_CLICK] = "click",	  [EV_BOUNCE] = "bounce",
    [EV_COMPLAINT] = "complaint", [EV_UNSUBSCRIBE] = "unsubscribe",
};

const char *event_type_name(enum event_type t)
{
	if ((unsigned)t >= EV__COUNT)
		return "unknown";
	return event_names[t];
}

int event_type_parse(const char *s, enum event_type *out)
{
	int i;

	if (!s)
		return -1;
	for (i = 0; i < EV__COUNT; i++) {
		if (!strcmp(s, event_names[i])) {
			*out = (enum event_type)i;
			return 0;
		}
	}
	return -1;
}

void batch_init(struct batch *b, const char *provider, const char *account)
{
	memset(b, 0, sizeof(*b));
	b->provider = provider;
	b->account = account;
}

void batch_release(struct batch *b)
{
	free(b->campaigns);
	free(b->links);
	free(b->participants);
	free(b->events);
	free(b->contacts);
	free(b->lists);
	free(b->states);
	arena_release(&b->arena);
	batch_init(b, b->provider, b->account);
}

void batch_clear(struct batch *b)
{
	b->n_campaigns = 0;
	b->n_links = 0;
	b->n_participants = 0;
	b->n_events = 0;
	b->n_contacts = 0;
	b->n_lists = 0;
	b->n_states = 0;
	arena_release(&b->arena);
}

size_t batch_count(const struct batch *b)
{
	return b->n_campaigns + b->n_links + b->n_participants + b->n_events +
	       b->n_contacts + b->n_lists;
}

/* Appends one zeroed element of size `size` to *arr, growing it by doubling. */
static void *grow_one(void **arr, size_t *n, size_t *cap, size_t size)
{
	unsigned char *p;

	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;

		if (ncap > ((size_t)-1) / size)
			BUG("batch array overflow");
		*arr = xrealloc(*arr, ncap * size);
		*cap = ncap;
	}
	p = (unsigned char *)*arr + *n * size;
	memset(p, 0, size);
	(*n)++;
	return p;
}

#define GROW(b, name)                                                          \
	grow_one((void **)&(b)->name, &(b)->n_##name, &(b)->cap_##name,        \
		 sizeof(*(b)->name))

struct rec_campaign *batch_add_campaign(struct batch *b)
{
	struct rec_campaign *c = GROW(b, campaigns);

	c->created_at = TIME_NULL;
	c->sent_at = TIME_NULL;
	c->synced_at = TIME_NULL;
	c->verified_opens = -1;
	c->verified_unique_opens = -1;
	return c;
}

struct rec_link *batch_add_link(struct batch *b)
{
	return GROW(b, links);
}

struct rec_participant *batch_add_participant(struct batch *b)
{
	return GROW(b, participants);
}

struct rec_event *batch_add_event(struct batch *b)
{
	struct rec_event *e = GROW(b, events);

	e->ts = TIME_NULL;
	return e;
}

struct rec_contact *batch_add_contact(struct batch *b)
{
	struct rec_contact *c = GROW(b, contacts);

	c->created_at = TIME_NULL;
	c->updated_at = TIME_NULL;
	c->deleted_at = TIME_NULL;
	return c;
}

/* Counts start at -1 ("unknown", see records.h) so a source that does not
 * know them never writes zeros over stored numbers. */
struct rec_list *batch_add_list(struct batch *b)
{
	struct rec_list *l = GROW(b, lists);

	l->subscribed = -1;
	l->unsubscribed = -1;
	l->pending = -1;
	l->created_at = TIME_NULL;
	l->updated_at = TIME_NULL;
	return l;
}

void batch_add_state(struct batch *b, const char *stream, const char *value)
{
	struct state_update *s = GROW(b, states);

	s->stream = arena_strdup(&b->arena, stream);
	s->value = arena_strdup(&b->arena, value);
}

/* Each field is a 4-byte big-endian length and its bytes; NULL is the length
 * 0xffffffff with no bytes, so NULL and "" differ and no two tuples give the
 * same input. */
static void hash_len(struct sha256 *h, const char *s, size_t n)
{
	unsigned char len[4];
	uint32_t v = s ? (uint32_t)n : UINT32_MAX;

	len[0] = (unsigned char)(v >> 24);
	len[1] = (unsigned char)(v >> 16);
	len[2] = (unsigned char)(v >> 8);
	len[3] = (unsigned char)v;
	sha256_update(h, len, sizeof(len));
}

static void hash_str(struct sha256 *h, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	hash_len(h, s, n);
	if (s)
		sha256_update(h, s, n);
}

/* The email with ASCII letters lowercased, hashed in chunks so long addresses
 * need no allocation. */
static void hash_lower(struct sha256 *h, const char *s)
{
	unsigned char chunk[64];
	size_t n = strlen(s), i, k = 0;

	hash_len(h, s, n);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		chunk[k++] =
		    (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
		if (k == sizeof(chunk)) {
			sha256_update(h, chunk, k);
			k = 0;
		}
	}
	sha256_update(h, chunk, k);
}

void event_make_id(struct rec_event *ev, const char *provider,
		   const char *account)
{
	static const char hex[] = "0123456789abcdef";
	struct sha256 h;
	unsigned char md[32];
	char ts[24];
	int i;

	sha256_init(&h);
	hash_str(&h, provider);
	hash_str(&h, account);
	hash_str(&h, ev->campaign_id);
	if (ev->contact_id && *ev->contact_id)
		hash_str(&h, ev->contact_id);
	else if (ev->contact_email)
		hash_lower(&h, ev->contact_email);
	else
		hash_str(&h, NULL);
	hash_str(&h, event_type_name(ev->type));
	snprintf(ts, sizeof(ts), "%lld", (long long)ev->ts);
	hash_str(&h, ts);
	hash_str(&h, ev->link_url);
	sha256_final(&h, md);
	for (i = 0; i < EVENT_ID_HEX / 2; i++) {
		ev->event_id[2 * i] = hex[md[i] >> 4];
		ev->event_id[2 * i + 1] = hex[md[i] & 15];
	}
	ev->event_id[EVENT_ID_HEX] = '\0';
}
