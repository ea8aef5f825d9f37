"""Load benchmark: `ringwatch load` versus the raw LadybugDB COPY rate of the same tables.

For each size it generates synthetic tables (cached under --workdir), then in separate
processes (so peak memory is per step):

1. ``ringwatch load`` end to end: read CSV, validate, normalise, quarantine, build frames,
   COPY into a fresh embedded store;
2. raw COPY: the same node/relationship frames (built beforehand, not timed) copied into an
   empty store with plain ``COPY <table> FROM <arrow table>`` statements and nothing else
   (node tables single-threaded and the same buffer pool as the store, as the store does).

Prints input rows/s for (1), graph rows/s for (2), the ratio, seconds and peak RSS.

Usage::

    python benchmarks/load.py --sizes 100000 1000000
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

RAW_COPY = r"""
import json, sys, time
from pathlib import Path
import ladybug
import pyarrow as pa
from ringwatch.graph import open_store
from ringwatch.graph.ladybug_store import buffer_pool_bytes
from ringwatch.graph.schema import NODES, RELS
from ringwatch.loaders import load_directory

data, store = Path(sys.argv[1]), sys.argv[2]
frames = load_directory(data).frames
with open_store(store) as st:
    st.create_schema()
db = ladybug.Database(store, buffer_pool_size=buffer_pool_bytes())
conn = ladybug.Connection(db)
conn1 = ladybug.Connection(db)
conn1.set_max_threads_for_exec(1)  # ladybug 0.22: node COPY with STRING keys can hang multi-threaded
rows = 0
t0 = time.perf_counter()
for label in NODES:
    df = frames.node_frames.get(label)
    if df is not None and len(df):
        tbl = pa.Table.from_pandas(df, preserve_index=False)
        conn1.execute(f"COPY {label} FROM tbl")
        rows += len(df)
for rel in RELS:
    df = frames.rel_frames.get(rel)
    if df is not None and len(df):
        tbl = pa.Table.from_pandas(df, preserve_index=False)
        conn.execute(f"COPY {rel} FROM tbl")
        rows += len(df)
secs = time.perf_counter() - t0
import resource
print(json.dumps({"graph_rows": rows, "seconds": secs,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

LOAD = r"""
import json, sys, time
from pathlib import Path
from ringwatch import pipeline
data, store, out = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
t0 = time.perf_counter()
s = pipeline.load(data, store, quarantine_dir=out, mode="replace")
secs = time.perf_counter() - t0
import resource
print(json.dumps({"input_rows": s.rows_in, "quarantined": s.quarantined, "graph_rows": sum(s.written.values()),
                  "seconds": secs, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_child(code: str, *args: str) -> dict[str, float]:
    """Run ``code`` in a fresh interpreter; return its JSON line (with its own peak RSS)."""
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"child failed with exit code {proc.returncode}")
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--workdir", type=Path, default=Path("benchmarks/.work"))
    args = ap.parse_args()

    from ringwatch.synth import generate

    rows = []
    for n in args.sizes:
        data = args.workdir / f"data-{n}"
        if not (data / "persons.csv").exists():
            t0 = time.perf_counter()
            generate(data, seed=args.seed, persons=n)
            print(f"generated {n:,} persons in {time.perf_counter() - t0:.1f}s", flush=True)
        store_dir = args.workdir / f"store-{n}"
        shutil.rmtree(store_dir, ignore_errors=True)
        store_dir.mkdir(parents=True)
        load_res = run_child(LOAD, str(data), str(store_dir / "load.lbug"), str(store_dir))
        raw_res = run_child(RAW_COPY, str(data), str(store_dir / "raw.lbug"))
        load_rate = load_res["graph_rows"] / load_res["seconds"]
        raw_rate = raw_res["graph_rows"] / raw_res["seconds"]
        rows.append(
            {
                "persons": n,
                "input_rows": int(load_res["input_rows"]),
                "graph_rows": int(load_res["graph_rows"]),
                "load_s": load_res["seconds"],
                "load_input_rows_per_s": load_res["input_rows"] / load_res["seconds"],
                "load_graph_rows_per_s": load_rate,
                "raw_copy_s": raw_res["seconds"],
                "raw_copy_rows_per_s": raw_rate,
                "ratio": load_rate / raw_rate,
                "peak_rss_mb": load_res["peak_mb"],
            }
        )
        shutil.rmtree(store_dir, ignore_errors=True)

    print()
    print(
        "| persons | input rows | graph rows | ringwatch load (s) | load rows/s (graph) | "
        "raw COPY (s) | raw COPY rows/s | load / raw | peak RSS (MB) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['persons']:,} | {r['input_rows']:,} | {r['graph_rows']:,} | {r['load_s']:.1f} | "
            f"{r['load_graph_rows_per_s']:,.0f} | {r['raw_copy_s']:.1f} | {r['raw_copy_rows_per_s']:,.0f} | "
            f"{r['ratio']:.0%} | {r['peak_rss_mb']:,.0f} |"
        )
    for r in rows:
        ok_ratio = r["ratio"] >= 0.5
        ok_time = r["persons"] < 1_000_000 or r["load_s"] <= 60
        print(
            f"{r['persons']:,} persons: load/raw {r['ratio']:.0%} ({'ok' if ok_ratio else 'BELOW'} ≥ 50%), "
            f"{r['load_s']:.1f}s ({'ok' if ok_time else 'OVER'} ≤ 60 s at 1M)"
        )


if __name__ == "__main__":
    main()
