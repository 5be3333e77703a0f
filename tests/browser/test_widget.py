"""The website widget: the demo clinic page in Chromium against the real stack (issue 7).

Playwright locators pierce the widget's open shadow root, so plain CSS selectors work.
The first test class needs nothing but the web app; the browser tests share the `stack`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect
from starlette.testclient import TestClient

from bot import PROJECT_ROOT
from bot.web import WEB_DIR, create_app

ARTIFACTS = PROJECT_ROOT / "test-artifacts"
AXE = WEB_DIR / "node_modules" / "axe-core" / "axe.min.js"
BOT_TIMEOUT_MS = 45_000  # the first turn after Rasa starts can be slow
XSS = "<img src=x onerror=alert(1)>"
EMBED_CONFIG = r'<script nonce="[^"]+">\s*window\.MesoWidgetConfig = (\{.*?\});'

NewPage = Callable[..., Page]


# ---- the web app alone (no stack, no browser) -----------------------------------------
class TestWebApp:
    rasa_url = "http://127.0.0.1:5999"

    @pytest.fixture
    def client(self) -> TestClient:
        return TestClient(create_app(rasa_url=self.rasa_url))

    def test_page_embeds_widget_with_one_script_tag_and_config(self, client: TestClient) -> None:
        response = client.get("/")
        assert response.status_code == 200
        html = response.text
        assert "Demo Hair Clinic" in html and "placeholder" in html.lower()
        assert html.count('src="/widget/meso-widget.js"') == 1
        embed = re.search(EMBED_CONFIG, html, re.S)
        assert embed, "the page must set window.MesoWidgetConfig in its nonced inline script"
        config = json.loads(embed.group(1))
        assert config["serverUrl"] == self.rasa_url
        assert config["initialPayload"] == "/session_start"

    def test_page_csp_allows_rasa_and_only_the_nonced_inline_script(
        self, client: TestClient
    ) -> None:
        response = client.get("/")
        csp = response.headers["content-security-policy"]
        assert "connect-src 'self' http://127.0.0.1:5999 ws://127.0.0.1:5999" in csp
        nonce = re.search(r"'nonce-([^']+)'", csp).group(1)  # type: ignore[union-attr]
        assert f'<script nonce="{nonce}">' in response.text
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp

    def test_widget_assets_are_served(self, client: TestClient) -> None:
        script = client.get("/widget/meso-widget.js")
        assert script.status_code == 200
        assert "javascript" in script.headers["content-type"]
        assert script.headers["cache-control"] == "no-cache"
        css = client.get("/widget/meso-widget.css")
        assert css.status_code == 200 and "text/css" in css.headers["content-type"]
        assert client.get("/static/site.css").status_code == 200

    def test_socket_io_client_comes_from_node_modules(self, client: TestClient) -> None:
        response = client.get("/widget/vendor/socket.io.min.js")
        assert response.status_code == 200, "run `make web-deps` (npm ci in web/)"
        assert re.search(r"Socket\.IO v4\.", response.text[:200])
        # only the whitelisted files, never the rest of node_modules
        assert client.get("/widget/vendor/package.json").status_code == 404

    def test_missing_socket_io_client_says_how_to_fix(self, tmp_path: Path) -> None:
        for folder in ("widget", "site/static"):
            (tmp_path / folder).mkdir(parents=True)
        (tmp_path / "site" / "index.html").write_text("ok")
        client = TestClient(create_app(rasa_url=self.rasa_url, web_dir=tmp_path))
        response = client.get("/widget/vendor/socket.io.min.js")
        assert response.status_code == 503
        assert "make web-deps" in response.text
        assert client.get("/health").status_code == 503

    def test_bad_rasa_url_fails_at_startup(self) -> None:
        with pytest.raises(ValueError, match="MESO_PUBLIC_RASA_URL"):
            create_app(rasa_url="localhost:5005")

    def test_widget_never_parses_text_as_html(self) -> None:
        source = (WEB_DIR / "widget" / "meso-widget.js").read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in source, f"meso-widget.js uses {sink}"


# ---- the widget in Chromium against the real Rasa + action server ----------------------
def open_widget(page: Page, url: str) -> None:
    page.goto(url)
    page.get_by_role("button", name="Chat with us").click()
    expect(page.get_by_role("dialog")).to_be_visible()


def bot_rows(page: Page) -> Locator:
    return page.locator(".mw-row.mw-bot:not([hidden])")


def ask(page: Page, text: str) -> None:
    box = page.get_by_role("textbox", name="Your message")
    box.fill(text)
    box.press("Enter")
    expect(page.locator(".mw-row.mw-user .mw-text").last).to_have_text(text)


def wait_for_reply(page: Page, bots_before: int) -> None:
    expect(bot_rows(page)).not_to_have_count(bots_before, timeout=BOT_TIMEOUT_MS)
    expect(page.locator(".mw-typing")).to_be_hidden(timeout=BOT_TIMEOUT_MS)


def ask_cited_question(page: Page) -> None:
    """Ask the issue's question and wait until its answer carries citations."""
    cites_before = page.locator(".mw-cites").count()
    ask(page, "how many sessions do I need?")
    expect(page.locator(".mw-cites")).to_have_count(cites_before + 1, timeout=BOT_TIMEOUT_MS)
    answer = page.locator(".mw-row.mw-bot:has(.mw-cites)").last
    expect(answer.locator(".mw-cite").first).to_be_visible()
    expect(answer.locator(".mw-cite-title, .mw-cite a").first).not_to_be_empty()
    # the citations replace the answer's trailing "Sources:" text, never duplicate it
    visible = page.locator(".mw-log").inner_text()
    assert not re.search(r"^\s*Sources?:", visible, re.M), visible
    expect(page.locator(".mw-replies .mw-reply").first).to_be_visible()


def wait_for_greeting(page: Page) -> None:
    """The session_start response arrives before the patient types anything."""
    expect(bot_rows(page).first).to_be_visible(timeout=BOT_TIMEOUT_MS)
    expect(page.locator(".mw-row.mw-user")).to_have_count(0)
    expect(page.locator(".mw-status")).to_have_attribute("data-state", "online")


def stored_session_id(page: Page) -> str:
    return json.loads(page.evaluate("localStorage.getItem('meso-widget:v1:session')"))["id"]


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


@pytest.mark.browser
@pytest.mark.integration
class TestWidgetInBrowser:
    def test_greeting_cited_answer_quick_reply_and_reload(self, stack, new_page: NewPage) -> None:
        page = new_page()
        open_widget(page, stack.web_url)
        wait_for_greeting(page)

        ask_cited_question(page)
        expect(page.locator(".mw-meta time").last).to_have_attribute("datetime", re.compile("T"))
        screenshot(page, "widget-desktop.png")

        # a quick reply: its title is shown as the patient's message, its payload
        # (/ask_<topic>) goes to Rasa and gets a cited answer of its own
        reply = page.locator(".mw-replies .mw-reply").first
        title = reply.inner_text()
        reply.click()
        expect(page.locator(".mw-row.mw-user .mw-text").last).to_have_text(title)
        expect(page.locator(".mw-cites")).to_have_count(2, timeout=BOT_TIMEOUT_MS)
        expect(page.locator(".mw-typing")).to_be_hidden()
        # the replies of the answered turn are gone; only the new answer's remain
        assert page.locator(".mw-replies").count() <= 1

        session_id = stored_session_id(page)
        transcript = page.locator(".mw-row:not([hidden])").count()
        page.reload()
        # the panel stays open across the reload and shows the same conversation
        expect(page.get_by_role("dialog")).to_be_visible()
        expect(page.locator(".mw-row:not([hidden])")).to_have_count(transcript)
        expect(page.get_by_text("how many sessions do I need?")).to_be_visible()
        expect(page.locator(".mw-cites").first).to_be_attached()
        expect(page.locator(".mw-status")).to_have_attribute(
            "data-state", "online", timeout=BOT_TIMEOUT_MS
        )
        assert stored_session_id(page) == session_id
        # no second greeting: the session continued instead of starting over
        page.wait_for_timeout(1_000)
        expect(page.locator(".mw-row:not([hidden])")).to_have_count(transcript)

    def test_markup_is_shown_as_text_and_never_runs(self, stack, new_page: NewPage) -> None:
        page = new_page()
        open_widget(page, stack.web_url)
        wait_for_greeting(page)
        bots = bot_rows(page).count()
        ask(page, XSS)
        wait_for_reply(page, bots)
        page.wait_for_timeout(500)  # an onerror handler would have fired by now
        assert page.dialogs == []  # type: ignore[attr-defined]
        expect(page.locator(".mw-row.mw-user .mw-text").last).to_have_text(XSS)
        expect(page.locator(".mw-log img")).to_have_count(0)
        for link in page.locator(".mw-log a").all():
            assert re.match(r"https?://", link.get_attribute("href") or "")
            assert link.get_attribute("rel") == "noopener noreferrer"

    def test_talk_to_staff_is_always_reachable(self, stack, new_page: NewPage) -> None:
        page = new_page(mobile=True)
        open_widget(page, stack.web_url)
        wait_for_greeting(page)
        staff = page.get_by_role("button", name="Talk to staff")
        expect(staff).to_be_in_viewport()
        bots = bot_rows(page).count()
        staff.click()
        expect(page.locator(".mw-row.mw-user .mw-text").last).to_have_text("Talk to staff")
        wait_for_reply(page, bots)

    def test_mobile_layout_is_full_screen(self, stack, new_page: NewPage) -> None:
        page = new_page(mobile=True)
        open_widget(page, stack.web_url)
        wait_for_greeting(page)
        box = page.get_by_role("dialog").bounding_box()
        assert box is not None
        # Chromium reports layout boxes in sub-pixel floats (e.g. 739.9999982).
        assert (round(box["width"]), round(box["height"])) == (360, 740)
        ask_cited_question(page)
        expect(page.get_by_role("textbox", name="Your message")).to_be_in_viewport()
        screenshot(page, "widget-mobile.png")

    def test_keyboard_open_send_and_escape(self, stack, new_page: NewPage) -> None:
        page = new_page()
        page.goto(stack.web_url)
        launcher = page.locator(".mw-launcher")
        expect(launcher).to_have_accessible_name("Chat with us")
        launcher.focus()
        page.keyboard.press("Enter")
        expect(page.get_by_role("dialog")).to_be_visible()
        expect(page.get_by_role("textbox", name="Your message")).to_be_focused()
        expect(launcher).to_have_attribute("aria-expanded", "true")
        expect(launcher).to_have_accessible_name("Close chat")
        expect(page.get_by_role("log")).to_have_attribute("aria-live", "polite")
        page.keyboard.type("hello")
        page.keyboard.press("Enter")  # Enter sends
        expect(page.locator(".mw-row.mw-user .mw-text").last).to_have_text("hello")
        expect(page.get_by_role("textbox", name="Your message")).to_have_value("")
        page.keyboard.press("Escape")
        expect(page.get_by_role("dialog")).to_be_hidden()
        expect(launcher).to_be_focused()

    def test_offline_state_queues_and_reconnects(self, stack, new_page: NewPage) -> None:
        page = new_page()
        blocked = "**/socket.io/**"
        page.route(blocked, lambda route: route.abort())
        open_widget(page, stack.web_url)
        expect(page.locator(".mw-banner")).to_be_visible()
        expect(page.locator(".mw-banner")).to_contain_text("can't reach")
        expect(page.locator(".mw-status")).to_have_attribute("data-state", "offline")
        ask(page, "how many sessions do I need?")
        expect(page.locator(".mw-pending")).to_be_visible()

        page.unroute(blocked)
        page.get_by_role("button", name="Retry now").click()
        expect(page.locator(".mw-status")).to_have_attribute(
            "data-state", "online", timeout=BOT_TIMEOUT_MS
        )
        expect(page.locator(".mw-banner")).to_be_hidden()
        expect(page.locator(".mw-pending")).to_have_count(0)
        expect(page.locator(".mw-cites")).to_have_count(1, timeout=BOT_TIMEOUT_MS)

    @pytest.mark.parametrize("mobile", [False, True], ids=["desktop", "mobile"])
    def test_no_serious_accessibility_violations(
        self, stack, new_page: NewPage, mobile: bool
    ) -> None:
        assert AXE.is_file(), "axe-core missing: run `make web-deps` (npm ci in web/)"
        page = new_page(mobile=mobile, bypass_csp=True)  # CSP would block the injected axe
        open_widget(page, stack.web_url)
        wait_for_greeting(page)
        ask_cited_question(page)
        page.add_script_tag(path=str(AXE))
        results = page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        )
        serious = [
            f"{v['id']} ({v['impact']}): {v['help']} -> "
            + "; ".join(" ".join(map(str, n["target"])) for n in v["nodes"][:3])
            for v in results
            if v["impact"] in ("serious", "critical")
        ]
        assert not serious, "\n".join(serious)
