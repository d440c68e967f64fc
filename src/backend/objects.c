/*
 * objects.c — owns the neutral object lists a backend hands the core
 * (objects.h): growth under a cap, the xattr lines, freeing.
 */
#include "objects.h"

#include <stdlib.h>
#include <string.h>

struct mbfs_object *mbfs_object_add(struct mbfs_object_list *l)
{
	if (l->n >= MBFS_OBJECTS_MAX)
		return NULL;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct mbfs_object *v = realloc(l->v, cap * sizeof *v);
		if (!v)
			return NULL;
		l->v = v;
		l->cap = cap;
	}
	struct mbfs_object *o = &l->v[l->n++];
	memset(o, 0, sizeof *o);
	return o;
}

void mbfs_object_list_free(struct mbfs_object_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		struct mbfs_object *o = &l->v[i];
		free(o->key);
		free(o->name);
		free(o->sql);
		free(o->text);
		free(o->description);
		free(o->updated_at);
		free(o->xattrs);
	}
	free(l->v);
	memset(l, 0, sizeof *l);
}

bool mbfs_object_xattr_add(char **xattrs, const char *name, const char *value)
{
	size_t old = *xattrs ? strlen(*xattrs) : 0;
	size_t ln = strlen(name), lv = strlen(value);
	char *s = realloc(*xattrs, old + ln + lv + 3);
	if (!s)
		return false;
	char *p = s + old;
	memcpy(p, name, ln);
	p += ln;
	*p++ = '\t';
	for (size_t i = 0; i < lv; i++)
		*p++ = value[i] == '\t' || value[i] == '\n' ? ' ' : value[i];
	*p++ = '\n';
	*p = '\0';
	*xattrs = s;
	return true;
}
