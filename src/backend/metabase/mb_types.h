/*
 * mb_types.h — plain C views of the Metabase objects mbfs uses.
 *
 * Filled by the JSON decoders (json*.c, the only files that see json-c;
 * mb_json.h) and consumed by the namespace (tree_build.c, tree_unlisted.c)
 * and the export engine. Every string is a heap copy owned by the struct
 * that holds it, NUL-terminated, and may contain any bytes the
 * server sent (names are hostile input: escape before use as file names).
 * A NULL string means the server sent null or nothing. Free with the
 * matching *_free() below (they accept NULL and zeroed structs).
 *
 * Ids: Metabase ids are integers; 0 is used here for "none" (the root
 * collection, a card outside any dashboard, ...).
 */
#ifndef MBFS_MB_TYPES_H
#define MBFS_MB_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum mb_model {
	MB_MODEL_UNKNOWN = 0,
	MB_MODEL_COLLECTION,
	MB_MODEL_DASHBOARD,
	MB_MODEL_CARD,      /* a saved question                       */
	MB_MODEL_DATASET,   /* a model ("dataset" in the API)         */
	MB_MODEL_METRIC,    /* a v0.50+ metric card                   */
	MB_MODEL_TABLE,
	MB_MODEL_DATABASE,
	MB_MODEL_OTHER      /* pulse, snippet, timeline, document ... */
};

/* "card", "dataset", ... as the API spells them; never NULL. */
const char *mb_model_name(enum mb_model m);

/* A card (question, model or metric), from GET /api/card or /api/card/:id. */
struct mb_card {
	int64_t id;
	char *name;
	char *description;
	enum mb_model model;       /* CARD, DATASET or METRIC: from `type`, else `dataset` */
	int64_t collection_id;     /* 0 = root */
	int64_t dashboard_id;      /* 0 = not a dashboard question */
	int64_t database_id;
	int64_t table_id;          /* 0 when none */
	bool archived;
	bool native;               /* query_type == "native" */
	char *native_sql;          /* the SQL text of native cards (MBQL 4 or 5), else NULL */
	char *updated_at;
	char *entity_id;
	/* The parameters a file name may set (DESIGN.md §1 "Card
	 * parameters"): the card's `parameters` plus the template tags no
	 * parameter covers, normalized by json_params.c to a JSON array of
	 * {"id","slug","name","type"[,"default"][,"target"]}; NULL when the
	 * card has none. */
	char *param_defs;
	char *public_uuid;         /* the public link's uuid, or NULL */
};

struct mb_card_list {
	struct mb_card *v;
	size_t n;
};

/* A collection, from GET /api/collection or /api/collection/:id. */
struct mb_collection {
	int64_t id;                /* 0 = the root pseudo-collection */
	char *name;
	char *description;
	char *location;            /* "/9/10/" ancestors; NULL for root */
	int64_t personal_owner_id; /* 0 unless personal */
	bool archived;
	char *namespace_;          /* NULL for ordinary collections */
	char *type;                /* NULL, "trash", "instance-analytics", ... */
	char *updated_at;          /* created_at when nothing newer is known */
};

struct mb_collection_list {
	struct mb_collection *v;
	size_t n;
};

struct mb_database {
	int64_t id;
	char *name;
	char *description;
	char *engine;
	char *updated_at;
	bool native_write;         /* native_permissions is "write": the user
				      may run SQL on it (queries/) */
};

struct mb_database_list {
	struct mb_database *v;
	size_t n;
};

struct mb_table {
	int64_t id;
	int64_t db_id;
	char *name;
	char *display_name;
	char *schema;              /* "" when the server sent null */
	char *description;
	char *updated_at;
	bool active;
	bool hidden;               /* visibility_type is non-null */
};

struct mb_table_list {
	struct mb_table *v;
	size_t n;
};

struct mb_string_list {
	char **v;
	size_t n;
};

struct mb_user {
	int64_t id;
	char *email;
	char *common_name;         /* "First Last" (built when the server omits it) */
	bool is_superuser;
	int64_t personal_collection_id;
};

struct mb_user_list {
	struct mb_user *v;
	size_t n;
};

/* GET /api/session/properties, the parts mbfs reads. */
struct mb_properties {
	char *version_tag;         /* "v0.50.26"; NULL if absent */
	char *site_name;
	bool password_login_enabled;
};

/* Dashboards (issue: namespace). */
struct mb_dashboard_tab {
	int64_t id;
	char *name;
	int64_t position;
};

struct mb_dashcard {
	int64_t id;                /* dashcard id */
	int64_t card_id;           /* 0 for text/heading/link/action cards */
	int64_t tab_id;            /* 0 when the dashboard has no tabs */
	char *card_name;           /* NULL when the card is unreadable ({"id":N} stub) */
	char *title;               /* visualization_settings["card.title"], else NULL */
	char *card_description;
	enum mb_model card_model;  /* CARD, DATASET or METRIC (UNKNOWN for stubs) */
	char *updated_at;          /* the card's updated_at, else the dashcard's */
	bool card_native;
	bool card_archived;        /* the card itself is archived */
	/* The dashboard filters mapped to this dashcard's card (its
	 * parameter_mappings), as {"id","slug","name","type"[,"default"],
	 * "target"} (target: the mapping's), a JSON array; NULL when none. */
	char *param_defs;
};

struct mb_dashboard {
	int64_t id;
	char *name;
	char *description;
	int64_t collection_id;     /* 0 = root */
	bool archived;
	char *updated_at;
	struct mb_dashboard_tab *tabs;   /* sorted by position */
	size_t n_tabs;
	struct mb_dashcard *dashcards;
	size_t n_dashcards;
	/* JSON array for the export's `parameters` field: every dashboard
	 * parameter that has a default, as {"id":..,"type":..,"value":..,"target"?}.
	 * "[]" when none. Never NULL after a successful decode. */
	char *default_parameters;
};

struct mb_dashboard_list {
	struct mb_dashboard *v;    /* list entries: no tabs/dashcards */
	size_t n;
};

/* GET /api/card/public and GET /api/dashboard/public: what an admin sees
 * of the objects shared by public link. */
struct mb_public_item {
	int64_t id;
	char *name;
	char *uuid;                /* public_uuid; never NULL after decoding */
};

struct mb_public_list {
	struct mb_public_item *v;
	size_t n;
};

/* The values a file name gives one parameter ("?slug=v1&slug=v2"),
 * percent-decoded (params.h). */
struct mb_param_arg {
	char *slug;
	char **values;
	size_t n_values;
};

struct mb_param_args {
	struct mb_param_arg *v;
	size_t n;
};

/* Destructors (mb_types.c): each frees what the struct owns and zeroes
 * it; NULL and zeroed structs are fine. */
void mb_card_free(struct mb_card *c);
void mb_card_list_free(struct mb_card_list *l);
void mb_collection_free(struct mb_collection *c);
void mb_collection_list_free(struct mb_collection_list *l);
void mb_database_free(struct mb_database *db);
void mb_database_list_free(struct mb_database_list *l);
void mb_table_free(struct mb_table *t);
void mb_table_list_free(struct mb_table_list *l);
void mb_string_list_free(struct mb_string_list *l);
void mb_user_free(struct mb_user *u);
void mb_user_list_free(struct mb_user_list *l);
void mb_properties_free(struct mb_properties *p);
void mb_dashcard_free(struct mb_dashcard *dc);
void mb_dashboard_free(struct mb_dashboard *d);
void mb_dashboard_list_free(struct mb_dashboard_list *l);
void mb_public_item_free(struct mb_public_item *it);
void mb_public_list_free(struct mb_public_list *l);
void mb_param_args_free(struct mb_param_args *a);

#endif
