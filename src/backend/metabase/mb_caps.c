/*
 * mb_caps.c — owns the version → capability table. See mb_caps.h.
 */
#include "mb_caps.h"

#include <stdio.h>
#include <string.h>

void mb_caps_from_version(const char *tag, struct mb_caps *c)
{
	memset(c, 0, sizeof *c);
	snprintf(c->version, sizeof c->version, "%s", tag && *tag ? tag : "unknown");
	int edition = 0, major = 0, minor = 0;
	if (tag && sscanf(tag, "v%d.%d.%d", &edition, &major, &minor) >= 2 &&
	    major > 0) {
		c->major = major;
		c->minor = minor;
		c->enterprise = edition == 1;
	} else {
		major = 1000; /* unknown: assume the newest */
	}
	c->dashcards_key = major >= 48;
	c->card_type_field = major >= 49;
	c->api_keys = major >= 49;
	c->trash = major >= 50;
	c->dashboard_questions = major >= 53;
	c->export_json_body = major >= 53;
	c->mbql5 = major >= 57;
	c->export_error_status = major >= 60;
	c->export_abort_midstream = major >= 63;
	c->public_dashcard_export = major >= 50;
}

int mb_caps_describe(const struct mb_caps *c, char *out, size_t outsz)
{
	/* What the server does, and how mbfs asks (docs/versions.md says
	 * which code reads each flag). card_query is the request spelling
	 * mb_api.c chooses from this table; dashboard_questions is only
	 * shown (no request reads it). */
	return snprintf(out, outsz,
			"caps dashboard_cards_key=%s card_kind_field=%s api_keys=%s "
			"trash=%s dashboard_questions=%s export_body=%s "
			"dataset_query=%s card_query=%s "
			"export_failure=%s public_dashcard_export=%s\n",
			c->dashcards_key ? "dashcards" : "ordered_cards",
			c->card_type_field ? "type" : "dataset",
			c->api_keys ? "yes" : "no", c->trash ? "yes" : "no",
			c->dashboard_questions ? "yes" : "no",
			c->export_json_body ? "form-or-json" : "form",
			c->mbql5 ? "mbql5" : "mbql4",
			c->mbql5 ? "legacy-mbql" : "as-is",
			c->export_abort_midstream ? "status-then-abort"
			: c->export_error_status  ? "status-then-appended-json"
						  : "in-band-json",
			c->public_dashcard_export ? "yes" : "no");
}
