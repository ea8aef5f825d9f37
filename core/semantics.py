"""Contract §4: the definitions every detector shares, implemented once.

- address key (:func:`address_key`)
- reference date (:func:`reference_date`)
- death (:func:`earliest_deaths`, :func:`person_deaths`)
- paid after death (:func:`paid_after_death`)
- life trace (:func:`life_traces`, :func:`last_life_trace`)
- survival grade (:func:`survival_grade`, :func:`survival_grades`)
- statutory pension age (:func:`pension_age`)
- overlapping benefits (:func:`benefit_months`, :func:`overlapping_months`)

Everything here is a pure function of DataFrames or of a :class:`~ringwatch.graph.base.GraphView`.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .contract import DEFAULT_PENSION_AGE

if TYPE_CHECKING:
    from ringwatch.graph.base import GraphView

_WS = re.compile(r"\s+", re.UNICODE)

Grade = Literal["strong", "medium", "low"]


# -- normalisation ------------------------------------------------------------------------
def nfkc(text: str) -> str:
    """NFKC-normalise and trim (full-width digits/letters become ASCII)."""
    return unicodedata.normalize("NFKC", text).strip()


def address_key(text: str) -> str:
    """Address key (§4): NFKC, then all whitespace removed."""
    return _WS.sub("", unicodedata.normalize("NFKC", text))


def address_keys(values: pd.Series) -> pd.Series:
    """Vectorised :func:`address_key` (nulls stay null)."""
    s = values.astype("string")
    return s.str.normalize("NFKC").str.replace(r"\s+", "", regex=True)


# -- dates ----------------------------------------------------------------------------------
def month_end(month: str) -> date:
    """Last day of a ``YYYY-MM`` month."""
    y, m = int(month[:4]), int(month[5:7])
    return date(y, m, calendar.monthrange(y, m)[1])


def month_of(d: date | pd.Timestamp) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def add_months(month: str, n: int) -> str:
    y, m = int(month[:4]), int(month[5:7])
    k = y * 12 + (m - 1) + n
    return f"{k // 12:04d}-{k % 12 + 1:02d}"


def months_between(a: date, b: date) -> float:
    """Whole and fractional months from ``a`` to ``b`` (positive when b is later)."""
    return (b.year - a.year) * 12 + (b.month - a.month) + (b.day - a.day) / 31.0


def to_date(value: object) -> date | None:
    """A scalar from a frame (Timestamp, date, str, NaT/None) as ``datetime.date`` or None."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value) if value else None
    try:
        if pd.isna(value):  # type: ignore[call-overload]
            return None
    except (TypeError, ValueError):
        pass
    return pd.Timestamp(value).date()  # type: ignore[arg-type]


# -- reference date ---------------------------------------------------------------------
def reference_date(view: GraphView, as_of: date | None = None) -> date:
    """Reference date (§4): ``as_of`` when given, else the last day of the latest payment month.

    Without any payments, the latest date found in claims, activities or deaths is used so
    that the result still depends on the data only, never on the machine's clock.
    """
    if as_of is not None:
        return as_of
    paid = view.rels("PAID_TO", ["last_month"])["last_month"].dropna()
    if len(paid):
        return month_end(str(paid.max()))
    candidates: list[date] = []
    for frame, col in (
        (view.rels("TREATED_AT", ["admit_date"]), "admit_date"),
        (view.nodes("Activity", ["date"]), "date"),
        (view.nodes("Identity", ["death_date"]), "death_date"),
    ):
        s = pd.to_datetime(frame[col], errors="coerce").dropna()
        if len(s):
            candidates.append(s.max().date())
    if candidates:
        return max(candidates)
    return date(1970, 1, 1)


# -- death ------------------------------------------------------------------------------------
def earliest_deaths(deaths: pd.DataFrame, identity_person: pd.DataFrame) -> pd.DataFrame:
    """Death per person (§4): the earliest ``death_date`` over all the person's ID numbers.

    Parameters
    ----------
    deaths
        Columns ``id_number``, ``death_date`` (datetime64), ``source``.
    identity_person
        Columns ``id_number``, ``person_id``.

    Returns
    -------
    DataFrame with ``person_id``, ``death_date``, ``death_source`` (source of the earliest
    record; ties broken by source name), one row per dead person, sorted by person_id.
    """
    cols = ["person_id", "death_date", "death_source"]
    if deaths.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})
    d = deaths.merge(identity_person, on="id_number", how="inner")
    d = d.sort_values(["person_id", "death_date", "source"], kind="mergesort")
    first = d.drop_duplicates("person_id", keep="first")
    out = first.rename(columns={"source": "death_source"})[cols]
    return out.reset_index(drop=True)


def person_deaths(view: GraphView) -> pd.DataFrame:
    """``person_id``, ``death_date``, ``death_source`` for every dead person in a view."""
    p = view.nodes("Person", ["person_id", "death_date", "death_source"])
    p = p[p["death_date"].notna()]
    return p.sort_values("person_id", kind="mergesort").reset_index(drop=True)


def paid_after_death(month: str, death: date) -> bool:
    """A payment is after death (§4) when its month is later than the month after death."""
    return month > add_months(month_of(death), 1)


# -- life traces -------------------------------------------------------------------------
#: (relationship or node, column, how to reach the person) for every §4 life-trace source
LIFE_TRACE_SOURCES: tuple[str, ...] = (
    "activities.date",
    "claims.admit_date",
    "identities.issued_date",
    "accounts.opened_date",
    "phones.since",
    "addresses.since",
    "employments.start_date",
    "renumberings.changed_date",
)


def _trace_parts(view: GraphView) -> list[tuple[str, pd.Series, pd.Series, bool]]:
    """(source, key, date, key_is_identity) for every §4 life-trace source, in source-name order."""
    ident = view.nodes("Identity", ["id_number", "issued_date"])
    act = view.nodes("Activity", ["id_number", "date"])
    claims = view.rels("TREATED_AT", ["src", "admit_date"])
    holds = view.rels("HOLDS", ["src", "opened_date"])
    phones = view.rels("USES_PHONE", ["src", "since"])
    addrs = view.rels("LIVES_AT", ["src", "since"])
    emp = view.rels("EMPLOYED_BY", ["src", "start_date"])
    ren = view.rels("RENUMBERED_TO", ["src", "dst", "changed_date"])
    parts = [
        ("accounts", holds["src"], holds["opened_date"], False),
        ("activities", act["id_number"], act["date"], True),
        ("addresses", addrs["src"], addrs["since"], False),
        ("claims", claims["src"], claims["admit_date"], True),
        ("employments", emp["src"], emp["start_date"], True),
        ("identities", ident["id_number"], ident["issued_date"], True),
        ("phones", phones["src"], phones["since"], False),
        ("renumberings", ren["src"], ren["changed_date"], True),
        ("renumberings", ren["dst"], ren["changed_date"], True),
    ]
    return parts


def life_traces(view: GraphView) -> pd.DataFrame:
    """All life traces (§4) as ``person_id``, ``date`` (datetime64), ``source``.

    Sources: activities, claims admit dates, identity issue dates, account opening dates,
    phone and address ``since`` dates, employment start dates, renumbering dates, under
    any of the person's ID numbers.
    """
    id2p = view.nodes("Identity", ["id_number", "person_id"]).set_index("id_number")["person_id"]
    frames = []
    for source, key, when, by_identity in _trace_parts(view):
        f = pd.DataFrame(
            {"key": key.to_numpy(dtype=object), "date": pd.to_datetime(when).to_numpy()}
        ).dropna()
        person = f["key"].map(id2p) if by_identity else f["key"]
        frames.append(pd.DataFrame({"person_id": person, "date": f["date"], "source": source}).dropna())
    out = pd.concat(frames, ignore_index=True)
    out["date"] = pd.to_datetime(out["date"])
    return out


def _arrow_keys(s: pd.Series) -> pa.Array:
    """A string key column as an Arrow array (zero-copy for Arrow-backed columns)."""
    arr = pa.array(s.array) if isinstance(s.dtype, pd.StringDtype) else pa.array(s.to_numpy(dtype=object))
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr if arr.type in (pa.string(), pa.large_string()) else arr.cast(pa.large_string())


def _unify(arrays: list[pa.Array]) -> list[pa.Array]:
    """``arrays`` with one string type: ``string`` when all are, else ``large_string``."""
    if all(a.type == pa.string() for a in arrays):
        return arrays
    return [a.cast(pa.large_string()) for a in arrays]


def last_life_trace(view: GraphView, ref: date) -> pd.DataFrame:
    """Latest life trace on or before ``ref`` per person: ``person_id``, ``last_trace``, ``source``.

    Ties on the date go to the source name that sorts first. Vectorised over integer person
    codes: one Arrow hash lookup for all identity-keyed sources and one for all person-keyed
    sources, then numpy group maxima (no string sorts or merges), so it stays fast at
    millions of traces.
    """
    ident = view.nodes("Identity", ["id_number", "person_id"])
    ident_person = _arrow_keys(ident["person_id"])
    everyone = _unify([_arrow_keys(view.nodes("Person", ["person_id"])["person_id"]), ident_person])
    person_arrow = pc.drop_null(pc.unique(pa.chunked_array(everyone)))
    if isinstance(person_arrow, pa.ChunkedArray):
        person_arrow = person_arrow.combine_chunks()
    ident_person, person_arrow = _unify([ident_person, person_arrow])
    person_ids = np.asarray(person_arrow.to_numpy(zero_copy_only=False), dtype=object)
    # person code of every identity row (-1: no person); an ID number listed twice maps by its first row
    ident_code = pc.index_in(ident_person, value_set=person_arrow)
    ident_code = np.asarray(ident_code.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
    ident_keys = _arrow_keys(ident["id_number"])
    n = len(person_ids)
    never = np.iinfo(np.int64).min
    limit = int(np.datetime64(ref, "us").astype(np.int64))
    sources: list[str] = []
    keys: dict[bool, list[pa.Array]] = {True: [], False: []}
    days: dict[bool, list[np.ndarray]] = {True: [], False: []}
    srcs: dict[bool, list[np.ndarray]] = {True: [], False: []}
    for source, key, when, by_identity in _trace_parts(view):
        if source not in sources:
            sources.append(source)
        if not len(key):
            continue
        d = pd.to_datetime(when).astype("datetime64[us]").to_numpy().astype(np.int64)
        d = np.where((d != never) & (d <= limit), d, never)  # no date or after ref: no trace
        keys[by_identity].append(_arrow_keys(key))
        days[by_identity].append(d)
        srcs[by_identity].append(np.full(len(d), sources.index(source), dtype=np.int8))
    codes_l: list[np.ndarray] = []
    for by_identity, value_set in ((True, ident_keys), (False, person_arrow)):
        if not keys[by_identity]:
            continue
        *parts, value_set = _unify([*keys[by_identity], value_set])
        found = pc.index_in(pa.chunked_array(parts), value_set=value_set).fill_null(-1)
        pos = np.asarray(found.to_numpy(), dtype=np.int64)
        if by_identity:
            pos = np.where(pos >= 0, ident_code[np.maximum(pos, 0)], -1)
        codes_l.append(pos)
    days_l = [a for b in (True, False) for a in days[b]]
    srcs_l = [a for b in (True, False) for a in srcs[b]]
    best = np.full(n, never, dtype=np.int64)
    best_src = np.full(n, len(sources), dtype=np.int64)
    if codes_l:
        c = np.concatenate(codes_l)
        d = np.concatenate(days_l)
        s = np.concatenate(srcs_l)
        hit = (c >= 0) & (d != never)
        c, d, s = c[hit], d[hit], s[hit]
        np.maximum.at(best, c, d)
        top = d == best[c]  # an earlier-named source keeps a tie
        np.minimum.at(best_src, c[top], s[top])
    has = best != never
    out = pd.DataFrame(
        {
            "person_id": person_ids[has],
            "last_trace": pd.to_datetime(best[has].astype("datetime64[us]")),
            "source": np.asarray(sources, dtype=object)[best_src[has]]
            if has.any()
            else np.array([], dtype=object),
        }
    )
    return out.sort_values("person_id", kind="mergesort").reset_index(drop=True)


def survival_grade(last_trace: date | None, ref: date) -> Grade:
    """Survival grade (§4): strong < 12 months, medium 12–24 months, low ≥ 24 months or none."""
    if last_trace is None:
        return "low"
    if last_trace > add_years(ref, -1):
        return "strong"
    if last_trace > add_years(ref, -2):
        return "medium"
    return "low"


def survival_grades(last_traces: pd.Series, ref: date) -> pd.Series:
    """Vectorised :func:`survival_grade` over a datetime series (NaT = no trace)."""
    t = pd.to_datetime(last_traces)
    one = pd.Timestamp(add_years(ref, -1))
    two = pd.Timestamp(add_years(ref, -2))
    grade = pd.Series("low", index=t.index, dtype=object)
    grade[t > two] = "medium"
    grade[t > one] = "strong"
    return grade


def add_years(d: date, n: int) -> date:
    try:
        return d.replace(year=d.year + n)
    except ValueError:  # 29 Feb
        return d.replace(year=d.year + n, day=28)


# -- pension age ---------------------------------------------------------------------------
def pension_age(sex: str | None, ages: Mapping[str, int] | None = None) -> int:
    """Statutory pension age (§4): 60 for men, 50 for women by default; configurable."""
    table = dict(DEFAULT_PENSION_AGE)
    if ages:
        table.update(ages)
    return table.get(sex or "M", table["M"])


# -- overlapping benefits ----------------------------------------------------------------
def benefit_months(view: GraphView) -> pd.DataFrame:
    """Months each benefit was paid: ``benefit_id``, ``month`` (one row per paid month).

    From ``PAID_TO`` month lists; a benefit with no payments gets no rows.
    """
    paid = view.rels("PAID_TO", ["src", "months"])
    if paid.empty:
        return pd.DataFrame({"benefit_id": pd.Series([], dtype=object), "month": pd.Series([], dtype=object)})
    e = paid.explode("months").dropna(subset=["months"])
    out = pd.DataFrame({"benefit_id": e["src"].astype(object), "month": e["months"].astype(object)})
    return out.drop_duplicates().sort_values(["benefit_id", "month"], kind="mergesort").reset_index(drop=True)


def overlapping_months(
    a_months: set[str] | None,
    b_months: set[str] | None,
    a_period: tuple[date | None, date | None],
    b_period: tuple[date | None, date | None],
    ref: date,
) -> int:
    """Overlap of two benefits (§4), in months.

    With payments for both, the number of months paid to both; otherwise the number of
    months in which their start/end periods intersect (open end = reference date).
    """
    if a_months and b_months:
        return len(a_months & b_months)
    s1, e1 = a_period
    s2, e2 = b_period
    if s1 is None or s2 is None:
        return 0
    start = max(s1, s2)
    end = min(e1 or ref, e2 or ref)
    if end < start:
        return 0
    return (end.year - start.year) * 12 + (end.month - start.month) + 1
