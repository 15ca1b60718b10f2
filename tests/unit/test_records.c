/* Records: batch growth and reuse, event type names, and event ids that are
 * deterministic, separate every field, and fall back to the email. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model/records.h"

static void test_event_type_names(void **state)
{
	static const char *const names[] = {
	    "sent", "open", "click", "bounce", "complaint", "unsubscribe"};
	enum event_type t;
	int i;

	(void)state;
	for (i = 0; i < EV__COUNT; i++) {
		assert_string_equal(event_type_name((enum event_type)i),
				    names[i]);
		assert_int_equal(event_type_parse(names[i], &t), 0);
		assert_int_equal(t, i);
	}
	assert_int_equal(event_type_parse("opened", &t), -1);
	assert_int_equal(event_type_parse("", &t), -1);
	assert_int_equal(event_type_parse(NULL, &t), -1);
}

static void test_batch_grow_and_clear(void **state)
{
	struct batch b;
	size_t i;

	(void)state;
	batch_init(&b, "emailoctopus", "default");
	for (i = 0; i < 1000; i++) {
		struct rec_participant *p = batch_add_participant(&b);

		assert_null(p->campaign_id);
		assert_int_equal(p->flags, 0);
		p->campaign_id = arena_printf(&b.arena, "c%zu", i);
	}
	assert_string_equal(b.participants[999].campaign_id, "c999");
	assert_int_equal(batch_add_campaign(&b)->sent_at, TIME_NULL);
	assert_int_equal(batch_add_event(&b)->ts, TIME_NULL);
	assert_int_equal(batch_add_contact(&b)->deleted_at, TIME_NULL);
	assert_int_equal(batch_add_list(&b)->subscribed, -1);
	batch_add_link(&b);
	batch_add_state(&b, "campaigns", "{\"cursor\":\"x\"}");
	batch_add_state(&b, "reports:1", NULL);
	assert_int_equal(batch_count(&b), 1005);
	assert_int_equal(b.n_states, 2);
	assert_string_equal(b.states[0].value, "{\"cursor\":\"x\"}");
	assert_null(b.states[1].value);

	batch_clear(&b);
	assert_int_equal(batch_count(&b), 0);
	assert_int_equal(b.n_states, 0);
	assert_string_equal(b.provider, "emailoctopus");
	assert_true(b.cap_participants >= 1000);
	batch_release(&b);
	assert_null(b.participants);
	assert_string_equal(b.account, "default");
}

static void base_event(struct rec_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->campaign_id = "camp-1";
	ev->contact_id = "contact-1";
	ev->contact_email = "John@Example.com";
	ev->type = EV_CLICK;
	ev->ts = 1731664800;
	ev->link_url = "https://example.com/a";
}

static void test_event_id_deterministic(void **state)
{
	struct rec_event a, b;
	size_t i;

	(void)state;
	base_event(&a);
	base_event(&b);
	event_make_id(&a, "emailoctopus", "default");
	event_make_id(&b, "emailoctopus", "default");
	assert_int_equal(strlen(a.event_id), EVENT_ID_HEX);
	for (i = 0; i < EVENT_ID_HEX; i++)
		assert_non_null(strchr("0123456789abcdef", a.event_id[i]));
	assert_string_equal(a.event_id, b.event_id);
	/* Not part of the id: name, email when the id is known, times. */
	b.campaign_name = "x";
	b.contact_email = "other@example.com";
	b.times = 7;
	b.bounce_type = "hard";
	event_make_id(&b, "emailoctopus", "default");
	assert_string_equal(a.event_id, b.event_id);
}

enum mutation {
	M_PROVIDER,
	M_ACCOUNT,
	M_CAMPAIGN,
	M_CONTACT,
	M_TYPE,
	M_TS,
	M_LINK,
	M_LINK_NULL,
	M_LINK_EMPTY,
	M__COUNT
};

static void mutated_id(enum mutation m, char out[EVENT_ID_HEX + 1])
{
	struct rec_event ev;
	const char *provider = "emailoctopus", *account = "default";

	base_event(&ev);
	switch (m) {
	case M_PROVIDER:
		provider = "activecampaign";
		break;
	case M_ACCOUNT:
		account = "other";
		break;
	case M_CAMPAIGN:
		ev.campaign_id = "camp-2";
		break;
	case M_CONTACT:
		ev.contact_id = "contact-2";
		break;
	case M_TYPE:
		ev.type = EV_OPEN;
		break;
	case M_TS:
		ev.ts++;
		break;
	case M_LINK:
		ev.link_url = "https://example.com/b";
		break;
	case M_LINK_NULL:
		ev.link_url = NULL;
		break;
	case M_LINK_EMPTY:
		ev.link_url = "";
		break;
	case M__COUNT:
		break;
	}
	event_make_id(&ev, provider, account);
	memcpy(out, ev.event_id, EVENT_ID_HEX + 1);
}

static void test_event_id_each_field_matters(void **state)
{
	char ids[M__COUNT + 1][EVENT_ID_HEX + 1];
	int i, j;

	(void)state;
	for (i = 0; i < M__COUNT; i++)
		mutated_id((enum mutation)i, ids[i]);
	mutated_id(M__COUNT, ids[M__COUNT]); /* unmutated */
	for (i = 0; i <= M__COUNT; i++)
		for (j = i + 1; j <= M__COUNT; j++)
			assert_string_not_equal(ids[i], ids[j]);
}

/* ("a","bc") and ("ab","c") must not collide. */
static void test_event_id_field_boundaries(void **state)
{
	struct rec_event a, b;

	(void)state;
	base_event(&a);
	base_event(&b);
	a.campaign_id = "bc";
	b.campaign_id = "c";
	event_make_id(&a, "p", "a");
	event_make_id(&b, "p", "ab");
	assert_string_not_equal(a.event_id, b.event_id);
}

static void test_event_id_email_fallback(void **state)
{
	struct rec_event a, b, c;

	(void)state;
	base_event(&a);
	base_event(&b);
	base_event(&c);
	a.contact_id = NULL;
	a.contact_email = "John@Example.COM";
	b.contact_id = "";
	b.contact_email = "john@example.com";
	c.contact_id = "john@example.com";
	event_make_id(&a, "emailoctopus", "default");
	event_make_id(&b, "emailoctopus", "default");
	event_make_id(&c, "emailoctopus", "default");
	assert_string_equal(a.event_id, b.event_id);
	/* The key is the same string whether it came from the id or the
	 * email: both name the same contact. */
	assert_string_equal(a.event_id, c.event_id);
	b.contact_email = "jane@example.com";
	event_make_id(&b, "emailoctopus", "default");
	assert_string_not_equal(a.event_id, b.event_id);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_event_type_names),
	    cmocka_unit_test(test_batch_grow_and_clear),
	    cmocka_unit_test(test_event_id_deterministic),
	    cmocka_unit_test(test_event_id_each_field_matters),
	    cmocka_unit_test(test_event_id_field_boundaries),
	    cmocka_unit_test(test_event_id_email_fallback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
