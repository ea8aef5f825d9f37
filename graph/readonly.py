"""Read-only query guard shared by both stores (defence in depth).

The real barrier is the read-only connection: a LadybugDB read-only database or read-only
transaction, a Neo4j ``READ`` access-mode transaction. Before analyst Cypher reaches it,
:func:`assert_read_only` rejects text that could write or administer the store: it strips
comments, string literals and back-quoted names first (so a word inside a quoted string is
never a violation and a keyword hidden behind a comment still is), compares words
case-insensitively, and looks inside ``CALL { … }`` subqueries like everywhere else.
"""

from __future__ import annotations

import re

from ringwatch.errors import ReadOnlyViolation, StoreError

#: clause and command words that write data or schema, or administer the server
WRITE_WORDS: frozenset[str] = frozenset(
    {
        "CREATE",
        "MERGE",
        "DEALLOCATE",  # Neo4j 5 server administration
        "REALLOCATE",
        "DRYRUN",
        "SET",
        "DELETE",
        "DETACH",
        "REMOVE",
        "DROP",
        "ALTER",
        "RENAME",
        "LOAD",  # LOAD CSV (Neo4j), LOAD FROM / LOAD EXTENSION (LadybugDB)
        "COPY",
        "INSTALL",
        "UNINSTALL",
        "ATTACH",
        "EXPORT",
        "IMPORT",
        "FOREACH",
        "USE",
        "CHECKPOINT",
        "BEGIN",
        "COMMIT",
        "ROLLBACK",
        "GRANT",
        "REVOKE",
        "DENY",
        "SHOW",
        "START",
        "STOP",
        "TERMINATE",
        "ENABLE",
        "INSERT",
        "UPDATE",
        "TRUNCATE",
    }
)

#: procedures an analyst may CALL (lower case): schema introspection only
READ_PROCEDURES: frozenset[str] = frozenset(
    {
        # Neo4j
        "db.labels",
        "db.relationshiptypes",
        "db.propertykeys",
        "db.schema.visualization",
        "db.schema.nodetypeproperties",
        "db.schema.reltypeproperties",
        # LadybugDB
        "show_tables",
        "table_info",
        "show_connection",
        "db_version",
    }
)

_WORD = re.compile(r"\w+")
_PROC_NAME = re.compile(r"\s*([A-Za-z_][\w]*(?:\s*\.\s*[A-Za-z_][\w]*)*)")


def _strip(cypher: str) -> str:
    """Replace comments by a space, string literals by ``0`` and back-quoted names by ``_q``.

    Raises
    ------
    ReadOnlyViolation
        For an unterminated string, comment or quoted name (the text cannot be checked).
    """
    out: list[str] = []
    i, n = 0, len(cypher)
    while i < n:
        ch = cypher[i]
        nxt = cypher[i + 1] if i + 1 < n else ""
        if ch == "/" and nxt == "/":
            end = cypher.find("\n", i)
            i = n if end < 0 else end
            out.append(" ")
        elif ch == "/" and nxt == "*":
            end = cypher.find("*/", i + 2)
            if end < 0:
                raise ReadOnlyViolation("unterminated /* comment: the query cannot be checked")
            i = end + 2
            out.append(" ")
        elif ch in ("'", '"'):
            j = i + 1
            while j < n and cypher[j] != ch:
                j += 2 if cypher[j] == "\\" else 1
            if j >= n:
                raise ReadOnlyViolation("unterminated string literal: the query cannot be checked")
            i = j + 1
            out.append(" 0 ")
        elif ch == "`":
            j = i + 1
            while True:
                end = cypher.find("`", j)
                if end < 0:
                    raise ReadOnlyViolation("unterminated `quoted name`: the query cannot be checked")
                if end + 1 < n and cypher[end + 1] == "`":  # `` is an escaped back-quote
                    j = end + 2
                    continue
                break
            i = end + 1
            out.append("_q")
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def assert_read_only(cypher: str) -> None:
    """Raise :class:`~ringwatch.errors.ReadOnlyViolation` unless ``cypher`` only reads.

    Rejected: the clause words in :data:`WRITE_WORDS` (``CREATE``, ``MERGE``, ``SET``,
    ``DELETE``, ``DETACH``, ``REMOVE``, ``DROP``, ``ALTER``, ``LOAD CSV``/``LOAD FROM``,
    ``COPY``, ``INSTALL``, ``ATTACH``, ``EXPORT``/``IMPORT DATABASE``, ``FOREACH``, ``USE``,
    transaction control, user and server administration, …), ``CALL`` of any procedure
    not in :data:`READ_PROCEDURES`, APOC, and more than one statement. A word directly
    after ``.``, ``:`` or ``$`` is a property, label or parameter name, not a clause.

    Parameters
    ----------
    cypher
        The query text.

    Raises
    ------
    ReadOnlyViolation
        Naming the offending word (never echoing the query, which may hold ids).
    StoreError
        For an empty query.
    """
    text = _strip(cypher)
    statements = [s for s in text.split(";") if s.strip()]
    if not statements:
        raise StoreError("empty query")
    if len(statements) > 1:
        raise ReadOnlyViolation("only one statement may be run at a time")
    for m in _WORD.finditer(text):
        before = text[m.start() - 1] if m.start() > 0 else " "
        if before in ".:$":
            continue
        word = m.group(0).upper()
        if word in WRITE_WORDS:
            raise ReadOnlyViolation(f"read-only query expected, found {word}")
        if word == "APOC":
            raise ReadOnlyViolation("read-only query expected, found an APOC call")
        if word == "CALL":
            rest = text[m.end() :]
            stripped = rest.lstrip()
            if stripped.startswith(("{", "(")):
                continue  # CALL { … } / CALL (x) { … } subquery: its words are checked too
            pm = _PROC_NAME.match(rest)
            name = re.sub(r"\s+", "", pm.group(1)).lower() if pm else ""
            if name not in READ_PROCEDURES:
                shown = name if re.fullmatch(r"[a-z_][\w.]*", name) else "?"
                raise ReadOnlyViolation(f"read-only query expected, found CALL of procedure {shown}")
