"""Alert files: contract fields and order, stable ids, first_seen, CSV formula safety."""

import csv
import json
from pathlib import Path

import pytest

from ringwatch.alerts_io import (
    neutralise_cell,
    previous_first_seen,
    read_alerts,
    render_csv,
    stamp_first_seen,
    write_alert_files,
)
from ringwatch.contract import ALERT_FIELDS
from ringwatch.detectors.base import Alert, level_for, make_alert_id


def _alert(score: float, ids: list[str], name: str = "张三") -> Alert:
    return Alert.build(
        "deceased_payment",
        key_members={"identity": ids, "benefit": ["B" + ids[0]]},
        members={"identity": ids, "benefit": ["B" + ids[0]], "person": ["P" + ids[0]]},
        score=score,
        amount_at_risk=1234.5,
        explanation=f"死亡后仍发放养老金 {name}",
        evidence_cypher="MATCH (i:Identity) WHERE i.id_number IN ['x'] RETURN i",
        details={"months_after_death": 3},
    )


@pytest.mark.parametrize(
    ("score", "level"), [(80, "red"), (79.99, "orange"), (50, "orange"), (49.9, "yellow")]
)
def test_levels(score: float, level: str) -> None:
    assert level_for(score) == level


def test_alert_id_stable_and_order_free() -> None:
    a = make_alert_id("shared_account", {"person": ["P2", "P1"], "account": ["A"]})
    b = make_alert_id("shared_account", {"account": ["A"], "person": ["P1", "P2", "P1"]})
    assert a == b and a.startswith("shared_account-")
    assert a != make_alert_id("shared_account", {"person": ["P1"], "account": ["A"]})
    assert a != make_alert_id("shell_employer", {"person": ["P2", "P1"], "account": ["A"]})


def test_members_sorted_and_unknown_types_rejected() -> None:
    al = _alert(90, ["I2", "I1"])
    assert al.members["identity"] == ["I1", "I2"]
    assert list(al.members) == ["person", "identity", "benefit"]  # contract order
    with pytest.raises(ValueError):
        Alert.build(
            "deceased_payment",
            key_members={},
            members={"car": ["x"]},
            score=1,
            amount_at_risk=0,
            explanation="",
            evidence_cypher="",
        )


def test_write_files_sorted_and_first_seen(tmp_path: Path) -> None:
    alerts = [_alert(40, ["I1"]), _alert(95, ["I2"]), _alert(60, ["I3"])]
    dicts = stamp_first_seen([a.contract_dict() for a in alerts], "2026-10-31", {})
    write_alert_files(tmp_path, dicts)
    back = read_alerts(tmp_path / "alerts.jsonl")
    assert [a["score"] for a in back] == [95, 60, 40]
    assert all(list(a)[: len(ALERT_FIELDS)] == list(ALERT_FIELDS) for a in back)
    assert {a["first_seen"] for a in back} == {"2026-10-31"}
    # a later run keeps first_seen of known ids and dates new ones by the new run
    hist = previous_first_seen(tmp_path)
    later = stamp_first_seen(
        [alerts[0].contract_dict(), _alert(70, ["I9"]).contract_dict()], "2026-11-30", hist
    )
    assert later[0]["first_seen"] == "2026-10-31"
    assert later[1]["first_seen"] == "2026-11-30"
    with (tmp_path / "alerts.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(ALERT_FIELDS)
    assert json.loads(rows[0]["members"])["identity"] == ["I2"]


@pytest.mark.parametrize("bad", ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\t=1"])
def test_csv_neutralises_formulas(bad: str) -> None:
    assert neutralise_cell(bad).startswith("'")
    text = render_csv(
        [_alert(90, ["I1"], name=bad).contract_dict() | {"explanation": bad, "first_seen": "x"}]
    )
    row = next(csv.DictReader(text.splitlines()))
    assert row["explanation"] == "'" + bad


def test_plain_cells_untouched() -> None:
    assert neutralise_cell("死亡后仍发放") == "死亡后仍发放"
    assert neutralise_cell("") == ""
