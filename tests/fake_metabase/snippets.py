# snippets.py — native query snippets (GET /api/native-query-snippet[/:id]).
#
# Owns: the fixed snippets of the fake and their JSON shape: the
# NativeQuerySnippet columns plus the hydrated `creator` (and, in the new
# behaviour, `is_remote_synced`), sorted by lower-cased name, archived ones
# only with archived=true.  Every user may read them (no snippet folders).

import catalog

SNIPPETS = [
    # id, name, description, content, archived
    (1, "Big orders", "Orders with a total above 100.", "TOTAL > 100", False),
    (2, "Gizmo products", None, "CATEGORY = 'Gizmo'", False),
    (3, "Old filter", "Archived long ago.", "1 = 0", True),
]


def snippet_json(cat, sid, name, description, content, archived):
    creator = cat.users[1]
    out = {
        "id": sid, "name": name, "description": description, "content": content,
        "collection_id": None, "creator_id": creator.id, "archived": archived,
        "created_at": catalog._ts(sid + 80), "updated_at": catalog._ts(sid + 80, "-07:00"),
        "entity_id": catalog.entity_id("snippet", sid), "creator": creator.summary(),
    }
    if cat.b.name == "new":
        out["is_remote_synced"] = False
    return out


def listing(cat, archived):
    rows = [snippet_json(cat, *s) for s in SNIPPETS if s[4] == archived]
    rows.sort(key=lambda r: (r["name"].lower(), r["id"]))
    return rows


def get(cat, sid):
    for s in SNIPPETS:
        if s[0] == sid:
            return snippet_json(cat, *s)
    return None
