"""An in-memory graph behind the fake Neo4j driver: it executes the statements Neo4jStore sends.

Every statement :class:`~ringwatch.graph.neo4j_store.Neo4jStore` runs is built by a function
of :mod:`ringwatch.graph.neo4j_cypher`. :meth:`GraphSim.install` wraps those functions so
each statement text is remembered with the builder and arguments that made it, and answers
the fake driver's queries by doing what that builder's statement does (MERGE a node, delete
the edges with a merge key, create edges, read a page ordered by key, ...). Tests can then
load through the real store code, read back through its paged projections, and compare
with an embedded store, without a Neo4j server. Statements are not parsed: an unknown
statement fails the test.

With ``GraphSim(gds="2.6.0")`` the server has the Graph Data Science plugin: named
projections are kept in :attr:`GraphSim.projections`, and WCC is computed with networkx,
with component ids and row order that are deliberately *not* canonical (as on a real
server). Without it every ``gds.*`` call fails like an unknown function or procedure.
"""

from __future__ import annotations

import functools
import inspect
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import networkx as nx
import pytest
from fake_neo4j import FakeNeo4j, server_error

from ringwatch.graph import neo4j_cypher as cy
from ringwatch.graph.frames import ALL_NODES, FLAGS
from ringwatch.graph.schema import NODES, RELS, RelType

Row = dict[str, Any]


class GraphSim:
    """Nodes per label (key -> properties) and edges per type, with endpoint indexes."""

    def __init__(self, gds: str | None = None) -> None:
        self.gds = gds
        self.projections: dict[str, tuple[list[str], dict[str, Any]]] = {}
        self.nodes: dict[str, dict[str, dict[str, Any]]] = {label: {} for label in ALL_NODES}
        self.edges: dict[str, dict[int, tuple[str, str, dict[str, Any]]]] = {r: {} for r in RELS}
        self.by_src: dict[str, dict[str, set[int]]] = {r: defaultdict(set) for r in RELS}
        self.by_dst: dict[str, dict[str, set[int]]] = {r: defaultdict(set) for r in RELS}
        self.flags: set[tuple[str, str, str]] = set()  # (alert_id, label, key)
        self.made: dict[str, tuple[str, tuple[Any, ...]]] = {}
        self._next = 0
        self.statements: defaultdict[str, int] = defaultdict(int)

    # -- wiring -----------------------------------------------------------------------------
    def install(self, monkeypatch: pytest.MonkeyPatch, fake: FakeNeo4j) -> None:
        """Record what every ``neo4j_cypher`` builder makes, and answer every query of ``fake``."""
        for name, fn in inspect.getmembers(cy, inspect.isfunction):
            if fn.__module__ != cy.__name__ or name.startswith("_"):
                continue
            monkeypatch.setattr(cy, name, self._recording(name, fn))
        fake.respond(r"", self.answer)

    def _recording(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any) -> Any:
            out = fn(*args)
            text = out[0] if isinstance(out, tuple) else out
            if isinstance(text, str):
                self.made[text] = (name, args)
            return out

        return wrapper

    def answer(self, query: str, params: dict[str, Any]) -> list[Row]:
        if query not in self.made:
            raise AssertionError(f"statement not built by neo4j_cypher: {query[:80]}")
        name, args = self.made[query]
        self.statements[name] += 1
        handler = getattr(self, f"_{name}", None)
        if handler is None:
            raise AssertionError(f"the simulator does not run {name}")
        return list(handler(params, *args))

    # -- helpers --------------------------------------------------------------------------------
    def _add_edge(self, rel: str, src: str, dst: str, props: dict[str, Any]) -> None:
        self._next += 1
        self.edges[rel][self._next] = (src, dst, dict(props))
        self.by_src[rel][src].add(self._next)
        self.by_dst[rel][dst].add(self._next)

    def _drop_edges(self, rel: str, eids: set[int]) -> int:
        for e in eids:
            src, dst, _ = self.edges[rel].pop(e)
            self.by_src[rel][src].discard(e)
            self.by_dst[rel][dst].discard(e)
        return len(eids)

    def _edge_row(self, rel: str, e: int, columns: tuple[str, ...] | list[str]) -> Row:
        src, dst, props = self.edges[rel][e]
        return {"src": src, "dst": dst, **{c: props.get(c) for c in columns}}

    # -- schema ---------------------------------------------------------------------------------
    def _key_constraint(self, p: dict[str, Any], label: str) -> list[Row]:
        return []

    def _property_index(self, p: dict[str, Any], label: str, prop: str) -> list[Row]:
        return []

    def _rel_property_index(self, p: dict[str, Any], rel: str, prop: str) -> list[Row]:
        return []

    # -- writes -----------------------------------------------------------------------------------
    def _delete_nodes_batch(self, p: dict[str, Any], label: str) -> list[Row]:
        keys = sorted(self.nodes[label])[: p["batch"]]
        for k in keys:
            del self.nodes[label][k]
            for rel, rt in RELS.items():
                if rt.src == label:
                    self._drop_edges(rel, set(self.by_src[rel].get(k, set())))
                if rt.dst == label:
                    self._drop_edges(rel, set(self.by_dst[rel].get(k, set())))
            self.flags = {
                f for f in self.flags if not ((f[1], f[2]) == (label, k) or (label == "Alert" and f[0] == k))
            }
        return [{"deleted": len(keys)}]

    def _merge_nodes(self, p: dict[str, Any], label: str) -> list[Row]:
        key = ALL_NODES[label].key
        for row in p["rows"]:
            node = self.nodes[label].setdefault(row["key"], {key: row["key"]})
            node.update(row["props"])
        return [{"n": len(p["rows"])}]

    def _delete_rels_from_sources(self, p: dict[str, Any], rt: RelType) -> list[Row]:
        eids = {e for k in p["keys"] for e in self.by_src[rt.type].get(k, set())}
        return [{"deleted": self._drop_edges(rt.type, eids)}]

    def _delete_rels_by_merge_key(self, p: dict[str, Any], rt: RelType, keys: tuple[str, ...]) -> list[Row]:
        rel = rt.type
        if tuple(keys) == ("src",):
            return self._delete_rels_from_sources(p, rt)
        if tuple(keys) == ("dst",):
            eids = {e for k in p["keys"] for e in self.by_dst[rel].get(k, set())}
        elif len(keys) == 1:
            wanted = set(p["keys"])
            eids = {e for e, (_, _, props) in self.edges[rel].items() if props.get(keys[0]) in wanted}
        else:
            eids = set()
            for row in p["rows"]:
                for e in self.by_src[rel].get(row["src"], set()):
                    _, dst, props = self.edges[rel][e]
                    if dst == row["dst"] and (len(keys) == 2 or props.get(keys[2]) == row.get("p")):
                        eids.add(e)
        return [{"deleted": self._drop_edges(rel, eids)}]

    def _create_rels(self, p: dict[str, Any], rt: RelType) -> list[Row]:
        made = 0
        for row in p["rows"]:
            if row["src"] in self.nodes[rt.src] and row["dst"] in self.nodes[rt.dst]:
                self._add_edge(rt.type, row["src"], row["dst"], row["props"])
                made += 1
        return [{"created": made}]

    def _existing_keys(self, p: dict[str, Any], label: str) -> list[Row]:
        return [{"k": k} for k in p["keys"] if k in self.nodes[label]]

    def _create_alerts(self, p: dict[str, Any]) -> list[Row]:
        for row in p["rows"]:
            self.nodes["Alert"][row["alert_id"]] = dict(row)
        return [{"created": len(p["rows"])}]

    def _create_flags(self, p: dict[str, Any], label: str) -> list[Row]:
        made = 0
        for row in p["rows"]:
            if row["a"] in self.nodes["Alert"] and row["k"] in self.nodes[label]:
                self.flags.add((row["a"], label, row["k"]))
                made += 1
        return [{"created": made}]

    def _set_meta(self, p: dict[str, Any]) -> list[Row]:
        for row in p["rows"]:
            self.nodes["Meta"][row["key"]] = {"key": row["key"], "value": row["value"]}
        return []

    # -- reads ------------------------------------------------------------------------------------
    def _get_meta(self, p: dict[str, Any]) -> list[Row]:
        return [{"key": k, "value": v["value"]} for k, v in sorted(self.nodes["Meta"].items())]

    def _node_page(self, p: dict[str, Any], label: str, columns: list[str], first: bool) -> list[Row]:
        keys = sorted(k for k in self.nodes[label] if first or k > p["after"])[: p["page"]]
        return [{"_key": k, **{c: self.nodes[label][k].get(c) for c in columns}} for k in keys]

    def _source_key_page(self, p: dict[str, Any], rt: RelType, first: bool) -> list[Row]:
        keys = sorted(k for k in self.nodes[rt.src] if first or k > p["after"])[: p["page"]]
        return [{"k": k} for k in keys]

    def _rels_of_sources(self, p: dict[str, Any], rt: RelType, columns: list[str]) -> list[Row]:
        return [
            self._edge_row(rt.type, e, columns)
            for k in p["keys"]
            for e in sorted(self.by_src[rt.type].get(k, ()))
        ]

    def _rels_of_targets(self, p: dict[str, Any], rt: RelType, columns: list[str]) -> list[Row]:
        return [
            self._edge_row(rt.type, e, columns)
            for k in p["keys"]
            for e in sorted(self.by_dst[rt.type].get(k, ()))
        ]

    def _rels_with_property(self, p: dict[str, Any], rt: RelType, prop: str, columns: list[str]) -> list[Row]:
        wanted = set(p["keys"])
        return [
            self._edge_row(rt.type, e, columns)
            for e, (_, _, props) in sorted(self.edges[rt.type].items())
            if props.get(prop) in wanted
        ]

    def _list_items_of_sources(self, p: dict[str, Any], rt: RelType, prop: str) -> list[Row]:
        return [
            {"k": k, "items": self.edges[rt.type][e][2].get(prop)}
            for k in p["keys"]
            for e in sorted(self.by_src[rt.type].get(k, ()))
        ]

    def _nodes_where(self, p: dict[str, Any], label: str, prop: str, columns: list[str]) -> list[Row]:
        wanted = set(p["keys"])
        return [
            {c: node.get(c) for c in columns}
            for _, node in sorted(self.nodes[label].items())
            if node.get(prop) in wanted
        ]

    def _count_nodes(self, p: dict[str, Any], label: str) -> list[Row]:
        return [{"n": len(self.nodes[label])}]

    def _count_rels(self, p: dict[str, Any], rel: str) -> list[Row]:
        return [{"n": len(self.flags) if rel == FLAGS else len(self.edges[rel])}]

    def _flags_of(self, p: dict[str, Any], label: str) -> list[Row]:
        return [{"src": a, "dst": k} for a, lbl, k in sorted(self.flags) if lbl == label]

    # -- Graph Data Science -------------------------------------------------------------------------
    def _need_gds(self, what: str) -> None:
        if self.gds is None:
            raise server_error("Neo.ClientError.Procedure.ProcedureNotFound", f"There is no procedure {what}")

    def _gds_version(self, p: dict[str, Any]) -> list[Row]:
        if self.gds is None:
            raise server_error("Neo.ClientError.Statement.SyntaxError", "Unknown function 'gds.version'")
        return [{"version": self.gds}]

    def _gds_project(self, p: dict[str, Any]) -> list[Row]:
        self._need_gds("gds.graph.project")
        if p["graph"] in self.projections:
            raise server_error("Neo.ClientError.Procedure.ProcedureCallFailed", "graph already exists")
        labels, rels = list(p["labels"]), dict(p["rels"])
        for spec in rels.values():
            rt = RELS[spec["type"]]
            assert rt.src in labels and rt.dst in labels, "a native projection needs both end labels"
            assert spec["orientation"] == "UNDIRECTED"
        self.projections[p["graph"]] = (labels, rels)
        return [{"graphName": p["graph"], "nodeCount": sum(len(self.nodes[x]) for x in labels)}]

    def _gds_drop(self, p: dict[str, Any]) -> list[Row]:
        self._need_gds("gds.graph.drop")
        return [{"graphName": p["graph"]}] if self.projections.pop(p["graph"], None) else []

    def _wcc(self, graph: str) -> dict[tuple[str, str], int]:
        """Component id of every projected node: arbitrary, not canonical (largest member first)."""
        if graph not in self.projections:
            raise server_error("Neo.ClientError.Procedure.ProcedureCallFailed", f"no graph {graph}")
        labels, rels = self.projections[graph]
        g = nx.Graph()
        g.add_nodes_from((label, k) for label in labels for k in self.nodes[label])
        for spec in rels.values():
            rt = RELS[spec["type"]]
            g.add_edges_from(((rt.src, s), (rt.dst, d)) for s, d, _ in self.edges[rt.type].values())
        comps = sorted((sorted(c) for c in nx.connected_components(g)), key=lambda c: c[-1], reverse=True)
        return {node: 1000 + 7 * i for i, comp in enumerate(comps) for node in comp}

    def _gds_stream(self, p: dict[str, Any], algorithm: str) -> list[Row]:
        self._need_gds(f"gds.{algorithm}.stream")
        if algorithm != "wcc":
            raise AssertionError(f"the simulator does not run gds.{algorithm}")
        grp = self._wcc(p["graph"])
        return [{"label": label, "key": k, "grp": g} for (label, k), g in sorted(grp.items())]

    def _gds_wcc_keys(self, p: dict[str, Any], label: str, rel: str) -> list[Row]:
        self._need_gds("gds.wcc.stream")
        grp = self._wcc(p["graph"])
        linked = {k for k, ids in self.by_src[rel].items() if ids} | {
            k for k, ids in self.by_dst[rel].items() if ids
        }
        return [
            {"key": k, "grp": g}
            for (lbl, k), g in sorted(grp.items(), reverse=True)
            if lbl == label and k in linked
        ]


def node_count(sim: GraphSim) -> dict[str, int]:
    """Nodes per data label (for quick checks)."""
    return {label: len(sim.nodes[label]) for label in NODES}
