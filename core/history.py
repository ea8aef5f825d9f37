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
from .results import current_file, open_current

RUNS = "runs"
INDEX = "index.jsonl"


def run_copy_names() -> tuple[str, ...]:
    """The files of a run copied into ``OUT/runs/<run_id>/``."""
    return (JSONL, "alerts.csv", "run.json")


def updated_index(out_dir: Path, run: Mapping[str, Any]) -> str:
    """The text of ``runs/index.jsonl`` once ``run`` is recorded (a rerun replaces its line)."""
    run_id = str(run["run_id"])
    index = [r for r in list_runs(out_dir) if r["run_id"] != run_id]
    index.append(
        {k: run[k] for k in ("run_id", "reference_date", "input_fingerprint", "alerts_total") if k in run}
    )
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in index)


def record_run(out_dir: Path, run: Mapping[str, Any]) -> Path:
    """Copy the run's alert files into ``OUT/runs/<run_id>/`` and index it (rerun = replace).

    Each step is atomic on its own; ``detect`` and ``run`` record their history through the
    all-or-nothing results commit (:mod:`ringwatch.results`) instead.
    """
    run_id = str(run["run_id"])
    runs = out_dir / RUNS
    dest = runs / run_id
    tmp = runs / f".{run_id}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in run_copy_names():
        if (out_dir / name).exists():
            shutil.copy2(out_dir / name, tmp / name)
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    atomic_write_text(runs / INDEX, updated_index(out_dir, run))
    return dest


def list_runs(out_dir: Path) -> list[dict[str, Any]]:
    """Runs recorded in ``out_dir``, oldest first (as committed, see :mod:`ringwatch.results`)."""
    fh = open_current(out_dir / RUNS / INDEX)
    if fh is None:
        return []
    with fh:
        return [json.loads(x) for x in fh.read().splitlines() if x.strip()]


def resolve_run(ref: str, out_dir: Path | None) -> Path:
    """A run given as a run id (looked up in ``out_dir/runs``), a run directory or an alerts.jsonl."""
    p = Path(ref)
    if p.is_file():
        return p
    if (p / JSONL).is_file():
        return p / JSONL
    if out_dir is not None:
        committed = current_file(out_dir / RUNS / ref / JSONL)
        if committed is not None and committed.is_file():
            return out_dir / RUNS / ref / JSONL
    raise InputError(
        f"no run {ref!r}: give a run id from OUT/runs/index.jsonl, a run directory or an alerts.jsonl"
    )


@dataclass
class RunDiff:
    """What changed from run A to run B.

    ``reopened`` and ``closed`` are filled only when case statuses are given: an alert of B
    whose case was closed (confirmed or dismissed) is ``reopened`` when its members grew
    since the last run that had it (``added``: the new member ids by type), else it only
    counts in ``closed`` and is listed neither as new nor as changed.
    """

    new: list[dict[str, Any]] = field(default_factory=list)
    gone: list[dict[str, Any]] = field(default_factory=list)
    changed: list[tuple[dict[str, Any], dict[str, Any], list[str]]] = field(default_factory=list)
    unchanged: int = 0
    reopened: list[tuple[dict[str, Any], dict[str, list[str]]]] = field(default_factory=list)
    closed: int = 0


_COMPARED = ("score", "level", "members", "amount_at_risk", "details")

#: case statuses (dashboard case work) that close a case
CLOSED_STATUSES: tuple[str, ...] = ("confirmed", "dismissed")


def added_members(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[str]]:
    """Member ids of ``after`` that ``before`` did not have, by member type (sorted)."""
    old = before.get("members") or {}
    out: dict[str, list[str]] = {}
    for kind, ids in (after.get("members") or {}).items():
        extra = sorted(set(map(str, ids)) - set(map(str, old.get(kind) or ())))
        if extra:
            out[kind] = extra
    return out


def diff_runs(
    a: list[dict[str, Any]],
    b: list[dict[str, Any]],
    *,
    closed: Mapping[str, str] | None = None,
    earlier: Mapping[str, dict[str, Any]] | None = None,
) -> RunDiff:
    """New, gone and changed alerts from run ``a`` to run ``b`` (sorted as in the files).

    Parameters
    ----------
    a, b
        The alerts of the two runs.
    closed
        ``alert_id`` -> status of closed cases (see :func:`closed_cases`).
    earlier
        ``alert_id`` -> the alert as the latest run before ``b`` that had it reported it
        (see :func:`last_seen`); a closed alert absent from ``a`` is compared with this.
        Without it, such an alert counts as closed (no growth can be shown).
    """
    ia = {x["alert_id"]: x for x in a}
    ib = {x["alert_id"]: x for x in b}
    closed = closed or {}
    d = RunDiff()
    for x in b:
        aid = x["alert_id"]
        old = ia.get(aid)
        if aid in closed:
            ref = old if old is not None else (earlier or {}).get(aid)
            grew = added_members(ref, x) if ref is not None else {}
            if grew:
                d.reopened.append((x, grew))
            else:
                d.closed += 1
            continue
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


def diff_paths(
    a: Path, b: Path, *, closed: Mapping[str, str] | None = None, out_dir: Path | None = None
) -> RunDiff:
    """:func:`diff_runs` of two alert files; ``out_dir`` (run history) finds earlier members."""
    alerts_b = read_alerts(b)
    earlier = None
    if closed and out_dir is not None:
        earlier = last_seen(out_dir, {x["alert_id"] for x in alerts_b if x["alert_id"] in closed}, before=b)
    return diff_runs(read_alerts(a), alerts_b, closed=closed, earlier=earlier)


def last_seen(out_dir: Path, alert_ids: set[str], *, before: Path) -> dict[str, dict[str, Any]]:
    """The latest recorded alert for each of ``alert_ids`` in the runs before ``before``.

    ``before`` is the run's ``alerts.jsonl``; runs are taken in index order (oldest first)
    up to it; when it is not a recorded run, every recorded run counts.
    """
    found: dict[str, dict[str, Any]] = {}
    target = before.resolve()
    for run in list_runs(out_dir):
        path = out_dir / RUNS / str(run["run_id"]) / JSONL
        if path.resolve() == target:
            break
        for x in read_alerts(path):
            if x["alert_id"] in alert_ids:
                found[x["alert_id"]] = x
    return found


def closed_cases(db: Path) -> dict[str, str]:
    """``alert_id`` -> status of the closed cases in a case-work database (opened read-only).

    Raises
    ------
    InputError
        When the file does not exist or is not a case-work database.
    """
    import sqlite3

    if not db.is_file():
        raise InputError("case database not found", file=str(db))
    try:
        con = sqlite3.connect(f"file:{db.resolve()}?mode=ro", uri=True)
        try:
            marks = ",".join("?" for _ in CLOSED_STATUSES)
            rows = con.execute(
                f"SELECT alert_id, status FROM cases WHERE status IN ({marks})", CLOSED_STATUSES
            ).fetchall()
        finally:
            con.close()
    except sqlite3.Error as e:
        raise InputError(f"not a ringwatch case database: {e}", file=str(db)) from e
    return {str(k): str(v) for k, v in rows}
