"""OpenRouter destination ``filter_rules``: parse (with exact error paths) and evaluate.

Shape (openrouter-broadcast.md §1.3; contract §2)::

    {"enabled": true, "groups": [{"logic": "and" | "or", "rules": [{"field", "operator", "value"}]}]}

How a rule set decides (OpenRouter documents no combination rule; this is the library's own):

- A trace passes when **every group passes**. Inside a group the rules are joined by the group's
  ``logic`` (default ``"and"``). A group without rules passes.
- A disabled rule set (``enabled: false``) or an empty ``groups`` array passes everything;
  ``groups`` and each group's ``rules`` are required (as in ``schemas/settings.schema.json``).
- ``equals``/``contains``/``starts_with``/``ends_with``/``regex`` compare case-sensitively on the
  string form of the field (numbers via ``str``); ``equals`` compares numerically when both the field
  and the value are numbers (or the value is a numeric string). A missing field fails them.
- ``not_equals`` and ``not_contains`` are the exact negations of ``equals`` and ``contains`` (so a
  missing field passes them).
- ``gt``/``lt``/``gte``/``lte`` need a numeric value (a number or a numeric string); on a missing or
  non-numeric field the rule fails.
- ``exists``/``not_exists`` test whether the field has a value (an empty string counts as no value;
  a reported 0 is a value); ``value`` is ignored.
- ``regex`` finds a match anywhere, as :func:`re.search` would, with Python's own syntax, but in time
  linear in the subject (:class:`~.linear_regex.LinearRegex`: no backtracking, so no end user's
  text can stall :func:`~.decide.decide`). A pattern may be at most :data:`MAX_PATTERN_CHARS`
  characters and is compiled when the settings are read; a bad pattern is an ``InvalidSettings``,
  and so is one using a construct that cannot be matched in linear time: backreferences, conditional
  groups, lookahead/lookbehind, atomic groups, possessive quantifiers, a scoped ASCII/Unicode flag
  ``(?a:...)``, or counted repeats expanding past :data:`~.linear_regex.MAX_NFA_STATES` states. It
  is tested against at most the first :data:`MAX_REGEX_SUBJECT_CHARS` characters of the field.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from .jsonread import Node, is_number, type_name
from .linear_regex import LinearRegex, UnsupportedPattern

__all__ = [
    "FIELDS",
    "MAX_PATTERN_CHARS",
    "MAX_REGEX_SUBJECT_CHARS",
    "NUMERIC_OPERATORS",
    "OPERATORS",
    "Fact",
    "FilterGroup",
    "FilterRule",
    "FilterRules",
    "parse_filter_rules",
]

# openrouter-broadcast.md §1.3: the fields and operators of filter_rules
FIELDS = (
    "model",
    "provider",
    "session_id",
    "user_id",
    "api_key_name",
    "finish_reason",
    "input",
    "output",
    "total_cost",
    "total_tokens",
    "prompt_tokens",
    "completion_tokens",
)
STRING_OPERATORS = ("equals", "not_equals", "contains", "not_contains", "regex", "starts_with", "ends_with")
NUMERIC_OPERATORS = ("gt", "lt", "gte", "lte")
PRESENCE_OPERATORS = ("exists", "not_exists")
OPERATORS = STRING_OPERATORS + NUMERIC_OPERATORS + PRESENCE_OPERATORS
MAX_PATTERN_CHARS = 1000
_RULES_KEYS = frozenset({"enabled", "groups"})
_GROUP_KEYS = frozenset({"logic", "rules"})
_RULE_KEYS = frozenset({"field", "operator", "value"})
MAX_REGEX_SUBJECT_CHARS = 100_000

Fact = str | int | float | None
Logic = Literal["and", "or"]


def _as_number(value: object) -> float | int | None:
    """A JSON number, or a string holding a finite number; else None."""
    if is_number(value):
        return value  # type: ignore[return-value]
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _string_form(value: str | int | float) -> str:
    return value if isinstance(value, str) else str(value)


@dataclass(frozen=True, slots=True)
class FilterRule:
    """One ``{field, operator, value}``; ``pattern`` is the compiled regex for ``regex`` (equal and
    hashed by its pattern text, so rules compare by what they say)."""

    field: str
    operator: str
    value: str | int | float | None
    pattern: LinearRegex | None = None

    def passes(self, facts: Mapping[str, Fact]) -> bool:
        """Whether this rule accepts a trace with these field values."""
        fact = facts.get(self.field)
        op = self.operator
        if op == "exists":
            return fact is not None and fact != ""
        if op == "not_exists":
            return fact is None or fact == ""
        if op.startswith("not_"):
            return not FilterRule(self.field, op[4:], self.value, self.pattern).passes(facts)
        if fact is None or self.value is None:
            return False
        if op in NUMERIC_OPERATORS:
            limit = _as_number(self.value)
            if not is_number(fact) or limit is None:
                return False
            number: int | float = fact  # type: ignore[assignment]
            if op == "gt":
                return number > limit
            if op == "lt":
                return number < limit
            if op == "gte":
                return number >= limit
            return number <= limit
        text = _string_form(fact)
        wanted = _string_form(self.value)
        if op == "equals":
            limit = _as_number(self.value)
            if is_number(fact) and limit is not None:
                return fact == limit
            return text == wanted
        if op == "contains":
            return wanted in text
        if op == "starts_with":
            return text.startswith(wanted)
        if op == "ends_with":
            return text.endswith(wanted)
        assert self.pattern is not None  # op == "regex": compiled by parse_filter_rules
        return self.pattern.search(text[:MAX_REGEX_SUBJECT_CHARS])


@dataclass(frozen=True, slots=True)
class FilterGroup:
    logic: Logic
    rules: tuple[FilterRule, ...]

    def passes(self, facts: Mapping[str, Fact]) -> bool:
        """Rules joined by ``logic``; an empty group passes."""
        if not self.rules:
            return True
        results = (rule.passes(facts) for rule in self.rules)
        return all(results) if self.logic == "and" else any(results)


@dataclass(frozen=True, slots=True)
class FilterRules:
    """A destination's parsed ``filter_rules``."""

    enabled: bool = True
    groups: tuple[FilterGroup, ...] = ()

    def passes(self, facts: Mapping[str, Fact]) -> bool:
        """True when the trace may be sent: disabled or empty → True, else every group passes."""
        if not self.enabled:
            return True
        return all(group.passes(facts) for group in self.groups)


def _one_of(node: Node, allowed: tuple[str, ...], what: str) -> str:
    value = node.str_()
    if value not in allowed:
        node.fail(f"{value[:60]!r} is not a known {what}; use one of {', '.join(allowed)}")
    return value


def _parse_rule(node: Node) -> FilterRule:
    node.only(_RULE_KEYS)
    field_node = node.get("field")
    if field_node.value is None:
        field_node.fail("is required")
    field = _one_of(field_node, FIELDS, "field")
    op_node = node.get("operator")
    if op_node.value is None:
        op_node.fail("is required")
    operator = _one_of(op_node, OPERATORS, "operator")
    value_node = node.get("value")
    value = value_node.value
    if operator in PRESENCE_OPERATORS:
        return FilterRule(field, operator, None)  # value is ignored
    if value is None:
        value_node.fail(f"is required for operator {operator}")
    if isinstance(value, bool) or not (isinstance(value, str) or is_number(value)):
        value_node.fail(f"must be a string or a number, not {type_name(value)}")
    if operator in NUMERIC_OPERATORS and _as_number(value) is None:
        value_node.fail(f"must be a number for operator {operator}, not {str(value)[:60]!r}")
    pattern = None
    if operator == "regex":
        if not isinstance(value, str):
            value_node.fail(f"must be a string (a regular expression), not {type_name(value)}")
        if len(value) > MAX_PATTERN_CHARS:
            value_node.fail(
                f"is {len(value)} characters long; a pattern may have at most {MAX_PATTERN_CHARS}"
            )
        try:
            pattern = LinearRegex(value)
        except UnsupportedPattern as exc:
            value_node.fail(f"is not supported: {exc}")
        except (re.error, RecursionError, OverflowError) as exc:
            value_node.fail(f"is not a valid regular expression: {exc}")
    return FilterRule(field, operator, value, pattern)


def _parse_group(node: Node) -> FilterGroup:
    node.only(_GROUP_KEYS)
    logic_node = node.get("logic")
    logic: Logic = "and"
    if logic_node.value is not None and _one_of(logic_node, ("and", "or"), "logic") == "or":
        logic = "or"
    rules_node = node.get("rules")
    if rules_node.value is None:  # required, as in schemas/settings.schema.json
        rules_node.fail("is required (an array of {field, operator, value})")
    rules = tuple(_parse_rule(item) for item in rules_node.items())
    return FilterGroup(logic, rules)


def parse_filter_rules(node: Node) -> FilterRules:
    """Read a destination's ``filter_rules`` object; errors name the exact JSON path
    (``$.filter_rules.groups[0].rules[1].operator``). The three objects have fixed members: an
    unknown one (a typo such as ``"valeu"``) is refused rather than read as a missing value."""
    node.only(_RULES_KEYS)
    enabled = node.get("enabled").opt_bool()
    groups_node = node.get("groups")
    if groups_node.value is None:  # required, as in schemas/settings.schema.json
        groups_node.fail("is required (an array of {logic, rules}); use null filter_rules for no rules")
    groups = tuple(_parse_group(item) for item in groups_node.items())
    return FilterRules(enabled=enabled is not False, groups=groups)
