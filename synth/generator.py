"""``generate``: synthetic 社保 tables with planted cases and decoys, plus the truth file."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ringwatch.contract import DETECTORS, TABLE_ORDER
from ringwatch.errors import InputError

from . import background as bg
from .materialize import write_all
from .people import build_population
from .plant import Planter, background_decoys
from .world import World

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
MIN_PERSONS = 1000


class GenerateError(InputError, ValueError):
    """Bad parameters for :func:`generate` (exit code 2 on the command line)."""


@dataclass
class GenerateSummary:
    """What :func:`generate` wrote.

    Attributes
    ----------
    out_dir, truth_path
        Where the tables and the truth file are.
    rows, bytes
        Rows and file size per table written.
    cases, decoys
        Planted cases and decoys per detector (as in the truth file).
    planted_persons
        Persons created for planted cases and decoys (included in ``persons``).
    seconds
        Wall time of the run.
    """

    out_dir: Path
    truth_path: Path
    fmt: str
    persons: int
    seed: int
    rows: dict[str, int] = field(default_factory=dict)
    bytes: dict[str, int] = field(default_factory=dict)
    cases: dict[str, int] = field(default_factory=dict)
    decoys: dict[str, int] = field(default_factory=dict)
    planted_persons: int = 0
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def __str__(self) -> str:
        return (
            f"{self.total_rows:,} rows in {len(self.rows)} tables, "
            f"{sum(self.cases.values())} cases and {sum(self.decoys.values())} decoys, "
            f"{self.seconds:.1f}s"
        )


def _month_ordinal(month: str) -> int:
    m = _MONTH.match(month)
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise GenerateError(f"end_month must be YYYY-MM, got {month!r}")
    y, mo = int(m.group(1)), int(m.group(2))
    if not 2015 <= y <= 2035:
        raise GenerateError(f"end_month must lie between 2015-01 and 2035-12, got {month!r}")
    return (y - 1970) * 12 + mo - 1


def default_truth_path(out_dir: Path) -> Path:
    """``OUT.truth.jsonl`` beside the data directory ``OUT``."""
    out_dir = Path(out_dir)
    return out_dir.parent / (out_dir.name + ".truth.jsonl")


def generate(
    out_dir: Path,
    *,
    seed: int,
    persons: int,
    truth_path: Path | None = None,
    fmt: Literal["csv", "parquet"] = "csv",
    end_month: str = "2026-10",
    months: int = 12,
    progress: Callable[[str], None] | None = None,
    tables: Collection[str] | None = None,
) -> GenerateSummary:
    """Generate the contract tables with planted cases and decoys, and the truth file.

    Parameters
    ----------
    out_dir
        Directory for the tables (created; existing table files are overwritten).
    seed
        Random seed: the same seed and parameters give byte-identical files.
    persons
        Number of persons (rows of ``persons``), at least 1,000.
    truth_path
        Truth file (JSON lines); default ``OUT.truth.jsonl`` beside ``out_dir``. It must
        not be inside ``out_dir``.
    fmt
        ``csv`` (UTF-8) or ``parquet``.
    end_month
        Last payment month ``YYYY-MM`` (2015–2035); the data's reference date is its last day.
    months
        Months of payment history (6 to 60).
    progress
        Called with short progress messages.
    tables
        Write only these tables (``persons`` and ``identities`` are always written).

    Returns
    -------
    GenerateSummary
        Rows and bytes per table, cases and decoys per detector, seconds.

    Raises
    ------
    GenerateError
        (an ``InputError`` and a ``ValueError``) on bad parameters or a truth path inside
        ``out_dir``.
    """
    t0 = time.perf_counter()
    if fmt not in ("csv", "parquet"):
        raise GenerateError(f"fmt must be csv or parquet, got {fmt!r}")
    if persons < MIN_PERSONS:
        raise GenerateError(f"persons must be at least {MIN_PERSONS:,}, got {persons:,}")
    if not 6 <= months <= 60:
        raise GenerateError(f"months must be between 6 and 60, got {months}")
    end = _month_ordinal(end_month)
    out_dir = Path(out_dir)
    truth = default_truth_path(out_dir) if truth_path is None else Path(truth_path)
    out_abs, truth_abs = out_dir.resolve(), truth.resolve()
    if truth_abs == out_abs or out_abs in truth_abs.parents:
        raise GenerateError("the truth file must be outside the data directory")
    wanted = None
    if tables is not None:
        unknown = set(tables) - set(TABLE_ORDER)
        if unknown:
            raise GenerateError(f"unknown tables {sorted(unknown)}")
        wanted = set(tables) | {"persons", "identities"}

    def say(msg: str) -> None:
        if progress:
            progress(msg)

    w = World(seed, end, months)
    bg.hospitals(w, persons)
    say("planting cases and decoys")
    planted = Planter(w, persons).plant_all()
    if planted > 0.7 * persons:
        raise GenerateError(
            f"persons too small for the planted cases ({planted:,} planted); use more persons"
        )
    say(f"background population of {persons - planted:,} persons")
    inst = build_population(w, persons - planted, persons)
    bg.employers(w, persons)
    bg.deaths(w)
    bg.benefits(w)
    bg.medium_traces(w)
    bg.legacy_numbers(w)
    bg.identity_dates(w)
    say("addresses, phones, accounts, employment")
    bg.addresses(w)
    bg.phones(w)
    bg.accounts(w)
    bg.employments(w)
    bg.death_rows(w)
    say("claims and life traces")
    bg.claims(w)
    bg.activities(w)
    bg.unique_name_birth(w)
    bg.clamp_to_cutoff(w)
    background_decoys(w, inst, persons)
    out_dir.mkdir(parents=True, exist_ok=True)
    truth.parent.mkdir(parents=True, exist_ok=True)
    rows, sizes = write_all(w, out_dir, truth, fmt, wanted, progress)
    return GenerateSummary(
        out_dir=out_dir,
        truth_path=truth,
        fmt=fmt,
        persons=persons,
        seed=seed,
        rows=rows,
        bytes=sizes,
        cases={d: w.counts.cases.get(d, 0) for d in DETECTORS},
        decoys={d: w.counts.decoys.get(d, 0) for d in DETECTORS},
        planted_persons=planted,
        seconds=time.perf_counter() - t0,
    )
