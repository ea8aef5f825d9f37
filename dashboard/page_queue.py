"""Alert queue page: filter, search, sort and page through alerts; open one as a case.

Filtering runs once per rerun over the whole table with vectorised pandas operations
(milliseconds for 100k alerts); only one page of rows is formatted and sent to the
browser.
"""

from __future__ import annotations

from typing import cast

import streamlit as st

from ringwatch.contract import DETECTORS
from ringwatch.dashboard import common
from ringwatch.dashboard.alertdata import LEVELS, AlertFilter, apply_filter, page_slice, sort_frame
from ringwatch.dashboard.casework import STATUSES
from ringwatch.dashboard.common import t

PAGE_SIZES = (25, 50, 100, 200)
SORT_COLUMNS = ("score", "amount_at_risk", "first_seen", "n_members", "detector", "region", "status")
_SORT_LABELS = {
    "score": "col_score",
    "amount_at_risk": "col_amount",
    "first_seen": "col_first_seen",
    "n_members": "col_members",
    "detector": "col_detector",
    "region": "col_region",
    "status": "col_status",
}


def _open_selected() -> None:
    state = st.session_state.get("queue_table")
    rows = list(getattr(getattr(state, "selection", None), "rows", []) or [])
    ids = st.session_state.get("_queue_page_ids", [])
    if rows and rows[0] < len(ids):
        st.session_state["alert_id"] = ids[rows[0]]
        st.session_state["_goto_case"] = True


def goto_case(alert_id: str) -> None:
    """Open ``alert_id`` in the case view."""
    st.session_state["alert_id"] = alert_id
    st.switch_page(st.session_state["_pages"]["case"])


def render() -> None:
    """Draw the queue."""
    if st.session_state.pop("_goto_case", False) and st.session_state.get("alert_id"):
        goto_case(st.session_state["alert_id"])
    cfg = common.config()
    st.title(t("q_title"))
    table = common.get_alerts(cfg)
    if len(table) == 0:
        st.info(t("no_alerts", path=str(cfg.alerts_file)))
        return
    f = table.frame
    regions = sorted(r for r in f["region"].unique() if r) if "region" in f.columns else []
    with st.expander(t("q_filters"), expanded=True, icon=":material/filter_alt:"):
        c1, c2, c3, c4 = st.columns(4)
        detectors = c1.multiselect(
            t("q_detectors"),
            list(DETECTORS),
            format_func=common.detector_label,
            key="keep_q_det",
            placeholder=t("all"),
        )
        levels = c2.multiselect(
            t("q_levels"),
            list(LEVELS),
            format_func=common.level_label,
            key="keep_q_lvl",
            placeholder=t("all"),
        )
        sel_regions = c3.multiselect(t("q_regions"), regions, key="keep_q_reg", placeholder=t("all"))
        statuses = c4.multiselect(
            t("q_statuses"),
            list(STATUSES),
            format_func=common.status_label,
            key="keep_q_status",
            placeholder=t("all"),
        )
        c1, c2, c3, c4 = st.columns(4)
        st.session_state.setdefault("keep_q_score", (0.0, 100.0))
        st.session_state.setdefault("keep_q_amin", 0.0)
        st.session_state.setdefault("keep_q_amax", 0.0)
        score = cast(tuple[float, float], c1.slider(t("q_score"), 0.0, 100.0, step=1.0, key="keep_q_score"))
        amin = c2.number_input(t("q_amount_min"), min_value=0.0, step=1000.0, key="keep_q_amin")
        amax = c3.number_input(t("q_amount_max"), min_value=0.0, step=1000.0, key="keep_q_amax")
        new_only = c4.checkbox(t("q_new_only"), key="keep_q_new")
        query = st.text_input(t("q_search"), help=t("q_search_help"), key="keep_q_search")
    flt = AlertFilter(
        detectors=detectors,
        levels=levels,
        regions=sel_regions,
        statuses=statuses,
        score_range=(float(score[0]), float(score[1])),
        amount_range=(float(amin) if amin else None, float(amax) if amax else None),
        query=query,
        new_only=new_only,
    )
    cases = common.get_cases(cfg)
    filtered = apply_filter(table, flt, cases.statuses())

    c1, c2, c3, c4 = st.columns([2, 1, 1, 1])
    sort_col = c1.selectbox(
        t("q_sort"), SORT_COLUMNS, format_func=lambda c: t(_SORT_LABELS[c]), key="keep_q_sort"
    )
    st.session_state.setdefault("keep_q_desc", True)
    desc = c2.toggle(t("q_desc"), key="keep_q_desc")
    page_size = c3.selectbox(t("q_page_size"), PAGE_SIZES, key="keep_q_psize")
    signature = (repr(flt), sort_col, desc, page_size)
    if st.session_state.get("_queue_sig") != signature:
        st.session_state["_queue_sig"] = signature
        st.session_state["keep_q_page"] = 1
    n_pages = max(1, -(-len(filtered) // page_size))
    st.session_state["keep_q_page"] = min(max(1, int(st.session_state.get("keep_q_page", 1))), n_pages)
    page_no = c4.number_input(t("q_page"), min_value=1, max_value=n_pages, step=1, key="keep_q_page")
    ordered = sort_frame(filtered, sort_col, ascending=not desc)
    page, n_pages = page_slice(ordered, int(page_no), page_size)
    st.caption(t("q_matching", n=f"{len(filtered):,}", page=int(page_no), pages=n_pages))
    if page.empty:
        st.info(t("q_none"))
        return

    masker = common.get_masker("queue")
    show = page.assign(
        level=page["level"].map(common.level_label),
        detector=page["detector"].map(common.detector_label),
        status=page["status"].map(common.status_label),
        explanation=page["explanation"].map(lambda s: masker.text(s)[:160]),
    )[
        [
            "level",
            "score",
            "detector",
            "amount_at_risk",
            "region",
            "status",
            "first_seen",
            "n_members",
            "explanation",
            "alert_id",
        ]
    ]
    st.session_state["_queue_page_ids"] = page["alert_id"].tolist()
    cc = st.column_config
    st.dataframe(
        show,
        hide_index=True,
        width="stretch",
        key="queue_table",
        on_select=_open_selected,
        selection_mode="single-row",
        column_config={
            "level": cc.TextColumn(t("col_level"), width="small"),
            "score": cc.ProgressColumn(
                t("col_score"), min_value=0, max_value=100, format="%.1f", width="small"
            ),
            "detector": cc.TextColumn(t("col_detector")),
            "amount_at_risk": cc.NumberColumn(t("col_amount"), format="localized"),
            "region": cc.TextColumn(t("col_region"), width="small"),
            "status": cc.TextColumn(t("col_status"), width="small"),
            "first_seen": cc.TextColumn(t("col_first_seen"), width="small"),
            "n_members": cc.NumberColumn(t("col_members"), width="small"),
            "explanation": cc.TextColumn(t("col_explanation"), width="large"),
            "alert_id": cc.TextColumn(t("col_alert_id")),
        },
    )
    st.caption(t("q_select_hint"))
    c1, c2 = st.columns([3, 1])
    pick = c1.selectbox(t("q_open_pick"), page["alert_id"].tolist(), key="queue_pick")
    c2.write("")
    if c2.button(t("q_open"), key="queue_open", type="primary") and pick:
        goto_case(pick)


if __name__ == "__main__":
    render()
