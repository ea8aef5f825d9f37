"""Shared helpers of the person/identity detectors (shared_account, identity_chain, duplicate_benefit).

Everything here is vectorised over whole frames of a :class:`~ringwatch.graph.base.GraphView`:
string columns are handled as numpy object arrays and integer codes (pandas 3 would otherwise
convert them to Arrow strings and back on every operation), names are normalised with Arrow
compute kernels, and sorting of string keys uses Arrow's sort so that results never depend on
input row order.

Contents: normalised names and surnames, identity → person maps, benefits with their person
and kind, payments per month, renumbering components, money text and fuzzy "same real person"
links between different ``person_id`` records. Helpers shared with the other detectors
(masking, month spans, parameters) are in :mod:`._common`.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ringwatch.contract import PENSION_SCHEMES
from ringwatch.graph.algorithms import weak_components
from ringwatch.graph.base import GraphView

#: two-character (复姓) surnames recognised by :func:`surnames`
COMPOUND_SURNAMES: frozenset[str] = frozenset(
    {
        "欧阳",
        "司马",
        "上官",
        "诸葛",
        "东方",
        "皇甫",
        "尉迟",
        "公孙",
        "慕容",
        "长孙",
        "宇文",
        "司徒",
        "夏侯",
        "轩辕",
        "令狐",
        "钟离",
        "西门",
        "南宫",
        "端木",
        "独孤",
        "万俟",
        "闻人",
        "澹台",
        "公冶",
        "太史",
        "申屠",
        "呼延",
        "百里",
        "东郭",
        "赫连",
        "司空",
        "濮阳",
        "淳于",
        "单于",
        "拓跋",
        "完颜",
    }
)

#: benefit kind of a pension scheme (both pension schemes are one kind)
PENSION_KIND = "pension"

KIND_TEXT: dict[str, str] = {
    "pension": "养老金",
    "unemployment": "失业保险金",
    "work_injury": "工伤保险待遇",
    "survivor": "遗属待遇",
    "other": "其他待遇",
}

SCHEME_TEXT: dict[str, str] = {
    "pension_employee": "职工养老金",
    "pension_resident": "城乡居民养老金",
    "unemployment": "失业保险金",
    "work_injury": "工伤保险待遇",
    "survivor": "遗属待遇",
    "other": "其他待遇",
}


# -- arrays ------------------------------------------------------------------------------------
def obj(values: pd.Series | np.ndarray | Sequence[Any]) -> np.ndarray:
    """A column as a numpy object array, missing values as ``None``."""
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.StringDtype):
        out = values.to_numpy(dtype=object)  # a new array; the null mask comes from Arrow, cheaply
        out[values.isna().to_numpy(dtype=bool)] = None
        return out
    if isinstance(values, pd.Series):
        arr = values.to_numpy() if values.dtype == object else values.to_numpy(dtype=object)
    else:
        arr = np.asarray(values, dtype=object)
    if len(arr) and pd.isna(arr).any():
        arr = arr.copy()
        arr[pd.isna(arr)] = None
    return arr


def frame(columns: dict[str, Any]) -> pd.DataFrame:
    """A DataFrame from arrays, keeping object arrays as object columns (no Arrow string inference)."""
    return pd.DataFrame(
        {
            k: pd.Series(v, dtype=object) if isinstance(v, np.ndarray) and v.dtype == object else v
            for k, v in columns.items()
        }
    )


def string_order(values: np.ndarray) -> np.ndarray:
    """``argsort`` of an object array of strings (Arrow sort; stable, byte order)."""
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    arr = pa.array([str(v) for v in values] if not _all_str(values) else values, type=pa.string())
    return np.asarray(pc.sort_indices(arr), dtype=np.int64)


def _all_str(values: np.ndarray) -> bool:
    return bool(pd.api.types.infer_dtype(values, skipna=False) == "string")


def factorize(arrays: Sequence[np.ndarray], *, sort: bool = False) -> tuple[list[np.ndarray], np.ndarray]:
    """Jointly factorize several object arrays: one code space, ``-1`` for missing.

    With ``sort`` the codes follow the sorted order of the values (so they do not depend on
    row order); otherwise they follow first appearance (use them for equality only).

    Returns
    -------
    (codes per input array, unique values)
    """
    parts = [np.asarray(a, dtype=object) for a in arrays]
    lengths = [len(a) for a in parts]
    cat = np.concatenate(parts) if parts else np.zeros(0, dtype=object)
    text = _arrow_str(cat) if len(cat) else None
    if text is not None:
        # all strings: hash the UTF-8 bytes in Arrow (same codes and first-appearance order
        # as pandas, without hashing millions of Python objects)
        enc = pc.dictionary_encode(text)
        codes = np.asarray(enc.indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
        uniq = np.asarray(enc.dictionary.to_numpy(zero_copy_only=False), dtype=object)
    else:
        codes, uniq = pd.factorize(cat, use_na_sentinel=True)
        uniq = np.asarray(uniq, dtype=object)
        codes = np.asarray(codes, dtype=np.int64)
    if sort and len(uniq):
        order = (
            np.asarray(pc.sort_indices(enc.dictionary), dtype=np.int64)
            if text is not None
            else string_order(uniq)
        )
        rank = np.empty(len(uniq), dtype=np.int64)
        rank[order] = np.arange(len(uniq))
        uniq = uniq[order]
        codes = np.where(codes >= 0, rank[np.maximum(codes, 0)], -1)
    out = np.split(codes, np.cumsum(lengths)[:-1]) if parts else []
    return out, uniq


def unique_ints(values: np.ndarray) -> np.ndarray:
    """Sorted unique values of an integer array (sort-based; ``np.unique``'s hash path is slow here)."""
    v = np.sort(np.asarray(values, dtype=np.int64))
    return v[np.r_[True, v[1:] != v[:-1]]] if len(v) else v


def _arrow_str(values: np.ndarray) -> pa.Array | None:
    """``values`` as an Arrow string array (missing values null), ``None`` if not all strings."""
    try:
        return pa.array(values, type=pa.large_string(), from_pandas=True)
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return None


def lookup(index_values: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Position of each of ``values`` in ``index_values`` (unique), ``-1`` when absent.

    String keys go through Arrow's hash kernel (``index_in``), other keys through a joint
    factorisation. Should ``index_values`` repeat a value, its last position wins either way.
    """
    index_values = np.asarray(index_values)
    a_index, a_values = _arrow_str(index_values[::-1]), _arrow_str(np.asarray(values))
    if a_index is not None and a_values is not None:
        # index_in finds the first match in the reversed index: the last position in the index
        found = pc.index_in(a_values, value_set=a_index, skip_nulls=True).fill_null(-1)
        rev = np.asarray(found.to_numpy(zero_copy_only=False), dtype=np.int64)
        return np.where(rev >= 0, len(index_values) - 1 - rev, -1)
    (ci, cv), _ = factorize([index_values, values])
    pos = np.full(int(max(ci.max(initial=-1), cv.max(initial=-1))) + 1, -1, dtype=np.int64)
    ok = ci >= 0
    pos[ci[ok]] = np.flatnonzero(ok)
    return np.where(cv >= 0, pos[np.maximum(cv, 0)], -1) if len(pos) else np.full(len(values), -1, np.int64)


def member_mask(values: np.ndarray, wanted: Sequence[Any] | np.ndarray) -> np.ndarray:
    """Boolean mask: which of ``values`` are among ``wanted``."""
    return lookup(np.asarray(pd.unique(obj(wanted)), dtype=object), values) >= 0


def first_per_key(
    keys: np.ndarray, values: np.ndarray, order_by: np.ndarray, queries: np.ndarray, missing: Any
) -> np.ndarray:
    """For each of ``queries``, the value of the first row with that key, ``missing`` when none.

    Rows are ``keys``/``values``; "first" is in the string order of ``order_by`` (so the
    answer does not depend on row order).
    """
    order = string_order(order_by)
    keys, values = keys[order], values[order]
    _, first = np.unique(factorize([keys])[0][0], return_index=True)
    pos = lookup(keys[first], queries)
    return np.where(pos >= 0, values[first][np.maximum(pos, 0)], missing)


# -- typing-friendly iteration -------------------------------------------------------------
def rows(frame: pd.DataFrame) -> Iterator[Any]:
    """``frame.itertuples(index=False)`` with rows typed as ``Any`` (attribute access by column)."""
    return iter(frame.itertuples(index=False))


def groups(frame: pd.DataFrame, by: str | list[str]) -> Iterator[tuple[Any, pd.DataFrame]]:
    """``frame.groupby(by, sort=True)`` iteration with keys typed as ``Any``."""
    yield from frame.groupby(by, sort=True)


def key_int(key: Hashable) -> int:
    """A groupby key that is an integer, as ``int``."""
    return int(key)  # type: ignore[call-overload,arg-type]


# -- text -----------------------------------------------------------------------------------
def normalise_names(names: pd.Series | np.ndarray) -> np.ndarray:
    """Names for matching: NFKC, whitespace and middle dots removed, lower-case (object array, None if empty)."""
    codes, uniq = factorize([obj(names)])
    if len(uniq) == 0:
        return np.full(len(codes[0]), None, dtype=object)
    a = pa.array([str(u) for u in uniq], type=pa.string())
    a = pc.utf8_lower(pc.replace_substring_regex(pc.utf8_normalize(a, "NFKC"), r"[\s·•・.．]+", ""))
    norm = np.asarray(a.to_pylist(), dtype=object)
    norm[np.asarray([not x for x in norm], dtype=bool)] = None
    c = codes[0]
    return np.asarray(np.where(c >= 0, norm[np.maximum(c, 0)], None), dtype=object)


def surnames(names: pd.Series | np.ndarray) -> np.ndarray:
    """Surname of each name: the first character, or the first two for a known 复姓 (e.g. 欧阳)."""
    norm = normalise_names(names)
    codes, uniq = factorize([norm])
    out = np.asarray([u[:2] if u[:2] in COMPOUND_SURNAMES else u[:1] for u in uniq], dtype=object)
    c = codes[0]
    if len(out) == 0:
        return np.full(len(c), None, dtype=object)
    return np.asarray(np.where(c >= 0, out[np.maximum(c, 0)], None), dtype=object)


def fmt_yuan(amount: float) -> str:
    """Money for explanation text: ``8,500元`` or ``12.35万元``."""
    if amount >= 10000:
        return f"{amount / 10000:,.2f}万元"
    return f"{amount:,.0f}元"


def month_ords(months: np.ndarray | pd.Series) -> np.ndarray:
    """``YYYY-MM`` strings as month ordinals ``year * 12 + month - 1`` (``-1`` when missing or malformed)."""
    (codes,), uniq = factorize([obj(months)])
    vals = np.asarray([_ord1(u) for u in uniq], dtype=np.int64)
    return np.where(codes >= 0, vals[np.maximum(codes, 0)] if len(vals) else -1, -1)


def _ord1(month: object) -> int:
    s = str(month)
    try:
        return int(s[:4]) * 12 + int(s[5:7]) - 1
    except ValueError:
        return -1


def ord_month(o: int) -> str:
    """Month ordinal back to ``YYYY-MM``."""
    return f"{o // 12:04d}-{o % 12 + 1:02d}"


def date_ords(dates: pd.Series | np.ndarray) -> np.ndarray:
    """Month ordinals of dates (``-1`` for missing)."""
    d = pd.DatetimeIndex(pd.to_datetime(np.asarray(dates), errors="coerce"))
    out = d.year.to_numpy(dtype=np.float64) * 12 + d.month.to_numpy(dtype=np.float64) - 1
    return np.where(np.isnan(out), -1, out).astype(np.int64)


def benefit_kinds(schemes: pd.Series | np.ndarray) -> np.ndarray:
    """Benefit kind per scheme: both pension schemes are ``pension``; others are their own kind."""
    s = obj(schemes)
    s = np.where(pd.isna(s), "other", s).astype(object)
    return np.where(np.isin(s, list(PENSION_SCHEMES)), PENSION_KIND, s).astype(object)


# -- frames -------------------------------------------------------------------------------
def identity_persons(view: GraphView, id_numbers: np.ndarray | None = None) -> pd.DataFrame:
    """``id_number`` → ``person_id`` (Identity nodes, gaps filled from HAS_IDENTITY), one row per number.

    Only the numbers in ``id_numbers`` when given. Object columns.
    """
    ident = view.nodes("Identity", ["id_number", "person_id"])
    ids = obj(ident["id_number"])
    pers = obj(ident["person_id"])
    if id_numbers is not None:
        keep = member_mask(ids, id_numbers)
        ids, pers = ids[keep], pers[keep]
    missing = pd.isna(pers)
    if missing.any():
        has = view.rels("HAS_IDENTITY", ["src", "dst"])
        hs, hd = obj(has["src"]), obj(has["dst"])
        pers = pers.copy()
        pers[missing] = first_per_key(hd, hs, hs, ids[missing], None)  # smallest person id
    out = pd.DataFrame({"id_number": ids, "person_id": pers}, dtype=object)
    out = out[out["id_number"].notna() & out["person_id"].notna()]
    return out.drop_duplicates("id_number").reset_index(drop=True)


def person_benefits(view: GraphView, id_numbers: np.ndarray | None = None) -> pd.DataFrame:
    """Benefits with their identity, person and kind.

    Parameters
    ----------
    view
        Graph view.
    id_numbers
        Only benefits received under these numbers (all when ``None``).

    Returns
    -------
    DataFrame with ``benefit_id``, ``id_number``, ``person_id``, ``scheme``, ``kind``,
    ``region_code``, ``start_date``, ``end_date``, ``account_no`` (object columns for ids);
    sorted by ``benefit_id``. Benefits whose identity has no known person are dropped.
    """
    b = view.nodes(
        "Benefit",
        ["benefit_id", "id_number", "scheme", "region_code", "start_date", "end_date", "account_no"],
    )
    bid = obj(b["benefit_id"])
    idn = obj(b["id_number"])
    if pd.isna(idn).any():
        rec = view.rels("RECEIVES", ["src", "dst"])
        rs, rd = obj(rec["src"]), obj(rec["dst"])
        miss = pd.isna(idn)
        idn = idn.copy()
        idn[miss] = first_per_key(rd, rs, rs, bid[miss], None)  # smallest id number
    keep = ~pd.isna(bid) & ~pd.isna(idn)
    if id_numbers is not None:
        keep &= member_mask(idn, id_numbers)
    sel = np.flatnonzero(keep)
    ip = identity_persons(view, idn[sel])
    pos = lookup(obj(ip["id_number"]), idn[sel])
    has_person = pos >= 0
    sel = sel[has_person]
    bs = b.iloc[sel]  # only the selected rows are converted
    scheme = obj(bs["scheme"])
    out = frame(
        {
            "benefit_id": bid[sel],
            "id_number": idn[sel],
            "person_id": obj(ip["person_id"])[pos[has_person]],
            "scheme": scheme,
            "kind": benefit_kinds(scheme),
            "region_code": obj(bs["region_code"]),
            "start_date": _dates(b["start_date"], sel),
            "end_date": _dates(b["end_date"], sel),
            "account_no": obj(bs["account_no"]),
        }
    )
    out = out.drop_duplicates("benefit_id")
    return out.iloc[string_order(obj(out["benefit_id"]))].reset_index(drop=True)


def _dates(column: pd.Series, sel: np.ndarray) -> np.ndarray:
    """``column`` as datetimes (unparseable: NaT) at the row positions ``sel``."""
    if pd.api.types.is_datetime64_dtype(column.dtype):
        return column.to_numpy()[sel]  # already datetimes: convert the selected rows only
    return pd.to_datetime(column, errors="coerce").to_numpy()[sel]


def paid_by_month(view: GraphView, benefit_ids: Sequence[str] | np.ndarray | None = None) -> pd.DataFrame:
    """Payments per benefit and month: ``benefit_id``, ``month``, ``amount`` (summed over accounts), ``mo``.

    ``mo`` is the month ordinal (:func:`month_ords`).

    Only the benefits in ``benefit_ids`` when given (exploding only what is needed).
    """
    paid = view.rels("PAID_TO", ["src", "months", "amounts"])
    if benefit_ids is not None:
        paid = paid[member_mask(obj(paid["src"]), benefit_ids)]
    cols = {"benefit_id": pd.Series([], dtype=object), "month": pd.Series([], dtype=object)}
    if paid.empty:
        return pd.DataFrame(
            {**cols, "amount": pd.Series([], dtype="float64"), "mo": pd.Series([], dtype="int64")}
        )
    src: list[Any] = []
    months: list[Any] = []
    amounts: list[Any] = []
    for s, m, a in zip(
        obj(paid["src"]).tolist(), paid["months"].tolist(), paid["amounts"].tolist(), strict=True
    ):
        ml = _as_list(m)
        al = _as_list(a)
        if len(al) != len(ml):  # unknown or mismatched amounts: months still count, money unknown
            al = [0.0] * len(ml)
        src.extend([s] * len(ml))
        months.extend(ml)
        amounts.extend(al)
    out = frame(
        {
            "benefit_id": np.asarray(src, dtype=object),
            "month": np.asarray([str(m) for m in months], dtype=object),
            "amount": pd.to_numeric(pd.Series(amounts, dtype=object), errors="coerce")
            .fillna(0.0)
            .to_numpy(float),
        }
    )
    out = out[out["month"].notna()]
    summed = out.groupby(["benefit_id", "month"], sort=True)["amount"].sum().reset_index()
    summed = summed.astype({"benefit_id": object, "month": object})
    summed["mo"] = month_ords(summed["month"])
    return summed


def _as_list(value: object) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, float) and math.isnan(value):
        return []
    return list(value)  # type: ignore[call-overload]


def renumber_components(view: GraphView) -> pd.DataFrame:
    """Connected components of the (undirected) identity renumbering graph.

    Computed by :func:`ringwatch.graph.algorithms.weak_components` (on the server when the
    store offers it, e.g. GDS on Neo4j; locally otherwise), numbered canonically, so the
    answer is the same on every backend.

    Returns
    -------
    DataFrame with ``id_number`` and ``comp`` (int, numbered in order of the smallest
    id_number of each component), for every number on a RENUMBERED_TO edge; sorted by id_number.
    """
    comps = weak_components(view, "Identity", "RENUMBERED_TO")
    return comps.rename(columns={"key": "id_number"})


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected-component label of each of ``n`` nodes given undirected edges ``a``–``b``.

    Labels are renumbered in order of each component's smallest node index, so they only
    depend on the node order (deterministic).
    """
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    m = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    _, raw = connected_components(m, directed=False)
    # first occurrence of each raw label, in node order → canonical numbering
    _, first = np.unique(raw, return_index=True)
    order = np.argsort(first, kind="stable")
    relabel = np.empty(len(first), dtype=np.int64)
    relabel[order] = np.arange(len(first))
    return relabel[raw]


def same_person_links(
    view: GraphView, person_ids: Sequence[str] | np.ndarray, *, use_id_region: bool, max_group: int = 10
) -> pd.DataFrame:
    """Pairs of different ``person_id`` records that look like one real person.

    Same normalised name, same birth date (the person's, else one encoded in an ID number),
    and at least one shared phone or address key (or, when ``use_id_region``, ID numbers
    with the same 6-digit area code). A (name, birth date) group of more than ``max_group``
    records is a placeholder or data-entry artefact, not one person, and is skipped.

    Returns
    -------
    DataFrame ``p1``, ``p2`` (p1 < p2), ``via`` (``phone``/``address``/``id_region``), ``key``
    (the shared phone, address key or area code), one row per piece of evidence, sorted.
    """
    cols = ["p1", "p2", "via", "key"]
    empty = pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})
    p = view.nodes("Person", ["person_id", "name", "birth_date"])
    keep = member_mask(obj(p["person_id"]), person_ids)
    pid = obj(p["person_id"])[keep]
    name = normalise_names(obj(p["name"])[keep])
    birth = pd.to_datetime(p["birth_date"], errors="coerce").to_numpy()[keep]
    if np.isnat(birth).any():
        ident = view.nodes("Identity", ["id_number", "person_id", "id_birth_date"])
        ip, ib = obj(ident["person_id"]), pd.to_datetime(ident["id_birth_date"], errors="coerce").to_numpy()
        ok = ~pd.isna(ip) & ~np.isnat(ib)
        ip, ib, iid = ip[ok], ib[ok], obj(ident["id_number"])[ok]
        miss = np.isnat(birth)
        birth = birth.copy()
        # the smallest id number's birth date, deterministic
        birth[miss] = first_per_key(ip, ib, iid, pid[miss], np.datetime64("NaT"))
    ppl = frame({"person_id": pid, "nname": name, "birth_date": birth})
    ppl = ppl[ppl["nname"].notna() & ppl["birth_date"].notna()]
    if ppl.empty:
        return empty
    size = ppl.groupby(["nname", "birth_date"])["person_id"].transform("size")
    ppl = ppl[(size.to_numpy() >= 2) & (size.to_numpy() <= max_group)]
    if ppl.empty:
        return empty
    pairs = ppl.merge(ppl, on=["nname", "birth_date"], suffixes=("1", "2"))
    pairs = pairs[pairs["person_id1"].to_numpy(dtype=object) < pairs["person_id2"].to_numpy(dtype=object)]
    pairs = pd.DataFrame({"p1": obj(pairs["person_id1"]), "p2": obj(pairs["person_id2"])}, dtype=object)
    if pairs.empty:
        return empty
    involved = np.asarray(pd.unique(np.concatenate([obj(pairs["p1"]), obj(pairs["p2"])])), dtype=object)

    evidence: list[pd.DataFrame] = []
    sources: list[tuple[str, pd.DataFrame]] = [
        ("phone", view.rels("USES_PHONE", ["src", "dst"])),
        ("address", view.rels("LIVES_AT", ["src", "dst"])),
    ]
    if use_id_region:
        ident = view.nodes("Identity", ["person_id", "id_region"]).rename(
            columns={"person_id": "src", "id_region": "dst"}
        )
        sources.append(("id_region", ident))
    for via, edges in sources:
        s, d = obj(edges["src"]), obj(edges["dst"])
        ok = (lookup(involved, s) >= 0) & ~pd.isna(d)
        e = pd.DataFrame({"src": s[ok], "dst": d[ok]}, dtype=object).drop_duplicates()
        if e.empty:
            continue
        m = pairs.merge(e, left_on="p1", right_on="src").merge(
            e, left_on=["p2", "dst"], right_on=["src", "dst"], suffixes=("", "_2")
        )
        if len(m):
            evidence.append(frame({"p1": obj(m["p1"]), "p2": obj(m["p2"]), "via": via, "key": obj(m["dst"])}))
    if not evidence:
        return empty
    out = pd.concat(evidence, ignore_index=True).astype(object).drop_duplicates()
    return out.sort_values(cols, kind="mergesort").reset_index(drop=True)
