"""All-or-nothing results in an output directory: a staged journal, a commit marker, roll-forward.

A run's results are several files (``alerts.jsonl``, ``alerts.csv``, ``run.json``, the history
copy ``runs/<run_id>/`` and ``runs/index.jsonl``, for ``ringwatch run`` also
``quarantine/NAME.csv``) plus one step on the store (``run``: the freshly built store is
swapped in; ``detect``: the alerts are written back as ``Alert`` nodes and ``last_run_id``
is set). Each file used to be atomic but the set was not. The protocol:

1. **Stage**: every output is written (and fsynced) into ``OUT/.ringwatch-staging-<pid>-<hex>/``
   under the same relative names. The writer holds an ``flock`` on that directory for its
   whole life, so nobody mistakes a live staging directory for a dead one.
2. **Commit**: ``COMMIT.json`` (what to move, what to delete, the store step) is written to a
   temporary name, fsynced and renamed into the staging directory. This rename is the commit
   point: before it the run did not happen, after it the run is done.
3. **Roll forward**: the store step, then each staged directory and file is renamed over its
   final path, removed files are unlinked, the touched directories are fsynced, the marker is
   removed and the staging directory deleted. Every step is idempotent (a step that already
   happened is recognised and skipped), so a roll-forward killed at any point is simply
   run again.

:func:`recover` runs at the start of every ``run`` and ``detect`` (under the store lock): a
committed staging directory is rolled forward, one whose writer is dead and that has no
marker is deleted. Commit and recovery hold an ``flock`` on ``OUT`` itself (no lock file is
left in ``OUT``), so at most one committed journal exists at a time.

Readers never write: :func:`current_file` / :func:`open_current` map a path in ``OUT`` to
where its committed version is right now (the staged copy while a committed journal is
pending, else the path itself; ``None`` for a file the commit removes). Since every move is a
rename from the staged path to the final one, a reader sees the old version of every file
until the marker appears and the new version of every file after it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import secrets
import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from .errors import LockError, RingwatchError

log = logging.getLogger("ringwatch")

#: prefix of staging directories in an output directory
STAGING_PREFIX = ".ringwatch-staging-"
#: the commit marker inside a staging directory
MARKER = "COMMIT.json"
#: version of the marker format
FORMAT = 1
#: seconds a job waits for another job's commit on the same output directory
RESULTS_LOCK_WAIT = 600.0


def _hook(point: str) -> None:
    """Named points of the protocol (``staged``, ``committed``, ``store`` ...).

    Does nothing; tests replace it to kill the process at an exact point.
    """


# -- small file-system helpers ----------------------------------------------------------------------
def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    """fsync every file and directory under ``root`` (deepest first), then ``root``."""
    for dirpath, _dirs, files in os.walk(root, topdown=False):
        for name in files:
            _fsync_file(Path(dirpath) / name)
        _fsync_dir(Path(dirpath))


def _try_flock(fd: int) -> bool:
    """Exclusive non-blocking flock; False when someone else holds it.

    Raises ``OSError`` when the file system cannot lock (callers decide what that means).
    """
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as e:
        if e.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
            return False
        raise
    return True


def _owner_gone(staging: Path) -> bool:
    """True when no live job holds the staging directory's lock (its writer is dead)."""
    try:
        fd = os.open(staging, os.O_RDONLY | os.O_DIRECTORY)
    except (FileNotFoundError, NotADirectoryError):
        return False
    try:
        return _try_flock(fd)
    except OSError:  # no flock here: never delete what might be a live job's
        return False
    finally:
        os.close(fd)


@contextlib.contextmanager
def _results_lock(out_dir: Path, wait: float = RESULTS_LOCK_WAIT) -> Iterator[None]:
    """Exclusive ``flock`` on the output directory itself, for commit and recovery."""
    fd = os.open(out_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                if _try_flock(fd):
                    break
            except OSError as e:  # a file system without flock: the store lock still serialises jobs
                log.debug("results: cannot lock %s (%s); going on without", out_dir, e.strerror)
                break
            if time.monotonic() >= deadline:
                raise LockError(
                    f"another ringwatch job is committing results in {out_dir} (waited {wait:g}s)"
                )
            time.sleep(0.05)
        yield
    finally:
        os.close(fd)


def _same_store(a: str, b: str | None) -> bool:
    if b is None:
        return False
    if "://" in a or "://" in b:
        return a == b
    return Path(a).resolve() == Path(b).resolve()


def _store_ref(store: str | Path) -> str:
    s = str(store)
    return s if "://" in s else os.path.abspath(s)


# -- the marker ---------------------------------------------------------------------------------------
def _read_marker(staging: Path) -> dict[str, Any] | None:
    try:
        text = (staging / MARKER).read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return None
    man = json.loads(text)
    if not isinstance(man, dict) or man.get("format") != FORMAT:
        raise RingwatchError(f"unknown results journal format in {staging}")
    return man


def _staging_dirs(out_dir: Path) -> list[Path]:
    try:
        with os.scandir(out_dir) as it:
            names = [e.name for e in it if e.name.startswith(STAGING_PREFIX) and e.is_dir()]
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return []
    return [out_dir / n for n in sorted(names)]


def _committed(out_dir: Path) -> tuple[Path, dict[str, Any]] | None:
    """The committed staging directory of ``out_dir`` and its marker.

    There is at most one: a commit is written under the output directory's lock, after any
    earlier committed journal has been rolled forward.
    """
    found = None
    for d in _staging_dirs(out_dir):
        try:
            man = _read_marker(d)
        except (OSError, ValueError, RingwatchError):
            continue
        if man is not None:
            found = (d, man)
    return found


# -- readers ------------------------------------------------------------------------------------------
def _output_dirs_of(p: Path) -> list[Path]:
    """The directories that can be the output directory holding ``p``, nearest first."""
    parents = list(p.parents)
    dirs = parents[:1]
    if len(parents) > 1 and parents[0].name in ("runs", "quarantine"):
        dirs.append(parents[1])
    if len(parents) > 2 and parents[1].name == "runs":
        dirs.append(parents[2])
    return dirs


def current_file(path: str | Path) -> Path | None:
    """Where the committed version of a file in an output directory is right now.

    While a committed journal is pending (a job is rolling it forward, or was killed after
    its commit and no job has recovered it yet), a file it replaces is read from its staged
    copy until it has been moved into place. Readers never write anything.

    Parameters
    ----------
    path
        A path inside an output directory: ``OUT/alerts.jsonl``, ``OUT/run.json``,
        ``OUT/runs/index.jsonl``, ``OUT/runs/<run_id>/alerts.jsonl``, ``OUT/quarantine/X.csv``.

    Returns
    -------
    Path or None
        The path to read (``path`` itself when nothing is pending for it); ``None`` when the
        committed results do not have the file (the pending commit removes it).
    """
    p = Path(path)
    for out in _output_dirs_of(p):
        found = _committed(out)
        if found is None:
            continue
        staging, man = found
        rel = p.relative_to(out).as_posix()
        if rel in man.get("delete", ()):
            return None
        for d in man.get("dirs", ()):
            if rel == d or rel.startswith(d + "/"):
                return staging / rel if (staging / d).is_dir() else p
        if rel in man.get("files", ()):
            staged = staging / rel
            return staged if staged.exists() else p
        return p
    return p


def open_current(path: str | Path, encoding: str = "utf-8") -> IO[str] | None:
    """Open the committed version of a file for reading (see :func:`current_file`).

    Returns ``None`` when the file does not exist in the committed results. A staged copy
    moved into place between looking and opening is followed to its final path.
    """
    p = Path(path)
    for _ in range(10):
        where = current_file(p)
        if where is None:
            return None
        try:
            return where.open(encoding=encoding, newline="")
        except FileNotFoundError:
            if where == p:
                again = current_file(p)
                if again == p or again is None:
                    return None
            # the staged copy was just moved into place: look again
    return None


# -- recovery -----------------------------------------------------------------------------------------
def recover(
    out_dir: Path, *, held_store: str | None = None, lock_wait: float = 0.0, handle: Any = None
) -> list[str]:
    """Finish or discard what killed jobs left in ``out_dir``.

    A committed staging directory is rolled forward (store step, files moved into place,
    history index); a staging directory without a commit marker whose writer is gone is
    deleted. Live writers' staging directories are left alone. Idempotent.

    Parameters
    ----------
    out_dir
        The output directory.
    held_store
        The store whose lock the caller holds (its lock is not taken again).
    lock_wait
        Seconds to wait for the lock of another store a pending commit has to write.
    handle
        An open read-write handle on ``held_store``, used instead of opening it again.

    Returns
    -------
    list of str
        One line per staging directory handled (``completed run …`` / ``discarded …``).
    """
    out_dir = Path(out_dir)
    if not _staging_dirs(out_dir):
        return []
    with _results_lock(out_dir):
        return _recover_locked(out_dir, held_store=held_store, lock_wait=lock_wait, handle=handle)


def _recover_locked(
    out_dir: Path,
    *,
    held_store: str | None,
    lock_wait: float,
    handle: Any,
    skip: Path | None = None,
) -> list[str]:
    done: list[str] = []
    pending: list[tuple[Path, dict[str, Any]]] = []
    for d in _staging_dirs(out_dir):
        if skip is not None and d == skip:
            continue
        man = _read_marker(d)
        if man is not None:
            pending.append((d, man))
            continue
        if not _owner_gone(d):
            continue  # a live job is still staging here
        shutil.rmtree(d, ignore_errors=True)
        log.info("results: discarded the uncommitted output of a killed job in %s", out_dir)
        done.append(f"discarded {d.name}")
    for d, man in pending:
        log.info("results: completing run %s, committed by a job that did not finish", man.get("run_id"))
        _roll_forward(out_dir, d, man, held_store=held_store, lock_wait=lock_wait, handle=handle)
        done.append(f"completed run {man.get('run_id')}")
    return done


# -- store steps --------------------------------------------------------------------------------------
def swap_step(building: Path, store: Path) -> dict[str, Any]:
    """Store step of ``ringwatch run``: move the freshly built embedded store over ``store``."""
    return {"action": "swap", "building": _store_ref(building), "store": _store_ref(store)}


def alerts_step(store: str, run_id: str, meta: Mapping[str, str]) -> dict[str, Any]:
    """Store step of ``ringwatch detect``: write the committed alerts back into ``store``."""
    return {"action": "write_alerts", "store": _store_ref(store), "run_id": run_id, "meta": dict(meta)}


def write_back(st: Any, alerts_file: Path, run_id: str, meta: Mapping[str, str]) -> int:
    """Replace the store's ``Alert`` nodes with the alerts of ``alerts_file``, then set ``meta``.

    The alerts are read from the file being committed, so a roll-forward after a crash writes
    exactly what an uninterrupted run writes.
    """
    from .alerts_io import parse_alerts

    with alerts_file.open(encoding="utf-8") as fh:
        alerts = parse_alerts(fh)
    n = int(st.write_alerts(alerts, run_id))
    _hook("alerts-written")
    st.set_meta(dict(meta))
    return n


def _swap(building: Path, store: Path) -> None:
    """Move ``building`` (and its WAL) over ``store``; a no-op once done."""
    wal_b = building.with_name(building.name + ".wal")
    wal_s = store.with_name(store.name + ".wal")
    if not building.exists():
        return  # already swapped
    for p in (store, wal_s):
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    if wal_b.exists():
        os.replace(wal_b, wal_s)
    os.replace(building, store)
    _fsync_dir(store.parent)


@contextlib.contextmanager
def _store_locked(store: str, held_store: str | None, lock_wait: float) -> Iterator[bool]:
    """Hold ``store``'s job lock (yields True when the caller already held it)."""
    if _same_store(store, held_store):
        yield True
        return
    from .pipeline import store_lock

    with store_lock(store, lock_wait):
        yield False


def _apply_store_step(
    out_dir: Path,
    staging: Path,
    step: Mapping[str, Any],
    *,
    held_store: str | None,
    lock_wait: float,
    handle: Any,
) -> None:
    store = str(step["store"])
    with _store_locked(store, held_store, lock_wait) as held:
        if step["action"] == "swap":
            _swap(Path(step["building"]), Path(store))
            return
        if step["action"] != "write_alerts":
            raise RingwatchError(f"unknown store step {step['action']!r} in {staging}")
        if "://" not in store and not Path(store).exists():
            log.warning("results: store %s is gone; its alerts were not written back", store)
            return
        alerts = staging / "alerts.jsonl"
        if not alerts.exists():
            alerts = out_dir / "alerts.jsonl"  # already moved into place
        if held and handle is not None:
            write_back(handle, alerts, str(step["run_id"]), step["meta"])
        else:
            from ringwatch.graph import open_store

            with open_store(store) as st:
                write_back(st, alerts, str(step["run_id"]), step["meta"])


# -- roll-forward -------------------------------------------------------------------------------------
def _roll_forward(
    out_dir: Path,
    staging: Path,
    man: Mapping[str, Any],
    *,
    held_store: str | None,
    lock_wait: float,
    handle: Any,
) -> None:
    """Put a committed journal in place. Every step checks whether it already happened."""
    try:
        if man.get("store"):
            _apply_store_step(
                out_dir, staging, man["store"], held_store=held_store, lock_wait=lock_wait, handle=handle
            )
        _hook("store")
        touched = {out_dir}
        for rel in man.get("dirs", ()):
            src, dest = staging / rel, out_dir / rel
            if src.is_dir():
                dest.parent.mkdir(parents=True, exist_ok=True)
                if dest.exists():
                    shutil.rmtree(dest)
                os.replace(src, dest)
                touched.add(dest.parent)
            _hook(f"moved:{rel}")
        for rel in man.get("files", ()):
            src, dest = staging / rel, out_dir / rel
            if src.exists():
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(src, dest)
                touched.add(dest.parent)
            _hook(f"moved:{rel}")
        for rel in man.get("delete", ()):
            dest = out_dir / rel
            if dest.is_file():
                dest.unlink()
                touched.add(dest.parent)
        for d in sorted(touched):
            _fsync_dir(d)
        _hook("placed")
        # everything is in place and durable: the journal may go
        (staging / MARKER).unlink(missing_ok=True)
        _fsync_dir(staging)
        shutil.rmtree(staging, ignore_errors=True)
    except OSError as e:
        raise RingwatchError(
            f"run {man.get('run_id')} is committed but its results could not be put in place in "
            f"{out_dir}: {e.strerror or e}; the next ringwatch job on this directory completes them"
        ) from e


# -- writers ------------------------------------------------------------------------------------------
class Staging:
    """One job's staged results (use :func:`staged`)."""

    def __init__(self, out_dir: Path, path: Path, fd: int) -> None:
        self.out_dir = out_dir
        self.path = path
        self._fd = fd
        self._files: list[str] = []
        self._dirs: list[str] = []
        self._delete: list[str] = []
        self._history: dict[str, Any] | None = None
        self.committed = False

    # staging ------------------------------------------------------------------------------------------
    def write_text(self, rel: str, text: str) -> Path:
        """Stage ``OUT/rel`` with ``text`` (UTF-8, fsynced); it replaces ``OUT/rel`` on commit.

        Raises
        ------
        RingwatchError
            When it cannot be written (disk full, read-only); the message names the final file.
        """
        dest = self._write(rel, text)
        self.add_file(rel)
        return dest

    def _write(self, rel: str, data: str | bytes) -> Path:
        dest = self.path / rel
        raw = data.encode("utf-8") if isinstance(data, str) else data
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            with dest.open("wb") as fh:
                fh.write(raw)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as e:
            with contextlib.suppress(OSError):
                dest.unlink()
            raise RingwatchError(f"cannot write {self.out_dir / rel}: {e.strerror or e}") from e
        return dest

    def add_file(self, rel: str) -> None:
        """Register a file already written at ``self.path / rel`` (moved in on commit)."""
        if rel not in self._files:
            self._files.append(rel)

    def add_dir(self, rel: str) -> None:
        """Register a directory written at ``self.path / rel`` that replaces ``OUT/rel`` whole."""
        if rel not in self._dirs:
            self._dirs.append(rel)

    def delete(self, rel: str) -> None:
        """Remove ``OUT/rel`` on commit (unless this job also stages it)."""
        if rel not in self._delete:
            self._delete.append(rel)

    def replace_files_in(self, rel_dir: str, names: Sequence[str]) -> None:
        """The staged ``rel_dir/*`` files go in; of ``names`` (file names), the others go away.

        Used for ``quarantine/``: the files of the latest load are kept, those of tables with
        no quarantined rows this time are removed.
        """
        staged_dir = self.path / rel_dir
        present = sorted(p.name for p in staged_dir.iterdir() if p.is_file()) if staged_dir.is_dir() else []
        for name in present:
            self.add_file(f"{rel_dir}/{name}")
        for name in names:
            if name not in present:
                self.delete(f"{rel_dir}/{name}")

    def record_history(self, run: Mapping[str, Any]) -> None:
        """Stage ``runs/<run_id>/`` (copies of the staged alert files and run.json).

        The history index line is added at commit, under the commit lock.
        """
        from .history import RUNS, run_copy_names

        run_id = str(run["run_id"])
        rel = f"{RUNS}/{run_id}"
        for name in run_copy_names():
            src = self.path / name
            if src.is_file():
                self._write(f"{rel}/{name}", src.read_bytes())
        self.add_dir(rel)
        self._history = dict(run)

    # commit -------------------------------------------------------------------------------------------
    def commit(
        self,
        *,
        run_id: str,
        store_step: Mapping[str, Any] | None,
        held_store: str | None,
        lock_wait: float = 0.0,
        handle: Any = None,
    ) -> None:
        """Write the commit marker, then roll forward.

        Parameters
        ----------
        run_id
            The run these results belong to.
        store_step
            :func:`swap_step`, :func:`alerts_step` or ``None``.
        held_store
            The store whose job lock the caller holds.
        lock_wait
            Seconds to wait for the lock of another store (a pending journal's).
        handle
            An open read-write handle on ``held_store`` (for :func:`alerts_step`).
        """
        from .history import INDEX, RUNS, updated_index

        with _results_lock(self.out_dir):
            # a journal committed by a job killed after we started (another store): finish it first
            _recover_locked(
                self.out_dir, held_store=held_store, lock_wait=lock_wait, handle=handle, skip=self.path
            )
            if self._history is not None:
                self.write_text(f"{RUNS}/{INDEX}", updated_index(self.out_dir, self._history))
            man = {
                "format": FORMAT,
                "run_id": run_id,
                "store": dict(store_step) if store_step else None,
                "dirs": list(self._dirs),
                "files": list(self._files),
                "delete": [r for r in self._delete if r not in self._files],
            }
            try:
                _fsync_tree(self.path)
                if store_step and store_step["action"] == "swap":
                    building = Path(store_step["building"])
                    for p in (building, building.with_name(building.name + ".wal")):
                        if p.is_file():
                            _fsync_file(p)
                _hook("staged")
                tmp = self.path / f".{MARKER}.tmp"
                with tmp.open("w", encoding="utf-8") as fh:
                    fh.write(json.dumps(man, ensure_ascii=False, indent=1) + "\n")
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, self.path / MARKER)
                _fsync_dir(self.path)
            except OSError as e:
                raise RingwatchError(f"cannot commit results in {self.out_dir}: {e.strerror or e}") from e
            self.committed = True
            _hook("committed")
            _roll_forward(
                self.out_dir, self.path, man, held_store=held_store, lock_wait=lock_wait, handle=handle
            )

    def close(self) -> None:
        """Release the staging directory; delete it unless it was committed."""
        try:
            if not self.committed:
                shutil.rmtree(self.path, ignore_errors=True)
        finally:
            os.close(self._fd)


@contextlib.contextmanager
def staged(out_dir: Path) -> Iterator[Staging]:
    """A new staging directory in ``out_dir`` (created if needed) for one job's results.

    Leaving the block without :meth:`Staging.commit` deletes it; a committed one that could
    not be rolled forward is left for :func:`recover`.

    Raises
    ------
    RingwatchError
        When the output directory cannot be created or written.
    """
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with _results_lock(out_dir):
            path = out_dir / f"{STAGING_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
            path.mkdir()
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
            if not _try_flock(fd):  # a new directory: nobody else can hold it
                os.close(fd)
                raise RingwatchError(f"cannot lock the staging directory {path}")
    except OSError as e:
        raise RingwatchError(f"cannot create output directory {out_dir}: {e.strerror or e}") from e
    stg = Staging(out_dir, path, fd)
    try:
        yield stg
    finally:
        stg.close()
