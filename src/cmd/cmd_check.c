/* `espsync check`: prints the items espsync_check gives (every
 * configuration key with where its value came from, the store and what it
 * says about itself, one probe per configured provider) as text or one
 * JSON object, and their errors on stderr. */
#include "cmd/cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "util/jsonw.h"
#include "util/xalloc.h"
#include "util/banned.h"

/* An item kept until the end: check prints after the last probe. */
struct item {
	int section;
	char *name, *value, *detail, *source, *error_kind, *error_message;
	int exit_code;
	int64_t latency_ms;
	long http_status;
	int is_secret;
};

struct check_view {
	struct item *items;
	size_t n, cap;
};

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static void on_item(const struct espsync_check_item *it, void *userdata)
{
	struct check_view *v = userdata;
	struct item *c;

	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 64;
		v->items = xrealloc(v->items, v->cap * sizeof(*v->items));
	}
	c = &v->items[v->n++];
	c->section = it->section;
	c->name = dup_or_null(it->name);
	c->value = dup_or_null(it->value);
	c->detail = dup_or_null(it->detail);
	c->source = dup_or_null(it->source);
	c->error_kind = dup_or_null(it->error_kind);
	c->error_message = dup_or_null(it->error_message);
	c->exit_code = it->exit_code;
	c->latency_ms = it->latency_ms;
	c->http_status = it->http_status;
	c->is_secret = it->is_secret;
}

static void release_view(struct check_view *v)
{
	size_t i;

	for (i = 0; i < v->n; i++) {
		free(v->items[i].name);
		free(v->items[i].value);
		free(v->items[i].detail);
		free(v->items[i].source);
		free(v->items[i].error_kind);
		free(v->items[i].error_message);
	}
	free(v->items);
}

static const char *str_or(const char *s, const char *dflt)
{
	return s ? s : dflt;
}

/* A provider item that is a provider's (not "none configured"), and
 * whether that provider is configured. */
static int is_provider(const struct item *it)
{
	return it->section == ESPSYNC_CHECK_PROVIDER && it->name;
}

static int is_configured(const struct item *it)
{
	return is_provider(it) && !it->detail;
}

/* The store's first item is the store; a later one with an error is why
 * it could not describe itself. */
static int is_store_head(const struct check_view *v, size_t i)
{
	return v->items[i].section == ESPSYNC_CHECK_STORE &&
	       (i == 0 || v->items[i - 1].section != ESPSYNC_CHECK_STORE);
}

static void print_provider(const struct item *it)
{
	if (!is_configured(it))
		printf("%s: not configured (set %s)\n", it->name, it->detail);
	else if (!it->exit_code)
		printf("%s: ok, http %ld in %lld ms%s%s\n", it->name,
		       it->http_status, (long long)it->latency_ms,
		       it->value && it->value[0] ? ": " : "",
		       str_or(it->value, ""));
	else if (it->http_status)
		printf("%s: failed, http %ld (%s)\n", it->name, it->http_status,
		       it->error_kind);
	else
		printf("%s: failed (%s)\n", it->name, it->error_kind);
}

static void print_text(const struct check_view *v)
{
	size_t i;

	for (i = 0; i < v->n; i++) {
		const struct item *it = &v->items[i];

		if (it->section == ESPSYNC_CHECK_SETTING && !it->name)
			printf("configuration (%s '%s'):\n", it->detail,
			       str_or(it->value, ""));
		else if (it->section == ESPSYNC_CHECK_SETTING)
			printf("  %-28s %s (%s)\n", it->name,
			       str_or(it->value, "-"), it->detail);
		else if (is_store_head(v, i) && it->exit_code)
			printf("\nstore %s (%s): failed (%s)\n", it->value,
			       it->detail, it->error_kind);
		else if (is_store_head(v, i))
			printf("\nstore %s (%s): ok (%s)\n", it->value,
			       it->detail, it->source);
		else if (it->section == ESPSYNC_CHECK_STORE)
			printf("  %-28s %s\n", it->name, it->value);
		else if (is_provider(it))
			print_provider(it);
	}
	fflush(stdout);
}

static int json_config_key(struct buf *b, const struct item *it, int is_first)
{
	int rc = 0;

	rc |= buf_puts(b, is_first ? "{\"key\":" : ",{\"key\":");
	rc |= jsonw_string(b, it->name);
	rc |= jsonw_key(b, "value", 0);
	rc |= jsonw_string(b, it->value);
	rc |= jsonw_key(b, "is_secret", 0);
	rc |= buf_puts(b, it->is_secret ? "true" : "false");
	rc |= jsonw_key(b, "source", 0);
	rc |= jsonw_string(b, it->source);
	rc |= jsonw_key(b, "from", 0);
	rc |= jsonw_string(b, it->detail);
	rc |= buf_putc(b, '}');
	return rc;
}

static int json_probe(struct buf *b, const struct item *it, int is_first)
{
	int rc = 0;

	rc |= buf_puts(b, is_first ? "{\"provider\":" : ",{\"provider\":");
	rc |= jsonw_string(b, it->name);
	rc |=
	    buf_printf(b, ",\"configured\":%s,\"ok\":%s",
		       is_configured(it) ? "true" : "false",
		       is_configured(it) && !it->exit_code ? "true" : "false");
	if (!is_configured(it)) {
		rc |= jsonw_key(b, "missing", 0);
		rc |= jsonw_string(b, it->detail);
	} else {
		rc |= buf_printf(b, ",\"status\":%ld,\"latency_ms\":%lld",
				 it->http_status, (long long)it->latency_ms);
		rc |= jsonw_key(b, "detail", 0);
		rc |= jsonw_string(b, str_or(it->value, ""));
		rc |= jsonw_key(b, "error", 0);
		rc |= jsonw_string(b, it->exit_code ? it->error_message : NULL);
	}
	rc |= buf_putc(b, '}');
	return rc;
}

/* "store":{"url":..,"backend":..,"ok":..,"error":..,"details":[..],
 * "details_error":..} */
static int json_store(struct buf *b, const struct check_view *v)
{
	const struct item *head = NULL;
	const char *describe_err = NULL;
	size_t i;
	int rc = 0, n = 0;

	for (i = 0; i < v->n && !head; i++)
		if (is_store_head(v, i))
			head = &v->items[i];
	if (!head)
		return buf_puts(b, "\"store\":null");
	rc |= buf_puts(b, "\"store\":{\"url\":");
	rc |= jsonw_string(b, head->value);
	rc |= jsonw_key(b, "backend", 0);
	rc |= jsonw_string(b, head->exit_code ? NULL : head->source);
	rc |= buf_printf(
	    b, ",\"ok\":%s,\"error\":", head->exit_code ? "false" : "true");
	rc |= jsonw_string(b, head->exit_code ? head->error_message : NULL);
	rc |= buf_puts(b, ",\"details\":[");
	for (i = (size_t)(head - v->items) + 1;
	     i < v->n && v->items[i].section == ESPSYNC_CHECK_STORE; i++) {
		const struct item *it = &v->items[i];

		if (it->error_message) {
			describe_err = it->error_message;
			continue;
		}
		rc |= buf_puts(b, n++ ? ",{\"label\":" : "{\"label\":");
		rc |= jsonw_string(b, it->name);
		rc |= jsonw_key(b, "value", 0);
		rc |= jsonw_string(b, it->value);
		rc |= buf_putc(b, '}');
	}
	rc |= buf_puts(b, "],\"details_error\":");
	rc |= jsonw_string(b, describe_err);
	rc |= buf_putc(b, '}');
	return rc;
}

/* Returns 0, or EXIT_RUNTIME when the JSON summary did not fit. */
static int print_json(const struct check_view *v, int code)
{
	struct buf b = BUF_INIT;
	size_t i;
	int rc = 0, n = 0, ret;

	rc |= buf_puts(&b, "{\"command\":\"check\",\"config\":[");
	for (i = 0; i < v->n; i++)
		if (v->items[i].section == ESPSYNC_CHECK_SETTING &&
		    v->items[i].name)
			rc |= json_config_key(&b, &v->items[i], !n++);
	rc |= buf_puts(&b, "],");
	rc |= json_store(&b, v);
	rc |= buf_puts(&b, ",\"providers\":[");
	n = 0;
	for (i = 0; i < v->n; i++)
		if (is_provider(&v->items[i]))
			rc |= json_probe(&b, &v->items[i], !n++);
	rc |= buf_printf(&b, "],\"exit_code\":%d}", code);
	ret = cmd_print_json(&b, rc);
	buf_release(&b);
	return ret;
}

/* The store's failure, the providers that could not be reached, then
 * what is not configured. */
static void print_errors(const struct check_view *v)
{
	size_t i;

	for (i = 0; i < v->n; i++) {
		const struct item *it = &v->items[i];

		if (!it->exit_code || (is_provider(it) && !is_configured(it)))
			continue;
		if (is_configured(it))
			cmd_error("cannot reach '%s': %s", it->name,
				  it->error_message && it->error_message[0]
				      ? it->error_message
				      : it->error_kind);
		else
			cmd_error("%s", it->error_message);
	}
	for (i = 0; i < v->n; i++)
		if (is_provider(&v->items[i]) && !is_configured(&v->items[i]) &&
		    v->items[i].exit_code)
			cmd_error("%s", v->items[i].error_message);
}

int cmd_check(int argc, const char *const *argv, const struct config *cfg)
{
	struct check_view v;
	espsync *ctx;
	int code;

	memset(&v, 0, sizeof(v));
	if (argc > 0)
		return cmd_usage("check", "unexpected argument '%.64s'",
				 argv[0]);
	ctx = api_from_config(cfg);
	if (!ctx) {
		cmd_error("out of memory");
		return EXIT_RUNTIME;
	}
	code = espsync_check(ctx, NULL, on_item, &v);
	print_errors(&v);
	if (cfg->is_json)
		code = cmd_exit_worse(code, print_json(&v, code));
	else
		print_text(&v);
	espsync_free(ctx);
	release_view(&v);
	return code;
}
