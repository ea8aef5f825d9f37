"""shell_employer on tiny hand-built graphs: two linked shells, old_workforce and catch_up decoys."""

from __future__ import annotations

from typing import Any

import pytest
from detector_helpers import build_frames, contract_dicts, detect_alerts, evidence_literals, member_ids

from ringwatch import semantics
from ringwatch.detectors.base import REGISTRY
from ringwatch.detectors.shell_employer import employer_links
from ringwatch.graph.base import GraphFrames


class World:
    def __init__(self) -> None:
        self.nodes: dict[str, list[dict[str, Any]]] = {
            "Person": [],
            "Identity": [],
            "Employer": [],
            "Benefit": [],
        }
        self.rels: dict[str, list[dict[str, Any]]] = {
            "HAS_IDENTITY": [],
            "EMPLOYED_BY": [],
            "RECEIVES": [],
            "PAID_TO": [],
        }
        self.n = 0

    def employer(
        self, eid: str, founded: str, rep: str | None = None, address_key: str | None = None
    ) -> None:
        self.nodes["Employer"].append(
            {
                "employer_id": eid,
                "founded_date": founded,
                "legal_rep_id_number": rep,
                "address_key": address_key,
            }
        )

    def worker(
        self,
        eid: str,
        birth: str,
        start: str,
        end: str | None,
        back_paid: int,
        base: float,
        *,
        birth_on_person_only: bool = False,
        pension: float = 0.0,
    ) -> str:
        self.n += 1
        pid = f"P{self.n:04d}"
        idn = f"3301{self.n:06d}{birth.replace('-', '')[:4]}{self.n % 10}X"
        self.nodes["Person"].append({"person_id": pid, "birth_date": birth})
        self.nodes["Identity"].append(
            {"id_number": idn, "person_id": pid, "id_birth_date": None if birth_on_person_only else birth}
        )
        self.rels["HAS_IDENTITY"].append({"src": pid, "dst": idn})
        self.rels["EMPLOYED_BY"].append(
            {
                "src": idn,
                "dst": eid,
                "start_date": start,
                "end_date": end,
                "contribution_base": base,
                "back_paid_months": back_paid,
            }
        )
        if pension:
            bid = f"B{self.n:04d}"
            self.nodes["Benefit"].append(
                {
                    "benefit_id": bid,
                    "id_number": idn,
                    "scheme": "pension_employee",
                    "start_date": "2025-01-01",
                }
            )
            self.rels["RECEIVES"].append({"src": idn, "dst": bid})
            ms = [semantics.add_months("2025-01", k) for k in range(22)]
            self.rels["PAID_TO"].append(
                {
                    "src": bid,
                    "dst": f"ACC{self.n}",
                    "months": ms,
                    "amounts": [pension] * len(ms),
                    "payment_ids": [f"{bid}-{m}" for m in ms],
                    "total": pension * len(ms),
                    "first_month": ms[0],
                    "last_month": ms[-1],
                }
            )
        return idn

    def frames(self, shuffle_seed: int | None = None) -> GraphFrames:
        return build_frames(self.nodes, self.rels, shuffle_seed)


def world() -> tuple[World, dict[str, list[str]]]:
    w = World()
    enrolled: dict[str, list[str]] = {}
    # two shells sharing a legal representative, founded recently, 9 and 8 older enrolees
    w.employer("91330100SHELL0001A", "2024-02-01", rep="330102197001011111", address_key="杭州市某路1号")
    w.employer("91330100SHELL0002B", "2024-05-01", rep="330102197001011111", address_key="杭州市某路1号")
    enrolled["91330100SHELL0001A"] = [
        w.worker(
            "91330100SHELL0001A",
            f"{1969 + k % 4}-0{1 + k % 9}-15",
            "2024-03-01",
            "2024-09-30",
            60 + k,
            2200.0,
            pension=3100.0,
        )
        for k in range(9)
    ]
    enrolled["91330100SHELL0002B"] = [
        w.worker(
            "91330100SHELL0002B",
            f"{1968 + k % 3}-0{1 + k % 9}-10",
            "2024-06-01",
            None,
            48 + k,
            2100.0,
            birth_on_person_only=k % 2 == 0,  # age from Person.birth_date when the number has none
        )
        for k in range(8)
    ]
    # old_workforce decoy: older workers, long normal employment, few back-paid months
    w.employer("91330100OLDWORK03C", "1995-01-01", rep="330102196001012222")
    for k in range(12):  # most were already 50+ when hired (passes the age test, fails the back-pay one)
        w.worker("91330100OLDWORK03C", f"{1950 + k % 5}-03-01", f"{2003 + k % 6}-01-01", None, k % 3, 6500.0)
    # catch_up decoy: one-time back-payment for 3 older workers, most workers young
    w.employer("91330100CATCHUP04D", "2010-01-01", rep="330102198001013333")
    for k in range(10):
        w.worker("91330100CATCHUP04D", f"{1992 + k}-06-01", "2019-01-01", None, 0, 7000.0)
    for k in range(3):
        w.worker("91330100CATCHUP04D", f"{1968 + k}-06-01", "2023-01-01", None, 40, 5000.0)
    # ordinary young employer
    w.employer("91330100NORMAL005E", "2015-01-01")
    for k in range(15):
        w.worker("91330100NORMAL005E", f"{1990 + k % 8}-01-01", "2018-01-01", None, 0, 8000.0)
    # ref date: PAID_TO of the shell pensioners ends 2026-10
    return w, enrolled


def run(gf: GraphFrames) -> list[dict[str, Any]]:
    return contract_dicts(detect_alerts("shell_employer", gf))


def test_registered() -> None:
    assert {"employers", "employments"} <= set(REGISTRY["shell_employer"].requires)


def test_shells_found_decoys_not() -> None:
    w, enrolled = world()
    alerts = run(w.frames())
    assert len(alerts) == 2
    # each alert is one shell with exactly its own enrolees (old_workforce, catch_up, normal: none)
    assert sorted(sorted(a["members"]["identity"]) for a in alerts) == sorted(
        sorted(v) for v in enrolled.values()
    )
    flagged = {e for a in alerts for e in a["members"]["employer"]}
    assert flagged == {"91330100SHELL0001A", "91330100SHELL0002B"}


def test_one_alert_per_shell_with_its_enrolees_and_partner() -> None:
    w, enrolled = world()
    alerts = run(w.frames())
    for eid, partner in (
        ("91330100SHELL0001A", "91330100SHELL0002B"),
        ("91330100SHELL0002B", "91330100SHELL0001A"),
    ):
        (a,) = [x for x in alerts if set(enrolled[eid]) == set(x["members"]["identity"])]
        assert a["members"]["employer"] == sorted([eid, partner])
        assert [link["employer_id"] for link in a["details"]["linked_employers"]] == [partner]
        assert a["details"]["linked_employers"][0]["link"] == "legal_rep"
        assert a["details"]["median_back_paid_months"] >= 36
        assert a["details"]["share_aged_50_plus"] == 1.0
        assert a["score"] >= 80
        assert "挂靠" in a["explanation"]
        assert "330102197001011111" not in a["explanation"] and "1111" in a["explanation"]


def test_amount_at_risk_pension_or_back_paid_base() -> None:
    w, enrolled = world()
    alerts: dict[str, dict[str, Any]] = {}
    for a in run(w.frames()):
        for eid, ids in enrolled.items():
            if set(ids) == set(a["members"]["identity"]):
                alerts[eid] = a
    a1 = alerts["91330100SHELL0001A"]
    assert a1["details"]["amount_basis"] == "pension_paid"
    assert a1["amount_at_risk"] == pytest.approx(9 * 22 * 3100.0)
    a2 = alerts["91330100SHELL0002B"]
    assert a2["details"]["amount_basis"] == "back_paid_base"
    assert a2["amount_at_risk"] == pytest.approx(sum((48 + k) * 2100.0 for k in range(8)))


def test_without_partner_still_alerted_but_lower() -> None:
    w, _ = world()
    for e in w.nodes["Employer"]:
        if e["employer_id"] == "91330100SHELL0002B":
            e["legal_rep_id_number"] = "330102197501019999"
    alerts = run(w.frames())
    assert len(alerts) == 2
    assert all(len(a["members"]["employer"]) == 1 for a in alerts)
    assert all(a["details"]["linked_employers"][0]["link"] == "address" for a in alerts)
    linked = run(world()[0].frames())
    assert max(a["score"] for a in alerts) < min(a["score"] for a in linked)


def test_employer_links_components() -> None:
    w, _ = world()
    gf = w.frames()
    by_rep, by_addr = employer_links(gf.nodes("Employer"))
    assert by_rep["91330100SHELL0001A"] == ["91330100SHELL0002B"]
    assert "91330100OLDWORK03C" not in by_rep
    assert by_addr["91330100SHELL0002B"] == ["91330100SHELL0001A"]


def test_deterministic_under_shuffled_input() -> None:
    base = run(world()[0].frames())
    for seed in (1, 2, 3):
        assert run(world()[0].frames(shuffle_seed=seed)) == base


def test_evidence_cypher_read_only_with_member_literals() -> None:
    for a in run(world()[0].frames()):
        literals = evidence_literals(a["evidence_cypher"])
        assert literals and literals <= member_ids(a["members"])
