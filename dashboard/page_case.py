"""Case view: explanation, members, timeline, interactive evidence graph, Cypher, case work.

The evidence graph comes from the alert's ``evidence_cypher`` run through the read-only
``run_read`` (row limit), drawn with st-link-analysis. Clicking a node shows its (masked)
properties; *expand* loads its neighbours with ``neighbourhood(..., cap=N)`` — never more
than the cap per expansion and never more than ``MAX_GRAPH_NODES`` on the canvas, with a
"N more not shown" message for the rest.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from ringwatch.contract import MEMBER_TYPES
from ringwatch.dashboard import casedata, common, masking
from ringwatch.dashboard.casework import STATUSES, CaseStore
from ringwatch.dashboard.common import Masker, StoreHandle, t
from ringwatch.dashboard.graphview import GraphCanvas, link_styles
from ringwatch.errors import RingwatchError
from ringwatch.graph.base import Subgraph
from ringwatch.graph.schema import MEMBER_LABELS

GRAPH_HEIGHT = 560


def _on_alert_input() -> None:
    value = str(st.session_state.get("case_alert_input") or "").strip()
    st.session_state["alert_id"] = value


def _graph_key(alert_id: str) -> str:
    return f"case_graph_{alert_id}"


def _on_graph_event(key: str) -> None:
    val = st.session_state.get(key) or {}
    action = val.get("action") if isinstance(val, dict) else None
    data = (val.get("data") or {}) if isinstance(val, dict) else {}
    if action == "node_click" and data.get("target_group") in (None, "nodes"):
        st.session_state["_sel_node"] = data.get("target_id")
    elif action == "expand":
        ids = data.get("node_ids") or []
        if ids:
            st.session_state["_sel_node"] = ids[0]
            st.session_state["_expand_req"] = ids[0]


def _new_canvas(
    handle: StoreHandle | None, alert: dict[str, Any]
) -> tuple[GraphCanvas, list[tuple[str, str]]]:
    """Build the evidence canvas of an alert; returns it and messages (kind, text)."""
    canvas = GraphCanvas(max_nodes=common.MAX_GRAPH_NODES)
    canvas.mark_members(alert["members"], MEMBER_LABELS)
    msgs: list[tuple[str, str]] = []
    if handle is not None and alert.get("evidence_cypher"):
        try:
            res = handle.run_read(alert["evidence_cypher"], limit=common.EVIDENCE_ROW_LIMIT, timeout_s=30.0)
            _added, not_shown = canvas.add(res.graph)
            if res.truncated:
                msgs.append(("warning", t("c_graph_truncated", limit=common.EVIDENCE_ROW_LIMIT)))
            if not_shown:
                msgs.append(("info", t("c_more_not_shown", n=not_shown)))
        except (RingwatchError, RuntimeError, ValueError) as e:
            msgs.append(("error", t("c_graph_error", error=masking.mask_text(str(e)))))
    if not canvas.nodes:
        if handle is not None:
            msgs.append(("info", t("c_graph_empty")))
        seeds = casedata.member_seed_nodes(alert["members"], limit=common.MAX_GRAPH_NODES)
        canvas.add(Subgraph(nodes=tuple(seeds), edges=()))
    return canvas, msgs


def _expand(
    handle: StoreHandle, canvas: GraphCanvas, oid: str, cap: int, cases: CaseStore, alert_id: str
) -> list[tuple[str, str]]:
    node = canvas.node(oid)
    if node is None:
        return []
    if canvas.full:
        return [("warning", t("c_canvas_full", max_nodes=canvas.max_nodes))]
    try:
        sg = handle.neighbourhood(node.label, node.key, hops=1, cap=cap)
    except (RingwatchError, RuntimeError, ValueError) as e:
        return [("error", t("c_graph_error", error=masking.mask_text(str(e))))]
    added, not_shown = canvas.add(sg)
    user = common.current_user()
    cases.log(
        user.name,
        "expand",
        alert_id,
        label=node.label,
        key=common.masking.mask_key(node.label, node.key),
        added=added,
        not_shown=not_shown,
    )
    msgs = [("success", t("c_expanded", added=added))]
    if not_shown:
        msgs.append(("warning", t("c_more_not_shown", n=not_shown)))
    if canvas.full:
        msgs.append(("warning", t("c_canvas_full", max_nodes=canvas.max_nodes)))
    return msgs


def _show_msgs(msgs: list[tuple[str, str]]) -> None:
    for kind, text in msgs:
        getattr(st, kind)(text)


def _graph_tab(handle: StoreHandle | None, alert: dict[str, Any], masker: Masker, cases: CaseStore) -> None:
    from st_link_analysis import Event, st_link_analysis

    alert_id = alert["alert_id"]
    state = st.session_state.get("_canvas")
    if not state or state[0] != alert_id:
        canvas, msgs = _new_canvas(handle, alert)
        st.session_state["_canvas"] = (alert_id, canvas, msgs)
        st.session_state.pop("_sel_node", None)
        st.session_state.pop("_graph_msgs", None)
    _aid, canvas, first_msgs = st.session_state["_canvas"]
    cap = int(st.session_state.get("keep_cap") or common.DEFAULT_EXPAND_CAP)
    req = st.session_state.pop("_expand_req", None)
    if req and handle is not None:
        st.session_state["_graph_msgs"] = _expand(handle, canvas, req, cap, cases, alert_id)
    _show_msgs(first_msgs)
    st.caption(t("c_graph_caption", cap=cap, max_nodes=canvas.max_nodes))
    left, right = st.columns([3, 1])
    with left:
        node_styles, edge_styles = link_styles()
        key = _graph_key(alert_id)
        st_link_analysis(
            canvas.elements(masker.prop),
            layout="cose",
            node_styles=node_styles,
            edge_styles=edge_styles,
            height=GRAPH_HEIGHT,
            key=key,
            on_change=functools.partial(_on_graph_event, key),
            node_actions=["expand"],
            events=[Event("node_click", "tap", "node")],
        )
        st.caption(t("c_graph_size", nodes=len(canvas.nodes), edges=len(canvas.edges)))
    with right:
        options = list(canvas.reverse)
        if not options:
            return
        sel = st.session_state.get("_sel_node")
        if sel in options and st.session_state.get("case_node_pick") != sel:
            st.session_state["case_node_pick"] = sel
        if st.session_state.get("case_node_pick") not in options:
            st.session_state["case_node_pick"] = options[0]

        def fmt(oid: str) -> str:
            n = canvas.node(oid)
            if n is None:
                return oid
            star = "★ " if n.id in canvas.members else ""
            return f"{star}{n.label}: {masker.key(n.label, n.key)}"

        oid = st.selectbox(t("c_node_pick"), options, format_func=fmt, key="case_node_pick")
        node = canvas.node(oid) if oid else None
        if node is not None:
            st.markdown(f"**{t('c_node_props')}**")
            props = masker.props({k: v for k, v in node.props.items() if k != "extra"}, node.label)
            st.dataframe(
                pd.DataFrame(
                    {
                        t("col_property"): list(props),
                        t("col_value"): ["" if v is None else str(v) for v in props.values()],
                    }
                ),
                hide_index=True,
                width="stretch",
            )
            disabled = handle is None or canvas.full
            if st.button(t("c_expand", cap=cap), key="case_expand", disabled=disabled, type="primary"):
                st.session_state["_graph_msgs"] = _expand(handle, canvas, oid, cap, cases, alert_id)  # type: ignore[arg-type]
                st.rerun()
        _show_msgs(st.session_state.get("_graph_msgs") or [])
        if st.button(t("c_reset_graph"), key="case_reset"):
            st.session_state.pop("_canvas", None)
            st.rerun()


def _members_tab(handle: StoreHandle | None, alert: dict[str, Any], masker: Masker) -> None:
    members: dict[str, list[str]] = alert["members"]
    stored: dict[str, pd.DataFrame] = {}
    if handle is not None:
        try:
            stored = _cached_members(str(handle.uri), alert["alert_id"], json.dumps(members, sort_keys=True))
        except (RingwatchError, RuntimeError, ValueError) as e:
            st.warning(t("c_graph_error", error=masking.mask_text(str(e))))
    for mtype in MEMBER_TYPES:
        ids = members.get(mtype)
        if not ids:
            continue
        st.markdown(f"**{t('c_members_of', type=t(f'member_{mtype}'), n=len(ids))}**")
        df = stored.get(mtype)
        label = MEMBER_LABELS[mtype]
        if df is not None and not df.empty:
            shown = df.copy()
            for col in shown.columns:
                shown[col] = shown[col].map(lambda v, c=col, lab=label: masker.prop(c, _plain(v), lab))
            st.dataframe(shown, hide_index=True, width="stretch")
        else:
            st.dataframe(
                pd.DataFrame({t("col_id"): [masker.member(mtype, i) for i in ids]}),
                hide_index=True,
                width="stretch",
            )


def _plain(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, float) and pd.isna(v):
        return None
    if hasattr(v, "isoformat"):
        return str(v.isoformat())[:10]
    return v


@st.cache_data(show_spinner=False, ttl=600, max_entries=64)
def _cached_members(uri: str, alert_id: str, members_json: str) -> dict[str, pd.DataFrame]:
    handle, _ = common.open_handle(uri)
    if handle is None:
        return {}
    return casedata.member_nodes(handle, json.loads(members_json))


@st.cache_data(show_spinner=False, ttl=600, max_entries=64)
def _cached_timeline(uri: str, alert_id: str, members_json: str) -> casedata.Timeline:
    handle, _ = common.open_handle(uri)
    if handle is None:
        return casedata.Timeline()
    return casedata.case_timeline(handle, json.loads(members_json))


def _timeline_tab(handle: StoreHandle | None, alert: dict[str, Any], masker: Masker) -> None:
    if handle is None:
        st.info(t("c_no_store"))
        return
    try:
        tl = _cached_timeline(handle.uri, alert["alert_id"], json.dumps(alert["members"], sort_keys=True))
    except (RingwatchError, RuntimeError, ValueError) as e:
        st.warning(t("c_graph_error", error=masking.mask_text(str(e))))
        return
    if tl.empty:
        st.info(t("c_no_timeline"))
        return
    if tl.capped:
        st.caption(t("c_timeline_capped", n=casedata.ROW_LIMIT))
    deaths = tl.deaths.assign(
        id_masked=tl.deaths["id_number"].map(lambda v: masker.prop("id_number", v)),
        what=t("c_death"),
    )
    rule = (
        alt.Chart(deaths)
        .mark_rule(color="#d62728", strokeWidth=3, strokeDash=[6, 3])
        .encode(x="date:T", tooltip=[alt.Tooltip("date:T", title=t("c_death")), alt.Tooltip("id_masked:N")])
    )
    label = (
        alt.Chart(deaths)
        .mark_text(color="#d62728", align="left", dx=4, dy=-6, fontWeight="bold")
        .encode(x="date:T", y=alt.value(8), text="what:N")
    )
    marks = rule + label
    if not tl.payments.empty:
        st.markdown(f"**{t('c_payments')}**")
        pay = tl.payments
        if not deaths.empty:
            # payments in a month later than the month after the death month (contract §4)
            first_death = deaths["date"].min()
            limit = (first_death + pd.offsets.MonthBegin(2)).normalize()
            pay = pay.assign(
                phase=(pay["month"] >= limit).map({True: t("c_after_death"), False: t("c_before_death")})
            )
            color = alt.Color(
                "phase:N",
                title="",
                scale=alt.Scale(
                    domain=[t("c_before_death"), t("c_after_death")], range=["#4C78A8", "#d62728"]
                ),
            )
        else:
            color = alt.Color("benefit_id:N", title=t("col_benefit"))
        bars = (
            alt.Chart(pay)
            .mark_bar()
            .encode(
                x=alt.X("yearmonth(month):T", title=t("col_month")),
                y=alt.Y("sum(amount):Q", title=t("col_amount")),
                color=color,
                tooltip=[
                    alt.Tooltip("yearmonth(month):T", title=t("col_month")),
                    alt.Tooltip("benefit_id:N", title=t("col_benefit")),
                    alt.Tooltip("scheme:N"),
                    alt.Tooltip("amount:Q", format=",.2f", title=t("col_amount")),
                ],
            )
        )
        st.altair_chart(bars + marks if not deaths.empty else bars, width="stretch")
    if not tl.events.empty:
        st.markdown(f"**{t('c_traces')}**")
        ev = tl.events.assign(where=tl.events["where"].astype(str))
        pts = (
            alt.Chart(ev)
            .mark_circle(size=80, opacity=0.8)
            .encode(
                x=alt.X("date:T", title=t("col_date")),
                y=alt.Y("kind:N", title=t("col_kind")),
                color=alt.Color("kind:N", legend=None),
                tooltip=[
                    alt.Tooltip("date:T", title=t("col_date")),
                    alt.Tooltip("kind:N", title=t("col_kind")),
                    alt.Tooltip("amount:Q", format=",.2f"),
                    alt.Tooltip("where:N"),
                ],
            )
        )
        st.altair_chart(pts + marks if not deaths.empty else pts, width="stretch")
    if tl.payments.empty and tl.events.empty and not deaths.empty:
        st.dataframe(
            deaths[["date", "id_masked"]].rename(columns={"date": t("c_death"), "id_masked": t("col_id")}),
            hide_index=True,
        )


def _cypher_tab(alert: dict[str, Any], masker: Masker) -> None:
    cypher = alert.get("evidence_cypher") or ""
    shown = masker.text(cypher)
    st.code(shown, language="cypher")
    st.caption(t("c_copy_hint"))
    if shown != cypher:
        st.caption(t("c_cypher_masked"))
    if st.button(t("c_run_in_console"), key="case_to_console"):
        st.session_state["console_evidence"] = alert["alert_id"]
        st.switch_page(st.session_state["_pages"]["console"])


def _history_tab(cases: CaseStore, alert_id: str, masker: Masker) -> None:
    log = cases.audit(alert_id=alert_id, limit=200)
    if log.empty:
        return
    st.dataframe(
        pd.DataFrame(
            {
                t("w_time"): log["time"],
                t("w_user"): log["user"],
                t("w_action"): log["action"],
                t("w_detail"): log["detail"].map(masker.text),
            }
        ),
        hide_index=True,
        width="stretch",
    )


def _casework(cases: CaseStore, alert_id: str) -> None:
    """Status and assignee (compact, beside the explanation)."""
    user = common.current_user()
    rec = cases.get(alert_id)
    st.markdown(f"**{t('c_casework')}**")
    if not user.can_casework:
        st.info(t("c_readonly"))
        st.markdown(f"{t('c_status')}: **{common.status_label(rec.status)}**")
        st.markdown(f"{t('c_assignee')}: **{rec.assignee or '-'}**")
        return
    with st.form(f"casework_{alert_id}", border=True):
        c1, c2 = st.columns(2)
        status = c1.selectbox(
            t("c_status"),
            STATUSES,
            index=STATUSES.index(rec.status) if rec.status in STATUSES else 0,
            format_func=common.status_label,
            key=f"cw_status_{alert_id}",
        )
        assignee = c2.text_input(t("c_assignee"), value=rec.assignee or "", key=f"cw_assignee_{alert_id}")
        saved = st.form_submit_button(t("c_save"), type="primary", key=f"cw_save_{alert_id}")
    if saved:
        changed = cases.set_status(alert_id, status, user.name)
        changed = cases.set_assignee(alert_id, assignee, user.name) or changed
        if changed:
            st.success(t("c_saved"))
        else:
            st.info(t("c_nochange"))


def _notes_tab(cases: CaseStore, alert_id: str, masker: Masker) -> None:
    user = common.current_user()
    for note in cases.notes(alert_id):
        st.markdown(f"- `{note.time[:19]}` **{note.user}**: {masker.text(note.text)}")
    if user.can_casework:
        with st.form(f"note_{alert_id}", clear_on_submit=True):
            text = st.text_area(t("c_note_new"), height=80, key=f"cw_note_{alert_id}")
            add = st.form_submit_button(t("c_note_add"), key=f"cw_note_add_{alert_id}")
        if add:
            if text.strip():
                cases.add_note(alert_id, text, user.name)
                st.rerun()
            else:
                st.warning(t("c_note_empty"))
    st.markdown(f"**{t('c_tab_history')}**")
    _history_tab(cases, alert_id, masker)


def render() -> None:
    """Draw the case view."""
    cfg = common.config()
    table = common.get_alerts(cfg)
    cases = common.get_cases(cfg)
    qp = st.query_params.get("alert")
    if qp and qp != st.session_state.get("_last_qp"):
        st.session_state["_last_qp"] = qp
        st.session_state["alert_id"] = qp
    alert_id = str(st.session_state.get("alert_id") or "")
    if st.session_state.get("case_alert_input") != alert_id:
        st.session_state["case_alert_input"] = alert_id
    st.text_input(t("c_pick"), key="case_alert_input", on_change=_on_alert_input, help=t("c_pick_help"))
    if not alert_id:
        st.info(t("c_none"))
        return
    alert = table.get(alert_id)
    if alert is None:
        st.error(t("c_unknown", alert_id=alert_id))
        return
    if st.query_params.get("alert") != alert_id:
        st.query_params["alert"] = alert_id
        st.session_state["_last_qp"] = alert_id
    user = common.current_user()
    if st.session_state.get("_viewed") != alert_id:
        cases.log(user.name, "view", alert_id)
        st.session_state["_viewed"] = alert_id
    masker = common.get_masker(f"case:{alert_id}")
    handle, store_err = common.get_store(cfg)
    if handle is None:
        st.warning(t("store_missing", error=store_err))

    st.title(f"{common.level_label(alert['level'])} · {common.detector_label(alert['detector'])}")
    cols = st.columns(5)
    cols[0].metric(t("col_score"), f"{alert['score']:.1f}")
    cols[1].metric(t("col_amount"), f"¥{alert['amount_at_risk']:,.2f}")
    cols[2].metric(t("col_first_seen"), alert.get("first_seen") or "-")
    cols[3].metric(t("col_members"), sum(len(v) for v in alert["members"].values()))
    cols[4].metric(t("col_status"), common.status_label(cases.get(alert_id).status))
    main, side = st.columns([2, 1])
    with main:
        st.markdown(f"**{t('c_explanation')}**")
        st.info(masker.text(alert["explanation"]))
        if alert.get("details"):
            with st.expander(t("c_details")):
                st.json(_mask_details(alert["details"], masker))
        st.caption(f"{t('col_alert_id')}: `{alert_id}` · {t('col_region')}: {alert.get('region') or '-'}")
    with side:
        _casework(cases, alert_id)

    tabs = st.tabs(
        [t("c_tab_graph"), t("c_tab_members"), t("c_tab_timeline"), t("c_tab_cypher"), t("c_tab_notes")]
    )
    with tabs[0]:
        _graph_tab(handle, alert, masker, cases)
    with tabs[1]:
        _members_tab(handle, alert, masker)
    with tabs[2]:
        _timeline_tab(handle, alert, masker)
    with tabs[3]:
        _cypher_tab(alert, masker)
    with tabs[4]:
        _notes_tab(cases, alert_id, masker)


def _mask_details(details: Any, masker: Masker, key: str = "") -> Any:
    if isinstance(details, dict):
        return {k: _mask_details(v, masker, k) for k, v in details.items()}
    if isinstance(details, list):
        return [_mask_details(v, masker, key) for v in details]
    return (
        masker.prop(key, details) if key else (masker.text(details) if isinstance(details, str) else details)
    )


if __name__ == "__main__":
    render()
