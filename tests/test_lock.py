"""Two ringwatch jobs on one store never overlap: the second refuses (exit 1) or waits (--lock-wait)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

HOLDER = """
import sys, time
from ringwatch.pipeline import store_lock
with store_lock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _cli(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", "from ringwatch.cli import main; main()", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _hold(store: Path, seconds: float) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(store), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "locked"
    return holder


@pytest.fixture
def data(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    (d / "persons.csv").write_text("person_id,name\nP1,张三\n", encoding="utf-8")
    (d / "identities.csv").write_text("id_number,person_id\n110101195003040011,P1\n", encoding="utf-8")
    return d


def test_second_job_refuses_at_once(tmp_path: Path, data: Path) -> None:
    store = tmp_path / "s.lbug"
    holder = _hold(store, 30)
    try:
        t0 = time.monotonic()
        for args in (
            ["load", str(data), "--store", str(store)],
            ["detect", "--store", str(store), "--out", str(tmp_path / "o")],
        ):
            job = _cli(*args)
            out, _ = job.communicate(timeout=120)
            assert job.returncode == 1, out
            assert "another ringwatch job is using this store" in out
        assert time.monotonic() - t0 < 60
        assert not store.exists()  # nothing was written
    finally:
        holder.kill()
        holder.wait()


def test_second_job_waits_with_lock_wait(tmp_path: Path, data: Path) -> None:
    store = tmp_path / "s.lbug"
    holder = _hold(store, 2)
    job = _cli("load", str(data), "--store", str(store), "--lock-wait", "60")
    out, _ = job.communicate(timeout=180)
    holder.wait()
    assert job.returncode == 0, out
    assert store.exists()
    # a lock held longer than the wait: refused after waiting
    holder = _hold(store, 30)
    try:
        job = _cli("load", str(data), "--store", str(store), "--lock-wait", "0.5")
        out, _ = job.communicate(timeout=120)
        assert job.returncode == 1 and "after waiting 0.5s" in out
    finally:
        holder.kill()
        holder.wait()


def test_run_refuses_while_the_store_is_locked(tmp_path: Path, data: Path) -> None:
    out_dir = tmp_path / "out"
    holder = _hold(out_dir / "ringwatch.lbug", 30)
    try:
        job = _cli("run", str(data), "--out", str(out_dir))
        out, _ = job.communicate(timeout=120)
        assert job.returncode == 1 and "another ringwatch job" in out
        assert not (out_dir / "alerts.jsonl").exists()
    finally:
        holder.kill()
        holder.wait()
