"""Unit tests of the dashboard's pure parts: masking, users, case DB + audit chain, alert table."""

from __future__ import annotations

import io
import json
import re
import sqlite3
import time
from pathlib import Path

import pandas as pd
import pytest

from ringwatch.dashboard import APP, streamlit_command
from ringwatch.dashboard.alertdata import (
    AlertFilter,
    apply_filter,
    assign_regions,
    build_table,
    page_slice,
    search_rows,
    sort_frame,
)
from ringwatch.dashboard.casework import CaseStore, default_cases_path
from ringwatch.dashboard.common import mask_frame, read_config
from ringwatch.dashboard.graphview import GraphCanvas
from ringwatch.dashboard.i18n import STRINGS, tr
from ringwatch.dashboard.masking import (
    mask_account,
    mask_address,
    mask_id_number,
    mask_member,
    mask_name,
    mask_phone,
    mask_prop,
    mask_text,
    matches_masked,
)
from ringwatch.dashboard.queries import EXAMPLES
from ringwatch.dashboard.users import (
    ROLES,
    add_user,
    authenticate,
    hash_password,
    load_users,
    main,
    verify_password,
)
from ringwatch.errors import ConfigError
from ringwatch.graph.base import Subgraph, SubgraphEdge, SubgraphNode

ID = "11010519491231002X"


# -- masking ----------------------------------------------------------------------------------
def test_mask_id_number() -> None:
    assert mask_id_number(ID) == "1101**********002X"
    assert mask_id_number("110105491231002") == "1101*******1002"
    assert mask_id_number("E12345678") == "E******78"
    assert mask_id_number("AB1") == "***"
    assert mask_id_number(None) == "" and mask_id_number("") == ""


def test_mask_name() -> None:
    assert mask_name("张三") == "张*"
    assert mask_name("李秀英") == "李**"
    assert mask_name("欧阳娜娜") == "欧阳**"
    assert mask_name("司马光") == "司马*"
    assert mask_name("欧阳") == "欧*"  # too short for a compound surname plus a given name
    assert mask_name("John Smith") == "J*** *****"
    assert mask_name(None) == ""


def test_mask_phone_account_address() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("010-88886666") == "010*****6666"
    assert mask_phone("12345") == "*****"
    assert mask_account("6222020200112233445") == "****3445"
    assert mask_account("123") == "***"
    assert mask_address("北京市朝阳区幸福路1号康乐养老院") == "北京市朝阳区****"
    assert mask_address("某村") == "某村****"


def test_mask_text_and_props() -> None:
    text = f"身份证 {ID}，手机 13812345678，账户 6222020200112233445，旧号 110105491231002。"
    masked = mask_text(text)
    for raw in (ID, "13812345678", "6222020200112233445", "110105491231002"):
        assert raw not in masked
    assert "1101**********002X" in masked and "138****5678" in masked
    assert mask_prop("p.name", "赵敏", "Person") == "赵*"
    assert mask_prop("name", "浦东康复医院", "Hospital") == "浦东康复医院"
    assert mask_prop("name", "钱医生", None) == "钱**"  # unknown label: treated as a person
    assert mask_prop("extra", '{"x": 1}') == "***"
    assert mask_prop("amount", 12.5) == 12.5
    assert mask_prop("months", ["2026-01"]) == ["2026-01"]
    assert mask_prop("_src", f"Identity:{ID}") == "Identity:1101**********002X"
    assert mask_prop("n", {"_label": "Person", "name": "王强", "person_id": "P1"}) == {
        "_label": "Person",
        "name": "王*",
        "person_id": "P1",
    }
    assert mask_member("identity", ID) == "1101**********002X"
    assert mask_member("person", "P001") == "P001"


def test_matches_masked() -> None:
    assert matches_masked("1101**********002X", ID)
    assert matches_masked("1101**********002x", ID)  # case-insensitive
    assert not matches_masked("1102**********002X", ID)
    assert matches_masked("****3445", "6222020200112233445")
    assert matches_masked("138****5678", "13812345678")
    assert matches_masked(ID, ID) and not matches_masked(ID[:-1], ID)
    assert not matches_masked("****", ID) and not matches_masked("", ID)
    assert matches_masked("1101****1101", "11011101")
    assert not matches_masked("1101****1101", "1101101")  # prefix and suffix may not overlap
    assert not matches_masked("110105*05", "110105")


def test_mask_frame_by_column_and_alias() -> None:
    frame = pd.DataFrame(
        {
            "who": ["张三"],
            "i.id_number": [ID],
            "h.name": ["浦东康复医院"],
            "note": [f"见 {ID}"],
            "n": [5],
        }
    )
    out = mask_frame(
        frame, "MATCH (p:Person), (i:Identity), (h:Hospital) RETURN p.name AS who, i.id_number, h.name"
    )
    assert out.loc[0, "who"] == "张*"
    assert out.loc[0, "i.id_number"] == "1101**********002X"
    assert out.loc[0, "h.name"] == "浦东康复医院"
    assert ID not in out.loc[0, "note"]
    assert out.loc[0, "n"] == 5


# -- users ------------------------------------------------------------------------------------
def test_password_hashing() -> None:
    h = hash_password("s3cret-pass")
    assert h.startswith("scrypt$") and "s3cret" not in h
    assert verify_password("s3cret-pass", h)
    assert not verify_password("s3cret-pasS", h)
    assert hash_password("x" * 8) != hash_password("x" * 8)  # per-user random salt
    assert not verify_password("x", "garbage") and not verify_password("x", "scrypt$1$2")


def test_users_file_roundtrip_and_authenticate(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    add_user(path, "alice", "investigator", "alice-password", "Alice 王")
    add_user(path, "bob", "viewer", "bob-password")
    add_user(path, "alice", "supervisor", "new-password")  # replaces
    users = load_users(path)
    assert set(users) == {"alice", "bob"}
    assert "alice-password" not in path.read_text(encoding="utf-8")
    u = authenticate(users, "alice", "new-password")
    assert u is not None and u.role == ROLES["supervisor"] and u.can_unmask and u.can_casework
    assert authenticate(users, "alice", "alice-password") is None
    assert authenticate(users, "nobody", "whatever") is None
    bob = authenticate(users, " bob ", "bob-password")
    assert bob is not None and not bob.can_casework and not bob.can_unmask
    with pytest.raises(ConfigError):
        add_user(path, "bad name", "viewer", "long-enough")
    with pytest.raises(ConfigError):
        add_user(path, "carol", "admin", "long-enough")
    with pytest.raises(ConfigError):
        add_user(path, "carol", "viewer", "short")


def test_users_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_users(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text('[users.x]\nrole = "root"\npassword = "scrypt$1"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="role"):
        load_users(bad)
    bad.write_text('[users.x]\nrole = "viewer"\npassword = "plain"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="hash"):
        load_users(bad)


def test_users_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "u.toml"
    monkeypatch.setattr("sys.stdin", io.StringIO("cli-password\n"))
    assert main(["add", "dora", "--role", "investigator", "--file", str(path), "--password-stdin"]) == 0
    assert authenticate(load_users(path), "dora", "cli-password") is not None
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["add", "eve", "--role", "viewer", "--file", str(path), "--password-stdin"]) == 2


# -- case work and audit chain ------------------------------------------------------------------
def test_case_status_persists_and_is_audited(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    cs = CaseStore(db)
    assert cs.get("a1").status == "new"
    assert cs.set_status("a1", "investigating", "alice")
    assert not cs.set_status("a1", "investigating", "alice")  # no change, no entry
    assert cs.set_assignee("a1", "bob", "alice")
    cs.add_note("a1", "first note", "bob")
    with pytest.raises(ValueError):
        cs.set_status("a1", "closed", "alice")
    with pytest.raises(ValueError):
        cs.add_note("a1", "   ", "bob")
    again = CaseStore(db)  # a new process would see the same
    rec = again.get("a1")
    assert (rec.status, rec.assignee) == ("investigating", "bob")
    assert [n.text for n in again.notes("a1")] == ["first note"]
    assert again.statuses() == {"a1": "investigating"}
    log = again.audit()
    assert list(log["action"]) == ["note", "assign", "status"]
    assert json.loads(log["detail"].iloc[2]) == {"after": "investigating", "before": "new"}
    assert again.verify().ok and again.verify().checked == 3


def test_audit_is_append_only(tmp_path: Path) -> None:
    cs = CaseStore(tmp_path / "c.sqlite")
    cs.log("u", "view", "a1")
    con = sqlite3.connect(cs.path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("UPDATE audit SET user = 'x'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("DELETE FROM audit")
    con.close()


def _tamper(path: Path, sql: str) -> None:
    con = sqlite3.connect(path)
    con.execute("DROP TRIGGER audit_no_update")
    con.execute("DROP TRIGGER audit_no_delete")
    con.execute(sql)
    con.commit()
    con.close()


def test_audit_chain_detects_tampering(tmp_path: Path) -> None:
    for sql, bad_seq in (
        ('UPDATE audit SET detail = \'{"after":"dismissed"}\' WHERE seq = 2', 2),
        ("UPDATE audit SET user = 'mallory' WHERE seq = 3", 3),
        ("DELETE FROM audit WHERE seq = 2", 3),
        ("DELETE FROM audit WHERE seq = 4", None),  # cut off the end: caught by the head
    ):
        db = tmp_path / f"c{abs(hash(sql))}.sqlite"
        cs = CaseStore(db)
        cs.log("alice", "view", "a1")
        cs.set_status("a1", "confirmed", "alice")
        cs.log("alice", "view", "a2")
        cs.log("alice", "unmask", "a2", scope="case:a2")
        assert cs.verify().ok
        _tamper(db, sql)
        res = cs.verify()
        assert not res.ok, sql
        assert res.bad_seq == bad_seq, (sql, res)
        assert res.reason


def test_default_cases_path() -> None:
    assert default_cases_path("/d/x.lbug", Path("out")) == Path("/d/x.lbug.cases.sqlite")
    assert default_cases_path("neo4j://h:7687", Path("out")) == Path("out/cases.sqlite")


# -- alert table ---------------------------------------------------------------------------------
def _alerts(n: int) -> list[dict[str, object]]:
    dets = ["shared_account", "deceased_payment", "survival_risk"]
    out = []
    for i in range(n):
        score = 100.0 * (n - i) / n
        out.append(
            {
                "alert_id": f"{dets[i % 3]}-{i:016d}",
                "detector": dets[i % 3],
                "score": score,
                "level": "red" if score >= 80 else "orange" if score >= 50 else "yellow",
                "members": {
                    "person": [f"P{i}"],
                    "identity": [f"1101051950010{i % 10000:04d}{i % 10}"],
                    "account": [f"62220202{i:011d}"],
                    "benefit": [f"B{i}"],
                },
                "amount_at_risk": float(i * 10),
                "explanation": f"alert {i}",
                "evidence_cypher": "MATCH (n) RETURN n LIMIT 1",
                "first_seen": "2026-10-31" if i % 2 else "2026-09-30",
            }
        )
    return out


def test_alert_table_filter_search_page() -> None:
    table = build_table(_alerts(30))
    assert len(table) == 30 and table.latest_run_date == "2026-10-31"
    got = table.get(table.frame["alert_id"].iloc[3])
    assert got is not None and got["members"]["person"] == ["P3"]
    assert table.get("missing") is None
    f = apply_filter(table, AlertFilter(detectors=["deceased_payment"]), {})
    assert len(f) == 10 and set(f["status"]) == {"new"}
    f = apply_filter(table, AlertFilter(levels=["red"], score_range=(90, 100)), {})
    assert (f["score"] >= 90).all() and len(f) == 4
    f = apply_filter(table, AlertFilter(amount_range=(100.0, 200.0)), {})
    assert f["amount_at_risk"].between(100, 200).all() and len(f) == 11
    f = apply_filter(table, AlertFilter(new_only=True), {})
    assert len(f) == 15
    aid = table.frame["alert_id"].iloc[5]
    f = apply_filter(table, AlertFilter(statuses=["confirmed"]), {aid: "confirmed"})
    assert f["alert_id"].tolist() == [aid]
    ident = table.get(aid)["members"]["identity"][0]  # type: ignore[index]
    assert list(search_rows(table, mask_id_number(ident))) == [5]
    assert 5 in search_rows(table, ident.lower())
    assert list(search_rows(table, "P7")) == [7]
    assert list(search_rows(table, mask_account(f"62220202{12:011d}"))) == [12]
    assert list(search_rows(table, aid)) == [5]
    page, n_pages = page_slice(
        sort_frame(apply_filter(table, AlertFilter(), {}), "amount_at_risk", True), 2, 8
    )
    assert n_pages == 4 and page["amount_at_risk"].tolist() == [80.0 + 10 * k for k in range(8)]
    page, _ = page_slice(f, 99, 8)  # clamped to the last page
    assert len(page) == 1


def test_regions_from_store_lookup_and_id_numbers() -> None:
    table = build_table(_alerts(4))
    assign_regions(table, {"person": {"P0": "310115", "P1": "440305"}})
    assert table.frame["region"].tolist() == ["310115", "440305", "110105", "110105"]


def test_filter_is_fast_on_many_alerts() -> None:
    table = build_table(_alerts(5000))
    assign_regions(table, {})
    t0 = time.perf_counter()
    for _ in range(5):
        f = apply_filter(
            table, AlertFilter(detectors=["shared_account"], query="1101**********1", levels=["red"]), {}
        )
        page_slice(sort_frame(f, "score", False), 1, 50)
    assert (time.perf_counter() - t0) / 5 < 0.5


# -- graph canvas --------------------------------------------------------------------------------
def _star(n: int, omitted: int = 0) -> Subgraph:
    center = SubgraphNode(f"Identity:{ID}", "Identity", ID, {"id_number": ID})
    leaves = [
        SubgraphNode(f"Person:P{i}", "Person", f"P{i}", {"person_id": f"P{i}", "name": "欧阳娜娜"})
        for i in range(n)
    ]
    edges = [SubgraphEdge(f"e{i}", "HAS_IDENTITY", f"Person:P{i}", center.id, {}) for i in range(n)]
    return Subgraph((center, *leaves), tuple(edges), omitted)


def test_canvas_caps_masks_and_hides_keys() -> None:
    canvas = GraphCanvas(max_nodes=10)
    added, not_shown = canvas.add(_star(20, omitted=5))
    assert (added, not_shown) == (10, 11 + 5)
    assert canvas.full and len(canvas.nodes) == 10
    assert all(e.source in canvas.nodes and e.target in canvas.nodes for e in canvas.edges.values())
    els = canvas.elements(mask_prop)
    blob = json.dumps(els, ensure_ascii=False)
    assert ID not in blob and "欧阳娜娜" not in blob and "欧阳**" in blob
    assert {n["data"]["id"] for n in els["nodes"]} == {f"n{i}" for i in range(1, 11)}
    node = canvas.node("n1")
    assert node is not None and node.key == ID
    assert canvas.add(_star(3)) == (0, 0)  # already drawn
    extra = SubgraphNode("Phone:13812345678", "Phone", "13812345678", {"phone": "13812345678"})
    assert canvas.add(Subgraph((extra,), (), 2)) == (0, 3)  # cut by the canvas limit, plus omitted


# -- i18n, queries, launch -------------------------------------------------------------------------
def test_every_ui_string_exists_in_both_languages() -> None:
    src = "".join(p.read_text(encoding="utf-8") for p in APP.parent.glob("*.py"))
    used = set(re.findall(r"\bt\(\s*[\"']([a-z_]+)[\"']", src))
    assert used and used <= set(STRINGS), sorted(used - set(STRINGS))
    for key, (zh, en) in STRINGS.items():
        assert zh and en, key
    assert tr("c_more_not_shown", "en", n=3) == "还有 3 个未显示 / 3 more not shown"
    from ringwatch.contract import DETECTORS, MEMBER_TYPES
    from ringwatch.dashboard.casework import STATUSES

    dynamic = (
        [f"det_{d}" for d in DETECTORS]
        + [f"lvl_{lv}" for lv in ("red", "orange", "yellow")]
        + [f"st_{s}" for s in STATUSES]
        + [f"role_{r}" for r in ROLES]
        + [f"member_{m}" for m in MEMBER_TYPES]
    )
    assert set(dynamic) <= set(STRINGS), sorted(set(dynamic) - set(STRINGS))


def test_examples_cover_every_detector_and_are_read_only() -> None:
    from ringwatch.contract import DETECTORS
    from ringwatch.graph.readonly import assert_read_only

    assert {e.detector for e in EXAMPLES} == set(DETECTORS)
    for e in EXAMPLES:
        assert_read_only(e.cypher)
        assert "LIMIT" in e.cypher


def test_launch_command_and_config(tmp_path: Path) -> None:
    cmd = streamlit_command("s.lbug", tmp_path, port=8765, host="127.0.0.1")
    assert cmd[cmd.index("run") + 1] == str(APP) and APP.exists()
    assert "8765" in cmd and cmd[cmd.index("--") + 1 :] == ["--store", "s.lbug", "--alerts", str(tmp_path)]
    cfg = read_config(["--store", "x.lbug", "--alerts", "o"], {})
    assert cfg.store == "x.lbug" and cfg.cases_db == Path("x.lbug.cases.sqlite") and cfg.users_file is None
    cfg = read_config(
        [], {"RINGWATCH_STORE": "y.lbug", "RINGWATCH_USERS": "u.toml", "RINGWATCH_EXPAND_CAP": "5000"}
    )
    assert cfg.store == "y.lbug" and cfg.users_file == Path("u.toml") and cfg.expand_cap == 1000


def test_example_users_file_matches_its_documented_passwords() -> None:
    users = load_users(APP.parent / "users.example.toml")
    for name in ("viewer", "investigator", "supervisor"):
        u = authenticate(users, name, f"demo-{name}-pass")
        assert u is not None and u.role.name == name
