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
from typing import Any

import pandas as pd

from . import __version__, semantics
from .alerts_io import atomic_write_text, previous_first_seen, stamp_first_seen, write_alert_files
from .config import Settings
from .contract import TABLE_ORDER
from .errors import LockError, RingwatchError
from .history import record_run

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
    from ringwatch.graph import open_store
    from ringwatch.loaders import load_directory, write_quarantine

    t0 = time.perf_counter()
    upsert = mode == "upsert"
    fingerprint = input_fingerprint(data_dir) if data_dir.is_dir() else ""
    with store_lock(store, lock_wait):
        # an increment is read against the stored graph; a first or full load needs no store
        # open before its files have passed every check (a broken file creates no store)
        incremental = upsert and (is_server_uri(store) or Path(store).exists())
        if not incremental:
            result = load_directory(data_dir, encoding=encoding, progress=progress, compact=True)
        with open_store(store) as st:
            if incremental:
                st.create_schema()
                # both stores implement the look-ups an increment needs (loaders.incremental.StoreLookup)
                result = load_directory(data_dir, encoding=encoding, progress=progress, base=st, compact=True)  # type: ignore[arg-type]
            qfiles = write_quarantine(result, quarantine_dir)
            if progress:
                progress(f"writing graph to {st.backend} store ({mode})")
            previous = st.get_meta().get("loaded_inputs", "") if upsert else ""
            chained = hashlib.sha256(f"{previous}|{fingerprint}".encode()).hexdigest()[:16]
            result.frames.meta["loaded_inputs"] = chained
            if not upsert:
                st.create_schema()
            written = st.bulk_load(result.frames, mode="upsert" if upsert else "replace")
            if upsert:
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
    """
    from ringwatch.detectors import REGISTRY, DetectContext, sort_alerts
    from ringwatch.graph import open_store

    settings = settings or Settings()
    with store_lock(store, lock_wait), open_store(store) as st:
        meta = st.get_meta()
        view = CachedView(st)
        ref = semantics.reference_date(view, as_of)
        ctx = DetectContext(
            view=view, ref_date=ref, params=settings.params, pension_ages=settings.pension_age
        )
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
        write_alert_files(out_dir, dicts)
        st.write_alerts(dicts, run_id)
        st.set_meta({"last_run_id": run_id, "last_run_reference_date": run_date})
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
    atomic_write_text(out_dir / "run.json", json.dumps(run_record, ensure_ascii=False, indent=2) + "\n")
    record_run(out_dir, run_record)
    return summary


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

    The new store is built beside the old one and swapped in only when load and detect
    have succeeded, so a run killed half-way leaves the previous store and alerts intact.
    ``lock_wait``: seconds to wait for another job's lock on the store (0: refuse at once).
    """
    building = store_path.with_name("." + store_path.name + ".building")
    with store_lock(str(store_path), lock_wait):
        # leftovers of a killed run: the half-built store and its replace/shadow/wal/lock files
        for leftover in sorted(building.parent.glob(building.name + "*")):
            remove_embedded_store(leftover)
        loaded = load(
            data_dir,
            str(building),
            quarantine_dir=out_dir,
            encoding=encoding,
            mode="replace",
            progress=progress,
        )
        detected = detect(str(building), out_dir, settings=settings, as_of=as_of, progress=progress)
        remove_embedded_store(store_path)
        os.replace(building, store_path)
        wal = building.with_name(building.name + ".wal")
        if wal.exists():
            os.replace(wal, store_path.with_name(store_path.name + ".wal"))
    return loaded, detected


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
