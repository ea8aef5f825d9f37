"""Streamlit AppTest runs of every dashboard page on the tiny sample store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from ringwatch.dashboard import APP
from ringwatch.dashboard.casework import CaseStore
from ringwatch.dashboard.masking import mask_id_number
from ringwatch.dashboard.sample import build_sample
from ringwatch.dashboard.users import add_user

DECEASED = "deceased_payment-0000000000000002"
SHARED = "shared_account-0000000000000001"
HUB = "北京市朝阳区幸福路1号康乐养老院"


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return build_sample(tmp_path_factory.mktemp("dash"))


@pytest.fixture
def env(sample: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    store, out = sample
    cases = tmp_path / "cases.sqlite"
    monkeypatch.setenv("RINGWATCH_STORE", str(store))
    monkeypatch.setenv("RINGWATCH_ALERTS", str(out))
    monkeypatch.setenv("RINGWATCH_CASES_DB", str(cases))
    monkeypatch.delenv("RINGWATCH_USERS", raising=False)
    return cases


def _app() -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=60)


def _texts(at: AppTest, kind: str) -> list[str]:
    return [str(e.value) for e in getattr(at, kind)]


def _open_case(at: AppTest, alert_id: str) -> AppTest:
    at.session_state["alert_id"] = alert_id
    return at.switch_page("page_case.py").run()


def _deceased_id(sample: tuple[Path, Path]) -> str:
    for line in (sample[1] / "alerts.jsonl").read_text(encoding="utf-8").splitlines():
        a = json.loads(line)
        if a["alert_id"] == DECEASED:
            return str(a["members"]["identity"][0])
    raise AssertionError("sample alert missing")


def test_overview_renders_counts_and_charts(env: Path) -> None:
    at = _app().run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["告警总数"] == "7"
    assert metrics["红色"] == "2"
    assert metrics["橙色"] == "3"
    assert metrics["黄色"] == "2"
    assert metrics["本次新增"] == "5"  # first_seen == latest run date
    assert metrics["新建"] == "7"
    assert len(at.get("vega_lite_chart")) == 4
    assert any("本地单用户模式 / local single-user mode" in w for w in _texts(at, "warning"))


def test_english_toggle(env: Path) -> None:
    at = _app().run()
    at.sidebar.toggle(key="keep_en").set_value(True).run()
    assert not at.exception
    assert at.title[0].value == "Overview"
    assert "Alerts" in {m.label for m in at.metric}


def test_queue_filter_and_masked_search(env: Path, sample: tuple[Path, Path]) -> None:
    at = _app().run().switch_page("page_queue.py").run()
    assert not at.exception
    assert at.dataframe[0].value.shape[0] == 7
    at.multiselect(key="keep_q_det").set_value(["deceased_payment", "survival_risk"]).run()
    assert at.dataframe[0].value.shape[0] == 2
    at.multiselect(key="keep_q_det").set_value([]).run()
    at.multiselect(key="keep_q_lvl").set_value(["orange"]).run()
    assert at.dataframe[0].value.shape[0] == 3
    at.multiselect(key="keep_q_lvl").set_value([]).run()
    masked = mask_id_number(_deceased_id(sample))
    assert "*" in masked
    at.text_input(key="keep_q_search").set_value(masked).run()
    df = at.dataframe[0].value
    assert df.shape[0] == 1 and df["alert_id"].iloc[0] == DECEASED
    at.text_input(key="keep_q_search").set_value("****2233445").run()  # account suffix
    assert at.dataframe[0].value["alert_id"].tolist() == [SHARED]
    # explanation column never carries a raw ID number
    assert not any(_deceased_id(sample) in str(v) for v in at.dataframe[0].value["explanation"])


def test_case_view_graph_and_capped_expand(env: Path, sample: tuple[Path, Path]) -> None:
    at = _open_case(_app().run(), SHARED)
    assert not at.exception
    assert any("养老金汇入同一银行账户" in i for i in _texts(at, "info"))
    # st-link-analysis is a custom component: AppTest lists it as a component instance
    assert [e.key for e in at.get("component_instance")] == [f"case_graph_{SHARED}"]
    picker = at.selectbox(key="case_node_pick")
    # labels are masked: no raw ID number, phone or account anywhere in the options
    labels = (
        [picker.format_func(o) for o in picker.options] if callable(picker.format_func) else picker.options
    )
    joined = " ".join(map(str, labels))
    assert "13812345678" not in joined and "6222020200112233445" not in joined
    # open P002, expand it (1 hop), then expand the 301-resident address with the default cap of 100
    canvas = at.session_state["_canvas"][1]
    p2 = canvas.opaque["Person:P002"]
    picker.set_value(p2).run()
    at.button(key="case_expand").click().run()
    assert not at.exception
    canvas = at.session_state["_canvas"][1]
    assert f"Address:{HUB}" in canvas.nodes
    at.selectbox(key="case_node_pick").set_value(canvas.opaque[f"Address:{HUB}"]).run()
    at.button(key="case_expand").click().run()
    assert not at.exception
    warnings = _texts(at, "warning")
    assert any("还有" in w and "未显示" in w for w in warnings), warnings
    canvas = at.session_state["_canvas"][1]
    assert len(canvas.nodes) <= 500
    assert any(n.startswith("Person:H") for n in canvas.nodes)
    # the view was audit-logged
    log = CaseStore(env).audit(alert_id=SHARED)
    assert {"view", "expand"} <= set(log["action"])


def test_case_view_other_tabs(env: Path, sample: tuple[Path, Path]) -> None:
    at = _open_case(_app().run(), DECEASED)
    assert not at.exception
    assert any("已登记死亡" in i for i in _texts(at, "info"))
    # timeline charts (payments with the death rule), members tables, evidence Cypher (masked)
    assert len(at.get("vega_lite_chart")) >= 1
    code = [c.value for c in at.code]
    assert code and "MATCH (i:Identity)" in code[0]
    raw = _deceased_id(sample)
    assert raw not in code[0] and mask_id_number(raw) in code[0]
    for df in at.dataframe:
        assert not df.value.astype(str).apply(lambda col: col.str.contains(raw, regex=False)).any().any()


def test_unknown_and_missing_alert(env: Path) -> None:
    at = _app().run().switch_page("page_case.py").run()
    assert not at.exception
    assert any("请先在告警队列中选择" in i for i in _texts(at, "info"))
    at = _open_case(_app().run(), "no-such-alert")
    assert not at.exception
    assert any("没有此告警" in e for e in _texts(at, "error"))


def test_console_rejects_write_and_masks_results(env: Path, sample: tuple[Path, Path]) -> None:
    at = _app().run().switch_page("page_console.py").run()
    assert not at.exception
    at.text_area(key="keep_console_text").set_value("CREATE (n:Person {person_id:'x'})")
    at.button(key="console_run").click().run()
    assert not at.exception
    errors = _texts(at, "error")
    assert errors and "查询被拒绝" in errors[0]
    at.text_area(key="keep_console_text").set_value(
        "MATCH (p:Person)-[:HAS_IDENTITY]->(i:Identity) WHERE p.person_id = 'P005' "
        "RETURN p.name AS who, i.id_number, p"
    )
    at.button(key="console_run").click().run()
    assert not at.exception and not _texts(at, "error")
    df = at.dataframe[0].value
    assert df["who"].iloc[0] == "赵*"
    assert df["i.id_number"].iloc[0] == mask_id_number(_deceased_id(sample))
    assert "赵敏" not in str(df["p"].iloc[0])
    # a graph-returning example is drawn as a graph too
    at.text_area(key="keep_console_text").set_value(
        "MATCH (d:Doctor)-[w:WORKS_AT]->(h:Hospital) RETURN d, w, h"
    )
    at.button(key="console_run").click().run()
    assert not at.exception
    assert any("结果图" in m.value for m in at.markdown)
    log = CaseStore(env).audit()
    assert (log["action"] == "query").sum() == 3


def test_status_change_persists_across_runs(env: Path) -> None:
    at = _open_case(_app().run(), DECEASED)
    at.selectbox(key=f"cw_status_{DECEASED}").set_value("investigating")
    at.text_input(key=f"cw_assignee_{DECEASED}").set_value("alice")
    _submit(at, f"cw_save_{DECEASED}")
    assert not at.exception
    assert any("已保存" in s for s in _texts(at, "success"))
    # a fresh app (new session state, caches cleared) still sees the change
    st.cache_resource.clear()
    st.cache_data.clear()
    at2 = _open_case(_app().run(), DECEASED)
    assert not at2.exception
    assert {m.label: m.value for m in at2.metric}["状态"] == "调查中"
    rec = CaseStore(env).get(DECEASED)
    assert (rec.status, rec.assignee, rec.updated_by) == ("investigating", "alice", "local")
    at2.switch_page("page_cases.py").run()
    assert not at2.exception
    assert DECEASED in at2.dataframe[0].value.iloc[:, 0].tolist()
    at2.button(key="audit_verify").click().run()
    assert any("审计链完整" in s for s in _texts(at2, "success"))


def _submit(at: AppTest, key: str) -> None:
    for b in at.button:
        if b.key == key or str(b.key).endswith(key):
            b.click().run()
            return
    raise AssertionError(f"no button {key}: {[b.key for b in at.button]}")


def test_note_is_added(env: Path) -> None:
    at = _open_case(_app().run(), SHARED)
    at.text_area(key=f"cw_note_{SHARED}").set_value("已联系银行核实，账户 6222020200112233445")
    _submit(at, f"cw_note_add_{SHARED}")
    assert not at.exception
    notes = CaseStore(env).notes(SHARED)
    assert len(notes) == 1 and notes[0].user == "local"
    shown = " ".join(m.value for m in at.markdown)
    assert "已联系银行核实" in shown and "6222020200112233445" not in shown


@pytest.fixture
def users_file(env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "users.toml"
    add_user(path, "boss", "supervisor", "correct horse battery")
    add_user(path, "vera", "viewer", "viewer-password")
    monkeypatch.setenv("RINGWATCH_USERS", str(path))
    return path


def _login(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input(key="login_name").set_value(name)
    at.text_input(key="login_password").set_value(password)
    _submit(at, "login_submit")
    return at


def test_login_wrong_then_right_password(users_file: Path, env: Path) -> None:
    at = _app().run()
    assert not at.exception
    assert not at.metric  # nothing but the sign-in form
    _login(at, "boss", "wrong password")
    assert any("用户名或密码错误" in e for e in _texts(at, "error"))
    assert not at.metric
    _login(at, "boss", "correct horse battery")
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["告警总数"] == "7"
    assert not any("本地单用户模式" in w for w in _texts(at, "warning"))
    log = CaseStore(env).audit()
    assert list(log["action"])[:2] == ["login", "login_failed"]


def test_viewer_is_read_only_and_supervisor_unmask_is_logged(users_file: Path, env: Path) -> None:
    at = _login(_app().run(), "vera", "viewer-password")
    assert not at.exception
    assert not [t for t in at.sidebar.toggle if t.key == "keep_unmask"]
    _open_case(at, DECEASED)
    assert any("只读" in i for i in _texts(at, "info"))
    assert not [b for b in at.button if str(b.key).endswith(f"cw_save_{DECEASED}")]

    at = _login(_app().run(), "boss", "correct horse battery")
    at.sidebar.toggle(key="keep_unmask").set_value(True).run()
    _open_case(at, DECEASED)
    assert not at.exception
    log = CaseStore(env).audit(alert_id=DECEASED)
    assert "unmask" in set(log["action"])


def test_dashboard_without_store(env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RINGWATCH_STORE", str(tmp_path / "missing.lbug"))
    at = _open_case(_app().run(), SHARED)
    assert not at.exception
    assert any("图数据库不可用" in w for w in _texts(at, "warning"))
    at.switch_page("page_console.py").run()
    assert not at.exception


def test_case_data_queries_are_bounded_and_complete(sample: tuple[Path, Path]) -> None:
    from ringwatch.dashboard import casedata
    from ringwatch.graph import open_store

    alerts = {
        a["alert_id"]: a
        for a in (
            json.loads(x) for x in (sample[1] / "alerts.jsonl").read_text(encoding="utf-8").splitlines()
        )
    }
    store = open_store(sample[0], read_only=True)
    try:
        tl = casedata.case_timeline(store, alerts[DECEASED]["members"])
        assert len(tl.payments) == 137  # 2015-06 .. 2026-10, one benefit
        assert tl.deaths["date"].dt.strftime("%Y-%m-%d").tolist() == ["2025-03-10"]
        assert not tl.capped
        ring = casedata.case_timeline(store, alerts[SHARED]["members"])
        assert set(ring.payments["benefit_id"]) == {"B-P001", "B-P002", "B-P003", "B-P004"}
        assert len(ring.events) == 4 and ring.deaths.empty  # one life trace each
        prov = casedata.case_timeline(store, alerts["provider_ring-0000000000000005"]["members"])
        assert (prov.events["kind"] == "claim").sum() == 18 and prov.payments.empty
        nodes = casedata.member_nodes(store, alerts[SHARED]["members"])
        assert sorted(nodes["person"]["person_id"]) == ["P001", "P002", "P003", "P004"]
        assert nodes["account"]["bank"].tolist() == ["工商银行"]
    finally:
        store.close()
