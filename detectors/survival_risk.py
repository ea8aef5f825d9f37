"""``survival_risk``: living pension recipients with no life trace for a long time.

Contract §4: a *living pension recipient* holds a pension benefit (scheme
``pension_employee`` or ``pension_resident``) open at the reference date (start on or before
it, end empty or on/after it), has no recorded death, and is still being paid (a payment in
the last ``paid_within_months`` months up to the reference month). Their survival grade comes
from the latest life trace under any of their ID numbers (:func:`ringwatch.semantics.survival_grades`
over ``ctx.last_traces``): ``strong`` within 12 months, ``medium`` 12–24 months, ``low``
none in 24 months or none at all. This detector alerts on ``low`` only (静默认证中的“低”等级,
需上门核验) and writes ``grade`` in ``details``. Dead persons are ``deceased_payment``'s
business and are skipped. Without an ``activities`` table the detector is skipped.

One alert per person, covering their open pension benefits. Members: the person, the
receiving ID numbers, those benefits and the accounts they are paid to. Key members:
identity + benefit.

``amount_at_risk`` is the sum of payments of those benefits in months after the month of the
last life trace (every payment when there is no trace at all).

Parameters (``[detectors.survival_risk]``)
----------------------------------------
paid_within_months : int, default 3
    "Still paid": the latest payment month is within this many months of the reference month
    (3 = the reference month or one of the two before it).
months_full_score : int, default 60
    Months without a life trace at which the duration part of the score is full.
amount_full_score : float, default 100000
    Amount at risk (yuan) at which the amount part of the score is full (log scale).
"""

from __future__ import annotations

import pandas as pd

from ringwatch import semantics
from ringwatch.contract import PENSION_SCHEMES
from ringwatch.graph.base import GraphView

from ._common import SCHEME_ZH, explode_payments, group_lists, log_share, tail4, with_receiver
from .base import Alert, DetectContext, register
from .evidence import lit_list

NAME = "survival_risk"

TRACE_SOURCE_ZH = {
    "activities": "活动记录",
    "claims": "就医记录",
    "identities": "证件办理",
    "accounts": "银行开户",
    "phones": "电话登记",
    "addresses": "住址登记",
    "employments": "参保就业",
    "renumberings": "证件号码变更",
}


def open_pensions(view: GraphView, ctx: DetectContext, paid_within_months: int = 3) -> pd.DataFrame:
    """Pension benefits open at the reference date and still paid, of persons with no death.

    Returns
    -------
    DataFrame
        ``benefit_id``, ``id_number``, ``person_id``, ``scheme``, ``last_month`` (latest paid
        month), sorted by person and benefit.
    """
    ref = pd.Timestamp(ctx.ref_date)
    ben = view.nodes("Benefit", ["benefit_id", "id_number", "scheme", "start_date", "end_date"])
    ben = ben[ben["scheme"].isin(PENSION_SCHEMES)]
    start_ok = ben["start_date"].isna() | (ben["start_date"] <= ref)
    end_ok = ben["end_date"].isna() | (ben["end_date"] >= ref)
    ben = with_receiver(view, ben[start_ok & end_ok])
    ident = view.nodes("Identity", ["id_number", "person_id", "death_date"])
    # skip the dead: §4 death on the person (any of their numbers) or on the identity
    dead = set(ctx.deaths["person_id"]) | set(ident.loc[ident["death_date"].notna(), "person_id"])
    ident = ident[ident["id_number"].isin(ben["id_number"])]  # the pensions' numbers only
    ben = ben.merge(ident, on="id_number", how="inner")
    ben = ben[~ben["person_id"].isin(dead)]
    paid = view.rels("PAID_TO", ["src", "last_month"])
    paid = paid[paid["src"].isin(ben["benefit_id"])].dropna(subset=["last_month"])
    paid = paid.assign(last_month=paid["last_month"].astype(str))
    last = paid.sort_values(["src", "last_month"], kind="mergesort").drop_duplicates("src", keep="last")
    last = last.rename(columns={"src": "benefit_id"})
    ben = ben.merge(last, on="benefit_id", how="inner")
    first_ok = semantics.add_months(semantics.month_of(ctx.ref_date), -max(1, paid_within_months) + 1)
    ben = ben[ben["last_month"].astype(str) >= first_ok]
    cols = ["benefit_id", "id_number", "person_id", "scheme", "last_month"]
    return ben.loc[:, cols].sort_values(["person_id", "benefit_id"], kind="mergesort").reset_index(drop=True)


def graded_pensioners(view: GraphView, ctx: DetectContext, paid_within_months: int = 3) -> pd.DataFrame:
    """Open, paid pensions of living persons with their §4 survival grade.

    Returns
    -------
    DataFrame
        The columns of :func:`open_pensions` plus ``last_trace`` (NaT = none),
        ``trace_source`` and ``grade``.
    """
    ben = open_pensions(view, ctx, paid_within_months)
    lt = ctx.last_traces.loc[:, ["person_id", "last_trace", "source"]].rename(
        columns={"source": "trace_source"}
    )
    ben = ben.merge(lt, on="person_id", how="left")
    ben["last_trace"] = pd.to_datetime(ben["last_trace"])
    ben["grade"] = semantics.survival_grades(ben["last_trace"], ctx.ref_date)
    return ben


def _score(months_without: float | None, amount: float, months_full: int, amount_full: float) -> float:
    m = (
        1.0
        if months_without is None
        else min(1.0, max(0.0, (months_without - 24.0) / max(1.0, months_full - 24.0)))
    )
    return 55.0 + 30.0 * m + 15.0 * log_share(amount, amount_full)


def evidence_cypher(person_ids: list[str], benefit_ids: list[str]) -> str:
    """Read-only evidence query: the person, identities, open pensions, payments, life traces."""
    return (
        "MATCH (p:Person)-[h:HAS_IDENTITY]->(i:Identity)-[r:RECEIVES]->(b:Benefit) "
        f"WHERE p.person_id IN {lit_list(person_ids)} AND b.benefit_id IN {lit_list(benefit_ids)} "
        "OPTIONAL MATCH (b)-[pt:PAID_TO]->(a:Account) "
        "OPTIONAL MATCH (i)-[ha:HAS_ACTIVITY]->(act:Activity) "
        "OPTIONAL MATCH (i)-[t:TREATED_AT]->(hos:Hospital) "
        "RETURN p, h, i, r, b, pt, a, ha, act, t, hos"
    )


@register(NAME, requires=("persons", "identities", "benefits", "payments", "activities"), version="1")
def detect(view: GraphView, ctx: DetectContext) -> list[Alert]:
    """Living pension recipients whose survival grade is ``low``.

    Parameters
    ----------
    view
        Graph frames or a live store.
    ctx
        Run context (reference date, parameters, cached §4 deaths and last life traces).

    Returns
    -------
    list of Alert
        One alert per person with ``details.grade == "low"``.
    """
    paid_within = int(ctx.p(NAME, "paid_within_months", 3))
    months_full = int(ctx.p(NAME, "months_full_score", 60))
    amount_full = float(ctx.p(NAME, "amount_full_score", 100000.0))

    ben = graded_pensioners(view, ctx, paid_within)
    low = ben[ben["grade"] == "low"]
    if low.empty:
        return []
    low_ids = set(low["benefit_id"])
    paid = view.rels("PAID_TO", ["src", "dst", "months", "amounts"])
    paid = paid[paid["src"].isin(low_ids)]
    accounts_of = group_lists(
        paid.merge(low.loc[:, ["benefit_id", "person_id"]], left_on="src", right_on="benefit_id"),
        "person_id",
        "dst",
    )
    e = explode_payments(paid)
    e["amount"] = pd.to_numeric(e["amount"], errors="coerce").fillna(0.0)
    e["month"] = e["month"].astype(str)
    # payments in months after the month of the last life trace (all of them without a trace)
    tm = low.loc[:, ["benefit_id", "person_id", "last_trace"]].copy()
    tm["trace_month"] = tm["last_trace"].dt.strftime("%Y-%m").fillna("")
    e = e.merge(tm.loc[:, ["benefit_id", "person_id", "trace_month"]], on="benefit_id", how="inner")
    e = e[e["month"].to_numpy(dtype=str) > e["trace_month"].to_numpy(dtype=str)]
    amount_of = e.groupby("person_id", sort=True)["amount"].sum().to_dict()
    months_of = group_lists(e, "person_id", "month")
    benefits_of = group_lists(low, "person_id", "benefit_id")
    receivers_of = group_lists(low, "person_id", "id_number")
    schemes_of = group_lists(low, "person_id", "scheme")
    first = low.sort_values(["person_id", "benefit_id"], kind="mergesort").drop_duplicates("person_id")
    latest_paid_of = (
        low.sort_values(["person_id", "last_month"], kind="mergesort")
        .drop_duplicates("person_id", keep="last")
        .set_index("person_id")["last_month"]
        .astype(str)
        .to_dict()
    )

    ref = ctx.ref_date
    alerts: list[Alert] = []
    for person_id, raw_last, raw_src in zip(
        first["person_id"].astype(str).tolist(),
        first["last_trace"].tolist(),
        first["trace_source"].tolist(),
        strict=True,
    ):
        benefits = benefits_of[person_id]
        receivers = receivers_of[person_id]
        accounts = accounts_of.get(person_id, [])
        last = semantics.to_date(raw_last)
        src = None if last is None or raw_src is None or pd.isna(raw_src) else str(raw_src)
        months_without = None if last is None else semantics.months_between(last, ref)
        amount = float(amount_of.get(person_id, 0.0))
        months_paid = months_of.get(person_id, [])
        schemes = schemes_of.get(person_id, [])
        scheme_zh = "、".join(SCHEME_ZH.get(s, s) for s in schemes)
        if last is None:
            trace_txt = "在全部数据中没有任何生存痕迹（活动、就医、出行、银行、证件、就业等记录均无）"
        else:
            trace_txt = (
                f"最近一次生存痕迹是{last.isoformat()}的{TRACE_SOURCE_ZH.get(src or '', '记录')}，"
                f"距参考日{ref.isoformat()}已{int(months_without or 0)}个月无任何活动、就医、出行或银行等记录"
            )
        explanation = (
            f"{scheme_zh}领取人（身份证尾号{'、'.join(tail4(i) for i in receivers)}）"
            + trace_txt
            + "，按静默认证规则生存状态为“低”（24个月内无生存痕迹），但待遇仍在按月发放"
            + (
                f"：此后已发放{len(months_paid)}个月、合计{amount:,.2f}元"
                + (f"，打入账户尾号{'、'.join(tail4(a) for a in accounts)}" if accounts else "")
                if months_paid
                else ""
            )
            + "。建议上门核实或远程认证，确认本人是否健在。"
        )
        details = {
            "grade": "low",
            "last_trace_date": None if last is None else last.isoformat(),
            "last_trace_source": src,
            "months_without_trace": None if months_without is None else int(months_without),
            "reference_date": ref.isoformat(),
            "months_paid_since_trace": months_paid,
            "n_months_paid_since_trace": len(months_paid),
            "latest_paid_month": latest_paid_of.get(person_id),
            "schemes": schemes,
        }
        alerts.append(
            Alert.build(
                NAME,
                key_members={"identity": receivers, "benefit": benefits},
                members={
                    "person": [str(person_id)],
                    "identity": receivers,
                    "benefit": benefits,
                    "account": accounts,
                },
                score=_score(months_without, amount, months_full, amount_full),
                amount_at_risk=amount,
                explanation=explanation,
                evidence_cypher=evidence_cypher([str(person_id)], benefits),
                details=details,
            )
        )
    return alerts
