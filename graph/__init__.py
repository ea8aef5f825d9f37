"""The graph store layer: one interface (:class:`GraphStore`), two backends.

``open_store(path)`` opens the embedded LadybugDB store (one file, the default);
``open_store("neo4j://…")`` / ``bolt://…`` connects to a Neo4j server with credentials
taken only from the environment (``NEO4J_USER``, ``NEO4J_PASSWORD``, optional
``NEO4J_DATABASE``). Nothing outside this package branches on the backend.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from ringwatch.errors import ConfigError

from .base import (
    BulkWriter,
    GraphFrames,
    GraphStore,
    GraphView,
    LoadMode,
    QueryResult,
    Subgraph,
    SubgraphEdge,
    SubgraphNode,
    conform,
    empty_frame,
)
from .frames import canonical_order

__all__ = [
    "NEO4J_SCHEMES",
    "BulkWriter",
    "GraphFrames",
    "GraphStore",
    "GraphView",
    "LoadMode",
    "QueryResult",
    "Subgraph",
    "SubgraphEdge",
    "SubgraphNode",
    "canonical_order",
    "conform",
    "empty_frame",
    "is_server_uri",
    "open_store",
]

#: URI schemes that name a Neo4j server
NEO4J_SCHEMES: tuple[str, ...] = ("neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc")


def is_server_uri(uri: str | Path) -> bool:
    """``True`` when ``uri`` names a server (``scheme://…``) rather than an embedded store path."""
    return isinstance(uri, str) and "://" in uri


def open_store(uri: str | Path, *, read_only: bool = False, batch_size: int = 10_000) -> GraphStore:
    """Open a graph store.

    Parameters
    ----------
    uri
        A filesystem path (embedded LadybugDB store, created when missing unless
        ``read_only``), or a ``neo4j://``, ``neo4j+s://``, ``bolt://`` or ``bolt+s://`` URI.
    read_only
        Open for reading only (analyst queries, dashboard, export).
    batch_size
        Rows per write transaction (Neo4j) / per ``MERGE`` statement (LadybugDB upserts).

    Returns
    -------
    GraphStore
        A :class:`~ringwatch.graph.ladybug_store.LadybugStore` or
        :class:`~ringwatch.graph.neo4j_store.Neo4jStore`; use it as a context manager.

    Raises
    ------
    ConfigError
        For an unknown URI scheme, credentials written into the URI, or missing
        ``NEO4J_USER``/``NEO4J_PASSWORD`` for a server URI.
    StoreError
        When the store cannot be opened.
    """
    if batch_size < 1:
        raise ConfigError(f"batch size must be at least 1, got {batch_size}")
    if not is_server_uri(uri):
        from .ladybug_store import LadybugStore

        return LadybugStore(uri, read_only=read_only, batch_size=batch_size)
    text = str(uri)
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in NEO4J_SCHEMES:
        raise ConfigError(
            f"unsupported store URI scheme {scheme + '://'!r}; use a path, neo4j://, neo4j+s://, bolt:// or bolt+s://"
        )
    if parts.username or parts.password:
        raise ConfigError(
            "do not put credentials in the store URI; set NEO4J_USER and NEO4J_PASSWORD in the environment"
        )
    user, password = os.environ.get("NEO4J_USER"), os.environ.get("NEO4J_PASSWORD")
    if not user or password is None:
        raise ConfigError("a Neo4j store needs NEO4J_USER and NEO4J_PASSWORD set in the environment")
    database = os.environ.get("NEO4J_DATABASE") or None
    from .neo4j_store import Neo4jStore

    return Neo4jStore(
        text, auth=(user, password), database=database, read_only=read_only, batch_size=batch_size
    )
