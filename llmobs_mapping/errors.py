"""The library's typed errors. Every error names the document and the JSON path it is about.

Tree::

    MappingError                 base class, never raised itself
    ├── InvalidInput             the exchange document breaks the OpenRouter shape      .path
    ├── NotTraceable             no generation id anywhere: OpenRouter traces nothing   .path
    ├── InvalidSettings          the destination settings are unusable                 .path
    ├── SchemaViolation          a document fails one of the project's JSON Schemas     .path, .schema
    ├── DeliveryError            raised by the optional sender only                     .path
    └── OutputError              the command line could not write its output            .path

Paths are JSON paths (``$.request.messages[0].content``) into the document the error is about:
the exchange for ``InvalidInput``/``NotTraceable``, the destination JSON for ``InvalidSettings``.
Messages never contain the API key.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "DeliveryError",
    "InvalidInput",
    "InvalidSettings",
    "MappingError",
    "NotTraceable",
    "OutputError",
    "SchemaViolation",
    "json_path",
]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def json_path(parts: Iterable[str | int]) -> str:
    """Render path parts as a JSON path: ``("request", "messages", 0)`` → ``$.request.messages[0]``."""
    out = ["$"]
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _IDENT.match(part):
            out.append(f".{part}")
        else:
            escaped = part.replace("\\", "\\\\").replace('"', '\\"')
            out.append(f'["{escaped}"]')
    return "".join(out)


class MappingError(Exception):
    """Base of every error this library raises on purpose."""

    path: str
    message: str

    def __init__(self, path: str, message: str) -> None:
        if type(self) is MappingError:
            raise TypeError("MappingError is abstract; raise one of its subclasses")
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message

    def to_dict(self) -> dict[str, str]:
        """The CLI's error line: ``{"error": <class name>, "path": ..., "message": ...}``."""
        return {"error": type(self).__name__, "path": self.path, "message": self.message}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(path={self.path!r}, message={self.message!r})"


class InvalidInput(MappingError):
    """The exchange document (request, response, stream, error, timing, headers) is malformed."""


class NotTraceable(MappingError):
    """The exchange has no generation id: OpenRouter rejected it before routing and traces nothing."""


class InvalidSettings(MappingError):
    """The destination settings cannot be used (bad URL, empty ml_app, wrong types)."""


class SchemaViolation(MappingError):
    """A document does not validate against one of the project's JSON Schemas."""

    schema: str

    def __init__(self, path: str, message: str, *, schema: str) -> None:
        super().__init__(path, message)
        self.schema = schema


class DeliveryError(MappingError):
    """The sender could not be set up or used (raised by :mod:`llmobs_mapping.sender` only)."""


class OutputError(MappingError):
    """The command line could not write its output (a full disk, a file it may not create): raised by
    the CLI only, at ``$``, with the operating system's reason."""
