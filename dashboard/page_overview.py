"""Overview page: headline counts, amount at risk, new alerts and charts."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from ringwatch.contract import DETECTORS
from ringwatch.dashboard import common
from ringwatch.dashboard.alertdata import LEVELS, summary
from ringwatch.dashboard.casework import STATUSES
from ringwatch.dashboard.common import t

LEVEL_COLORS = {"red": "#d62728", "orange": "#ff7f0e", "yellow": "#e6c200"}
TOP_REGIONS = 15


def _yuan(x: float) -> str:
    if abs(x) >= 1e8:
        return f"¥{x / 1e8:,.2f} 亿" if common.lang() == "zh" else f"¥{x / 1e6:,.1f}M"
    if abs(x) >= 1e4 and common.lang() == "zh":
        return f"¥{x / 1e4:,.1f} 万"
    return f"¥{x:,.0f}"


def render() -> None:
    """Draw the overview."""
    cfg = common.config()
    st.title(t("ov_title"))
    table = common.get_alerts(cfg)
    if len(table) == 0:
        st.info(t("no_alerts", path=str(cfg.alerts_file)))
        return
    f = table.frame
    latest = table.latest_run_date
    s = summary(f, latest)
    cols = st.columns(6)
    cols[0].metric(t("ov_alerts"), f"{s['alerts']:,}")
    cols[1].metric(t("ov_red"), f"{s['red']:,}")
    cols[2].metric(t("ov_orange"), f"{s['orange']:,}")
    cols[3].metric(t("ov_yellow"), f"{s['yellow']:,}")
    cols[4].metric(t("ov_amount"), _yuan(s["amount"]))
    cols[5].metric(t("ov_new"), f"{s['new']:,}", help=t("ov_new_help", date=latest or "-"))

    det_names = {d: common.detector_label(d) for d in DETECTORS}
    lvl_names = {lv: t(f"lvl_{lv}") for lv in LEVELS}
    by = f.groupby(["detector", "level"], observed=True).agg(
        n=("alert_id", "size"), amount=("amount_at_risk", "sum")
    )
    by = by.reset_index()
    by["detector_name"] = by["detector"].map(lambda d: det_names.get(d, d))
    by["level_name"] = by["level"].map(lambda lv: lvl_names.get(lv, lv))
    color = alt.Color(
        "level_name:N",
        title=t("col_level"),
        scale=alt.Scale(domain=[lvl_names[lv] for lv in LEVELS], range=[LEVEL_COLORS[lv] for lv in LEVELS]),
    )
    left, right = st.columns(2)
    with left:
        st.subheader(t("ov_by_detector"))
        chart = (
            alt.Chart(by)
            .mark_bar()
            .encode(
                y=alt.Y("detector_name:N", title=t("col_detector"), sort="-x"),
                x=alt.X("sum(n):Q", title=t("col_count")),
                color=color,
                tooltip=[
                    alt.Tooltip("detector_name:N", title=t("col_detector")),
                    alt.Tooltip("level_name:N", title=t("col_level")),
                    alt.Tooltip("n:Q", title=t("col_count")),
                ],
            )
        )
        st.altair_chart(chart, width="stretch")
    with right:
        st.subheader(t("ov_score_hist"))
        # binned here (5-point bins), so the browser gets 60 rows, not one per alert
        lo = (f["score"].clip(0, 99.999) // 5 * 5).astype(int)
        hist = (
            pd.DataFrame({"lo": lo, "level": f["level"]})
            .groupby(["lo", "level"], as_index=False)
            .size()
            .rename(columns={"size": "n"})
        )
        hist["hi"] = hist["lo"] + 5
        hist["level_name"] = hist["level"].map(lambda lv: lvl_names.get(lv, lv))
        chart = (
            alt.Chart(hist)
            .mark_bar()
            .encode(
                x=alt.X("lo:Q", title=t("col_score"), scale=alt.Scale(domain=[0, 100])),
                x2="hi:Q",
                y=alt.Y("sum(n):Q", title=t("col_count")),
                color=color,
                tooltip=[
                    alt.Tooltip("lo:Q", title=t("col_score")),
                    alt.Tooltip("level_name:N", title=t("col_level")),
                    alt.Tooltip("n:Q", title=t("col_count")),
                ],
            )
        )
        st.altair_chart(chart, width="stretch")

    left, right = st.columns(2)
    with left:
        st.subheader(t("ov_amount_by_detector"))
        amt = by.groupby("detector_name", as_index=False)["amount"].sum()
        chart = (
            alt.Chart(amt)
            .mark_bar(color="#4C78A8")
            .encode(
                y=alt.Y("detector_name:N", title=t("col_detector"), sort="-x"),
                x=alt.X("amount:Q", title=t("col_amount")),
                tooltip=[
                    alt.Tooltip("detector_name:N", title=t("col_detector")),
                    alt.Tooltip("amount:Q", title=t("col_amount"), format=",.2f"),
                ],
            )
        )
        st.altair_chart(chart, width="stretch")
    with right:
        st.subheader(t("ov_by_region", n=TOP_REGIONS))
        reg = (
            f["region"].replace("", t("ov_region_unknown"))
            if "region" in f.columns
            else pd.Series([], dtype=object)
        )
        top = reg.value_counts().head(TOP_REGIONS).rename_axis("region").reset_index(name="n")
        chart = (
            alt.Chart(top)
            .mark_bar(color="#72B7B2")
            .encode(
                y=alt.Y("region:N", title=t("col_region"), sort="-x"),
                x=alt.X("n:Q", title=t("col_count")),
                tooltip=[
                    alt.Tooltip("region:N", title=t("col_region")),
                    alt.Tooltip("n:Q", title=t("col_count")),
                ],
            )
        )
        st.altair_chart(chart, width="stretch")

    left, right = st.columns(2)
    with left:
        st.subheader(t("ov_case_status"))
        statuses = common.get_cases(cfg).statuses()
        in_run = f["alert_id"].map(lambda a: statuses.get(a, "new"))
        counts = in_run.value_counts()
        scols = st.columns(len(STATUSES))
        for c, status in zip(scols, STATUSES, strict=True):
            c.metric(common.status_label(status), f"{int(counts.get(status, 0)):,}")
    with right:
        handle, _err = common.get_store(cfg)
        if handle is not None:
            st.subheader(t("ov_store_counts"))
            counts_store = _store_counts(cfg.store or "")
            if counts_store:
                st.dataframe(
                    pd.DataFrame(
                        {t("col_label"): list(counts_store), t("col_count"): list(counts_store.values())}
                    ),
                    hide_index=True,
                    width="stretch",
                )


@st.cache_data(show_spinner=False, ttl=600)
def _store_counts(uri: str) -> dict[str, int]:
    cfg: common.Config = st.session_state["_cfg"]
    handle, _ = common.get_store(cfg)
    if handle is None:
        return {}
    try:
        return {k: int(v) for k, v in handle.counts().items()}
    except Exception:  # counts are decoration: never break the overview
        return {}


if __name__ == "__main__":
    render()
