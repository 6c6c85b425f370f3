"""The widget in Khmer, in a real browser: `data-lang="km"` on the script tag, Khmer typed, Khmer answered.

Same app and browser as test_widget.py (its fixtures); the page embedding the widget is a customer's
own site, served here from the app's origin by Playwright. The screenshot shows the Khmer rendered
with a Khmer font (Debian's fonts-khmeros) so a person can check it reads right.
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Browser, Route, expect

from tests.bot.browser.test_widget import (  # noqa: F401  (fixtures)
    BOT,
    INPUT,
    REPLY_TIMEOUT,
    USER_TEXT,
    _greeting,
    _say,
    app_url,
    browser,
    pytestmark,
)

KHMER = re.compile(r"[\u1780-\u17ff]")

PAGE = """<!doctype html>
<html lang="km"><head><meta charset="utf-8"><title>ហាងកាហ្វេ សុខា</title></head>
<body style="font-family: 'Khmer OS', 'Khmer OS System', sans-serif">
<h1>ហាងកាហ្វេ សុខា</h1>
<script src="/widget.js" data-lang="km" data-open="true" data-title="ជំនួយ I One Tech"></script>
</body></html>"""


async def test_a_khmer_customer_types_khmer_and_reads_khmer(
    browser: Browser,  # noqa: F811
    app_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    context = await browser.new_context(viewport={"width": 420, "height": 860}, locale="km-KH")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    async def customer_site(route: Route) -> None:
        await route.fulfill(status=200, content_type="text/html; charset=utf-8", body=PAGE)

    await page.route(f"{app_url}/customer-site.html", customer_site)
    await page.goto(f"{app_url}/customer-site.html")
    await _greeting(page)
    # The greeting comes in Khmer before the customer has written anything: data-lang said so.
    await expect(page.locator(BOT).first).to_contain_text("សួស្តី", timeout=REPLY_TIMEOUT)
    await expect(page.locator(INPUT)).to_have_attribute("placeholder", "វាយសាររបស់អ្នក…")

    await _say(page, "ម៉ោងធ្វើការរបស់ក្រុមហ៊ុនប៉ុន្មាន?")
    answer = page.locator(BOT).last
    await expect(answer).to_contain_text("ថ្ងៃច័ន្ទ ដល់ ថ្ងៃសុក្រ", timeout=REPLY_TIMEOUT)
    await expect(page.locator(USER_TEXT).last).to_have_text("ម៉ោងធ្វើការរបស់ក្រុមហ៊ុនប៉ុន្មាន?")
    assert KHMER.search(await answer.inner_text())

    # An English word from a Khmer customer: still answered in Khmer.
    await _say(page, "ok")
    assert KHMER.search(await page.locator(BOT).last.inner_text())

    shot = tmp_path / "widget-khmer.png"
    await page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    # Rendered with a Khmer font: the glyphs of Khmer text have width (tofu boxes would too, so the
    # font is asked for by name and must be one the browser has).
    has_font = await page.evaluate("document.fonts.check('16px \"Khmer OS\"', 'ខ្មែរ')")
    assert has_font
    assert errors == []
    await context.close()
