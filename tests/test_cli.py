"""End to end through the CLI: generate → run → contract-valid alerts; exit codes; determinism."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ringwatch.cli import app
from ringwatch.contract import ALERT_FIELDS, DETECTORS, MEMBER_TYPES

runner = CliRunner()


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gen")
    res = runner.invoke(app, ["generate", "--seed", "3", "--persons", "4000", "--out", str(root / "data")])
    assert res.exit_code == 0, res.output
    assert (root / "data.truth.jsonl").exists()
    return root / "data"


@pytest.fixture(scope="module")
def ran(generated: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run") / "out"
    res = runner.invoke(app, ["run", str(generated), "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out


def test_run_writes_contract_alerts(ran: Path) -> None:
    lines = (ran / "alerts.jsonl").read_text(encoding="utf-8").splitlines()
    alerts = [json.loads(x) for x in lines]
    assert alerts, "the generated data has planted cases: there must be alerts"
    scores = [a["score"] for a in alerts]
    assert scores == sorted(scores, reverse=True)
    assert len({a["alert_id"] for a in alerts}) == len(alerts)
    for a in alerts:
        assert set(a) <= set(ALERT_FIELDS)
        assert set(ALERT_FIELDS) - {"details"} <= set(a)
        assert a["detector"] in DETECTORS
        assert 0 <= a["score"] <= 100
        assert a["level"] == ("red" if a["score"] >= 80 else "orange" if a["score"] >= 50 else "yellow")
        assert set(a["members"]) <= set(MEMBER_TYPES)
        for ids in a["members"].values():
            assert ids == sorted(ids) and ids
        assert a["amount_at_risk"] >= 0
        assert re.search(r"[\u4e00-\u9fff]", a["explanation"]), "explanation must be Chinese"
        assert re.match(r"\s*(OPTIONAL\s+)?MATCH", a["evidence_cypher"], re.I)
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", a["first_seen"])
    assert {a["detector"] for a in alerts} == set(DETECTORS)
    with (ran / "alerts.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["alert_id"] for r in rows] == [a["alert_id"] for a in alerts]
    run = json.loads((ran / "run.json").read_text(encoding="utf-8"))
    assert run["reference_date"] == "2026-10-31"


def test_rerun_is_byte_identical(generated: Path, ran: Path, tmp_path: Path) -> None:
    out2 = tmp_path / "out2"
    res = runner.invoke(app, ["run", str(generated), "--out", str(out2)])
    assert res.exit_code == 0, res.output
    assert (out2 / "alerts.jsonl").read_bytes() == (ran / "alerts.jsonl").read_bytes()
    assert (out2 / "alerts.csv").read_bytes() == (ran / "alerts.csv").read_bytes()


def test_load_then_detect_equals_run(generated: Path, ran: Path, tmp_path: Path) -> None:
    store = tmp_path / "s.lbug"
    res = runner.invoke(app, ["load", str(generated), "--store", str(store)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["detect", "--store", str(store), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "o" / "alerts.jsonl").read_bytes() == (ran / "alerts.jsonl").read_bytes()
    # loading the same directory again (upsert) changes nothing
    res = runner.invoke(app, ["load", str(generated), "--store", str(store)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["detect", "--store", str(store), "--out", str(tmp_path / "o2")])
    assert (tmp_path / "o2" / "alerts.jsonl").read_bytes() == (ran / "alerts.jsonl").read_bytes()


def test_missing_required_column_exits_2_and_writes_nothing(generated: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(generated, data)
    text = (data / "identities.csv").read_text(encoding="utf-8").splitlines()
    header = text[0].split(",")
    col = header.index("person_id")
    (data / "identities.csv").write_text(
        "\n".join(",".join(c for i, c in enumerate(line.split(",")) if i != col) for line in text) + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    res = runner.invoke(app, ["run", str(data), "--out", str(out)])
    assert res.exit_code == 2
    assert "identities" in res.output and "person_id" in res.output
    assert not (out / "alerts.jsonl").exists()
    assert not (out / "quarantine").exists()
    assert not (out / "ringwatch.lbug").exists()


def test_missing_data_dir_and_bad_options_exit_2(tmp_path: Path) -> None:
    res = runner.invoke(app, ["run", str(tmp_path / "nope"), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    res = runner.invoke(app, ["detect", "--out", str(tmp_path / "o"), "--as-of", "2026-13-01"])
    assert res.exit_code == 2


def test_optional_tables_missing_skips_detectors(generated: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for t in ("persons", "identities", "accounts", "benefits", "payments", "deaths"):
        shutil.copy(generated / f"{t}.csv", data / f"{t}.csv")
    res = runner.invoke(app, ["run", str(data), "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert "skipped" in res.output
    run = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    assert "survival_risk" in run["skipped"] and "provider_ring" in run["skipped"]
    assert "deceased_payment" not in run["skipped"]
