"""Evidence graphs for st-link-analysis: a capped canvas of store subgraphs, masked.

:class:`GraphCanvas` accumulates :class:`~ringwatch.graph.base.Subgraph` results (the
evidence query, then neighbour expansions) up to a hard node limit, and renders them as
Cytoscape elements. Node ids sent to the browser are opaque (``n1``, ``n2`` …) so raw
keys such as ID numbers never leave the server; captions and properties are masked.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ringwatch.graph.base import Subgraph, SubgraphEdge, SubgraphNode

#: node label -> (colour, Material icon name supported by st-link-analysis)
NODE_STYLES: dict[str, tuple[str, str]] = {
    "Person": ("#4C78A8", "person"),
    "Identity": ("#F58518", "badge"),
    "Account": ("#54A24B", "account_balance"),
    "Phone": ("#B279A2", "smartphone"),
    "Address": ("#9D755D", "home"),
    "Employer": ("#E45756", "factory"),
    "Hospital": ("#72B7B2", "medical_services"),
    "Doctor": ("#FF9DA6", "medical_information"),
    "Benefit": ("#EECA3B", "request_quote"),
    "Activity": ("#BAB0AC", "flag"),
    "Alert": ("#D62728", "campaign"),
}
EDGE_COLORS: dict[str, str] = {
    "HAS_IDENTITY": "#4C78A8",
    "RENUMBERED_TO": "#F58518",
    "HOLDS": "#54A24B",
    "USES_PHONE": "#B279A2",
    "LIVES_AT": "#9D755D",
    "EMPLOYED_BY": "#E45756",
    "RECEIVES": "#EECA3B",
    "PAID_TO": "#2CA02C",
    "WORKS_AT": "#72B7B2",
    "TREATED_AT": "#17BECF",
    "HAS_ACTIVITY": "#BAB0AC",
    "FLAGS": "#D62728",
}
#: relationship list properties replaced by their summary columns on the canvas
_DROP_EDGE_PROPS = frozenset({"months", "amounts", "payment_ids"})

Mask = Callable[[str, Any, "str | None"], Any]


def jsonable(value: Any) -> Any:
    """A JSON-friendly version of a property value (dates as ISO text, NaN as ``None``)."""
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if hasattr(value, "item"):  # numpy scalar
        try:
            return jsonable(value.item())
        except (TypeError, ValueError):
            return str(value)
    if hasattr(value, "isoformat"):  # pandas Timestamp
        return str(value.isoformat())[:10]
    return str(value)


def _first(props: Mapping[str, Any], *names: str) -> Any:
    for n in names:
        v = props.get(n)
        if v not in (None, ""):
            return v
    return None


def node_caption(node: SubgraphNode, mask: Mask) -> str:
    """Short, masked caption for a node by label."""
    p = node.props
    lab = node.label
    if lab == "Person":
        name = _first(p, "name")
        return f"{mask('name', name, lab)} · {node.key}" if name else str(node.key)
    if lab in ("Identity", "Account", "Phone", "Address"):
        prop = {"Identity": "id_number", "Account": "account_no", "Phone": "phone", "Address": "address"}[lab]
        return str(mask(prop, _first(p, prop, "address_key") or node.key, lab))
    if lab in ("Employer", "Hospital"):
        return str(_first(p, "name") or node.key)
    if lab == "Doctor":
        name = _first(p, "name")
        return f"{mask('name', name, lab)} · {node.key}" if name else str(node.key)
    if lab == "Benefit":
        scheme = _first(p, "scheme")
        return f"{scheme} · {node.key}" if scheme else str(node.key)
    if lab == "Activity":
        return f"{_first(p, 'source') or ''} {jsonable(_first(p, 'date')) or ''}".strip() or str(node.key)
    if lab == "Alert":
        return str(_first(p, "detector") or node.key)
    return str(mask("", node.key, lab))


@dataclass
class GraphCanvas:
    """Nodes and edges drawn for one case, with a hard node limit.

    Attributes
    ----------
    max_nodes
        Nodes never exceed this; further nodes are counted in ``dropped``.
    """

    max_nodes: int = 500
    nodes: dict[str, SubgraphNode] = field(default_factory=dict)
    edges: dict[str, SubgraphEdge] = field(default_factory=dict)
    opaque: dict[str, str] = field(default_factory=dict)
    reverse: dict[str, str] = field(default_factory=dict)
    members: set[str] = field(default_factory=set)
    dropped: int = 0

    def _oid(self, node_id: str) -> str:
        oid = self.opaque.get(node_id)
        if oid is None:
            oid = f"n{len(self.opaque) + 1}"
            self.opaque[node_id] = oid
            self.reverse[oid] = node_id
        return oid

    def add(self, sg: Subgraph | None) -> tuple[int, int]:
        """Add a subgraph's nodes (up to the limit) and the edges between drawn nodes.

        Returns
        -------
        tuple of int
            ``(added, not_shown)``: new nodes drawn, and nodes left out — the subgraph's
            own ``omitted`` count plus those cut by the canvas limit.
        """
        if sg is None:
            return 0, 0
        added = cut = 0
        for n in sg.nodes:
            if n.id in self.nodes:
                continue
            if len(self.nodes) >= self.max_nodes:
                cut += 1
                continue
            self.nodes[n.id] = n
            self._oid(n.id)
            added += 1
        for e in sg.edges:
            if e.source in self.nodes and e.target in self.nodes and e.id not in self.edges:
                self.edges[e.id] = e
        self.dropped += cut
        return added, cut + int(sg.omitted)

    @property
    def full(self) -> bool:
        return len(self.nodes) >= self.max_nodes

    def node(self, oid: str) -> SubgraphNode | None:
        """The node behind an opaque browser id."""
        nid = self.reverse.get(oid)
        return self.nodes.get(nid) if nid else None

    def mark_members(self, members: Mapping[str, list[str]], member_labels: Mapping[str, str]) -> None:
        """Remember which drawn nodes are alert members (drawn with a ``member`` flag)."""
        for mtype, ids in members.items():
            lab = member_labels.get(mtype)
            if lab:
                self.members.update(f"{lab}:{i}" for i in ids)

    def elements(self, mask: Mask) -> dict[str, list[dict[str, Any]]]:
        """Cytoscape elements (``{"nodes": [...], "edges": [...]}``), masked.

        Parameters
        ----------
        mask
            ``mask(prop, value, label)``: identity when the user may see raw values.
        """
        nodes = []
        for nid, n in self.nodes.items():
            data: dict[str, Any] = {
                "id": self.opaque[nid],
                "label": n.label,
                "caption": node_caption(n, mask),
            }
            for k, v in n.props.items():
                if k in ("id", "label", "caption"):
                    continue
                mv = jsonable(mask(k, jsonable(v), n.label))
                if mv is not None:
                    data[k] = mv
            if nid in self.members:
                data["member"] = "★"
            nodes.append({"data": data})
        edges = []
        for i, (_eid, e) in enumerate(self.edges.items(), start=1):
            data = {
                "id": f"e{i}",
                "label": e.type,
                "source": self.opaque[e.source],
                "target": self.opaque[e.target],
            }
            for k, v in e.props.items():
                if k in _DROP_EDGE_PROPS or k in data:
                    continue
                mv = jsonable(mask(k, jsonable(v), None))
                if mv is not None:
                    data[k] = mv
            edges.append({"data": data})
        return {"nodes": nodes, "edges": edges}


def link_styles() -> tuple[list[Any], list[Any]]:
    """NodeStyle / EdgeStyle lists for every schema label and relationship type."""
    from st_link_analysis import EdgeStyle, NodeStyle

    node_styles = [NodeStyle(lab, color, "caption", icon) for lab, (color, icon) in NODE_STYLES.items()]
    # labeled=None: the library warns about its deprecated ``labeled`` flag unless it is None
    no_flag: Any = None
    edge_styles = [
        EdgeStyle(rel, color=color, caption="label", labeled=no_flag, directed=True)
        for rel, color in EDGE_COLORS.items()
    ]
    return node_styles, edge_styles
