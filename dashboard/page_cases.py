"""Case work page: every case touched so far (across runs), and the audit log with its check."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ringwatch.dashboard import common
from ringwatch.dashboard.casework import STATUSES
from ringwatch.dashboard.common import t


def render() -> None:
    """Draw the case-work overview and the audit log."""
    cfg = common.config()
    st.title(t("w_title"))
    cases = common.get_cases(cfg)
    table = common.get_alerts(cfg)
    user = common.current_user()
    masker = common.get_masker()

    c1, c2 = st.columns([3, 1])
    statuses = c1.multiselect(
        t("q_statuses"),
        list(STATUSES),
        format_func=common.status_label,
        key="keep_w_status",
        placeholder=t("all"),
    )
    mine = c2.toggle(t("w_mine"), key="keep_w_mine")
    df = cases.cases()
    if statuses:
        df = df[df["status"].isin(statuses)]
    if mine:
        df = df[df["assignee"] == user.name]
    if df.empty:
        st.info(t("w_none"))
    else:
        info = table.frame.set_index("alert_id")[["detector", "level", "score", "amount_at_risk"]]
        joined = df.join(info, on="alert_id")
        show = pd.DataFrame(
            {
                t("col_alert_id"): joined["alert_id"],
                t("col_status"): joined["status"].map(common.status_label),
                t("col_assignee"): joined["assignee"].fillna(""),
                t("col_detector"): joined["detector"].map(
                    lambda d: common.detector_label(d) if isinstance(d, str) else ""
                ),
                t("col_level"): joined["level"].map(
                    lambda lv: common.level_label(lv) if isinstance(lv, str) else ""
                ),
                t("col_score"): joined["score"],
                t("col_amount"): joined["amount_at_risk"],
                t("col_notes"): joined["notes"],
                t("col_updated"): joined["updated_at"].str.slice(0, 19),
                t("col_updated_by"): joined["updated_by"],
                t("col_in_run"): joined["detector"].notna(),
            }
        )
        st.dataframe(show, hide_index=True, width="stretch")
        c1, c2 = st.columns([3, 1])
        pick = c1.selectbox(t("q_open_pick"), df["alert_id"].tolist(), key="cases_pick")
        c2.write("")
        if c2.button(t("q_open"), key="cases_open", type="primary") and pick:
            st.session_state["alert_id"] = pick
            st.switch_page(st.session_state["_pages"]["case"])

    st.subheader(t("w_audit"))
    if st.button(t("w_verify"), key="audit_verify"):
        res = cases.verify()
        if res.ok:
            st.success(t("w_verify_ok", n=res.checked))
        else:
            st.error(
                t(
                    "w_verify_bad",
                    n=res.checked,
                    seq=res.bad_seq if res.bad_seq is not None else "-",
                    reason=res.reason,
                )
            )
    log = cases.audit(limit=300)
    if not log.empty:
        st.dataframe(
            pd.DataFrame(
                {
                    "#": log["seq"],
                    t("w_time"): log["time"].str.slice(0, 19),
                    t("w_user"): log["user"],
                    t("w_action"): log["action"],
                    t("col_alert_id"): log["alert_id"].fillna(""),
                    t("w_detail"): log["detail"].map(masker.text),
                    "hash": log["hash"].str.slice(0, 12),
                }
            ),
            hide_index=True,
            width="stretch",
        )


if __name__ == "__main__":
    render()
