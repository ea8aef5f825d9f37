"""Turn validated tables into graph frames (contract §1 "graph meaning", graph/schema.py).

One frame per node label and relationship type, always (empty when there is no data),
passed through :func:`ringwatch.graph.base.conform` and sorted (nodes by key,
relationships by ``src``, ``dst`` and a tie-break column) so that loading the same input
twice gives identical frames.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ringwatch.contract import TABLE_ORDER
from ringwatch.graph.base import GraphFrames, conform
from ringwatch.graph.frames import compact_frame
from ringwatch.graph.schema import NODES, RELS
from ringwatch.loaders.incremental import BaseGraph, index_in
from ringwatch.loaders.values import arrow, byte_matrix, empty, hash64, hex64, isin, sort_order, to_str_series
from ringwatch.semantics import earliest_deaths

#: string columns that order relationship rows after (src, dst); remaining ties keep file order
REL_TIEBREAK: dict[str, tuple[str, ...]] = {
    "RENUMBERED_TO": ("reason",),
    "HOLDS": ("role",),
    "LIVES_AT": ("address_type",),
    "TREATED_AT": ("claim_id",),
}


def _empty(columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})


def _sorted(frame: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Stable sort by string columns (see :func:`ringwatch.loaders.values.sort_order`)."""
    if len(frame) <= 1:
        return frame
    order = sort_order(frame, list(by))
    if bool((order == np.arange(len(order))).all()):
        return frame  # already in order: no copy
    return frame.iloc[order]


def node_frame(frame: pd.DataFrame, label: str) -> pd.DataFrame:
    """``frame`` sorted by the label's key (columns and dtypes are set when the frame is stored)."""
    key = NODES[label].key
    return _sorted(frame, [key])


def by_key_then_src(frame: pd.DataFrame, key: str, src: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``frame`` sorted by its unique ``key``, and a ``src``/``dst`` frame sorted by (``src``, ``key``).

    The second order is a stable sort by ``src`` of the first, so the key column is only
    sorted once (for a node frame and the relationship that points at it).
    """
    by_key = _sorted(frame, [key])
    pairs = pd.DataFrame({"src": by_key[src], "dst": by_key[key]})
    return by_key, pairs.iloc[sort_order(pairs, ["src"])] if len(pairs) > 1 else pairs


def rel_frame(frame: pd.DataFrame, rel_type: str) -> pd.DataFrame:
    """``frame`` sorted by (src, dst, tie-break columns)."""
    by = ["src", "dst", *[c for c in REL_TIEBREAK.get(rel_type, ()) if c in frame.columns]]
    return _sorted(frame, by)


def _stubs(key: str, existing: pd.Series | None, *candidates: pd.Series | None) -> pd.DataFrame:
    """Nodes with only their key for referenced ids missing from their own table."""
    vals = [pc.unique(arrow(c)) for c in candidates if c is not None and len(c)]
    if not vals:
        return _empty([key])
    ids = pc.unique(pa.chunked_array(vals, type=pa.string()))
    ids = pc.drop_null(ids)
    ids = ids.filter(pc.not_equal(pc.utf8_length(ids), 0))
    if existing is not None and len(existing):
        ids = ids.filter(pc.invert(pc.is_in(ids, value_set=arrow(existing.dropna()))))
    return pd.DataFrame({key: to_str_series(pa.chunked_array([ids], type=pa.string()))})


def attach_deaths(frame: pd.DataFrame, dead: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``death_date``/``death_source`` of its ``person_id`` (from :func:`earliest_deaths`)."""
    out = frame.copy()
    n = len(out)
    if len(dead) == 0 or n == 0:
        out["death_date"] = pd.Series(
            np.full(n, np.datetime64("NaT"), dtype="datetime64[us]"), index=out.index
        )
        out["death_source"] = pd.Series([None] * n, index=out.index, dtype=object)
        return out
    idx = pc.index_in(arrow(out["person_id"]), value_set=arrow(dead["person_id"].astype("str")))
    found = np.asarray(idx.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    pos = np.asarray(pc.fill_null(idx, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
    dates = pd.to_datetime(dead["death_date"]).to_numpy().astype("datetime64[us]")[pos]
    dates[~found] = np.datetime64("NaT")
    sources = dead["death_source"].to_numpy(dtype=object)[pos]
    sources[~found] = None
    out["death_date"] = pd.Series(dates, index=out.index)
    out["death_source"] = pd.Series(sources, index=out.index, dtype=object)
    return out


def first_of_runs(values: pd.Series) -> np.ndarray:
    """Positions where a sorted string column starts a new run of equal values."""
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    a = pc.fill_null(arrow(values), "")
    new = np.ones(n, dtype=bool)
    if n > 1:
        new[1:] = np.asarray(
            pc.not_equal(a.slice(1), a.slice(0, n - 1)).to_numpy(zero_copy_only=False), dtype=bool
        )
    return np.flatnonzero(new)


def _concat(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    parts = [f for f in frames if len(f.columns)]
    nonempty = [f for f in parts if len(f)]
    if not nonempty:
        return parts[0].iloc[0:0] if parts else pd.DataFrame()
    return pd.concat(nonempty, ignore_index=True) if len(nonempty) > 1 else nonempty[0]


def month_numbers(months: pd.Series) -> np.ndarray:
    """``year * 12 + month - 1`` of validated ``YYYY-MM`` strings, from their bytes (no parsing per row)."""
    got = byte_matrix(arrow(months))
    assert got is not None
    d = got[0][:, :7].astype(np.int64) - ord("0")
    return (d[:, 0] * 1000 + d[:, 1] * 100 + d[:, 2] * 10 + d[:, 3]) * 12 + d[:, 5] * 10 + d[:, 6] - 1


def aggregate_payments(payments: pd.DataFrame) -> pd.DataFrame:
    """Payments per (benefit_id, account_no) as PAID_TO properties.

    Lists (``months``, ``amounts``, ``payment_ids``) hold one entry per payment, sorted by
    month (same-month payments in file order); ``n_months`` counts distinct months; ``total`` is the sum
    (rounded to 1e-6 yuan against float noise).
    """
    cols = [
        "src",
        "dst",
        "months",
        "amounts",
        "payment_ids",
        "n_months",
        "total",
        "first_month",
        "last_month",
    ]
    if payments.empty:
        return _empty(cols)
    # group = (benefit_id, account_no) as one integer; months as sorted integer codes;
    # np.lexsort is stable, so same-month payments stay in file order
    b_codes, _ = pd.factorize(payments["benefit_id"])
    a_codes, a_uniq = pd.factorize(payments["account_no"])
    m_codes = month_numbers(payments["month"])
    group = b_codes.astype(np.int64) * (len(a_uniq) + 1) + a_codes
    m_min = int(m_codes.min())
    span = int(m_codes.max()) - m_min + 1
    if (int(group.max()) + 1) * span < 2**62:  # one integer key, one stable sort
        order = np.argsort(group * span + (m_codes - m_min), kind="stable")
    else:
        order = np.lexsort((m_codes, group))
    group = group[order]
    m_codes = m_codes[order]
    n = len(order)
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = group[1:] != group[:-1]
    new_month = new_group.copy()
    new_month[1:] |= m_codes[1:] != m_codes[:-1]
    starts = np.flatnonzero(new_group)
    ends = np.append(starts[1:], n)
    offsets = pa.array(np.append(starts, n).astype(np.int32))
    take = pa.array(order)
    months = arrow(payments["month"]).take(take)
    amounts = payments["amount"].to_numpy(dtype="float64")[order]

    def lists(values: pa.Array) -> list[object]:
        return pa.ListArray.from_arrays(offsets, values).to_pylist()

    def at(values: pa.Array, positions: np.ndarray) -> np.ndarray:
        return np.asarray(values.take(pa.array(positions)).to_numpy(zero_copy_only=False), dtype=object)

    first = order[starts]
    return pd.DataFrame(
        {
            "src": at(arrow(payments["benefit_id"]), first),
            "dst": at(arrow(payments["account_no"]), first),
            "months": lists(months),
            "amounts": lists(pa.array(amounts, type=pa.float64())),
            "payment_ids": lists(arrow(payments["payment_id"]).take(take)),
            "n_months": np.add.reduceat(new_month.astype(np.int64), starts),
            "total": np.round(np.add.reduceat(amounts, starts), 6),
            "first_month": at(months, starts),
            "last_month": at(months, ends - 1),
        }
    )


def activity_ids(acts: pd.DataFrame) -> pd.Series:
    """Stable activity ids: 16 hex characters of :func:`~ringwatch.loaders.values.hash64`.

    The hashed text is ``id_number|date|source|kind`` (normalised values, date as
    ``YYYY-MM-DD``, empty kind as ``""``); the k-th repeat (k >= 1, in file order) of an
    identical row hashes ``id_number|date|source|kind|k`` instead, so a reload gives the
    same ids and identical rows stay distinct. A (never observed) clash gets a ``-k`` suffix.
    """
    if acts.empty:
        return pd.Series([], index=acts.index, dtype="str")
    date = to_str_series(
        pa.chunked_array([pa.array(acts["date"]).cast(pa.date32()).cast(pa.string())]), acts.index
    )
    kind = acts["kind"].fillna("").astype("str")
    base = acts["id_number"].astype("str") + "|" + date + "|" + acts["source"].astype("str") + "|" + kind
    h = hash64(arrow(base))
    occ = pd.Series(h).groupby(h, sort=False).cumcount().to_numpy()
    again = occ > 0
    if again.any():
        repeat = base[again] + "|" + pd.Series(occ[again], index=base.index[again]).astype("str")
        h[again] = hash64(arrow(repeat))
    ids = to_str_series(hex64(h), acts.index)
    hs = np.sort(h)
    if (hs[1:] == hs[:-1]).any():
        k = ids.groupby(ids, sort=False).cumcount()
        ids = ids.where(k == 0, ids + "-" + k.astype("str"))
    return ids


#: called with ``(kind, name, frame)`` as each final node (``kind="node"``) or relationship frame is built
FrameSink = Callable[[str, str, pd.DataFrame], None]


class _Frames(dict[str, pd.DataFrame]):
    """A dict of frames that gives each frame its schema columns and dtypes as it is stored and hands it on.

    Stored frames are :func:`~ringwatch.graph.base.conform`-ed, or with ``compact`` turned into
    Arrow-backed columns (:func:`~ringwatch.graph.frames.compact_frame`, straight from the
    loaders' dtypes); each is then handed to ``sink``, if any.
    """

    def __init__(self, kind: str, compact: bool, sink: FrameSink | None = None) -> None:
        super().__init__()
        self.kind, self.compact, self.sink = kind, compact, sink

    def __setitem__(self, name: str, frame: pd.DataFrame) -> None:
        final = compact_frame(frame, self.kind, name) if self.compact else conform(frame, self.kind, name)
        super().__setitem__(name, final)
        if self.compact:
            release_memory()
        if self.sink is not None:
            self.sink(self.kind, name, final)


def release_memory() -> None:
    """Give freed memory back to the system: Arrow's pool and the C heap keep it otherwise.

    A large load frees gigabytes of temporary columns; without this the process keeps them
    mapped and the next step (the store's copy) adds on top.
    """
    pa.default_memory_pool().release_unused()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _libc() -> ctypes.CDLL | None:
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        lib.malloc_trim  # noqa: B018  (glibc only)
        return lib
    except (OSError, AttributeError):
        return None


_LIBC = _libc()


def _deaths_with_base(
    persons: pd.DataFrame,
    ident: pd.DataFrame,
    death_rows: pd.DataFrame | None,
    base: BaseGraph,
    id_person: pd.Series | None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Tonight's person and identity rows with deaths merged with the stored ones (§4).

    Returns the person rows (tonight's, plus key-and-death rows for stored persons whose
    death changes), tonight's identity rows with their person's death, and key-and-death
    rows for the stored identities of persons whose death changes.
    """
    cols = ["person_id", "death_date", "death_source"]
    new_dead = _empty(cols)
    if death_rows is not None:
        ids = id_person if id_person is not None else pd.Series([], dtype="str")
        id_map = pd.DataFrame(
            {"id_number": ids.index.to_numpy(dtype=object), "person_id": ids.to_numpy(dtype=object)}
        ).astype("str")
        new_dead = earliest_deaths(death_rows.astype({"id_number": "str"}), id_map)
    touched = pd.concat([persons["person_id"].astype(object), ident["person_id"].astype(object)])
    dead, changed = base.merge_deaths(new_dead, touched)
    person_rows = attach_deaths(persons, dead)
    ident_rows = attach_deaths(ident, dead)
    changed_ids = set(changed["person_id"])
    more_people = dead[
        dead["person_id"].isin(changed_ids) & ~dead["person_id"].isin(set(persons["person_id"]))
    ]
    if len(more_people):
        person_rows = _concat(
            [person_rows, more_people.astype({"person_id": object, "death_source": object})]
        )
    extra = _empty(["id_number", "person_id"])
    if changed_ids:
        stored = base.identities_of(changed["person_id"])
        stored = stored[~stored["id_number"].isin(set(ident["id_number"]))]
        extra = attach_deaths(stored.astype(object).reset_index(drop=True), dead)
    return person_rows, ident_rows, extra


def _payments_with_base(
    benefits: pd.DataFrame | None, payments: pd.DataFrame | None, base: BaseGraph
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``PAID_TO`` rows (aggregated) and declared benefit accounts of every benefit tonight touches.

    A benefit is touched by a benefit row, a payment row, or a stored payment whose
    ``payment_id`` comes again tonight (a payment moved to another benefit). Its stored
    payments (minus those tonight's rows replace) and tonight's payments are aggregated
    together, stored rows first, as a full reload would order them. The declared account
    is tonight's, else the stored one (nulls never erase).
    """
    pay_cols = ["payment_id", "benefit_id", "month", "amount", "account_no"]
    parts = []
    if benefits is not None:
        parts.append(arrow(benefits["benefit_id"]))
    if payments is not None:
        parts.append(arrow(payments["benefit_id"]))
        parts.append(base.benefits_paying(payments["payment_id"]))
    touched = pc.unique(pa.chunked_array([pa.array(p, type=pa.string()) for p in parts], type=pa.string()))
    touched = pc.drop_null(touched.combine_chunks() if isinstance(touched, pa.ChunkedArray) else touched)
    stored = base.stored_payments(touched)
    if payments is not None:
        stored = stored[~isin(stored["payment_id"], arrow(payments["payment_id"]))]
        rows = (
            _concat([stored, payments[pay_cols].astype({"amount": "float64"})]) if len(stored) else payments
        )
    else:
        rows = stored
    paid = aggregate_payments(rows[pay_cols].reset_index(drop=True)) if len(rows) else _empty(["src", "dst"])
    mine = (
        benefits.loc[~empty(benefits["account_no"]), ["benefit_id", "account_no"]]
        if benefits is not None
        else _empty(["benefit_id", "account_no"])
    )
    stored_acc = base.benefit_accounts(touched)
    stored_acc = stored_acc[~index_in(stored_acc.index, arrow(mine["benefit_id"]))]
    declared = _concat(
        [
            mine.astype(object),
            pd.DataFrame(
                {
                    "benefit_id": stored_acc.index.to_numpy(dtype=object),
                    "account_no": stored_acc.to_numpy(dtype=object),
                }
            ),
        ]
    )
    return paid, declared.rename(columns={"benefit_id": "src", "account_no": "dst"})


def build_frames(
    clean: Mapping[str, pd.DataFrame],
    inferred: pd.DataFrame | None,
    base: BaseGraph | None = None,
    id_person: pd.Series | None = None,
    compact: bool = False,
    sink: FrameSink | None = None,
) -> GraphFrames:
    """Build every node and relationship frame from the loaded rows of each table.

    Parameters
    ----------
    clean
        Loaded (valid) rows per contract table that was present, typed as the cleaners
        produce them.
    inferred
        Identities inferred from renumberings (or None).
    base
        The stored graph of an incremental load (see :mod:`ringwatch.loaders.incremental`).
        The frames then hold tonight's rows plus the derived values they change in stored
        nodes and edges: the death of each touched person on the person and on all of their
        identities (earliest wins), every ``PAID_TO`` edge of each touched benefit (stored
        payments merged with tonight's by ``payment_id``), the smallest text of each touched
        address key. Load them with ``bulk_load(mode="upsert")``.
    id_person
        ID number -> person_id of every identity known to the load (tonight's, inferred and
        stored ones looked up); needed with ``base``, to place tonight's deaths.
    compact
        Turn each frame into Arrow-backed columns as soon as it is built
        (:func:`~ringwatch.graph.frames.compact_frame`): a few times less memory for a large
        load; stores write such frames as they are. Default: the dtypes of
        :func:`~ringwatch.graph.base.conform`.
    sink
        Called with ``(kind, name, frame)`` as soon as each frame is final (every node and
        relationship type once; a relationship after the node frames it points at), e.g.
        :meth:`ringwatch.graph.BulkWriter.add`, so a store can write while the rest is built.
    """
    builder = FrameBuilder(frozenset(clean), base=base, compact=compact, sink=sink)
    for name in TABLE_ORDER:
        if name in clean:
            builder.add(name, clean[name], inferred)
    return builder.finish(inferred, id_person)


@dataclass
class _Builder:
    """What the frame sections read and write (see :class:`FrameBuilder`)."""

    nodes: _Frames
    rels: _Frames
    clean: dict[str, pd.DataFrame] = field(default_factory=dict)
    inferred: pd.DataFrame | None = None
    base: BaseGraph | None = None
    id_person: pd.Series | None = None

    def get(self, name: str) -> pd.DataFrame | None:
        return self.clean.get(name)


def _people(b: _Builder) -> None:
    """Person, Identity, HAS_IDENTITY, RENUMBERED_TO (deaths attached, contract §4)."""
    get, nodes, rels, base, inferred, id_person = b.get, b.nodes, b.rels, b.base, b.inferred, b.id_person
    # -- persons, identities, deaths --------------------------------------------------------
    persons = get("persons")
    identities = get("identities")
    if base is None:
        assert persons is not None and identities is not None
    persons = persons if persons is not None else _empty(["person_id"])
    identities = identities if identities is not None else _empty(["id_number", "person_id"])
    ident = _concat([identities, inferred] if inferred is not None else [identities])
    deaths = get("deaths")
    death_rows = deaths[["id_number", "death_date", "source"]] if deaths is not None and len(deaths) else None
    if base is None:
        dead = (
            earliest_deaths(death_rows, ident[["id_number", "person_id"]])
            if death_rows is not None
            else _empty(["person_id", "death_date", "death_source"])
        )
        person_rows, ident_rows = attach_deaths(persons, dead), attach_deaths(ident, dead)
        ident_extra = None
    else:
        person_rows, ident_rows, ident_extra = _deaths_with_base(persons, ident, death_rows, base, id_person)
    nodes["Person"] = node_frame(person_rows, "Person")
    ident_sorted, by_person = by_key_then_src(ident_rows, "id_number", "person_id")
    if ident_extra is not None and len(ident_extra):
        ident_sorted = _sorted(_concat([ident_sorted, ident_extra]), ["id_number"])
    nodes["Identity"] = ident_sorted
    rels["HAS_IDENTITY"] = by_person
    ren = get("renumberings")
    if ren is not None:
        rels["RENUMBERED_TO"] = rel_frame(
            ren.rename(columns={"old_id_number": "src", "new_id_number": "dst"}), "RENUMBERED_TO"
        )


def _accounts(b: _Builder) -> None:
    """Account (with evidence-only accounts named by benefits and payments), HOLDS."""
    get, nodes, rels = b.get, b.nodes, b.rels
    # -- accounts (with evidence-only accounts named by benefits and payments) -------------------
    accounts = get("accounts")
    benefits = get("benefits")
    payments = get("payments")
    acct_frame = accounts if accounts is not None else _empty(["account_no"])
    stubs = _stubs(
        "account_no",
        acct_frame["account_no"],
        benefits["account_no"] if benefits is not None else None,
        payments["account_no"] if payments is not None else None,
    )
    nodes["Account"] = node_frame(_concat([acct_frame, stubs]), "Account")
    if accounts is not None:
        holds = accounts.rename(columns={"person_id": "src", "account_no": "dst"})
        order = sort_order(holds, ["dst"])  # account_no is unique: (src, dst) = stable by src after dst
        holds = holds.iloc[order]
        rels["HOLDS"] = holds.iloc[sort_order(holds, ["src"])]


def _phones(b: _Builder) -> None:
    """Phone, USES_PHONE."""
    get, nodes, rels = b.get, b.nodes, b.rels
    # -- phones, addresses -------------------------------------------------------------------
    phones = get("phones")
    if phones is not None:
        nodes["Phone"] = node_frame(
            pd.DataFrame({"phone": to_str_series(pc.unique(arrow(phones["phone"])))}), "Phone"
        )
        rels["USES_PHONE"] = rel_frame(
            phones.rename(columns={"person_id": "src", "phone": "dst"}), "USES_PHONE"
        )


def _addresses(b: _Builder) -> None:
    """Address (one node per address key), LIVES_AT."""
    get, nodes, rels, base = b.get, b.nodes, b.rels, b.base
    addresses = get("addresses")
    if addresses is not None:
        a = addresses[["address_key", "address"]]
        if base is not None:  # the node keeps the smallest spelling of its key ever loaded
            a = _concat([a, base.addresses(a["address_key"]).astype(object)])
        a = a.iloc[sort_order(a, ["address_key", "address"])]
        a = a.iloc[first_of_runs(a["address_key"])]
        nodes["Address"] = node_frame(a, "Address")
        rels["LIVES_AT"] = rel_frame(
            addresses.drop(columns=["address"]).rename(columns={"person_id": "src", "address_key": "dst"}),
            "LIVES_AT",
        )


def _employers(b: _Builder) -> None:
    """Employer, EMPLOYED_BY."""
    get, nodes, rels = b.get, b.nodes, b.rels
    # -- employers, employments ------------------------------------------------------------------
    employers = get("employers")
    employments = get("employments")
    emp_frame = employers if employers is not None else _empty(["employer_id"])
    emp_stubs = (
        _stubs("employer_id", None, employments["employer_id"])
        if employers is None and employments is not None
        else _empty(["employer_id"])
    )
    if employers is not None or employments is not None:
        nodes["Employer"] = node_frame(_concat([emp_frame, emp_stubs]), "Employer")
    if employments is not None:
        rels["EMPLOYED_BY"] = rel_frame(
            employments.rename(columns={"id_number": "src", "employer_id": "dst"}), "EMPLOYED_BY"
        )


def _benefits(b: _Builder) -> None:
    """Benefit, RECEIVES, PAID_TO (payments aggregated per benefit and account)."""
    nodes, rels, base = b.nodes, b.rels, b.base
    # -- benefits, payments ------------------------------------------------------------------------
    benefits, payments = b.get("benefits"), b.get("payments")
    ben_frame = benefits if benefits is not None else _empty(["benefit_id"])
    ben_stubs = (
        _stubs("benefit_id", None, payments["benefit_id"])
        if benefits is None and payments is not None
        else _empty(["benefit_id"])
    )
    if benefits is not None or payments is not None:
        nodes["Benefit"] = node_frame(_concat([ben_frame, ben_stubs]), "Benefit")
    if benefits is not None:
        rels["RECEIVES"] = rel_frame(
            pd.DataFrame({"src": benefits["id_number"], "dst": benefits["benefit_id"]}), "RECEIVES"
        )
    declared = None
    if base is not None and (benefits is not None or payments is not None):
        paid, declared = _payments_with_base(benefits, payments, base)
    else:
        paid = aggregate_payments(payments) if payments is not None else _empty(["src", "dst"])
    if benefits is not None and declared is None:
        declared = benefits.loc[~empty(benefits["account_no"]), ["benefit_id", "account_no"]]
        declared = declared.rename(columns={"benefit_id": "src", "account_no": "dst"})
    if declared is not None:
        if len(paid):

            def pair(f: pd.DataFrame) -> pd.Series:
                return f["src"].astype("str") + "\x00" + f["dst"].astype("str")

            declared = declared[~isin(pair(declared), arrow(pair(paid)))]
        if len(declared):
            k = len(declared)
            declared = declared.copy()
            for col in ("months", "amounts", "payment_ids"):
                empties: list[list[str]] = [[] for _ in range(k)]
                declared[col] = pd.Series(empties, index=declared.index, dtype=object)
            declared["n_months"] = 0
            declared["total"] = 0.0
            paid = _concat([paid, declared])
    if benefits is not None or payments is not None:
        rels["PAID_TO"] = rel_frame(paid, "PAID_TO")


def _providers(b: _Builder) -> None:
    """Hospital, Doctor, WORKS_AT, TREATED_AT."""
    get, nodes, rels = b.get, b.nodes, b.rels
    # -- hospitals, doctors, claims -----------------------------------------------------------------
    hospitals = get("hospitals")
    doctors = get("doctors")
    claims = get("claims")
    hosp_frame = hospitals if hospitals is not None else _empty(["hospital_id"])
    hosp_stubs = (
        _stubs(
            "hospital_id",
            None,
            doctors["hospital_id"] if doctors is not None else None,
            claims["hospital_id"] if claims is not None else None,
        )
        if hospitals is None
        else _empty(["hospital_id"])
    )
    if hospitals is not None or doctors is not None or claims is not None:
        nodes["Hospital"] = node_frame(_concat([hosp_frame, hosp_stubs]), "Hospital")
    doc_frame = doctors if doctors is not None else _empty(["doctor_id"])
    doc_stubs = (
        _stubs("doctor_id", None, claims["doctor_id"])
        if doctors is None and claims is not None
        else _empty(["doctor_id"])
    )
    if doctors is not None or claims is not None:
        nodes["Doctor"] = node_frame(_concat([doc_frame, doc_stubs]), "Doctor")
    if doctors is not None:
        rels["WORKS_AT"] = rel_frame(
            pd.DataFrame({"src": doctors["doctor_id"], "dst": doctors["hospital_id"]}), "WORKS_AT"
        )
    if claims is not None:
        c = claims.rename(columns={"id_number": "src", "hospital_id": "dst"})
        c["doctor_id"] = c["doctor_id"].where(~empty(c["doctor_id"]))
        rels["TREATED_AT"] = rel_frame(c, "TREATED_AT")


def _activities(b: _Builder) -> None:
    """Activity, HAS_ACTIVITY."""
    get, nodes, rels = b.get, b.nodes, b.rels
    # -- activities ------------------------------------------------------------------------------------
    acts = get("activities")
    if acts is not None:
        a = acts.assign(activity_id=activity_ids(acts))
        a_sorted, by_identity = by_key_then_src(a, "activity_id", "id_number")
        nodes["Activity"] = a_sorted
        rels["HAS_ACTIVITY"] = by_identity


#: (tables a section reads, the section), in the order a full build runs them; every section
#: writes its own node and relationship frames, nodes before the relationships that use them
SECTIONS: tuple[tuple[tuple[str, ...], Callable[[_Builder], None]], ...] = (
    (("persons", "identities", "renumberings", "deaths"), _people),
    (("accounts", "benefits", "payments"), _accounts),
    (("phones",), _phones),
    (("addresses",), _addresses),
    (("employers", "employments"), _employers),
    (("benefits", "payments"), _benefits),
    (("hospitals", "doctors", "claims"), _providers),
    (("activities",), _activities),
)


class FrameBuilder:
    """Builds the graph frames section by section, each as soon as the tables it reads are in.

    A loader hands over each cleaned table with :meth:`add`; a section (persons and
    identities, accounts, phones, ...) runs as soon as every table it reads has come or is
    known to be absent, so a sink (a store writer) can write its frames while the loader
    cleans the next table. :meth:`finish` runs what is left and returns the bundle, the
    same one :func:`build_frames` builds from all tables at once. An incremental build
    (``base``) runs every section at :meth:`finish`.

    Parameters
    ----------
    present
        The contract tables of this load (the others will never come).
    base, compact, sink
        As for :func:`build_frames`.
    """

    def __init__(
        self,
        present: frozenset[str],
        *,
        base: BaseGraph | None = None,
        compact: bool = False,
        sink: FrameSink | None = None,
    ) -> None:
        self.present = present
        self._b = _Builder(_Frames("node", compact, sink), _Frames("rel", compact, sink), base=base)
        self._pending = list(SECTIONS)

    def add(self, name: str, frame: pd.DataFrame, inferred: pd.DataFrame | None = None) -> None:
        """Take the loaded rows of table ``name`` (and the identities inferred so far); run ready sections."""
        self._b.clean[name] = frame
        self._b.inferred = inferred
        self._run(ready_only=True)

    def _run(self, *, ready_only: bool) -> None:
        if ready_only and self._b.base is not None:
            return  # an increment's sections read the stored graph and the full person map: all at finish
        waiting = []
        for needs, section in self._pending:
            if ready_only and any(t in self.present and t not in self._b.clean for t in needs):
                waiting.append((needs, section))
            else:
                section(self._b)
        self._pending = waiting

    def finish(self, inferred: pd.DataFrame | None = None, id_person: pd.Series | None = None) -> GraphFrames:
        """Run the remaining sections and return every frame (empty ones for absent data)."""
        b = self._b
        b.inferred, b.id_person = inferred, id_person
        self._run(ready_only=False)
        nodes, rels = b.nodes, b.rels
        # every label and type gets a frame, empty when there is no data
        for label in NODES:
            if label not in nodes:
                nodes[label] = _empty(NODES[label].columns)
        for rel in RELS:
            if rel not in rels:
                rels[rel] = _empty(RELS[rel].columns)
        loaded = frozenset(b.clean)
        meta = {"loaded_tables": ",".join(t for t in TABLE_ORDER if t in loaded)}
        return GraphFrames({k: nodes[k] for k in NODES}, {k: rels[k] for k in RELS}, loaded, meta)
