/* api_cancel: a sync cancelled from another thread, as the Python binding
 * does on KeyboardInterrupt. A second thread waits until the sync has
 * stored PAGES pages, then calls espsync_cancel; the program prints the
 * exit code, how long the sync took to return after the cancel and the
 * pages seen. Settings: ESPSYNC_STORE, EMAILOCTOPUS_API_URL,
 * EMAILOCTOPUS_API_KEY, ESPSYNC_RATE_EMAILOCTOPUS and
 * ESPSYNC_BURST_EMAILOCTOPUS from the environment.
 *
 *   api_cancel PAGES */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <espsync.h>

static const char *const keys[] = {
    "ESPSYNC_STORE", "EMAILOCTOPUS_API_URL", "EMAILOCTOPUS_API_KEY",
    "ESPSYNC_RATE_EMAILOCTOPUS", "ESPSYNC_BURST_EMAILOCTOPUS"};

static sem_t reached;
static long pages, cancel_after;
static struct timespec cancelled_at;
static int is_reached, has_cancelled;

static void on_progress(const struct espsync_event *ev, void *userdata)
{
	(void)userdata;
	if (ev->kind == ESPSYNC_EVENT_PAGE && ++pages == cancel_after) {
		is_reached = 1;
		sem_post(&reached);
	}
}

static void *canceller(void *arg)
{
	espsync *ctx = arg;

	sem_wait(&reached);
	if (!is_reached)
		return NULL; /* the sync ended first */
	clock_gettime(CLOCK_MONOTONIC, &cancelled_at);
	has_cancelled = 1;
	espsync_cancel(ctx, 0);
	return NULL;
}

int main(int argc, char **argv)
{
	struct espsync_sync_summary sum = {.size = sizeof(sum)};
	struct timespec done;
	pthread_t thread;
	espsync *ctx;
	size_t i;
	int code;
	long ms = -1;

	if (argc != 2 || (cancel_after = atol(argv[1])) < 1) {
		fprintf(stderr, "usage: %s PAGES\n", argv[0]);
		return 2;
	}
	ctx = espsync_new();
	for (i = 0; ctx && i < sizeof(keys) / sizeof(keys[0]); i++)
		if (espsync_set(ctx, keys[i], getenv(keys[i]))) {
			fprintf(stderr, "%s\n", espsync_error_message(ctx));
			return 2;
		}
	if (!ctx || sem_init(&reached, 0, 0) < 0)
		return 1;
	espsync_set_progress(ctx, on_progress, NULL);
	if (pthread_create(&thread, NULL, canceller, ctx))
		return 1;
	code = espsync_sync(ctx, NULL, &sum);
	clock_gettime(CLOCK_MONOTONIC, &done);
	sem_post(&reached);
	pthread_join(thread, NULL);
	if (has_cancelled)
		ms = (done.tv_sec - cancelled_at.tv_sec) * 1000 +
		     (done.tv_nsec - cancelled_at.tv_nsec) / 1000000;
	printf("exit %d, status %s, %ld ms after the cancel, %ld pages, %lld "
	       "campaigns remaining\n",
	       code, sum.status, ms, pages, (long long)sum.campaigns_remaining);
	if (code)
		fprintf(stderr, "%s (%s)\n", espsync_error_message(ctx),
			espsync_error_kind(ctx));
	espsync_free(ctx);
	sem_destroy(&reached);
	return code;
}
