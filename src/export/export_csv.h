/* CSV export: one file per sent campaign, read through the store interface
 * only, written atomically (temp file, fsync, rename) with the mode the
 * umask leaves of 0666. Layout: the earlier tool's flat dir/campaign_*.csv
 * while the store holds one provider account; with several, each account
 * exports into dir/<provider>/<account>/ so equal ids never clobber. */
#ifndef ESPSYNC_EXPORT_CSV_H
#define ESPSYNC_EXPORT_CSV_H

#include <stdint.h>

#include "store/store.h"
#include "util/err.h"

struct export_options {
	const char *dir;	 /* created if missing */
	const char *provider;	 /* NULL: all providers */
	const char *campaign_id; /* NULL: every campaign with a sent_at */
	/* "Tag=column,Tag2=column2": header names for field tags; tags not
	 * named get their snake_case form. NULL: none. */
	const char *columns_map;
	int is_formula_protect; /* prefix =,+,-,@,TAB,CR cells with ' */
};

#define EXPORT_OPTIONS_INIT                                                    \
	{                                                                      \
		"data/exports", NULL, NULL, NULL, 1                            \
	}

struct export_result {
	int64_t files;
	int64_t rows;
};

/* ERR_NOT_FOUND when campaign_id names no stored campaign. out->files
 * counts distinct files written (what is on disk). */
int export_csv(struct store *s, const struct export_options *opts,
	       struct export_result *out, struct err *err);
/* One file at path of every sent campaign's participants (or one's), with
 * campaign_id and provider before the per-campaign columns and the union of
 * the campaigns' field columns; written atomically. out->files is 1 when a
 * campaign was written, 0 when none. */
int export_csv_combined(struct store *s, const struct export_options *opts,
			const char *path, struct export_result *out,
			struct err *err);
/* Number of campaign_*.csv files in dir and in its <provider>/<account>/
 * directories (0 when dir is missing). */
int export_count_files(const char *dir, int64_t *out, struct err *err);
/* "campaign_{id}_{safe name}.csv" into out (size bytes). */
void export_file_name(char *out, size_t size, const char *campaign_id,
		      const char *name);
/* snake_case form of a field tag: "FirstName" -> "first_name". */
void export_snake_case(char *out, size_t size, const char *tag);
/* Appends value (NULL: empty) as one RFC 4180 cell, with a leading ' when
 * is_formula_protect and it starts with =, +, -, @, TAB or CR. -1 when out
 * is full. */
int export_csv_cell(struct buf *out, const char *value, int is_formula_protect);

#endif
