"""Helpers for ``evidence_cypher``: read-only Cypher text with literal ids.

Evidence queries are written in the subset of Cypher that LadybugDB and Neo4j both accept
(``MATCH``/``OPTIONAL MATCH``/``WHERE … IN [list]``/``RETURN`` of nodes and relationships),
with the ids inlined as escaped string literals, so the same text replays on either store.
These strings are output for analysts, never executed with values spliced from input on a
write path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence


def lit(value: str) -> str:
    """A Cypher single-quoted string literal (backslash and quote escaped, control chars dropped)."""
    s = "".join(ch for ch in str(value) if ch >= " " or ch == "\t")
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def lit_list(values: Iterable[str]) -> str:
    """A sorted, de-duplicated Cypher list literal: ``['a', 'b']``."""
    return "[" + ", ".join(lit(v) for v in sorted(set(map(str, values)))) + "]"


def contact_matches(members: Mapping[str, Sequence[str]]) -> tuple[list[str], list[str]]:
    """``OPTIONAL MATCH`` clauses for the shared phones and addresses in ``members``, and their variables.

    The person must be bound to ``p``; a clause is only written when its member list is non-empty.
    """
    clauses: list[str] = []
    variables: list[str] = []
    if members.get("phone"):
        clauses.append(
            f"OPTIONAL MATCH (p)-[u:USES_PHONE]->(ph:Phone) WHERE ph.phone IN {lit_list(members['phone'])}"
        )
        variables += ["u", "ph"]
    if members.get("address"):
        clauses.append(
            f"OPTIONAL MATCH (p)-[l:LIVES_AT]->(ad:Address) WHERE ad.address_key IN {lit_list(members['address'])}"
        )
        variables += ["l", "ad"]
    return clauses, variables


def query_text(clauses: Sequence[str], variables: Sequence[str]) -> str:
    """The clauses, one per line, and a final ``RETURN`` of ``variables``."""
    return "\n".join([*clauses, "RETURN " + ", ".join(variables)])
