"""Load a directory of contract tables: read, validate, normalise, quarantine, build graph frames.

:func:`load_directory` writes nothing; :func:`write_quarantine` writes the quarantined rows
(``OUT_DIR/quarantine/NAME.csv``, cells made spreadsheet-safe) once the caller decides to go on.
"""

from __future__ import annotations

import contextlib
import gc
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ringwatch.alerts_io import FORMULA_PREFIXES, PLAIN_NUMBER, neutralise_cell
from ringwatch.contract import TABLE_ORDER, TABLES
from ringwatch.errors import RingwatchError
from ringwatch.graph.base import GraphFrames
from ringwatch.loaders.build import FrameBuilder, FrameSink, release_memory
from ringwatch.loaders.incremental import BaseGraph, StoreLookup
from ringwatch.loaders.reading import RawTable, find_table_files, read_table
from ringwatch.loaders.tables import Cleaned, Context, TableReport, clean_table

Progress = Callable[[str], None]

#: the order tables are cleaned in: :data:`~ringwatch.contract.TABLE_ORDER` (a table's
#: references always come earlier) with ``deaths`` and ``activities`` (they reference only
#: identities) moved up, so the person/identity frames and the activity frames, the largest,
#: are built (and reach a streaming store) while the other tables are still being cleaned
CLEAN_ORDER: tuple[str, ...] = (
    *TABLE_ORDER[: TABLE_ORDER.index("renumberings") + 1],
    "deaths",
    "activities",
    *(t for t in TABLE_ORDER[TABLE_ORDER.index("renumberings") + 1 :] if t not in ("deaths", "activities")),
)
assert sorted(CLEAN_ORDER) == sorted(TABLE_ORDER)
assert all(
    CLEAN_ORDER.index(ref) < CLEAN_ORDER.index(name)
    for name in CLEAN_ORDER
    for ref in TABLES[name].references.values()
)


@dataclass
class LoadResult:
    """Everything a load produced, before anything is written.

    Attributes
    ----------
    frames
        Graph frames, one per node label and relationship type (schema columns and dtypes).
        ``frames.loaded_tables`` are the tables whose file was present; ``frames.meta`` has
        ``loaded_tables`` (comma-joined, contract order) and ``rows.<table>`` (rows loaded).
    reports
        Per present table: rows in, loaded, quarantined and reasons.
    quarantine
        Per table with quarantined rows: the rows as read (original columns, raw values)
        plus ``row`` (1-based data row in the file), ``column`` and ``reason``.
    encodings
        Per present table: the encoding its file was read with (``parquet`` for Parquet).
    """

    frames: GraphFrames
    reports: dict[str, TableReport] = field(default_factory=dict)
    quarantine: dict[str, pd.DataFrame] = field(default_factory=dict)
    encodings: dict[str, str] = field(default_factory=dict)

    @property
    def rows_in(self) -> int:
        """Data rows read over all tables."""
        return sum(r.rows_in for r in self.reports.values())

    @property
    def quarantined(self) -> int:
        """Rows quarantined over all tables."""
        return sum(r.quarantined for r in self.reports.values())


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of container objects are created.

    The frames hold millions of lists (payment months) and no reference cycles; with the
    collector running, each generation-2 pass rescans them all and the build slows down
    quadratically. Reference counting still frees memory as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_directory(
    data_dir: Path,
    *,
    encoding: str | None = None,
    progress: Progress | None = None,
    base: StoreLookup | None = None,
    compact: bool = False,
    sink: FrameSink | None = None,
) -> LoadResult:
    """Read every contract table in ``data_dir`` and build the graph frames.

    Every present ``NAME.csv`` / ``NAME.parquet`` of the 15 contract tables is read (other
    files are ignored), validated and normalised; rows that break a rule are quarantined
    with a reason, the rest become nodes and relationships. Nothing is written.

    Parameters
    ----------
    data_dir
        Directory holding the input tables.
    encoding
        Force this encoding for every CSV file instead of detecting it (UTF-8 BOM ->
        ``utf-8-sig``, valid UTF-8 -> ``utf-8``, else ``gb18030``).
    progress
        Called with short messages such as ``"persons: 1,000,000 rows"``.
    base
        The store the rows will be merged into (an incremental load). When it holds a graph,
        ``persons`` and ``identities`` are optional, rows naming stored persons, identities,
        benefits ... are not quarantined as unknown, and derived values are recomputed for
        the keys tonight's rows touch from stored and new rows: deaths on every identity of
        a person (earliest wins), the payments of each touched benefit (merged by
        ``payment_id``), address texts. The frames are then meant for
        ``bulk_load(mode="upsert")``; see :mod:`ringwatch.loaders.incremental`. Only key
        look-ups are made, never whole-table reads.
    compact
        Build Arrow-backed frames (``pd.ArrowDtype`` columns, see
        :func:`~ringwatch.graph.frames.compact_frame`) instead of object columns: what a
        large load into a store wants (a few times less memory); tests and analyses that
        look at the frames keep the default.
    sink
        Called with ``(kind, name, frame)`` as each graph frame is final, before the next
        is built (see :func:`~ringwatch.loaders.build.build_frames`); only once every file
        has been read and checked, so a broken file never reaches it.

    Returns
    -------
    LoadResult

    Raises
    ------
    ringwatch.errors.InputError
        A required table is missing, a table has both a CSV and a Parquet file, a file
        cannot be decoded or parsed, or a header lacks a required column. All files are
        read and checked before any row is validated.
    """
    with _gc_paused():
        return _load(Path(data_dir), encoding, progress, base, compact, sink)


def _load(
    data_dir: Path,
    encoding: str | None,
    progress: Progress | None,
    store: StoreLookup | None,
    compact: bool = False,
    sink: FrameSink | None = None,
) -> LoadResult:
    t0 = time.perf_counter()
    say = progress or (lambda _msg: None)
    base = BaseGraph(store) if store is not None else None
    if base is not None and not base.has_data:
        base = None  # an empty store: a first, full load
    files = find_table_files(data_dir, require=base is None)
    raws: dict[str, RawTable] = {}
    encodings: dict[str, str] = {}
    for name, path in files.items():
        raw = read_table(path, TABLES[name], encoding)
        raws[name] = raw
        encodings[name] = raw.encoding
        say(f"{name}: {raw.num_rows:,} rows")
    ctx = Context(loaded=frozenset(raws) | (base.tables if base is not None else frozenset()), base=base)
    builder = FrameBuilder(frozenset(raws), base=base, compact=compact, sink=sink)
    by_clean: dict[str, Cleaned] = {}
    for name in CLEAN_ORDER:
        if name not in raws:
            continue
        c = clean_table(raws.pop(name), ctx)
        by_clean[name] = c
        if c.report.quarantined:
            say(f"{name}: {c.report.quarantined:,} rows quarantined")
        builder.add(name, c.frame, ctx.inferred)  # builds (and hands on) the frames now complete
        if compact:
            release_memory()
    say("building graph frames")
    frames = builder.finish(ctx.inferred, ctx.person_map())
    cleaned = {name: by_clean[name] for name in TABLE_ORDER if name in by_clean}
    for name, c in cleaned.items():
        frames.meta[f"rows.{name}"] = str(c.report.loaded)
    result = LoadResult(
        frames=frames,
        reports={k: v.report for k, v in cleaned.items()},
        quarantine={k: v.quarantine for k, v in cleaned.items() if len(v.quarantine)},
        encodings=encodings,
    )
    say(
        f"loaded {result.rows_in - result.quarantined:,} of {result.rows_in:,} rows "
        f"({result.quarantined:,} quarantined) in {time.perf_counter() - t0:.1f}s"
    )
    return result


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names cannot run as spreadsheet formulas.

    The same rule as ``alerts.csv`` (:func:`ringwatch.alerts_io.neutralise_cell`): text
    starting with ``= + - @``, a tab or a carriage return gets a leading apostrophe; plain
    numbers such as ``-5`` stay as they are.
    """
    out = frame.copy()
    for c in out.columns:
        col = out[c]
        if not (pd.api.types.is_string_dtype(col.dtype) or col.dtype == object):
            continue
        text = col.astype("str")
        risky = text.str.startswith(FORMULA_PREFIXES).to_numpy(dtype=bool, na_value=False)
        if risky.any():
            plain = text.str.fullmatch(PLAIN_NUMBER).to_numpy(dtype=bool, na_value=False)
            risky = risky & ~plain
            out[c] = text.where(~risky, "'" + text)
    return out.rename(columns={c: neutralise_cell(str(c)) for c in out.columns})


def write_quarantine(result: LoadResult, out_dir: Path) -> dict[str, Path]:
    """Write each table's quarantined rows to ``out_dir/quarantine/NAME.csv`` (UTF-8).

    Files of contract tables with no quarantined rows this time are removed, so the
    directory always describes the latest load. Each file is written atomically. Cells
    that a spreadsheet would run as a formula are neutralised (:func:`spreadsheet_safe`).

    Returns
    -------
    dict
        ``{table: path}`` of the files written.

    Raises
    ------
    ringwatch.errors.RingwatchError
        When a file cannot be written (disk full, read-only directory); no temp file is left.
    """
    qdir = Path(out_dir) / "quarantine"
    written: dict[str, Path] = {}
    try:
        if result.quarantine:
            qdir.mkdir(parents=True, exist_ok=True)
        for name in TABLE_ORDER:
            path = qdir / f"{name}.csv"
            frame = result.quarantine.get(name)
            if frame is None or frame.empty:
                if path.is_file():
                    path.unlink()
                continue
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".csv.tmp", dir=qdir)
            try:
                with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                    spreadsheet_safe(frame).to_csv(fh, index=False, lineterminator="\n")
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            written[name] = path
    except OSError as e:
        raise RingwatchError(f"cannot write quarantine files in {qdir}: {e.strerror or e}") from e
    return written
