"""The linear-time regex search (llmobs_mapping.linear_regex) agrees with re.search, without backtracking."""

from __future__ import annotations

import re
import threading

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from llmobs_mapping.errors import InvalidSettings
from llmobs_mapping.linear_regex import MAX_NFA_STATES, LinearRegex, UnsupportedPattern
from llmobs_mapping.settings import Settings

ALPHABET = "ab\n_ éAÉsS\u017fkK\u212a1"

LITERALS = ["a", "b", "\n", "\\n", "_", " ", "é", "A", "É", "s", "k", "1", "\\.", "\\\\"]
CLASSES = [
    ".",
    "[ab]",
    "[^a\\n]",
    "[a-z]",
    "[^A-Z_]",
    "[\\w]",
    "[^\\W\\d]",
    "[\\s\\d]",
    "[é-\u017f]",
    "[a-cK]",
    "\\d",
    "\\D",
    "\\w",
    "\\W",
    "\\s",
    "\\S",
]
ANCHORS = ["^", "$", "\\A", "\\Z", "\\b", "\\B"]
QUANTIFIERS = ["*", "+", "?", "{2}", "{1,}", "{0,2}", "{,2}", "{1,3}", "{0}"]
INLINE = ["(?i:", "(?m:", "(?s:", "(?-i:", "(?im:", "(?is:", "(?-s:"]  # scoped a/u are refused
GLOBAL = ["", "(?i)", "(?m)", "(?s)", "(?a)", "(?ims)", "(?x)"]
FLAG_SETS = [0, re.I, re.M, re.S, re.A, re.I | re.M | re.S, re.I | re.A]


def _quantified(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(
        lambda body, q, lazy: body + q + ("?" if lazy else ""),
        inner,
        st.sampled_from(QUANTIFIERS),
        st.booleans(),
    )


def _group(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(
        lambda opener, body: f"{opener}{body})",
        st.sampled_from(["(", "(?:", "(?P<g>", *INLINE]),
        inner,
    ).map(lambda text: text.replace("(?P<g>", "(", 1) if text.count("(?P<g>") > 1 else text)


atoms = st.sampled_from(LITERALS + CLASSES)
patterns = st.recursive(
    st.one_of(atoms, st.sampled_from(ANCHORS), st.just("")),
    lambda inner: st.one_of(
        st.lists(inner, min_size=2, max_size=4).map("".join),
        st.lists(inner, min_size=2, max_size=3).map("|".join),
        _group(inner),
        _quantified(st.one_of(atoms, _group(inner))),
    ),
    max_leaves=10,
)
subjects = st.lists(st.text(alphabet=ALPHABET, max_size=12), min_size=1, max_size=8)


def _python_agrees(pattern: str, flags: int, texts: list[str]) -> None:
    try:
        expected = re.compile(pattern, flags)
    except (re.error, ValueError):
        assume(False)
        return
    linear = LinearRegex(pattern, flags)
    for text in [*texts, ""]:
        assert linear.search(text) == (expected.search(text) is not None), (pattern, flags, text)


@given(
    st.sampled_from(GLOBAL),
    patterns,
    st.sampled_from(FLAG_SETS),
    subjects,
)
def test_agrees_with_re_search(prefix: str, body: str, flags: int, texts: list[str]) -> None:
    _python_agrees(prefix + body, flags, texts)


@given(patterns, st.lists(st.text(alphabet="ab \n", min_size=20, max_size=60), min_size=1, max_size=3))
def test_agrees_with_re_search_on_longer_subjects(body: str, texts: list[str]) -> None:
    _python_agrees(body, 0, texts)


ANCHOR_CASES = [
    # (pattern, subject, re.search finds a match); each is checked against re as well
    ("^", "", True),
    ("$", "", True),
    ("\\A", "", True),
    ("\\Z", "", True),
    ("\\b", "", False),
    ("\\B", "", False),  # sre: \B never matches in an empty string
    ("\\B", "a", False),
    ("\\B", " ", True),
    ("\\B", "ab", True),
    ("\\b", "a", True),
    ("\\b", " ", False),
    ("^a", "ba", False),
    ("^b", "a\nb", False),
    ("(?m)^b", "a\nb", True),
    ("(?m:^b)", "a\nb", True),
    ("(?m)^$", "a\n", True),
    ("(?m)^", "", True),
    ("\\Ab", "a\nb", False),
    ("(?m)\\Ab", "a\nb", False),
    ("a$", "a\n", True),  # $ also matches before a final newline
    ("a$", "a\n\n", False),
    ("(?m)a$", "a\n\n", True),
    ("a\\Z", "a\n", False),
    ("a\\Z", "a", True),
    ("$\\n", "a\n", True),
    ("$\\n$", "\n", True),
    ("^$", "\n", True),
    ("^\\n$", "\n", True),
    ("\\n^", "\n", False),
    ("(?m)\\n^", "\n", True),
    ("(?m)$$\\n^^", "\n", True),
    ("\\bé\\b", "é", True),  # é is a word character in Unicode mode
    ("(?a)\\bé", "é", False),  # not in ASCII mode
    ("(?a)\\Bé\\B", "é", True),
    ("\\b_", "_", True),
    ("a\\b", "ab", False),
    ("a\\B", "ab", True),
    ("\\Ba", "a", False),
    ("x*$", "ab\n", True),
    ("^\\Z", "\n", False),
    ("^$", "", True),
]


@pytest.mark.parametrize(("pattern", "subject", "found"), ANCHOR_CASES)
def test_anchor_edge_cases(pattern: str, subject: str, found: bool) -> None:
    assert (re.search(pattern, subject) is not None) is found
    assert LinearRegex(pattern).search(subject) is found


CHARACTER_CASES = [
    ("(?i)k", "\u212a"),  # Kelvin sign folds to k
    ("(?i)s", "\u017f"),  # long s folds to s
    ("(?ia)k", "\u212a"),
    ("(?i)[^k]", "\u212a"),
    ("(?i)[a-z]", "\u212a"),
    ("(?i)[A-Z]", "\u017f"),
    ("é", "É"),
    ("(?i)é", "É"),
    ("(?i:é)É", "éÉ"),
    ("(?i:é)é", "ÉÉ"),
    ("\\d", "٣"),  # Arabic-Indic digit
    ("(?a)\\d", "٣"),
    ("\\s", "\u2003"),
    ("(?a)\\s", "\u2003"),
    ("(?a)\\S", "\u2003"),
    (".", "\n"),
    ("(?s).", "\n"),
    ("(?s:.)", "\n"),
    ("[^a]", "\n"),
    ("[\\w-]", "-"),
    ("[\\]]", "]"),
    ("\\x00", "\x00"),
    ("\\U0001f600", "😀"),
    ("[😀-😂]", "😁"),
    ("\ud800", "\ud800"),  # a lone surrogate is a character too
]


@pytest.mark.parametrize(("pattern", "subject"), CHARACTER_CASES)
def test_character_predicates_agree_with_re(pattern: str, subject: str) -> None:
    for text in (subject, subject.lower(), subject.upper(), "x" + subject + "x", ""):
        assert LinearRegex(pattern).search(text) == (re.search(pattern, text) is not None), text


@pytest.mark.parametrize(
    ("pattern", "refused"),
    [
        ("(a)\\1", "backreferences"),
        ("(?P<x>a)(?P=x)", "backreferences"),
        ("(a)?(?(1)b|c)", "conditional groups"),
        ("a(?=b)", "lookahead and lookbehind"),
        ("(?<=a)b", "lookahead and lookbehind"),
        ("a(?!b)", "negative lookahead and lookbehind"),
        ("(?<!a)b", "negative lookahead and lookbehind"),
        ("(?>a+)b", "atomic groups"),
        ("a*+", "possessive quantifiers"),
        ("a++", "possessive quantifiers"),
        ("a?+", "possessive quantifiers"),
        ("a{1,3}+", "possessive quantifiers"),
        ("x|(?:(a)\\1)*", "backreferences"),
        ("(?i:(?=a))", "lookahead and lookbehind"),
    ],
)
def test_refused_constructs(pattern: str, refused: str) -> None:
    re.compile(pattern)  # valid Python
    with pytest.raises(UnsupportedPattern) as info:
        LinearRegex(pattern)
    assert str(info.value).startswith(refused)
    assert str(info.value).endswith(" cannot be matched in linear time (regex filters never backtrack)")
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "pattern", ["a{10001}", "(?:a{100}){101}", "(?:(?:){1000}){1000}", "[ab]{5000}c{5001}"]
)
def test_too_large_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(UnsupportedPattern, match="use smaller repeat counts"):
        LinearRegex(pattern)


def test_largest_expansion_is_accepted() -> None:
    pattern = f"\\Aa{{{MAX_NFA_STATES - 2}}}"
    assert LinearRegex(pattern).search("a" * (MAX_NFA_STATES - 2)) is True
    assert LinearRegex(pattern).search("a" * (MAX_NFA_STATES - 3)) is False


@pytest.mark.parametrize("pattern", ["gpt-(4", "*a", "(?<name", "[b-a]", "x{2,1}", "(?L)a"])
def test_invalid_patterns_raise_re_error(pattern: str) -> None:
    with pytest.raises(re.error):
        re.compile(pattern)
    with pytest.raises(re.error):
        LinearRegex(pattern)


def test_catastrophic_for_re_cubic() -> None:
    """re takes over a minute here (cubic backtracking); the linear search answers at once."""
    regex = LinearRegex(".*error.*timeout")
    assert regex.search("error " * 2000) is False
    assert regex.search("error " * 2000 + "timeout") is True


def test_catastrophic_for_re_exponential() -> None:
    """re takes over a minute here (exponential backtracking: 2^30 paths)."""
    regex = LinearRegex("^(a+)+$")
    assert regex.search("a" * 30 + "!") is False
    assert regex.search("a" * 30) is True
    assert LinearRegex("(x+x+)+y").search("x" * 5000) is False


def test_dfa_memo_is_rebuilt_when_it_overflows() -> None:
    """A search whose DFA has 2^13 states (more than the memo keeps) still answers as re does."""
    seed, letters = 12345, []
    for _ in range(30_000):
        seed = (seed * 1103515245 + 12345) % 2**31
        letters.append("ab"[seed >> 16 & 1])
    text = "".join(letters)
    pattern = "a[ab]{12}c|b{30}"
    regex = LinearRegex(pattern)
    for subject in (text, text + "c", text[:5000] + "c" + text[5000:], text[:5000] + "b" * 30):
        assert regex.search(subject) == (re.search(pattern, subject) is not None)
    assert regex.search(text) is False
    assert regex.search(text + "a" * 13 + "c") is True


def test_long_subjects_and_early_exit() -> None:
    regex = LinearRegex("needle")
    assert regex.search("x" * 100_000) is False
    assert regex.search("needle" + "x" * 100_000) is True
    assert regex.search("x" * 100_000 + "needle") is True
    assert LinearRegex("needle$").search("x" * 100_000 + "needle\n") is True


def test_concurrent_searches_share_the_memo_safely() -> None:
    pattern = "(?m)^[ab]*a[ab]{9}$"
    regex = LinearRegex(pattern)
    texts = ["".join("ab"[(i * k) % 5 % 2] for i in range(4000)) + "\n" + "a" * k for k in range(1, 9)]
    expected = [re.search(pattern, t) is not None for t in texts]
    results: list[list[bool]] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append([regex.search(t) for t in texts])
        except BaseException as exc:  # pragma: no cover - the failure being tested for
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert results == [expected] * 4


def test_equality_and_hash_follow_the_pattern_text() -> None:
    first, second = LinearRegex("a+b"), LinearRegex("a+b")
    first.search("aab")  # fills first's memo only
    assert first == second
    assert hash(first) == hash(second)
    assert first != LinearRegex("a+b", re.I)
    assert first != LinearRegex("a+c")
    assert repr(LinearRegex("a", re.I)) == "LinearRegex('a', 2)"


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("(\\w+) \\1", "is not supported: backreferences (\\1, (?P=name)) cannot be matched in linear time"),
        ("error(?!: none)", "is not supported: negative lookahead and lookbehind assertions"),
        ("a{5000}b{5000}", "is not supported: the pattern needs more than 2000 matcher states"),
        ("gpt-(4", "is not a valid regular expression: missing ), unterminated subpattern"),
    ],
)
def test_settings_refuse_unsupported_patterns_at_the_rule_value(pattern: str, message: str) -> None:
    rule = {"field": "input", "operator": "regex", "value": pattern}
    with pytest.raises(InvalidSettings) as info:
        Settings.from_destination(
            {
                "type": "datadog",
                "config": {"apiKey": "dd-test-key", "mlApp": "support-bot"},
                "filter_rules": {"groups": [{"rules": [{"field": "model", "operator": "exists"}, rule]}]},
            }
        )
    assert info.value.path == "$.filter_rules.groups[0].rules[1].value"
    assert info.value.message.startswith(message)


def test_filter_rules_with_equal_patterns_are_equal() -> None:
    node = {"groups": [{"rules": [{"field": "input", "operator": "regex", "value": ".*error.*timeout"}]}]}
    first = Settings.from_destination({"type": "datadog", "config": {"mlApp": "x"}, "filter_rules": node})
    second = Settings.from_destination({"type": "datadog", "config": {"mlApp": "x"}, "filter_rules": node})
    assert first.filter_rules is not None
    assert first.filter_rules.passes({"input": "error " * 20_000}) is False
    assert first.filter_rules.passes({"input": "error, then a timeout"}) is True
    assert first.filter_rules == second.filter_rules
    assert hash(first.filter_rules) == hash(second.filter_rules)


@pytest.mark.parametrize("pattern", ["(?a:\\W)", "(?ia:k)", "(?u:a)", "x(?a:b)"])
def test_scoped_ascii_or_unicode_flags_are_refused(pattern: str) -> None:
    # re.search(r"(?a:\W)", "É") finds nothing although re.fullmatch(r"(?a:\W)", "É") matches: no
    # matcher can agree with both, so the scoped form is refused; a whole-pattern (?a) is supported
    with pytest.raises(UnsupportedPattern, match="a scoped ASCII/Unicode flag"):
        LinearRegex(pattern)
    assert LinearRegex("(?a)\\W").search("É") is (re.search("(?a)\\W", "É") is not None)
