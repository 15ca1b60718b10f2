/* SVG charts for the HTML report (chart.h): round ticks, stacked bars,
 * lines with gaps, a legend, and labels that do not overlap. */
#include "export/chart.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/banned.h"

const char *const chart_palette[CHART_PALETTE] = {
    "#0072B2", "#E69F00", "#009E73", "#D55E00",
    "#CC79A7", "#56B4E9", "#F0E442", "#000000",
};

/* Layout of every chart, px. Text is 11 px; a character is about 6.6 px
 * wide in the sans-serif fonts browsers pick. */
#define MARGIN_LEFT 52
#define MARGIN_RIGHT 14
#define MARGIN_TOP 30
#define MARGIN_BOTTOM 34
#define CHAR_PX 6.6
#define LABEL_GAP_PX 10.0
#define MAX_Y_TICKS 5

void chart_out_init(struct chart_out *o, struct buf *buf)
{
	o->buf = buf;
	o->is_full = 0;
}

void chart_puts(struct chart_out *o, const char *s)
{
	if (!o->is_full && buf_puts(o->buf, s) < 0)
		o->is_full = 1;
}

void chart_printf(struct chart_out *o, const char *fmt, ...)
{
	va_list ap;

	if (o->is_full)
		return;
	va_start(ap, fmt);
	if (buf_vprintf(o->buf, fmt, ap) < 0)
		o->is_full = 1;
	va_end(ap);
}

void chart_text(struct chart_out *o, const char *s)
{
	if (!o->is_full && chart_escape(o->buf, s) < 0)
		o->is_full = 1;
}

int chart_out_done(const struct chart_out *o)
{
	return o->is_full ? -1 : 0;
}

int chart_escape(struct buf *out, const char *s)
{
	const char *run = s;

	if (!s)
		return 0;
	for (; *s; s++) {
		const char *rep = NULL;
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
				rep = "";
			break;
		}
		if (!rep)
			continue;
		if (buf_append(out, run, (size_t)(s - run)) < 0 ||
		    buf_puts(out, rep) < 0)
			return -1;
		run = s + 1;
	}
	return buf_append(out, run, (size_t)(s - run));
}

void chart_ticks(struct chart_ticks *out, double max, int max_ticks,
		 int is_fraction)
{
	static const double nice[] = {1, 2, 2.5, 5, 10};
	double raw, mag, step = 0;
	size_t i;

	if (max_ticks < 1)
		max_ticks = 1;
	if (!(max > 0) || !isfinite(max)) {
		out->step = is_fraction ? 0.1 : 1;
		out->n = 1;
		return;
	}
	raw = max / max_ticks;
	mag = pow(10, floor(log10(raw)));
	for (i = 0; i < sizeof(nice) / sizeof(nice[0]); i++) {
		step = nice[i] * mag;
		/* counts step by whole numbers: no 2.5, nothing below 1 */
		if (!is_fraction && (step < 1 || fmod(step, 1) != 0))
			continue;
		if (step >= raw * (1 - 1e-9))
			break;
	}
	if (!is_fraction && step < 1)
		step = 1;
	out->step = step;
	out->n = (int)ceil(max / step - 1e-9);
	if (out->n < 1)
		out->n = 1;
}

size_t chart_label_every(size_t n, double slot_px, double label_px)
{
	size_t k;

	if (n == 0 || !(slot_px > 0))
		return 1;
	k = (size_t)ceil((label_px + LABEL_GAP_PX) / slot_px);
	return k ? k : 1;
}

/* "%.1f" without a trailing ".0". */
static void short_number(char *out, size_t size, double v, const char *unit)
{
	snprintf(out, size, "%.1f%s", v, unit);
	if (strstr(out, ".0")) {
		char *dot = strstr(out, ".0");

		memmove(dot, dot + 2, strlen(dot + 2) + 1);
	}
}

void chart_format_value(char *out, size_t size, double v, int is_percent,
			int is_fine)
{
	double a = fabs(v);

	if (is_percent)
		snprintf(out, size, is_fine ? "%.1f%%" : "%.0f%%", v * 100);
	else if (a >= 1e6)
		short_number(out, size, v / 1e6, "M");
	else if (a >= 1e4)
		short_number(out, size, v / 1e3, "k");
	else
		snprintf(out, size, "%.0f", v);
}

struct frame {
	double left, top, w, h; /* the plot area */
	double slot;		/* px per x slot */
	struct chart_ticks ticks;
	double y_max;
};

static const char *series_color(const struct chart *c, size_t i)
{
	return c->series[i].color ? c->series[i].color
				  : chart_palette[i % CHART_PALETTE];
}

static double y_of(const struct frame *f, double v)
{
	return f->top + f->h - (v / f->y_max) * f->h;
}

static void open_svg(struct chart_out *o, const struct chart *c, int w, int h)
{
	chart_printf(o,
		     "<svg xmlns=\"http://www.w3.org/2000/svg\" "
		     "class=\"chart\" role=\"img\" viewBox=\"0 0 %d %d\" "
		     "width=\"%d\" height=\"%d\"><title>",
		     w, h, w, h);
	chart_text(o, c->title);
	chart_puts(o, "</title><desc>");
	chart_text(o, c->desc);
	chart_puts(o, "</desc>");
}

static void legend(struct chart_out *o, const struct chart *c, int is_line)
{
	double x = MARGIN_LEFT;
	size_t i;

	for (i = 0; i < c->n_series; i++) {
		const char *name = c->series[i].name ? c->series[i].name : "";

		if (is_line)
			chart_printf(o,
				     "<line x1=\"%.1f\" y1=\"12\" x2=\"%.1f\" "
				     "y2=\"12\" stroke=\"%s\" "
				     "stroke-width=\"2.5\"%s/>",
				     x, x + 14, series_color(c, i),
				     i % 2 ? " stroke-dasharray=\"4 2\"" : "");
		else
			chart_printf(o,
				     "<rect x=\"%.1f\" y=\"6\" width=\"12\" "
				     "height=\"12\" fill=\"%s\"/>",
				     x, series_color(c, i));
		chart_printf(o, "<text x=\"%.1f\" y=\"16\">", x + 18);
		chart_text(o, name);
		chart_puts(o, "</text>");
		x += 18 + CHAR_PX * (double)strlen(name) + 16;
	}
}

/* Grid lines, y tick labels, the x axis and its thinned labels. */
static void axes(struct chart_out *o, const struct chart *c,
		 const struct frame *f)
{
	size_t i, every, longest = 0;
	int t, is_fine = c->is_percent && f->ticks.step < 0.01 - 1e-12;

	for (t = 0; t <= f->ticks.n; t++) {
		double v = f->ticks.step * t, y = y_of(f, v);
		char label[32];

		chart_format_value(label, sizeof(label), v, c->is_percent,
				   is_fine);
		chart_printf(o,
			     "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" "
			     "x2=\"%.1f\" y2=\"%.1f\"/><text class=\"ytick\" "
			     "x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s"
			     "</text>",
			     f->left, y, f->left + f->w, y, f->left - 6, y + 4,
			     label);
	}
	chart_printf(o,
		     "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
		     "y2=\"%.1f\"/>",
		     f->left, f->top + f->h, f->left + f->w, f->top + f->h);
	for (i = 0; i < c->n_x; i++) {
		size_t len =
		    c->x_labels && c->x_labels[i] ? strlen(c->x_labels[i]) : 0;

		if (len > longest)
			longest = len;
	}
	every = chart_label_every(c->n_x, f->slot, CHAR_PX * (double)longest);
	for (i = 0; c->x_labels && i < c->n_x; i += every) {
		double x = f->left + f->slot * ((double)i + 0.5);

		chart_printf(o,
			     "<text class=\"xtick\" x=\"%.1f\" y=\"%.1f\" "
			     "text-anchor=\"middle\">",
			     x, f->top + f->h + 16);
		chart_text(o, c->x_labels[i]);
		chart_puts(o, "</text>");
	}
}

static void frame_init(struct frame *f, const struct chart *c, int w, int h,
		       double max)
{
	f->left = MARGIN_LEFT;
	f->top = MARGIN_TOP;
	f->w = w - MARGIN_LEFT - MARGIN_RIGHT;
	f->h = h - MARGIN_TOP - MARGIN_BOTTOM;
	f->slot = c->n_x ? f->w / (double)c->n_x : f->w;
	chart_ticks(&f->ticks, max, MAX_Y_TICKS, c->is_percent);
	f->y_max = f->ticks.step * f->ticks.n;
}

static void size_of(const struct chart *c, int *w, int *h)
{
	*w = c->width > 0 ? c->width : 720;
	*h = c->height > 0 ? c->height : 240;
	if (*w < MARGIN_LEFT + MARGIN_RIGHT + 40)
		*w = MARGIN_LEFT + MARGIN_RIGHT + 40;
	if (*h < MARGIN_TOP + MARGIN_BOTTOM + 40)
		*h = MARGIN_TOP + MARGIN_BOTTOM + 40;
}

static double value_at(const struct chart *c, size_t s, size_t i)
{
	double v = c->series[s].values ? c->series[s].values[i] : 0;

	return isfinite(v) && v > 0 ? v : 0;
}

/* A <title> tooltip for one value: "label · series: value". */
static void value_title(struct chart_out *o, const struct chart *c, size_t s,
			size_t i, double v)
{
	char num[32];

	if (c->is_percent)
		snprintf(num, sizeof(num), "%.1f%%", v * 100);
	else
		snprintf(num, sizeof(num), "%.0f", v);
	chart_puts(o, "<title>");
	chart_text(o, c->x_labels ? c->x_labels[i] : "");
	chart_puts(o, " \xc2\xb7 ");
	chart_text(o, c->series[s].name);
	chart_printf(o, ": %s</title>", num);
}

int chart_stacked_bars(struct buf *out, const struct chart *c)
{
	struct chart_out o;
	struct frame f;
	double max = 0, bar;
	size_t i, s;
	int w, h;

	chart_out_init(&o, out);
	size_of(c, &w, &h);
	for (i = 0; i < c->n_x; i++) {
		double sum = 0;

		for (s = 0; s < c->n_series; s++)
			sum += value_at(c, s, i);
		if (sum > max)
			max = sum;
	}
	frame_init(&f, c, w, h, max);
	bar = f.slot * 0.8 > 1 ? f.slot * 0.8 : f.slot;
	open_svg(&o, c, w, h);
	legend(&o, c, 0);
	axes(&o, c, &f);
	for (i = 0; i < c->n_x; i++) {
		double base = 0,
		       x = f.left + f.slot * (double)i + (f.slot - bar) / 2;

		for (s = 0; s < c->n_series; s++) {
			double v = value_at(c, s, i);
			double y0 = y_of(&f, base), y1 = y_of(&f, base + v);

			if (v <= 0)
				continue;
			chart_printf(&o,
				     "<rect x=\"%.2f\" y=\"%.2f\" "
				     "width=\"%.2f\" height=\"%.2f\" "
				     "fill=\"%s\">",
				     x, y1, bar, y0 - y1, series_color(c, s));
			value_title(&o, c, s, i, v);
			chart_puts(&o, "</rect>");
			base += v;
		}
	}
	chart_puts(&o, "</svg>");
	return chart_out_done(&o);
}

static void line_path(struct chart_out *o, const struct chart *c,
		      const struct frame *f, size_t s)
{
	const double *v = c->series[s].values;
	int is_drawing = 0, has_path = 0;
	size_t i;

	for (i = 0; v && i < c->n_x; i++) {
		double x = f->left + f->slot * ((double)i + 0.5);

		if (!isfinite(v[i])) {
			is_drawing = 0;
			continue;
		}
		if (!has_path)
			chart_printf(o,
				     "<path fill=\"none\" stroke=\"%s\" "
				     "stroke-width=\"2\"%s d=\"",
				     series_color(c, s),
				     s % 2 ? " stroke-dasharray=\"4 2\"" : "");
		has_path = 1;
		chart_printf(o, "%s%.2f %.2f ", is_drawing ? "L" : "M", x,
			     y_of(f, v[i] > 0 ? v[i] : 0));
		is_drawing = 1;
	}
	if (has_path)
		chart_puts(o, "\"/>");
	for (i = 0; v && i < c->n_x; i++) {
		double x = f->left + f->slot * ((double)i + 0.5);

		if (!isfinite(v[i]))
			continue;
		chart_printf(o,
			     "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3\" "
			     "fill=\"%s\">",
			     x, y_of(f, v[i] > 0 ? v[i] : 0),
			     series_color(c, s));
		value_title(o, c, s, i, v[i]);
		chart_puts(o, "</circle>");
	}
}

int chart_lines(struct buf *out, const struct chart *c)
{
	struct chart_out o;
	struct frame f;
	double max = 0;
	size_t i, s;
	int w, h;

	chart_out_init(&o, out);
	size_of(c, &w, &h);
	for (s = 0; s < c->n_series; s++)
		for (i = 0; i < c->n_x; i++)
			if (value_at(c, s, i) > max)
				max = value_at(c, s, i);
	frame_init(&f, c, w, h, max);
	open_svg(&o, c, w, h);
	legend(&o, c, 1);
	axes(&o, c, &f);
	for (s = 0; s < c->n_series; s++)
		line_path(&o, c, &f, s);
	chart_puts(&o, "</svg>");
	return chart_out_done(&o);
}
