"""duplicate_benefit: two regions, two schemes, two identities, two person records; decoys silent."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest
from detector_helpers import (
    REF,
    Records,
    assert_plain_json,
    by_person,
    detect_alerts,
    evidence_literals,
    id18,
    member_ids,
    months,
    paid_to,
    replay_on_ladybug,
)

from ringwatch import semantics
from ringwatch.detectors import _identity as idt
from ringwatch.detectors._common import tail
from ringwatch.detectors.base import Alert, make_alert_id
from ringwatch.graph.base import GraphFrames
from ringwatch.loaders.idnumber import parse, upgrade15


class World(Records):
    def person(
        self, pid: str, name: str, birth: str, *ids: str, phone: str | None = None, addr: str | None = None
    ) -> None:
        self.nodes["Person"].append({"person_id": pid, "name": name, "sex": "M", "birth_date": birth})
        for idn in ids:
            info = parse(idn)
            self.nodes["Identity"].append(
                {
                    "id_number": idn,
                    "person_id": pid,
                    "id_type": info.kind,
                    "checksum_ok": info.checksum_ok,
                    "id_birth_date": info.birth_date,
                    "id_region": info.region,
                }
            )
            self.rels["HAS_IDENTITY"].append({"src": pid, "dst": idn})
        if phone:
            self.nodes["Phone"].append({"phone": phone})
            self.rels["USES_PHONE"].append({"src": pid, "dst": phone})
        if addr:
            self.nodes["Address"].append({"address_key": addr, "address": addr})
            self.rels["LIVES_AT"].append({"src": pid, "dst": addr, "address_type": "residence"})

    def benefit(
        self,
        bid: str,
        idn: str,
        first: str,
        last: str = "2026-10",
        *,
        scheme: str = "pension_employee",
        region: str = "110101",
        amount: float = 3000.0,
        paid: bool = True,
    ) -> None:
        end = None if last == "2026-10" else semantics.month_end(last).isoformat()
        self.nodes["Benefit"].append(
            {
                "benefit_id": bid,
                "id_number": idn,
                "scheme": scheme,
                "region_code": region,
                "start_date": first + "-01",
                "end_date": end,
                "account_no": "acc-" + bid,
            }
        )
        self.rels["RECEIVES"].append({"src": idn, "dst": bid})
        self.nodes["Account"].append({"account_no": "acc-" + bid, "role": "holder"})
        if paid:
            self.rels["PAID_TO"].append(
                paid_to(bid, "acc-" + bid, months(first, last), amount, payment_ids=False)
            )


def run(frames: GraphFrames, **params: Any) -> list[Alert]:
    return detect_alerts("duplicate_benefit", frames, REF, **params)


# -- cases ----------------------------------------------------------------------------------------
def two_regions(w: World) -> str:
    i = id18("1955-01-01", 11)
    w.person("tr", "李建国", "1955-01-01", i)
    w.benefit("tr-bj", i, "2020-01", region="110101")
    w.benefit("tr-sz", i, "2023-01", region="440301", amount=2800.0)
    return i


def two_identities(w: World) -> list[str]:
    a = id18("1954-02-02", 21)
    b = id18("1954-02-02", 23, region="410102")
    w.person("ti", "周明", "1954-02-02", a, b)
    w.benefit("ti-a", a, "2018-05")
    w.benefit("ti-b", b, "2024-01", region="410102")
    return [a, b]


def two_person_ids(w: World) -> list[str]:
    a = id18("1956-03-03", 31)
    b = id18("1956-03-03", 35, region="510104")
    w.person("tp1", "王伟", "1956-03-03", a, phone="13911112222", addr="成都市锦江区春熙路1号")
    w.person("tp2", "王 伟", "1956-03-03", b, phone="13911112222")
    w.benefit("tp1-b", a, "2016-04")
    w.benefit("tp2-b", b, "2021-07", region="510104", scheme="pension_resident", amount=200.0)
    return [a, b]


# -- decoys -------------------------------------------------------------------------------------
def namesakes(w: World) -> None:
    for k, birth in enumerate(["1950-05-05", "1951-06-06", "1952-07-07"]):
        i = id18(birth, 41 + 2 * k)
        w.person(f"ns{k}", "张伟", birth, i, phone=f"1370000000{k}")
        w.benefit(f"ns{k}-b", i, "2015-01")
    # same name and birth date but nothing shared, different area codes
    a = id18("1953-08-08", 51, region="130102")
    b = id18("1953-08-08", 53, region="620102")
    w.person("nsx", "张伟", "1953-08-08", a, phone="13600000001", addr="石家庄某路1号")
    w.person("nsy", "张伟", "1953-08-08", b, phone="13600000002", addr="兰州某路2号")
    w.benefit("nsx-b", a, "2013-09")
    w.benefit("nsy-b", b, "2013-09", region="620102")


def sequential(w: World) -> None:
    i = id18("1957-09-09", 61)
    w.person("sq", "赵敏", "1957-09-09", i)
    w.benefit("sq-res", i, "2017-10", "2021-03", scheme="pension_resident", amount=180.0)
    w.benefit("sq-emp", i, "2021-04", scheme="pension_employee")


def different_kind(w: World) -> None:
    i = id18("1950-10-10", 71)
    w.person("dk", "钱芳", "1950-10-10", i)
    w.benefit("dk-own", i, "2010-11")
    w.benefit("dk-surv", i, "2019-02", scheme="survivor", amount=900.0)


def renumbered_both(w: World) -> list[str]:
    old = "320102" + "520303" + "081"
    new = upgrade15(old)
    w.person("rn", "孙立", "1952-03-03", old, new)
    w.rels["RENUMBERED_TO"].append(
        {"src": old, "dst": new, "reason": "upgrade15", "changed_date": "2000-01-01"}
    )
    w.benefit("rn-old", old, "2012-04")
    w.benefit("rn-new", new, "2020-01")
    return [old, new]


def decoys(w: World) -> None:
    namesakes(w)
    sequential(w)
    different_kind(w)


def all_cases() -> World:
    """The decoys and the three planted duplicates (two regions, two identities, two person ids)."""
    w = World()
    decoys(w)
    two_regions(w)
    two_identities(w)
    two_person_ids(w)
    return w


def test_decoys_silent() -> None:
    w = World()
    decoys(w)
    assert run(w.frames()) == []


def test_two_regions() -> None:
    w = World()
    decoys(w)
    i = two_regions(w)
    (a,) = run(w.frames())
    assert a.members == {"person": ["tr"], "identity": [i], "benefit": ["tr-bj", "tr-sz"]}
    assert a.details["variants"] == ["two_regions"]
    n = len(months("2023-01", "2026-10"))
    assert a.details["pairs"][0]["overlap_months"] == n
    assert a.details["pairs"][0]["later_benefit_id"] == "tr-sz"
    assert a.amount_at_risk == pytest.approx(n * 2800.0)
    assert "110101" in a.explanation and "440301" in a.explanation and "重复领取" in a.explanation
    assert a.level == "red"


def test_two_identities_same_person_id() -> None:
    w = World()
    decoys(w)
    ids = two_identities(w)
    (a,) = run(w.frames())
    assert a.members["identity"] == sorted(ids)
    assert a.details["variants"] == ["two_identities"]
    assert a.amount_at_risk == pytest.approx(len(months("2024-01", "2026-10")) * 3000.0)


def test_two_person_ids_fuzzy_match() -> None:
    w = World()
    decoys(w)
    ids = two_person_ids(w)
    (a,) = run(w.frames())
    assert a.members["person"] == ["tp1", "tp2"]
    assert a.members["identity"] == sorted(ids)
    assert a.members["phone"] == ["13911112222"]
    assert a.details["variants"] == ["two_person_ids"]
    assert a.details["same_person_evidence"] == ["phone"]
    # the later stream (resident pension, 200/month) is the one in doubt
    assert a.amount_at_risk == pytest.approx(len(months("2021-07", "2026-10")) * 200.0)
    assert "尾号2222" in a.explanation and "13911112222" not in a.explanation
    assert "王伟" not in a.explanation


def test_id_region_link_is_optional_and_weaker() -> None:
    w = World()
    a_id = id18("1958-01-01", 81, region="330102")
    b_id = id18("1958-01-01", 83, region="330102")
    w.person("ra", "陈静", "1958-01-01", a_id)
    w.person("rb", "陈静", "1958-01-01", b_id)
    w.benefit("ra-b", a_id, "2018-02")
    w.benefit("rb-b", b_id, "2019-02")
    assert run(w.frames()) == []  # same name and birth date, nothing shared: two people
    (alert,) = run(w.frames(), use_id_region=True)
    assert alert.details["same_person_evidence"] == ["id_region"]
    w2 = World()
    two_person_ids(w2)
    (strong,) = run(w2.frames())
    assert alert.score < strong.score


def test_renumbered_pairs_are_duplicates_unless_excluded() -> None:
    w = World()
    ids = renumbered_both(w)
    (a,) = run(w.frames())
    assert a.members["identity"] == sorted(ids)
    assert a.details["variants"] == ["two_identities"]
    assert run(w.frames(), exclude_renumbered=True) == []


def test_two_schemes_and_period_fallback() -> None:
    w = World()
    i = id18("1959-11-11", 91)
    w.person("ts", "吴刚", "1959-11-11", i)
    w.benefit("ts-res", i, "2019-12", scheme="pension_resident", amount=150.0)
    w.benefit("ts-emp", i, "2022-06")
    (a,) = run(w.frames())
    assert a.details["variants"] == ["two_schemes"]
    # without any payments the start/end periods decide (§4)
    w2 = World()
    j = id18("1959-12-12", 93)
    w2.person("pf", "郑洁", "1959-12-12", j)
    w2.benefit("pf-a", j, "2019-01", "2022-12", paid=False)
    w2.benefit("pf-b", j, "2022-07", paid=False, region="310101")
    (b,) = run(w2.frames())
    assert b.details["pairs"][0]["overlap_months"] == 6
    assert b.amount_at_risk == 0
    w3 = World()
    k = id18("1959-12-12", 95)
    w3.person("pg", "郑洁", "1959-12-12", k)
    w3.benefit("pg-a", k, "2019-01", "2022-06", paid=False)
    w3.benefit("pg-b", k, "2022-07", paid=False, region="310101")
    assert run(w3.frames()) == []


def test_explanation_evidence_and_ids() -> None:
    alerts = run(all_cases().frames())
    assert set(by_person(alerts)) == {"tr", "ti", "tp1"}
    for a in alerts:
        assert re.search(r"[\u4e00-\u9fff]", a.explanation)
        for idn in a.members["identity"]:
            assert idn not in a.explanation and tail(idn) in a.explanation
        literals = evidence_literals(a.evidence_cypher)
        assert literals <= member_ids(a.members)
        assert set(a.members["benefit"]) <= literals
        assert a.alert_id == make_alert_id(
            "duplicate_benefit",
            {k: a.members[k] for k in ("person", "identity", "benefit")},
        )
        for v in a.members.values():
            assert v == sorted(v)


def test_deterministic_under_shuffles() -> None:
    w = all_cases()
    base = [a.contract_dict() for a in run(w.frames())]
    assert_plain_json(base)
    for seed in (1, 2, 3):
        assert [a.contract_dict() for a in run(w.frames(seed=seed))] == base


def test_same_person_groups_match_networkx() -> None:
    w = World()
    namesakes(w)
    two_person_ids(w)
    # a third record of the same man, sharing the address only: one group of three
    c = id18("1956-03-03", 37, region="510105")
    w.person("tp3", "王伟", "1956-03-03", c, addr="成都市锦江区春熙路1号")
    frames = w.frames(seed=2)
    drawers = sorted(r["person_id"] for r in w.nodes["Person"])
    links = idt.same_person_links(frames, drawers, use_id_region=False)
    pidx = np.array(drawers, dtype=object)
    comp = idt.components(len(pidx), np.searchsorted(pidx, links["p1"]), np.searchsorted(pidx, links["p2"]))
    ours = {frozenset(pidx[comp == k].tolist()) for k in np.unique(comp)}
    g = nx.Graph()
    g.add_nodes_from(drawers)
    g.add_edges_from(zip(links["p1"], links["p2"], strict=True))
    assert ours == {frozenset(x) for x in nx.connected_components(g)}
    assert frozenset({"tp1", "tp2", "tp3"}) in ours


def test_no_benefits() -> None:
    w = World()
    w.person("x", "某人", "1950-01-01", id18("1950-01-01", 1))
    assert run(w.frames()) == []


def test_evidence_replays_on_ladybug(tmp_path: Path) -> None:
    frames = all_cases().frames()
    replay_on_ladybug(frames, run(frames), tmp_path)
