"""Graph algorithms over a :class:`~ringwatch.graph.base.GraphView`, the same answer on every backend.

:func:`weak_components` lets a view that offers :class:`~ringwatch.graph.base.GraphAlgorithms`
(``Neo4jStore`` with the Graph Data Science plugin) compute the components where the data
is, and otherwise computes them here (scipy) from the view's relationship frame. Either way
the components are renumbered canonically (:func:`canonical_components`), so a detector
calling it gets identical frames — and identical alerts — whichever engine did the work.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ringwatch.errors import StoreError

from .base import GraphAlgorithms, GraphView
from .schema import RELS

log = logging.getLogger(__name__)


def weak_components(view: GraphView, label: str, rel_type: str) -> pd.DataFrame:
    """Weakly connected components of the ``label`` nodes over ``rel_type`` edges (undirected).

    Computed by the view when it offers :class:`~ringwatch.graph.base.GraphAlgorithms` and can
    (GDS on a Neo4j server); otherwise, or when that fails with a
    :class:`~ringwatch.errors.StoreError` (logged), computed locally by
    :func:`local_weak_components`. Both answers go through :func:`canonical_components`.

    Parameters
    ----------
    view
        Graph frames, a store, or a wrapper of one.
    label
        Node label; ``rel_type`` must lead from ``label`` to ``label`` (e.g. ``Identity`` and
        ``RENUMBERED_TO``).
    rel_type
        Relationship type whose edges link the components (direction ignored).

    Returns
    -------
    DataFrame
        ``key`` (object) and ``comp`` (int64, ``0..k-1`` numbered in the order of each
        component's smallest key), one row per node on at least one ``rel_type`` edge,
        sorted by key (byte order). Nodes without such an edge are left out.

    Raises
    ------
    ValueError
        When ``rel_type`` is unknown or does not lead from ``label`` to ``label``.
    """
    rt = RELS.get(rel_type)
    if rt is None or rt.src != label or rt.dst != label:
        raise ValueError(f"{rel_type!r} does not link {label!r} nodes to {label!r} nodes")
    if isinstance(view, GraphAlgorithms):
        try:
            found = view.weak_components(label, rel_type)
        except StoreError as e:
            log.warning("server-side components of %s failed (%s); computing them locally", rel_type, e)
            found = None
        if found is not None:
            return canonical_components(found["key"], found["group"])
    return local_weak_components(view, rel_type)


def local_weak_components(view: GraphView, rel_type: str) -> pd.DataFrame:
    """:func:`weak_components` computed here: scipy ``connected_components`` on the edge frame.

    Edges with a missing end are ignored. Columns and order as in :func:`weak_components`.
    """
    rels = view.rels(rel_type, ["src", "dst"])
    src, dst = _strings(rels["src"]), _strings(rels["dst"])
    ok = pc.and_(pc.is_valid(src), pc.is_valid(dst))
    src, dst = src.filter(ok), dst.filter(ok)
    if len(src) == 0:
        return _result(np.zeros(0, dtype=object), np.zeros(0, dtype=np.int64))
    keys = pc.unique(pa.concat_arrays([src, dst]))
    keys = keys.take(pc.sort_indices(keys))
    a = np.asarray(pc.index_in(src, value_set=keys).to_numpy(zero_copy_only=False), dtype=np.int64)
    b = np.asarray(pc.index_in(dst, value_set=keys).to_numpy(zero_copy_only=False), dtype=np.int64)
    n = len(keys)
    m = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n))
    _, raw = connected_components(m, directed=False)
    return _result(_objects(keys), _first_seen_numbers(np.asarray(raw, dtype=np.int64)))


def canonical_components(keys: pd.Series | Sequence[Any], groups: pd.Series | Sequence[Any]) -> pd.DataFrame:
    """Renumber components given as (key, any group id): ``0..k-1`` by each one's smallest key.

    Parameters
    ----------
    keys
        Node keys (strings; rows with a missing key are dropped).
    groups
        Component id of each key (integers meaning only "same component").

    Returns
    -------
    DataFrame
        ``key``, ``comp`` sorted by key, as :func:`weak_components` returns them.

    Raises
    ------
    StoreError
        When a key appears twice (a server answer that is not one row per node).
    """
    k = _strings(pd.Series(keys, dtype=object))
    g = np.asarray(pd.Series(groups).to_numpy(), dtype=np.int64)
    valid = np.asarray(pc.is_valid(k).to_numpy(zero_copy_only=False), dtype=bool)
    k, g = k.filter(pa.array(valid)), g[valid]
    order = np.asarray(pc.sort_indices(k), dtype=np.int64)
    k, g = k.take(pa.array(order)), g[order]
    if len(k) > 1 and len(pc.unique(k)) != len(k):
        raise StoreError("the components computed on the server name a node twice")
    return _result(_objects(k), _first_seen_numbers(g))


def _first_seen_numbers(raw: np.ndarray) -> np.ndarray:
    """Component numbers ``0..k-1`` in the order each raw id is first seen (rows are key-sorted)."""
    if len(raw) == 0:
        return np.zeros(0, dtype=np.int64)
    _, first, inverse = np.unique(raw, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first), dtype=np.int64)
    return rank[inverse.ravel()]


def _strings(values: pd.Series) -> pa.Array:
    """A key column as an Arrow string array (missing values null; non-strings as text)."""
    arr = values.to_numpy(dtype=object)
    try:
        return pa.array(arr, type=pa.large_string(), from_pandas=True)
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return pa.array([None if pd.isna(v) else str(v) for v in arr], type=pa.large_string())


def _objects(keys: pa.Array) -> np.ndarray:
    return np.asarray(keys.to_numpy(zero_copy_only=False), dtype=object)


def _result(keys: np.ndarray, comp: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"key": pd.Series(keys, dtype=object), "comp": pd.Series(comp, dtype="int64")})
