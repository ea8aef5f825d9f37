"""The jobs behind the CLI: load tables into a store, run detectors, write alerts.

Data flows one way: tables → loaders → GraphFrames → ``GraphStore.bulk_load`` → store →
projections → detectors → alerts → files + write-back. Nothing here branches on the backend.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import __version__, results, semantics
from .alerts_io import CSV, JSONL, previous_first_seen, render_csv, render_jsonl, stamp_first_seen
from .config import Settings
from .contract import TABLE_ORDER
from .errors import LockError, RingwatchError

if TYPE_CHECKING:
    from ringwatch.graph import BulkWriter, GraphFrames, GraphStore

log = logging.getLogger("ringwatch")

Progress = Callable[[str], None]


def is_server_uri(store: str) -> bool:
    return "://" in store


@contextlib.contextmanager
def store_lock(store: str, wait: float = 0.0) -> Iterator[None]:
    """Exclusive lock so two ringwatch jobs never write one store at once.

    For an embedded store the lock file sits beside it (``<store>.lock``); for a server URI
    it is per user in the temp directory, keyed by the URI. A second job waits up to
    ``wait`` seconds for the first to end (0: refuses at once), then raises
    :class:`~ringwatch.errors.LockError`. The lock is an ``flock``: it goes away with the
    process that held it, so a killed job never leaves a stale lock behind.
    """
    if is_server_uri(store):
        key = hashlib.sha256(store.encode()).hexdigest()[:16]
        lock_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"ringwatch-{key}.lock"
    else:
        p = Path(store)
        p.parent.mkdir(parents=True, exist_ok=True)
        lock_path = p.with_name(p.name + ".lock")
    fh = lock_path.open("a+")
    try:
        deadline = time.monotonic() + max(0.0, wait)
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError as e:
                if time.monotonic() >= deadline:
                    waited = f" after waiting {wait:g}s" if wait > 0 else ""
                    raise LockError(
                        f"another ringwatch job is using this store (lock {lock_path.name}){waited}; "
                        "try again when it ends, or pass --lock-wait SECONDS"
                    ) from e
                time.sleep(min(0.2, max(0.01, deadline - time.monotonic())))
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()


def input_fingerprint(data_dir: Path) -> str:
    """Hash of the contract files in ``data_dir`` (names and contents), 16 hex characters."""
    from ringwatch.loaders.reading import find_table_files

    h = hashlib.blake2b(digest_size=8)
    for name, path in find_table_files(data_dir, require=False).items():
        h.update(f"{name}\x00{path.name}\x00".encode())
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 22):
                h.update(chunk)
    return h.hexdigest()


class CachedView:
    """Memoises a store's projections for one detection run (detectors share frames)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._nodes: dict[tuple[str, tuple[str, ...] | None], pd.DataFrame] = {}
        self._rels: dict[tuple[str, tuple[str, ...] | None], pd.DataFrame] = {}
        self._full_nodes: dict[str, pd.DataFrame] = {}
        self._full_rels: dict[str, pd.DataFrame] = {}
        self._components: dict[tuple[str, str], pd.DataFrame | None] = {}

    def nodes(self, label: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
        if label not in self._full_nodes:
            self._full_nodes[label] = self._inner.nodes(label)
        df = self._full_nodes[label]
        return df if columns is None else df.loc[:, list(columns)]

    def rels(self, rel_type: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
        if rel_type not in self._full_rels:
            self._full_rels[rel_type] = self._inner.rels(rel_type)
        df = self._full_rels[rel_type]
        return df if columns is None else df.loc[:, list(columns)]

    def tables(self) -> frozenset[str]:
        return frozenset(self._inner.tables())

    def weak_components(self, label: str, rel_type: str) -> pd.DataFrame | None:
        """The store's own components (``graph.base.GraphAlgorithms``), memoised; ``None`` if it has none."""
        from ringwatch.graph.base import GraphAlgorithms

        if (label, rel_type) not in self._components:
            inner = self._inner
            found = inner.weak_components(label, rel_type) if isinstance(inner, GraphAlgorithms) else None
            self._components[(label, rel_type)] = found
        return self._components[(label, rel_type)]


@dataclass
class LoadSummary:
    tables: dict[str, dict[str, Any]]
    written: dict[str, int]
    quarantine_files: dict[str, str]
    seconds: float

    @property
    def rows_in(self) -> int:
        return sum(int(t["rows_in"]) for t in self.tables.values())

    @property
    def quarantined(self) -> int:
        return sum(int(t["quarantined"]) for t in self.tables.values())


class _LoadTarget:
    """The store a load writes to, opened when the first graph frame is ready.

    ``streaming``: a full load; frames go to the store's :class:`~ringwatch.graph.BulkWriter`
    (``replace``) as they are built. Otherwise the frames are upserted at :meth:`commit`. On
    an error the writer is aborted (the store keeps its old graph) and an embedded store
    file that this load created is removed again.
    """

    def __init__(self, store: str, *, streaming: bool) -> None:
        self.uri, self.streaming = store, streaming
        self.existed = is_server_uri(store) or Path(store).exists()
        self.store: GraphStore | None = None
        self.writer: BulkWriter | None = None

    def open(self) -> GraphStore:
        from ringwatch.graph import open_store

        if self.store is None:
            self.store = open_store(self.uri)
            if self.streaming:
                self.writer = self.store.bulk_writer("replace")
        return self.store

    def add(self, kind: str, name: str, frame: pd.DataFrame) -> None:
        self.open()
        assert self.writer is not None
        self.writer.add(kind, name, frame)

    def commit(self, frames: GraphFrames) -> dict[str, int]:
        st = self.open()
        if self.writer is not None:
            return self.writer.commit(frames)
        return st.bulk_load(frames, mode="upsert")

    def __enter__(self) -> _LoadTarget:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        try:
            if exc_type is not None and self.writer is not None:
                self.writer.abort()
        finally:
            if self.store is not None:
                self.store.close()
            if exc_type is not None and not self.existed:
                remove_embedded_store(Path(self.uri))


def load(
    data_dir: Path,
    store: str,
    *,
    quarantine_dir: Path,
    encoding: str | None = None,
    mode: str = "upsert",
    progress: Progress | None = None,
    lock_wait: float = 0.0,
) -> LoadSummary:
    """Read, validate and load a directory of contract tables into a store.

    Every input file is parsed and checked before anything is written; a broken file or a
    missing required column raises :class:`~ringwatch.errors.InputError` and nothing is
    written. Bad rows go to ``quarantine_dir/quarantine/NAME.csv``.

    ``mode``: ``replace`` empties the store first (a full reload); ``upsert`` merges the
    rows into the graph already there (a nightly increment of new and changed rows): rows
    naming stored persons, identities, benefits ... are accepted, derived values (deaths,
    payment lists) are recomputed for the keys the rows touch, and each row replaces what
    has its contract key (see :func:`ringwatch.loaders.load_directory`). Into an empty store
    ``upsert`` is a full load. ``lock_wait``: seconds to wait for another job's store lock.
    The store meta ``loaded_inputs`` chains a hash of every directory loaded since the last
    full load (part of each run's input fingerprint).
    """
    from ringwatch.loaders import load_directory, write_quarantine

    t0 = time.perf_counter()
    upsert = mode == "upsert"
    fingerprint = input_fingerprint(data_dir) if data_dir.is_dir() else ""
    with store_lock(store, lock_wait):
        # a killed run's committed results (possibly a store swap) are finished first, so
        # they can never land on top of this load later
        results.recover(quarantine_dir, held_store=store, lock_wait=lock_wait)
        # an increment is read against the stored graph; a full load (or a first one) hands
        # each graph frame to the store as soon as it is built, and the store writes it while
        # the next is built. No store is opened before every file has passed its checks (a
        # broken file creates no store), and nothing is visible before the commit.
        incremental = upsert and (is_server_uri(store) or Path(store).exists())
        with _LoadTarget(store, streaming=not incremental) as target:
            if incremental:
                st = target.open()
                st.create_schema()
                result = load_directory(data_dir, encoding=encoding, progress=progress, base=st, compact=True)
            else:
                result = load_directory(
                    data_dir, encoding=encoding, progress=progress, compact=True, sink=target.add
                )
                st = target.open()
            qfiles = write_quarantine(result, quarantine_dir)
            if progress:
                progress(f"writing graph to {st.backend} store ({mode})")
            previous = st.get_meta().get("loaded_inputs", "") if incremental else ""
            chained = hashlib.sha256(f"{previous}|{fingerprint}".encode()).hexdigest()[:16]
            result.frames.meta["loaded_inputs"] = chained
            written = target.commit(result.frames)
            if incremental:
                # tables loaded earlier stay loaded
                before = st.tables()
                names = [t for t in TABLE_ORDER if t in before or t in result.frames.loaded_tables]
                st.set_meta({"loaded_tables": ",".join(names)})
    tables = {
        name: {
            "file": rep.file,
            "rows_in": rep.rows_in,
            "loaded": rep.loaded,
            "quarantined": rep.quarantined,
            "reasons": dict(rep.reasons),
        }
        for name, rep in result.reports.items()
    }
    return LoadSummary(
        tables, dict(written), {k: str(v) for k, v in qfiles.items()}, time.perf_counter() - t0
    )


@dataclass
class DetectSummary:
    run_id: str
    reference_date: str
    alerts: int
    by_detector: dict[str, int]
    skipped: dict[str, str]
    seconds_by_detector: dict[str, float]
    out_dir: str
    amount_at_risk: float = 0.0
    levels: dict[str, int] = field(default_factory=dict)


def _input_fingerprint(meta: dict[str, str]) -> str:
    blob = json.dumps({k: v for k, v in sorted(meta.items()) if k.startswith(("rows.", "loaded"))})
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass
class _Detection:
    """One detection's results before they are committed (nothing written yet)."""

    run_id: str
    run_date: str
    alerts: list[dict[str, Any]]
    summary: DetectSummary
    run_record: dict[str, Any]

    @property
    def store_meta(self) -> dict[str, str]:
        return {"last_run_id": self.run_id, "last_run_reference_date": self.run_date}


def _detect_on(
    st: Any, out_dir: Path, settings: Settings, as_of: date | None, progress: Progress | None
) -> _Detection:
    """Run every enabled detector on an open store; ``first_seen`` from ``out_dir``'s alerts."""
    from ringwatch.detectors import REGISTRY, DetectContext, sort_alerts

    meta = st.get_meta()
    view = CachedView(st)
    ref = semantics.reference_date(view, as_of)
    ctx = DetectContext(view=view, ref_date=ref, params=settings.params, pension_ages=settings.pension_age)
    loaded = view.tables()
    alerts = []
    skipped: dict[str, str] = {}
    counts: dict[str, int] = {}
    seconds: dict[str, float] = {}
    for name in settings.enabled:
        spec = REGISTRY[name]
        missing = [t for t in spec.requires if t not in loaded]
        if missing:
            skipped[name] = "missing tables: " + ", ".join(missing)
            log.warning("detector %s skipped: missing tables %s", name, ", ".join(missing))
            continue
        t0 = time.perf_counter()
        found = spec.fn(view, ctx)
        seconds[name] = round(time.perf_counter() - t0, 3)
        counts[name] = len(found)
        alerts.extend(found)
        if progress:
            progress(f"{name}: {len(found)} alerts in {seconds[name]:.1f}s")
    ordered = sort_alerts(alerts)
    run_date = ref.isoformat()
    history = previous_first_seen(out_dir)
    dicts = stamp_first_seen((a.contract_dict() for a in ordered), run_date, history)
    run_id = hashlib.sha256(
        json.dumps([run_date, _input_fingerprint(meta), settings.fingerprint()]).encode()
    ).hexdigest()[:12]
    levels: dict[str, int] = {}
    for d in dicts:
        levels[d["level"]] = levels.get(d["level"], 0) + 1
    summary = DetectSummary(
        run_id=run_id,
        reference_date=run_date,
        alerts=len(dicts),
        by_detector=counts,
        skipped=skipped,
        seconds_by_detector=seconds,
        out_dir=str(out_dir),
        amount_at_risk=round(sum(float(d["amount_at_risk"]) for d in dicts), 2),
        levels=levels,
    )
    run_record = {
        "run_id": run_id,
        "ringwatch_version": __version__,
        "reference_date": run_date,
        "input_fingerprint": _input_fingerprint(meta),
        "settings_fingerprint": settings.fingerprint(),
        "settings": settings.model_dump(mode="json"),
        "detector_versions": {n: REGISTRY[n].version for n in settings.enabled},
        "alerts_by_detector": counts,
        "skipped": skipped,
        "levels": levels,
        "amount_at_risk": summary.amount_at_risk,
        "alerts_total": len(dicts),
    }
    return _Detection(run_id, run_date, dicts, summary, run_record)


def _stage_detection(stg: results.Staging, found: _Detection) -> None:
    """Stage ``alerts.jsonl``, ``alerts.csv``, ``run.json`` and the run's history copy."""
    stg.write_text(JSONL, render_jsonl(found.alerts))
    stg.write_text(CSV, render_csv(found.alerts))
    stg.write_text("run.json", json.dumps(found.run_record, ensure_ascii=False, indent=2) + "\n")
    stg.record_history(found.run_record)


def detect(
    store: str,
    out_dir: Path,
    *,
    settings: Settings | None = None,
    as_of: date | None = None,
    progress: Progress | None = None,
    lock_wait: float = 0.0,
) -> DetectSummary:
    """Run every enabled detector on a store and write ``alerts.jsonl`` / ``alerts.csv``.

    Detectors whose input tables were not loaded are skipped with a message. Alerts keep
    their ``first_seen`` from earlier runs in ``out_dir``; the run's date is the reference
    date (contract §4), never the machine clock, so reruns on the same data are identical.
    ``lock_wait``: seconds to wait for another job's store lock (0: refuse at once).

    The results (alert files, ``run.json``, the history record and the store's ``Alert``
    nodes) are committed all or nothing (:mod:`ringwatch.results`); what a killed job left
    in ``out_dir`` is completed or discarded first.
    """
    from ringwatch.graph import open_store

    settings = settings or Settings()
    with store_lock(store, lock_wait):
        results.recover(out_dir, held_store=store, lock_wait=lock_wait)
        with open_store(store) as st:
            found = _detect_on(st, out_dir, settings, as_of, progress)
            with results.staged(out_dir) as stg:
                _stage_detection(stg, found)
                stg.commit(
                    run_id=found.run_id,
                    store_step=results.alerts_step(store, found.run_id, found.store_meta),
                    held_store=store,
                    lock_wait=lock_wait,
                    handle=st,
                )
    return found.summary


def run_fresh(
    data_dir: Path,
    out_dir: Path,
    store_path: Path,
    *,
    settings: Settings | None = None,
    as_of: date | None = None,
    encoding: str | None = None,
    progress: Progress | None = None,
    lock_wait: float = 0.0,
) -> tuple[LoadSummary, DetectSummary]:
    """``ringwatch run``: a fresh embedded store, load, detect.

    The new store is built beside the old one; the quarantine files, alert files, ``run.json``
    and history are staged, and everything (the store swap included) is committed all or
    nothing once load and detect have succeeded (:mod:`ringwatch.results`), so a run killed
    half-way leaves the previous results intact, and one killed after its commit is completed
    by the next job. ``lock_wait``: seconds to wait for another job's lock on the store.
    """
    from ringwatch.graph import open_store

    settings = settings or Settings()
    building = store_path.with_name("." + store_path.name + ".building")
    with store_lock(str(store_path), lock_wait):
        # a killed job's results first: a committed run still owns the building store
        results.recover(out_dir, held_store=str(store_path), lock_wait=lock_wait)
        # leftovers of a killed run: the half-built store and its replace/shadow/wal/lock files
        for leftover in sorted(building.parent.glob(building.name + "*")):
            remove_embedded_store(leftover)
        with results.staged(out_dir) as stg:
            loaded = load(
                data_dir,
                str(building),
                quarantine_dir=stg.path,
                encoding=encoding,
                mode="replace",
                progress=progress,
            )
            stg.replace_files_in("quarantine", [f"{name}.csv" for name in TABLE_ORDER])
            with open_store(str(building)) as st:
                found = _detect_on(st, out_dir, settings, as_of, progress)
                _stage_detection(stg, found)
                results.write_back(st, stg.path / JSONL, found.run_id, found.store_meta)
            stg.commit(
                run_id=found.run_id,
                store_step=results.swap_step(building, store_path),
                held_store=str(store_path),
                lock_wait=lock_wait,
            )
    loaded.quarantine_files = {
        name: str(out_dir / "quarantine" / Path(p).name) for name, p in loaded.quarantine_files.items()
    }
    return loaded, found.summary


def fresh_store_path(out_dir: Path) -> Path:
    """The embedded store ``ringwatch run`` creates: ``OUT_DIR/ringwatch.lbug`` (replaced each run)."""
    return out_dir / "ringwatch.lbug"


def remove_embedded_store(path: Path) -> None:
    """Delete an embedded store file (and its WAL) so a run starts fresh."""
    for p in (path, path.with_name(path.name + ".wal")):
        if p.is_dir():
            import shutil

            shutil.rmtree(p)
        elif p.exists():
            p.unlink()


def ensure_writable_dir(path: Path) -> None:
    """Create ``path`` and check it is writable, with a clear error otherwise."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".ringwatch-write-test-{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as e:
        raise RingwatchError(f"output directory {path} is not writable: {e.strerror}") from e
