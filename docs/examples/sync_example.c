/* sync_example: syncs an EmailOctopus account into a store with
 * libespsync, exports its campaigns as csv and prints the store's totals.
 *
 *   EMAILOCTOPUS_API_KEY=... ./sync_example sqlite:data/espsync.db \
 *       https://api.emailoctopus.com
 *
 * Build: cc sync_example.c $(pkg-config --cflags --libs espsync) */
#include <stdio.h>
#include <stdlib.h>

#include <espsync.h>

/* Counts the pages of records the sync stored. */
static void on_progress(const struct espsync_event *ev, void *userdata)
{
	long *pages = userdata;

	if (ev->kind == ESPSYNC_EVENT_PAGE)
		(*pages)++;
}

int main(int argc, char **argv)
{
	struct espsync_sync_summary sum = {.size = sizeof(sum)};
	struct espsync_export_result csv = {.size = sizeof(csv)};
	struct espsync_stats st = {.size = sizeof(st)};
	long pages = 0;
	espsync *ctx;
	int code;

	if (argc != 3) {
		fprintf(stderr, "usage: %s STORE_URL API_URL\n", argv[0]);
		return 2;
	}
	ctx = espsync_new();
	if (!ctx)
		return 1;
	/* The same keys as in .env; the key stays out of argv. */
	if (espsync_set(ctx, "ESPSYNC_STORE", argv[1]) ||
	    espsync_set(ctx, "EMAILOCTOPUS_API_URL", argv[2]) ||
	    espsync_set(ctx, "EMAILOCTOPUS_API_KEY",
			getenv("EMAILOCTOPUS_API_KEY"))) {
		fprintf(stderr, "%s\n", espsync_error_message(ctx));
		espsync_free(ctx);
		return 2;
	}
	espsync_set_progress(ctx, on_progress, &pages);

	code = espsync_sync(ctx, NULL, &sum);
	printf("sync %s: exit %d, %lld requests, %lld events, %ld pages\n",
	       sum.status, sum.exit_code, (long long)sum.requests,
	       (long long)sum.events, pages);
	if (code != ESPSYNC_OK && code != ESPSYNC_PARTIAL) {
		fprintf(stderr, "sync: %s (%s)\n", espsync_error_message(ctx),
			espsync_error_kind(ctx));
		espsync_free(ctx);
		return code;
	}

	if (espsync_export_csv(ctx, NULL, &csv) == ESPSYNC_OK)
		printf("csv: %lld files, %lld rows\n", (long long)csv.files,
		       (long long)csv.rows);
	else
		fprintf(stderr, "export: %s\n", espsync_error_message(ctx));

	if (espsync_stats(ctx, NULL, &st) == ESPSYNC_OK) {
		printf("stats: %lld campaigns, %lld participants, %lld "
		       "contacts, %lld lists\n",
		       (long long)st.campaigns, (long long)st.participants,
		       (long long)st.contacts, (long long)st.lists);
		printf("events: %lld sent, %lld opened, %lld clicked\n",
		       (long long)st.events[ESPSYNC_EV_SENT],
		       (long long)st.events[ESPSYNC_EV_OPENED],
		       (long long)st.events[ESPSYNC_EV_CLICKED]);
	} else {
		fprintf(stderr, "stats: %s\n", espsync_error_message(ctx));
	}
	espsync_free(ctx);
	return code;
}
