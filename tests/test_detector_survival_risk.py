"""survival_risk on tiny hand-built graphs: the no_trace case, its decoys and the grade boundaries."""

from __future__ import annotations

from typing import Any

import pytest
from detector_helpers import (
    REF,
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
from ringwatch.detectors.survival_risk import graded_pensioners
from ringwatch.graph.base import GraphFrames


class World:
    """Pensioners with chosen life traces; payments to 2026-10 fix the reference date."""

    def __init__(self) -> None:
        self.nodes: dict[str, list[dict[str, Any]]] = {
            k: [] for k in ("Person", "Identity", "Benefit", "Activity", "Hospital")
        }
        self.rels: dict[str, list[dict[str, Any]]] = {
            k: [] for k in ("HAS_IDENTITY", "RECEIVES", "PAID_TO", "HAS_ACTIVITY", "TREATED_AT")
        }
        self.nodes["Hospital"].append({"hospital_id": "H1"})

    def pensioner(
        self,
        pid: str,
        *,
        activity: str | None = None,
        claim: str | None = None,
        death: str | None = None,
        end: str | None = None,
        last_paid: str = "2026-10",
        scheme: str = "pension_employee",
    ) -> None:
        idn = f"1101011950010{pid[1:]:0>4}X"[-18:]
        self.nodes["Person"].append({"person_id": pid, "death_date": death})
        self.nodes["Identity"].append(
            {"id_number": idn, "person_id": pid, "issued_date": "2001-05-01", "death_date": death}
        )
        self.rels["HAS_IDENTITY"].append({"src": pid, "dst": idn})
        bid = f"B-{pid}"
        self.nodes["Benefit"].append(
            {
                "benefit_id": bid,
                "id_number": idn,
                "scheme": scheme,
                "start_date": "2020-01-01",
                "end_date": end,
            }
        )
        self.rels["RECEIVES"].append({"src": idn, "dst": bid})
        self.rels["PAID_TO"].append(paid_to(bid, f"ACC-{pid}", months("2023-01", last_paid), 2500.0))
        if activity:
            aid = f"A-{pid}"
            self.nodes["Activity"].append(
                {"activity_id": aid, "id_number": idn, "date": activity, "source": "transit"}
            )
            self.rels["HAS_ACTIVITY"].append({"src": idn, "dst": aid})
        if claim:
            self.rels["TREATED_AT"].append(
                {"src": idn, "dst": "H1", "claim_id": f"C-{pid}", "admit_date": claim, "amount": 800.0}
            )

    def frames(self, shuffle_seed: int | None = None) -> GraphFrames:
        return build_frames(self.nodes, self.rels, shuffle_seed)


def world() -> World:
    w = World()
    w.pensioner("P1", activity="2023-03-10")  # no_trace: latest trace 43 months ago -> low
    w.pensioner("P2", activity="2024-04-01", claim="2026-04-20")  # recent_claim decoy -> strong
    w.pensioner("P3", activity="2025-06-01")  # medium decoy
    w.pensioner("P4", death="2026-09-15")  # dead decoy (no trace but a death)
    w.pensioner("P5", activity="2025-10-31")  # exactly 12 months -> medium
    w.pensioner("P6", activity="2024-10-31")  # exactly 24 months -> low
    w.pensioner("P7", activity="2024-11-01")  # just under 24 months -> medium
    w.pensioner("P8", end="2026-06-30", last_paid="2026-06")  # benefit closed before the reference date
    w.pensioner("P9", last_paid="2026-03")  # open but no longer paid (suspended)
    w.pensioner("P10", scheme="unemployment")  # not a pension
    w.pensioner("P11", scheme="pension_resident")  # no trace at all except an old issue date -> low
    return w


def run(gf: GraphFrames) -> list[dict[str, Any]]:
    assert semantics.reference_date(gf) == REF
    return contract_dicts(detect_alerts("survival_risk", gf))


def test_requires_activities() -> None:
    assert "activities" in REGISTRY["survival_risk"].requires


def test_low_grade_alerted_decoys_not() -> None:
    alerts = by_person(run(world().frames()))
    assert set(alerts) == {"P1", "P6", "P11"}
    for a in alerts.values():
        assert a["details"]["grade"] == "low"
        assert a["detector"] == "survival_risk"


def test_grades_and_boundaries() -> None:
    gf = world().frames()
    g = graded_pensioners(gf, context(gf, "survival_risk", REF)).set_index("person_id")["grade"].to_dict()
    assert g["P2"] == "strong"  # the claim 6 months ago is a life trace
    assert g["P3"] == "medium"
    assert g["P5"] == "medium"  # exactly 12 months
    assert g["P6"] == "low"  # exactly 24 months
    assert g["P7"] == "medium"
    assert {"P4", "P8", "P9", "P10"}.isdisjoint(g)  # dead, closed, not paid, not a pension


def test_details_and_amount() -> None:
    a = by_person(run(world().frames()))["P1"]
    d = a["details"]
    assert d["last_trace_date"] == "2023-03-10"
    assert d["last_trace_source"] == "activities"
    assert d["months_without_trace"] == 43
    # payments after the month of the last trace: 2023-04 .. 2026-10
    assert d["n_months_paid_since_trace"] == len(months("2023-04", "2026-10"))
    assert a["amount_at_risk"] == pytest.approx(2500.0 * len(months("2023-04", "2026-10")))
    assert a["members"]["benefit"] == ["B-P1"] and a["members"]["account"] == ["ACC-P1"]
    assert "2023-03-10" in a["explanation"] and "低" in a["explanation"]
    idn = a["members"]["identity"][0]
    assert idn not in a["explanation"] and idn[-4:] in a["explanation"]
    p11 = by_person(run(world().frames()))["P11"]
    assert p11["details"]["last_trace_source"] == "identities"


def test_no_trace_at_all() -> None:
    w = World()
    w.pensioner("P1")
    w.nodes["Identity"][0]["issued_date"] = None
    a = run(w.frames())
    assert len(a) == 1
    assert a[0]["details"]["grade"] == "low"
    assert a[0]["details"]["last_trace_date"] is None
    assert a[0]["amount_at_risk"] == pytest.approx(2500.0 * len(months("2023-01", "2026-10")))


def test_longer_silence_scores_higher() -> None:
    alerts = by_person(run(world().frames()))
    assert alerts["P1"]["score"] > alerts["P6"]["score"]


def test_deterministic_under_shuffled_input() -> None:
    base = run(world().frames())
    for seed in (1, 2, 3):
        assert run(world().frames(shuffle_seed=seed)) == base


def test_evidence_cypher_read_only_with_member_literals() -> None:
    for a in run(world().frames()):
        literals = evidence_literals(a["evidence_cypher"])
        assert literals and literals <= member_ids(a["members"])
