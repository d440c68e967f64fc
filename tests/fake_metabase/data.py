# data.py — the warehouse side of the fake Metabase.
#
# Owns: the three "connected databases" (1 Sample Database, 2 Warehouse,
# 3 Empty Lake), their table/field metadata (ids, display names, base types)
# and the deterministic generation of their rows into SQLite files.
#
# Everything is generated from random.Random(seed), so the same seed always
# yields byte-identical data.  The SQLite files live in a temporary directory
# owned by the server process; every query opens its own read-only
# connection, so request threads never share a connection.
#
# Value typing: SQLite has no timestamp/date/boolean types, so columns are
# declared TIMESTAMP / DATE / BOOLEAN and converters (PARSE_DECLTYPES) turn
# them into Timestamp / Date (str subclasses) and bool.  formats.py relies on
# these Python types to print values the way Metabase does.

import datetime
import os
import random
import re
import sqlite3
import time


class Timestamp(str):
    """An ISO-8601 instant as Metabase prints it raw: 2023-06-05T10:15:00Z."""


class Date(str):
    """An ISO-8601 local date: 2023-06-05."""


sqlite3.register_converter("TIMESTAMP", lambda b: Timestamp(b.decode("utf-8")))
sqlite3.register_converter("DATE", lambda b: Date(b.decode("utf-8")))
sqlite3.register_converter("BOOLEAN", lambda b: b not in (b"0", b""))


# --------------------------------------------------------------------------
# Metadata model
# --------------------------------------------------------------------------

def humanize(name):
    """Metabase's simple display-name strategy: USER_ID -> "User ID"."""
    words = [w for w in re.split(r"[_\-\s]+", name) if w]
    out = []
    for w in words:
        out.append("ID" if w.lower() == "id" else w[:1].upper() + w[1:].lower())
    return " ".join(out)


class Field:
    def __init__(self, name, sql_type, base_type, semantic_type=None,
                 description=None, fk=None, visibility_type="normal"):
        self.id = None            # assigned when the catalogue is frozen
        self.table = None
        self.name = name
        self.sql_type = sql_type  # INTEGER REAL TEXT TIMESTAMP DATE BOOLEAN
        self.base_type = base_type
        self.semantic_type = semantic_type
        self.description = description
        self.fk = fk              # ("TABLE", "FIELD") target, same database
        self.fk_target_field_id = None
        self.visibility_type = visibility_type
        self.position = 0

    @property
    def display_name(self):
        return humanize(self.name)


class Table:
    def __init__(self, table_id, name, schema, description, fields, entity_type="entity/GenericTable"):
        self.id = table_id
        self.name = name
        self.schema = schema
        self.description = description
        self.fields = fields
        self.entity_type = entity_type
        self.db = None
        for pos, f in enumerate(fields):
            f.table = self
            f.position = pos

    @property
    def display_name(self):
        return humanize(self.name)

    def field(self, name):
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError("%s.%s" % (self.name, name))

    def sql_ref(self):
        return '"%s"."%s"' % (self.schema, self.name)


class Database:
    def __init__(self, db_id, name, engine, description, tables, features=None,
                 is_sample=False, timezone="UTC", dbms_version=None):
        self.id = db_id
        self.name = name
        self.engine = engine
        self.description = description
        self.tables = tables
        self.is_sample = is_sample
        self.timezone = timezone
        self.dbms_version = dbms_version
        self.features = features or list(DEFAULT_FEATURES)
        self.path = None          # main SQLite file
        self.attach = []          # [(schema, path)]
        for t in tables:
            t.db = self

    def schemas(self):
        return sorted({t.schema for t in self.tables})


DEFAULT_FEATURES = [
    "basic-aggregations", "temporal-extract", "now", "standard-deviation-aggregations",
    "date-arithmetics", "expression-aggregations", "foreign-keys", "right-join",
    "left-join", "native-parameters", "schemas", "nested-queries", "expressions",
    "regex", "case-sensitivity-string-filter-options", "binning", "datetime-diff",
    "inner-join", "advanced-math-expressions",
]


def _sample_database():
    products = Table(1, "PRODUCTS", "PUBLIC",
                     "Includes a catalog of all the products ever sold by the famed Sample Company.", [
        Field("ID", "INTEGER", "type/BigInteger", "type/PK",
              "The numerical product number. Only used internally. All external communication should use the title or EAN."),
        Field("EAN", "TEXT", "type/Text", None, "The international article number. A 13 digit number uniquely identifying the product."),
        Field("TITLE", "TEXT", "type/Text", "type/Title", "The name of the product as it should be displayed to customers."),
        Field("CATEGORY", "TEXT", "type/Text", "type/Category", "The type of product, valid values include: Doohicky, Gadget, Gizmo and Widget"),
        Field("VENDOR", "TEXT", "type/Text", "type/Company", "The source of the product."),
        Field("PRICE", "REAL", "type/Float", None, "The list price of the product. Note that this is not always the price the product sold for due to discounts, promotions, etc."),
        Field("RATING", "REAL", "type/Float", "type/Score", "The average rating users have given the product. This ranges from 1 - 5"),
        Field("CREATED_AT", "TIMESTAMP", "type/DateTime", "type/CreationTimestamp", "The date the product was added to our catalog."),
    ], "entity/ProductTable")
    orders = Table(2, "ORDERS", "PUBLIC",
                   "Confirmed Sample Company orders for a product, from a user.", [
        Field("ID", "INTEGER", "type/BigInteger", "type/PK",
              "This is a unique ID for the product. It is also called the \u201cInvoice number\u201d or \u201cConfirmation number\u201d in customer facing emails and screens."),
        Field("USER_ID", "INTEGER", "type/Integer", "type/FK",
              "The id of the user who made this order.", fk=("PEOPLE", "ID")),
        Field("PRODUCT_ID", "INTEGER", "type/Integer", "type/FK",
              "The product ID. This is an internal identifier for the product, NOT the SKU.", fk=("PRODUCTS", "ID")),
        Field("SUBTOTAL", "REAL", "type/Float", None, "The raw, pre-tax cost of the order."),
        Field("TAX", "REAL", "type/Float", None, "This is the amount of local and federal taxes that are collected on the purchase."),
        Field("TOTAL", "REAL", "type/Float", None, "The total billed amount."),
        Field("DISCOUNT", "REAL", "type/Float", "type/Discount", "Discount amount."),
        Field("CREATED_AT", "TIMESTAMP", "type/DateTime", "type/CreationTimestamp", "The date and time an order was submitted."),
        Field("QUANTITY", "INTEGER", "type/Integer", "type/Quantity", "Number of products bought."),
    ], "entity/TransactionTable")
    people = Table(3, "PEOPLE", "PUBLIC",
                   "Information on the user accounts registered with Sample Company.", [
        Field("ID", "INTEGER", "type/BigInteger", "type/PK", "A unique identifier given to each user."),
        Field("ADDRESS", "TEXT", "type/Text", None, "The street address of the account\u2019s billing address"),
        Field("EMAIL", "TEXT", "type/Text", "type/Email", "The contact email for the account."),
        Field("NAME", "TEXT", "type/Text", "type/Name", "The name of the user who owns an account"),
        Field("CITY", "TEXT", "type/Text", "type/City", "The city of the account\u2019s billing address"),
        Field("LONGITUDE", "REAL", "type/Float", "type/Longitude", "This is the longitude of the user on sign-up."),
        Field("STATE", "TEXT", "type/Text", "type/State", "The state or province of the account\u2019s billing address"),
        Field("SOURCE", "TEXT", "type/Text", "type/Source", "The channel through which we acquired this user."),
        Field("BIRTH_DATE", "DATE", "type/Date", None, "The date of birth of the user"),
        Field("ZIP", "TEXT", "type/Text", "type/ZipCode", "The postal code of the account\u2019s billing address"),
        Field("LATITUDE", "REAL", "type/Float", "type/Latitude", "This is the latitude of the user on sign-up."),
        Field("CREATED_AT", "TIMESTAMP", "type/DateTime", "type/CreationTimestamp", "The date the user record was created."),
    ], "entity/UserTable")
    reviews = Table(4, "REVIEWS", "PUBLIC",
                    "Reviews that Sample Company customers have left on our products.", [
        Field("ID", "INTEGER", "type/BigInteger", "type/PK", "A unique internal identifier for the review."),
        Field("PRODUCT_ID", "INTEGER", "type/Integer", "type/FK", "The product the review was for", fk=("PRODUCTS", "ID")),
        Field("REVIEWER", "TEXT", "type/Text", None, "The user who left the review"),
        Field("RATING", "INTEGER", "type/Integer", "type/Score", "The rating (on a scale of 1-5) the user left."),
        Field("BODY", "TEXT", "type/Text", "type/Description", "The review the user left. Limited to 2000 characters."),
        Field("CREATED_AT", "TIMESTAMP", "type/DateTime", "type/CreationTimestamp", "The day and time a review was written by a user."),
    ])
    return Database(1, "Sample Database", "h2",
                    "Some example data for you to play around with as you embark on your Metabase journey.",
                    [products, orders, people, reviews], is_sample=True,
                    timezone="UTC",
                    dbms_version={"flavor": "H2", "version": "2.1.214 (2022-06-13)", "semantic-version": [2, 1]})


def _warehouse_database():
    events = Table(5, "events", "analytics", "Product analytics events.", [
        Field("id", "INTEGER", "type/BigInteger", "type/PK"),
        Field("user_id", "INTEGER", "type/Integer", "type/FK"),
        Field("event_type", "TEXT", "type/Text", "type/Category"),
        Field("occurred_at", "TIMESTAMP", "type/DateTimeWithLocalTZ", "type/CreationTimestamp"),
        Field("is_mobile", "BOOLEAN", "type/Boolean", "type/Category"),
        Field("revenue", "REAL", "type/Float", None),
        Field("properties", "TEXT", "type/Text", "type/SerializedJSON"),
    ])
    dau = Table(6, "daily_active_users", "analytics", None, [
        Field("day", "DATE", "type/Date", None),
        Field("platform", "TEXT", "type/Text", "type/Category"),
        Field("dau", "INTEGER", "type/Integer", "type/Quantity"),
    ])
    raw_events = Table(7, "raw_events", "raw", "Events as received, before cleaning.", [
        Field("id", "INTEGER", "type/BigInteger", "type/PK"),
        Field("payload", "TEXT", "type/Text", None),
        Field("received_at", "TIMESTAMP", "type/DateTimeWithLocalTZ", None),
        Field("ok", "BOOLEAN", "type/Boolean", None),
    ])
    import_log = Table(8, "import_log", "raw", None, [
        Field("id", "INTEGER", "type/BigInteger", "type/PK"),
        Field("file_name", "TEXT", "type/Text", None),
        Field("rows_imported", "INTEGER", "type/BigInteger", None),
        Field("status", "TEXT", "type/Text", "type/Category"),
        Field("started_at", "TIMESTAMP", "type/DateTimeWithLocalTZ", None),
    ])
    return Database(2, "Warehouse", "postgres", "The analytics warehouse (fake Postgres).",
                    [events, dau, raw_events, import_log],
                    dbms_version={"flavor": "PostgreSQL", "version": "15.4", "semantic-version": [15, 4]})


def _empty_database():
    return Database(3, "Empty Lake", "postgres", "A data lake nobody has filled yet.", [],
                    dbms_version={"flavor": "PostgreSQL", "version": "16.1", "semantic-version": [16, 1]})


# --------------------------------------------------------------------------
# Deterministic row generation
# --------------------------------------------------------------------------

BASE_TIME = datetime.datetime(2022, 5, 1, tzinfo=datetime.timezone.utc)
SPAN_SECONDS = 4 * 365 * 86400


def ts_str(dt, millis=0):
    """2023-06-05T10:15:00Z / 2023-06-05T10:15:00.35Z (trailing zeros dropped, like Java)."""
    s = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if millis:
        s += ("." + ("%03d" % millis)).rstrip("0")
    return s + "Z"


def _rand_ts(rng, start=BASE_TIME, span=SPAN_SECONDS):
    dt = start + datetime.timedelta(seconds=rng.randrange(span))
    millis = rng.randrange(1000) if rng.random() < 0.5 else 0
    return ts_str(dt, millis)


FIRST_NAMES = ["Hudson", "Lina", "Domenica", "Aaron", "Zoë", "José", "Jürgen", "Björk", "Ngozi", "Søren",
               "François", "Mia", "Hana", "Olivia", "Liam", "Noah", "Emma", "Ava", "Lucas", "Chloé",
               "Mateo", "Aiko", "Ines", "Rahul", "Priya", "Kwame", "Astrid", "Łukasz", "Dana", "Sam"]
LAST_NAMES = ["Borer", "Heaney", "Williamson", "Hamill", "O'Brien", "Müller", "García", "Nguyễn", "Smith",
              "Johnson", "Kowalski", "Tanaka", "Haaland", "Dubois", "Rossi", "Okafor", "Ivanova", "Lindqvist",
              "Schröder", "Fernández", "Kim", "Patel", "Brown", "D'Angelo", "Van der Berg"]
STREETS = ["Main", "Oak", "Pine", "Maple", "Cedar", "Elm", "Washington", "Lake", "Hill", "Sunset",
           "Rue de Rivoli", "Bahnhofstraße", "Calle Mayor"]
STREET_SUFFIX = ["St", "Ave", "Blvd", "Road", "Lane", "Way"]
CITIES = [("Wood River", "NE"), ("Hudson", "NY"), ("Santa Fe", "NM"), ("Austin", "TX"), ("Portland", "OR"),
          ("Montréal", "QC"), ("Zürich", "ZH"), ("São Paulo", "SP"), ("東京", "13"), ("Köln", "NW"),
          ("Springfield", "IL"), ("Boulder", "CO"), ("Madison", "WI"), ("Raleigh", "NC"), ("Tampa", "FL")]
SOURCES = ["Affiliate", "Facebook", "Google", "Organic", "Twitter"]
CATEGORIES = ["Doohickey", "Gadget", "Gizmo", "Widget"]
ADJECTIVES = ["Rustic", "Ergonomic", "Synergistic", "Lightweight", "Heavy-Duty", "Mediocre", "Durable",
              "Enormous", "Incredible", "Practical", "Sleek", "Aerodynamic", "Intelligent", "Fantastic",
              "Gorgeous", "Small", "Awesome"]
MATERIALS = ["Paper", "Wooden", "Concrete", "Cotton", "Copper", "Leather", "Granite", "Steel", "Aluminum",
             "Wool", "Silk", "Bronze", "Plastic", "Rubber", "Marble", "Linen", "Iron"]
NOUNS = ["Wallet", "Clock", "Lamp", "Bottle", "Chair", "Table", "Hat", "Shoes", "Watch", "Computer",
         "Keyboard", "Knife", "Gloves", "Bag", "Coat", "Plate", "Bench", "Car", "Pants", "Shirt", "Toucan"]
SPECIAL_TITLES = ['The "Ultimate" Widget', "Gadget, Deluxe Edition", "Crème brûlée torch",
                  "東京 Tower model 🗼", "Multi-line\nlabel maker", "Comma, \"quote\" and more"]
VENDORS = ["Nolan-Wolff", "Swaniawski, Casper and Hilll", "Balistreri-Ankunding", 'Acme "Quality" Goods',
           "Müller & Söhne GmbH", "東京物産株式会社", "Smith, Jones and Sons", "Kub-Mayer", "Ørsted Supply ApS",
           "Zemlak Inc", "O'Keefe LLC", "Señor Frog's Imports"]
REVIEW_PHRASES = [
    "Ad perspiciatis quis et consectetur. Laboriosam fuga voluptas ut et modi ipsum.",
    "I bought this for my nephew, he loved it!",
    'It says "waterproof", it is not.',
    "Works as advertised, but the box was damaged, and the manual was missing.",
    "Sehr gut, würde ich wieder kaufen. Größe passt.",
    "とても良い製品です。",
    "Great value 👍 would buy again 🚀",
    "Meh.",
    "Line one of my review.\nLine two, with a comma.\nLine three \"quoted\".",
    "Windows-style line break here.\r\nSecond line.",
    "Très pratique; livré à temps. Ça marche!",
]
EVENT_TYPES = ["page_view", "signup", "purchase", "logout", "search"]


def _gen_products(rng, n=200):
    rows = []
    for i in range(1, n + 1):
        ean = "".join(str(rng.randrange(10)) for _ in range(13))
        if i % 37 == 0:
            title = SPECIAL_TITLES[(i // 37 - 1) % len(SPECIAL_TITLES)]
        else:
            title = "%s %s %s" % (rng.choice(ADJECTIVES), rng.choice(MATERIALS), rng.choice(NOUNS))
        category = rng.choice(CATEGORIES)
        vendor = rng.choice(VENDORS)
        price = float(rng.randrange(15, 100)) if i % 10 == 0 else round(rng.uniform(15, 100), 2)
        rating = round(rng.uniform(1, 5), 1)
        rows.append((i, ean, title, category, vendor, price, rating, _rand_ts(rng)))
    return rows


def _gen_people(rng, n=2500):
    rows = []
    for i in range(1, n + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        name = "%s %s" % (first, last)
        if i % 250 == 0:
            name += " 😀"
        local = re.sub(r"[^a-z]", "", (first + "." + last).lower().encode("ascii", "ignore").decode()) or "user"
        email = "%s.%d@example.%s" % (local, i, rng.choice(["com", "org", "net"]))
        num = rng.randrange(1, 9999)
        address = "%d %s %s" % (num, rng.choice(STREETS), rng.choice(STREET_SUFFIX))
        if i % 7 == 0:
            address = "Apt %d%s, %s" % (rng.randrange(1, 40), rng.choice("ABCD"), address)
        city, state = rng.choice(CITIES)
        longitude = rng.uniform(-170, 170)
        latitude = rng.uniform(-60, 70)
        source = None if i % 53 == 0 else rng.choice(SOURCES)
        birth = datetime.date(1950, 1, 1) + datetime.timedelta(days=rng.randrange(365 * 55))
        zip_code = "%05d" % rng.randrange(100000)
        rows.append((i, address, email, name, city, longitude, state, source, birth.isoformat(),
                     zip_code, latitude, _rand_ts(rng)))
    return rows


def _gen_orders(rng, products, n_people, n=18000):
    rows = []
    for i in range(1, n + 1):
        pid = rng.randrange(1, len(products) + 1)
        price = products[pid - 1][5]
        qty = rng.randrange(1, 100) if i % 500 == 0 else rng.randrange(1, 8)
        subtotal = price * qty * rng.choice([1.0, 1.0, 1.0, 0.9731, 1.0412])
        tax = round(subtotal * rng.choice([0.0, 0.04, 0.05, 0.0625, 0.07]), 2)
        discount = round(rng.uniform(0.5, 10), 2) if rng.random() < 0.1 else None
        total = subtotal + tax - (discount or 0.0)
        rows.append((i, rng.randrange(1, n_people + 1), pid, subtotal, tax, total, discount,
                     _rand_ts(rng), qty))
    return rows


def _gen_reviews(rng, n_products, n=1000):
    rows = []
    for i in range(1, n + 1):
        k = rng.randrange(1, 4)
        body = " ".join(rng.choice(REVIEW_PHRASES) for _ in range(k))
        if i == 1:
            body = REVIEW_PHRASES[8]
        reviewer = rng.choice(["christ", "ada.lovelace", "zoë_k", "tanaka", "o'neil", "mr_robot", "björn"]) \
            + str(rng.randrange(1000))
        rows.append((i, rng.randrange(1, n_products + 1), reviewer, rng.randrange(1, 6), body, _rand_ts(rng)))
    return rows


def _gen_warehouse(rng):
    events = []
    for i in range(1, 301):
        et = rng.choice(EVENT_TYPES)
        revenue = round(rng.uniform(1, 500), 2) if et == "purchase" else None
        props = '{"path": "/p/%d", "ref": "%s", "note": "a, b"}' % (rng.randrange(100), rng.choice(["ad", "mail", "direct"]))
        events.append((i, rng.randrange(1, 2501), et, _rand_ts(rng), rng.random() < 0.4, revenue, props))
    dau = []
    day0 = datetime.date(2025, 1, 1)
    for d in range(30):
        for platform in ("android", "ios", "web"):
            dau.append(((day0 + datetime.timedelta(days=d)).isoformat(), platform, rng.randrange(100, 5000)))
    raw = []
    for i in range(1, 51):
        payload = '{"event": "%s", "text": "line1\\nline2", "quote": "\\"x\\""}' % rng.choice(EVENT_TYPES)
        if i % 10 == 0:
            payload = "not json, at all\nsecond line"
        raw.append((i, payload, _rand_ts(rng), i % 10 != 0))
    log = []
    for i in range(1, 13):
        rows_imported = 9007199254740993 if i == 12 else rng.randrange(1000, 10 ** 7)
        log.append((i, "export_%02d.csv" % i, rows_imported, rng.choice(["ok", "ok", "failed"]), _rand_ts(rng)))
    return {"events": events, "daily_active_users": dau, "raw_events": raw, "import_log": log}


# --------------------------------------------------------------------------
# Building the SQLite files
# --------------------------------------------------------------------------

def _create_table(conn, table, rows, prefix=""):
    cols = ", ".join('"%s" %s' % (f.name, f.sql_type) for f in table.fields)
    conn.execute('CREATE TABLE %s"%s" (%s)' % (prefix, table.name, cols))
    marks = ", ".join("?" for _ in table.fields)
    conn.executemany('INSERT INTO %s"%s" VALUES (%s)' % (prefix, table.name, marks), rows)


class Warehouse:
    """The set of databases, with their SQLite files materialized in `directory`."""

    def __init__(self, directory, seed=42):
        self.directory = directory
        self.seed = seed
        self.databases = [_sample_database(), _warehouse_database(), _empty_database()]
        self._index()
        self._build()

    # -- metadata lookup ----------------------------------------------------
    def _index(self):
        self.db_by_id = {d.id: d for d in self.databases}
        self.table_by_id = {}
        self.field_by_id = {}
        next_field = 1
        for db in self.databases:
            for t in db.tables:
                self.table_by_id[t.id] = t
                for f in t.fields:
                    f.id = next_field
                    next_field += 1
                    self.field_by_id[f.id] = f
        for db in self.databases:
            names = {t.name: t for t in db.tables}
            for t in db.tables:
                for f in t.fields:
                    if f.fk:
                        f.fk_target_field_id = names[f.fk[0]].field(f.fk[1]).id

    def table(self, db_id, name):
        for t in self.db_by_id[db_id].tables:
            if t.name == name:
                return t
        raise KeyError(name)

    def field(self, db_id, table_name, field_name):
        return self.table(db_id, table_name).field(field_name)

    # -- generation ---------------------------------------------------------
    def _build(self):
        rng = random.Random(self.seed)
        sample = self.db_by_id[1]
        products = _gen_products(rng)
        people = _gen_people(rng)
        orders = _gen_orders(rng, products, len(people))
        reviews = _gen_reviews(rng, len(products))
        sample.path = os.path.join(self.directory, "sample.db")
        conn = sqlite3.connect(sample.path)
        with conn:
            for t, rows in zip(sample.tables, (products, orders, people, reviews)):
                _create_table(conn, t, rows)
        conn.close()
        sample.attach = [("PUBLIC", sample.path)]

        wh = self.db_by_id[2]
        wh_rows = _gen_warehouse(rng)
        wh.path = os.path.join(self.directory, "warehouse.db")
        sqlite3.connect(wh.path).close()
        for schema in wh.schemas():
            path = os.path.join(self.directory, "warehouse_%s.db" % schema)
            conn = sqlite3.connect(path)
            with conn:
                for t in wh.tables:
                    if t.schema == schema:
                        _create_table(conn, t, wh_rows[t.name])
            conn.close()
            wh.attach.append((schema, path))

        empty = self.db_by_id[3]
        empty.path = os.path.join(self.directory, "empty.db")
        sqlite3.connect(empty.path).close()

    # -- querying -------------------------------------------------------------
    def connect(self, db_id, timeout_s=30.0):
        """A fresh read-only connection to database `db_id` (schemas attached)."""
        db = self.db_by_id[db_id]
        conn = sqlite3.connect("file:%s?mode=ro" % db.path, uri=True,
                               detect_types=sqlite3.PARSE_DECLTYPES, check_same_thread=False)
        for schema, path in db.attach:
            conn.execute("ATTACH DATABASE ? AS %s" % _quote_ident(schema), ("file:%s?mode=ro" % path,))
        deadline = time.monotonic() + timeout_s
        conn.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 10000)
        return conn

    def execute(self, db_id, sql, params=()):
        """Run `sql`; returns (column names, rows as tuples, decltypes-derived values)."""
        conn = self.connect(db_id)
        try:
            cur = conn.execute(sql, params)
            names = [d[0] for d in (cur.description or [])]
            rows = cur.fetchall()
            return names, rows
        finally:
            conn.close()

    def row_count(self, table):
        names, rows = self.execute(table.db.id, "SELECT COUNT(*) FROM %s" % table.sql_ref())
        return rows[0][0]


def _quote_ident(name):
    return '"%s"' % name.replace('"', '""')
