/*
 * test_caps.c — unit tests of mb_caps.c: version.tag → capabilities for
 * each Metabase era, enterprise tags, unknown versions (newest behaviour)
 * and the describe line.
 */
#include "check.h"
#include "mb_caps.h"

#include <stdbool.h>
#include <string.h>

static void check_all(const struct mb_caps *c, bool want)
{
	CHECK(c->dashcards_key == want);
	CHECK(c->card_type_field == want);
	CHECK(c->api_keys == want);
	CHECK(c->trash == want);
	CHECK(c->dashboard_questions == want);
	CHECK(c->export_json_body == want);
	CHECK(c->mbql5 == want);
	CHECK(c->export_error_status == want);
	CHECK(c->export_abort_midstream == want);
}

static void test_v046(void)
{
	struct mb_caps c;
	memset(&c, 0xff, sizeof c);
	mb_caps_from_version("v0.46.6", &c);
	CHECK_STR(c.version, "v0.46.6");
	CHECK_INT(c.major, 46);
	CHECK_INT(c.minor, 6);
	CHECK(!c.enterprise);
	check_all(&c, false); /* ordered_cards, dataset, no API keys, in-band */
	char d[512];
	mb_caps_describe(&c, d, sizeof d);
	CHECK(strstr(d, "dashboard_cards_key=ordered_cards") != NULL);
	CHECK(strstr(d, "card_kind_field=dataset") != NULL);
	CHECK(strstr(d, "api_keys=no") != NULL);
	CHECK(strstr(d, "trash=no") != NULL);
	CHECK(strstr(d, "export_body=form ") != NULL);
	CHECK(strstr(d, "dataset_query=mbql4") != NULL);
	CHECK(strstr(d, "export_failure=in-band-json") != NULL);
	CHECK(d[strlen(d) - 1] == '\n');
}

static void test_v047_v048_v049(void)
{
	struct mb_caps c;
	mb_caps_from_version("v0.47.9", &c);
	CHECK(!c.dashcards_key && !c.card_type_field && !c.api_keys);
	mb_caps_from_version("v0.48.0", &c);
	CHECK(c.dashcards_key);
	CHECK(!c.card_type_field && !c.api_keys && !c.trash);
	mb_caps_from_version("v0.49.1", &c);
	CHECK(c.dashcards_key && c.card_type_field && c.api_keys);
	CHECK(!c.trash);
}

static void test_v050(void)
{
	struct mb_caps c;
	mb_caps_from_version("v0.50.26", &c);
	CHECK_STR(c.version, "v0.50.26");
	CHECK_INT(c.major, 50);
	CHECK_INT(c.minor, 26);
	CHECK(!c.enterprise);
	CHECK(c.dashcards_key);
	CHECK(c.card_type_field);
	CHECK(c.api_keys);
	CHECK(c.trash);
	CHECK(!c.dashboard_questions);
	CHECK(!c.export_json_body);
	CHECK(!c.mbql5);
	CHECK(!c.export_error_status);
	CHECK(!c.export_abort_midstream);
	char d[512];
	mb_caps_describe(&c, d, sizeof d);
	CHECK(strstr(d, "dashboard_cards_key=dashcards") != NULL);
	CHECK(strstr(d, "card_kind_field=type") != NULL);
	CHECK(strstr(d, "api_keys=yes") != NULL);
	CHECK(strstr(d, "trash=yes") != NULL);
	CHECK(strstr(d, "dashboard_questions=no") != NULL);
	CHECK(strstr(d, "export_failure=in-band-json") != NULL);
}

static void test_v153_enterprise(void)
{
	struct mb_caps c;
	mb_caps_from_version("v1.53.2", &c);
	CHECK_STR(c.version, "v1.53.2");
	CHECK_INT(c.major, 53);
	CHECK_INT(c.minor, 2);
	CHECK(c.enterprise);
	CHECK(c.dashcards_key && c.card_type_field && c.api_keys && c.trash);
	CHECK(c.dashboard_questions);
	CHECK(c.export_json_body);
	CHECK(!c.mbql5);
	CHECK(!c.export_error_status);
	CHECK(!c.export_abort_midstream);
	char d[512];
	mb_caps_describe(&c, d, sizeof d);
	CHECK(strstr(d, "dashboard_questions=yes") != NULL);
	CHECK(strstr(d, "export_body=form-or-json") != NULL);
	CHECK(strstr(d, "dataset_query=mbql4") != NULL);
}

static void test_later(void)
{
	struct mb_caps c;
	mb_caps_from_version("v0.57.0", &c);
	CHECK(c.mbql5);
	CHECK(!c.export_error_status);
	mb_caps_from_version("v0.60.4", &c);
	CHECK(c.mbql5 && c.export_error_status);
	CHECK(!c.export_abort_midstream);
	char d[512];
	mb_caps_describe(&c, d, sizeof d);
	CHECK(strstr(d, "export_failure=status-then-appended-json") != NULL);

	mb_caps_from_version("v0.63.1", &c);
	CHECK_INT(c.major, 63);
	CHECK_INT(c.minor, 1);
	CHECK(!c.enterprise);
	check_all(&c, true);
	mb_caps_describe(&c, d, sizeof d);
	CHECK(strstr(d, "dataset_query=mbql5") != NULL);
	CHECK(strstr(d, "export_failure=status-then-abort") != NULL);

	/* a tag with a suffix (release candidates, snapshots) */
	mb_caps_from_version("v1.55.0-RC2", &c);
	CHECK_INT(c.major, 55);
	CHECK(c.enterprise);
	CHECK(c.dashboard_questions && !c.mbql5);
	/* two components only */
	mb_caps_from_version("v0.51", &c);
	CHECK_INT(c.major, 51);
	CHECK_INT(c.minor, 0);
	CHECK(c.trash && !c.dashboard_questions);
}

static void test_unknown(void)
{
	struct mb_caps c;
	mb_caps_from_version(NULL, &c);
	CHECK_STR(c.version, "unknown");
	CHECK_INT(c.major, 0);
	CHECK(!c.enterprise);
	check_all(&c, true);

	mb_caps_from_version("", &c);
	CHECK_STR(c.version, "unknown");
	check_all(&c, true);

	mb_caps_from_version("garbage", &c);
	CHECK_STR(c.version, "garbage");
	CHECK_INT(c.major, 0);
	check_all(&c, true);

	mb_caps_from_version("vUNKNOWN", &c);
	CHECK_INT(c.major, 0);
	check_all(&c, true);

	/* an over-long tag is cut, not overflowed */
	char big[300];
	memset(big, 'x', sizeof big - 1);
	big[0] = 'v';
	big[sizeof big - 1] = '\0';
	mb_caps_from_version(big, &c);
	CHECK_INT(strlen(c.version), sizeof c.version - 1);
}

/* issue 11: the public dashcard download (absent from v0.46-v0.49) */
static void test_public_dashcard_export(void)
{
	struct mb_caps c;
	char d[512];
	mb_caps_from_version("v0.46.6", &c);
	CHECK(!c.public_dashcard_export);
	mb_caps_describe(&c, d, sizeof d);
	CHECK(strstr(d, " public_dashcard_export=no\n") != NULL);
	mb_caps_from_version("v0.49.12", &c);
	CHECK(!c.public_dashcard_export);
	mb_caps_from_version("v0.50.0", &c);
	CHECK(c.public_dashcard_export);
	mb_caps_from_version("v0.63.1", &c);
	CHECK(c.public_dashcard_export);
	mb_caps_describe(&c, d, sizeof d);
	CHECK(strstr(d, " public_dashcard_export=yes\n") != NULL);
	mb_caps_from_version(NULL, &c);
	CHECK(c.public_dashcard_export);
}

int main(void)
{
	test_public_dashcard_export();
	test_v046();
	test_v047_v048_v049();
	test_v050();
	test_v153_enterprise();
	test_later();
	test_unknown();
	return check_done();
}
