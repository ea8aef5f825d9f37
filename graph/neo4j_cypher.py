"""Every Neo4j Cypher statement ringwatch runs on a Neo4j server.

Statements are built only from :mod:`ringwatch.graph.schema` constants (labels, types and
property names, checked against a plain-identifier pattern and back-quoted) and from
integers the store validates (hop counts); every data value is a query parameter. Writes are
``UNWIND $rows AS row …`` statements run in managed write transactions, one batch each.
"""

from __future__ import annotations

from collections.abc import Sequence

from .frames import ALL_NODES, FLAGS
from .ladybug_cypher import q
from .schema import ALERT_NODE, META_NODE, NODES, RELS, RelType

# -- schema -------------------------------------------------------------------------------


def key_constraint(label: str) -> str:
    """Uniqueness constraint on a label's key (also the index behind key lookups and paging)."""
    nt = ALL_NODES[label]
    name = f"ringwatch_{label.lower()}_key"
    return f"CREATE CONSTRAINT {q(name)} IF NOT EXISTS FOR (n:{q(label)}) REQUIRE n.{q(nt.key)} IS UNIQUE"


#: secondary property indexes: (label, property) pairs detectors and analysts filter on
INDEXED_PROPERTIES: tuple[tuple[str, str], ...] = (
    ("Identity", "person_id"),
    ("Account", "person_id"),
    ("Benefit", "id_number"),
    ("Doctor", "hospital_id"),
    ("Activity", "id_number"),
    ("Alert", "detector"),
)


#: relationship property indexes: merge keys of upserts that are properties (claims by claim_id)
INDEXED_REL_PROPERTIES: tuple[tuple[str, str], ...] = (("TREATED_AT", "claim_id"),)


def rel_property_index(rel: str, prop: str) -> str:
    """A range index on a relationship property (look-ups and upserts by ``claim_id``)."""
    RELS[rel].prop_type(prop)  # KeyError unless a schema property
    name = f"ringwatch_{rel.lower()}_{prop}"
    return f"CREATE INDEX {q(name)} IF NOT EXISTS FOR ()-[r:{q(rel)}]-() ON (r.{q(prop)})"


def property_index(label: str, prop: str) -> str:
    """A range index on ``label.prop`` (a schema property)."""
    ALL_NODES[label].prop_type(prop)  # KeyError unless a schema property
    name = f"ringwatch_{label.lower()}_{prop}"
    return f"CREATE INDEX {q(name)} IF NOT EXISTS FOR (n:{q(label)}) ON (n.{q(prop)})"


# -- writes -------------------------------------------------------------------------------


def delete_nodes_batch(label: str) -> str:
    """Detach-delete up to ``$batch`` nodes of ``label``; returns how many."""
    return f"MATCH (n:{q(label)}) WITH n LIMIT $batch DETACH DELETE n RETURN count(*) AS deleted"


def merge_nodes(label: str) -> str:
    """Upsert ``$rows`` (``{key, props}``): new nodes get the properties; existing nodes take
    every property present in ``props`` (nulls are left out of ``props``, so old values stay)."""
    nt = ALL_NODES[label]
    return f"UNWIND $rows AS row MERGE (n:{q(label)} {{{q(nt.key)}: row.key}}) SET n += row.props RETURN count(n) AS n"


def delete_rels_from_sources(rt: RelType) -> str:
    """Delete the ``rt`` edges leaving the source nodes whose keys are in ``$keys``."""
    src = NODES[rt.src]
    return (
        f"UNWIND $keys AS k MATCH (a:{q(rt.src)} {{{q(src.key)}: k}})-[r:{q(rt.type)}]->(:{q(rt.dst)}) "
        f"DELETE r RETURN count(r) AS deleted"
    )


def delete_rels_by_merge_key(rt: RelType, keys: Sequence[str]) -> tuple[str, str]:
    """Delete the stored ``rt`` edges whose merge key (``keys``) is among the batch; returns count.

    Returns the statement and its parameter: ``keys`` (a list of values) for a one-column
    merge key, ``rows`` (``{src, dst, p}`` maps) for ``(src, dst[, property])``. A null
    property value matches a null stored value.
    """
    src, dst = NODES[rt.src], NODES[rt.dst]
    a = f"(a:{q(rt.src)} {{{q(src.key)}: row.src}})"
    b = f"(b:{q(rt.dst)} {{{q(dst.key)}: row.dst}})"
    tail = "DELETE r RETURN count(r) AS deleted"
    if tuple(keys) == ("src",):
        return delete_rels_from_sources(rt), "keys"
    if tuple(keys) == ("dst",):
        return (
            f"UNWIND $keys AS k MATCH (:{q(rt.src)})-[r:{q(rt.type)}]->(b:{q(rt.dst)} {{{q(dst.key)}: k}}) "
            f"{tail}"
        ), "keys"
    if len(keys) == 1:
        p = keys[0]
        rt.prop_type(p)
        return (
            f"UNWIND $keys AS k MATCH (:{q(rt.src)})-[r:{q(rt.type)} {{{q(p)}: k}}]->(:{q(rt.dst)}) {tail}",
            "keys",
        )
    if tuple(keys[:2]) != ("src", "dst") or len(keys) > 3:
        raise ValueError(f"unsupported merge key {keys!r}")
    if len(keys) == 2:
        return f"UNWIND $rows AS row MATCH {a}-[r:{q(rt.type)}]->{b} {tail}", "rows"
    p = keys[2]
    rt.prop_type(p)
    return (
        f"UNWIND $rows AS row MATCH {a}-[r:{q(rt.type)}]->{b} "
        f"WHERE r.{q(p)} = row.p OR (r.{q(p)} IS NULL AND row.p IS NULL) {tail}"
    ), "rows"


def create_rels(rt: RelType) -> str:
    """Create one ``rt`` edge per ``$rows`` entry (``{src, dst, props}``); returns how many."""
    src, dst = NODES[rt.src], NODES[rt.dst]
    return (
        f"UNWIND $rows AS row MATCH (a:{q(rt.src)} {{{q(src.key)}: row.src}}) "
        f"MATCH (b:{q(rt.dst)} {{{q(dst.key)}: row.dst}}) "
        f"CREATE (a)-[r:{q(rt.type)}]->(b) SET r = row.props RETURN count(r) AS created"
    )


def existing_keys(label: str) -> str:
    """Which of ``$keys`` exist as ``label`` nodes."""
    nt = ALL_NODES[label]
    return f"UNWIND $keys AS k MATCH (n:{q(label)} {{{q(nt.key)}: k}}) RETURN n.{q(nt.key)} AS k"


def create_alerts() -> str:
    """Create one ``Alert`` node per ``$rows`` map (properties as given)."""
    return f"UNWIND $rows AS row CREATE (a:{q(ALERT_NODE.label)}) SET a = row RETURN count(a) AS created"


def create_flags(label: str) -> str:
    """``FLAGS`` edges from alerts to existing ``label`` members (``$rows``: ``{a, k}``)."""
    nt = ALL_NODES[label]
    return (
        f"UNWIND $rows AS row MATCH (a:{q(ALERT_NODE.label)} {{{q(ALERT_NODE.key)}: row.a}}) "
        f"MATCH (m:{q(label)} {{{q(nt.key)}: row.k}}) MERGE (a)-[f:{q(FLAGS)}]->(m) RETURN count(f) AS created"
    )


def set_meta() -> str:
    """Set metadata values from ``$rows`` (``{key, value}`` maps)."""
    return (
        f"UNWIND $rows AS row MERGE (m:{q(META_NODE.label)} {{{q('key')}: row.key}}) "
        f"SET m.{q('value')} = row.value"
    )


def get_meta() -> str:
    """Every metadata key and value."""
    return f"MATCH (m:{q(META_NODE.label)}) RETURN m.{q('key')} AS key, m.{q('value')} AS value"


# -- projections (paged by key) ------------------------------------------------------------


def node_page(label: str, columns: Sequence[str], first: bool) -> str:
    """One page of ``label`` nodes ordered by key: ``$page`` rows after key ``$after``.

    The key comes first as ``_key`` (the paging cursor), then ``columns``.
    """
    nt = ALL_NODES[label]
    where = "" if first else f" WHERE n.{q(nt.key)} > $after"
    ret = ", ".join([f"n.{q(nt.key)} AS _key", *(f"n.{q(c)} AS {q(c)}" for c in columns)])
    return f"MATCH (n:{q(label)}){where} RETURN {ret} ORDER BY n.{q(nt.key)} LIMIT $page"


def source_key_page(rt: RelType, first: bool) -> str:
    """One page of keys of ``rt``'s FROM label, ordered (the cursor for relationship paging)."""
    src = NODES[rt.src]
    where = "" if first else f" WHERE a.{q(src.key)} > $after"
    return f"MATCH (a:{q(rt.src)}){where} RETURN a.{q(src.key)} AS k ORDER BY k LIMIT $page"


def rels_of_sources(rt: RelType, columns: Sequence[str]) -> str:
    """All ``rt`` edges leaving the FROM nodes with keys in ``$keys``: src, dst, properties."""
    src, dst = NODES[rt.src], NODES[rt.dst]
    parts = [f"a.{q(src.key)} AS src", f"b.{q(dst.key)} AS dst"]
    parts += [f"r.{q(c)} AS {q(c)}" for c in columns]
    return (
        f"UNWIND $keys AS k MATCH (a:{q(rt.src)} {{{q(src.key)}: k}})-[r:{q(rt.type)}]->(b:{q(rt.dst)}) "
        f"RETURN {', '.join(parts)}"
    )


def nodes_where(label: str, prop: str, columns: Sequence[str]) -> str:
    """``columns`` of the ``label`` nodes whose ``prop`` (key or indexed property) is in ``$keys``."""
    nt = ALL_NODES[label]
    nt.prop_type(prop)
    ret = ", ".join(f"n.{q(c)} AS {q(c)}" for c in columns)
    return f"UNWIND $keys AS k MATCH (n:{q(label)} {{{q(prop)}: k}}) RETURN {ret}"


def _rel_return(rt: RelType, columns: Sequence[str]) -> str:
    src, dst = NODES[rt.src], NODES[rt.dst]
    parts = [f"a.{q(src.key)} AS src", f"b.{q(dst.key)} AS dst", *(f"r.{q(c)} AS {q(c)}" for c in columns)]
    return "RETURN " + ", ".join(parts)


def rels_of_targets(rt: RelType, columns: Sequence[str]) -> str:
    """All ``rt`` edges reaching the TO nodes with keys in ``$keys``: src, dst, properties."""
    dst = NODES[rt.dst]
    return (
        f"UNWIND $keys AS k MATCH (a:{q(rt.src)})-[r:{q(rt.type)}]->(b:{q(rt.dst)} {{{q(dst.key)}: k}}) "
        f"{_rel_return(rt, columns)}"
    )


def rels_with_property(rt: RelType, prop: str, columns: Sequence[str]) -> str:
    """All ``rt`` edges whose property ``prop`` is in ``$keys``: src, dst, properties."""
    rt.prop_type(prop)
    return (
        f"UNWIND $keys AS k MATCH (a:{q(rt.src)})-[r:{q(rt.type)} {{{q(prop)}: k}}]->(b:{q(rt.dst)}) "
        f"{_rel_return(rt, columns)}"
    )


def list_items_of_sources(rt: RelType, prop: str) -> str:
    """The FROM key and the list property ``prop`` of every ``rt`` edge leaving the keys in ``$keys``."""
    rt.prop_type(prop)
    src = NODES[rt.src]
    return (
        f"UNWIND $keys AS k MATCH (a:{q(rt.src)} {{{q(src.key)}: k}})-[r:{q(rt.type)}]->(:{q(rt.dst)}) "
        f"RETURN a.{q(src.key)} AS k, r.{q(prop)} AS items"
    )


# -- Graph Data Science (server-side algorithms, when the GDS plugin is installed) ------------


def gds_version() -> str:
    """The Graph Data Science version; fails (unknown function) when the plugin is not installed."""
    return "RETURN gds.version() AS version"


def gds_project() -> str:
    """Project ``$labels`` nodes and ``$rels`` (a map type -> ``{type, orientation}``) as ``$graph``."""
    return (
        "CALL gds.graph.project($graph, $labels, $rels) "
        "YIELD graphName, nodeCount, relationshipCount RETURN graphName, nodeCount, relationshipCount"
    )


def gds_drop() -> str:
    """Drop the in-memory projection ``$graph`` (no error when it is gone already)."""
    return "CALL gds.graph.drop($graph, false) YIELD graphName RETURN graphName"


def gds_stream(algorithm: str) -> str:
    """Stream ``algorithm`` (``wcc`` or ``leiden``) over ``$graph``: label, key and group id per node.

    ``$config`` is the algorithm configuration map.
    """
    field = {"wcc": "componentId", "leiden": "communityId"}[algorithm]
    return (
        f"CALL gds.{algorithm}.stream($graph, $config) YIELD nodeId, {field} "
        f"WITH gds.util.asNode(nodeId) AS m, {field} AS grp "
        f"RETURN {_label_expr('m')} AS label, {_key_expr('m')} AS key, grp ORDER BY label, key"
    )


def gds_wcc_keys(label: str, rel: str) -> str:
    """Weakly connected components over ``$graph`` (a projection of ``label`` and ``rel``): key and group.

    Only nodes with at least one ``rel`` relationship are returned (the others are components
    of their own), unordered: the client sorts and renumbers them. ``$config`` is the WCC
    configuration map.
    """
    nt = NODES[label]
    RELS[rel]  # KeyError unless a schema relationship type
    return (
        "CALL gds.wcc.stream($graph, $config) YIELD nodeId, componentId "
        f"WITH gds.util.asNode(nodeId) AS m, componentId WHERE EXISTS {{ (m)-[:{q(rel)}]-() }} "
        f"RETURN m.{q(nt.key)} AS key, componentId AS grp"
    )


def flags_of(label: str) -> str:
    """Alert write-back edges to ``label`` nodes: alert id and member key."""
    nt = ALL_NODES[label]
    return (
        f"MATCH (a:{q(ALERT_NODE.label)})-[:{q(FLAGS)}]->(m:{q(label)}) "
        f"RETURN a.{q(ALERT_NODE.key)} AS src, m.{q(nt.key)} AS dst"
    )


def count_nodes(label: str) -> str:
    """Number of ``label`` nodes."""
    return f"MATCH (n:{q(label)}) RETURN count(n) AS n"


def count_rels(rel: str) -> str:
    """Number of ``rel`` relationships."""
    return f"MATCH ()-[r:{q(rel)}]->() RETURN count(r) AS n"


# -- investigation ------------------------------------------------------------------------

_DATA_RELS = "|".join(q(t) for t in RELS)


def _label_expr(var: str) -> str:
    whens = " ".join(f"WHEN {var}:{q(lbl)} THEN '{lbl}'" for lbl in NODES)
    return f"CASE {whens} END"


def _key_expr(var: str) -> str:
    whens = " ".join(f"WHEN {var}:{q(lbl)} THEN {var}.{q(nt.key)}" for lbl, nt in NODES.items())
    return f"CASE {whens} END"


def find_node(label: str) -> str:
    """The ``label`` node whose key is ``$key``."""
    nt = ALL_NODES[label]
    return f"MATCH (n:{q(label)} {{{q(nt.key)}: $key}}) RETURN n"


def _pattern(label: str, hops: int) -> str:
    nt = NODES[label]
    start = f"(n:{q(label)} {{{q(nt.key)}: $key}})"
    if hops == 1:
        return f"MATCH {start}-[:{_DATA_RELS}]-(m)"
    return f"MATCH p = {start}-[:{_DATA_RELS}*1..{int(hops)}]-(m) WHERE m <> n"


def count_neighbours(label: str, hops: int) -> str:
    """Distinct nodes within ``hops`` data relationships of one node (alerts not followed)."""
    return f"{_pattern(label, hops)} RETURN count(DISTINCT m) AS n"


def pick_neighbours(label: str, hops: int) -> str:
    """The first ``$lim`` neighbours by (distance, label, key)."""
    first = "WITH DISTINCT m, 1 AS d" if hops == 1 else "WITH m, min(length(p)) AS d"
    return (
        f"{_pattern(label, hops)} {first} "
        f"RETURN m, d ORDER BY d, {_label_expr('m')}, {_key_expr('m')} LIMIT $lim"
    )


def edges_among() -> str:
    """Data relationships between the nodes whose element ids are in ``$ids``."""
    return (
        f"MATCH (a) WHERE elementId(a) IN $ids MATCH (a)-[r:{_DATA_RELS}]->(b) "
        f"WHERE elementId(b) IN $ids RETURN r LIMIT $lim"
    )
