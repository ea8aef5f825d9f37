"""Embedded LadybugDB store (one file, the default backend).

Writes are bulk ``COPY … FROM <Arrow table>`` statements, never row by row. All Cypher text
is in :mod:`ringwatch.graph.ladybug_cypher`.

Concurrency facts this module is built on (verified on ladybug 0.22):

* one process may hold the file read-write; other processes may open it read-only at the
  same time and see everything committed when they opened (WAL included), but not later
  writes: a long-lived read-only handle goes stale, so read-only stores open a short-lived
  read-only handle per call;
* a second read-write open from another process fails ("Could not set lock on file"):
  :class:`~ringwatch.errors.LockError`;
* inside one process, opening and closing a second ``Database`` on a file this process holds
  read-write releases the process's file lock (POSIX ``fcntl`` locks are per process), and
  a second read-write ``Database`` on the same file is *not* refused. This module therefore
  keeps a registry of files open read-write in this process: a second read-write open is
  refused, and a read-only store on such a file reads through the writer's database inside
  ``BEGIN TRANSACTION READ ONLY`` instead of opening its own handle;
* a ``replace`` load builds the new graph in a fresh file beside the store and renames it
  over the store: readers see the old graph or the new one, never a half-loaded store. A
  full load streams into that file (:class:`_ReplaceWriter`): ``COPY`` releases the GIL,
  so a background thread copies each frame while the loader cleans and builds the next.
  An ``upsert`` load (a nightly increment) merges into a copy of the checkpointed store
  file and renames the copy over the store in the same way (all or nothing; one file copy).

Upserts find the stored edges a new row replaces by key look-ups (``LOAD FROM`` an Arrow
table of keys joined on a primary key or a property), delete them per endpoint pair and
``COPY`` the new edges; a relationship type most of whose edges change is rewritten whole.

Three LadybugDB 0.22 defects are worked around: node ``COPY`` into a ``STRING`` primary key
can deadlock with several threads (seen with 150k long Chinese address keys, from Arrow and
from CSV), so node copies and updates run single-threaded; the buffer pool defaults to 80%
of RAM, so it is capped (see :func:`buffer_pool_bytes`); and ``COPY`` of ``DOUBLE[]`` list
columns is several times slower than of ``STRING[]`` lists, so ``PAID_TO.amounts`` is kept as
exact decimal text and turned back into numbers by every projection
(``ladybug_cypher.STORAGE_TYPES``; analyst Cypher on this store sees the text).
"""

from __future__ import annotations

import logging
import os
import queue
import re
import shutil
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import ladybug
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ringwatch.contract import TABLE_ORDER
from ringwatch.errors import LockError, ReadOnlyViolation, StoreError

from . import ladybug_cypher as cy
from .base import (
    BulkWriter,
    GraphFrames,
    GraphStore,
    LoadMode,
    QueryResult,
    Subgraph,
    SubgraphEdge,
    SubgraphNode,
)
from .frames import (
    ALL_NODES,
    FLAGS,
    REL_MERGE_KEYS,
    alert_members,
    alert_row,
    arrow_schema,
    arrow_to_frame,
    check_endpoints,
    check_node_frame,
    check_rel_frame,
    empty_typed_frame,
    frame_to_arrow,
    json_safe,
    merge_keys,
    node_id,
    node_props,
    node_type,
    pick_columns,
    rel_props,
    rel_type,
    sort_arrow,
    sort_columns,
)
from .readonly import assert_read_only
from .schema import ALERT_NODE, MEMBER_LABELS, META_NODE, NODES, RELS

log = logging.getLogger(__name__)

#: files this process holds read-write -> the store holding them
_RW_OPEN: dict[str, weakref.ReferenceType[LadybugStore]] = {}
_RW_LOCK = threading.Lock()


def buffer_pool_bytes() -> int:
    """LadybugDB buffer pool size: ``RINGWATCH_LBUG_BUFFER_POOL_MB`` or a quarter of RAM (≥ 1 GiB).

    LadybugDB's own default is 80% of physical memory, which together with the frames a
    load holds in Python can get a large load killed for lack of memory.
    """
    env = os.environ.get("RINGWATCH_LBUG_BUFFER_POOL_MB")
    if env:
        try:
            return max(64, int(env)) * 2**20
        except ValueError:
            raise StoreError(f"RINGWATCH_LBUG_BUFFER_POOL_MB must be a number of MiB, got {env!r}") from None
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 8 * 2**30
    return max(2**30, total // 4)


def _remove_db_files(path: Path) -> None:
    """Delete a database file and its WAL, if present."""
    for p in (path, path.with_name(path.name + ".wal")):
        if p.is_file():
            p.unlink()


def _canonical_path(path: str | Path) -> str:
    if str(path) == ":memory:":
        return ":memory:"
    return str(Path(path).expanduser().resolve())


def _writer_in_process(path: str) -> LadybugStore | None:
    with _RW_LOCK:
        ref = _RW_OPEN.get(path)
        store = ref() if ref is not None else None
        return store if store is not None and store._db is not None else None


def _scalar(conn: ladybug.Connection, query: str, params: dict[str, Any] | None = None) -> Any:
    res = _execute(conn, query, params)
    rows = res.get_all()
    return rows[0][0] if rows else None


def storage_arrow_type(t: pa.DataType) -> pa.DataType:
    """The Arrow type a column is copied as (``DOUBLE[]`` lists as text, see ``ladybug_cypher.STORAGE_TYPES``)."""
    if pa.types.is_list(t) and pa.types.is_floating(t.value_type):
        return pa.list_(pa.string())
    return t


def _row_text(table: pa.Table) -> pa.Array:
    """Every column of each row as one string (lists joined), to compare rows as values."""
    parts = []
    for col in table.columns:
        c = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        if pa.types.is_list(c.type):
            c = pc.binary_join(pc.cast(c, pa.list_(pa.string())), "\x02")
        parts.append(pc.fill_null(pc.cast(c, pa.string()), "\x01"))
    out = pc.binary_join_element_wise(*parts, "\x00")
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def _unchanged_keys(old: pa.Table, new: pa.Table, rel: str) -> pa.Array:
    """Merge keys whose stored edges (``old``) and new rows are the same multiset of rows."""

    def signature(t: pa.Table) -> pa.Table:
        rows = pa.table({"k": merge_keys(t, rel), "row": _row_text(t)})
        rows = rows.sort_by([("k", "ascending"), ("row", "ascending")])
        grouped = rows.group_by("k", use_threads=False).aggregate([("row", "list")])
        return pa.table({"k": grouped.column("k"), "sig": pc.binary_join(grouped.column("row_list"), "\x03")})

    joined = signature(old).join(signature(new), keys="k", join_type="inner", right_suffix="_new")
    if not joined.num_rows:
        return pa.array([], type=pa.string())
    same = pc.equal(joined.column("sig"), joined.column("sig_new"))
    return joined.column("k").filter(pc.fill_null(same, False)).combine_chunks()


def _pair_keys(src: pa.Array | pa.ChunkedArray, dst: pa.Array | pa.ChunkedArray) -> pa.Array:
    """``src\\x00dst`` per row (endpoint pairs as one comparable string)."""
    out = pc.binary_join_element_wise(pc.cast(src, pa.string()), pc.cast(dst, pa.string()), "\x00")
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def _unique_strings(values: Sequence[str] | pa.Array | pa.ChunkedArray) -> pa.Array:
    """Distinct non-null, non-empty values as an Arrow string array."""
    arr = (
        values
        if isinstance(values, (pa.Array, pa.ChunkedArray))
        else pa.array(list(values), type=pa.string())
    )
    arr = pc.unique(pc.drop_null(pc.cast(arr, pa.string())))
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr.filter(pc.not_equal(pc.utf8_length(arr), 0))


def safe_message(error: BaseException) -> str:
    """A LadybugDB error message without the data values it may quote (ids, phones, keys)."""
    msg = re.sub(r"(key value|value)\s+\S+", r"\1 …", str(error))
    return re.sub(r"\d{6,}", "…", msg)


def _execute(conn: ladybug.Connection, query: str, params: dict[str, Any] | None = None) -> Any:
    try:
        result = conn.execute(query, params or {})
    except RuntimeError as e:
        raise StoreError(f"LadybugDB query failed: {safe_message(e)}") from e
    if isinstance(result, list):  # several statements: keep the last result
        return result[-1]
    return result


class LadybugStore(GraphStore):
    """A graph in one LadybugDB file.

    Parameters
    ----------
    path
        The database file (created when missing, unless ``read_only``), or ``":memory:"``.
    read_only
        Open for reading only: every call opens a short-lived read-only handle (so it sees
        the latest committed data and never holds the file), or reads through this process's
        writer inside a read-only transaction.
    batch_size
        Rows per update statement when upserting changed nodes (at least 50,000).
    """

    backend = "ladybug"
    #: upserts rebuild a relationship table (instead of deleting edges one by one, which is
    #: slow in LadybugDB) when at least this many edges and a twentieth of the table go
    rebuild_min_edges: int = 20_000
    #: upserts into a store file write a copy and rename it over the store (all or nothing)
    atomic_upserts: bool = True

    def __init__(self, path: str | Path, *, read_only: bool = False, batch_size: int = 10_000) -> None:
        self.path = _canonical_path(path)
        self.read_only = read_only
        self.batch_size = max(1, int(batch_size))
        self._db: ladybug.Database | None = None
        self._conn: ladybug.Connection | None = None
        self._conn1: ladybug.Connection | None = None  # single-threaded: node COPY and updates
        if read_only:
            if self.path == ":memory:":
                raise StoreError("an in-memory store cannot be opened read-only")
            if _writer_in_process(self.path) is None and not Path(self.path).exists():
                raise StoreError(f"no LadybugDB store at {self.path}")
            return
        if self.path != ":memory:":
            with _RW_LOCK:
                ref = _RW_OPEN.get(self.path)
                other = ref() if ref is not None else None
                if other is not None and other._db is not None:
                    raise LockError(f"store {self.path} is already open for writing in this process")
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                self._open_rw()
                _RW_OPEN[self.path] = weakref.ref(self)
        else:
            self._open_rw()

    def _open_rw(self) -> None:
        try:
            self._db = ladybug.Database(self.path, buffer_pool_size=buffer_pool_bytes())
            self._conn = ladybug.Connection(self._db)
            # ladybug 0.22 can deadlock building a STRING primary-key index with several
            # threads (seen with 150k long Chinese address keys, from Arrow and CSV alike);
            # node COPY and updates therefore run single-threaded, everything else as configured.
            self._conn1 = ladybug.Connection(self._db)
            self._conn1.set_max_threads_for_exec(1)
        except RuntimeError as e:
            msg = str(e)
            if "lock" in msg.lower():
                raise LockError(
                    f"store {self.path} is open for writing in another process; "
                    "read-only access is possible, writing must wait until it closes"
                ) from e
            raise StoreError(f"cannot open LadybugDB store {self.path}: {safe_message(e)}") from e

    # -- lifecycle ---------------------------------------------------------------------
    def close(self) -> None:
        """Close the database (releases the file lock); idempotent."""
        for conn in (self._conn1, self._conn):
            if conn is not None:
                conn.close()
        self._conn = self._conn1 = None
        if self._db is not None:
            self._db.close()
            self._db = None
            with _RW_LOCK:
                ref = _RW_OPEN.get(self.path)
                if ref is not None and ref() is self:
                    del _RW_OPEN[self.path]

    def _writer(self) -> ladybug.Connection:
        if self.read_only:
            raise ReadOnlyViolation("this store was opened read-only")
        if self._conn is None:
            raise StoreError("the store is closed")
        return self._conn

    def _node_writer(self) -> ladybug.Connection:
        self._writer()
        assert self._conn1 is not None
        return self._conn1

    @contextmanager
    def _reading(self, read_only_tx: bool = False, timeout_s: float | None = None) -> Iterator[Any]:
        """A connection for reads.

        Writer stores read on their own connection (or, for ``read_only_tx``, on a fresh
        connection inside ``BEGIN TRANSACTION READ ONLY``). Read-only stores borrow this
        process's writer the same way, or open a short-lived read-only database.
        """
        owner: LadybugStore | None = None
        if not self.read_only:
            if self._db is None:
                raise StoreError("the store is closed")
            owner = self
        else:
            owner = _writer_in_process(self.path)
        if owner is not None and owner._db is not None:
            if not read_only_tx and timeout_s is None and owner is self and self._conn is not None:
                yield self._conn
                return
            conn = ladybug.Connection(owner._db)
            try:
                if timeout_s is not None:
                    conn.set_query_timeout(max(1, int(timeout_s * 1000)))
                _execute(conn, cy.BEGIN_READ_ONLY)
                try:
                    yield conn
                finally:
                    with suppress(RuntimeError):  # a failed statement already ended the transaction
                        conn.execute(cy.ROLLBACK)
            finally:
                conn.close()
            return
        db = self._open_read_only_db()
        conn = ladybug.Connection(db)
        try:
            if timeout_s is not None:
                conn.set_query_timeout(max(1, int(timeout_s * 1000)))
            yield conn
        finally:
            conn.close()
            db.close()

    def _open_read_only_db(self) -> ladybug.Database:
        if not Path(self.path).exists():
            raise StoreError(f"no LadybugDB store at {self.path}")
        last: Exception | None = None
        for attempt in range(5):  # a writer's checkpoint can briefly make a read-only open fail
            try:
                return ladybug.Database(self.path, read_only=True, buffer_pool_size=buffer_pool_bytes())
            except RuntimeError as e:
                last = e
                time.sleep(0.1 * (attempt + 1))
        raise StoreError(
            f"cannot open LadybugDB store {self.path} read-only: {safe_message(last or Exception())}"
        )

    # -- schema ------------------------------------------------------------------------
    def create_schema(self) -> None:
        """Create every node and relationship table that does not exist yet (idempotent).

        Tables of an older schema are left alone here: a ``replace`` load recreates them,
        and an ``upsert`` load or :meth:`write_alerts` refuses to write into them.
        """
        self._create_schema(self._writer())

    @staticmethod
    def _create_schema(conn: ladybug.Connection) -> None:
        for nt in ALL_NODES.values():
            _execute(conn, cy.create_node_table(nt))
        for rt in RELS.values():
            _execute(conn, cy.create_rel_table(rt))
        _execute(conn, cy.create_flags_table())

    def _check_schema(self, conn: ladybug.Connection) -> None:
        expected: dict[str, list[tuple[str, str]]] = {
            nt.label: [(c, cy.storage_type(t)) for c, t in nt.props] for nt in ALL_NODES.values()
        }
        expected.update({rt.type: [(c, cy.storage_type(t)) for c, t in rt.props] for rt in RELS.values()})
        expected[FLAGS] = []
        for table, cols in expected.items():
            found = [(str(r[0]), str(r[1])) for r in _execute(conn, cy.table_info(table)).get_all()]
            if found != cols:
                raise StoreError(
                    f"store table {table} does not match this ringwatch version's schema; "
                    "reload the store from scratch (ringwatch load --replace, or ringwatch run)"
                )

    def _drop_all(self, conn: ladybug.Connection) -> None:
        tables = [(str(r[0]), str(r[1])) for r in _execute(conn, cy.SHOW_TABLES).get_all()]
        for name, kind in tables:
            if kind == "REL":
                _execute(conn, cy.drop_table(name))
        for name, kind in tables:
            if kind != "REL":
                _execute(conn, cy.drop_table(name))

    # -- writes ------------------------------------------------------------------------
    def bulk_load(self, frames: GraphFrames, mode: LoadMode = "replace") -> dict[str, int]:
        """Write a frame bundle with ``COPY`` (see :meth:`GraphStore.bulk_load`).

        ``replace`` copies every frame into a fresh file beside the store and renames it over
        the store (readers see the old or the new graph, a failure keeps the old one; an
        in-memory store drops and recreates its tables instead). ``upsert`` copies nodes with
        new keys and updates existing nodes only where a non-null new value differs from the
        stored one (nulls never erase); each relationship row replaces the stored edges with
        the same merge key (:data:`~ringwatch.graph.frames.REL_MERGE_KEYS`: a claim by
        ``claim_id``, a benefit's ``PAID_TO`` edges by benefit, a phone by person and phone,
        ...), so a rerun changes nothing and other edges stay. Every frame is validated before
        anything is written.
        """
        if mode not in ("replace", "upsert"):
            raise StoreError(f"unknown load mode {mode!r}")
        conn = self._writer()
        unknown = [lbl for lbl in frames.node_frames if lbl not in NODES]
        if unknown:
            raise StoreError(f"unknown node label(s) in frames: {', '.join(unknown)}")
        for rel in frames.rel_frames:
            rel_type(rel)
        node_tables = {lbl: check_node_frame(df, lbl) for lbl, df in frames.node_frames.items()}
        rel_tables = {rel: check_rel_frame(df, rel) for rel, df in frames.rel_frames.items()}
        if mode == "upsert":
            self.create_schema()
            self._check_schema(conn)
        self._check_endpoints(conn, node_tables, rel_tables, mode)

        written: dict[str, int] = {}
        fresh: dict[str, pa.Array] = {}
        t0 = time.perf_counter()
        if mode == "replace" and self.path != ":memory:":
            self._replace_file(node_tables, rel_tables, frames)
            conn = self._writer()
        elif mode == "replace":
            self._replace_all(conn, self._node_writer(), node_tables, rel_tables, frames)
        else:

            def upsert() -> None:
                for lbl in NODES:
                    if lbl in node_tables and node_tables[lbl].num_rows:
                        fresh[lbl] = self._upsert_nodes(lbl, node_tables[lbl])
                for rel in RELS:
                    if rel in rel_tables and rel_tables[rel].num_rows:
                        self._merge_edges(rel, rel_tables[rel], fresh)
                loaded = set(frames.loaded_tables) | self.tables()
                self.set_meta(
                    {**frames.meta, "loaded_tables": ",".join(t for t in TABLE_ORDER if t in loaded)}
                )

            if self.path == ":memory:" or not self.atomic_upserts:
                upsert()
            else:
                self._on_a_copy(upsert)
            conn = self._writer()
        written.update({lbl: t.num_rows for lbl, t in node_tables.items()})
        written.update({rel: t.num_rows for rel, t in rel_tables.items()})
        _execute(conn, cy.CHECKPOINT)
        log.info("%s load of %d rows took %.1fs", mode, sum(written.values()), time.perf_counter() - t0)
        return written

    def _on_a_copy(self, write: Callable[[], None]) -> None:
        """Run ``write`` against a copy of the store file, then rename the copy over the store.

        The store is checkpointed (its WAL emptied into the file) and copied beside itself;
        ``write`` runs with this store's connections pointing at the copy. Readers see the old
        graph until the rename and the new one after it; a failure, or a job killed half-way,
        leaves the old graph and a leftover copy that the next load removes.
        """
        target = Path(self.path)
        tmp = target.with_name(f"{target.name}.upsert-{os.getpid()}")
        for old in target.parent.glob(f"{target.name}.upsert-*"):
            if old.is_file():
                old.unlink()  # left by a killed job (only one job holds the store)
        _execute(self._writer(), cy.CHECKPOINT)
        shutil.copyfile(target, tmp)
        mine = (self._db, self._conn, self._conn1)
        try:
            self._db = ladybug.Database(str(tmp), buffer_pool_size=buffer_pool_bytes())
            self._conn = ladybug.Connection(self._db)
            self._conn1 = ladybug.Connection(self._db)
            self._conn1.set_max_threads_for_exec(1)  # see _open_rw: node writes single-threaded
            write()
            _execute(self._conn, cy.CHECKPOINT)
        except BaseException:
            self._close_handles()
            self._db, self._conn, self._conn1 = mine
            _remove_db_files(tmp)
            raise
        self._close_handles()
        self._db, self._conn, self._conn1 = mine
        try:
            self._swap_in(tmp)
        finally:
            _remove_db_files(tmp)  # only left when the swap failed

    def _close_handles(self) -> None:
        for c in (self._conn1, self._conn):
            if c is not None:
                c.close()
        if self._db is not None:
            self._db.close()
        self._db = self._conn = self._conn1 = None

    def _replace_file(
        self, node_tables: Mapping[str, pa.Table], rel_tables: Mapping[str, pa.Table], frames: GraphFrames
    ) -> None:
        """Build the new graph in a fresh file beside the store, then swap it in (see :class:`_ReplaceWriter`)."""
        with _ReplaceWriter(self, checked=True) as writer:
            for lbl in NODES:
                if lbl in node_tables:
                    writer.add("node", lbl, node_tables[lbl])
            for rel in RELS:
                if rel in rel_tables:
                    writer.add("rel", rel, rel_tables[rel])
            writer.commit(frames)

    def bulk_writer(self, mode: LoadMode = "replace") -> BulkWriter:
        """A writer that copies each frame into the new file while the loader builds the next.

        A ``replace`` load into a store file streams (:class:`_ReplaceWriter`): the loader's
        Python work and LadybugDB's ``COPY`` (which releases the GIL) run side by side. Other
        loads collect the frames and write them at ``commit``.
        """
        if mode == "replace" and self.path != ":memory:":
            return _ReplaceWriter(self)
        return super().bulk_writer(mode)

    def _swap_in(self, new_file: Path) -> None:
        """Close this store and rename ``new_file`` (a closed, checkpointed database) over it; reopen."""
        target = Path(self.path)
        try:
            self._close_handles()  # a clean close checkpoints and removes the store's WAL
            _remove_db_files(target.with_name(target.name + ".wal"))
            os.replace(new_file, target)
        finally:
            if self._db is None:
                self._open_rw()

    def _replace_all(
        self,
        conn: ladybug.Connection,
        node_conn: ladybug.Connection,
        node_tables: Mapping[str, pa.Table],
        rel_tables: Mapping[str, pa.Table],
        frames: GraphFrames,
    ) -> None:
        """Drop every table, recreate the schema, copy every frame and write the metadata.

        ``node_conn`` (single-threaded, on the same database as ``conn``) copies the node tables.
        """
        self._drop_all(conn)
        self._create_schema(conn)
        for lbl in NODES:
            if lbl in node_tables and node_tables[lbl].num_rows:
                _execute(node_conn, cy.copy_node(lbl), {"data": self._storage(node_tables[lbl])})
        for rel in RELS:
            if rel in rel_tables and rel_tables[rel].num_rows:
                _execute(conn, cy.copy_rel(rel), {"data": self._storage(rel_tables[rel])})
        loaded = ",".join(t for t in TABLE_ORDER if t in frames.loaded_tables)
        self._set_meta(conn, {**frames.meta, "loaded_tables": loaded})

    def _check_endpoints(
        self,
        conn: ladybug.Connection,
        node_tables: Mapping[str, pa.Table],
        rel_tables: Mapping[str, pa.Table],
        mode: LoadMode,
    ) -> None:
        """Refuse relationship rows whose endpoint node is neither in the frames nor (upsert) in the store."""

        def stored(label: str, keys: list[str]) -> set[str]:
            found = _execute(conn, cy.existing_keys(label), {"keys": keys})
            return {str(r[0]) for r in found.get_all()}

        check_endpoints(node_tables, rel_tables, mode, stored)

    def _upsert_nodes(self, label: str, new: pa.Table) -> pa.Array:
        """Copy new nodes; update only existing nodes where a non-null value differs.

        Returns the keys of the nodes that did not exist before (they have no stored edges).
        """
        nt = NODES[label]
        props = node_props(label)
        conn = self._node_writer()
        keys = pa.table({"k": new.column(nt.key)})
        cur = _execute(self._writer(), cy.nodes_by_keys(nt), {"data": keys}).get_as_arrow()
        cur = cur.rename_columns([c for c, _ in props]).cast(arrow_schema(props))
        exists = pc.is_in(new.column(nt.key), value_set=cur.column(nt.key))
        fresh = new.filter(pc.invert(exists))
        if fresh.num_rows:
            _execute(conn, cy.copy_node(label), {"data": fresh})
        fresh_keys = fresh.column(nt.key).combine_chunks()
        old = new.filter(exists)
        if not old.num_rows or len(props) < 2:
            return fresh_keys
        joined = old.join(cur, keys=nt.key, join_type="inner", right_suffix="__cur")
        changed = None
        for c, _ in props:
            if c == nt.key:
                continue
            now, before = joined.column(c), joined.column(f"{c}__cur")
            differs = pc.and_kleene(
                pc.is_valid(now), pc.or_kleene(pc.is_null(before), pc.not_equal(now, before))
            )
            changed = differs if changed is None else pc.or_kleene(changed, differs)
        update = joined.filter(pc.fill_null(changed, False)).select([c for c, _ in props])
        if not update.num_rows:
            return fresh_keys
        query = cy.update_nodes(nt, [c for c, _ in props])
        renamed = update.rename_columns([f"v{i}" for i in range(update.num_columns)])
        step = max(self.batch_size, 50_000)
        for start in range(0, renamed.num_rows, step):
            _execute(conn, query, {"data": renamed.slice(start, step)})
        return fresh_keys

    def _merge_edges(self, rel: str, new: pa.Table, fresh: Mapping[str, pa.Array] | None = None) -> None:
        """Upsert ``rel`` edges: each new row replaces the stored edges with its merge key.

        Merge keys are :data:`~ringwatch.graph.frames.REL_MERGE_KEYS`. The stored edges with
        a new merge key are found by key look-ups (source keys, target keys or a property);
        their endpoint pairs are emptied and refilled with the pairs' other edges and the new
        rows. When that touches many edges the table is rebuilt instead (one copy of all).
        """
        conn = self._writer()
        rt = RELS[rel]
        props = rel_props(rel)
        schema = arrow_schema(props)
        new = new.cast(schema)
        new_keys = pc.unique(merge_keys(new, rel))
        total = int(_scalar(conn, cy.count_rels(rel)) or 0)
        big = max(self.rebuild_min_edges, total // 20)
        if total and len(new_keys) >= big:
            self._rebuild_edges(rel, new, new_keys)  # most of the table changes: rewrite it
            return
        keys = REL_MERGE_KEYS[rel]
        with self._reading() as rconn:
            cand = self._stored_edges(rconn, rel, new, keys, fresh or {})
        old = cand.filter(pc.is_in(merge_keys(cand, rel), value_set=new_keys))
        if old.num_rows:
            # merge keys whose stored edges are exactly the new rows: nothing to do for them
            same = _unchanged_keys(old, new, rel)
            if len(same):
                new = new.filter(pc.invert(pc.is_in(merge_keys(new, rel), value_set=same)))
                old = old.filter(pc.invert(pc.is_in(merge_keys(old, rel), value_set=same)))
                new_keys = pc.unique(merge_keys(new, rel))
        if not new.num_rows:
            return
        if not old.num_rows:
            _execute(conn, cy.copy_rel(rel), {"data": self._storage(new)})
            return
        pairs = pa.table({"s": old.column("src"), "d": old.column("dst")}).group_by(["s", "d"]).aggregate([])
        if not ("src" in keys or "dst" in keys):
            # found by a property: read every edge of the pairs' sources
            with self._reading() as rconn:
                cand = self._edges_by(rconn, rel, "src", _unique_strings(pairs.column("s")))
        # the candidates hold every edge of their sources (or targets), so of these pairs too
        around = cand.filter(
            pc.is_in(
                _pair_keys(cand.column("src"), cand.column("dst")),
                value_set=_pair_keys(pairs.column("s"), pairs.column("d")),
            )
        )
        if around.num_rows >= big:
            self._rebuild_edges(rel, new, new_keys)
            return
        keep = around.filter(pc.invert(pc.is_in(merge_keys(around, rel), value_set=new_keys)))
        _execute(conn, cy.delete_rels_between(rt), {"data": pairs})
        _execute(conn, cy.copy_rel(rel), {"data": self._storage(pa.concat_tables([keep, new]))})

    def _rebuild_edges(self, rel: str, new: pa.Table, new_keys: pa.Array) -> None:
        """Rewrite the ``rel`` table: stored edges without a new merge key, then ``new``.

        Deleting many edges one statement at a time is slow in LadybugDB; one projection, a
        drop and one ``COPY`` is not.
        """
        conn = self._writer()
        rt = RELS[rel]
        props = rel_props(rel)
        full = self._typed(_execute(conn, cy.rel_projection(rt, props)).get_as_arrow(), arrow_schema(props))
        keep = full.filter(pc.invert(pc.is_in(merge_keys(full, rel), value_set=new_keys)))
        del full
        merged = pa.concat_tables([keep, new])
        _execute(conn, cy.drop_table(rel))
        _execute(conn, cy.create_rel_table(rt))
        if merged.num_rows:
            _execute(conn, cy.copy_rel(rel), {"data": self._storage(merged)})

    @staticmethod
    def _typed(table: pa.Table, schema: pa.Schema) -> pa.Table:
        """A query result with the schema's column names and types (stored types converted back)."""
        return table.rename_columns(schema.names).cast(schema)

    @staticmethod
    def _storage(table: pa.Table) -> pa.Table:
        """``table`` with the column types the store keeps (see :func:`storage_arrow_type`)."""
        target = pa.schema([pa.field(f.name, storage_arrow_type(f.type)) for f in table.schema])
        return table if target == table.schema else table.cast(target)

    def _stored_edges(
        self,
        conn: ladybug.Connection,
        rel: str,
        new: pa.Table,
        keys: Sequence[str],
        fresh: Mapping[str, pa.Array],
    ) -> pa.Table:
        """Stored ``rel`` edges that may share a merge key with ``new`` (a superset; the caller filters).

        Endpoints in ``fresh`` (nodes this load created) have no stored edges and are not asked.
        """
        col = "src" if "src" in keys else "dst" if "dst" in keys else keys[0]
        if not self._has_table(conn, rel):
            return arrow_schema(rel_props(rel)).empty_table()
        values = _unique_strings(new.column(col))
        label = RELS[rel].src if col == "src" else RELS[rel].dst if col == "dst" else None
        if label is not None and label in fresh and len(fresh[label]):
            values = values.filter(pc.invert(pc.is_in(values, value_set=fresh[label])))
        return self._edges_by(conn, rel, col, values)

    # -- key look-ups (incremental loads) -------------------------------------------------------
    def lookup_nodes(
        self,
        label: str,
        values: Sequence[str] | pa.Array,
        *,
        by: str | None = None,
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """The stored ``label`` nodes whose key (or ``STRING`` property ``by``) is one of ``values``.

        Columns as in :meth:`nodes` (or ``columns``), sorted by key; empty when none match.
        """
        nt = node_type(label)
        props = pick_columns(node_props(label), columns)
        prop = by or nt.key
        if nt.prop_type(prop) != "STRING":
            raise StoreError(f"{label}.{prop} is not a text property")
        keys = _unique_strings(values)
        with self._reading() as conn:
            if not len(keys) or not props or not self._has_table(conn, label):
                return empty_typed_frame(props)
            table = _execute(
                conn, cy.nodes_where(nt, prop, [c for c, _ in props]), {"data": pa.table({"k": keys})}
            ).get_as_arrow()
        table = sort_arrow(self._typed(table, arrow_schema(props)), sort_columns("node", label, props))
        return arrow_to_frame(table, props)

    def lookup_rels(
        self, rel_type: str, values: Sequence[str] | pa.Array, *, by: str = "src", compact: bool = False
    ) -> pd.DataFrame:
        """The stored ``rel_type`` edges whose ``by`` is one of ``values``, all columns, sorted.

        ``by`` is ``src`` or ``dst`` (endpoint keys), a ``STRING`` property, or a ``STRING[]``
        property (edges whose list holds any of ``values``; this one reads the whole column).
        ``compact``: Arrow-backed columns (``pd.ArrowDtype``) instead of the schema dtypes
        (no Python objects per list item; what a large incremental load wants).
        """
        rt = RELS.get(rel_type)
        if rt is None:
            raise StoreError(f"unknown relationship type {rel_type!r}")
        props = rel_props(rel_type)
        keys = _unique_strings(values)
        kind = "STRING" if by in ("src", "dst") else rt.prop_type(by)
        if kind not in ("STRING", "STRING[]"):
            raise StoreError(f"{rel_type}.{by} is not a text property")
        with self._reading() as conn:
            if not len(keys) or not self._has_table(conn, rel_type):
                return empty_typed_frame(props)
            if kind == "STRING[]":
                col = _execute(conn, cy.rel_projection(rt, [("src", "STRING"), (by, kind)])).get_as_arrow()
                lists = col.column(1).combine_chunks()
                hit = pc.is_in(pc.list_flatten(lists), value_set=keys)
                parents = pc.list_parent_indices(lists).filter(hit)
                sources = _unique_strings(col.column(0).combine_chunks().take(parents))
                table = self._edges_by(conn, rel_type, "src", sources)
                lists = table.column(by).combine_chunks()
                found = pc.is_in(pc.list_flatten(lists), value_set=keys)
                table = table.take(pc.unique(pc.list_parent_indices(lists).filter(found)))
            else:
                table = self._edges_by(conn, rel_type, by, keys)
        table = sort_arrow(table, sort_columns("rel", rel_type, props))
        return table.to_pandas(types_mapper=pd.ArrowDtype) if compact else arrow_to_frame(table, props)

    def _edges_by(self, conn: ladybug.Connection, rel: str, by: str, keys: pa.Array) -> pa.Table:
        """Stored ``rel`` edges (schema types) whose ``src`` / ``dst`` / property ``by`` is in ``keys``.

        Key look-ups (``LOAD FROM`` joined on the primary key or the property); when the keys
        are a large share of the table, one scan of the table filtered in Arrow is faster.
        """
        rt = RELS[rel]
        props = rel_props(rel)
        schema = arrow_schema(props)
        if not len(keys):
            return schema.empty_table()
        total = int(_scalar(conn, cy.count_rels(rel)) or 0)
        if len(keys) * 4 >= total:
            full = self._typed(_execute(conn, cy.rel_projection(rt, props)).get_as_arrow(), schema)
            return full.filter(pc.is_in(full.column(by), value_set=keys))
        if by == "src":
            text = cy.rels_by_source_keys(rt)
        elif by == "dst":
            text = cy.rels_by_target_keys(rt)
        else:
            text = cy.rels_by_property(rt, by)
        return self._typed(_execute(conn, text, {"data": pa.table({"k": keys})}).get_as_arrow(), schema)

    def write_alerts(self, alerts: Sequence[Mapping[str, Any]], run_id: str) -> int:
        """Replace every ``Alert`` node and ``FLAGS`` edge with these contract alerts.

        ``members`` and ``details`` are stored as JSON text; ``FLAGS`` edges go to the
        member nodes that exist in the store (ids of members that are not nodes are kept in
        ``members`` only). One transaction: a reader sees the old alerts or the new ones,
        never none or half.
        """
        self.create_schema()
        self._check_schema(self._writer())
        rows = [alert_row(a, run_id) for a in alerts]
        ids = [r["alert_id"] for r in rows]
        if len(set(ids)) != len(ids):
            raise StoreError(f"{len(ids) - len(set(ids))} duplicate alert_id(s) in one run")
        conn = self._node_writer()  # single-threaded: the Alert key is a STRING (module docstring)
        _execute(conn, cy.BEGIN)
        try:
            self._replace_alerts(conn, rows, alerts)
            _execute(conn, cy.COMMIT)
        except BaseException:
            with suppress(RuntimeError):
                conn.execute(cy.ROLLBACK)
            raise
        _execute(self._writer(), cy.CHECKPOINT)
        return len(rows)

    @staticmethod
    def _replace_alerts(
        conn: ladybug.Connection, rows: Sequence[Mapping[str, Any]], alerts: Sequence[Mapping[str, Any]]
    ) -> None:
        _execute(conn, cy.DELETE_ALERTS)
        if rows:
            table = frame_to_arrow(pd.DataFrame(rows), list(ALERT_NODE.props))
            _execute(conn, cy.copy_node(ALERT_NODE.label), {"data": table})
        for member_type, label in MEMBER_LABELS.items():
            pairs = sorted(
                {
                    (r["alert_id"], str(k))
                    for r, a in zip(rows, alerts, strict=True)
                    for k in alert_members(a, member_type)
                }
            )
            if not pairs:
                continue
            keys = sorted({k for _, k in pairs})
            found = _execute(conn, cy.existing_keys(label), {"keys": keys}).get_all()
            present = {str(r[0]) for r in found}
            edges = [(a, k) for a, k in pairs if k in present]
            if edges:
                data = pa.table({"src": [a for a, _ in edges], "dst": [k for _, k in edges]})
                _execute(conn, cy.copy_rel(FLAGS, (ALERT_NODE.label, label)), {"data": data})

    def set_meta(self, values: Mapping[str, str]) -> None:
        """Set metadata keys (other keys are kept)."""
        self._set_meta(self._writer(), values)

    @staticmethod
    def _set_meta(conn: ladybug.Connection, values: Mapping[str, str]) -> None:
        _execute(conn, cy.create_node_table(META_NODE))
        for k, v in values.items():
            _execute(conn, cy.set_meta(), {"k": str(k), "v": str(v)})

    def get_meta(self) -> dict[str, str]:
        """All metadata keys and values."""
        with self._reading() as conn:
            if not self._has_table(conn, META_NODE.label):
                return {}
            return {str(k): str(v) for k, v in _execute(conn, cy.get_meta()).get_all()}

    @staticmethod
    def _has_table(conn: ladybug.Connection, name: str) -> bool:
        return any(str(r[0]) == name for r in _execute(conn, cy.SHOW_TABLES).get_all())

    # -- projections -----------------------------------------------------------------------
    def nodes(self, label: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """All ``label`` nodes as a frame with schema dtypes, sorted by key."""
        props = pick_columns(node_props(label), columns)
        with self._reading() as conn:
            if not props:
                n = int(_scalar(conn, cy.count_nodes(label)) or 0) if self._has_table(conn, label) else 0
                return pd.DataFrame(index=pd.RangeIndex(n))
            if not self._has_table(conn, label):
                table = arrow_schema(props).empty_table()
            else:
                table = _execute(conn, cy.node_projection(label, [c for c, _ in props])).get_as_arrow()
        table = table.rename_columns([c for c, _ in props])
        table = sort_arrow(table, sort_columns("node", label, props))
        return arrow_to_frame(table, props)

    def rels(self, rel_type: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """All ``rel_type`` edges: ``src``/``dst`` keys and properties, sorted by (src, dst, props)."""
        rt = RELS.get(rel_type)
        if rt is None:
            raise StoreError(f"unknown relationship type {rel_type!r}")
        props = pick_columns(rel_props(rel_type), columns)
        with self._reading() as conn:
            if not self._has_table(conn, rel_type):
                table = arrow_schema(props).empty_table()
            elif not props:
                n = int(_scalar(conn, cy.count_rels(rel_type)) or 0)
                return pd.DataFrame(index=pd.RangeIndex(n))
            else:
                table = _execute(conn, cy.rel_projection(rt, props)).get_as_arrow()
        table = self._typed(table, arrow_schema(props))
        table = sort_arrow(table, sort_columns("rel", rel_type, props))
        return arrow_to_frame(table, props)

    def flags(self) -> pd.DataFrame:
        """The alert write-back edges: ``src`` (alert_id), ``label`` and ``dst`` (member key)."""
        parts = []
        with self._reading() as conn:
            if not self._has_table(conn, FLAGS):
                return pd.DataFrame({c: pd.Series([], dtype=object) for c in ("src", "label", "dst")})
            for label in MEMBER_LABELS.values():
                t = _execute(conn, cy.flags_projection(label)).get_as_arrow()
                parts.append(
                    pd.DataFrame(
                        {"src": t.column(0).to_pylist(), "label": label, "dst": t.column(1).to_pylist()}
                    )
                )
        df = pd.concat(parts, ignore_index=True).astype(object)
        return df.sort_values(["src", "label", "dst"], kind="stable").reset_index(drop=True)

    def counts(self) -> dict[str, int]:
        """Nodes per data label and ``Alert``; relationships per type and ``FLAGS``."""
        out: dict[str, int] = {}
        with self._reading() as conn:
            tables = {str(r[0]) for r in _execute(conn, cy.SHOW_TABLES).get_all()}
            for label in [*NODES, ALERT_NODE.label]:
                out[label] = int(_scalar(conn, cy.count_nodes(label)) or 0) if label in tables else 0
            for rel in [*RELS, FLAGS]:
                out[rel] = int(_scalar(conn, cy.count_rels(rel)) or 0) if rel in tables else 0
        return out

    # -- investigation -------------------------------------------------------------------
    def neighbourhood(self, label: str, key: str, *, hops: int = 1, cap: int = 200) -> Subgraph:
        """Nodes within ``hops`` data relationships of one node, at most ``cap`` of them.

        The node itself comes first; neighbours are chosen by (distance, label, key), so
        the choice is the same on every call. ``omitted`` is the number of neighbours that
        exist but were left out. Alert write-back edges are not followed. Edges are the
        data relationships among the returned nodes (at most ``20 * cap``).
        """
        if label not in NODES:
            raise StoreError(f"unknown node label {label!r}")
        if hops < 1 or hops > 4:
            raise StoreError("hops must be between 1 and 4")
        if cap < 1:
            raise StoreError("cap must be at least 1")
        with self._reading() as conn:
            center = _execute(conn, cy.find_node(label), {"key": key}).get_all()
            if not center:
                return Subgraph((), (), 0)
            nodes: dict[str, SubgraphNode] = {}
            internal: dict[tuple[int, int], str] = {}
            _add_node(center[0][0], nodes, internal)
            total = int(_scalar(conn, cy.count_neighbours(label, hops), {"key": key}) or 0)
            picked = _execute(conn, cy.pick_neighbours(label, hops), {"key": key, "lim": cap - 1}).get_all()
            for row in picked:
                _add_node(row[0], nodes, internal)
            chosen = len(nodes) - 1
            by_label: dict[str, list[str]] = {}
            for n in nodes.values():
                by_label.setdefault(n.label, []).append(n.key)
            ids = list(nodes)
            edges: dict[str, SubgraphEdge] = {}
            # one hop: the star around the centre, by primary-key lookup (an IN-list scan of a
            # large label costs ~0.4 s at 1M persons); more hops: edges among all chosen nodes
            if hops == 1:
                for (rel,) in _execute(
                    conn, cy.star_edges(label), {"key": key, "ids": ids, "lim": 20 * cap}
                ).get_all():
                    _add_edge(rel, internal, edges)
            else:
                for lbl, keys in sorted(by_label.items()):
                    if lbl not in NODES:
                        continue
                    res = _execute(
                        conn, cy.edges_among(lbl), {"keys": sorted(keys), "ids": ids, "lim": 20 * cap}
                    )
                    for (rel,) in res.get_all():
                        _add_edge(rel, internal, edges)
        ordered_edges = tuple(sorted(edges.values(), key=lambda e: (e.source, e.target, e.type, e.id)))
        return Subgraph(tuple(nodes.values()), ordered_edges, max(0, total - chosen))

    def run_read(
        self,
        cypher: str,
        params: Mapping[str, Any] | None = None,
        *,
        limit: int = 1000,
        timeout_s: float = 10.0,
    ) -> QueryResult:
        """Run analyst Cypher read-only and return at most ``limit`` rows.

        The text must pass :func:`~ringwatch.graph.readonly.assert_read_only`; it then runs on
        a read-only database handle (read-only stores) or in a read-only transaction (this
        process's writer), with a query timeout. Nodes, relationships and paths in the
        result become the :class:`Subgraph` of the answer.
        """
        assert_read_only(cypher)
        if limit < 1:
            raise StoreError("limit must be at least 1")
        with self._reading(read_only_tx=True, timeout_s=timeout_s) as conn:
            try:
                res = conn.execute(cypher, dict(params or {}))
            except RuntimeError as e:
                msg = str(e)
                if "Interrupted" in msg:
                    raise StoreError(f"query stopped after the {timeout_s:g}s timeout") from e
                if "read-only" in msg.lower() or "read only" in msg.lower():
                    raise ReadOnlyViolation("the store refused a write in a read-only query") from e
                raise StoreError(f"query failed: {safe_message(e)}") from e
            if isinstance(res, list):
                raise ReadOnlyViolation("only one statement may be run at a time")
            columns = [str(c) for c in res.get_column_names()]
            rows: list[list[Any]] = []
            while res.has_next() and len(rows) <= limit:
                rows.append(list(res.get_next()))
        truncated = len(rows) > limit
        rows = rows[:limit]
        nodes: dict[str, SubgraphNode] = {}
        internal: dict[tuple[int, int], str] = {}
        raw_rels: list[dict[str, Any]] = []
        for row in rows:
            for v in row:
                _collect(v, nodes, internal, raw_rels)
        edges: dict[str, SubgraphEdge] = {}
        for rel in raw_rels:
            _add_edge(rel, internal, edges)
        frame = pd.DataFrame(
            [[_display(v, internal) for v in row] for row in rows], columns=columns, dtype=object
        )
        graph = Subgraph(tuple(nodes.values()), tuple(edges.values())) if nodes or edges else None
        return QueryResult(frame, graph, truncated)


# -- helpers: result values -> subgraph ---------------------------------------------------------


def _internal(value: Any) -> tuple[int, int] | None:
    if isinstance(value, Mapping) and "table" in value and "offset" in value:
        return int(value["table"]), int(value["offset"])
    return None


def _is_node(v: Any) -> bool:
    return isinstance(v, Mapping) and "_LABEL" in v and "_ID" in v and "_SRC" not in v


def _is_rel(v: Any) -> bool:
    return isinstance(v, Mapping) and "_SRC" in v and "_DST" in v and "_LABEL" in v


def _is_path(v: Any) -> bool:
    return isinstance(v, Mapping) and "_NODES" in v and "_RELS" in v


def _node_props(v: Mapping[str, Any]) -> dict[str, Any]:
    label = str(v["_LABEL"])
    names = (
        [c for c, _ in ALL_NODES[label].props]
        if label in ALL_NODES
        else [k for k in v if not k.startswith("_")]
    )
    return {k: json_safe(v.get(k)) for k in names if v.get(k) is not None}


def _add_node(
    v: Mapping[str, Any], nodes: dict[str, SubgraphNode], internal: dict[tuple[int, int], str]
) -> str:
    label = str(v["_LABEL"])
    iid = _internal(v["_ID"])
    if label in ALL_NODES:
        key = str(v.get(ALL_NODES[label].key))
    elif iid is not None:
        key = f"{iid[0]}:{iid[1]}"
    else:
        key = "?"
    nid = node_id(label, key)
    if nid not in nodes:
        nodes[nid] = SubgraphNode(nid, label, key, _node_props(v))
    if iid is not None:
        internal[iid] = nid
    return nid


def _add_edge(
    v: Mapping[str, Any], internal: Mapping[tuple[int, int], str], edges: dict[str, SubgraphEdge]
) -> None:
    src, dst = internal.get(_internal(v["_SRC"]) or (-1, -1)), internal.get(_internal(v["_DST"]) or (-1, -1))
    if src is None or dst is None:
        return  # an endpoint not in the result: nothing to draw it to
    iid = _internal(v.get("_ID"))
    rtype = str(v["_LABEL"])
    eid = f"{rtype}#{iid[0]}:{iid[1]}" if iid else f"{src}-{rtype}->{dst}"
    if eid not in edges:
        props = {k: json_safe(x) for k, x in v.items() if not k.startswith("_") and x is not None}
        edges[eid] = SubgraphEdge(eid, rtype, src, dst, props)


def _collect(
    v: Any,
    nodes: dict[str, SubgraphNode],
    internal: dict[tuple[int, int], str],
    rels: list[dict[str, Any]],
) -> None:
    if _is_path(v):
        for n in v["_NODES"] or []:
            _collect(n, nodes, internal, rels)
        for r in v["_RELS"] or []:
            _collect(r, nodes, internal, rels)
    elif _is_node(v):
        _add_node(v, nodes, internal)
    elif _is_rel(v):
        rels.append(dict(v))
    elif isinstance(v, list):
        for x in v:
            _collect(x, nodes, internal, rels)


def _display(v: Any, internal: Mapping[tuple[int, int], str]) -> Any:
    """A result value for the table: nodes/relationships as property dicts, dates as text."""
    if _is_path(v):
        return {
            "nodes": [_display(n, internal) for n in v["_NODES"] or []],
            "rels": [_display(r, internal) for r in v["_RELS"] or []],
        }
    if _is_node(v):
        return {"_label": str(v["_LABEL"]), **_node_props(v)}
    if _is_rel(v):
        out: dict[str, Any] = {"_type": str(v["_LABEL"])}
        out["_src"] = internal.get(_internal(v["_SRC"]) or (-1, -1))
        out["_dst"] = internal.get(_internal(v["_DST"]) or (-1, -1))
        out.update({k: json_safe(x) for k, x in v.items() if not k.startswith("_") and x is not None})
        return out
    if isinstance(v, list):
        return [_display(x, internal) for x in v]
    return json_safe(v)


class _ReplaceWriter(BulkWriter):
    """A ``replace`` load written into a fresh file beside the store, frame by frame.

    Each frame handed to :meth:`add` is checked and ``COPY``-ed by a background thread while
    the loader builds the next one (``COPY`` releases the GIL, so the two overlap on two
    cores); node tables go through a single-threaded connection (see the module docstring).
    A relationship frame is copied once its endpoint node frames are in (one whose endpoint
    frame has not come yet waits for :meth:`commit`); ``COPY`` refuses endpoint keys that
    name no node, and the error then says which side of which type failed.
    :meth:`commit` writes the metadata, checkpoints and renames the file over the store:
    readers see the old graph or the new one, never half of it. A failure, :meth:`abort` or
    a killed job leaves the old graph (the next replace removes a leftover file).

    ``checked``: the frames are tables that :meth:`LadybugStore.bulk_load` already checked
    (keys, endpoints).
    """

    def __init__(self, store: LadybugStore, *, checked: bool = False) -> None:
        super().__init__(store, "replace")
        self._store, self._checked = store, checked
        target = Path(store.path)
        self._tmp = target.with_name(f"{target.name}.replace-{os.getpid()}")
        _remove_db_files(self._tmp)
        self._db: ladybug.Database | None = ladybug.Database(
            str(self._tmp), buffer_pool_size=buffer_pool_bytes()
        )
        self._conn = ladybug.Connection(self._db)
        self._conn1 = ladybug.Connection(self._db)
        self._conn1.set_max_threads_for_exec(1)  # node COPY single-threaded (module docstring)
        store._create_schema(self._conn)
        self._seen: dict[str, object] = {}
        self._keys: dict[str, pa.Table] = {}  # label -> its key column, for endpoint checks
        self._parked: list[tuple[str, pa.Table]] = []
        self._written: dict[str, int] = {}
        self._error: BaseException | None = None
        self._queue: queue.SimpleQueue[tuple[str, str, pd.DataFrame | pa.Table] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = threading.Thread(
            target=self._work, name="ringwatch-copy", daemon=True
        )
        self._thread.start()

    # -- the copying thread ------------------------------------------------------------
    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is not None:
                continue  # drain: the load has failed, the file is thrown away
            try:
                t0 = time.perf_counter()
                self._write(*item)
                log.debug("copied %s %s in %.2fs", item[0], item[1], time.perf_counter() - t0)
            except BaseException as e:  # handed to the loader's thread at add/commit
                self._error = e

    def _write(self, kind: str, name: str, data: pd.DataFrame | pa.Table) -> None:
        if kind == "node":
            table = data if isinstance(data, pa.Table) else check_node_frame(data, name)
            key = NODES[name].key
            self._keys[name] = pa.table({key: table.column(key)})
            self._written[name] = table.num_rows
            if table.num_rows:
                _execute(self._conn1, cy.copy_node(name), {"data": LadybugStore._storage(table)})
            return
        table = data if isinstance(data, pa.Table) else check_rel_frame(data, name)
        self._written[name] = table.num_rows
        if not table.num_rows:
            return
        rt = RELS[name]
        if rt.src not in self._keys or rt.dst not in self._keys:
            self._parked.append((name, table))
        else:
            self._copy_rel(name, table)

    def _copy_rel(self, name: str, table: pa.Table) -> None:
        try:
            # COPY itself refuses an endpoint key that names no node (the new file is then
            # thrown away), so the keys are only looked at again to say which side failed
            _execute(self._conn, cy.copy_rel(name), {"data": LadybugStore._storage(table)})
        except StoreError:
            if not self._checked:
                check_endpoints(self._keys, {name: table}, "replace", lambda _label, _keys: set())
            raise

    def _stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    # -- the loader's side ---------------------------------------------------------------
    def add(self, kind: str, name: str, frame: pd.DataFrame | pa.Table) -> None:
        """Queue ``frame`` for copying; raises the copy thread's error, if one happened."""
        if self._error is not None:
            raise self._error
        if self._thread is None:
            raise StoreError("this bulk writer was already committed or aborted")
        if (
            kind == "node"
            and name not in NODES
            or kind == "rel"
            and name not in RELS
            or kind not in ("node", "rel")
        ):
            raise StoreError(f"unknown {kind} frame {name!r}")
        if name in self._seen:
            raise StoreError(f"{name} frame was handed to the store twice")
        self._seen[name] = frame
        self._queue.put((kind, name, frame))

    def commit(self, frames: GraphFrames) -> dict[str, int]:
        """Copy what was not added yet, write the metadata and swap the new file in."""
        unknown = [lbl for lbl in frames.node_frames if lbl not in NODES]
        if unknown:
            self.abort()
            raise StoreError(f"unknown node label(s) in frames: {', '.join(unknown)}")
        try:
            for kind, bundle, names in (
                ("node", frames.node_frames, NODES),
                ("rel", frames.rel_frames, RELS),
            ):
                for name in names:
                    frame = bundle.get(name)
                    if frame is None:
                        continue
                    seen = self._seen.get(name)
                    if seen is None:
                        self.add(kind, name, frame)
                    elif isinstance(seen, pd.DataFrame) and seen is not frame:
                        raise StoreError(f"{name} frame changed after it was handed to the store")
            self._stop()
            if self._error is not None:
                raise self._error
            for name, table in self._parked:
                self._copy_rel(name, table)
            loaded = ",".join(t for t in TABLE_ORDER if t in frames.loaded_tables)
            self._store._set_meta(self._conn, {**frames.meta, "loaded_tables": loaded})
            _execute(self._conn, cy.CHECKPOINT)
            self._close()
            self._store._swap_in(self._tmp)
        except BaseException:
            self.abort()
            raise
        return dict(self._written)

    def _close(self) -> None:
        for c in (self._conn1, self._conn):
            c.close()
        if self._db is not None:
            self._db.close()
            self._db = None

    def abort(self) -> None:
        """Stop copying and delete the new file; the store keeps its old graph."""
        self._stop()
        if self._db is not None:
            self._close()
        _remove_db_files(self._tmp)
