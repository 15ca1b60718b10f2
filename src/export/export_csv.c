/* CSV export in the earlier tool's layout: one file per sent campaign, read
 * through the store interface, RFC 4180 with formula-injection protection,
 * written atomically. Everything from the provider is treated as hostile:
 * it is escaped in cells and sanitized in file names. */
#include "export/export_csv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/json.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* Bytes kept of the id and of the name in a file name; the whole name stays
 * far below NAME_MAX (255). */
#define NAME_PART_MAX 80

struct colmap_item {
	const char *tag, *name;
};

/* Field tags collected over campaigns (--combined). */
struct export_tags {
	char **tags;
	size_t n;
};

struct export_ctx {
	struct store *s;
	const struct export_options *opts;
	struct err *err;
	struct export_result res;
	int is_found;
	char *map_text; /* owned copy of columns_map, cut into items */
	struct colmap_item *map;
	size_t n_map;
	/* Per campaign. */
	char **tags;
	size_t n_tags;
	const char *campaign_name;
	char sent_date[11];
	FILE *fp;
	struct buf line;
	int64_t rows;
	/* --combined: every row starts with its campaign id and provider. */
	int is_combined;
	const char *row_campaign_id, *row_provider;
	struct export_tags *all;
	/* The store holds several provider accounts: each exports into
	 * dir/<provider>/<account>/. */
	int is_nested;
	struct buf acct_dir; /* the directory of the current campaign */
	char *acct_provider, *acct_account; /* whose acct_dir it is */
	mode_t file_mode;		    /* 0666 less the umask */
	/* Files written by this export and their rows, so that a file
	 * written twice (two ids with one safe form) counts once. */
	struct written *written;
	size_t n_written;
};

struct written {
	char *path;
	int64_t rows;
};

int export_csv_cell(struct buf *out, const char *value, int is_formula_protect)
{
	const char *p;
	int rc = 0;

	if (!value || !*value)
		return 0;
	if (!strpbrk(value, ",\"\r\n")) {
		if (is_formula_protect && strchr("=+-@\t\r", value[0]))
			rc |= buf_putc(out, '\'');
		return rc | buf_puts(out, value);
	}
	rc |= buf_putc(out, '"');
	if (is_formula_protect && strchr("=+-@\t\r", value[0]))
		rc |= buf_putc(out, '\'');
	for (p = value; *p; p++) {
		if (*p == '"')
			rc |= buf_putc(out, '"');
		rc |= buf_putc(out, *p);
	}
	return rc | buf_putc(out, '"');
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when invalid
 * (overlong, surrogate, above U+10FFFF, truncated). *cp gets the code point. */
static size_t utf8_seq(const unsigned char *s, uint32_t *cp)
{
	size_t n, i;
	uint32_t c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, c = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	*cp = c;
	return n;
}

/* Characters that must not reach a file name: separators, characters other
 * systems reject, C0/C1 controls, and bidirectional overrides that make a
 * name display as something else. */
static int is_unsafe(uint32_t c)
{
	return c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f) ||
	       (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) ||
	       (c < 0x80 && strchr("/\\:*?\"<>|", (int)c));
}

/* Writes a safe form of in (NULL: empty) to out, at most max bytes cut at a
 * character boundary, without leading dots or blanks or trailing dots or
 * blanks; fallback when nothing is left. out holds max + 1 bytes. */
static void safe_part(char *out, size_t max, const char *in,
		      const char *fallback)
{
	const unsigned char *s = (const unsigned char *)(in ? in : "");
	size_t o = 0, n;
	uint32_t c;

	while (*s) {
		n = utf8_seq(s, &c);
		if (n == 0 || is_unsafe(c)) {
			n = n ? n : 1;
			if (o + 1 > max)
				break;
			out[o++] = '_';
		} else {
			if (o == 0 && (c == '.' || c == ' ')) {
				s += n;
				continue;
			}
			if (o + n > max)
				break;
			memcpy(out + o, s, n);
			o += n;
		}
		s += n;
	}
	while (o > 0 && (out[o - 1] == '.' || out[o - 1] == ' '))
		o--;
	out[o] = '\0';
	if (o == 0)
		snprintf(out, max + 1, "%s", fallback);
}

void export_file_name(char *out, size_t size, const char *campaign_id,
		      const char *name)
{
	char id_part[NAME_PART_MAX + 1], name_part[NAME_PART_MAX + 1];

	safe_part(id_part, NAME_PART_MAX, campaign_id, "unknown");
	safe_part(name_part, NAME_PART_MAX, name, "untitled");
	snprintf(out, size, "campaign_%s_%s.csv", id_part, name_part);
}

static int is_upper(int c)
{
	return c >= 'A' && c <= 'Z';
}

static int is_lower_or_digit(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* Word breaks at lower->Upper ("FirstName"), at the last capital of an
 * acronym before a lowercase letter ("ZIPCode"), and at anything that is
 * not an ASCII letter or digit, so headers stay [a-z0-9_] for any tool that
 * imports them (columns_map names other tags). */
void export_snake_case(char *out, size_t size, const char *tag)
{
	const unsigned char *s = (const unsigned char *)(tag ? tag : "");
	size_t o = 0, i, n;
	uint32_t cp;
	int prev = 0; /* 0: start or break, 1: lower/digit/other, 2: upper */

	if (size == 0)
		return;
	for (i = 0; s[i] && o + 1 < size; i += n) {
		int c = s[i];

		n = c >= 0x80 ? utf8_seq(s + i, &cp) : 1;
		if (is_upper(c)) {
			int is_break =
			    o > 0 && out[o - 1] != '_' &&
			    (prev == 1 ||
			     (prev == 2 && s[i + 1] >= 'a' && s[i + 1] <= 'z'));

			if (is_break && o + 2 >= size)
				break;
			if (is_break)
				out[o++] = '_';
			out[o++] = (char)(c - 'A' + 'a');
			prev = 2;
		} else if (is_lower_or_digit(c)) {
			out[o++] = (char)c;
			prev = 1;
		} else {
			n = n ? n : 1;
			if (o > 0 && out[o - 1] != '_')
				out[o++] = '_';
			prev = 0;
		}
	}
	while (o > 0 && out[o - 1] == '_')
		o--;
	out[o] = '\0';
	if (o == 0)
		snprintf(out, size, "field");
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

/* "Tag=name,Tag2=name2" into ctx->map (pointing into ctx->map_text). */
static int parse_columns_map(struct export_ctx *x, const char *spec)
{
	const char *cp;
	char *p, *item, *eq;
	size_t cap = 1;

	if (!spec)
		return 0;
	for (cp = spec; *cp; cp++)
		cap += *cp == ',';
	x->map = xcalloc(cap, sizeof(*x->map));
	x->map_text = xstrdup(spec);
	for (item = x->map_text; item; item = p) {
		p = strchr(item, ',');
		if (p)
			*p++ = '\0';
		if (!*trim(item))
			continue;
		eq = strchr(item, '=');
		if (eq)
			*eq = '\0';
		if (!eq || !*trim(item) || !*trim(eq + 1))
			return err_set(x->err, ERR_CONFIG, 0,
				       "bad columns map item '%s': expected "
				       "Tag=column",
				       trim(item));
		x->map[x->n_map].tag = trim(item);
		x->map[x->n_map].name = trim(eq + 1);
		x->n_map++;
	}
	return 0;
}

static void free_tags(struct export_ctx *x)
{
	size_t i;

	for (i = 0; i < x->n_tags; i++)
		free(x->tags[i]);
	free(x->tags);
	x->tags = NULL;
	x->n_tags = 0;
}

/* The campaign's field tags, minus the email address that has its own
 * column. */
static int load_tags(struct export_ctx *x, const char *provider,
		     const char *account, const char *campaign_id)
{
	struct buf fields = BUF_INIT;
	struct json_doc *doc = NULL;
	const struct json *root;
	char snake[128];
	size_t i, n;
	int ret = -1;

	if (x->s->ops->campaign_fields(x->s, provider, account, campaign_id,
				       &fields, x->err) < 0)
		goto done;
	if (json_parse(&doc, buf_str(&fields), fields.len, x->err) < 0) {
		err_prefix(x->err, "fields of campaign '%s'", campaign_id);
		goto done;
	}
	root = json_root(doc);
	n = json_len(root);
	x->tags = xcalloc(n ? n : 1, sizeof(*x->tags));
	for (i = 0; i < n; i++) {
		const char *tag = json_str(json_at(root, i));

		if (!tag)
			continue;
		export_snake_case(snake, sizeof(snake), tag);
		if (!strcmp(snake, "email_address"))
			continue;
		x->tags[x->n_tags++] = xstrdup(tag);
	}
	ret = 0;
done:
	json_doc_free(doc);
	buf_release(&fields);
	return ret;
}

static int put_cell(struct export_ctx *x, const char *v, int is_first)
{
	return (is_first ? 0 : buf_putc(&x->line, ',')) |
	       export_csv_cell(&x->line, v, x->opts->is_formula_protect);
}

static int write_header(struct export_ctx *x)
{
	static const char *const tail[] = {"opened",	   "clicked",
					   "bounced",	   "complained",
					   "unsubscribed", "status"};
	char snake[128];
	size_t i, k;
	int rc = 0;

	buf_reset(&x->line);
	if (x->is_combined) {
		rc |= put_cell(x, "campaign_id", 1);
		rc |= put_cell(x, "provider", 0);
	}
	rc |= put_cell(x, "campaign_name", !x->is_combined);
	rc |= put_cell(x, "campaign_sent_at", 0);
	rc |= put_cell(x, "email", 0);
	for (i = 0; i < x->n_tags; i++) {
		const char *name = NULL;

		for (k = 0; k < x->n_map && !name; k++)
			if (!strcasecmp(x->map[k].tag, x->tags[i]))
				name = x->map[k].name;
		if (!name) {
			export_snake_case(snake, sizeof(snake), x->tags[i]);
			name = snake;
		}
		rc |= put_cell(x, name, 0);
	}
	for (i = 0; i < sizeof(tail) / sizeof(tail[0]); i++)
		rc |= put_cell(x, tail[i], 0);
	rc |= buf_puts(&x->line, "\r\n");
	if (rc == 0 &&
	    fwrite(x->line.data, 1, x->line.len, x->fp) != x->line.len)
		rc = -1;
	return rc;
}

/* A field value as text: strings as they are, integers as digits, arrays
 * joined with ", ", anything else as compact JSON; missing/null empty. */
static int put_value(struct buf *out, const struct json *v, int depth)
{
	int64_t n;
	size_t i;
	int rc = 0;

	switch (json_type(v)) {
	case JSON_MISSING:
	case JSON_NULL:
		return 0;
	case JSON_STRING:
		return buf_puts(out, json_str(v));
	case JSON_NUMBER:
		if (json_int(v, &n) == 0)
			return buf_printf(out, "%" PRId64, n);
		return json_write(out, v);
	case JSON_ARRAY:
		if (depth > 0)
			return json_write(out, v);
		for (i = 0; i < json_len(v); i++) {
			if (i)
				rc |= buf_puts(out, ", ");
			rc |= put_value(out, json_at(v, i), depth + 1);
		}
		return rc;
	default:
		return json_write(out, v);
	}
}

/* Member by exact key, else by case-insensitive key. */
static const struct json *find_field(const struct json *obj, const char *tag)
{
	const struct json *v = json_get(obj, tag);
	size_t i;

	for (i = 0; !v && i < json_len(obj); i++) {
		const struct json *m = json_at(obj, i);
		const char *key = json_key(m);

		if (key && !strcasecmp(key, tag))
			v = m;
	}
	return v;
}

static int on_participant(void *ctx, const struct export_row *row)
{
	static const unsigned flags[] = {ENG_OPENED, ENG_CLICKED, ENG_BOUNCED,
					 ENG_COMPLAINED, ENG_UNSUBSCRIBED};
	struct export_ctx *x = ctx;
	struct json_doc *doc = NULL;
	struct buf cell = BUF_INIT;
	const struct json *root = NULL;
	size_t i;
	int rc = 0;

	if (row->fields_json && json_parse(&doc, row->fields_json,
					   strlen(row->fields_json), NULL) == 0)
		root = json_root(doc);
	buf_reset(&x->line);
	if (x->is_combined) {
		rc |= put_cell(x, x->row_campaign_id, 1);
		rc |= put_cell(x, x->row_provider, 0);
	}
	rc |= put_cell(x, x->campaign_name, !x->is_combined);
	rc |= put_cell(x, x->sent_date, 0);
	rc |= put_cell(x, row->email, 0);
	for (i = 0; i < x->n_tags; i++) {
		buf_reset(&cell);
		rc |= put_value(&cell, find_field(root, x->tags[i]), 0);
		rc |= put_cell(x, buf_str(&cell), 0);
	}
	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		rc |= put_cell(x, row->flags & flags[i] ? "Yes" : "No", 0);
	buf_reset(&cell);
	for (i = 0; row->status && row->status[i]; i++) {
		char c = row->status[i];

		rc |= buf_putc(&cell, c >= 'a' && c <= 'z' ? c - 32 : c);
	}
	rc |= put_cell(x, buf_str(&cell), 0);
	rc |= buf_puts(&x->line, "\r\n");
	json_doc_free(doc);
	buf_release(&cell);
	if (rc)
		return err_set(x->err, ERR_RUNTIME, 0,
			       "row of '%s' is too large", row->email);
	if (fwrite(x->line.data, 1, x->line.len, x->fp) != x->line.len)
		return err_set(x->err, ERR_IO, errno, "cannot write csv: %s",
			       strerror(errno));
	x->rows++;
	return 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	int rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	/* Some file systems cannot sync a directory; the rename stands. */
	if (rc < 0 && (errno == EINVAL || errno == ENOTSUP))
		rc = 0;
	close(fd);
	return rc;
}

static int make_dirs(const char *dir);

/* acct_dir for the campaigns of provider/account: the export directory,
 * or its <provider>/<account>/ (names made safe) when the store holds
 * several accounts; created when missing. */
static int enter_account(struct export_ctx *x, const char *provider,
			 const char *account)
{
	char p[NAME_PART_MAX + 1], a[NAME_PART_MAX + 1];

	if (x->acct_dir.len &&
	    (!x->is_nested || (!strcmp(x->acct_provider, provider) &&
			       !strcmp(x->acct_account, account))))
		return 0;
	buf_reset(&x->acct_dir);
	free(x->acct_provider);
	free(x->acct_account);
	x->acct_provider = xstrdup(provider ? provider : "");
	x->acct_account = xstrdup(account ? account : "");
	if (!x->is_nested) {
		if (buf_puts(&x->acct_dir, x->opts->dir) < 0)
			goto too_long;
		return 0;
	}
	safe_part(p, NAME_PART_MAX, provider, "unknown");
	safe_part(a, NAME_PART_MAX, account, "default");
	if (buf_printf(&x->acct_dir, "%s/%s/%s", x->opts->dir, p, a) < 0)
		goto too_long;
	if (make_dirs(buf_str(&x->acct_dir)) < 0) {
		err_set(x->err, ERR_IO, errno,
			"cannot create export directory '%s': %s",
			buf_str(&x->acct_dir), strerror(errno));
		buf_reset(&x->acct_dir);
		return -1;
	}
	return 0;
too_long:
	buf_reset(&x->acct_dir);
	return err_set(x->err, ERR_IO, 0,
		       "export path too long: more than %zu bytes",
		       x->acct_dir.max);
}

/* Removes the files an earlier export wrote for the same campaign under
 * another name (the campaign was renamed upstream), so the directory holds
 * one file per campaign. Only ids made of letters, digits and dashes are
 * handled: with an underscore in the id, "campaign_<id>_" could also be the
 * start of another campaign's file. A file that cannot be removed is left;
 * the export itself has succeeded. */
static void remove_renamed(const char *dir, const char *campaign_id,
			   const char *keep)
{
	struct buf prefix = BUF_INIT;
	const char *p;
	struct dirent *e;
	DIR *d;

	if (!campaign_id || !*campaign_id)
		return;
	for (p = campaign_id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-'))
			return;
	d = opendir(dir);
	if (!d)
		return;
	/* Without the whole prefix, every file would look renamed. */
	if (buf_printf(&prefix, "campaign_%s_", campaign_id) < 0)
		goto done;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);

		if (len > prefix.len + 4 &&
		    !strncmp(e->d_name, prefix.data, prefix.len) &&
		    !strcmp(e->d_name + len - 4, ".csv") &&
		    strcmp(e->d_name, keep) != 0)
			(void)unlinkat(dirfd(d), e->d_name, 0);
	}
done:
	closedir(d);
	buf_release(&prefix);
}

/* Counts a file written: a path written before in this export replaces
 * its rows instead of adding a file, so the count is what is on disk. */
static void count_written(struct export_ctx *x, const char *path)
{
	size_t i;

	for (i = 0; i < x->n_written; i++) {
		if (!strcmp(x->written[i].path, path)) {
			x->res.rows += x->rows - x->written[i].rows;
			x->written[i].rows = x->rows;
			return;
		}
	}
	x->written =
	    xrealloc(x->written, (x->n_written + 1) * sizeof(*x->written));
	x->written[x->n_written].path = xstrdup(path);
	x->written[x->n_written].rows = x->rows;
	x->n_written++;
	x->res.files++;
	x->res.rows += x->rows;
}

/* Writes one campaign's file: temp file in the same directory, fsync,
 * rename over the final name, fsync the directory. */
static int write_campaign(struct export_ctx *x, const char *provider,
			  const char *account, const struct rec_campaign *c)
{
	struct buf path = BUF_INIT, tmp = BUF_INIT;
	char fname[256];
	int fd = -1, ret = -1, is_tmp = 0;

	const char *dir = buf_str(&x->acct_dir);

	export_file_name(fname, sizeof(fname), c->campaign_id, c->name);
	if (buf_printf(&path, "%s/%s", dir, fname) < 0 ||
	    buf_printf(&tmp, "%s/.%s.XXXXXX", dir, fname) < 0) {
		err_set(x->err, ERR_IO, 0,
			"export path too long: more than %zu bytes", path.max);
		goto done;
	}
	fd = mkstemp(tmp.data);
	is_tmp = fd >= 0;
	if (fd < 0 || fchmod(fd, x->file_mode) < 0 ||
	    !(x->fp = fdopen(fd, "w"))) {
		err_set(x->err, ERR_IO, errno, "cannot create '%s': %s",
			buf_str(&path), strerror(errno));
		goto done;
	}
	fd = -1;
	x->campaign_name = c->name;
	time_format_date(c->sent_at, x->sent_date);
	x->rows = 0;
	if (write_header(x) < 0) {
		err_set(x->err, ERR_IO, errno, "cannot write '%s': %s",
			buf_str(&path), strerror(errno));
		goto done;
	}
	if (x->s->ops->each_participant(x->s, provider, account, c->campaign_id,
					on_participant, x, x->err) != 0)
		goto done;
	if (fflush(x->fp) != 0 || fsync(fileno(x->fp)) < 0) {
		err_set(x->err, ERR_IO, errno, "cannot write '%s': %s",
			buf_str(&path), strerror(errno));
		goto done;
	}
	if (fclose(x->fp) != 0) {
		x->fp = NULL;
		err_set(x->err, ERR_IO, errno, "cannot write '%s': %s",
			buf_str(&path), strerror(errno));
		goto done;
	}
	x->fp = NULL;
	if (rename(tmp.data, path.data) < 0) {
		err_set(x->err, ERR_IO, errno, "cannot write '%s': %s",
			buf_str(&path), strerror(errno));
		goto done;
	}
	is_tmp = 0;
	remove_renamed(dir, c->campaign_id, fname);
	if (fsync_dir(dir) < 0) {
		err_set(x->err, ERR_IO, errno, "cannot write '%s': %s",
			buf_str(&path), strerror(errno));
		goto done;
	}
	count_written(x, buf_str(&path));
	ret = 0;
done:
	if (x->fp)
		fclose(x->fp);
	x->fp = NULL;
	if (fd >= 0)
		close(fd);
	if (ret < 0 && is_tmp)
		unlink(tmp.data);
	buf_release(&path);
	buf_release(&tmp);
	return ret;
}

/* Only campaigns with reports are exported: drafts have none, even with a
 * sent_at (EmailOctopus's examples show one). */
static int has_report(const struct rec_campaign *c)
{
	return c->sent_at != TIME_NULL &&
	       !(c->status && !strcmp(c->status, "draft"));
}

/* The files hold email addresses: the user's umask decides who may read
 * them (mkstemp alone would make them 0600). */
static mode_t user_file_mode(void)
{
	mode_t mask = umask(077);

	umask(mask);
	return 0666 & ~mask;
}

static int on_campaign(void *ctx, const char *provider, const char *account,
		       const struct rec_campaign *c)
{
	struct export_ctx *x = ctx;
	int ret;

	x->is_found = 1;
	if (!has_report(c))
		return 0;
	ret = enter_account(x, provider, account);
	if (ret == 0)
		ret = load_tags(x, provider, account, c->campaign_id);
	if (ret == 0)
		ret = write_campaign(x, provider, account, c);
	free_tags(x);
	return ret;
}

/* mkdir -p. */
static int make_dirs(const char *dir)
{
	char *p = xstrdup(dir);
	char *q;
	int ret = 0;

	for (q = p + 1; ret == 0; q++) {
		if (*q != '/' && *q != '\0')
			continue;
		if (q[-1] != '/') {
			char saved = *q;

			*q = '\0';
			if (mkdir(p, 0777) < 0 && errno != EEXIST)
				ret = -1;
			*q = saved;
		}
		if (*q == '\0')
			break;
	}
	free(p);
	return ret;
}

struct account_count {
	char *provider, *account; /* the last pair seen */
	int n;
};

/* Campaigns come ordered by (provider, account): counts the pairs, and
 * stops at the second. */
static int count_account(void *ctx, const char *provider, const char *account,
			 const struct rec_campaign *c)
{
	struct account_count *ac = ctx;

	(void)c;
	if (ac->n && !strcmp(ac->provider, provider ? provider : "") &&
	    !strcmp(ac->account, account ? account : ""))
		return 0;
	free(ac->provider);
	free(ac->account);
	ac->provider = xstrdup(provider ? provider : "");
	ac->account = xstrdup(account ? account : "");
	return ++ac->n > 1;
}

/* Whether the store holds campaigns of more than one provider account
 * (whatever opts->provider selects): then every account has a directory,
 * else the earlier tool's flat layout stays. */
static int has_several_accounts(struct store *s, int *out, struct err *err)
{
	struct account_count ac = {NULL, NULL, 0};
	int rc = s->ops->each_campaign(s, NULL, NULL, count_account, &ac, err);

	free(ac.provider);
	free(ac.account);
	*out = ac.n > 1;
	return rc < 0 ? -1 : 0;
}

int export_csv(struct store *s, const struct export_options *opts,
	       struct export_result *out, struct err *err)
{
	struct export_ctx x;
	size_t i;
	int ret = -1;

	memset(&x, 0, sizeof(x));
	x.s = s;
	x.opts = opts;
	x.err = err;
	buf_init(&x.line, 0);
	buf_init(&x.acct_dir, 0);
	x.file_mode = user_file_mode();
	if (parse_columns_map(&x, opts->columns_map) < 0)
		goto done;
	if (!opts->dir || !*opts->dir) {
		err_set(err, ERR_CONFIG, 0, "no export directory given");
		goto done;
	}
	if (make_dirs(opts->dir) < 0) {
		err_set(err, ERR_IO, errno,
			"cannot create export directory '%s': %s", opts->dir,
			strerror(errno));
		goto done;
	}
	if (has_several_accounts(s, &x.is_nested, err) < 0)
		goto done;
	if (s->ops->each_campaign(s, opts->provider, opts->campaign_id,
				  on_campaign, &x, err) != 0)
		goto done;
	if (opts->campaign_id && !x.is_found) {
		err_set(err, ERR_NOT_FOUND, 0,
			"campaign '%s' is not in the store; sync it first",
			opts->campaign_id);
		goto done;
	}
	ret = 0;
done:
	if (out)
		*out = x.res;
	free_tags(&x);
	free(x.map);
	free(x.map_text);
	buf_release(&x.line);
	buf_release(&x.acct_dir);
	free(x.acct_provider);
	free(x.acct_account);
	for (i = 0; i < x.n_written; i++)
		free(x.written[i].path);
	free(x.written);
	return ret;
}

/* campaign_*.csv files in dir, and depth levels of directories below it
 * (dir/<provider>/<account>/). */
static int count_files(const char *dir, int depth, int64_t *n, struct err *err)
{
	struct buf sub = BUF_INIT;
	struct dirent *e;
	DIR *d = opendir(dir);
	int ret = 0;

	if (!d) {
		if (errno == ENOENT || (depth < 2 && errno == ENOTDIR))
			return 0;
		return err_set(err, ERR_IO, errno, "cannot read '%s': %s", dir,
			       strerror(errno));
	}
	while (ret == 0 && (e = readdir(d))) {
		size_t len = strlen(e->d_name);
		struct stat st;

		if (len > 13 && !strncmp(e->d_name, "campaign_", 9) &&
		    !strcmp(e->d_name + len - 4, ".csv")) {
			(*n)++;
			continue;
		}
		if (!depth || e->d_name[0] == '.')
			continue;
		buf_reset(&sub);
		if (buf_printf(&sub, "%s/%s", dir, e->d_name) < 0 ||
		    lstat(buf_str(&sub), &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		ret = count_files(buf_str(&sub), depth - 1, n, err);
	}
	closedir(d);
	buf_release(&sub);
	return ret;
}

/* --combined, first pass: the field tags of every sent campaign, in order
 * of first appearance (case-insensitively once), into all. */
static int on_campaign_tags(void *ctx, const char *provider,
			    const char *account, const struct rec_campaign *c)
{
	struct export_ctx *x = ctx;
	struct export_tags *all = x->all;
	size_t i, k;
	int ret = 0;

	if (!has_report(c))
		return 0;
	if (load_tags(x, provider, account, c->campaign_id) < 0) {
		ret = -1;
		goto done;
	}
	for (i = 0; i < x->n_tags; i++) {
		for (k = 0; k < all->n; k++)
			if (!strcasecmp(all->tags[k], x->tags[i]))
				break;
		if (k < all->n)
			continue;
		all->tags = xrealloc(all->tags, (all->n + 1) * sizeof(char *));
		all->tags[all->n++] = xstrdup(x->tags[i]);
	}
done:
	free_tags(x);
	return ret;
}

/* --combined, second pass: every sent campaign's participants. */
static int on_campaign_rows(void *ctx, const char *provider,
			    const char *account, const struct rec_campaign *c)
{
	struct export_ctx *x = ctx;

	if (!has_report(c))
		return 0;
	x->campaign_name = c->name;
	time_format_date(c->sent_at, x->sent_date);
	x->row_provider = provider;
	x->row_campaign_id = c->campaign_id;
	x->res.files = 1;
	return x->s->ops->each_participant(
	    x->s, provider, account, c->campaign_id, on_participant, x, x->err);
}

static int write_combined(struct export_ctx *x, const char *path)
{
	struct buf tmp = BUF_INIT;
	int fd = -1, ret = -1, is_tmp = 0;

	if (buf_printf(&tmp, "%s.XXXXXX", path) < 0) {
		err_set(x->err, ERR_IO, 0,
			"export path too long: more than %zu bytes", tmp.max);
		goto done;
	}
	fd = mkstemp(tmp.data);
	is_tmp = fd >= 0;
	if (fd < 0 || fchmod(fd, x->file_mode) < 0 ||
	    !(x->fp = fdopen(fd, "w"))) {
		err_set(x->err, ERR_IO, errno, "cannot create '%s': %s", path,
			strerror(errno));
		goto done;
	}
	fd = -1;
	x->rows = 0;
	if (write_header(x) < 0) {
		err_set(x->err, ERR_IO, errno, "cannot write '%s': %s", path,
			strerror(errno));
		goto done;
	}
	if (x->s->ops->each_campaign(x->s, x->opts->provider,
				     x->opts->campaign_id, on_campaign_rows, x,
				     x->err) != 0)
		goto done;
	if (fflush(x->fp) != 0 || fsync(fileno(x->fp)) < 0 ||
	    fclose(x->fp) != 0) {
		err_set(x->err, ERR_IO, errno, "cannot write '%s': %s", path,
			strerror(errno));
		x->fp = NULL;
		goto done;
	}
	x->fp = NULL;
	if (rename(tmp.data, path) < 0) {
		err_set(x->err, ERR_IO, errno, "cannot write '%s': %s", path,
			strerror(errno));
		goto done;
	}
	is_tmp = 0;
	x->res.rows = x->rows;
	ret = 0;
done:
	if (x->fp)
		fclose(x->fp);
	x->fp = NULL;
	if (fd >= 0)
		close(fd);
	if (is_tmp)
		unlink(tmp.data);
	buf_release(&tmp);
	return ret;
}

int export_csv_combined(struct store *s, const struct export_options *opts,
			const char *path, struct export_result *out,
			struct err *err)
{
	struct export_tags all = {NULL, 0};
	struct export_ctx x;
	size_t i;
	int ret = -1;

	memset(&x, 0, sizeof(x));
	x.s = s;
	x.opts = opts;
	x.err = err;
	x.is_combined = 1;
	x.all = &all;
	x.file_mode = user_file_mode();
	buf_init(&x.line, 0);
	if (parse_columns_map(&x, opts->columns_map) < 0)
		goto done;
	if (s->ops->each_campaign(s, opts->provider, opts->campaign_id,
				  on_campaign_tags, &x, err) != 0)
		goto done;
	/* the union is the file's one header */
	x.tags = all.tags;
	x.n_tags = all.n;
	all.tags = NULL;
	if (write_combined(&x, path) < 0)
		goto done;
	ret = 0;
done:
	if (out)
		*out = x.res;
	free_tags(&x);
	for (i = 0; all.tags && i < all.n; i++)
		free(all.tags[i]);
	free(all.tags);
	free(x.map);
	free(x.map_text);
	buf_release(&x.line);
	return ret;
}

int export_count_files(const char *dir, int64_t *out, struct err *err)
{
	int64_t n = 0;
	int ret = count_files(dir, 2, &n, err);

	*out = ret < 0 ? 0 : n;
	return ret;
}
