"""Vectorised value normalisation and parsing for the loaders.

All functions work on whole columns (pyarrow arrays or pandas ``str`` Series backed by
pyarrow); none loops over rows in Python. Empty string means "unknown" throughout.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: exactly the characters Python's ``re`` matches with ``\s`` in a str pattern, so that
#: :func:`address_key_series` agrees with :func:`ringwatch.semantics.address_key`
PY_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
_WS_CLASS = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in PY_WHITESPACE) + "]+"

DATE_RE = r"\d{4}-\d{2}-\d{2}"
MONTH_RE = r"\d{4}-(?:0[1-9]|1[0-2])"


def nfkc_trim(arr: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray:
    """NFKC-normalise and trim (Python ``str.strip`` whitespace) every string of an array."""
    out = pc.utf8_normalize(arr, form="NFKC")
    out = pc.utf8_trim(out, characters=PY_WHITESPACE)
    if isinstance(out, pa.Array):
        out = pa.chunked_array([out])
    return out


def to_str_series(arr: pa.ChunkedArray, index: pd.Index | None = None) -> pd.Series:
    """A pandas ``str`` Series (pyarrow-backed) over a string array."""
    s = arr.to_pandas()
    if s.dtype != "str":
        s = s.astype("str")
    if index is not None:
        s.index = index
    return s


def address_key_series(values: pd.Series) -> pd.Series:
    """Vectorised :func:`ringwatch.semantics.address_key` for NFKC-normalised text (all whitespace removed)."""
    return values.str.replace(_WS_CLASS, "", regex=True)


def arrow(values: pd.Series) -> pa.Array:
    """The pyarrow data of a string Series (zero-copy for pyarrow-backed ``str`` Series)."""
    out = pa.array(values.astype("str"), from_pandas=True)
    if isinstance(out, pa.ChunkedArray):
        out = out.combine_chunks()
    return out.cast(pa.string()) if out.type != pa.string() else out


#: longest string (in UTF-8 bytes) sorted by the radix path; longer ones use Arrow's sort
RADIX_MAX_BYTES = 96


def byte_matrix(
    values: pa.Array | pa.ChunkedArray, max_bytes: int | None = None
) -> tuple[np.ndarray, np.ndarray] | None:
    """The UTF-8 bytes of each string, zero-padded to a common multiple of 8.

    Returns a ``(n, w)`` uint8 matrix and the byte length of each string. The bytes are
    scattered from the Arrow data buffer in blocks of rows (a few NumPy operations per
    block, never per row); equal-length strings are a plain reshape. Nulls are empty.
    None when a string is longer than ``max_bytes``.
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    arr = pc.fill_null(values.cast(pa.large_string()), "")
    n = len(arr)
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int64)[arr.offset : arr.offset + n + 1]
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    starts = offsets[:-1]
    lengths = offsets[1:] - starts
    width = int(lengths.max()) if n else 0
    if max_bytes is not None and width > max_bytes:
        return None
    w8 = max(8, (width + 7) // 8 * 8)
    m = np.zeros((n, w8), dtype=np.uint8)
    if n == 0 or width == 0:
        return m, lengths
    if int(lengths.min()) == width:  # all the same length: the buffer already is the matrix
        s0 = int(offsets[0])
        m[:, :width] = data[s0 : s0 + n * width].reshape(n, width)
        return m, lengths
    flat = m.reshape(-1)
    rows_per_block = max(1, (1 << 22) // width)
    for b0 in range(0, n, rows_per_block):
        b1 = min(n, b0 + rows_per_block)
        s0, s1 = int(offsets[b0]), int(offsets[b1])
        first = np.arange(b0, b1, dtype=np.int64) * w8 - (starts[b0:b1] - s0)
        flat[np.repeat(first, lengths[b0:b1]) + np.arange(s1 - s0, dtype=np.int64)] = data[s0:s1]
    return m, lengths


def _words(m: np.ndarray) -> np.ndarray:
    """Big-endian uint64 words of a byte matrix: ``(n, w/8)``, comparing like the bytes do."""
    return m.view(">u8").astype(np.uint64)


def _in_order(cols: Sequence[pa.Array]) -> bool:
    """True when the rows are already in ascending order by ``cols`` (lexicographic, no nulls)."""
    n = len(cols[0])
    ok: pa.Array | None = None
    for c in reversed(cols):
        a, b = c.slice(0, n - 1), c.slice(1)
        ok = pc.less_equal(a, b) if ok is None else pc.or_(pc.less(a, b), pc.and_(pc.equal(a, b), ok))
    return ok is None or bool(pc.all(ok).as_py())


def sort_order(frame: pd.DataFrame, by: list[str]) -> np.ndarray:
    """Stable ascending sort positions of ``frame`` by string columns ``by`` (nulls as empty strings).

    Strings compare by UTF-8 bytes (= code point order, as Python compares them). Rows that
    are already in order are recognised in one vectorised pass. Several columns are sorted
    with Arrow's stable ``sort_indices``; one column becomes big-endian 64-bit words of its
    zero-padded bytes and ``np.lexsort`` (a stable radix-friendly sort, faster than Arrow's
    on one unordered column) orders the rows; very long strings use Arrow's sort.
    """
    n = len(frame)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    cols = [pc.fill_null(arrow(frame[c]), "") for c in by]
    if _in_order(cols):
        return np.arange(n, dtype=np.int64)

    def by_arrow() -> np.ndarray:
        table = pa.table({f"k{i}": col for i, col in enumerate(cols)})
        idx = pc.sort_indices(table, sort_keys=[(f"k{i}", "ascending") for i in range(len(cols))])
        return np.asarray(idx.to_numpy(), dtype=np.int64)

    if len(cols) > 1:
        return by_arrow()
    keys: list[np.ndarray] = []
    got = byte_matrix(cols[0], RADIX_MAX_BYTES)
    if got is None:
        return by_arrow()
    w = _words(got[0])
    for i in range(w.shape[1]):
        word = w[:, i]
        if word.min() != word.max():  # a word equal in every row cannot change the order
            keys.append(word)
    if not keys:
        return np.arange(n, dtype=np.int64)
    return np.lexsort(keys[::-1]).astype(np.int64)


def isin(values: pd.Series, value_set: pa.Array) -> np.ndarray:
    """Boolean array: value is one of ``value_set`` (nulls are never in it). Runs in Arrow."""
    if len(values) == 0:
        return np.zeros(0, dtype=bool)
    found = pc.is_in(arrow(values), value_set=value_set.cast(pa.string()), skip_nulls=True)
    return np.asarray(pc.fill_null(found, False).to_numpy(zero_copy_only=False), dtype=bool)


def empty(values: pd.Series) -> np.ndarray:
    """Boolean array: value is empty (unknown)."""
    return values.isna().to_numpy(dtype=bool) | (values.str.len() == 0).to_numpy(dtype=bool, na_value=True)


def parse_dates(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Parse ``YYYY-MM-DD`` dates.

    Returns
    -------
    (dates, bad)
        ``datetime64[us]`` Series (NaT where empty or bad) and a boolean array that is True
        for non-empty values that are not real dates in that exact format (e.g. ``2023-02-30``).
    """
    is_empty = empty(values)
    shaped = values.str.fullmatch(DATE_RE).to_numpy(dtype=bool, na_value=False)
    candidate = values.where(shaped & ~is_empty)
    dates = pd.to_datetime(candidate, format="%Y-%m-%d", errors="coerce").astype("datetime64[us]")
    bad = ~is_empty & dates.isna().to_numpy()
    return dates, bad


def parse_months(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Validate ``YYYY-MM`` months; returns the values (None where empty or bad) and the bad mask."""
    is_empty = empty(values)
    ok = values.str.fullmatch(MONTH_RE).to_numpy(dtype=bool, na_value=False)
    bad = ~is_empty & ~ok
    return values.where(ok), bad


_NUMBER_RE = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$"


def parse_numbers(values: pd.Series, *, integer: bool = False) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Parse decimal numbers (money) or whole numbers.

    Returns
    -------
    (numbers, not_number, negative)
        float64 (or Int64 when ``integer``) Series with NaN/NA where empty or bad; a mask of
        non-empty values that are not (whole) finite numbers; a mask of negative values.
    """
    is_empty = empty(values)
    a = pc.fill_null(arrow(values), "")
    shaped = np.asarray(
        pc.fill_null(pc.match_substring_regex(a, pattern=_NUMBER_RE), False).to_numpy(zero_copy_only=False),
        dtype=bool,
    )
    safe = pc.if_else(pa.array(shaped), a, "0")
    arr = np.array(pc.cast(safe, pa.float64()).to_numpy(zero_copy_only=False), dtype="float64")
    arr[~shaped] = np.nan
    finite = np.isfinite(arr)
    not_number = ~is_empty & ~finite
    if integer:
        whole = finite & (np.floor(np.where(finite, arr, 0.0)) == np.where(finite, arr, 0.0))
        not_number |= ~is_empty & finite & ~whole
    negative = finite & (arr < 0)
    if integer:
        good = finite & ~not_number
        ints = pd.array(np.where(good, arr, 0).astype("int64"), dtype="Int64")
        ints[~good] = pd.NA
        return pd.Series(ints, index=values.index), not_number, negative
    return pd.Series(arr, index=values.index, dtype="float64"), not_number, negative


def lookup(values: pd.Series, keys: pa.Array, targets: pa.Array) -> pd.Series:
    """``targets[i]`` where ``values == keys[i]`` (keys unique), NaN when not found. Runs in Arrow."""
    if len(values) == 0 or len(keys) == 0:
        return pd.Series(np.nan, index=values.index, dtype="str")
    idx = pc.index_in(arrow(values), value_set=keys.cast(pa.string()))
    out = pc.take(targets.cast(pa.string()), idx)
    return to_str_series(pa.chunked_array([out]), values.index)


def parse_enum(
    values: pd.Series, choices: Iterable[str], aliases: Mapping[str, str] | None = None
) -> tuple[pd.Series, np.ndarray]:
    """Map values to their canonical choice, case-insensitively (plus ``aliases``).

    Returns the canonical values (``str`` Series, NaN where empty or unknown) and a mask of
    non-empty values that match no choice.
    """
    mapping = {c.lower(): c for c in choices}
    for k, v in (aliases or {}).items():
        mapping[k.lower()] = v
    is_empty = empty(values)
    if len(values) == 0:
        return values.astype("str"), np.zeros(0, dtype=bool)
    idx = pc.index_in(pc.utf8_lower(arrow(values)), value_set=pa.array(list(mapping), pa.string()))
    canon = pc.take(pa.array(list(mapping.values()), pa.string()), idx)
    unknown = ~is_empty & np.asarray(idx.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    return to_str_series(pa.chunked_array([canon]), values.index), unknown


# -- JSON for the `extra` property ---------------------------------------------------------
_CTRL = r"[\x00-\x1f]"


def _json_escape(values: pd.Series) -> pd.Series:
    """JSON string-body escaping as ``json.dumps(..., ensure_ascii=False)`` does it."""
    out = values.str.replace("\\", "\\\\", regex=False).str.replace('"', '\\"', regex=False)
    has_ctrl = out.str.contains(_CTRL, regex=True).to_numpy(dtype=bool, na_value=False)
    if has_ctrl.any():
        import json

        fixed = [json.dumps(v, ensure_ascii=False)[1:-1] for v in values[has_ctrl].tolist()]
        arr = out.to_numpy(dtype=object)
        arr[has_ctrl] = fixed
        out = pd.Series(arr, index=values.index, dtype="str")
    return out


def extra_json(columns: Mapping[str, pd.Series], index: pd.Index) -> pd.Series:
    """The ``extra`` property: unknown columns (``{name: values}``) as a JSON object string per row.

    Keys sorted, empty values left out; None when a row has no non-empty extra value.
    Matches ``json.dumps(d, ensure_ascii=False, sort_keys=True)``.
    """
    import json

    cols = sorted(columns)
    n = len(index)
    if not cols or n == 0:
        return pd.Series([None] * n, index=index, dtype=object)
    acc = pd.Series([""] * n, index=index, dtype="str")
    for col in cols:
        v = columns[col].astype("str")
        ne = ~empty(v)
        if not ne.any():
            continue
        piece = json.dumps(col, ensure_ascii=False) + ': "' + _json_escape(v) + '"'
        joined = acc.where(acc.str.len() == 0, acc + ", ") + piece
        acc = acc.where(~ne, joined)
    has = ~empty(acc)
    out = ("{" + acc + "}").astype(object)
    return out.where(has, None)


# -- stable ids ------------------------------------------------------------------------------
_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_HEX_PAIRS = np.frombuffer(
    b"".join(f"{i:02x}".encode() for i in range(256)), dtype=np.uint16
)  # byte value -> its two hex characters


def hash64(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A fixed 64-bit hash of each string (vectorised; same value on every run and machine).

    FNV-1a over the byte length and then the big-endian 64-bit words of the UTF-8 bytes
    (the last word zero-padded; the empty string is one zero word), finished with
    MurmurHash3's 64-bit mixer. Each string's hash depends on that string only. Not
    Python's randomised ``hash``.
    """
    got = byte_matrix(values)
    assert got is not None
    m, lengths = got
    n = m.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    n_words = np.maximum(1, (lengths + 7) // 8)
    words = _words(m)
    h = np.full(n, _FNV_OFFSET, dtype=np.uint64)
    h ^= lengths.astype(np.uint64)
    h *= _FNV_PRIME
    for i in range(words.shape[1]):
        rows = n_words > i
        h[rows] = (h[rows] ^ words[rows, i]) * _FNV_PRIME
    return _fmix64(h)


def _fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser: spreads every input bit over the whole hash."""
    h = h.copy()
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)
    return h


def hex64(h: np.ndarray) -> pa.ChunkedArray:
    """16-character lower-case hex strings of uint64 values, as an Arrow string array (vectorised)."""
    n = len(h)
    be = np.ascontiguousarray(h.astype(">u8")).view(np.uint8).reshape(n, 8)
    chars = np.ascontiguousarray(_HEX_PAIRS[be]).view(np.uint8)  # (n, 16)
    offsets = np.arange(0, 16 * n + 1, 16, dtype=np.int32)
    arr = pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(chars.tobytes()))
    return pa.chunked_array([arr], type=pa.string())
