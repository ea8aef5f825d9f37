"""A run's results are committed all or nothing (``ringwatch.results``).

Each kill test runs the job in a subprocess whose ``results._hook`` sends it SIGKILL at one
named point of the commit protocol, then checks:

1. before any recovery, what readers see through ringwatch (``read_alerts``, ``list_runs``,
   ``open_current``/``current_file`` for ``run.json``, quarantine files and the history copy)
   is the whole previous run (killed before the commit marker) or the whole new run (after it);
2. after recovery, the output directory on disk, the history and the store's ``Alert`` nodes
   and ``last_run_id`` are exactly those of a job that was never killed (old or new);
3. running the new job again gives the same bytes as a never-killed run.
"""

from __future__ import annotations

import json
import logging
import shutil
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import cli_env

from ringwatch import pipeline, results
from ringwatch.alerts_io import read_alerts
from ringwatch.contract import TABLE_ORDER
from ringwatch.graph import open_store
from ringwatch.history import list_runs, resolve_run
from ringwatch.synth import generate

OLD_AS_OF = date(2026, 8, 31)

#: the child: install a hook that kills the process at one point, then run one job
CHILD = r"""
import os, signal, sys
from datetime import date
from pathlib import Path
from ringwatch import pipeline, results

point, job, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])

def hook(p):
    if p == point:
        os.kill(os.getpid(), signal.SIGKILL)

results._hook = hook
if job == "run":
    pipeline.run_fresh(Path(sys.argv[4]), out, out / "ringwatch.lbug")
elif job == "detect":
    pipeline.detect(sys.argv[4], out)
elif job == "recover":
    results.recover(out)
sys.exit(3)
"""


def kill_at(point: str, *args: str) -> None:
    res = subprocess.run(
        [sys.executable, "-c", CHILD, point, *args],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=300,
    )
    assert res.returncode == -signal.SIGKILL, f"not killed at {point}: {res.returncode} {res.stderr[-2000:]}"


def killed_after_commit(run_a: Path, data_b: Path, tmp_path: Path) -> Path:
    """A copy of ``run_a``'s output where a ``run`` of ``data_b`` was killed right after its commit."""
    out = tmp_path / "out"
    shutil.copytree(run_a, out, ignore=shutil.ignore_patterns("*.lock"))
    kill_at("committed", "run", str(out), str(data_b))
    return out


# -- what is compared --------------------------------------------------------------------------------
def _is_store_file(name: str) -> bool:
    return name.endswith(".lock") or ".lbug" in name


def disk_files(out: Path) -> dict[str, bytes]:
    """Every result file in ``out`` (store files and locks aside); no staging directory allowed."""
    assert not [p.name for p in out.iterdir() if p.name.startswith(results.STAGING_PREFIX)]
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and not _is_store_file(p.name)
    }


def store_state(store: Path) -> dict[str, Any]:
    with open_store(store, read_only=True) as st:
        alerts = st.nodes("Alert")
        return {
            "last_run_id": st.get_meta().get("last_run_id"),
            "alerts": sorted(zip(alerts["alert_id"], alerts["run_id"], alerts["first_seen"], strict=True)),
            "counts": st.counts(),
        }


def reader_view(out: Path) -> dict[str, Any]:
    """What ringwatch's readers see in ``out`` (nothing is written)."""
    run_json = results.open_current(out / "run.json")
    assert run_json is not None
    with run_json:
        run = json.loads(run_json.read())
    quarantine = {}
    for name in TABLE_ORDER:
        where = results.current_file(out / "quarantine" / f"{name}.csv")
        quarantine[name] = where.read_bytes() if where is not None and where.exists() else None
    return {
        "alerts": read_alerts(out / "alerts.jsonl"),
        "run": run,
        "runs": list_runs(out),
        "history": read_alerts(resolve_run(run["run_id"], out)),
        "quarantine": quarantine,
    }


def assert_state(out: Path, store: Path, ref: tuple[Path, Path]) -> None:
    ref_out, ref_store = ref
    assert disk_files(out) == disk_files(ref_out)
    assert store_state(store) == store_state(ref_store)


# -- data and reference runs (module scope, each computed once) ------------------------------------
def _data(root: Path, seed: int, bad: tuple[str, str]) -> Path:
    d = root / f"data{seed}"
    generate(d, seed=seed, persons=1000)
    table, row = bad
    with (d / f"{table}.csv").open("a", encoding="utf-8") as fh:
        fh.write(row + "\n")
    return d


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("commit")


@pytest.fixture(scope="module")
def data_a(root: Path) -> Path:
    """Data of the earlier run: one person row with an impossible date (quarantine/persons.csv)."""
    return _data(root, 3, ("persons", "PBAD00001,张三,M,1990-02-30,110101"))


@pytest.fixture(scope="module")
def data_b(root: Path) -> Path:
    """Data of the later run: one phone of an unknown person (quarantine/phones.csv only)."""
    return _data(root, 4, ("phones", "PNOBODY01,13800000000,2020-01-01"))


@pytest.fixture(scope="module")
def run_a(root: Path, data_a: Path) -> Path:
    out = root / "run_a"
    pipeline.run_fresh(data_a, out, out / "ringwatch.lbug")
    return out


@pytest.fixture(scope="module")
def run_ab(root: Path, run_a: Path, data_b: Path) -> Path:
    out = root / "run_ab"
    shutil.copytree(run_a, out, ignore=shutil.ignore_patterns("*.lock"))
    pipeline.run_fresh(data_b, out, out / "ringwatch.lbug")
    return out


def test_reference_runs_differ_where_it_matters(run_a: Path, run_ab: Path) -> None:
    """The two runs differ in every part, so a mix of them cannot pass for either."""
    a, ab = disk_files(run_a), disk_files(run_ab)
    for name in ("alerts.jsonl", "alerts.csv", "run.json", "runs/index.jsonl"):
        assert a[name] != ab[name]
    assert "quarantine/persons.csv" in a and "quarantine/phones.csv" not in a
    assert "quarantine/persons.csv" not in ab and "quarantine/phones.csv" in ab
    assert len(list_runs(run_ab)) == 2
    sa, sab = store_state(run_a / "ringwatch.lbug"), store_state(run_ab / "ringwatch.lbug")
    assert sa["last_run_id"] != sab["last_run_id"] and sa["counts"] != sab["counts"]
    assert sab["last_run_id"] == json.loads(ab["run.json"])["run_id"]


def test_a_clean_run_leaves_no_journal_and_reruns_byte_identical(
    run_ab: Path, data_b: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    shutil.copytree(run_ab, out, ignore=shutil.ignore_patterns("*.lock"))
    loaded, _ = pipeline.run_fresh(data_b, out, out / "ringwatch.lbug")
    assert loaded.quarantine_files == {"phones": str(out / "quarantine" / "phones.csv")}
    assert_state(out, out / "ringwatch.lbug", (run_ab, run_ab / "ringwatch.lbug"))
    assert not [p for p in out.iterdir() if p.name.startswith(results.STAGING_PREFIX)]


#: kill point -> True when the new run must win (the kill came after the commit marker)
RUN_KILLS = {
    "staged": False,  # everything staged and fsynced, no marker yet
    "committed": True,  # marker written, store not swapped yet
    "store": True,  # store swapped, no file moved yet
    "moved:alerts.csv": True,  # history copy, quarantine and alert files moved; run.json, index not
    "placed": True,  # every file in place, journal not removed yet
}


@pytest.mark.parametrize("point", list(RUN_KILLS))
def test_run_killed_during_commit(
    point: str, run_a: Path, run_ab: Path, data_b: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    shutil.copytree(run_a, out, ignore=shutil.ignore_patterns("*.lock"))
    kill_at(point, "run", str(out), str(data_b))
    assert [p for p in out.iterdir() if p.name.startswith(results.STAGING_PREFIX)]  # the journal is there
    ref = run_ab if RUN_KILLS[point] else run_a
    before = disk_files_with_journal(out)
    # readers see one whole run, and reading changes nothing
    assert reader_view(out) == reader_view(ref)
    assert disk_files_with_journal(out) == before
    if point == "moved:alerts.csv":
        # a recovery killed half-way is taken up again by the next one
        kill_at("moved:run.json", "recover", str(out))
    results.recover(out)
    assert_state(out, out / "ringwatch.lbug", (ref, ref / "ringwatch.lbug"))
    pipeline.run_fresh(data_b, out, out / "ringwatch.lbug")
    assert_state(out, out / "ringwatch.lbug", (run_ab, run_ab / "ringwatch.lbug"))


def disk_files_with_journal(out: Path) -> dict[str, bytes]:
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and not _is_store_file(p.name)
    }


def test_next_run_recovers_a_commit_killed_before_the_store_swap(
    run_a: Path, run_ab: Path, data_b: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """No explicit recovery: the next ``run`` completes the committed one first."""
    out = killed_after_commit(run_a, data_b, tmp_path)
    assert store_state(out / "ringwatch.lbug") == store_state(run_a / "ringwatch.lbug")  # not swapped yet
    with caplog.at_level(logging.INFO, logger="ringwatch"):
        pipeline.run_fresh(data_b, out, out / "ringwatch.lbug")
    assert any("completing run" in r.getMessage() for r in caplog.records)
    assert_state(out, out / "ringwatch.lbug", (run_ab, run_ab / "ringwatch.lbug"))


# -- detect ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def detect_old(root: Path, data_a: Path) -> tuple[Path, Path]:
    """A store with data A and an earlier detection (reference date moved back) into OUT."""
    base = root / "detect_old"
    store, out = base / "s.lbug", base / "out"
    pipeline.load(data_a, str(store), quarantine_dir=base, mode="replace")
    pipeline.detect(str(store), out, as_of=OLD_AS_OF)
    return out, store


@pytest.fixture(scope="module")
def detect_new(root: Path, detect_old: tuple[Path, Path]) -> tuple[Path, Path]:
    """``detect_old`` followed by a detection at the data's own reference date."""
    out, store = copy_case(detect_old, root / "detect_new")
    pipeline.detect(str(store), out)
    return out, store


def copy_case(case: tuple[Path, Path], dest: Path) -> tuple[Path, Path]:
    out, store = case
    shutil.copytree(out, dest / "out")
    for p in store.parent.glob(store.name + "*"):
        if not p.name.endswith(".lock"):
            shutil.copyfile(p, dest / p.name)
    return dest / "out", dest / store.name


def test_detect_reference_runs_differ(detect_old: tuple[Path, Path], detect_new: tuple[Path, Path]) -> None:
    old, new = disk_files(detect_old[0]), disk_files(detect_new[0])
    assert old["alerts.jsonl"] != new["alerts.jsonl"] and old["run.json"] != new["run.json"]
    so, sn = store_state(detect_old[1]), store_state(detect_new[1])
    assert so["last_run_id"] != sn["last_run_id"] and so["alerts"] != sn["alerts"]
    # first_seen is kept across runs: an alert of both runs keeps the earlier run's date
    first = {a["alert_id"]: a["first_seen"] for a in read_alerts(detect_old[0] / "alerts.jsonl")}
    kept = [a for a in read_alerts(detect_new[0] / "alerts.jsonl") if a["alert_id"] in first]
    assert kept and all(a["first_seen"] == OLD_AS_OF.isoformat() for a in kept)


DETECT_KILLS = {
    "staged": False,
    "committed": True,  # marker written, alerts not written back to the store
    "alerts-written": True,  # Alert nodes replaced, last_run_id not set yet
    "moved:alerts.jsonl": True,
}


def ref_run_id(case: tuple[Path, Path]) -> str:
    return str(json.loads((case[0] / "run.json").read_text(encoding="utf-8"))["run_id"])


@pytest.mark.parametrize("point", list(DETECT_KILLS))
def test_detect_killed_during_commit(
    point: str, detect_old: tuple[Path, Path], detect_new: tuple[Path, Path], tmp_path: Path
) -> None:
    out, store = copy_case(detect_old, tmp_path)
    kill_at(point, "detect", str(out), str(store))
    ref = detect_new if DETECT_KILLS[point] else detect_old
    assert reader_view(out) == reader_view(ref[0])
    if point == "committed":  # recovered the way the next detect does: under its own store lock
        with pipeline.store_lock(str(store)):
            assert results.recover(out, held_store=str(store)) == [f"completed run {ref_run_id(ref)}"]
    else:
        results.recover(out)
    assert_state(out, store, ref)
    pipeline.detect(str(store), out)
    assert_state(out, store, detect_new)


def test_readers_see_nothing_of_an_uncommitted_journal_and_recovery_spares_live_ones(
    run_a: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    shutil.copytree(run_a, out, ignore=shutil.ignore_patterns("*.lock"))
    view = reader_view(out)
    with results.staged(out) as stg:
        stg.write_text("alerts.jsonl", "")
        stg.write_text("run.json", "{}\n")
        assert reader_view(out) == view
        assert results.recover(out) == []  # a live job's staging directory is left alone
        assert stg.path.is_dir()
    assert not stg.path.exists()  # left without a commit: deleted
    assert reader_view(out) == view


# -- other entry points: the recover command, load -------------------------------------------------------
def test_recover_command_finishes_a_killed_run(
    run_a: Path, run_ab: Path, data_b: Path, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from ringwatch.cli import app

    out = killed_after_commit(run_a, data_b, tmp_path)
    res = CliRunner().invoke(app, ["recover", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "completed" in res.output
    assert_state(out, out / "ringwatch.lbug", (run_ab, run_ab / "ringwatch.lbug"))
    again = CliRunner().invoke(app, ["recover", "--out", str(out)])
    assert again.exit_code == 0 and "nothing to recover" in again.output


def test_load_finishes_a_killed_run_before_loading(
    run_a: Path, run_ab: Path, data_b: Path, tmp_path: Path
) -> None:
    """A load into the store of a killed run completes that run first, so its swap cannot land later."""
    out = killed_after_commit(run_a, data_b, tmp_path)
    pipeline.load(data_b, str(out / "ringwatch.lbug"), quarantine_dir=out, mode="upsert")
    assert not [p for p in out.iterdir() if p.name.startswith(results.STAGING_PREFIX)]
    results.recover(out)  # nothing left to do: the store keeps what the load wrote
    with (
        open_store(out / "ringwatch.lbug", read_only=True) as st,
        open_store(run_ab / "ringwatch.lbug", read_only=True) as ref,
    ):
        # the killed run's store (with its alerts) was swapped in before the load wrote to it
        assert st.get_meta()["last_run_id"] == ref.get_meta()["last_run_id"]
        assert st.counts() == ref.counts()
