"""Neo4j store through the official driver.

Writes are parameterised ``UNWIND $rows AS row MERGE/CREATE …`` statements, ``batch_size``
rows per managed write transaction (``session.execute_write`` retries a batch that hits a
transient error; the failed attempt was rolled back, so nothing is written twice). Nodes are
merged by key, so a load that stops half way can simply be run again. Projections are read
in pages ordered by key; analyst queries run in ``READ`` transactions with a timeout. All
Cypher text is in :mod:`ringwatch.graph.neo4j_cypher`.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

import neo4j
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from neo4j.exceptions import AuthError, DriverError, Neo4jError
from neo4j.graph import Node, Path, Relationship

from ringwatch.contract import TABLE_ORDER
from ringwatch.errors import ReadOnlyViolation, StoreError

from . import neo4j_cypher as cy
from .base import GraphFrames, GraphStore, LoadMode, QueryResult, Subgraph, SubgraphEdge, SubgraphNode
from .frames import (
    ALL_NODES,
    FLAGS,
    REL_MERGE_KEYS,
    alert_members,
    alert_row,
    arrow_schema,
    arrow_to_frame,
    arrow_type,
    check_endpoints,
    check_node_frame,
    check_rel_frame,
    json_safe,
    node_id,
    node_props,
    pick_columns,
    rel_props,
    rel_type,
    sort_arrow,
    sort_columns,
)
from .readonly import assert_read_only
from .schema import ALERT_NODE, MEMBER_LABELS, NODES, RELS, PropType

log = logging.getLogger(__name__)

_R = TypeVar("_R")


def _safe_uri(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.hostname or ''}{':' + str(parts.port) if parts.port else ''}"


def _param(value: Any) -> Any:
    """A driver parameter value: dates as ``neo4j.time.Date``, everything else as is."""
    if isinstance(value, dt.datetime):
        return neo4j.time.DateTime.from_native(value)
    if isinstance(value, dt.date):
        return neo4j.time.Date.from_native(value)
    return value


def _native(value: Any) -> Any:
    """A driver result value as a Python value (``neo4j.time`` temporals to ``datetime``)."""
    if hasattr(value, "to_native"):
        return value.to_native()
    if isinstance(value, list):
        return [_native(v) for v in value]
    return value


def _props(row: Mapping[str, Any], names: Sequence[str]) -> dict[str, Any]:
    """Non-null properties of one row (null means "no new value": it never erases)."""
    return {k: _param(row[k]) for k in names if row.get(k) is not None}


# -- transaction functions -------------------------------------------------------------------


def _records(tx: neo4j.ManagedTransaction, query: str, params: dict[str, Any]) -> list[list[Any]]:
    return [list(r.values()) for r in tx.run(query, params)]


def _count(tx: neo4j.ManagedTransaction, query: str, params: dict[str, Any]) -> int:
    rows = [list(r.values()) for r in tx.run(query, params)]
    return int(rows[0][0]) if rows and rows[0] and rows[0][0] is not None else 0


def _run_all(tx: neo4j.ManagedTransaction, query: str, params: dict[str, Any]) -> None:
    tx.run(query, params).consume()


def _create_checked(tx: neo4j.ManagedTransaction, query: str, rows: list[dict[str, Any]], what: str) -> int:
    """Create one edge per row; fail (rolling the batch back) unless every row made one."""
    made = _count(tx, query, {"rows": rows})
    if made != len(rows):
        raise StoreError(
            f"{what}: {len(rows) - made} of {len(rows)} row(s) name an endpoint that is not a node; "
            "batch rolled back"
        )
    return made


class Neo4jStore(GraphStore):
    """A graph on a Neo4j server.

    Parameters
    ----------
    uri
        ``neo4j://``, ``neo4j+s://``, ``bolt://`` or ``bolt+s://`` URI (no credentials).
    auth
        ``(user, password)`` (from the environment, see :func:`ringwatch.graph.open_store`).
    database
        Database name; ``None`` for the server's default.
    read_only
        Refuse every write; reads run in ``READ`` transactions.
    batch_size
        Rows per write transaction and per projection page.
    driver
        An already built driver (tests pass a fake); ``uri``/``auth`` are then unused.
    """

    backend = "neo4j"

    def __init__(
        self,
        uri: str,
        *,
        auth: tuple[str, str] | None = None,
        database: str | None = None,
        read_only: bool = False,
        batch_size: int = 10_000,
        driver: Any | None = None,
    ) -> None:
        self.uri = _safe_uri(uri)
        self.database = database
        self.read_only = read_only
        self.batch_size = max(1, int(batch_size))
        if driver is None:
            try:
                driver = neo4j.GraphDatabase.driver(uri, auth=auth)
                driver.verify_connectivity()
            except AuthError as e:
                raise StoreError(
                    f"Neo4j at {self.uri} refused the credentials in NEO4J_USER/NEO4J_PASSWORD"
                ) from e
            except (DriverError, Neo4jError, OSError, ValueError) as e:
                raise StoreError(f"cannot connect to Neo4j at {self.uri}: {type(e).__name__}") from e
        self._driver = driver
        self._closed = False
        self._gds: bool | None = None

    # -- plumbing ------------------------------------------------------------------------
    def close(self) -> None:
        """Close the driver; idempotent."""
        if not self._closed:
            self._closed = True
            self._driver.close()

    def _session(self, mode: str) -> Any:
        if self._closed:
            raise StoreError("the store is closed")
        return self._driver.session(database=self.database, default_access_mode=mode)

    def _write(self, fn: Callable[..., _R], *args: Any) -> _R:
        if self.read_only:
            raise ReadOnlyViolation("this store was opened read-only")
        try:
            with self._session(neo4j.WRITE_ACCESS) as session:
                return session.execute_write(fn, *args)  # type: ignore[no-any-return]
        except Neo4jError as e:
            raise StoreError(f"Neo4j write failed: {e.code}") from e
        except DriverError as e:
            raise StoreError(f"Neo4j write failed: {type(e).__name__}") from e

    def _read(self, fn: Callable[..., _R], *args: Any) -> _R:
        try:
            with self._session(neo4j.READ_ACCESS) as session:
                return session.execute_read(fn, *args)  # type: ignore[no-any-return]
        except Neo4jError as e:
            raise StoreError(f"Neo4j read failed: {e.code}") from e
        except DriverError as e:
            raise StoreError(f"Neo4j read failed: {type(e).__name__}") from e

    def _batches(self, rows: list[Any]) -> list[list[Any]]:
        return [rows[i : i + self.batch_size] for i in range(0, len(rows), self.batch_size)]

    # -- schema ----------------------------------------------------------------------------
    def create_schema(self) -> None:
        """Uniqueness constraints on every label's key and a few property indexes (idempotent)."""
        for label in ALL_NODES:
            self._write(_run_all, cy.key_constraint(label), {})
        for label, prop in cy.INDEXED_PROPERTIES:
            self._write(_run_all, cy.property_index(label, prop), {})
        for rel, prop in cy.INDEXED_REL_PROPERTIES:
            self._write(_run_all, cy.rel_property_index(rel, prop), {})

    # -- writes ------------------------------------------------------------------------------
    def bulk_load(self, frames: GraphFrames, mode: LoadMode = "replace") -> dict[str, int]:
        """Write a frame bundle in ``batch_size`` transactions (see :meth:`GraphStore.bulk_load`).

        ``replace`` deletes every ringwatch node first (in batches). Nodes are merged by
        key (``UNWIND … MERGE … SET n += props``; nulls never erase). In ``upsert`` the stored
        edges that share a merge key with a new row
        (:data:`~ringwatch.graph.frames.REL_MERGE_KEYS`) are deleted, in batches, before the
        new edges are created, so a rerun gives the same graph and other edges stay.
        """
        if mode not in ("replace", "upsert"):
            raise StoreError(f"unknown load mode {mode!r}")
        if self.read_only:
            raise ReadOnlyViolation("this store was opened read-only")
        unknown = [lbl for lbl in frames.node_frames if lbl not in NODES]
        if unknown:
            raise StoreError(f"unknown node label(s) in frames: {', '.join(unknown)}")
        for rel in frames.rel_frames:
            rel_type(rel)
        node_tables = {lbl: check_node_frame(df, lbl) for lbl, df in frames.node_frames.items()}
        rel_tables = {rel: check_rel_frame(df, rel) for rel, df in frames.rel_frames.items()}
        self._check_endpoints(node_tables, rel_tables, mode)
        self.create_schema()
        if mode == "replace":
            for label in ALL_NODES:
                self._delete_label(label)
        written: dict[str, int] = {}
        for label in NODES:
            if label in node_tables:
                written[label] = self._merge_nodes(label, node_tables[label])
        for rel in RELS:
            if rel in rel_tables:
                if mode == "upsert":
                    self._delete_matching_edges(rel, rel_tables[rel])
                written[rel] = self._create_edges(rel, rel_tables[rel])
        meta = dict(frames.meta)
        loaded = set(frames.loaded_tables)
        if mode == "upsert":
            loaded |= self.tables()
        meta["loaded_tables"] = ",".join(t for t in TABLE_ORDER if t in loaded)
        self.set_meta(meta)
        return written

    def _delete_label(self, label: str) -> None:
        while (
            self._write(_count, cy.delete_nodes_batch(label), {"batch": self.batch_size}) >= self.batch_size
        ):
            pass

    def _check_endpoints(
        self, node_tables: Mapping[str, pa.Table], rel_tables: Mapping[str, pa.Table], mode: LoadMode
    ) -> None:
        def stored(label: str, keys: list[str]) -> set[str]:
            present: set[str] = set()
            for batch in self._batches(keys):
                rows = self._read(_records, cy.existing_keys(label), {"keys": batch})
                present.update(str(r[0]) for r in rows)
            return present

        check_endpoints(node_tables, rel_tables, mode, stored)

    def _merge_nodes(self, label: str, table: pa.Table) -> int:
        key = ALL_NODES[label].key
        names = [c for c in table.column_names if c != key]
        total = 0
        for start in range(0, table.num_rows, self.batch_size):
            rows = [
                {"key": r[key], "props": _props(r, names)}
                for r in table.slice(start, self.batch_size).to_pylist()
            ]
            total += self._write(_count, cy.merge_nodes(label), {"rows": rows})
        return total

    def _delete_matching_edges(self, rel: str, table: pa.Table) -> None:
        """Delete the stored ``rel`` edges whose merge key is among ``table``'s (batched)."""
        keys = REL_MERGE_KEYS[rel]
        query, param = cy.delete_rels_by_merge_key(RELS[rel], keys)
        if param == "keys":
            values = pc.drop_null(pc.unique(table.column(keys[0]))).to_pylist()
            batches: list[list[Any]] = self._batches(values)
        else:
            cols = [table.column(c) for c in keys]
            seen: set[tuple[Any, ...]] = set()
            rows = []
            for vals in zip(*(c.to_pylist() for c in cols), strict=True):
                if vals in seen:
                    continue
                seen.add(vals)
                row = {"src": vals[0], "dst": vals[1]}
                if len(vals) > 2:
                    row["p"] = _param(vals[2])
                rows.append(row)
            batches = self._batches(rows)
        for batch in batches:
            self._write(_count, query, {param: batch})

    def _create_edges(self, rel: str, table: pa.Table) -> int:
        names = [c for c, _ in RELS[rel].props]
        query = cy.create_rels(RELS[rel])
        total = 0
        for start in range(0, table.num_rows, self.batch_size):
            rows = [
                {"src": r["src"], "dst": r["dst"], "props": _props(r, names)}
                for r in table.slice(start, self.batch_size).to_pylist()
            ]
            total += self._write(_create_checked, query, rows, rel)
        return total

    # -- key look-ups (incremental loads) -----------------------------------------------------
    def lookup_nodes(
        self,
        label: str,
        values: Sequence[str] | pa.Array,
        *,
        by: str | None = None,
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """The stored ``label`` nodes whose key (or indexed ``STRING`` property ``by``) is in ``values``.

        Asked in ``batch_size`` batches (``UNWIND $keys … MATCH`` on the key constraint or a
        property index); columns as in :meth:`nodes`, sorted by key.
        """
        nt = ALL_NODES[label] if label in NODES else None
        if nt is None:
            raise StoreError(f"unknown node label {label!r}")
        props = pick_columns(node_props(label), columns)
        prop = by or nt.key
        if nt.prop_type(prop) != "STRING":
            raise StoreError(f"{label}.{prop} is not a text property")
        names = [c for c, _ in props]
        cols: list[list[Any]] = [[] for _ in props]
        query = cy.nodes_where(label, prop, names)
        for batch in self._batches(_distinct(values)):
            for row in self._read(_records, query, {"keys": batch}):
                for i, v in enumerate(row):
                    cols[i].append(_native(v))
        table = _table(cols, props)
        return arrow_to_frame(sort_arrow(table, sort_columns("node", label, props)), props)

    def lookup_rels(
        self, rel_type: str, values: Sequence[str] | pa.Array, *, by: str = "src", compact: bool = False
    ) -> pd.DataFrame:
        """The stored ``rel_type`` edges whose ``by`` is in ``values`` (see ``LadybugStore.lookup_rels``).

        ``by`` = ``src`` / ``dst`` / a ``STRING`` property use the key constraints and the
        relationship index; a ``STRING[]`` property is read once for all edges, in pages of
        source keys, and matched here (no index reaches into lists).
        """
        rt = RELS.get(rel_type)
        if rt is None:
            raise StoreError(f"unknown relationship type {rel_type!r}")
        props = rel_props(rel_type)
        own = [c for c, _ in rt.props]
        kind = "STRING" if by in ("src", "dst") else rt.prop_type(by)
        if kind not in ("STRING", "STRING[]"):
            raise StoreError(f"{rel_type}.{by} is not a text property")
        keys = _distinct(values)
        if kind == "STRING[]":
            # no index reaches into lists: read the lists once, source page by source page
            wanted = set(keys)
            sources: set[str] = set()
            after: Any = None
            while keys:
                page = [
                    r[0]
                    for r in self._read(
                        _records,
                        cy.source_key_page(rt, after is None),
                        {"after": after, "page": self.batch_size},
                    )
                ]
                if page:
                    for src, items in self._read(_records, cy.list_items_of_sources(rt, by), {"keys": page}):
                        if wanted.intersection(items or ()):
                            sources.add(str(src))
                if len(page) < self.batch_size:
                    break
                after = page[-1]
            keys, query = sorted(sources), cy.rels_of_sources(rt, own)
        elif by == "src":
            query = cy.rels_of_sources(rt, own)
        elif by == "dst":
            query = cy.rels_of_targets(rt, own)
        else:
            query = cy.rels_with_property(rt, by, own)
        cols: list[list[Any]] = [[] for _ in props]
        for batch in self._batches(keys):
            for row in self._read(_records, query, {"keys": batch}):
                if kind == "STRING[]" and not wanted.intersection(row[2 + own.index(by)] or ()):
                    continue
                for i, v in enumerate(row):
                    cols[i].append(_native(v))
        table = sort_arrow(_table(cols, props), sort_columns("rel", rel_type, props))
        return table.to_pandas(types_mapper=pd.ArrowDtype) if compact else arrow_to_frame(table, props)

    # -- Graph Data Science ------------------------------------------------------------------
    def gds_version(self) -> str | None:
        """The server's Graph Data Science version, or ``None`` when the plugin is not installed."""
        try:
            rows = self._read(_records, cy.gds_version(), {})
        except StoreError:
            return None
        return str(rows[0][0]) if rows and rows[0] and rows[0][0] is not None else None

    def _has_gds(self) -> bool:
        """Whether the server has GDS (asked once per store)."""
        if self._gds is None:
            self._gds = self.gds_version() is not None
        return self._gds

    def components(self, rel_types: Sequence[str], *, labels: Sequence[str] | None = None) -> pd.DataFrame:
        """Weakly connected components computed on the server with GDS ``gds.wcc``.

        See :meth:`communities` for the parameters and the result (column ``group``).
        """
        return self._gds_groups("wcc", rel_types, labels, {})

    def communities(
        self,
        rel_types: Sequence[str],
        *,
        labels: Sequence[str] | None = None,
        resolution: float = 1.0,
        seed: int = 7,
    ) -> pd.DataFrame:
        """Leiden communities computed on the server with GDS ``gds.leiden`` (undirected).

        Parameters
        ----------
        rel_types
            Relationship types to project (undirected).
        labels
            Node labels to project; default: the FROM and TO labels of ``rel_types``.
        resolution, seed
            Leiden ``gamma`` and ``randomSeed`` (a fixed seed gives the same answer each run;
            GDS needs ``concurrency = 1`` for that, which is set).

        Returns
        -------
        DataFrame
            ``label``, ``key`` and ``group`` (the component or community id, an integer that
            only means "same group"), one row per projected node, sorted by label and key.

        Raises
        ------
        StoreError
            When the server has no GDS plugin.
        """
        config = {"gamma": float(resolution), "randomSeed": int(seed), "concurrency": 1}
        return self._gds_groups("leiden", rel_types, labels, config)

    def weak_components(self, label: str, rel_type: str) -> pd.DataFrame | None:
        """Weakly connected components of ``label`` over ``rel_type``, by GDS WCC on the server.

        The :class:`~ringwatch.graph.base.GraphAlgorithms` capability behind
        :func:`ringwatch.graph.algorithms.weak_components` (use that: it renumbers the groups
        canonically). Projects ``label`` and ``rel_type`` (undirected), streams the key and
        component of every node with a ``rel_type`` relationship and drops the projection.

        Returns
        -------
        DataFrame or None
            ``key`` and ``group`` (not canonical), unordered; ``None`` when the server has no
            GDS plugin.

        Raises
        ------
        StoreError
            For a relationship type that does not link ``label`` to ``label``, or when GDS fails.
        """
        rt = RELS.get(rel_type)
        if rt is None or rt.src != label or rt.dst != label:
            raise StoreError(f"{rel_type!r} does not link {label!r} nodes to {label!r} nodes")
        if not self._has_gds():
            return None
        rows = self._gds_run(
            "wcc",
            [label],
            {rel_type: {"type": rel_type, "orientation": "UNDIRECTED"}},
            cy.gds_wcc_keys(label, rel_type),
            {},
        )
        return pd.DataFrame(
            {
                "key": pd.Series([None if r[0] is None else str(r[0]) for r in rows], dtype=object),
                "group": pd.Series([int(r[1]) for r in rows], dtype="int64"),
            }
        )

    def _gds_groups(
        self, algorithm: str, rel_types: Sequence[str], labels: Sequence[str] | None, config: dict[str, Any]
    ) -> pd.DataFrame:
        for rel in rel_types:
            rel_type(rel)
        if not self._has_gds():
            raise StoreError("the Neo4j server has no Graph Data Science plugin (gds.version() failed)")
        node_labels = (
            list(labels) if labels else sorted({x for r in rel_types for x in (RELS[r].src, RELS[r].dst)})
        )
        for lbl in node_labels:
            if lbl not in NODES:
                raise StoreError(f"unknown node label {lbl!r}")
        rels = {r: {"type": r, "orientation": "UNDIRECTED"} for r in rel_types}
        rows = self._gds_run(algorithm, node_labels, rels, cy.gds_stream(algorithm), config)
        frame = pd.DataFrame(
            {
                "label": pd.Series([r[0] for r in rows], dtype=object),
                "key": pd.Series([None if r[1] is None else str(r[1]) for r in rows], dtype=object),
                "group": pd.Series([int(r[2]) for r in rows], dtype="int64"),
            }
        )
        return frame.sort_values(["label", "key"], kind="stable").reset_index(drop=True)

    def _gds_run(
        self,
        algorithm: str,
        labels: list[str],
        rels: dict[str, dict[str, str]],
        stream: str,
        config: dict[str, Any],
    ) -> list[list[Any]]:
        """Project, stream ``stream`` and drop the projection, in one read transaction.

        One transaction runs on one server (a cluster routes each transaction on its own, and
        a projection lives in the memory of the server that made it). A projection left by a
        failed or retried attempt is dropped afterwards in a transaction of its own.
        """
        made: list[str] = []

        def work(tx: neo4j.ManagedTransaction) -> list[list[Any]]:
            graph = f"ringwatch-{algorithm}-{uuid.uuid4().hex[:12]}"
            made.append(graph)
            _records(tx, cy.gds_project(), {"graph": graph, "labels": labels, "rels": rels})
            rows = _records(tx, stream, {"graph": graph, "config": config})
            _records(tx, cy.gds_drop(), {"graph": graph})
            made.remove(graph)
            return rows

        try:
            return self._read(work)
        finally:
            for graph in made:
                try:
                    self._read(_records, cy.gds_drop(), {"graph": graph})
                except StoreError:
                    log.warning("could not drop the GDS projection %s", graph)

    def write_alerts(self, alerts: Sequence[Mapping[str, Any]], run_id: str) -> int:
        """Replace every ``Alert`` node (and its ``FLAGS`` edges) with these contract alerts."""
        rows = [alert_row(a, run_id) for a in alerts]
        ids = [r["alert_id"] for r in rows]
        if len(set(ids)) != len(ids):
            raise StoreError(f"{len(ids) - len(set(ids))} duplicate alert_id(s) in one run")
        self._delete_label(ALERT_NODE.label)
        for batch in self._batches([{k: _param(v) for k, v in r.items() if v is not None} for r in rows]):
            self._write(_count, cy.create_alerts(), {"rows": batch})
        for member_type, label in MEMBER_LABELS.items():
            pairs = sorted(
                {
                    (r["alert_id"], str(k))
                    for r, a in zip(rows, alerts, strict=True)
                    for k in alert_members(a, member_type)
                }
            )
            for batch in self._batches([{"a": a, "k": k} for a, k in pairs]):
                self._write(_count, cy.create_flags(label), {"rows": batch})
        return len(rows)

    def set_meta(self, values: Mapping[str, str]) -> None:
        """Set metadata keys (other keys are kept)."""
        rows = [{"key": str(k), "value": str(v)} for k, v in values.items()]
        if rows:
            self._write(_run_all, cy.set_meta(), {"rows": rows})

    def get_meta(self) -> dict[str, str]:
        """All metadata keys and values."""
        return {str(k): str(v) for k, v in self._read(_records, cy.get_meta(), {})}

    # -- projections ------------------------------------------------------------------------
    def nodes(self, label: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """All ``label`` nodes, read in key-ordered pages, as a frame with schema dtypes."""
        props = pick_columns(node_props(label), columns)
        if not props:
            return pd.DataFrame(index=pd.RangeIndex(self._read(_count, cy.count_nodes(label), {})))
        names = [c for c, _ in props]
        cols: list[list[Any]] = [[] for _ in props]
        after: Any = None
        while True:
            page = self._read(
                _records,
                cy.node_page(label, names, after is None),
                {"after": after, "page": self.batch_size},
            )
            for row in page:
                for i, v in enumerate(row[1:]):
                    cols[i].append(_native(v))
            if len(page) < self.batch_size:
                break
            after = page[-1][0]
        table = _table(cols, props)
        return arrow_to_frame(sort_arrow(table, sort_columns("node", label, props)), props)

    def rels(self, rel_type: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """All ``rel_type`` edges, read by pages of source keys, sorted by (src, dst, props)."""
        rt = RELS.get(rel_type)
        if rt is None:
            raise StoreError(f"unknown relationship type {rel_type!r}")
        props = pick_columns(rel_props(rel_type), columns)
        own = [c for c, _ in rt.props]
        all_cols: list[list[Any]] = [[] for _ in range(2 + len(own))]
        after: Any = None
        while True:
            keys = [
                r[0]
                for r in self._read(
                    _records, cy.source_key_page(rt, after is None), {"after": after, "page": self.batch_size}
                )
            ]
            if keys:
                for row in self._read(_records, cy.rels_of_sources(rt, own), {"keys": keys}):
                    for i, v in enumerate(row):
                        all_cols[i].append(_native(v))
            if len(keys) < self.batch_size:
                break
            after = keys[-1]
        full = _table(all_cols, rel_props(rel_type))
        table = full.select([c for c, _ in props])
        return arrow_to_frame(sort_arrow(table, sort_columns("rel", rel_type, props)), props)

    def flags(self) -> pd.DataFrame:
        """The alert write-back edges: ``src`` (alert_id), ``label`` and ``dst`` (member key)."""
        rows = []
        for label in MEMBER_LABELS.values():
            rows += [(str(a), label, str(k)) for a, k in self._read(_records, cy.flags_of(label), {})]
        df = pd.DataFrame(rows, columns=["src", "label", "dst"], dtype=object)
        return df.sort_values(["src", "label", "dst"], kind="stable").reset_index(drop=True)

    def counts(self) -> dict[str, int]:
        """Nodes per data label and ``Alert``; relationships per type and ``FLAGS``."""
        out = {lbl: self._read(_count, cy.count_nodes(lbl), {}) for lbl in [*NODES, ALERT_NODE.label]}
        out.update({rel: self._read(_count, cy.count_rels(rel), {}) for rel in [*RELS, FLAGS]})
        return out

    # -- investigation -----------------------------------------------------------------------
    def neighbourhood(self, label: str, key: str, *, hops: int = 1, cap: int = 200) -> Subgraph:
        """Nodes within ``hops`` data relationships of one node, at most ``cap`` (see LadybugStore)."""
        if label not in NODES:
            raise StoreError(f"unknown node label {label!r}")
        if hops < 1 or hops > 4:
            raise StoreError("hops must be between 1 and 4")
        if cap < 1:
            raise StoreError("cap must be at least 1")
        center = self._read(_records, cy.find_node(label), {"key": key})
        if not center:
            return Subgraph((), (), 0)
        total = self._read(_count, cy.count_neighbours(label, hops), {"key": key})
        picked = self._read(_records, cy.pick_neighbours(label, hops), {"key": key, "lim": cap - 1})
        conv = _Converter()
        conv.node(center[0][0])
        for row in picked:
            conv.node(row[0])
        chosen = len(conv.nodes) - 1
        rels = self._read(_records, cy.edges_among(), {"ids": sorted(conv.by_element), "lim": 20 * cap})
        for (r,) in rels:
            conv.rel(r)
        edges = tuple(sorted(conv.edges.values(), key=lambda e: (e.source, e.target, e.type, e.id)))
        return Subgraph(tuple(conv.nodes.values()), edges, max(0, total - chosen))

    def run_read(
        self,
        cypher: str,
        params: Mapping[str, Any] | None = None,
        *,
        limit: int = 1000,
        timeout_s: float = 10.0,
    ) -> QueryResult:
        """Run analyst Cypher in a ``READ`` transaction with a timeout; at most ``limit`` rows."""
        assert_read_only(cypher)
        if limit < 1:
            raise StoreError("limit must be at least 1")

        @neo4j.unit_of_work(timeout=timeout_s)
        def fetch(tx: neo4j.ManagedTransaction) -> tuple[list[str], list[list[Any]]]:
            result = tx.run(cypher, dict(params or {}))
            keys = list(result.keys())
            rows: list[list[Any]] = []
            for record in result:
                rows.append(list(record.values()))
                if len(rows) > limit:
                    break
            return keys, rows

        try:
            with self._session(neo4j.READ_ACCESS) as session:
                columns, rows = session.execute_read(fetch)
        except Neo4jError as e:
            code = e.code or ""
            if "AccessMode" in code or "ForbiddenDueToTransactionType" in code:
                raise ReadOnlyViolation("the server refused a write in a read-only query") from e
            if "Timeout" in code or "TransactionTimedOut" in code:
                raise StoreError(f"query stopped after the {timeout_s:g}s timeout") from e
            raise StoreError(f"query failed: {code}: {e.message}") from e
        except DriverError as e:
            raise StoreError(f"query failed: {type(e).__name__}") from e
        truncated = len(rows) > limit
        rows = rows[:limit]
        conv = _Converter()
        for row in rows:
            for v in row:
                conv.collect(v)
        for r in conv.pending:
            conv.rel(r)
        frame = pd.DataFrame([[conv.display(v) for v in row] for row in rows], columns=columns, dtype=object)
        graph = Subgraph(tuple(conv.nodes.values()), tuple(conv.edges.values())) if conv.nodes else None
        return QueryResult(frame, graph, truncated)


def _distinct(values: Sequence[str] | pa.Array | pa.ChunkedArray) -> list[str]:
    """Distinct non-empty values, sorted (stable batches)."""
    raw = values.to_pylist() if isinstance(values, (pa.Array, pa.ChunkedArray)) else list(values)
    return sorted({str(v) for v in raw if v is not None and str(v) != ""})


def _table(cols: list[list[Any]], props: Sequence[tuple[str, PropType]]) -> pa.Table:
    if not props:
        return pa.table({})
    arrays = [pa.array(values, type=arrow_type(t)) for values, (_, t) in zip(cols, props, strict=True)]
    return pa.Table.from_arrays(arrays, schema=arrow_schema(props))


class _Converter:
    """Turns driver graph values into :class:`Subgraph` parts and display dicts."""

    def __init__(self) -> None:
        self.nodes: dict[str, SubgraphNode] = {}
        self.edges: dict[str, SubgraphEdge] = {}
        self.by_element: dict[str, str] = {}
        self.pending: list[Relationship] = []

    @staticmethod
    def _label(n: Node) -> str:
        for label in ALL_NODES:
            if label in n.labels:
                return label
        return sorted(n.labels)[0] if n.labels else "?"

    def _props(self, entity: Node | Relationship) -> dict[str, Any]:
        return {str(k): json_safe(_native(v)) for k, v in entity.items() if v is not None}

    def node(self, n: Node) -> str:
        """Add a node; return its ``Label:key`` id."""
        label = self._label(n)
        key = str(n.get(ALL_NODES[label].key)) if label in ALL_NODES else n.element_id
        nid = node_id(label, key)
        if nid not in self.nodes:
            self.nodes[nid] = SubgraphNode(nid, label, key, self._props(n))
        self.by_element[n.element_id] = nid
        return nid

    def rel(self, r: Relationship) -> None:
        """Add a relationship whose two ends are known nodes (others cannot be drawn)."""
        start, end = r.start_node, r.end_node
        src = self.by_element.get(start.element_id) if start is not None else None
        dst = self.by_element.get(end.element_id) if end is not None else None
        if src is None or dst is None or r.element_id in self.edges:
            return
        self.edges[r.element_id] = SubgraphEdge(r.element_id, r.type, src, dst, self._props(r))

    def collect(self, v: Any) -> None:
        """Collect the nodes and relationships of a result value (paths and lists recursed)."""
        if isinstance(v, Path):
            for n in v.nodes:
                self.node(n)
            self.pending.extend(v.relationships)
        elif isinstance(v, Node):
            self.node(v)
        elif isinstance(v, Relationship):
            self.pending.append(v)
        elif isinstance(v, list):
            for x in v:
                self.collect(x)

    def display(self, v: Any) -> Any:
        """A result value for the table: nodes/relationships as property dicts, dates as text."""
        if isinstance(v, Path):
            return {
                "nodes": [self.display(n) for n in v.nodes],
                "rels": [self.display(r) for r in v.relationships],
            }
        if isinstance(v, Node):
            return {"_label": self._label(v), **self._props(v)}
        if isinstance(v, Relationship):
            start, end = v.start_node, v.end_node
            return {
                "_type": v.type,
                "_src": self.by_element.get(start.element_id) if start is not None else None,
                "_dst": self.by_element.get(end.element_id) if end is not None else None,
                **self._props(v),
            }
        if isinstance(v, list):
            return [self.display(x) for x in v]
        if isinstance(v, dict):
            return {str(k): self.display(x) for k, x in v.items()}
        return json_safe(_native(v))
