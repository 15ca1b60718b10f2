/* Reads .env files. Every byte is checked: a line either parses exactly or
 * the whole file is rejected with its line number, so a typo never turns
 * into a silently wrong setting. */
#include "config/envfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/xalloc.h"
#include "util/banned.h"

void env_file_init(struct env_file *f)
{
	memset(f, 0, sizeof(*f));
}

void env_file_release(struct env_file *f)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		free(f->entries[i].key);
		free(f->entries[i].value);
	}
	free(f->entries);
	free(f->name);
	env_file_init(f);
}

const struct env_entry *env_file_get(const struct env_file *f, const char *key)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (!strcmp(f->entries[i].key, key))
			return &f->entries[i];
	return NULL;
}

/* The value buffer holds at most one line (a value is never longer than its
 * line), so this is a limit a caller can see rather than a cut value. */
#define VALUE_TOO_LONG "value too long"

/* Adds or replaces key; -1 when the file holds too many keys. */
static int put(struct env_file *f, const char *key, size_t key_len,
	       struct buf *value, int line)
{
	struct env_entry *e;
	size_t i;

	for (i = 0; i < f->n; i++) {
		e = &f->entries[i];
		if (strlen(e->key) == key_len &&
		    !memcmp(e->key, key, key_len)) {
			free(e->value);
			e->value = xstrdup(buf_str(value));
			e->prev_line = e->line;
			e->line = line;
			return 0;
		}
	}
	if (f->n == ENV_MAX_ENTRIES)
		return -1;
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 16;
		f->entries = xrealloc(f->entries, f->cap * sizeof(*f->entries));
	}
	e = &f->entries[f->n++];
	e->key = xstrndup(key, key_len);
	e->value = xstrdup(buf_str(value));
	e->line = line;
	e->prev_line = 0;
	return 0;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int is_key_start(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static int is_key_char(char c)
{
	return is_key_start(c) || (c >= '0' && c <= '9');
}

/* Control bytes other than TAB have no place in a value written on one
 * line; DEL included. */
static int is_bad_byte(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

/* Only blanks or a comment may follow a closing quote. */
static const char *after_quote(const char *p, const char *end)
{
	while (p < end && is_blank(*p))
		p++;
	if (p < end && *p != '#')
		return "unexpected text after the closing quote";
	return NULL;
}

/* The byte an escape in a double-quoted value stands for; 0 if unknown. */
static char unescape(char c)
{
	switch (c) {
	case 'n':
		return '\n';
	case 't':
		return '\t';
	case 'r':
		return '\r';
	case '"':
	case '\\':
		return c;
	default:
		return 0;
	}
}

static const char *parse_double(const char *p, const char *end, struct buf *out)
{
	for (; p < end; p++) {
		char c = *p;

		if (c == '"')
			return after_quote(p + 1, end);
		if (is_bad_byte((unsigned char)c))
			return "control character in value";
		if (c == '\\') {
			if (++p == end)
				break;
			c = unescape(*p);
			if (!c)
				return "unknown escape in double-quoted value "
				       "(use \\\\ for a backslash)";
		}
		if (buf_putc(out, c) < 0)
			return VALUE_TOO_LONG;
	}
	return "unterminated double-quoted value (values are one line)";
}

static const char *parse_single(const char *p, const char *end, struct buf *out)
{
	for (; p < end; p++) {
		if (*p == '\'')
			return after_quote(p + 1, end);
		if (is_bad_byte((unsigned char)*p))
			return "control character in value";
		if (buf_putc(out, *p) < 0)
			return VALUE_TOO_LONG;
	}
	return "unterminated single-quoted value (values are one line)";
}

/* Unquoted: up to an inline comment (a # after a blank), blanks trimmed. */
static const char *parse_bare(const char *p, const char *end, struct buf *out)
{
	const char *q, *stop = end;

	for (q = p; q < end; q++) {
		if (is_bad_byte((unsigned char)*q))
			return "control character in value";
		if (*q == '#' && q > p && is_blank(q[-1])) {
			stop = q;
			break;
		}
	}
	while (stop > p && is_blank(stop[-1]))
		stop--;
	return buf_append(out, p, (size_t)(stop - p)) < 0 ? VALUE_TOO_LONG
							  : NULL;
}

/* One line without its newline. *key_len = 0 for blank and comment lines. */
static const char *parse_line(const char *p, const char *end, const char **key,
			      size_t *key_len, struct buf *value)
{
	const char *k;

	*key_len = 0;
	if (memchr(p, '\0', (size_t)(end - p)))
		return "nul byte";
	while (p < end && is_blank(*p))
		p++;
	if (p == end || *p == '#')
		return NULL;
	if (end - p > 7 && !memcmp(p, "export", 6) && is_blank(p[6])) {
		p += 7;
		while (p < end && is_blank(*p))
			p++;
	}
	if (p == end || !is_key_start(*p))
		return "expected KEY=VALUE with KEY made of letters, digits "
		       "and _";
	for (k = p; p < end && is_key_char(*p); p++)
		;
	*key = k;
	*key_len = (size_t)(p - k);
	while (p < end && is_blank(*p))
		p++;
	if (p == end || *p != '=') {
		*key_len = 0;
		return "expected '=' after the key";
	}
	k = ++p;
	while (p < end && is_blank(*p))
		p++;
	/* "KEY= # comment" is an empty value, as in shells */
	if (p > k && p < end && *p == '#')
		return NULL;
	if (p < end && *p == '"')
		return parse_double(p + 1, end, value);
	if (p < end && *p == '\'')
		return parse_single(p + 1, end, value);
	return parse_bare(p, end, value);
}

int env_file_parse(struct env_file *f, const char *name, const char *text,
		   size_t len, struct err *err)
{
	struct buf value;
	const char *p = text, *end = text + len;
	int line = 0, rc = -1;

	buf_init(&value, ENV_LINE_MAX_BYTES);
	free(f->name);
	f->name = xstrdup(name);
	if (len > ENV_FILE_MAX_BYTES) {
		err_set(err, ERR_CONFIG, 0,
			"cannot read '%s': larger than %zu bytes", name,
			ENV_FILE_MAX_BYTES);
		goto done;
	}
	if (len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
		p += 3;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		const char *key = NULL, *why;
		size_t key_len = 0;

		line++;
		if (eol > p && eol[-1] == '\r')
			eol--;
		if ((size_t)(eol - p) > ENV_LINE_MAX_BYTES) {
			err_set(err, ERR_CONFIG, line,
				"invalid line %d in '%s': longer than %zu "
				"bytes",
				line, name, ENV_LINE_MAX_BYTES);
			goto done;
		}
		buf_reset(&value);
		why = parse_line(p, eol, &key, &key_len, &value);
		if (why) {
			err_set(err, ERR_CONFIG, line,
				"invalid line %d in '%s': %s", line, name, why);
			goto done;
		}
		if (key_len && put(f, key, key_len, &value, line) < 0) {
			err_set(err, ERR_CONFIG, line,
				"invalid line %d in '%s': more than %d keys",
				line, name, ENV_MAX_ENTRIES);
			goto done;
		}
		p = nl ? nl + 1 : end;
	}
	f->is_loaded = 1;
	rc = 0;
done:
	buf_release(&value);
	return rc;
}

int env_file_load(struct env_file *f, const char *path, int is_required,
		  struct err *err)
{
	struct buf text = BUF_INIT;
	struct stat st;
	char chunk[8192];
	int fd = -1, rc = -1;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT && !is_required) {
			rc = 0;
			goto done;
		}
		err_set(err, ERR_CONFIG, errno, "cannot read env file '%s': %s",
			path, strerror(errno));
		goto done;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		err_set(err, ERR_CONFIG, 0,
			"cannot read env file '%s': not a regular file", path);
		goto done;
	}
	buf_init(&text, ENV_FILE_MAX_BYTES);
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_set(err, ERR_CONFIG, errno,
				"cannot read env file '%s': %s", path,
				strerror(errno));
			goto done;
		}
		if (buf_append(&text, chunk, (size_t)n) < 0) {
			err_set(err, ERR_CONFIG, 0,
				"cannot read env file '%s': larger than %zu "
				"bytes",
				path, ENV_FILE_MAX_BYTES);
			goto done;
		}
	}
	if (env_file_parse(f, path, buf_str(&text), text.len, err) < 0)
		goto done;
	f->is_group_readable = (st.st_mode & (S_IRGRP | S_IROTH)) != 0;
	rc = 0;
done:
	if (fd >= 0)
		close(fd);
	buf_release(&text);
	return rc;
}
