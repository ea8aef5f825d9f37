"""Runtime shared by the dashboard pages: configuration, store, alerts, case DB, user, i18n.

Configuration comes from the command line after ``--`` (``streamlit run app.py -- --store
… --alerts …``) or from the environment (``RINGWATCH_STORE``, ``RINGWATCH_ALERTS``,
``RINGWATCH_USERS``, ``RINGWATCH_CASES_DB``, ``RINGWATCH_EXPAND_CAP``), arguments first.
Heavy objects (the read-only store, the alert table, the case DB) are cached once per
process with ``st.cache_resource`` and shared read-only by all sessions.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from ringwatch.errors import RingwatchError
from ringwatch.graph.base import GraphStore, QueryResult, Subgraph
from ringwatch.results import current_file

from . import masking
from .alertdata import AlertTable, assign_regions, load_alerts
from .casework import CaseStore, default_cases_path
from .i18n import DEFAULT_LANG, tr
from .users import User, local_user

log = logging.getLogger("ringwatch.dashboard")

DEFAULT_EXPAND_CAP = 100
MAX_EXPAND_CAP = 1000
MAX_GRAPH_NODES = 500
EVIDENCE_ROW_LIMIT = 2000
TIMELINE_LIMIT = 5000

#: session keys of widgets whose values survive page switches (see keep_widget_state)
KEEP_PREFIX = "keep_"


@dataclass(frozen=True)
class Config:
    """Where the dashboard reads from.

    Attributes
    ----------
    store
        Embedded store path or ``neo4j://``/``bolt://`` URI (``None``: no graph store).
    alerts_dir
        Directory with ``alerts.jsonl`` (or the file itself).
    users_file
        Users TOML; ``None`` means local single-user mode.
    cases_db
        SQLite file for case work and the audit log.
    expand_cap
        Default neighbour expansion cap.
    """

    store: str | None
    alerts_dir: Path
    users_file: Path | None
    cases_db: Path
    expand_cap: int = DEFAULT_EXPAND_CAP

    @property
    def alerts_file(self) -> Path:
        p = Path(self.alerts_dir)
        return p / "alerts.jsonl" if p.suffix != ".jsonl" else p


def read_config(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Build the :class:`Config` from script arguments and environment variables.

    Parameters
    ----------
    argv
        Arguments after ``--`` (default ``sys.argv[1:]``; unknown arguments are ignored, so
        the function is safe under pytest).
    env
        Environment (default ``os.environ``).

    Returns
    -------
    Config
        The configuration.
    """
    env = os.environ if env is None else env
    ap = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    ap.add_argument("--store")
    ap.add_argument("--alerts")
    ap.add_argument("--users")
    ap.add_argument("--cases-db")
    ap.add_argument("--expand-cap", type=int)
    args, _ = ap.parse_known_args(list(sys.argv[1:] if argv is None else argv))
    store = args.store or env.get("RINGWATCH_STORE") or None
    alerts = Path(args.alerts or env.get("RINGWATCH_ALERTS") or "out")
    users = args.users or env.get("RINGWATCH_USERS") or None
    cases = args.cases_db or env.get("RINGWATCH_CASES_DB") or None
    cap = args.expand_cap or int(env.get("RINGWATCH_EXPAND_CAP") or DEFAULT_EXPAND_CAP)
    cases_path = Path(cases) if cases else default_cases_path(store or str(alerts / "ringwatch"), alerts)
    return Config(
        store=store,
        alerts_dir=alerts,
        users_file=Path(users) if users else None,
        cases_db=cases_path,
        expand_cap=max(1, min(MAX_EXPAND_CAP, cap)),
    )


# -- the store ------------------------------------------------------------------------
class StoreHandle:
    """A read-only store shared by all sessions; calls are serialised with a lock.

    Parameters
    ----------
    store
        An open :class:`~ringwatch.graph.base.GraphStore`.
    uri
        What it was opened from (for display).
    """

    def __init__(self, store: GraphStore, uri: str) -> None:
        self.store = store
        self.uri = uri
        self._lock = threading.RLock()

    def run_read(
        self,
        cypher: str,
        params: Mapping[str, Any] | None = None,
        *,
        limit: int = 1000,
        timeout_s: float = 10.0,
    ) -> QueryResult:
        with self._lock:
            return self.store.run_read(cypher, params, limit=limit, timeout_s=timeout_s)

    def neighbourhood(
        self, label: str, key: str, *, hops: int = 1, cap: int = DEFAULT_EXPAND_CAP
    ) -> Subgraph:
        with self._lock:
            return self.store.neighbourhood(label, key, hops=hops, cap=cap)

    def nodes(self, label: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
        with self._lock:
            return self.store.nodes(label, columns)

    def counts(self) -> dict[str, int]:
        with self._lock:
            return self.store.counts()

    def meta(self) -> dict[str, str]:
        with self._lock:
            return self.store.get_meta()


@st.cache_resource(show_spinner=False)
def _open_store_cached(uri: str) -> StoreHandle:
    from ringwatch.graph import open_store

    return StoreHandle(open_store(uri, read_only=True), uri)


def open_handle(uri: str) -> tuple[StoreHandle | None, str]:
    """The shared read-only store at ``uri``, or ``(None, reason)``.

    Failures are not cached: a store that appears later (or a server that comes back)
    is picked up on the next page run.
    """
    if "://" not in uri and not Path(uri).exists():
        return None, f"{uri} does not exist"
    try:
        return _open_store_cached(uri), ""
    except (RingwatchError, ImportError, OSError, RuntimeError, ValueError) as e:
        log.warning("graph store unavailable: %s", type(e).__name__)
        return None, masking.mask_text(str(e)) or type(e).__name__


def get_store(cfg: Config) -> tuple[StoreHandle | None, str]:
    """The shared read-only store, or ``(None, reason)`` when it cannot be opened."""
    if not cfg.store:
        return None, "no store configured"
    return open_handle(cfg.store)


# -- alerts ---------------------------------------------------------------------------
def _file_key(path: Path) -> tuple[str, float, int]:
    try:
        s = path.stat()
        return str(path), s.st_mtime, s.st_size
    except FileNotFoundError:
        return str(path), 0.0, 0


@st.cache_resource(show_spinner=False, max_entries=4)
def _alerts(path: str, mtime: float, size: int, store_uri: str | None) -> AlertTable:
    table = load_alerts(Path(path))
    region_of: dict[str, dict[str, str]] = {}
    if store_uri and len(table):
        handle, _ = open_handle(store_uri)
        if handle is not None:
            region_of = _region_lookup(handle, table)
    assign_regions(table, region_of)
    return table


def _region_lookup(handle: StoreHandle, table: AlertTable) -> dict[str, dict[str, str]]:
    """Region codes of the member persons/benefits/hospitals/employers, from projections."""
    wanted = {
        "person": ("Person", "person_id"),
        "benefit": ("Benefit", "benefit_id"),
        "hospital": ("Hospital", "hospital_id"),
        "employer": ("Employer", "employer_id"),
    }
    present = set(table.members["type"].unique())
    out: dict[str, dict[str, str]] = {}
    for mtype, (label, key) in wanted.items():
        if mtype not in present:
            continue
        try:
            df = handle.nodes(label, [key, "region_code"])
        except (RingwatchError, KeyError, RuntimeError) as e:
            log.warning("region lookup for %s failed: %s", label, type(e).__name__)
            continue
        df = df.dropna()
        out[mtype] = dict(zip(df[key].astype(str).str.upper(), df["region_code"].astype(str), strict=False))
    return out


def get_alerts(cfg: Config) -> AlertTable:
    """The alert table of the configured run (reloaded when ``alerts.jsonl`` changes)."""
    _, mtime, size = _file_key(current_file(cfg.alerts_file) or cfg.alerts_file)  # the committed version
    return _alerts(str(cfg.alerts_file), mtime, size, cfg.store)


# -- case database ----------------------------------------------------------------------
@st.cache_resource(show_spinner=False)
def _cases(path: str) -> CaseStore:
    return CaseStore(Path(path))


def get_cases(cfg: Config) -> CaseStore:
    """The case-work / audit database."""
    return _cases(str(cfg.cases_db))


# -- session helpers ----------------------------------------------------------------------
def lang() -> str:
    return "en" if st.session_state.get("keep_en") else DEFAULT_LANG


def t(key: str, **fmt: Any) -> str:
    """Translate a UI string for this session's language."""
    return tr(key, lang(), **fmt)


def current_user() -> User:
    """The signed-in user (local single-user mode: the local supervisor)."""
    user = st.session_state.get("user")
    return user if isinstance(user, User) else local_user()


def keep_widget_state() -> None:
    """Keep ``keep_*`` widget values when the user switches pages.

    Streamlit drops the state of widgets that are not drawn in a run; re-assigning the
    values in the entry script every run keeps filters and toggles across pages.
    """
    for k in list(st.session_state.keys()):
        if isinstance(k, str) and k.startswith(KEEP_PREFIX):
            st.session_state[k] = st.session_state[k]


class Masker:
    """Masks values for display unless ``unmask`` is on (see :mod:`masking`).

    Parameters
    ----------
    unmask
        Show raw values (only for roles with ``can_unmask`` that switched it on).
    """

    def __init__(self, unmask: bool = False) -> None:
        self.unmask = unmask

    def prop(self, name: str, value: Any, label: str | None = None) -> Any:
        return value if self.unmask else masking.mask_prop(name, value, label)

    def props(self, props: Mapping[str, Any], label: str | None = None) -> dict[str, Any]:
        return dict(props) if self.unmask else masking.mask_props(props, label)

    def text(self, value: str | None) -> str:
        return (value or "") if self.unmask else masking.mask_text(value)

    def member(self, member_type: str, value: str) -> str:
        return value if self.unmask else masking.mask_member(member_type, value)

    def key(self, label: str, key: str) -> str:
        return key if self.unmask else masking.mask_key(label, key)

    def frame(self, frame: pd.DataFrame, cypher: str = "") -> pd.DataFrame:
        """Mask a query result table (column names decide the mask; see :func:`mask_frame`)."""
        return frame if self.unmask else mask_frame(frame, cypher)


def mask_frame(frame: pd.DataFrame, cypher: str = "") -> pd.DataFrame:
    """Mask every text cell of a query result by its column.

    ``var.prop`` columns are masked by property name (the label of ``var`` is read from
    ``(var:Label`` patterns in the query, so organisation names stay readable), aliases
    ``var.prop AS x`` are resolved, and any other text is scrubbed with
    :func:`masking.mask_text`; node/relationship values (dicts) are masked per key.
    """
    import re

    var_label = {m.group(1): m.group(2) for m in re.finditer(r"\(\s*(\w+)\s*:\s*`?(\w+)", cypher)}
    alias = {
        m.group(3): (m.group(1), m.group(2))
        for m in re.finditer(r"(\w+)\.(\w+)\s+AS\s+`?(\w+)", cypher, flags=re.IGNORECASE)
    }
    out = frame.copy()
    for col in out.columns:
        name = str(col)
        if name in alias:
            var, prop = alias[name]
        elif "." in name:
            var, prop = name.split(".", 1)
        else:
            var, prop = name, name
        label = var_label.get(var)
        series = out[col]
        if series.dtype.kind in "biufcmM":
            continue

        def _mask(v: Any, prop: str = prop, label: str | None = label, var: str = var) -> Any:
            if isinstance(v, Mapping):
                lab = v.get("_label") or v.get("label") or var_label.get(var)
                return masking.mask_props(v, str(lab) if lab else None)
            return masking.mask_prop(prop, v, label)

        out[col] = series.astype(object).map(_mask)
    return out


def get_masker(audit_scope: str | None = None) -> Masker:
    """The masker for this session; logs an ``unmask`` audit entry once per scope.

    Parameters
    ----------
    audit_scope
        What is being shown unmasked (e.g. ``case:<alert_id>``, ``console``); when the
        user unmasks, one audit entry per session and scope is written.
    """
    user = current_user()
    unmask = bool(user.can_unmask and st.session_state.get("keep_unmask"))
    if unmask and audit_scope:
        done: set[str] = st.session_state.setdefault("_unmask_logged", set())
        if audit_scope not in done:
            cfg: Config = st.session_state["_cfg"]
            alert_id = audit_scope.split(":", 1)[1] if audit_scope.startswith("case:") else None
            get_cases(cfg).log(user.name, "unmask", alert_id, scope=audit_scope)
            done.add(audit_scope)
    return Masker(unmask)


def config() -> Config:
    """The configuration of this process (cached in the session for helpers)."""
    cfg = read_config()
    st.session_state["_cfg"] = cfg
    return cfg


def detector_label(name: str) -> str:
    try:
        return t(f"det_{name}")
    except KeyError:
        return name


def level_label(level: str) -> str:
    icon = {"red": "🔴", "orange": "🟠", "yellow": "🟡"}.get(level, "")
    try:
        return f"{icon} {t(f'lvl_{level}')}"
    except KeyError:
        return level


def status_label(status: str) -> str:
    try:
        return t(f"st_{status}")
    except KeyError:
        return status


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    """Call ``fn`` and return ``(result, seconds)``."""
    t0 = time.perf_counter()
    res = fn(*args, **kwargs)
    return res, time.perf_counter() - t0
