"""A fake of the official ``neo4j`` driver for testing :class:`Neo4jStore` without a server.

It records every ``(query, parameters)`` a transaction runs, with the session's access mode
and the transaction function's timeout, and answers from scripted responders. Managed
transactions behave like the driver's: ``execute_write``/``execute_read`` call the function
with a fresh transaction, commit its calls to :attr:`FakeNeo4j.committed` only when the
function returns, and retry when it raises a retryable error (the failed attempt is dropped,
like a rolled-back transaction).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import neo4j
from neo4j.exceptions import DriverError, Neo4jError
from neo4j.graph import Graph, Node, Relationship

Responder = Callable[[str, dict[str, Any]], Sequence[dict[str, Any]]]


@dataclass
class Call:
    query: str
    params: dict[str, Any]
    mode: str
    timeout: float | None = None


@dataclass
class FakeNeo4j:
    """Shared state of one fake server: responders, scheduled failures and the call logs."""

    responders: list[tuple[re.Pattern[str], Responder]] = field(default_factory=list)
    failures: list[tuple[re.Pattern[str], Exception]] = field(default_factory=list)
    attempted: list[Call] = field(default_factory=list)
    committed: list[Call] = field(default_factory=list)
    sessions: list[dict[str, Any]] = field(default_factory=list)
    retries: int = 0
    closed: bool = False

    def respond(self, pattern: str, rows: Responder | Sequence[dict[str, Any]]) -> None:
        """Answer queries matching ``pattern`` (regex, searched) with rows or a function of (query, params)."""
        if callable(rows):
            fn: Responder = rows
        else:
            fixed = list(rows)

            def fn(query: str, params: dict[str, Any]) -> Sequence[dict[str, Any]]:
                return fixed

        self.responders.insert(0, (re.compile(pattern), fn))

    def fail_once(self, pattern: str, error: Exception) -> None:
        """Raise ``error`` the next time a query matching ``pattern`` runs."""
        self.failures.append((re.compile(pattern), error))

    def driver(self) -> FakeDriver:
        return FakeDriver(self)

    def committed_matching(self, pattern: str) -> list[Call]:
        rx = re.compile(pattern)
        return [c for c in self.committed if rx.search(c.query)]

    def _answer(self, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        for i, (rx, err) in enumerate(self.failures):
            if rx.search(query):
                del self.failures[i]
                raise err
        for rx, fn in self.responders:
            if rx.search(query):
                return list(fn(query, params))
        return []


class FakeRecord:
    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def keys(self) -> list[str]:
        return list(self._data)

    def values(self) -> list[Any]:
        return list(self._data.values())

    def data(self) -> dict[str, Any]:
        return dict(self._data)

    def __getitem__(self, key: str | int) -> Any:
        if isinstance(key, int):
            return self.values()[key]
        return self._data[key]


class FakeResult:
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self._rows = rows

    def keys(self) -> list[str]:
        return list(self._rows[0]) if self._rows else []

    def __iter__(self) -> Iterator[FakeRecord]:
        return (FakeRecord(r) for r in self._rows)

    def single(self) -> FakeRecord | None:
        return FakeRecord(self._rows[0]) if self._rows else None

    def consume(self) -> None:
        return None


class FakeTransaction:
    def __init__(self, server: FakeNeo4j, mode: str, timeout: float | None) -> None:
        self.server, self.mode, self.timeout = server, mode, timeout
        self.calls: list[Call] = []

    def run(self, query: str, parameters: dict[str, Any] | None = None, **kw: Any) -> FakeResult:
        params = {**(parameters or {}), **kw}
        call = Call(str(query), params, self.mode, self.timeout)
        self.server.attempted.append(call)
        rows = self.server._answer(str(query), params)
        self.calls.append(call)
        return FakeResult(rows)


class FakeSession:
    MAX_RETRIES = 5

    def __init__(self, server: FakeNeo4j, database: str | None, default_access_mode: str) -> None:
        self.server, self.database, self.mode = server, database, default_access_mode
        server.sessions.append({"database": database, "mode": default_access_mode})

    def __enter__(self) -> FakeSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        return None

    def _managed(self, mode: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        timeout = getattr(fn, "timeout", None)
        for attempt in range(self.MAX_RETRIES + 1):
            tx = FakeTransaction(self.server, mode, timeout)
            try:
                result = fn(tx, *args, **kwargs)
            except (Neo4jError, DriverError) as e:
                if e.is_retryable() and attempt < self.MAX_RETRIES:
                    self.server.retries += 1
                    continue  # rolled back: its calls are not committed
                raise
            self.server.committed.extend(tx.calls)
            return result
        raise AssertionError("unreachable")

    def execute_write(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return self._managed(neo4j.WRITE_ACCESS, fn, *args, **kwargs)

    def execute_read(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return self._managed(neo4j.READ_ACCESS, fn, *args, **kwargs)

    def run(self, query: str, parameters: dict[str, Any] | None = None, **kw: Any) -> FakeResult:
        tx = FakeTransaction(self.server, self.mode, getattr(query, "timeout", None))
        result = tx.run(str(getattr(query, "text", query)), parameters, **kw)
        self.server.committed.extend(tx.calls)
        return result


class FakeDriver:
    def __init__(self, server: FakeNeo4j) -> None:
        self.server = server

    def session(
        self, database: str | None = None, default_access_mode: str = neo4j.WRITE_ACCESS
    ) -> FakeSession:
        return FakeSession(self.server, database, default_access_mode)

    def verify_connectivity(self) -> None:
        return None

    def close(self) -> None:
        self.server.closed = True


# -- graph values as the driver returns them ----------------------------------------------------


def make_node(graph: Graph, element_id: str, labels: Sequence[str], props: dict[str, Any]) -> Node:
    return Node(graph, element_id, abs(hash(element_id)) % 10**9, list(labels), props)


def make_rel(
    graph: Graph, element_id: str, rel_type: str, start: Node, end: Node, props: dict[str, Any]
) -> Relationship:
    rel = graph.relationship_type(rel_type)(graph, element_id, abs(hash(element_id)) % 10**9, props)
    rel._start_node = start
    rel._end_node = end
    return rel


def server_error(code: str, message: str = "scripted failure") -> Neo4jError:
    """An error as the driver raises it for a server failure with this status ``code``."""
    return Neo4jError._hydrate_neo4j(code=code, message=message)
