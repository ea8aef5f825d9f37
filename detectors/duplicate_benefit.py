"""Detector ``duplicate_benefit``: one person drawing the same kind of benefit twice (重复领取).

Benefit kinds: ``pension_employee`` and ``pension_resident`` are one kind (pension); every other
scheme is its own kind, so a survivor benefit beside one's own pension is not a duplicate.
Two benefits are duplicates when they are of one kind, belong to one real person and are paid
in overlapping months (§4 :func:`ringwatch.semantics.overlapping_months`: from ``PAID_TO``
months, else from the start/end periods). "One real person" covers:

(a) the same identity or person in two regions or two schemes;
(b) two ID numbers of the same ``person_id`` (also old and new numbers of a renumbering,
    which ``identity_chain`` reports as well, as part of the whole chain);
(c) two different ``person_id`` records with the same normalised name and the same birth date
    that also share a phone or an address key (or, only when ``use_id_region`` is set, an ID
    number area code). Namesakes with other birth dates, or with the same birth date but nothing shared,
    are different people.

One alert per real person, covering all of its duplicate pairs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, cast

import numpy as np
import pandas as pd

from ringwatch import semantics
from ringwatch.graph.base import GraphView

from . import _identity as idt
from ._common import Params, month_span, str_or_none, tail
from .base import Alert, DetectContext, register
from .evidence import contact_matches, lit_list, query_text

DET = "duplicate_benefit"

#: base score per kind of duplicate (before overlap length and money)
VARIANT_BASE: dict[str, float] = {
    "two_regions": 72.0,
    "two_identities": 72.0,
    "two_person_ids": 70.0,
    "two_schemes": 68.0,
    "same_scheme_twice": 60.0,
}

VARIANT_ORDER = ("two_person_ids", "two_identities", "two_regions", "two_schemes", "same_scheme_twice")


@dataclass(frozen=True)
class _Params(Params):
    detector: ClassVar[str] = DET
    min_overlap_months: int = 1
    use_id_region: bool = False
    exclude_renumbered: bool = False
    max_same_name_group: int = 10


@register(DET, requires=("persons", "identities", "benefits"), version="1")
def detect(view: GraphView, ctx: DetectContext) -> list[Alert]:
    """Find people drawing the same kind of benefit twice in overlapping months.

    Parameters
    ----------
    view
        Graph frames or a live store.
    ctx
        Run context. Parameters (``ctx.p("duplicate_benefit", name, default)``):

        - ``min_overlap_months`` (1): months both benefits must be paid in.
        - ``use_id_region`` (False): when True, two records with the same name and birth date
          whose ID numbers share the 6-digit area code also count as one person (scored 15
          lower than a shared phone or address). Off by default: in synthetic populations of
          200,000 it already pairs genuine namesakes born on the same day in the same county.
        - ``max_same_name_group`` (10): records sharing one name and birth date beyond this
          many are not matched to each other (placeholders, not one person).
        - ``exclude_renumbered`` (False): when True, leave numbers linked by RENUMBERED_TO
          to ``identity_chain`` only.

    Returns
    -------
    list of Alert
        Members ``person``, ``identity``, ``benefit`` (+ the shared ``phone``/``address``).
    """
    prm = _Params.from_ctx(ctx)
    bens = idt.person_benefits(view)
    if bens.empty:
        return []
    (pcode,), drawers = idt.factorize([idt.obj(bens["person_id"])], sort=True)
    links = idt.same_person_links(
        view, drawers, use_id_region=prm.use_id_region, max_group=prm.max_same_name_group
    )
    grp = idt.components(
        len(drawers), idt.lookup(drawers, idt.obj(links["p1"])), idt.lookup(drawers, idt.obj(links["p2"]))
    )
    bens["grp"] = grp[pcode]

    pairs = _candidate_pairs(bens)
    if prm.exclude_renumbered and len(pairs):
        rc = idt.renumber_components(view)
        lab = np.append(rc["comp"].to_numpy(dtype=np.int64), -1)
        c1 = lab[idt.lookup(idt.obj(rc["id_number"]), idt.obj(pairs["id_number1"]))]
        c2 = lab[idt.lookup(idt.obj(rc["id_number"]), idt.obj(pairs["id_number2"]))]
        renumbered = (idt.obj(pairs["id_number1"]) != idt.obj(pairs["id_number2"])) & (c1 >= 0) & (c1 == c2)
        pairs = pairs[~renumbered].reset_index(drop=True)
    if pairs.empty:
        return []

    need = np.concatenate([idt.obj(pairs["benefit_id1"]), idt.obj(pairs["benefit_id2"])])
    pay = idt.paid_by_month(view, need)
    pairs, doubtful = _overlaps(pairs, pay, ctx, prm)
    if pairs.empty:
        return []
    amount_by_grp = doubtful.groupby("grp")["amount"].sum()
    # records and doubtful months split by group once, not filtered per group
    pairs = pairs.reset_index(drop=True)
    recs = cast(list[dict[str, Any]], pairs.to_dict("records"))
    at = pd.DataFrame({"grp": pairs["grp"], "i": np.arange(len(pairs))})
    by_grp = {g: d for g, d in idt.groups(doubtful, "grp")}
    return [
        _alert(
            [recs[i] for i in gi["i"].tolist()],
            links,
            float(amount_by_grp.get(g, 0.0)),
            by_grp.get(g, doubtful.iloc[:0]),
        )
        for g, gi in idt.groups(at, "grp")
    ]


# -- pairs ------------------------------------------------------------------------------------
def _candidate_pairs(bens: pd.DataFrame) -> pd.DataFrame:
    """Benefit pairs of one kind and one real person (b1 < b2)."""
    cols = [
        "grp",
        "kind",
        "benefit_id",
        "id_number",
        "person_id",
        "scheme",
        "region_code",
        "start_date",
        "end_date",
    ]
    b = bens[cols]
    size = b.groupby(["grp", "kind"])["benefit_id"].transform("size")
    b = b[size.to_numpy() >= 2]
    if b.empty:
        return pd.DataFrame()
    pairs = b.merge(b, on=["grp", "kind"], suffixes=("1", "2"))
    pairs = pairs[idt.obj(pairs["benefit_id1"]) < idt.obj(pairs["benefit_id2"])]
    return pairs.sort_values(["grp", "benefit_id1", "benefit_id2"], kind="mergesort").reset_index(drop=True)


def _overlaps(
    pairs: pd.DataFrame, pay: pd.DataFrame, ctx: DetectContext, prm: _Params
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pairs paid in overlapping months (§4), and the doubtful payments.

    Returns the kept pairs with ``n_overlap``, ``first_overlap``, ``last_overlap``, ``later``,
    ``later_amount`` and ``variant``; and the doubtful payments (``grp``, ``benefit_id``,
    ``month``, ``amount``: the later benefit's payments in the overlapping months, once each).
    """
    p = pairs.reset_index(drop=True)
    p["pair"] = np.arange(len(p))
    paid_ids = np.asarray(pd.unique(idt.obj(pay["benefit_id"])), dtype=object)
    both = (idt.lookup(paid_ids, idt.obj(p["benefit_id1"])) >= 0) & (
        idt.lookup(paid_ids, idt.obj(p["benefit_id2"])) >= 0
    )
    pm1 = pay.rename(columns={"benefit_id": "b1", "amount": "amt1"})
    pm2 = pay[["benefit_id", "mo", "amount"]].rename(columns={"benefit_id": "b2", "amount": "amt2"})
    m = (
        p.loc[both, ["pair", "grp", "benefit_id1", "benefit_id2"]]
        .merge(pm1, left_on="benefit_id1", right_on="b1")
        .merge(pm2, left_on=["benefit_id2", "mo"], right_on=["b2", "mo"])
    )
    agg = m.groupby("pair").agg(
        n=("mo", "size"), first=("mo", "min"), last=("mo", "max"), a1=("amt1", "sum"), a2=("amt2", "sum")
    )
    n_overlap = np.zeros(len(p), dtype=np.int64)
    n_overlap[agg.index.to_numpy()] = agg["n"].to_numpy()
    for r in idt.rows(p[~both]):  # §4: without payments for both, the start/end periods
        n_overlap[r.pair] = semantics.overlapping_months(
            None,
            None,
            (semantics.to_date(r.start_date1), semantics.to_date(r.end_date1)),
            (semantics.to_date(r.start_date2), semantics.to_date(r.end_date2)),
            ctx.ref_date,
        )
    p["n_overlap"] = n_overlap
    fo = agg["first"].reindex(p["pair"]).to_numpy(dtype=float)
    lo = agg["last"].reindex(p["pair"]).to_numpy(dtype=float)
    p["first_overlap"] = np.asarray([idt.ord_month(int(x)) if x == x else None for x in fo], dtype=object)
    p["last_overlap"] = np.asarray([idt.ord_month(int(x)) if x == x else None for x in lo], dtype=object)
    a1 = agg["a1"].reindex(p["pair"]).fillna(0.0).to_numpy(float)
    a2 = agg["a2"].reindex(p["pair"]).fillna(0.0).to_numpy(float)
    first = pay.groupby("benefit_id")["mo"].min()
    s1 = _start_key(p["start_date1"], first.reindex(p["benefit_id1"]).to_numpy(dtype=float))
    s2 = _start_key(p["start_date2"], first.reindex(p["benefit_id2"]).to_numpy(dtype=float))
    # the later benefit (tie: the smaller overlapping stream, then the larger benefit id)
    second_later = (s2 > s1) | ((s2 == s1) & (a2 <= a1))
    p["later"] = np.where(second_later, idt.obj(p["benefit_id2"]), idt.obj(p["benefit_id1"]))
    p["later_amount"] = np.where(second_later, a2, a1)
    p["variant"] = np.select(
        [
            idt.obj(p["person_id1"]) != idt.obj(p["person_id2"]),
            idt.obj(p["id_number1"]) != idt.obj(p["id_number2"]),
            np.where(pd.isna(idt.obj(p["region_code1"])), "", idt.obj(p["region_code1"]))
            != np.where(pd.isna(idt.obj(p["region_code2"])), "", idt.obj(p["region_code2"])),
            idt.obj(p["scheme1"]) != idt.obj(p["scheme2"]),
        ],
        list(VARIANT_ORDER[:4]),
        default=VARIANT_ORDER[4],
    ).astype(object)
    keep = p["n_overlap"].to_numpy() >= prm.min_overlap_months
    p = p[keep].reset_index(drop=True)

    later = pd.Series(idt.obj(p["later"]), index=p["pair"].to_numpy())
    m = m[np.isin(m["pair"].to_numpy(), p["pair"].to_numpy())]
    lb = idt.obj(later.reindex(m["pair"]))
    doubtful = idt.frame(
        {
            "grp": m["grp"].to_numpy(),
            "benefit_id": lb,
            "month": idt.obj(m["month"]),
            "amount": np.where(
                lb == idt.obj(m["benefit_id1"]), m["amt1"].to_numpy(float), m["amt2"].to_numpy(float)
            ),
        }
    ).drop_duplicates(["benefit_id", "month"])
    return p, doubtful


def _start_key(start: pd.Series, first_mo: np.ndarray) -> np.ndarray:
    """Comparable start month ordinal of each benefit: start date, else first paid month."""
    out = idt.date_ords(start.to_numpy())
    fm = np.where(np.isnan(first_mo), -1, first_mo).astype(np.int64)
    out = np.where(out < 0, fm, out)
    return np.where(out < 0, np.iinfo(np.int64).max, out)


# -- one alert ------------------------------------------------------------------------------------
def _alert(recs: list[dict[str, Any]], links: pd.DataFrame, amount: float, doubtful: pd.DataFrame) -> Alert:
    persons = sorted({r["person_id1"] for r in recs} | {r["person_id2"] for r in recs})
    identities = sorted({r["id_number1"] for r in recs} | {r["id_number2"] for r in recs})
    benefits = sorted({r["benefit_id1"] for r in recs} | {r["benefit_id2"] for r in recs})
    if len(persons) > 1:
        ev = links[np.isin(idt.obj(links["p1"]), persons) & np.isin(idt.obj(links["p2"]), persons)]
        ev_rows = list(zip(ev["via"].tolist(), ev["key"].tolist(), strict=True))
    else:
        ev_rows = []
    phones = sorted({k for v, k in ev_rows if v == "phone"})
    addresses = sorted({k for v, k in ev_rows if v == "address"})
    regions_only = len(persons) > 1 and not phones and not addresses

    variants = [v for v in VARIANT_ORDER if any(r["variant"] == v for r in recs)]
    top = max(VARIANT_BASE[v] for v in variants)
    max_overlap = max(int(r["n_overlap"]) for r in recs)
    score = top + min(15.0, 0.5 * max_overlap)
    if amount > 0:
        score += min(10.0, 2.5 * math.log10(1.0 + amount / 1000.0))
    if "two_person_ids" in variants and regions_only:
        score -= 15.0
    score = min(score, 100.0)

    text = "；".join(_pair_text(r, phones, addresses) for r in recs) + "。"
    if amount > 0:
        span = month_span(doubtful["month"].tolist())
        text += f"重叠期间（{span}）较晚开始的待遇已发放{idt.fmt_yuan(amount)}。"
    text += "同一人同时领取两份同类社保待遇，疑似重复领取。"

    details: dict[str, Any] = {
        "variants": variants,
        "pairs": [
            {
                "benefit_ids": [r["benefit_id1"], r["benefit_id2"]],
                "id_numbers": [r["id_number1"], r["id_number2"]],
                "person_ids": [r["person_id1"], r["person_id2"]],
                "schemes": [str_or_none(r["scheme1"]), str_or_none(r["scheme2"])],
                "regions": [str_or_none(r["region_code1"]), str_or_none(r["region_code2"])],
                "kind": r["kind"],
                "variant": r["variant"],
                "overlap_months": int(r["n_overlap"]),
                "first_overlap_month": str_or_none(r["first_overlap"]),
                "last_overlap_month": str_or_none(r["last_overlap"]),
                "later_benefit_id": r["later"],
                "later_amount_in_overlap": round(float(r["later_amount"]), 2),
            }
            for r in recs
        ],
        "same_person_evidence": sorted({v for v, _ in ev_rows}),
    }
    members = {
        "person": persons,
        "identity": identities,
        "benefit": benefits,
        "phone": phones,
        "address": addresses,
    }
    return Alert.build(
        DET,
        key_members={"person": persons, "identity": identities, "benefit": benefits},
        members=members,
        score=score,
        amount_at_risk=amount,
        explanation=text,
        evidence_cypher=evidence_query(members),
        details=details,
    )


def _pair_text(r: dict[str, Any], phones: list[str], addresses: list[str]) -> str:
    kind = idt.KIND_TEXT.get(r["kind"], r["kind"])
    first, last = str_or_none(r["first_overlap"]), str_or_none(r["last_overlap"])
    span = month_span([m for m in (first, last) if m])
    overlap = f"{span + '期间' if span else ''}重叠{int(r['n_overlap'])}个月"
    id1, id2 = tail(r["id_number1"]), tail(r["id_number2"])
    if r["variant"] == "two_person_ids":
        shared = []
        if phones:
            shared.append("手机号" + "、".join(tail(x) for x in phones))
        if addresses:
            shared.append("同一地址")
        if not shared:
            shared.append("身份证号地区码")
        who = (
            f"两条人员记录（身份证{id1}、{id2}）姓名相同、出生日期相同，"
            f"且共用{'、'.join(shared)}，应为同一人，却分别领取{kind}"
        )
    elif r["variant"] == "two_identities":
        who = f"同一人名下两个身份证号（{id1}、{id2}）分别领取{kind}"
    elif r["variant"] == "two_regions":
        reg1 = str_or_none(r["region_code1"]) or "未知地区"
        reg2 = str_or_none(r["region_code2"]) or "未知地区"
        who = f"同一人（身份证{id1}）在{reg1}和{reg2}两地同时领取{kind}"
    elif r["variant"] == "two_schemes":
        s1 = idt.SCHEME_TEXT.get(str(r["scheme1"]), str(r["scheme1"]))
        s2 = idt.SCHEME_TEXT.get(str(r["scheme2"]), str(r["scheme2"]))
        who = f"同一人（身份证{id1}）同时领取{s1}和{s2}"
    else:
        who = f"同一人（身份证{id1}）有两份{idt.SCHEME_TEXT.get(str(r['scheme1']), kind)}同时发放"
    return f"{who}，{overlap}"


def evidence_query(members: dict[str, list[str]]) -> str:
    """Read-only Cypher returning the person(s), numbers, duplicate benefits, payments and shared contacts."""
    q = [
        "MATCH (p:Person)-[h:HAS_IDENTITY]->(i:Identity)-[r:RECEIVES]->(b:Benefit)",
        f"WHERE p.person_id IN {lit_list(members['person'])} AND i.id_number IN {lit_list(members['identity'])}"
        f" AND b.benefit_id IN {lit_list(members['benefit'])}",
        "OPTIONAL MATCH (b)-[pt:PAID_TO]->(a:Account)",
    ]
    contacts, contact_vars = contact_matches(members)
    return query_text([*q, *contacts], ["p", "h", "i", "r", "b", "pt", "a", *contact_vars])
