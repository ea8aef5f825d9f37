"""Score a run's alerts against a truth file (``docs/CASES.md``, matching rule).

An alert matches a truth entry of the same detector when the Jaccard index of their
key-member sets (typed ids ``type:id``, only the detector's key member types) is at least
0.5. Matching is one-to-one and greedy, best pair first (ties broken by alert id, then
case id), so it is deterministic. Recall = matched cases / cases; precision = alerts
matched to cases / alerts; alerts matched to decoys are counted as ``decoys_hit`` (they are
false positives too).
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ringwatch.contract import DETECTORS

#: key member types per detector (contract §3, CASES.md)
KEY_MEMBERS: dict[str, tuple[str, ...]] = {
    "shared_account": ("person", "account"),
    "identity_chain": ("identity", "person"),
    "provider_ring": ("hospital", "doctor", "identity"),
    "deceased_payment": ("identity", "benefit"),
    "duplicate_benefit": ("person", "identity", "benefit"),
    "shell_employer": ("employer", "identity"),
    "survival_risk": ("identity", "benefit"),
}
THRESHOLD = 0.5
COLUMNS = ("detector", "cases", "decoys", "alerts", "matched_cases", "recall", "precision", "decoys_hit")


def load_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Read a JSON-lines file (alerts or truth); blank lines are skipped."""
    out: list[dict[str, Any]] = []
    with Path(path).open(encoding="utf-8-sig") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{n}: not JSON ({e.msg})") from e
    return out


def _norm(typ: str, value: object) -> str:
    s = unicodedata.normalize("NFKC", str(value)).strip()
    return s.upper() if typ == "identity" else s


def key_set(detector: str, members: Mapping[str, Iterable[object]] | None) -> frozenset[str]:
    """The typed key members (``type:id``) of an alert or truth entry for its detector."""
    if not members:
        return frozenset()
    types = KEY_MEMBERS.get(detector, ())
    return frozenset(f"{t}:{_norm(t, v)}" for t in types for v in (members.get(t) or ()))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard index of two sets (0 when both are empty)."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def match(
    alerts: Sequence[Mapping[str, Any]], truth: Sequence[Mapping[str, Any]], threshold: float = THRESHOLD
) -> list[tuple[int, int, float]]:
    """One-to-one matches ``(alert index, truth index, jaccard)`` over all detectors.

    Only pairs of the same detector with Jaccard ≥ ``threshold`` are candidates; the best
    pair is taken first (ties: alert id, then case id, then input order).
    """
    a_keys = [key_set(str(a.get("detector")), a.get("members")) for a in alerts]
    t_keys = [key_set(str(t.get("detector")), t.get("members")) for t in truth]
    index: dict[tuple[str, str], list[int]] = defaultdict(list)
    for ti, (t, keys) in enumerate(zip(truth, t_keys, strict=True)):
        for k in keys:
            index[(str(t.get("detector")), k)].append(ti)
    pairs: list[tuple[float, str, str, int, int]] = []
    for ai, (a, keys) in enumerate(zip(alerts, a_keys, strict=True)):
        det = str(a.get("detector"))
        cand = {ti for k in keys for ti in index.get((det, k), ())}
        for ti in cand:
            j = jaccard(keys, t_keys[ti])
            if j >= threshold:
                pairs.append((-j, str(a.get("alert_id", "")), str(truth[ti].get("case_id", "")), ai, ti))
    pairs.sort()
    used_a: set[int] = set()
    used_t: set[int] = set()
    out: list[tuple[int, int, float]] = []
    for neg_j, _, _, ai, ti in pairs:
        if ai in used_a or ti in used_t:
            continue
        used_a.add(ai)
        used_t.add(ti)
        out.append((ai, ti, -neg_j))
    return out


def score(
    alerts: Sequence[Mapping[str, Any]], truth: Sequence[Mapping[str, Any]], threshold: float = THRESHOLD
) -> pd.DataFrame:
    """Recall, precision and decoy hits per contract detector.

    Parameters
    ----------
    alerts
        Alert objects (``alerts.jsonl`` lines): ``detector`` and ``members`` are used.
    truth
        Truth entries (``truth.jsonl`` lines): ``detector``, ``kind`` and ``members``.
    threshold
        Minimum Jaccard index of the key-member sets for a match.

    Returns
    -------
    DataFrame
        One row per contract detector: ``cases``, ``decoys``, ``alerts``, ``matched_cases``,
        ``recall`` (NaN without cases), ``precision`` (NaN without alerts), ``decoys_hit``.
    """
    pairs = match(alerts, truth, threshold)
    rows = []
    for det in DETECTORS:
        cases = sum(1 for t in truth if t.get("detector") == det and t.get("kind") == "case")
        decoys = sum(1 for t in truth if t.get("detector") == det and t.get("kind") == "decoy")
        n_alerts = sum(1 for a in alerts if a.get("detector") == det)
        hits = [truth[ti].get("kind") for ai, ti, _ in pairs if alerts[ai].get("detector") == det]
        matched = sum(1 for k in hits if k == "case")
        rows.append(
            {
                "detector": det,
                "cases": cases,
                "decoys": decoys,
                "alerts": n_alerts,
                "matched_cases": matched,
                "recall": matched / cases if cases else math.nan,
                "precision": matched / n_alerts if n_alerts else math.nan,
                "decoys_hit": sum(1 for k in hits if k == "decoy"),
            }
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def details(
    alerts: Sequence[Mapping[str, Any]], truth: Sequence[Mapping[str, Any]], threshold: float = THRESHOLD
) -> pd.DataFrame:
    """Per truth entry: ``case_id``, ``detector``, ``kind``, ``variant``, matched ``alert_id``, ``jaccard``."""
    by_truth = {ti: (ai, j) for ai, ti, j in match(alerts, truth, threshold)}
    rows = []
    for ti, t in enumerate(truth):
        ai, j = by_truth.get(ti, (None, math.nan))
        rows.append(
            {
                "case_id": t.get("case_id"),
                "detector": t.get("detector"),
                "kind": t.get("kind"),
                "variant": t.get("variant"),
                "alert_id": None if ai is None else alerts[ai].get("alert_id"),
                "jaccard": j,
            }
        )
    return pd.DataFrame(rows, columns=["case_id", "detector", "kind", "variant", "alert_id", "jaccard"])


def totals(table: pd.DataFrame) -> dict[str, float]:
    """Micro-averaged recall and precision and summed counts of a :func:`score` table."""
    cases = int(table["cases"].sum())
    n_alerts = int(table["alerts"].sum())
    matched = int(table["matched_cases"].sum())
    return {
        "cases": cases,
        "decoys": int(table["decoys"].sum()),
        "alerts": n_alerts,
        "matched_cases": matched,
        "recall": matched / cases if cases else math.nan,
        "precision": matched / n_alerts if n_alerts else math.nan,
        "decoys_hit": int(table["decoys_hit"].sum()),
    }


def passes(table: pd.DataFrame, min_recall: float = 0.95, min_precision: float = 0.90) -> bool:
    """Every detector with cases reaches ``min_recall``; every detector with alerts ``min_precision``."""
    rec = table["recall"].dropna()
    prec = table["precision"].dropna()
    return bool((rec >= min_recall).all() and (prec >= min_precision).all())
