"""A regular-expression *search* that runs in time linear in the subject (no backtracking).

:class:`LinearRegex` answers one question — does ``re.search(pattern, text)`` find a match? — with
the answer Python's :mod:`re` gives, but without its backtracking: ``.*error.*timeout`` against
``"error " * 2000`` or ``^(a+)+$`` against ``"a" * 30 + "!"`` take microseconds instead of minutes.

How:

- The pattern is parsed by the standard library's own parser (``re._parser``, ``sre_parse`` before
  3.11), so the syntax accepted is exactly Python's, flags included.
- The parse tree becomes a Thompson NFA (counted repeats are expanded; at most
  :data:`MAX_NFA_STATES` states). Every single-character test (a literal, ``.``, a class, ``\\d``,
  ``\\w`` …) is a tiny pattern compiled by :mod:`re` itself from the parsed item, inside the same
  scoped-flag groups and with the pattern's global flags, so case folding, Unicode/ASCII classes
  and DOTALL agree with :mod:`re` by construction; each is evaluated at most once per character.
- The NFA is simulated by a DFA built lazily and memoised on the compiled object (subset states keyed
  by NFA kernel and the kind of the previous character). Anchors (``^ $ \\A \\Z \\b \\B``, MULTILINE
  and ASCII variants, sre's exact edge cases) are evaluated per position from the characters around
  it. The inner loop is one dict lookup per character and stops at the first accepting state. If the
  memo grows past its bounds it is dropped and rebuilt, so time stays O(len(text) * NFA size) and
  memory bounded.

Refused (:class:`UnsupportedPattern`, a :class:`ValueError`), because they cannot be matched in linear
time or change whether a match exists in ways an NFA cannot model: backreferences (``\\1``,
``(?P=name)``), conditional groups (``(?(1)a|b)``), lookahead and lookbehind, atomic groups
(``(?>...)``), possessive quantifiers (``*+``, ``++``, ``?+``, ``{m,n}+``), and a scoped ASCII or
Unicode flag (``(?a:...)``), which :mod:`re` itself applies inconsistently. Greedy and lazy
quantifiers are the same thing here: only the existence of a match is decided.

The compiled object is immutable from the outside; its memo tables are private, compared by nothing
(equality and hash are those of ``(pattern, flags)``) and safe to share between threads (a lost
update only means a transition is computed twice).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any, Final

__all__ = ["MAX_DFA_STATES", "MAX_NFA_STATES", "LinearRegex", "UnsupportedPattern"]

try:  # Python 3.11+
    _parser: Any = importlib.import_module("re._parser")
    _c: Any = importlib.import_module("re._constants")
except ImportError:  # pragma: no cover - older Pythons
    _parser = importlib.import_module("sre_parse")
    _c = importlib.import_module("sre_constants")

MAX_NFA_STATES: Final = 2_000
"""A pattern whose NFA (counted repeats expanded) needs more states is refused."""
MAX_DFA_STATES: Final = 4_096
"""Memoised DFA states per compiled pattern before the memo is dropped and rebuilt."""
_MAX_KERNEL_TOTAL: Final = 400_000  # NFA states held by all memoised DFA states together
_MAX_EDGES: Final = 200_000  # memoised transitions per compiled pattern
_MAX_PRED_MEMO: Final = 20_000  # memoised characters per single-character test
_MAX_BUILD_STEPS: Final = 100_000  # bounds the work of expanding empty repeats such as (?:){9999}

# NFA node kinds
_CHAR, _EPS, _ASSERT, _MATCH = 0, 1, 2, 3

# assertion kinds, resolved with the flags in effect at the node (as sre's compiler does)
_BEGIN_STRING, _BEGIN_LINE, _END_STRING, _END, _END_LINE = 0, 1, 2, 3, 4
_BOUNDARY_U, _NON_BOUNDARY_U, _BOUNDARY_A, _NON_BOUNDARY_A = 5, 6, 7, 8

# what a position's assertions need to know about a neighbouring character
_NL, _WORD_U, _WORD_A = 1, 2, 4
_NEEDS = {
    _BEGIN_STRING: 0,
    _BEGIN_LINE: _NL,
    _END_STRING: 0,
    _END: _NL,
    _END_LINE: _NL,
    _BOUNDARY_U: _WORD_U,
    _NON_BOUNDARY_U: _WORD_U,
    _BOUNDARY_A: _WORD_A,
    _NON_BOUNDARY_A: _WORD_A,
}
_is_word_u = re.compile(r"\w").fullmatch
_is_word_a = re.compile(r"\w", re.ASCII).fullmatch
# sre refuses \b and \B in an empty string (3.11-3.13); ask the running re rather than assume
_EMPTY_BOUNDARY = re.search(r"\b", "") is not None
_EMPTY_NON_BOUNDARY = re.search(r"\B", "") is not None

_CATEGORIES = {
    "CATEGORY_DIGIT": r"\d",
    "CATEGORY_NOT_DIGIT": r"\D",
    "CATEGORY_SPACE": r"\s",
    "CATEGORY_NOT_SPACE": r"\S",
    "CATEGORY_WORD": r"\w",
    "CATEGORY_NOT_WORD": r"\W",
}
_REFUSED = {
    "GROUPREF": "backreferences (\\1, (?P=name))",
    "GROUPREF_EXISTS": "conditional groups ((?(1)yes|no))",
    "ASSERT": "lookahead and lookbehind assertions ((?=...), (?<=...))",
    "ASSERT_NOT": "negative lookahead and lookbehind assertions ((?!...), (?<!...))",
    "ATOMIC_GROUP": "atomic groups ((?>...))",
    "POSSESSIVE_REPEAT": "possessive quantifiers (*+, ++, ?+, {m,n}+)",
}
_PRED_FLAGS = re.IGNORECASE | re.DOTALL | re.ASCII | re.UNICODE
_TYPE_FLAGS = re.ASCII | re.UNICODE | re.LOCALE

# a position's context: (at start, at end, at last character, previous char bits, current char bits,
# empty subject); bits are masked to what the pattern's assertions need
_Ctx = tuple[bool, bool, bool, int, int, bool]
_Kernel = frozenset[int]
# a memoised DFA state: next state per character; key "" (never a character) holds (kernel, bits)
_Row = dict[str, Any]


class UnsupportedPattern(ValueError):
    """A valid Python regular expression that the linear-time matcher refuses, and why."""


def _refuse(what: str) -> UnsupportedPattern:
    return UnsupportedPattern(f"{what} cannot be matched in linear time (regex filters never backtrack)")


def _code(point: int) -> str:
    return f"\\U{point:08x}"


def _item_source(op: str, av: Any) -> str:
    """The text of a one-character pattern equivalent to the parsed item ``(op, av)``."""
    if op == "LITERAL":
        return _code(av)
    if op == "NOT_LITERAL":
        return f"[^{_code(av)}]"
    if op == "ANY":
        return "."
    parts = []  # op == "IN"
    for kind, value in av:
        name = kind.name
        if name == "NEGATE":
            parts.append("^")
        elif name == "LITERAL":
            parts.append(_code(value))
        elif name == "RANGE":
            parts.append(f"{_code(value[0])}-{_code(value[1])}")
        elif name == "CATEGORY":
            parts.append(_CATEGORIES[value.name])
        else:  # pragma: no cover - the parser emits no other set items
            raise UnsupportedPattern(f"character set item {name} is not supported")
    return "[" + "".join(parts) + "]"


class _Builder:
    """Parse tree → Thompson NFA, built back to front (each item gets its continuation)."""

    def __init__(self) -> None:
        self.kind: list[int] = []
        self.arg: list[int] = []
        self.out: list[tuple[int, ...]] = []
        self.preds: list[Callable[[str], object]] = []
        self._pred_ids: dict[tuple[str, int], int] = {}
        self.assertions: set[int] = set()
        self._steps = 0
        self.global_flags = 0
        # The scoped-flag groups (``(?a:``, ``(?-i:`` ...) around the node being built. A character
        # test is compiled inside the same groups, with the pattern's global flags, rather than with
        # the flags merged: sre applies a scoped flag to some tests and not others (``(?a:\W)``
        # does not match "É", although ``(?a:\w)`` does not either), and only re itself knows which.
        self.scope: list[str] = []

    def node(self, kind: int, arg: int, out: tuple[int, ...]) -> int:
        if len(self.kind) >= MAX_NFA_STATES:
            raise UnsupportedPattern(
                f"the pattern needs more than {MAX_NFA_STATES} matcher states (counted repeats are "
                "expanded); use smaller repeat counts"
            )
        self.kind.append(kind)
        self.arg.append(arg)
        self.out.append(out)
        return len(self.kind) - 1

    def pred(self, source: str) -> int:
        key = ("".join(self.scope) + source + ")" * len(self.scope), self.global_flags & _PRED_FLAGS)
        found = self._pred_ids.get(key)
        if found is None:
            found = len(self.preds)
            self.preds.append(re.compile(*key).fullmatch)
            self._pred_ids[key] = found
        return found

    def seq(self, items: Any, flags: int, nxt: int) -> int:
        self._steps += 1
        if self._steps > _MAX_BUILD_STEPS:
            raise UnsupportedPattern("the pattern's repeats are too large; use smaller repeat counts")
        for op, av in reversed(list(items)):
            nxt = self.item(op.name, av, flags, nxt)
        return nxt

    def item(self, op: str, av: Any, flags: int, nxt: int) -> int:
        if op in ("LITERAL", "NOT_LITERAL", "ANY", "IN"):
            return self.node(_CHAR, self.pred(_item_source(op, av)), (nxt,))
        if op == "AT":
            kind = self.anchor(av.name, flags)
            self.assertions.add(kind)
            return self.node(_ASSERT, kind, (nxt,))
        if op == "BRANCH":
            return self.node(_EPS, 0, tuple(self.seq(branch, flags, nxt) for branch in av[1]))
        if op == "SUBPATTERN":
            _group, add_flags, del_flags, body = av
            if not add_flags and not del_flags:
                return self.seq(body, flags, nxt)
            if add_flags & _TYPE_FLAGS:
                # re applies a scoped (?a:...) to some tests and not others: (?a:\W) fullmatches
                # "É" but re.search(r"(?a:\W)", "É") finds nothing (its prefix scan uses the global
                # flags). No matcher can agree with that; the whole-pattern (?a) is fine.
                raise UnsupportedPattern(
                    "a scoped ASCII/Unicode flag ((?a:...), (?u:...)) is not supported: Python's re "
                    "applies it inconsistently; set it for the whole pattern with (?a) at the start"
                )
            self.scope.append(_scope_group(add_flags, del_flags))
            try:
                return self.seq(body, (flags | add_flags) & ~del_flags, nxt)
            finally:
                self.scope.pop()
        if op in ("MAX_REPEAT", "MIN_REPEAT"):  # greedy or lazy: the same for existence
            low, high, body = av
            if high == _c.MAXREPEAT:
                loop = self.node(_EPS, 0, ())
                self.out[loop] = (self.seq(body, flags, loop), nxt)
                start = loop
            else:
                start = nxt
                for _ in range(high - low):
                    start = self.node(_EPS, 0, (self.seq(body, flags, start), nxt))
            for _ in range(low):
                start = self.seq(body, flags, start)
            return start
        if op in _REFUSED:
            raise _refuse(_REFUSED[op])
        raise UnsupportedPattern(f"the regular-expression construct {op} is not supported")

    @staticmethod
    def anchor(at: str, flags: int) -> int:
        multiline = bool(flags & re.MULTILINE)
        ascii_only = not flags & re.UNICODE  # str patterns are UNICODE unless ASCII is set
        if at == "AT_BEGINNING":
            return _BEGIN_LINE if multiline else _BEGIN_STRING
        if at == "AT_BEGINNING_STRING":
            return _BEGIN_STRING
        if at == "AT_END":
            return _END_LINE if multiline else _END
        if at == "AT_END_STRING":
            return _END_STRING
        if at == "AT_BOUNDARY":
            return _BOUNDARY_A if ascii_only else _BOUNDARY_U
        if at == "AT_NON_BOUNDARY":
            return _NON_BOUNDARY_A if ascii_only else _NON_BOUNDARY_U
        raise UnsupportedPattern(f"the anchor {at} is not supported")  # pragma: no cover


_FLAG_LETTERS = (
    (re.IGNORECASE, "i"),
    (re.LOCALE, "L"),
    (re.MULTILINE, "m"),
    (re.DOTALL, "s"),
    (re.UNICODE, "u"),
    (re.VERBOSE, "x"),
    (re.ASCII, "a"),
)


def _scope_group(add_flags: int, del_flags: int) -> str:
    """The opening of the scoped-flag group ``(?<on>-<off>:`` that sets these flags."""
    on = "".join(letter for flag, letter in _FLAG_LETTERS if add_flags & flag)
    off = "".join(letter for flag, letter in _FLAG_LETTERS if del_flags & flag)
    return f"(?{on}-{off}:" if off else f"(?{on}:"


def _holds(kind: int, ctx: _Ctx) -> bool:
    """Whether the assertion ``kind`` holds at a position with this context (sre's rules)."""
    at_start, at_end, at_last, prev, cur, empty = ctx
    if kind == _BEGIN_STRING:
        return at_start
    if kind == _BEGIN_LINE:
        return at_start or bool(prev & _NL)
    if kind == _END_STRING:
        return at_end
    if kind == _END:
        return at_end or (at_last and bool(cur & _NL))
    if kind == _END_LINE:
        return at_end or bool(cur & _NL)
    bit = _WORD_U if kind in (_BOUNDARY_U, _NON_BOUNDARY_U) else _WORD_A
    if kind in (_BOUNDARY_U, _BOUNDARY_A):
        return _EMPTY_BOUNDARY if empty else bool(prev & bit) != bool(cur & bit)
    return _EMPTY_NON_BOUNDARY if empty else bool(prev & bit) == bool(cur & bit)


class LinearRegex:
    """A compiled pattern whose :meth:`search` runs in time linear in the subject.

    ``LinearRegex(p, flags).search(s)`` is ``re.compile(p, flags).search(s) is not None``. Raises
    :class:`re.error` for an invalid pattern and :class:`UnsupportedPattern` for one it refuses.
    """

    __slots__ = (
        "_accept",
        "_arg",
        "_edges",
        "_kernel_total",
        "_kind",
        "_mask",
        "_memo",
        "_out",
        "_pred_memo",
        "_preds",
        "_rows",
        "_start",
        "flags",
        "pattern",
    )

    def __init__(self, pattern: str, flags: int = 0) -> None:
        if not isinstance(pattern, str):
            raise TypeError("LinearRegex needs a str pattern")
        self.pattern = pattern
        self.flags = int(flags)
        tree = _parser.parse(pattern, flags)
        builder = _Builder()
        builder.global_flags = tree.state.flags
        match = builder.node(_MATCH, 0, ())
        start = builder.seq(tree, tree.state.flags, match)
        self._kind = builder.kind
        self._arg = builder.arg
        self._out = builder.out
        self._preds = builder.preds
        self._mask = 0
        for kind in builder.assertions:
            self._mask |= _NEEDS[kind]
        self._start: _Kernel = frozenset((start,))
        self._accept: _Row = {}  # the absorbing "a match exists" state; never written to
        self._reset()

    def _reset(self) -> None:
        """(Re)start the memo tables; assignments are atomic, so a concurrent search is unharmed."""
        self._rows: dict[tuple[_Kernel, int], _Row] = {}
        self._memo: dict[tuple[_Kernel, _Ctx, str], _Kernel | None] = {}
        self._pred_memo: list[dict[str, bool]] = [{} for _ in self._preds]
        self._edges = 0
        self._kernel_total = 0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LinearRegex):
            return NotImplemented
        return (self.pattern, self.flags) == (other.pattern, other.flags)

    def __hash__(self) -> int:
        return hash((LinearRegex, self.pattern, self.flags))

    def __repr__(self) -> str:
        flags = f", {self.flags}" if self.flags else ""
        return f"LinearRegex({self.pattern!r}{flags})"

    def search(self, text: str) -> bool:
        """Whether the pattern matches anywhere in ``text`` (as ``re.search(...) is not None``)."""
        n = len(text)
        if n == 0:
            return self._accepts_at_end(self._start, 0, empty=True)
        mask = self._mask
        # the first and the last position are special for anchors; those between share one DFA
        ch = text[0]
        bits = self._bits(ch) & mask
        kernel = self._transition(self._start, (True, False, n == 1, 0, bits, False), ch)
        if kernel is None:
            return True
        if n > 2:
            row = self._run(self._row(kernel, bits), text[1 : n - 1])
            if row is self._accept:
                return True
            kernel, bits = row[""]
        if n > 1:
            ch = text[n - 1]
            cur = self._bits(ch) & mask
            kernel = self._transition(kernel, (False, False, True, bits, cur, False), ch)
            if kernel is None:
                return True
            bits = cur
        return self._accepts_at_end(kernel, bits, empty=False)

    def _run(self, row: _Row, text: str) -> _Row:
        """The tight loop: one dict lookup per character; stops on the accepting state."""
        accept = self._accept
        chars = iter(text)
        while True:
            try:
                for ch in chars:
                    row = row[ch]
                return row
            except KeyError:
                if row is accept:
                    return row
                row = self._fill(row, ch)
                if row is accept:
                    return row

    def _fill(self, row: _Row, ch: str) -> _Row:
        kernel, prev = row[""]
        cur = self._bits(ch) & self._mask
        following = self._step(self._closure(kernel, (False, False, False, prev, cur, False)), ch)
        found = self._accept if following is None else self._row(following, cur)
        row[ch] = found
        self._edges += 1
        if self._edges > _MAX_EDGES:
            self._reset()
        return found

    def _row(self, kernel: _Kernel, bits: int) -> _Row:
        key = (kernel, bits)
        row = self._rows.get(key)
        if row is None:
            if len(self._rows) >= MAX_DFA_STATES or self._kernel_total > _MAX_KERNEL_TOTAL:
                self._reset()
            row = {"": key}
            self._rows[key] = row
            self._kernel_total += len(kernel)
        return row

    def _bits(self, ch: str) -> int:
        return (
            (_NL if ch == "\n" else 0)
            | (_WORD_U if _is_word_u(ch) else 0)
            | (_WORD_A if _is_word_a(ch) else 0)
        )

    def _transition(self, kernel: _Kernel, ctx: _Ctx, ch: str) -> _Kernel | None:
        """The kernel after ``ch`` at a position with context ``ctx``; None once a match exists."""
        key = (kernel, ctx, ch)
        memo = self._memo
        if key in memo:
            return memo[key]
        found = self._step(self._closure(kernel, ctx), ch)
        if len(memo) >= MAX_DFA_STATES:
            self._reset()
        self._memo[key] = found
        return found

    def _accepts_at_end(self, kernel: _Kernel, prev: int, *, empty: bool) -> bool:
        return self._closure(kernel, (empty, True, False, prev, 0, empty)) is None

    def _closure(self, kernel: _Kernel, ctx: _Ctx) -> dict[int, list[int]] | None:
        """The character-consuming NFA states reachable without input, as their successors grouped
        by character test; None if MATCH is reachable."""
        kinds, args, outs = self._kind, self._arg, self._out
        stack = list(kernel)
        seen = set(kernel)
        by_pred: dict[int, list[int]] = {}
        while stack:
            state = stack.pop()
            kind = kinds[state]
            if kind == _CHAR:
                successors = by_pred.get(args[state])
                if successors is None:
                    by_pred[args[state]] = [outs[state][0]]
                else:
                    successors.append(outs[state][0])
                continue
            if kind == _MATCH:
                return None
            if kind == _ASSERT and not _holds(args[state], ctx):
                continue
            for target in outs[state]:
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
        return by_pred

    def _step(self, by_pred: dict[int, list[int]] | None, ch: str) -> _Kernel | None:
        """The next kernel (the search restarts at every position, hence ``_start``)."""
        if by_pred is None:
            return None
        following = set(self._start)
        for pred, successors in by_pred.items():
            if self._test(pred, ch):
                following.update(successors)
        return frozenset(following)

    def _test(self, pred: int, ch: str) -> bool:
        memo = self._pred_memo[pred]
        found = memo.get(ch)
        if found is None:
            found = self._preds[pred](ch) is not None
            if len(memo) >= _MAX_PRED_MEMO:
                memo.clear()
            memo[ch] = found
        return found
