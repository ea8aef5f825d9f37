"""shared_account: pension collectors found; families, nursing homes, agent accounts, 集体户 not."""

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
    context,
    copy_tables,
    detect_alerts,
    evidence_literals,
    member_ids,
    paid_to,
    replay_on_ladybug,
)

from ringwatch.detectors import _identity as idt
from ringwatch.detectors import shared_account as sa
from ringwatch.detectors.base import Alert, DetectContext
from ringwatch.graph.base import GraphFrames
from ringwatch.loaders.idnumber import check_char

MONTHS = [f"2025-{m:02d}" for m in range(1, 13)]
SURNAMES = "赵钱孙李周吴郑冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜戚谢邹喻柏水窦章云苏潘葛奚范彭郎鲁韦昌马苗凤花方"


def id18(seq: int, birth: str = "19550101", region: str = "110101") -> str:
    body = f"{region}{birth}{seq % 1000:03d}"
    return body + check_char(body)


class World(Records):
    """Hand-built records for GraphFrames.from_records."""

    def __init__(self) -> None:
        super().__init__()
        self._n = 0

    def person(
        self,
        pid: str,
        name: str,
        *,
        hukou: str | None = None,
        phone: str | None = None,
        account: str | None = None,
        role: str = "holder",
        sex: str = "M",
    ) -> str:
        self._n += 1
        idn = id18(self._n)
        self.nodes["Person"].append({"person_id": pid, "name": name, "sex": sex, "birth_date": "1955-01-01"})
        self.nodes["Identity"].append(
            {"id_number": idn, "person_id": pid, "id_type": "ID18", "checksum_ok": True}
        )
        self.rels["HAS_IDENTITY"].append({"src": pid, "dst": idn})
        if hukou:
            self.address(pid, hukou, "hukou")
        if phone:
            self.nodes["Phone"].append({"phone": phone})
            self.rels["USES_PHONE"].append({"src": pid, "dst": phone})
        if account:
            self.nodes["Account"].append({"account_no": account, "person_id": pid, "role": role})
            self.rels["HOLDS"].append({"src": pid, "dst": account, "role": role})
        return idn

    def address(self, pid: str, addr: str, kind: str) -> None:
        self.nodes["Address"].append({"address_key": addr, "address": addr})
        self.rels["LIVES_AT"].append({"src": pid, "dst": addr, "address_type": kind})

    def pension(self, bid: str, pid: str, account: str, amount: float = 3000.0) -> None:
        idn = next(r["id_number"] for r in self.nodes["Identity"] if r["person_id"] == pid)
        self.nodes["Benefit"].append(
            {
                "benefit_id": bid,
                "id_number": idn,
                "scheme": "pension_employee",
                "start_date": "2015-01-01",
                "account_no": account,
            }
        )
        self.rels["RECEIVES"].append({"src": idn, "dst": bid})
        self.rels["PAID_TO"].append(paid_to(bid, account, MONTHS, amount, payment_ids=False))

    def frames(self, seed: int | None = None) -> GraphFrames:
        nodes = {k: _dedupe(v, k) for k, v in copy_tables(self.nodes, seed).items()}
        return GraphFrames.from_records(nodes, copy_tables(self.rels, seed))


def _dedupe(rows: list[dict[str, Any]], label: str) -> list[dict[str, Any]]:
    key = {"Phone": "phone", "Address": "address_key"}.get(label)
    if key is None:
        return rows
    seen: set[str] = set()
    out = []
    for r in rows:
        if r[key] not in seen:
            seen.add(r[key])
            out.append(r)
    return out


def collector(w: World, tag: str, n: int = 5, start: int = 0) -> tuple[list[str], str]:
    """Organiser holding one account that receives the pensions of ``n`` unrelated people."""
    acc = f"6222{tag}0000001"
    phone = f"1380000{tag}01"
    org = f"{tag}-org"
    w.person(org, SURNAMES[start] + "组织", hukou=f"{tag}路1号", phone=phone, account=acc)
    people = [org]
    for k in range(n):
        pid = f"{tag}-p{k}"
        w.person(pid, SURNAMES[start + 1 + k] + "老人", hukou=f"{tag}街{k + 10}号", phone=phone)
        w.pension(f"{tag}-b{k}", pid, acc)
        people.append(pid)
    return people, acc


def family(w: World, tag: str) -> None:
    acc = f"6222{tag}0000009"
    phone = f"1390000{tag}09"
    w.person(f"{tag}-f0", "王大", hukou=f"{tag}村8号", phone=phone, account=acc)
    for k in range(1, 5):
        w.person(f"{tag}-f{k}", f"王{'二三四五'[k - 1]}", hukou=f"{tag}村8号", phone=phone)
        w.pension(f"{tag}-fb{k}", f"{tag}-f{k}", acc)


def nursing_home(w: World, tag: str, n: int = 160) -> None:
    home = f"{tag}市幸福养老院"
    for k in range(n):
        pid = f"{tag}-n{k}"
        acc = f"6228{tag}{k:06d}"
        w.person(
            pid, SURNAMES[k % len(SURNAMES)] + "某", hukou=f"{tag}老家{k}号", phone="01088886666", account=acc
        )
        w.address(pid, home, "residence")
        if k % 3 == 0:
            w.pension(f"{tag}-nb{k}", pid, acc)


def agent_account(w: World, tag: str, n: int = 25) -> None:
    acc = f"6229{tag}0000007"
    w.person(f"{tag}-inst", "福利中心代办", hukou=f"{tag}福利中心", account=acc, role="agent")
    for k in range(n):
        pid = f"{tag}-g{k}"
        w.person(pid, SURNAMES[k % len(SURNAMES)] + "孤老", hukou=f"{tag}老街{k}号", phone="01066660000")
        w.pension(f"{tag}-gb{k}", pid, acc)


def collective_hukou(w: World, tag: str, n: int = 200) -> None:
    for k in range(n):
        pid = f"{tag}-c{k}"
        acc = f"6230{tag}{k:06d}"
        w.person(pid, SURNAMES[k % len(SURNAMES)] + "工", hukou=f"{tag}厂集体户", account=acc)
        w.address(pid, f"{tag}厂宿舍{k // 4}", "residence")
        if k % 10 == 0:
            w.pension(f"{tag}-cb{k}", pid, acc)


def ctx_for(frames: GraphFrames, **params: Any) -> DetectContext:
    return context(frames, "shared_account", REF, **params)


def run(frames: GraphFrames, **params: Any) -> list[Alert]:
    return detect_alerts("shared_account", frames, REF, **params)


def full_world() -> tuple[World, list[str], str]:
    w = World()
    people, acc = collector(w, "A1")
    family(w, "F1")
    nursing_home(w, "N1")
    agent_account(w, "G1")
    collective_hukou(w, "C1")
    return w, people, acc


def test_collector_found_and_decoys_silent() -> None:
    w, people, acc = full_world()
    alerts = run(w.frames())
    assert len(alerts) == 1
    a = alerts[0]
    assert a.detector == "shared_account"
    assert a.members["person"] == sorted(people)
    assert a.members["account"] == [acc]
    assert a.members["phone"] == ["1380000A101"]
    assert a.level == "red"
    assert a.amount_at_risk == pytest.approx(5 * 12 * 3000.0)
    assert a.details["max_foreign_families_per_account"] == 5
    assert a.details["n_paid_to_others_account"] == 5


def test_explanation_chinese_masked_and_names_evidence() -> None:
    w, people, acc = full_world()
    a = run(w.frames())[0]
    text = a.explanation
    assert re.search(r"[\u4e00-\u9fff]", text)
    assert "尾号0001" in text and "尾号A101" in text  # account and phone tails
    assert acc not in text and "1380000A101" not in text
    assert "18.00万元" in text and "2025-01至2025-12" in text
    for rec in w.nodes["Person"]:
        if rec["person_id"] in people:
            assert rec["name"] not in text
    for rec in w.nodes["Identity"]:
        assert rec["id_number"] not in text


def test_evidence_cypher_literals_are_members_and_read_only() -> None:
    w, _, _ = full_world()
    a = run(w.frames())[0]
    q = a.evidence_cypher
    literals = evidence_literals(q)
    assert literals and literals <= member_ids(a.members)
    assert set(a.members["person"]) <= literals and set(a.members["account"]) <= literals
    assert q.startswith("MATCH ") and "RETURN " in q


def test_family_alone_is_not_a_ring() -> None:
    w = World()
    family(w, "F2")
    assert run(w.frames()) == []


def test_compound_surname_family() -> None:
    assert idt.surnames(np.array(["欧阳修", "欧文", "司马光", None], dtype=object)).tolist()[:3] == [
        "欧阳",
        "欧",
        "司马",
    ]
    w = World()
    acc, phone = "6222OY0000001", "13800OY0001"
    w.person("oy0", "欧阳大", hukou="欧家村1号", phone=phone, account=acc)
    for k in range(1, 5):
        w.person(f"oy{k}", f"欧阳{'二三四五'[k - 1]}", hukou="欧家村1号", phone=phone)
        w.pension(f"oyb{k}", f"oy{k}", acc)
    assert run(w.frames()) == []


def test_household_with_different_surnames_is_one_family() -> None:
    # spouses keep their own surnames: grandpa, grandma, great-grandma and the son share one hukou
    w = World()
    acc, phone = "6222HH0000001", "13800HH0001"
    w.person("hh-son", "刘强", hukou="幸福村3号", phone=phone, account=acc)
    w.person("hh-dil", "孙丽", hukou="幸福村3号")
    for pid, name in (("hh-gf", "刘大山"), ("hh-gm", "陈秀英"), ("hh-ggm", "黄桂兰")):
        w.person(pid, name, hukou="幸福村3号", phone=phone)
        w.pension(f"{pid}-b", pid, acc)
    assert run(w.frames()) == []


def test_collective_hukou_is_no_family() -> None:
    # a collector ring whose pensioners all have the same 集体户 hukou is still found
    w = World()
    collective_hukou(w, "C3", n=60)
    acc, phone = "6222CC0000001", "13800CC0001"
    w.person("cc-org", "赵组织", hukou="某路9号", phone=phone, account=acc)
    for k in range(4):
        pid = f"cc-p{k}"
        w.person(pid, SURNAMES[k + 1] + "老人", hukou="C3厂集体户", phone=phone)
        w.pension(f"cc-b{k}", pid, acc)
    (a,) = run(w.frames())
    assert a.members["person"] == ["cc-org", "cc-p0", "cc-p1", "cc-p2", "cc-p3"]
    assert a.members["account"] == [acc]


def test_strangers_sharing_with_holder_family_member_still_alerted() -> None:
    # the holder's relative is in the ring too; strangers make it a collector
    w, people, acc = full_world()
    w.person("A1-wife", SURNAMES[0] + "妻", hukou="A1路1号", phone="1380000A101")
    w.pension("A1-bw", "A1-wife", acc)
    alerts = run(w.frames())
    assert len(alerts) == 1
    assert "A1-wife" in alerts[0].members["person"]
    assert alerts[0].details["max_foreign_families_per_account"] == 5
    # the wife's own pension into her husband's account is not money in doubt
    assert alerts[0].amount_at_risk == pytest.approx(5 * 12 * 3000.0)


def test_small_groups() -> None:
    w = World()
    collector(w, "S1", n=1)  # holder + one stranger: a pair, not a ring
    assert run(w.frames()) == []
    w = World()
    collector(w, "S2", n=2)  # three strangers sharing account and phone: linked, but not a collector
    small = run(w.frames())
    assert len(small) == 1 and small[0].details["max_foreign_families_per_account"] == 2
    assert small[0].score < 80
    assert run(w.frames(), min_ring_families=4) == []
    assert run(w.frames(), min_shared=3) == []  # account + phone only


def test_hub_caps_are_parameters() -> None:
    w = World()
    nursing_home(w, "N2", n=40)
    assert run(w.frames()) == []
    # with the hub cap lifted and the institution pattern not matching, the home phone would chain them
    w2 = World()
    for k in range(12):
        w2.person(f"h{k}", SURNAMES[k] + "某", hukou=f"家{k}号", phone="01099990000")
        w2.address(f"h{k}", "普通小区1号楼", "residence")
        w2.pension(f"hb{k}", f"h{k}", f"acc{k}")
    assert run(w2.frames(), phone_hub=5, address_hub=5) == []
    linked = run(w2.frames(), phone_hub=50, address_hub=50, address_strong_max=50)
    assert len(linked) == 1 and len(linked[0].members["person"]) == 12


def test_giant_component_is_split_by_leiden() -> None:
    # a long chain of strangers, each neighbour pair sharing a phone and an account
    w = World()
    n = 130
    for k in range(n):
        w.person(f"z{k:03d}", SURNAMES[k % len(SURNAMES)] + "链", hukou=f"链{k}号", phone=f"1500000{k:04d}")
    for k in range(n - 1):
        acc = f"6300{k:06d}"
        w.nodes["Account"].append({"account_no": acc, "person_id": f"z{k:03d}", "role": "holder"})
        w.rels["HOLDS"].append({"src": f"z{k:03d}", "dst": acc, "role": "holder"})
        w.rels["HOLDS"].append({"src": f"z{k + 1:03d}", "dst": acc, "role": "holder"})
        w.rels["USES_PHONE"].append({"src": f"z{k:03d}", "dst": f"1500000{k + 1:04d}"})
        if k % 2 == 0:
            w.pension(f"zb{k}", f"z{k:03d}", f"6300{k:06d}")
    alerts = run(w.frames(), max_ring_persons=40)
    assert alerts, "the chain should still yield rings after splitting"
    assert all(len(a.members["person"]) <= 40 for a in alerts)
    assert all(a.details["split_by_leiden"] and a.details["component_size"] == n for a in alerts)
    seen: set[str] = set()
    for a in alerts:
        assert not seen & set(a.members["person"])  # a person is in one ring only
        seen |= set(a.members["person"])
    again = run(w.frames(seed=5), max_ring_persons=40)
    assert [a.contract_dict() for a in again] == [a.contract_dict() for a in alerts]


def test_deterministic_under_shuffled_rows() -> None:
    w, _, _ = full_world()
    collector(w, "B2", n=6, start=10)
    base = [a.contract_dict() for a in run(w.frames())]
    assert_plain_json(base)
    assert len(base) == 2
    for seed in (1, 2, 3):
        assert [a.contract_dict() for a in run(w.frames(seed=seed))] == base


def test_alert_id_stable_and_members_sorted() -> None:
    w, people, acc = full_world()
    a = run(w.frames())[0]
    from ringwatch.detectors.base import make_alert_id

    assert a.alert_id == make_alert_id("shared_account", {"person": people, "account": [acc]})
    for v in a.members.values():
        assert v == sorted(v)


def test_components_match_networkx() -> None:
    w, _, _ = full_world()
    collector(w, "B3", n=4, start=20)
    frames = w.frames(seed=9)
    ctx = ctx_for(frames)
    pg = sa._person_graph(frames, sa._Params.from_ctx(ctx))
    assert pg is not None
    n = len(pg.bp.pids)
    a, b = pg.a, pg.b
    comp = idt.components(n, a, b)
    ours = {frozenset(np.flatnonzero(comp == c).tolist()) for c in np.unique(comp)}
    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_edges_from(zip(a.tolist(), b.tolist(), strict=True))
    assert ours == {frozenset(c) for c in nx.connected_components(g)}
    # and every alerted ring lies within one component
    for alert in sa.detect(frames, ctx):
        idx = {int(np.searchsorted(pg.bp.pids, x)) for x in alert.members["person"]}
        assert any(idx <= c for c in ours)


def test_empty_inputs() -> None:
    assert run(GraphFrames.from_records({"Person": [{"person_id": "x", "name": "张三"}]})) == []
    assert run(GraphFrames.from_records({})) == []


def test_evidence_replays_on_ladybug(tmp_path: Path) -> None:
    w, _, _ = full_world()
    collector(w, "B4", n=4, start=30)
    frames = w.frames()
    replay_on_ladybug(frames, run(frames), tmp_path)
