# catalog.py — the Metabase application database of the fake: collections,
# cards, dashboards and who may read them.
#
# Owns: the fixed, deterministic catalogue (ids, names, queries,
# timestamps, entity ids), the permission rules (personal collections,
# the analyst's restrictions), mutation for the /__fake/edit side channel,
# and the JSON shapes of these objects per behaviour (old ≈ v0.46,
# new ≈ v0.63): GET /api/card*, /api/collection*, collection items,
# /api/dashboard*.  Data rows live in data.py; query execution in mbql.py.

import copy
import random
import threading
import uuid

import dashboards
import mbql

ROOT = "root"

# ---------------------------------------------------------------------------
# Fixed ids, for tests and for the catalogue below
# ---------------------------------------------------------------------------

COLL_ADMIN_PERSONAL = 1
COLL_ANALYST_PERSONAL = 2
COLL_SALES = 3
COLL_REGIONAL = 4
COLL_EMEA = 5
COLL_DEEP_DIVE = 6
COLL_MARKETING = 7
COLL_OPS_FINANCE = 8
COLL_OLD_REPORTS = 9          # archived
COLL_CAMPAIGNS = 10           # inside Marketing
COLL_SCRATCH = 11             # inside the admin's personal collection
COLL_APAC = 12                # inside Regional
COLL_FILTERS = 13             # cards and a dashboard with parameters (issue 11)

LONG_NAME = ("Quartalsübersicht für die Geschäftsführung — " + "東京・大阪・名古屋の売上推移 " * 12).strip()

RESTRICTED_USER_ID = 2        # analyst@example.com


def entity_id(kind, ident):
    """A deterministic 21-character NanoID-style entity_id."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
    rng = random.Random("entity/%s/%s" % (kind, ident))
    return "".join(rng.choice(alphabet) for _ in range(21))


def stable_uuid(*parts):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "mbfs-fake/" + "/".join(map(str, parts))))


def _ts(i, offset=None, day_base=3, month=2):
    """Timestamps like the application DB returns them: with or without an offset."""
    day = day_base + (i * 7) % 25
    hh, mm, ss = (8 + i) % 24, (i * 13) % 60, (i * 29) % 60
    micros = (i * 104729) % 1000000
    s = "2025-%02d-%02dT%02d:%02d:%02d.%06d" % (month, day, hh, mm, ss, micros)
    s = s.rstrip("0") if micros else s[:-7]
    return s + (offset or "")


# ---------------------------------------------------------------------------
# The catalogue
# ---------------------------------------------------------------------------

def _collections():
    def c(cid, name, location, description=None, owner=None, archived=False):
        return {"id": cid, "name": name, "description": description, "location": location,
                "personal_owner_id": owner, "archived": archived, "entity_id": entity_id("collection", cid),
                "created_at": _ts(cid, "-07:00", 1, 1), "authority_level": None, "namespace": None,
                "type": None}
    return [
        c(COLL_ADMIN_PERSONAL, "Bobby Tables's Personal Collection", "/", owner=1),
        c(COLL_ANALYST_PERSONAL, "Ada Analyst's Personal Collection", "/", owner=2),
        c(COLL_SALES, "Sales", "/", "Everything the sales team looks at."),
        c(COLL_REGIONAL, "Regional", "/3/", "Sales split by region."),
        c(COLL_EMEA, "EMEA", "/3/4/"),
        c(COLL_DEEP_DIVE, "Deep Dive", "/3/4/5/", "Four levels down, with awkward names."),
        c(COLL_MARKETING, "Marketing", "/", "Campaigns and leads."),
        c(COLL_OPS_FINANCE, "Ops / Finance", "/", "A collection whose name contains a slash."),
        c(COLL_OLD_REPORTS, "Old Reports", "/", "Archived long ago.", archived=True),
        c(COLL_CAMPAIGNS, "Campaigns", "/7/"),
        c(COLL_SCRATCH, "Scratch", "/1/", "Bobby's experiments."),
        c(COLL_APAC, "APAC", "/3/4/"),
        c(COLL_FILTERS, "Filters", "/", "Cards and a dashboard with parameters, some shared by public link."),
    ]


class _Q:
    """Helpers producing legacy dataset_query objects, resolving field names to ids."""

    def __init__(self, wh):
        self.wh = wh

    def f(self, table, field, opts=None, db=1):
        return ["field", self.wh.field(db, table, field).id, opts]

    def table(self, table, db=1, **query):
        q = {"source-table": self.wh.table(db, table).id}
        for k, v in query.items():
            q[k.replace("_", "-")] = v
        return {"database": db, "type": "query", "query": q}

    @staticmethod
    def native(sql, db=1, tags=None):
        return {"database": db, "type": "native", "native": {"query": sql, "template-tags": tags or {}}}


def _template_tag(card_id, name, display, ttype="text", default=None, required=False, dimension=None,
                  widget_type=None):
    tag = {"id": stable_uuid("tag", card_id, name), "name": name, "display-name": display, "type": ttype}
    if dimension is not None:
        tag["dimension"] = dimension
        tag["widget-type"] = widget_type or "category"
    if default is not None:
        tag["default"] = default
    if required:
        tag["required"] = True
    return tag


def _tag_parameter(tag, default=None):
    """The card parameter Metabase's UI stores for a template tag (its id is the tag's id)."""
    ptype = tag["widget-type"] if tag["type"] == "dimension" else \
        {"date": "date/single", "number": "number/="}.get(tag["type"], "category")
    kind = "dimension" if tag["type"] == "dimension" else "variable"
    p = {"id": tag["id"], "type": ptype, "target": [kind, ["template-tag", tag["name"]]],
         "name": tag["display-name"], "slug": tag["name"]}
    if default is not None:
        p["default"] = default
    return p


def public_uuid(kind, ident):
    """The public link uuid of a shared card or dashboard (deterministic)."""
    return stable_uuid("public", kind, ident)


def _cards(wh, behaviour):
    q = _Q(wh)
    cards = []

    def card(cid, name, coll, dq, display="table", kind="question", description=None, archived=False,
             parameters=None, editor=1, creator=1, new_only=False, viz=None, dashboard_id=None, position=None,
             public=False):
        cards.append({
            "id": cid, "name": name, "collection_id": coll, "dataset_query": dq, "display": display,
            "kind": kind, "description": description, "archived": archived,
            "parameters": parameters or [], "creator_id": creator, "last_editor_id": editor,
            "new_only": new_only, "visualization_settings": viz or {}, "dashboard_id": dashboard_id,
            "collection_position": position,
            "public_uuid": public_uuid("card", cid) if public else None,
        })

    O, P, PE, R = "ORDERS", "PRODUCTS", "PEOPLE", "REVIEWS"

    # -- root ("Our analytics")
    card(1, "Orders", None, q.table(O), description="Every order, the whole table.")
    card(2, "Orders, Count", None, q.table(O, aggregation=[["count"]]), display="scalar")
    # -- Sales
    card(3, "Revenue", COLL_SALES, q.native(
        'SELECT substr(CREATED_AT, 1, 7) AS "Month", ROUND(SUM(TOTAL), 2) AS "Revenue"\n'
        "FROM ORDERS\nGROUP BY 1\nORDER BY 1"), display="line",
        description="Monthly revenue, native SQL.", position=1)
    card(4, "Revenue", COLL_SALES, q.table(O, aggregation=[["sum", q.f(O, "TOTAL")]],
                                           breakout=[q.f(O, "CREATED_AT", {"temporal-unit": "year"})]),
         display="bar", description="Yearly revenue, built in the query builder (same name on purpose).")
    card(5, "Revenue / Cost", COLL_SALES, q.native(
        "SELECT p.CATEGORY,\n       SUM(o.TOTAL) AS REVENUE,\n       SUM(o.SUBTOTAL) * 0.61 AS COST,\n"
        "       SUM(o.TOTAL) * 10.0 AS REVENUE_CENTS_X10\nFROM ORDERS o JOIN PRODUCTS p ON p.ID = o.PRODUCT_ID\n"
        "GROUP BY p.CATEGORY\nORDER BY p.CATEGORY"), description="Name with a slash.")
    card(6, "Products by category", COLL_SALES, q.native(
        "SELECT ID, TITLE, CATEGORY, VENDOR, PRICE, RATING\nFROM PRODUCTS\nWHERE CATEGORY = {{category}}\nORDER BY ID",
        tags={"category": _template_tag(6, "category", "Category")}),
        parameters=[{"id": stable_uuid("param", 6, "category"), "type": "category", "name": "Category",
                     "slug": "category", "default": "Widget",
                     "target": ["variable", ["template-tag", "category"]]}],
        description="Native question with a {{category}} template tag (default Widget).")
    card(7, "Product catalogue", COLL_SALES, q.table(P), kind="model",
         description="A model over PRODUCTS.")
    card(8, "Top customers", COLL_SALES, q.native(
        'SELECT pe.NAME, pe.EMAIL, pe.CITY, COUNT(*) AS ORDERS, ROUND(SUM(o.TOTAL), 2) AS TOTAL\n'
        "FROM ORDERS o JOIN PEOPLE pe ON pe.ID = o.USER_ID\nGROUP BY pe.ID\nORDER BY TOTAL DESC, pe.ID\nLIMIT 100"),
        editor=2)
    card(9, "Orders per day", COLL_SALES, q.native(
        'SELECT substr(CREATED_AT, 1, 10) AS "Day", COUNT(*) AS "Orders"\nFROM ORDERS\n'
        "WHERE 1 = 1 [[AND CREATED_AT >= {{from}}]]\nGROUP BY 1\nORDER BY 1",
        tags={"from": _template_tag(9, "from", "From", "date")}), display="line",
        parameters=[{"id": stable_uuid("param", 9, "from"), "type": "date/single", "name": "From",
                     "slug": "from", "target": ["variable", ["template-tag", "from"]]}])
    # -- Sales / Regional (/ APAC, / EMEA / Deep Dive)
    card(10, "Orders by state", COLL_REGIONAL, q.native(
        "SELECT pe.STATE, COUNT(*) AS ORDERS, ROUND(AVG(o.TOTAL), 2) AS AVG_TOTAL\n"
        "FROM ORDERS o JOIN PEOPLE pe ON pe.ID = o.USER_ID\nGROUP BY pe.STATE\nORDER BY pe.STATE"), display="map")
    card(11, "People by source", COLL_REGIONAL, q.table(PE, aggregation=[["count"]], breakout=[q.f(PE, "SOURCE")]),
         display="pie")
    card(12, "APAC customers", COLL_APAC, q.table(PE, filter=["=", q.f(PE, "CITY"), "東京"],
                                                  order_by=[["asc", q.f(PE, "ID")]]))
    card(13, "EMEA leads", COLL_EMEA, q.table(
        PE, fields=[q.f(PE, "ID"), q.f(PE, "NAME"), q.f(PE, "EMAIL"), q.f(PE, "CITY"), q.f(PE, "SOURCE")],
        filter=["=", q.f(PE, "SOURCE"), "Facebook"], limit=200), editor=2)
    card(14, ".Leading dot report", COLL_EMEA, q.native("SELECT * FROM REVIEWS WHERE RATING = 1 ORDER BY ID"),
         description="Starts with a dot.")
    card(15, "Deep dive: reviews", COLL_DEEP_DIVE, q.native("SELECT * FROM REVIEWS ORDER BY ID"),
         description="Bodies with commas, quotes, newlines and emoji.")
    card(16, LONG_NAME, COLL_DEEP_DIVE, q.native("SELECT ID, TITLE FROM PRODUCTS ORDER BY ID LIMIT 5"),
         description="A name longer than 300 bytes of UTF-8.")
    card(17, "..", COLL_DEEP_DIVE, q.native('SELECT 1 AS "dots"'), description="Named '..'.")
    card(18, "Quarterly\tsummary", COLL_DEEP_DIVE, q.table(
        O, aggregation=[["sum", q.f(O, "TOTAL")], ["count"]],
        breakout=[q.f(O, "CREATED_AT", {"temporal-unit": "quarter"})]), description="Has a tab in its name.")
    # -- Marketing (/ Campaigns)
    card(19, "Campaign leads", COLL_MARKETING, q.table(
        PE, filter=["=", q.f(PE, "SOURCE"), "Twitter"], order_by=[["asc", q.f(PE, "ID")]], limit=100))
    card(20, "Reviews with ratings", COLL_MARKETING, q.table(
        R, order_by=[["desc", q.f(R, "RATING")], ["asc", q.f(R, "ID")]], limit=50))
    card(21, "Campaign ROI", COLL_CAMPAIGNS, q.native(
        "SELECT pe.SOURCE, COUNT(DISTINCT pe.ID) AS CUSTOMERS, ROUND(SUM(o.TOTAL), 2) AS REVENUE\n"
        "FROM PEOPLE pe JOIN ORDERS o ON o.USER_ID = pe.ID\nGROUP BY pe.SOURCE\nORDER BY pe.SOURCE"))
    card(22, "Total revenue", COLL_SALES, q.table(O, aggregation=[["sum", q.f(O, "TOTAL")]]),
         display="scalar", kind="metric", new_only=True, description="A v0.50+ metric.")
    # -- Ops / Finance
    card(23, "Tax summary", COLL_OPS_FINANCE, q.native(
        "SELECT TAX, COUNT(*) AS N, SUM(TOTAL) AS TOTAL\nFROM ORDERS\nGROUP BY TAX\nORDER BY TAX"))
    card(24, "Broken SQL", COLL_OPS_FINANCE, q.native("SELECT NO_SUCH_COLUMN FROM ORDERS"),
         description="Always fails: the export is a query-processor error.")
    card(25, "Discounted orders", COLL_OPS_FINANCE, q.table(
        O, fields=[q.f(O, "ID"), q.f(O, "USER_ID"), q.f(O, "TOTAL"), q.f(O, "DISCOUNT"), q.f(O, "CREATED_AT")],
        filter=["not-null", q.f(O, "DISCOUNT")], order_by=[["asc", q.f(O, "ID")]]))
    card(26, "Empty result", COLL_OPS_FINANCE, q.native("SELECT ID, TITLE, PRICE FROM PRODUCTS WHERE 1 = 0"))
    card(27, "Edge cases", COLL_OPS_FINANCE, q.native(
        "SELECT 1 AS ID, 'plain' AS TEXT, 29.46 AS AMOUNT, 3 AS QTY, NULL AS NOTE\n"
        "UNION ALL SELECT 2, 'comma, inside', 37.0, -4, 'x'\n"
        "UNION ALL SELECT 3, 'quote \"inside\"', 12345678.0, 9007199254740993, ''\n"
        "UNION ALL SELECT 4, 'line\nbreak', 0.00001, 0, '  padded  '\n"
        "UNION ALL SELECT 5, 'crlf' || char(13) || char(10) || 'end', -0.5, 1, 'é ü 東京 🎉'\n"
        "UNION ALL SELECT 6, NULL, 1.0E21, NULL, '{\"json\": true}'"),
        description="Values that stress the CSV dialect.")
    card(33, "Warehouse events", COLL_OPS_FINANCE, q.native("SELECT * FROM analytics.events ORDER BY id", db=2),
         description="Native SQL against the Warehouse database.")
    card(34, "Daily active users", COLL_OPS_FINANCE, q.table("daily_active_users", db=2), display="line")
    card(35, "Import log", COLL_OPS_FINANCE, q.table("import_log", db=2))
    # -- personal collections
    card(28, "My scratch query", COLL_ADMIN_PERSONAL, q.native(
        "SELECT CATEGORY, COUNT(*) AS N FROM PRODUCTS GROUP BY CATEGORY ORDER BY CATEGORY"))
    card(29, "Ada's notes", COLL_ANALYST_PERSONAL, q.native("SELECT * FROM REVIEWS WHERE RATING = 5 ORDER BY ID LIMIT 20"),
         creator=2, editor=2)
    card(30, "Scratch: people sample", COLL_SCRATCH, q.table(PE, limit=10))
    # -- dashboard questions (saved inside a dashboard, v0.53+; see dashboards.py)
    card(36, "KPI: orders last 30 days", None, q.native(
        "SELECT substr(CREATED_AT, 1, 10) AS \"Day\", COUNT(*) AS \"Orders\"\nFROM ORDERS\n"
        "WHERE CREATED_AT >= '2026-03-31'\nGROUP BY 1\nORDER BY 1"), display="bar", dashboard_id=2,
        description="Saved inside the Weekly KPIs dashboard.")
    card(37, "Ops: failed imports", COLL_OPS_FINANCE, q.table(
        "import_log", db=2, filter=["=", q.f("import_log", "status", db=2), "failed"]), dashboard_id=3)
    # -- archived
    card(31, "Old revenue", COLL_SALES, q.native("SELECT SUM(TOTAL) AS TOTAL FROM ORDERS"), archived=True,
         description="Archived; only visible with f=archived or by id.")
    card(32, "Legacy KPI", COLL_OLD_REPORTS, q.table(O, aggregation=[["count"]]), archived=True, display="scalar")
    # -- Filters: parameters and public links (added for issue 11; ids after the original catalogue)
    b = behaviour
    cat_tag = _template_tag(38, "category", "Category")
    created_default = "2025-01-01~2025-03-31"
    created_tag = _template_tag(38, "created_at", "Created At", "dimension", default=created_default,
                                dimension=q.f(O, "CREATED_AT"), widget_type="date/range")
    card(38, "Orders by category and date", COLL_FILTERS, q.native(
        "SELECT ORDERS.ID, ORDERS.CREATED_AT, PRODUCTS.CATEGORY, ORDERS.TOTAL\n"
        "FROM PUBLIC.ORDERS JOIN PUBLIC.PRODUCTS ON PRODUCTS.ID = ORDERS.PRODUCT_ID\n"
        "WHERE {{created_at}} [[AND PRODUCTS.CATEGORY = {{category}}]]\nORDER BY ORDERS.ID",
        tags={"category": cat_tag, "created_at": created_tag}),
        parameters=[_tag_parameter(cat_tag), _tag_parameter(created_tag, created_default)],
        description="A text tag {{category}} (no default) and a field filter {{created_at}} on ORDERS.CREATED_AT "
                    "(date range, default 2025-01-01~2025-03-31).", public=True)
    price_tag = _template_tag(39, "max_price", "Max price", "number", default="30")
    card(39, "Products under a price", COLL_FILTERS, q.native(
        "SELECT ID, TITLE, CATEGORY, PRICE\nFROM PRODUCTS\nWHERE PRICE <= {{max_price}}\nORDER BY ID",
        tags={"max_price": price_tag}),
        parameters=[_tag_parameter(price_tag, [30] if b.name == "new" else "30")],
        description="A number tag {{max_price}}, default 30.", public=True)
    card(40, "Products, filterable", COLL_FILTERS, q.table(
        P, fields=[q.f(P, "ID"), q.f(P, "TITLE"), q.f(P, "CATEGORY"), q.f(P, "PRICE"), q.f(P, "CREATED_AT")],
        order_by=[["asc", q.f(P, "ID")]]),
        description="A GUI question: no parameters of its own; dashboard 6 filters it through field mappings.",
        public=True)
    return cards


# ---------------------------------------------------------------------------
# Permissions
# ---------------------------------------------------------------------------

class Permissions:
    """Who may read what.  Admins read everything; others:

    * never another user's personal collection (or anything below it);
    * with restrictions on (phase-2 default), RESTRICTED_USER_ID cannot see
      the Marketing collection tree, cannot use database 2, and gets 403 when
      exporting a card whose database it cannot use.
    """

    def __init__(self, restrict_analyst=True):
        self.hidden_collections = {RESTRICTED_USER_ID: {COLL_MARKETING}} if restrict_analyst else {}
        self.blocked_dbs = {RESTRICTED_USER_ID: {2}} if restrict_analyst else {}
        # databases the user may read (browse, run saved cards) but not query with native SQL
        self.no_native_dbs = {RESTRICTED_USER_ID: {3}} if restrict_analyst else {}

    def can_read_db(self, user, db_id):
        return user.is_superuser or db_id not in self.blocked_dbs.get(user.id, set())

    def can_query_native(self, user, db_id):
        """Native query ("create queries: query builder and native") permission on a database."""
        return self.can_read_db(user, db_id) and (user.is_superuser or
                                                  db_id not in self.no_native_dbs.get(user.id, set()))


# ---------------------------------------------------------------------------
# Catalog
# ---------------------------------------------------------------------------

class Catalog:
    def __init__(self, warehouse, users, behaviour, permissions, public_sharing=True):
        self.wh = warehouse
        self.users = users
        self.b = behaviour
        self.perms = permissions
        self.lock = threading.RLock()
        # instance settings the fake models (GET /api/session/properties shows them)
        self.settings = {"enable-public-sharing": bool(public_sharing)}
        self.collections = {c["id"]: c for c in _collections()}
        self.cards = {}
        for c in _cards(warehouse, behaviour):
            if c["new_only"] and not behaviour.metric_cards:
                continue
            self.cards[c["id"]] = self._complete_card(c)
        self.dashboards = {}
        self.dashcards = {}
        self._idx = None

    # -- index of children (rebuilt lazily after any change) -------------------
    def invalidate(self):
        with self.lock:
            self._idx = None

    def index(self):
        """{"colls": parent -> [collection], "cards": coll -> [card], "dashboards": coll -> [dashboard],
        "here": coll -> set(models), "below": coll -> set(models)}; parent/coll None = root."""
        with self.lock:
            if self._idx is not None:
                return self._idx
            idx = {"colls": {}, "cards": {}, "dashboards": {}, "here": {}, "below": {}}
            for c in self.collections.values():
                anc = self.ancestors(c)
                idx["colls"].setdefault(anc[-1]["id"] if anc else None, []).append(c)
            for card in self.cards.values():
                idx["cards"].setdefault(card["collection_id"], []).append(card)
            for d in self.dashboards.values():
                idx["dashboards"].setdefault(d["collection_id"], []).append(d)
            for c in self.collections.values():
                idx["here"][c["id"]] = set()
                idx["below"][c["id"]] = set()
            for c in self.collections.values():
                if c["archived"]:
                    continue
                kinds = {self._card_model(k) for k in idx["cards"].get(c["id"], []) if not k["archived"]}
                if any(not k["archived"] for k in idx["colls"].get(c["id"], [])):
                    kinds.add("collection")
                idx["here"][c["id"]] |= kinds
                for a in self.ancestors(c):
                    idx["below"][a["id"]] |= kinds
            self._idx = idx
            return idx

    # -- card preparation ------------------------------------------------------
    def _complete_card(self, c):
        dq = c["dataset_query"]
        c["database_id"] = dq["database"]
        c["query_type"] = "native" if dq["type"] == "native" else "query"
        src = dq.get("query", {}).get("source-table") if dq["type"] == "query" else None
        c["table_id"] = src if isinstance(src, int) else None
        i = c["id"]
        c["entity_id"] = entity_id("card", i)
        c["created_at"] = _ts(i)
        c["updated_at"] = _ts(i, ["-07:00", "Z", "+02:00", ""][i % 4], 4, 3)
        c["last_edited_at"] = _ts(i + 1, "-07:00", 4, 3)
        c["result_metadata"] = self._result_metadata(dq, c["parameters"])
        return c

    def _result_metadata(self, dq, parameters):
        try:
            if dq["type"] == "query":
                _, _, _, cols = mbql.compile_mbql(self.wh, dq)
                return [col.metadata() for col in cols]
            res = mbql.run(self.wh, dq, (), parameters, max_rows=200)
            return [col.metadata() for col in res.columns]
        except mbql.QueryError:
            return None

    # -- public links ------------------------------------------------------------
    def public_sharing(self):
        return bool(self.settings.get("enable-public-sharing"))

    def shown_public_uuid(self, obj):
        """public_uuid as Metabase returns it: null while public sharing is disabled."""
        return obj.get("public_uuid") if self.public_sharing() else None

    def public_card(self, uuid_str):
        """The non-archived card shared under `uuid_str`, else None."""
        with self.lock:
            for c in self.cards.values():
                if c.get("public_uuid") == uuid_str and not c["archived"]:
                    return c
            return None

    def public_dashboard(self, uuid_str):
        with self.lock:
            for d in self.dashboards.values():
                if d.get("public_uuid") == uuid_str and not d["archived"]:
                    return d
            return None

    # -- lookup ------------------------------------------------------------------
    def card(self, ident):
        """By integer id (or entity_id in the new behaviour); None if absent."""
        with self.lock:
            if isinstance(ident, int):
                return self.cards.get(ident)
            if isinstance(ident, str) and ident.isdigit():
                return self.cards.get(int(ident))
            if self.b.entity_id_lookup and isinstance(ident, str) and len(ident) == 21:
                for c in self.cards.values():
                    if c["entity_id"] == ident:
                        return c
            return None

    def collection(self, cid):
        with self.lock:
            return self.collections.get(cid)

    def ancestors(self, coll):
        ids = [int(x) for x in coll["location"].strip("/").split("/") if x]
        return [self.collections[i] for i in ids if i in self.collections]

    def is_archived_effective(self, coll):
        return coll["archived"] or any(a["archived"] for a in self.ancestors(coll))

    # -- permissions ---------------------------------------------------------------
    def can_read_collection(self, user, coll_id):
        if coll_id is None or coll_id == ROOT:
            return True
        coll = self.collections.get(coll_id)
        if coll is None:
            return False
        chain = self.ancestors(coll) + [coll]
        if user.is_superuser:
            return True
        hidden = self.perms.hidden_collections.get(user.id, set())
        for c in chain:
            if c["personal_owner_id"] is not None and c["personal_owner_id"] != user.id:
                return False
            if c["id"] in hidden:
                return False
        return True

    def can_write_collection(self, user, coll_id):
        if user.is_superuser:
            return True
        if coll_id in (None, ROOT):
            return False
        coll = self.collections.get(coll_id)
        if coll is None:
            return False
        chain = self.ancestors(coll) + [coll]
        return any(c["personal_owner_id"] == user.id for c in chain)

    def can_read_card(self, user, card):
        return self.can_read_collection(user, card["collection_id"])

    def can_query_card(self, user, card):
        return self.perms.can_read_db(user, card["database_id"])

    # -- mutation (side channel) -------------------------------------------------------
    def edit(self, spec):
        """Apply one /__fake/edit operation; returns the edited object or raises ValueError."""
        kind = spec.get("kind")
        op = spec.get("op")
        with self.lock:
            if kind == "card":
                obj = self.cards.get(spec.get("id"))
            elif kind == "collection":
                obj = self.collections.get(spec.get("id"))
            elif kind == "dashboard":
                obj = self.dashboards.get(spec.get("id"))
            elif kind == "dashcard":
                obj = self.dashcards.get(spec.get("id"))
                if obj is not None and op != "retitle":
                    raise ValueError("a dashcard can only be retitled")
            else:
                raise ValueError("kind must be card, collection, dashboard or dashcard")
            if obj is None:
                raise ValueError("no such %s: %r" % (kind, spec.get("id")))
            if op == "rename":
                name = spec.get("name")
                if not isinstance(name, str) or not name:
                    raise ValueError("rename needs a non-empty name")
                obj["name"] = name
            elif op == "move":
                target = spec.get("collection_id")
                if target not in (None, ROOT) and target not in self.collections:
                    raise ValueError("no such collection: %r" % (target,))
                target = None if target == ROOT else target
                if kind == "collection":
                    if target == obj["id"] or (target is not None and
                                               obj["id"] in [a["id"] for a in self.ancestors(self.collections[target])]):
                        raise ValueError("cannot move a collection into itself")
                    old_prefix = obj["location"] + "%d/" % obj["id"]
                    new_loc = "/" if target is None else self.collections[target]["location"] + "%d/" % target
                    obj["location"] = new_loc
                    new_prefix = new_loc + "%d/" % obj["id"]
                    for other in self.collections.values():
                        if other["location"].startswith(old_prefix):
                            other["location"] = new_prefix + other["location"][len(old_prefix):]
                else:
                    obj["collection_id"] = target
            elif op in ("delete", "archive"):
                obj["archived"] = True
            elif op == "unarchive":
                obj["archived"] = False
            elif op == "retitle":
                # a dashcard's title override (visualization_settings["card.title"]); null removes it
                name = spec.get("name")
                if name is not None and (not isinstance(name, str) or not name):
                    raise ValueError("retitle needs a non-empty name or null")
                if name is None:
                    obj["visualization_settings"].pop("card.title", None)
                else:
                    obj["visualization_settings"]["card.title"] = name
                self.dashboards[obj["dashboard_id"]]["updated_at"] = _now_ts()
                self._idx = None
                return obj
            else:
                raise ValueError("op must be rename, move, archive/delete, unarchive or retitle")
            self._idx = None
            stamp = _now_ts()
            if kind == "card":
                obj["updated_at"] = stamp
                obj["last_edited_at"] = stamp
            elif kind == "dashboard":
                obj["updated_at"] = stamp
            return obj

    # -- JSON shapes -----------------------------------------------------------------------
    def _user(self, uid):
        return self.users[uid]

    def collection_summary(self, coll_id):
        """The `collection` hydrated on cards (null for the root collection)."""
        if coll_id is None:
            return None
        c = self.collections.get(coll_id)
        if c is None:
            return None
        out = self._collection_row(c)
        out.pop("can_write", None)
        return out

    def _collection_row(self, c, viewer=None):
        row = {
            "authority_level": None, "description": c["description"], "archived": c["archived"],
            "name": c["name"], "personal_owner_id": c["personal_owner_id"], "type": None,
            "id": c["id"], "entity_id": c["entity_id"], "location": c["location"], "namespace": None,
            "created_at": c["created_at"],
        }
        if not self.b.collection_extra_keys:
            row["slug"] = _slug(c["name"])
            row["color"] = "#509EE3"
        else:
            row["is_personal"] = self._is_personal(c)
            row["archived_directly"] = c["archived"] if c["archived"] else None
            row["archive_operation_id"] = None
            row["is_remote_synced"] = False
        if viewer is not None:
            row["can_write"] = self.can_write_collection(viewer, c["id"])
            if self.b.collection_extra_keys:
                row["can_delete"] = False
        return row

    def _is_personal(self, c):
        return any(x["personal_owner_id"] is not None for x in self.ancestors(c) + [c])

    def root_collection(self, viewer):
        out = {"authority_level": None, "name": "Our analytics", "id": ROOT, "parent_id": None,
               "effective_location": None, "effective_ancestors": [], "can_write": viewer.is_superuser}
        if self.b.collection_extra_keys:
            out.update({"is_personal": False, "can_restore": False, "can_delete": False, "type": None,
                        "namespace": None})
        return out

    def collection_list_element(self, c, viewer):
        row = self._collection_row(c, viewer)
        if self.b.collection_extra_keys:
            anc = self.ancestors(c)
            row["parent_id"] = anc[-1]["id"] if anc else None
        return row

    def collection_detail(self, c, viewer):
        row = self._collection_row(c, viewer)
        anc = [a for a in self.ancestors(c) if self.can_read_collection(viewer, a["id"])]
        row["effective_location"] = "/" + "".join("%d/" % a["id"] for a in anc)
        eff = []
        if not self._is_personal(c):
            root_key = ("metabase.collections.models.collection.root/is-root?" if self.b.name == "new"
                        else "metabase.models.collection.root/is-root?")
            eff.append({root_key: True, "authority_level": None, "name": "Our analytics", "id": ROOT,
                        "can_write": viewer.is_superuser})
        for a in anc:
            eff.append({"authority_level": None, "name": a["name"], "id": a["id"],
                        "personal_owner_id": a["personal_owner_id"], "type": None,
                        "can_write": self.can_write_collection(viewer, a["id"])})
        row["effective_ancestors"] = eff
        all_anc = self.ancestors(c)
        row["parent_id"] = all_anc[-1]["id"] if all_anc else None
        if self.b.collection_extra_keys:
            row["can_restore"] = False
        return row

    def card_type_fields(self, card):
        if self.b.card_type_field == "type":
            return {"type": card["kind"]}
        return {"dataset": card["kind"] == "model"}

    def dataset_query_json(self, card, legacy):
        dq = copy.deepcopy(card["dataset_query"])
        if self.b.mbql5 and not legacy:
            return mbql.legacy_to_mbql5(dq, "card/%d" % card["id"])
        if dq["type"] == "native" and not dq["native"].get("template-tags"):
            dq["native"].pop("template-tags", None)
        return dq

    def card_json(self, card, viewer, legacy_mbql=False, detail=False):
        creator = self._user(card["creator_id"])
        editor = self._user(card["last_editor_id"])
        out = {
            "description": card["description"], "archived": card["archived"],
            "collection_position": card["collection_position"], "table_id": card["table_id"],
            "result_metadata": copy.deepcopy(card["result_metadata"]), "creator": creator.summary(),
            "database_id": card["database_id"], "enable_embedding": False,
            "collection_id": card["collection_id"], "query_type": card["query_type"], "name": card["name"],
            "creator_id": card["creator_id"], "updated_at": card["updated_at"],
            "made_public_by_id": 1 if card.get("public_uuid") else None,
            "embedding_params": None, "cache_ttl": None,
            "dataset_query": self.dataset_query_json(card, legacy_mbql), "id": card["id"],
            "parameter_mappings": [], "display": card["display"], "entity_id": card["entity_id"],
            "collection_preview": True,
            "last-edit-info": editor.edit_info(card["last_edited_at"]),
            "visualization_settings": copy.deepcopy(card["visualization_settings"]),
            "collection": self.collection_summary(card["collection_id"]),
            "parameters": copy.deepcopy(card["parameters"]), "created_at": card["created_at"],
            "public_uuid": self.shown_public_uuid(card),
        }
        out.update(self.card_type_fields(card))
        if self.b.name == "new":
            dash = self.dashboards.get(card["dashboard_id"]) if card["dashboard_id"] else None
            out.update({
                "based_on_upload": None, "can_run_adhoc_query": True, "can_restore": False,
                "can_delete": False, "can_manage_db": viewer.is_superuser,
                "dashboard_id": card["dashboard_id"],
                "dashboard": ({"id": dash["id"], "name": dash["name"], "moderation_status": None}
                              if dash else None),
                "archived_directly": card["archived"], "card_schema": 23, "is_remote_synced": False,
                "source_card_id": None, "embedding_type": None, "document_id": None,
            })
            if card["kind"] == "model":
                out["persisted"] = False
        if detail:
            out.update({
                "can_write": self.can_write_collection(viewer, card["collection_id"] or ROOT),
                "dashboard_count": sum(1 for dc in self.dashcards.values() if dc["card_id"] == card["id"]),
                "parameter_usage_count": 0, "average_query_time": None, "last_query_start": None,
                "moderation_reviews": [],
            })
        return out

    # -- collection items ------------------------------------------------------------------
    def _card_model(self, card):
        return {"question": "card", "model": "dataset", "metric": "metric"}[card["kind"]]

    def items(self, coll_id, viewer, models, archived, show_dashboard_questions, pinned_state=None):
        """Unsorted rows of a collection's items (personal collections excluded)."""
        rows = []
        want = set(models)
        key = None if coll_id == ROOT else coll_id
        with self.lock:
            idx = self.index()
            if "collection" in want:
                for c in idx["colls"].get(key, []):
                    if c["personal_owner_id"] is not None:
                        continue
                    if bool(c["archived"]) != archived or not self.can_read_collection(viewer, c["id"]):
                        continue
                    rows.append(self._collection_item(c, viewer))
            for card in idx["cards"].get(key, []):
                if self._card_model(card) not in want or bool(card["archived"]) != archived:
                    continue
                if card["dashboard_id"] is not None and self.b.dashboard_questions and not show_dashboard_questions:
                    continue
                if not self.can_read_card(viewer, card):
                    continue
                rows.append(self._card_item(card, viewer))
            if "dashboard" in want:
                for d in idx["dashboards"].get(key, []):
                    if bool(d["archived"]) != archived:
                        continue
                    if not self.can_read_collection(viewer, d["collection_id"]):
                        continue
                    rows.append(self._dashboard_item(d, viewer))
        if pinned_state == "is_pinned":
            rows = [r for r in rows if r.get("collection_position") is not None]
        elif pinned_state == "is_not_pinned":
            rows = [r for r in rows if r.get("collection_position") is None]
        return rows

    def _here_below(self, c):
        """Models present directly inside `c` and in its descendants (collection-tree style)."""
        idx = self.index()
        card_models = {"card", "dataset", "metric"}
        return (sorted(idx["here"].get(c["id"], set()) & card_models),
                sorted(idx["below"].get(c["id"], set()) & card_models))

    def _collection_item(self, c, viewer):
        row = {"id": c["id"], "name": c["name"], "description": c["description"],
               "entity_id": c["entity_id"], "model": "collection", "authority_level": None,
               "can_write": self.can_write_collection(viewer, c["id"])}
        if self.b.name == "new":
            here, below = self._here_below(c)
            row.update({"location": c["location"], "archived": c["archived"], "type": None,
                        "is_remote_synced": False, "here": here, "below": below,
                        "collection_id": None if c["location"] == "/" else self.ancestors(c)[-1]["id"]})
        return row

    def _card_item(self, card, viewer):
        editor = self._user(card["last_editor_id"])
        model = self._card_model(card)
        row = {"id": card["id"], "name": card["name"], "description": card["description"],
               "entity_id": card["entity_id"], "collection_position": card["collection_position"],
               "display": card["display"], "collection_preview": True, "model": model,
               "database_id": card["database_id"] if (model == "dataset" or self.b.name == "new") else None,
               "moderated_status": None, self.b.fully_param_key: not card["parameters"] or
               all(p.get("default") is not None for p in card["parameters"]),
               "last-edit-info": editor.edit_info(card["last_edited_at"])}
        if self.b.name == "new":
            dash = self.dashboards.get(card["dashboard_id"]) if card["dashboard_id"] else None
            row.update({"archived": card["archived"], "archived_directly": card["archived"],
                        "collection_id": card["collection_id"], "dashboard_id": card["dashboard_id"],
                        "dashboard": ({"id": dash["id"], "name": dash["name"], "moderation_status": None}
                                      if dash else None),
                        "last_used_at": card["last_edited_at"],
                        "can_write": self.can_write_collection(viewer, card["collection_id"] or ROOT),
                        "can_restore": False, "can_delete": False, "dashboard_count": 0,
                        "is_remote_synced": False, "collection_namespace": None})
            if model == "dataset":
                row["based_on_upload"] = None
        return row

    def _dashboard_item(self, d, viewer):
        editor = self._user(d["last_editor_id"])
        row = {"id": d["id"], "name": d["name"], "description": d["description"],
               "entity_id": d["entity_id"], "collection_position": d.get("collection_position"),
               "model": "dashboard", "last-edit-info": editor.edit_info(d["updated_at"])}
        if self.b.name == "new":
            row.update({"archived": d["archived"], "collection_id": d["collection_id"],
                        "last_used_at": d["updated_at"], "location": None,
                        "can_write": self.can_write_collection(viewer, d["collection_id"] or ROOT), "can_restore": False, "can_delete": False,
                        "is_remote_synced": False})
        return row

    # -- dashboards (definitions and shapes live in dashboards.py) ---------------------------
    def dashboard(self, ident):
        with self.lock:
            if isinstance(ident, int):
                return self.dashboards.get(ident)
            for d in self.dashboards.values():
                if d["entity_id"] == ident:
                    return d
            return None

    def dashboard_summary(self, d):
        return dashboards.summary(self, d)

    def dashboard_json(self, d, viewer, legacy_mbql):
        return dashboards.detail(self, d, viewer, legacy_mbql)

    def dashcard_parameters(self, d, dc, card, request_params):
        return dashboards.dashcard_parameters(self, d, dc, card, request_params)

    # -- side channel description ------------------------------------------------------
    def describe(self):
        with self.lock:
            return {
                "cards": [{"id": c["id"], "name": c["name"], "collection_id": c["collection_id"],
                           "archived": c["archived"], "query_type": c["query_type"],
                           "model": self._card_model(c), "kind": c["kind"],
                           "database_id": c["database_id"], "table_id": c["table_id"],
                           "dashboard_id": c["dashboard_id"], "entity_id": c["entity_id"],
                           "parameters": [p["slug"] for p in c["parameters"]],
                           "public_uuid": c.get("public_uuid")}
                          for c in sorted(self.cards.values(), key=lambda c: c["id"])],
                "collections": [{"id": c["id"], "name": c["name"],
                                 "parent": (self.ancestors(c)[-1]["id"] if self.ancestors(c) else None),
                                 "location": c["location"], "archived": c["archived"],
                                 "personal_owner_id": c["personal_owner_id"]}
                                for c in sorted(self.collections.values(), key=lambda c: c["id"])],
                "dashboards": [{"id": d["id"], "name": d["name"], "collection_id": d["collection_id"],
                                "archived": d["archived"], "public_uuid": d.get("public_uuid"),
                                "parameters": [p["slug"] for p in d["parameters"]],
                                "dashcards": [{"id": dc["id"], "card_id": dc["card_id"],
                                               "tab_id": dc["dashboard_tab_id"]}
                                              for dc in self.dashcards.values() if dc["dashboard_id"] == d["id"]],
                                "tabs": [{"id": t["id"], "name": t["name"]} for t in d["tabs"]]}
                               for d in sorted(self.dashboards.values(), key=lambda d: d["id"])],
                "databases": [{"id": db.id, "name": db.name, "engine": db.engine, "schemas": db.schemas(),
                               "native_denied_users": sorted(uid for uid, dbs in self.perms.no_native_dbs.items()
                                                             if db.id in dbs)}
                              for db in self.wh.databases],
                "tables": [{"id": t.id, "db_id": t.db.id, "schema": t.schema, "name": t.name,
                            "display_name": t.display_name, "fields": [f.name for f in t.fields]}
                           for db in self.wh.databases for t in db.tables],
                "users": [{"id": u.id, "email": u.email, "common_name": u.common_name,
                           "is_superuser": u.is_superuser, "personal_collection_id": u.personal_collection_id}
                          for u in self.users.values()],
            }


def _slug(name):
    import re
    import unicodedata
    s = unicodedata.normalize("NFKD", name.lower())
    s = "".join(ch for ch in s if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]+", "_", s).strip("_")


def _now_ts():
    import datetime
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


