"""``shell_employer``: employers that exist to enrol people for back-paid contributions (挂靠).

A shell employer (空壳单位) is founded shortly before it "hires" a group of people close to
retirement, back-pays years of contributions for them (补缴) so that they reach the minimum
contribution period, and keeps them on the books only briefly at a low contribution base.
Several shells often share one legal representative (and office address).

Per employer (``EMPLOYED_BY`` edges from identities, one enrolment per identity), vectorised:

- ``share_old``: share of enrolments aged ``old_age``+ at the employment start (birth date from
  ``Identity.id_birth_date``, else ``Person.birth_date``);
- ``median_back_paid``: median ``back_paid_months``; ``share_back_paid``: share with at least
  ``min_back_paid_months``;
- ``median_tenure``: median months from start to end (or the reference date);
- ``base_ratio``: median ``contribution_base`` over the median of all employments;
- ``age_years``: years from ``founded_date`` to the reference date;
- links: other employers sharing the ``legal_rep_id_number`` (and, as context, the address).

An employer is a candidate when it has at least ``min_enrolled`` enrolments, ``share_old`` ≥
``min_old_share`` and ``median_back_paid`` ≥ ``min_back_paid_months``; candidates scoring at
least ``min_score`` are alerted. The two legitimate look-alikes fail the gate: an old
workforce has long normal employment and few back-paid months; a one-time catch-up
back-payment concerns a few workers of a mostly young workforce.

One alert per employer (each shell is its own case). Members: the employer, every identity it
enrolled, and partner employers sharing its legal representative that are themselves flagged
(listed in ``details.linked_employers`` with the link kind). Key members: employer + identity.

``amount_at_risk``: pension paid to the enrolled identities from benefits starting on or after
their enrolment there; when none of them draws a pension yet, the back-paid contribution base
(``back_paid_months × contribution_base``) that the enrolment put on the books
(``details.amount_basis`` says which).

Parameters (``[detectors.shell_employer]``)
-----------------------------------------
min_enrolled : int, default 5
old_age : float, default 50
min_old_share : float, default 0.3
min_back_paid_months : float, default 36
short_tenure_months : float, default 24
    Median tenure at or below this counts as little ongoing contribution.
low_base_ratio : float, default 0.8
    Median base at or below this fraction of the overall median counts as a low base.
recent_years : float, default 5
    Founded within this many years before the reference date counts as recently founded.
min_score : float, default 50
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import ClassVar, cast

import igraph as ig
import numpy as np
import pandas as pd

from ringwatch.contract import PENSION_SCHEMES
from ringwatch.graph.base import GraphView

from . import _identity as idt
from ._common import Params, clip01, iso_day, tail4
from .base import Alert, DetectContext, register
from .evidence import lit_list

NAME = "shell_employer"

DAYS_PER_YEAR = 365.2425
DAYS_PER_MONTH = DAYS_PER_YEAR / 12


@dataclass(frozen=True)
class _Params(Params):
    detector: ClassVar[str] = NAME
    min_enrolled: int = 5
    old_age: float = 50.0
    min_old_share: float = 0.3
    min_back_paid_months: float = 36.0
    short_tenure_months: float = 24.0
    low_base_ratio: float = 0.8
    recent_years: float = 5.0
    min_score: float = 50.0


def enrolments(view: GraphView, ctx: DetectContext) -> pd.DataFrame:
    """One row per (identity, employer) enrolment with the enrolee's age at start.

    Returns
    -------
    DataFrame
        ``id_number``, ``employer_id``, ``start_date``, ``end_date``, ``contribution_base``,
        ``back_paid_months`` (0 when empty), ``age_at_start`` (years, NaN when unknown),
        ``tenure_months``, sorted by employer and identity.
    """
    emp = view.rels(
        "EMPLOYED_BY", ["src", "dst", "start_date", "end_date", "contribution_base", "back_paid_months"]
    ).rename(columns={"src": "id_number", "dst": "employer_id"})
    emp = emp.dropna(subset=["id_number", "employer_id"])
    # one enrolment per identity and employer: the earliest start (largest back-pay on ties)
    emp = emp.assign(bp=pd.to_numeric(emp["back_paid_months"], errors="coerce").astype("float64").fillna(0.0))
    emp = emp.sort_values(
        ["employer_id", "id_number", "start_date", "bp"],
        ascending=[True, True, True, False],
        kind="mergesort",
    )
    emp = emp.drop_duplicates(["employer_id", "id_number"], keep="first")
    emp = emp.reset_index(drop=True)
    # birth date of the enrolled number: Identity.id_birth_date, else the person's birth date
    ident = view.nodes("Identity", ["id_number", "person_id", "id_birth_date"])
    ipos = idt.lookup(idt.obj(ident["id_number"]), idt.obj(emp["id_number"]))
    ident = ident.iloc[ipos[ipos >= 0]]
    ib = pd.to_datetime(ident["id_birth_date"]).astype("datetime64[us]").to_numpy(copy=True)
    gap = np.isnat(ib)
    if gap.any():
        pers = view.nodes("Person", ["person_id", "birth_date"])
        ppos = idt.lookup(idt.obj(pers["person_id"]), idt.obj(ident["person_id"])[gap])
        pb = pd.to_datetime(pers["birth_date"]).astype("datetime64[us]").to_numpy()
        ib[gap] = np.where(
            ppos >= 0, pb[np.maximum(ppos, 0)] if len(pb) else np.datetime64("NaT"), np.datetime64("NaT")
        )
    birth = np.full(len(emp), np.datetime64("NaT"), dtype="datetime64[us]")
    birth[ipos >= 0] = ib
    start = pd.to_datetime(emp["start_date"])
    end = pd.to_datetime(emp["end_date"]).fillna(pd.Timestamp(ctx.ref_date))
    age = (start - pd.Series(birth, index=emp.index)).dt.days / DAYS_PER_YEAR
    tenure = ((end - start).dt.days / DAYS_PER_MONTH).clip(lower=0)
    out = pd.DataFrame(
        {
            "id_number": emp["id_number"].astype(str).to_numpy(),
            "employer_id": emp["employer_id"].astype(str).to_numpy(),
            "start_date": start.to_numpy(),
            "end_date": pd.to_datetime(emp["end_date"]).to_numpy(),
            "contribution_base": pd.to_numeric(emp["contribution_base"], errors="coerce").to_numpy(
                dtype=float
            ),
            "back_paid_months": emp["bp"].to_numpy(dtype=float),
            "age_at_start": age.to_numpy(dtype=float),
            "tenure_months": tenure.to_numpy(dtype=float),
        }
    )
    return out.reset_index(drop=True)


def employer_features(enr: pd.DataFrame, employers: pd.DataFrame, ctx: DetectContext) -> pd.DataFrame:
    """Per-employer features (see module docstring), indexed by ``employer_id``."""
    prm = _Params.from_ctx(ctx)
    e = enr.assign(
        old=(enr["age_at_start"] >= prm.old_age).astype(float),
        bp_hi=(enr["back_paid_months"] >= prm.min_back_paid_months).astype(float),
        aged_known=enr["age_at_start"].notna().astype(float),
        bp_amount=enr["back_paid_months"] * enr["contribution_base"].fillna(0.0),
    )
    g = e.groupby("employer_id", sort=True)
    f = pd.DataFrame(
        {
            "n_enrolled": g["id_number"].nunique(),
            "n_old": g["old"].sum(),
            "n_aged": g["aged_known"].sum(),
            "median_back_paid": g["back_paid_months"].median(),
            "share_back_paid": g["bp_hi"].mean(),
            "median_tenure": g["tenure_months"].median(),
            "median_base": g["contribution_base"].median(),
            "median_age": g["age_at_start"].median(),
            "first_start": g["start_date"].min(),
            "last_start": g["start_date"].max(),
            "back_paid_amount": g["bp_amount"].sum(),
        }
    )
    f["share_old"] = np.where(f["n_aged"] > 0, f["n_old"] / f["n_aged"].where(f["n_aged"] > 0, 1), 0.0)
    overall_base = (
        float(np.nanmedian(enr["contribution_base"])) if enr["contribution_base"].notna().any() else 0.0
    )
    f["base_ratio"] = f["median_base"] / overall_base if overall_base > 0 else np.nan
    emp = employers.set_index("employer_id")
    founded = pd.to_datetime(emp["founded_date"]).reindex(f.index)
    f["founded_date"] = founded
    f["age_years"] = (pd.Timestamp(ctx.ref_date) - founded).dt.days / DAYS_PER_YEAR
    f["founded_to_first_enrol_years"] = (f["first_start"] - founded).dt.days / DAYS_PER_YEAR
    return f


def employer_links(employers: pd.DataFrame) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Employers sharing a legal representative and employers sharing an address key.

    Returns
    -------
    tuple of dict
        ``(by_legal_rep, by_address)``: employer id -> sorted other employer ids in the same
        connected component of the employer–legal-rep graph / sharing the address key.
    """
    e = employers.loc[:, ["employer_id", "legal_rep_id_number", "address_key"]].dropna(subset=["employer_id"])
    e = e.sort_values("employer_id", kind="mergesort")
    ids = e["employer_id"].astype(str).tolist()
    index = {k: i for i, k in enumerate(ids)}
    by_rep: dict[str, list[str]] = {}
    reps = e.dropna(subset=["legal_rep_id_number"])
    reps = reps[reps["legal_rep_id_number"].astype(str).str.len() > 0]
    if len(reps):
        rep_codes, rep_uniques = pd.factorize(reps["legal_rep_id_number"].astype(str), sort=True)
        n_emp = len(ids)
        g = ig.Graph(n=n_emp + len(rep_uniques))
        g.add_edges(
            list(
                zip(
                    [index[x] for x in reps["employer_id"].astype(str)],
                    (n_emp + rep_codes).tolist(),
                    strict=True,
                )
            )
        )
        membership = np.asarray(g.connected_components().membership)[:n_emp]
        groups: dict[int, list[str]] = defaultdict(list)
        for k, m in zip(ids, membership, strict=True):
            groups[int(m)].append(k)
        for members in groups.values():
            if len(members) > 1:
                for k in members:
                    by_rep[k] = [x for x in members if x != k]
    by_addr: dict[str, list[str]] = {}
    addr = e.dropna(subset=["address_key"])
    addr = addr[addr["address_key"].astype(str).str.len() > 0]
    # one sort by (address key, employer) and a split, not one frame per address group
    a = pd.DataFrame(
        {
            "k": addr["address_key"].to_numpy(dtype=object),
            "e": addr["employer_id"].astype(str).to_numpy(dtype=object),
        }
    ).sort_values(["k", "e"], kind="mergesort")
    keys, emps = a["k"].to_numpy(dtype=object), a["e"].tolist()
    cuts = np.flatnonzero(keys[1:] != keys[:-1]) + 1 if len(keys) else np.zeros(0, dtype=np.int64)
    bounds = [0, *cuts.tolist(), len(keys)]
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        members = emps[lo:hi]
        if 1 < len(members) <= 50:  # a shared office building is context, not a link
            for k in members:
                by_addr[k] = [x for x in members if x != k]
    return by_rep, by_addr


def score_employer(row: pd.Series, linked: bool, ctx: DetectContext) -> tuple[float, dict[str, float]]:
    """Score 0–100 from the employer's features; also the part scores (for ``details``)."""
    prm = _Params.from_ctx(ctx)
    min_share, min_bp, short = prm.min_old_share, prm.min_back_paid_months, prm.short_tenure_months
    low_base, recent = prm.low_base_ratio, prm.recent_years
    parts = {
        "old_share": clip01((row["share_old"] - min_share) / max(1e-9, 1.0 - min_share) * 0.5 + 0.5),
        "back_paid": clip01(row["share_back_paid"]) * clip01(row["median_back_paid"] / (2 * min_bp) + 0.5),
        "short_tenure": clip01((2 * short - row["median_tenure"]) / short)
        if not math.isnan(row["median_tenure"])
        else 0.0,
        "low_base": (
            clip01((1.5 * low_base - row["base_ratio"]) / (0.5 * low_base))
            if not math.isnan(row["base_ratio"])
            else 0.0
        ),
        "recent": clip01((2 * recent - row["age_years"]) / recent)
        if not math.isnan(row["age_years"])
        else 0.0,
        "linked": 1.0 if linked else 0.0,
    }
    weights = {
        "old_share": 25,
        "back_paid": 25,
        "short_tenure": 15,
        "low_base": 10,
        "recent": 12,
        "linked": 13,
    }
    score = sum(weights[k] * parts[k] for k in weights)
    return float(score), {k: round(v, 3) for k, v in parts.items()}


def evidence_cypher(employer_id: str, id_numbers: list[str], partners: list[str]) -> str:
    """Read-only evidence query: the employer, the identities it enrolled (with their persons)
    and partner employers with the same legal representative."""
    q = (
        "MATCH (i:Identity)-[e:EMPLOYED_BY]->(m:Employer) "
        f"WHERE m.employer_id IN {lit_list([employer_id])} AND i.id_number IN {lit_list(id_numbers)} "
        "OPTIONAL MATCH (p:Person)-[h:HAS_IDENTITY]->(i) "
    )
    if partners:
        q += (
            f"OPTIONAL MATCH (m2:Employer) WHERE m2.employer_id IN {lit_list(partners)} "
            "AND m2.legal_rep_id_number = m.legal_rep_id_number "
            "RETURN i, e, m, p, h, m2"
        )
    else:
        q += "RETURN i, e, m, p, h"
    return q


def _pension_paid(view: GraphView, enr: pd.DataFrame) -> pd.Series:
    """Pension paid per employer to its enrolees from benefits starting at/after enrolment."""
    ben = view.nodes("Benefit", ["benefit_id", "id_number", "scheme", "start_date"])
    ben = ben[ben["scheme"].isin(PENSION_SCHEMES) & ben["id_number"].isin(set(enr["id_number"]))]
    if ben.empty:
        return pd.Series(dtype=float)
    paid = view.rels("PAID_TO", ["src", "total"])
    tot = paid[paid["src"].isin(set(ben["benefit_id"]))].groupby("src")["total"].sum()
    ben = ben.assign(total=ben["benefit_id"].map(tot).fillna(0.0))
    m = enr.loc[:, ["employer_id", "id_number", "start_date"]].merge(ben, on="id_number", suffixes=("", "_b"))
    m = m[m["start_date_b"].isna() | m["start_date"].isna() | (m["start_date_b"] >= m["start_date"])]
    m = m.drop_duplicates(["employer_id", "benefit_id"])
    return m.groupby("employer_id")["total"].sum()


@register(NAME, requires=("persons", "identities", "employers", "employments"), version="1")
def detect(view: GraphView, ctx: DetectContext) -> list[Alert]:
    """Employers enrolling mostly older people with large back-paid contributions.

    Parameters
    ----------
    view
        Graph frames or a live store.
    ctx
        Run context (reference date, parameters).

    Returns
    -------
    list of Alert
        One alert per flagged employer.
    """
    prm = _Params.from_ctx(ctx)
    enr = enrolments(view, ctx)
    if enr.empty:
        return []
    employers = view.nodes(
        "Employer", ["employer_id", "name", "address_key", "legal_rep_id_number", "founded_date"]
    ).dropna(subset=["employer_id"])
    employers = employers.drop_duplicates("employer_id")
    feats = employer_features(enr, employers, ctx)
    cand = feats[
        (feats["n_enrolled"] >= prm.min_enrolled)
        & (feats["share_old"] >= prm.min_old_share)
        & (feats["median_back_paid"] >= prm.min_back_paid_months)
    ]
    if cand.empty:
        return []
    by_rep, by_addr = employer_links(employers)
    cand_ids = set(cand.index)
    scored: dict[str, tuple[float, dict[str, float]]] = {}
    for emp_id, cand_row in cand.iterrows():
        has_partner = any(x in cand_ids for x in by_rep.get(str(emp_id), []))
        scored[str(emp_id)] = score_employer(cand_row, has_partner, ctx)
    flagged = {k for k, (s, _) in scored.items() if s >= prm.min_score}
    pension = _pension_paid(view, enr[enr["employer_id"].isin(flagged)])
    by_emp = {k: g for k, g in enr[enr["employer_id"].isin(flagged)].groupby("employer_id", sort=True)}
    rep_of = employers.set_index("employer_id")["legal_rep_id_number"]

    alerts: list[Alert] = []
    for emp_id in sorted(flagged):
        row = cast(pd.Series, cand.loc[emp_id])
        score, parts = scored[emp_id]
        g = by_emp[emp_id]
        ids = sorted(set(g["id_number"]))
        partners = sorted(x for x in by_rep.get(emp_id, []) if x in flagged)
        links = [
            {"employer_id": x, "link": "legal_rep", "flagged": x in flagged} for x in by_rep.get(emp_id, [])
        ]
        links += [
            {"employer_id": x, "link": "address", "flagged": x in flagged}
            for x in by_addr.get(emp_id, [])
            if x not in by_rep.get(emp_id, [])
        ]
        paid = float(pension.get(emp_id, 0.0))
        bp_amount = float(row["back_paid_amount"])
        amount, basis = (paid, "pension_paid") if paid > 0 else (bp_amount, "back_paid_base")
        founded = iso_day(row["founded_date"])
        founded_txt = "" if founded is None else f"成立于{founded}，"
        n = int(row["n_enrolled"])
        n_old = int(row["n_old"])
        rep = rep_of.get(emp_id)
        link_txt = ""
        if partners:
            link_txt = (
                f"其法定代表人（身份证尾号{tail4(rep)}）同时是单位"
                + "、".join(f"尾号{tail4(x)}" for x in partners)
                + "的法定代表人，该单位也呈现同样特征；"
            )
        explanation = (
            f"单位（统一社会信用代码尾号{tail4(emp_id)}）{founded_txt}"
            f"共参保{n}人，其中{n_old}人参保时已满{int(prm.old_age)}岁"
            + ("" if math.isnan(row["median_age"]) else f"（年龄中位数{row['median_age']:.0f}岁）")
            + "，"
            + f"补缴月数中位数{row['median_back_paid']:.0f}个月（{row['share_back_paid'] * 100:.0f}%的人补缴≥{int(prm.min_back_paid_months)}个月），"
            f"参保后在职时长中位数{'仅' if row['median_tenure'] <= prm.short_tenure_months else ''}{row['median_tenure']:.0f}个月"
            + (f"、缴费基数中位数{row['median_base']:,.0f}元" if not math.isnan(row["median_base"]) else "")
            + "；"
            + link_txt
            + "疑似为临近退休人员挂靠补缴、骗取养老待遇的空壳单位。"
            + (
                f"这些人员已领取养老金{paid:,.2f}元。"
                if basis == "pension_paid"
                else f"补缴涉及缴费基数合计{bp_amount:,.2f}元（补缴月数×缴费基数）。"
            )
        )
        details = {
            "n_enrolled": n,
            "n_aged_50_plus": n_old,
            "share_aged_50_plus": round(float(row["share_old"]), 3),
            "median_age_at_start": None
            if math.isnan(row["median_age"])
            else round(float(row["median_age"]), 1),
            "median_back_paid_months": float(row["median_back_paid"]),
            "share_back_paid_36_plus": round(float(row["share_back_paid"]), 3),
            "median_tenure_months": round(float(row["median_tenure"]), 1),
            "median_contribution_base": None if math.isnan(row["median_base"]) else float(row["median_base"]),
            "base_ratio_to_overall": None
            if math.isnan(row["base_ratio"])
            else round(float(row["base_ratio"]), 3),
            "founded_date": founded,
            "first_enrolment": iso_day(row["first_start"]),
            "linked_employers": links,
            "back_paid_base_total": round(bp_amount, 2),
            "pension_paid_to_enrolees": round(paid, 2),
            "amount_basis": basis,
            "score_parts": parts,
        }
        alerts.append(
            Alert.build(
                NAME,
                key_members={"employer": [emp_id], "identity": ids},
                members={"employer": [emp_id, *partners], "identity": ids},
                score=score,
                amount_at_risk=amount,
                explanation=explanation,
                evidence_cypher=evidence_cypher(emp_id, ids, partners),
                details=details,
            )
        )
    return alerts
