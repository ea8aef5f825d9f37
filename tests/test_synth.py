"""Synthetic data generator: contract shape, validity, determinism, planted cases, no accidental cases."""

from __future__ import annotations

import json
from datetime import date
from itertools import combinations
from pathlib import Path

import pandas as pd
import pytest

from ringwatch.contract import DETECTORS, TABLE_ORDER, TABLES
from ringwatch.loaders.idnumber import parse_series
from ringwatch.semantics import add_months, add_years
from ringwatch.synth import default_truth_path, generate

PERSONS = 3000
SEED = 11
REF = date(2026, 10, 31)
MONTHS = 12


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, pd.DataFrame], list[dict]]:
    base = tmp_path_factory.mktemp("synth")
    data = base / "data"
    summary = generate(data, seed=SEED, persons=PERSONS)
    assert summary.truth_path == base / "data.truth.jsonl"
    tables = {
        n: pd.read_csv(data / f"{n}.csv", dtype=str, keep_default_na=False, na_values=[""])
        for n in TABLE_ORDER
    }
    truth = [json.loads(line) for line in summary.truth_path.read_text(encoding="utf-8").splitlines() if line]
    return data, tables, truth


def _members(
    truth: list[dict], detector: str, kind: str = "case", variants: tuple[str, ...] = ()
) -> list[dict]:
    return [
        t["members"]
        for t in truth
        if t["detector"] == detector and t["kind"] == kind and (not variants or t["variant"] in variants)
    ]


def _person_of(t: dict[str, pd.DataFrame]) -> pd.Series:
    return t["identities"].set_index("id_number")["person_id"]


def _paid_months(t: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """benefit_id, person_id, scheme, month for every payment."""
    pay = t["payments"][["benefit_id", "month"]].merge(t["benefits"][["benefit_id", "id_number", "scheme"]])
    pay["person_id"] = pay["id_number"].map(_person_of(t))
    return pay


def test_files_columns_and_sizes(run: tuple[Path, dict[str, pd.DataFrame], list[dict]]) -> None:
    data, t, _ = run
    assert sorted(p.name for p in data.iterdir()) == sorted(f"{n}.csv" for n in TABLE_ORDER)
    for name in TABLE_ORDER:
        assert list(t[name].columns) == list(TABLES[name].column_names), name
        for col in TABLES[name].required_columns:
            assert t[name][col].notna().all(), (name, col)
        key = TABLES[name].key
        if key:
            assert not t[name].duplicated(list(key)).any(), name
    assert len(t["persons"]) == PERSONS
    share = (
        t["benefits"].query("scheme.str.startswith('pension') and end_date.isna()")["id_number"].nunique()
        / PERSONS
    )
    assert 0.15 < share < 0.35


def test_enums_dates_and_months(run: tuple[Path, dict[str, pd.DataFrame], list[dict]]) -> None:
    _, t, _ = run
    for name in TABLE_ORDER:
        for col in TABLES[name].columns:
            s = t[name][col.name].dropna()
            if col.kind == "enum":
                assert set(s) <= set(col.choices), (name, col.name)
            elif col.kind == "date":
                assert s.str.fullmatch(r"\d{4}-\d{2}-\d{2}").all(), (name, col.name)
                if (name, col.name) != ("benefits", "end_date"):  # a planned end may lie ahead
                    assert (s <= REF.isoformat()).all(), (name, col.name)
            elif col.kind == "month":
                assert s.str.fullmatch(r"\d{4}-\d{2}").all()
    months = t["payments"]["month"]
    assert months.max() == REF.isoformat()[:7] and months.min() == add_months(REF.isoformat()[:7], 1 - MONTHS)


def test_id_numbers_valid_and_match_persons(run: tuple[Path, dict[str, pd.DataFrame], list[dict]]) -> None:
    _, t, _ = run
    ids = t["identities"]
    info = parse_series(ids["id_number"])
    assert info["ok"].all()
    is18 = ids["id_type"] == "ID18"
    assert (info["kind"][is18] == "ID18").all() and (info["kind"][~is18] == "ID15").all()
    assert info["checksum_ok"][is18].astype(bool).all()
    assert len(t["employers"]) and t["employers"]["employer_id"].str.len().eq(18).all()
    # every person has a number encoding their birth date and sex; unrenumbered persons only such numbers
    p = t["persons"].set_index("person_id")
    enc = pd.DataFrame(
        {
            "person_id": ids["person_id"],
            "match": (
                info["birth_date"].dt.strftime("%Y-%m-%d").to_numpy()
                == p.loc[ids["person_id"], "birth_date"].to_numpy()
            )
            & (info["sex"].to_numpy() == p.loc[ids["person_id"], "sex"].to_numpy()),
        }
    )
    assert enc.groupby("person_id")["match"].any().all()
    renumbered = set(
        _person_of(t).reindex(
            pd.concat([t["renumberings"]["old_id_number"], t["renumberings"]["new_id_number"]])
        )
    )
    plain = enc[~enc["person_id"].isin(renumbered)]
    assert plain["match"].all()
    # 15-digit numbers are upgraded by an upgrade15 renumbering to their 18-digit form
    from ringwatch.loaders.idnumber import upgrade15

    ren = t["renumberings"]
    up = ren[ren["reason"] == "upgrade15"]
    assert (up["old_id_number"].map(upgrade15) == up["new_id_number"]).all()
    assert set(ids.loc[~is18, "id_number"]) <= set(up["old_id_number"])


def test_referential_integrity(run: tuple[Path, dict[str, pd.DataFrame], list[dict]]) -> None:
    _, t, _ = run
    persons = set(t["persons"]["person_id"])
    ids = set(t["identities"]["id_number"])
    accounts = set(t["accounts"]["account_no"])
    refs = [
        ("identities", "person_id", persons),
        ("accounts", "person_id", persons),
        ("phones", "person_id", persons),
        ("addresses", "person_id", persons),
        ("renumberings", "old_id_number", ids),
        ("renumberings", "new_id_number", ids),
        ("employers", "legal_rep_id_number", ids),
        ("employments", "id_number", ids),
        ("employments", "employer_id", set(t["employers"]["employer_id"])),
        ("benefits", "id_number", ids),
        ("benefits", "account_no", accounts),
        ("payments", "benefit_id", set(t["benefits"]["benefit_id"])),
        ("payments", "account_no", accounts),
        ("doctors", "hospital_id", set(t["hospitals"]["hospital_id"])),
        ("claims", "id_number", ids),
        ("claims", "hospital_id", set(t["hospitals"]["hospital_id"])),
        ("claims", "doctor_id", set(t["doctors"]["doctor_id"])),
        ("deaths", "id_number", ids),
        ("activities", "id_number", ids),
    ]
    for table, col, known in refs:
        assert set(t[table][col].dropna()) <= known, (table, col)
    doc_hosp = t["doctors"].set_index("doctor_id")["hospital_id"]
    assert (t["claims"]["doctor_id"].map(doc_hosp) == t["claims"]["hospital_id"]).all()


def test_truth_file(run: tuple[Path, dict[str, pd.DataFrame], list[dict]]) -> None:
    data, t, truth = run
    assert not any(p.suffix == ".jsonl" for p in data.iterdir())
    keys = {
        "person": set(t["persons"]["person_id"]),
        "identity": set(t["identities"]["id_number"]),
        "account": set(t["accounts"]["account_no"]),
        "employer": set(t["employers"]["employer_id"]),
        "hospital": set(t["hospitals"]["hospital_id"]),
        "doctor": set(t["doctors"]["doctor_id"]),
        "benefit": set(t["benefits"]["benefit_id"]),
    }
    assert len({e["case_id"] for e in truth}) == len(truth)
    for det in DETECTORS:
        assert len(_members(truth, det, "case")) >= 5, det
        assert len(_members(truth, det, "decoy")) >= 5, det
    for e in truth:
        assert e["kind"] in ("case", "decoy") and e["detector"] in DETECTORS
        for typ, members in e["members"].items():
            assert members and set(members) <= keys[typ], (e["case_id"], typ)
    # no truth or label column leaks into the data
    for name in TABLE_ORDER:
        assert not {"variant", "case_id", "label", "truth", "planted", "decoy"} & set(t[name].columns)


def _deaths_by_person(t: dict[str, pd.DataFrame]) -> pd.Series:
    d = t["deaths"].assign(person_id=t["deaths"]["id_number"].map(_person_of(t)))
    return d.groupby("person_id")["death_date"].min()


def test_deceased_payment_only_planted(run: tuple[Path, dict[str, pd.DataFrame], list[dict]]) -> None:
    _, t, truth = run
    death = _deaths_by_person(t)
    pay = _paid_months(t)
    pay = pay[pay["person_id"].isin(death.index)]
    limit = pay["person_id"].map(death).map(lambda d: add_months(d[:7], 1))
    late = pay[pay["month"] > limit]
    per_benefit = late.groupby("benefit_id").size()
    cases = _members(truth, "deceased_payment", "case")
    assert set(per_benefit.index) == {b for m in cases for b in m["benefit"]}
    assert (per_benefit >= 3).all()
    # death_under_old_number: the death is recorded under a number without the benefit
    old = _members(truth, "deceased_payment", "case", ("death_under_old_number",))
    assert old
    for m in old:
        dead_ids = set(t["deaths"]["id_number"]) & set(m["identity"])
        paid_ids = set(t["benefits"].set_index("benefit_id").loc[m["benefit"], "id_number"])
        assert dead_ids and not dead_ids & paid_ids


def _life_traces(t: dict[str, pd.DataFrame]) -> pd.Series:
    pid = _person_of(t)
    parts = [
        t["activities"].assign(person_id=t["activities"]["id_number"].map(pid))[["person_id", "date"]],
        t["claims"]
        .assign(person_id=t["claims"]["id_number"].map(pid))
        .rename(columns={"admit_date": "date"})[["person_id", "date"]],
        t["identities"].rename(columns={"issued_date": "date"})[["person_id", "date"]],
        t["accounts"].rename(columns={"opened_date": "date"})[["person_id", "date"]],
        t["phones"].rename(columns={"since": "date"})[["person_id", "date"]],
        t["addresses"].rename(columns={"since": "date"})[["person_id", "date"]],
        t["employments"]
        .assign(person_id=t["employments"]["id_number"].map(pid))
        .rename(columns={"start_date": "date"})[["person_id", "date"]],
    ]
    for col in ("old_id_number", "new_id_number"):
        r = t["renumberings"]
        parts.append(pd.DataFrame({"person_id": r[col].map(pid), "date": r["changed_date"]}))
    allt = pd.concat(parts).dropna()
    return allt[allt["date"] <= REF.isoformat()].groupby("person_id")["date"].max()


def test_survival_low_grade_only_planted(run: tuple[Path, dict[str, pd.DataFrame], list[dict]]) -> None:
    _, t, truth = run
    b = t["benefits"]
    pens = b[
        b["scheme"].str.startswith("pension") & (b["end_date"].isna() | (b["end_date"] >= REF.isoformat()))
    ]
    recipients = set(pens["id_number"].map(_person_of(t))) - set(_deaths_by_person(t).index)
    last = _life_traces(t).reindex(sorted(recipients))
    two_years = add_years(REF, -2).isoformat()
    low = set(last[last.isna() | (last <= two_years)].index)
    cases = _members(truth, "survival_risk", "case")
    assert low == {_person_of(t)[m["identity"][0]] for m in cases}
    one_year = add_years(REF, -1).isoformat()
    for variant, lo, hi in (("medium", two_years, one_year), ("recent_claim", one_year, "9999")):
        for m in _members(truth, "survival_risk", "decoy", (variant,)):
            trace = last[_person_of(t)[m["identity"][0]]]
            assert lo < trace <= hi, variant
    # every case is paid every month of the window
    paid = t["payments"].groupby("benefit_id").size()
    assert all(paid[m["benefit"][0]] == MONTHS for m in cases)


def test_no_life_trace_after_death(run: tuple[Path, dict[str, pd.DataFrame], list[dict]]) -> None:
    _, t, _ = run
    death = _deaths_by_person(t)
    last = _life_traces(t).reindex(death.index)
    assert (last.dropna() <= death[last.notna()]).all()


def test_duplicate_benefits_only_planted(run: tuple[Path, dict[str, pd.DataFrame], list[dict]]) -> None:
    _, t, truth = run
    pay = _paid_months(t)
    pens = pay[pay["scheme"].str.startswith("pension")]
    per_month = pens.groupby(["person_id", "month"])["benefit_id"].nunique()
    doubled = set(per_month[per_month > 1].index.get_level_values(0))
    planted = _members(truth, "duplicate_benefit", "case", ("two_regions", "renumbered_both_drawing"))
    assert doubled == {p for m in planted for p in m["person"]}
    # two person records of one human: same name and birth date, shared phone or address, both drawing
    p = t["persons"]
    drawing = set(pens["person_id"])
    contacts = pd.concat(
        [
            t["phones"].rename(columns={"phone": "c"})[["person_id", "c"]],
            t["addresses"].rename(columns={"address": "c"})[["person_id", "c"]],
        ]
    )
    cmap = contacts.groupby("person_id")["c"].apply(set)
    found = set()
    for _, g in p[p["person_id"].isin(drawing)].groupby(["name", "birth_date"]):
        for a, b in combinations(g["person_id"], 2):
            if cmap.get(a, set()) & cmap.get(b, set()):
                found |= {a, b}
    two = _members(truth, "duplicate_benefit", "case", ("two_identities",))
    assert two and found == {x for m in two for x in m["person"]}
    # no two background records share name and birth date at all
    same = p[p.duplicated(["name", "birth_date"], keep=False)]
    assert set(same["person_id"]) == {x for m in two for x in m["person"]}


def test_identity_chain_only_planted(run: tuple[Path, dict[str, pd.DataFrame], list[dict]]) -> None:
    _, t, truth = run
    pid = _person_of(t)
    ren = t["renumberings"]
    odd = set(ren.loc[ren["reason"] != "upgrade15", "old_id_number"].map(pid))
    planted = {
        x
        for m in _members(truth, "identity_chain", "case") + _members(truth, "identity_chain", "decoy")
        for x in m["person"]
    }
    assert odd <= planted
    pay = _paid_months(t)
    pens = pay[pay["scheme"].str.startswith("pension")]
    per_month = pens.groupby(["person_id", "month"])["id_number"].nunique()
    two_numbers = set(per_month[per_month > 1].index.get_level_values(0))
    both = _members(truth, "identity_chain", "case", ("both_drawing",))
    assert two_numbers == {x for m in both for x in m["person"]}
    birth = t["persons"].set_index("person_id")["birth_date"]
    for m in _members(truth, "identity_chain", "case", ("birth_date_moved",)):
        old, new = (i for i in sorted(m["identity"], key=lambda i: i not in set(ren["old_id_number"])))
        info = parse_series(pd.Series([old, new]))
        moved = (info["birth_date"][0] - info["birth_date"][1]).days / 365.25
        assert moved >= 2 and str(info["birth_date"][1].date()) == birth[m["person"][0]]


def test_shared_accounts_only_families_agents_or_planted(
    run: tuple[Path, dict[str, pd.DataFrame], list[dict]],
) -> None:
    _, t, truth = run
    acc = t["accounts"].set_index("account_no")
    users = pd.concat(
        [
            t["accounts"][["account_no", "person_id"]],
            t["benefits"].assign(person_id=t["benefits"]["id_number"].map(_person_of(t)))[
                ["account_no", "person_id"]
            ],
        ]
    ).drop_duplicates()
    hukou = t["addresses"].query("address_type == 'hukou'").set_index("person_id")["address"]
    collector = {a for m in _members(truth, "shared_account", "case") for a in m["account"]}
    for account, g in users.groupby("account_no"):
        if g["person_id"].nunique() < 2 or acc.loc[account, "role"] == "agent" or account in collector:
            continue
        assert hukou.reindex(g["person_id"]).nunique() == 1, account
    for m in _members(truth, "shared_account", "case"):
        assert 4 <= len(m["person"]) <= 9 and 1 <= len(m["account"]) <= 2
        surnames = t["persons"].set_index("person_id").loc[m["person"], "name"].str[0]
        assert surnames.nunique() == len(m["person"])


def test_shell_back_pay_only_planted(run: tuple[Path, dict[str, pd.DataFrame], list[dict]]) -> None:
    _, t, truth = run
    em = t["employments"]
    long_back = set(em.loc[em["back_paid_months"].astype(int) >= 36, "id_number"])
    shells = _members(truth, "shell_employer", "case")
    planted = {
        i for m in shells + _members(truth, "shell_employer", "decoy", ("catch_up",)) for i in m["identity"]
    }
    assert long_back <= planted
    reps = t["employers"].set_index("employer_id")["legal_rep_id_number"]
    for m in shells:
        rep = reps[m["employer"][0]]
        assert (reps == rep).sum() >= 2
        backs = em[em["employer_id"] == m["employer"][0]]["back_paid_months"].astype(int)
        assert 8 <= len(backs) <= 20 and (backs >= 36).all()


def test_provider_rings(run: tuple[Path, dict[str, pd.DataFrame], list[dict]]) -> None:
    _, t, truth = run
    c = t["claims"]
    levels = t["hospitals"].set_index("hospital_id")["level"]
    for m in _members(truth, "provider_ring", "case"):
        assert 2 <= len(m["hospital"]) <= 3 and 3 <= len(m["doctor"]) <= 6 and 20 <= len(m["identity"]) <= 40
        assert set(levels[m["hospital"]]) <= {"一级", "二级"}
        ring = c[
            c["hospital_id"].isin(m["hospital"])
            & c["doctor_id"].isin(m["doctor"])
            & c["id_number"].isin(m["identity"])
        ]
        ring = ring[ring["amount"].astype(float) >= 8000]
        assert (ring.groupby("id_number").size().reindex(m["identity"]) >= 3).all()
        assert ring["diagnosis_code"].value_counts().iloc[:3].sum() >= 0.95 * len(ring)


def test_deterministic_and_truth_location(tmp_path: Path) -> None:
    a = generate(tmp_path / "a", seed=5, persons=1500)
    b = generate(tmp_path / "b", seed=5, persons=1500)
    for name in TABLE_ORDER:
        assert (tmp_path / "a" / f"{name}.csv").read_bytes() == (
            tmp_path / "b" / f"{name}.csv"
        ).read_bytes(), name
    assert a.truth_path.read_bytes() == b.truth_path.read_bytes()
    assert a.truth_path == default_truth_path(tmp_path / "a") and a.rows == b.rows
    c = generate(tmp_path / "c", seed=6, persons=1500)
    assert (tmp_path / "c" / "persons.csv").read_bytes() != (tmp_path / "a" / "persons.csv").read_bytes()
    assert c.cases == a.cases
    with pytest.raises(ValueError, match="outside"):
        generate(tmp_path / "d", seed=5, persons=1500, truth_path=tmp_path / "d" / "truth.jsonl")
    with pytest.raises(ValueError):
        generate(tmp_path / "e", seed=5, persons=500)
    with pytest.raises(ValueError):
        generate(tmp_path / "e", seed=5, persons=2000, end_month="2026-13")


def test_parquet_subset_and_end_month(tmp_path: Path) -> None:
    s = generate(
        tmp_path / "p", seed=3, persons=1500, fmt="parquet", end_month="2025-06", months=8,
        tables={"benefits", "payments", "deaths"},
    )  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == sorted(
        f"{n}.parquet" for n in ("persons", "identities", "benefits", "payments", "deaths")
    )
    pay = pd.read_parquet(tmp_path / "p" / "payments.parquet")
    assert pay["month"].max() == "2025-06" and pay["month"].nunique() == 8
    assert s.rows["payments"] == len(pay)
