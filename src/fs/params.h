/*
 * params.h — parameters in file names (DESIGN.md §1 "Card parameters"):
 * "27.csv?category=Gizmo&category=Gadget&created_at=2024-01-01~2024-03-31"
 * is the listed file "27.csv" read with those values. This module only
 * splits and decodes the name; which slugs a file accepts and what the
 * export sends are the backend's (the param_request op, mb_client.h).
 *
 * Rules: the query string follows the first '?'; pairs are separated by
 * '&'; each pair is SLUG=VALUE; both are percent-decoded (%XX; '+' stays
 * a plus sign: DESIGN.md says percent-decoding, and a value may hold '+');
 * a repeated slug gives several values, in order. Malformed names (an
 * empty query, an empty pair, a pair without '=', an empty slug, a bad
 * escape, an escape that decodes to NUL) are refused: the lookup then
 * answers ENOENT like any unknown name.
 *
 * Memory: *out (struct mb_param_args, mb_types.h) is the caller's; free
 * it with mb_param_args_free. Pure functions; thread-safe; never block.
 */
#ifndef MBFS_PARAMS_H
#define MBFS_PARAMS_H

#include "mb_types.h"
#include "status.h"

/* At most this many pairs in one name (a name is at most 255 bytes
 * anyway: this only bounds the work). */
#define MBFS_PARAMS_MAX 64

/* The query string of name (after its first '?'), or NULL when it has
 * none. */
const char *mbfs_params_query(const char *name);

/* Parse a query string into values by slug (slugs in order of first
 * appearance). MBFS_ERR_INVALID (with why in err) when malformed. */
enum mbfs_status mbfs_params_parse(const char *query, struct mb_param_args *out,
				   struct mbfs_err *err);

#endif
