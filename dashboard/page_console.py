"""Cypher console: read-only queries through ``store.run_read`` with row limit and timeout.

The store runs analyst Cypher on a read-only connection behind a guard; a write raises
``ReadOnlyViolation``, shown here as a plain error message. Results are masked and, when
nodes or paths come back, also drawn as a graph. Every query is audit-logged.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from ringwatch.contract import DETECTORS
from ringwatch.dashboard import common, masking
from ringwatch.dashboard.common import StoreHandle, t
from ringwatch.dashboard.graphview import GraphCanvas, link_styles
from ringwatch.dashboard.queries import EXAMPLES
from ringwatch.errors import ReadOnlyViolation, RingwatchError

DEFAULT_LIMIT = 200
MAX_LIMIT = 10_000


def _load_example() -> None:
    idx = st.session_state.get("console_example")
    if idx is not None:
        st.session_state["keep_console_text"] = EXAMPLES[int(idx)].cypher


def run_query(handle: StoreHandle, cypher: str, limit: int, timeout_s: float, source: str) -> dict[str, Any]:
    """Run a console query and return a result record for the session (never raises).

    Returns
    -------
    dict
        ``ok``, ``error`` (message, masked) or ``rejected``; ``frame``, ``graph``,
        ``truncated``, ``seconds``, ``cypher``.
    """
    user = common.current_user()
    cfg: common.Config = st.session_state["_cfg"]
    common.get_cases(cfg).log(user.name, "query", None, cypher=cypher, source=source, limit=limit)
    try:
        res, secs = common.timed(handle.run_read, cypher, None, limit=limit, timeout_s=timeout_s)
    except ReadOnlyViolation as e:
        return {"ok": False, "rejected": True, "error": masking.mask_text(str(e))}
    except RingwatchError as e:
        return {"ok": False, "rejected": False, "error": masking.mask_text(str(e))}
    except Exception as e:  # any driver error: a message, never a stack trace
        return {"ok": False, "rejected": False, "error": masking.mask_text(f"{type(e).__name__}: {e}")}
    return {
        "ok": True,
        "frame": res.frame,
        "graph": res.graph,
        "truncated": bool(res.truncated),
        "seconds": secs,
        "cypher": cypher,
        "limit": limit,
    }


def _show_result(result: dict[str, Any]) -> None:
    if not result["ok"]:
        if result.get("rejected"):
            st.error(t("k_rejected", error=result["error"]), icon=":material/block:")
        else:
            st.error(t("k_failed", error=result["error"]))
        return
    masker = common.get_masker("console")
    frame = result["frame"]
    st.caption(t("k_rows", n=len(frame), s=result["seconds"]))
    if result["truncated"]:
        st.warning(t("k_truncated", n=result["limit"]))
    st.dataframe(masker.frame(frame, result["cypher"]), hide_index=True, width="stretch")
    graph = result.get("graph")
    if graph is not None and graph.nodes:
        from st_link_analysis import st_link_analysis

        canvas = GraphCanvas(max_nodes=common.MAX_GRAPH_NODES)
        _added, not_shown = canvas.add(graph)
        st.markdown(f"**{t('k_graph', nodes=len(canvas.nodes))}**")
        if not_shown:
            st.info(t("c_more_not_shown", n=not_shown))
        node_styles, edge_styles = link_styles()
        st_link_analysis(
            canvas.elements(masker.prop),
            layout="cose",
            node_styles=node_styles,
            edge_styles=edge_styles,
            height=520,
            key=f"console_graph_{id(graph)}",
        )


def render() -> None:
    """Draw the console."""
    cfg = common.config()
    st.title(t("k_title"))
    st.caption(t("k_caption"))
    handle, err = common.get_store(cfg)
    if handle is None:
        st.warning(t("k_no_store") + f" ({err})")
        return
    lang = common.lang()

    ev_id = st.session_state.get("console_evidence")
    if ev_id:
        alert = common.get_alerts(cfg).get(ev_id)
        if alert is not None:
            masker = common.get_masker("console")
            with st.container(border=True):
                st.markdown(f"**{t('k_evidence', alert_id=ev_id)}**")
                st.code(masker.text(alert["evidence_cypher"]), language="cypher")
                c1, c2 = st.columns([1, 4])
                if c1.button(t("k_run_evidence"), key="console_run_evidence", type="primary"):
                    st.session_state["console_result"] = run_query(
                        handle, alert["evidence_cypher"], DEFAULT_LIMIT, 30.0, f"alert:{ev_id}"
                    )
                if c2.button(t("k_clear_evidence"), key="console_clear_evidence"):
                    st.session_state.pop("console_evidence", None)
                    st.rerun()

    def fmt(i: int) -> str:
        e = EXAMPLES[i]
        det = common.detector_label(e.detector) if e.detector in DETECTORS else ""
        return f"{det} · {e.title(lang)}" if det else e.title(lang)

    c1, c2 = st.columns([4, 1])
    c1.selectbox(t("k_examples"), range(len(EXAMPLES)), format_func=fmt, key="console_example")
    c2.write("")
    c2.button(t("k_load"), key="console_load", on_click=_load_example)
    st.session_state.setdefault("keep_console_text", EXAMPLES[0].cypher)
    st.session_state.setdefault("keep_console_limit", DEFAULT_LIMIT)
    st.session_state.setdefault("keep_console_timeout", 10)
    st.text_area(t("k_query"), height=180, key="keep_console_text")
    c1, c2, c3 = st.columns([1, 1, 3])
    limit = c1.number_input(t("k_limit"), min_value=1, max_value=MAX_LIMIT, step=50, key="keep_console_limit")
    timeout = c2.number_input(t("k_timeout"), min_value=1, max_value=300, step=5, key="keep_console_timeout")
    c3.write("")
    if c3.button(t("k_run"), key="console_run", type="primary"):
        text = str(st.session_state.get("keep_console_text") or "").strip()
        if not text:
            st.warning(t("k_empty"))
        else:
            st.session_state["console_result"] = run_query(
                handle, text, int(limit), float(timeout), "console"
            )
    result = st.session_state.get("console_result")
    if result:
        _show_result(result)


if __name__ == "__main__":
    render()
