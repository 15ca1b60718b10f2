/* The SVG chart module: round ticks (table), label thinning, value text,
 * escaping, and whole charts checked for what they must and must not
 * hold (no script, escaped names, gaps in lines, a failure at the buffer
 * maximum instead of a cut chart). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "export/chart.h"
#include "util/buf.h"

static void test_ticks(void **state)
{
	static const struct {
		double max;
		int max_ticks, is_fraction;
		double step;
		int n;
	} cases[] = {
	    {0, 5, 0, 1, 1},	      {-3, 5, 0, 1, 1},
	    {1, 5, 0, 1, 1},	      {3, 5, 0, 1, 3},
	    {7, 5, 0, 2, 4},	      {10, 5, 0, 2, 5},
	    {11, 5, 0, 5, 3},	      {99, 5, 0, 20, 5},
	    {100, 5, 0, 20, 5},	      {101, 5, 0, 25, 5},
	    {1234, 5, 0, 250, 5},     {999999, 5, 0, 200000, 5},
	    {0.35, 5, 1, 0.1, 4},     {0.004, 5, 1, 0.001, 4},
	    {0, 5, 1, 0.1, 1},	      {1, 5, 1, 0.2, 5},
	    {0.0123, 4, 1, 0.005, 3}, {NAN, 5, 0, 1, 1},
	    {INFINITY, 5, 0, 1, 1},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct chart_ticks t;

		chart_ticks(&t, cases[i].max, cases[i].max_ticks,
			    cases[i].is_fraction);
		if (fabs(t.step - cases[i].step) > 1e-12 || t.n != cases[i].n)
			fail_msg("case %zu: max %g: step %g n %d, want %g %d",
				 i, cases[i].max, t.step, t.n, cases[i].step,
				 cases[i].n);
		/* the ticks cover the maximum, in at most max_ticks steps */
		if (isfinite(cases[i].max))
			assert_true(t.step * t.n >= cases[i].max - 1e-12);
		assert_true(t.n <= cases[i].max_ticks);
	}
}

static void test_label_every(void **state)
{
	(void)state;
	assert_int_equal(chart_label_every(0, 10, 60), 1);
	assert_int_equal(chart_label_every(5, 100, 60), 1);
	assert_int_equal(chart_label_every(30, 20, 60), 4);
	assert_int_equal(chart_label_every(365, 1.8, 60), 39);
	assert_int_equal(chart_label_every(3, 0, 60), 1);
}

static void test_format_value(void **state)
{
	static const struct {
		double v;
		int is_percent, is_fine;
		const char *want;
	} cases[] = {
	    {0, 0, 0, "0"},	    {950, 0, 0, "950"},
	    {9999, 0, 0, "9999"},   {12000, 0, 0, "12k"},
	    {12500, 0, 0, "12.5k"}, {1500000, 0, 0, "1.5M"},
	    {2000000, 0, 0, "2M"},  {0.25, 1, 0, "25%"},
	    {0.025, 1, 1, "2.5%"},  {0, 1, 0, "0%"},
	};
	char out[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		chart_format_value(out, sizeof(out), cases[i].v,
				   cases[i].is_percent, cases[i].is_fine);
		assert_string_equal(out, cases[i].want);
	}
}

static void test_escape(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	assert_int_equal(chart_escape(&b, "<script>alert('x')</script>&\""), 0);
	assert_string_equal(
	    buf_str(&b),
	    "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;");
	buf_reset(&b);
	assert_int_equal(chart_escape(&b, "a\x01\x1b[b\x7f\tc\nd"), 0);
	assert_string_equal(buf_str(&b), "a[b\tc\nd");
	buf_reset(&b);
	assert_int_equal(chart_escape(&b, NULL), 0);
	assert_string_equal(buf_str(&b), "");
	buf_release(&b);
	buf_init(&b, 8);
	assert_int_equal(chart_escape(&b, "<<<<"), -1);
	buf_release(&b);
}

static const char *const labels[] = {"Jan 1", "Jan 2", "<b>Jan 3</b>"};

static void test_stacked_bars(void **state)
{
	static const double sent[] = {10, 0, 4}, opens[] = {5, 0, NAN};
	const struct chart_series series[] = {
	    {"sent", sent, NULL},
	    {"<img src=x onerror=alert(1)>", opens, "#E69F00"},
	};
	struct chart c = {"Daily <activity>",
			  "Events per day & type",
			  600,
			  200,
			  labels,
			  3,
			  series,
			  2,
			  0};
	struct buf b = BUF_INIT;
	const char *s;

	(void)state;
	assert_int_equal(chart_stacked_bars(&b, &c), 0);
	s = buf_str(&b);
	assert_non_null(strstr(s, "<title>Daily &lt;activity&gt;</title>"));
	assert_non_null(strstr(s, "<desc>Events per day &amp; type</desc>"));
	assert_null(strstr(s, "<script"));
	assert_null(strstr(s, "<img"));
	assert_null(strstr(s, "<b>"));
	assert_non_null(strstr(s, "&lt;img src=x onerror=alert(1)&gt;"));
	/* maximum stack 15: ticks of 5 up to 15 */
	assert_non_null(strstr(s, ">15</text>"));
	assert_null(strstr(s, ">20</text>"));
	/* three segments: zero and NAN values draw nothing */
	{
		const char *p = s;
		int rects = 0;

		while ((p = strstr(p, "<rect x=")) != NULL) {
			rects++;
			p++;
		}
		/* plus two legend swatches */
		assert_int_equal(rects, 3 + 2);
	}
	assert_non_null(strstr(s, "Jan 1 \xc2\xb7 sent: 10</title>"));
	assert_string_equal(s + strlen(s) - 6, "</svg>");
	buf_release(&b);
}

static void test_empty_chart(void **state)
{
	struct chart c = {"Nothing", "No data", 0, 0, NULL, 0, NULL, 0, 1};
	struct buf b = BUF_INIT;

	(void)state;
	assert_int_equal(chart_stacked_bars(&b, &c), 0);
	assert_non_null(strstr(buf_str(&b), ">10%</text>"));
	assert_null(strstr(buf_str(&b), "nan"));
	assert_null(strstr(buf_str(&b), "inf"));
	buf_reset(&b);
	assert_int_equal(chart_lines(&b, &c), 0);
	assert_null(strstr(buf_str(&b), "<path"));
	buf_release(&b);
}

static void test_lines_gap(void **state)
{
	static const double rate[] = {0.2, NAN, 0.3};
	const struct chart_series series[] = {{"open rate", rate, NULL}};
	struct chart c = {"Weekly", "Rates", 600, 200, labels, 3, series, 1, 1};
	struct buf b = BUF_INIT;
	const char *s, *d;

	(void)state;
	assert_int_equal(chart_lines(&b, &c), 0);
	s = buf_str(&b);
	d = strstr(s, " d=\"M");
	assert_non_null(d);
	/* the missing week breaks the line: two moves, no line-to */
	assert_non_null(strstr(d + 4, "M"));
	assert_null(strstr(d, "L"));
	assert_non_null(strstr(s, ">30%</text>"));
	assert_non_null(strstr(s, "open rate: 20.0%</title>"));
	buf_release(&b);
}

static void test_many_labels_thinned(void **state)
{
	static double v[365];
	static char text[365][12];
	const char *lab[365];
	const struct chart_series series[] = {{"sent", v, NULL}};
	struct chart c = {"Year", "Days", 720, 240, lab, 365, series, 1, 0};
	struct buf b = BUF_INIT;
	const char *p;
	int n = 0;
	size_t i;

	(void)state;
	for (i = 0; i < 365; i++) {
		v[i] = (double)i;
		snprintf(text[i], sizeof(text[i]), "2026-%03zu", i);
		lab[i] = text[i];
	}
	assert_int_equal(chart_stacked_bars(&b, &c), 0);
	for (p = buf_str(&b); (p = strstr(p, "class=\"xtick\"")); p++)
		n++;
	/* 654 px of plot for 8-character labels (53 px): at most 12 fit */
	assert_true(n >= 5 && n <= 12);
	buf_release(&b);
}

static void test_full_buffer_fails(void **state)
{
	static const double v[] = {1, 2, 3};
	const struct chart_series series[] = {{"sent", v, NULL}};
	struct chart c = {"T", "D", 0, 0, labels, 3, series, 1, 0};
	struct buf b;
	size_t max;

	(void)state;
	/* every maximum below the chart's size fails, none cuts silently */
	buf_init(&b, 1 << 20);
	assert_int_equal(chart_lines(&b, &c), 0);
	max = b.len;
	buf_release(&b);
	for (size_t m = 16; m < max; m += 97) {
		buf_init(&b, m);
		assert_int_equal(chart_lines(&b, &c), -1);
		buf_release(&b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ticks),
	    cmocka_unit_test(test_label_every),
	    cmocka_unit_test(test_format_value),
	    cmocka_unit_test(test_escape),
	    cmocka_unit_test(test_stacked_bars),
	    cmocka_unit_test(test_empty_chart),
	    cmocka_unit_test(test_lines_gap),
	    cmocka_unit_test(test_many_labels_thinned),
	    cmocka_unit_test(test_full_buffer_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
