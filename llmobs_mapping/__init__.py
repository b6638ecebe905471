"""llmobs-mapping: one OpenRouter call + a Datadog destination → the exact LLM Observability payload."""

__version__ = "0.1.0"

from .decide import Decision, decide
from .encode import FORMATS, Format, build_payload, dumps, encode_spans
from .errors import (
    DeliveryError,
    InvalidInput,
    InvalidSettings,
    MappingError,
    NotTraceable,
    OutputError,
    SchemaViolation,
)
from .exchange import read_exchange
from .exchange_types import Exchange
from .settings import Settings
from .spans import Span, to_spans

__all__ = [
    "FORMATS",
    "Decision",
    "DeliveryError",
    "Exchange",
    "Format",
    "InvalidInput",
    "InvalidSettings",
    "MappingError",
    "NotTraceable",
    "OutputError",
    "SchemaViolation",
    "Settings",
    "Span",
    "__version__",
    "build_payload",
    "decide",
    "dumps",
    "encode_spans",
    "read_exchange",
    "to_spans",
]
