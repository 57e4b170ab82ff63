"""A real browser. Events: a page on another origin logs in through CORS, subscribes with a native
EventSource, and shows a message posted afterwards. Docs: Swagger UI renders offline.
Debian's Chromium, driven by Playwright."""

import functools
import http.server
import os
import threading
from urllib.parse import urlencode

import pytest
from werkzeug.serving import make_server

from tests.conftest import PASSWORD, create_user, headers_for

CHROMIUM = "/usr/bin/chromium"
PAGE_DIR = os.path.join(os.path.dirname(__file__), "browser")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

if not os.path.exists(CHROMIUM) and not os.environ.get("CI"):
    pytest.skip("Debian's chromium is not installed (.ci/run installs it)", allow_module_level=True)
sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _serve_in_thread(server):
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


@pytest.fixture
def api_url(app):
    server = _serve_in_thread(make_server("127.0.0.1", 0, app, threaded=True))
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def _page_server(host: str, port: int):
    handler = functools.partial(_QuietHandler, directory=PAGE_DIR)
    return _serve_in_thread(http.server.ThreadingHTTPServer((host, port), handler))


@pytest.fixture
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def _open_chat(browser, origin, api_url, user, ticket_id):
    query = urlencode(
        {"api": api_url, "ticket": ticket_id, "email": user.email, "password": PASSWORD}
    )
    page = browser.new_page()
    page.goto(f"{origin}/chat.html?{query}")
    return page


def _ticket_for(client, requester) -> int:
    response = client.post(
        "/api/tickets",
        json={"title": "Monitor flickers", "description": "Every few seconds."},
        headers=headers_for(requester),
    )
    return response.get_json()["id"]


def test_page_from_an_allowed_origin_shows_a_message_posted_after_subscribing(
    client, api_url, browser
):
    requester = create_user("requester")
    agent = create_user("agent")
    ticket_id = _ticket_for(client, requester)
    page_server = _page_server("127.0.0.1", 5173)
    try:
        page = _open_chat(browser, "http://localhost:5173", api_url, requester, ticket_id)
        page.wait_for_function(
            "document.getElementById('status').textContent === 'subscribed'", timeout=15000
        )
        response = client.post(
            "/api/messages",
            json={"ticket_id": ticket_id, "body": "A new monitor is on its way"},
            headers=headers_for(agent),
        )
        assert response.status_code == 201
        page.wait_for_selector("#messages li", timeout=10000)
        assert page.inner_text("#messages") == "A new monitor is on its way"
    finally:
        page_server.shutdown()
        page_server.server_close()


def test_page_from_an_origin_not_in_cors_origins_cannot_log_in(client, api_url, browser):
    requester = create_user("requester")
    ticket_id = _ticket_for(client, requester)
    page_server = _page_server("127.0.0.1", 0)
    origin = f"http://127.0.0.1:{page_server.server_port}"
    try:
        page = _open_chat(browser, origin, api_url, requester, ticket_id)
        page.wait_for_function(
            "document.getElementById('status').textContent.startsWith('login failed')",
            timeout=15000,
        )
        assert "login failed" in page.inner_text("#status")
    finally:
        page_server.shutdown()
        page_server.server_close()


def test_docs_page_renders_the_operations_with_no_network(api_url, browser, tmp_path):
    context = browser.new_context()
    outside = []

    def only_this_server(route):
        if route.request.url.startswith(api_url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_this_server)
    page = context.new_page()
    page.goto(f"{api_url}/api/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=15000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/tickets" in [path.strip() for path in paths]
    assert "/api/auth/login" in [path.strip() for path in paths]
    screenshot = tmp_path / "docs.png"
    page.screenshot(path=str(screenshot), full_page=False)
    assert screenshot.stat().st_size > 10_000
    assert outside == []
    context.close()
