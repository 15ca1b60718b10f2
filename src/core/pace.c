/* Token bucket arithmetic; see pace.h. Tokens are fractional so a refill
 * that is polled late loses nothing below the capacity. */
#include "core/pace.h"

#include "util/banned.h"

static void refill(struct pace *p, int64_t now_ms)
{
	int64_t from = p->last_ms;

	if (now_ms <= from)
		return;
	if (p->paused_until_ms > from)
		from =
		    p->paused_until_ms < now_ms ? p->paused_until_ms : now_ms;
	p->tokens += (double)(now_ms - from) * p->rate_per_sec / 1000.0;
	if (p->tokens > p->capacity)
		p->tokens = p->capacity;
	p->last_ms = now_ms;
}

void pace_init(struct pace *p, double rate_per_sec, double capacity,
	       int64_t now_ms)
{
	p->rate_per_sec = rate_per_sec > 0 ? rate_per_sec : 1.0;
	p->capacity = capacity >= 1.0 ? capacity : 1.0;
	p->tokens = p->capacity;
	p->last_ms = now_ms;
	p->paused_until_ms = 0;
}

int pace_take(struct pace *p, int64_t now_ms)
{
	refill(p, now_ms);
	if (now_ms < p->paused_until_ms || p->tokens < 1.0)
		return 0;
	p->tokens -= 1.0;
	return 1;
}

double pace_tokens(struct pace *p, int64_t now_ms)
{
	refill(p, now_ms);
	return p->tokens;
}

int64_t pace_wait_ms(struct pace *p, int64_t now_ms)
{
	int64_t start = now_ms, wait;
	double need;

	refill(p, now_ms);
	if (p->paused_until_ms > now_ms)
		start = p->paused_until_ms;
	need = 1.0 - p->tokens;
	if (need <= 0)
		return start - now_ms;
	/* Round up so a caller sleeping this long finds the token there. */
	wait = (int64_t)(need * 1000.0 / p->rate_per_sec);
	if ((double)wait * p->rate_per_sec / 1000.0 < need)
		wait++;
	return start - now_ms + wait;
}

void pace_observe_remaining(struct pace *p, double remaining, int64_t now_ms)
{
	refill(p, now_ms);
	if (remaining < -p->capacity)
		remaining = -p->capacity;
	if (remaining < p->tokens)
		p->tokens = remaining;
}

void pace_pause_until(struct pace *p, int64_t until_ms, int64_t now_ms)
{
	refill(p, now_ms);
	if (p->tokens > 0)
		p->tokens = 0;
	if (until_ms > p->paused_until_ms)
		p->paused_until_ms = until_ms;
}
