"""The investigator dashboard (Streamlit): overview, alert queue, case view, Cypher console, case work.

Start it with :func:`launch` (what ``ringwatch dashboard`` calls) or directly with
``streamlit run dashboard/app.py -- --store PATH --alerts DIR [--users users.toml]``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

APP = Path(__file__).resolve().parent / "app.py"


def streamlit_command(
    store: str,
    alerts_dir: Path,
    *,
    port: int = 8501,
    host: str = "127.0.0.1",
    headless: bool = True,
    users: Path | None = None,
    cases_db: Path | None = None,
) -> list[str]:
    """The ``streamlit run`` command line for the dashboard (see :func:`launch`)."""
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.port",
        str(int(port)),
        "--server.address",
        host,
        "--server.headless",
        "true" if headless else "false",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--client.toolbarMode",
        "minimal",
        "--",
        "--store",
        str(store),
        "--alerts",
        str(alerts_dir),
    ]
    if users is not None:
        cmd += ["--users", str(users)]
    if cases_db is not None:
        cmd += ["--cases-db", str(cases_db)]
    return cmd


def launch(
    store: str,
    alerts_dir: Path,
    *,
    port: int = 8501,
    host: str = "127.0.0.1",
    headless: bool = True,
    users: Path | None = None,
    cases_db: Path | None = None,
) -> int:
    """Serve the dashboard with ``streamlit run`` in a subprocess, until it exits.

    Parameters
    ----------
    store
        Embedded LadybugDB path (opened read-only) or ``neo4j://`` / ``bolt://`` URI.
    alerts_dir
        Output directory with ``alerts.jsonl``.
    port, host
        Where to listen (localhost by default).
    headless
        Do not open a browser.
    users
        Users TOML for sign-in (default ``$RINGWATCH_USERS``; none = local single-user mode).
    cases_db
        Case-work SQLite file (default ``<store>.cases.sqlite``).

    Returns
    -------
    int
        The exit code of the Streamlit process (0 after Ctrl-C).
    """
    env = dict(os.environ)
    env["RINGWATCH_STORE"] = str(store)
    env["RINGWATCH_ALERTS"] = str(alerts_dir)
    if users is not None:
        env["RINGWATCH_USERS"] = str(users)
    if cases_db is not None:
        env["RINGWATCH_CASES_DB"] = str(cases_db)
    cmd = streamlit_command(
        store, alerts_dir, port=port, host=host, headless=headless, users=users, cases_db=cases_db
    )
    proc = subprocess.Popen(cmd, env=env)

    def _forward(signum: int, _frame: object) -> None:
        proc.send_signal(signum)  # stop the server too when we are asked to stop

    previous = None
    try:
        previous = signal.signal(signal.SIGTERM, _forward)
    except ValueError:  # not the main thread: no handler, Ctrl-C/wait only
        previous = None
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        return 0
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


__all__ = ["APP", "launch", "streamlit_command"]
