"""Run history in an output directory, and the difference between two runs.

Every ``detect`` leaves ``OUT/runs/<run_id>/alerts.jsonl`` and ``run.json`` and a line in
``OUT/runs/index.jsonl``; ``ringwatch diff A B`` compares two runs (ids or directories).
An alert keeps its ``alert_id`` while its key members are unchanged, so a finding whose
evidence grew (more members) appears as a new id, and one whose facts changed (score,
amount, details) under the same id is "changed".
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .alerts_io import JSONL, atomic_write_text, read_alerts
from .errors import InputError

RUNS = "runs"
INDEX = "index.jsonl"


def record_run(out_dir: Path, run: Mapping[str, Any]) -> Path:
    """Copy the run's alert files into ``OUT/runs/<run_id>/`` and index it (rerun = replace)."""
    run_id = str(run["run_id"])
    runs = out_dir / RUNS
    dest = runs / run_id
    tmp = runs / f".{run_id}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in (JSONL, "alerts.csv", "run.json"):
        if (out_dir / name).exists():
            shutil.copy2(out_dir / name, tmp / name)
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    index = [r for r in list_runs(out_dir) if r["run_id"] != run_id]
    index.append(
        {k: run[k] for k in ("run_id", "reference_date", "input_fingerprint", "alerts_total") if k in run}
    )
    atomic_write_text(runs / INDEX, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in index))
    return dest


def list_runs(out_dir: Path) -> list[dict[str, Any]]:
    """Runs recorded in ``out_dir``, oldest first."""
    p = out_dir / RUNS / INDEX
    if not p.exists():
        return []
    return [json.loads(x) for x in p.read_text(encoding="utf-8").splitlines() if x.strip()]


def resolve_run(ref: str, out_dir: Path | None) -> Path:
    """A run given as a run id (looked up in ``out_dir/runs``), a run directory or an alerts.jsonl."""
    p = Path(ref)
    if p.is_file():
        return p
    if (p / JSONL).is_file():
        return p / JSONL
    if out_dir is not None and (out_dir / RUNS / ref / JSONL).is_file():
        return out_dir / RUNS / ref / JSONL
    raise InputError(
        f"no run {ref!r}: give a run id from OUT/runs/index.jsonl, a run directory or an alerts.jsonl"
    )


@dataclass
class RunDiff:
    new: list[dict[str, Any]] = field(default_factory=list)
    gone: list[dict[str, Any]] = field(default_factory=list)
    changed: list[tuple[dict[str, Any], dict[str, Any], list[str]]] = field(default_factory=list)
    unchanged: int = 0


_COMPARED = ("score", "level", "members", "amount_at_risk", "details")


def diff_runs(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> RunDiff:
    """New, gone and changed alerts from run ``a`` to run ``b`` (sorted as in the files)."""
    ia = {x["alert_id"]: x for x in a}
    ib = {x["alert_id"]: x for x in b}
    d = RunDiff()
    for x in b:
        old = ia.get(x["alert_id"])
        if old is None:
            d.new.append(x)
            continue
        what = [k for k in _COMPARED if old.get(k) != x.get(k)]
        if what:
            d.changed.append((old, x, what))
        else:
            d.unchanged += 1
    d.gone = [x for x in a if x["alert_id"] not in ib]
    return d


def diff_paths(a: Path, b: Path) -> RunDiff:
    return diff_runs(read_alerts(a), read_alerts(b))
