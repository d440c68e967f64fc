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
	c->kebab_params = major >= 63;
}

int mb_caps_describe(const struct mb_caps *c, char *out, size_t outsz)
{
	/* One line per choice: what the server does, and what mbfs does
	 * about it (see docs/versions.md for which code reads each flag). */
	return snprintf(out, outsz,
			"caps api_keys=%s\n"
			"caps dashboard_cards_key=%s\n"
			"caps card_kind_field=%s\n"
			"caps trash=%s\n"
			"caps dashboard_questions=%s\n"
			"caps collection_items_params=%s\n"
			"caps dataset_query=%s\n"
			"caps export_body=form\n"
			"caps export_failure=%s\n",
			c->api_keys ? "yes" : "no",
			c->dashcards_key ? "dashcards" : "ordered_cards",
			c->card_type_field ? "type" : "dataset",
			c->trash ? "yes" : "no",
			c->dashboard_questions ? "yes (hidden from collection items: show_dashboard_questions=false)"
					       : "no",
			c->kebab_params ? "kebab-case" : "snake_case",
			c->mbql5 ? "mbql5 (asked for legacy-mbql=true)" : "mbql4",
			c->export_abort_midstream ? "status-then-abort"
			: c->export_error_status  ? "status-then-appended-json"
						  : "in-band-json");
}
