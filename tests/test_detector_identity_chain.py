"""identity_chain: birth-date moves, both drawing, long chains, cycles, bad check digits; upgrades silent."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import networkx as nx
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

from ringwatch.detectors import _identity as idt
from ringwatch.detectors import identity_chain as ic
from ringwatch.detectors._common import tail
from ringwatch.detectors.base import Alert, DetectContext, make_alert_id
from ringwatch.graph.base import GraphFrames
from ringwatch.loaders.idnumber import parse, upgrade15


def id15(birth: str, seq: int, region: str = "320102") -> str:
    return f"{region}{birth.replace('-', '')[2:]}{seq:03d}"


class World(Records):
    def person(self, pid: str, sex: str, birth: str, *ids: str) -> None:
        self.nodes["Person"].append({"person_id": pid, "name": "测试" + pid, "sex": sex, "birth_date": birth})
        for idn in ids:
            self.identity(pid, idn)

    def identity(self, pid: str, idn: str) -> None:
        info = parse(idn)
        self.nodes["Identity"].append(
            {
                "id_number": idn,
                "person_id": pid,
                "id_type": info.kind,
                "checksum_ok": info.checksum_ok,
                "id_birth_date": info.birth_date,
                "id_sex": info.sex,
                "id_region": info.region,
            }
        )
        self.rels["HAS_IDENTITY"].append({"src": pid, "dst": idn})

    def renumber(self, old: str, new: str, reason: str, when: str | None) -> None:
        self.rels["RENUMBERED_TO"].append({"src": old, "dst": new, "reason": reason, "changed_date": when})

    def pension(
        self,
        bid: str,
        idn: str,
        first: str,
        last: str = "2026-10",
        amount: float = 3000.0,
        start: str | None = None,
    ) -> None:
        acc = "acc-" + bid
        self.nodes["Benefit"].append(
            {
                "benefit_id": bid,
                "id_number": idn,
                "scheme": "pension_employee",
                "start_date": start or first + "-01",
                "account_no": acc,
            }
        )
        self.nodes["Account"].append({"account_no": acc, "role": "holder"})
        self.rels["RECEIVES"].append({"src": idn, "dst": bid})
        self.rels["PAID_TO"].append(paid_to(bid, acc, months(first, last), amount, payment_ids=False))


def run(frames: GraphFrames, **params: Any) -> list[Alert]:
    return detect_alerts("identity_chain", frames, REF, **params)


def upgrades(w: World, n: int = 30) -> None:
    """Ordinary 15→18 upgrades (birth date unchanged), some drawing a pension under the new number."""
    for k in range(n):
        birth = f"19{50 + k % 10}-0{1 + k % 9}-1{k % 9}"
        old = id15(birth, 100 + k, region="110105")
        new = upgrade15(old)
        w.person(f"up{k}", "M" if k % 2 else "F", birth, old, new)
        w.renumber(old, new, "upgrade15", "1999-07-01")
        if k % 3 == 0:
            w.pension(f"upb{k}", new, "2016-01")


def birth_moved(w: World) -> tuple[str, str]:
    old = id18("1966-05-01", 11)
    new = id18("1963-05-01", 11)
    w.person("bm", "M", "1963-05-01", old, new)
    w.renumber(old, new, "birth_date_fix", "2022-06-01")
    w.pension("bm-b", new, "2023-06")
    return old, new


def both_drawing(w: World) -> tuple[str, str]:
    old = id15("1955-03-03", 21)
    new = upgrade15(old)
    w.person("bd", "M", "1955-03-03", old, new)
    w.renumber(old, new, "upgrade15", "2000-01-01")
    w.pension("bd-old", old, "2015-04")
    w.pension("bd-new", new, "2022-01", amount=2500.0)
    return old, new


def long_chain(w: World) -> list[str]:
    a = id15("1958-08-08", 31)
    b = upgrade15(a)
    c = id18("1958-08-08", 32)  # re-issued for "other" reasons
    w.person("lc", "F", "1958-08-08", a, b, c)
    w.renumber(a, b, "upgrade15", "2001-01-01")
    w.renumber(b, c, "other", "2015-01-01")
    return [a, b, c]


def cycle(w: World) -> list[str]:
    a = id18("1960-02-02", 41)
    b = id18("1960-02-02", 43)
    w.person("cy", "M", "1960-02-02", a, b)
    w.renumber(a, b, "duplicate_fix", "2012-01-01")
    w.renumber(b, a, "other", "2014-01-01")
    return [a, b]


def bad_checksum(w: World) -> list[str]:
    a = id15("1952-12-12", 51)
    b = id18("1952-12-12", 51, good=False)
    w.person("bc", "M", "1952-12-12", a, b)
    w.renumber(a, b, "upgrade15", "2000-01-01")
    w.pension("bc-b", b, "2012-12")
    return [a, b]


def late_fixes(w: World) -> None:
    # moved later, within the window
    a = id18("1963-04-04", 61)
    b = id18("1966-04-04", 61)
    w.person("lf1", "M", "1966-04-04", a, b)
    w.renumber(a, b, "birth_date_fix", "2022-01-01")
    w.pension("lf1-b", b, "2026-05")
    # moved earlier, but 15 years before retirement
    c = id18("1966-07-07", 63)
    d = id18("1963-07-07", 63)
    w.person("lf2", "M", "1963-07-07", c, d)
    w.renumber(c, d, "birth_date_fix", "2008-01-01")
    w.pension("lf2-b", d, "2023-08")
    # moved earlier by only one year
    e = id18("1964-01-01", 65)
    f = id18("1963-01-01", 65)
    w.person("lf3", "M", "1963-01-01", e, f)
    w.renumber(e, f, "birth_date_fix", "2022-01-01")
    w.pension("lf3-b", f, "2023-02")


def test_decoys_alone_are_silent() -> None:
    w = World()
    upgrades(w)
    late_fixes(w)
    assert run(w.frames()) == []


def test_birth_date_moved() -> None:
    w = World()
    upgrades(w)
    old, new = birth_moved(w)
    (a,) = run(w.frames())
    assert a.members == {"person": ["bm"], "identity": sorted([old, new]), "benefit": ["bm-b"]}
    assert a.details["signals"] == ["birth_date_moved"]
    fact = a.details["birth_date_moved"][0]
    assert fact["entitled_month"] == "2026-05" and fact["shift_years"] == 3.0
    # paid 2023-06 .. 2026-04 before the true pension age: 35 months
    assert a.amount_at_risk == pytest.approx(35 * 3000.0)
    assert "出生日期提前3.0年" in a.explanation and "2026-05" in a.explanation


def test_birth_date_moved_respects_pension_age_config() -> None:
    w = World()
    birth_moved(w)
    # with a statutory age of 57 the old birth date already qualifies at the start: nothing gained
    frames = w.frames()
    ctx = DetectContext(view=frames, ref_date=REF, pension_ages={"M": 57})
    assert ic.detect(frames, ctx) == []


def test_both_drawing_amount_is_smaller_stream() -> None:
    w = World()
    old, new = both_drawing(w)
    (a,) = run(w.frames())
    assert a.details["signals"] == ["both_drawing"]
    fact = a.details["both_drawing"][0]
    overlap = len(months("2022-01", "2026-10"))
    assert fact["overlap_months"] == overlap
    assert fact["doubtful_benefit_id"] == "bd-new"
    assert a.amount_at_risk == pytest.approx(overlap * 2500.0)
    assert a.members["benefit"] == ["bd-new", "bd-old"]
    assert "同时领取养老金" in a.explanation


def test_long_chain_cycle_and_bad_checksum() -> None:
    w = World()
    upgrades(w)
    chain = long_chain(w)
    cyc = cycle(w)
    bad = bad_checksum(w)
    alerts = by_person(run(w.frames()))
    assert set(alerts) == {"lc", "cy", "bc"}
    assert alerts["lc"].details["signals"] == ["long_chain"]
    assert alerts["lc"].members["identity"] == sorted(chain)
    assert alerts["lc"].amount_at_risk == 0
    assert alerts["cy"].details["signals"] == ["cycle"]
    assert alerts["cy"].members["identity"] == sorted(cyc)
    assert set(alerts["cy"].details["cycle"][0]["cycle"]) == set(cyc)
    assert alerts["bc"].details["signals"] == ["bad_checksum_drawing"]
    assert alerts["bc"].members["identity"] == sorted(bad)
    assert alerts["bc"].amount_at_risk > 0
    assert "校验位错误" in alerts["bc"].explanation


def test_signals_combine_into_one_alert_per_chain() -> None:
    w = World()
    a = id15("1955-06-06", 71)
    b = upgrade15(a)
    c = id18("1952-06-06", 72)  # birth moved 3 years earlier
    w.person("combo", "M", "1952-06-06", a, b, c)
    w.renumber(a, b, "upgrade15", "2000-01-01")
    w.renumber(b, c, "birth_date_fix", "2011-03-01")
    w.pension("combo-b", b, "2012-07")
    w.pension("combo-c", c, "2012-07")
    (alert,) = run(w.frames())
    assert set(alert.details["signals"]) == {"birth_date_moved", "both_drawing", "long_chain"}
    assert alert.level == "red"
    single = run(w.frames(), long_chain_min=4)
    assert set(single[0].details["signals"]) == {"birth_date_moved", "both_drawing"}
    assert single[0].score <= alert.score


def test_explanation_masked_chinese() -> None:
    w = World()
    old, new = birth_moved(w)
    (a,) = run(w.frames())
    assert re.search(r"[\u4e00-\u9fff]", a.explanation)
    assert old not in a.explanation and new not in a.explanation
    assert tail(old) in a.explanation and tail(new) in a.explanation
    assert "测试bm" not in a.explanation


def test_evidence_cypher_read_only_literals_are_members() -> None:
    w = World()
    both_drawing(w)
    cycle(w)
    for a in run(w.frames()):
        literals = evidence_literals(a.evidence_cypher)
        assert literals <= member_ids(a.members)
        assert set(a.members["identity"]) <= literals


def test_deterministic_ids_and_sorted_members() -> None:
    w = World()
    upgrades(w)
    birth_moved(w)
    both_drawing(w)
    long_chain(w)
    cycle(w)
    bad_checksum(w)
    late_fixes(w)
    base = [a.contract_dict() for a in run(w.frames())]
    assert_plain_json(base)
    assert len(base) == 5
    for seed in (1, 2, 3):
        assert [a.contract_dict() for a in run(w.frames(seed=seed))] == base
    for d in base:
        assert d["alert_id"] == make_alert_id(
            "identity_chain", {"identity": d["members"]["identity"], "person": d["members"]["person"]}
        )
        for v in d["members"].values():
            assert v == sorted(v)


def test_components_match_networkx() -> None:
    w = World()
    upgrades(w, 10)
    long_chain(w)
    cycle(w)
    birth_moved(w)
    frames = w.frames(seed=4)
    comps = idt.renumber_components(frames)
    ours = {frozenset(g["id_number"]) for _, g in comps.groupby("comp")}
    g = nx.Graph()
    g.add_edges_from(frames.rels("RENUMBERED_TO", ["src", "dst"]).itertuples(index=False, name=None))
    assert ours == {frozenset(c) for c in nx.connected_components(g)}
    firsts = comps.groupby("comp")["id_number"].min().tolist()
    assert firsts == sorted(firsts)


def test_without_renumberings_nothing() -> None:
    w = World()
    w.person("x", "M", "1950-01-01", id18("1950-01-01", 1))
    assert run(w.frames()) == []


def test_evidence_replays_on_ladybug(tmp_path: Path) -> None:
    w = World()
    upgrades(w, 6)
    birth_moved(w)
    both_drawing(w)
    long_chain(w)
    cycle(w)
    bad_checksum(w)
    frames = w.frames()
    replay_on_ladybug(frames, run(frames), tmp_path)
