"""One behaviour suite for every graph store it can reach.

LadybugDB (a temporary file) always; Neo4j when ``NEO4J_URI`` is set (marker ``neo4j``;
credentials from ``NEO4J_USER``/``NEO4J_PASSWORD``). The same tiny graph covers every node
label and relationship type, lists, dates, nulls, Chinese text, and a quote and a backslash
in a name; projections must come back equal to the conformed input frames.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ringwatch.errors import LockError, ReadOnlyViolation, StoreError
from ringwatch.graph import GraphFrames, GraphStore, canonical_order, open_store
from ringwatch.graph.schema import NODES, RELS

ODD_NAME = 'O\'Brien \\ 李"四"'
HUB = "北京市朝阳区幸福路1号"
N_HUB = 500


def sample_frames() -> GraphFrames:
    """Every label and type once or more; lists, dates, nulls, Chinese text, odd characters."""
    nodes: dict[str, list[dict[str, Any]]] = {
        "Person": [
            {
                "person_id": "P1",
                "name": "张三",
                "sex": "M",
                "birth_date": "1950-03-04",
                "region_code": "110101",
            },
            {
                "person_id": "P2",
                "name": ODD_NAME,
                "sex": "F",
                "birth_date": "1972-12-31",
                "extra": '{"备注": "x"}',
            },
            {"person_id": "P3", "death_date": "2020-05-06", "death_source": "civil_affairs"},
        ],
        "Identity": [
            {
                "id_number": "110101195003040011",
                "person_id": "P1",
                "id_type": "ID18",
                "issued_date": "2005-01-01",
                "checksum_ok": True,
                "id_birth_date": "1950-03-04",
                "id_sex": "M",
                "id_region": "110101",
                "inferred": False,
            },
            {"id_number": "11010172123100X", "person_id": "P2", "id_type": "ID15", "checksum_ok": False},
            {
                "id_number": "110101197212310028",
                "person_id": "P2",
                "inferred": True,
                "death_date": "2020-05-06",
                "death_source": "police",
            },
        ],
        "Account": [
            {
                "account_no": "6222000011112222",
                "person_id": "P1",
                "bank": "工商银行",
                "opened_date": "2010-02-03",
                "role": "holder",
            },
            {"account_no": "6222000033334444", "person_id": "P2", "role": "agent"},
        ],
        "Phone": [{"phone": "13800000001"}],
        "Address": [{"address_key": HUB, "address": "北京市 朝阳区 幸福路1号"}],
        "Employer": [
            {
                "employer_id": "91110000MA00000001",
                "name": "某某劳务公司",
                "founded_date": "2019-07-01",
                "address_key": HUB,
            }
        ],
        "Benefit": [
            {
                "benefit_id": "B1",
                "id_number": "110101195003040011",
                "scheme": "pension_employee",
                "region_code": "110101",
                "start_date": "2010-04-01",
                "account_no": "6222000011112222",
            },
            {
                "benefit_id": "B2",
                "id_number": "11010172123100X",
                "scheme": "pension_resident",
                "end_date": "2023-01-31",
            },
        ],
        "Hospital": [{"hospital_id": "H1", "name": "第一医院", "level": "三级甲等"}],
        "Doctor": [{"doctor_id": "D1", "hospital_id": "H1", "name": "王医生"}],
        "Activity": [
            {
                "activity_id": "ACT1",
                "id_number": "110101195003040011",
                "date": "2024-06-01",
                "source": "medical",
            }
        ],
    }
    rels: dict[str, list[dict[str, Any]]] = {
        "HAS_IDENTITY": [
            {"src": "P1", "dst": "110101195003040011"},
            {"src": "P2", "dst": "11010172123100X"},
            {"src": "P2", "dst": "110101197212310028"},
        ],
        "RENUMBERED_TO": [
            {
                "src": "11010172123100X",
                "dst": "110101197212310028",
                "changed_date": "2001-01-01",
                "reason": "upgrade15",
            }
        ],
        "HOLDS": [
            {"src": "P1", "dst": "6222000011112222", "role": "holder", "opened_date": "2010-02-03"},
            {"src": "P2", "dst": "6222000011112222", "role": "agent"},
            {"src": "P2", "dst": "6222000033334444", "role": "holder"},
        ],
        "USES_PHONE": [
            {"src": "P1", "dst": "13800000001", "since": "2015-01-01"},
            {"src": "P2", "dst": "13800000001"},
        ],
        "LIVES_AT": [{"src": "P1", "dst": HUB, "address_type": "hukou", "since": "1990-01-01"}],
        "EMPLOYED_BY": [
            {
                "src": "110101195003040011",
                "dst": "91110000MA00000001",
                "start_date": "2019-08-01",
                "end_date": "2019-12-31",
                "contribution_base": 5000.5,
                "back_paid_months": 180,
            },
            {"src": "11010172123100X", "dst": "91110000MA00000001", "contribution_base": None},
        ],
        "RECEIVES": [{"src": "110101195003040011", "dst": "B1"}, {"src": "11010172123100X", "dst": "B2"}],
        "PAID_TO": [
            {
                "src": "B1",
                "dst": "6222000011112222",
                "months": ["2024-01", "2024-02", "2024-03"],
                "amounts": [3000.0, 3000.0, 3100.5],
                "payment_ids": ["PM1", "PM2", "PM3"],
                "n_months": 3,
                "total": 9100.5,
                "first_month": "2024-01",
                "last_month": "2024-03",
            },
            {
                "src": "B2",
                "dst": "6222000033334444",
                "months": [],
                "amounts": [],
                "payment_ids": [],
                "n_months": 0,
                "total": 0.0,
            },
        ],
        "WORKS_AT": [{"src": "D1", "dst": "H1"}],
        "TREATED_AT": [
            {
                "src": "110101195003040011",
                "dst": "H1",
                "claim_id": "C2",
                "doctor_id": "D1",
                "admit_date": "2024-02-01",
                "amount": 800.0,
            },
            {
                "src": "110101195003040011",
                "dst": "H1",
                "claim_id": "C1",
                "admit_date": "2024-01-05",
                "discharge_date": "2024-01-09",
                "diagnosis_code": "I10",
                "amount": 1200.25,
                "fund_paid": 900.0,
            },
        ],
        "HAS_ACTIVITY": [{"src": "110101195003040011", "dst": "ACT1"}],
    }
    frames = GraphFrames.from_records(nodes, rels)
    frames.meta = {"reference_date": "2024-03-31", "rows.persons": "3"}
    return frames


def hub_frames() -> GraphFrames:
    """``N_HUB`` persons living at one address (a hub) plus the sample graph."""
    base = sample_frames()
    people = [{"person_id": f"H{i:04d}", "name": f"住户{i}"} for i in range(N_HUB)]
    lives = [{"src": f"H{i:04d}", "dst": HUB, "address_type": "residence"} for i in range(N_HUB)]
    extra = GraphFrames.from_records({"Person": people}, {"LIVES_AT": lives})
    nodes = dict(base.node_frames)
    nodes["Person"] = pd.concat([base.node_frames["Person"], extra.node_frames["Person"]], ignore_index=True)
    rels = dict(base.rel_frames)
    rels["LIVES_AT"] = pd.concat(
        [base.rel_frames["LIVES_AT"], extra.rel_frames["LIVES_AT"]], ignore_index=True
    )
    return GraphFrames(nodes, rels, base.loaded_tables, dict(base.meta))


BACKENDS = ["ladybug", pytest.param("neo4j", marks=pytest.mark.neo4j)]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphStore]:
    if request.param == "ladybug":
        st = open_store(tmp_path / "store.lbug")
    else:
        st = open_store(os.environ["NEO4J_URI"], batch_size=7)
    with st:
        st.create_schema()
        if request.param != "ladybug":  # a server may hold an earlier test's graph: empty it
            st.bulk_load(GraphFrames(), mode="replace")
        yield st


def assert_projections_equal(store: GraphStore, frames: GraphFrames) -> None:
    for label in NODES:
        got = store.nodes(label)
        want = canonical_order(frames.nodes(label), "node", label)
        pd.testing.assert_frame_equal(got, want, check_dtype=True, obj=label)
    for rel in RELS:
        got = store.rels(rel)
        want = canonical_order(frames.rels(rel), "rel", rel)
        pd.testing.assert_frame_equal(got, want, check_dtype=True, obj=rel)


def test_round_trip_every_label_and_type(store: GraphStore) -> None:
    frames = sample_frames()
    written = store.bulk_load(frames, mode="replace")
    assert written == {
        **{k: len(v) for k, v in frames.node_frames.items()},
        **{k: len(v) for k, v in frames.rel_frames.items()},
    }
    assert_projections_equal(store, frames)
    p = store.nodes("Person")
    assert p.loc[p.person_id == "P2", "name"].item() == ODD_NAME
    assert p["birth_date"].dtype == "datetime64[us]" and p["name"].dtype == "str"
    assert pd.isna(p.loc[p.person_id == "P3", "name"].item())
    paid = store.rels("PAID_TO")
    assert paid.loc[0, "months"] == ["2024-01", "2024-02", "2024-03"] and paid.loc[1, "months"] == []
    assert isinstance(paid.loc[0, "amounts"], list)
    ident = store.nodes("Identity")
    assert str(ident["checksum_ok"].dtype) == "boolean" and ident["checksum_ok"].isna().sum() == 1
    emp = store.rels("EMPLOYED_BY")
    assert str(emp["back_paid_months"].dtype) == "Int64"
    assert emp["back_paid_months"].tolist()[0] == 180 and pd.isna(emp["back_paid_months"].tolist()[1])
    treated = store.rels("TREATED_AT")
    assert treated["claim_id"].tolist() == ["C1", "C2"]  # parallel edges kept, ordered by props


def test_projection_of_some_columns(store: GraphStore) -> None:
    frames = sample_frames()
    store.bulk_load(frames)
    got = store.nodes("Account", ["account_no", "bank"])
    want = canonical_order(frames.nodes("Account"), "node", "Account")[["account_no", "bank"]]
    pd.testing.assert_frame_equal(got, want)
    got_r = store.rels("HOLDS", ["src", "dst"])
    want_r = canonical_order(frames.rels("HOLDS"), "rel", "HOLDS")[["src", "dst"]]
    pd.testing.assert_frame_equal(got_r, want_r)
    with pytest.raises(StoreError):
        store.nodes("Person", ["no_such_column"])
    with pytest.raises(StoreError):
        store.rels("NO_SUCH_TYPE")


def test_counts(store: GraphStore) -> None:
    frames = sample_frames()
    store.bulk_load(frames)
    counts = store.counts()
    for label in NODES:
        assert counts[label] == len(frames.nodes(label)), label
    for rel in RELS:
        assert counts[rel] == len(frames.rels(rel)), rel
    assert counts["Alert"] == 0 and counts["FLAGS"] == 0


def test_replace_twice_and_upsert_twice_give_the_same_graph(store: GraphStore) -> None:
    frames = sample_frames()
    store.bulk_load(frames, mode="replace")
    first = store.counts()
    store.bulk_load(frames, mode="replace")
    assert store.counts() == first
    assert_projections_equal(store, frames)
    store.bulk_load(frames, mode="upsert")
    store.bulk_load(frames, mode="upsert")
    assert store.counts() == first
    assert_projections_equal(store, frames)


def test_upsert_into_an_empty_store(store: GraphStore) -> None:
    frames = sample_frames()
    store.bulk_load(frames, mode="upsert")
    assert_projections_equal(store, frames)


def test_upsert_changes_and_new_rows(store: GraphStore) -> None:
    store.bulk_load(sample_frames(), mode="replace")
    update = GraphFrames.from_records(
        {
            "Person": [
                {"person_id": "P1", "name": "张三丰"},  # other columns null: old values stay
                {"person_id": "P9", "name": "新人", "birth_date": "2000-01-01"},
            ],
            "Account": [{"account_no": "6222000099990000", "person_id": "P9"}],
        },
        {
            # HOLDS merges by account: this row replaces the account's stored holder edge(s)
            "HOLDS": [{"src": "P1", "dst": "6222000033334444", "role": "agent"}],
            "USES_PHONE": [{"src": "P9", "dst": "13800000001", "since": "2023-03-03"}],
        },
        tables=["persons", "accounts", "phones"],
    )
    store.bulk_load(update, mode="upsert")
    people = store.nodes("Person").set_index("person_id")
    assert people.loc["P1", "name"] == "张三丰"
    assert people.loc["P1", "birth_date"] == pd.Timestamp("1950-03-04")
    assert people.loc["P1", "region_code"] == "110101"
    assert people.loc["P9", "name"] == "新人"
    holds = store.rels("HOLDS")
    assert holds[["src", "dst", "role"]].values.tolist() == [
        ["P1", "6222000011112222", "holder"],
        ["P1", "6222000033334444", "agent"],
        ["P2", "6222000011112222", "agent"],
    ]
    phones = store.rels("USES_PHONE")
    assert sorted(phones["src"]) == ["P1", "P2", "P9"]
    assert store.counts()["Account"] == 3
    # loaded tables accumulate over upserts
    assert {"persons", "identities", "payments"} <= store.tables()


def test_meta(store: GraphStore) -> None:
    frames = sample_frames()
    store.bulk_load(frames)
    meta = store.get_meta()
    assert meta["reference_date"] == "2024-03-31"
    assert store.tables() == frames.loaded_tables
    store.set_meta({"last_run_id": "abc", "说明": "中文值"})
    meta = store.get_meta()
    assert meta["last_run_id"] == "abc" and meta["说明"] == "中文值" and meta["rows.persons"] == "3"
    store.bulk_load(GraphFrames.from_records({"Phone": [{"phone": "1"}]}, tables=["phones"]), mode="replace")
    assert store.tables() == {"phones"} and "last_run_id" not in store.get_meta()


def _alert(alert_id: str, members: dict[str, list[str]], score: float = 90.0) -> dict[str, object]:
    return {
        "alert_id": alert_id,
        "detector": "shared_account",
        "score": score,
        "level": "red" if score >= 80 else "yellow",
        "members": members,
        "amount_at_risk": 1234.5,
        "explanation": "多人共用一个银行账户",
        "evidence_cypher": "MATCH (p:Person) RETURN p",
        "first_seen": "2024-03-31",
        "details": {"shared": 2},
    }


def test_write_alerts_replaces_alerts_and_flags_existing_members(store: GraphStore) -> None:
    store.bulk_load(sample_frames())
    alerts = [
        _alert("A-1", {"person": ["P1", "P2", "P404"], "account": ["6222000011112222"]}),
        _alert("A-2", {"benefit": ["B1"], "identity": ["110101195003040011"]}, score=30.0),
    ]
    assert store.write_alerts(alerts, run_id="run1") == 2
    counts = store.counts()
    assert counts["Alert"] == 2 and counts["FLAGS"] == 5  # P404 is not a node
    got = store.nodes("Alert")
    assert got["alert_id"].tolist() == ["A-1", "A-2"]
    assert json.loads(str(got.loc[0, "members"]))["person"] == ["P1", "P2", "P404"]
    assert got["run_id"].tolist() == ["run1", "run1"] and json.loads(str(got.loc[0, "details"])) == {
        "shared": 2
    }
    flags = store.flags()  # type: ignore[attr-defined]
    assert flags.values.tolist()[:3] == [
        ["A-1", "Account", "6222000011112222"],
        ["A-1", "Person", "P1"],
        ["A-1", "Person", "P2"],
    ]
    assert store.write_alerts([_alert("A-3", {"person": ["P3"]})], run_id="run2") == 1
    counts = store.counts()
    assert counts["Alert"] == 1 and counts["FLAGS"] == 1
    assert store.write_alerts([], run_id="run3") == 0
    assert store.counts()["Alert"] == 0
    with pytest.raises(StoreError):
        store.write_alerts([_alert("X", {}), _alert("X", {})], run_id="dup")


def test_neighbourhood_caps_a_hub_and_counts_the_rest(store: GraphStore) -> None:
    store.bulk_load(hub_frames())
    sub = store.neighbourhood("Address", HUB, hops=1, cap=50)
    assert len(sub.nodes) == 50
    assert sub.nodes[0].id == f"Address:{HUB}"
    neighbours = N_HUB + 1  # the hub persons and P1 (an employer's address_key is a property, not an edge)
    assert sub.omitted == neighbours - 49
    assert [n.key for n in sub.nodes[1:4]] == ["H0000", "H0001", "H0002"]  # deterministic: by label, key
    assert len(sub.edges) == 49 and all(e.target == f"Address:{HUB}" for e in sub.edges)
    again = store.neighbourhood("Address", HUB, hops=1, cap=50)
    assert again == sub
    small = store.neighbourhood("Person", "P1", hops=1, cap=100)
    assert small.omitted == 0
    assert {n.id for n in small.nodes} == {
        "Person:P1",
        "Identity:110101195003040011",
        "Account:6222000011112222",
        "Phone:13800000001",
        f"Address:{HUB}",
    }
    two = store.neighbourhood("Person", "P1", hops=2, cap=10)
    assert len(two.nodes) == 10 and two.omitted > 0
    assert [n.id for n in two.nodes[1:5]] == [n.id for n in small.nodes[1:5]]  # hop 1 first
    assert store.neighbourhood("Person", "nobody", hops=1, cap=10) == type(sub)((), (), 0)
    with pytest.raises(StoreError):
        store.neighbourhood("Person", "P1", hops=1, cap=0)


def test_run_read_returns_a_graph_and_rejects_writes(store: GraphStore) -> None:
    store.bulk_load(sample_frames())
    res = store.run_read(
        "MATCH (p:Person)-[h:HOLDS]->(a:Account) WHERE p.person_id IN ['P1','P2'] RETURN p, h, a"
    )
    assert list(res.frame.columns) == ["p", "h", "a"] and len(res.frame) == 3 and not res.truncated
    assert res.graph is not None
    assert {n.id for n in res.graph.nodes} == {
        "Person:P1",
        "Person:P2",
        "Account:6222000011112222",
        "Account:6222000033334444",
    }
    assert len(res.graph.edges) == 3 and {e.type for e in res.graph.edges} == {"HOLDS"}
    p2 = next(n for n in res.graph.nodes if n.id == "Person:P2")
    assert p2.props["name"] == ODD_NAME and p2.props["birth_date"] == "1972-12-31"
    # the odd name as a literal (escaped the way detectors/evidence.py writes literals)
    lit = "'" + ODD_NAME.replace("\\", "\\\\").replace("'", "\\'") + "'"
    found = store.run_read(f"MATCH (p:Person) WHERE p.name = {lit} RETURN p.person_id AS id")
    assert found.frame["id"].tolist() == ["P2"] and found.graph is None
    params = store.run_read("MATCH (p:Person) WHERE p.person_id = $pid RETURN p.name AS n", {"pid": "P1"})
    assert params.frame["n"].tolist() == ["张三"]
    lim = store.run_read("MATCH (p:Person) RETURN p.person_id AS id ORDER BY id", limit=2)
    assert lim.truncated and lim.frame["id"].tolist() == ["P1", "P2"]
    with pytest.raises(ReadOnlyViolation):
        store.run_read("MATCH (p:Person) SET p.name = 'x'")
    with pytest.raises(ReadOnlyViolation):
        store.run_read("CREATE (:Phone {phone: '9'})")
    assert store.counts()["Phone"] == 1
    assert store.nodes("Person").loc[0, "name"] == "张三"


def test_bad_frames_are_refused_before_anything_is_written(store: GraphStore) -> None:
    frames = sample_frames()
    store.bulk_load(frames)
    before = store.counts()
    dangling = GraphFrames.from_records(
        {"Person": [{"person_id": "P7"}]}, {"HOLDS": [{"src": "P7", "dst": "no-such-account"}]}
    )
    with pytest.raises(StoreError, match="HOLDS"):
        store.bulk_load(dangling, mode="replace")
    with pytest.raises(StoreError, match="HOLDS"):
        store.bulk_load(dangling, mode="upsert")
    conflicting = GraphFrames.from_records(
        {"Person": [{"person_id": "P1", "name": "a"}, {"person_id": "P1", "name": "b"}]}
    )
    with pytest.raises(StoreError, match="Person"):
        store.bulk_load(conflicting, mode="upsert")
    no_key = GraphFrames.from_records({"Person": [{"person_id": None, "name": "a"}]})
    with pytest.raises(StoreError, match="person_id"):
        store.bulk_load(no_key, mode="upsert")
    assert store.counts() == before
    # exact duplicate rows are harmless and collapse
    twice = GraphFrames.from_records({"Phone": [{"phone": "13800000001"}, {"phone": "13800000001"}]})
    store.bulk_load(twice, mode="upsert")
    assert store.counts()["Phone"] == 1


# -- LadybugDB only: file locking and read-only handles ---------------------------------------------


def test_ladybug_read_only_store_and_locks(tmp_path: Path) -> None:
    path = tmp_path / "ro.lbug"
    with pytest.raises(StoreError):
        open_store(path, read_only=True)  # nothing there yet
    writer = open_store(path)
    writer.bulk_load(sample_frames())
    with pytest.raises(LockError):
        open_store(path)  # a second writer in the same process
    # a read-only store in the writer's process reads through the writer, read-only
    with open_store(path, read_only=True) as ro:
        assert ro.counts()["Person"] == 3
        assert len(ro.run_read("MATCH (p:Person) RETURN p").frame) == 3
        with pytest.raises(ReadOnlyViolation):
            ro.set_meta({"x": "y"})
    # another process can read while this one holds the file for writing, but cannot write
    child = (
        "import sys\n"
        "from ringwatch.graph import open_store\n"
        "from ringwatch.errors import LockError\n"
        "with open_store(sys.argv[1], read_only=True) as st:\n"
        "    print(st.counts()['Person'], st.run_read('MATCH (p:Person) RETURN count(*) AS n').frame['n'][0])\n"
        "try:\n"
        "    open_store(sys.argv[1])\n"
        "except LockError:\n"
        "    print('locked')\n"
    )
    out = subprocess.run([sys.executable, "-c", child, str(path)], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["3", "3", "locked"]
    writer.close()
    with open_store(path, read_only=True) as ro:
        assert ro.nodes("Person")["person_id"].tolist() == ["P1", "P2", "P3"]
        with pytest.raises(StoreError, match="timeout"):
            ro.run_read(
                "UNWIND range(1, 20000) AS a UNWIND range(1, 20000) AS b "
                "WITH a, b WHERE (a * b) % 7 = 3 RETURN sum(a + b) AS s",
                timeout_s=0.2,
            )
    with open_store(path) as again:  # the lock was released on close
        assert again.get_meta()["reference_date"] == "2024-03-31"


def test_ladybug_upsert_rebuilds_a_relationship_table_the_same_way(tmp_path: Path) -> None:
    """Both edge-replacement strategies (delete edges / rebuild the table) give one result."""
    results: list[tuple[list[pd.DataFrame], dict[str, int]]] = []
    for threshold in (10**9, 0):
        with open_store(tmp_path / f"rb{threshold}.lbug") as st:
            st.rebuild_min_edges = threshold  # type: ignore[attr-defined]
            st.bulk_load(sample_frames())
            st.bulk_load(
                GraphFrames.from_records(
                    {},
                    {
                        "HOLDS": [{"src": "P1", "dst": "6222000033334444", "role": "agent"}],
                        "TREATED_AT": [
                            {"src": "110101195003040011", "dst": "H1", "claim_id": "C9", "amount": 1.5}
                        ],
                    },
                ),
                mode="upsert",
            )
            st.bulk_load(  # a second round reuses the statements prepared before the rebuild
                GraphFrames.from_records(
                    {}, {"HOLDS": [{"src": "P2", "dst": "6222000011112222", "role": "x"}]}
                ),
                mode="upsert",
            )
            results.append(([st.rels("HOLDS"), st.rels("TREATED_AT"), st.rels("PAID_TO")], st.counts()))
    (frames_a, counts_a), (frames_b, counts_b) = results
    for a, b in zip(frames_a, frames_b, strict=True):
        pd.testing.assert_frame_equal(a, b)
    assert counts_a == counts_b
    assert frames_a[1]["claim_id"].tolist() == ["C1", "C2", "C9"]  # claims merge by claim_id
    assert frames_a[0][["src", "role"]].values.tolist() == [["P1", "agent"], ["P2", "x"]]


def test_ladybug_failed_replace_keeps_the_old_graph(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ringwatch.graph import ladybug_cypher

    path = tmp_path / "keep.lbug"
    with open_store(path) as st:
        st.bulk_load(sample_frames())
        before = st.counts()
        real = ladybug_cypher.copy_rel
        monkeypatch.setattr(
            ladybug_cypher, "copy_rel", lambda rel, pair=None: real(rel, pair) + " (no_such_option=1)"
        )
        with pytest.raises(StoreError):
            st.bulk_load(hub_frames(), mode="replace")
        assert st.counts() == before and st.get_meta()["reference_date"] == "2024-03-31"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.lbug"]  # no temporary file left


def test_ladybug_error_messages_do_not_quote_values() -> None:
    from ringwatch.graph.ladybug_store import safe_message

    msg = safe_message(RuntimeError("Copy exception: Unable to find primary key value 110101195003040011."))
    assert "110101" not in msg and "primary key" in msg


def test_ladybug_schema_of_another_version_is_refused(tmp_path: Path) -> None:
    import ladybug

    path = tmp_path / "old.lbug"
    db = ladybug.Database(str(path))
    conn = ladybug.Connection(db)
    conn.execute("CREATE NODE TABLE Person(person_id STRING, name STRING, PRIMARY KEY(person_id))")
    conn.close()
    db.close()
    with open_store(path) as st:
        st.create_schema()  # leaves the old table alone
        with pytest.raises(StoreError, match="replace"):
            st.bulk_load(sample_frames(), mode="upsert")
        st.bulk_load(sample_frames(), mode="replace")  # recreates every table
        assert st.counts()["Person"] == 3


def test_open_store_uri_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    from ringwatch.errors import ConfigError

    monkeypatch.delenv("NEO4J_USER", raising=False)
    monkeypatch.delenv("NEO4J_PASSWORD", raising=False)
    with pytest.raises(ConfigError, match="NEO4J_USER"):
        open_store("neo4j://localhost:7687")
    with pytest.raises(ConfigError, match="credentials"):
        open_store("bolt://neo4j:secret@localhost:7687")
    with pytest.raises(ConfigError, match="scheme"):
        open_store("http://localhost:7474")
