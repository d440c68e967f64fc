# bulk.py — optional, large catalogues and results for benchmarks.
#
# Owns: what --bulk-collections / --bulk-cards / --bulk-dashboards and
# --big-export-mb add to the catalogue (nothing by default, so the fixed
# catalogue and its ids never change):
#   * collection 1000 "Bulk" at the root, with collections 1001.. below it
#     in a tree of fan-out 10;
#   * cards 10001.. ("Bulk card 00001", ...) spread round-robin over those
#     collections (cheap MBQL queries on PRODUCTS, every 10th one native);
#   * dashboards 1001.. with two dashcards each (dashcard ids 10001..);
#   * card 1000 "Big export" in the root collection: its csv/json downloads
#     are about N MB, made by repeating a pre-rendered block of PRODUCTS rows
#     (cheap to serve: the server's cost stays far below the client's).

import math

import catalog
import formats
import mbql

BULK_ROOT = 1000
BIG_CARD_ID = 1000
FIRST_BULK_CARD = 10001
FIRST_BULK_DASHBOARD = 1001
FIRST_BULK_DASHCARD = 10001
FANOUT = 10


def install(cat, collections=0, cards=0, dashboards=0, big_export_mb=0):
    if collections or cards or dashboards:
        _install_bulk(cat, collections, cards, dashboards)
    if big_export_mb:
        _install_big(cat, big_export_mb)
    cat.invalidate()


def _install_bulk(cat, n_colls, n_cards, n_dash):
    def coll(cid, name, location):
        return {"id": cid, "name": name, "description": None, "location": location, "personal_owner_id": None,
                "archived": False, "entity_id": catalog.entity_id("collection", cid),
                "created_at": catalog._ts(cid % 97, "-07:00", 1, 1), "authority_level": None,
                "namespace": None, "type": None}
    cat.collections[BULK_ROOT] = coll(BULK_ROOT, "Bulk", "/")
    ids = [BULK_ROOT]
    for k in range(n_colls):
        cid = BULK_ROOT + 1 + k
        parent = BULK_ROOT if k < FANOUT else BULK_ROOT + 1 + (k - FANOUT) // FANOUT
        loc = cat.collections[parent]["location"] + "%d/" % parent
        cat.collections[cid] = coll(cid, "Bulk collection %04d" % (k + 1), loc)
        ids.append(cid)
    wh = cat.wh
    products = wh.table(1, "PRODUCTS")
    fields = [["field", products.field(n).id, None] for n in ("ID", "TITLE", "PRICE")]
    meta = None
    native_meta = None
    for j in range(n_cards):
        cid = FIRST_BULK_CARD + j
        if j % 10 == 9:
            dq = {"database": 1, "type": "native",
                  "native": {"query": "SELECT ID, TITLE FROM PRODUCTS ORDER BY ID LIMIT %d" % (1 + j % 50)}}
        else:
            dq = {"database": 1, "type": "query",
                  "query": {"source-table": products.id, "fields": fields, "limit": 1 + j % 50}}
        card = {"id": cid, "name": "Bulk card %05d" % (j + 1), "collection_id": ids[j % len(ids)],
                "dataset_query": dq, "display": "table", "kind": "question", "description": None,
                "archived": False, "parameters": [], "creator_id": 1, "last_editor_id": 1, "new_only": False,
                "visualization_settings": {}, "dashboard_id": None, "collection_position": None,
                "database_id": 1, "query_type": "native" if dq["type"] == "native" else "query",
                "table_id": None if dq["type"] == "native" else products.id,
                "entity_id": catalog.entity_id("card", cid),
                "created_at": catalog._ts(cid % 89), "updated_at": catalog._ts(cid % 89, "-07:00", 4, 3),
                "last_edited_at": catalog._ts(cid % 89 + 1, "-07:00", 4, 3)}
        # every bulk card of one kind has the same columns: compute their metadata once
        if dq["type"] == "native":
            if native_meta is None:
                native_meta = cat._result_metadata(dq, [])
            card["result_metadata"] = native_meta
        else:
            if meta is None:
                meta = cat._result_metadata(dq, [])
            card["result_metadata"] = meta
        cat.cards[cid] = card
    for k in range(n_dash):
        did = FIRST_BULK_DASHBOARD + k
        d = {"id": did, "name": "Bulk dashboard %04d" % (k + 1), "collection_id": ids[k % len(ids)],
             "description": None, "parameters": [], "tabs": [], "archived": False,
             "entity_id": catalog.entity_id("dashboard", did), "created_at": catalog._ts(did % 83),
             "updated_at": catalog._ts(did % 83, "-07:00", 5, 4), "creator_id": 1, "last_editor_id": 1,
             "collection_position": None}
        cat.dashboards[did] = d
        for n in range(2):
            dcid = FIRST_BULK_DASHCARD + 2 * k + n
            card_id = FIRST_BULK_CARD + (2 * k + n) % n_cards if n_cards else None
            cat.dashcards[dcid] = {
                "id": dcid, "dashboard_id": did, "card_id": card_id, "dashboard_tab_id": None, "row": 6 * n,
                "col": 0, "size_x": 12, "size_y": 6, "series": [], "parameter_mappings": [],
                "visualization_settings": {} if card_id else
                {"virtual_card": {"name": None, "display": "text", "visualization_settings": {},
                                  "dataset_query": {}, "archived": False}, "text": "empty"},
                "entity_id": catalog.entity_id("dashcard", dcid), "created_at": d["created_at"],
                "updated_at": d["updated_at"]}


# --------------------------------------------------------------------------
# The big export
# --------------------------------------------------------------------------

# about 1.1 KB per CSV row, so that even 1 GB stays below the 1,048,575-row download cap
BIG_SQL = ("SELECT ID, EAN, TITLE, CATEGORY, PRICE, CREATED_AT,\n"
           "       substr(replace(hex(zeroblob(600)), '00', 'lorem ipsum, '), 1, 1000) || TITLE AS NOTES\n"
           "FROM PRODUCTS ORDER BY ID")


def _install_big(cat, megabytes):
    dq = {"database": 1, "type": "native", "native": {"query": BIG_SQL}}
    base = mbql.run(cat.wh, dq)
    csv_block = b"".join(list(formats.csv_chunks(base.columns, base.rows))[1:])
    header = next(formats.csv_chunks(base.columns, []))
    reps = max(1, int(math.ceil(megabytes * 1024 * 1024 / float(len(csv_block)))))
    json_objs = b"".join(formats.json_chunks(base.columns, base.rows))[2:-2]   # between "[\n" and "\n]"
    card = {"id": BIG_CARD_ID, "name": "Big export", "collection_id": None, "dataset_query": dq,
            "display": "table", "kind": "question",
            "description": "About %d MB of CSV: PRODUCTS repeated %d times." % (megabytes, reps),
            "archived": False, "parameters": [], "creator_id": 1, "last_editor_id": 1, "new_only": False,
            "visualization_settings": {}, "dashboard_id": None, "collection_position": None,
            "database_id": 1, "query_type": "native", "table_id": None,
            "entity_id": catalog.entity_id("card", BIG_CARD_ID), "created_at": catalog._ts(3),
            "updated_at": catalog._ts(3, "Z", 4, 3), "last_edited_at": catalog._ts(4, "-07:00", 4, 3),
            "result_metadata": [c.metadata() for c in base.columns],
            "big": {"reps": reps, "base": base, "csv_header": header, "csv_block": csv_block,
                    "json_block": json_objs}}
    cat.cards[BIG_CARD_ID] = card


def big_rows(card, cap):
    """The big card's rows as a query result (for api/xlsx), cut at `cap` rows."""
    big = card["big"]
    base = big["base"]
    total = len(base.rows) * big["reps"]
    n = total if cap is None else min(cap, total)
    rows = [base.rows[i % len(base.rows)] for i in range(n)]
    return mbql.Result(base.columns, rows, base.sql, 1)


def big_chunks(card, fmt, cap):
    """csv/json bytes of the big card: repeated pre-rendered blocks, cut to `cap` rows."""
    big = card["big"]
    base = big["base"]
    per_block = len(base.rows)
    total = per_block * big["reps"]
    n = total if cap is None else min(cap, total)
    full, rest = divmod(n, per_block)
    tail_csv = tail_json = b""
    if rest:
        tail_csv = b"".join(list(formats.csv_chunks(base.columns, base.rows[:rest]))[1:])
        tail_json = b"".join(formats.json_chunks(base.columns, base.rows[:rest]))[2:-2]
    if fmt == "csv":
        yield big["csv_header"]
        for _ in range(full):
            yield big["csv_block"]
        if tail_csv:
            yield tail_csv
    else:
        yield b"[\n"
        for i in range(full):
            yield big["json_block"] if i == 0 else b",\n" + big["json_block"]
        if tail_json:
            yield tail_json if full == 0 else b",\n" + tail_json
        yield b"\n]"
