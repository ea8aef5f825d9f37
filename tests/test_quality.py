"""Quality scorer: Jaccard matching, one-to-one greedy assignment, recall/precision/decoy hits."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from ringwatch.contract import DETECTORS
from ringwatch.synth.quality import details, jaccard, key_set, load_jsonl, match, passes, score, totals


def _t(case_id: str, detector: str, kind: str, **members: list[str]) -> dict:
    return {"case_id": case_id, "detector": detector, "kind": kind, "variant": "v", "members": members}


def _a(alert_id: str, detector: str, **members: list[str]) -> dict:
    return {"alert_id": alert_id, "detector": detector, "score": 90, "members": members}


def _row(table, detector: str) -> dict:
    return table.set_index("detector").loc[detector].to_dict()


def test_key_set_uses_only_key_member_types_and_normalises() -> None:
    ks = key_set(
        "deceased_payment",
        {"identity": ["11010119500101123x"], "benefit": ["B1"], "person": ["P1"], "account": ["A"]},
    )
    assert ks == frozenset({"identity:11010119500101123X", "benefit:B1"})
    assert key_set("shared_account", {"person": ["Ｐ１ "]}) == frozenset({"person:P1"})
    assert jaccard(frozenset(), frozenset()) == 0.0


def test_partial_overlap_above_and_below_half() -> None:
    truth = [
        _t("shared_account-0001", "shared_account", "case", person=["p1", "p2", "p3", "p4"], account=["a1"]),
        _t("shared_account-0002", "shared_account", "case", person=["q1", "q2", "q3", "q4"], account=["b1"]),
    ]
    alerts = [
        # 3 of 5 truth keys + 0 extra: J = 3/5 = 0.6 -> match
        _a("x1", "shared_account", person=["p1", "p2"], account=["a1"]),
        # 2 shared of 4+1 and 3 extra: J = 2/8 = 0.25 -> no match
        _a("x2", "shared_account", person=["q1", "q2", "z1", "z2", "z3"]),
        # exactly 0.5: 3 shared, union 6 -> match is allowed (>=)
    ]
    t = score(alerts, truth)
    r = _row(t, "shared_account")
    assert (r["cases"], r["alerts"], r["matched_cases"]) == (2, 2, 1)
    assert r["recall"] == 0.5 and r["precision"] == 0.5
    half = [_a("x3", "shared_account", person=["q1", "q2", "q3", "zz"], account=["b2"])]  # 3 / (5 + 2) = 0.43
    assert _row(score(half, truth), "shared_account")["matched_cases"] == 0
    exact = [_a("x4", "shared_account", person=["q1", "q2", "q3"], account=["zz"])]  # 3 / 6 = 0.5
    assert _row(score(exact, truth), "shared_account")["matched_cases"] == 1


def test_one_to_one_best_first_and_decoys() -> None:
    truth = [
        _t("deceased_payment-0001", "deceased_payment", "case", identity=["i1"], benefit=["b1"]),
        _t("deceased_payment-0002", "deceased_payment", "decoy", identity=["i2"], benefit=["b2"]),
    ]
    alerts = [
        _a("a-partial", "deceased_payment", identity=["i1"], benefit=["b1", "b9"]),  # J = 2/3
        _a("a-exact", "deceased_payment", identity=["i1"], benefit=["b1"]),  # J = 1
        _a("a-decoy", "deceased_payment", identity=["i2"], benefit=["b2"]),
        _a("a-other", "survival_risk", identity=["i1"], benefit=["b1"]),  # other detector: never matches
    ]
    pairs = match(alerts, truth)
    assert (1, 0, 1.0) in pairs and all(ai != 0 for ai, _, _ in pairs)
    t = score(alerts, truth)
    r = _row(t, "deceased_payment")
    assert (r["cases"], r["decoys"], r["alerts"], r["matched_cases"], r["decoys_hit"]) == (1, 1, 3, 1, 1)
    assert r["recall"] == 1.0 and r["precision"] == pytest.approx(1 / 3)
    s = _row(t, "survival_risk")
    assert s["alerts"] == 1 and s["matched_cases"] == 0 and math.isnan(s["recall"]) and s["precision"] == 0.0
    d = details(alerts, truth).set_index("case_id")
    assert d.loc["deceased_payment-0001", "alert_id"] == "a-exact"
    assert d.loc["deceased_payment-0002", "alert_id"] == "a-decoy"


def test_all_detectors_listed_and_empty_inputs() -> None:
    t = score([], [])
    assert list(t["detector"]) == list(DETECTORS)
    assert t["recall"].isna().all() and t["precision"].isna().all()
    assert passes(t)
    truth = [
        _t("provider_ring-0001", "provider_ring", "case", hospital=["h1"], doctor=["d1"], identity=["i1"])
    ]
    missed = score([], truth)
    assert not passes(missed)
    assert totals(missed)["recall"] == 0.0


def test_provider_ring_matching_and_ties_deterministic() -> None:
    truth = [
        _t(
            "provider_ring-0001",
            "provider_ring",
            "case",
            hospital=["h1", "h2"],
            doctor=["d1"],
            identity=["i1", "i2", "i3"],
        ),
    ]
    # both alerts have the same Jaccard (5/6): the one with the smaller alert id wins, whatever the order
    a1 = _a("b", "provider_ring", hospital=["h1", "h2"], doctor=["d1"], identity=["i1", "i2"])
    a2 = _a("a", "provider_ring", hospital=["h1", "h2"], doctor=["d1"], identity=["i1", "i3"])
    for alerts in ([a1, a2], [a2, a1]):
        pairs = match(alerts, truth)
        assert len(pairs) == 1 and alerts[pairs[0][0]]["alert_id"] == "a"
        r = _row(score(alerts, truth), "provider_ring")
        assert r["matched_cases"] == 1 and r["precision"] == 0.5


def test_load_jsonl(tmp_path: Path) -> None:
    p = tmp_path / "x.jsonl"
    p.write_text(
        json.dumps({"a": 1}) + "\n\n" + json.dumps({"b": "中"}, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    assert load_jsonl(p) == [{"a": 1}, {"b": "中"}]
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.jsonl:1"):
        load_jsonl(bad)
