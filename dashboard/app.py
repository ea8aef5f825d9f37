"""Entry script of the investigator dashboard.

Run it with ``ringwatch dashboard`` (see :func:`ringwatch.dashboard.launch`) or directly::

    streamlit run dashboard/app.py -- --store ringwatch.lbug --alerts out [--users users.toml]

(or with ``RINGWATCH_STORE`` / ``RINGWATCH_ALERTS`` / ``RINGWATCH_USERS`` set). It sets up
the page, the language toggle, sign-in, the sidebar and the navigation between the five
pages (``page_*.py`` beside this file).
"""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from ringwatch.dashboard import common
from ringwatch.dashboard.common import Config, t
from ringwatch.dashboard.users import User, authenticate, load_users
from ringwatch.errors import ConfigError

HERE = Path(__file__).resolve().parent
PAGES = (
    ("page_overview.py", "page_overview", ":material/dashboard:", "overview"),
    ("page_queue.py", "page_queue", ":material/list_alt:", "queue"),
    ("page_case.py", "page_case", ":material/hub:", "case"),
    ("page_console.py", "page_console", ":material/terminal:", "console"),
    ("page_cases.py", "page_cases", ":material/assignment:", "cases"),
)
_MAX_FAILURES_BEFORE_DELAY = 3


def _login(cfg: Config) -> User | None:
    """The signed-in user, drawing the sign-in form when nobody is signed in."""
    user = st.session_state.get("user")
    if isinstance(user, User):
        return user
    assert cfg.users_file is not None
    try:
        users = load_users(cfg.users_file)
    except ConfigError as e:
        st.error(t("users_file_error", error=str(e)))
        return None
    st.title(t("app_title"))
    with st.form("login"):
        st.subheader(t("login_title"))
        name = st.text_input(t("username"), key="login_name")
        password = st.text_input(t("password"), type="password", key="login_password")
        submitted = st.form_submit_button(t("login_button"), type="primary", key="login_submit")
    if submitted:
        failures = int(st.session_state.get("_login_failures", 0))
        if failures >= _MAX_FAILURES_BEFORE_DELAY:
            time.sleep(min(10.0, 0.5 * failures))  # slow down guessing
        found = authenticate(users, name, password)
        cases = common.get_cases(cfg)
        if found is None:
            st.session_state["_login_failures"] = failures + 1
            cases.log(name.strip()[:64] or "?", "login_failed")
            st.error(t("login_failed"))
            return None
        st.session_state["_login_failures"] = 0
        st.session_state["user"] = found
        cases.log(found.name, "login", role=found.role.name)
        st.rerun()
    return None


def _sidebar(cfg: Config, user: User, local_mode: bool) -> None:
    sb = st.sidebar
    role = t(f"role_{user.role.name}")
    sb.caption(t("signed_in_as", user=user.display_name, role=role))
    if not local_mode and sb.button(t("logout"), key="logout"):
        common.get_cases(cfg).log(user.name, "logout")
        for k in list(st.session_state.keys()):
            del st.session_state[k]
        st.rerun()
    if user.can_unmask:
        sb.toggle(t("unmask"), key="keep_unmask")
    st.session_state.setdefault("keep_cap", cfg.expand_cap)
    sb.number_input(t("expand_cap"), min_value=1, max_value=common.MAX_EXPAND_CAP, step=10, key="keep_cap")
    handle, err = common.get_store(cfg)
    if handle is not None:
        sb.caption(t("store_ok", store=Path(handle.uri).name if "://" not in handle.uri else handle.uri))
    else:
        sb.caption(t("store_missing", error=err))


def main() -> None:
    """Draw the frame of every page and run the selected page."""
    st.set_page_config(page_title="ringwatch", page_icon=":material/hub:", layout="wide")
    cfg = common.config()
    common.keep_widget_state()
    st.sidebar.toggle("English", key="keep_en")
    local_mode = cfg.users_file is None
    user = common.current_user() if local_mode else _login(cfg)
    if user is None:
        st.stop()
    assert user is not None
    _sidebar(cfg, user, local_mode)
    pages = [
        st.Page(HERE / file, title=t(title), icon=icon, url_path=url, default=(url == "overview"))
        for file, title, icon, url in PAGES
    ]
    st.session_state["_pages"] = {url: page for page, (_f, _t, _i, url) in zip(pages, PAGES, strict=True)}
    current = st.navigation(pages)
    if current.url_path != "case":
        st.session_state.pop("_viewed", None)  # coming back to a case is a new view
    if local_mode:
        st.warning(t("local_mode"), icon=":material/person:")
    if st.session_state.get("keep_unmask") and user.can_unmask:
        st.caption(t("unmask_on"))
    current.run()


if __name__ == "__main__":
    main()
