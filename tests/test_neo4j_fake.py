"""Neo4jStore against a fake driver: what it sends, in which transactions, and how it reads back."""

from __future__ import annotations

import json
import math
from typing import Any

import neo4j
import pandas as pd
import pytest
from fake_neo4j import FakeNeo4j, make_node, make_rel, server_error
from neo4j.exceptions import ClientError, TransientError
from neo4j.graph import Graph

from ringwatch.errors import ReadOnlyViolation, StoreError
from ringwatch.graph import GraphFrames, canonical_order, open_store
from ringwatch.graph.frames import ALL_NODES
from ringwatch.graph.neo4j_store import Neo4jStore

N_PEOPLE = 5


def frames() -> GraphFrames:
    people = [
        {"person_id": f"P{i}", "name": f"张{i}", "birth_date": f"19{50 + i}-01-0{i + 1}", "region_code": None}
        for i in range(N_PEOPLE)
    ]
    accounts = [
        {"account_no": f"A{i}", "person_id": f"P{i}", "opened_date": "2010-01-01"} for i in range(N_PEOPLE)
    ]
    holds = [{"src": f"P{i}", "dst": f"A{i}", "role": "holder"} for i in range(N_PEOPLE)]
    holds.append({"src": "P0", "dst": "A1", "role": "agent"})
    fr = GraphFrames.from_records(
        {"Person": people, "Account": accounts}, {"HOLDS": holds}, tables=["persons", "accounts"]
    )
    fr.meta = {"reference_date": "2024-03-31"}
    return fr


def scripted() -> FakeNeo4j:
    """A fake that acknowledges writes the way the server would (counts of rows written)."""
    fake = FakeNeo4j()
    fake.respond(r"DETACH DELETE n RETURN count", [{"deleted": 0}])
    fake.respond(r"^UNWIND \$rows AS row MERGE \(n:", lambda q, p: [{"n": len(p["rows"])}])
    fake.respond(r"CREATE \(a\)-\[r:", lambda q, p: [{"created": len(p["rows"])}])
    fake.respond(r"DELETE r RETURN count", [{"deleted": 1}])
    return fake


def store_for(fake: FakeNeo4j, **kw: Any) -> Neo4jStore:
    return Neo4jStore("neo4j://fake:7687", driver=fake.driver(), database="ringwatch", **kw)


def test_schema_has_a_uniqueness_constraint_per_label() -> None:
    fake = FakeNeo4j()
    store_for(fake).create_schema()
    constraints = fake.committed_matching(r"^CREATE CONSTRAINT")
    assert len(constraints) == len(ALL_NODES)
    for label, nt in ALL_NODES.items():
        assert any(f"(n:`{label}`) REQUIRE n.`{nt.key}` IS UNIQUE" in c.query for c in constraints), label
    assert all("IF NOT EXISTS" in c.query for c in fake.committed_matching("^CREATE"))
    assert fake.committed_matching(r"^CREATE INDEX")
    assert {s["database"] for s in fake.sessions} == {"ringwatch"}
    assert {c.mode for c in fake.committed} == {neo4j.WRITE_ACCESS}


def test_bulk_load_batches_parameters_and_no_values_in_text() -> None:
    fake = scripted()
    store = store_for(fake, batch_size=2)
    written = store.bulk_load(frames(), mode="replace")
    assert written == {"Person": N_PEOPLE, "Account": N_PEOPLE, "HOLDS": N_PEOPLE + 1}
    merges = fake.committed_matching(r"MERGE \(n:`Person`")
    assert [len(c.params["rows"]) for c in merges] == [2, 2, 1]
    first = merges[0].params["rows"][0]
    assert first["key"] == "P0" and first["props"]["name"] == "张0"
    assert first["props"]["birth_date"] == neo4j.time.Date(1950, 1, 1)
    assert "region_code" not in first["props"]  # nulls never sent (they would erase)
    creates = fake.committed_matching(r"CREATE \(a\)-\[r:`HOLDS`\]")
    assert [len(c.params["rows"]) for c in creates] == [2, 2, 2]
    assert creates[0].params["rows"][0] == {"src": "P0", "dst": "A0", "props": {"role": "holder"}}
    for call in fake.committed:
        assert "张" not in call.query and "P0" not in call.query and "A1" not in call.query
    # replace empties every ringwatch label first, before any merge
    deletes = [i for i, c in enumerate(fake.committed) if "DETACH DELETE" in c.query]
    assert len(deletes) == len(ALL_NODES)
    assert max(deletes) < min(i for i, c in enumerate(fake.committed) if "MERGE (n:" in c.query)
    meta = fake.committed_matching(r"MERGE \(m:`Meta`")[-1].params["rows"]
    assert {"key": "loaded_tables", "value": "persons,accounts"} in meta


def test_replace_deletes_in_batches_until_a_label_is_empty() -> None:
    fake = scripted()
    left = {"Person": 5}

    def delete(q: str, p: dict[str, Any]) -> list[dict[str, Any]]:
        label = q.split("(n:`")[1].split("`")[0]
        n = min(left.get(label, 0), p["batch"])
        left[label] = left.get(label, 0) - n
        return [{"deleted": n}]

    fake.respond(r"DETACH DELETE n RETURN count", delete)
    store_for(fake, batch_size=2).bulk_load(frames(), mode="replace")
    person_deletes = fake.committed_matching(r"MATCH \(n:`Person`\) WITH n LIMIT \$batch DETACH DELETE")
    assert len(person_deletes) == 3 and left["Person"] == 0  # 2 + 2 + 1


def test_transient_error_is_retried_without_duplicates() -> None:
    fake = scripted()
    deadlock = server_error("Neo.TransientError.Transaction.DeadlockDetected")
    assert isinstance(deadlock, TransientError)
    fake.fail_once(r"CREATE \(a\)-\[r:`HOLDS`\]", deadlock)
    fake.fail_once(r"MERGE \(n:`Account`", TransientError("leader switch"))
    store_for(fake, batch_size=2).bulk_load(frames(), mode="replace")
    assert fake.retries == 2
    creates = fake.committed_matching(r"CREATE \(a\)-\[r:`HOLDS`\]")
    sent = [(r["src"], r["dst"]) for c in creates for r in c.params["rows"]]
    assert len(sent) == len(set(sent)) == N_PEOPLE + 1  # every edge exactly once
    attempted = [c for c in fake.attempted if "CREATE (a)-[r:`HOLDS`]" in c.query]
    assert len(attempted) == len(creates) + 1  # the failed attempt was rolled back, not committed
    merged = [r["key"] for c in fake.committed_matching(r"MERGE \(n:`Account`") for r in c.params["rows"]]
    assert sorted(merged) == [f"A{i}" for i in range(N_PEOPLE)]


def test_a_batch_with_missing_endpoints_is_rolled_back() -> None:
    fake = scripted()
    fake.respond(r"CREATE \(a\)-\[r:", lambda q, p: [{"created": len(p["rows"]) - 1}])
    with pytest.raises(StoreError, match="rolled back"):
        store_for(fake, batch_size=2).bulk_load(frames(), mode="replace")
    assert not fake.committed_matching(r"CREATE \(a\)-\[r:")


def test_dangling_endpoints_are_refused_before_writing() -> None:
    fake = scripted()
    bad = GraphFrames.from_records(
        {"Person": [{"person_id": "P1"}]}, {"HOLDS": [{"src": "P1", "dst": "nowhere"}]}
    )
    with pytest.raises(StoreError, match="HOLDS"):
        store_for(fake).bulk_load(bad, mode="replace")
    assert not [c for c in fake.committed if c.mode == neo4j.WRITE_ACCESS]
    # in upsert the store is asked whether the missing endpoint exists already
    fake.respond(r"^UNWIND \$keys AS k MATCH \(n:`Account`", lambda q, p: [{"k": k} for k in p["keys"]])
    store_for(fake).bulk_load(bad, mode="upsert")
    asked = fake.committed_matching(r"^UNWIND \$keys AS k MATCH \(n:`Account`")
    assert asked[0].params["keys"] == ["nowhere"] and asked[0].mode == neo4j.READ_ACCESS


def test_upsert_replaces_the_edges_with_the_same_merge_key_first() -> None:
    fake = scripted()
    fake.respond(r"^MATCH \(m:`Meta`\)", [{"key": "loaded_tables", "value": "persons,benefits"}])
    store_for(fake, batch_size=4).bulk_load(frames(), mode="upsert")
    assert not [c for c in fake.committed if "DETACH DELETE" in c.query]
    order = [c.query for c in fake.committed]
    # HOLDS merges by account (an accounts row names its holder): the account's stored edges go
    delete_at = next(
        i for i, q in enumerate(order) if "-[r:`HOLDS`]->(b:`Account` {`account_no`: k}) DELETE r" in q
    )
    create_at = next(i for i, q in enumerate(order) if "CREATE (a)-[r:`HOLDS`]" in q)
    assert delete_at < create_at
    keys = [k for c in fake.committed_matching(r"DELETE r RETURN") for k in c.params["keys"]]
    assert sorted(keys) == [f"A{i}" for i in range(N_PEOPLE)]
    meta = fake.committed_matching(r"MERGE \(m:`Meta`")[-1].params["rows"]
    assert {"key": "loaded_tables", "value": "persons,accounts,benefits"} in meta


def test_upsert_delete_statements_per_merge_key() -> None:
    """Each relationship type deletes by its merge key: a property, a pair, a pair and a property."""
    import datetime as dt

    fake = scripted()
    upd = GraphFrames.from_records(
        {},
        {
            "TREATED_AT": [{"src": "I1", "dst": "H1", "claim_id": "C1"}],
            "USES_PHONE": [{"src": "P1", "dst": "138"}, {"src": "P1", "dst": "138"}],
            "EMPLOYED_BY": [
                {"src": "I1", "dst": "E1", "start_date": "2020-01-02"},
                {"src": "I1", "dst": "E1", "start_date": None},
            ],
        },
    )
    fake.respond(r"^UNWIND \$keys AS k MATCH \(n:", lambda q, p: [{"k": k} for k in p["keys"]])
    store_for(fake).bulk_load(upd, mode="upsert")
    claims = fake.committed_matching(r"\[r:`TREATED_AT` \{`claim_id`: k\}\]->\(:`Hospital`\) DELETE r")
    assert [c.params["keys"] for c in claims] == [["C1"]]
    phones = fake.committed_matching(r"-\[r:`USES_PHONE`\]->\(b:`Phone` \{`phone`: row.dst\}\) DELETE r")
    assert [c.params["rows"] for c in phones] == [[{"src": "P1", "dst": "138"}]]  # one delete per key
    jobs = fake.committed_matching(r"-\[r:`EMPLOYED_BY`\]->.* WHERE r.`start_date` = row.p OR")
    assert jobs[0].params["rows"] == [
        {"src": "I1", "dst": "E1", "p": neo4j.time.Date.from_native(dt.date(2020, 1, 2))},
        {"src": "I1", "dst": "E1", "p": None},
    ]
    index = fake.committed_matching(r"^CREATE INDEX .* FOR \(\)-\[r:`TREATED_AT`\]-\(\) ON \(r.`claim_id`\)")
    assert index


def test_gds_components_and_communities() -> None:
    fake = FakeNeo4j()
    fake.respond(r"^RETURN gds.version\(\)", [{"version": "2.6.0"}])
    fake.respond(
        r"^CALL gds.graph.project",
        lambda q, p: [{"graphName": p["graph"], "nodeCount": 3, "relationshipCount": 2}],
    )
    fake.respond(
        r"^CALL gds.wcc.stream",
        [
            {"label": "Person", "key": "P2", "grp": 0},
            {"label": "Account", "key": "A1", "grp": 0},
            {"label": "Person", "key": "P1", "grp": 0},
        ],
    )
    fake.respond(r"^CALL gds.leiden.stream", [{"label": "Person", "key": "P1", "grp": 5}])
    st = store_for(fake)
    assert st.gds_version() == "2.6.0"
    comp = st.components(["HOLDS"])
    assert comp.values.tolist() == [["Account", "A1", 0], ["Person", "P1", 0], ["Person", "P2", 0]]
    proj = fake.committed_matching(r"^CALL gds.graph.project")[0]
    assert proj.params["labels"] == ["Account", "Person"] and proj.mode == neo4j.READ_ACCESS
    assert proj.params["rels"] == {"HOLDS": {"type": "HOLDS", "orientation": "UNDIRECTED"}}
    drops = fake.committed_matching(r"^CALL gds.graph.drop")
    assert [d.params["graph"] for d in drops] == [proj.params["graph"]]  # the projection is dropped
    st.communities(["HOLDS", "USES_PHONE"], resolution=0.5)
    leiden = fake.committed_matching(r"^CALL gds.leiden.stream")[0]
    assert leiden.params["config"] == {"gamma": 0.5, "randomSeed": 7, "concurrency": 1}
    no_gds = FakeNeo4j()
    no_gds.fail_once(
        r"gds.version", server_error("Neo.ClientError.Statement.SyntaxError", "Unknown function")
    )
    st2 = store_for(no_gds)
    with pytest.raises(StoreError, match="Graph Data Science"):
        st2.components(["HOLDS"])


def _paged_people(n: int) -> FakeNeo4j:
    fake = FakeNeo4j()
    keys = [f"P{i:03d}" for i in range(n)]

    def page(q: str, p: dict[str, Any]) -> list[dict[str, Any]]:
        rest = [k for k in keys if p["after"] is None or k > p["after"]][: p["page"]]
        return [
            {
                "_key": k,
                "person_id": k,
                "name": f"名{k}",
                "sex": None,
                "birth_date": neo4j.time.Date(1960, 1, 1 + int(k[1:]) % 28),
                "region_code": None,
                "death_date": None,
                "death_source": None,
                "extra": None,
            }
            for k in rest
        ]

    fake.respond(r"^MATCH \(n:`Person`\)", page)
    return fake


def test_node_projection_is_paged_by_key() -> None:
    fake = _paged_people(7)
    df = store_for(fake, batch_size=3).nodes("Person")
    pages = fake.committed_matching(r"^MATCH \(n:`Person`\)")
    assert [c.params["after"] for c in pages] == [None, "P002", "P005"]
    assert all(c.params["page"] == 3 and c.mode == neo4j.READ_ACCESS for c in pages)
    assert "WHERE" not in pages[0].query and "n.`person_id` > $after" in pages[1].query
    assert "ORDER BY n.`person_id` LIMIT $page" in pages[0].query
    want = GraphFrames.from_records(
        {
            "Person": [
                {"person_id": f"P{i:03d}", "name": f"名P{i:03d}", "birth_date": f"1960-01-{1 + i:02d}"}
                for i in range(7)
            ]
        }
    ).nodes("Person")
    pd.testing.assert_frame_equal(df, canonical_order(want, "node", "Person"))


def test_rel_projection_pages_sources_and_converts_lists() -> None:
    fake = FakeNeo4j()
    benefits = ["B1", "B2", "B3"]
    fake.respond(
        r"^MATCH \(a:`Benefit`\)",
        lambda q, p: [{"k": b} for b in benefits if p["after"] is None or b > p["after"]][: p["page"]],
    )
    paid = {
        "B1": [("A1", ["2024-01", "2024-02"], [1.0, 2.5], 2), ("A0", [], [], 0)],
        "B3": [("A3", ["2024-03"], [7.0], 1)],
    }

    def rels(q: str, p: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        for b in p["keys"]:
            for acc, months, amounts, n in paid.get(b, []):
                out.append(
                    {
                        "src": b,
                        "dst": acc,
                        "months": months,
                        "amounts": amounts,
                        "payment_ids": None,
                        "n_months": n,
                        "total": math.fsum(amounts),
                        "first_month": months[0] if months else None,
                        "last_month": months[-1] if months else None,
                    }
                )
        return out

    fake.respond(r"^UNWIND \$keys AS k MATCH \(a:`Benefit`", rels)
    df = store_for(fake, batch_size=2).rels("PAID_TO")
    assert df[["src", "dst"]].values.tolist() == [["B1", "A0"], ["B1", "A1"], ["B3", "A3"]]
    assert df.loc[1, "months"] == ["2024-01", "2024-02"] and df.loc[0, "months"] == []
    assert df.loc[0, "payment_ids"] is None
    assert str(df["n_months"].dtype) == "Int64" and df["total"].dtype == "float64"
    pages = fake.committed_matching(r"^MATCH \(a:`Benefit`\)")
    assert [c.params["after"] for c in pages] == [None, "B2"]


def test_run_read_is_a_read_transaction_with_timeout_and_limit() -> None:
    fake = FakeNeo4j()
    g = Graph()
    p1 = make_node(
        g, "4:x:1", ["Person"], {"person_id": "P1", "name": "张三", "birth_date": neo4j.time.Date(1950, 3, 4)}
    )
    a1 = make_node(g, "4:x:2", ["Account"], {"account_no": "A1"})
    h = make_rel(g, "5:x:1", "HOLDS", p1, a1, {"role": "holder"})
    fake.respond(r"HOLDS", [{"p": p1, "h": h, "a": a1}, {"p": p1, "h": h, "a": a1}])
    store = store_for(fake)
    res = store.run_read("MATCH (p:Person)-[h:HOLDS]->(a:Account) RETURN p, h, a", limit=1, timeout_s=3.5)
    call = fake.committed[-1]
    assert call.mode == neo4j.READ_ACCESS and call.timeout == 3.5
    assert fake.sessions[-1]["mode"] == neo4j.READ_ACCESS
    assert res.truncated and len(res.frame) == 1
    assert res.frame.loc[0, "p"] == {
        "_label": "Person",
        "person_id": "P1",
        "name": "张三",
        "birth_date": "1950-03-04",
    }
    assert res.graph is not None
    assert [n.id for n in res.graph.nodes] == ["Person:P1", "Account:A1"]
    assert [(e.type, e.source, e.target) for e in res.graph.edges] == [("HOLDS", "Person:P1", "Account:A1")]
    before = len(fake.attempted)
    with pytest.raises(ReadOnlyViolation):
        store.run_read("MATCH (n) DETACH DELETE n")
    assert len(fake.attempted) == before  # refused before reaching the driver


def test_server_refusal_in_read_mode_is_a_read_only_violation() -> None:
    fake = FakeNeo4j()
    err = server_error("Neo.ClientError.Statement.AccessMode", "Writing in read access mode not allowed")
    assert isinstance(err, ClientError)
    fake.fail_once(r"RETURN", err)
    with pytest.raises(ReadOnlyViolation):
        store_for(fake).run_read("MATCH (n) RETURN n")


def test_read_only_store_refuses_writes_before_the_driver() -> None:
    fake = scripted()
    store = store_for(fake, read_only=True)
    for write in (
        lambda: store.bulk_load(frames()),
        lambda: store.set_meta({"a": "b"}),
        lambda: store.write_alerts([], "r"),
        store.create_schema,
    ):
        with pytest.raises(ReadOnlyViolation):
            write()
    assert not fake.attempted


def test_write_alerts() -> None:
    fake = scripted()
    alerts = [
        {
            "alert_id": "shared_account-1",
            "detector": "shared_account",
            "score": 88.0,
            "level": "red",
            "members": {"person": ["P2", "P1"], "account": ["A1"]},
            "amount_at_risk": 10.0,
            "explanation": "共用账户",
            "evidence_cypher": "MATCH (p:Person) RETURN p",
            "first_seen": "2024-03-31",
        }
    ]
    assert store_for(fake).write_alerts(alerts, run_id="r1") == 1
    assert fake.committed_matching(r"MATCH \(n:`Alert`\) WITH n LIMIT \$batch DETACH DELETE")
    created = fake.committed_matching(r"CREATE \(a:`Alert`\)")[0].params["rows"][0]
    assert created["run_id"] == "r1" and "details" not in created
    assert json.loads(created["members"]) == {"account": ["A1"], "person": ["P2", "P1"]}
    flags = {
        c.query.split("(m:`")[1].split("`")[0]: c.params["rows"] for c in fake.committed_matching(r"FLAGS")
    }
    assert flags == {
        "Person": [{"a": "shared_account-1", "k": "P1"}, {"a": "shared_account-1", "k": "P2"}],
        "Account": [{"a": "shared_account-1", "k": "A1"}],
    }


def test_neighbourhood_counts_then_limits() -> None:
    fake = FakeNeo4j()
    g = Graph()
    hub = make_node(g, "n:hub", ["Address"], {"address_key": "幸福路1号"})
    people = [make_node(g, f"n:{i}", ["Person"], {"person_id": f"H{i:03d}"}) for i in range(3)]
    fake.respond(r"RETURN n$", [{"n": hub}])
    fake.respond(r"RETURN count\(DISTINCT m\)", [{"n": 100_000}])
    fake.respond(
        r"RETURN m, d ORDER BY d, .* LIMIT \$lim",
        lambda q, p: [{"m": n, "d": 1} for n in people][: p["lim"]],
    )
    fake.respond(
        r"elementId\(a\) IN \$ids",
        [
            {"r": make_rel(g, f"r:{i}", "LIVES_AT", n, hub, {"address_type": "hukou"})}
            for i, n in enumerate(people)
        ],
    )
    sub = store_for(fake).neighbourhood("Address", "幸福路1号", hops=1, cap=4)
    assert [n.id for n in sub.nodes] == ["Address:幸福路1号", "Person:H000", "Person:H001", "Person:H002"]
    assert sub.omitted == 100_000 - 3 and len(sub.edges) == 3
    picked = fake.committed_matching(r"LIMIT \$lim")[0]
    assert picked.params == {"key": "幸福路1号", "lim": 3}
    assert all(c.mode == neo4j.READ_ACCESS for c in fake.committed)


def test_open_store_takes_credentials_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeNeo4j()
    seen: dict[str, Any] = {}

    def driver(uri: str, auth: Any = None, **kw: Any) -> Any:
        seen.update(uri=uri, auth=auth)
        return fake.driver()

    monkeypatch.setattr(neo4j.GraphDatabase, "driver", driver)
    monkeypatch.setenv("NEO4J_USER", "analyst")
    monkeypatch.setenv("NEO4J_PASSWORD", "s3cret")
    monkeypatch.setenv("NEO4J_DATABASE", "fraud")
    with open_store("neo4j+s://graph.example:7687", read_only=True) as st:
        assert isinstance(st, Neo4jStore) and st.read_only and st.database == "fraud"
        assert "s3cret" not in repr(vars(st))
    assert seen == {"uri": "neo4j+s://graph.example:7687", "auth": ("analyst", "s3cret")}
    assert fake.closed
