"""Helpers shared by all detectors: parameters, masked explanation text, dates, pandas grouping, payments.

Identity-specific helpers (vectorised id/person maps, renumbering components, name matching)
are in :mod:`._identity`; Cypher literal helpers in :mod:`.evidence`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from ringwatch.graph.base import GraphView

from .base import DetectContext

#: Chinese names of the benefit schemes in the explanations of deceased_payment and survival_risk
SCHEME_ZH: dict[str, str] = {
    "pension_employee": "职工基本养老金",
    "pension_resident": "城乡居民养老金",
    "unemployment": "失业保险金",
    "work_injury": "工伤保险待遇",
    "survivor": "遗属待遇",
    "other": "其他社保待遇",
}


# -- parameters ----------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Params:
    """Base of a detector's parameter dataclass.

    Subclasses set ``detector`` and declare one field per parameter with its default; each
    value is read with ``ctx.p(detector, name, default)`` and converted to the default's
    type (so write ``2.0`` for a float parameter).
    """

    detector: ClassVar[str]

    @classmethod
    def from_ctx(cls, ctx: DetectContext) -> Self:
        """The parameters of this run (config values, else the defaults)."""
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            default: Any = f.default
            values[f.name] = type(default)(ctx.p(cls.detector, f.name, default))
        return cls(**values)


# -- explanation text ----------------------------------------------------------------------------
def tail4(value: object) -> str:
    """Last four characters of an identifier (never print a full ID number, account or phone)."""
    return str(value)[-4:]


def tail(value: object) -> str:
    """Masked identifier for explanation text: ``尾号1234``."""
    return f"尾号{tail4(value)}"


def month_span(months: Iterable[str]) -> str:
    """``2021-03至2026-10`` for a set of ``YYYY-MM`` months (empty string when none)."""
    ms = sorted(m for m in months if m)
    if not ms:
        return ""
    return ms[0] if ms[0] == ms[-1] else f"{ms[0]}至{ms[-1]}"


def iso_day(value: object) -> str | None:
    """A date cell (Timestamp, datetime64, date, string) as ``YYYY-MM-DD``; ``None`` when missing."""
    if pd.isna(value):  # type: ignore[call-overload]
        return None
    return pd.Timestamp(value).date().isoformat()  # type: ignore[arg-type]


def str_or_none(value: object) -> str | None:
    """A string cell as ``str``, anything else (None/NaN) as ``None``."""
    return value if isinstance(value, str) else None


# -- scores ----------------------------------------------------------------------------------------
def clip01(x: float | None) -> float:
    """``x`` clipped to [0, 1]; missing (None/NaN) is 0."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return 0.0
    return float(min(1.0, max(0.0, x)))


def log_share(amount: float, full: float) -> float:
    """Amount part of a score in [0, 1]: ``log10(1 + amount) / log10(1 + full)``, capped at 1."""
    return min(1.0, math.log10(1.0 + max(0.0, amount)) / math.log10(1.0 + max(1.0, full)))


# -- frames ----------------------------------------------------------------------------------------
def group_lists(frame: pd.DataFrame, key: str, value: str) -> dict[str, list[str]]:
    """``key`` -> sorted distinct non-null ``value`` strings, for every key (vectorised).

    Used instead of per-group Python lambdas so that tens of thousands of alerts stay fast.
    """
    d = frame.loc[:, [key, value]].dropna()
    if d.empty:
        return {}
    d = pd.DataFrame(
        {"k": d[key].astype(str).to_numpy(dtype=object), "v": d[value].astype(str).to_numpy(dtype=object)}
    )
    d = d.drop_duplicates().sort_values(["k", "v"], kind="mergesort")
    k = d["k"].to_numpy(dtype=object)
    v = d["v"].tolist()
    cut = np.flatnonzero(k[1:] != k[:-1]) + 1
    starts = np.concatenate([[0], cut]).tolist()
    ends = np.concatenate([cut, [len(k)]]).tolist()
    return {str(k[a]): v[a:b] for a, b in zip(starts, ends, strict=True)}


def with_receiver(view: GraphView, benefits: pd.DataFrame) -> pd.DataFrame:
    """``benefits`` with a missing ``id_number`` filled from the benefit's first ``RECEIVES`` edge."""
    rec = view.rels("RECEIVES", ["src", "dst"]).rename(columns={"src": "rec_id", "dst": "benefit_id"})
    # only benefits without an id_number take the edge: look those up alone (keeps edge order)
    rec = rec[rec["benefit_id"].isin(benefits.loc[benefits["id_number"].isna(), "benefit_id"])]
    ben = benefits.merge(rec.drop_duplicates("benefit_id"), on="benefit_id", how="left")
    ben["id_number"] = ben["id_number"].where(ben["id_number"].notna(), ben["rec_id"])
    return ben.drop(columns="rec_id")


def explode_payments(paid: pd.DataFrame) -> pd.DataFrame:
    """One row per paid month of ``PAID_TO`` edges.

    ``paid`` has ``src``, ``dst``, ``months``, ``amounts`` and optionally ``payment_ids``
    (padded with ``None`` when its length does not match the months). Returns them as
    ``benefit_id``, ``account_no``, ``month``, ``amount`` (as given) and ``payment_id``;
    months that are missing are dropped.
    """
    paid = paid.assign(months=paid["months"].map(list), amounts=paid["amounts"].map(list))
    cols = ["months", "amounts"]
    if "payment_ids" in paid.columns:
        ids = paid["payment_ids"].map(lambda v: list(v) if v is not None else [])
        paid["payment_ids"] = [
            (p if len(p) == k else [None] * k) for p, k in zip(ids, paid["months"].map(len), strict=True)
        ]
        cols.append("payment_ids")
    e = paid.explode(cols).dropna(subset=["months"])
    return e.rename(
        columns={
            "src": "benefit_id",
            "dst": "account_no",
            "months": "month",
            "amounts": "amount",
            "payment_ids": "payment_id",
        }
    )
