"""Detection quality against planted truth: recall, precision and decoy hits per detector.

Two modes::

    # score an existing run
    python benchmarks/quality.py --alerts OUT/alerts.jsonl --truth DATA.truth.jsonl [--details]

    # generate data per seed, run `ringwatch run`, score, and average over seeds
    python benchmarks/quality.py --seeds 101 102 103 --persons 20000 [--workdir DIR]

Matching follows docs/CASES.md (key members per detector, typed ids, Jaccard >= 0.5,
one-to-one, best first). The last line says PASS or FAIL against recall >= 0.95 and
precision >= 0.90 for every detector; the exit code is 0 on PASS, 1 on FAIL.
"""

from __future__ import annotations

import argparse
import math
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from ringwatch.synth import generate
from ringwatch.synth.quality import details, load_jsonl, passes, score, totals

MIN_RECALL = 0.95
MIN_PRECISION = 0.90


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return "–" if math.isnan(v) else f"{v:.3f}"
    return str(v)


def markdown(df: pd.DataFrame) -> str:
    """A DataFrame as a GitHub markdown table (floats with 3 decimals, NaN as –)."""
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(_fmt(v) for v in row) + " |")
    return "\n".join(lines)


def with_total(table: pd.DataFrame) -> pd.DataFrame:
    """The score table plus a micro-averaged ``all`` row."""
    tot = {"detector": "all", **totals(table)}
    return pd.concat([table, pd.DataFrame([tot])], ignore_index=True)


def misses(alerts: list[dict], truth: list[dict]) -> pd.DataFrame:
    """Per detector, kind and variant: how many entries were matched (cases found, decoys hit)."""
    d = details(alerts, truth)
    d["matched"] = d["alert_id"].notna()
    g = d.groupby(["detector", "kind", "variant"], sort=True)["matched"].agg(["count", "sum"]).reset_index()
    return g.rename(columns={"count": "entries", "sum": "matched"})


def verdict(table: pd.DataFrame) -> str:
    ok = passes(table, MIN_RECALL, MIN_PRECISION)
    return (
        f"{'PASS' if ok else 'FAIL'}: recall >= {MIN_RECALL} and precision >= {MIN_PRECISION} "
        f"for every detector ({'met' if ok else 'not met'})"
    )


def ringwatch_command() -> list[str]:
    """The ``ringwatch`` console script beside this interpreter, else ``python -m ringwatch.cli``."""
    script = Path(sys.executable).parent / "ringwatch"
    if script.exists():
        return [str(script)]
    found = shutil.which("ringwatch")
    return [found] if found else [sys.executable, "-m", "ringwatch.cli"]


def score_files(alerts_path: Path, truth_path: Path, show_details: bool) -> int:
    alerts = load_jsonl(alerts_path)
    truth = load_jsonl(truth_path)
    table = score(alerts, truth)
    print(markdown(with_total(table)))
    if show_details:
        print()
        print(markdown(misses(alerts, truth)))
    print(verdict(table))
    return 0 if passes(table, MIN_RECALL, MIN_PRECISION) else 1


def run_seeds(seeds: list[int], persons: int, workdir: Path, show_details: bool) -> int:
    tables: list[pd.DataFrame] = []
    failed: list[int] = []
    for seed in seeds:
        base = workdir / f"seed{seed}_{persons}"
        data, out, truth = base / "data", base / "out", base / "truth.jsonl"
        t0 = time.perf_counter()
        if not (data / "persons.csv").exists() or not truth.exists():
            summary = generate(data, seed=seed, persons=persons, truth_path=truth)
            print(f"seed {seed}: generated {summary}")
        t1 = time.perf_counter()
        if out.exists():
            shutil.rmtree(out)
        proc = subprocess.run(
            [*ringwatch_command(), "run", str(data), "--out", str(out)],
            capture_output=True,
            text=True,
            check=False,
        )
        t2 = time.perf_counter()
        if proc.returncode != 0:
            print(f"seed {seed}: `ringwatch run` failed with exit code {proc.returncode}")
            print("\n".join(proc.stderr.strip().splitlines()[-15:]))
            failed.append(seed)
            continue
        alerts = load_jsonl(out / "alerts.jsonl")
        truth_rows = load_jsonl(truth)
        table = score(alerts, truth_rows)
        tables.append(table)
        print(f"\n### seed {seed} ({persons:,} persons; generate {t1 - t0:.1f}s, run {t2 - t1:.1f}s)\n")
        print(markdown(with_total(table)))
        if show_details:
            print()
            print(markdown(misses(alerts, truth_rows)))
    if not tables:
        print("FAIL: no run completed")
        return 1
    cat = pd.concat(tables)
    mean = (
        cat.groupby("detector", sort=False)
        .agg(
            cases=("cases", "sum"),
            decoys=("decoys", "sum"),
            alerts=("alerts", "sum"),
            matched_cases=("matched_cases", "sum"),
            recall=("recall", "mean"),
            precision=("precision", "mean"),
            decoys_hit=("decoys_hit", "sum"),
        )
        .reset_index()
    )
    print(f"\n### mean over {len(tables)} seed(s) (counts summed, recall/precision averaged)\n")
    print(markdown(mean))
    if failed:
        print(f"\nseeds whose run failed: {failed}")
    print(verdict(mean) if not failed else "FAIL: some runs failed")
    return 0 if passes(mean, MIN_RECALL, MIN_PRECISION) and not failed else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--alerts", type=Path, help="alerts.jsonl of a run")
    ap.add_argument("--truth", type=Path, help="truth.jsonl written by `ringwatch generate`")
    ap.add_argument("--seeds", type=int, nargs="+", help="generate, run and score these seeds")
    ap.add_argument("--persons", type=int, default=20000)
    ap.add_argument("--workdir", type=Path, help="where data and runs go (default: a temporary directory)")
    ap.add_argument(
        "--details", action="store_true", help="also print matches per detector, kind and variant"
    )
    args = ap.parse_args()
    if args.alerts or args.truth:
        if not (args.alerts and args.truth):
            ap.error("--alerts and --truth go together")
        return score_files(args.alerts, args.truth, args.details)
    if not args.seeds:
        ap.error("give --alerts/--truth or --seeds")
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
        return run_seeds(args.seeds, args.persons, args.workdir, args.details)
    with tempfile.TemporaryDirectory(prefix="ringwatch-quality-") as tmp:
        return run_seeds(args.seeds, args.persons, Path(tmp), args.details)


if __name__ == "__main__":
    sys.exit(main())
