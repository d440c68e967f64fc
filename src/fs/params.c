/*
 * params.c — owns the parsing of parameters in file names: splitting at
 * '?', '&' and '=', percent-decoding, grouping repeated slugs; and
 * mb_param_args_free. See params.h.
 */
#include "params.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

const char *mbfs_params_query(const char *name)
{
	const char *q = name ? strchr(name, '?') : NULL;
	return q ? q + 1 : NULL;
}

void mb_param_args_free(struct mb_param_args *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++) {
		free(a->v[i].slug);
		for (size_t k = 0; k < a->v[i].n_values; k++)
			free(a->v[i].values[k]);
		free(a->v[i].values);
	}
	free(a->v);
	a->v = NULL;
	a->n = 0;
}

/* Percent-decode s[0..n) into a new string. NULL when out of memory,
 * or (with *bad set) on a bad escape or one that decodes to NUL. */
static char *decode(const char *s, size_t n, bool *bad)
{
	char *r = malloc(n + 1);
	if (!r)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			r[o++] = s[i];
			continue;
		}
		int hi = i + 1 < n ? mbfs_hex_digit(s[i + 1]) : -1;
		int lo = i + 2 < n ? mbfs_hex_digit(s[i + 2]) : -1;
		if (hi < 0 || lo < 0 || hi * 16 + lo == 0) {
			free(r);
			*bad = true;
			return NULL;
		}
		r[o++] = (char)(hi * 16 + lo);
		i += 2;
	}
	r[o] = '\0';
	return r;
}

/* Add value v (taken) to slug's entry, creating it. False on ENOMEM. */
static bool add_value(struct mb_param_args *a, char *slug, char *v)
{
	struct mb_param_arg *e = NULL;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i].slug, slug) == 0)
			e = &a->v[i];
	if (!e) {
		struct mb_param_arg *nv = realloc(a->v, (a->n + 1) * sizeof *nv);
		if (!nv)
			return false;
		a->v = nv;
		e = &a->v[a->n++];
		memset(e, 0, sizeof *e);
		e->slug = slug;
	} else {
		free(slug);
	}
	char **vals = realloc(e->values, (e->n_values + 1) * sizeof *vals);
	if (!vals) {
		free(v);
		return false;
	}
	e->values = vals;
	e->values[e->n_values++] = v;
	return true;
}

enum mbfs_status mbfs_params_parse(const char *query, struct mb_param_args *out,
				   struct mbfs_err *err)
{
	memset(out, 0, sizeof *out);
	if (!query || !*query)
		return mbfs_err_set(err, MBFS_ERR_INVALID, 0,
				    "no parameters after '?'");
	size_t pairs = 0;
	const char *p = query;
	for (;;) {
		size_t len = strcspn(p, "&");
		const char *eq = memchr(p, '=', len);
		if (len == 0 || !eq || eq == p) {
			mb_param_args_free(out);
			return mbfs_err_set(err, MBFS_ERR_INVALID, 0,
					    "a parameter must be NAME=VALUE (pairs separated by '&')");
		}
		if (++pairs > MBFS_PARAMS_MAX) {
			mb_param_args_free(out);
			return mbfs_err_set(err, MBFS_ERR_INVALID, 0,
					    "more than %d parameters", MBFS_PARAMS_MAX);
		}
		bool bad = false;
		char *slug = decode(p, (size_t)(eq - p), &bad);
		char *val = slug ? decode(eq + 1, len - (size_t)(eq - p) - 1, &bad)
				 : NULL;
		if (!slug || !val || !*slug) {
			bool empty = slug && !*slug;
			free(slug);
			free(val);
			mb_param_args_free(out);
			if (bad || empty)
				return mbfs_err_set(err, MBFS_ERR_INVALID, 0,
						    "bad percent-escape or empty name in the parameters");
			return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
		}
		if (!add_value(out, slug, val)) {
			mb_param_args_free(out);
			return mbfs_err_set(err, MBFS_ERR_NOMEM, 0, "out of memory");
		}
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	return MBFS_OK;
}
