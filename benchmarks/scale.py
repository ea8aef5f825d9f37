"""Scale benchmark: load and detect time, peak memory and how cost grows with size.

For each size it generates synthetic tables (cached under ``--workdir``), then runs each
step in a fresh interpreter, so every peak RSS (``ru_maxrss`` of the child) is the step's own:

1. ``load``: ``ringwatch load --replace`` into a fresh embedded store (read, validate,
   build frames, copy);
2. ``detect``: every detector on that store, alert files written;
3. ``increment`` (unless ``--no-increment``): the data set split into a base extract and a
   nightly increment of about ``--increment-share`` of the rows (new persons with all their
   rows, new claims/activities/accounts of existing people, the latest payment month of
   every benefit, deaths of existing persons, changed rows with end dates; see
   ``tests/increment_data.py``); the base is loaded (not timed) and the increment upserted
   into it (timed, with its own peak RSS).

Prints a markdown table (persons, input rows, load s, detect s, total s, peak RSS MB,
increment rows and seconds) and the growth exponent ``k`` between consecutive sizes
(cost ∝ size^k: 1 is linear). The machine's load average before and after each size is
printed too: other jobs on the same cores make every figure slower.

Usage::

    python benchmarks/scale.py                       # 100k and 1M persons
    python benchmarks/scale.py --sizes 100000 1000000 3000000
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from ringwatch import pipeline
step, data, store, out = sys.argv[1], Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
t0 = time.perf_counter()
res = {}
if step in ("load", "base"):
    s = pipeline.load(data, store, quarantine_dir=out, mode="replace")
    res = {"input_rows": s.rows_in, "quarantined": s.quarantined, "graph_rows": sum(s.written.values())}
elif step == "increment":
    s = pipeline.load(data, store, quarantine_dir=out, mode="upsert")
    res = {"input_rows": s.rows_in, "quarantined": s.quarantined, "graph_rows": sum(s.written.values())}
elif step == "detect":
    s = pipeline.detect(store, out)
    res = {"alerts": s.alerts, "by_detector": s.seconds_by_detector}
res["seconds"] = time.perf_counter() - t0
res["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(res))
"""


def run_child(*args: str) -> dict[str, Any]:
    """Run one step in a fresh interpreter; return its JSON line (with its own peak RSS)."""
    proc = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"step {args[0]} failed with exit code {proc.returncode}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def load_average() -> str:
    """The 1-minute load average (how busy the shared cores were)."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "?"


def exponent(n1: float, n2: float, v1: float, v2: float) -> float:
    """``k`` in ``v ∝ n^k`` between two sizes."""
    return math.log(v2 / v1) / math.log(n2 / n1) if v1 > 0 and v2 > 0 and n2 != n1 else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/ringwatch-scale"))
    ap.add_argument("--no-increment", action="store_true", help="Skip the incremental-load step.")
    ap.add_argument("--increment-share", type=float, default=0.01)
    ap.add_argument("--keep", action="store_true", help="Keep the stores afterwards.")
    args = ap.parse_args()

    from ringwatch.synth import generate

    sys.path.insert(0, str(REPO / "tests"))
    from increment_data import split_dataset

    rows: list[dict[str, Any]] = []
    for n in args.sizes:
        data = args.workdir / f"data-{n}"
        if not (data / "persons.csv").exists():
            t0 = time.perf_counter()
            generate(data, seed=args.seed, persons=n, truth_path=args.workdir / f"data-{n}.truth.jsonl")
            print(f"generated {n:,} persons in {time.perf_counter() - t0:.1f}s", flush=True)
        work = args.workdir / f"run-{n}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        before = load_average()
        load = run_child("load", str(data), str(work / "full.lbug"), str(work / "out"))
        print(f"{n:,}: load {load['seconds']:.1f}s, peak {load['peak_mb']:,.0f} MB", flush=True)
        det = run_child("detect", str(data), str(work / "full.lbug"), str(work / "out"))
        print(f"{n:,}: detect {det['seconds']:.1f}s, peak {det['peak_mb']:,.0f} MB", flush=True)
        row: dict[str, Any] = {
            "persons": n,
            "input_rows": load["input_rows"],
            "load_s": load["seconds"],
            "detect_s": det["seconds"],
            "load_mb": load["peak_mb"],
            "detect_mb": det["peak_mb"],
            "by_detector": det["by_detector"],
        }
        if not args.no_increment:
            split = args.workdir / f"split-{n}"
            if not (split / "inc" / "payments.csv").exists():
                shutil.rmtree(split, ignore_errors=True)
                split_dataset(
                    data, split / "base", split / "inc", fraction=args.increment_share, seed=args.seed
                )
            run_child("base", str(split / "base"), str(work / "inc.lbug"), str(work / "q"))
            inc = run_child("increment", str(split / "inc"), str(work / "inc.lbug"), str(work / "q"))
            print(
                f"{n:,}: increment of {inc['input_rows']:,} rows {inc['seconds']:.1f}s, "
                f"peak {inc['peak_mb']:,.0f} MB",
                flush=True,
            )
            row.update(inc_rows=inc["input_rows"], inc_s=inc["seconds"], inc_mb=inc["peak_mb"])
        row["load_avg"] = f"{before} → {load_average()}"
        rows.append(row)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    print()
    print(
        "| persons | input rows | load (s) | detect (s) | total (s) | peak RSS load (MB) | "
        "peak RSS detect (MB) | increment rows | increment (s) | increment peak (MB) | load avg |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        inc_cols = (
            f"{r['inc_rows']:,} | {r['inc_s']:.1f} | {r['inc_mb']:,.0f}" if "inc_s" in r else "– | – | –"
        )
        print(
            f"| {r['persons']:,} | {r['input_rows']:,} | {r['load_s']:.1f} | {r['detect_s']:.1f} | "
            f"{r['load_s'] + r['detect_s']:.1f} | {r['load_mb']:,.0f} | {r['detect_mb']:,.0f} | "
            f"{inc_cols} | {r['load_avg']} |"
        )
    for a, b in zip(rows, rows[1:], strict=False):
        na, nb = float(a["persons"]), float(b["persons"])
        parts = []
        for label, key in (("load", "load_s"), ("detect", "detect_s"), ("load peak RSS", "load_mb")):
            parts.append(f"{label} k={exponent(na, nb, float(a[key]), float(b[key])):.2f}")
        total_a = float(a["load_s"]) + float(a["detect_s"])
        total_b = float(b["load_s"]) + float(b["detect_s"])
        parts.append(f"total k={exponent(na, nb, total_a, total_b):.2f}")
        print(f"growth {int(na):,} → {int(nb):,} persons: " + ", ".join(parts) + "  (1.00 = linear)")
    for r in rows:
        total = float(r["load_s"]) + float(r["detect_s"])
        peak = max(float(r["load_mb"]), float(r["detect_mb"]))
        if int(r["persons"]) == 1_000_000:
            print(
                f"1M persons end to end {total:.0f}s ({'ok' if total <= 180 else 'OVER'} ≤ 180 s), "
                f"peak {peak:,.0f} MB ({'ok' if peak <= 8192 else 'OVER'} ≤ 8 GB)"
            )
        print(f"{int(r['persons']):,} detector seconds: {json.dumps(r['by_detector'])}")


if __name__ == "__main__":
    main()
