"""Dashboard benchmark: how long the investigator waits, on a real (large) store.

Measures, on ``--store`` / ``--alerts`` (e.g. the 1M-person demo):

1. loading ``alerts.jsonl`` into the alert table, with regions from store projections
   (what the first page view of a fresh server pays once);
2. filtering + sorting + slicing one page of the queue (every queue interaction);
3. per case, for the top ``--cases`` alerts: the evidence subgraph (``run_read`` of the
   alert's ``evidence_cypher`` + the masked canvas), expanding the member with the most
   neighbours (``neighbourhood(cap=--cap)``), and the bounded timeline queries;
4. optionally (``--apptest``) a full Streamlit AppTest run of the case view.

Without ``--store`` it builds the dashboard sample store with a ``--hub``-resident hub
address (default 10,000) in a temporary directory, so the capped expansion of a 10,000-node
neighbourhood is measured too.

Usage::

    python benchmarks/dashboard.py --store demo/out/ringwatch.lbug --alerts demo/out --cases 20 --apptest
    python benchmarks/dashboard.py --hub 10000
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ringwatch.dashboard import APP
from ringwatch.dashboard.alertdata import (
    AlertFilter,
    apply_filter,
    assign_regions,
    load_alerts,
    page_slice,
    sort_frame,
)
from ringwatch.dashboard.casedata import case_timeline
from ringwatch.dashboard.common import StoreHandle, _region_lookup
from ringwatch.dashboard.graphview import GraphCanvas
from ringwatch.dashboard.masking import mask_prop
from ringwatch.dashboard.sample import build_sample
from ringwatch.graph import open_store
from ringwatch.graph.schema import MEMBER_LABELS


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def summary(name: str, secs: list[float]) -> None:
    if not secs:
        print(f"{name:<34} (none)")
        return
    print(
        f"{name:<34} median {statistics.median(secs):7.3f} s   max {max(secs):7.3f} s   (n={len(secs)})",
        flush=True,
    )


def case_view(handle: StoreHandle, alert: dict[str, Any], cap: int) -> dict[str, Any]:
    """Evidence canvas + capped expansion of the busiest member + timeline, timed separately."""
    out: dict[str, Any] = {}

    def evidence() -> GraphCanvas:
        canvas = GraphCanvas(max_nodes=500)
        res = handle.run_read(alert["evidence_cypher"], limit=2000, timeout_s=60.0)
        canvas.add(res.graph)
        canvas.elements(mask_prop)
        return canvas

    canvas, out["evidence"] = timed(evidence)
    out["evidence_nodes"] = len(canvas.nodes)
    best: tuple[float, int, str, str] | None = None
    for mtype, ids in alert["members"].items():
        label = MEMBER_LABELS.get(mtype)
        for key in list(ids)[:5]:
            if label is None:
                continue
            sg, secs = timed(functools.partial(handle.neighbourhood, label, key, hops=1, cap=cap))
            size = len(sg.nodes) + sg.omitted
            if best is None or size > best[1]:
                best = (secs, size, label, key)
    if best is not None:
        out["expand"], out["expand_size"] = best[0], best[1]
    _tl, out["timeline"] = timed(lambda: case_timeline(handle, alert["members"]))
    return out


def apptest_case(store: str, alerts_dir: Path, alert_id: str, cases_db: Path) -> float:
    from streamlit.testing.v1 import AppTest

    os.environ.update(
        {"RINGWATCH_STORE": store, "RINGWATCH_ALERTS": str(alerts_dir), "RINGWATCH_CASES_DB": str(cases_db)}
    )
    os.environ.pop("RINGWATCH_USERS", None)
    at = AppTest.from_file(str(APP), default_timeout=600).run()
    at.session_state["alert_id"] = alert_id
    t0 = time.perf_counter()
    at.switch_page("page_case.py").run()
    secs = time.perf_counter() - t0
    if at.exception:
        raise RuntimeError(f"case view raised: {at.exception[0].message}")
    return secs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--store", help="embedded store path or neo4j:// URI (default: build a sample)")
    ap.add_argument("--alerts", type=Path, help="directory with alerts.jsonl")
    ap.add_argument("--cases", type=int, default=10, help="top alerts to open (per detector: the best)")
    ap.add_argument("--cap", type=int, default=100, help="neighbour expansion cap")
    ap.add_argument("--hub", type=int, default=10_000, help="hub size of the built sample store")
    ap.add_argument("--apptest", action="store_true", help="also time a full AppTest case-view run")
    args = ap.parse_args()

    tmp = None
    if args.store is None:
        tmp = tempfile.TemporaryDirectory(prefix="rw-dash-bench-")
        (store_path, alerts_dir), secs = timed(lambda: build_sample(Path(tmp.name), hub_residents=args.hub))
        store, alerts = str(store_path), alerts_dir
        print(f"built sample store with a {args.hub:,}-resident hub in {secs:.1f} s", flush=True)
    else:
        store, alerts = args.store, args.alerts or Path("out")

    handle = StoreHandle(open_store(store, read_only=True), store)
    table, secs_load = timed(lambda: load_alerts(alerts))
    _regions, secs_reg = timed(lambda: assign_regions(table, _region_lookup(handle, table)))
    print(f"{'load alerts.jsonl':<34} {secs_load:7.3f} s   ({len(table):,} alerts)")
    print(f"{'regions from store projections':<34} {secs_reg:7.3f} s")

    flt = AlertFilter(levels=["red", "orange"], score_range=(50.0, 100.0))
    page_secs = []
    for _ in range(5):
        _p, secs = timed(
            lambda: page_slice(sort_frame(apply_filter(table, flt, {}), "amount_at_risk", False), 3, 50)
        )
        page_secs.append(secs)
    summary("queue filter + sort + page", page_secs)

    frame = table.frame
    picks = list(frame.groupby("detector", sort=False).head(1)["alert_id"])
    picks += [a for a in frame["alert_id"].head(args.cases) if a not in picks]
    picks = picks[: max(args.cases, 1)]
    results: dict[str, list[float]] = {"evidence": [], "expand": [], "timeline": [], "total": []}
    largest = 0
    for aid in picks:
        alert = table.get(aid)
        assert alert is not None
        r = case_view(handle, alert, args.cap)
        for k in ("evidence", "expand", "timeline"):
            if k in r:
                results[k].append(r[k])
        results["total"].append(r["evidence"] + r.get("expand", 0.0) + r["timeline"])
        largest = max(largest, int(r.get("expand_size", 0)))
        print(
            f"  {aid:<40} evidence {r['evidence']:6.3f} s ({r['evidence_nodes']} nodes)  "
            f"expand {r.get('expand', 0.0):6.3f} s (neighbourhood {r.get('expand_size', 0):,})  "
            f"timeline {r['timeline']:6.3f} s",
            flush=True,
        )
    summary("case: evidence subgraph", results["evidence"])
    summary(f"case: expand (cap {args.cap})", results["expand"])
    summary("case: timeline", results["timeline"])
    summary("case: total store work", results["total"])
    print(f"largest neighbourhood expanded: {largest:,} nodes (at most {args.cap} drawn)")
    if tmp is not None:
        hub, secs = timed(
            lambda: handle.neighbourhood("Address", "北京市朝阳区幸福路1号康乐养老院", hops=1, cap=args.cap)
        )
        print(
            f"{'hub expand (cap ' + str(args.cap) + ')':<34} {secs:7.3f} s   ({len(hub.nodes)} drawn, {hub.omitted:,} not shown)"
        )
    if args.apptest and picks:
        with tempfile.TemporaryDirectory() as d:
            secs = apptest_case(store, Path(alerts), picks[0], Path(d) / "cases.sqlite")
        print(f"{'AppTest case view (first case)':<34} {secs:7.3f} s")
    print(
        json.dumps({"case_view_median_s": statistics.median(results["total"]) if results["total"] else None})
    )
    handle.store.close()
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
