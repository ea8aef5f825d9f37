"""Same data ⇒ same alerts: across runs, input row orders, and views (frames vs store)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ringwatch import pipeline, semantics
from ringwatch.detectors import REGISTRY, DetectContext, sort_alerts
from ringwatch.graph import open_store
from ringwatch.graph.base import GraphView
from ringwatch.loaders import load_directory
from ringwatch.synth import generate


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("det")
    generate(root / "data", seed=29, persons=3000)
    return root / "data"


def _alerts(view: GraphView) -> list[dict[str, object]]:
    ctx = DetectContext(view=view, ref_date=semantics.reference_date(view))
    found = [a for spec in REGISTRY.values() for a in spec.fn(view, ctx)]
    return [a.contract_dict() for a in sort_alerts(found)]


def test_shuffled_rows_give_identical_alert_files(data: Path, tmp_path: Path) -> None:
    shuffled = tmp_path / "shuffled"
    shuffled.mkdir()
    for f in sorted(data.glob("*.csv")):
        df = pd.read_csv(f, dtype=str, keep_default_na=False)
        df = df.sample(frac=1.0, random_state=5)[list(reversed(df.columns))]  # rows and columns reordered
        df.to_csv(shuffled / f.name, index=False)
    a = tmp_path / "a"
    b = tmp_path / "b"
    pipeline.run_fresh(data, a, a / "s.lbug")
    pipeline.run_fresh(shuffled, b, b / "s.lbug")
    text = (a / "alerts.jsonl").read_text(encoding="utf-8")
    assert text.count("\n") >= 35  # every planted case
    assert (b / "alerts.jsonl").read_text(encoding="utf-8") == text
    assert (b / "alerts.csv").read_bytes() == (a / "alerts.csv").read_bytes()


def test_frames_and_store_give_identical_alerts(data: Path, tmp_path: Path) -> None:
    frames = load_directory(data).frames
    from_frames = _alerts(frames)
    store = tmp_path / "s.lbug"
    with open_store(store) as st:
        st.create_schema()
        st.bulk_load(frames)
    with open_store(store, read_only=True) as st:
        from_store = _alerts(pipeline.CachedView(st))
    assert from_frames == from_store
    assert len({a["detector"] for a in from_frames}) == 7
