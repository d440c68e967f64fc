# params.py — query parameters: what a parameter value means and how it fails.
#
# Owns: the value forms Metabase's UI sends for each parameter type and how
# they filter rows — date strings ("2024-01-01", "2024-01-01~2024-03-31",
# "~2024-03-31", "2024-01-01~", "2024-03", "Q1-2024", "past30days",
# "thisyear", ...), number values ("30", 30, "1,2"), text and category
# values (a string or a list: several values = IN) — for both native field
# filters ({{tag}} of type "dimension") and MBQL dimension targets
# (["dimension", ["field", id, opts]]); and the failure messages Metabase
# gives for bad values (metabase-api.md §6.3: a QP failure whose top-level
# "error" is the root cause, with the wrapping exceptions in "via").
#
# Knows nothing about HTTP; mbql.py calls it while compiling a query.

import datetime
import re


class ParamError(Exception):
    """A bad parameter value: `message` is the root cause, `wrappers` the outer
    exception messages (innermost first), `klass` the root exception's class."""

    def __init__(self, message, error_type="invalid-parameter", wrappers=(), klass=None):
        super().__init__(message)
        self.message = message
        self.error_type = error_type
        self.wrappers = list(wrappers)
        self.klass = klass or "class clojure.lang.ExceptionInfo"


# --------------------------------------------------------------------------
# parameter types
# --------------------------------------------------------------------------

def tag_parameter_type(tag):
    """The parameter type Metabase's UI gives a template tag (frontend getTemplateTagType)."""
    t = tag.get("type")
    if t == "dimension":
        return tag.get("widget-type") or "category"
    return {"date": "date/single", "number": "number/="}.get(t, "category")


def is_date_type(ptype):
    return isinstance(ptype, str) and ptype.startswith("date")


def is_number_type(ptype):
    return isinstance(ptype, str) and ptype.startswith("number")


def as_list(value):
    return list(value) if isinstance(value, (list, tuple)) else [value]


# --------------------------------------------------------------------------
# numbers
# --------------------------------------------------------------------------

def parse_numbers(value, behaviour_name="new"):
    """Numbers from a parameter value: 30, "30", "12.5", "1,2" or a list of those.

    A value that is not a number raises ParamError with Metabase's root message
    (old ≈ Java's NumberFormatException text, new ≈ "Unparseable number: ...")."""
    out = []
    for v in as_list(value):
        if isinstance(v, bool):
            raise _bad_number(v, behaviour_name)
        if isinstance(v, (int, float)):
            out.append(v)
            continue
        for part in str(v).split(","):
            s = part.strip()
            try:
                out.append(int(s))
                continue
            except ValueError:
                pass
            try:
                f = float(s)
            except ValueError:
                raise _bad_number(s, behaviour_name)
            if f != f or f in (float("inf"), float("-inf")):
                raise _bad_number(s, behaviour_name)
            out.append(f)
    return out


def _bad_number(s, behaviour_name):
    if behaviour_name == "old":
        return ParamError('For input string: "%s"' % s, klass="class java.lang.NumberFormatException")
    return ParamError('Unparseable number: "%s"' % s)


# --------------------------------------------------------------------------
# dates
# --------------------------------------------------------------------------

_DAY = r"\d{4}-\d{2}-\d{2}"
_DT = _DAY + r"(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_RANGE = re.compile(r"^(%s)?~(%s)?$" % (_DT, _DT))
_SINGLE = re.compile(r"^(%s)$" % _DT)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^Q([1-4])-(\d{4})$")
_RELATIVE = re.compile(r"^(past|next)(\d+)(minute|hour|day|week|month|quarter|year)s(~)?$")
_THIS_LAST = re.compile(r"^(this|last|next)(minute|hour|day|week|month|quarter|year)$")
_UNITS = ("minute", "hour", "day", "week", "month", "quarter", "year")


def _parse_dt(s):
    if "T" in s:
        s = s[:19] if len(s) >= 19 else s + ":00" * ((19 - len(s)) // 3)
        return datetime.datetime.strptime(s[:19], "%Y-%m-%dT%H:%M:%S")
    return datetime.datetime.strptime(s, "%Y-%m-%d")


def _fmt(dt, has_time):
    return dt.strftime("%Y-%m-%dT%H:%M:%S") if has_time else dt.strftime("%Y-%m-%d")


def _add_months(dt, n):
    m = dt.month - 1 + n
    return dt.replace(year=dt.year + m // 12, month=m % 12 + 1, day=1)


def _floor(dt, unit):
    if unit == "minute":
        return dt.replace(second=0, microsecond=0)
    if unit == "hour":
        return dt.replace(minute=0, second=0, microsecond=0)
    day = dt.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "day":
        return day
    if unit == "week":                       # Metabase's default start of week: Sunday
        return day - datetime.timedelta(days=(day.weekday() + 1) % 7)
    if unit == "month":
        return day.replace(day=1)
    if unit == "quarter":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    return day.replace(month=1, day=1)


def _shift(dt, unit, n):
    if unit == "minute":
        return dt + datetime.timedelta(minutes=n)
    if unit == "hour":
        return dt + datetime.timedelta(hours=n)
    if unit == "day":
        return dt + datetime.timedelta(days=n)
    if unit == "week":
        return dt + datetime.timedelta(weeks=n)
    if unit == "month":
        return _add_months(dt, n)
    if unit == "quarter":
        return _add_months(dt, 3 * n)
    return _add_months(dt, 12 * n)


def date_bounds(value, now=None):
    """(start, end) for a date parameter string: start inclusive, end exclusive, either may be
    None (open).  Strings are "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SS"; they compare correctly
    with the fake's ISO-8601 TEXT timestamps and dates.  Raises ParamError on anything else."""
    if isinstance(value, (list, tuple)) and len(value) == 1:
        value = value[0]
    s = value.strip() if isinstance(value, str) else None
    if not s:
        raise _bad_date(value)
    try:
        m = _SINGLE.match(s)
        if m:
            start = _parse_dt(s)
            has_time = "T" in s
            end = start + (datetime.timedelta(minutes=1) if has_time else datetime.timedelta(days=1))
            return _fmt(start, has_time), _fmt(end, has_time)
        m = _RANGE.match(s)
        if m and (m.group(1) or m.group(2)):
            lo, hi = m.group(1), m.group(2)
            start = _fmt(_parse_dt(lo), "T" in lo) if lo else None
            end = None
            if hi:
                h = _parse_dt(hi)
                has_time = "T" in hi
                end = _fmt(h + (datetime.timedelta(minutes=1) if has_time else datetime.timedelta(days=1)), has_time)
            return start, end
        m = _MONTH.match(s)
        if m:
            start = datetime.datetime(int(m.group(1)), int(m.group(2)), 1)
            return _fmt(start, False), _fmt(_add_months(start, 1), False)
        m = _QUARTER.match(s)
        if m:
            start = datetime.datetime(int(m.group(2)), (int(m.group(1)) - 1) * 3 + 1, 1)
            return _fmt(start, False), _fmt(_add_months(start, 3), False)
    except ValueError:
        raise _bad_date(s)
    now = now or datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    has_time = False
    m = _RELATIVE.match(s)
    if m:
        direction, n, unit, include_current = m.group(1), int(m.group(2)), m.group(3), bool(m.group(4))
        has_time = unit in ("minute", "hour")
        cur = _floor(now, unit)
        if direction == "past":
            start, end = _shift(cur, unit, -n), (_shift(cur, unit, 1) if include_current else cur)
        else:
            start, end = (cur if include_current else _shift(cur, unit, 1)), _shift(cur, unit, n + 1)
        return _fmt(start, has_time), _fmt(end, has_time)
    if s in ("today", "yesterday"):
        cur = _floor(now, "day")
        if s == "yesterday":
            cur = _shift(cur, "day", -1)
        return _fmt(cur, False), _fmt(_shift(cur, "day", 1), False)
    m = _THIS_LAST.match(s)
    if m:
        which, unit = m.group(1), m.group(2)
        has_time = unit in ("minute", "hour")
        cur = _floor(now, unit)
        cur = _shift(cur, unit, {"this": 0, "last": -1, "next": 1}[which])
        return _fmt(cur, has_time), _fmt(_shift(cur, unit, 1), has_time)
    raise _bad_date(s)


def _bad_date(s):
    return ParamError("Don't know how to parse date param '%s' — invalid format" % (s,))


# --------------------------------------------------------------------------
# filters
# --------------------------------------------------------------------------

def condition(column_sql, ptype, value, field_base_type=None, behaviour_name="new", now=None):
    """SQL (with ? placeholders) and its arguments restricting `column_sql` to a parameter value.

    Used for native field filters and MBQL dimension targets alike."""
    date_field = (field_base_type or "").startswith(("type/Date", "type/Time"))
    if is_date_type(ptype) or (date_field and isinstance(value, str) and not is_number_type(ptype)):
        start, end = date_bounds(value, now)
        parts, args = [], []
        if start is not None:
            parts.append("%s >= ?" % column_sql)
            args.append(start)
        if end is not None:
            parts.append("%s < ?" % column_sql)
            args.append(end)
        return "(" + " AND ".join(parts) + ")", args
    values = as_list(value)
    if is_number_type(ptype):
        values = parse_numbers(values, behaviour_name)
    op = ptype.split("/", 1)[1] if isinstance(ptype, str) and "/" in ptype else "="
    if op in ("between",):
        if len(values) != 2:
            raise ParamError("number/between needs two values, got %d" % len(values))
        lo, hi = values
        if lo is None and hi is None:
            return "1 = 1", []
        if lo is None:
            return "(%s <= ?)" % column_sql, [hi]
        if hi is None:
            return "(%s >= ?)" % column_sql, [lo]
        return "(%s BETWEEN ? AND ?)" % column_sql, [lo, hi]
    if op in (">=", "<="):
        return "(%s %s ?)" % (column_sql, op), [values[0]]
    if op in ("contains", "does-not-contain", "starts-with", "ends-with"):
        pats = []
        for v in values:
            s = str(v).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            pats.append({"contains": "%" + s + "%", "does-not-contain": "%" + s + "%",
                         "starts-with": s + "%", "ends-with": "%" + s}[op])
        neg = "NOT " if op == "does-not-contain" else ""
        joiner = " AND " if neg else " OR "
        return "(" + joiner.join("%s %sLIKE ? ESCAPE '\\'" % (column_sql, neg) for _ in pats) + ")", pats
    if op == "!=":
        if len(values) == 1:
            return "(%s <> ?)" % column_sql, values
        return "(%s NOT IN (%s))" % (column_sql, ", ".join("?" for _ in values)), values
    if len(values) == 1:
        return "(%s = ?)" % column_sql, values
    return "(%s IN (%s))" % (column_sql, ", ".join("?" for _ in values)), values


def has_value(value):
    return value is not None and value != [] and value != ""
