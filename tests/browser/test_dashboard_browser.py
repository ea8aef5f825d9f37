"""End-to-end: ``streamlit run`` the dashboard on the sample store, drive headless Chromium.

Queue → open a case → expand nodes in the st-link-analysis graph (through the component's
own expand button) → the capped-expansion message. Screenshots go to a temporary directory,
or to ``docs/screenshots`` (the README's pictures) with ``RINGWATCH_REFRESH_SCREENSHOTS=1``.
Skipped when ``/usr/bin/chromium`` or the ``playwright`` package is missing.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ringwatch.dashboard import streamlit_command
from ringwatch.dashboard.queries import EXAMPLES
from ringwatch.dashboard.sample import build_sample

CHROMIUM = Path("/usr/bin/chromium")
DOC_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ERROR_BOXES = '[data-testid="stException"], [data-testid="stAlertContentError"]'

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    store, out = build_sample(tmp_path_factory.mktemp("browser"))
    port = _free_port()
    env = dict(os.environ)
    env.pop("RINGWATCH_USERS", None)
    env["RINGWATCH_CASES_DB"] = str(store.parent / "cases.sqlite")
    log = (store.parent / "streamlit.log").open("w")
    proc = subprocess.Popen(
        streamlit_command(str(store), out, port=port), env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("streamlit did not start: " + (store.parent / "streamlit.log").read_text())
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _settle(page: object) -> None:
    """Wait until Streamlit has finished running the script."""
    p = page  # playwright Page
    p.wait_for_timeout(500)  # type: ignore[attr-defined]
    p.wait_for_function(  # type: ignore[attr-defined]
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000
    )
    p.wait_for_timeout(800)  # type: ignore[attr-defined]


def _no_errors(page: object, where: str) -> None:
    boxes = page.locator(ERROR_BOXES)  # type: ignore[attr-defined]
    assert boxes.count() == 0, f"{where}: " + " | ".join(boxes.all_inner_texts())


def _graph_frame(page: object) -> object:
    page.wait_for_selector('iframe[title*="st_link_analysis"]', timeout=60_000)  # type: ignore[attr-defined]
    frame = page.frame_locator('iframe[title*="st_link_analysis"]').first  # type: ignore[attr-defined]
    frame.locator("#cy canvas").first.wait_for(timeout=60_000)
    return frame


def _expand_by_caption(page: object, text: str) -> None:
    """Select the node whose caption contains ``text`` and press the component's Expand button."""
    handle = page.locator('iframe[title*="st_link_analysis"]').first.element_handle()  # type: ignore[attr-defined]
    frame = handle.content_frame()
    frame.wait_for_function(
        "() => document.getElementById('cy')?._cyreg?.cy?.nodes().length > 0", timeout=60_000
    )
    found = frame.evaluate(
        """(text) => {
            const cy = document.getElementById('cy')._cyreg.cy;
            cy.nodes().unselect();
            const n = cy.nodes().filter(n => String(n.data('caption') || '').includes(text)).first();
            if (n.empty()) return false;
            n.select();
            return true;
        }""",
        text,
    )
    assert found, f"no node with caption containing {text!r}"
    frame.wait_for_timeout(400)
    frame.click("#nodeActionsExpand")


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where screenshots go: ``docs/screenshots`` only when asked to refresh the README's pictures."""
    out = DOC_SHOTS if os.environ.get("RINGWATCH_REFRESH_SCREENSHOTS") == "1" else tmp_path / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    return out


def test_queue_case_expand_in_browser(server: str, shots: Path) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1500, "height": 2000}, locale="zh-CN")
        try:
            page.goto(server + "/", wait_until="domcontentloaded")
            page.get_by_text("告警总数").first.wait_for(timeout=60_000)
            _settle(page)
            page.wait_for_selector('[data-testid="stVegaLiteChart"]', timeout=60_000)
            page.wait_for_timeout(1500)
            _no_errors(page, "overview")
            page.screenshot(path=str(shots / "overview.png"), full_page=True)

            page.get_by_role("link", name="告警队列").click()
            page.get_by_text("条匹配").first.wait_for(timeout=60_000)
            _settle(page)
            _no_errors(page, "queue")
            page.screenshot(path=str(shots / "queue.png"), full_page=True)

            # click the first row's selection cell in the data grid: opens the case
            grid = page.locator('[data-testid="stDataFrame"]').first
            box = grid.bounding_box()
            assert box is not None
            page.mouse.click(box["x"] + 12, box["y"] + 35 + 18)
            page.wait_for_url("**/case**", timeout=30_000)
            page.get_by_text("证据图").first.wait_for(timeout=60_000)
            _settle(page)
            _graph_frame(page)
            page.wait_for_timeout(6000)  # cose layout animation, then labels
            _no_errors(page, "case")
            assert page.get_by_text("共用同一手机号").count() >= 1
            page.screenshot(path=str(shots / "case.png"), full_page=True)

            before = page.get_by_text("当前画布").first.inner_text()
            _expand_by_caption(page, "P002")
            page.wait_for_function(
                "(b) => [...document.querySelectorAll('p')].some(p => p.innerText.startsWith('当前画布') && p.innerText !== b)",
                arg=before,
                timeout=60_000,
            )
            _settle(page)
            _expand_by_caption(page, "北京市朝阳区")
            page.get_by_text("个未显示").first.wait_for(timeout=60_000)
            _settle(page)
            page.wait_for_timeout(2500)
            _no_errors(page, "case after expand")
            page.screenshot(path=str(shots / "case_expanded.png"), full_page=True)

            # the deceased-payment case: payments timeline with the death date marked
            page.goto(server + "/case?alert=deceased_payment-0000000000000002", wait_until="domcontentloaded")
            page.get_by_text("证据图").first.wait_for(timeout=60_000)
            _settle(page)
            page.get_by_role("tab", name="时间线").click()
            page.get_by_text("每月支付金额").first.wait_for(timeout=60_000)
            page.wait_for_timeout(1500)
            _no_errors(page, "timeline")
            page.screenshot(path=str(shots / "case_timeline.png"), full_page=True)

            page.get_by_role("link", name="Cypher 控制台").click()
            page.get_by_text("示例查询").first.wait_for(timeout=60_000)
            _settle(page)
            query = EXAMPLES[1].cypher  # several benefits paid into one account (graph)
            page.get_by_label("Cypher 查询").fill(query)
            page.get_by_label("Cypher 查询").press("Control+Enter")
            _settle(page)
            page.get_by_role("button", name="执行", exact=True).click()
            page.get_by_text("行，用时").first.wait_for(timeout=60_000)
            page.get_by_text("结果图").first.wait_for(timeout=60_000)
            _settle(page)
            _graph_frame(page)
            page.wait_for_timeout(2500)
            _no_errors(page, "console")
            page.screenshot(path=str(shots / "console.png"), full_page=True)

            # a write is refused with a plain message (the only error box allowed)
            page.get_by_label("Cypher 查询").fill("CREATE (n:Person {person_id:'x'})")
            page.get_by_label("Cypher 查询").press("Control+Enter")
            _settle(page)
            page.get_by_role("button", name="执行", exact=True).click()
            page.get_by_text("查询被拒绝").first.wait_for(timeout=60_000)
            assert page.locator('[data-testid="stException"]').count() == 0
        finally:
            browser.close()
