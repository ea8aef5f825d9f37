"""Frame helpers shared by both stores: schema lookup, Arrow conversion, validation, ordering.

Both stores turn :class:`~ringwatch.graph.base.GraphFrames` columns into typed Arrow
columns (LadybugDB's ``COPY`` reads Arrow, Neo4j parameters are built from it) and turn
query results back into frames with exactly the dtypes of
:func:`~ringwatch.graph.base.conform`, so a projection read from a store compares equal to
the conformed frame that was written.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ringwatch.errors import StoreError

from .schema import ALERT_NODE, META_NODE, NODES, RELS, NodeType, PropType, RelType

#: every node type a store holds: data labels, then the alert write-back and the metadata node
ALL_NODES: dict[str, NodeType] = {**NODES, ALERT_NODE.label: ALERT_NODE, META_NODE.label: META_NODE}

#: relationship type of the alert write-back (Alert -> member node)
FLAGS = "FLAGS"

_ARROW_TYPES: dict[str, pa.DataType] = {
    "STRING": pa.string(),
    "DATE": pa.date32(),
    "DOUBLE": pa.float64(),
    "INT64": pa.int64(),
    "BOOL": pa.bool_(),
    "STRING[]": pa.list_(pa.string()),
    "DOUBLE[]": pa.list_(pa.float64()),
}


def node_type(label: str) -> NodeType:
    """The schema of node ``label`` (data labels, ``Alert`` and ``Meta``).

    Raises
    ------
    StoreError
        For a label the schema does not know.
    """
    try:
        return ALL_NODES[label]
    except KeyError:
        raise StoreError(f"unknown node label {label!r}") from None


def rel_type(name: str) -> RelType:
    """The schema of relationship type ``name``.

    Raises
    ------
    StoreError
        For a type the schema does not know.
    """
    try:
        return RELS[name]
    except KeyError:
        raise StoreError(f"unknown relationship type {name!r}") from None


def node_props(label: str) -> list[tuple[str, PropType]]:
    """``(column, type)`` pairs of a node label, key first."""
    return list(node_type(label).props)


def rel_props(name: str) -> list[tuple[str, PropType]]:
    """``(column, type)`` pairs of a relationship frame: ``src``, ``dst``, then properties."""
    return [("src", "STRING"), ("dst", "STRING"), *rel_type(name).props]


def pick_columns(
    available: Sequence[tuple[str, PropType]], columns: Sequence[str] | None
) -> list[tuple[str, PropType]]:
    """The ``(column, type)`` pairs for a projection of ``columns`` (all when ``None``).

    Raises
    ------
    StoreError
        When a requested column is not in the schema.
    """
    if columns is None:
        return list(available)
    types = dict(available)
    unknown = [c for c in columns if c not in types]
    if unknown:
        raise StoreError(f"unknown column(s) {', '.join(map(repr, unknown))}")
    return [(c, types[c]) for c in columns]


def arrow_type(prop_type: PropType) -> pa.DataType:
    """The Arrow type a schema property type is stored as."""
    return _ARROW_TYPES[prop_type]


def arrow_schema(props: Sequence[tuple[str, PropType]]) -> pa.Schema:
    """An Arrow schema for ``(column, type)`` pairs."""
    return pa.schema([pa.field(c, arrow_type(t)) for c, t in props])


def _list_value(v: Any) -> list[Any] | None:
    if v is None:
        return None
    if isinstance(v, (list, tuple, np.ndarray, pd.Series)):
        return list(v)
    if isinstance(v, float) and math.isnan(v):
        return None
    raise StoreError(f"expected a list value, got {type(v).__name__}")


def series_to_arrow(values: pd.Series, prop_type: PropType) -> pa.Array:
    """Convert one frame column to a typed Arrow array (nulls for missing values).

    Accepts what loaders and :func:`~ringwatch.graph.base.conform` produce: object or
    pandas ``str`` strings, ``datetime64``/``date`` dates, nullable ``Int64``/``boolean``,
    float columns with NaN, and lists (Python lists, tuples or NumPy arrays).
    """
    target = arrow_type(prop_type)
    if isinstance(values.dtype, pd.ArrowDtype):  # a compact frame (see compact_frame): no conversion
        arr = values.array.__arrow_array__()
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.chunk(0) if arr.num_chunks == 1 else arr.combine_chunks()
        return arr if arr.type == target else pc.cast(arr, target)
    if prop_type == "STRING":
        try:
            return pa.array(values, type=target, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            as_text = values.astype(object).where(pd.notna(values), None)
            return pa.array([None if v is None else str(v) for v in as_text], type=target)
    if prop_type == "DATE":
        stamps = values
        if not pd.api.types.is_datetime64_dtype(values.dtype):
            stamps = pd.to_datetime(values, errors="coerce")
        stamps = stamps.astype("datetime64[us]")
        return pc.cast(pa.array(stamps, from_pandas=True), target, safe=False)
    if prop_type == "DOUBLE":
        return pa.array(pd.to_numeric(values, errors="coerce").astype("float64"), from_pandas=True)
    if prop_type == "INT64":
        return pa.array(pd.to_numeric(values, errors="coerce").astype("Int64"), type=target)
    if prop_type == "BOOL":
        return pa.array(values.astype("boolean"), type=target)
    if prop_type in ("STRING[]", "DOUBLE[]"):
        return pa.array([_list_value(v) for v in values], type=target)
    raise StoreError(f"unknown property type {prop_type}")


def frame_to_arrow(
    frame: pd.DataFrame, props: Sequence[tuple[str, PropType]], names: Sequence[str] | None = None
) -> pa.Table:
    """A typed Arrow table with the columns ``props`` of ``frame`` (missing ones all null).

    ``names`` renames the output columns (same length as ``props``).
    """
    n = len(frame)
    arrays = []
    for col, typ in props:
        if col in frame.columns:
            arrays.append(series_to_arrow(frame[col].reset_index(drop=True), typ))
        else:
            arrays.append(pa.nulls(n, type=arrow_type(typ)))
    return pa.Table.from_arrays(arrays, names=list(names) if names is not None else [c for c, _ in props])


def _column_to_series(col: pa.ChunkedArray, prop_type: PropType) -> pd.Series:
    if prop_type == "STRING":
        return pd.Series(col.cast(pa.string()).to_pandas(), dtype="str")
    if prop_type == "DATE":
        stamps = pc.cast(col, pa.timestamp("us"))
        return pd.Series(stamps.to_numpy(zero_copy_only=False), dtype="datetime64[us]")
    if prop_type == "DOUBLE":
        return pd.Series(
            col.cast(pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False), dtype="float64"
        )
    if prop_type in ("INT64", "BOOL"):
        mask = col.is_null().to_numpy(zero_copy_only=False)
        if prop_type == "INT64":
            ints = col.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
            return pd.Series(pd.arrays.IntegerArray(ints.astype("int64"), mask))
        bools = col.cast(pa.bool_()).fill_null(False).to_numpy(zero_copy_only=False)
        return pd.Series(pd.arrays.BooleanArray(bools.astype(bool), mask))
    if prop_type in ("STRING[]", "DOUBLE[]"):
        return pd.Series(col.to_pylist(), dtype=object)
    raise StoreError(f"unknown property type {prop_type}")


def compact_frame(frame: pd.DataFrame, kind: str, name: str) -> pd.DataFrame:
    """``frame`` with exactly its schema columns as Arrow-backed columns (``pd.ArrowDtype``).

    A frame of a million rows with text columns takes a few times less memory this way than
    with Python string objects, and a store writes it without converting it again (see
    :func:`series_to_arrow`). ``kind`` is ``"node"`` or ``"rel"``.
    """
    props = node_props(name) if kind == "node" else rel_props(name)
    return frame_to_arrow(frame, props).to_pandas(types_mapper=pd.ArrowDtype)


def arrow_to_frame(table: pa.Table, props: Sequence[tuple[str, PropType]]) -> pd.DataFrame:
    """A frame with exactly the dtypes of :func:`~ringwatch.graph.base.conform` from ``table``.

    ``table`` has one column per ``props`` entry, in that order (names are ignored).
    """
    out = {}
    for i, (col, typ) in enumerate(props):
        out[col] = _column_to_series(table.column(i), typ)
    if not out:
        return pd.DataFrame(index=pd.RangeIndex(table.num_rows))
    return pd.DataFrame(out)


def empty_typed_frame(props: Sequence[tuple[str, PropType]]) -> pd.DataFrame:
    """An empty frame with the schema dtypes of ``props``."""
    return arrow_to_frame(arrow_schema(props).empty_table(), props)


def _scalar_sort_columns(props: Sequence[tuple[str, PropType]], first: Iterable[str]) -> list[str]:
    head = [c for c in first if c in dict(props)]
    rest = [c for c, t in props if c not in head and not t.endswith("[]")]
    return head + rest


def sort_columns(kind: str, name: str, props: Sequence[tuple[str, PropType]]) -> list[str]:
    """The columns rows are ordered by: node key, or ``src``, ``dst`` then scalar properties."""
    if kind == "node":
        key = node_type(name).key
        return [key] if key in dict(props) else _scalar_sort_columns(props, ())
    return _scalar_sort_columns(props, ("src", "dst"))


def sort_arrow(table: pa.Table, by: Sequence[str]) -> pa.Table:
    """``table`` stably sorted ascending by ``by`` (nulls last)."""
    if not by or table.num_rows < 2:
        return table
    idx = pc.sort_indices(table, sort_keys=[(c, "ascending", "at_end") for c in by])
    return table.take(idx)


def canonical_order(frame: pd.DataFrame, kind: str, name: str) -> pd.DataFrame:
    """``frame`` in the row order store projections use (for comparisons in tests and tools).

    Nodes by key; relationships by ``src``, ``dst`` then their scalar properties; nulls last,
    stable; index reset.
    """
    props = [
        (c, t) for c, t in (node_props(name) if kind == "node" else rel_props(name)) if c in frame.columns
    ]
    by = sort_columns(kind, name, props)
    types = dict(props)
    if not by or len(frame) < 2:
        return frame.reset_index(drop=True)
    table = frame_to_arrow(frame, [(c, types[c]) for c in by])
    idx = pc.sort_indices(table, sort_keys=[(c, "ascending", "at_end") for c in by]).to_numpy()
    return frame.iloc[idx].reset_index(drop=True)


def check_node_frame(frame: pd.DataFrame, label: str) -> pa.Table:
    """Validate a node frame and return it as a typed Arrow table (schema column order).

    Keys must be present and unique; rows that are exact duplicates are collapsed first
    (no information is lost).

    Raises
    ------
    StoreError
        When a key is missing, or two different rows share a key (counts only; no ids in
        the message).
    """
    nt = node_type(label)
    if nt.key not in frame.columns:
        raise StoreError(f"{label} frame has no key column {nt.key!r}")
    props = node_props(label)
    table = frame_to_arrow(frame, props)
    keys = table.column(nt.key)
    if keys.null_count:
        raise StoreError(f"{label} frame: {keys.null_count} row(s) without a {nt.key}")
    if pc.count_distinct(keys).as_py() == table.num_rows:
        return table
    cols = [c for c in nt.columns if c in frame.columns]
    deduped = frame.drop_duplicates(subset=cols).reset_index(drop=True)
    n_conflicts = int(deduped[nt.key].duplicated().sum())
    if n_conflicts:
        raise StoreError(
            f"{label} frame: {n_conflicts} key(s) appear in several rows with different "
            f"values; the loader must merge them first"
        )
    return frame_to_arrow(deduped, props)


def check_rel_frame(frame: pd.DataFrame, name: str) -> pa.Table:
    """Validate a relationship frame and return it as a typed Arrow table.

    The table's columns are ``src``, ``dst`` (the FROM and TO keys) and the properties,
    in schema order.

    Raises
    ------
    StoreError
        When a row lacks an endpoint key.
    """
    for col in ("src", "dst"):
        if col not in frame.columns:
            raise StoreError(f"{name} frame has no {col!r} column")
    table = frame_to_arrow(frame, rel_props(name))
    for col in ("src", "dst"):
        missing = table.column(col).null_count
        if missing:
            raise StoreError(f"{name} frame: {missing} row(s) without a {col} key")
    return table


def json_safe(value: Any) -> Any:
    """A value usable in JSON and for drawing: dates as ISO text, NaN as ``None``, lists recursed."""
    if value is None:
        return None
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.date().isoformat()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        return json_safe(value.item())
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if hasattr(value, "iso_format"):  # neo4j.time.Date / DateTime
        return str(value.iso_format())
    return value


def node_id(label: str, key: Any) -> str:
    """The :class:`~ringwatch.graph.base.SubgraphNode` id: ``"Label:key"``."""
    return f"{label}:{key}"


def alert_members(alert: Mapping[str, Any], member_type: str) -> list[Any]:
    """The ids of one member type (``person``, ``account``, …) of a contract alert."""
    members = alert.get("members") or {}
    values = (members.get(member_type) or []) if isinstance(members, Mapping) else []
    return list(values)


def alert_row(alert: Mapping[str, Any], run_id: str) -> dict[str, Any]:
    """One ``Alert`` node row from a contract alert dict (``members``/``details`` as JSON text).

    Raises
    ------
    StoreError
        When the alert has no ``alert_id``.
    """
    try:
        alert_id = str(alert["alert_id"])
    except KeyError:
        raise StoreError("an alert has no alert_id") from None
    details = alert.get("details")
    return {
        "alert_id": alert_id,
        "detector": alert.get("detector"),
        "score": alert.get("score"),
        "level": alert.get("level"),
        "amount_at_risk": alert.get("amount_at_risk"),
        "explanation": alert.get("explanation"),
        "evidence_cypher": alert.get("evidence_cypher"),
        "first_seen": alert.get("first_seen"),
        "run_id": run_id,
        "members": json.dumps(alert.get("members") or {}, ensure_ascii=False, sort_keys=True),
        "details": None
        if details is None
        else json.dumps(details, ensure_ascii=False, sort_keys=True, default=str),
    }


#: what identifies one relationship for an ``upsert`` load: a new row replaces the stored edges
#: with the same merge key (several new rows with one key all stay: parallel edges). ``src`` /
#: ``dst`` are the endpoint keys, other names are relationship properties (null = a value).
#: The keys follow the contract: an identity belongs to one person, an account row names its
#: holder, a benefit its identity, a doctor the hospital; claims are keyed by ``claim_id``;
#: phones, addresses, employments and renumberings by what the row is about; ``PAID_TO``
#: holds every payment of a benefit, so a loader sends all edges of each benefit it touches.
REL_MERGE_KEYS: dict[str, tuple[str, ...]] = {
    "HAS_IDENTITY": ("dst",),
    "RENUMBERED_TO": ("src", "dst"),
    "HOLDS": ("dst",),
    "USES_PHONE": ("src", "dst"),
    "LIVES_AT": ("src", "dst", "address_type"),
    "EMPLOYED_BY": ("src", "dst", "start_date"),
    "RECEIVES": ("dst",),
    "PAID_TO": ("src",),
    "WORKS_AT": ("src",),
    "TREATED_AT": ("claim_id",),
    "HAS_ACTIVITY": ("dst",),
}

_NULL_MARK = "\x01"


def merge_keys(table: pa.Table, rel: str) -> pa.Array:
    """One string per row of a typed relationship table: its merge key (:data:`REL_MERGE_KEYS`).

    Columns are joined with ``\\x00``; a null value becomes ``\\x01`` (so null matches null).
    """
    cols = REL_MERGE_KEYS[rel]
    parts = [pc.fill_null(pc.cast(table.column(c), pa.string()), _NULL_MARK) for c in cols]
    out = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, "\x00")
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def check_endpoints(
    node_tables: Mapping[str, pa.Table],
    rel_tables: Mapping[str, pa.Table],
    mode: str,
    stored_keys: Callable[[str, list[str]], set[str]],
) -> None:
    """Refuse relationship rows whose endpoint node is neither in the frames nor (upsert) in the store.

    ``stored_keys(label, keys)`` answers which of ``keys`` name a stored ``label`` node; it is
    asked only in ``upsert`` mode and only for keys the frames do not hold.
    """
    for rel, table in rel_tables.items():
        rt = RELS[rel]
        for col, label in (("src", rt.src), ("dst", rt.dst)):
            keys = table.column(col)
            if label in node_tables:
                known = pc.is_in(keys, value_set=node_tables[label].column(NODES[label].key))
                if pc.all(known).as_py():
                    continue
                keys = keys.filter(pc.invert(known))
            missing = pc.unique(keys).to_pylist()
            if missing and mode == "upsert":
                present = stored_keys(label, missing)
                missing = [k for k in missing if k not in present]
            if missing:
                raise StoreError(
                    f"{rel}: {len(missing)} {col} key(s) name no {label} node; "
                    "every relationship endpoint must be loaded as a node"
                )
