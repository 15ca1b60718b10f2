/* Small SVG charts for the HTML report: axes with ticks at round numbers,
 * stacked bars and lines, x labels thinned so that they never overlap, the
 * Okabe-Ito colour-blind-safe palette and a <title>/<desc> text alternative.
 * Charts are appended to a caller's buffer; every string is escaped, and the
 * output holds no script, no link and nothing fetched. Arguments are
 * borrowed. */
#ifndef ESPSYNC_CHART_H
#define ESPSYNC_CHART_H

#include <stddef.h>

#include "util/buf.h"

#define CHART_PALETTE 8
/* Okabe & Ito (2008): told apart with every common colour vision
 * deficiency. */
extern const char *const chart_palette[CHART_PALETTE];

struct chart_series {
	const char *name;
	const double *values; /* n_x values; NAN: none (a gap in a line) */
	const char *color;    /* NULL: chart_palette[index % CHART_PALETTE] */
};

struct chart {
	const char *title; /* <title>: the accessible name */
	const char *desc;  /* <desc>: what the chart shows, in words */
	int width, height; /* of the drawing, px; 0 picks 720 x 240 */
	const char *const *x_labels; /* n_x labels, one per slot */
	size_t n_x;
	const struct chart_series *series;
	size_t n_series;
	int is_percent; /* values are fractions; the axis shows percent */
};

/* Ticks 0, step, ..., n * step with n * step >= max. */
struct chart_ticks {
	double step;
	int n;
};

/* Round steps (1, 2, 2.5 or 5 times a power of ten) covering max in at most
 * max_ticks steps; a step is at least 1 unless is_fraction. A max of zero,
 * below zero or not finite gives one step of 1 (0.1 for a fraction). */
void chart_ticks(struct chart_ticks *out, double max, int max_ticks,
		 int is_fraction);
/* Draw every k-th of n labels, each about label_px wide, on slots slot_px
 * apart, so that drawn labels keep a gap between them; k >= 1. */
size_t chart_label_every(size_t n, double slot_px, double label_px);
/* Axis text for v: "0", "950", "12k", "1.5M"; for a fraction "25%" (or
 * "2.5%" when fine is set). */
void chart_format_value(char *out, size_t size, double v, int is_percent,
			int is_fine);
/* A writer over a caller's buffer with a sticky failure: once an append
 * fails (the buffer reached its maximum) the rest are skipped and
 * chart_out_done() returns -1, so a cut document is never handed on. */
struct chart_out {
	struct buf *buf;
	int is_full;
};

void chart_out_init(struct chart_out *o, struct buf *buf);
void chart_puts(struct chart_out *o, const char *s);
void chart_printf(struct chart_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* s escaped as chart_escape does. */
void chart_text(struct chart_out *o, const char *s);
/* 0, or -1 when an append failed. */
int chart_out_done(const struct chart_out *o);

/* Appends s with & < > " ' escaped and control characters other than tab
 * and newline dropped, for HTML or SVG text and attribute values (NULL
 * appends nothing). -1 when out reaches its maximum. */
int chart_escape(struct buf *out, const char *s);

/* One bar per slot, the series stacked in order from the axis up. -1 when
 * out reaches its maximum. */
int chart_stacked_bars(struct buf *out, const struct chart *c);
/* One line (with a dot per value) per series; NAN values leave gaps. */
int chart_lines(struct buf *out, const struct chart *c);

#endif
