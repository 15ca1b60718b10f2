/* `espsync check`: every configuration key with where its value came from
 * (secrets only as their length, store URLs redacted), then the store with
 * what it says about itself (store_ops.describe) and one probe request per
 * configured provider. */
#include "cmd/cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source/source.h"
#include "util/jsonw.h"
#include "util/xalloc.h"
#include "util/banned.h"

struct probe_view {
	const struct account_config *pc;
	struct probe_result res;
	struct err err;
	int code; /* -1: not configured */
};

/* What the store said about itself (store_ops.describe). */
struct store_line {
	char *label, *value;
};

#define CHECK_MAX_STORE_LINES 32

struct check_view {
	char *store_shown;
	const char *store_backend;
	struct err store_err;
	int store_code;
	struct store_line lines[CHECK_MAX_STORE_LINES];
	size_t n_lines;
	char describe_err[256]; /* empty: described (or nothing to say) */
	struct probe_view probes[CONFIG_MAX_PROVIDERS];
	int code;
};

/* What check shows for a value: secrets never, store URLs redacted. */
static char *shown_value(const struct option_def *def, const char *v)
{
	char text[48];

	if (!v)
		return NULL;
	if (def->kind == OPTK_SECRET) {
		snprintf(text, sizeof(text), "set (%zu chars)", strlen(v));
		return xstrdup(text);
	}
	if (def->kind == OPTK_STORE_URL)
		return store_redact_url(v);
	return xstrdup(v);
}

/* The i-th configuration entry: the providers' keys (registry order),
 * the option table, then the stores' seed keys and settings; 0 past the
 * last. */
static int key_at(const struct config *cfg, size_t i,
		  const struct option_def **def, const struct config_value **v)
{
	size_t p;

	for (p = 0; p < cfg->n_providers; p++) {
		const struct account_config *pc = &cfg->providers[p];

		if (i < pc->keys->n_keys) {
			*def = &pc->keys->keys[i];
			*v = &pc->v[(*def)->role < PROLE__COUNT ? (*def)->role
								: PROLE_NONE];
			return 1;
		}
		i -= pc->keys->n_keys;
	}
	if (i < OPT__COUNT) {
		*def = option_get((enum option_id)i);
		*v = &cfg->v[i];
		return 1;
	}
	i -= OPT__COUNT;
	if (i < cfg->n_seed_keys) {
		*def = cfg->seed_keys[i].def;
		*v = &cfg->seed_keys[i].v;
		return 1;
	}
	i -= cfg->n_seed_keys;
	if (i >= cfg->n_store_settings)
		return 0;
	*def = cfg->store_settings[i].def;
	*v = &cfg->store_settings[i].v;
	return 1;
}

static void print_key(const struct config *cfg, const struct option_def *def,
		      const struct config_value *cv)
{
	char src[160];
	char *v = shown_value(def, cv->value);

	config_value_source_text(cfg, cv, src, sizeof(src));
	printf("  %-28s %s (%s)\n", def->key, v ? v : "-", v ? src : "unset");
	free(v);
}

static void print_keys(const struct config *cfg)
{
	const struct option_def *def;
	const struct config_value *cv;
	size_t i;

	printf("configuration (%s '%s'):\n",
	       cfg->is_env_file_loaded ? "read" : "no file", cfg->env_file);
	for (i = 0; key_at(cfg, i, &def, &cv); i++)
		if (def->key)
			print_key(cfg, def, cv);
}

static int json_config_key(struct buf *b, const struct config *cfg,
			   const struct option_def *def,
			   const struct config_value *cv, int is_first)
{
	char src[160];
	char *v = shown_value(def, cv->value);
	int rc = 0;

	config_value_source_text(cfg, cv, src, sizeof(src));
	rc |= buf_puts(b, is_first ? "{\"key\":" : ",{\"key\":");
	rc |= jsonw_string(b, def->key);
	rc |= jsonw_key(b, "value", 0);
	rc |= jsonw_string(b, v);
	rc |= jsonw_key(b, "is_secret", 0);
	rc |= buf_puts(b, def->kind == OPTK_SECRET ? "true" : "false");
	rc |= jsonw_key(b, "source", 0);
	rc |= jsonw_string(b, config_source_name(cv->source));
	rc |= jsonw_key(b, "from", 0);
	rc |= jsonw_string(b, src);
	rc |= buf_putc(b, '}');
	free(v);
	return rc;
}

static int json_keys(struct buf *b, const struct config *cfg)
{
	const struct option_def *def;
	const struct config_value *cv;
	size_t i;
	int is_first = 1, rc = 0;

	rc |= buf_puts(b, "\"config\":[");
	for (i = 0; key_at(cfg, i, &def, &cv); i++) {
		if (!def->key)
			continue;
		rc |= json_config_key(b, cfg, def, cv, is_first);
		is_first = 0;
	}
	rc |= buf_putc(b, ']');
	return rc;
}

static int on_store_line(void *ctx, const char *label, const char *value)
{
	struct check_view *v = ctx;

	if (v->n_lines == CHECK_MAX_STORE_LINES)
		return 0;
	v->lines[v->n_lines].label = xstrdup(label);
	v->lines[v->n_lines].value = xstrdup(value ? value : "-");
	v->n_lines++;
	return 0;
}

static void check_store(struct check_view *v, const struct config *cfg)
{
	struct store *store = NULL;
	struct store_options opts = STORE_OPTIONS_INIT;

	cmd_store_options(&opts, cfg);
	v->store_shown = store_redact_url(cfg->store_url);
	if (store_open_with(&store, cfg->store_url, &opts, &v->store_err) < 0) {
		if (v->store_err.kind == ERR_NONE)
			v->store_err.kind = ERR_STORE;
		v->store_code = (int)err_exit_code(&v->store_err);
		return;
	}
	v->store_backend = store->ops->name;
	if (store->ops->describe) {
		struct err e = ERR_INIT;

		if (store->ops->describe(store, on_store_line, v, &e) < 0)
			snprintf(v->describe_err, sizeof(v->describe_err), "%s",
				 e.msg[0] ? e.msg : "cannot describe");
	}
	store_close(store);
}

static void check_providers(struct check_view *v, const struct config *cfg)
{
	struct sync_request req;
	size_t p;

	for (p = 0; p < cfg->n_providers; p++) {
		struct probe_view *pv = &v->probes[p];
		const struct source *src;

		pv->pc = &cfg->providers[p];
		pv->code = -1;
		src = source_find(pv->pc->name);
		if (!pv->pc->is_configured || !src)
			continue;
		cmd_fill_request(&req, cfg, src, pv->pc);
		req.progress = PROGRESS_NONE;
		pv->code = 0;
		if (sync_probe(&req, &pv->res, &pv->err) < 0) {
			if (pv->err.kind == ERR_NONE)
				pv->err.kind = ERR_RUNTIME;
			pv->code = (int)err_exit_code(&pv->err);
		}
	}
}

static void print_text(const struct check_view *v, const struct config *cfg)
{
	char src[160];
	size_t i;

	print_keys(cfg);
	config_value_source_text(cfg, cfg->store_from, src, sizeof(src));
	printf("\nstore %s (%s, %s): ", v->store_shown, cfg->store_key->key,
	       src);
	if (v->store_code)
		printf("failed (%s)\n", err_kind_name(v->store_err.kind));
	else
		printf("ok (%s)\n", v->store_backend);
	for (i = 0; i < v->n_lines; i++)
		printf("  %-28s %s\n", v->lines[i].label, v->lines[i].value);
	if (v->describe_err[0])
		printf("  %-28s %s\n", "details", v->describe_err);
	for (i = 0; i < cfg->n_providers; i++) {
		const struct probe_view *pv = &v->probes[i];

		if (pv->code < 0)
			printf("%s: not configured (set %s)\n", pv->pc->name,
			       pv->pc->missing);
		else if (pv->code == 0)
			printf("%s: ok, http %ld in %lld ms%s%s\n",
			       pv->pc->name, pv->res.status,
			       (long long)pv->res.latency_ms,
			       pv->res.detail[0] ? ": " : "", pv->res.detail);
		else if (pv->res.status)
			printf("%s: failed, http %ld (%s)\n", pv->pc->name,
			       pv->res.status, err_kind_name(pv->err.kind));
		else
			printf("%s: failed (%s)\n", pv->pc->name,
			       err_kind_name(pv->err.kind));
	}
	fflush(stdout);
}

static int json_probe(struct buf *b, const struct probe_view *pv, int is_first)
{
	int rc = 0;

	rc |= buf_puts(b, is_first ? "{\"provider\":" : ",{\"provider\":");
	rc |= jsonw_string(b, pv->pc->name);
	rc |= buf_printf(b, ",\"configured\":%s,\"ok\":%s",
			 pv->code < 0 ? "false" : "true",
			 pv->code == 0 ? "true" : "false");
	if (pv->code < 0) {
		rc |= jsonw_key(b, "missing", 0);
		rc |= jsonw_string(b, pv->pc->missing);
	} else {
		rc |= buf_printf(b, ",\"status\":%ld,\"latency_ms\":%lld",
				 pv->res.status, (long long)pv->res.latency_ms);
		rc |= jsonw_key(b, "detail", 0);
		rc |= jsonw_string(b, pv->res.detail);
		rc |= jsonw_key(b, "error", 0);
		rc |= jsonw_string(b, pv->code ? pv->err.msg : NULL);
	}
	rc |= buf_putc(b, '}');
	return rc;
}

/* ,"details":[{"label":..,"value":..}],"details_error":.. */
static int json_store_lines(struct buf *b, const struct check_view *v)
{
	size_t i;
	int rc = 0;

	rc |= buf_puts(b, ",\"details\":[");
	for (i = 0; i < v->n_lines; i++) {
		rc |= buf_puts(b, i ? ",{\"label\":" : "{\"label\":");
		rc |= jsonw_string(b, v->lines[i].label);
		rc |= jsonw_key(b, "value", 0);
		rc |= jsonw_string(b, v->lines[i].value);
		rc |= buf_putc(b, '}');
	}
	rc |= buf_puts(b, "],\"details_error\":");
	rc |= jsonw_string(b, v->describe_err[0] ? v->describe_err : NULL);
	return rc;
}

/* Returns 0, or EXIT_RUNTIME when the JSON summary did not fit. */
static int print_json(const struct check_view *v, const struct config *cfg)
{
	struct buf b = BUF_INIT;
	size_t i;
	int rc = 0, code;

	rc |= buf_puts(&b, "{\"command\":\"check\",");
	rc |= json_keys(&b, cfg);
	rc |= buf_puts(&b, ",\"store\":{\"url\":");
	rc |= jsonw_string(&b, v->store_shown);
	rc |= jsonw_key(&b, "backend", 0);
	rc |= jsonw_string(&b, v->store_backend);
	rc |= buf_printf(
	    &b, ",\"ok\":%s,\"error\":", v->store_code ? "false" : "true");
	rc |= jsonw_string(&b, v->store_code ? v->store_err.msg : NULL);
	rc |= json_store_lines(&b, v);
	rc |= buf_puts(&b, "},\"providers\":[");
	for (i = 0; i < cfg->n_providers; i++)
		rc |= json_probe(&b, &v->probes[i], i == 0);
	rc |= buf_printf(&b, "],\"exit_code\":%d}", v->code);
	code = cmd_print_json(&b, rc);
	buf_release(&b);
	return code;
}

int cmd_check(int argc, const char *const *argv, const struct config *cfg)
{
	struct check_view v;
	char hint[512];
	size_t i;
	int is_any = 0;

	memset(&v, 0, sizeof(v));
	if (argc > 0)
		return cmd_usage("check", "unexpected argument '%.64s'",
				 argv[0]);
	check_store(&v, cfg);
	check_providers(&v, cfg);
	v.code = v.store_code;
	if (v.store_code)
		cmd_error("%s", v.store_err.msg);
	for (i = 0; i < cfg->n_providers; i++) {
		const struct probe_view *pv = &v.probes[i];

		is_any |= pv->pc->is_configured;
		if (pv->code > 0) {
			cmd_fail(&pv->err, "cannot reach '%s'", pv->pc->name);
			v.code = cmd_exit_worse(v.code, pv->code);
		}
	}
	if (!is_any) {
		config_setup_hint(cfg, hint, sizeof(hint));
		cmd_error("no provider configured: set %s", hint);
		v.code = cmd_exit_worse(v.code, EXIT_USAGE);
	}
	for (i = 0; i < cfg->n_providers; i++) {
		const struct account_config *pc = &cfg->providers[i];

		if (!pc->is_partly_configured)
			continue;
		cmd_error("provider '%s' is not configured: set %s", pc->name,
			  pc->missing);
		v.code = cmd_exit_worse(v.code, EXIT_USAGE);
	}
	if (cfg->is_json)
		v.code = cmd_exit_worse(v.code, print_json(&v, cfg));
	else
		print_text(&v, cfg);
	free(v.store_shown);
	for (i = 0; i < v.n_lines; i++) {
		free(v.lines[i].label);
		free(v.lines[i].value);
	}
	return v.code;
}
