"""Helpers for ``evidence_cypher``: read-only Cypher text with literal ids.

Evidence queries are written in the subset of Cypher that LadybugDB and Neo4j both accept
(``MATCH``/``OPTIONAL MATCH``/``WHERE … IN [list]``/``RETURN`` of nodes and relationships),
with the ids inlined as escaped string literals, so the same text replays on either store.
These strings are output for analysts, never executed with values spliced from input on a
write path.
"""

from __future__ import annotations

from collections.abc import Iterable


def lit(value: str) -> str:
    """A Cypher single-quoted string literal (backslash and quote escaped, control chars dropped)."""
    s = "".join(ch for ch in str(value) if ch >= " " or ch == "\t")
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def lit_list(values: Iterable[str]) -> str:
    """A sorted, de-duplicated Cypher list literal: ``['a', 'b']``."""
    return "[" + ", ".join(lit(v) for v in sorted(set(map(str, values)))) + "]"
