"""End-to-end: the generated trace view in a real headless Chromium, driven over the DevTools protocol.

Chromium is Debian's ``chromium`` package (``.ci/run`` installs it when absent). Outside CI the tests
skip when /usr/bin/chromium is missing; in CI (``CI`` set) they must run. Screenshots land in
``tests/artifacts/`` (or ``$LLMOBS_VIEW_ARTIFACTS``).
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from conftest import EXAMPLES, ROOT, load, stop_process

from llmobs_mapping import Settings, build_payload
from llmobs_mapping.view import NO_IO_NOTE, render_diff_html, render_html

CHROMIUM = os.environ.get("LLMOBS_VIEW_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("LLMOBS_VIEW_ARTIFACTS", ROOT / "tests" / "artifacts"))
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
    "--remote-debugging-port=0",
)

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing; .ci/run installs Debian's chromium", pytrace=False)
    pytest.skip(
        f"{CHROMIUM} is missing (apt-get install -y chromium); skipped outside CI", allow_module_level=True
    )


class Page:
    """One Chromium tab over the DevTools protocol (a tiny client on aiohttp's websocket)."""

    def __init__(self, ws_url: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._session = self._run(self._open_session())
        self._ws: aiohttp.ClientWebSocketResponse = self._run(
            self._session.ws_connect(ws_url, max_msg_size=0)
        )
        self._next_id = 0

    @staticmethod
    async def _open_session() -> aiohttp.ClientSession:
        return aiohttp.ClientSession()

    def _run(self, coroutine: Any) -> Any:
        return self._loop.run_until_complete(asyncio.wait_for(coroutine, timeout=30))

    async def _call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self._next_id += 1
        call_id = self._next_id
        await self._ws.send_str(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(await self._ws.receive_str())
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message["result"]
                return result

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._run(self._call(method, params))
        return result

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JS expression in the page (exceptions fail the test)."""
        reply = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in reply:
            raise AssertionError(f"JS error in {expression!r}: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def open(self, path: Path) -> None:
        """Load a file and wait until the view has rendered."""
        self.call("Page.navigate", url=path.as_uri())
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            ready = self.evaluate("document.readyState === 'complete' && !!document.body")
            if ready and self.evaluate("document.body.dataset.ready === 'true'"):
                return
            time.sleep(0.05)
        raise AssertionError(f"{path} did not render within 20 s")

    def text(self, selector: str) -> str:
        value: str = self.evaluate(f"document.querySelector({json.dumps(selector)}).innerText")
        return value

    def click(self, selector: str) -> None:
        self.evaluate(f"document.querySelector({json.dumps(selector)}).click()")

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        target = ARTIFACTS / name
        target.write_bytes(base64.b64decode(data))
        return target

    def close(self) -> None:
        self._run(self._ws.close())
        self._run(self._session.close())
        self._loop.close()


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    profile = tempfile.mkdtemp(prefix="llmobs-view-chromium-")
    process = subprocess.Popen(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = Path(profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text().strip():
            if time.monotonic() > deadline or process.poll() is not None:
                raise AssertionError("Chromium did not open its DevTools port")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as reply:
            targets = json.loads(reply.read())
        tab = Page(next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page"))
        try:
            yield tab
        finally:
            tab.close()
    finally:
        stop_process(process)
        shutil.rmtree(profile, ignore_errors=True)


def _seed_payload(settings_file: str, fmt: str) -> Any:
    settings = Settings.from_destination(load(EXAMPLES / settings_file))
    return build_payload(load(EXAMPLES / "seed-exchange.json"), settings, fmt)  # type: ignore[arg-type]


def _write(tmp_path: Path, name: str, html: str) -> Path:
    target = tmp_path / name
    target.write_text(html, encoding="utf-8")
    return target


LLM_ROW = ".span-row[data-position='1']"


@pytest.mark.parametrize("fmt", ["public", "evp"])
def test_seed_example_shows_root_llm_span_messages_tags_and_cost(
    page: Page, tmp_path: Path, fmt: str
) -> None:
    """The seed example (real mapping output): root "Customer Support Bot", the LLM span under it;
    clicking the LLM span shows the user's "Hello!", the assistant's answer, the tags and the cost."""
    page.open(_write(tmp_path, "seed.html", render_html(_seed_payload("seed-settings.json", fmt))))

    rows = page.evaluate(
        "[...document.querySelectorAll('.span-row')].map(r => [r.dataset.depth,"
        " r.querySelector('.kind').textContent, r.querySelector('.row-name').textContent])"
    )
    assert rows == [["0", "workflow", "Customer Support Bot"], ["1", "llm", "openai/gpt-4o"]]

    page.click(LLM_ROW)
    assert page.evaluate("document.querySelector('.span-row.selected').dataset.position") == "1"
    assert page.text("#detail .span-name") == "openai/gpt-4o"
    messages = page.evaluate(
        "[...document.querySelectorAll('#detail .message')].map(m => [m.closest('.io').dataset.io,"
        " m.querySelector('.role').textContent, m.querySelector('.message-content').textContent])"
    )
    assert messages == [
        ["input", "user", "Hello!"],
        ["output", "assistant", "Hi there! How can I help you with your support ticket today?"],
    ]
    tags = page.evaluate("[...document.querySelectorAll('#tags .chip')].map(c => c.textContent)")
    expected_tags = ["service:production-app", "session_id:session_abc", "user_id:user_12345"]
    if fmt == "evp":
        expected_tags = ["ml_app:production-app", *expected_tags]
    assert tags == expected_tags
    metrics = dict(
        page.evaluate(
            "[...document.querySelectorAll('#metrics tr')]"
            ".map(r => [r.cells[0].textContent, r.cells[1].textContent])"
        )
    )
    assert metrics["Total cost"] == "$0.0001725 (0.01725¢)"
    assert metrics["Input tokens"] == "9"
    facts = page.evaluate(
        "[...document.querySelectorAll('#detail .fact')]"
        ".map(f => [f.querySelector('.label').textContent, f.querySelector('.value').textContent])"
    )
    assert facts == [
        ["Duration", "1.23 s"],
        ["Model", "openai/gpt-4o"],
        ["Provider", "openai"],
        ["Tokens", "24 tokens"],
        ["Cost", "$0.0001725 (0.01725¢)"],
    ]
    shot = page.screenshot(f"seed-{fmt}-llm-span.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_privacy_mode_shows_no_message_text(page: Page, tmp_path: Path) -> None:
    """Privacy mode: no span shows any message text, each says why, and cost and tags remain."""
    page.open(
        _write(tmp_path, "privacy.html", render_html(_seed_payload("seed-settings-privacy.json", "public")))
    )
    for position in ("0", "1"):
        page.click(f".span-row[data-position='{position}']")
        detail = page.text("#detail")
        assert page.text("#detail .io-note") == NO_IO_NOTE
        assert page.evaluate("document.querySelectorAll('#detail .message').length") == 0
        assert "Hello" not in detail
        assert "How can I help" not in detail
    assert "$0.0001725" in page.text("#detail #metrics")
    assert "user_id:user_12345" in page.text("#detail #tags")
    assert "Hello" not in page.evaluate("document.body.innerText")
    page.screenshot("seed-privacy-llm-span.png")


HOSTILE = (
    "<script>window.__pwned = 1; document.title = 'pwned'</script>"
    '<img src=x onerror="window.__pwned = 2"></script><!-- \u2028 &amp;'
)


def _hostile_payload() -> dict[str, Any]:
    payload: dict[str, Any] = copy.deepcopy(_seed_payload("seed-settings.json", "public"))
    llm = payload["data"]["attributes"]["spans"][1]
    llm["name"] = "</script><script>window.__pwned = 3</script>"
    llm["meta"]["input"]["messages"][0]["content"] = HOSTILE
    llm["meta"]["metadata"]["note"] = HOSTILE
    payload["data"]["attributes"]["tags"].append("x:</script><script>window.__pwned=4</script>")
    return payload


def test_script_in_a_message_renders_as_text_and_does_not_run(page: Page, tmp_path: Path) -> None:
    """Markup in a message, a span name, metadata or a tag shows as literal text and never executes."""
    page.open(_write(tmp_path, "hostile.html", render_html(_hostile_payload())))
    page.click(LLM_ROW)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.evaluate("document.title") == "Customer Support Bot · LLM Observability trace"
    assert page.evaluate("document.scripts.length") == 3  # view model, payload, the view's own code
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    assert page.evaluate("document.querySelector('#detail .message-content').textContent") == HOSTILE
    assert page.text("#detail .span-name") == "</script><script>window.__pwned = 3</script>"
    page.screenshot("hostile-llm-span.png")


def _wide_payload(count: int) -> dict[str, Any]:
    """A workflow root over ``count - 1`` llm/tool spans, ten children per span."""
    spans: list[dict[str, Any]] = []
    for i in range(count):
        parent = "undefined" if i == 0 else str((i - 1) // 10 + 1)  # ten children per span
        kind = "workflow" if i == 0 else ("llm" if i % 3 else "tool")
        span: dict[str, Any] = {
            "name": f"span-{i}",
            "span_id": str(i + 1),
            "trace_id": "trace-1000",
            "parent_id": parent,
            "start_ns": 1_000_000_000 + i * 1_000_000,
            "duration": 5_000_000 + (i % 7) * 1_000_000,
            "status": "error" if i % 97 == 0 and i else "ok",
            "meta": {"kind": kind, "metadata": {"i": i}},
            "metrics": {"input_tokens": i, "total_cost": i / 1e6},
        }
        if kind == "llm":
            span["meta"]["input"] = {"messages": [{"role": "user", "content": f"question {i}"}]}
            span["meta"]["output"] = {"messages": [{"role": "assistant", "content": f"answer {i}"}]}
        spans.append(span)
    return {
        "data": {"type": "span", "attributes": {"ml_app": "bulk", "tags": ["service:bulk"], "spans": spans}}
    }


def test_a_thousand_spans_render_in_under_a_second(page: Page, tmp_path: Path) -> None:
    """1,000 spans: the page's own measurement of its render stays under one second."""
    page.open(_write(tmp_path, "thousand.html", render_html(_wide_payload(1000))))
    assert page.evaluate("document.querySelectorAll('.span-row').length") == 1000
    render_ms = page.evaluate("window.__traceView.renderMs")
    assert 0 < render_ms < 1000, render_ms
    page.click(".span-row[data-position='999']")
    assert page.text("#detail .span-name").startswith("span-")
    position_of_span_500 = page.evaluate(
        "[...document.querySelectorAll('.span-row')]"
        ".findIndex(r => r.querySelector('.row-name').textContent === 'span-500')"
    )
    page.click(f".span-row[data-position='{position_of_span_500}']")
    assert page.evaluate(
        "[...document.querySelectorAll('#detail .message-content')].map(m => m.textContent)"
    ) == [
        "question 500",
        "answer 500",
    ]


def test_collapsing_a_span_hides_its_subtree(page: Page, tmp_path: Path) -> None:
    """The caret of the root hides every descendant; clicking it again shows them."""
    page.open(_write(tmp_path, "seed.html", render_html(_seed_payload("seed-settings.json", "public"))))
    page.click(".span-row[data-position='0'] .caret")
    assert page.evaluate(
        "[...document.querySelectorAll('.span-row.hidden')].map(r => r.dataset.position)"
    ) == ["1"]
    page.click(".span-row[data-position='0'] .caret")
    assert page.evaluate("document.querySelectorAll('.span-row.hidden').length") == 0


def test_diff_view_marks_changed_added_and_removed_fields(page: Page, tmp_path: Path) -> None:
    """Diff mode lists every difference and highlights each on the span it belongs to."""
    expected = _seed_payload("seed-settings.json", "public")
    actual = copy.deepcopy(expected)
    llm = actual["data"]["attributes"]["spans"][1]
    llm["meta"]["output"]["messages"][0]["content"] = "Hello! What can I do for you?"
    del llm["metrics"]["input_cost"]
    llm["meta"]["metadata"]["region"] = "eu"
    page.open(_write(tmp_path, "diff.html", render_diff_html(expected, actual)))

    listed = page.evaluate(
        "[...document.querySelectorAll('#differences .diff-entry')].map(e => [e.dataset.kind,"
        " e.querySelector('.diff-path').textContent])"
    )
    base = "$.data.attributes.spans[1]"
    assert listed == [
        ["added", f"{base}.meta.metadata.region"],
        ["changed", f"{base}.meta.output.messages[0].content"],
        ["removed", f"{base}.metrics.input_cost"],
    ]
    assert page.evaluate(
        "document.querySelector(\".span-row[data-position='1']\").classList.contains('diff-changed')"
    )
    page.click("#differences .diff-entry[data-kind='changed']")
    marked = page.evaluate(
        "[...document.querySelectorAll('#detail [data-diff]')].map(e => [e.dataset.diff, e.dataset.path])"
    )
    assert marked == [
        ["changed", f"{base}.meta.output.messages[0].content"],
        ["inner", f"{base}.metrics"],
        ["added", f"{base}.meta.metadata.region"],
    ]
    assert page.text(f"#detail [data-path='{base}.meta.output.messages[0].content']") == (
        "Hello! What can I do for you?"
    )
    page.screenshot("diff-llm-span.png")
