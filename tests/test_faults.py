"""Faults: ``kill -9`` in the middle of a job, a full disk, a read-only output directory, a Neo4j
connection that drops in the middle of a batch.

Kill tests start the real command on a generated data set, wait for a progress line that
says the job is inside the phase to interrupt, send SIGKILL, run the command again and
compare with a clean run: ``alerts.jsonl`` and ``alerts.csv`` byte for byte, and the store's
node/relationship counts and loaded-row counts.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import neo4j
import pytest
from cli_helpers import run_cli, start_cli
from fake_neo4j import FakeNeo4j, FakeSession
from neo4j.exceptions import IncompleteCommit, ServiceUnavailable, SessionExpired

from ringwatch import alerts_io
from ringwatch.errors import RingwatchError, StoreError
from ringwatch.graph import GraphFrames, open_store
from ringwatch.graph.frames import REL_MERGE_KEYS
from ringwatch.graph.neo4j_store import Neo4jStore

PERSONS = 2000
SEED = 17


@dataclass
class Killed:
    killed: bool
    stderr: str
    returncode: int


def kill_at(args: list[str], trigger: str, delay: float = 0.0) -> Killed:
    """Run the CLI, SIGKILL it ``delay`` s after a stderr line containing ``trigger``."""
    proc = start_cli(*args)
    assert proc.stderr is not None
    lines: list[str] = []
    killed = False
    for line in proc.stderr:
        lines.append(line)
        if trigger in line:
            time.sleep(delay)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                killed = True
            break
    rest = proc.stderr.read()
    proc.wait(timeout=60)
    return Killed(killed, "".join(lines) + rest, proc.returncode)


@dataclass
class Result:
    files: dict[str, bytes]
    counts: dict[str, int]
    rows: dict[str, str]


def result_of(out: Path, store: Path) -> Result:
    """The alert files of ``out`` and what the store holds."""
    files = {n: (out / n).read_bytes() for n in ("alerts.jsonl", "alerts.csv")}
    with open_store(store, read_only=True) as st:
        counts = st.counts()
        rows = {k: v for k, v in st.get_meta().items() if k.startswith("rows.") or k == "loaded_tables"}
    return Result(files, counts, rows)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("faults") / "data"
    res = run_cli("generate", "--persons", str(PERSONS), "--seed", str(SEED), "--out", str(d))
    assert res.returncode == 0, res.stderr[-2000:]
    return d


@pytest.fixture(scope="module")
def clean_out(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean ``ringwatch run`` (its output directory; tests copy it, never change it)."""
    out = tmp_path_factory.mktemp("clean") / "out"
    res = run_cli("run", str(data), "--out", str(out))
    assert res.returncode == 0, res.stderr[-2000:]
    return out


@pytest.fixture(scope="module")
def clean(clean_out: Path) -> Result:
    got = result_of(clean_out, clean_out / "ringwatch.lbug")
    assert got.files["alerts.jsonl"].count(b"\n") > 10
    return got


@pytest.fixture(scope="module")
def loaded_store(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store after one ``ringwatch load`` (tests copy it)."""
    store = tmp_path_factory.mktemp("loaded") / "s.lbug"
    res = run_cli("load", str(data), "--store", str(store))
    assert res.returncode == 0, res.stderr[-2000:]
    return store


def copy_store(src: Path, dest: Path) -> Path:
    for p in src.parent.glob(src.name + "*"):
        if not p.name.endswith(".lock"):
            shutil.copyfile(p, dest.parent / (dest.name + p.name[len(src.name) :]))
    return dest


def assert_same(got: Result, clean: Result) -> None:
    assert got.files == clean.files
    assert got.counts == clean.counts
    assert got.rows == clean.rows


#: (job, trigger line, extra delay): the moment each kill lands
RUN_KILLS = [
    ("load: writing the graph", "writing graph to", 0.2),
    ("detect: first detectors", "shared_account:", 0.0),
    ("detect: writing alerts and swapping the store", "survival_risk:", 0.05),
]


@pytest.mark.parametrize(("phase", "trigger", "delay"), RUN_KILLS, ids=[k[0] for k in RUN_KILLS])
def test_run_killed_then_rerun_equals_a_clean_run(
    phase: str, trigger: str, delay: float, data: Path, clean: Result, clean_out: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    shutil.copytree(clean_out, out, ignore=shutil.ignore_patterns("*.lock"))  # an earlier good run here
    k = kill_at(["run", str(data), "--out", str(out)], trigger, delay)
    assert k.killed, f"the job ended before the kill ({phase})"
    assert k.returncode == -signal.SIGKILL
    # the killed run left the previous store and alerts readable
    assert_same(result_of(out, out / "ringwatch.lbug"), clean)
    again = run_cli("run", str(data), "--out", str(out))
    assert again.returncode == 0 and "Traceback" not in again.stderr, again.stderr[-2000:]
    assert_same(result_of(out, out / "ringwatch.lbug"), clean)
    assert not list(out.glob(".alerts.*.tmp-*"))


def test_first_load_killed_then_rerun(data: Path, clean: Result, tmp_path: Path) -> None:
    store, out = tmp_path / "s.lbug", tmp_path / "out"
    k = kill_at(["load", str(data), "--store", str(store)], "writing graph to", 0.2)
    assert k.killed
    again = run_cli("load", str(data), "--store", str(store))
    assert again.returncode == 0, again.stderr[-2000:]
    det = run_cli("detect", "--store", str(store), "--out", str(out))
    assert det.returncode == 0, det.stderr[-2000:]
    assert_same(result_of(out, store), clean)


def test_reload_killed_then_rerun(data: Path, clean: Result, loaded_store: Path, tmp_path: Path) -> None:
    """An upsert into a loaded store, killed while it writes, then run again."""
    store, out = copy_store(loaded_store, tmp_path / "s.lbug"), tmp_path / "out"
    k = kill_at(["load", str(data), "--store", str(store)], "writing graph to", 0.1)
    assert k.killed
    again = run_cli("load", str(data), "--store", str(store))
    assert again.returncode == 0, again.stderr[-2000:]
    det = run_cli("detect", "--store", str(store), "--out", str(out))
    assert det.returncode == 0, det.stderr[-2000:]
    assert_same(result_of(out, store), clean)


@pytest.mark.parametrize("trigger", ["identity_chain:", "survival_risk:"])
def test_detect_killed_then_rerun(trigger: str, clean: Result, loaded_store: Path, tmp_path: Path) -> None:
    store, out = copy_store(loaded_store, tmp_path / "s.lbug"), tmp_path / "out"
    k = kill_at(["detect", "--store", str(store), "--out", str(out)], trigger, 0.02)
    assert k.killed
    again = run_cli("detect", "--store", str(store), "--out", str(out))
    assert again.returncode == 0, again.stderr[-2000:]
    assert_same(result_of(out, store), clean)
    with open_store(store, read_only=True) as st:  # the store's alerts are this run's, once each
        stored = st.nodes("Alert")["alert_id"].tolist()
    ids = [json.loads(x)["alert_id"] for x in clean.files["alerts.jsonl"].decode().splitlines()]
    assert sorted(stored) == sorted(ids)


# -- full disk, read-only output directory ------------------------------------------------------------
@contextlib.contextmanager
def tmpfs(path: Path, size: str, *, read_only: bool = False) -> Iterator[Path]:
    """A small tmpfs at ``path`` (root only); skips the test where mounting is not allowed."""
    path.mkdir(parents=True, exist_ok=True)
    opts = f"size={size}" + (",ro" if read_only else "")
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)], capture_output=True)
    if res.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_disk_full_while_writing_alerts(clean: Result, loaded_store: Path, tmp_path: Path) -> None:
    store = copy_store(loaded_store, tmp_path / "s.lbug")
    with tmpfs(tmp_path / "full", "1m") as mnt:
        out = mnt / "out"
        out.mkdir()
        filler = mnt / "filler"
        with contextlib.suppress(OSError), filler.open("wb", buffering=0) as fh:
            while True:  # fill the disk ...
                fh.write(b"\0" * 4096)
        # ... but for a few KiB: the writability probe passes, the alert files do not fit
        os.truncate(filler, max(0, filler.stat().st_size - (16 << 10)))
        res = run_cli("detect", "--store", str(store), "--out", str(out))
        assert res.returncode == 1 and "Traceback" not in res.stderr
        flat = " ".join(res.stderr.split())
        assert "No space left on device" in flat and "alerts.jsonl" in flat
        assert sorted(p.name for p in out.iterdir()) == []  # no half file, no temp file
        filler.unlink()
        again = run_cli("detect", "--store", str(store), "--out", str(out))
        assert again.returncode == 0, again.stderr[-2000:]
        assert_same(result_of(out, store), clean)


def test_disk_full_while_loading_the_store(data: Path, tmp_path: Path) -> None:
    """The store's disk fills up: exit 1 with LadybugDB's message naming the store file.

    (LadybugDB 0.22 reports the failed write sometimes as "No space left on device", sometimes
    as a failed read of the same file; see docs/RELIABILITY.md.)
    """
    with tmpfs(tmp_path / "full", "2m") as mnt:
        res = run_cli("run", str(data), "--out", str(mnt / "out"))
        assert res.returncode == 1 and "Traceback" not in res.stderr
        flat = " ".join(res.stderr.split())
        assert "error: LadybugDB" in flat and str(mnt / "out") in flat
        assert not (mnt / "out" / "alerts.jsonl").exists()


def test_read_only_output_directory(data: Path, tmp_path: Path) -> None:
    with tmpfs(tmp_path / "ro", "1m", read_only=True) as mnt:
        res = run_cli("run", str(data), "--out", str(mnt / "out"))
        assert res.returncode == 1 and "Traceback" not in res.stderr
        flat = " ".join(res.stderr.split())
        assert "not writable" in flat and "Read-only file system" in flat


def test_output_path_is_a_file(data: Path, tmp_path: Path) -> None:
    """No mount needed: a file where the output directory should be."""
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    for args in (
        ["run", str(data), "--out", str(blocker / "out")],
        ["detect", "--store", str(tmp_path / "none.lbug"), "--out", str(blocker)],
    ):
        res = run_cli(*args)
        assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr[-2000:]
        assert "not writable" in " ".join(res.stderr.split())


def test_alert_writer_reports_os_errors_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC / EROFS while writing alert files: a RingwatchError naming the file; no temp file."""
    alert = {
        "alert_id": "deceased_payment-1",
        "detector": "deceased_payment",
        "score": 90.0,
        "level": "red",
        "members": {"identity": ["X"]},
        "amount_at_risk": 1.0,
        "explanation": "x",
        "evidence_cypher": "MATCH (n) RETURN n",
        "first_seen": "2024-01-31",
    }
    alerts_io.write_alert_files(tmp_path, [alert])
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    for code in (errno.ENOSPC, errno.EROFS, errno.EACCES):

        def failing_fsync(fd: int, code: int = code) -> None:
            raise OSError(code, os.strerror(code))

        monkeypatch.setattr(alerts_io.os, "fsync", failing_fsync)
        with pytest.raises(RingwatchError) as e:
            alerts_io.write_alert_files(tmp_path, [alert | {"score": 10.0}])
        assert os.strerror(code) in str(e.value) and "alerts.jsonl" in str(e.value)
        assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    monkeypatch.undo()
    with pytest.raises(RingwatchError, match="cannot create output directory"):
        alerts_io.write_alert_files(tmp_path / "alerts.jsonl" / "sub", [alert])


def test_quarantine_writer_reports_os_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pandas as pd

    from ringwatch.loaders import load
    from ringwatch.loaders.load import LoadResult, write_quarantine

    result = LoadResult(
        frames=GraphFrames.from_records({}),
        quarantine={"persons": pd.DataFrame({"person_id": ["=1+1"], "row": [1], "reason": ["x"]})},
    )

    def full(*a: Any, **k: Any) -> Any:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(load.os, "replace", full)
    with pytest.raises(RingwatchError, match="No space left on device"):
        write_quarantine(result, tmp_path)
    assert list((tmp_path / "quarantine").iterdir()) == []


# -- a Neo4j connection that drops in the middle of a batch -------------------------------------------
class GraphModel:
    """Replays committed fake-driver calls onto a tiny graph model, to check the end state.

    Understands the store's node merges, edge creates and edge deletes by merge key
    (:data:`ringwatch.graph.frames.REL_MERGE_KEYS`).
    """

    def __init__(self) -> None:
        self.nodes: dict[tuple[str, str], dict[str, Any]] = {}
        self.edges: list[tuple[str, str, str, tuple[tuple[str, Any], ...]]] = []

    def apply(self, query: str, params: dict[str, Any]) -> None:
        if m := re.match(r"UNWIND \$rows AS row MERGE \(n:`(\w+)`", query):
            for r in params["rows"]:
                self.nodes.setdefault((m.group(1), r["key"]), {}).update(r["props"])
        elif m := re.search(r"\[r:`(\w+)`\]->\(b\) SET r = row\.props", query):
            for r in params["rows"]:
                self.edges.append((m.group(1), r["src"], r["dst"], tuple(sorted(r["props"].items()))))
        elif (m := re.search(r"\[r:`(\w+)`[^\]]*\]->", query)) and " DELETE r" in query:
            rel = m.group(1)
            keys = REL_MERGE_KEYS[rel]
            if "keys" in params:
                side = {"src": 1, "dst": 2}.get(keys[0])
                wanted = set(params["keys"])
                assert side is not None, "property merge keys are not modelled"
                self.edges = [e for e in self.edges if not (e[0] == rel and e[side] in wanted)]
            else:
                pairs = {(r["src"], r["dst"]) for r in params["rows"]}
                self.edges = [e for e in self.edges if not (e[0] == rel and (e[1], e[2]) in pairs)]


def frames(n: int = 7) -> GraphFrames:
    people = [{"person_id": f"P{i}", "name": f"张{i}"} for i in range(n)]
    accounts = [{"account_no": f"A{i}", "person_id": f"P{i}"} for i in range(n)]
    holds = [{"src": f"P{i}", "dst": f"A{i}", "role": "holder"} for i in range(n)]
    return GraphFrames.from_records(
        {"Person": people, "Account": accounts}, {"HOLDS": holds}, tables=["persons"]
    )


def scripted() -> FakeNeo4j:
    fake = FakeNeo4j()
    fake.respond(r"DETACH DELETE n RETURN count", [{"deleted": 0}])
    fake.respond(r"^UNWIND \$rows AS row MERGE \(n:", lambda q, p: [{"n": len(p["rows"])}])
    fake.respond(r"CREATE \(a\)-\[r:", lambda q, p: [{"created": len(p["rows"])}])
    fake.respond(r"DELETE r RETURN count", [{"deleted": 0}])
    return fake


def model_of(fake: FakeNeo4j) -> GraphModel:
    model = GraphModel()
    for call in fake.committed:
        model.apply(call.query, call.params)
    return model


def test_connection_drop_mid_batch_is_retried_without_duplicates() -> None:
    """ServiceUnavailable / SessionExpired before commit: the driver retries the batch; each row once."""
    reference = scripted()
    Neo4jStore("neo4j://fake", driver=reference.driver(), batch_size=3).bulk_load(frames(), mode="upsert")
    fake = scripted()
    fake.fail_once(r"CREATE \(a\)-\[r:`HOLDS`\]", ServiceUnavailable("connection reset by peer"))
    fake.fail_once(r"MERGE \(n:`Account`", SessionExpired("leader changed"))
    fake.fail_once(r"MERGE \(n:`Person`", ServiceUnavailable("defunct connection"))
    Neo4jStore("neo4j://fake", driver=fake.driver(), batch_size=3).bulk_load(frames(), mode="upsert")
    assert fake.retries == 3
    got, want = model_of(fake), model_of(reference)
    assert got.nodes == want.nodes and len(got.nodes) == 14
    assert sorted(got.edges) == sorted(want.edges) and len(got.edges) == 7


class CommitLostSession(FakeSession):
    """The connection drops after the server committed a batch: the driver raises IncompleteCommit
    (never retried: the client cannot know whether the commit happened)."""

    lose_commit_of = r"CREATE \(a\)-\[r:`HOLDS`\]"
    lost = False

    def _managed(self, mode: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        result = super()._managed(mode, fn, *args, **kwargs)
        last = self.server.committed[-1] if self.server.committed else None
        if not CommitLostSession.lost and last is not None and re.search(self.lose_commit_of, last.query):
            CommitLostSession.lost = True
            raise IncompleteCommit("connection lost during commit")
        return result


def test_commit_lost_mid_load_fails_clearly_and_a_rerun_converges(monkeypatch: pytest.MonkeyPatch) -> None:
    reference = scripted()
    Neo4jStore("neo4j://fake", driver=reference.driver(), batch_size=3).bulk_load(frames(), mode="upsert")
    fake = scripted()
    CommitLostSession.lost = False
    monkeypatch.setattr("fake_neo4j.FakeSession", CommitLostSession)
    store = Neo4jStore("neo4j://fake", driver=fake.driver(), batch_size=3)
    with pytest.raises(StoreError, match="IncompleteCommit"):
        store.bulk_load(frames(), mode="upsert")
    partial = model_of(fake)
    assert len(partial.edges) < 7  # the load stopped part-way
    # the rerun (ringwatch load again) deletes each source's edges before creating them: no duplicates
    monkeypatch.setattr("fake_neo4j.FakeSession", FakeSession)
    fake.respond(r"DELETE r RETURN count", lambda q, p: [{"deleted": 0}])
    store.bulk_load(frames(), mode="upsert")
    got, want = model_of(fake), model_of(reference)
    assert got.nodes == want.nodes
    assert sorted(got.edges) == sorted(want.edges)


def test_neo4j_write_failures_reach_the_user_as_store_errors() -> None:
    fake = scripted()
    fake.fail_once(r"MERGE \(n:`Person`", neo4j.exceptions.AuthError("credentials expired"))
    with pytest.raises(StoreError) as e:
        Neo4jStore("neo4j://fake", driver=fake.driver(), batch_size=3).bulk_load(frames(), mode="upsert")
    assert "Neo4j write failed" in str(e.value)
    assert "张" not in str(e.value)


def test_a_rerun_removes_what_a_killed_run_left(
    data: Path, clean: Result, clean_out: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    shutil.copytree(clean_out, out, ignore=shutil.ignore_patterns("*.lock"))
    # exactly what `kill -9` during "writing graph to" leaves behind (seen in test_run_killed_...)
    orphan = out / ".ringwatch.lbug.building.replace-4194303"
    orphan.write_bytes((out / "ringwatch.lbug").read_bytes())
    for suffix in (".shadow", ".wal", ".checkpoint.apply.lock", ".checkpoint.intent.lock"):
        Path(f"{orphan}{suffix}").write_bytes(b"\0" * 64)
    again = run_cli("run", str(data), "--out", str(out))
    assert again.returncode == 0, again.stderr[-2000:]
    assert_same(result_of(out, out / "ringwatch.lbug"), clean)
    expected = {"alerts.jsonl", "alerts.csv", "run.json", "runs", "ringwatch.lbug"}
    assert (
        sorted(p.name for p in out.iterdir() if p.name not in expected and not p.name.endswith(".lock")) == []
    )
    assert not orphan.exists()
