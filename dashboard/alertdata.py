"""Alerts as DataFrames for the dashboard: loading, region, filtering, search, paging.

``alerts.jsonl`` (contract §3) is read once into :class:`AlertTable`: one row per alert
plus a long table of member ids (one row per alert × member), so filters and searches
are vectorised pandas operations and stay fast with 100k alerts. Pages show one slice.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ringwatch.contract import MEMBER_TYPES
from ringwatch.results import open_current

from .masking import mask_pattern_parts

ALERT_COLUMNS = (
    "alert_id",
    "detector",
    "score",
    "level",
    "amount_at_risk",
    "first_seen",
    "n_members",
    "explanation",
    "evidence_cypher",
    "members_json",
    "details_json",
)
#: member types an investigator searches by (person id, ID number, account, phone)
SEARCH_TYPES = ("person", "identity", "account", "phone")
LEVELS = ("red", "orange", "yellow")


@dataclass
class AlertTable:
    """All alerts of one run.

    Attributes
    ----------
    frame
        One row per alert, in file order (descending score): the columns of
        :data:`ALERT_COLUMNS`, plus ``region`` once :func:`assign_regions` ran.
    members
        Long table ``row`` (position in ``frame``), ``type``, ``id`` (upper-cased), one row
        per member id.
    """

    frame: pd.DataFrame
    members: pd.DataFrame

    def __len__(self) -> int:
        return len(self.frame)

    def get(self, alert_id: str) -> dict[str, Any] | None:
        """One alert as a contract dict (``None`` if unknown)."""
        hit = np.flatnonzero(self.frame["alert_id"].to_numpy() == alert_id)
        if len(hit) == 0:
            return None
        r = self.frame.iloc[int(hit[0])]
        out = {
            "alert_id": r["alert_id"],
            "detector": r["detector"],
            "score": float(r["score"]),
            "level": r["level"],
            "members": json.loads(r["members_json"]),
            "amount_at_risk": float(r["amount_at_risk"]),
            "explanation": r["explanation"],
            "evidence_cypher": r["evidence_cypher"],
            "first_seen": r["first_seen"],
            "details": json.loads(r["details_json"]),
        }
        if "region" in self.frame.columns:
            out["region"] = r["region"]
        return out

    @property
    def latest_run_date(self) -> str | None:
        """The latest ``first_seen`` (the date of the newest run that raised something new)."""
        fs = self.frame["first_seen"].dropna()
        return str(fs.max()) if len(fs) else None


def _empty_members() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "row": pd.Series([], dtype="int64"),
            "type": pd.Series([], dtype=object),
            "id": pd.Series([], dtype=object),
        }
    )


def build_table(alerts: Iterable[Mapping[str, Any]]) -> AlertTable:
    """Build an :class:`AlertTable` from contract alert dicts.

    Parameters
    ----------
    alerts
        Contract §3 alert objects (as read from ``alerts.jsonl``).

    Returns
    -------
    AlertTable
        Alerts plus their member index.
    """
    cols: dict[str, list[Any]] = {c: [] for c in ALERT_COLUMNS}
    m_row: list[int] = []
    m_type: list[str] = []
    m_id: list[str] = []
    for i, a in enumerate(alerts):
        members = a.get("members") or {}
        cols["alert_id"].append(str(a["alert_id"]))
        cols["detector"].append(str(a["detector"]))
        cols["score"].append(float(a["score"]))
        cols["level"].append(str(a["level"]))
        cols["amount_at_risk"].append(float(a.get("amount_at_risk") or 0.0))
        cols["first_seen"].append(a.get("first_seen"))
        cols["n_members"].append(sum(len(v) for v in members.values()))
        cols["explanation"].append(str(a.get("explanation") or ""))
        cols["evidence_cypher"].append(str(a.get("evidence_cypher") or ""))
        cols["members_json"].append(json.dumps(members, ensure_ascii=False))
        cols["details_json"].append(json.dumps(a.get("details") or {}, ensure_ascii=False, default=str))
        for t in MEMBER_TYPES:
            for v in members.get(t, ()):
                m_row.append(i)
                m_type.append(t)
                m_id.append(str(v).strip().upper())
    frame = pd.DataFrame(
        {
            c: pd.Series(v, dtype=("float64" if c in ("score", "amount_at_risk") else object))
            for c, v in cols.items()
        }
    )
    frame["n_members"] = frame["n_members"].astype("int64")
    members = (
        pd.DataFrame(
            {
                "row": np.asarray(m_row, dtype="int64"),
                "type": pd.Series(m_type, dtype=object),
                "id": pd.Series(m_id, dtype=object),
            }
        )
        if m_row
        else _empty_members()
    )
    return AlertTable(frame, members)


def load_alerts(path: Path) -> AlertTable:
    """Read ``alerts.jsonl`` (a directory means ``<dir>/alerts.jsonl``; missing → no alerts)."""
    p = Path(path)
    if p.is_dir():
        p = p / "alerts.jsonl"
    # the committed version: a run's staged copy while its commit is being rolled forward
    fh = open_current(p)
    if fh is None:
        return build_table([])

    def rows() -> Iterable[dict[str, Any]]:
        with fh:
            for line in fh:
                line = line.strip()
                if line:
                    yield json.loads(line)

    return build_table(rows())


def assign_regions(table: AlertTable, region_of: Mapping[str, Mapping[str, str]]) -> None:
    """Give every alert a ``region`` (6-digit area code, ``""`` when unknown), in place.

    The region is the most common region among the alert's member persons; failing that,
    its benefits, then hospitals/employers; failing that, the area code encoded in the
    first member ID number.

    Parameters
    ----------
    table
        The alerts.
    region_of
        Member type (``person``, ``benefit``, ``hospital``, ``employer``) -> id -> region
        code, usually from store projections (ids upper-cased).
    """
    n = len(table.frame)
    region = pd.Series([""] * n, dtype=object)
    m = table.members
    for mtype in ("person", "benefit", "hospital", "employer"):
        lookup = region_of.get(mtype)
        todo = region == ""
        if not lookup or not todo.any():
            continue
        sub = m[(m["type"] == mtype) & todo.to_numpy()[m["row"].to_numpy()]]
        if sub.empty:
            continue
        reg = sub["id"].map(lookup)
        sub = sub.assign(region=reg).dropna(subset=["region"])
        sub = sub[sub["region"].astype(str) != ""]
        if sub.empty:
            continue
        best = sub.groupby(["row", "region"]).size().reset_index(name="n")
        best = best.sort_values(["row", "n", "region"], ascending=[True, False, True]).drop_duplicates("row")
        region.iloc[best["row"].to_numpy()] = best["region"].astype(str).to_numpy()
    todo = region == ""
    if todo.any():
        ids = m[(m["type"] == "identity") & todo.to_numpy()[m["row"].to_numpy()]].drop_duplicates("row")
        codes = ids["id"].str.slice(0, 6)
        ok = codes.str.fullmatch(r"\d{6}").fillna(False).astype(bool)
        region.iloc[ids["row"].to_numpy()[ok.to_numpy()]] = codes[ok].to_numpy()
    table.frame["region"] = region.to_numpy()


@dataclass
class AlertFilter:
    """What the queue shows. Empty selections mean "all"."""

    detectors: Sequence[str] = ()
    levels: Sequence[str] = ()
    regions: Sequence[str] = ()
    statuses: Sequence[str] = ()
    score_range: tuple[float, float] = (0.0, 100.0)
    amount_range: tuple[float | None, float | None] = (None, None)
    query: str = ""
    new_only: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def search_rows(table: AlertTable, query: str) -> np.ndarray:
    """Positions of alerts whose id or a member id matches ``query``.

    Parameters
    ----------
    table
        The alerts.
    query
        An alert id, person id, ID number, account or phone; a masked value such as
        ``1101**********123X`` or ``****6789`` matches by prefix + suffix.

    Returns
    -------
    numpy.ndarray
        Sorted unique row positions.
    """
    q = query.strip().upper()
    if not q:
        return np.arange(len(table.frame))
    m = table.members
    m = m[m["type"].isin(SEARCH_TYPES)]
    parts = mask_pattern_parts(q)
    if parts is not None:
        head, tail = parts
        ids = m["id"].astype(str)
        hit = ids.str.startswith(head) & ids.str.endswith(tail) & (ids.str.len() >= len(head) + len(tail))
        rows = m.loc[hit.to_numpy(), "row"].to_numpy()
    else:
        rows = m.loc[(m["id"] == q).to_numpy(), "row"].to_numpy()
        aid = table.frame["alert_id"].str.upper()
        rows = np.concatenate(
            [rows, np.flatnonzero((aid == q).to_numpy() | aid.str.startswith(q).to_numpy())]
        )
    return np.unique(rows.astype("int64"))


def with_status(frame: pd.DataFrame, statuses: Mapping[str, str]) -> pd.DataFrame:
    """A copy of ``frame`` with a ``status`` column (``new`` for untouched alerts)."""
    out = frame.copy()
    st_map = dict(statuses)
    out["status"] = out["alert_id"].map(lambda a: st_map.get(a, "new")).astype(object)
    return out


def apply_filter(table: AlertTable, flt: AlertFilter, statuses: Mapping[str, str]) -> pd.DataFrame:
    """The alerts that pass ``flt``, with a ``status`` column, in file order.

    Parameters
    ----------
    table
        All alerts.
    flt
        The filter.
    statuses
        Case statuses by ``alert_id`` (from the case database).

    Returns
    -------
    pandas.DataFrame
        Matching rows of ``table.frame`` (original positions kept in the index).
    """
    f = table.frame
    keep = np.ones(len(f), dtype=bool)
    if flt.detectors:
        keep &= f["detector"].isin(list(flt.detectors)).to_numpy()
    if flt.levels:
        keep &= f["level"].isin(list(flt.levels)).to_numpy()
    if flt.regions and "region" in f.columns:
        keep &= f["region"].isin(list(flt.regions)).to_numpy()
    lo, hi = flt.score_range
    keep &= ((f["score"] >= lo) & (f["score"] <= hi)).to_numpy()
    alo, ahi = flt.amount_range
    if alo is not None:
        keep &= (f["amount_at_risk"] >= alo).to_numpy()
    if ahi is not None:
        keep &= (f["amount_at_risk"] <= ahi).to_numpy()
    if flt.new_only:
        latest = table.latest_run_date
        keep &= (f["first_seen"] == latest).to_numpy()
    if flt.query.strip():
        hit = np.zeros(len(f), dtype=bool)
        hit[search_rows(table, flt.query)] = True
        keep &= hit
    out = f[keep]
    st_map = dict(statuses)
    status = out["alert_id"].map(lambda a: st_map.get(a, "new")).astype(object) if st_map else "new"
    out = out.assign(status=status)
    if flt.statuses:
        out = out[out["status"].isin(list(flt.statuses))]
    return out


def sort_frame(frame: pd.DataFrame, column: str, ascending: bool) -> pd.DataFrame:
    """Stable sort by one column (ties keep file order, i.e. descending score)."""
    if column not in frame.columns:
        return frame
    return frame.sort_values(column, ascending=ascending, kind="stable", na_position="last")


def page_slice(frame: pd.DataFrame, page: int, page_size: int) -> tuple[pd.DataFrame, int]:
    """One page (1-based, clamped) and the number of pages."""
    n_pages = max(1, -(-len(frame) // max(1, page_size)))
    page = min(max(1, page), n_pages)
    start = (page - 1) * page_size
    return frame.iloc[start : start + page_size], n_pages


def summary(frame: pd.DataFrame, latest_run_date: str | None) -> dict[str, Any]:
    """Headline figures for the overview: counts, amount at risk, new alerts."""
    new = int((frame["first_seen"] == latest_run_date).sum()) if latest_run_date else 0
    levels = frame["level"].value_counts()
    return {
        "alerts": len(frame),
        "amount": float(frame["amount_at_risk"].sum()),
        "new": new,
        **{lv: int(levels.get(lv, 0)) for lv in LEVELS},
    }
