/* Progress output of a sync run; see progress.h. Provider text (campaign
 * names) is stripped of control bytes before it reaches a terminal. */
#include "core/progress.h"

#include <inttypes.h>
#include <string.h>

#include "util/buf.h"
#include "util/jsonw.h"
#include "util/banned.h"

#define TTY_REDRAW_MS 200
#define TTY_WIDTH 79

static const char *const kind_names[PROG__COUNT] = {"lists", "contacts",
						    "campaigns", "reports"};

void progress_init(struct progress *p, enum progress_mode mode, FILE *out,
		   int64_t now_ms)
{
	size_t i;

	memset(p, 0, sizeof(*p));
	p->mode = mode;
	p->out = out ? out : stderr;
	p->started_ms = now_ms;
	for (i = 0; i < PROG__COUNT; i++)
		p->s[i].units_total = -1;
}

void progress_set_hook(struct progress *p, sync_progress_fn fn, void *data)
{
	p->hook = fn;
	p->hook_data = data;
}

/* The hook hears of it, whatever the output mode. */
static void tell(const struct progress *p, enum progress_kind k,
		 const char *campaign_id, int64_t records, int is_skipped)
{
	struct progress_event ev;

	if (!p->hook)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.kind = k;
	ev.campaign_id = campaign_id;
	ev.records = records;
	ev.is_skipped = is_skipped;
	ev.units_done = p->s[PROG_REPORTS].units_done;
	ev.units_total = p->s[PROG_REPORTS].units_total;
	p->hook(p->hook_data, &ev);
}

/* Provider text for a terminal: no control bytes, at most max bytes. */
static int put_safe(struct buf *b, const char *s, size_t max)
{
	size_t n = 0;
	int rc = 0;

	for (; s && *s && n < max; s++, n++) {
		char c = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;

		rc |= buf_putc(b, c);
	}
	if (s && *s)
		rc |= buf_puts(b, "...");
	return rc;
}

static int put_count(struct buf *b, int64_t n)
{
	if (n >= 10000000)
		return buf_printf(b, "%" PRId64 "M", n / 1000000);
	if (n >= 10000)
		return buf_printf(b, "%" PRId64 ".%" PRId64 "k", n / 1000,
				  n % 1000 / 100);
	return buf_printf(b, "%" PRId64, n);
}

/* Records per second since the run started: the honest figure for streams
 * that share one rate limit. */
static double rate(const struct progress *p, const struct progress_stream *s,
		   int64_t now_ms)
{
	int64_t ms = now_ms - p->started_ms;

	return ms > 0 ? (double)s->records * 1000.0 / (double)ms : 0.0;
}

static int put_duration(struct buf *b, int64_t s)
{
	if (s >= 3600)
		return buf_printf(b, "%" PRId64 "h%02" PRId64 "m", s / 3600,
				  s % 3600 / 60);
	if (s >= 60)
		return buf_printf(b, "%" PRId64 "m%02" PRId64 "s", s / 60,
				  s % 60);
	return buf_printf(b, "%" PRId64 "s", s);
}

/* Prints the line built in b; rc is nonzero when a part of it did not fit
 * the buffer, and then nothing is printed rather than a cut line. */
static void emit(struct progress *p, const struct buf *b, int rc)
{
	if (rc)
		return;
	fputs(buf_str(b), p->out);
	fflush(p->out);
}

void progress_clear(struct progress *p)
{
	if (p->mode != PROGRESS_TTY || !p->has_line)
		return;
	fputs("\r\033[K", p->out);
	fflush(p->out);
	p->has_line = 0;
}

static void draw(struct progress *p, int64_t now_ms, int is_forced)
{
	struct buf b = BUF_INIT;
	size_t i, start;
	int n = 0, rc;

	if (p->mode != PROGRESS_TTY)
		return;
	if (!is_forced && p->has_line &&
	    now_ms - p->last_draw_ms < TTY_REDRAW_MS)
		return;
	p->last_draw_ms = now_ms;
	rc = buf_puts(&b, "\r\033[K");
	start = b.len;
	for (i = 0; i < PROG__COUNT; i++) {
		const struct progress_stream *s = &p->s[i];

		if (!s->is_active || s->is_done)
			continue;
		rc |= buf_puts(&b, n++ ? " | " : "");
		rc |= buf_printf(&b, "%s ", kind_names[i]);
		if (s->units_total >= 0)
			rc |= buf_printf(&b, "%" PRId64 "/%" PRId64 " ",
					 s->units_done, s->units_total);
		rc |= put_count(&b, s->records);
		rc |= buf_printf(&b, " %.0f/s", rate(p, s, now_ms));
		if (s->units_total > 0 && s->units_done > 0 &&
		    s->units_done < s->units_total) {
			int64_t el = now_ms - s->first_ms;
			int64_t left = el / s->units_done *
				       (s->units_total - s->units_done);

			rc |= buf_puts(&b, " ETA ");
			rc |= put_duration(&b, left / 1000);
		}
	}
	if (n == 0) {
		buf_release(&b);
		progress_clear(p);
		return;
	}
	if (b.len - start > TTY_WIDTH) {
		b.len = start + TTY_WIDTH;
		b.data[b.len] = '\0';
	}
	emit(p, &b, rc);
	if (!rc)
		p->has_line = 1;
	buf_release(&b);
}

static struct progress_stream *touch(struct progress *p, enum progress_kind k,
				     int64_t now_ms)
{
	struct progress_stream *s = &p->s[k];

	if (!s->is_active) {
		s->is_active = 1;
		s->first_ms = now_ms;
	}
	return s;
}

void progress_page(struct progress *p, enum progress_kind k, int64_t records,
		   const char *object, int64_t now_ms)
{
	struct progress_stream *s;
	struct buf b = BUF_INIT;
	int rc;

	if ((unsigned)k >= PROG__COUNT)
		return;
	tell(p, k, NULL, records, 0);
	if (p->mode == PROGRESS_NONE)
		return;
	s = touch(p, k, now_ms);
	s->pages++;
	s->records += records;
	if (p->mode == PROGRESS_TTY) {
		draw(p, now_ms, 0);
	} else if (p->mode == PROGRESS_JSON) {
		rc = buf_puts(&b, "{\"event\":\"page\",\"stream\":");
		rc |= jsonw_string(&b, kind_names[k]);
		if (object) {
			rc |= jsonw_key(&b, "object", 0);
			rc |= jsonw_string(&b, object);
		}
		rc |= buf_printf(
		    &b,
		    ",\"records\":%" PRId64 ",\"stream_records\":%" PRId64
		    ",\"pages\":%" PRId64 ",\"elapsed_ms\":%" PRId64 "}\n",
		    records, s->records, s->pages, now_ms - p->started_ms);
		emit(p, &b, rc);
	}
	buf_release(&b);
}

void progress_set_total(struct progress *p, enum progress_kind k, int64_t total)
{
	if ((unsigned)k < PROG__COUNT)
		p->s[k].units_total = total;
}

void progress_unit_done(struct progress *p, enum progress_kind k,
			int64_t now_ms)
{
	if ((unsigned)k >= PROG__COUNT)
		return;
	touch(p, k, now_ms)->units_done++;
	draw(p, now_ms, 0);
}

void progress_campaign_done(struct progress *p, const char *id,
			    const char *name, int64_t events, int64_t links,
			    int is_skipped, int64_t now_ms)
{
	struct buf b = BUF_INIT;
	int rc;

	tell(p, PROG_REPORTS, id, 0, is_skipped);
	switch (p->mode) {
	case PROGRESS_NONE:
	case PROGRESS_TTY:
		break;
	case PROGRESS_PLAIN:
		rc = buf_puts(&b, "campaign '");
		rc |= put_safe(&b, name ? name : "", 80);
		rc |= buf_puts(&b, "' (");
		rc |= put_safe(&b, id, 80);
		if (is_skipped)
			rc |=
			    buf_puts(&b, "): unchanged, reports not re-read\n");
		else
			rc |= buf_printf(
			    &b, "): %" PRId64 " events, %" PRId64 " links\n",
			    events, links);
		emit(p, &b, rc);
		break;
	case PROGRESS_JSON:
		rc = buf_puts(&b,
			      "{\"event\":\"campaign_done\",\"campaign_id\":");
		rc |= jsonw_string(&b, id);
		rc |= jsonw_key(&b, "name", 0);
		rc |= jsonw_string(&b, name);
		rc |=
		    buf_printf(&b,
			       ",\"events\":%" PRId64 ",\"links\":%" PRId64
			       ",\"skipped\":%s,\"elapsed_ms\":%" PRId64 "}\n",
			       events, links, is_skipped ? "true" : "false",
			       now_ms - p->started_ms);
		emit(p, &b, rc);
		break;
	}
	buf_release(&b);
}

void progress_stream_done(struct progress *p, enum progress_kind k,
			  int64_t now_ms)
{
	struct progress_stream *s;
	struct buf b = BUF_INIT;
	int rc;

	if ((unsigned)k >= PROG__COUNT)
		return;
	s = &p->s[k];
	if (s->is_done || !s->is_active)
		return;
	s->is_done = 1;
	switch (p->mode) {
	case PROGRESS_NONE:
		break;
	case PROGRESS_TTY:
	case PROGRESS_PLAIN:
		progress_clear(p);
		rc = buf_printf(&b,
				"%s: %" PRId64 " records in %" PRId64 " pages",
				kind_names[k], s->records, s->pages);
		if (s->units_total >= 0)
			rc |= buf_printf(
			    &b, ", %" PRId64 " of %" PRId64 " campaigns",
			    s->units_done, s->units_total);
		rc |= buf_printf(&b, " (%.1f/s)\n", rate(p, s, now_ms));
		emit(p, &b, rc);
		draw(p, now_ms, 1);
		break;
	case PROGRESS_JSON:
		rc = buf_puts(&b, "{\"event\":\"stream_done\",\"stream\":");
		rc |= jsonw_string(&b, kind_names[k]);
		rc |= buf_printf(&b,
				 ",\"records\":%" PRId64 ",\"pages\":%" PRId64
				 ",\"elapsed_ms\":%" PRId64 "}\n",
				 s->records, s->pages, now_ms - p->started_ms);
		emit(p, &b, rc);
		break;
	}
	buf_release(&b);
}

void progress_run_done(struct progress *p, const struct sync_report *r,
		       const char *status, int64_t now_ms)
{
	struct buf b = BUF_INIT;
	int rc;

	progress_clear(p);
	if (p->mode != PROGRESS_JSON)
		return;
	rc = buf_puts(&b, "{\"event\":\"run_done\",\"status\":");
	rc |= jsonw_string(&b, status);
	rc |=
	    buf_printf(&b,
		       ",\"run_id\":%" PRId64 ",\"requests\":%" PRId64
		       ",\"retries\":%" PRId64 ",\"throttled\":%" PRId64
		       ",\"events\":%" PRId64 ",\"campaigns_skipped\":%" PRId64
		       ",\"elapsed_ms\":%" PRId64 "}\n",
		       r->run_id, r->requests, r->retries, r->throttled,
		       r->events, r->campaigns_skipped, now_ms - p->started_ms);
	emit(p, &b, rc);
	buf_release(&b);
}
