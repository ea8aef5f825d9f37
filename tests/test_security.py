"""Security: the Cypher console cannot write, queries are parameterised, hostile data stays data,
PII stays out of logs and command output.

What is already proven elsewhere and not repeated here: the text guard on 39 write/admin
queries (``test_readonly.py``), masking rules, scrypt password hashes, the append-only and
hash-chained audit log (``test_dashboard_units.py``), a write refused in the console page
(``test_dashboard.py``). This file adds: 30 write/admin queries through the dashboard's
console function against a real read-only store (refused, audited, graph and disk
unchanged); what the read-only database refuses by itself when the text guard is switched
off, and what only the guard stops; a source scan proving no Cypher text is built from input
values; evidence queries with hostile ids; PII in logs and command output.
"""

from __future__ import annotations

import ast
import hashlib
import json
import logging
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cli_helpers
import pandas as pd
import pytest

from ringwatch import pipeline
from ringwatch.errors import ReadOnlyViolation, StoreError
from ringwatch.graph import open_store
from ringwatch.graph.readonly import assert_read_only

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).parent / "data" / "bad"

HOST_PERSON = "P1'}) MATCH (n) DETACH DELETE n //"
HOST_ACCOUNT = "=cmd|' /C calc'!A0"
HOST_BENEFIT = "B1\\' OR 1=1 RETURN 1 //"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return cli_helpers.run_cli(*args, timeout=180)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``ringwatch run`` (in process) on the corpus' hostile-strings case; returns the output dir."""
    root = tmp_path_factory.mktemp("hostile")
    data = root / "data"
    shutil.copytree(CORPUS / "_base", data)
    for f in (CORPUS / "hostile_strings").iterdir():
        shutil.copyfile(f, data / f.name)
    out = root / "out"
    pipeline.run_fresh(data, out, pipeline.fresh_store_path(out))
    return out


def snapshot(store: Path) -> tuple[dict[str, int], dict[str, str], list[list[str]], list[list[str]]]:
    """What a write would change: counts, meta, every person and every alert."""
    with open_store(store, read_only=True) as st:
        return (
            st.counts(),
            st.get_meta(),
            st.nodes("Person").astype(str).values.tolist(),
            st.nodes("Alert").astype(str).values.tolist(),
        )


def files_under(*dirs: Path) -> dict[str, str]:
    out = {}
    for d in dirs:
        for p in d.rglob("*"):
            if p.is_file() and not p.name.endswith(".lock"):
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


# -- the console cannot write -----------------------------------------------------------------------
#: write and admin queries dressed up every way we could think of; {leak} is a path that must not appear
WRITE_QUERIES = [
    "CREATE (n:Person {person_id: 'X'})",
    "MATCH (n:Person) SET n.name = 'pwned'",
    "MERGE (n:Phone {phone: '1'})",
    "MATCH (n) DETACH DELETE n",
    "MATCH (n:Person) REMOVE n.name",
    "DROP TABLE Alert",
    "ALTER TABLE Person ADD pwned INT64",
    "COPY Phone FROM '{leak}'",
    "COPY (MATCH (n:Person) RETURN n.person_id, n.name) TO '{leak}'",
    "EXPORT DATABASE '{leak}'",
    "LOAD FROM '/etc/hostname' (file_format='csv') RETURN *",
    "LOAD CSV FROM 'file:///etc/passwd' AS row RETURN row",
    "CHECKPOINT",
    "CALL threads = 1",
    "ATTACH '{leak}' AS other (dbtype lbug)",
    "INSTALL httpfs",
    "CREATE MACRO pwn(x) AS x + 1",
    "BEGIN TRANSACTION",
    "cReAtE (n:Person {person_id: 'X'})",
    "match (n:Person) where n.person_id = 'P001' detach delete n",
    "MATCH (n:Person) /* just reading */ SET n.name = 'x'",
    "MATCH (n:Person) // just reading\nSET n.name = 'x'",
    "MATCH (n:Person)\tWITH n\nDELETE n",
    "MATCH (n:Person) WITH n CALL { WITH n DETACH DELETE n } RETURN 1",
    "MATCH (n:Person) CALL (n) { SET n.name = 'x' } RETURN n",
    "UNWIND [1] AS x CALL {\n MATCH (m:Alert) DELETE m\n} RETURN x",
    "MATCH (n:Person) RETURN n UNION ALL CREATE (m:Person {person_id: 'Y'}) RETURN m",
    "MATCH (n:Person) RETURN n; MATCH (m) DETACH DELETE m",
    "MATCH (n:Person) WHERE n.name = 'a\\\\' DETACH DELETE n //' RETURN n",
    "CALL apoc.periodic.iterate('MATCH (n) RETURN n', 'DETACH DELETE n', {})",
    "CALL db.labels() YIELD label CALL apoc.create.node([label], {}) YIELD node RETURN node",
    "CALL dbms.security.createUser('mallory', 'secret', false)",
    "FOREACH (x IN [1] | CREATE (:Phone {phone: 'z'}))",
    "USE system CREATE USER mallory SET PASSWORD 'secret-password'",
]


@pytest.fixture
def console(hostile: Path, tmp_path: Path) -> Iterator[tuple[Any, Any, Path]]:
    """The dashboard console's ``run_query`` against the hostile store, outside a Streamlit server."""
    import streamlit as st

    from ringwatch.dashboard import common, page_console

    logging.getLogger("streamlit").setLevel(logging.ERROR)
    store = pipeline.fresh_store_path(hostile)
    cfg = common.Config(
        store=str(store), alerts_dir=hostile, users_file=None, cases_db=tmp_path / "cases.sqlite"
    )
    st.session_state["_cfg"] = cfg
    handle = common.StoreHandle(open_store(store, read_only=True), str(store))
    try:
        yield page_console, handle, tmp_path
    finally:
        handle.store.close()
        st.session_state.clear()


def test_console_refuses_every_write_and_admin_query(console: tuple[Any, Any, Path], hostile: Path) -> None:
    from ringwatch.dashboard.casework import CaseStore

    page_console, handle, tmp = console
    assert len(WRITE_QUERIES) >= 30
    store = pipeline.fresh_store_path(hostile)
    leak = tmp / "leak"
    before, disk = snapshot(store), files_under(hostile)
    for q in WRITE_QUERIES:
        res = page_console.run_query(handle, q.replace("{leak}", str(leak)), 100, 5.0, "console")
        assert res["ok"] is False and res["rejected"] is True, (q, res)
        assert "Traceback" not in res["error"]
    assert snapshot(store) == before
    assert files_under(hostile) == disk
    assert not leak.exists()
    # every attempt is in the audit log, whose hash chain holds
    audit = CaseStore(tmp / "cases.sqlite")
    assert audit.count_audit() == len(WRITE_QUERIES) and audit.verify().ok
    # and the console still answers reads
    ok = page_console.run_query(handle, "MATCH (p:Person) RETURN count(p) AS n", 10, 5.0, "console")
    assert ok["ok"] and int(ok["frame"]["n"][0]) == before[0]["Person"]


#: writes the read-only database refuses by itself, without the text guard
DATA_WRITES = [q for q in WRITE_QUERIES[:8] if "{leak}" not in q] + [
    "CREATE NODE TABLE Evil(id STRING, PRIMARY KEY(id))",
    "CREATE MACRO pwn(x) AS x + 1",
    "MATCH (n:Person) WITH n LIMIT 1 SET n.name = 'x' RETURN n",
]


def test_read_only_database_refuses_data_writes_without_the_guard(
    hostile: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defence in depth: with the text guard switched off, the read-only database still refuses."""
    from ringwatch.graph import ladybug_store

    monkeypatch.setattr(ladybug_store, "assert_read_only", lambda cypher: None)
    store = pipeline.fresh_store_path(hostile)
    before = snapshot(store)
    with open_store(store, read_only=True) as ro:
        for q in DATA_WRITES:
            with pytest.raises(StoreError):  # ReadOnlyViolation is a StoreError
                ro.run_read(q)
    assert snapshot(store) == before


def test_what_only_the_guard_stops(hostile: Path, tmp_path: Path) -> None:
    """LadybugDB 0.22 lets a read-only handle write a file (``COPY … TO``) and run ``CHECKPOINT``
    (which leaves the store needing recovery). The text guard refuses both before they reach it."""
    store = pipeline.fresh_store_path(hostile)
    leak = tmp_path / "leak.csv"
    with open_store(store, read_only=True) as ro:
        for q in (
            f"COPY (MATCH (n:Person) RETURN n.person_id, n.name) TO '{leak}'",
            "CHECKPOINT",
            "LOAD FROM '/etc/hostname' (file_format='csv') RETURN *",
            "CALL threads = 1",
        ):
            with pytest.raises(ReadOnlyViolation):
                ro.run_read(q)
    assert not leak.exists()
    assert not store.with_name(store.name + ".shadow").exists()
    with open_store(store, read_only=True) as ro:  # still opens read-only: no recovery pending
        assert ro.counts()["Person"] > 0


@pytest.mark.parametrize(
    "cypher",
    ["DEALLOCATE DATABASES FROM SERVERS 'server-1'", "REALLOCATE DATABASES", "DRYRUN REALLOCATE DATABASES"],
)
def test_guard_refuses_neo4j_server_admin_commands(cypher: str) -> None:
    with pytest.raises(ReadOnlyViolation):
        assert_read_only(cypher)


# -- no Cypher built from input values ------------------------------------------------------------------
CYPHER = re.compile(
    r"\b(MATCH|RETURN|MERGE|UNWIND|CREATE|DELETE|DETACH|CALL|COPY|WHERE|LOAD|DROP|ALTER|SET|YIELD)\b"
)
#: calls whose result is safe to put in Cypher text: identifier quoting (raises unless a plain
#: identifier), escaped string literals for evidence queries, integers, the LadybugDB column
#: type of a schema property type
SAFE_CALLS = {"q", "lit", "lit_list", "int", "len", "storage_type"}
#: iterables whose items are schema names or types (comprehension variables over them are safe)
SCHEMA_ITERABLES = re.compile(
    r"^(nt|rt|src|dst|a|m|\w*NODE\w*)\.(props|columns|key)$|^(\w+\.)?(NODES|RELS|ALL_NODES|MEMBER_LABELS)\b"
)
#: interpolations the scan cannot resolve, each reviewed: file -> {(function, expression): why safe}
REVIEWED: dict[str, dict[tuple[str, str], str]] = {
    "graph/ladybug_cypher.py": {
        ("table_info", "table"): "checked by q(table) on the line before",
        ("copy_rel", "pair[0]"): "FROM label of a FLAGS pair (schema.MEMBER_LABELS)",
        ("copy_rel", "pair[1]"): "TO label of a FLAGS pair (schema.MEMBER_LABELS)",
        ("update_nodes", "var[nt.key]"): "generated column names v0..vN",
        ("update_nodes", "sets"): "q()-quoted properties set from v0..vN",
    },
    "graph/neo4j_cypher.py": {
        ("gds_stream", "algorithm"): "validated by the dict lookup (wcc, leiden)",
        ("gds_stream", "field"): "a constant picked by that lookup",
    },
    "dashboard/casedata.py": {
        ("member_nodes", "label"): "a schema.MEMBER_LABELS value",
        ("member_nodes", "nt.key"): "a schema.NODES key property",
        ("member_nodes", "ret"): "built from schema.NODES column names",
    },
}
SOURCE_DIRS = ("core", "graph", "detectors", "dashboard", "loaders", "synth")


class _Scanner:
    """Finds Cypher text built with an interpolated value that is not provably a schema name."""

    def __init__(self, source: str, rel: str) -> None:
        self.rel = rel
        self.tree = ast.parse(source)
        self.module_funcs = {n.name for n in self.tree.body if isinstance(n, ast.FunctionDef)}
        self.module_assigns = self._assigns(
            [n for n in self.tree.body if isinstance(n, ast.Assign | ast.AnnAssign)]
        )
        self.in_raise = {id(s) for n in ast.walk(self.tree) if isinstance(n, ast.Raise) for s in ast.walk(n)}

    @staticmethod
    def _assigns(nodes: list[ast.AST]) -> dict[str, list[ast.expr]]:
        out: dict[str, list[ast.expr]] = {}
        for top in nodes:
            for n in ast.walk(top):
                if isinstance(n, ast.Assign):
                    for t in n.targets:
                        for nm in ast.walk(t):
                            if isinstance(nm, ast.Name):
                                out.setdefault(nm.id, []).append(n.value)
                elif (
                    isinstance(n, ast.AnnAssign | ast.AugAssign)
                    and isinstance(n.target, ast.Name)
                    and n.value
                ):
                    out.setdefault(n.target.id, []).append(n.value)
                elif isinstance(n, ast.comprehension | ast.For):
                    for nm in ast.walk(n.target):
                        if isinstance(nm, ast.Name):
                            out.setdefault(nm.id, []).append(ast.Call(ast.Name("__iter__"), [n.iter], []))
        return out

    def safe(self, e: ast.expr, assigns: dict[str, list[ast.expr]], seen: frozenset[str]) -> bool:
        if isinstance(e, ast.Constant):
            return True
        if isinstance(e, ast.JoinedStr):
            return all(
                self.safe(v.value, assigns, seen) for v in e.values if isinstance(v, ast.FormattedValue)
            )
        if isinstance(e, ast.Call):
            f = e.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            if name == "__iter__":  # a loop variable: safe when it runs over schema names
                return bool(SCHEMA_ITERABLES.search(ast.unparse(e.args[0])))
            if name in SAFE_CALLS or (name in self.module_funcs and name.startswith("_")):
                return True
            if name == "join":
                return all(self.safe(a, assigns, seen) for a in e.args)
            return False
        if isinstance(e, ast.GeneratorExp | ast.ListComp | ast.SetComp):
            return self.safe(e.elt, assigns, seen)
        if isinstance(e, ast.DictComp):
            return self.safe(e.value, assigns, seen)
        if isinstance(e, ast.List | ast.Tuple):
            return all(self.safe(x, assigns, seen) for x in e.elts)
        if isinstance(e, ast.Starred):
            return self.safe(e.value, assigns, seen)
        if isinstance(e, ast.IfExp):
            return self.safe(e.body, assigns, seen) and self.safe(e.orelse, assigns, seen)
        if isinstance(e, ast.BinOp) and isinstance(e.op, ast.Add):
            return self.safe(e.left, assigns, seen) and self.safe(e.right, assigns, seen)
        if isinstance(e, ast.Subscript):
            return self.safe(e.value, assigns, seen)
        if isinstance(e, ast.Name):
            if e.id in seen:
                return True
            values = assigns.get(e.id) or self.module_assigns.get(e.id)
            return bool(values) and all(self.safe(v, assigns, seen | {e.id}) for v in values)
        return False

    def problems(self) -> list[str]:
        found = []
        scopes = [n for n in ast.walk(self.tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
        owner: dict[int, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        for fn in sorted(scopes, key=lambda f: -len(list(ast.walk(f)))):  # innermost wins
            for s in ast.walk(fn):
                owner[id(s)] = fn
        for node in ast.walk(self.tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "format"
            ):
                base = node.func.value
                if (
                    isinstance(base, ast.Constant)
                    and isinstance(base.value, str)
                    and CYPHER.search(base.value)
                ):
                    found.append(f"{self.rel}:{node.lineno}: Cypher built with str.format")
            if (
                isinstance(node, ast.BinOp)
                and isinstance(node.op, ast.Mod)
                and isinstance(node.left, ast.Constant)
                and isinstance(node.left.value, str)
                and CYPHER.search(node.left.value)
            ):
                found.append(f"{self.rel}:{node.lineno}: Cypher built with %-formatting")
            if not isinstance(node, ast.JoinedStr) or id(node) in self.in_raise:
                continue
            text = "".join(
                v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)
            )
            if not CYPHER.search(text):
                continue
            fn = owner.get(id(node))
            assigns = self._assigns([fn]) if fn else {}
            for v in node.values:
                if not isinstance(v, ast.FormattedValue) or self.safe(v.value, assigns, frozenset()):
                    continue
                key = (fn.name if fn else "", ast.unparse(v.value))
                if key not in REVIEWED.get(self.rel, {}):
                    found.append(
                        f"{self.rel}:{node.lineno} in {key[0]}(): {{{key[1]}}} is interpolated into Cypher"
                    )
        return found


def test_no_cypher_is_built_from_input_values() -> None:
    """Every value in a query travels as a parameter; text is built only from schema names.

    Scans every module: Cypher-looking f-strings may interpolate only identifier quoting
    (``q``), evidence literals (``lit``/``lit_list``), integers, module-private builders, and
    local names made of those or of schema names; nothing is built with ``str.format`` or
    ``%``. The few interpolations that need a human look are listed in ``REVIEWED``.
    """
    files = [p for d in SOURCE_DIRS for p in sorted((REPO / d).rglob("*.py"))]
    assert len(files) > 40
    problems = [
        msg
        for p in files
        for msg in _Scanner(p.read_text(encoding="utf-8"), p.relative_to(REPO).as_posix()).problems()
    ]
    assert problems == []
    # the scan does find an interpolated value (it is not vacuous)
    probe = _Scanner(
        "def find(name):\n    return f\"MATCH (p:Person) WHERE p.name = '{name}' RETURN p\"\n"
        "def ok(label):\n    return f'MATCH (n:{q(label)}) WHERE n.x IN {lit_list([label])} RETURN n'\n"
        "def fmt(name):\n    return 'MATCH (p) WHERE p.name = {} RETURN p'.format(name)\n"
        "def loop(rows):\n    return [f'MATCH (n) WHERE n.k = {r} RETURN n' for r in rows]\n",
        "probe.py",
    )
    assert sorted(m.split(": ", 1)[0] for m in probe.problems()) == [
        "probe.py:2 in find()",
        "probe.py:6",
        "probe.py:8 in loop()",
    ]


def test_identifier_quoting_refuses_injection() -> None:
    from ringwatch.graph.ladybug_cypher import q

    assert q("Person") == "`Person`"
    for bad in ("Person`) DETACH DELETE n //", "a b", "", "x;y", "Person`"):
        with pytest.raises(ValueError):
            q(bad)


HOSTILE_TEXT = [
    HOST_PERSON,
    HOST_ACCOUNT,
    HOST_BENEFIT,
    "'; MATCH (n) DETACH DELETE n; //",
    '"}) CALL apoc.periodic.iterate("MATCH (n) RETURN n","DETACH DELETE n",{}) //',
    "`Person` {name: $x}) SET n.admin = true //",
    "\\",
    "\\\\'",
    "'\\",
    "王'芳\\n\\u0027",
    "/* */ // ' \" `",
    "\\u0027) RETURN 1 //",
    "tab\there",
]


def test_evidence_literals_round_trip_hostile_text(hostile: Path) -> None:
    """``lit``/``lit_list`` turn any text into a literal that reads back as exactly that text."""
    from ringwatch.detectors.evidence import lit, lit_list

    with open_store(pipeline.fresh_store_path(hostile), read_only=True) as ro:
        for text in HOSTILE_TEXT:
            cypher = f"RETURN {lit(text)} AS v, {lit_list([text, 'x'])} AS l"
            assert_read_only(cypher)
            frame = ro.run_read(cypher).frame
            assert frame["v"][0] == text, text
            assert list(frame["l"][0]) == sorted([text, "x"])


def test_evidence_queries_with_hostile_ids_are_read_only_and_find_the_members(hostile: Path) -> None:
    alerts = [json.loads(x) for x in (hostile / "alerts.jsonl").read_text(encoding="utf-8").splitlines()]
    assert alerts
    with open_store(pipeline.fresh_store_path(hostile), read_only=True) as ro:
        for a in alerts:
            assert_read_only(a["evidence_cypher"])
            res = ro.run_read(a["evidence_cypher"], limit=5000)
            assert res.graph is not None
            keys = {n.id.split(":", 1)[1] for n in res.graph.nodes}
            for ids in a["members"].values():
                assert set(ids) <= keys, (a["detector"], set(ids) - keys)
    hostile_alert = [a for a in alerts if HOST_PERSON in a["members"].get("person", [])]
    assert len(hostile_alert) == 1
    assert hostile_alert[0]["members"]["account"] == [HOST_ACCOUNT]
    assert hostile_alert[0]["members"]["benefit"] == [HOST_BENEFIT]
    # the hostile ids never leak into the explanation (ids there are shortened to 尾号…)
    assert HOST_PERSON not in hostile_alert[0]["explanation"]


# -- PII stays out of logs and command output ---------------------------------------------------------
@pytest.fixture(scope="module")
def generated_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    root = tmp_path_factory.mktemp("pii")
    data, out = root / "data", root / "out"
    gen = run_cli("generate", "--persons", "1000", "--seed", "11", "--out", str(data))
    assert gen.returncode == 0, gen.stderr[-2000:]
    run = run_cli("-v", "run", str(data), "--out", str(out))
    assert run.returncode == 0, run.stderr[-2000:]
    summary = run_cli("summary", str(out))
    assert summary.returncode == 0, summary.stderr[-2000:]
    return data, out, run.stdout + run.stderr + summary.stdout + summary.stderr


def pii_values(data: Path) -> set[str]:
    """Raw ID numbers, phones, account numbers and (3+ character) names of the generated data."""

    def col(table: str, column: str) -> set[str]:
        return set(pd.read_csv(data / f"{table}.csv", dtype=str, keep_default_na=False)[column]) - {""}

    names = {n for n in col("persons", "name") if len(n) >= 3}
    return col("identities", "id_number") | col("phones", "phone") | col("accounts", "account_no") | names


def test_logs_and_command_output_hold_no_pii(generated_run: tuple[Path, Path, str]) -> None:
    data, out, text = generated_run
    assert "Traceback" not in text
    values = pii_values(data)
    assert len(values) > 2000
    leaked = sorted(v for v in values if v in text)
    assert leaked == []


def test_run_records_and_explanations_hold_no_pii(generated_run: tuple[Path, Path, str]) -> None:
    data, out, _ = generated_run
    values = pii_values(data)
    records = [out / "run.json", out / "runs" / "index.jsonl", *sorted((out / "runs").rglob("run.json"))]
    for path in records:
        body = path.read_text(encoding="utf-8")
        assert not [v for v in values if v in body], path.name
    alerts = [json.loads(x) for x in (out / "alerts.jsonl").read_text(encoding="utf-8").splitlines()]
    assert alerts
    for a in alerts:
        assert not [v for v in values if v in a["explanation"]], a["alert_id"]


def test_errors_on_bad_input_do_not_quote_values(tmp_path: Path) -> None:
    """A file without a header row: the message names the file and the problem, not the first row."""
    data = tmp_path / "data"
    shutil.copytree(CORPUS / "_base", data)
    shutil.copyfile(CORPUS / "no_header_row" / "persons.csv", data / "persons.csv")
    res = run_cli("load", str(data), "--store", str(tmp_path / "s.lbug"))
    assert res.returncode == 2 and "persons.csv" in res.stderr
    first_row = (data / "persons.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    assert not [v for v in first_row if len(v) >= 2 and v in res.stderr]


def test_graph_export_keeps_hostile_strings_as_exact_data(hostile: Path, tmp_path: Path) -> None:
    """The neo4j-admin export is input for a database import, not a spreadsheet: values stay exact
    (a formula prefix is not neutralised there, or the imported graph would differ)."""
    import csv

    from ringwatch.graph.export import export_neo4j_admin

    with open_store(pipeline.fresh_store_path(hostile), read_only=True) as st:
        export_neo4j_admin(st, tmp_path / "export")
    header = (tmp_path / "export" / "Person_header.csv").read_text(encoding="utf-8").strip().split(",")
    with (tmp_path / "export" / "Person.csv").open(encoding="utf-8", newline="") as fh:
        names = {r[0]: r[header.index("name")] for r in csv.reader(fh)}
    assert names[HOST_PERSON] == "'; MATCH (n) DETACH DELETE n; //"
    assert names["P007"] == "+1+1" and names["P011"] == "-2+3"
    assert names["P010"] == "`Person` {name: $x}) SET n.admin = true //"
