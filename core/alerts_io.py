"""Writing and reading contract alert files: ``alerts.jsonl`` and ``alerts.csv`` (contract §3).

- alerts are written in descending score (ties by ``alert_id``),
- ``first_seen`` is the run date of the first run that raised the ``alert_id``, taken from
  the previous ``alerts.jsonl`` in the same output directory (and any extra history given),
- files are written to a temporary name and renamed, so a killed run never leaves half a file,
- CSV cells that a spreadsheet would run as a formula (``= + - @`` and tab/CR prefixes, plain
  numbers excepted) are neutralised with a leading apostrophe; JSONL keeps the exact values,
- a file that cannot be written (disk full, read-only directory) raises
  :class:`~ringwatch.errors.RingwatchError` naming the file and leaves no temp file behind.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .contract import ALERT_FIELDS
from .errors import RingwatchError

JSONL = "alerts.jsonl"
CSV = "alerts.csv"

#: first characters that make a spreadsheet read a CSV cell as a formula (OWASP CSV injection)
FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
#: a plain decimal number such as ``-5`` or ``+1.5e3``: a spreadsheet reads it as a number, never
#: as a formula, so it is left as it is
PLAIN_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_PLAIN_NUMBER_RE = re.compile(PLAIN_NUMBER)


def neutralise_cell(value: str) -> str:
    """Make a text cell safe for spreadsheets (CSV/formula injection): prefix ``'`` when needed.

    Cells starting with ``= + - @``, a tab or a carriage return get a leading apostrophe,
    except plain numbers (``-5``), which a spreadsheet can only read as numbers.
    """
    if value and value.startswith(FORMULA_PREFIXES) and not _PLAIN_NUMBER_RE.fullmatch(value):
        return "'" + value
    return value


def parse_alerts(lines: Iterable[str]) -> list[dict[str, Any]]:
    """Alert objects from the lines of an ``alerts.jsonl`` (blank lines skipped)."""
    out: list[dict[str, Any]] = []
    for line in lines:
        line = line.strip()
        if line:
            out.append(json.loads(line))
    return out


def read_alerts(path: Path) -> list[dict[str, Any]]:
    """Read an ``alerts.jsonl`` file (missing file → empty list).

    A file in an output directory is read as committed: while a finished run's results are
    being put in place (or after a job was killed between its commit and the end), the new
    version is read (see :func:`ringwatch.results.current_file`).
    """
    from .results import open_current

    fh = open_current(path)
    if fh is None:
        return []
    with fh:
        return parse_alerts(fh)


def previous_first_seen(out_dir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """``alert_id`` → ``first_seen`` from an earlier run's alerts in ``out_dir`` (and ``extra``)."""
    seen: dict[str, str] = {}
    for a in read_alerts(out_dir / JSONL):
        fs = a.get("first_seen")
        if isinstance(fs, str) and fs:
            seen[a["alert_id"]] = fs
    for k, v in (extra or {}).items():
        if k not in seen or v < seen[k]:
            seen[k] = v
    return seen


def stamp_first_seen(
    alerts: Iterable[Mapping[str, Any]], run_date: str, history: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Set ``first_seen`` on contract alert dicts: the earliest known run date for each id."""
    out = []
    for a in alerts:
        d = dict(a)
        prev = history.get(d["alert_id"])
        d["first_seen"] = min(prev, run_date) if prev else run_date
        out.append(d)
    return out


def _ordered(a: Mapping[str, Any]) -> dict[str, Any]:
    d = {k: a[k] for k in ALERT_FIELDS if k in a}
    if not d.get("details"):
        d.pop("details", None)
    return d


def sort_key(a: Mapping[str, Any]) -> tuple[float, str]:
    return (-float(a["score"]), str(a["alert_id"]))


def render_jsonl(alerts: Sequence[Mapping[str, Any]]) -> str:
    return "".join(
        json.dumps(_ordered(a), ensure_ascii=False, sort_keys=False, separators=(",", ":")) + "\n"
        for a in sorted(alerts, key=sort_key)
    )


def render_csv(alerts: Sequence[Mapping[str, Any]]) -> str:
    """CSV with the contract columns; ``members``/``details`` as JSON text; formula-safe."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(ALERT_FIELDS)
    for a in sorted(alerts, key=sort_key):
        row = []
        for k in ALERT_FIELDS:
            v = a.get(k)
            if k in ("members", "details"):
                cell = json.dumps(v or {}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
            elif v is None:
                cell = ""
            else:
                cell = str(v)
            row.append(neutralise_cell(cell))
        w.writerow(row)
    return buf.getvalue()


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temp file + fsync + rename (never half a file).

    Raises
    ------
    RingwatchError
        When the file cannot be written (disk full, read-only or missing directory, no
        permission); the message names the file and the reason, and no temp file is left.
    """
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise RingwatchError(f"cannot write {path}: {e.strerror or e}") from e


def write_alert_files(out_dir: Path, alerts: Sequence[Mapping[str, Any]]) -> tuple[Path, Path]:
    """Write ``alerts.jsonl`` and ``alerts.csv`` into ``out_dir`` (created if needed)."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RingwatchError(f"cannot create output directory {out_dir}: {e.strerror or e}") from e
    jp, cp = out_dir / JSONL, out_dir / CSV
    atomic_write_text(jp, render_jsonl(alerts))
    atomic_write_text(cp, render_csv(alerts))
    return jp, cp
