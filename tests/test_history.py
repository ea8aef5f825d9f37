from pathlib import Path

from ringwatch.alerts_io import write_alert_files
from ringwatch.history import diff_paths, list_runs, record_run, resolve_run


def _a(aid: str, score: float, members: list[str]) -> dict[str, object]:
    return {
        "alert_id": aid,
        "detector": "deceased_payment",
        "score": score,
        "level": "red" if score >= 80 else "yellow",
        "members": {"identity": members},
        "amount_at_risk": 1.0,
        "explanation": "死亡后发放",
        "evidence_cypher": "MATCH (i:Identity) RETURN i",
        "first_seen": "2026-10-31",
    }


def test_record_and_diff(tmp_path: Path) -> None:
    write_alert_files(tmp_path, [_a("x1", 90, ["I1"]), _a("x2", 40, ["I2"]), _a("x3", 60, ["I3"])])
    record_run(tmp_path, {"run_id": "r1", "reference_date": "2026-10-31", "alerts_total": 3})
    write_alert_files(tmp_path, [_a("x1", 90, ["I1"]), _a("x3", 85, ["I3"]), _a("x4", 50, ["I4"])])
    record_run(tmp_path, {"run_id": "r2", "reference_date": "2026-11-30", "alerts_total": 3})
    record_run(tmp_path, {"run_id": "r2", "reference_date": "2026-11-30", "alerts_total": 3})  # rerun
    assert [r["run_id"] for r in list_runs(tmp_path)] == ["r1", "r2"]
    d = diff_paths(resolve_run("r1", tmp_path), resolve_run("r2", tmp_path))
    assert [x["alert_id"] for x in d.new] == ["x4"]
    assert [x["alert_id"] for x in d.gone] == ["x2"]
    assert [(b["alert_id"], w) for _, b, w in d.changed] == [("x3", ["score", "level"])]
    assert d.unchanged == 1
