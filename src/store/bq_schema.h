/* The BigQuery tables' columns and how a flush's MERGE treats each (the
 * modes of the PostgreSQL store, store/pg_write.c). */
#ifndef ESPSYNC_BQ_SCHEMA_H
#define ESPSYNC_BQ_SCHEMA_H

#include "store/bq_internal.h"

enum bq_mode {
	BM_KEY,	 /* part of the key */
	BM_INS,	 /* written on insert only */
	BM_KEEP, /* NULL means unknown: the stored value stays */
	BM_SET,	 /* overwritten as given */
	BM_OR,	 /* engagement flag: OR-ed in, never cleared */
	BM_STAT, /* overwritten when has_stats is 1, else kept (0 on insert) */
	BM_NOW,	 /* the flush's time when the row is inserted or changes */
	BM_BORN, /* the flush's time on insert only */
	BM_LINK, /* written only by link_participants */
};

struct bq_col {
	const char *name, *type;
	enum bq_mode mode;
};

enum bq_table_id {
	BT_CAMPAIGNS,
	BT_LINKS,
	BT_PARTICIPANTS,
	BT_EVENTS,
	BT_CONTACTS,
	BT_LISTS,
	BT_STATE,
	BT_RUNS,
	BT_META,
	BT__COUNT
};

struct bq_table {
	const char *name;
	const struct bq_col *cols; /* ends with a NULL name */
};

extern const struct bq_table bq_tables[BT__COUNT];

/* A schema's "fields" array. */
BUF_MUST_CHECK int bq_fields_json(struct buf *b, const struct bq_col *cols);

#endif
