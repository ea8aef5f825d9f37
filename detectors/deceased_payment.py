"""``deceased_payment``: benefits still paid after a recorded death (冒领).

Contract §4: a person died on the earliest ``death_date`` recorded under any of their ID
numbers (any source), and a payment is *after death* when its month is later than the month
after the death month (the month of death and the next one are allowed, as ordinary
payment lag). The loaders already put that earliest death on every ``Person`` and
``Identity``; this detector also re-derives it from ``Identity.death_date`` so that a death
recorded under an old number still counts when only the identity carries it.

One alert per **person**, covering every benefit of theirs paid after death (a person's
pension and, say, a work-injury annuity drawn by the same relatives are one case for an
investigator). Members: the person, all their ID numbers (the death may be recorded under
an old one), the benefits paid after death and the accounts those payments went to.
Key members (for the alert id): identity + benefit.

Parameters (``[detectors.deceased_payment]``)
-------------------------------------------
min_months : int, default 1
    Alert when at least this many distinct months were paid after death.
months_full_score : int, default 6
    Months after death at which the month part of the score is full.
amount_full_score : float, default 50000
    Amount (yuan) paid after death at which the amount part of the score is full (log scale).
"""

from __future__ import annotations

import pandas as pd

from ringwatch import semantics
from ringwatch.graph.base import GraphView

from ._common import SCHEME_ZH, explode_payments, group_lists, log_share, month_span, tail4, with_receiver
from .base import Alert, DetectContext, register
from .evidence import lit_list

NAME = "deceased_payment"

DEATH_SOURCE_ZH = {
    "civil_affairs": "民政",
    "police": "公安户籍",
    "hospital": "医院",
    "cremation": "殡葬火化",
    "court": "法院",
    "other": "其他部门",
}


def dead_persons(view: GraphView, ctx: DetectContext) -> pd.DataFrame:
    """Earliest death per person (§4): ``person_id``, ``death_date``, ``death_source``.

    The union of ``ctx.deaths`` (``Person.death_date``) and deaths carried by ``Identity``
    nodes mapped to their person, reduced to the earliest date per person.
    """
    base = ctx.deaths.loc[:, ["person_id", "death_date", "death_source"]]
    ids = view.nodes("Identity", ["id_number", "person_id", "death_date", "death_source"])
    ids = ids[ids["death_date"].notna() & ids["person_id"].notna()]
    from_ids = semantics.earliest_deaths(
        ids.rename(columns={"death_source": "source"}).loc[:, ["id_number", "death_date", "source"]],
        ids.loc[:, ["id_number", "person_id"]],
    )
    both = pd.concat([base, from_ids], ignore_index=True)
    if both.empty:
        return both
    both["death_date"] = pd.to_datetime(both["death_date"])
    both["death_source"] = both["death_source"].astype(object).where(both["death_source"].notna(), None)
    # earliest date; on a tie a record that names its source wins, then the source name
    both["no_source"] = both["death_source"].isna()
    both["src_key"] = both["death_source"].fillna("")
    both = both.sort_values(["person_id", "death_date", "no_source", "src_key"], kind="mergesort")
    out = both.drop_duplicates("person_id", keep="first").reset_index(drop=True)
    return out.loc[:, ["person_id", "death_date", "death_source"]]


def payments_after_death(view: GraphView, ctx: DetectContext) -> pd.DataFrame:
    """Every payment after death (§4), one row per payment.

    Columns: ``person_id``, ``id_number`` (receiving identity), ``benefit_id``, ``scheme``,
    ``account_no``, ``month``, ``amount``, ``payment_id``, ``death_date``, ``death_source``.
    """
    cols = [
        "person_id",
        "id_number",
        "benefit_id",
        "scheme",
        "account_no",
        "month",
        "amount",
        "payment_id",
        "death_date",
        "death_source",
    ]
    deaths = dead_persons(view, ctx)
    if deaths.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})
    # §4 cutoff per death: the last allowed month is the month after the death month
    deaths = deaths.assign(
        cutoff=[semantics.add_months(semantics.month_of(pd.Timestamp(d)), 1) for d in deaths["death_date"]]
    )
    ident = view.nodes("Identity", ["id_number", "person_id"])
    ident = ident[ident["person_id"].isin(deaths["person_id"])]  # the dead's numbers only
    ben = view.nodes("Benefit", ["benefit_id", "id_number", "scheme"])
    ben = with_receiver(view, ben[ben["id_number"].isin(ident["id_number"]) | ben["id_number"].isna()])
    ben = ben.merge(ident, on="id_number", how="inner")
    ben = ben.merge(deaths, on="person_id", how="inner")
    if ben.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})
    paid = view.rels("PAID_TO", ["src", "dst", "months", "amounts", "payment_ids"])
    paid = paid[paid["src"].isin(set(ben["benefit_id"]))]
    if paid.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})
    e = explode_payments(paid).merge(ben, on="benefit_id", how="inner")
    # vectorised semantics.paid_after_death: month > the month after the death month
    e = e[e["month"].astype(str).to_numpy() > e["cutoff"].astype(str).to_numpy()]
    e = e.assign(amount=pd.to_numeric(e["amount"], errors="coerce").fillna(0.0))
    return e.loc[:, cols].sort_values(["person_id", "benefit_id", "month", "account_no"], kind="mergesort")


def _score(n_months: int, amount: float, months_full: int, amount_full: float) -> float:
    m = min(1.0, n_months / max(1, months_full))
    return 40.0 + 40.0 * m + 20.0 * log_share(amount, amount_full)


def evidence_cypher(person_ids: list[str], benefit_ids: list[str]) -> str:
    """Read-only evidence query: the person, all their ID numbers, the benefits and payments."""
    return (
        "MATCH (p:Person)-[h:HAS_IDENTITY]->(i:Identity) "
        f"WHERE p.person_id IN {lit_list(person_ids)} "
        "OPTIONAL MATCH (i)-[r:RECEIVES]->(b:Benefit) "
        f"WHERE b.benefit_id IN {lit_list(benefit_ids)} "
        "OPTIONAL MATCH (b)-[pt:PAID_TO]->(a:Account) "
        "RETURN p, h, i, r, b, pt, a"
    )


@register(NAME, requires=("persons", "identities", "benefits", "payments", "deaths"), version="1")
def detect(view: GraphView, ctx: DetectContext) -> list[Alert]:
    """Benefits paid in months after the month following a recorded death.

    Parameters
    ----------
    view
        Graph frames or a live store.
    ctx
        Run context (reference date, parameters, cached §4 deaths).

    Returns
    -------
    list of Alert
        One alert per dead person with at least ``min_months`` months paid after death.
    """
    min_months = int(ctx.p(NAME, "min_months", 1))
    months_full = int(ctx.p(NAME, "months_full_score", 6))
    amount_full = float(ctx.p(NAME, "amount_full_score", 50000.0))

    pay = payments_after_death(view, ctx)
    if pay.empty:
        return []
    ident = view.nodes("Identity", ["id_number", "person_id"])
    ident = ident[ident["person_id"].isin(set(pay["person_id"]))]
    ids_of = group_lists(ident, "person_id", "id_number")
    months_of = group_lists(pay, "person_id", "month")
    benefits_of = group_lists(pay, "person_id", "benefit_id")
    receivers_of = group_lists(pay, "person_id", "id_number")
    accounts_of = group_lists(pay, "person_id", "account_no")
    payment_ids_of = group_lists(pay, "person_id", "payment_id")
    benefit_months = group_lists(pay, "benefit_id", "month")
    amount_of = pay.groupby("person_id", sort=True)["amount"].sum().to_dict()
    benefit_amount = pay.groupby("benefit_id", sort=True)["amount"].sum().to_dict()
    first_b = pay.drop_duplicates("benefit_id")
    scheme_of = dict(zip(first_b["benefit_id"].astype(str), first_b["scheme"].tolist(), strict=True))
    first = pay.drop_duplicates("person_id")

    alerts: list[Alert] = []
    for person_id, raw_death, raw_source in zip(
        first["person_id"].astype(str).tolist(),
        first["death_date"].tolist(),
        first["death_source"].tolist(),
        strict=True,
    ):
        months = months_of[person_id]
        if len(months) < min_months:
            continue
        amount = float(amount_of[person_id])
        benefits = benefits_of[person_id]
        receivers = receivers_of[person_id]
        accounts = accounts_of.get(person_id, [])
        all_ids = sorted(set(receivers) | set(ids_of.get(person_id, [])))
        death = semantics.to_date(raw_death)
        assert death is not None
        source = None if raw_source is None or pd.isna(raw_source) else str(raw_source)
        per_benefit = []
        parts = []
        for bid in benefits:
            bm = benefit_months[bid]
            scheme = scheme_of.get(bid)
            scheme = None if scheme is None or pd.isna(scheme) else str(scheme)
            b_amount = float(benefit_amount[bid])
            per_benefit.append(
                {"benefit_id": bid, "scheme": scheme, "months": bm, "amount": round(b_amount, 2)}
            )
            parts.append(
                f"{SCHEME_ZH.get(scheme or '', '社保待遇')}（待遇编号尾号{tail4(bid)}）"
                f"在{month_span(bm)}发放{len(bm)}个月、{b_amount:,.2f}元"
            )
        allowed_to = semantics.add_months(semantics.month_of(death), 1)
        other_ids = [i for i in all_ids if i not in receivers]
        src_zh = DEATH_SOURCE_ZH.get(source or "", "死亡登记")
        explanation = (
            f"身份证尾号{tail4(receivers[0])}的待遇领取人已于{death.isoformat()}死亡（{src_zh}记录），"
            f"按规定待遇最迟发放至{allowed_to}，但此后仍有"
            + "；".join(parts)
            + f"，死亡后共多发{len(months)}个月、合计{amount:,.2f}元"
            + (f"，打入账户尾号{'、'.join(tail4(a) for a in accounts)}" if accounts else "")
            + "，疑似家属或他人冒领。"
            + (
                f"此人另有身份证号尾号{'、'.join(tail4(i) for i in other_ids)}，死亡登记在任一号码下均视为死亡。"
                if other_ids
                else ""
            )
        )
        details = {
            "death_date": death.isoformat(),
            "death_source": source,
            "last_allowed_month": allowed_to,
            "months_after_death": months,
            "n_months_after_death": len(months),
            "first_month_after_death": months[0],
            "last_month_paid": months[-1],
            "payment_ids": payment_ids_of.get(person_id, []),
            "benefits": per_benefit,
        }
        alerts.append(
            Alert.build(
                NAME,
                key_members={"identity": receivers, "benefit": benefits},
                members={
                    "person": [person_id],
                    "identity": all_ids,
                    "benefit": benefits,
                    "account": accounts,
                },
                score=_score(len(months), amount, months_full, amount_full),
                amount_at_risk=amount,
                explanation=explanation,
                evidence_cypher=evidence_cypher([person_id], benefits),
                details=details,
            )
        )
    return alerts
