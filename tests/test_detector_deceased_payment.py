"""deceased_payment on tiny hand-built graphs with known answers (CASES.md cases and decoys)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import pytest
from detector_helpers import (
    build_frames,
    by_person,
    context,
    contract_dicts,
    detect_alerts,
    evidence_literals,
    member_ids,
    months,
    paid_to,
)

from ringwatch import semantics
from ringwatch.detectors.base import REGISTRY
from ringwatch.detectors.deceased_payment import payments_after_death
from ringwatch.graph.base import GraphFrames


def build(records: Mapping[str, list[dict[str, Any]]], shuffle_seed: int | None = None) -> GraphFrames:
    nodes = {k: v for k, v in records.items() if k[0].isupper() and not k.isupper()}
    rels = {k: v for k, v in records.items() if k.isupper()}
    return build_frames(nodes, rels, shuffle_seed)


def scenario() -> dict[str, list[dict[str, Any]]]:
    """P1 after_death (death under the old number only), P2 normal lag, P3 death after the
    benefit ended, P4 boundary (death on the last day of a month), P5 alive, P6 two benefits."""
    persons = [{"person_id": f"P{i}"} for i in range(1, 7)]
    ident = [
        {"id_number": "110101195001011234", "person_id": "P1"},
        # old number of P1: the death is recorded here only (the loader did not propagate it)
        {
            "id_number": "110101500101123",
            "person_id": "P1",
            "death_date": "2025-03-15",
            "death_source": "police",
        },
        {"id_number": "220101195002022222", "person_id": "P2", "death_date": "2025-03-10"},
        {"id_number": "330101195003033333", "person_id": "P3", "death_date": "2025-06-20"},
        {"id_number": "440101195004044444", "person_id": "P4", "death_date": "2025-03-31"},
        {"id_number": "550101195005055555", "person_id": "P5"},
        {"id_number": "660101195006066666", "person_id": "P6", "death_date": "2024-12-01"},
    ]
    persons[1]["death_date"] = "2025-03-10"
    persons[1]["death_source"] = "civil_affairs"
    persons[2]["death_date"] = "2025-06-20"
    persons[3]["death_date"] = "2025-03-31"
    persons[5]["death_date"] = "2024-12-01"
    persons[5]["death_source"] = "cremation"
    ben = [
        {
            "benefit_id": "B1",
            "id_number": "110101195001011234",
            "scheme": "pension_employee",
            "start_date": "2015-01-01",
        },
        {
            "benefit_id": "B2",
            "id_number": "220101195002022222",
            "scheme": "pension_resident",
            "start_date": "2015-01-01",
        },
        {
            "benefit_id": "B3",
            "id_number": "330101195003033333",
            "scheme": "pension_employee",
            "start_date": "2015-01-01",
            "end_date": "2024-12-31",
        },
        {
            "benefit_id": "B4",
            "id_number": "440101195004044444",
            "scheme": "pension_employee",
            "start_date": "2015-01-01",
        },
        {
            "benefit_id": "B5",
            "id_number": "550101195005055555",
            "scheme": "pension_employee",
            "start_date": "2015-01-01",
        },
        {
            "benefit_id": "B6a",
            "id_number": "660101195006066666",
            "scheme": "pension_employee",
            "start_date": "2015-01-01",
        },
        {
            "benefit_id": "B6b",
            "id_number": "660101195006066666",
            "scheme": "work_injury",
            "start_date": "2016-01-01",
        },
    ]
    paid = [
        paid_to("B1", "ACC0001", months("2024-10", "2025-08")),  # 2025-05..08 after death
        paid_to("B2", "ACC0002", months("2024-10", "2025-04")),  # stops the month after death
        paid_to("B3", "ACC0003", months("2024-01", "2024-12")),  # ended before death
        paid_to("B4", "ACC0004", months("2024-10", "2025-05")),  # 2025-05 is month+2
        paid_to("B5", "ACC0005", months("2024-10", "2025-10")),
        paid_to("B6a", "ACC0006", months("2024-06", "2025-03"), 2000.0),  # 2025-02..03 after death
        paid_to("B6b", "ACC0007", months("2024-06", "2025-02"), 500.0),  # 2025-02 after death
    ]
    return {
        "Person": persons,
        "Identity": ident,
        "Benefit": ben,
        "RECEIVES": [{"src": b["id_number"], "dst": b["benefit_id"]} for b in ben],
        "HAS_IDENTITY": [{"src": i["person_id"], "dst": i["id_number"]} for i in ident],
        "PAID_TO": paid,
    }


def run(gf: GraphFrames) -> list[dict[str, Any]]:
    return contract_dicts(detect_alerts("deceased_payment", gf))


def test_registered() -> None:
    spec = REGISTRY["deceased_payment"]
    assert {"benefits", "payments", "deaths"} <= set(spec.requires)


def test_cases_found_and_decoys_not() -> None:
    alerts = by_person(run(build(scenario())))
    assert set(alerts) == {"P1", "P4", "P6"}  # P2 normal lag, P3 ended before death, P5 alive


def test_death_under_old_number_counts_for_new_number() -> None:
    a = by_person(run(build(scenario())))["P1"]
    assert a["members"]["identity"] == ["110101195001011234", "110101500101123"]
    assert a["members"]["benefit"] == ["B1"]
    assert a["members"]["account"] == ["ACC0001"]
    d = a["details"]
    assert d["death_date"] == "2025-03-15"
    assert d["death_source"] == "police"
    assert d["months_after_death"] == ["2025-05", "2025-06", "2025-07", "2025-08"]
    assert a["amount_at_risk"] == pytest.approx(4 * 3000.0)
    assert "1234" in a["explanation"] and "2025-03-15" in a["explanation"]
    assert "110101195001011234" not in a["explanation"]


def test_boundary_month_plus_two_flagged() -> None:
    a = by_person(run(build(scenario())))["P4"]
    assert a["details"]["months_after_death"] == ["2025-05"]
    assert a["details"]["last_allowed_month"] == "2025-04"
    assert a["amount_at_risk"] == pytest.approx(3000.0)


def test_one_alert_per_person_covers_all_benefits() -> None:
    a = by_person(run(build(scenario())))["P6"]
    assert a["members"]["benefit"] == ["B6a", "B6b"]
    assert a["details"]["months_after_death"] == ["2025-02", "2025-03"]
    assert a["amount_at_risk"] == pytest.approx(2 * 2000.0 + 1 * 500.0)
    assert [b["months"] for b in a["details"]["benefits"]] == [["2025-02", "2025-03"], ["2025-02"]]
    assert a["details"]["death_source"] == "cremation"


def test_matches_semantics_paid_after_death() -> None:
    gf = build(scenario())
    pay = payments_after_death(gf, context(gf, "deceased_payment"))
    for row in pay.itertuples():
        assert semantics.paid_after_death(row.month, semantics.to_date(row.death_date))
    # and nothing after death was missed: count every (benefit, month) the scalar rule flags
    deaths = {
        "B1": date(2025, 3, 15),
        "B2": date(2025, 3, 10),
        "B4": date(2025, 3, 31),
        "B6a": date(2024, 12, 1),
    }
    expected = sum(
        semantics.paid_after_death(m, deaths[p["src"]])
        for p in scenario()["PAID_TO"]
        if p["src"] in deaths
        for m in p["months"]
    )
    assert len(pay[pay["benefit_id"].isin(list(deaths))]) == expected


def test_score_grows_with_months_and_amount() -> None:
    alerts = by_person(run(build(scenario())))
    assert alerts["P1"]["score"] > alerts["P4"]["score"]
    for a in alerts.values():
        assert 0 <= a["score"] <= 100
        assert a["level"] in {"red", "orange", "yellow"}


def test_deterministic_under_shuffled_input() -> None:
    base = run(build(scenario()))
    for seed in (1, 2, 3):
        assert run(build(scenario(), shuffle_seed=seed)) == base


def test_evidence_cypher_read_only_with_member_literals() -> None:
    for a in run(build(scenario())):
        q = a["evidence_cypher"]
        literals = evidence_literals(q)
        assert q.lstrip().upper().startswith("MATCH")
        assert literals and literals <= member_ids(a["members"])
        assert "$" not in q


def test_no_deaths_no_alerts() -> None:
    rec = scenario()
    for p in rec["Person"]:
        p.pop("death_date", None)
    for i in rec["Identity"]:
        i.pop("death_date", None)
    assert run(build(rec)) == []
