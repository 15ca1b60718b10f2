/* espsync_check: every configuration key with where its value came from
 * (secrets only as their length, store URLs redacted), the store with what
 * it says about itself (store_ops.describe), and one probe request per
 * configured provider, each handed to the caller as one item. */
#include "api/api_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source/source.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "util/banned.h"

struct check_run {
	espsync *ctx;
	const struct config *cfg;
	espsync_check_fn fn;
	void *userdata;
	int code;
	/* The worst item's error, for the handle. */
	struct err worst;
	char worst_what[96];
};

static void item_init(struct espsync_check_item *it, int section)
{
	memset(it, 0, sizeof(*it));
	it->section = section;
}

/* Hands it to the caller; e (kind set when the item failed) and what
 * make the handle's error when it is the worst so far. */
static void emit(struct check_run *cr, const struct espsync_check_item *it,
		 const struct err *e, const char *what)
{
	if (cr->fn)
		cr->fn(it, cr->userdata);
	if (!it->exit_code)
		return;
	/* a library handle that prints says what the command would */
	if (!cr->ctx->cli_cfg && cr->ctx->verbosity >= 0)
		log_error("%s%s%s", what ? what : "", what ? ": " : "", e->msg);
	if (api_exit_worse(cr->code, it->exit_code) != cr->code) {
		cr->worst = *e;
		snprintf(cr->worst_what, sizeof(cr->worst_what), "%s",
			 what ? what : "");
	}
	cr->code = api_exit_worse(cr->code, it->exit_code);
}

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

static const char *source_word(const struct config *cfg, enum config_source src)
{
	if (src == SRC_ENVIRONMENT && cfg->is_library)
		return "setting";
	return config_source_name(src);
}

static void check_settings(struct check_run *cr)
{
	const struct config *cfg = cr->cfg;
	const struct option_def *def;
	const struct config_value *cv;
	struct espsync_check_item it;
	char src[160];
	size_t i;

	item_init(&it, ESPSYNC_CHECK_SETTING);
	it.value = cfg->env_file[0] ? cfg->env_file : NULL;
	it.detail = cfg->is_env_file_loaded ? "read" : "no file";
	emit(cr, &it, NULL, NULL);
	for (i = 0; key_at(cfg, i, &def, &cv); i++) {
		char *v;

		if (!def->key)
			continue;
		v = shown_value(def, cv->value);
		config_value_source_text(cfg, cv, src, sizeof(src));
		item_init(&it, ESPSYNC_CHECK_SETTING);
		it.name = def->key;
		it.value = v;
		it.detail = v ? src : "unset";
		it.source = source_word(cfg, cv->source);
		it.is_secret = def->kind == OPTK_SECRET;
		emit(cr, &it, NULL, NULL);
		free(v);
	}
}

static int on_store_line(void *userdata, const char *label, const char *value)
{
	struct check_run *cr = userdata;
	struct espsync_check_item it;

	item_init(&it, ESPSYNC_CHECK_STORE);
	it.name = label;
	it.value = value ? value : "-";
	emit(cr, &it, NULL, NULL);
	return 0;
}

static void check_store(struct check_run *cr)
{
	const struct config *cfg = cr->cfg;
	struct store *store = NULL;
	struct store_options opts = STORE_OPTIONS_INIT;
	struct espsync_check_item it;
	struct err e = ERR_INIT, de = ERR_INIT;
	char src[160], detail[256];
	char *shown = store_redact_url(cfg->store_url);

	api_store_options(&opts, cfg);
	config_value_source_text(cfg, cfg->store_from, src, sizeof(src));
	snprintf(detail, sizeof(detail), "%s, %s", cfg->store_key->key, src);
	item_init(&it, ESPSYNC_CHECK_STORE);
	it.name = "store";
	it.value = shown;
	it.detail = detail;
	if (store_open_with(&store, cfg->store_url, &opts, &e) < 0) {
		store = NULL;
		if (e.kind == ERR_NONE)
			e.kind = ERR_STORE;
		it.exit_code = (int)err_exit_code(&e);
		it.error_kind = err_kind_name(e.kind);
		it.error_message = e.msg;
		emit(cr, &it, &e, NULL);
		goto done;
	}
	it.source = store->ops->name;
	emit(cr, &it, NULL, NULL);
	if (store->ops->describe &&
	    store->ops->describe(store, on_store_line, cr, &de) < 0) {
		if (!de.msg[0])
			snprintf(de.msg, sizeof(de.msg), "cannot describe");
		item_init(&it, ESPSYNC_CHECK_STORE);
		it.name = "details";
		it.value = de.msg;
		it.error_kind = err_kind_name(de.kind ? de.kind : ERR_STORE);
		it.error_message = de.msg;
		emit(cr, &it, NULL, NULL);
	}
done:
	if (store)
		store_close(store);
	free(shown);
}

static void not_configured(struct check_run *cr,
			   const struct account_config *pc, int is_named)
{
	struct espsync_check_item it;
	struct err e = ERR_INIT;

	item_init(&it, ESPSYNC_CHECK_PROVIDER);
	it.name = pc->name;
	it.value = "not configured";
	it.detail = pc->missing;
	if (pc->is_partly_configured || is_named) {
		err_set(&e, ERR_CONFIG, 0,
			"provider '%s' is not configured: set %s", pc->name,
			pc->missing);
		it.exit_code = (int)err_exit_code(&e);
		it.error_kind = err_kind_name(e.kind);
		it.error_message = e.msg;
	}
	emit(cr, &it, &e, NULL);
}

static void probe(struct check_run *cr, const struct account_config *pc,
		  const struct source *src)
{
	struct espsync_check_item it;
	struct sync_request req;
	struct probe_result res;
	struct err e = ERR_INIT;
	char what[96];

	memset(&res, 0, sizeof(res));
	api_fill_request(&req, cr->cfg, src, pc);
	item_init(&it, ESPSYNC_CHECK_PROVIDER);
	it.name = pc->name;
	if (sync_probe(&req, &res, &e) < 0) {
		if (e.kind == ERR_NONE)
			e.kind = ERR_RUNTIME;
		it.exit_code = (int)err_exit_code(&e);
		it.error_kind = err_kind_name(e.kind);
		it.error_message = e.msg;
	}
	it.value = res.detail;
	it.http_status = res.status;
	it.latency_ms = res.latency_ms;
	snprintf(what, sizeof(what), "cannot reach '%s'", pc->name);
	emit(cr, &it, &e, what);
}

static void check_providers(struct check_run *cr, const char *only)
{
	const struct config *cfg = cr->cfg;
	struct espsync_check_item it;
	struct err e = ERR_INIT;
	char hint[512];
	size_t i;
	int is_any = 0;

	for (i = 0; i < cfg->n_providers; i++) {
		const struct account_config *pc = &cfg->providers[i];
		const struct source *src = source_find(pc->name);

		if (only && strcmp(only, pc->name))
			continue;
		is_any |= pc->is_configured;
		if (!pc->is_configured || !src)
			not_configured(cr, pc, only != NULL);
		else
			probe(cr, pc, src);
	}
	if (is_any || only)
		return;
	config_setup_hint(cfg, hint, sizeof(hint));
	err_set(&e, ERR_CONFIG, 0, "no provider configured: set %s", hint);
	item_init(&it, ESPSYNC_CHECK_PROVIDER);
	it.value = "no provider configured";
	it.exit_code = (int)err_exit_code(&e);
	it.error_kind = err_kind_name(e.kind);
	it.error_message = e.msg;
	emit(cr, &it, &e, NULL);
}

int espsync_check(espsync *ctx, const char *provider, espsync_check_fn fn,
		  void *userdata)
{
	struct check_run cr;
	struct api_call call;
	char why_buf[192];
	const char *why;
	int code;

	if (!ctx)
		return ESPSYNC_E_USAGE;
	code = api_begin(&call, ctx);
	if (code)
		goto done;
	if (provider && !strcmp(provider, "all"))
		provider = NULL;
	why = provider ? config_check_provider(call.cfg->reg, provider, why_buf,
					       sizeof(why_buf))
		       : NULL;
	if (why) {
		code = api_failf(ctx, ERR_USAGE,
				 "invalid value for '--provider': %s", why);
		goto done;
	}
	memset(&cr, 0, sizeof(cr));
	cr.ctx = ctx;
	cr.cfg = call.cfg;
	cr.fn = fn;
	cr.userdata = userdata;
	check_settings(&cr);
	check_store(&cr);
	check_providers(&cr, provider);
	code = cr.code;
	if (code)
		api_keep(ctx, &cr.worst, ERR_RUNTIME,
			 cr.worst_what[0] ? "%s" : NULL, cr.worst_what);
done:
	api_end(&call);
	return code;
}
