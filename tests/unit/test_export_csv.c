/* CSV export: file name sanitizing, snake_case headers, RFC 4180 quoting
 * and formula protection (tables), then whole exports from a temporary
 * SQLite store written through write_batch, parsed back with a small
 * RFC 4180 reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "export/export_csv.h"
#include "store/sqlite.h"
#include "util/buf.h"

static void test_file_names(void **state)
{
	static const struct {
		const char *id, *name, *want;
	} cases[] = {
	    {"c1", "November Newsletter",
	     "campaign_c1_November Newsletter.csv"},
	    {"c1", "../../x", "campaign_c1__.._x.csv"},
	    {"c1", "a/b\\c", "campaign_c1_a_b_c.csv"},
	    {"c1", "line\nbreak\r\ttab", "campaign_c1_line_break__tab.csv"},
	    {"c1", "...hidden", "campaign_c1_hidden.csv"},
	    {"c1", " . .x. ", "campaign_c1_x.csv"},
	    {"c1", "", "campaign_c1_untitled.csv"},
	    {"c1", NULL, "campaign_c1_untitled.csv"},
	    {"c1", "...", "campaign_c1_untitled.csv"},
	    {"c1", "Sale \xf0\x9f\x8e\x89 now",
	     "campaign_c1_Sale \xf0\x9f\x8e\x89 now.csv"},
	    {"c1", "bad \xff\xfe utf8", "campaign_c1_bad __ utf8.csv"},
	    {"c1", "a:b*c?d\"e<f>g|h", "campaign_c1_a_b_c_d_e_f_g_h.csv"},
	    {"c1", "evil\xe2\x80\xaetxt.exe", "campaign_c1_evil_txt.exe.csv"},
	    {"../etc", "n", "campaign__etc_n.csv"},
	    {"", "n", "campaign_unknown_n.csv"},
	    {"a/b", "n", "campaign_a_b_n.csv"},
	};
	char out[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		export_file_name(out, sizeof(out), cases[i].id, cases[i].name);
		assert_string_equal(out, cases[i].want);
	}
}

static void test_file_name_bounded(void **state)
{
	char name[301], out[256], id[200];
	const char *part;
	size_t i, len;

	(void)state;
	/* 300 bytes of 2-byte characters after one ASCII byte: the cut must
	 * land on a character boundary. */
	name[0] = 'x';
	for (i = 1; i + 1 < 300; i += 2) {
		name[i] = (char)0xc3;
		name[i + 1] = (char)0xa9; /* é */
	}
	name[i] = '\0';
	memset(id, 'i', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	export_file_name(out, sizeof(out), id, name);
	len = strlen(out);
	assert_true(len < 200);
	assert_string_equal(out + len - 4, ".csv");
	part = strrchr(out, '_') + 1;
	assert_int_equal((size_t)(out + len - 4 - part), 79);
	assert_int_equal((unsigned char)out[len - 5], 0xa9);
	assert_int_equal(strncmp(out, "campaign_iiii", 13), 0);
	assert_int_equal(strchr(out, '_') - out, 8);
	assert_int_equal(strchr(out + 9, '_') - (out + 9), 80);
}

static void test_snake_case(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"FirstName", "first_name"},
	    {"LastName", "last_name"},
	    {"ZIP", "zip"},
	    {"ZIPCode", "zip_code"},
	    {"kWh", "k_wh"},
	    {"annualcost", "annualcost"},
	    {"AnnualSavings", "annual_savings"},
	    {"first_name", "first_name"},
	    {"How many pets?", "how_many_pets"},
	    {"Address2Line", "address2_line"},
	    {"  --x--  ", "x"},
	    {"", "field"},
	    {"!!!", "field"},
	    {"Straße", "stra_e"},
	    {"a\nb", "a_b"},
	};
	char out[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		export_snake_case(out, sizeof(out), cases[i].in);
		assert_string_equal(out, cases[i].want);
	}
	export_snake_case(out, 5, "FirstName");
	assert_string_equal(out, "firs");
	export_snake_case(out, 6,
			  "abc\xc3\xa9"
			  "de");
	assert_string_equal(out, "abc_d");
}

static void test_cells(void **state)
{
	static const struct {
		const char *in;
		int protect;
		const char *want;
	} cases[] = {
	    {"plain", 1, "plain"},
	    {"", 1, ""},
	    {NULL, 1, ""},
	    {"a,b", 1, "\"a,b\""},
	    {"say \"hi\"", 1, "\"say \"\"hi\"\"\""},
	    {"two\nlines", 1, "\"two\nlines\""},
	    {"cr\rx", 1, "\"cr\rx\""},
	    {"=SUM(A1:A2)", 1, "'=SUM(A1:A2)"},
	    {"+1", 1, "'+1"},
	    {"-1", 1, "'-1"},
	    {"@cmd", 1, "'@cmd"},
	    {"\tx", 1, "'\tx"},
	    {"\rx", 1, "\"'\rx\""},
	    {"=HYPERLINK(\"http://x\",\"y\")", 1,
	     "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""},
	    {"a=b", 1, "a=b"},
	    {"=1+1", 0, "=1+1"},
	    {"-1,5", 0, "\"-1,5\""},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b = BUF_INIT;

		assert_int_equal(
		    export_csv_cell(&b, cases[i].in, cases[i].protect), 0);
		assert_string_equal(buf_str(&b), cases[i].want);
		buf_release(&b);
	}
}

/* A tiny RFC 4180 reader: rows of cells, CRLF line ends required. */
struct csv {
	char *cells[64][32];
	int n_cells[64];
	int n_rows;
};

static void csv_free(struct csv *c)
{
	int r, i;

	for (r = 0; r < c->n_rows; r++)
		for (i = 0; i < c->n_cells[r]; i++)
			free(c->cells[r][i]);
	memset(c, 0, sizeof(*c));
}

static void csv_read(const char *path, struct csv *c)
{
	FILE *fp = fopen(path, "rb");
	char cell[4096];
	size_t n = 0;
	int ch, quoted = 0, at_start = 1;

	assert_non_null(fp);
	memset(c, 0, sizeof(*c));
	while ((ch = fgetc(fp)) != EOF) {
		if (quoted) {
			if (ch == '"') {
				ch = fgetc(fp);
				if (ch != '"') {
					quoted = 0;
					ungetc(ch, fp);
					continue;
				}
			}
			cell[n++] = (char)ch;
			continue;
		}
		if (ch == '"' && at_start) {
			quoted = 1;
			at_start = 0;
			continue;
		}
		if (ch == ',' || ch == '\r') {
			cell[n] = '\0';
			c->cells[c->n_rows][c->n_cells[c->n_rows]++] =
			    strdup(cell);
			n = 0;
			at_start = 1;
			if (ch == '\r') {
				assert_int_equal(fgetc(fp), '\n');
				c->n_rows++;
			}
			continue;
		}
		assert_int_not_equal(ch, '\n'); /* bare LF outside quotes */
		assert_int_not_equal(ch, '"');	/* quote inside bare cell */
		cell[n++] = (char)ch;
		at_start = 0;
	}
	assert_int_equal(n, 0); /* file ends with CRLF */
	fclose(fp);
}

struct fixture {
	char dir[64];
	char out[128];
	struct store *s;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char path[128];

	snprintf(f->dir, sizeof(f->dir), "/tmp/espsync-export-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(path, sizeof(path), "%s/t.db", f->dir);
	snprintf(f->out, sizeof(f->out), "%s/out/csv", f->dir);
	if (sqlite_store_ops.open(&f->s, path, NULL, NULL) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[200];

	store_close(f->s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static void add_participant(struct batch *b, const char *cid, const char *email,
			    unsigned flags)
{
	struct rec_participant *p = batch_add_participant(b);

	p->campaign_id = "c1";
	p->contact_id = cid;
	p->email = email;
	p->flags = flags;
}

static void add_contact(struct batch *b, const char *cid, const char *status,
			const char *fields)
{
	struct rec_contact *c = batch_add_contact(b);

	c->contact_id = cid;
	c->status = status;
	c->fields_json = fields;
}

/* The earlier tool's account: one list with its field layout, a sent
 * campaign with three participants, and a draft. */
static void seed_store(struct store *s)
{
	struct batch b;
	struct rec_campaign *c;
	struct rec_list *l;
	struct err err = ERR_INIT;
	int64_t changed;

	batch_init(&b, "emailoctopus", "default");
	c = batch_add_campaign(&b);
	c->campaign_id = "c1";
	c->name = "November Newsletter";
	c->status = "sent";
	c->sent_at = 1731664800;
	c->to_lists_json = "[\"l1\",\"l2\"]";
	c = batch_add_campaign(&b);
	c->campaign_id = "d1";
	c->status = "draft";
	l = batch_add_list(&b);
	l->list_id = "l1";
	l->fields_json =
	    "[{\"tag\":\"EmailAddress\"},{\"tag\":\"FirstName\"},"
	    "{\"tag\":\"LastName\"},{\"tag\":\"City\"},{\"tag\":\"ZIP\"},"
	    "{\"tag\":\"kWh\"},{\"tag\":\"Cell\"},{\"tag\":\"Address\"},"
	    "{\"tag\":\"annualcost\"},{\"tag\":\"AnnualSavings\"},"
	    "{\"tag\":\"MonthlyCost\"},{\"tag\":\"MonthlySaving\"},"
	    "{\"tag\":\"DailyCost\"}]";
	l = batch_add_list(&b);
	l->list_id = "l2";
	l->fields_json = "[{\"tag\":\"City\"},{\"tag\":\"Pets\"}]";
	add_participant(&b, "k1", "john@example.com", ENG_SENT | ENG_OPENED);
	add_participant(&b, "k2", "ann@example.com",
			ENG_SENT | ENG_CLICKED | ENG_UNSUBSCRIBED);
	add_participant(&b, "k3", "zed@example.com", ENG_BOUNCED);
	add_contact(
	    &b, "k1", "subscribed",
	    "{\"FirstName\":\"John\",\"LastName\":\"Doe\","
	    "\"City\":\"Columbus\",\"ZIP\":\"43215\",\"kWh\":12000,"
	    "\"Cell\":\"6145551234\",\"Address\":\"123 Main St\","
	    "\"annualcost\":\"$6,674.70\",\"AnnualSavings\":\"$2,002.41\","
	    "\"MonthlyCost\":\"$556.23\",\"MonthlySaving\":\"$166.87\","
	    "\"DailyCost\":\"$18.29\"}");
	add_contact(
	    &b, "k2", "unsubscribed",
	    "{\"firstname\":\"Ann \\\"Annie\\\"\",\"City\":\"=cmd()\","
	    "\"Pets\":[\"cat\",\"dog\",2],\"Address\":\"1 A St\\nApt 2\","
	    "\"ZIP\":null}");
	add_contact(&b, "k3", "pending", "not json");
	assert_int_equal(s->ops->write_batch(s, &b, NULL, &err), 0);
	assert_int_equal(s->ops->link_participants(s, "emailoctopus", "default",
						   &changed, &err),
			 0);
	assert_int_equal(changed, 3);
	batch_release(&b);
}

static const char *const seed_header[] = {
    "campaign_name", "campaign_sent_at",
    "email",	     "first_name",
    "last_name",     "city",
    "zip",	     "kwh",
    "cell",	     "address",
    "annual_cost",   "annual_savings",
    "monthly_cost",  "monthly_saving",
    "daily_cost",    "pets",
    "opened",	     "clicked",
    "bounced",	     "complained",
    "unsubscribed",  "status",
};

static const char *const want_rows[3][22] = {
    {"November Newsletter",
     "2024-11-15",
     "ann@example.com",
     "Ann \"Annie\"",
     "",
     "'=cmd()",
     "",
     "",
     "",
     "1 A St\nApt 2",
     "",
     "",
     "",
     "",
     "",
     "cat, dog, 2",
     "No",
     "Yes",
     "No",
     "No",
     "Yes",
     "UNSUBSCRIBED"},
    {"November Newsletter",
     "2024-11-15",
     "john@example.com",
     "John",
     "Doe",
     "Columbus",
     "43215",
     "12000",
     "6145551234",
     "123 Main St",
     "$6,674.70",
     "$2,002.41",
     "$556.23",
     "$166.87",
     "$18.29",
     "",
     "Yes",
     "No",
     "No",
     "No",
     "No",
     "SUBSCRIBED"},
    {"November Newsletter",
     "2024-11-15",
     "zed@example.com",
     "",
     "",
     "",
     "",
     "",
     "",
     "",
     "",
     "",
     "",
     "",
     "",
     "",
     "No",
     "No",
     "Yes",
     "No",
     "No",
     "PENDING"},
};

static void test_export_full(void **state)
{
	struct fixture *f = *state;
	struct export_options o = EXPORT_OPTIONS_INIT;
	struct export_result res;
	struct err err = ERR_INIT;
	struct csv csv;
	char path[256];
	int r, i;

	seed_store(f->s);
	o.dir = f->out;
	o.columns_map = "kWh=kwh, annualcost=annual_cost";
	assert_int_equal(export_csv(f->s, &o, &res, &err), 0);
	assert_int_equal(res.files, 1);
	assert_int_equal(res.rows, 3);
	snprintf(path, sizeof(path), "%s/campaign_c1_November Newsletter.csv",
		 f->out);
	csv_read(path, &csv);
	assert_int_equal(csv.n_rows, 4);
	assert_int_equal(csv.n_cells[0], 22);
	for (i = 0; i < 22; i++)
		assert_string_equal(csv.cells[0][i], seed_header[i]);
	for (r = 0; r < 3; r++) {
		assert_int_equal(csv.n_cells[r + 1], 22);
		for (i = 0; i < 22; i++)
			assert_string_equal(csv.cells[r + 1][i],
					    want_rows[r][i]);
	}
	csv_free(&csv);
}

/* Without a map, tags get their snake_case names. */
static void test_export_default_names(void **state)
{
	struct fixture *f = *state;
	struct export_options o = EXPORT_OPTIONS_INIT;
	struct err err = ERR_INIT;
	struct csv csv;
	char path[256];

	seed_store(f->s);
	o.dir = f->out;
	o.is_formula_protect = 0;
	assert_int_equal(export_csv(f->s, &o, NULL, &err), 0);
	snprintf(path, sizeof(path), "%s/campaign_c1_November Newsletter.csv",
		 f->out);
	csv_read(path, &csv);
	assert_string_equal(csv.cells[0][7], "k_wh");
	assert_string_equal(csv.cells[0][10], "annualcost");
	assert_string_equal(csv.cells[1][5], "=cmd()");
	csv_free(&csv);
}

static void test_export_atomic_and_count(void **state)
{
	struct fixture *f = *state;
	struct export_options o = EXPORT_OPTIONS_INIT;
	struct export_result res;
	struct err err = ERR_INIT;
	struct dirent *e;
	DIR *d;
	int64_t n = -1;
	int entries = 0;

	assert_int_equal(export_count_files(f->out, &n, &err), 0);
	assert_int_equal(n, 0);
	seed_store(f->s);
	o.dir = f->out;
	assert_int_equal(export_csv(f->s, &o, &res, &err), 0);
	assert_int_equal(export_csv(f->s, &o, &res, &err), 0);
	assert_int_equal(res.files, 1);
	d = opendir(f->out);
	assert_non_null(d);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' &&
		    (!e->d_name[1] || !strcmp(e->d_name, "..")))
			continue;
		assert_int_equal(strncmp(e->d_name, "campaign_", 9), 0);
		entries++;
	}
	closedir(d);
	assert_int_equal(entries, 1);
	assert_int_equal(export_count_files(f->out, &n, &err), 0);
	assert_int_equal(n, 1);
}

static void test_export_filters(void **state)
{
	struct fixture *f = *state;
	struct export_options o = EXPORT_OPTIONS_INIT;
	struct export_result res;
	struct err err = ERR_INIT;

	seed_store(f->s);
	o.dir = f->out;
	o.campaign_id = "nope";
	assert_int_equal(export_csv(f->s, &o, &res, &err), -1);
	assert_int_equal(err.kind, ERR_NOT_FOUND);
	assert_non_null(strstr(err.msg, "'nope'"));
	o.campaign_id = "d1"; /* a draft: found, nothing to write */
	assert_int_equal(export_csv(f->s, &o, &res, &err), 0);
	assert_int_equal(res.files, 0);
	o.campaign_id = "c1";
	o.provider = "activecampaign";
	assert_int_equal(export_csv(f->s, &o, &res, &err), -1);
	assert_int_equal(err.kind, ERR_NOT_FOUND);
	o.provider = "emailoctopus";
	assert_int_equal(export_csv(f->s, &o, &res, &err), 0);
	assert_int_equal(res.files, 1);
}

static void test_export_bad_config(void **state)
{
	static const char *const maps[] = {"kWh", "=x", "kWh=", "a=b,,c"};
	struct fixture *f = *state;
	struct export_options o = EXPORT_OPTIONS_INIT;
	struct err err = ERR_INIT;
	char path[200];
	size_t i;

	o.dir = f->out;
	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		o.columns_map = maps[i];
		assert_int_equal(export_csv(f->s, &o, NULL, &err), -1);
		assert_int_equal(err.kind, ERR_CONFIG);
	}
	o.columns_map = NULL;
	snprintf(path, sizeof(path), "%s/file", f->dir);
	fclose(fopen(path, "w"));
	snprintf(path, sizeof(path), "%s/file/sub", f->dir);
	o.dir = path;
	assert_int_equal(export_csv(f->s, &o, NULL, &err), -1);
	assert_int_equal(err.kind, ERR_IO);
}

/* A directory name past the path buffer's maximum (padded with '/', so
 * it names the real directory) fails the export with a clear error and
 * writes no file, instead of creating a file at a cut path. */
static void test_export_path_too_long(void **state)
{
	struct fixture *f = *state;
	struct export_options o = EXPORT_OPTIONS_INIT;
	struct err err = ERR_INIT;
	size_t len = strlen(f->out), n = BUF_DEFAULT_MAX + 1;
	char *dir = malloc(len + n + 1);
	int64_t files = -1;

	assert_non_null(dir);
	memcpy(dir, f->out, len);
	memset(dir + len, '/', n);
	dir[len + n] = '\0';
	seed_store(f->s);
	o.dir = dir;
	assert_int_equal(export_csv(f->s, &o, NULL, &err), -1);
	assert_int_equal(err.kind, ERR_IO);
	assert_non_null(strstr(err.msg, "export path too long: more than"));
	free(dir);
	assert_int_equal(export_count_files(f->out, &files, &err), 0);
	assert_int_equal(files, 0);
}

/* One account of activecampaign: campaigns "1" and "2" (ids every account
 * has), named after the account, one participant each. */
static void seed_account(struct store *s, const char *account,
			 const char *suffix)
{
	static const char *const ids[] = {"1", "2"};
	char names[2][64];
	struct batch b;
	struct err err = ERR_INIT;
	size_t i;

	batch_init(&b, "activecampaign", account);
	for (i = 0; i < 2; i++) {
		struct rec_campaign *c = batch_add_campaign(&b);
		struct rec_participant *p = batch_add_participant(&b);

		snprintf(names[i], sizeof(names[i]), "%s %s", account, suffix);
		c->campaign_id = ids[i];
		c->name = names[i];
		c->status = "sent";
		c->sent_at = 1731664800;
		p->campaign_id = ids[i];
		p->contact_id = "k1";
		p->email = "x@example.com";
		p->flags = ENG_SENT;
	}
	assert_int_equal(s->ops->write_batch(s, &b, NULL, &err), 0);
	batch_release(&b);
}

static int count_in(const char *dir)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "campaign_", 9))
			n++;
	closedir(d);
	return n;
}

/* Two accounts whose campaign ids are the same (1, 2): each exports into
 * <dir>/<provider>/<account>/, the count printed is the count on disk, a
 * rename cleans only its own account's directory, and files honour the
 * umask (issue 10). One account keeps the flat layout. */
static void test_export_accounts_apart(void **state)
{
	struct fixture *f = *state;
	struct export_options o = EXPORT_OPTIONS_INIT;
	struct export_result res;
	struct err err = ERR_INIT;
	char a[256], b[256], path[300];
	struct stat st;
	int64_t n = -1;
	mode_t old;

	o.dir = f->out;
	seed_account(f->s, "one.api-us1.com", "v1");
	assert_int_equal(export_csv(f->s, &o, &res, &err), 0);
	assert_int_equal(res.files, 2);
	assert_int_equal(count_in(f->out), 2); /* one account: flat */

	seed_account(f->s, "two.api-us1.com", "v1");
	snprintf(a, sizeof(a), "%s/activecampaign/one.api-us1.com", f->out);
	snprintf(b, sizeof(b), "%s/activecampaign/two.api-us1.com", f->out);
	old = umask(027);
	assert_int_equal(export_csv(f->s, &o, &res, &err), 0);
	umask(old);
	assert_int_equal(res.files, 4);
	assert_int_equal(count_in(a), 2);
	assert_int_equal(count_in(b), 2);
	snprintf(path, sizeof(path), "%s/campaign_1_two.api-us1.com v1.csv", b);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);

	/* account one renames its campaigns: its old files go, two's stay */
	seed_account(f->s, "one.api-us1.com", "v2");
	assert_int_equal(export_csv(f->s, &o, &res, &err), 0);
	assert_int_equal(res.files, 4);
	assert_int_equal(count_in(a), 2);
	assert_int_equal(count_in(b), 2);
	assert_int_equal(stat(path, &st), 0);
	snprintf(path, sizeof(path), "%s/campaign_2_one.api-us1.com v2.csv", a);
	assert_int_equal(stat(path, &st), 0);
	/* the two flat files of the first export, and the four */
	assert_int_equal(export_count_files(f->out, &n, &err), 0);
	assert_int_equal(n, 6);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_file_names),
	    cmocka_unit_test(test_file_name_bounded),
	    cmocka_unit_test(test_snake_case),
	    cmocka_unit_test(test_cells),
	    T(test_export_full),
	    T(test_export_default_names),
	    T(test_export_atomic_and_count),
	    T(test_export_filters),
	    T(test_export_bad_config),
	    T(test_export_path_too_long),
	    T(test_export_accounts_apart),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
