"""Validate documents against the project's JSON Schemas (``schemas/*.schema.json``, draft 2020-12).

The schemas describe the mapping's input (``exchange``, ``settings``), the conformance suite's
documents (``case``, ``case-meta``, ``error``) and Datadog's two wire formats (``span``,
``public-span``, ``evp-span``, ``public-payload``, ``evp-payload``). They refer to each other by
``$id`` (``https://llmobs-mapping.dev/schemas/<name>.schema.json``); every ``$ref`` resolves from
a local :class:`referencing.Registry`, so validation never touches the network.

Violations carry a JSON path into the document (``$.data.attributes.spans[0].meta.kind``). A
missing or unexpected key is reported at the key's own path. Messages name the rule and the JSON
type found; they quote short strings only where a pattern or an enum rejected them, so a secret
(the API key's schema is marked ``writeOnly``, so its value is never quoted) never appears in one.

Speed: jsonschema stays the authority, but a valid document is first accepted by a compiled
"quick check" (see the section at the end), so validating a payload costs less than mapping it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from jsonschema.exceptions import ValidationError, best_match
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from referencing import Registry, Resource

if TYPE_CHECKING:
    from referencing._core import Resolver

from .errors import SchemaViolation, json_path
from .jsonread import type_name

__all__ = [
    "SCHEMA_BASE_URI",
    "SCHEMA_NAMES",
    "SchemaName",
    "Violation",
    "iter_violations",
    "schema_dir",
    "schema_uri",
    "validate",
]

SchemaName = Literal[
    "exchange",
    "settings",
    "case",
    "case-meta",
    "error",
    "span",
    "public-span",
    "evp-span",
    "public-payload",
    "evp-payload",
]
SCHEMA_NAMES: tuple[SchemaName, ...] = get_args(SchemaName)
SCHEMA_BASE_URI = "https://llmobs-mapping.dev/schemas/"
_SCHEMA_SUFFIX = ".schema.json"
# public-span / evp-span select a $defs entry of span.schema.json; every other name is a file.
_FRAGMENTS: Mapping[str, tuple[str, str]] = {
    "public-span": ("span", "#/$defs/public_span"),
    "evp-span": ("span", "#/$defs/evp_span"),
}
_DRAFT = "https://json-schema.org/draft/2020-12/schema"
_EXCERPT = 60  # longest string quoted in a message


@dataclass(frozen=True, slots=True)
class Violation:
    """One way a document breaks a schema: where (a JSON path) and which rule."""

    path: str
    message: str


def schema_dir() -> Traversable:
    """Where the schema files are: the installed wheel's ``llmobs_mapping/_data/schemas`` (pyproject
    force-includes them there), else the checkout's ``schemas/`` next to the package."""
    packaged = resources.files("llmobs_mapping") / "_data" / "schemas"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parent.parent / "schemas"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"no JSON Schemas found in {packaged} or {checkout}")


def schema_uri(name: SchemaName) -> str:
    """The ``$id`` (plus ``$defs`` fragment for ``public-span``/``evp-span``) a name stands for."""
    if name not in SCHEMA_NAMES:
        raise ValueError(f"unknown schema {name!r}; expected one of {', '.join(SCHEMA_NAMES)}")
    file, fragment = _FRAGMENTS.get(name, (name, ""))
    return f"{SCHEMA_BASE_URI}{file}{_SCHEMA_SUFFIX}{fragment}"


@cache
def _registry() -> Registry[Any]:
    """Every ``*.schema.json`` under :func:`schema_dir`, keyed by its ``$id``."""
    resources_by_uri: list[tuple[str, Resource[Any]]] = []
    for entry in sorted(schema_dir().iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(_SCHEMA_SUFFIX):
            continue
        contents = json.loads(entry.read_text(encoding="utf-8"))
        expected = f"{SCHEMA_BASE_URI}{entry.name}"
        if contents.get("$id") != expected:
            raise ValueError(f"{entry.name}: $id must be {expected!r}, not {contents.get('$id')!r}")
        resources_by_uri.append((expected, Resource.from_contents(contents)))
    return Registry().with_resources(resources_by_uri).crawl()


@cache
def _validator(name: SchemaName) -> Validator:
    """The compiled validator for ``name`` (built once per process)."""
    wrapper = {"$schema": _DRAFT, "$ref": schema_uri(name)}
    cls = validator_for(wrapper)
    return cls(wrapper, registry=_registry())


def validate(document: Any, schema_name: SchemaName) -> None:
    """Raise :class:`~.errors.SchemaViolation` for the most relevant way ``document`` breaks the
    schema ``schema_name``; return None when it is valid."""
    if _quick_valid(document, schema_name):
        return
    error = best_match(_validator(schema_name).iter_errors(document))
    if error is None:
        return
    first = min(_violations_of(error), key=_order)
    raise SchemaViolation(json_path(first[0]), first[1], schema=schema_name)


def iter_violations(document: Any, schema_name: SchemaName) -> list[Violation]:
    """Every violation of ``schema_name`` in ``document``, sorted by path (array indexes in numeric
    order); an empty list when the document is valid."""
    if _quick_valid(document, schema_name):
        return []
    found: set[_Found] = set()
    for error in _validator(schema_name).iter_errors(document):
        found.update(_violations_of(error))
    return [Violation(json_path(parts), message) for parts, message in sorted(found, key=_order)]


def _quick_valid(document: Any, schema_name: SchemaName) -> bool:
    """True only when the compiled quick check proves ``document`` valid. False means "ask
    jsonschema", which stays the authority for every invalid document and every error message."""
    check = _quick_check(schema_name)
    if check is None:
        return False
    try:
        return check(document)
    except _Undecided:
        return False


# -- turning jsonschema errors into violations ------------------------------------------------------

_Found = tuple[tuple[str | int, ...], str]


def _order(item: _Found) -> tuple[tuple[tuple[int, int, str], ...], str]:
    parts, message = item
    key = tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in parts)
    return key, message


def _violations_of(error: ValidationError) -> list[_Found]:
    """One or more (path parts, message) for one jsonschema error. ``required`` and
    ``additionalProperties`` errors are reported at the missing / unexpected key."""
    parts: tuple[str | int, ...] = tuple(error.absolute_path)
    instance: Any = error.instance
    if error.validator == "required" and isinstance(instance, dict):
        required: Any = error.validator_value
        missing = [((*parts, key), "is required") for key in required if key not in instance]
        if missing:
            return missing
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        schema = error.schema if isinstance(error.schema, dict) else {}
        allowed: dict[str, Any] = schema.get("properties", {})
        patterns: dict[str, Any] = schema.get("patternProperties", {})
        note = f" (allowed: {', '.join(allowed)})" if allowed else ""
        extra = [
            ((*parts, key), f"is not allowed here{note}")
            for key in instance
            if key not in allowed and not any(re.search(p, key) for p in patterns)
        ]
        if extra:
            return extra
    if "propertyNames" in error.relative_schema_path and isinstance(instance, str):
        # a key breaks the rule for names: reported at the key, like an unexpected key
        return [((*parts, instance), f"is not an allowed name here ({_message(error)})")]
    return [(parts, _message(error))]


_ARTICLE = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "object": "an object",
    "array": "an array",
    "null": "null",
}


def _show(value: Any) -> str:
    """A short, safe rendering of a rejected value: strings quoted and cut, containers by type."""
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= _EXCERPT else text[: _EXCERPT - 4] + '..."'
    if value is None or isinstance(value, bool | int | float):
        return json.dumps(value)
    return type_name(value)


def _one_of(values: Iterable[Any]) -> str:
    return ", ".join(json.dumps(v) for v in values)


def _message(error: ValidationError) -> str:
    """A sentence for one error, in the style of :mod:`.jsonread` (``must be a string, not number``)."""
    keyword = error.validator
    expected: Any = error.validator_value
    instance: Any = error.instance
    schema_path = list(error.absolute_schema_path)
    if "dependentSchemas" in schema_path:  # a member another one excludes (exchange outcomes)
        trigger = schema_path[schema_path.index("dependentSchemas") + 1]
        return f"cannot be given together with {trigger!r}"
    if keyword is None or keyword == "not":  # a `false` or `{"not": ...}` subschema
        return "is not allowed here"
    if keyword == "type":
        names = [expected] if isinstance(expected, str) else list(expected)
        articles = [_ARTICLE.get(n, n) for n in names]
        wanted = " or ".join([", ".join(articles[:-1]), articles[-1]] if len(articles) > 2 else articles)
        return f"must be {wanted}, not {type_name(instance)}"
    if keyword == "enum":
        return f"must be one of {_one_of(expected)}, not {_show(instance)}"
    if keyword == "const":
        return f"must be {json.dumps(expected)}, not {_show(instance)}"
    if keyword == "pattern":
        if isinstance(error.schema, dict) and error.schema.get("writeOnly") is True:
            return f"does not match {expected}"  # a secret (the API key): never quoted
        return f"{_show(instance)} does not match {expected}"
    if keyword in ("minLength", "minItems") and expected == 1:
        return "must not be empty"
    if keyword == "minLength":
        return f"must have at least {expected} characters"
    if keyword == "maxLength":
        return f"must have at most {expected} characters, not {len(instance)}"
    if keyword == "minItems":
        return f"must have at least {expected} items"
    if keyword == "maxItems":
        return f"must have at most {expected} items, not {len(instance)}"
    if keyword == "minimum":
        return f"must be at least {expected}, not {_show(instance)}"
    if keyword == "maximum":
        return f"must be at most {expected}, not {_show(instance)}"
    if keyword == "uniqueItems":
        return "must not repeat an item"
    if keyword in ("anyOf", "oneOf"):
        branches = expected if isinstance(expected, list) else []
        keys = [b["required"][0] for b in branches if isinstance(b, dict) and "required" in b]
        if keys and len(keys) == len(branches):  # e.g. the exchange's three outcomes
            non_null = any("properties" in b for b in branches)
            return f"needs one of {_one_of(keys)}" + (" (not null)" if non_null else "")
        return "matches none of the allowed forms"
    return f"breaks the {keyword!r} rule"


# -- the quick check: our schemas compiled to closures ---------------------------------------------
#
# jsonschema walks a schema through generic machinery (a new validator object per subschema, a
# registry lookup per $ref), which costs several times the mapping itself. The quick check compiles
# the small keyword subset our schemas use into plain closures with jsonschema's semantics: each
# closure answers exactly, or raises _Undecided for a value it does not model (a non-JSON Python
# type, NaN). Only its "valid" is trusted: "invalid" or "undecided" goes to jsonschema, which stays
# the authority for every error and message. A schema using any other keyword gets no quick check
# (_Unsupported). tests/test_schemas.py checks that both agree on every good and bad document.

_Check = Callable[[Any], bool]
# Keywords that assert nothing (format is an annotation too: no FormatChecker is used).
_ANNOTATIONS = frozenset(
    {
        "$schema",
        "$id",
        "$comment",
        "$defs",
        "title",
        "description",
        "examples",
        "default",
        "format",
        "writeOnly",
    }
)
_OBJECT_KEYWORDS = frozenset({"properties", "patternProperties", "additionalProperties"})
_BRANCH_KEYWORDS = frozenset({"if", "then", "else"})
_JSON_TYPES = (dict, list, str, int, float, type(None))


class _Unsupported(Exception):
    """A schema uses a keyword (or an enum value) the quick check does not model."""


class _Undecided(Exception):
    """The document holds a value the quick check does not model (not a JSON type)."""


def _accept(value: Any) -> bool:
    return True


def _reject(value: Any) -> bool:
    return False


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_TYPE_TESTS: Mapping[str, _Check] = {
    "object": lambda value: isinstance(value, dict),
    "array": lambda value: isinstance(value, list),
    "string": lambda value: isinstance(value, str),
    "boolean": lambda value: isinstance(value, bool),
    "null": lambda value: value is None,
    "number": _is_number,
    "integer": _is_integer,
}


def _undecided_unless_json(value: Any) -> None:
    if not isinstance(value, _JSON_TYPES):
        raise _Undecided(type(value).__name__)


def _all_of(checks: list[_Check]) -> _Check:
    if not checks:
        return _accept
    if len(checks) == 1:
        return checks[0]
    frozen = tuple(checks)

    def check(value: Any) -> bool:
        # explicit loops on this hot path: about twice as fast as all(<generator>)
        for each in frozen:  # noqa: SIM110
            if not each(value):
                return False
        return True

    return check


class _QuickCompiler:
    """Compiles one schema (and every schema its $refs reach) into a :data:`_Check`."""

    def __init__(self) -> None:
        # keyed by id(); the schema itself is kept so that the id stays unique
        self._compiled: dict[int, tuple[Any, _Check]] = {}

    def compile(self, schema: Any, resolver: Resolver[Any]) -> _Check:
        if schema is True:
            return _accept
        if schema is False:
            return _reject
        if not isinstance(schema, dict):
            raise _Unsupported(f"schema of type {type(schema).__name__}")
        done = self._compiled.get(id(schema))
        if done is not None:
            return done[1]
        slot: list[_Check] = []

        def deferred(value: Any) -> bool:  # stands in while a recursive $ref compiles
            return slot[0](value)

        self._compiled[id(schema)] = (schema, deferred)
        checks = [self._keyword(key, schema, resolver) for key in schema if key not in _ANNOTATIONS]
        check = _all_of([c for c in checks if c is not _accept])
        slot.append(check)
        self._compiled[id(schema)] = (schema, check)
        return check

    def _keyword(self, key: str, schema: dict[str, Any], resolver: Resolver[Any]) -> _Check:
        value = schema[key]
        if key in _OBJECT_KEYWORDS:
            # compiled once, for the first of the three keywords met
            first = next(k for k in schema if k in _OBJECT_KEYWORDS)
            return self._object(schema, resolver) if key == first else _accept
        if key in _BRANCH_KEYWORDS:
            return self._branch(schema, resolver) if key == "if" else _accept
        if key == "$ref":
            resolved = resolver.lookup(value)
            return self.compile(resolved.contents, resolved.resolver)
        if key == "type":
            return self._type([value] if isinstance(value, str) else list(value))
        if key in ("enum", "const"):
            return self._strings(value if key == "enum" else [value])
        if key == "required":
            return self._required(tuple(value))
        if key == "items":
            return self._items(self.compile(value, resolver))
        if key == "propertyNames":
            return self._names(self.compile(value, resolver))
        if key == "not":
            inner = self.compile(value, resolver)
            return lambda v: not inner(v)
        if key in ("anyOf", "oneOf", "allOf"):
            return self._combine(key, [self.compile(s, resolver) for s in value])
        if key == "dependentSchemas":
            return self._dependent({k: self.compile(s, resolver) for k, s in value.items()})
        return self._bound(key, value)

    @staticmethod
    def _required(names: tuple[str, ...]) -> _Check:
        def check(value: Any) -> bool:
            if isinstance(value, dict):
                for name in names:
                    if name not in value:
                        return False
            return True

        return check

    @staticmethod
    def _type(names: list[str]) -> _Check:
        try:
            tests = tuple(_TYPE_TESTS[name] for name in names)
        except KeyError as exc:
            raise _Unsupported(f"type {exc}") from None
        if len(tests) == 1:
            (test,) = tests

            def check_one(value: Any) -> bool:
                if test(value):
                    return True
                _undecided_unless_json(value)
                return False

            return check_one

        def check(value: Any) -> bool:
            for test in tests:
                if test(value):
                    return True
            _undecided_unless_json(value)
            return False

        return check

    @staticmethod
    def _strings(options: list[Any]) -> _Check:
        if not all(isinstance(option, str) for option in options):
            raise _Unsupported("enum/const of non-strings")
        allowed = frozenset(options)

        def check(value: Any) -> bool:
            if isinstance(value, str):
                return value in allowed
            _undecided_unless_json(value)
            return False

        return check

    def _object(self, schema: dict[str, Any], resolver: Resolver[Any]) -> _Check:
        known = {k: self.compile(s, resolver) for k, s in schema.get("properties", {}).items()}
        patterns = tuple(
            (re.compile(p).search, self.compile(s, resolver))
            for p, s in schema.get("patternProperties", {}).items()
        )
        rest = (
            self.compile(schema["additionalProperties"], resolver)
            if "additionalProperties" in schema
            else None
        )

        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return True
            for key, member in value.items():
                if not isinstance(key, str):
                    raise _Undecided("non-string key")
                own = known.get(key)
                matched = own is not None
                if own is not None and not own(member):
                    return False
                for search, by_pattern in patterns:
                    if search(key):
                        matched = True
                        if not by_pattern(member):
                            return False
                if not matched and rest is not None and not rest(member):
                    return False
            return True

        return check

    def _branch(self, schema: dict[str, Any], resolver: Resolver[Any]) -> _Check:
        condition = self.compile(schema["if"], resolver)
        then = self.compile(schema.get("then", True), resolver)
        otherwise = self.compile(schema.get("else", True), resolver)
        return lambda value: then(value) if condition(value) else otherwise(value)

    @staticmethod
    def _items(each: _Check) -> _Check:
        def check(value: Any) -> bool:
            if not isinstance(value, list):
                return True
            for item in value:  # noqa: SIM110
                if not each(item):
                    return False
            return True

        return check

    @staticmethod
    def _names(each: _Check) -> _Check:
        keys_pass = _QuickCompiler._items(each)  # the keys, checked as a list's items are
        return lambda value: not isinstance(value, dict) or keys_pass(list(value))

    @staticmethod
    def _combine(key: str, checks: list[_Check]) -> _Check:
        if key == "allOf":
            return _all_of(checks)
        if key == "anyOf":
            return lambda value: any(c(value) for c in checks)
        return lambda value: sum(1 for c in checks if c(value)) == 1

    @staticmethod
    def _dependent(by_key: dict[str, _Check]) -> _Check:
        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return True
            return all(c(value) for k, c in by_key.items() if k in value)

        return check

    @staticmethod
    def _bound(key: str, limit: Any) -> _Check:
        if key == "pattern":
            search = re.compile(limit).search
            return lambda v: not isinstance(v, str) or search(v) is not None
        if key == "minLength":
            return lambda v: not isinstance(v, str) or len(v) >= limit
        if key == "maxLength":
            return lambda v: not isinstance(v, str) or len(v) <= limit
        if key == "minItems":
            return lambda v: not isinstance(v, list) or len(v) >= limit
        if key == "maxItems":
            return lambda v: not isinstance(v, list) or len(v) <= limit
        if key == "minimum":
            return lambda v: not _is_number(v) or v >= limit or _undecided_if_nan(v)
        if key == "maximum":
            return lambda v: not _is_number(v) or v <= limit or _undecided_if_nan(v)
        if key == "uniqueItems" and limit is True:
            return _unique_strings
        raise _Unsupported(f"keyword {key!r}")


def _undecided_if_nan(value: Any) -> bool:
    """NaN compares false both ways; jsonschema lets it pass a bound, so leave it to jsonschema."""
    if math.isnan(value):
        raise _Undecided("NaN")
    return False


def _unique_strings(value: Any) -> bool:
    if not isinstance(value, list):
        return True
    if not all(isinstance(item, str) for item in value):
        raise _Undecided("uniqueItems over non-strings")
    return len(set(value)) == len(value)


@cache
def _quick_check(name: SchemaName) -> _Check | None:
    """The compiled quick check for ``name``, or None when its schemas use an unmodelled keyword."""
    try:
        return _QuickCompiler().compile({"$ref": schema_uri(name)}, _registry().resolver())
    except _Unsupported:
        return None
