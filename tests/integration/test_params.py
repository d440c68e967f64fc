# test_params.py — issue 11 point 2, DESIGN.md §1 "Card parameters", through a
# real mount, both server behaviours:
#   1 "<listed card file>?slug=value&…" in cards/ and collections/ is the
#     card's export with those values: byte for byte what the server sends
#     for the request Metabase's UI makes (fake README "From a file name to
#     the request"); percent-decoding, repeated names, the defaults of the
#     parameters not given;
#   2 the same suffix on a dashcard file in dashboards/ and in a dashboard
#     directory of collections/: the dashboard's filter slugs, mapped by the
#     dashcard's parameter_mappings;
#   3 one cached result per distinct parameter set (names that differ only
#     in order or escaping are one file), sizes exact on first stat, touch;
#   4 unknown or malformed names: ENOENT; files without parameters: ENOENT;
#     listings never show parameterized names;
#   5 user.mb.parameters on every file of a card or dashcard that has some.

import errno
import json
import os
import subprocess

import pytest
from conftest import read

FILTERS = ("collections", "Filters")
DASH = ("dashboards", "6")                   # "Filtered orders", three filters
CAT_TAG = ["variable", ["template-tag", "category"]]
CREATED_TAG = ["dimension", ["template-tag", "created_at"]]
PRICE_TAG = ["variable", ["template-tag", "max_price"]]


def exports(fake, key):
    return fake.stats()["exports"].get(key, 0)


@pytest.fixture(scope="module")
def token(fake):
    return fake.login()


def card(mnt, name, *query):
    return mnt.p("cards", name + ("?" + "&".join(query) if query else ""))


def card_export(fake, token, cid, fmt, params):
    return fake.export("card", cid, fmt, token, params=params)


# ---- 1. cards --------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_a_text_tag_is_the_cards_export_with_that_value(fake, mnt, token, fmt):
    got = read(card(mnt, "38." + fmt, "category=Gizmo"))
    want = card_export(fake, token, 38, fmt,
                       [{"type": "category", "value": ["Gizmo"], "target": CAT_TAG}])
    assert got == want
    # and not the default export (no category, the field filter's default range)
    assert got != read(card(mnt, "38." + fmt))
    if fmt == "csv":
        rows = got.decode().splitlines()[1:]
        assert rows and all(",Gizmo," in r for r in rows)


def test_two_parameters_and_a_date_range(fake, mnt, token):
    got = read(card(mnt, "38.csv", "category=Widget", "created_at=2024-01-01~2024-03-31"))
    want = card_export(fake, token, 38, "csv", [
        {"type": "category", "value": ["Widget"], "target": CAT_TAG},
        {"type": "date/range", "value": "2024-01-01~2024-03-31", "target": CREATED_TAG}])
    assert got == want
    days = {r.split(",")[1][:10] for r in got.decode().splitlines()[1:]}
    assert days and min(days) >= "2024-01-01" and max(days) <= "2024-03-31"


def test_the_parameters_not_given_take_their_defaults(fake, mnt, token):
    # card 38: created_at defaults to 2025-01-01~2025-03-31; giving it
    # explicitly changes nothing, giving another range does
    default = read(card(mnt, "38.csv", "category=Gizmo"))
    explicit = read(card(mnt, "38.csv", "created_at=2025-01-01~2025-03-31", "category=Gizmo"))
    other = read(card(mnt, "38.csv", "category=Gizmo", "created_at=2024-06-01~2024-06-30"))
    assert default == explicit != other
    # card 39: max_price defaults to 30
    assert read(card(mnt, "39.csv")) == read(card(mnt, "39.csv", "max_price=30"))
    fifty = read(card(mnt, "39.csv", "max_price=50"))
    assert fifty == card_export(fake, token, 39, "csv",
                                [{"type": "number/=", "value": ["50"], "target": PRICE_TAG}])
    prices = [float(r.split(",")[-1]) for r in fifty.decode().splitlines()[1:]]
    assert prices and max(prices) <= 50 and max(prices) > 30


def test_values_are_percent_decoded(fake, mnt, token):
    plain = card(mnt, "38.csv", "category=Gizmo", "created_at=2024-01-01~2024-03-31")
    escaped = card(mnt, "38.csv", "c%61tegory=Gi%7Amo", "created_at=2024-01-01%7E2024-03-31")
    assert read(escaped) == read(plain)
    # one parameter set, one file: the same inode, one export for both names
    assert os.stat(escaped).st_ino == os.stat(plain).st_ino
    # '&', '=' and '/' inside a value
    got = read(card(mnt, "38.csv", "category=A%26B%3Dc%2Fd"))
    assert got == card_export(fake, token, 38, "csv",
                              [{"type": "category", "value": ["A&B=c/d"], "target": CAT_TAG}])
    assert got.decode().splitlines() == ["ID,CREATED_AT,CATEGORY,TOTAL"]   # no such category


def test_a_repeated_name_gives_several_values(fake, mnt, token):
    # a dashboard filter on an MBQL card (dashcard 20 → card 40): IN (…)
    d = mnt.p(*DASH)
    got = read(os.path.join(d, "Products (filtered).csv?category=Gizmo&category=Gadget"))
    want = fake.export("dashcard", (6, 20, 40), "csv", token,
                       params=[{"id": "f_category", "type": "string/=", "value": ["Gizmo", "Gadget"]}])
    assert got == want
    cats = {r.split(",")[2] for r in got.decode().splitlines()[1:]}
    assert cats == {"Gizmo", "Gadget"}
    # `= {{category}}` with two values is the database's error, as on a
    # real server: the file exists (stat size 0), reading it is EIO
    bad = card(mnt, "38.csv", "category=Gizmo", "category=Gadget")
    assert os.stat(bad).st_size == 0
    with pytest.raises(OSError) as e:
        read(bad)
    assert e.value.errno == errno.EIO
    assert os.getxattr(bad, "user.mb.error")


def test_in_a_collection_directory(fake, mnt, token):
    path = mnt.p(*FILTERS, "Products under a price.csv?max_price=12")
    got = read(path)
    assert got == card_export(fake, token, 39, "csv",
                              [{"type": "number/=", "value": ["12"], "target": PRICE_TAG}])
    assert os.stat(path).st_ino == os.stat(card(mnt, "39.csv", "max_price=12")).st_ino


def test_a_number_that_is_not_one_is_the_servers_error(fake, mnt):
    path = card(mnt, "39.csv", "max_price=abc")
    assert os.stat(path).st_size == 0
    with pytest.raises(OSError) as e:
        read(path)
    assert e.value.errno == errno.EIO
    msg = os.getxattr(path, "user.mb.error").decode()
    assert "abc" in msg


# ---- 2. dashcards --------------------------------------------------------------------------

def dashboard_filters(fake, token, dcid):
    """The filters of dashboard 6 mapped to dashcard dcid, as user.mb.parameters lists them."""
    d = fake.get_json("/api/dashboard/6", token)
    dcs = d.get("dashcards") or d.get("ordered_cards")
    dc = next(x for x in dcs if x["id"] == dcid)
    by_id = {p["id"]: p for p in d["parameters"]}
    out, seen = [], set()
    for m in dc["parameter_mappings"]:
        p = by_id[m["parameter_id"]]
        if p["slug"] not in seen:
            seen.add(p["slug"])
            out.append({"slug": p["slug"], "name": p["name"], "type": p["type"],
                        "default": p.get("default")})
    return out


@pytest.mark.parametrize("where", [DASH, FILTERS + ("Filtered orders",)])
def test_a_dashcard_takes_the_dashboards_filter_slugs(fake, mnt, token, where):
    d = mnt.p(*where)
    base = os.path.join(d, "Orders by category and date.csv")
    got = read(base + "?category=Gizmo")
    want = fake.export("dashcard", (6, 18, 38), "csv", token,
                       params=[{"id": "f_category", "type": "string/=", "value": ["Gizmo"]}])
    assert got == want
    assert got != read(base)                     # the default is Widget
    # the other filter keeps the dashboard's default (2024), the given one wins
    both = read(base + "?created_at=2024-03-01~2024-03-31&category=Gizmo")
    assert both == fake.export("dashcard", (6, 18, 38), "csv", token, params=[
        {"id": "f_category", "type": "string/=", "value": ["Gizmo"]},
        {"id": "f_created", "type": "date/all-options", "value": "2024-03-01~2024-03-31"}])
    days = {r.split(",")[1][:7] for r in both.decode().splitlines()[1:]}
    assert days == {"2024-03"}
    # a number filter mapped to a number tag (dashcard 19 → card 39)
    price = read(os.path.join(d, "Products under a price.csv?max_price=15"))
    assert price == fake.export("dashcard", (6, 19, 39), "csv", token,
                                params=[{"id": "f_price", "type": "number/=", "value": ["15"]}])


def test_a_dashcard_knows_only_the_filters_mapped_to_it(fake, mnt):
    d = mnt.p(*DASH)
    # max_price is a filter of the dashboard, but not mapped to dashcard 18
    for name in ("Orders by category and date.csv?max_price=15",
                 "Orders by category and date.csv?nope=1"):
        with pytest.raises(FileNotFoundError):
            os.stat(os.path.join(d, name))


# ---- 3. caching, sizes, touch ---------------------------------------------------------------

def test_one_cached_result_per_parameter_set(fake, mnt):
    a = card(mnt, "38.csv", "category=Doohickey")
    b = card(mnt, "38.csv", "category=Widget")
    before = exports(fake, "card:38:csv")
    body_a, body_b = read(a), read(b)
    assert body_a != body_b
    assert exports(fake, "card:38:csv") == before + 2
    # again, and under a name that differs only in order and escaping
    assert read(a) == body_a and read(b) == body_b
    assert read(card(mnt, "38.csv", "category=Widg%65t")) == body_b
    assert exports(fake, "card:38:csv") == before + 2
    assert os.stat(a).st_ino != os.stat(b).st_ino
    # the base file is a result of its own
    read(card(mnt, "38.csv"))
    assert exports(fake, "card:38:csv") == before + 3


def test_first_stat_is_exact_and_one_export_serves_stat_and_read(fake, mnt):
    path = card(mnt, "39.csv", "max_price=21")
    before = exports(fake, "card:39:csv")
    size = os.stat(path).st_size                 # materialized by naming it
    body = read(path)
    assert size == len(body) > 0
    assert exports(fake, "card:39:csv") == before + 1


def test_touch_drops_the_result_of_that_parameter_set(fake, mnt):
    path = card(mnt, "39.csv", "max_price=22")
    other = card(mnt, "39.csv", "max_price=23")
    read(path), read(other)
    before = exports(fake, "card:39:csv")
    os.utime(path)
    read(path), read(other)
    assert exports(fake, "card:39:csv") == before + 1


def test_listings_show_only_the_files_themselves(fake, mnt):
    read(card(mnt, "38.csv", "category=Gizmo"))
    read(mnt.p(*DASH, "Products (filtered).csv?category=Gizmo"))
    for d in (mnt.p("cards"), mnt.p(*FILTERS), mnt.p(*DASH)):
        names = os.listdir(d)
        assert names and not any("?" in n for n in names), d


# ---- 4. unknown names ------------------------------------------------------------------------

@pytest.mark.parametrize("name", [
    "38.csv?nope=1",                    # no such parameter
    "38.csv?category=Gizmo&nope=1",     # one unknown among known ones
    "38.csv?category",                  # not NAME=VALUE
    "38.csv?",                          # nothing after '?'
    "38.csv?category=Gizmo&",           # an empty pair
    "38.csv?=Gizmo",                    # an empty name
    "38.csv?category=%zz",              # a bad escape
    "38.csv?category=%00",              # NUL
    "1.csv?category=Gizmo",             # a card without parameters
    "38.sql?category=Gizmo",            # not a data file
    "999999.csv?category=Gizmo",        # no such card
])
def test_unknown_or_malformed_names_are_enoent(fake, mnt, name):
    with pytest.raises(FileNotFoundError):
        os.stat(mnt.p("cards", name))


# ---- 5. user.mb.parameters -------------------------------------------------------------------

def card_parameters(fake, token, cid):
    c = fake.get_json("/api/card/%d" % cid, token)
    return [{"slug": p["slug"], "name": p["name"], "type": p["type"], "default": p.get("default")}
            for p in c["parameters"]]


def test_user_mb_parameters_lists_what_a_name_may_set(fake, mnt, token):
    for cid in (38, 39):
        want = card_parameters(fake, token, cid)
        for path in (mnt.p("cards", "%d.csv" % cid), mnt.p("cards", "%d.json" % cid),
                     mnt.p("cards", "%d.sql" % cid)):
            assert json.loads(os.getxattr(path, "user.mb.parameters")) == want, path
    assert json.loads(os.getxattr(mnt.p(*FILTERS, "Products under a price.csv"),
                                  "user.mb.parameters")) == card_parameters(fake, token, 39)
    # getfattr shows it (the discovery path the README describes)
    out = subprocess.run(["getfattr", "-n", "user.mb.parameters", "--only-values",
                          mnt.p("cards", "38.csv")], capture_output=True, check=True).stdout
    assert [p["slug"] for p in json.loads(out)] == ["category", "created_at"]
    # dashcards: the dashboard's filters mapped to them
    for dcid, name in ((18, "Orders by category and date"), (20, "Products (filtered)"),
                       (19, "Products under a price")):
        got = json.loads(os.getxattr(mnt.p(*DASH, name + ".csv"), "user.mb.parameters"))
        assert got == dashboard_filters(fake, token, dcid), name
    # a parameterized file carries it too, and says what it sends
    p = card(mnt, "38.csv", "category=Gizmo")
    assert json.loads(os.getxattr(p, "user.mb.parameters")) == card_parameters(fake, token, 38)
    sent = json.loads(os.getxattr(p, "user.mb.parameter_values"))
    assert {"type": "category", "value": ["Gizmo"], "target": CAT_TAG}.items() <= sent[0].items()
    assert os.getxattr(p, "user.mb.id") == b"38"


def test_files_without_parameters_have_no_such_attribute(fake, mnt):
    for path in (mnt.p("cards", "1.csv"), mnt.p("cards", "40.csv")):
        with pytest.raises(OSError) as e:
            os.getxattr(path, "user.mb.parameters")
        assert e.value.errno == errno.ENODATA
