"""Every LadybugDB (Kùzu dialect) Cypher statement ringwatch runs on an embedded store.

Statements are built only from :mod:`ringwatch.graph.schema` constants (labels, types,
property names, all checked against a plain-identifier pattern and back-quoted); every
value travels as a parameter (``$name``) or as an Arrow table scanned by ``COPY``/``LOAD
FROM``. Nothing here is ever formatted with data values.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .frames import ALL_NODES, FLAGS
from .schema import ALERT_NODE, MEMBER_LABELS, NODES, RELS, NodeType, PropType, RelType

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def q(name: str) -> str:
    """Back-quote a schema identifier (label, type or property name).

    Raises
    ------
    ValueError
        For anything that is not a plain identifier (never expected: names come from the schema).
    """
    if not _IDENT.match(name):
        raise ValueError(f"not a plain identifier: {name!r}")
    return f"`{name}`"


def _check_schema_names() -> None:
    for nt in ALL_NODES.values():
        q(nt.label)
        for c, _ in nt.props:
            q(c)
    for rt in RELS.values():
        q(rt.type)
        for c, _ in rt.props:
            q(c)


_check_schema_names()

# -- schema -------------------------------------------------------------------------------


#: schema property types the embedded store keeps differently: LadybugDB 0.22 copies ``DOUBLE[]``
#: lists several times slower than ``STRING[]`` lists (20.6 s against 9.6 s for the 225k
#: ``PAID_TO`` edges of a million persons), so amounts are kept as their exact shortest text
#: and turned back into numbers by every projection (Arrow casts both ways, lossless)
STORAGE_TYPES: dict[str, str] = {"DOUBLE[]": "STRING[]"}


def storage_type(prop_type: PropType) -> str:
    """The LadybugDB column type a schema property type is kept as."""
    return STORAGE_TYPES.get(prop_type, prop_type)


def create_node_table(nt: NodeType) -> str:
    """A node table with the schema's typed columns and the key as primary key."""
    cols = ", ".join(f"{q(c)} {storage_type(t)}" for c, t in nt.props)
    return f"CREATE NODE TABLE IF NOT EXISTS {q(nt.label)}({cols}, PRIMARY KEY({q(nt.key)}))"


def create_rel_table(rt: RelType) -> str:
    """A relationship table from the schema's FROM label to its TO label."""
    cols = "".join(f", {q(c)} {storage_type(t)}" for c, t in rt.props)
    return f"CREATE REL TABLE IF NOT EXISTS {q(rt.type)}(FROM {q(rt.src)} TO {q(rt.dst)}{cols})"


def create_flags_table() -> str:
    """``FLAGS``: one relationship table with a FROM/TO pair per member label."""
    pairs = ", ".join(f"FROM {q(ALERT_NODE.label)} TO {q(lbl)}" for lbl in MEMBER_LABELS.values())
    return f"CREATE REL TABLE IF NOT EXISTS {q(FLAGS)}({pairs})"


SHOW_TABLES = "CALL show_tables() RETURN name, type"


def table_info(table: str) -> str:
    """Column names/types of one table (``table`` is a schema name, checked)."""
    q(table)  # raises unless a plain identifier
    return f"CALL table_info('{table}') RETURN name, type"


def drop_table(table: str) -> str:
    """Drop a table if it exists (relationship tables must go before node tables)."""
    return f"DROP TABLE IF EXISTS {q(table)}"


CHECKPOINT = "CHECKPOINT"
BEGIN_READ_ONLY = "BEGIN TRANSACTION READ ONLY"
BEGIN = "BEGIN TRANSACTION"
COMMIT = "COMMIT"
ROLLBACK = "ROLLBACK"
#: every alert node and its ``FLAGS`` edges
DELETE_ALERTS = "MATCH (a:Alert) DETACH DELETE a"

# -- bulk writes --------------------------------------------------------------------------


def copy_node(label: str) -> str:
    """``COPY`` a whole Arrow table (parameter ``$data``, columns in schema order) into a node table."""
    return f"COPY {q(label)} FROM $data"


def copy_rel(rel: str, pair: tuple[str, str] | None = None) -> str:
    """``COPY`` an Arrow table whose first two columns are the FROM and TO keys.

    ``pair`` names the FROM/TO labels for a table with several pairs (``FLAGS``).
    """
    if pair is None:
        return f"COPY {q(rel)} FROM $data"
    return f"COPY {q(rel)} FROM $data (from='{pair[0]}', to='{pair[1]}')"


def update_nodes(nt: NodeType, columns: Sequence[str]) -> str:
    """Update existing nodes from ``LOAD FROM $data`` (columns renamed ``v0..vn``, key first).

    Each property takes the non-null new value and keeps its old value where the new one is
    null.
    """
    var = {c: f"v{i}" for i, c in enumerate(columns)}
    sets = ", ".join(f"n.{q(c)} = coalesce({var[c]}, n.{q(c)})" for c in columns if c != nt.key)
    return f"LOAD FROM $data MATCH (n:{q(nt.label)} {{{q(nt.key)}: {var[nt.key]}}}) SET {sets}"


def nodes_by_keys(nt: NodeType) -> str:
    """The stored properties (schema order) of the ``nt`` nodes whose keys are in ``LOAD FROM $data`` (``k``)."""
    ret = ", ".join(f"n.{q(c)} AS {q(c)}" for c in nt.columns)
    return f"LOAD FROM $data MATCH (n:{q(nt.label)} {{{q(nt.key)}: k}}) RETURN {ret}"


def nodes_where(nt: NodeType, prop: str, columns: Sequence[str]) -> str:
    """``columns`` of the ``nt`` nodes whose ``prop`` is one of the values in ``LOAD FROM $data`` (``k``).

    ``prop`` is the key (a primary-key lookup) or another ``STRING`` property (a hash join).
    """
    nt.prop_type(prop)  # KeyError unless a schema property
    ret = ", ".join(f"n.{q(c)} AS {q(c)}" for c in columns)
    if prop == nt.key:
        return f"LOAD FROM $data MATCH (n:{q(nt.label)} {{{q(prop)}: k}}) RETURN {ret}"
    return f"LOAD FROM $data MATCH (n:{q(nt.label)}) WHERE n.{q(prop)} = k RETURN {ret}"


def _rel_return(rt: RelType) -> str:
    src_key, dst_key = NODES[rt.src].key, NODES[rt.dst].key
    props = "".join(f", r.{q(c)} AS {q(c)}" for c, _ in rt.props)
    return f"RETURN a.{q(src_key)} AS {q('src')}, b.{q(dst_key)} AS {q('dst')}{props}"


def rels_by_source_keys(rt: RelType) -> str:
    """The stored ``rt`` edges (src, dst, properties) leaving the source keys in ``LOAD FROM $data`` (``k``)."""
    src_key = NODES[rt.src].key
    return (
        f"LOAD FROM $data MATCH (a:{q(rt.src)} {{{q(src_key)}: k}})-[r:{q(rt.type)}]->(b:{q(rt.dst)}) "
        f"{_rel_return(rt)}"
    )


def rels_by_target_keys(rt: RelType) -> str:
    """The stored ``rt`` edges (src, dst, properties) reaching the target keys in ``LOAD FROM $data`` (``k``)."""
    dst_key = NODES[rt.dst].key
    return (
        f"LOAD FROM $data MATCH (a:{q(rt.src)})-[r:{q(rt.type)}]->(b:{q(rt.dst)} {{{q(dst_key)}: k}}) "
        f"{_rel_return(rt)}"
    )


def rels_by_property(rt: RelType, prop: str) -> str:
    """The stored ``rt`` edges whose property ``prop`` is one of the values in ``LOAD FROM $data`` (``k``)."""
    rt.prop_type(prop)  # KeyError unless a schema property
    return (
        f"LOAD FROM $data MATCH (a:{q(rt.src)})-[r:{q(rt.type)}]->(b:{q(rt.dst)}) "
        f"WHERE r.{q(prop)} = k {_rel_return(rt)}"
    )


def delete_rels_between(rt: RelType) -> str:
    """Delete every ``rt`` edge between the endpoint pairs in ``LOAD FROM $data`` (columns ``s``, ``d``).

    The FROM node is found by its primary key and the TO key compared on its edges (a
    primary-key match on both ends makes LadybugDB 0.22 scan the relationship table).
    """
    src_key, dst_key = NODES[rt.src].key, NODES[rt.dst].key
    return (
        f"LOAD FROM $data MATCH (a:{q(rt.src)} {{{q(src_key)}: s}})-[r:{q(rt.type)}]->(b:{q(rt.dst)}) "
        f"WHERE b.{q(dst_key)} = d DELETE r"
    )


def existing_keys(label: str) -> str:
    """Which of the keys in ``$keys`` exist as ``label`` nodes."""
    nt = ALL_NODES[label]
    return f"UNWIND $keys AS k MATCH (n:{q(label)} {{{q(nt.key)}: k}}) RETURN n.{q(nt.key)}"


def set_meta() -> str:
    """Set one metadata value (``$k`` → ``$v``)."""
    m = ALL_NODES["Meta"]
    return f"MERGE (m:{q(m.label)} {{{q('key')}: $k}}) SET m.{q('value')} = $v"


def get_meta() -> str:
    """Every metadata key and value."""
    m = ALL_NODES["Meta"]
    return f"MATCH (m:{q(m.label)}) RETURN m.{q('key')}, m.{q('value')}"


# -- projections --------------------------------------------------------------------------


def node_projection(label: str, columns: Sequence[str]) -> str:
    """Every ``label`` node with the given columns (unordered; sorted in Arrow)."""
    ret = ", ".join(f"n.{q(c)} AS {q(c)}" for c in columns)
    return f"MATCH (n:{q(label)}) RETURN {ret}"


def rel_projection(rt: RelType, columns: Sequence[tuple[str, PropType]]) -> str:
    """Relationship rows: ``src``/``dst`` are the endpoint keys, then properties."""
    src_key, dst_key = NODES[rt.src].key, NODES[rt.dst].key
    parts = []
    for c, _ in columns:
        if c == "src":
            parts.append(f"a.{q(src_key)} AS {q('src')}")
        elif c == "dst":
            parts.append(f"b.{q(dst_key)} AS {q('dst')}")
        else:
            parts.append(f"r.{q(c)} AS {q(c)}")
    return f"MATCH (a:{q(rt.src)})-[r:{q(rt.type)}]->(b:{q(rt.dst)}) RETURN {', '.join(parts)}"


def flags_projection(member_label: str) -> str:
    """Alert write-back edges to ``member_label`` nodes: alert id and member key."""
    a, m = ALERT_NODE, ALL_NODES[member_label]
    return (
        f"MATCH (a:{q(a.label)})-[:{q(FLAGS)}]->(b:{q(member_label)}) "
        f"RETURN a.{q(a.key)} AS {q('src')}, b.{q(m.key)} AS {q('dst')}"
    )


def count_nodes(label: str) -> str:
    """Number of ``label`` nodes."""
    return f"MATCH (n:{q(label)}) RETURN count(n)"


def count_rels(rel: str) -> str:
    """Number of ``rel`` relationships."""
    return f"MATCH ()-[r:{q(rel)}]->() RETURN count(r)"


# -- investigation ------------------------------------------------------------------------

_DATA_RELS = "|".join(q(t) for t in RELS)


def _key_expr(var: str) -> str:
    """The key of a node of any data label (each label has its own key property)."""
    whens = " ".join(f"WHEN '{lbl}' THEN {var}.{q(nt.key)}" for lbl, nt in NODES.items())
    return f"CASE label({var}) {whens} END"


def find_node(label: str) -> str:
    """The ``label`` node whose key is ``$key``."""
    nt = ALL_NODES[label]
    return f"MATCH (n:{q(label)}) WHERE n.{q(nt.key)} = $key RETURN n"


def _hops_pattern(label: str, hops: int, path: bool) -> str:
    nt = NODES[label]
    start = f"(n:{q(label)} {{{q(nt.key)}: $key}})"
    if hops == 1:
        return f"MATCH {start}-[:{_DATA_RELS}]-(m)"
    prefix = "p = " if path else ""
    return f"MATCH {prefix}{start}-[:{_DATA_RELS}* SHORTEST 1..{int(hops)}]-(m)"


def count_neighbours(label: str, hops: int) -> str:
    """Distinct nodes within ``hops`` data relationships of one node (alerts not followed)."""
    return f"{_hops_pattern(label, hops, False)} RETURN count(DISTINCT m)"


def pick_neighbours(label: str, hops: int) -> str:
    """The first ``$lim`` neighbours by (distance, label, key): a deterministic capped choice."""
    if hops == 1:
        return (
            f"{_hops_pattern(label, 1, False)} WITH DISTINCT m "
            f"RETURN m, 1 AS d, label(m) AS l, {_key_expr('m')} AS k ORDER BY l, k LIMIT $lim"
        )
    return (
        f"{_hops_pattern(label, hops, True)} "
        f"RETURN m, length(p) AS d, label(m) AS l, {_key_expr('m')} AS k ORDER BY d, l, k LIMIT $lim"
    )


def star_edges(label: str) -> str:
    """Data relationships between the ``label`` node with key ``$key`` (primary-key lookup) and
    nodes whose ``"Label:key"`` id is in ``$ids``."""
    return (
        f"MATCH (n:{q(label)} {{{q(NODES[label].key)}: $key}})-[r:{_DATA_RELS}]-(m) "
        f"WHERE concat(label(m), ':', {_key_expr('m')}) IN $ids RETURN r LIMIT $lim"
    )


def edges_among(label: str) -> str:
    """Data relationships leaving ``label`` nodes with keys in ``$keys`` whose other end's
    ``"Label:key"`` id is in ``$ids``."""
    nt = NODES[label]
    return (
        f"MATCH (a:{q(label)})-[r:{_DATA_RELS}]->(b) WHERE a.{q(nt.key)} IN $keys "
        f"AND concat(label(b), ':', {_key_expr('b')}) IN $ids RETURN r LIMIT $lim"
    )
