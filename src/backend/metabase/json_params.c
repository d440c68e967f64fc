/*
 * json_params.c — owns parameters and public links (DESIGN.md §1 "Card
 * parameters", "Public links"): the normalized parameter definitions of a
 * card or a dashcard, the user.mb.parameters text, the `parameters` an
 * export sends, and the admin lists of public links. See mb_json.h.
 */
#include "json_internal.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Add key → val to object o, taking a new reference on val (val NULL:
 * nothing added). False on allocation failure. */
static bool jo_ref(struct json_object *o, const char *key,
		   struct json_object *val)
{
	if (!val)
		return true;
	json_object_get(val);
	if (json_object_object_add(o, key, val) != 0) {
		json_object_put(val);
		return false;
	}
	return true;
}

/* Add key → a new string (or JSON null when s is NULL). */
static bool jo_str(struct json_object *o, const char *key, const char *s)
{
	struct json_object *v = NULL;
	if (s && !(v = json_object_new_string(s)))
		return false;
	if (json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		return false;
	}
	return true;
}

/* Append a new reference to v to array a. */
static bool ja_ref(struct json_object *a, struct json_object *v)
{
	json_object_get(v);
	if (json_object_array_add(a, v) != 0) {
		json_object_put(v);
		return false;
	}
	return true;
}

/* A non-empty string without NUL bytes, or NULL. */
static const char *plain_name(struct json_object *v)
{
	size_t n;
	const char *s = mbj_sval(v, &n);
	return s && n > 0 && strlen(s) == n ? s : NULL;
}

/* The parameter type Metabase's UI gives a template tag (a field filter
 * takes its widget type). */
static const char *tag_type(struct json_object *tag)
{
	struct json_object *t = mbj_get(tag, "type");
	if (mbj_str_eq(t, "dimension")) {
		const char *w = plain_name(mbj_get(tag, "widget-type"));
		return w ? w : "category";
	}
	if (mbj_str_eq(t, "date"))
		return "date/single";
	if (mbj_str_eq(t, "number"))
		return "number/=";
	return "category";
}

/* The tag a target names: [kind, ["template-tag", NAME]] → NAME. */
static const char *target_tag(struct json_object *target)
{
	struct json_object *inner = mbj_idx(target, 1);
	if (!mbj_str_eq(mbj_idx(inner, 0), "template-tag"))
		return NULL;
	return plain_name(mbj_idx(inner, 1));
}

/* A native card's template tags (MBQL 4 or 5), or NULL. */
static struct json_object *card_template_tags(struct json_object *card)
{
	struct json_object *dq = mbj_get(card, "dataset_query");
	struct json_object *tags = mbj_get(mbj_get(dq, "native"), "template-tags");
	if (mbj_is(tags, json_type_object))
		return tags;
	tags = mbj_get(mbj_idx(mbj_get(dq, "stages"), 0), "template-tags");
	return mbj_is(tags, json_type_object) ? tags : NULL;
}

/* Does a normalized entry of defs have this slug / target this tag? */
static bool defs_have(struct json_object *defs, const char *slug,
		      const char *tag)
{
	for (size_t i = 0; i < mbj_len(defs); i++) {
		struct json_object *e = mbj_idx(defs, i);
		if (slug && mbj_str_eq(mbj_get(e, "slug"), slug))
			return true;
		const char *t = target_tag(mbj_get(e, "target"));
		if (tag && t && strcmp(t, tag) == 0)
			return true;
	}
	return false;
}

/* Append one normalized definition. */
static bool def_add(struct json_object *defs, struct json_object *id,
		    const char *slug, struct json_object *name,
		    const char *type, struct json_object *dflt,
		    struct json_object *target)
{
	struct json_object *e = json_object_new_object();
	if (!e)
		return false;
	if (json_object_array_add(defs, e) != 0) {
		json_object_put(e);
		return false;
	}
	const char *nm = plain_name(name);
	return (plain_name(id) ? jo_ref(e, "id", id) : true) &&
	       jo_str(e, "slug", slug) && jo_str(e, "name", nm ? nm : slug) &&
	       jo_str(e, "type", type) && jo_ref(e, "default", dflt) &&
	       jo_ref(e, "target", target);
}

/* [kind, ["template-tag", name]] (NULL when out of memory). */
static struct json_object *tag_target(const char *kind, const char *name)
{
	struct json_object *t = json_object_new_array();
	struct json_object *r = json_object_new_array();
	struct json_object *k = json_object_new_string(kind);
	struct json_object *tt = json_object_new_string("template-tag");
	struct json_object *n = json_object_new_string(name);
	if (t && r && k && tt && n && json_object_array_add(r, tt) == 0) {
		tt = NULL;
		if (json_object_array_add(r, n) == 0) {
			n = NULL;
			if (json_object_array_add(t, k) == 0) {
				k = NULL;
				if (json_object_array_add(t, r) == 0)
					return t;
			}
		}
	}
	json_object_put(n);
	json_object_put(tt);
	json_object_put(k);
	json_object_put(r);
	json_object_put(t);
	return NULL;
}

/* defs as text, or NULL when empty. Takes defs. */
static char *defs_text(struct mbj_dec *d, struct json_object *defs, bool ok)
{
	char *res = NULL;
	if (!ok)
		d->oom = true;
	else if (json_object_array_length(defs) > 0)
		res = mbj_to_text(d, defs);
	json_object_put(defs);
	return res;
}

/*
 * A card's parameters: its `parameters` (slug, name, type, default —
 * falling back to the tag's default —, target), then every template tag
 * no parameter covers (cards saved before Metabase stored parameters for
 * tags), typed as the UI types them. Snippet and card-reference tags are
 * not parameters.
 */
char *mbj_card_param_defs(struct mbj_dec *d, struct json_object *card)
{
	struct json_object *params = mbj_get(card, "parameters");
	struct json_object *tags = card_template_tags(card);
	if (mbj_len(params) == 0 && !tags)
		return NULL;
	struct json_object *defs = mbj_new_array(d);
	if (!defs)
		return NULL;
	bool ok = true;
	for (size_t i = 0; ok && i < mbj_len(params); i++) {
		struct json_object *p = mbj_idx(params, i);
		const char *slug = plain_name(mbj_get(p, "slug"));
		if (!slug || defs_have(defs, slug, NULL))
			continue;
		struct json_object *target = mbj_get(p, "target");
		struct json_object *dflt = mbj_get(p, "default");
		const char *tn = target_tag(target);
		if (!dflt && tn)
			dflt = mbj_get(mbj_get(tags, tn), "default");
		const char *type = plain_name(mbj_get(p, "type"));
		ok = def_add(defs, mbj_get(p, "id"), slug, mbj_get(p, "name"),
			     type ? type : "category", dflt, target);
	}
	if (tags) {
		struct json_object_iterator it = json_object_iter_begin(tags);
		struct json_object_iterator end = json_object_iter_end(tags);
		for (; ok && !json_object_iter_equal(&it, &end);
		     json_object_iter_next(&it)) {
			struct json_object *tag = json_object_iter_peek_value(&it);
			const char *name = plain_name(mbj_get(tag, "name"));
			if (!name)
				name = json_object_iter_peek_name(&it);
			if (!mbj_is(tag, json_type_object) || !name || !*name ||
			    mbj_str_eq(mbj_get(tag, "type"), "snippet") ||
			    mbj_str_eq(mbj_get(tag, "type"), "card") ||
			    defs_have(defs, name, name))
				continue;
			struct json_object *target = tag_target(
				mbj_str_eq(mbj_get(tag, "type"), "dimension")
					? "dimension"
					: "variable",
				name);
			ok = target &&
			     def_add(defs, mbj_get(tag, "id"), name,
				     mbj_get(tag, "display-name"), tag_type(tag),
				     mbj_get(tag, "default"), target);
			json_object_put(target);
		}
	}
	return defs_text(d, defs, ok);
}

/*
 * A dashcard's parameters: the dashboard filters its parameter_mappings
 * map to its own card (series cards have mappings of their own), with
 * the mapping's target; a filter mapped twice counts once.
 */
char *mbj_dashcard_param_defs(struct mbj_dec *d, struct json_object *dash_params,
			      struct json_object *dc, int64_t card_id)
{
	struct json_object *maps = mbj_get(dc, "parameter_mappings");
	if (mbj_len(maps) == 0 || mbj_len(dash_params) == 0)
		return NULL;
	struct json_object *defs = mbj_new_array(d);
	if (!defs)
		return NULL;
	bool ok = true;
	for (size_t i = 0; ok && i < mbj_len(maps); i++) {
		struct json_object *m = mbj_idx(maps, i);
		const char *pid = plain_name(mbj_get(m, "parameter_id"));
		int64_t mc;
		if (!pid || (card_id && mbj_id(mbj_get(m, "card_id"), &mc) &&
			     mc != card_id))
			continue;
		struct json_object *p = NULL;
		for (size_t k = 0; !p && k < mbj_len(dash_params); k++)
			if (mbj_str_eq(mbj_get(mbj_idx(dash_params, k), "id"), pid))
				p = mbj_idx(dash_params, k);
		const char *slug = plain_name(mbj_get(p, "slug"));
		if (!slug || defs_have(defs, slug, NULL))
			continue;
		const char *type = plain_name(mbj_get(p, "type"));
		ok = def_add(defs, mbj_get(p, "id"), slug, mbj_get(p, "name"),
			     type ? type : "category", mbj_get(p, "default"),
			     mbj_get(m, "target"));
	}
	return defs_text(d, defs, ok);
}

/* Parse normalized definitions (NULL: none) into an array (caller puts). */
static enum mbfs_status defs_parse(const char *defs, struct json_object **out,
				   struct mbfs_err *err)
{
	*out = NULL;
	if (!defs) {
		*out = json_object_new_array();
		return *out ? MBFS_OK : mbj_nomem("parameters", err);
	}
	enum mbfs_status st = mbj_parse(defs, strlen(defs), "parameters",
					false, out, err);
	if (st == MBFS_OK && !mbj_is(*out, json_type_array)) {
		json_object_put(*out);
		*out = NULL;
		st = mbfs_err_set(err, MBFS_ERR_PROTOCOL, 0,
				  "parameters: not a JSON array");
	}
	return st;
}

char *mb_json_params_xattr(const char *defs)
{
	struct json_object *arr = NULL, *out = NULL;
	struct mbj_dec d = {false};
	char *res = NULL;
	if (!defs || defs_parse(defs, &arr, NULL) != MBFS_OK)
		return NULL;
	out = json_object_new_array();
	bool ok = out != NULL;
	for (size_t i = 0; ok && i < mbj_len(arr); i++) {
		struct json_object *e = mbj_idx(arr, i);
		struct json_object *x = json_object_new_object();
		ok = x && json_object_array_add(out, x) == 0;
		if (!ok) {
			json_object_put(x);
			break;
		}
		ok = jo_ref(x, "slug", mbj_get(e, "slug")) &&
		     jo_ref(x, "name", mbj_get(e, "name")) &&
		     jo_ref(x, "type", mbj_get(e, "type"));
		struct json_object *dflt = mbj_get(e, "default");
		if (ok)
			ok = dflt ? jo_ref(x, "default", dflt)
				  : jo_str(x, "default", NULL);
	}
	if (ok)
		res = mbj_to_text(&d, out);
	json_object_put(out);
	json_object_put(arr);
	return res;
}

/* Date-like types take one string (the UI's own form of a day, a range,
 * a month, a quarter, a relative date); everything else a list. */
static bool single_valued(const char *type)
{
	return type && (strncmp(type, "date", 4) == 0 ||
			strcmp(type, "temporal-unit") == 0);
}

/* The `value` the UI sends for these values of a parameter of type. */
static struct json_object *param_value(const char *type,
				       const struct mb_param_arg *a)
{
	if (single_valued(type) && a->n_values == 1)
		return json_object_new_string(a->values[0]);
	struct json_object *v = json_object_new_array();
	for (size_t i = 0; v && i < a->n_values; i++) {
		struct json_object *s = json_object_new_string(a->values[i]);
		if (!s || json_object_array_add(v, s) != 0) {
			json_object_put(s);
			json_object_put(v);
			return NULL;
		}
	}
	return v;
}

/* {"id"?, "type", "value"[, "target"]} for a definition and a value. */
static struct json_object *param_entry(struct json_object *def,
				       struct json_object *value,
				       struct json_object *target)
{
	struct json_object *e = json_object_new_object();
	if (!e)
		return NULL;
	struct json_object *id = mbj_get(def, "id");
	if ((id && !jo_ref(e, "id", id)) || !jo_ref(e, "type", mbj_get(def, "type")) ||
	    !jo_ref(e, "value", value) || !jo_ref(e, "target", target)) {
		json_object_put(e);
		return NULL;
	}
	return e;
}

static const struct mb_param_arg *arg_of(const struct mb_param_args *args,
					 struct json_object *def)
{
	for (size_t i = 0; args && i < args->n; i++)
		if (mbj_str_eq(mbj_get(def, "slug"), args->v[i].slug))
			return &args->v[i];
	return NULL;
}

/* Append the entry of a given definition (or of its default) to out. */
static bool add_entry(struct json_object *out, struct json_object *def,
		      const struct mb_param_arg *a, bool with_target)
{
	const char *type = plain_name(mbj_get(def, "type"));
	struct json_object *value =
		a ? param_value(type, a) : mbj_get(def, "default");
	if (!value)
		return a == NULL; /* no default: nothing to send */
	if (!a)
		json_object_get(value);
	struct json_object *e = param_entry(
		def, value, with_target ? mbj_get(def, "target") : NULL);
	json_object_put(value);
	if (!e || json_object_array_add(out, e) != 0) {
		json_object_put(e);
		return false;
	}
	return true;
}

enum mbfs_status mb_json_param_request(const char *defs, const char *base,
				       const struct mb_param_args *args,
				       bool dashcard, char **out,
				       struct mbfs_err *err)
{
	*out = NULL;
	struct json_object *darr = NULL, *barr = NULL, *res = NULL;
	enum mbfs_status st = defs_parse(defs, &darr, err);
	if (st != MBFS_OK)
		return st;
	/* every name must be one of the file's parameters */
	for (size_t i = 0; args && i < args->n; i++) {
		bool known = false;
		for (size_t k = 0; !known && k < mbj_len(darr); k++)
			known = mbj_str_eq(mbj_get(mbj_idx(darr, k), "slug"),
					   args->v[i].slug);
		if (!known) {
			st = mbfs_err_set(err, MBFS_ERR_NOT_FOUND, 0,
					  "no parameter \"%s\" (user.mb.parameters lists them)",
					  args->v[i].slug);
			goto out;
		}
	}
	res = json_object_new_array();
	bool ok = res != NULL;
	if (ok && dashcard) {
		/* the dashboard's defaults, with the given filters' values
		 * instead; the dashboard's mappings target the card */
		if (base && (st = defs_parse(base, &barr, err)) != MBFS_OK)
			goto out;
		bool *done = calloc(mbj_len(darr) + 1, sizeof *done);
		ok = done != NULL;
		for (size_t i = 0; ok && i < mbj_len(barr); i++) {
			struct json_object *b = mbj_idx(barr, i);
			size_t k = 0;
			struct json_object *def = NULL;
			for (; k < mbj_len(darr); k++) {
				struct json_object *c = mbj_idx(darr, k);
				if (plain_name(mbj_get(c, "id")) &&
				    mbj_str_eq(mbj_get(b, "id"),
					       json_object_get_string(mbj_get(c, "id"))) &&
				    arg_of(args, c)) {
					def = c;
					break;
				}
			}
			if (def) {
				done[k] = true;
				ok = add_entry(res, def, arg_of(args, def), false);
			} else {
				ok = ja_ref(res, b);
			}
		}
		for (size_t k = 0; ok && k < mbj_len(darr); k++) {
			struct json_object *c = mbj_idx(darr, k);
			const struct mb_param_arg *a = arg_of(args, c);
			if (a && !done[k])
				ok = add_entry(res, c, a, false);
		}
		free(done);
	} else {
		/* a card: every parameter, given or at its default */
		for (size_t k = 0; ok && k < mbj_len(darr); k++) {
			struct json_object *c = mbj_idx(darr, k);
			ok = add_entry(res, c, arg_of(args, c), true);
		}
	}
	if (ok) {
		struct mbj_dec d = {false};
		*out = mbj_to_text(&d, res);
		ok = *out != NULL;
	}
	if (!ok)
		st = mbj_nomem("parameters", err);
out:
	json_object_put(res);
	json_object_put(barr);
	json_object_put(darr);
	return st;
}

/* One row of GET /api/card/public or /api/dashboard/public. */
static bool dec_public_item(struct mbj_dec *d, struct json_object *o, void *p)
{
	struct mb_public_item *it = p;
	const char *uuid = plain_name(mbj_get(o, "public_uuid"));
	if (!mbj_object_id(o, &it->id) || !uuid)
		return false;
	it->name = mbj_str(d, mbj_get(o, "name"));
	it->uuid = mbj_dup_cstr(d, uuid);
	return true;
}

static void public_item_clear(void *p)
{
	mb_public_item_free(p);
}

enum mbfs_status mb_json_public_list(const char *buf, size_t len,
				     struct mb_public_list *out,
				     struct mbfs_err *err)
{
	void *v = NULL;
	enum mbfs_status st = mbj_decode_many(buf, len, "public link list",
					      sizeof *out->v, dec_public_item,
					      public_item_clear, &v, &out->n, err);
	out->v = v;
	return st;
}
