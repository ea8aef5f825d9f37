"""Connected components through the graph layer: local (scipy) or on the server (GDS WCC), same answer.

``ringwatch.graph.algorithms.weak_components`` asks a view that offers
``GraphAlgorithms`` (``Neo4jStore`` with GDS, passed on by ``CachedView``) and computes
locally otherwise; both answers are renumbered canonically. The Neo4j path runs through the
fake driver and the in-memory simulator (``tests/neo4j_sim.py``), whose WCC hands out
non-canonical component ids like a real server.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any

import networkx as nx
import pandas as pd
import pytest
from fake_neo4j import FakeNeo4j, server_error
from neo4j_sim import GraphSim

from ringwatch import pipeline, semantics
from ringwatch.detectors import REGISTRY, DetectContext, sort_alerts
from ringwatch.detectors import _identity as idt
from ringwatch.errors import StoreError
from ringwatch.graph import GraphFrames
from ringwatch.graph.algorithms import canonical_components, local_weak_components, weak_components
from ringwatch.graph.base import GraphAlgorithms, GraphView
from ringwatch.graph.neo4j_store import Neo4jStore

Edge = tuple[str | None, str | None]


def frames_of(edges: list[Edge], loners: tuple[str, ...] = ()) -> GraphFrames:
    """Identity nodes (every edge end and the ``loners``) and RENUMBERED_TO edges."""
    keys = sorted({k for e in edges for k in e if k is not None} | set(loners))
    return GraphFrames.from_records(
        nodes={"Identity": [{"id_number": k} for k in keys]},
        rels={"RENUMBERED_TO": [{"src": s, "dst": d, "reason": "test"} for s, d in edges]},
    )


def as_rows(df: pd.DataFrame) -> list[tuple[str, int]]:
    return [(str(k), int(c)) for k, c in df.itertuples(index=False)]


def partition(df: pd.DataFrame) -> set[frozenset[str]]:
    return {frozenset(g["key"]) for _, g in df.groupby("comp")}


def random_edges(rng: random.Random, n_nodes: int, n_edges: int) -> list[Edge]:
    keys = [f"{rng.randrange(10**6):06d}{rng.choice('0123456789X')}" for _ in range(n_nodes)]
    return [(rng.choice(keys), rng.choice(keys)) for _ in range(n_edges)]


# a chain written backwards, a self-loop, a duplicate edge, lower case after upper case
# (byte order), a non-ASCII key after all ASCII ones, and a number on no edge
HAND: list[Edge] = [
    ("C", "B"),
    ("B", "A"),
    ("A", "B"),
    ("D", "D"),
    ("G", "F"),
    ("E", "F"),
    ("a", "Z"),
    ("身份", "b"),
]
HAND_WANT = [
    ("A", 0),
    ("B", 0),
    ("C", 0),
    ("D", 1),
    ("E", 2),
    ("F", 2),
    ("G", 2),
    ("Z", 3),
    ("a", 3),
    ("b", 4),
    ("身份", 4),
]


# -- local path ------------------------------------------------------------------------------------
def test_local_components_known_answer() -> None:
    frames = frames_of([*HAND, (None, "Q"), ("R", None)], loners=("LONER",))
    got = weak_components(frames, "Identity", "RENUMBERED_TO")
    assert as_rows(got) == HAND_WANT  # edges with a missing end and the loner are left out
    assert got["key"].dtype == object and got["comp"].dtype == "int64"
    assert not isinstance(frames, GraphAlgorithms)
    # renumber_components (identity_chain, duplicate_benefit) is this table under its own name
    ren = idt.renumber_components(frames)
    assert list(ren.columns) == ["id_number", "comp"]
    assert as_rows(ren.rename(columns={"id_number": "key"})) == HAND_WANT


def test_local_components_match_networkx() -> None:
    rng = random.Random(3)
    for n_nodes, n_edges in ((1, 1), (5, 3), (40, 30), (300, 200), (300, 600)):
        edges = random_edges(rng, n_nodes, n_edges)
        got = local_weak_components(frames_of(edges), "RENUMBERED_TO")
        g = nx.Graph()
        g.add_edges_from(edges)
        assert partition(got) == {frozenset(c) for c in nx.connected_components(g)}
        keys = got["key"].tolist()
        assert keys == sorted(keys)
        # canonical: component k is the k-th new one met in key order
        firsts = got.drop_duplicates("comp")["comp"].tolist()
        assert firsts == list(range(len(firsts)))
        # row order of the input does not matter
        shuffled = list(edges)
        rng.shuffle(shuffled)
        pd.testing.assert_frame_equal(local_weak_components(frames_of(shuffled), "RENUMBERED_TO"), got)


def test_empty_graph_gives_an_empty_table() -> None:
    got = weak_components(frames_of([], loners=("A",)), "Identity", "RENUMBERED_TO")
    assert got.empty and list(got.columns) == ["key", "comp"] and got["comp"].dtype == "int64"


def test_canonical_components_renumbers_any_ids() -> None:
    got = canonical_components(["F", "A", "B", None, "E"], [9, 4, 9, 1, -3])
    assert as_rows(got) == [("A", 0), ("B", 1), ("E", 2), ("F", 1)]
    with pytest.raises(StoreError, match="twice"):
        canonical_components(["A", "A"], [1, 2])


def test_only_a_relationship_within_one_label() -> None:
    frames = frames_of(HAND)
    with pytest.raises(ValueError, match="does not link"):
        weak_components(frames, "Person", "HOLDS")
    with pytest.raises(ValueError, match="does not link"):
        weak_components(frames, "Person", "RENUMBERED_TO")


# -- Neo4j path (fake driver + simulator) -------------------------------------------------------------
def sim_store(
    monkeypatch: pytest.MonkeyPatch, frames: GraphFrames, gds: str | None
) -> tuple[Neo4jStore, FakeNeo4j, GraphSim]:
    fake, sim = FakeNeo4j(), GraphSim(gds=gds)
    sim.install(monkeypatch, fake)
    store = Neo4jStore("neo4j://fake:7687", driver=fake.driver(), batch_size=500)
    store.bulk_load(frames, mode="replace")
    return store, fake, sim


def test_gds_path_equals_local(monkeypatch: pytest.MonkeyPatch) -> None:
    edges = [*HAND, *random_edges(random.Random(5), 200, 150)]
    frames = frames_of(edges, loners=("LONER",))
    store, fake, sim = sim_store(monkeypatch, frames, gds="2.6.0")
    assert isinstance(store, GraphAlgorithms)
    raw = store.weak_components("Identity", "RENUMBERED_TO")
    assert raw is not None and list(raw.columns) == ["key", "group"]
    want = local_weak_components(frames, "RENUMBERED_TO")
    assert sorted(raw["key"]) == want["key"].tolist()  # the same nodes ...
    assert raw["group"].min() >= 1000  # ... with the server's own, non-canonical ids
    before = dict(sim.statements)
    got = weak_components(store, "Identity", "RENUMBERED_TO")
    pd.testing.assert_frame_equal(got, want)
    assert got["comp"].nunique() > 10
    assert sim.statements["gds_wcc_keys"] == before["gds_wcc_keys"] + 1
    assert sim.statements.get("rels_of_sources", 0) == before.get("rels_of_sources", 0)  # no edges read
    assert sim.projections == {}  # every projection dropped
    calls = [c for c in fake.committed if "gds." in c.query and "gds.version" not in c.query]
    assert all(c.mode == "READ" for c in calls)
    project = fake.committed_matching(r"^CALL gds.graph.project")[-1]
    assert project.params["labels"] == ["Identity"]
    assert project.params["rels"] == {"RENUMBERED_TO": {"type": "RENUMBERED_TO", "orientation": "UNDIRECTED"}}
    assert sim.statements["gds_version"] == 1  # asked once per store


def test_without_gds_the_local_path_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    frames = frames_of(HAND)
    store, fake, sim = sim_store(monkeypatch, frames, gds=None)
    assert store.gds_version() is None
    assert store.weak_components("Identity", "RENUMBERED_TO") is None
    got = weak_components(store, "Identity", "RENUMBERED_TO")
    assert as_rows(got) == HAND_WANT
    assert not fake.committed_matching(r"gds\.(graph|wcc)")
    assert sim.statements["rels_of_sources"] >= 1  # computed from the edge frame
    with pytest.raises(StoreError, match="Graph Data Science"):
        store.components(["RENUMBERED_TO"])


def test_a_failing_gds_call_falls_back_and_drops_its_projection(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    frames = frames_of(HAND)
    store, fake, sim = sim_store(monkeypatch, frames, gds="2.6.0")
    fake.fail_once(r"^CALL gds.wcc.stream", server_error("Neo.ClientError.Procedure.ProcedureCallFailed"))
    with caplog.at_level(logging.WARNING, logger="ringwatch.graph.algorithms"):
        got = weak_components(store, "Identity", "RENUMBERED_TO")
    assert as_rows(got) == HAND_WANT
    assert "computing them locally" in caplog.text
    assert sim.projections == {}
    # a transient error is retried by the managed transaction; the failed attempt's projection goes too
    fake.fail_once(r"^CALL gds.wcc.stream", server_error("Neo.TransientError.General.DatabaseUnavailable"))
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        got = weak_components(store, "Identity", "RENUMBERED_TO")
    assert as_rows(got) == HAND_WANT and not caplog.text
    assert fake.retries == 1 and sim.projections == {}


def test_stream_and_drop_failures_still_drop(monkeypatch: pytest.MonkeyPatch) -> None:
    """The drop inside the transaction failing leaves the projection to the clean-up transaction."""
    store, fake, sim = sim_store(monkeypatch, frames_of(HAND), gds="2.6.0")
    fake.fail_once(r"^CALL gds.graph.drop", server_error("Neo.ClientError.Procedure.ProcedureCallFailed"))
    with pytest.raises(StoreError):
        store.weak_components("Identity", "RENUMBERED_TO")
    assert sim.projections == {}


def test_cached_view_passes_the_capability_on(monkeypatch: pytest.MonkeyPatch) -> None:
    frames = frames_of(HAND)
    store, _, sim = sim_store(monkeypatch, frames, gds="2.6.0")
    view = pipeline.CachedView(store)
    assert isinstance(view, GraphAlgorithms)
    assert as_rows(weak_components(view, "Identity", "RENUMBERED_TO")) == HAND_WANT
    assert as_rows(weak_components(view, "Identity", "RENUMBERED_TO")) == HAND_WANT
    assert sim.statements["gds_wcc_keys"] == 1  # memoised for the run
    # a wrapped store without the capability: None, and the graph layer computes locally
    plain = pipeline.CachedView(frames)
    assert plain.weak_components("Identity", "RENUMBERED_TO") is None
    assert as_rows(weak_components(plain, "Identity", "RENUMBERED_TO")) == HAND_WANT


# -- detectors: identical alerts with and without GDS ----------------------------------------------------
_NODES = ("Person", "Identity", "Benefit", "Account", "Phone", "Address")
_RELS = ("HAS_IDENTITY", "RENUMBERED_TO", "RECEIVES", "PAID_TO", "USES_PHONE", "LIVES_AT")


@pytest.fixture(scope="module")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> GraphFrames:
    """The synthetic data's people who draw benefits or were renumbered, and what the two detectors read."""
    from ringwatch.loaders import load_directory
    from ringwatch.synth import generate

    root = tmp_path_factory.mktemp("gds")
    generate(root / "data", seed=11, persons=1000, truth_path=root / "truth.jsonl")
    full = load_directory(root / "data").frames
    ren = full.rels("RENUMBERED_TO")
    ident = full.nodes("Identity")
    numbers = set(ren["src"]) | set(ren["dst"]) | set(full.nodes("Benefit")["id_number"])
    persons = set(ident.loc[ident["id_number"].isin(numbers), "person_id"].dropna())
    nf = {label: full.nodes(label) for label in _NODES}
    nf["Person"] = nf["Person"][nf["Person"]["person_id"].isin(persons)]
    nf["Identity"] = nf["Identity"][nf["Identity"]["person_id"].isin(persons)]
    rf = {rel: full.rels(rel) for rel in _RELS}
    for rel in ("HAS_IDENTITY", "USES_PHONE", "LIVES_AT"):
        rf[rel] = rf[rel][rf[rel]["src"].isin(persons)]
    for label, rel in (("Phone", "USES_PHONE"), ("Address", "LIVES_AT"), ("Account", "PAID_TO")):
        key = nf[label].columns[0]
        nf[label] = nf[label][nf[label][key].isin(set(rf[rel]["dst"]))]
    frames = GraphFrames(
        {k: v.reset_index(drop=True) for k, v in nf.items()},
        {k: v.reset_index(drop=True) for k, v in rf.items()},
        full.loaded_tables,
        dict(full.meta),
    )
    assert sum(len(v) for v in frames.node_frames.values()) + sum(len(v) for v in rf.values()) < 5000
    return frames


def _alerts(view: GraphView, **params: Any) -> list[dict[str, Any]]:
    ctx = DetectContext(view=view, ref_date=semantics.reference_date(view), params=params)
    found = [a for name in ("identity_chain", "duplicate_benefit") for a in REGISTRY[name].fn(view, ctx)]
    return [a.contract_dict() for a in sort_alerts(found)]


@pytest.mark.parametrize("exclude_renumbered", [False, True])
def test_detector_alerts_are_identical_with_and_without_gds(
    small_world: GraphFrames, monkeypatch: pytest.MonkeyPatch, exclude_renumbered: bool
) -> None:
    params = {"duplicate_benefit": {"exclude_renumbered": exclude_renumbered}}
    want = _alerts(small_world, **params)
    assert {a["detector"] for a in want} == {"identity_chain", "duplicate_benefit"}
    with_gds, _, sim = sim_store(monkeypatch, small_world, gds="2.6.0")
    assert _alerts(pipeline.CachedView(with_gds), **params) == want
    assert sim.statements["gds_wcc_keys"] == 1 and sim.projections == {}
    without, _, sim2 = sim_store(monkeypatch, small_world, gds=None)
    assert _alerts(pipeline.CachedView(without), **params) == want
    assert "gds_wcc_keys" not in sim2.statements


# -- a real server --------------------------------------------------------------------------------------
@pytest.mark.neo4j
def test_gds_components_on_a_real_server(tmp_path: Path) -> None:
    """GDS WCC on the server at ``NEO4J_URI`` (emptied first) equals the local answer."""
    import os

    from ringwatch.graph import open_store

    edges = [*HAND, *random_edges(random.Random(8), 300, 250)]
    frames = frames_of(edges, loners=("LONER",))
    with open_store(os.environ["NEO4J_URI"]) as st:
        assert isinstance(st, Neo4jStore)
        if st.gds_version() is None:
            pytest.skip("the server has no Graph Data Science plugin")
        st.bulk_load(frames, mode="replace")
        raw = st.weak_components("Identity", "RENUMBERED_TO")
        got = weak_components(st, "Identity", "RENUMBERED_TO")
    assert raw is not None and len(raw) == len(got)
    pd.testing.assert_frame_equal(got, local_weak_components(frames, "RENUMBERED_TO"))
