"""Incremental loads: ``load base`` then ``load increment`` (upsert) equals ``load full``.

The increment holds new persons with all their rows, new rows about existing people (claims,
accounts, phones, addresses, activities), new employers, new benefits, the latest payment
month, deaths of existing persons and changed rows (end dates); see ``increment_data.py``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from increment_data import split_dataset

from ringwatch import pipeline
from ringwatch.graph import GraphFrames, open_store
from ringwatch.graph.schema import NODES, RELS
from ringwatch.synth import generate


@pytest.fixture(scope="module")
def split(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("inc")
    generate(root / "src", seed=5, persons=1500, truth_path=root / "truth.jsonl")
    counts = split_dataset(root / "src", root / "base", root / "inc", root / "full", fraction=0.08, seed=3)
    assert all(b > 0 for b, _ in counts.values())
    for name in ("persons", "claims", "payments", "deaths", "benefits", "employments", "activities"):
        assert counts[name][1] > 0, name
    return root


@pytest.fixture(scope="module")
def stores(split: Path) -> tuple[Path, Path]:
    full, inc = split / "full.lbug", split / "inc.lbug"
    pipeline.load(split / "full", str(full), quarantine_dir=split / "q_full", mode="replace")
    pipeline.load(split / "base", str(inc), quarantine_dir=split / "q_base", mode="replace")
    pipeline.load(split / "inc", str(inc), quarantine_dir=split / "q_inc", mode="upsert")
    return full, inc


def assert_same_graph(a: Path, b: Path) -> None:
    with open_store(a, read_only=True) as sa, open_store(b, read_only=True) as sb:
        for label in NODES:
            pd.testing.assert_frame_equal(sa.nodes(label), sb.nodes(label), obj=label)
        for rel in RELS:
            pd.testing.assert_frame_equal(sa.rels(rel), sb.rels(rel), obj=rel)
        assert sa.tables() == sb.tables()


def test_base_then_increment_equals_full_reload(stores: tuple[Path, Path]) -> None:
    full, inc = stores
    assert_same_graph(full, inc)
    with open_store(inc, read_only=True) as st:
        people = st.nodes("Person")
        ids = st.nodes("Identity")
    # deaths arriving in the increment reached persons and every one of their identities
    dead = people.loc[people["death_date"].notna(), ["person_id", "death_date"]]
    merged = ids.merge(dead, on="person_id", how="inner", suffixes=("", "_p"))
    assert len(merged) and (merged["death_date"] == merged["death_date_p"]).all()


def test_increment_rows_about_stored_people_are_not_quarantined(split: Path) -> None:
    # the increment names persons and identities that exist only in the base store
    assert not (split / "q_inc" / "quarantine").exists()


def test_reloading_the_increment_changes_nothing(split: Path, stores: tuple[Path, Path]) -> None:
    _, inc = stores
    again = split / "again.lbug"
    pipeline.load(split / "base", str(again), quarantine_dir=split / "q2", mode="replace")
    pipeline.load(split / "inc", str(again), quarantine_dir=split / "q2", mode="upsert")
    pipeline.load(split / "inc", str(again), quarantine_dir=split / "q2", mode="upsert")
    assert_same_graph(inc, again)
    with open_store(again, read_only=True) as st:
        assert st.get_meta()["loaded_inputs"] != ""


def test_detect_gives_byte_identical_alerts(split: Path, stores: tuple[Path, Path]) -> None:
    full, inc = stores
    pipeline.detect(str(full), split / "out_full")
    pipeline.detect(str(inc), split / "out_inc")
    a = (split / "out_full" / "alerts.jsonl").read_bytes()
    assert a and a == (split / "out_inc" / "alerts.jsonl").read_bytes()


def test_increment_without_persons_or_identities(
    tmp_path: Path, split: Path, stores: tuple[Path, Path]
) -> None:
    """A deaths-only extract is a valid increment once the store has data; a fresh load needs both."""
    store = tmp_path / "s.lbug"
    pipeline.load(split / "base", str(store), quarantine_dir=tmp_path, mode="replace")
    with open_store(store, read_only=True) as st:
        people = st.nodes("Person", ["person_id", "death_date"]).set_index("person_id")
        ids = st.nodes("Identity", ["id_number", "person_id"])
    alive = people.index[people["death_date"].isna()]
    victim = str(alive[0])
    its_ids = ids.loc[ids["person_id"] == victim, "id_number"].tolist()
    deaths = tmp_path / "deaths_only"
    deaths.mkdir()
    (deaths / "deaths.csv").write_text(
        f"id_number,death_date,source\n{its_ids[0]},2021-03-04,police\n", encoding="utf-8"
    )
    pipeline.load(deaths, str(store), quarantine_dir=tmp_path, mode="upsert")
    with open_store(store, read_only=True) as st:
        p = st.lookup_nodes("Person", [victim])  # type: ignore[attr-defined]
        i = st.lookup_nodes("Identity", [victim], by="person_id")  # type: ignore[attr-defined]
    assert p["death_date"].tolist() == [pd.Timestamp("2021-03-04")]
    assert p["death_source"].tolist() == ["police"]
    assert set(i["id_number"]) == set(its_ids) and (i["death_date"] == pd.Timestamp("2021-03-04")).all()
    # a later death record does not move the date; an earlier one does
    (deaths / "deaths.csv").write_text(
        f"id_number,death_date,source\n{its_ids[-1]},2022-01-01,hospital\n", encoding="utf-8"
    )
    pipeline.load(deaths, str(store), quarantine_dir=tmp_path, mode="upsert")
    with open_store(store, read_only=True) as st:
        assert st.lookup_nodes("Person", [victim])["death_date"].tolist() == [  # type: ignore[attr-defined]
            pd.Timestamp("2021-03-04")
        ]
    from ringwatch.errors import InputError

    with pytest.raises(InputError, match="persons"):
        pipeline.load(deaths, str(tmp_path / "fresh.lbug"), quarantine_dir=tmp_path, mode="upsert")


def test_upsert_merges_payments_by_payment_id(tmp_path: Path) -> None:
    """Tonight's payment months join the stored ones; a corrected payment replaces its old amount."""
    store = tmp_path / "p.lbug"
    d1, d2 = tmp_path / "d1", tmp_path / "d2"
    d1.mkdir()
    d2.mkdir()
    (d1 / "persons.csv").write_text("person_id,name\nP1,张三\n", encoding="utf-8")
    (d1 / "identities.csv").write_text("id_number,person_id\n110101195003040011,P1\n", encoding="utf-8")
    (d1 / "benefits.csv").write_text(
        "benefit_id,id_number,scheme,start_date,account_no\nB1,110101195003040011,pension_employee,2010-01-01,A1\n",
        encoding="utf-8",
    )
    (d1 / "payments.csv").write_text(
        "payment_id,benefit_id,month,amount,account_no\nM1,B1,2024-01,100,A1\nM2,B1,2024-02,100,A1\n",
        encoding="utf-8",
    )
    (d2 / "payments.csv").write_text(
        "payment_id,benefit_id,month,amount,account_no\nM2,B1,2024-02,120,A1\nM3,B1,2024-03,100,A1\n",
        encoding="utf-8",
    )
    (d2 / "benefits.csv").write_text(
        "benefit_id,id_number,scheme,start_date,end_date,account_no\n"
        "B1,110101195003040011,pension_employee,2010-01-01,2024-03-31,A1\n",
        encoding="utf-8",
    )
    pipeline.load(d1, str(store), quarantine_dir=tmp_path, mode="replace")
    pipeline.load(d2, str(store), quarantine_dir=tmp_path, mode="upsert")
    with open_store(store, read_only=True) as st:
        paid = st.rels("PAID_TO")
        ben = st.nodes("Benefit")
    assert paid["payment_ids"].tolist() == [["M1", "M2", "M3"]]
    assert paid["amounts"].tolist() == [[100.0, 120.0, 100.0]]
    assert paid["total"].tolist() == [320.0] and paid["n_months"].tolist() == [3]
    assert ben["end_date"].tolist() == [pd.Timestamp("2024-03-31")]


def test_store_lookups(tmp_path: Path) -> None:
    with open_store(tmp_path / "l.lbug") as st:
        st.bulk_load(
            GraphFrames.from_records(
                {
                    "Person": [{"person_id": "P1"}, {"person_id": "P2"}],
                    "Identity": [
                        {"id_number": "I1", "person_id": "P1"},
                        {"id_number": "I2", "person_id": "P1"},
                        {"id_number": "I3", "person_id": "P2"},
                    ],
                    "Hospital": [{"hospital_id": "H1"}],
                    "Benefit": [{"benefit_id": "B1"}, {"benefit_id": "B2"}],
                    "Account": [{"account_no": "A1"}],
                },
                {
                    "TREATED_AT": [
                        {"src": "I1", "dst": "H1", "claim_id": "C1"},
                        {"src": "I3", "dst": "H1", "claim_id": "C2"},
                    ],
                    "PAID_TO": [
                        {"src": "B1", "dst": "A1", "payment_ids": ["M1", "M2"]},
                        {"src": "B2", "dst": "A1", "payment_ids": ["M3"]},
                    ],
                },
            )
        )
        lk = st.lookup_nodes  # type: ignore[attr-defined]
        assert lk("Identity", ["P1", "P9"], by="person_id")["id_number"].tolist() == ["I1", "I2"]
        assert lk("Person", ["P2", "", "nope"])["person_id"].tolist() == ["P2"]
        rl = st.lookup_rels  # type: ignore[attr-defined]
        assert rl("TREATED_AT", ["C2"], by="claim_id")["src"].tolist() == ["I3"]
        assert rl("TREATED_AT", ["H1"], by="dst")["claim_id"].tolist() == ["C1", "C2"]
        assert rl("PAID_TO", ["M2"], by="payment_ids")["src"].tolist() == ["B1"]
        assert rl("PAID_TO", [], by="src").empty


def test_neo4j_store_increment_on_a_simulated_server(
    split: Path, stores: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same split through Neo4jStore (fake driver + in-memory graph): same graph as LadybugDB."""
    from fake_neo4j import FakeNeo4j
    from neo4j_sim import GraphSim

    from ringwatch.graph.neo4j_store import Neo4jStore
    from ringwatch.loaders import load_directory

    def server() -> tuple[Neo4jStore, FakeNeo4j, GraphSim]:
        fake, sim = FakeNeo4j(), GraphSim()
        sim.install(monkeypatch, fake)
        return Neo4jStore("neo4j://fake:7687", driver=fake.driver(), batch_size=400), fake, sim

    full, _, _ = server()
    full.create_schema()
    full.bulk_load(load_directory(split / "full").frames, mode="replace")
    inc, fake, sim = server()
    inc.create_schema()
    inc.bulk_load(load_directory(split / "base").frames, mode="replace")
    before = len(fake.committed)
    result = load_directory(split / "inc", base=inc)
    assert result.quarantined == 0
    inc.bulk_load(result.frames, mode="upsert")
    tonight = fake.committed[before:]
    assert not [c for c in tonight if "DETACH DELETE" in c.query]  # no reload
    assert all(len(c.params.get("rows", c.params.get("keys", []))) <= 400 for c in tonight)
    assert any(c.query.startswith("UNWIND $rows AS row MERGE (n:`Identity`") for c in tonight)
    assert any("-[r:`TREATED_AT` {`claim_id`: k}]->" in c.query and "DELETE r" in c.query for c in tonight)
    # every read is a batch of keys or a page (no single giant result)
    lookups = [c for c in tonight if c.mode == "READ"]
    assert lookups and all(
        len(c.params.get("keys", [])) <= 400
        and ("$keys" in c.query or "LIMIT $page" in c.query or "Meta" in c.query)
        for c in lookups
    )
    _, lbug_inc = stores
    with open_store(lbug_inc, read_only=True) as lb:
        for label in NODES:
            want = lb.nodes(label)
            pd.testing.assert_frame_equal(inc.nodes(label), want, obj=f"inc {label}")
            pd.testing.assert_frame_equal(full.nodes(label), want, obj=f"full {label}")
        for rel in RELS:
            want = lb.rels(rel)
            pd.testing.assert_frame_equal(inc.rels(rel), want, obj=f"inc {rel}")
            pd.testing.assert_frame_equal(full.rels(rel), want, obj=f"full {rel}")


@pytest.mark.neo4j
def test_increment_on_a_real_neo4j_server(split: Path, stores: tuple[Path, Path]) -> None:
    """Base, then increment, through ``pipeline.load`` into the server at ``NEO4J_URI`` (emptied first)."""
    import os

    uri = os.environ["NEO4J_URI"]
    with open_store(uri) as st:
        st.bulk_load(GraphFrames(), mode="replace")
    pipeline.load(split / "base", uri, quarantine_dir=split / "q_neo", mode="replace")
    pipeline.load(split / "inc", uri, quarantine_dir=split / "q_neo", mode="upsert")
    _, lbug_inc = stores
    with open_store(uri, read_only=True) as neo, open_store(lbug_inc, read_only=True) as lb:
        for label in NODES:
            pd.testing.assert_frame_equal(neo.nodes(label), lb.nodes(label), obj=label)
        for rel in RELS:
            pd.testing.assert_frame_equal(neo.rels(rel), lb.rels(rel), obj=rel)


@pytest.mark.neo4j
def test_gds_components_on_a_real_server(split: Path) -> None:
    """WCC on the server gives the same account-sharing groups as a local union-find."""
    import os

    import networkx as nx

    from ringwatch.graph.neo4j_store import Neo4jStore

    uri = os.environ["NEO4J_URI"]
    with open_store(uri) as st:
        assert isinstance(st, Neo4jStore)
        if st.gds_version() is None:
            pytest.skip("the server has no Graph Data Science plugin")
        st.bulk_load(GraphFrames(), mode="replace")
        pipeline.load(split / "full", uri, quarantine_dir=split / "q_gds", mode="replace")
        got = st.components(["HOLDS"])
        holds = st.rels("HOLDS", ["src", "dst"])
        people = st.nodes("Person", ["person_id"])
        accounts = st.nodes("Account", ["account_no"])
    g = nx.Graph()
    g.add_nodes_from(("Person", k) for k in people["person_id"])
    g.add_nodes_from(("Account", k) for k in accounts["account_no"])
    g.add_edges_from((("Person", s), ("Account", d)) for s, d in holds.itertuples(index=False))
    want = {frozenset(c) for c in nx.connected_components(g)}
    groups: dict[int, set[tuple[str, str]]] = {}
    for label, key, grp in got.itertuples(index=False):
        groups.setdefault(int(grp), set()).add((label, key))
    assert {frozenset(v) for v in groups.values()} == want


def test_a_failed_increment_leaves_the_previous_graph(
    split: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upsert writes a copy of the store and renames it over: a failure half-way changes nothing."""
    from ringwatch.errors import StoreError
    from ringwatch.graph import ladybug_cypher

    store = tmp_path / "s.lbug"
    pipeline.load(split / "base", str(store), quarantine_dir=tmp_path, mode="replace")
    with open_store(store, read_only=True) as st:
        before = {label: st.nodes(label) for label in NODES} | {rel: st.rels(rel) for rel in RELS}
    real = ladybug_cypher.copy_rel

    def failing(rel: str, pair: tuple[str, str] | None = None) -> str:
        # nodes and the first relationship types are written before this one fails
        return real(rel, pair) + (" (no_such_option=1)" if rel == "TREATED_AT" else "")

    monkeypatch.setattr(ladybug_cypher, "copy_rel", failing)
    with pytest.raises(StoreError):
        pipeline.load(split / "inc", str(store), quarantine_dir=tmp_path, mode="upsert")
    monkeypatch.undo()
    with open_store(store, read_only=True) as st:
        for name, frame in before.items():
            got = st.nodes(name) if name in NODES else st.rels(name)
            pd.testing.assert_frame_equal(got, frame, obj=name)
    assert not [p.name for p in tmp_path.iterdir() if ".upsert-" in p.name]
    pipeline.load(split / "inc", str(store), quarantine_dir=tmp_path, mode="upsert")  # and it can be rerun
    with open_store(store, read_only=True) as st:
        assert len(st.rels("TREATED_AT")) > len(before["TREATED_AT"])
