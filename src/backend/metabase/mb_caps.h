/*
 * mb_caps.h — the server's version and every version-dependent choice,
 * in one table (DESIGN.md §4). Filled once at mount from version.tag;
 * read-only afterwards (no lock needed).
 */
#ifndef MBFS_MB_CAPS_H
#define MBFS_MB_CAPS_H

#include <stdbool.h>
#include <stddef.h>

struct mb_caps {
	char version[64];          /* "v0.50.26", or "unknown" */
	int major;                 /* 50; 0 when unknown */
	int minor;
	bool enterprise;           /* v1.x */
	bool dashcards_key;        /* v0.48+: "dashcards"/"tabs" (else ordered_*) */
	bool card_type_field;      /* v0.49+: card "type" (else "dataset") */
	bool api_keys;             /* v0.49+: X-Api-Key */
	bool trash;                /* v0.50+: archived items live in the Trash */
	bool dashboard_questions;  /* v0.53+: cards saved inside dashboards (shown only) */
	bool export_json_body;     /* v0.53+: exports also read a JSON body */
	bool mbql5;                /* v0.57+: dataset_query is MBQL 5 */
	bool export_error_status;  /* v0.60+: early export failures get a real status */
	bool export_abort_midstream; /* v0.63+: late failures cut the connection */
	/* v0.50+ (assumed; v0.46-v0.49 have no such route): POST
	 * /api/public/dashboard/:uuid/dashcard/:dc/card/:c/:fmt */
	bool public_dashcard_export;
};

/* Parse a version.tag ("v0.50.26", "v1.50.3", NULL) into caps. Unknown
 * versions get the newest behaviour (and the decoders accept both shapes
 * anyway). */
void mb_caps_from_version(const char *tag, struct mb_caps *caps);

/* "caps <name>=<yes|no> ..." lines for .mbfs/status. */
int mb_caps_describe(const struct mb_caps *caps, char *out, size_t outsz);

#endif
