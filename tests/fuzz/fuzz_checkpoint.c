/* Fuzz target for checkpoint values read back from the store (a store is
 * shared, so they are outside input): every parser accepts anything, and
 * what it makes of a value formats and parses back to the same state: after
 * two passes (the first replaces invalid UTF-8 by U+FFFD escapes, the
 * second writes those as UTF-8) formatting is a fixed point. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/checkpoint.h"
#include "util/buf.h"

static const char *const names[] = {"links", "sent", "opened", "clicked"};
#define N_NAMES (sizeof(names) / sizeof(names[0]))

enum kind { K_CAMPAIGN, K_CURSOR, K_CONTACTS, K_TODAY, K_NEWEST };

/* out = format(parse(in)) for one kind; -1 when the format does not fit. */
static int pass(enum kind k, const char *in, struct buf *out)
{
	struct ckpt_campaign c;
	struct ckpt_contacts ct;
	struct buf cur = BUF_INIT;
	int64_t day, count;
	int rc = -1;

	buf_reset(out);
	switch (k) {
	case K_CAMPAIGN:
		ckpt_campaign_parse(&c, in, names, N_NAMES);
		rc = ckpt_campaign_format(out, &c, names, N_NAMES);
		break;
	case K_CURSOR:
		ckpt_cursor_parse(&cur, in);
		rc = ckpt_cursor_format(out, buf_str(&cur));
		break;
	case K_CONTACTS:
		ckpt_contacts_init(&ct);
		ckpt_contacts_parse(&ct, in);
		rc = ckpt_contacts_format(out, &ct);
		ckpt_contacts_release(&ct);
		break;
	case K_TODAY:
		ckpt_today_parse(&day, &count, in);
		rc = day < 0 ? -1 : ckpt_today_format(out, day, count);
		break;
	case K_NEWEST:
		rc = ckpt_newest_format(out, ckpt_newest_parse(in));
		break;
	}
	buf_release(&cur);
	return rc;
}

static void check(enum kind k, const char *s)
{
	struct buf a = BUF_INIT, b = BUF_INIT, c = BUF_INIT;

	if (pass(k, s, &a) == 0 && pass(k, buf_str(&a), &b) == 0 &&
	    (pass(k, buf_str(&b), &c) < 0 || strcmp(buf_str(&b), buf_str(&c))))
		abort();
	buf_release(&a);
	buf_release(&b);
	buf_release(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	int k;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	for (k = K_CAMPAIGN; k <= K_NEWEST; k++)
		check((enum kind)k, s);
	free(s);
	return 0;
}
