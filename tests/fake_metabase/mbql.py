# mbql.py — queries: a tiny MBQL -> SQLite compiler, native template tags,
# and the legacy (MBQL 4) <-> MBQL 5 representation of dataset_query.
#
# Owns: turning a dataset_query (legacy {"type":"query","query":{...}} or
# {"type":"native","native":{...}}, or MBQL 5 {"lib/type":"mbql/query",
# "stages":[...]}) into (sql, params, column metadata) and executing it
# against data.Warehouse.  Supported MBQL: source-table (an id or
# "card__N"), fields, filter (=, !=, <, >, <=, >=, between, is-null,
# not-null, contains, starts-with, ends-with, and, or, not), aggregation
# (count, sum, avg, min, max, distinct), breakout (fields, optional
# temporal-unit day/week/month/quarter/year), order-by (asc/desc on fields
# or ["aggregation", i]) and limit.  Anything else raises QueryError, which
# the API turns into a Metabase-style failed query.

import re
import uuid

import data
import params as params_mod


class QueryError(Exception):
    """A query-processor failure, reported like Metabase's failed QP result."""

    def __init__(self, message, error_type="invalid-query", status=500, klass=None, state=None, via=None):
        super().__init__(message)
        self.message = message
        self.error_type = error_type
        self.status = status
        self.klass = klass or "class clojure.lang.ExceptionInfo"
        self.state = state
        self.via = list(via or [])      # messages of the wrapping exceptions, innermost first


def _param_failure(e):
    """A params.ParamError as the QP failure Metabase reports (root cause on top, wrappers in via)."""
    return QueryError(e.message, e.error_type, klass=e.klass, via=e.wrappers)


class Column:
    def __init__(self, name, display_name, base_type, semantic_type=None, field=None,
                 source="native", field_ref=None, unit=None):
        self.name = name
        self.display_name = display_name
        self.base_type = base_type
        self.semantic_type = semantic_type
        self.field = field
        self.source = source
        self.field_ref = field_ref
        self.unit = unit

    def metadata(self):
        """The result_metadata / data.cols entry for this column."""
        f = self.field
        m = {
            "name": self.name,
            "display_name": self.display_name,
            "base_type": self.base_type,
            "effective_type": self.base_type,
            "semantic_type": self.semantic_type,
            "field_ref": self.field_ref,
            "source": self.source,
        }
        if f is not None:
            m.update({
                "id": f.id,
                "table_id": f.table.id,
                "description": f.description,
                "coercion_strategy": None,
                "settings": None,
                "nfc_path": None,
                "parent_id": None,
                "visibility_type": f.visibility_type,
                "fingerprint": None,
            })
        if self.unit:
            m["unit"] = self.unit
        return m


class Result:
    def __init__(self, columns, rows, sql, database_id):
        self.columns = columns
        self.rows = rows
        self.sql = sql
        self.database_id = database_id


# --------------------------------------------------------------------------
# MBQL 5 <-> legacy
# --------------------------------------------------------------------------

_CLAUSES_WITH_OPTS = {"field", "expression", "aggregation"}


def _stable_uuid(seed, n):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "mbfs-fake/%s/%d" % (seed, n)))


def legacy_to_mbql5(dq, seed="q"):
    """Convert a legacy dataset_query into the MBQL 5 shape Metabase >= 0.57 returns."""
    counter = [0]

    def uid():
        counter[0] += 1
        return _stable_uuid(seed, counter[0])

    def clause(c):
        if not isinstance(c, list) or not c or not isinstance(c[0], str):
            return c
        tag = c[0]
        if tag == "field":
            opts = dict(c[2] or {}) if len(c) > 2 else {}
            opts = {k: v for k, v in opts.items()}
            opts["lib/uuid"] = uid()
            return ["field", opts, c[1]]
        if tag == "aggregation":
            return ["aggregation", {"lib/uuid": uid()}, c[1]]
        args = [clause(a) for a in c[1:]]
        return [tag, {"lib/uuid": uid()}] + args

    if dq.get("type") == "native":
        native = dq.get("native", {})
        stage = {"lib/type": "mbql.stage/native", "native": native.get("query", "")}
        if native.get("template-tags"):
            tags = {}
            for name, tag in native["template-tags"].items():
                tag = dict(tag)
                if isinstance(tag.get("dimension"), list):
                    tag["dimension"] = clause(tag["dimension"])
                tags[name] = tag
            stage["template-tags"] = tags
        return {"lib/type": "mbql/query", "database": dq.get("database"), "stages": [stage]}
    q = dq.get("query", {})
    stage = {"lib/type": "mbql.stage/mbql"}
    src = q.get("source-table")
    if isinstance(src, str) and src.startswith("card__"):
        stage["source-card"] = int(src[6:])
    elif src is not None:
        stage["source-table"] = src
    if "fields" in q:
        stage["fields"] = [clause(f) for f in q["fields"]]
    if "filter" in q:
        f = q["filter"]
        if isinstance(f, list) and f and f[0] == "and":
            stage["filters"] = [clause(x) for x in f[1:]]
        else:
            stage["filters"] = [clause(f)]
    for key in ("aggregation", "breakout", "order-by"):
        if key in q:
            stage[key] = [clause(x) for x in q[key]]
    if "limit" in q:
        stage["limit"] = q["limit"]
    return {"lib/type": "mbql/query", "database": dq.get("database"), "stages": [stage]}


def _clause_from_mbql5(c):
    if not isinstance(c, list) or not c or not isinstance(c[0], str):
        return c
    tag = c[0]
    if len(c) >= 2 and isinstance(c[1], dict):
        opts = {k: v for k, v in c[1].items() if not k.startswith("lib/")}
        rest = c[2:]
        if tag == "field":
            return ["field", rest[0] if rest else None, opts or None]
        if tag == "aggregation":
            return ["aggregation", rest[0] if rest else 0]
        return [tag] + [_clause_from_mbql5(a) for a in rest]
    return [tag] + [_clause_from_mbql5(a) for a in c[1:]]


def normalize(dq):
    """Any accepted dataset_query -> legacy shape.  Raises QueryError when malformed."""
    if not isinstance(dq, dict):
        raise QueryError("Invalid query: expected a map.", "invalid-query", 400)
    if dq.get("lib/type") == "mbql/query" or "stages" in dq:
        stages = dq.get("stages") or []
        if len(stages) != 1 or not isinstance(stages[0], dict):
            raise QueryError("The fake server supports exactly one query stage.", "unsupported-feature")
        st = stages[0]
        if st.get("lib/type") == "mbql.stage/native":
            tags = {}
            for name, tag in (st.get("template-tags") or {}).items():
                if isinstance(tag, dict) and isinstance(tag.get("dimension"), list):
                    tag = dict(tag, dimension=_clause_from_mbql5(tag["dimension"]))
                tags[name] = tag
            return {"database": dq.get("database"), "type": "native",
                    "native": {"query": st.get("native", ""), "template-tags": tags},
                    "parameters": dq.get("parameters", [])}
        q = {}
        if "source-card" in st:
            q["source-table"] = "card__%s" % st["source-card"]
        elif "source-table" in st:
            q["source-table"] = st["source-table"]
        if "fields" in st:
            q["fields"] = [_clause_from_mbql5(x) for x in st["fields"]]
        filters = [_clause_from_mbql5(x) for x in st.get("filters", [])]
        if len(filters) == 1:
            q["filter"] = filters[0]
        elif filters:
            q["filter"] = ["and"] + filters
        for key in ("aggregation", "breakout", "order-by"):
            if key in st:
                q[key] = [_clause_from_mbql5(x) for x in st[key]]
        if "limit" in st:
            q["limit"] = st["limit"]
        return {"database": dq.get("database"), "type": "query", "query": q,
                "parameters": dq.get("parameters", [])}
    qtype = dq.get("type")
    if qtype not in ("query", "native"):
        raise QueryError("Invalid query type: %r" % (qtype,), "invalid-query", 400)
    return dq


# --------------------------------------------------------------------------
# MBQL compilation
# --------------------------------------------------------------------------

def _ident(name):
    return '"%s"' % name.replace('"', '""')


_TEMPORAL = {
    "default": None,
    "minute": "strftime('%Y-%m-%dT%H:%M:00Z', {x})",
    "hour": "strftime('%Y-%m-%dT%H:00:00Z', {x})",
    "day": "date({x})",
    "week": "date({x}, '-' || strftime('%w', {x}) || ' days')",
    "month": "strftime('%Y-%m-01', {x})",
    "quarter": "(strftime('%Y', {x}) || '-' || printf('%02d', ((CAST(strftime('%m', {x}) AS INTEGER) - 1) / 3) * 3 + 1) || '-01')",
    "year": "strftime('%Y-01-01', {x})",
}


class _Compiler:
    def __init__(self, warehouse, table):
        self.wh = warehouse
        self.table = table
        self.params = []

    def field(self, ref):
        if not (isinstance(ref, list) and ref and ref[0] == "field"):
            raise QueryError("Unsupported field reference: %s" % (ref,))
        fid = ref[1]
        opts = ref[2] if len(ref) > 2 and isinstance(ref[2], dict) else {}
        if isinstance(fid, int):
            f = self.wh.field_by_id.get(fid)
            if f is None or f.table is not self.table:
                raise QueryError("Field %s does not exist in table %s." % (fid, self.table.name))
        else:
            try:
                f = self.table.field(fid)
            except KeyError:
                raise QueryError("Column \"%s\" not found" % fid, state="42S22")
        x = "%s.%s" % (self.table.sql_ref(), _ident(f.name))
        unit = opts.get("temporal-unit")
        if unit and unit != "default":
            if unit not in _TEMPORAL:
                raise QueryError("Unsupported temporal unit: %s" % unit, "unsupported-feature")
            x = _TEMPORAL[unit].format(x=x)
        return f, x, unit

    def value(self, v):
        if isinstance(v, bool):
            v = 1 if v else 0
        self.params.append(v)
        return "?"

    def expr(self, c):
        if isinstance(c, list) and c and c[0] == "field":
            return self.field(c)[1]
        if isinstance(c, list) and c and c[0] == "value":
            return self.value(c[1])
        return self.value(c)

    def filter(self, c):
        if not isinstance(c, list) or not c:
            raise QueryError("Invalid filter clause: %s" % (c,))
        op = c[0]
        if op in ("and", "or"):
            parts = [self.filter(x) for x in c[1:]]
            return "(" + (" %s " % op.upper()).join(parts) + ")"
        if op == "not":
            return "(NOT %s)" % self.filter(c[1])
        if op in ("=", "!="):
            lhs = self.expr(c[1])
            values = c[2:]
            if len(values) == 1:
                if values[0] is None:
                    return "(%s IS %sNULL)" % (lhs, "" if op == "=" else "NOT ")
                return "(%s %s %s)" % (lhs, "=" if op == "=" else "<>", self.expr(values[0]))
            inner = ", ".join(self.expr(v) for v in values)
            return "(%s %sIN (%s))" % (lhs, "" if op == "=" else "NOT ", inner)
        if op in ("<", ">", "<=", ">="):
            return "(%s %s %s)" % (self.expr(c[1]), op, self.expr(c[2]))
        if op == "between":
            return "(%s BETWEEN %s AND %s)" % (self.expr(c[1]), self.expr(c[2]), self.expr(c[3]))
        if op == "is-null":
            return "(%s IS NULL)" % self.expr(c[1])
        if op == "not-null":
            return "(%s IS NOT NULL)" % self.expr(c[1])
        if op in ("contains", "starts-with", "ends-with", "does-not-contain"):
            s = str(c[2]).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            pat = {"contains": "%" + s + "%", "does-not-contain": "%" + s + "%",
                   "starts-with": s + "%", "ends-with": "%" + s}[op]
            neg = "NOT " if op == "does-not-contain" else ""
            return "(%s %sLIKE %s ESCAPE '\\')" % (self.expr(c[1]), neg, self.value(pat))
        raise QueryError("Unsupported filter: %s" % op, "unsupported-feature")


_AGG_NAMES = {"count": ("count", "Count"), "sum": ("sum", "Sum of {}"), "avg": ("avg", "Average of {}"),
              "min": ("min", "Min of {}"), "max": ("max", "Max of {}"),
              "distinct": ("count", "Distinct values of {}")}


def compile_mbql(warehouse, dq, extra_conditions=(), behaviour_name="new"):
    """Legacy MBQL query -> (table, sql, params, columns).

    `extra_conditions`: [(field ref, parameter type, value)] from dimension parameters,
    ANDed to the query's own filter."""
    q = dq.get("query") or {}
    db_id = dq.get("database")
    src = q.get("source-table")
    if not isinstance(src, int) or isinstance(src, bool):
        raise QueryError("Invalid source-table: %r" % (src,), "invalid-query", 400)
    table = warehouse.table_by_id.get(src)
    if table is None or table.db.id != db_id:
        raise QueryError("Table %s does not exist in database %s." % (src, db_id))
    comp = _Compiler(warehouse, table)
    select, cols, group = [], [], []
    breakouts = q.get("breakout") or []
    aggs = q.get("aggregation") or []
    if breakouts or aggs:
        for b in breakouts:
            f, x, unit = comp.field(b)
            select.append(x)
            group.append(x)
            dn = f.display_name + (": %s" % unit.capitalize() if unit and unit != "default" else "")
            base = f.base_type if not unit or unit == "default" else "type/Date"
            cols.append(Column(f.name, dn, base, f.semantic_type, f, "breakout", b, unit))
        used = {}
        for i, a in enumerate(aggs):
            if not isinstance(a, list) or not a or a[0] not in _AGG_NAMES:
                raise QueryError("Unsupported aggregation: %s" % (a,), "unsupported-feature")
            op = a[0]
            name, label = _AGG_NAMES[op]
            if op == "count":
                sql = "COUNT(*)"
                base, sem, label = "type/BigInteger", "type/Quantity", "Count"
            else:
                f, x, _ = comp.field(a[1])
                label = label.format(f.display_name)
                if op == "distinct":
                    sql, base, sem = "COUNT(DISTINCT %s)" % x, "type/BigInteger", "type/Quantity"
                else:
                    sql = "%s(%s)" % (op.upper(), x)
                    base = "type/Float" if op == "avg" else f.base_type
                    sem = None
            used[name] = used.get(name, 0) + 1
            col_name = name if used[name] == 1 else "%s_%d" % (name, used[name])
            select.append(sql)
            cols.append(Column(col_name, label, base, sem, None, "aggregation", ["aggregation", i]))
    else:
        fields = q.get("fields")
        if fields:
            for ref in fields:
                f, x, unit = comp.field(ref)
                select.append(x)
                cols.append(Column(f.name, f.display_name, f.base_type, f.semantic_type, f, "fields", ref))
        else:
            for f in table.fields:
                select.append("%s.%s" % (table.sql_ref(), _ident(f.name)))
                cols.append(Column(f.name, f.display_name, f.base_type, f.semantic_type, f, "fields",
                                   ["field", f.id, None]))
    sql = "SELECT %s FROM %s" % (", ".join(select), table.sql_ref())
    where = [comp.filter(q["filter"])] if q.get("filter") else []
    for ref, ptype, value in extra_conditions:
        f, x, _ = comp.field(ref)
        try:
            cond, args = params_mod.condition(x, ptype, value, f.base_type, behaviour_name)
        except params_mod.ParamError as e:
            raise _param_failure(e)
        comp.params.extend(args)
        where.append(cond)
    if where:
        sql += " WHERE %s" % " AND ".join(where)
    if group:
        sql += " GROUP BY %s" % ", ".join(group)
    order = []
    for o in q.get("order-by") or []:
        if not (isinstance(o, list) and len(o) == 2 and o[0] in ("asc", "desc")):
            raise QueryError("Invalid order-by clause: %s" % (o,))
        target = o[1]
        if isinstance(target, list) and target and target[0] == "aggregation":
            idx = target[1]
            if not isinstance(idx, int) or idx >= len(aggs):
                raise QueryError("Invalid aggregation reference: %s" % (target,))
            expr = select[len(breakouts) + idx]
        else:
            expr = comp.field(target)[1]
        order.append("%s %s" % (expr, o[0].upper()))
    if not order and group:
        order = ["%s ASC" % g for g in group]
    if order:
        sql += " ORDER BY %s" % ", ".join(order)
    limit = q.get("limit")
    if limit is not None:
        if not isinstance(limit, int) or limit < 0:
            raise QueryError("Invalid limit: %r" % (limit,), "invalid-query", 400)
        sql += " LIMIT %d" % limit
    return table, sql, comp.params, cols


# --------------------------------------------------------------------------
# Native queries and template tags
# --------------------------------------------------------------------------

_TAG_RE = re.compile(r"\{\{\s*([A-Za-z0-9_\-\.]+)\s*\}\}")
_OPTIONAL_RE = re.compile(r"\[\[(.*?)\]\]", re.S)


def _param_tag_name(p):
    t = p.get("target")
    # ["variable", ["template-tag", "x"]] or ["dimension", ["template-tag", "x"]]
    if isinstance(t, list) and len(t) == 2 and isinstance(t[1], list) and len(t[1]) == 2 \
            and t[1][0] == "template-tag":
        return t[1][1]
    return None


def template_values(template_tags, parameters, card_parameters=()):
    """Tag name -> (parameter type, value): request parameters first, then the card's
    parameter defaults, then the tags' own defaults.  A request parameter without a value
    (null, [] or "") leaves the defaults in place, as Metabase does."""
    tags = template_tags or {}
    values = {}
    for name, tag in tags.items():
        if params_mod.has_value(tag.get("default")):
            values[name] = (params_mod.tag_parameter_type(tag), tag["default"])
    for p in card_parameters or ():
        name = _param_tag_name(p)
        if name in tags and params_mod.has_value(p.get("default")):
            values[name] = (p.get("type") or params_mod.tag_parameter_type(tags[name]), p["default"])
    for p in parameters or ():
        if not isinstance(p, dict):
            raise QueryError("Invalid parameter: %s" % (p,), "invalid-parameter", 400)
        name = _param_tag_name(p)
        if name is None or name not in tags:
            continue
        v = p.get("value")
        if not params_mod.has_value(v):
            continue
        values[name] = (p.get("type") or params_mod.tag_parameter_type(tags[name]), v)
    return values


def _value_error(tag_name, root, error_type="invalid-parameter", klass=None):
    """Metabase's chain for a tag whose value cannot be determined."""
    inner = 'Error determining value for parameter "%s": %s' % (tag_name, root)
    return QueryError(root, error_type, klass=klass,
                      via=[inner, "Error building query parameter map: %s" % inner])


def _check_values(tags, values, behaviour_name):
    """query->params-map: required tags need a value, number tags need numbers."""
    parsed = {}
    for name, tag in tags.items():
        if name not in values:
            if tag.get("required"):
                raise _value_error(name, "You'll need to pick a value for '%s' before this query can run."
                                   % tag.get("display-name", name), "missing-required-parameter")
            continue
        ptype, v = values[name]
        if tag.get("type") == "number":
            try:
                v = params_mod.parse_numbers(v, behaviour_name)
            except params_mod.ParamError as e:
                raise _value_error(name, e.message, klass=e.klass)
        parsed[name] = (ptype, v)
    return parsed


def _clojure_set(names):
    return "#{%s}" % " ".join('"%s"' % n for n in names)


def substitute_tags(sql, template_tags, values, warehouse=None, behaviour_name="new"):
    """Expand [[optional]] blocks and {{tags}} into SQLite placeholders.

    Variable tags (text, number, date) become ? placeholders (several values: ?, ?);
    field filters (type "dimension") become a condition on their field, or 1 = 1 without
    a value.  An optional block stays only when every tag in it has a value."""
    tags = template_tags or {}
    values = _check_values(tags, values, behaviour_name)

    def has_all(block):
        return all(n in values for n in _TAG_RE.findall(block))

    sql = _OPTIONAL_RE.sub(lambda m: m.group(1) if has_all(m.group(1)) else "", sql)
    params = []
    missing = []

    def field_filter(name, tag):
        if name not in values:
            return "1 = 1"
        ref = tag.get("dimension")
        fid = ref[1] if isinstance(ref, list) and len(ref) > 1 else None
        f = warehouse.field_by_id.get(fid) if warehouse is not None and isinstance(fid, int) else None
        if f is None:
            raise QueryError("Field filter %s refers to an unknown field: %s" % (name, ref), "invalid-query")
        col = "%s.%s" % (f.table.sql_ref(), _ident(f.name))
        ptype, v = values[name]
        try:
            cond, args = params_mod.condition(col, ptype, v, f.base_type, behaviour_name)
        except params_mod.ParamError as e:
            raise QueryError(e.message, e.error_type, klass=e.klass,
                             via=e.wrappers + ["Unable to substitute parameters: %s" % e.message])
        params.extend(args)
        return cond

    def repl(m):
        name = m.group(1)
        tag = tags.get(name, {})
        if tag.get("type") == "dimension":
            return field_filter(name, tag)
        if name not in values:
            missing.append(name)
            return "NULL"
        vs = params_mod.as_list(values[name][1])
        params.extend(vs)
        return ", ".join("?" for _ in vs)

    out = _TAG_RE.sub(repl, sql)
    if missing:
        raise QueryError("Cannot run the query: missing required parameters: %s" % _clojure_set(missing),
                         "missing-required-parameter")
    return out, params


def native_tag_names(dq):
    """The template tag names of a (normalized or not) native dataset_query, else None."""
    try:
        n = normalize(dq)
    except QueryError:
        return None
    if n.get("type") != "native":
        return None
    return set(((n.get("native") or {}).get("template-tags") or {}).keys())


def parameter_tag_name(p):
    return _param_tag_name(p)


# --------------------------------------------------------------------------
# Execution
# --------------------------------------------------------------------------

def _infer_type(values):
    for v in values:
        if v is None:
            continue
        if isinstance(v, bool):
            return "type/Boolean"
        if isinstance(v, int):
            return "type/BigInteger" if abs(v) > 2 ** 31 else "type/Integer"
        if isinstance(v, float):
            return "type/Float"
        if isinstance(v, data.Timestamp):
            return "type/DateTimeWithLocalTZ"
        if isinstance(v, data.Date):
            return "type/Date"
        return "type/Text"
    return "type/*"


def run(warehouse, dq, parameters=(), card_parameters=(), max_rows=None, card_lookup=None, depth=0,
        behaviour_name="new"):
    """Execute any accepted dataset_query; returns a Result or raises QueryError."""
    dq = normalize(dq)
    db_id = dq.get("database")
    if db_id not in warehouse.db_by_id:
        raise QueryError("Database %s does not exist." % (db_id,), "invalid-query", 404)
    if dq["type"] == "native":
        native = dq.get("native") or {}
        sql = native.get("query")
        if not isinstance(sql, str) or not sql.strip():
            raise QueryError("Native query is empty.", "invalid-query", 400)
        values = template_values(native.get("template-tags"), parameters, card_parameters)
        sql_run, params = substitute_tags(sql, native.get("template-tags"), values, warehouse, behaviour_name)
        return _execute(warehouse, db_id, sql_run, params, None, max_rows)
    q = dq.get("query") or {}
    src = q.get("source-table")
    if isinstance(src, str) and src.startswith("card__") and card_lookup is not None:
        if depth > 3:
            raise QueryError("Too many nested queries.", "invalid-query")
        inner = card_lookup(src[6:])
        if inner is None:
            raise QueryError("Card %s does not exist." % src[6:], "invalid-query", 404)
        if set(q) - {"source-table", "limit"}:
            raise QueryError("The fake server only supports source-table and limit on nested card queries.",
                             "unsupported-feature")
        res = run(warehouse, inner["dataset_query"], (), inner.get("parameters") or (), None, card_lookup, depth + 1,
                  behaviour_name)
        if q.get("limit") is not None:
            res.rows = res.rows[:q["limit"]]
        if max_rows is not None:
            res.rows = res.rows[:max_rows]
        return res
    table, sql, params, cols = compile_mbql(warehouse, dq, _dimension_conditions(parameters), behaviour_name)
    return _execute(warehouse, db_id, sql, params, cols, max_rows)


def _dimension_conditions(parameters):
    """[(field ref, parameter type, value)] for parameters targeting ["dimension", ["field", ...]]."""
    out = []
    for p in parameters or ():
        t = p.get("target") if isinstance(p, dict) else None
        if not (isinstance(t, list) and len(t) == 2 and t[0] == "dimension" and isinstance(t[1], list)
                and t[1][:1] == ["field"]):
            continue
        v = p.get("value")
        if not params_mod.has_value(v):
            continue
        out.append((t[1], p.get("type") or "category", v))
    return out


def _execute(warehouse, db_id, sql, params, cols, max_rows):
    import sqlite3
    try:
        conn = warehouse.connect(db_id)
    except Exception as e:  # pragma: no cover - file vanished
        raise QueryError(str(e), "db")
    try:
        cur = conn.execute(sql, params)
        names = [d[0] for d in (cur.description or [])]
        rows = cur.fetchall() if max_rows is None else cur.fetchmany(max_rows)
    except sqlite3.OperationalError as e:
        msg = str(e)
        if msg == "interrupted":
            raise QueryError("Query exceeded the maximum execution time.", "timed-out")
        raise QueryError(msg, "invalid-query", klass="class java.sql.SQLException", state="42000")
    except sqlite3.Error as e:
        raise QueryError(str(e), "invalid-query", klass="class java.sql.SQLException", state="HY000")
    finally:
        conn.close()
    if cols is None:
        cols = []
        for i, n in enumerate(names):
            base = _infer_type(r[i] for r in rows[:200])
            cols.append(Column(n, n, base, None, None, "native", ["field", n, {"base-type": base}]))
    return Result(cols, rows, sql, db_id)
