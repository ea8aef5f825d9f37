"""Case work (status, assignee, notes) and the append-only audit log, in one SQLite file.

The database lives beside the store (``<store>.cases.sqlite`` by default) and is keyed by
``alert_id``, which is stable across detector runs (contract §3), so case work survives
restarts and new runs.

Audit log: every case view, status/assignee change, note, unmask, console query and
login is one row of ``audit`` with ``prev_hash`` and ``hash`` (SHA-256 over the row's
fields and the previous hash: a hash chain). SQLite triggers refuse ``UPDATE`` and
``DELETE`` on the table; :meth:`CaseStore.verify` recomputes the chain and reports the
first row that was changed, removed or reordered, and a separately kept head (row count
and last hash) catches rows cut off the end.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

STATUSES: tuple[str, ...] = ("new", "investigating", "confirmed", "dismissed")
GENESIS = "0" * 64

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cases (
    alert_id   TEXT PRIMARY KEY,
    status     TEXT NOT NULL DEFAULT 'new',
    assignee   TEXT,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS notes (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id TEXT NOT NULL,
    time     TEXT NOT NULL,
    user     TEXT NOT NULL,
    text     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS notes_alert ON notes(alert_id);
CREATE TABLE IF NOT EXISTS audit (
    seq       INTEGER PRIMARY KEY,
    time      TEXT NOT NULL,
    user      TEXT NOT NULL,
    action    TEXT NOT NULL,
    alert_id  TEXT,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_alert ON audit(alert_id);
CREATE TABLE IF NOT EXISTS audit_head (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    count INTEGER NOT NULL,
    hash  TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS notes_no_update BEFORE UPDATE ON notes
BEGIN SELECT RAISE(ABORT, 'notes are append-only'); END;
CREATE TRIGGER IF NOT EXISTS notes_no_delete BEFORE DELETE ON notes
BEGIN SELECT RAISE(ABORT, 'notes are append-only'); END;
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def entry_hash(
    seq: int, time: str, user: str, action: str, alert_id: str | None, detail: str, prev_hash: str
) -> str:
    """SHA-256 (hex) of one audit row's fields and the previous row's hash."""
    blob = json.dumps(
        [seq, time, user, action, alert_id, detail, prev_hash], ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CaseRecord:
    """The case-work state of one alert (``status='new'`` when never touched)."""

    alert_id: str
    status: str = "new"
    assignee: str | None = None
    updated_at: str | None = None
    updated_by: str | None = None


@dataclass(frozen=True)
class Note:
    id: int
    alert_id: str
    time: str
    user: str
    text: str


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of :meth:`CaseStore.verify`.

    Attributes
    ----------
    ok
        The whole chain is intact.
    checked
        Rows checked.
    bad_seq
        ``seq`` of the first bad row (``None`` when ok, or when rows were cut off the end).
    reason
        Plain-words reason when not ok.
    """

    ok: bool
    checked: int
    bad_seq: int | None = None
    reason: str = ""


class CaseStore:
    """Case work and audit log in one SQLite file (safe for several sessions at once).

    Parameters
    ----------
    path
        The SQLite file; created with its tables on first use.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=30)
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(_SCHEMA)  # idempotent (IF NOT EXISTS); commits by itself
        finally:
            con.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            con.execute("PRAGMA busy_timeout=30000")
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
        finally:
            con.close()

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=30)
        try:
            yield con
        finally:
            con.close()

    # -- audit -----------------------------------------------------------------------
    @staticmethod
    def _append(
        con: sqlite3.Connection, user: str, action: str, alert_id: str | None, detail: dict[str, Any]
    ) -> str:
        row = con.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (row[0] + 1, row[1]) if row else (1, GENESIS)
        time = _now()
        det = json.dumps(detail, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
        h = entry_hash(seq, time, user, action, alert_id, det, prev)
        con.execute(
            "INSERT INTO audit (seq, time, user, action, alert_id, detail, prev_hash, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, time, user, action, alert_id, det, prev, h),
        )
        con.execute(
            "INSERT INTO audit_head (id, count, hash) VALUES (1, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET count = excluded.count, hash = excluded.hash",
            (seq, h),
        )
        return h

    def log(self, user: str, action: str, alert_id: str | None = None, **detail: Any) -> str:
        """Append one audit entry; returns its hash.

        Parameters
        ----------
        user
            Who did it.
        action
            What: ``view``, ``status``, ``assign``, ``note``, ``unmask``, ``query``,
            ``login``, ``login_failed``, ``logout`` …
        alert_id
            The alert concerned, if any.
        **detail
            Facts stored as JSON (e.g. ``before``/``after``).
        """
        with self._tx() as con:
            return self._append(con, user, action, alert_id, dict(detail))

    def audit(self, *, alert_id: str | None = None, limit: int = 200) -> pd.DataFrame:
        """Latest audit entries (newest first), optionally for one alert."""
        sql = "SELECT seq, time, user, action, alert_id, detail, prev_hash, hash FROM audit"
        params: list[Any] = []
        if alert_id is not None:
            sql += " WHERE alert_id = ?"
            params.append(alert_id)
        sql += " ORDER BY seq DESC LIMIT ?"
        params.append(int(limit))
        with self._read() as con:
            return pd.read_sql_query(sql, con, params=params)

    def verify(self) -> VerifyResult:
        """Recompute the hash chain.

        Returns
        -------
        VerifyResult
            ``ok`` when every row's hash matches its fields and the previous hash, the
            sequence has no gaps, and the kept head matches the last row.
        """
        prev = GENESIS
        expected_seq = 1
        n = 0
        with self._read() as con:
            cur = con.execute(
                "SELECT seq, time, user, action, alert_id, detail, prev_hash, hash FROM audit ORDER BY seq"
            )
            for seq, time, user, action, alert_id, detail, prev_hash, h in cur:
                n += 1
                if seq != expected_seq:
                    return VerifyResult(False, n, seq, f"row {expected_seq} is missing")
                if prev_hash != prev:
                    return VerifyResult(False, n, seq, "previous-hash link broken")
                if entry_hash(seq, time, user, action, alert_id, detail, prev_hash) != h:
                    return VerifyResult(False, n, seq, "row content does not match its hash")
                prev = h
                expected_seq += 1
            head = con.execute("SELECT count, hash FROM audit_head WHERE id = 1").fetchone()
        if head is None:
            if n:
                return VerifyResult(False, n, None, "audit head is missing")
            return VerifyResult(True, 0)
        if head[0] != n or head[1] != prev:
            return VerifyResult(False, n, None, "rows were removed from the end of the log")
        return VerifyResult(True, n)

    # -- cases -----------------------------------------------------------------------
    def get(self, alert_id: str) -> CaseRecord:
        """The case state of one alert (``new`` if never touched)."""
        with self._read() as con:
            row = con.execute(
                "SELECT alert_id, status, assignee, updated_at, updated_by FROM cases WHERE alert_id = ?",
                (alert_id,),
            ).fetchone()
        return CaseRecord(*row) if row else CaseRecord(alert_id)

    def statuses(self) -> dict[str, str]:
        """``alert_id`` -> status for every touched case (untouched ones are ``new``)."""
        with self._read() as con:
            return dict(con.execute("SELECT alert_id, status FROM cases").fetchall())

    def cases(self) -> pd.DataFrame:
        """Every touched case with its note count, most recently updated first."""
        with self._read() as con:
            return pd.read_sql_query(
                "SELECT c.alert_id, c.status, c.assignee, c.updated_at, c.updated_by, "
                "(SELECT count(*) FROM notes n WHERE n.alert_id = c.alert_id) AS notes "
                "FROM cases c ORDER BY c.updated_at DESC",
                con,
            )

    def _upsert(self, con: sqlite3.Connection, alert_id: str, user: str, **cols: Any) -> CaseRecord:
        row = con.execute(
            "SELECT alert_id, status, assignee, updated_at, updated_by FROM cases WHERE alert_id = ?",
            (alert_id,),
        ).fetchone()
        before = CaseRecord(*row) if row else CaseRecord(alert_id)
        status = cols.get("status", before.status)
        assignee = cols.get("assignee", before.assignee)
        con.execute(
            "INSERT INTO cases (alert_id, status, assignee, updated_at, updated_by) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(alert_id) DO UPDATE SET status = excluded.status, assignee = excluded.assignee, "
            "updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            (alert_id, status, assignee, _now(), user),
        )
        return before

    def set_status(self, alert_id: str, status: str, user: str) -> bool:
        """Change the status; returns ``False`` when it was already that status.

        Raises
        ------
        ValueError
            ``status`` is not one of :data:`STATUSES`.
        """
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        with self._tx() as con:
            before = self._current(con, alert_id)
            if before.status == status:
                return False
            self._upsert(con, alert_id, user, status=status)
            self._append(con, user, "status", alert_id, {"before": before.status, "after": status})
        return True

    def set_assignee(self, alert_id: str, assignee: str | None, user: str) -> bool:
        """Change the assignee (``None`` or ``""`` clears it); returns whether it changed."""
        assignee = (assignee or "").strip() or None
        with self._tx() as con:
            before = self._current(con, alert_id)
            if before.assignee == assignee:
                return False
            self._upsert(con, alert_id, user, assignee=assignee)
            self._append(con, user, "assign", alert_id, {"before": before.assignee, "after": assignee})
        return True

    @staticmethod
    def _current(con: sqlite3.Connection, alert_id: str) -> CaseRecord:
        row = con.execute(
            "SELECT alert_id, status, assignee, updated_at, updated_by FROM cases WHERE alert_id = ?",
            (alert_id,),
        ).fetchone()
        return CaseRecord(*row) if row else CaseRecord(alert_id)

    def add_note(self, alert_id: str, text: str, user: str) -> int:
        """Append a note to a case; returns its id.

        Raises
        ------
        ValueError
            Empty note.
        """
        text = text.strip()
        if not text:
            raise ValueError("empty note")
        with self._tx() as con:
            cur = con.execute(
                "INSERT INTO notes (alert_id, time, user, text) VALUES (?, ?, ?, ?)",
                (alert_id, _now(), user, text),
            )
            note_id = int(cur.lastrowid or 0)
            self._upsert(con, alert_id, user)
            self._append(con, user, "note", alert_id, {"note_id": note_id, "text": text})
        return note_id

    def notes(self, alert_id: str) -> list[Note]:
        """The notes of one case, oldest first."""
        with self._read() as con:
            rows = con.execute(
                "SELECT id, alert_id, time, user, text FROM notes WHERE alert_id = ? ORDER BY id", (alert_id,)
            ).fetchall()
        return [Note(*r) for r in rows]

    def count_audit(self) -> int:
        with self._read() as con:
            return int(con.execute("SELECT count(*) FROM audit").fetchone()[0])


def default_cases_path(store: str, alerts_dir: Path) -> Path:
    """Where the case database lives: ``<store>.cases.sqlite`` beside an embedded store,
    or ``<alerts_dir>/cases.sqlite`` for a server (``neo4j://``, ``bolt://``) store."""
    if "://" in store:
        return Path(alerts_dir) / "cases.sqlite"
    p = Path(store)
    return p.with_name(p.name + ".cases.sqlite")


def status_counts(statuses: Sequence[str]) -> dict[str, int]:
    """Count statuses in the order of :data:`STATUSES`."""
    out = dict.fromkeys(STATUSES, 0)
    for s in statuses:
        if s in out:
            out[s] += 1
    return out
