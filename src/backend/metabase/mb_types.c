/*
 * mb_types.c — owns the destructors of the plain Metabase structs of
 * mb_types.h (filled by the json*.c decoders) and the names of models.
 * Every destructor accepts NULL and zeroed structs, and leaves the struct
 * zeroed.
 */
#include "mb_types.h"

#include <stdlib.h>
#include <string.h>

const char *mb_model_name(enum mb_model m)
{
	switch (m) {
	case MB_MODEL_COLLECTION:
		return "collection";
	case MB_MODEL_DASHBOARD:
		return "dashboard";
	case MB_MODEL_CARD:
		return "card";
	case MB_MODEL_DATASET:
		return "dataset";
	case MB_MODEL_METRIC:
		return "metric";
	case MB_MODEL_TABLE:
		return "table";
	case MB_MODEL_DATABASE:
		return "database";
	case MB_MODEL_OTHER:
		return "other";
	case MB_MODEL_UNKNOWN:
	default:
		return "unknown";
	}
}

/* ------------------------------------------------------------------ */
/* Elements                                                             */

void mb_card_free(struct mb_card *c)
{
	if (!c)
		return;
	free(c->name);
	free(c->description);
	free(c->native_sql);
	free(c->updated_at);
	free(c->entity_id);
	free(c->param_defs);
	free(c->public_uuid);
	memset(c, 0, sizeof *c);
}

void mb_collection_free(struct mb_collection *c)
{
	if (!c)
		return;
	free(c->name);
	free(c->description);
	free(c->location);
	free(c->namespace_);
	free(c->type);
	free(c->updated_at);
	memset(c, 0, sizeof *c);
}

void mb_database_free(struct mb_database *db)
{
	if (!db)
		return;
	free(db->name);
	free(db->description);
	free(db->engine);
	free(db->updated_at);
	memset(db, 0, sizeof *db);
}

void mb_table_free(struct mb_table *t)
{
	if (!t)
		return;
	free(t->name);
	free(t->display_name);
	free(t->schema);
	free(t->description);
	free(t->updated_at);
	memset(t, 0, sizeof *t);
}

void mb_user_free(struct mb_user *u)
{
	if (!u)
		return;
	free(u->email);
	free(u->common_name);
	memset(u, 0, sizeof *u);
}

void mb_properties_free(struct mb_properties *p)
{
	if (!p)
		return;
	free(p->version_tag);
	free(p->site_name);
	memset(p, 0, sizeof *p);
}

void mb_dashcard_free(struct mb_dashcard *dc)
{
	if (!dc)
		return;
	free(dc->card_name);
	free(dc->title);
	free(dc->card_description);
	free(dc->updated_at);
	free(dc->param_defs);
	memset(dc, 0, sizeof *dc);
}

void mb_dashboard_free(struct mb_dashboard *d)
{
	if (!d)
		return;
	free(d->name);
	free(d->description);
	free(d->updated_at);
	for (size_t i = 0; i < d->n_tabs && d->tabs; i++)
		free(d->tabs[i].name);
	free(d->tabs);
	for (size_t i = 0; i < d->n_dashcards && d->dashcards; i++)
		mb_dashcard_free(&d->dashcards[i]);
	free(d->dashcards);
	free(d->default_parameters);
	memset(d, 0, sizeof *d);
}

void mb_public_item_free(struct mb_public_item *it)
{
	if (!it)
		return;
	free(it->name);
	free(it->uuid);
	memset(it, 0, sizeof *it);
}

static void string_free(char **s)
{
	free(*s);
}

/* ------------------------------------------------------------------ */
/* Lists: every element, then the array                                 */

#define LIST_FREE(fn, list_type, elem_free)                                   \
	void fn(list_type *l)                                                 \
	{                                                                     \
		if (!l)                                                       \
			return;                                               \
		for (size_t i = 0; i < l->n && l->v; i++)                     \
			elem_free(&l->v[i]);                                  \
		free(l->v);                                                   \
		memset(l, 0, sizeof *l);                                      \
	}

LIST_FREE(mb_card_list_free, struct mb_card_list, mb_card_free)
LIST_FREE(mb_collection_list_free, struct mb_collection_list, mb_collection_free)
LIST_FREE(mb_database_list_free, struct mb_database_list, mb_database_free)
LIST_FREE(mb_table_list_free, struct mb_table_list, mb_table_free)
LIST_FREE(mb_string_list_free, struct mb_string_list, string_free)
LIST_FREE(mb_user_list_free, struct mb_user_list, mb_user_free)
LIST_FREE(mb_dashboard_list_free, struct mb_dashboard_list, mb_dashboard_free)
LIST_FREE(mb_public_list_free, struct mb_public_list, mb_public_item_free)
