"""`agent serve` in a real browser: the installed command on uvicorn, driven in the OS Chromium by Playwright.

An embedded "stablecoin KZ" run is made first with `agent run`; in Chromium the runs list shows it, its page
shows the steps with engine and tokens, a re-run from gaps is started from the page and followed live to
its end. Screenshots go to the test's temporary folder, or to AGENT_SCREENSHOTS when set (the README's
are made with AGENT_SCREENSHOTS=docs/screenshots), so a test run never changes the repository.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
WAIT_MS = 120_000  # an upper bound for a step on a busy machine, never a measured expectation


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing: install it with apt-get install -y chromium"
    if os.environ.get("AGENT_TEST_REQUIRE_SERVICES") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def workspace(isolated: Path, agent_exe: str) -> dict[str, str]:
    """A policies root holding the example folder, and one finished embedded run of "stablecoin KZ"."""
    _require_chromium()
    root = isolated / "policies-root"
    shutil.copytree(EXAMPLES, root / "steppe-stable")
    env = {**os.environ, "AGENT_OUT_DIR": "out"}  # relative, as most users give it; the server runs in the same folder
    res = subprocess.run([agent_exe, "run", "stablecoin KZ", "--policies", str(root / "steppe-stable"), "--json"],
                         cwd=isolated, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    return {"root": str(root), "run_id": json.loads(res.stdout)["run"]["id"], **{k: env[k] for k in ("AGENT_OUT_DIR",)}}


@pytest.fixture
def server(workspace: dict[str, str], agent_exe: str, isolated: Path) -> Iterator[str]:
    """`agent serve` on a free port; yields its address; stopped with Ctrl-C (SIGINT) afterwards."""
    env = {**os.environ, "AGENT_OUT_DIR": workspace["AGENT_OUT_DIR"]}
    proc = subprocess.Popen([agent_exe, "serve", "--port", "0", "--policies-root", workspace["root"]], cwd=isolated, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    log: list[str] = []

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            log.append(line)
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    address = None
    try:
        while address is None:
            line = lines.get(timeout=60)
            found = re.search(r"Uvicorn running on (http://127\.0\.0\.1:\d+)", line)
            address = found.group(1) if found else None
    except queue.Empty:
        proc.kill()
        pytest.fail("agent serve did not start:\n" + "".join(log))
    try:
        yield address
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail("agent serve did not stop on Ctrl-C:\n" + "".join(log))
        assert code == 0, "".join(log)
        assert "Traceback" not in "".join(log), "".join(log)


def test_runs_list_run_page_and_a_live_rerun_in_chromium(server: str, workspace: dict[str, str], tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    run_id = workspace["run_id"]
    SCREENSHOTS = Path(os.environ.get("AGENT_SCREENSHOTS") or tmp_path / "screenshots")  # noqa: N806
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            requests: list[str] = []
            problems: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))

            # the runs list shows the earlier run
            page.goto(server + "/")
            row = page.locator("table.runs tbody tr", has_text=run_id)
            expect(row).to_have_count(1)
            expect(row).to_contain_text("stablecoin KZ")
            expect(row).to_contain_text("completed")
            expect(row).to_contain_text("embedded")
            expect(page.locator("select[name=policies] option", has_text="steppe-stable")).to_have_count(1)
            page.screenshot(path=str(SCREENSHOTS / "runs-list.png"))

            # its page: the step table with engine and tokens, gaps, drafts, the report
            row.get_by_role("link", name=run_id).click()
            steps = page.locator("#steps")
            expect(steps.locator("thead")).to_contain_text("Tokens in")
            research = steps.locator("tbody tr", has_text="research").first
            expect(research).to_contain_text("embedded")
            expect(research.locator("td.num").first).to_have_text("0")
            expect(page.locator("#gaps tbody tr").first).to_contain_text("GAP-001")
            expect(page.locator("#downloads a").first).to_have_attribute("href", re.compile(rf"^/runs/{run_id}/files/1/"))
            expect(page.locator("#report h1").first).to_be_visible()

            # a re-run from gaps, followed live until it ends
            page.select_option("select[name=step]", "gaps")
            page.select_option("form[action$='/rerun'] select[name=policies]", "steppe-stable")
            page.get_by_role("button", name="Re-run as version 2").click()
            page.wait_for_url(re.compile(r"\?job=\d+$"))
            followed = page.url
            live_rows = page.locator("#progress-rows tr")
            expect(live_rows.filter(has_text="read_policies")).to_have_count(1, timeout=WAIT_MS)
            expect(live_rows.filter(has_text="assess").first).to_contain_text("embedded", timeout=WAIT_MS)
            expect(page.locator("#live-status .status")).to_have_text(re.compile("completed|degraded"), timeout=WAIT_MS)
            status = page.locator("#run-status")
            expect(status).to_contain_text("v2", timeout=WAIT_MS)
            expect(status).to_contain_text(re.compile("completed|degraded"))
            assert page.url == followed, "the page was updated in place, not reloaded"
            assert any("/events?job=" in url for url in requests), "progress came over server-sent events"
            # the re-run's steps: research reused from version 1, the policies read again in version 2
            expect(steps.locator("tbody tr", has_text="research").first).to_contain_text("reused from version 1")
            expect(steps.locator("tbody tr", has_text="read_policies").first).to_contain_text("version 2")
            expect(page.locator("#changes")).to_be_visible()
            page.screenshot(path=str(SCREENSHOTS / "rerun-progress.png"))
            assert problems == [], problems  # no script errors, nothing blocked by the content security policy

            # opened again later: the finished version 2, with the versions and the step table first
            page.set_viewport_size({"width": 1280, "height": 1400})
            page.goto(f"{server}/runs/{run_id}")
            expect(page.locator("#live")).to_have_count(0)
            expect(page.locator("table.versions tbody tr")).to_have_count(2)
            page.screenshot(path=str(SCREENSHOTS / "run-page.png"))
        finally:
            browser.close()
