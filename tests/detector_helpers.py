"""Builders and checks shared by the detector tests (``tests/test_detector_*.py``).

Imported as a plain module (``from detector_helpers import ...``): pytest puts ``tests/`` on
``sys.path`` because it holds ``conftest.py`` and has no ``__init__.py``.
"""

from __future__ import annotations

import json
import random
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from ringwatch import semantics
from ringwatch.detectors.base import REGISTRY, Alert, DetectContext
from ringwatch.graph.base import GraphFrames, GraphView
from ringwatch.loaders.idnumber import check_char

#: reference date of the hand-built worlds (payments run to 2026-10)
REF = date(2026, 10, 31)

WRITE_WORDS = re.compile(
    r"\b(CREATE|MERGE|DELETE|DETACH|SET|REMOVE|DROP|LOAD|CALL|COPY|FOREACH)\b", re.IGNORECASE
)
LITERAL = re.compile(r"'((?:[^'\\]|\\.)*)'")

#: node label of each member type (as in the evidence graph's node ids ``Label:key``)
LABELS = {
    "person": "Person",
    "identity": "Identity",
    "account": "Account",
    "phone": "Phone",
    "address": "Address",
    "benefit": "Benefit",
}

Row = dict[str, Any]
A = TypeVar("A", Alert, dict[str, Any])


# -- records ---------------------------------------------------------------------------------------
def id18(birth: str, seq: int, region: str = "320102", *, good: bool = True) -> str:
    """An 18-digit ID number for ``birth`` (``YYYY-MM-DD``); with ``good=False`` a wrong check digit."""
    body = f"{region}{birth.replace('-', '')}{seq:03d}"
    c = check_char(body)
    if not good:
        c = "0" if c != "0" else "1"
    return body + c


def months(first: str, last: str) -> list[str]:
    """``YYYY-MM`` months from ``first`` to ``last``, both included."""
    out = [first]
    while out[-1] < last:
        out.append(semantics.add_months(out[-1], 1))
    return out


def paid_to(
    benefit: str, account: str, ms: Sequence[str], amount: float = 3000.0, *, payment_ids: bool = True
) -> Row:
    """A ``PAID_TO`` row: ``amount`` in each of the months ``ms`` (ids ``PAY-<benefit>-<month>``)."""
    row: Row = {"src": benefit, "dst": account, "months": list(ms), "amounts": [amount] * len(ms)}
    if payment_ids:
        row["payment_ids"] = [f"PAY-{benefit}-{m}" for m in ms]
    row.update(n_months=len(ms), total=amount * len(ms), first_month=ms[0], last_month=ms[-1])
    return row


def copy_tables(tables: Mapping[str, list[Row]], seed: int | None = None) -> dict[str, list[Row]]:
    """Copies of the tables' rows; with ``seed``, each table shuffled by its own ``random.Random(seed)``."""
    out: dict[str, list[Row]] = {}
    for k, rows in tables.items():
        rows = [dict(r) for r in rows]
        if seed is not None:
            random.Random(seed).shuffle(rows)
        out[k] = rows
    return out


def build_frames(
    nodes: Mapping[str, list[Row]], rels: Mapping[str, list[Row]], shuffle_seed: int | None = None
) -> GraphFrames:
    """Frames of the tables; with ``shuffle_seed``, all of them (nodes first) shuffled from one random stream."""
    n = {k: list(v) for k, v in nodes.items()}
    r = {k: list(v) for k, v in rels.items()}
    if shuffle_seed is not None:
        rng = random.Random(shuffle_seed)
        for v in (*n.values(), *r.values()):
            rng.shuffle(v)
    return GraphFrames.from_records(nodes=n, rels=r)


class Records:
    """Hand-built node and relationship rows, by label / type, for ``GraphFrames.from_records``."""

    def __init__(self) -> None:
        self.nodes: dict[str, list[Row]] = defaultdict(list)
        self.rels: dict[str, list[Row]] = defaultdict(list)

    def frames(self, seed: int | None = None) -> GraphFrames:
        """The rows as frames; with ``seed`` every table in a shuffled order (:func:`copy_tables`)."""
        return GraphFrames.from_records(copy_tables(self.nodes, seed), copy_tables(self.rels, seed))


# -- running ---------------------------------------------------------------------------------------
def context(view: GraphView, detector: str, ref_date: date | None = None, **params: Any) -> DetectContext:
    """A run context with ``params`` for ``detector``; the §4 reference date of the data unless given."""
    ref = semantics.reference_date(view) if ref_date is None else ref_date
    return DetectContext(view=view, ref_date=ref, params={detector: params} if params else {})


def detect_alerts(detector: str, view: GraphView, ref_date: date | None = None, **params: Any) -> list[Alert]:
    """The registered ``detector`` run on ``view`` (see :func:`context`)."""
    return REGISTRY[detector].fn(view, context(view, detector, ref_date, **params))


def contract_dicts(alerts: Iterable[Alert]) -> list[dict[str, Any]]:
    """The alerts as ``alerts.jsonl`` objects, in alert id order."""
    return [a.contract_dict() for a in sorted(alerts, key=lambda a: a.alert_id)]


def by_person(alerts: Iterable[A]) -> dict[str, A]:
    """Alerts (models or contract dicts) by their first person member."""
    return {(a.members if isinstance(a, Alert) else a["members"])["person"][0]: a for a in alerts}


# -- checks ----------------------------------------------------------------------------------------
def member_ids(members: Mapping[str, Sequence[str]]) -> set[str]:
    """All member keys of an alert, of every type."""
    return {x for v in members.values() for x in v}


def evidence_literals(query: str) -> set[str]:
    """The string literals of an evidence query, after checking that it is read-only."""
    assert not WRITE_WORDS.search(query)
    return set(LITERAL.findall(query))


def assert_plain_json(dicts: Iterable[dict[str, Any]]) -> None:
    """Every dict survives a JSON round trip unchanged (no NaN, no numpy scalars) for ``alerts.jsonl``."""
    for d in dicts:
        assert json.loads(json.dumps(d, ensure_ascii=False, allow_nan=False)) == d


def replay_on_ladybug(frames: GraphFrames, alerts: list[Alert], tmp_path: Path) -> None:
    """Every alert's evidence_cypher runs read-only on LadybugDB and returns all its members."""
    from ringwatch.graph import open_store

    assert alerts
    with open_store(tmp_path / "evidence.lbug") as store:
        store.create_schema()
        store.bulk_load(frames)
        for a in alerts:
            res = store.run_read(a.evidence_cypher)
            assert res.graph is not None
            got = {n.id for n in res.graph.nodes}
            want = {f"{LABELS[t]}:{x}" for t, xs in a.members.items() for x in xs}
            assert want <= got, sorted(want - got)
            assert res.graph.edges
