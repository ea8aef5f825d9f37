"""The read-only guard: writes and admin commands are refused however they are dressed up."""

from __future__ import annotations

import pytest

from ringwatch.errors import ReadOnlyViolation, StoreError
from ringwatch.graph.readonly import assert_read_only

WRITES = [
    "CREATE (n:Person {person_id: 'X'})",
    "MATCH (n:Person) SET n.name = 'x'",
    "MERGE (n:Phone {phone: '1'})",
    "MATCH (n) DETACH DELETE n",
    "MATCH (n)-[r]->() DELETE r",
    "MATCH (n:Person) REMOVE n.name",
    "DROP TABLE Person",
    "ALTER TABLE Person ADD age INT64",
    "LOAD CSV FROM 'file:///x.csv' AS row RETURN row",
    "LOAD FROM 'x.csv' RETURN *",
    "COPY Person FROM 'people.csv'",
    "INSTALL httpfs",
    "ATTACH 'other.lbug' AS other (dbtype lbug)",
    "EXPORT DATABASE '/tmp/dump'",
    "IMPORT DATABASE '/tmp/dump'",
    "CALL apoc.periodic.iterate('MATCH (n) RETURN n', 'DELETE n', {})",
    "CALL dbms.killQueries(['q-1'])",
    "CALL threads = 1",
    "MATCH (n:Person) FOREACH (x IN [1] | SET n.flag = true)",
    "USE system MATCH (n) RETURN n",
    "match (n) detach delete n",
    "MaTcH (n) SeT n.x = 1",
    "MATCH (n) /* innocent */ DELETE n",
    "MATCH (n) // comment\nDELETE n",
    "MATCH (n) RETURN n /* close */ ; CREATE (m)",
    "MATCH (p:Person) CALL { WITH p CREATE (:Phone {phone: p.person_id}) } RETURN p",
    "MATCH (p:Person) CALL (p) { MERGE (x:Phone {phone: 'y'}) } RETURN p",
    "UNWIND [1] AS x CALL { MATCH (n) WITH n LIMIT 1 DETACH DELETE n } RETURN x",
    "MATCH (n) WHERE n.name = 'x' SET n.name = 'CREATE'",
    "CHECKPOINT",
    "BEGIN TRANSACTION",
    "CREATE USER mallory SET PASSWORD 'x'",
    "GRANT ALL ON DATABASE * TO mallory",
    "SHOW USERS",
    "RETURN apoc.cypher.runFirstColumnSingle('MATCH (n) DETACH DELETE n', {})",
    "CALL db.labels() YIELD label CALL apoc.create.node([label], {}) YIELD node RETURN node",
    "MATCH (n) RETURN n; MATCH (m) RETURN m",
    "MATCH (n) WHERE n.name = 'unterminated RETURN n",
    "MATCH (n) /* unterminated comment RETURN n",
]

READS = [
    "MATCH (p:Person)-[h:HOLDS]->(a:Account) WHERE p.person_id IN ['P1','P2'] RETURN p, h, a",
    "MATCH (n:Person) WHERE n.name = 'CREATE (x) DELETE x' RETURN n",
    'MATCH (n:Person) WHERE n.extra CONTAINS "MERGE; SET" RETURN count(n)',
    "MATCH (n:Person) // we never DELETE here\nRETURN n.created_at, n.set_by, n.`delete`",
    "MATCH (n:Person) /* SET DROP */ RETURN n LIMIT 5;",
    "MATCH (i:Identity) CALL { WITH i MATCH (i)-[:RECEIVES]->(b) RETURN count(b) AS nb } RETURN i, nb",
    "CALL db.labels()",
    "CALL show_tables() RETURN *",
    "CALL table_info('Person') RETURN *",
    "MATCH (n) WHERE n.name = 'it\\'s a SET' RETURN n",
    "MATCH (n:Person) WHERE n.region_code STARTS WITH $prefix RETURN n.person_id AS id, $create AS flag",
    "MATCH p = (a:Person)-[*1..2]-(b) RETURN p ORDER BY length(p) LIMIT 10",
    "match (n:`Person`) with n order by n.person_id return collect(n.person_id)[..3]",
]


@pytest.mark.parametrize("cypher", WRITES)
def test_writes_and_admin_are_refused(cypher: str) -> None:
    with pytest.raises(ReadOnlyViolation):
        assert_read_only(cypher)


@pytest.mark.parametrize("cypher", READS)
def test_reads_pass(cypher: str) -> None:
    assert_read_only(cypher)


def test_message_names_the_word_not_the_query() -> None:
    with pytest.raises(ReadOnlyViolation) as e:
        assert_read_only("MATCH (p:Person {person_id: '110101195003040011'}) DETACH DELETE p")
    assert "DETACH" in str(e.value) and "110101" not in str(e.value)


def test_empty_query() -> None:
    with pytest.raises(StoreError):
        assert_read_only("  // nothing\n ; ")
