"""Streaming full loads: frames built section by section and copied while the rest is built.

The staged build must give exactly the frames of the all-at-once build, hand every frame to
the sink once (nodes before the relationships that use them), and the embedded store's
streaming writer must give the same graph as ``bulk_load``, keep the old graph on any
failure and leave no temporary file behind.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ringwatch import pipeline
from ringwatch.errors import StoreError
from ringwatch.graph import open_store
from ringwatch.graph.base import GraphFrames
from ringwatch.graph.schema import NODES, RELS
from ringwatch.loaders import build as build_mod
from ringwatch.loaders import load_directory
from ringwatch.synth import generate


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("stream")
    generate(root / "data", seed=41, persons=1000)
    return root / "data"


def _graph(st: object) -> dict[str, list[tuple[object, ...]]]:
    """Every node and relationship of a store or frame bundle as sorted rows of text."""
    out = {}
    for label in NODES:
        df = st.nodes(label)  # type: ignore[attr-defined]
        out[label] = sorted(tuple(map(str, r)) for r in df.astype(object).itertuples(index=False))
    for rel in RELS:
        df = st.rels(rel)  # type: ignore[attr-defined]
        out[rel] = sorted(tuple(map(str, r)) for r in df.astype(object).itertuples(index=False))
    return out


def test_staged_build_equals_all_at_once_and_feeds_sink_in_order(data_dir: Path) -> None:
    seen: list[tuple[str, str]] = []
    got: dict[str, pd.DataFrame] = {}

    def sink(kind: str, name: str, frame: pd.DataFrame) -> None:
        seen.append((kind, name))
        got[name] = frame

    streamed = load_directory(data_dir, sink=sink).frames
    plain = load_directory(data_dir).frames
    # every frame exactly once, and the very objects of the bundle
    assert sorted(n for _, n in seen) == sorted([*NODES, *RELS])
    for name, frame in {**streamed.node_frames, **streamed.rel_frames}.items():
        assert got[name] is frame
    for label in NODES:
        pd.testing.assert_frame_equal(streamed.node_frames[label], plain.node_frames[label])
    for rel in RELS:
        pd.testing.assert_frame_equal(streamed.rel_frames[rel], plain.rel_frames[rel])
    assert streamed.meta == plain.meta
    # a relationship never comes before the node frames it points at (when they have rows)
    order = [n for _, n in seen]
    for rel, rt in RELS.items():
        if len(streamed.rel_frames[rel]):
            assert order.index(rt.src) < order.index(rel) and order.index(rt.dst) < order.index(rel)
    # the person/identity frames come before the cleaning of most tables is over: first
    assert order[:2] == ["Person", "Identity"]


def test_streaming_load_equals_bulk_load(data_dir: Path, tmp_path: Path) -> None:
    s1 = pipeline.load(
        data_dir, str(tmp_path / "stream.lbug"), quarantine_dir=tmp_path / "q1", mode="replace"
    )
    frames = load_directory(data_dir, compact=True).frames
    with open_store(tmp_path / "bulk.lbug") as st:
        st.create_schema()
        written = st.bulk_load(frames)
    assert s1.written == written
    with (
        open_store(tmp_path / "stream.lbug", read_only=True) as a,
        open_store(tmp_path / "bulk.lbug", read_only=True) as b,
    ):
        assert _graph(a) == _graph(b)
        meta_a, meta_b = a.get_meta(), b.get_meta()
        meta_a.pop("loaded_inputs", None)
        assert meta_a == meta_b
    assert not list(tmp_path.glob("*.replace-*"))


def test_failure_mid_build_keeps_old_graph_and_creates_no_store(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "s.lbug"

    def broken(b: object) -> None:
        raise RuntimeError("injected failure while building provider frames")

    sections = tuple(
        (needs, broken if fn is build_mod._providers else fn) for needs, fn in build_mod.SECTIONS
    )
    monkeypatch.setattr(build_mod, "SECTIONS", sections)
    with pytest.raises(RuntimeError, match="injected"):
        pipeline.load(data_dir, str(store), quarantine_dir=tmp_path, mode="replace")
    # nothing created but the job lock file
    assert not store.exists() and [p.name for p in tmp_path.glob("s.lbug*")] == ["s.lbug.lock"]

    monkeypatch.undo()
    pipeline.load(data_dir, str(store), quarantine_dir=tmp_path, mode="replace")
    with open_store(store, read_only=True) as st:
        before = _graph(st)
    monkeypatch.setattr(build_mod, "SECTIONS", sections)
    with pytest.raises(RuntimeError, match="injected"):
        pipeline.load(data_dir, str(store), quarantine_dir=tmp_path, mode="replace")
    with open_store(store, read_only=True) as st:
        assert _graph(st) == before  # the old graph, untouched
    assert not list(tmp_path.glob("s.lbug.replace-*"))


def test_writer_refuses_dangling_endpoint_and_twice_given_frame(tmp_path: Path) -> None:
    good = GraphFrames.from_records(
        nodes={"Person": [{"person_id": "P1"}], "Account": [{"account_no": "A1"}]},
        rels={"HOLDS": [{"src": "P1", "dst": "A1"}]},
    )
    bad = GraphFrames.from_records(
        nodes={"Person": [{"person_id": "P1"}], "Account": [{"account_no": "A2"}]},
        rels={"HOLDS": [{"src": "P9", "dst": "A2"}]},
    )
    with open_store(tmp_path / "s.lbug") as st:
        st.create_schema()
        with st.bulk_writer("replace") as w:
            w.add("node", "Person", good.node_frames["Person"])
            w.add("node", "Account", good.node_frames["Account"])
            w.add("rel", "HOLDS", good.rel_frames["HOLDS"])
            assert w.commit(good)["HOLDS"] == 1
        with pytest.raises(StoreError, match="HOLDS: 1 src key"), st.bulk_writer("replace") as w:
            for label, frame in bad.node_frames.items():
                w.add("node", label, frame)
            w.add("rel", "HOLDS", bad.rel_frames["HOLDS"])
            w.commit(bad)
        w = st.bulk_writer("replace")
        w.add("node", "Person", good.node_frames["Person"])
        with pytest.raises(StoreError, match="twice"):
            w.add("node", "Person", good.node_frames["Person"])
        w.abort()
        assert list(st.rels("HOLDS")["dst"]) == ["A1"]  # the committed graph, untouched
        assert "P9" not in set(st.nodes("Person")["person_id"])
    assert not list(tmp_path.glob("s.lbug.replace-*"))


def test_frames_in_memory_store_collect_and_commit(tmp_path: Path) -> None:
    frames = GraphFrames.from_records(
        nodes={"Person": [{"person_id": "P1"}], "Account": [{"account_no": "A1"}]},
        rels={"HOLDS": [{"src": "P1", "dst": "A1"}]},
    )
    with open_store(":memory:") as st:
        st.create_schema()
        with st.bulk_writer("replace") as w:
            for label, frame in frames.node_frames.items():
                w.add("node", label, frame)
            w.commit(frames)
        assert list(st.rels("HOLDS")["src"]) == ["P1"]
