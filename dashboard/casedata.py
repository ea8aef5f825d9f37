"""Bounded store reads for one case: member records and the payments/claims timeline.

Every query names its ids as a ``$ids`` list parameter, filters by node key, and has a
``LIMIT``, so a case never scans more than its own members' neighbourhoods. The functions
take anything with a ``run_read`` method (a store or the dashboard's ``StoreHandle``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd

from ringwatch.graph.base import QueryResult, SubgraphNode
from ringwatch.graph.schema import MEMBER_LABELS, NODES

MAX_IDS = 500
ROW_LIMIT = 5000
TIMEOUT_S = 15.0


class Reader(Protocol):
    def run_read(
        self,
        cypher: str,
        params: Mapping[str, Any] | None = None,
        *,
        limit: int = 1000,
        timeout_s: float = 10.0,
    ) -> QueryResult: ...


def member_nodes(reader: Reader, members: Mapping[str, Sequence[str]]) -> dict[str, pd.DataFrame]:
    """The stored properties of an alert's members, one table per member type.

    Parameters
    ----------
    reader
        The store (read-only).
    members
        The alert's ``members`` (contract member type -> ids).

    Returns
    -------
    dict
        Member type -> DataFrame with the node's schema columns (at most :data:`MAX_IDS`
        rows per type; ids not found in the store are left out).
    """
    out: dict[str, pd.DataFrame] = {}
    for mtype, ids in members.items():
        label = MEMBER_LABELS.get(mtype)
        if not label or not ids:
            continue
        nt = NODES[label]
        cols = [c for c in nt.columns if c != "extra"]
        ret = ", ".join(f"n.{c} AS {c}" for c in cols)
        res = reader.run_read(
            f"MATCH (n:{label}) WHERE n.{nt.key} IN $ids RETURN {ret}",
            {"ids": list(ids)[:MAX_IDS]},
            limit=MAX_IDS,
            timeout_s=TIMEOUT_S,
        )
        out[mtype] = res.frame
    return out


@dataclass
class Timeline:
    """What happened to a case's members over time.

    Attributes
    ----------
    payments
        ``month`` (first day of month), ``benefit_id``, ``scheme``, ``amount``.
    events
        ``date``, ``kind`` (``claim`` or an activity source), ``amount`` (claims), ``where``.
    deaths
        ``date``, ``id_number`` of recorded deaths.
    capped
        Some query hit its row limit.
    """

    payments: pd.DataFrame = field(default_factory=pd.DataFrame)
    events: pd.DataFrame = field(default_factory=pd.DataFrame)
    deaths: pd.DataFrame = field(default_factory=pd.DataFrame)
    capped: bool = False

    @property
    def empty(self) -> bool:
        return self.payments.empty and self.events.empty and self.deaths.empty


def _col(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame.columns:
        return frame[name]
    return pd.Series([None] * len(frame), dtype=object)


_IDENTITIES = (
    "MATCH (i:Identity) WHERE i.id_number IN $ids "
    "RETURN i.id_number AS id_number, i.death_date AS death_date "
    "UNION ALL MATCH (p:Person)-[:HAS_IDENTITY]->(i:Identity) WHERE p.person_id IN $pids "
    "RETURN i.id_number AS id_number, i.death_date AS death_date "
    "UNION ALL MATCH (b:Benefit)<-[:RECEIVES]-(i:Identity) WHERE b.benefit_id IN $bids "
    "RETURN i.id_number AS id_number, i.death_date AS death_date"
)
_PAYMENTS = (
    "MATCH (i:Identity)-[:RECEIVES]->(b:Benefit)-[r:PAID_TO]->(a:Account) WHERE i.id_number IN $ids "
    "RETURN b.benefit_id AS benefit_id, b.scheme AS scheme, a.account_no AS account_no, "
    "r.months AS months, r.amounts AS amounts "
    "UNION ALL MATCH (b:Benefit)-[r:PAID_TO]->(a:Account) WHERE b.benefit_id IN $bids "
    "RETURN b.benefit_id AS benefit_id, b.scheme AS scheme, a.account_no AS account_no, "
    "r.months AS months, r.amounts AS amounts"
)
_EVENTS = (
    "MATCH (i:Identity)-[t:TREATED_AT]->(h:Hospital) WHERE i.id_number IN $ids "
    "RETURN t.admit_date AS date, 'claim' AS kind, t.amount AS amount, h.hospital_id AS place "
    "UNION ALL MATCH (i:Identity)-[:HAS_ACTIVITY]->(x:Activity) WHERE i.id_number IN $ids "
    "RETURN x.date AS date, x.source AS kind, 0.0 AS amount, x.kind AS place"
)


def _ids(members: Mapping[str, Sequence[str]], mtype: str) -> list[str]:
    return [str(x) for x in list(members.get(mtype, ()))[:MAX_IDS]]


def case_timeline(reader: Reader, members: Mapping[str, Sequence[str]]) -> Timeline:
    """Payments, claims, life traces and deaths of a case's members (three bounded queries).

    The case's ID numbers are its member identities plus those of its member persons and
    benefits; payments are those of its member benefits and of every benefit those ID
    numbers receive.

    Parameters
    ----------
    reader
        The store (read-only).
    members
        The alert's ``members``.

    Returns
    -------
    Timeline
        Tables ready for charts; ``capped`` when a limit was reached.
    """
    tl = Timeline()
    pids, bids = _ids(members, "person"), _ids(members, "benefit")
    ids = _ids(members, "identity")
    if not (ids or pids or bids):
        return tl
    res = reader.run_read(
        _IDENTITIES, {"ids": ids, "pids": pids, "bids": bids}, limit=MAX_IDS, timeout_s=TIMEOUT_S
    )
    capped = res.truncated
    idf = pd.DataFrame(
        {
            "id_number": _col(res.frame, "id_number").astype(object),
            "date": pd.to_datetime(_col(res.frame, "death_date"), errors="coerce"),
        }
    ).drop_duplicates("id_number")
    ids = sorted(set(ids) | {str(x) for x in idf["id_number"].dropna()})[:MAX_IDS]
    tl.deaths = idf.dropna(subset=["date"]).reset_index(drop=True)

    res = reader.run_read(_PAYMENTS, {"ids": ids, "bids": bids}, limit=MAX_IDS, timeout_s=TIMEOUT_S)
    capped |= res.truncated
    f = res.frame.drop_duplicates(subset=["benefit_id", "account_no"]) if not res.frame.empty else res.frame
    rows: list[tuple[str, str, str, float]] = []
    for bid, scheme, months, amounts in zip(
        _col(f, "benefit_id"), _col(f, "scheme"), _col(f, "months"), _col(f, "amounts"), strict=True
    ):
        pairs = zip(list(months or []), list(amounts or []), strict=False)
        for m, a in pairs:
            if len(rows) >= ROW_LIMIT:
                capped = True
                break
            rows.append((str(bid), str(scheme or ""), str(m), float(a)))
    pay = pd.DataFrame(rows, columns=["benefit_id", "scheme", "month", "amount"])
    pay["month"] = pd.to_datetime(pay["month"], format="%Y-%m", errors="coerce")
    tl.payments = (
        pay.dropna(subset=["month"])
        .groupby(["month", "benefit_id", "scheme"], as_index=False)
        .agg(amount=("amount", "sum"))
    )

    if ids:
        res = reader.run_read(_EVENTS, {"ids": ids}, limit=ROW_LIMIT, timeout_s=TIMEOUT_S)
        capped |= res.truncated
        kind = _col(res.frame, "kind").astype(object)
        amount = pd.to_numeric(_col(res.frame, "amount"), errors="coerce").where(kind == "claim")
        tl.events = pd.DataFrame(
            {
                "date": pd.to_datetime(_col(res.frame, "date"), errors="coerce"),
                "kind": kind,
                "amount": amount,
                "where": _col(res.frame, "place").astype(object),
            }
        ).dropna(subset=["date"])
    tl.capped = capped
    return tl


def member_seed_nodes(members: Mapping[str, Sequence[str]], limit: int = 50) -> list[SubgraphNode]:
    """Bare nodes for an alert's members (used when the evidence query returns no graph)."""
    out: list[SubgraphNode] = []
    for mtype, ids in members.items():
        label = MEMBER_LABELS.get(mtype)
        if not label:
            continue
        key_prop = NODES[label].key
        for i in ids:
            out.append(SubgraphNode(id=f"{label}:{i}", label=label, key=str(i), props={key_prop: str(i)}))
            if len(out) >= limit:
                return out
    return out
