"""docs/NEO4J.md lists exactly the constraints and indexes Neo4jStore.create_schema creates."""

from __future__ import annotations

import re
from pathlib import Path

from fake_neo4j import FakeNeo4j

from ringwatch.graph.neo4j_store import Neo4jStore

DOC = Path(__file__).resolve().parent.parent / "docs" / "NEO4J.md"


def test_documented_schema_statements_match_the_store() -> None:
    fake = FakeNeo4j()
    Neo4jStore("neo4j://fake:7687", driver=fake.driver()).create_schema()
    made = [c.query + ";" for c in fake.committed]
    documented = re.findall(r"^CREATE (?:CONSTRAINT|INDEX) .*;$", DOC.read_text(encoding="utf-8"), re.M)
    assert documented == made
