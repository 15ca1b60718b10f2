/* What the BigQuery store knows it has written: a map of row key hashes to
 * content hashes, kept in sync_state under BQ_SEEN_STREAM with the flush
 * that wrote the rows. A row of the next run that hashes the same is
 * already stored and is not spooled again, so a run that finds nothing new
 * flushes nothing (bq_spool.c). */
#include "store/bq_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util/sha256.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define SEEN_VERSION "1:"
/* The stored form stays under 4 MiB (131,072 entries): it is one cell of
 * the query that reads the checkpoints, and a query answer is at most
 * 10 MB. Entries left out only make rows be sent again. */
#define SEEN_MAX_BYTES ((size_t)4 << 20)

uint64_t bq_seen_hash(const char *a, size_t alen, const char *b, size_t blen)
{
	struct sha256 h;
	unsigned char out[32];
	uint64_t v = 0;
	int i;

	sha256_init(&h);
	sha256_update(&h, a, alen);
	sha256_update(&h, "\n", 1);
	sha256_update(&h, b, blen);
	sha256_final(&h, out);
	for (i = 0; i < 8; i++)
		v = (v << 8) | out[i];
	return v;
}

uint64_t bq_seen_key(int kind, uint64_t hash)
{
	/* the kind in the top byte (never 0, so no key is 0) */
	return (hash & 0x00ffffffffffffffULL) | ((uint64_t)(kind + 1) << 56);
}

int bq_seen_kind(uint64_t key)
{
	return (int)(key >> 56) - 1;
}

void bq_seen_clear(struct bq_seen *m)
{
	if (m->key)
		memset(m->key, 0, m->cap * sizeof(*m->key));
	m->n = 0;
}

void bq_seen_release(struct bq_seen *m)
{
	free(m->key);
	free(m->val);
	memset(m, 0, sizeof(*m));
}

static size_t slot(const struct bq_seen *m, uint64_t key)
{
	size_t i = (size_t)(key ^ (key >> 29)) & (m->cap - 1);

	while (m->key[i] && m->key[i] != key)
		i = (i + 1) & (m->cap - 1);
	return i;
}

int bq_seen_get(const struct bq_seen *m, uint64_t key, uint64_t *val)
{
	size_t i;

	if (!m->cap)
		return 0;
	i = slot(m, key);
	if (!m->key[i])
		return 0;
	*val = m->val[i];
	return 1;
}

void bq_seen_put(struct bq_seen *m, uint64_t key, uint64_t val)
{
	size_t i;

	if (2 * (m->n + 1) > m->cap) {
		struct bq_seen g = {NULL, NULL, 0, m->cap ? 2 * m->cap : 256};

		g.key = xcalloc(g.cap, sizeof(*g.key));
		g.val = xcalloc(g.cap, sizeof(*g.val));
		for (i = 0; i < m->cap; i++)
			if (m->key[i])
				bq_seen_put(&g, m->key[i], m->val[i]);
		bq_seen_release(m);
		*m = g;
	}
	i = slot(m, key);
	if (!m->key[i]) {
		m->key[i] = key;
		m->n++;
	}
	m->val[i] = val;
}

static int hex_u64(const char *p, uint64_t *out)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 16; i++) {
		char c = p[i];
		int d = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
					       : -1;

		if (d < 0)
			return -1;
		v = (v << 4) | (uint64_t)d;
	}
	*out = v;
	return 0;
}

int bq_seen_parse(struct bq_seen *m, const char *text)
{
	size_t len, i;

	bq_seen_clear(m);
	if (!text || strncmp(text, SEEN_VERSION, strlen(SEEN_VERSION)))
		return -1;
	text += strlen(SEEN_VERSION);
	len = strlen(text);
	if (len % 32)
		return -1;
	for (i = 0; i < len; i += 32) {
		uint64_t k, v;

		if (hex_u64(text + i, &k) < 0 ||
		    hex_u64(text + i + 16, &v) < 0 || !k) {
			bq_seen_clear(m);
			return -1;
		}
		bq_seen_put(m, k, v);
	}
	return 0;
}

/* Appends the entries of m that have a content hash (val 0 means not
 * known), skipping those whose key over also has (over wins) and, with
 * skip_kind >= 0, those of that kind. */
static int format_part(struct buf *b, const struct bq_seen *m,
		       const struct bq_seen *over, int skip_kind)
{
	uint64_t v;
	size_t i;
	int rc = 0;

	for (i = 0; i < m->cap && !rc && b->len + 32 <= SEEN_MAX_BYTES; i++) {
		if (!m->key[i] || !m->val[i] ||
		    (over && bq_seen_get(over, m->key[i], &v)) ||
		    (skip_kind >= 0 && bq_seen_kind(m->key[i]) == skip_kind))
			continue;
		rc = buf_printf(b, "%016" PRIx64 "%016" PRIx64, m->key[i],
				m->val[i]);
	}
	return rc;
}

int bq_seen_format(struct buf *b, const struct bq_seen *run,
		   const struct bq_seen *old, int skip_old_kind)
{
	int rc = buf_puts(b, SEEN_VERSION);

	rc |= format_part(b, run, NULL, -1);
	if (old)
		rc |= format_part(b, old, run, skip_old_kind);
	return rc;
}

void bq_seen_loaded(struct bq_store *s)
{
	size_t i;

	bq_seen_clear(&s->seen_old);
	s->is_last_complete = 0;
	for (i = 0; i < s->n_cache; i++) {
		if (!strcmp(s->cache[i].stream, BQ_RUN_STREAM))
			s->is_last_complete =
			    s->cache[i].value &&
			    !strcmp(s->cache[i].value, "complete");
		if (strcmp(s->cache[i].stream, BQ_SEEN_STREAM))
			continue;
		/* unreadable: nothing taken as stored */
		bq_seen_parse(&s->seen_old, s->cache[i].value);
		/* not a checkpoint: the engine never reads it */
		free(s->cache[i].value);
		s->cache[i].value = NULL;
	}
}
