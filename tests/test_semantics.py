"""Contract §4 definitions against hand-computed answers."""

from datetime import date

import pandas as pd
import pytest

from ringwatch import semantics as sem
from ringwatch.graph.base import GraphFrames


def test_address_key_width_and_spaces() -> None:
    assert sem.address_key("北京市 朝阳区\u3000幸福路１２号") == "北京市朝阳区幸福路12号"
    assert sem.address_key(" a b\tc\n") == "abc"
    s = pd.Series(["幸福路 １２号", None, "幸福路12号"])
    out = sem.address_keys(s)
    assert out[0] == out[2] == "幸福路12号"
    assert pd.isna(out[1])


@pytest.mark.parametrize(
    ("month", "death", "after"),
    [
        ("2024-03", date(2024, 3, 15), False),  # month of death: allowed
        ("2024-04", date(2024, 3, 15), False),  # the month after: allowed
        ("2024-05", date(2024, 3, 15), True),
        ("2025-01", date(2024, 12, 31), False),  # year boundary
        ("2025-02", date(2024, 12, 31), True),
    ],
)
def test_paid_after_death(month: str, death: date, after: bool) -> None:
    assert sem.paid_after_death(month, death) is after


@pytest.mark.parametrize(
    ("last", "grade"),
    [
        (None, "low"),
        (date(2026, 10, 30), "strong"),
        (date(2025, 11, 1), "strong"),  # just under 12 months
        (date(2025, 10, 31), "medium"),  # exactly 12 months
        (date(2024, 11, 1), "medium"),
        (date(2024, 10, 31), "low"),  # exactly 24 months
        (date(2010, 1, 1), "low"),
    ],
)
def test_survival_grade_boundaries(last: date | None, grade: str) -> None:
    ref = date(2026, 10, 31)
    assert sem.survival_grade(last, ref) == grade
    vec = sem.survival_grades(pd.Series([pd.Timestamp(last) if last else pd.NaT]), ref)
    assert vec.iloc[0] == grade


def test_month_helpers() -> None:
    assert sem.month_end("2024-02") == date(2024, 2, 29)
    assert sem.add_months("2024-12", 1) == "2025-01"
    assert sem.add_months("2024-01", -1) == "2023-12"


def test_earliest_death_counts_for_all_numbers() -> None:
    deaths = pd.DataFrame(
        {
            "id_number": ["OLD1", "NEW1", "X2"],
            "death_date": pd.to_datetime(["2024-05-01", "2024-03-01", "2023-01-01"]),
            "source": ["police", "civil_affairs", "hospital"],
        }
    )
    ip = pd.DataFrame({"id_number": ["OLD1", "NEW1", "X2"], "person_id": ["P1", "P1", "P2"]})
    out = sem.earliest_deaths(deaths, ip)
    assert list(out["person_id"]) == ["P1", "P2"]
    assert out.loc[0, "death_date"] == pd.Timestamp("2024-03-01")
    assert out.loc[0, "death_source"] == "civil_affairs"


def _view() -> GraphFrames:
    return GraphFrames.from_records(
        nodes={
            "Person": [{"person_id": "P1"}, {"person_id": "P2"}],
            "Identity": [
                {"id_number": "I1", "person_id": "P1", "issued_date": "2000-01-01"},
                {"id_number": "I2", "person_id": "P2"},
            ],
            "Activity": [{"activity_id": "A1", "id_number": "I1", "date": "2026-05-01", "source": "bank"}],
        },
        rels={
            "HAS_ACTIVITY": [{"src": "I1", "dst": "A1"}],
            "TREATED_AT": [{"src": "I2", "dst": "H1", "claim_id": "C1", "admit_date": "2025-06-01"}],
            "HOLDS": [{"src": "P2", "dst": "AC", "opened_date": "2030-01-01"}],  # after ref: ignored
            "PAID_TO": [
                {"src": "B1", "dst": "AC", "months": ["2026-09", "2026-10"], "last_month": "2026-10"},
                {"src": "B2", "dst": "AC", "months": ["2026-10"], "last_month": "2026-10"},
            ],
        },
    )


def test_reference_date_and_life_traces() -> None:
    v = _view()
    ref = sem.reference_date(v)
    assert ref == date(2026, 10, 31)
    assert sem.reference_date(v, date(2020, 1, 1)) == date(2020, 1, 1)
    last = sem.last_life_trace(v, ref).set_index("person_id")
    assert last.loc["P1", "last_trace"] == pd.Timestamp("2026-05-01")
    assert last.loc["P1", "source"] == "activities"
    assert last.loc["P2", "last_trace"] == pd.Timestamp("2025-06-01")
    assert last.loc["P2", "source"] == "claims"


def test_overlaps() -> None:
    ref = date(2026, 10, 31)
    assert (
        sem.overlapping_months(
            {"2026-01", "2026-02"}, {"2026-02", "2026-03"}, (None, None), (None, None), ref
        )
        == 1
    )
    # without payments: periods
    assert (
        sem.overlapping_months(
            None, None, (date(2026, 1, 1), date(2026, 3, 31)), (date(2026, 3, 1), None), ref
        )
        == 1
    )
    assert (
        sem.overlapping_months(
            None, None, (date(2026, 1, 1), date(2026, 2, 1)), (date(2026, 3, 1), None), ref
        )
        == 0
    )
    bm = sem.benefit_months(_view())
    assert list(bm.itertuples(index=False, name=None)) == [
        ("B1", "2026-09"),
        ("B1", "2026-10"),
        ("B2", "2026-10"),
    ]


def test_pension_age() -> None:
    assert sem.pension_age("M") == 60
    assert sem.pension_age("F") == 50
    assert sem.pension_age("F", {"F": 55}) == 55


def test_last_life_trace_matches_naive_reference() -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    persons = [f"P{i}" for i in range(60)]
    idents = [{"id_number": f"I{i}", "person_id": persons[i % 60], "issued_date": None} for i in range(90)]
    days = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 2500, 400), unit="D")
    acts = [
        {"activity_id": f"A{k}", "id_number": f"I{rng.integers(0, 90)}", "date": days[k], "source": "bank"}
        for k in range(200)
    ]
    phones = [
        {"src": persons[rng.integers(0, 60)], "dst": f"T{k}", "since": days[200 + k]} for k in range(200)
    ]
    v = GraphFrames.from_records(
        nodes={"Person": [{"person_id": p} for p in persons], "Identity": idents, "Activity": acts},
        rels={
            "HAS_ACTIVITY": [{"src": a["id_number"], "dst": a["activity_id"]} for a in acts],
            "USES_PHONE": phones,
        },
    )
    ref = date(2025, 6, 30)
    fast = sem.last_life_trace(v, ref)
    t = sem.life_traces(v)
    t = t[t["date"] <= pd.Timestamp(ref)].sort_values(
        ["person_id", "date", "source"], ascending=[True, False, True]
    )
    naive = t.drop_duplicates("person_id").rename(columns={"date": "last_trace"}).reset_index(drop=True)
    pd.testing.assert_frame_equal(
        fast.reset_index(drop=True), naive[["person_id", "last_trace", "source"]], check_dtype=False
    )
