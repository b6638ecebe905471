"""ddtrace's OpenAI integration handling an OpenRouter response, in process (a supplementary figure).

A real ``openai.OpenAI`` client pointed at OpenRouter's URL with a dummy key, whose HTTP transport
is the HTTP library's in-process ``MockTransport``: every request is answered with the scenario's
response body, no socket is opened. ddtrace's OpenAI integration is installed with
``ddtrace.patch(openai=True)`` (what ``LLMObs.enable(integrations_enabled=True)`` does for openai)
and can be taken out again (``unpatch``) and put back (``patch``): the contrib's own functions,
which wrap and unwrap the same methods. With it out, ``openai`` is exactly the package a user
without ddtrace runs, so "patched call - unpatched call" is what the integration adds to one call.

This module knows nothing about timing or about ddtrace's writer; ``bench/run.py`` stubs the
writer (``DdtraceBench``) and times the callables side by side. Bench-only dependencies
(``ddtrace``, ``openai``) are imported when :class:`OpenAIIntegrationBench` is built, after
``bench/run.py`` has set ddtrace's environment.
"""

from __future__ import annotations

import importlib
import inspect
import json
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["OPENROUTER_BASE_URL", "OpenAIIntegrationBench", "skip_reason"]

OPENROUTER_BASE_URL = "https://openrouter.ai/api/v1"
# create() parameters that are the SDK's own plumbing, never request fields
_SDK_ONLY = frozenset({"self", "extra_headers", "extra_query", "extra_body", "timeout"})


def skip_reason(document: Mapping[str, Any], settings_doc: Mapping[str, Any]) -> str | None:
    """Why a scenario has no figure against the OpenAI integration, or None when it has one."""
    if "response" not in document:
        return (
            "streamed response: the OpenAI SDK would parse every SSE chunk into a pydantic model and "
            "ddtrace would rebuild the message from them; not the non-streaming path this figure measures"
        )
    if settings_doc.get("privacy_mode"):
        return (
            "privacy_mode: ddtrace's OpenAI integration has no equivalent (it always records the "
            "messages), so its side would be conversation-20's again against a different output of ours"
        )
    return None


class OpenAIIntegrationBench:
    """An ``openai.OpenAI`` client answered in process, with ddtrace's OpenAI integration on or off."""

    def __init__(self) -> None:
        ddtrace: Any = importlib.import_module("ddtrace")
        self.openai: Any = importlib.import_module("openai")
        self._contrib: Any = importlib.import_module("ddtrace.contrib.internal.openai.patch")
        # openai >= 3 is built on httpx2, earlier versions on httpx: the transport must be the SDK's own
        base_client = importlib.import_module("openai._base_client")
        http: Any = importlib.import_module("httpx2" if hasattr(base_client, "httpx2") else "httpx")
        self.http_library = f"{http.__name__} {http.__version__}"
        self._http = http
        self._body = b"{}"
        self.requests = 0
        self.client: Any = self.openai.OpenAI(
            base_url=OPENROUTER_BASE_URL,
            api_key="sk-or-v1-" + "0" * 64,  # a dummy: the transport below answers every request
            max_retries=0,
            http_client=http.Client(transport=http.MockTransport(self._respond)),
        )
        create = self.openai.resources.chat.Completions.create
        self._params = frozenset(inspect.signature(create).parameters) - _SDK_ONLY
        ddtrace.patch(openai=True)  # patches now: openai is already imported
        if not self.patched:
            raise RuntimeError("ddtrace.patch(openai=True) did not patch openai")
        self.unpatch()  # in only while its own figure is measured

    def _respond(self, request: Any) -> Any:
        self.requests += 1
        return self._http.Response(200, content=self._body, headers={"content-type": "application/json"})

    @property
    def patched(self) -> bool:
        return bool(getattr(self.openai, "__datadog_patch", False))

    def patch(self) -> None:
        """Put ddtrace's OpenAI integration in (a no-op when it is in)."""
        self._contrib.patch()

    def unpatch(self) -> None:
        """Take it out: the SDK's methods are the originals again (a no-op when it is out)."""
        self._contrib.unpatch()

    def request_kwargs(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """The keyword arguments of ``chat.completions.create`` for an OpenRouter request body:
        fields that ``create`` does not name (OpenRouter's ``session_id``, ``trace``, ``provider``
        ...) go in ``extra_body``, as a user of the SDK sends them."""
        kwargs = {key: value for key, value in request.items() if key in self._params}
        extra = {key: value for key, value in request.items() if key not in self._params}
        if extra:
            kwargs["extra_body"] = extra
        return kwargs

    def chat_call(self, request: Mapping[str, Any], response: Any) -> Callable[[], object]:
        """A callable making the chat completion ``request`` through the client (ddtrace's
        integration in or out, whichever it is at call time), answered with ``response`` as
        OpenRouter sends it (compact JSON)."""
        kwargs = self.request_kwargs(request)
        self._body = json.dumps(response, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        completions = self.client.chat.completions

        def call() -> object:
            # looked up on every call: patch() and unpatch() swap the class's method
            return completions.create(**kwargs)

        return call

    def integration_only(self, request: Mapping[str, Any], sdk_result: object) -> Callable[[], object]:
        """A callable running ddtrace's own wrapper of ``create`` (the function ``patch()`` installs,
        called the way the wrapper library calls it) around an inner call that returns
        ``sdk_result``, the SDK's parsed response, at once: ddtrace's work for one call without the
        SDK's. Needs the integration in (its ``openai._datadog_integration``)."""
        contrib = self._contrib
        endpoint = contrib._patched_endpoint(contrib._endpoint_hooks._ChatCompletionHook)
        kwargs = self.request_kwargs(request)
        completions = self.client.chat.completions

        def inner(*_args: Any, **_kwargs: Any) -> object:
            return sdk_result

        def call() -> object:
            return endpoint(inner, completions, (), dict(kwargs))

        return call
