"""Detector ``identity_chain``: one person behind several ID numbers (renumbering chains and cycles).

The renumbering graph (``RENUMBERED_TO``) is cut into connected components; each component is
one chain of numbers of one person. Ordinary 15→18 upgrades (reason ``upgrade15``, birth date
unchanged) are the background and never alerted on their own. A chain is alerted, once as a
whole, when it shows any of these signals:

- ``birth_date_moved``: a renumbering moves the birth date encoded in the number at least
  ``min_shift_years`` earlier, at most ``window_years`` before a pension of the chain starts,
  while under the old birth date the person was still below the statutory pension age
  (§4, :func:`ringwatch.semantics.pension_age`) at that start (reaching pension age early);
- ``both_drawing``: two numbers of the chain draw the same kind of benefit (both pension
  schemes are one kind) in overlapping months (§4 overlap);
- ``long_chain``: at least ``long_chain_min`` numbers, not all linked by ordinary upgrades;
- ``cycle``: the renumbering edges form a directed cycle (A→B→A);
- ``bad_checksum_drawing``: a number of the chain fails its check digit and draws a benefit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, ClassVar, cast

import networkx as nx
import numpy as np
import pandas as pd

from ringwatch import semantics
from ringwatch.graph.base import GraphView

from . import _identity as idt
from ._common import Params, iso_day, month_span, str_or_none, tail
from .base import Alert, DetectContext, register
from .evidence import lit_list, query_text

DET = "identity_chain"

#: weight of each signal in the combined (noisy-or) score
SIGNAL_WEIGHTS: dict[str, float] = {
    "both_drawing": 0.80,
    "birth_date_moved": 0.75,
    "cycle": 0.65,
    "bad_checksum_drawing": 0.55,
    "long_chain": 0.45,
}

REASON_TEXT = {
    "upgrade15": "15位升18位",
    "birth_date_fix": "更正出生日期",
    "sex_change": "变更性别",
    "duplicate_fix": "重号处理",
    "other": "其他原因",
}


@dataclass(frozen=True)
class _Params(Params):
    detector: ClassVar[str] = DET
    min_shift_years: float = 2.0
    window_years: float = 3.0
    min_overlap_months: int = 1
    long_chain_min: int = 3


@register(DET, requires=("persons", "identities", "renumberings"), version="1")
def detect(view: GraphView, ctx: DetectContext) -> list[Alert]:
    """Alert on suspicious renumbering chains, one alert per chain (component).

    Parameters
    ----------
    view
        Graph frames or a live store.
    ctx
        Run context. Parameters (``ctx.p("identity_chain", name, default)``):

        - ``min_shift_years`` (2): how much earlier the birth date must move.
        - ``window_years`` (3): the move must happen at most this long before a pension start.
        - ``min_overlap_months`` (1): months two numbers must both draw to count as both drawing.
        - ``long_chain_min`` (3): numbers in a chain that make it a long chain.

        Pension ages come from ``ctx.pension_ages`` (§4 defaults 60 men / 50 women).

    Returns
    -------
    list of Alert
        Members ``identity`` (all numbers of the chain), ``person``, ``benefit``.
    """
    prm = _Params.from_ctx(ctx)
    comps = idt.renumber_components(view)
    if comps.empty:
        return []
    comp_ids = idt.obj(comps["id_number"])  # sorted
    comp_lab = comps["comp"].to_numpy(dtype=np.int64)

    def comp_at(values: np.ndarray) -> np.ndarray:
        pos = idt.lookup(comp_ids, values)
        return np.where(pos >= 0, comp_lab[np.maximum(pos, 0)], -1)

    ren = view.rels("RENUMBERED_TO", ["src", "dst", "changed_date", "reason"])
    r_src, r_dst = idt.obj(ren["src"]), idt.obj(ren["dst"])
    ok = ~pd.isna(r_src) & ~pd.isna(r_dst)

    ident = view.nodes(
        "Identity", ["id_number", "person_id", "checksum_ok", "id_birth_date", "id_sex", "issued_date"]
    )
    ipos = idt.lookup(comp_ids, idt.obj(ident["id_number"]))
    ident = ident[ipos >= 0]
    ipos = ipos[ipos >= 0]
    n_num = len(comp_ids)
    birth = np.full(n_num, np.datetime64("NaT"), dtype="datetime64[us]")
    birth[ipos] = pd.to_datetime(ident["id_birth_date"], errors="coerce").to_numpy(dtype="datetime64[us]")
    issued = np.full(n_num, np.datetime64("NaT"), dtype="datetime64[us]")
    issued[ipos] = pd.to_datetime(ident["issued_date"], errors="coerce").to_numpy(dtype="datetime64[us]")
    bad_ck = np.zeros(n_num, dtype=bool)
    bad_ck[ipos] = ident["checksum_ok"].astype("boolean").eq(False).fillna(False).to_numpy(dtype=bool)

    owner = idt.identity_persons(view, comp_ids)
    owner = owner.assign(comp=comp_at(idt.obj(owner["id_number"])))
    persons = view.nodes("Person", ["person_id", "sex"])
    psex = idt.obj(persons["sex"])
    spos = idt.lookup(idt.obj(persons["person_id"]), idt.obj(owner["person_id"]))
    sex = np.full(n_num, None, dtype=object)
    sex[idt.lookup(comp_ids, idt.obj(owner["id_number"]))] = np.where(
        spos >= 0, psex[np.maximum(spos, 0)], None
    )
    id_sex = np.full(n_num, None, dtype=object)
    id_sex[ipos] = idt.obj(ident["id_sex"])
    sex = np.where(pd.isna(sex), id_sex, sex)

    bens = idt.person_benefits(view, comp_ids)
    bens["comp"] = comp_at(idt.obj(bens["id_number"]))
    paid = view.rels("PAID_TO", ["src", "first_month"])
    keep_paid = idt.lookup(idt.obj(bens["benefit_id"]), idt.obj(paid["src"])) >= 0
    fp = idt.frame(
        {"b": idt.obj(paid["src"])[keep_paid], "mo": idt.month_ords(idt.obj(paid["first_month"])[keep_paid])}
    )
    first_paid = fp[fp["mo"] >= 0].groupby("b")["mo"].min()
    first_mo = first_paid.reindex(bens["benefit_id"]).to_numpy(dtype=float)
    fallback = pd.to_datetime(
        pd.Series([f"{idt.ord_month(int(o))}-01" if o == o else None for o in first_mo], dtype=object),
        errors="coerce",
    ).to_numpy()
    start = pd.to_datetime(bens["start_date"], errors="coerce")
    bens["start"] = start.where(start.notna(), pd.Series(fallback, index=bens.index))

    src, dst = r_src[ok], r_dst[ok]
    spos_r = idt.lookup(comp_ids, src)
    dpos_r = idt.lookup(comp_ids, dst)
    when = pd.to_datetime(ren["changed_date"], errors="coerce").to_numpy(dtype="datetime64[us]")[ok]
    when = np.where(np.isnat(when), issued[dpos_r], when)
    edges = idt.frame(
        {
            "src": src,
            "dst": dst,
            "comp": comp_lab[spos_r],
            "reason": idt.obj(ren["reason"])[ok],
            "when": when,
            "b_old": birth[spos_r],
            "b_new": birth[dpos_r],
            "sex": np.where(pd.isna(sex[dpos_r]), sex[spos_r], sex[dpos_r]),
        }
    )
    same_birth = (edges["b_old"] == edges["b_new"]) | edges["b_old"].isna() | edges["b_new"].isna()
    edges["ordinary"] = (edges["reason"] == "upgrade15").to_numpy(dtype=bool) & same_birth.to_numpy(
        dtype=bool
    )

    signals: dict[int, dict[str, Any]] = {}

    def hit(comp: int, name: str, fact: dict[str, Any] | None = None) -> None:
        s = signals.setdefault(int(comp), {})
        s.setdefault(name, [])
        if fact is not None:
            s[name].append(fact)

    moves = _birth_moves(edges, bens, ctx, prm)
    pairs_both = _drawing_pairs(bens)
    bad_bens = bens[bad_ck[idt.lookup(comp_ids, idt.obj(bens["id_number"]))]]
    need = (
        {f["fact"]["benefit_id"] for f in moves}
        | set(pairs_both["benefit_id1"])
        | set(pairs_both["benefit_id2"])
        | set(bad_bens["benefit_id"])
    )
    pay = idt.paid_by_month(view, sorted(need))
    pay_by_benefit = {str(k): g for k, g in idt.groups(pay, "benefit_id")}
    doubtful: dict[int, set[tuple[str, str]]] = {}

    # birth date moved earlier shortly before a pension start
    for f in moves:
        hit(f["comp"], "birth_date_moved", f["fact"])
        g = pay_by_benefit.get(f["fact"]["benefit_id"])
        if g is not None:
            early = g[g["month"] < f["fact"]["entitled_month"]]
            doubtful.setdefault(f["comp"], set()).update((f["fact"]["benefit_id"], m) for m in early["month"])

    # two numbers drawing the same kind in the same months
    for comp, fact, flagged in _both_drawing(pairs_both, pay_by_benefit, ctx.ref_date, prm):
        hit(comp, "both_drawing", fact)
        doubtful.setdefault(comp, set()).update(flagged)

    # long chains and cycles
    n_ids = comps.groupby("comp").size()  # per component
    all_ordinary = edges.groupby("comp")["ordinary"].all()
    for comp in n_ids[n_ids >= prm.long_chain_min].index:
        if not bool(all_ordinary.get(comp, True)):
            hit(comp, "long_chain", {"n_numbers": int(n_ids[comp])})
    pairs = edges[["comp", "src", "dst"]].drop_duplicates()
    n_edges = pairs.groupby("comp").size()
    maybe = n_edges[n_edges >= n_ids.reindex(n_edges.index)].index
    for comp in maybe:
        g = nx.DiGraph()
        sub = pairs[pairs["comp"] == comp]
        g.add_edges_from(zip(sub["src"], sub["dst"], strict=True))
        try:
            cyc = nx.find_cycle(g, source=sorted(g.nodes))
        except nx.NetworkXNoCycle:
            continue
        hit(comp, "cycle", {"cycle": [u for u, _ in cyc] + [cyc[0][0]]})

    # numbers failing their check digit that draw benefits
    for r in idt.rows(bad_bens.sort_values(["id_number", "benefit_id"], kind="mergesort")):
        comp = int(r.comp)
        facts = signals.get(comp, {}).get("bad_checksum_drawing", [])
        if not any(f["id_number"] == r.id_number for f in facts):
            hit(comp, "bad_checksum_drawing", {"id_number": r.id_number})
        g = pay_by_benefit.get(r.benefit_id)
        if g is not None:
            doubtful.setdefault(comp, set()).update((r.benefit_id, m) for m in g["month"])

    if not signals:
        return []
    amount_of = dict(
        zip(
            zip(pay["benefit_id"].tolist(), pay["month"].tolist(), strict=True),
            pay["amount"].tolist(),
            strict=True,
        )
    )
    hot = sorted(signals)
    ids_by_comp = {
        int(k): sorted(g["id_number"]) for k, g in idt.groups(comps[comps["comp"].isin(hot)], "comp")
    }
    persons_by_comp = {
        int(k): sorted(set(g["person_id"])) for k, g in idt.groups(owner[owner["comp"].isin(hot)], "comp")
    }
    bens_by_comp = {
        int(k): sorted(g["benefit_id"]) for k, g in idt.groups(bens[bens["comp"].isin(hot)], "comp")
    }
    edges_by_comp: dict[int, list[dict[str, Any]]] = {}
    for rec in cast(list[dict[str, Any]], edges[edges["comp"].isin(hot)].to_dict("records")):
        edges_by_comp.setdefault(int(rec["comp"]), []).append(rec)
    alerts = []
    for comp in hot:
        keys = sorted(doubtful.get(comp, set()))
        amount = float(sum(amount_of.get(k, 0.0) for k in keys))
        alerts.append(
            _alert(
                ids_by_comp[comp],
                persons_by_comp.get(comp, []),
                bens_by_comp.get(comp, []),
                edges_by_comp[comp],
                signals[comp],
                amount,
            )
        )
    return alerts


# -- signals ----------------------------------------------------------------------------------
def _birth_moves(
    edges: pd.DataFrame, bens: pd.DataFrame, ctx: DetectContext, prm: _Params
) -> list[dict[str, Any]]:
    """Renumberings that move the birth date earlier shortly before a pension start."""
    moved = edges[edges["b_new"].notna() & edges["b_old"].notna() & (edges["b_new"] < edges["b_old"])]
    moved = moved[moved["when"].notna()]
    out: list[dict[str, Any]] = []
    if moved.empty:
        return out
    shift_days = (moved["b_old"] - moved["b_new"]).dt.days
    moved = moved[shift_days >= prm.min_shift_years * 365.2425 - 1]
    pens = bens[(bens["kind"] == idt.PENSION_KIND) & bens["start"].notna()]
    cand = moved.merge(pens[["comp", "benefit_id", "start"]], on="comp", how="inner")
    for r in idt.rows(cand.sort_values(["comp", "src", "dst", "benefit_id"], kind="mergesort")):
        when = semantics.to_date(r.when)
        start = semantics.to_date(r.start)
        old = semantics.to_date(r.b_old)
        new = semantics.to_date(r.b_new)
        if when is None or start is None or old is None or new is None:
            continue
        if not (when <= start <= when + _years(prm.window_years)):
            continue
        age = semantics.pension_age(str_or_none(r.sex), ctx.pension_ages)
        entitled = semantics.add_years(old, age)
        if start >= entitled:  # already of age under the old birth date: nothing gained
            continue
        out.append(
            {
                "comp": int(r.comp),
                "fact": {
                    "old": r.src,
                    "new": r.dst,
                    "reason": str_or_none(r.reason),
                    "changed_date": when.isoformat(),
                    "old_birth_date": old.isoformat(),
                    "new_birth_date": new.isoformat(),
                    "shift_years": round((old - new).days / 365.2425, 1),
                    "benefit_id": r.benefit_id,
                    "pension_start": start.isoformat(),
                    "pension_age": age,
                    "entitled_month": semantics.month_of(entitled),
                    "months_early": int(round(semantics.months_between(start, entitled))),
                },
            }
        )
    return out


def _years(n: float) -> timedelta:
    return timedelta(days=round(n * 365.2425))


def _drawing_pairs(bens: pd.DataFrame) -> pd.DataFrame:
    """Candidate pairs: benefits of one kind under two different numbers of one chain."""
    b = bens[["comp", "kind", "benefit_id", "id_number", "start_date", "end_date"]]
    pairs = b.merge(b, on=["comp", "kind"], suffixes=("1", "2"))
    pairs = pairs[
        (pairs["benefit_id1"] < pairs["benefit_id2"]) & (pairs["id_number1"] != pairs["id_number2"])
    ]
    return pairs.sort_values(["comp", "benefit_id1", "benefit_id2"], kind="mergesort").reset_index(drop=True)


def _both_drawing(
    pairs: pd.DataFrame, months: dict[str, pd.DataFrame], ref: date, prm: _Params
) -> list[tuple[int, dict[str, Any], set[tuple[str, str]]]]:
    """Candidate pairs paid in overlapping months (§4), with the smaller stream's months."""
    out: list[tuple[int, dict[str, Any], set[tuple[str, str]]]] = []
    for r in idt.rows(pairs):
        g1 = months.get(r.benefit_id1)
        g2 = months.get(r.benefit_id2)
        m1 = set(g1["month"]) if g1 is not None else set()
        m2 = set(g2["month"]) if g2 is not None else set()
        n = semantics.overlapping_months(
            m1,
            m2,
            (semantics.to_date(r.start_date1), semantics.to_date(r.end_date1)),
            (semantics.to_date(r.start_date2), semantics.to_date(r.end_date2)),
            ref,
        )
        if n < prm.min_overlap_months:
            continue
        common = sorted(m1 & m2)
        s1 = float(g1.loc[g1["month"].isin(common), "amount"].sum()) if g1 is not None else 0.0
        s2 = float(g2.loc[g2["month"].isin(common), "amount"].sum()) if g2 is not None else 0.0
        # the smaller of the two overlapping streams is put in doubt (tie: the later benefit id)
        smaller = r.benefit_id1 if s1 < s2 else r.benefit_id2
        fact = {
            "benefit_ids": [r.benefit_id1, r.benefit_id2],
            "id_numbers": [r.id_number1, r.id_number2],
            "kind": r.kind,
            "overlap_months": int(n),
            "first_month": common[0] if common else None,
            "last_month": common[-1] if common else None,
            "doubtful_benefit_id": smaller,
            "doubtful_amount": round(min(s1, s2), 2),
        }
        out.append((int(r.comp), fact, {(smaller, m) for m in common}))
    return out


# -- one alert ------------------------------------------------------------------------------------
def _alert(
    ids: list[str],
    persons: list[str],
    benefits: list[str],
    edges: list[dict[str, Any]],
    signals: dict[str, list[dict[str, Any]]],
    amount: float,
) -> Alert:
    names = sorted(signals, key=lambda s: (-SIGNAL_WEIGHTS[s], s))
    keep = 1.0
    for s in names:
        keep *= 1.0 - SIGNAL_WEIGHTS[s]
    score = 100.0 * (1.0 - keep)
    if len(persons) > 1:
        score += 5.0
    if amount > 0:
        score += min(8.0, 2.0 * math.log10(1.0 + amount / 1000.0))
    score = min(score, 100.0)

    def order(r: dict[str, Any]) -> tuple[str, str, str]:
        when = semantics.to_date(r["when"])
        return (when.isoformat() if when else "9999", str(r["src"]), str(r["dst"]))

    e = sorted(edges, key=order)
    steps = []
    for r in e:
        reason = REASON_TEXT.get(str(r["reason"]), "原因不明")
        when = semantics.to_date(r["when"])
        steps.append(
            f"{tail(r['src'])}→{tail(r['dst'])}（{reason}{'，' + when.isoformat() if when else ''}）"
        )
    text = f"身份证号码变更链共{len(ids)}个号码，涉及{len(persons)}人：{'；'.join(steps)}。"
    findings: list[str] = []
    for f in signals.get("birth_date_moved", []):
        findings.append(
            f"号码{tail(f['old'])}变更为{tail(f['new'])}时出生日期提前{f['shift_years']}年"
            f"（变更于{f['changed_date']}），{f['pension_start'][:7]}即开始领取养老金，距号码变更仅"
            f"{_fmt_years(f)}；按原出生日期应到{f['entitled_month']}才满{f['pension_age']}岁退休年龄，"
            f"提前约{f['months_early']}个月领取"
        )
    for f in signals.get("both_drawing", []):
        kind = idt.KIND_TEXT.get(f["kind"], f["kind"])
        span = month_span([m for m in (f["first_month"], f["last_month"]) if m])
        findings.append(
            f"新旧号码{tail(f['id_numbers'][0])}与{tail(f['id_numbers'][1])}同时领取{kind}，"
            f"{span + '期间' if span else ''}重叠{f['overlap_months']}个月，"
            f"重复部分{idt.fmt_yuan(f['doubtful_amount'])}"
        )
    for f in signals.get("cycle", []):
        findings.append("号码变更出现循环（" + "→".join(tail(x) for x in f["cycle"]) + "）")
    for f in signals.get("long_chain", []):
        findings.append(f"一人先后使用{f['n_numbers']}个号码，且并非都是15位升18位的正常升级")
    for f in signals.get("bad_checksum_drawing", []):
        findings.append(f"号码{tail(f['id_number'])}校验位错误，却在领取待遇")
    text += "发现：" + "；".join(findings) + "。"
    if amount > 0:
        text += f"涉及待遇{idt.fmt_yuan(amount)}。"
    text += "疑似利用变更身份证号码提前或重复领取待遇，需核实身份。"

    details: dict[str, Any] = {
        "signals": names,
        "n_numbers": len(ids),
        "n_persons": len(persons),
        "renumberings": [
            {
                "old": r["src"],
                "new": r["dst"],
                "reason": r["reason"] if isinstance(r["reason"], str) else None,
                "changed_date": iso_day(r["when"]),
                "ordinary_upgrade": bool(r["ordinary"]),
            }
            for r in e
        ],
        **{s: signals[s] for s in names if signals[s]},
    }
    members = {"identity": ids, "person": persons, "benefit": benefits}
    return Alert.build(
        DET,
        key_members={"identity": ids, "person": persons},
        members=members,
        score=score,
        amount_at_risk=amount,
        explanation=text,
        evidence_cypher=evidence_query(members),
        details=details,
    )


def _fmt_years(f: dict[str, Any]) -> str:
    days = (date.fromisoformat(f["pension_start"]) - date.fromisoformat(f["changed_date"])).days
    return f"{max(days, 0) / 365.2425:.1f}年"


def evidence_query(members: dict[str, list[str]]) -> str:
    """Read-only Cypher returning the chain: numbers, renumberings, owners, benefits and payments."""
    ids = lit_list(members["identity"])
    q = [
        f"MATCH (i:Identity) WHERE i.id_number IN {ids}",
        f"OPTIONAL MATCH (i)-[r:RENUMBERED_TO]->(j:Identity) WHERE j.id_number IN {ids}",
    ]
    ret = ["i", "r", "j"]
    if members.get("person"):
        q.append(
            f"OPTIONAL MATCH (p:Person)-[h:HAS_IDENTITY]->(i) WHERE p.person_id IN {lit_list(members['person'])}"
        )
        ret += ["p", "h"]
    if members.get("benefit"):
        q.append(
            f"OPTIONAL MATCH (i)-[rc:RECEIVES]->(b:Benefit) WHERE b.benefit_id IN {lit_list(members['benefit'])}"
        )
        q.append("OPTIONAL MATCH (b)-[pt:PAID_TO]->(a:Account)")
        ret += ["rc", "b", "pt", "a"]
    return query_text(q, ret)
