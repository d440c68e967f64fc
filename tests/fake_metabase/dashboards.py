# dashboards.py — the dashboards of the fake catalogue.
#
# Owns: dashboard definitions (dashcards, tabs, parameters and their
# mappings onto card template tags or fields), the JSON shapes of
# GET /api/dashboard and GET /api/dashboard/:id per behaviour
# (`dashcards`/`tabs` in new, `ordered_cards`/`ordered_tabs` in old;
# unreadable cards stripped to {"id": N}; virtual text/heading/link cards
# with card_id null), and which parameters a dashcard export runs with
# (request values, else the dashboard's defaults).
#
# Fixed dashboards:
#   1 "Sales overview"   (Sales)          no tabs; text + heading cards, a card twice with a
#                                         title override, an unreadable-for-analyst card,
#                                         parameters From (default 2025-01-01) and Category
#                                         (default Gizmo) mapped to template tags / a field
#   2 "Weekly KPIs"      (root)           two tabs; holds dashboard question card 36
#   3 "Ops board"        (Ops / Finance)  holds dashboard question card 37 (Warehouse data)
#   4 "Campaign board"   (Marketing)      invisible to analyst@example.com
#   5 "Retired board"    (Sales)          archived
#   6 "Filtered orders"  (Filters)        shared by public link; filters Category (string/=, default
#                                         Widget), Created (date/all-options, default 2024), Max price
#                                         (number/=, no default) mapped to the template tags of cards 38
#                                         and 39 and to the fields of GUI card 40

import copy

import catalog
import common
from common import Halt


def _param(pid, name, slug, ptype, default, section):
    p = {"id": pid, "name": name, "slug": slug, "type": ptype, "sectionId": section}
    if default is not None:
        p["default"] = default
    return p


def _definitions(cat, behaviour):
    wh = cat.wh
    category_fid = wh.field(1, "PRODUCTS", "CATEGORY").id
    product_created_fid = wh.field(1, "PRODUCTS", "CREATED_AT").id
    category_default = ["Gizmo"] if behaviour.name == "new" else "Gizmo"
    dashboards = [
        {"id": 1, "name": "Sales overview", "collection_id": catalog.COLL_SALES,
         "description": "Revenue, orders per day and products, filtered by date and category.",
         "parameters": [_param("p_from", "From", "from", "date/single", "2025-01-01", "date"),
                        _param("p_category", "Category", "category", "category", category_default, "string")],
         "tabs": []},
        {"id": 2, "name": "Weekly KPIs", "collection_id": None, "description": None, "parameters": [],
         "tabs": [{"id": 1, "name": "Overview"}, {"id": 2, "name": "Details"}]},
        {"id": 3, "name": "Ops board", "collection_id": catalog.COLL_OPS_FINANCE, "description": None,
         "parameters": [], "tabs": []},
        {"id": 4, "name": "Campaign board", "collection_id": catalog.COLL_MARKETING, "description": None,
         "parameters": [], "tabs": []},
        {"id": 5, "name": "Retired board", "collection_id": catalog.COLL_SALES, "description": "Archived.",
         "parameters": [], "tabs": [], "archived": True},
        {"id": 6, "name": "Filtered orders", "collection_id": catalog.COLL_FILTERS,
         "description": "Filters mapped to template tags and to fields; shared by public link.",
         "parameters": [_param("f_category", "Category", "category", "string/=", ["Widget"], "string"),
                        _param("f_created", "Created", "created_at", "date/all-options", "2024-01-01~2024-12-31",
                               "date"),
                        _param("f_price", "Max price", "max_price", "number/=", None, "number")],
         "tabs": [], "public_uuid": catalog.public_uuid("dashboard", 6)},
    ]

    def text_viz(display, text):
        vs = {"virtual_card": {"name": None, "display": display, "visualization_settings": {},
                               "dataset_query": {}, "archived": False}}
        if display == "link":
            vs["link"] = {"entity": {"id": 3, "name": "Revenue", "model": "card", "display": "line"}}
        else:
            vs["text"] = text
        return vs

    m_from = {"parameter_id": "p_from", "card_id": 9, "target": ["variable", ["template-tag", "from"]]}
    m_cat_tag = {"parameter_id": "p_category", "card_id": 6,
                 "target": ["variable", ["template-tag", "category"]]}
    m_cat_dim = {"parameter_id": "p_category", "card_id": 7,
                 "target": ["dimension", ["field", category_fid, None]]}
    dashcards = [
        # id, dashboard, card, tab, (row, col, w, h), viz settings, parameter mappings
        (1, 1, None, None, (0, 0, 24, 2), text_viz("heading", "Sales at a glance"), []),
        (2, 1, 3, None, (2, 0, 12, 6), {}, []),
        (3, 1, 3, None, (2, 12, 12, 6), {"card.title": "Revenue (again)"}, []),
        (4, 1, 9, None, (8, 0, 12, 6), {}, [m_from]),
        (5, 1, 6, None, (8, 12, 12, 6), {}, [m_cat_tag]),
        (6, 1, 7, None, (14, 0, 12, 6), {"card.title": "Catalogue / filtered"}, [m_cat_dim]),
        (7, 1, None, None, (14, 12, 12, 4), text_viz("text", "## Notes\nNumbers are **fake**."), []),
        (8, 1, 19, None, (20, 0, 12, 6), {}, []),
        (9, 2, 2, 1, (0, 0, 6, 3), {}, []),
        (10, 2, 11, 1, (0, 6, 12, 6), {}, []),
        (11, 2, 1, 2, (0, 0, 24, 8), {}, []),
        (12, 2, 36, 2, (8, 0, 12, 6), {}, []),
        (13, 2, None, 2, (8, 12, 12, 2), text_viz("link", None), []),
        (14, 3, 37, None, (0, 0, 12, 6), {}, []),
        (15, 3, 33, None, (0, 12, 12, 6), {}, []),
        (16, 4, 21, None, (0, 0, 12, 6), {}, []),
        (17, 5, 4, None, (0, 0, 12, 6), {}, []),
        (18, 6, 38, None, (0, 0, 12, 6), {}, [
            {"parameter_id": "f_category", "card_id": 38, "target": ["variable", ["template-tag", "category"]]},
            {"parameter_id": "f_created", "card_id": 38, "target": ["dimension", ["template-tag", "created_at"]]}]),
        (19, 6, 39, None, (0, 12, 12, 6), {}, [
            {"parameter_id": "f_price", "card_id": 39, "target": ["variable", ["template-tag", "max_price"]]}]),
        (20, 6, 40, None, (6, 0, 12, 6), {"card.title": "Products (filtered)"}, [
            {"parameter_id": "f_category", "card_id": 40, "target": ["dimension", ["field", category_fid, None]]},
            {"parameter_id": "f_created", "card_id": 40,
             "target": ["dimension", ["field", product_created_fid, None]]}]),
        (21, 6, None, None, (6, 12, 12, 2), text_viz("text", "Filters apply to every card here."), []),
    ]
    return dashboards, dashcards


def install(cat):
    """Add the fixed dashboards to catalog `cat` (cards must already be loaded)."""
    b = cat.b
    dashboards, dashcards = _definitions(cat, b)
    cat.dashboards = {}
    cat.dashcards = {}
    tab_ids = {}
    for d in dashboards:
        i = d["id"]
        d.setdefault("archived", False)
        d.setdefault("public_uuid", None)
        d["entity_id"] = catalog.entity_id("dashboard", i)
        d["created_at"] = catalog._ts(i + 40)
        d["updated_at"] = catalog._ts(i + 40, "-07:00", 5, 4)
        d["creator_id"] = 1
        d["last_editor_id"] = 1 if i != 3 else 2
        d["collection_position"] = 1 if i == 1 else None
        tabs = []
        for pos, t in enumerate(d["tabs"]):
            tab = {"id": t["id"], "dashboard_id": i, "name": t["name"], "position": pos,
                   "entity_id": catalog.entity_id("tab", t["id"]), "created_at": d["created_at"],
                   "updated_at": d["updated_at"]}
            tabs.append(tab)
            tab_ids[t["id"]] = i
        d["tabs"] = tabs
        cat.dashboards[i] = d
    for dcid, did, cid, tab, (row, col, w, h), viz, mappings in dashcards:
        if cid is not None and cid not in cat.cards:
            continue  # e.g. a metric card in the old behaviour
        cat.dashcards[dcid] = {
            "id": dcid, "dashboard_id": did, "card_id": cid, "dashboard_tab_id": tab, "row": row, "col": col,
            "size_x": w, "size_y": h, "visualization_settings": viz, "parameter_mappings": mappings,
            "series": [], "entity_id": catalog.entity_id("dashcard", dcid),
            "created_at": catalog._ts(dcid + 60), "updated_at": catalog._ts(dcid + 60),
        }
    cat.invalidate()


def summary(cat, d):
    """An element of GET /api/dashboard."""
    creator = cat.users[d["creator_id"]]
    editor = cat.users[d["last_editor_id"]]
    out = {
        "description": d["description"], "archived": d["archived"],
        "collection_position": d["collection_position"], "creator": creator.summary(),
        "enable_embedding": False, "collection_id": d["collection_id"], "show_in_getting_started": False,
        "name": d["name"], "caveats": None, "creator_id": d["creator_id"], "updated_at": d["updated_at"],
        "made_public_by_id": 1 if d.get("public_uuid") else None, "embedding_params": None, "cache_ttl": None,
        "id": d["id"],
        "position": None, "entity_id": d["entity_id"],
        "last-edit-info": editor.edit_info(d["updated_at"]),
        "parameters": copy.deepcopy(d["parameters"]), "auto_apply_filters": True,
        "created_at": d["created_at"], "public_uuid": cat.shown_public_uuid(d), "points_of_interest": None,
    }
    if cat.b.name == "new":
        out.update({"archived_directly": d["archived"], "width": "fixed", "is_remote_synced": False,
                    "last_viewed_at": d["updated_at"], "dashboard_load_id": None})
    return out


def _card_for_dashcard(cat, card, viewer, legacy):
    if not cat.can_read_card(viewer, card):
        return {"id": card["id"]}
    out = cat.card_json(card, viewer, legacy)
    out["query_average_duration"] = None
    return out


def detail(cat, d, viewer, legacy):
    """GET /api/dashboard/:id."""
    out = summary(cat, d)
    dcs = []
    for dc in sorted((x for x in cat.dashcards.values() if x["dashboard_id"] == d["id"]),
                     key=lambda x: (x["dashboard_tab_id"] or 0, x["row"], x["col"], x["id"])):
        j = {
            "size_x": dc["size_x"], "dashboard_tab_id": dc["dashboard_tab_id"], "series": [],
            "action_id": None, "collection_authority_level": None, "updated_at": dc["updated_at"],
            "col": dc["col"], "id": dc["id"], "parameter_mappings": copy.deepcopy(dc["parameter_mappings"]),
            "card_id": dc["card_id"], "entity_id": dc["entity_id"],
            "visualization_settings": copy.deepcopy(dc["visualization_settings"]), "size_y": dc["size_y"],
            "dashboard_id": d["id"], "created_at": dc["created_at"], "row": dc["row"],
        }
        if dc["card_id"] is None:
            j["card"] = None if cat.b.name == "new" else {"query_average_duration": None}
        else:
            j["card"] = _card_for_dashcard(cat, cat.cards[dc["card_id"]], viewer, legacy)
        dcs.append(j)
    out[cat.b.dashcards_key] = dcs
    out[cat.b.tabs_key] = copy.deepcopy(d["tabs"])
    collection = cat.collection_summary(d["collection_id"])
    out.update({
        "can_write": cat.can_write_collection(viewer, d["collection_id"] or catalog.ROOT),
        "collection_authority_level": None,
        "collection": collection if collection is not None else
        {"name": "Our analytics", "id": "root", "authority_level": None, "is_personal": False},
        "param_fields": None, "param_values": None,
    })
    if cat.b.name == "new":
        out.update({"can_restore": False, "can_delete": False, "can_set_cache_policy": viewer.is_superuser,
                    "moderation_reviews": [], "last_used_param_values": {}})
    return out


def dashcard_parameters(cat, d, dc, card, request_params):
    """Card parameters for a dashcard query: request values by dashboard parameter id, else defaults.

    A request parameter without an id, or with an id the dashboard does not have, is
    Metabase's error (qp.dashboard/resolve-params-for-query): raised as Halt."""
    given = {}
    known = {p["id"]: p for p in d["parameters"]}
    for p in request_params or ():
        if not isinstance(p, dict) or "id" not in p:
            raise Halt(common.exception_response(
                500, "Unable to resolve invalid query parameter: parameter is missing :id",
                {"type": "invalid-parameter", "invalid-parameter": p}, cat.b))
        if p["id"] not in known:
            raise Halt(common.exception_response(
                400, "Dashboard does not have a parameter with ID %s." % common.clj_str(p["id"]),
                {"type": "invalid-parameter"}, cat.b))
        given[p["id"]] = p
    out = []
    for p in d["parameters"]:
        req = given.get(p["id"])
        value = req.get("value") if req is not None else p.get("default")
        if value is None or value == []:
            continue
        ptype = (req or {}).get("type") or p["type"]
        for m in dc["parameter_mappings"]:
            if m["parameter_id"] == p["id"] and m["card_id"] == card["id"]:
                out.append({"id": p["id"], "type": ptype, "value": value, "target": m["target"]})
    return out


def _public_card(cat, card):
    """A card as public endpoints show it (api/public remove-card-non-public-columns)."""
    dq = card["dataset_query"]
    if cat.b.name == "old":
        q = {"type": dq["type"]}
        if dq["type"] == "native":
            q["native"] = {"template-tags": copy.deepcopy(dq["native"].get("template-tags") or {})}
        return {"id": card["id"], "name": card["name"], "description": card["description"],
                "display": card["display"], "visualization_settings": copy.deepcopy(card["visualization_settings"]),
                "dataset_query": q}
    if dq["type"] == "native":
        stage = {"lib/type": "mbql.stage/native", "native": "-"}
    else:
        stage = {"lib/type": "mbql.stage/mbql"}
        src = dq["query"].get("source-table")
        if src is not None:
            stage["source-table"] = src
    return {"id": card["id"], "name": card["name"], "description": card["description"],
            "display": card["display"], "visualization_settings": copy.deepcopy(card["visualization_settings"]),
            "parameters": copy.deepcopy(card["parameters"]), "param_fields": None,
            "entity_id": card["entity_id"],
            "dataset_query": {"lib/type": "mbql/query", "database": dq["database"], "stages": [stage]}}


def public_card_json(cat, card):
    """GET /api/public/card/:uuid."""
    out = _public_card(cat, card)
    out["param_fields"] = None if cat.b.name == "new" else {}
    return out


def public_detail(cat, d):
    """GET /api/public/dashboard/:uuid: only the keys Metabase lets the public see."""
    dcs = []
    for dc in sorted((x for x in cat.dashcards.values() if x["dashboard_id"] == d["id"]),
                     key=lambda x: (x["dashboard_tab_id"] or 0, x["row"], x["col"], x["id"])):
        card = cat.cards.get(dc["card_id"]) if dc["card_id"] is not None else None
        pc = None
        if card is not None:
            pc = _public_card(cat, card)
            pc["query_average_duration"] = None
        j = {"id": dc["id"], "card": pc, "card_id": dc["card_id"], "dashboard_id": d["id"], "series": [],
             "col": dc["col"], "row": dc["row"], "size_x": dc["size_x"], "size_y": dc["size_y"],
             "parameter_mappings": copy.deepcopy(dc["parameter_mappings"]),
             "visualization_settings": copy.deepcopy(dc["visualization_settings"])}
        if cat.b.name == "new":
            j["dashboard_tab_id"] = dc["dashboard_tab_id"]
            j["inline_parameters"] = []
        dcs.append(j)
    out = {"name": d["name"], "description": d["description"], "id": d["id"],
           "parameters": copy.deepcopy(d["parameters"]), cat.b.dashcards_key: dcs, "param_fields": {}}
    if cat.b.name == "new":
        out.update({"auto_apply_filters": True, "width": "fixed", "tabs": copy.deepcopy(d["tabs"])})
    return out
