"""``ringwatch diff --cases``: closed cases reappear only when their evidence grew."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ringwatch.alerts_io import write_alert_files
from ringwatch.cli import app
from ringwatch.dashboard.casework import CaseStore
from ringwatch.errors import InputError
from ringwatch.history import closed_cases, diff_paths, record_run, resolve_run

runner = CliRunner()


def _a(aid: str, members: dict[str, list[str]], score: float = 90.0) -> dict[str, object]:
    return {
        "alert_id": aid,
        "detector": "shared_account",
        "score": score,
        "level": "red" if score >= 80 else "yellow",
        "members": members,
        "amount_at_risk": 10.0,
        "explanation": "多人共用账户",
        "evidence_cypher": "MATCH (p:Person) RETURN p",
        "first_seen": "2026-09-30",
    }


def _run(out: Path, run_id: str, alerts: list[dict[str, object]]) -> None:
    write_alert_files(out, alerts)
    record_run(out, {"run_id": run_id, "reference_date": "2026-10-31", "alerts_total": len(alerts)})


@pytest.fixture
def history(tmp_path: Path) -> tuple[Path, Path]:
    out = tmp_path / "out"
    ring = {"person": ["P1", "P2"], "account": ["A1"]}
    _run(out, "r1", [_a("same", ring), _a("grows", ring), _a("back", ring), _a("open", ring)])
    # r2: "back" is gone for a night
    _run(out, "r2", [_a("same", ring), _a("grows", ring), _a("open", ring)])
    grown = {"person": ["P1", "P2", "P3"], "account": ["A1", "A2"]}
    _run(
        out,
        "r3",
        [
            _a("same", ring, score=95.0),  # closed, facts changed but no new member
            _a("grows", grown),  # closed, a new person and account joined
            _a("back", ring),  # closed, comes back with the members it had in r1
            _a("open", grown),  # never closed: an ordinary change
            _a("fresh", ring),  # new
        ],
    )
    db = tmp_path / "store.lbug.cases.sqlite"
    cs = CaseStore(db)
    for aid, status in (("same", "dismissed"), ("grows", "confirmed"), ("back", "dismissed")):
        cs.set_status(aid, status, "inv1")
    cs.set_status("open", "investigating", "inv1")
    return out, db


def test_closed_cases_reopen_only_when_members_grew(history: tuple[Path, Path]) -> None:
    out, db = history
    closed = closed_cases(db)
    assert closed == {"same": "dismissed", "grows": "confirmed", "back": "dismissed"}
    d = diff_paths(resolve_run("r2", out), resolve_run("r3", out), closed=closed, out_dir=out)
    assert [x["alert_id"] for x in d.new] == ["fresh"]  # "back" is not new: same members as in r1
    assert [(x["alert_id"], added) for x, added in d.reopened] == [
        ("grows", {"account": ["A2"], "person": ["P3"]})
    ]
    assert d.closed == 2
    assert [b["alert_id"] for _, b, _ in d.changed] == ["open"]
    # without the case database, the same runs show "back" as new and "same" as changed
    plain = diff_paths(resolve_run("r2", out), resolve_run("r3", out))
    assert sorted(x["alert_id"] for x in plain.new) == ["back", "fresh"]
    assert sorted(b["alert_id"] for _, b, _ in plain.changed) == ["grows", "open", "same"]


def test_cli_diff_with_cases(history: tuple[Path, Path]) -> None:
    out, db = history
    res = runner.invoke(app, ["diff", "r2", "r3", "--out", str(out), "--cases", str(db), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["new"] == ["fresh"] and doc["closed"] == 2
    assert doc["reopened"] == [{"alert_id": "grows", "added": {"account": ["A2"], "person": ["P3"]}}]
    res = runner.invoke(app, ["diff", "r2", "r3", "--out", str(out), "--cases", str(db)])
    assert res.exit_code == 0
    assert "reopened 1" in res.stdout and "evidence grew (+1 account, +1 person)" in res.stdout
    assert "P3" not in res.stdout  # counts only, no member ids
    res = runner.invoke(app, ["diff", "r2", "r3", "--out", str(out), "--cases", str(out / "nope.sqlite")])
    assert res.exit_code == 2


def test_closed_cases_refuses_other_files(tmp_path: Path) -> None:
    bad = tmp_path / "x.sqlite"
    bad.write_text("not sqlite")
    with pytest.raises(InputError):
        closed_cases(bad)
