"""Running the ``ringwatch`` command line in a subprocess, as an operator would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def ringwatch_cmd() -> list[str]:
    """The installed console script beside this interpreter (``python -m ringwatch.cli`` otherwise)."""
    script = Path(sys.executable).with_name("ringwatch")
    return [str(script)] if script.exists() else [sys.executable, "-m", "ringwatch.cli"]


def cli_env() -> dict[str, str]:
    """This environment without debug output, with a small LadybugDB buffer pool (tests run side by side)."""
    env = {k: v for k, v in os.environ.items() if k != "RINGWATCH_DEBUG"}
    env["RINGWATCH_LBUG_BUFFER_POOL_MB"] = "256"
    return env


def run_cli(*args: str, timeout: float = 300, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``ringwatch ARGS`` to completion, output captured as text."""
    return subprocess.run(
        [*ringwatch_cmd(), *args], capture_output=True, text=True, env=cli_env(), timeout=timeout, cwd=cwd
    )


def start_cli(*args: str) -> subprocess.Popen[str]:
    """``ringwatch ARGS`` started in the background; its stderr (progress lines) is readable."""
    return subprocess.Popen(
        [*ringwatch_cmd(), *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=cli_env()
    )
