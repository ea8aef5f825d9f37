"""The store interface every backend implements, and the frame bundle that flows through it.

Data flow (one way)::

    loaders -> GraphFrames -> GraphStore.bulk_load (or a BulkWriter, frame by frame) -> store
    store -> GraphStore.nodes()/rels() (a GraphView) -> detectors -> alerts
    alerts -> GraphStore.write_alerts

Detectors only see the :class:`GraphView` protocol, so a :class:`GraphFrames` built by a
loader (or by hand in a test) and a live store are interchangeable.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import pandas as pd
import pyarrow as pa

from .schema import NODES, RELS


@runtime_checkable
class GraphView(Protocol):
    """What a detector may read: whole node and relationship tables as DataFrames.

    ``nodes(label)`` has the columns of ``schema.NODES[label]``; ``rels(type)`` has ``src``,
    ``dst`` and the columns of ``schema.RELS[type]``. An empty frame (with those columns)
    is returned for a type with no data. ``tables()`` names the contract input tables that
    were loaded (so detectors can skip when their tables are missing). Column dtypes are
    those of :func:`conform` (text as pandas ``str``, missing text NaN).
    """

    def nodes(self, label: str, columns: Sequence[str] | None = None) -> pd.DataFrame: ...

    def rels(self, rel_type: str, columns: Sequence[str] | None = None) -> pd.DataFrame: ...

    def tables(self) -> frozenset[str]: ...


@runtime_checkable
class GraphAlgorithms(Protocol):
    """An optional capability of a view: graph algorithms computed where the data is.

    ``Neo4jStore`` offers it (Graph Data Science on the server) and view wrappers such as
    the pipeline's ``CachedView`` pass it on. Detectors never call it: they call
    :func:`ringwatch.graph.algorithms.weak_components`, which asks the view when it offers
    the capability and computes locally otherwise, and renumbers the components canonically
    either way, so alerts do not depend on the backend.
    """

    def weak_components(self, label: str, rel_type: str) -> pd.DataFrame | None:
        """Weakly connected components of the ``label`` nodes over ``rel_type`` (undirected).

        Returns
        -------
        DataFrame or None
            ``key`` (node key) and ``group`` (an integer that only means "same component";
            not canonical), one row per node with at least one ``rel_type`` relationship, in
            any order; ``None`` when it cannot be computed here (e.g. no GDS plugin), so the
            caller computes locally.
        """
        ...


def empty_frame(columns: Iterable[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})


def _conform_series(values: pd.Series, prop_type: str) -> pd.Series:
    if prop_type == "STRING":
        return values.astype("str")
    if prop_type == "DATE":
        return pd.to_datetime(values, errors="coerce").astype("datetime64[us]")
    if prop_type == "DOUBLE":
        return pd.to_numeric(values, errors="coerce").astype("float64")
    if prop_type == "INT64":
        return pd.to_numeric(values, errors="coerce").astype("Int64")
    if prop_type == "BOOL":
        return values.astype("boolean")
    if prop_type in ("STRING[]", "DOUBLE[]"):
        return values.astype(object)
    raise ValueError(f"unknown property type {prop_type}")


def conform(frame: pd.DataFrame, kind: str, name: str) -> pd.DataFrame:
    """Return ``frame`` with exactly the schema columns of node label / rel type ``name``.

    Missing columns are added as nulls, extra columns dropped, and dtypes set per schema:
    STRING -> str (pandas' Arrow-backed text, NaN for missing), DATE -> datetime64[us], DOUBLE -> float64,
    INT64 -> Int64, BOOL -> boolean, lists -> object. ``kind`` is ``"node"`` or ``"rel"``.
    Relationship frames keep ``src``/``dst`` (STRING) first.
    """
    if kind == "node":
        props = list(NODES[name].props)
    elif kind == "rel":
        props = [("src", "STRING"), ("dst", "STRING"), *RELS[name].props]
    else:
        raise ValueError(kind)
    n = len(frame)
    out = {}
    for col, typ in props:
        values = (
            frame[col] if col in frame.columns else pd.Series([None] * n, index=frame.index, dtype=object)
        )
        out[col] = _conform_series(values, typ)
    return pd.DataFrame(out, index=frame.index).reset_index(drop=True)


@dataclass
class GraphFrames:
    """One DataFrame per node label and relationship type, as loaders produce them.

    Attributes
    ----------
    node_frames, rel_frames
        Keyed by label / relationship type; columns as in :mod:`ringwatch.graph.schema`.
    loaded_tables
        Contract tables that were present in the input (even if all rows were quarantined).
    meta
        Load facts (e.g. ``reference_date`` as ``YYYY-MM-DD``, row counts) kept in the store.
    """

    node_frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    rel_frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    loaded_tables: frozenset[str] = frozenset()
    meta: dict[str, str] = field(default_factory=dict)

    def nodes(self, label: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
        cols = list(columns) if columns is not None else list(NODES[label].columns)
        df = self.node_frames.get(label)
        if df is None:
            return empty_frame(cols)
        return df.loc[:, cols]

    def rels(self, rel_type: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
        cols = list(columns) if columns is not None else list(RELS[rel_type].columns)
        df = self.rel_frames.get(rel_type)
        if df is None:
            return empty_frame(cols)
        return df.loc[:, cols]

    def tables(self) -> frozenset[str]:
        return self.loaded_tables

    @classmethod
    def from_records(
        cls,
        nodes: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
        rels: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
        tables: Iterable[str] | None = None,
    ) -> GraphFrames:
        """Build a bundle from plain records (tests, small graphs); columns conformed to the schema.

        ``tables`` defaults to every contract table (so no detector is skipped).
        """
        from ringwatch.contract import TABLE_ORDER

        nf = {k: conform(pd.DataFrame(list(v)), "node", k) for k, v in (nodes or {}).items()}
        rf = {k: conform(pd.DataFrame(list(v)), "rel", k) for k, v in (rels or {}).items()}
        return cls(nf, rf, frozenset(tables if tables is not None else TABLE_ORDER))


@dataclass(frozen=True)
class SubgraphNode:
    id: str  # "Label:key" — unique across labels
    label: str
    key: str
    props: Mapping[str, Any]


@dataclass(frozen=True)
class SubgraphEdge:
    id: str
    type: str
    source: str  # SubgraphNode.id
    target: str
    props: Mapping[str, Any]


@dataclass(frozen=True)
class Subgraph:
    """A capped neighbourhood or evidence graph.

    ``omitted`` counts neighbours that exist but were not returned because of the cap.
    """

    nodes: tuple[SubgraphNode, ...]
    edges: tuple[SubgraphEdge, ...]
    omitted: int = 0


@dataclass(frozen=True)
class QueryResult:
    """Result of a read-only query: a table plus any nodes/edges found in its values."""

    frame: pd.DataFrame
    graph: Subgraph | None = None
    truncated: bool = False


LoadMode = Literal["replace", "upsert"]


class BulkWriter:
    """A load's frames handed to the store one by one, as the loader builds them.

    A loader calls :meth:`add` for each node and relationship frame as soon as it is final
    (nodes before the relationships that point at them), then :meth:`commit` with the whole
    bundle. A store may start writing at :meth:`add` (the embedded store copies each frame
    into a new file while the loader builds the next one) but nothing is visible before
    :meth:`commit` returns; :meth:`abort`, or leaving the ``with`` block with an exception,
    throws it all away. This base class writes everything at :meth:`commit` with
    :meth:`GraphStore.bulk_load`.

    Parameters
    ----------
    store
        The store written to.
    mode
        ``replace`` or ``upsert``, as for :meth:`GraphStore.bulk_load`.
    """

    def __init__(self, store: GraphStore, mode: LoadMode) -> None:
        self.store, self.mode = store, mode

    def add(self, kind: str, name: str, frame: pd.DataFrame) -> None:
        """Take the final ``kind`` (``node``/``rel``) frame ``name``; it must not change afterwards."""

    def commit(self, frames: GraphFrames) -> dict[str, int]:
        """Write ``frames`` (frames already added are not written twice); returns rows per label/type."""
        return self.store.bulk_load(frames, self.mode)

    def abort(self) -> None:
        """Discard whatever was written since the writer was opened; idempotent."""

    def __enter__(self) -> BulkWriter:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is not None:
            self.abort()


class GraphStore(abc.ABC):
    """A property-graph store. Implementations: LadybugDB (embedded default) and Neo4j.

    All Cypher of an implementation lives in one module beside it; nothing outside
    ``ringwatch.graph`` branches on the backend. Open one with :func:`ringwatch.graph.open_store`.
    """

    #: short backend name, for messages only
    backend: str = "abstract"

    # -- lifecycle -----------------------------------------------------------------
    @abc.abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @abc.abstractmethod
    def create_schema(self) -> None:
        """Create node/relationship tables (or constraints and indexes); idempotent."""

    # -- writes --------------------------------------------------------------------
    @abc.abstractmethod
    def bulk_load(self, frames: GraphFrames, mode: LoadMode = "replace") -> dict[str, int]:
        """Write a frame bundle.

        ``replace`` empties the store first; ``upsert`` merges by node key (properties of
        existing nodes are overwritten by non-null new values) and replaces stored
        relationships by each type's merge key (a claim by ``claim_id``, a benefit's payments
        by benefit, …; see ``graph/frames.py``), keeping the rest (idempotent). Returns
        counts written per label/type.
        """

    def bulk_writer(self, mode: LoadMode = "replace") -> BulkWriter:
        """A :class:`BulkWriter` for one load: frames handed over as they are built, then committed."""
        return BulkWriter(self, mode)

    @abc.abstractmethod
    def write_alerts(self, alerts: Sequence[Mapping[str, Any]], run_id: str) -> int:
        """Replace the ``Alert`` nodes and ``FLAGS`` edges with these contract alert dicts."""

    @abc.abstractmethod
    def set_meta(self, values: Mapping[str, str]) -> None: ...

    @abc.abstractmethod
    def get_meta(self) -> dict[str, str]: ...

    # -- reads: projections ----------------------------------------------------------
    @abc.abstractmethod
    def nodes(self, label: str, columns: Sequence[str] | None = None) -> pd.DataFrame: ...

    @abc.abstractmethod
    def rels(self, rel_type: str, columns: Sequence[str] | None = None) -> pd.DataFrame: ...

    def tables(self) -> frozenset[str]:
        raw = self.get_meta().get("loaded_tables", "")
        return frozenset(t for t in raw.split(",") if t)

    @abc.abstractmethod
    def counts(self) -> dict[str, int]:
        """Number of nodes per label and relationships per type."""

    # -- reads: key look-ups (what an incremental load asks; loaders.incremental.StoreLookup)
    @abc.abstractmethod
    def lookup_nodes(
        self,
        label: str,
        values: Sequence[str] | pa.Array,
        *,
        by: str | None = None,
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """The stored ``label`` nodes whose key (or ``STRING`` property ``by``) is one of ``values``."""

    @abc.abstractmethod
    def lookup_rels(
        self, rel_type: str, values: Sequence[str] | pa.Array, *, by: str = "src", compact: bool = False
    ) -> pd.DataFrame:
        """The stored ``rel_type`` edges whose endpoint ``by`` (or property ``by``) is one of ``values``."""

    # -- reads: investigation ----------------------------------------------------------
    @abc.abstractmethod
    def neighbourhood(self, label: str, key: str, *, hops: int = 1, cap: int = 200) -> Subgraph:
        """Nodes within ``hops`` of one node, at most ``cap`` nodes; ``omitted`` says how many more."""

    @abc.abstractmethod
    def run_read(
        self,
        cypher: str,
        params: Mapping[str, Any] | None = None,
        *,
        limit: int = 1000,
        timeout_s: float = 10.0,
    ) -> QueryResult:
        """Run analyst Cypher on a read-only connection/transaction; writes raise ReadOnlyViolation."""
