/* One sync per provider account: the store's lease taken before the first
 * request and dropped when the run ends, the run's heartbeat, the marking
 * of runs whose process died, and the error of a run a signal stopped. */
#include "core/sync_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/clock.h"
#include "util/log.h"
#include "util/timeparse.h"
#include "util/banned.h"

/* A run's heartbeat is written with its commits, at most this often. */
#define HEARTBEAT_EVERY_MS 5000
/* --wait looks at the lease this often (and at the stop flag between). */
#define LEASE_POLL_MS 250
#define LEASE_SLEEP_SLICE_MS 50

static const char *signal_name(int sig)
{
	if (sig == SIGINT)
		return "SIGINT";
	if (sig == SIGTERM)
		return "SIGTERM";
	if (sig == SIGHUP)
		return "SIGHUP";
	return "a signal";
}

int sync_interrupted(struct err *err, int sig, const char *fmt, ...)
{
	char rest[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rest, sizeof(rest), fmt, ap);
	va_end(ap);
	return err_set(err, ERR_INTERRUPTED, sig, "stopped by %s%s",
		       signal_name(sig), rest);
}

int sync_stop_signal(const struct sync_request *req)
{
	return req->stop_signal ? (int)*req->stop_signal : 0;
}

static int busy(struct err *err, const struct sync_request *req,
		const char *account, const struct lease_holder *h,
		int64_t waited_ms)
{
	char since[21];

	time_format_iso(h->since != TIME_NULL ? h->since : 0, since);
	if (waited_ms > 0)
		return err_set(err, ERR_BUSY, 0,
			       "another sync of %s account '%.60s' still "
			       "holds the store's lease after %" PRId64
			       " s (host '%.60s', pid %" PRId64 ", since %s)",
			       req->source->name, account,
			       (waited_ms + 999) / 1000, h->host, h->pid,
			       since);
	return err_set(err, ERR_BUSY, 0,
		       "another sync of %s account '%.60s' is running (host "
		       "'%.60s', pid %" PRId64 ", since %s)",
		       req->source->name, account, h->host, h->pid, since);
}

int sync_lease_take(struct store *store, const struct sync_request *req,
		    const char *account, struct err *err)
{
	const char *provider = req->source->name;
	struct lease_holder h;
	int64_t t0 = clock_mono_ms(), now, next;
	int is_told = 0, sig;

	if (!store->ops->lease_take)
		return 0;
	for (;;) {
		struct err e = ERR_INIT;

		memset(&h, 0, sizeof(h));
		if (store->ops->lease_take(store, provider, account, &h, &e) ==
		    0)
			return 0;
		if (e.kind != ERR_BUSY) {
			if (e.kind == ERR_NONE)
				e.kind = ERR_STORE;
			*err = e;
			return -1;
		}
		now = clock_mono_ms();
		if (now - t0 >= req->lease_wait_ms)
			return busy(err, req, account, &h, now - t0);
		if (!is_told)
			log_info("waiting for the sync of %s account '%.60s' "
				 "by host '%.60s', pid %" PRId64 " to end",
				 provider, account, h.host, h.pid);
		is_told = 1;
		next = now + LEASE_POLL_MS;
		while ((now = clock_mono_ms()) < next) {
			sig = sync_stop_signal(req);
			if (sig)
				return sync_interrupted(
				    err, sig,
				    " while waiting for another sync "
				    "of the account; nothing was "
				    "synced");
			clock_sleep_ms(LEASE_SLEEP_SLICE_MS);
		}
	}
}

void sync_lease_drop(struct store *store, const struct sync_request *req,
		     const char *account)
{
	struct err e = ERR_INIT;

	/* A lease left behind expires with its process: nothing to undo. */
	if (store->ops->lease_drop &&
	    store->ops->lease_drop(store, req->source->name, account, &e) < 0)
		log_debug("cannot release the sync lease: %s", e.msg);
}

int sync_reap(struct sync_ctx *ctx, struct err *err)
{
	struct store *store = ctx->store;
	int64_t n = 0;

	if (!store->ops->run_reap)
		return 0;
	if (store->ops->run_reap(store, ctx->src->name, ctx->req->account,
				 clock_wall_s(), &n, err) < 0) {
		if (err && err->kind == ERR_NONE)
			err->kind = ERR_STORE;
		return -1;
	}
	ctx->report->runs_reaped = n;
	if (n > 0)
		log_info("%" PRId64 " earlier run%s whose process is gone "
			 "marked interrupted",
			 n, n == 1 ? "" : "s");
	return 0;
}

void sync_heartbeat(struct sync_ctx *ctx)
{
	struct store *store = ctx->store;
	struct err e = ERR_INIT;
	int64_t now = clock_mono_ms();

	if (!store->ops->run_heartbeat || !ctx->report->run_id ||
	    (ctx->heartbeat_mono_ms &&
	     now - ctx->heartbeat_mono_ms < HEARTBEAT_EVERY_MS))
		return;
	ctx->heartbeat_mono_ms = now;
	/* A store that fails here fails the next batch too; that one
	 * reports it. */
	if (store->ops->run_heartbeat(store, ctx->report->run_id,
				      ctx->src->name, ctx->req->account,
				      clock_wall_s(), &e) < 0)
		log_debug("cannot record the run's heartbeat: %s", e.msg);
}
