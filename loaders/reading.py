"""Find and read the contract's input files: CSV (UTF-8 with/without BOM, GB18030/GBK) or Parquet.

Every file is read into a :class:`pyarrow.Table` whose columns are all strings exactly as they
stand in the file (header names trimmed and NFKC-normalised, empty cell = ``""``). Nothing is
validated here beyond what makes a file readable: the header (required columns present, no
duplicate names) and the record structure (every row has as many fields as the header).
Problems raise :class:`~ringwatch.errors.InputError` naming the file, the column and, where
meaningful, the 1-based data row. Messages never quote cell values.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ringwatch.contract import TABLE_ORDER, TABLES, Table
from ringwatch.errors import InputError

UTF8_BOM = b"\xef\xbb\xbf"
#: encodings tried, in order, when none is given
AUTO_ENCODINGS: tuple[str, ...] = ("utf-8", "gb18030")

_FIELD_COUNT = re.compile(r"Expected (\d+) columns, got (\d+)")


@dataclass
class RawTable:
    """One input file as read: every column a string column, values untouched.

    Attributes
    ----------
    name
        Contract table name.
    path
        The file.
    encoding
        ``utf-8``, ``utf-8-sig``, ``gb18030``, a caller-given encoding, or ``parquet``.
    data
        All columns ``pa.string()``; header names trimmed/NFKC-normalised (contract names
        matched case-insensitively); trailing all-empty rows removed.
    """

    name: str
    path: Path
    encoding: str
    data: pa.Table

    @property
    def file(self) -> str:
        return self.path.name

    @property
    def num_rows(self) -> int:
        return int(self.data.num_rows)


def find_table_files(data_dir: Path, *, require: bool = True) -> dict[str, Path]:
    """The contract files present in ``data_dir``: ``{table: path}`` in contract order.

    ``require=False`` (an incremental load into a store that has data) makes the required
    tables optional, but at least one contract table must be present.

    Raises
    ------
    InputError
        When ``data_dir`` is not a directory, when a table has both a ``.csv`` and a
        ``.parquet`` file, or when a required table (persons, identities) is missing.
    """
    if not data_dir.is_dir():
        raise InputError(f"data directory {data_dir} does not exist or is not a directory")
    found: dict[str, Path] = {}
    for name in TABLE_ORDER:
        csv_path = data_dir / f"{name}.csv"
        pq_path = data_dir / f"{name}.parquet"
        have_csv, have_pq = csv_path.is_file(), pq_path.is_file()
        if have_csv and have_pq:
            raise InputError(
                f"both {csv_path.name} and {pq_path.name} exist; expected exactly one file per table",
                file=csv_path.name,
            )
        if have_csv:
            found[name] = csv_path
        elif have_pq:
            found[name] = pq_path
    if not require and not found:
        raise InputError(
            f"no contract table in {data_dir}: expected NAME.csv or NAME.parquet files "
            f"(tables: {', '.join(TABLE_ORDER)})"
        )
    for name in TABLE_ORDER:
        if require and TABLES[name].required_table and name not in found:
            raise InputError(
                f"required table {name!r} is missing: expected {name}.csv or {name}.parquet in {data_dir}",
                file=f"{name}.csv",
            )
    return found


#: characters that only Chinese text has: CJK punctuation and ideographs (evidence of an encoding)
_CJK = re.compile("[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff]")
#: bytes that are not UTF-8, as ``surrogateescape`` decodes them
_NOT_UTF8 = re.compile("[\udc80-\udcff]")
#: first bytes of files that are not text at all
_BINARY_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "an Excel .xlsx workbook (a ZIP archive)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel .xls workbook"),
    (b"PAR1", "a Parquet file"),
)
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _line_at(data: bytes, offset: int) -> int:
    """1-based line number (header = line 1) of a byte offset."""
    return data.count(b"\n", 0, offset) + 1


def _common_hanzi_share(text: str) -> float:
    """Share of the ideographs in ``text`` that are among the 3,755 most common (GB2312 level 1).

    Real Chinese text scores high; text decoded with the wrong encoding turns into rare
    ideographs and scores low. -1 when ``text`` has no ideograph.
    """
    han = [c for c in text if "\u4e00" <= c <= "\u9fff"]
    if not han:
        return -1.0
    common = 0
    for c in han:
        try:
            b = c.encode("gb2312")
        except UnicodeEncodeError:
            continue
        common += 0xB0 <= b[0] <= 0xD7
    return common / len(han)


def _is_gb2312_text(text: str) -> bool:
    """True when every non-ASCII character of ``text`` is in GB2312 (ordinary simplified Chinese)."""
    try:
        text.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


#: how much more plausible (share of common hanzi) UTF-8 must read than GB18030 for a line to count
#: as UTF-8: real Chinese text scores about 0.9 in its own encoding and 0.2-0.4 in the other one
_PLAUSIBILITY_MARGIN = 0.4


def _first_utf8_chinese_line(data: bytes) -> int | None:
    """The first line of a not-UTF-8 file that is UTF-8 Chinese text, or None.

    A line qualifies when it is valid UTF-8, holds Chinese characters, and reads as clearly
    more plausible Chinese in UTF-8 than in GB18030 (a few GBK lines happen to be valid UTF-8
    too; decoded as UTF-8 they turn into rare characters, while GB18030 gives the common ones
    back). Each line is examined at most once.
    """
    text = data.decode("utf-8", errors="surrogateescape")
    pos = 0
    while (m := _CJK.search(text, pos)) is not None:
        start = text.rfind("\n", 0, m.start()) + 1
        end = text.find("\n", m.end())
        end = len(text) if end < 0 else end
        pos = end + 1
        if _NOT_UTF8.search(text, start, end):
            continue
        line = text[start:end]
        try:
            as_gb18030 = line.encode("utf-8").decode("gb18030")
        except UnicodeDecodeError:
            as_gb18030 = None
        if as_gb18030 is not None and _is_gb2312_text(as_gb18030):
            continue  # reads as ordinary GB2312 text: a GBK line that happens to be valid UTF-8
        as_gb = -1.0 if as_gb18030 is None else _common_hanzi_share(as_gb18030)
        as_utf8 = _common_hanzi_share(line)
        if as_utf8 >= 0.5 and as_utf8 >= as_gb + _PLAUSIBILITY_MARGIN:
            return text.count("\n", 0, start) + 1
    return None


def _check_is_text(data: bytes, file: str) -> None:
    """Refuse files that are not CSV text: workbooks, UTF-16/UTF-32 text, other binary files."""
    for magic, what in _BINARY_MAGIC:
        if data.startswith(magic):
            raise InputError(f"is {what}, not CSV text; save it as CSV (UTF-8 or GB18030) first", file=file)
    head = data[:4096]
    if data.startswith(_UTF16_BOMS) or (head and head.count(0) * 8 >= len(head)):
        raise InputError(
            "looks like UTF-16 or UTF-32 text (it starts with a UTF-16 byte-order mark or is full of "
            "NUL bytes); expected UTF-8 (with or without BOM) or GB18030/GBK: save it as CSV UTF-8",
            file=file,
        )


def decode_bytes(data: bytes, file: str, encoding: str | None = None) -> tuple[str, bytes]:
    """Pick the file's encoding and return it with the content as UTF-8 bytes (no BOM).

    Detection: a UTF-8 BOM means ``utf-8-sig``; content that is valid UTF-8 is ``utf-8``;
    otherwise ``gb18030`` (a superset of GBK and GB2312). ``encoding`` overrides detection.
    When the encoding cannot be decided the file is refused rather than read wrongly: a
    file that mixes UTF-8 Chinese lines with lines that are not UTF-8, and a UTF-8 file cut
    in the middle of a character.

    Raises
    ------
    InputError
        When the content does not decode under the given or any detected encoding, mixes
        encodings, is truncated inside a UTF-8 character, or is not text (an Excel workbook,
        UTF-16). The message names the encodings and the line.
    """
    if encoding is not None:
        try:
            text = data.decode(encoding)
        except LookupError as e:
            raise InputError(f"unknown encoding {encoding!r}", file=file) from e
        except UnicodeDecodeError as e:
            raise InputError(
                f"cannot be decoded as {encoding} (bad byte at line {_line_at(data, e.start)}, "
                f"offset {e.start}); check the file's encoding or pass another one",
                file=file,
            ) from e
        return encoding, text.lstrip("\ufeff").encode("utf-8")
    _check_is_text(data, file)
    if data.startswith(UTF8_BOM):
        try:
            data[len(UTF8_BOM) :].decode("utf-8")
        except UnicodeDecodeError as e:
            raise InputError(
                "starts with a UTF-8 byte-order mark but is not valid UTF-8 "
                f"(bad byte at line {_line_at(data, e.start + 3)}, offset {e.start + 3}); "
                "save the whole file as UTF-8",
                file=file,
            ) from e
        return "utf-8-sig", data[len(UTF8_BOM) :]
    try:
        data.decode("utf-8")
        return "utf-8", data
    except UnicodeDecodeError as e:
        bad = e
    if (
        bad.end == len(data)
        and bad.reason == "unexpected end of data"
        and _CJK.search(data[: bad.start].decode("utf-8"))
    ):
        raise InputError(
            f"is UTF-8 but ends in the middle of a character (line {_line_at(data, bad.start)}): "
            "the file looks truncated; export it again",
            file=file,
        )
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError as e:
        raise InputError(
            f"cannot be decoded: tried {AUTO_ENCODINGS[0]} (bad byte at line {_line_at(data, bad.start)}) "
            f"and {AUTO_ENCODINGS[1]} (bad byte at line {_line_at(data, e.start)}); "
            "expected UTF-8 (with or without BOM) or GB18030/GBK",
            file=file,
        ) from e
    utf8_line = _first_utf8_chinese_line(data)
    if utf8_line is not None:
        raise InputError(
            f"mixes encodings: line {utf8_line} is UTF-8 but line {_line_at(data, bad.start)} is not "
            "(it looks like GB18030/GBK), so the encoding cannot be decided; save the whole file in "
            "one encoding (UTF-8 recommended), or pass --encoding to force one",
            file=file,
        )
    return "gb18030", text.lstrip("\ufeff").encode("utf-8")


def normalise_header(names: list[str], table: Table) -> list[str]:
    """Trim and NFKC-normalise header names; match contract names case-insensitively.

    Unnamed columns become ``column_N`` (1-based position).
    """
    out: list[str] = []
    lower = {c.lower(): c for c in table.column_names}
    for i, raw in enumerate(names, start=1):
        name = unicodedata.normalize("NFKC", raw.lstrip("\ufeff")).strip()
        if not name:
            name = f"column_{i}"
        if name not in table.column_names and name.lower() in lower:
            name = lower[name.lower()]
        out.append(name)
    return out


_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_ .-]{0,63}")


def column_label(name: str, position: int, table: Table) -> str:
    """How a header cell may appear in a message.

    Contract names and plain ASCII names as they are; anything else (which may be a data
    value, in a file without a header row) only by its position.
    """
    if name in table.column_names or _PLAIN_NAME.fullmatch(name):
        return name
    return f"column {position}"


def check_header(names: list[str], table: Table, file: str) -> None:
    """Raise :class:`InputError` for a duplicate column name or a missing required column.

    Messages name contract columns; other header cells are named only when they look like
    plain column names, so a file without a header row never leaks its first data row.
    """
    seen: set[str] = set()
    for i, name in enumerate(names, start=1):
        if name in seen:
            raise InputError(
                "column appears more than once in the header; expected each column once",
                file=file,
                column=column_label(name, i, table),
            )
        seen.add(name)
    for col in table.required_columns:
        if col not in seen:
            known = [c for c in names if c in table.column_names]
            found = f"of them {', '.join(known)}" if known else "none of them contract columns"
            raise InputError(
                f"required column is missing from the header; {table.name} needs "
                f"{', '.join(table.required_columns)} (the header has {len(names)} columns, {found}; "
                "is the first line a header row?)",
                file=file,
                column=col,
            )


def _first_bad_record(text: str, n_fields: int) -> tuple[int, str] | None:
    """(1-based data row, what is wrong) for the first record that breaks the file's structure.

    A record whose field count differs from the header, or a quoted value that is still open
    at the end of the file (a truncated file, or a quote that is never closed). A slow path,
    used only to explain a parse error.
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    next(reader, None)
    for i, rec in enumerate(reader, start=1):
        if not rec:  # a blank line is an empty row, not a structural error
            continue
        if len(rec) != n_fields:
            if next(reader, None) is None and _ends_inside_quotes(text):
                return i, (
                    "the file ends inside a quoted value that starts in this row: the file is "
                    "truncated or a quote is never closed"
                )
            return i, (
                f"this row has {len(rec)} fields but the header has {n_fields}; "
                "expected one field per header column (quote values that contain commas)"
            )
    return None


def _ends_inside_quotes(text: str) -> bool:
    """True when the text ends inside a quoted CSV value (an opening quote never closed)."""
    strict = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        for _ in strict:
            pass
    except csv.Error as e:
        return "unexpected end of data" in str(e)
    return False


#: delimiters an export may use instead of a comma, as named in messages
_OTHER_DELIMITERS: tuple[tuple[str, str], ...] = (
    (";", "semicolons (;)"),
    ("\t", "tabs"),
    ("|", "vertical bars (|)"),
    ("\uff0c", "full-width commas (\uff0c)"),
)


def check_delimiter(head: str, table: Table, file: str) -> None:
    """Raise :class:`InputError` when the header row is split by another delimiter than a comma.

    Only when the header read with commas lacks a required column and splitting by the other
    delimiter gives all of them: the message then names the delimiter found.
    """
    for delim, what in _OTHER_DELIMITERS:
        if delim not in head:
            continue
        parts = normalise_header([p.strip('"') for p in head.split(delim)], table)
        if all(c in parts for c in table.required_columns):
            raise InputError(
                f"the header row is separated by {what}; expected comma-separated values "
                "(save the file as CSV with commas)",
                file=file,
            )


def read_csv(path: Path, table: Table, encoding: str | None = None) -> RawTable:
    """Read one CSV file into a :class:`RawTable` (all columns strings)."""
    file = path.name
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(f"cannot be read: {e.strerror}", file=file) from e
    used, utf8 = decode_bytes(data, file, encoding)
    del data
    first_nl = utf8.find(b"\n")
    head = (utf8 if first_nl < 0 else utf8[:first_nl]).decode("utf-8").rstrip("\r")
    if not head.strip():
        raise InputError(
            "is empty or has an empty first line; expected a header row naming the columns", file=file
        )
    try:
        raw_names = next(csv.reader([head]))
    except csv.Error as e:
        raise InputError(f"the header row cannot be parsed as CSV ({e})", file=file) from e
    names = normalise_header(raw_names, table)
    if any(c not in names for c in table.required_columns):
        check_delimiter(head, table, file)
    check_header(names, table, file)
    tmp_names = [f"f{i}" for i in range(len(names))]  # unique, ASCII names for the reader
    read_opts = pacsv.ReadOptions(column_names=tmp_names, skip_rows=1, block_size=16 << 20)
    parse_opts = pacsv.ParseOptions(
        delimiter=",",
        quote_char='"',
        double_quote=True,
        newlines_in_values=b'"' in utf8,
        ignore_empty_lines=False,
    )
    conv_opts = pacsv.ConvertOptions(
        column_types={n: pa.string() for n in tmp_names},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
        null_values=[],
    )
    try:
        tbl = pacsv.read_csv(
            pa.BufferReader(utf8), read_options=read_opts, parse_options=parse_opts, convert_options=conv_opts
        )
    except (pa.ArrowInvalid, pa.ArrowException) as e:
        bad = _first_bad_record(utf8.decode("utf-8"), len(names))
        if bad is not None:
            raise InputError(f"cannot be parsed as CSV: {bad[1]}", file=file, row=bad[0]) from e
        m = _FIELD_COUNT.search(str(e))
        detail = f" (a row has {m.group(2)} fields, the header {m.group(1)})" if m else ""
        raise InputError(
            f"cannot be parsed as CSV{detail}; expected comma-separated values with a header row", file=file
        ) from e
    tbl = tbl.rename_columns(names)
    return RawTable(table.name, path, used, drop_trailing_empty(tbl))


def drop_trailing_empty(tbl: pa.Table) -> pa.Table:
    """Remove all-empty rows at the end of a table (blank lines / ``,,,`` rows after the data)."""
    n = tbl.num_rows
    if n == 0 or tbl.num_columns == 0:
        return tbl
    nonempty = None
    for col in tbl.columns:
        ne = pc.not_equal(pc.utf8_length(col), 0)
        nonempty = ne if nonempty is None else pc.or_(nonempty, ne)
    assert nonempty is not None
    idx = pc.indices_nonzero(nonempty)
    last = int(idx[-1].as_py()) + 1 if len(idx) else 0
    return tbl.slice(0, last) if last < n else tbl


def _parquet_column_as_string(col: pa.ChunkedArray, kind: str) -> pa.ChunkedArray:
    """One Parquet column as strings: dates ``YYYY-MM-DD`` (``YYYY-MM`` for months), null -> ``""``."""
    typ = col.type
    if pa.types.is_dictionary(typ):
        col = col.cast(typ.value_type)
        typ = col.type
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        out = col.cast(pa.string())
    elif pa.types.is_timestamp(typ) or pa.types.is_date(typ):
        fmt = "%Y-%m" if kind == "month" else "%Y-%m-%d"
        if pa.types.is_date(typ):
            col = col.cast(pa.timestamp("s"))
        elif kind not in ("date", "month"):
            fmt = "%Y-%m-%dT%H:%M:%S"
        out = pc.strftime(col, format=fmt)
    elif pa.types.is_null(typ):
        out = pa.chunked_array([pa.array([""] * len(col), pa.string())])
    elif (
        pa.types.is_integer(typ)
        or pa.types.is_floating(typ)
        or pa.types.is_decimal(typ)
        or pa.types.is_boolean(typ)
    ):
        out = col.cast(pa.string())
    elif pa.types.is_binary(typ) or pa.types.is_large_binary(typ):
        try:
            out = col.cast(pa.string())
        except pa.ArrowInvalid:
            out = pa.chunked_array(
                [pa.array([None if v is None else v.hex() for v in col.to_pylist()], pa.string())]
            )
    else:  # lists, structs, maps, times...: JSON text (only ever extra columns)
        values = col.to_pylist()
        out = pa.chunked_array(
            [
                pa.array(
                    [None if v is None else json.dumps(v, ensure_ascii=False, default=str) for v in values],
                    pa.string(),
                )
            ]
        )
    return pc.fill_null(out, "")


def read_parquet(path: Path, table: Table) -> RawTable:
    """Read one Parquet file into a :class:`RawTable` (all columns converted to strings)."""
    file = path.name
    try:
        tbl = pq.read_table(path)
    except (OSError, pa.ArrowException) as e:
        raise InputError("cannot be read as a Parquet file; expected a valid .parquet file", file=file) from e
    names = normalise_header([str(n) for n in tbl.column_names], table)
    check_header(names, table, file)
    kinds = {c.name: c.kind for c in table.columns}
    cols = []
    for name, col in zip(names, tbl.columns, strict=True):
        try:
            cols.append(_parquet_column_as_string(col, kinds.get(name, "str")))
        except (pa.ArrowException, ValueError) as e:
            raise InputError(
                f"column of Parquet type {col.type} cannot be read as text", file=file, column=name
            ) from e
    out = pa.Table.from_arrays(cols, names=names) if cols else pa.table({})
    return RawTable(table.name, path, "parquet", drop_trailing_empty(out))


def read_table(path: Path, table: Table, encoding: str | None = None) -> RawTable:
    """Read a contract table file (``.csv`` or ``.parquet``)."""
    if path.suffix == ".parquet":
        return read_parquet(path, table)
    return read_csv(path, table, encoding)
