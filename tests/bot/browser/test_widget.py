"""The web chat widget in a real browser, against the real app.

Starts the app as a subprocess on a free port with its own SQLite database, opens the demo page
(`/`, which embeds `/widget.js` with `data-open="true"`) in headless Chromium and talks to the bot:
typed messages, quick-reply buttons, markup typed by a customer shown as plain text, a reload that
continues the same session, the REST fallback, keyboard use and the phone layout.

Needs Debian's Chromium at /usr/bin/chromium (Playwright drives it; nothing is downloaded).
Without it the module is skipped, unless CI=true, where a missing browser fails.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

CHROMIUM = os.environ.get("SUPPORTBOT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HAVE_CHROMIUM = Path(CHROMIUM).exists()
IN_CI = os.environ.get("CI", "").lower() == "true"
REPO = Path(__file__).resolve().parents[3]
START_TIMEOUT = 120.0  # the app migrates its database (and may train the NLU) before it answers
REPLY_TIMEOUT = 20_000  # ms

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not HAVE_CHROMIUM and not IN_CI, reason=f"no Chromium at {CHROMIUM}"),
]

# Selectors (Playwright's CSS engine looks inside the widget's open shadow root).
LOG = ".sbw-log"
BOT = ".sbw-log .sbw-msg-bot"
USER_TEXT = ".sbw-log .sbw-msg-user .sbw-text"
INPUT = ".sbw-panel textarea"
ENABLED_REPLY = ".sbw-log .sbw-reply:enabled"

XSS = "<img src=x onerror=window.__xss=1>"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real app, served by uvicorn in a subprocess, with a fresh SQLite database."""
    workdir = tmp_path_factory.mktemp("app")
    port = _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        # no real chat platforms from a test
        if not key.startswith(("SLACK_", "TELEGRAM_")) and key not in {"DATABASE_URL", "SUPPORTBOT_API_TOKEN"}
    }
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{workdir}/t.db"
    env["NLU_BACKEND"] = "embedded"
    env["PYTHONUNBUFFERED"] = "1"
    log_path = workdir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bot.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while _get(f"{url}/healthz") != 200:
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-4000:]
                pytest.fail(f"the app did not become healthy (exit code {process.poll()}):\n{tail}")
            time.sleep(0.25)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not HAVE_CHROMIUM:
        pytest.fail(f"CI=true but there is no Chromium at {CHROMIUM}")
    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            await instance.close()


async def _open_page(browser: Browser, url: str, **context_options: Any) -> tuple[Page, list[str]]:
    """A fresh browser context (empty localStorage: a new customer) on `url`; also its script errors."""
    context = await browser.new_context(**context_options)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(url)
    return page, errors


async def _say(page: Page, text: str) -> None:
    """Type a message and press Enter, as a customer does."""
    bots_before = await page.locator(BOT).count()
    field = page.locator(INPUT)
    await field.fill(text)
    await field.press("Enter")
    await expect(page.locator(USER_TEXT).last).to_have_text(text)
    await expect(page.locator(BOT)).not_to_have_count(bots_before, timeout=REPLY_TIMEOUT)


async def _greeting(page: Page) -> None:
    """data-open="true" opens the panel, and the widget asks for a greeting once per session."""
    await expect(page.locator(".sbw-panel")).to_be_visible()
    await expect(page.locator(BOT).first).to_be_visible(timeout=REPLY_TIMEOUT)


async def test_conversation_buttons_and_markup_shown_as_text(
    browser: Browser, app_url: str, tmp_path: Path
) -> None:
    page, errors = await _open_page(browser, f"{app_url}/", viewport={"width": 1280, "height": 800})
    await _greeting(page)

    await _say(page, "our ERP keeps crashing since this morning, this is critical")
    buttons = page.locator(ENABLED_REPLY)
    await expect(buttons.first).to_be_visible(timeout=REPLY_TIMEOUT)
    await page.screenshot(path=str(tmp_path / "widget-conversation.png"))

    # A quick reply: its title becomes the customer's message, its group is disabled, the bot answers.
    message_id = (
        await page.locator(BOT).filter(has=page.locator(".sbw-reply:enabled")).last.get_attribute("data-id")
    )
    group = page.locator(f'{LOG} [data-id="{message_id}"] .sbw-reply')
    title = (await group.first.text_content()) or ""
    bots_before = await page.locator(BOT).count()
    await group.first.click()
    await expect(page.locator(USER_TEXT).last).to_have_text(title)
    for index in range(await group.count()):
        await expect(group.nth(index)).to_be_disabled()
    await expect(page.locator(BOT)).not_to_have_count(bots_before, timeout=REPLY_TIMEOUT)
    await expect(page.locator(INPUT)).to_be_focused()

    # Markup typed by a customer is shown literally and never becomes an element.
    await _say(page, XSS)
    await expect(page.locator(USER_TEXT).last).to_have_text(XSS)
    await page.wait_for_timeout(300)  # an image that loaded would have fired onerror by now
    assert await page.locator(f"{LOG} img").count() == 0
    assert await page.evaluate("typeof window.__xss") == "undefined"
    # Line breaks survive; still no HTML.
    await _say(page, "line one\nline two <b>bold?</b>")
    await expect(page.locator(USER_TEXT).last).to_have_text("line one\nline two <b>bold?</b>")
    assert await page.locator(f"{LOG} b").count() == 0

    await page.screenshot(path=str(tmp_path / "widget-after.png"))
    assert errors == []


async def test_reload_continues_the_same_session(browser: Browser, app_url: str) -> None:
    page, _ = await _open_page(browser, f"{app_url}/")
    await _greeting(page)
    await _say(page, "what are your working hours?")
    session = await page.evaluate("localStorage.getItem('supportbot:session_id')")
    assert session
    texts = await page.locator(f"{LOG} .sbw-text").all_text_contents()

    await page.reload()
    await expect(page.locator(".sbw-panel")).to_be_visible()
    assert await page.evaluate("localStorage.getItem('supportbot:session_id')") == session
    assert await page.evaluate("window.SupportBotWidget.sessionId") == session
    # The conversation is still there, and no second greeting is asked for.
    await expect(page.locator(f"{LOG} .sbw-text")).to_have_text(texts)
    await page.wait_for_timeout(1000)
    await expect(page.locator(f"{LOG} .sbw-text")).to_have_count(len(texts))
    # The same session goes on.
    await _say(page, "thank you")


async def test_rest_fallback_without_websocket(browser: Browser, app_url: str) -> None:
    context = await browser.new_context()
    await context.add_init_script("window.WebSocket = undefined;")
    page = await context.new_page()
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    await page.goto(f"{app_url}/")
    await _greeting(page)
    await _say(page, "our ERP keeps crashing since this morning, this is critical")
    assert await page.evaluate("window.SupportBotWidget.transport") == "rest"
    assert f"{app_url}/webhooks/rest/webhook" in posts


async def test_keyboard(browser: Browser, app_url: str) -> None:
    page, _ = await _open_page(browser, f"{app_url}/")
    await _greeting(page)
    launcher = page.locator(".sbw-launcher")
    await expect(page.locator(f"{LOG}[aria-live='polite']")).to_have_count(1)
    await expect(page.locator(INPUT)).to_have_accessible_name("Type your message")

    await page.locator(INPUT).focus()
    await page.keyboard.press("Escape")
    await expect(page.locator(".sbw-panel")).to_be_hidden()
    await expect(launcher).to_be_focused()
    await expect(launcher).to_have_attribute("aria-expanded", "false")

    await page.keyboard.press("Enter")
    await expect(page.locator(".sbw-panel")).to_be_visible()
    await expect(page.locator(INPUT)).to_be_focused()
    await expect(launcher).to_have_attribute("aria-expanded", "true")

    # The page's own "Start a chat" button opens the widget too.
    await page.keyboard.press("Escape")
    await page.locator("[data-supportbot-open]").click()
    await expect(page.locator(INPUT)).to_be_focused()


async def test_phone_layout_is_full_screen(browser: Browser, app_url: str, tmp_path: Path) -> None:
    page, _ = await _open_page(
        browser,
        f"{app_url}/",
        viewport={"width": 390, "height": 780},
        is_mobile=True,
        has_touch=True,
        reduced_motion="reduce",
    )
    await _greeting(page)
    box = await page.locator(".sbw-panel").bounding_box()
    assert box is not None
    assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 390, 780)
    await expect(page.locator(".sbw-launcher")).to_be_hidden()  # the header's close button remains
    await expect(page.locator(".sbw-close")).to_be_visible()
    await page.screenshot(path=str(tmp_path / "widget-phone.png"))
