# formats.py — the export writers: CSV, JSON and XLSX bodies, byte for byte.
#
# Owns: how a query result (columns + rows) becomes the bytes of a Metabase
# download (metabase-api.md §4.5):
#   * CSV: UTF-8, no BOM, "," separator, LF line ends, a header of column
#     titles, quoting only of fields holding , " CR or LF (quotes doubled),
#     null -> empty field, booleans true/false, numbers like Java's toString.
#   * JSON: "[\n" + one compact object per row keyed by column title,
#     joined by ",\n", + "\n]" (an empty result is "[\n\n]").
#   * XLSX: a small but valid workbook written with zipfile, one sheet
#     "Query result", inline strings, numbers/dates/booleans as typed cells,
#     fixed zip timestamps so equal results give equal bytes.
# All writers are pure functions of their input: same result, same bytes.

import datetime
import decimal
import io
import json
import math
import re
import zipfile

import data

CHUNK_BYTES = 64 * 1024

CONTENT_TYPES = {
    "csv": "text/csv",
    "json": "application/json; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "api": "application/json; charset=utf-8",
}


# --------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------

def java_double(x):
    """Double.toString: 29.46, 37.0, 1.2345678E7, 1.0E-5, NaN, Infinity."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    a = abs(x)
    if 1e-3 <= a < 1e7:
        s = repr(x)
        if "e" in s or "E" in s:  # cannot happen in this range, but be safe
            s = format(decimal.Decimal(s), "f")
        if "." not in s:
            s += ".0"
        return s
    sign, digits, exp = decimal.Decimal(repr(a)).as_tuple()
    digits = list(digits)
    while len(digits) > 1 and digits[-1] == 0:
        digits.pop()
        exp += 1
    sci_exp = len(digits) - 1 + exp
    mant = str(digits[0]) + "." + ("".join(map(str, digits[1:])) or "0")
    return ("-" if x < 0 else "") + mant + "E" + str(sci_exp)


def raw_text(v):
    """A value as format_rows=false CSV text (None -> "")."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return java_double(v)
    return str(v)


_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"]


def _parse_ts(s):
    t = s[:-1] if s.endswith("Z") else s
    frac = ""
    if "." in t:
        t, frac = t.split(".", 1)
    dt = datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S")
    if frac:
        dt = dt.replace(microsecond=int((frac + "000000")[:6]))
    return dt


def _group(n):
    return "{:,}".format(n)


def formatted_text(v, col):
    """A value rendered like the Metabase UI (format_rows=true): 1,234.56, June 5, 2023, 10:15 AM."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    sem = getattr(col, "semantic_type", None)
    if isinstance(v, int):
        if sem in ("type/PK", "type/FK") or (col is not None and col.name.upper() == "ID"):
            return str(v)
        return _group(v)
    if isinstance(v, float):
        s = "{:,.2f}".format(v)
        if "." in s:
            s = s.rstrip("0").rstrip(".")
        return s
    if isinstance(v, data.Timestamp):
        try:
            dt = _parse_ts(v)
        except ValueError:
            return str(v)
        hour = dt.hour % 12 or 12
        return "%s %d, %d, %d:%02d %s" % (_MONTHS[dt.month - 1], dt.day, dt.year, hour, dt.minute,
                                          "AM" if dt.hour < 12 else "PM")
    if isinstance(v, data.Date):
        try:
            d = datetime.date.fromisoformat(v)
        except ValueError:
            return str(v)
        return "%s %d, %d" % (_MONTHS[d.month - 1], d.day, d.year)
    return str(v)


def column_titles(columns):
    """Column titles, de-duplicated the way Metabase does (ID, ID_2, ...)."""
    seen = {}
    out = []
    for c in columns:
        t = c.display_name or c.name
        n = seen.get(t, 0) + 1
        seen[t] = n
        out.append(t if n == 1 else "%s_%d" % (t, n))
    return out


# --------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------

def csv_field(s):
    if any(ch in s for ch in ',"\r\n'):
        return '"' + s.replace('"', '""') + '"'
    return s


def _batched(lines):
    buf, size = [], 0
    for line in lines:
        buf.append(line)
        size += len(line)
        if size >= CHUNK_BYTES:
            yield b"".join(buf)
            buf, size = [], 0
    if buf:
        yield b"".join(buf)


def csv_chunks(columns, rows, format_rows=False):
    """Yield the CSV body in ~64 KiB pieces; the header is its own first piece."""
    yield (",".join(csv_field(t) for t in column_titles(columns)) + "\n").encode("utf-8")

    def lines():
        for row in rows:
            if format_rows:
                cells = (formatted_text(v, c) for v, c in zip(row, columns))
            else:
                cells = (raw_text(v) for v in row)
            yield (",".join(csv_field(s) for s in cells) + "\n").encode("utf-8")
    yield from _batched(lines())


# --------------------------------------------------------------------------
# JSON
# --------------------------------------------------------------------------

def json_value(v):
    """One value as compact JSON, numbers printed like Jackson (Double.toString)."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return '"%s"' % java_double(v)
        return java_double(v)
    return json.dumps(str(v), ensure_ascii=False)


def json_chunks(columns, rows, format_rows=False):
    keys = [json.dumps(t, ensure_ascii=False) for t in column_titles(columns)]
    yield b"[\n"

    def objs():
        first = True
        for row in rows:
            if format_rows:
                vals = (json.dumps(formatted_text(v, c), ensure_ascii=False) if v is not None else "null"
                        for v, c in zip(row, columns))
            else:
                vals = (json_value(v) for v in row)
            body = "{" + ",".join(k + ":" + s for k, s in zip(keys, vals)) + "}"
            yield ((body if first else ",\n" + body)).encode("utf-8")
            first = False
    yield from _batched(objs())
    yield b"\n]"


# --------------------------------------------------------------------------
# XLSX
# --------------------------------------------------------------------------

_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_EPOCH = datetime.datetime(1899, 12, 30)
ZIP_DATE = (2000, 1, 1, 0, 0, 0)


def _xml_text(s):
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    return _XML_BAD.sub(lambda m: "_x%04X_" % ord(m.group(0)), s)


def _col_letter(i):
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _cell(ref, v, header=False):
    if v is None:
        return ""
    if header or isinstance(v, str) and not isinstance(v, (data.Timestamp, data.Date)):
        text = _xml_text(str(v))
        space = ' xml:space="preserve"' if text != text.strip() or "\n" in text else ""
        style = ' s="1"' if header else ""
        return '<c r="%s" t="inlineStr"%s><is><t%s>%s</t></is></c>' % (ref, style, space, text)
    if isinstance(v, bool):
        return '<c r="%s" t="b"><v>%d</v></c>' % (ref, 1 if v else 0)
    if isinstance(v, int):
        return '<c r="%s"><v>%d</v></c>' % (ref, v)
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return '<c r="%s" t="inlineStr"><is><t>%s</t></is></c>' % (ref, java_double(v))
        return '<c r="%s"><v>%s</v></c>' % (ref, repr(v))
    if isinstance(v, data.Timestamp):
        try:
            dt = _parse_ts(v)
        except ValueError:
            return _cell(ref, str(v))
        delta = dt - _EPOCH
        serial = delta.days + delta.seconds / 86400.0 + delta.microseconds / 86400e6
        return '<c r="%s" s="3"><v>%s</v></c>' % (ref, repr(serial))
    if isinstance(v, data.Date):
        try:
            d = datetime.date.fromisoformat(v)
        except ValueError:
            return _cell(ref, str(v))
        return '<c r="%s" s="2"><v>%d</v></c>' % (ref, (d - _EPOCH.date()).days)
    return _cell(ref, str(v))


_CONTENT_TYPES_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
    '<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
    '</Types>')

_RELS_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>'
    '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/>'
    '</Relationships>')

_CORE_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
    '<dc:creator>Metabase</dc:creator></cp:coreProperties>')

_APP_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
    '<Application>Metabase (fake)</Application></Properties>')

_WORKBOOK_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Query result" sheetId="1" r:id="rId1"/></sheets></workbook>')

_WORKBOOK_RELS_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
    '</Relationships>')

# cellXfs: 0 default, 1 bold header, 2 date, 3 date-time
_STYLES_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
    '<numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '</cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    '</styleSheet>')


def _sheet_xml(columns, rows):
    parts = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
             '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
             'activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>'
             '<sheetData>']
    letters = [_col_letter(i) for i in range(len(columns))]
    header = "".join(_cell("%s1" % letters[i], t, header=True) for i, t in enumerate(column_titles(columns)))
    parts.append('<row r="1">%s</row>' % header)
    for r, row in enumerate(rows, start=2):
        cells = "".join(_cell("%s%d" % (letters[i], r), v) for i, v in enumerate(row))
        parts.append('<row r="%d">%s</row>' % (r, cells))
    parts.append("</sheetData></worksheet>")
    return "".join(parts)


def xlsx_bytes(columns, rows):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in (("[Content_Types].xml", _CONTENT_TYPES_XML),
                           ("_rels/.rels", _RELS_XML),
                           ("docProps/core.xml", _CORE_XML),
                           ("docProps/app.xml", _APP_XML),
                           ("xl/workbook.xml", _WORKBOOK_XML),
                           ("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS_XML),
                           ("xl/styles.xml", _STYLES_XML),
                           ("xl/worksheets/sheet1.xml", _sheet_xml(columns, rows))):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            z.writestr(info, text.encode("utf-8"))
    return buf.getvalue()


def xlsx_chunks(columns, rows, format_rows=False):
    body = xlsx_bytes(columns, rows)  # format_rows has no effect on xlsx
    for i in range(0, len(body), CHUNK_BYTES):
        yield body[i:i + CHUNK_BYTES]


WRITERS = {"csv": csv_chunks, "json": json_chunks, "xlsx": xlsx_chunks}


def export_chunks(fmt, columns, rows, format_rows=False):
    return WRITERS[fmt](columns, rows, format_rows)


# --------------------------------------------------------------------------
# Filenames
# --------------------------------------------------------------------------

def slugify(name, fallback="question"):
    import unicodedata
    s = unicodedata.normalize("NFKD", (name or "").lower())
    s = "".join(ch for ch in s if not unicodedata.combining(ch))
    s = re.sub(r"[^a-z0-9]+", "_", s)[:200]
    return s or fallback


def export_filename(prefix, fmt, now=None):
    now = now or datetime.datetime.now(datetime.timezone.utc)
    ts = now.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (now.microsecond // 1000)
    return "%s_%s.%s" % (prefix, ts, fmt)


# --------------------------------------------------------------------------
# JSON documents with Java-style numbers (query results, 202 bodies)
# --------------------------------------------------------------------------

def dumps_java(obj, big_ints_as_strings=False):
    """Compact JSON, doubles printed like Jackson; optionally ints beyond ±2^53 as strings."""
    out = []

    def enc(o):
        if o is None:
            out.append("null")
        elif o is True:
            out.append("true")
        elif o is False:
            out.append("false")
        elif isinstance(o, int):
            if big_ints_as_strings and abs(o) > 2 ** 53:
                out.append('"%d"' % o)
            else:
                out.append(str(o))
        elif isinstance(o, float):
            out.append(json_value(o))
        elif isinstance(o, str):
            out.append(json.dumps(o, ensure_ascii=False))
        elif isinstance(o, dict):
            out.append("{")
            first = True
            for k, v in o.items():
                if not first:
                    out.append(",")
                first = False
                out.append(json.dumps(str(k), ensure_ascii=False))
                out.append(":")
                enc(v)
            out.append("}")
        elif isinstance(o, (list, tuple)):
            out.append("[")
            for i, v in enumerate(o):
                if i:
                    out.append(",")
                enc(v)
            out.append("]")
        else:
            out.append(json.dumps(str(o), ensure_ascii=False))
    enc(obj)
    return "".join(out)
