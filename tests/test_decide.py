"""The decide step and filter rules (llmobs_mapping.decide, llmobs_mapping.filters; contract §2)."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from llmobs_mapping.decide import Decision, decide, filter_facts, sample_key_fraction
from llmobs_mapping.errors import InvalidSettings
from llmobs_mapping.exchange import read_exchange
from llmobs_mapping.exchange_types import Exchange
from llmobs_mapping.filters import MAX_PATTERN_CHARS, MAX_REGEX_SUBJECT_CHARS, FilterGroup, FilterRules
from llmobs_mapping.settings import Settings

GEN_ID = "gen-1788612875-Kq2rT8vXw3YpLm9NbC4d"
KEY_HASH = "3f9a1c0b7e"

BASE_DOC: dict[str, Any] = {
    "request": {
        "model": "openai/gpt-4o",
        "messages": [
            {"role": "system", "content": "You are a support bot."},
            {"role": "user", "content": "Hello!"},
        ],
        "session_id": "session_abc",
        "user": "user_12345",
    },
    "response": {
        "id": GEN_ID,
        "object": "chat.completion",
        "created": 1788612875,
        "model": "openai/gpt-4o-2024-08-06",
        "provider": "OpenAI",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "native_finish_reason": "stop",
                "message": {"role": "assistant", "content": "Hi there! How can I help?", "refusal": None},
            }
        ],
        "usage": {
            "prompt_tokens": 9,
            "completion_tokens": 15,
            "total_tokens": 24,
            "cost": 0.0001725,
            "is_byok": False,
            "cost_details": {"upstream_inference_cost": 0.0001725},
        },
    },
    "timing": {"start": "2026-09-05T12:54:35.187Z", "end": "2026-09-05T12:54:36.412Z"},
}


def exchange_from(doc: dict[str, Any] | None = None, **request: Any) -> Exchange:
    """Read an exchange document (BASE_DOC by default), with request keys replaced (None deletes)."""
    doc = copy.deepcopy(BASE_DOC if doc is None else doc)
    for key, value in request.items():
        if value is None:
            doc["request"].pop(key, None)
        else:
            doc["request"][key] = value
    return read_exchange(doc)


def destination(**fields: Any) -> Settings:
    """Settings from OpenRouter's destination JSON, as a user would paste it."""
    return Settings.from_destination(
        {"type": "datadog", "config": {"apiKey": "dd-test-key", "mlApp": "support-bot"}, **fields}
    )


def rules(*group_list: dict[str, Any], enabled: bool = True) -> dict[str, Any]:
    return {"enabled": enabled, "groups": list(group_list)}


def group(*rule_list: tuple[str, str, Any], logic: str = "and") -> dict[str, Any]:
    return {"logic": logic, "rules": [{"field": f, "operator": o, "value": v} for f, o, v in rule_list]}


BASE = exchange_from()


# -- facts --------------------------------------------------------------------------------------


def test_filter_facts_of_a_successful_exchange() -> None:
    assert filter_facts(BASE, api_key_name="prod-key") == {
        "model": "openai/gpt-4o-2024-08-06",  # the served model, not the requested one
        "provider": "OpenAI",
        "session_id": "session_abc",
        "user_id": "user_12345",
        "api_key_name": "prod-key",
        "finish_reason": "stop",
        "input": "You are a support bot.\nHello!",
        "output": "Hi there! How can I help?",
        "total_cost": 0.0001725,
        "total_tokens": 24,
        "prompt_tokens": 9,
        "completion_tokens": 15,
    }


def test_filter_facts_of_an_http_error_exchange() -> None:
    doc = copy.deepcopy(BASE_DOC)
    del doc["response"]
    doc["error"] = {
        "status": 502,
        "body": {
            "error": {
                "code": 502,
                "message": "Provider returned error",
                "metadata": {"error_type": "provider_unavailable", "provider_name": "Anthropic"},
            }
        },
    }
    doc["headers"] = {"x-generation-id": "gen-err-1"}
    doc["request"]["messages"] = [
        {"role": "user", "content": [{"type": "text", "text": "Look"}, {"type": "image_url"}]}
    ]
    facts = filter_facts(read_exchange(doc))
    assert facts == {
        "model": "openai/gpt-4o",  # no served model: the requested one
        "provider": "Anthropic",  # error.metadata.provider_name
        "session_id": "session_abc",
        "user_id": "user_12345",
        "api_key_name": None,
        "finish_reason": None,
        "input": "Look\n[image]",
        "output": None,
        "total_cost": None,
        "total_tokens": None,
        "prompt_tokens": None,
        "completion_tokens": None,
    }


def test_filter_facts_total_cost_adds_upstream_cost_for_byok() -> None:
    doc = copy.deepcopy(BASE_DOC)
    doc["response"]["usage"] |= {
        "cost": 0.0001,
        "is_byok": True,
        "cost_details": {"upstream_inference_cost": 0.002},
    }
    assert filter_facts(read_exchange(doc))["total_cost"] == pytest.approx(0.0021)


def test_filter_facts_of_a_stream() -> None:
    stream = "\n\n".join(
        [
            'data: {"id":"gen-s1","model":"google/gemini-3.5-flash-lite","provider":"Google",'
            '"choices":[{"index":0,"delta":{"role":"assistant","content":"It looks"}}]}',
            'data: {"id":"gen-s1","choices":[{"index":0,"delta":{"content":" like you"},'
            '"finish_reason":"length","native_finish_reason":"MAX_TOKENS"}]}',
            'data: {"id":"gen-s1","choices":[],"usage":{"prompt_tokens":16,"completion_tokens":4,'
            '"total_tokens":20,"cost":1.48e-05}}',
            "data: [DONE]",
        ]
    )
    doc = copy.deepcopy(BASE_DOC)
    del doc["response"]
    doc["stream"] = stream
    facts = filter_facts(read_exchange(doc))
    assert (facts["model"], facts["provider"], facts["finish_reason"], facts["output"]) == (
        "google/gemini-3.5-flash-lite",
        "Google",
        "length",
        "It looks like you",
    )
    assert (facts["total_cost"], facts["total_tokens"]) == (1.48e-05, 20)


# -- decision order ----------------------------------------------------------------------------


def test_send_with_default_settings() -> None:
    assert decide(BASE, destination()) == Decision(True, "send")


def test_no_generation_id_is_not_traceable_before_anything_else() -> None:
    doc = copy.deepcopy(BASE_DOC)
    del doc["response"]
    doc["error"] = {"status": 400, "body": {"error": {"code": 400, "message": "x is not a valid model ID"}}}
    rejected = read_exchange(doc)
    assert rejected.generation_id is None
    assert decide(rejected, destination(enabled=False)) == Decision(False, "not_traceable")
    assert decide(rejected, destination()) == Decision(False, "not_traceable")


def test_disabled_comes_before_the_key_allowlist() -> None:
    settings = destination(enabled=False, api_key_hashes=["other"])
    assert decide(BASE, settings, api_key_hash=KEY_HASH) == Decision(False, "disabled")


@pytest.mark.parametrize(
    ("hashes", "key_hash", "expected"),
    [
        (None, None, Decision(True, "send")),  # null = every key (§1.3)
        (None, KEY_HASH, Decision(True, "send")),
        ([KEY_HASH, "abc"], KEY_HASH, Decision(True, "send")),
        ([KEY_HASH], "abc", Decision(False, "api_key_not_allowed")),
        ([KEY_HASH], None, Decision(False, "api_key_not_allowed")),  # unknown key, list set
    ],
)
def test_api_key_allowlist(hashes: list[str] | None, key_hash: str | None, expected: Decision) -> None:
    assert decide(BASE, destination(api_key_hashes=hashes), api_key_hash=key_hash) == expected


def test_key_allowlist_comes_before_filters_and_filters_before_sampling() -> None:
    reject_all = rules(group(("model", "equals", "nothing")))
    settings = destination(api_key_hashes=["other"], filter_rules=reject_all, sampling_rate=0.0001)
    assert decide(BASE, settings, api_key_hash=KEY_HASH) == Decision(False, "api_key_not_allowed")
    settings = destination(filter_rules=reject_all, sampling_rate=0.0001)
    assert decide(BASE, settings) == Decision(False, "filtered_out")
    settings = destination(filter_rules=rules(group(("model", "exists", None))), sampling_rate=0.0001)
    assert decide(BASE, settings) == Decision(False, "sampled_out")


def test_api_key_name_reaches_the_filters() -> None:
    settings = destination(filter_rules=rules(group(("api_key_name", "starts_with", "prod-"))))
    assert decide(BASE, settings, api_key_name="prod-eu") == Decision(True, "send")
    assert decide(BASE, settings, api_key_name="dev-1") == Decision(False, "filtered_out")
    assert decide(BASE, settings) == Decision(False, "filtered_out")


# -- sampling ----------------------------------------------------------------------------------


def test_sample_key_fraction_pinned_values() -> None:
    # first 8 bytes of SHA-256 as a big-endian integer / 2**64 (contract §2); pinned so the
    # algorithm cannot drift: SHA-256("") starts with e3b0c44298fc1c14
    assert sample_key_fraction("") == 0xE3B0C44298FC1C14 / 2**64
    assert sample_key_fraction("session_abc") == 0.6892989477713862
    assert sample_key_fraction(GEN_ID) == 0.6821060191615108
    assert sample_key_fraction("é") == 0.2914021905164211  # UTF-8 bytes c3 a9


def test_sampling_is_keyed_by_session_then_generation_id() -> None:
    # session_abc → 0.6893; the generation id → 0.6821
    assert decide(BASE, destination(sampling_rate=0.69)) == Decision(True, "send")
    assert decide(BASE, destination(sampling_rate=0.6892989477713862)) == Decision(False, "sampled_out")
    no_session = exchange_from(session_id=None)
    assert no_session.session_id is None
    assert decide(no_session, destination(sampling_rate=0.683)) == Decision(True, "send")
    assert decide(no_session, destination(sampling_rate=0.682)) == Decision(False, "sampled_out")


def test_session_from_the_header_is_the_sampling_key() -> None:
    doc = copy.deepcopy(BASE_DOC)
    del doc["request"]["session_id"]
    doc["headers"] = {"X-Session-Id": "session_abc"}
    assert decide(read_exchange(doc), destination(sampling_rate=0.6892989477713862)) == Decision(
        False, "sampled_out"
    )


@pytest.mark.parametrize(
    ("rate", "expected"), [(1, Decision(True, "send")), (0, Decision(False, "sampled_out"))]
)
def test_sampling_rate_one_keeps_and_zero_drops(rate: float, expected: Decision) -> None:
    assert decide(BASE, destination(sampling_rate=rate)) == expected


def _with_ids(session_id: str | None, generation_id: str) -> Exchange:
    return BASE._replace(session_id=session_id, generation_id=generation_id)


@given(
    session=st.text(min_size=1, max_size=40),
    generation_ids=st.lists(st.text(min_size=1, max_size=30), min_size=2, max_size=6, unique=True),
    rate=st.floats(min_value=0.0001, max_value=1),
)
def test_a_session_is_kept_or_dropped_as_a_whole(
    session: str, generation_ids: list[str], rate: float
) -> None:
    settings = Settings(ml_app="app", sampling_rate=rate)
    decisions = {decide(_with_ids(session, gen), settings) for gen in generation_ids}
    assert len(decisions) == 1
    expected = sample_key_fraction(session) < rate or rate == 1
    assert decisions == {Decision(expected, "send" if expected else "sampled_out")}


@hyp_settings(max_examples=12)
@given(rate=st.sampled_from([0.05, 0.1, 0.25, 0.5, 0.75, 0.9]), prefix=st.text(max_size=12))
def test_kept_fraction_matches_the_sampling_rate(rate: float, prefix: str) -> None:
    settings = Settings(ml_app="app", sampling_rate=rate)
    kept = sum(decide(_with_ids(f"{prefix}session-{i}", f"gen-{i}"), settings).send for i in range(5000))
    assert abs(kept / 5000 - rate) <= 0.03


def test_kept_fraction_without_sessions_uses_generation_ids() -> None:
    settings = Settings(ml_app="app", sampling_rate=0.3)
    kept = sum(decide(_with_ids(None, f"gen-{i:06d}"), settings).send for i in range(5000))
    assert abs(kept / 5000 - 0.3) <= 0.03


def test_sample_key_fraction_is_in_unit_interval() -> None:
    top = int.from_bytes(hashlib.sha256(b"x").digest()[:8], "big")
    assert sample_key_fraction("x") == top / 2**64
    assert all(0 <= sample_key_fraction(str(i)) < 1 for i in range(1000))


# -- operators ---------------------------------------------------------------------------------

OPERATOR_CASES = [
    # field, operator, value, passes for BASE
    ("model", "equals", "openai/gpt-4o-2024-08-06", True),
    ("model", "equals", "openai/gpt-4o", False),  # served model, not requested
    ("model", "equals", "OPENAI/gpt-4o-2024-08-06", False),  # case-sensitive
    ("model", "not_equals", "openai/gpt-4o", True),
    ("model", "not_equals", "openai/gpt-4o-2024-08-06", False),
    ("provider", "contains", "Open", True),
    ("provider", "contains", "open", False),
    ("provider", "not_contains", "Anthropic", True),
    ("provider", "not_contains", "AI", False),
    ("model", "starts_with", "openai/", True),
    ("model", "starts_with", "anthropic/", False),
    ("model", "ends_with", "-08-06", True),
    ("model", "ends_with", "gpt-4o", False),
    ("model", "regex", r"^openai/gpt-4o(-\d{4}-\d{2}-\d{2})?$", True),
    ("model", "regex", "gpt", True),  # search, not fullmatch
    ("model", "regex", "^gpt", False),
    ("input", "contains", "Hello!", True),
    ("input", "regex", r"bot\.\nHello", True),  # messages joined with \n
    ("output", "contains", "help", True),
    ("finish_reason", "equals", "stop", True),
    ("session_id", "equals", "session_abc", True),
    ("user_id", "starts_with", "user_", True),
    ("total_tokens", "gt", 23, True),
    ("total_tokens", "gt", 24, False),
    ("total_tokens", "gte", 24, True),
    ("total_tokens", "lt", 24, False),
    ("total_tokens", "lte", 24, True),
    ("total_tokens", "lte", "24", True),  # numeric strings are numbers
    ("prompt_tokens", "equals", 9, True),
    ("prompt_tokens", "equals", 9.0, True),  # numeric equality
    ("prompt_tokens", "equals", "9", True),
    ("prompt_tokens", "not_equals", 9, False),
    ("completion_tokens", "lt", 100, True),
    ("total_cost", "lt", 0.001, True),
    ("total_cost", "gt", "0.0001", True),
    ("total_cost", "starts_with", "0.000", True),  # string form of a number
    ("model", "gt", 1, False),  # numeric operator on a string field fails
    ("api_key_name", "equals", "x", False),  # missing field
    ("api_key_name", "not_equals", "x", True),  # negation of equals
    ("api_key_name", "contains", "x", False),
    ("api_key_name", "not_contains", "x", True),
    ("api_key_name", "regex", ".*", False),
    ("api_key_name", "gt", 0, False),
    ("api_key_name", "lt", 0, False),
    ("api_key_name", "exists", None, False),
    ("api_key_name", "not_exists", None, True),
    ("model", "exists", "ignored", True),
    ("model", "not_exists", 5, False),
]


@pytest.mark.parametrize(("field", "operator", "value", "passes"), OPERATOR_CASES)
def test_each_operator(field: str, operator: str, value: Any, passes: bool) -> None:
    settings = destination(filter_rules=rules(group((field, operator, value))))
    assert decide(BASE, settings) == (Decision(True, "send") if passes else Decision(False, "filtered_out"))


def test_exists_counts_zero_as_a_value_and_empty_text_as_none() -> None:
    doc = copy.deepcopy(BASE_DOC)
    doc["response"]["usage"]["cost"] = 0
    doc["response"]["choices"][0]["message"]["content"] = ""
    facts = filter_facts(read_exchange(doc))
    parsed = _parse(rules(group(("total_cost", "exists", None), ("output", "not_exists", None))))
    assert parsed.passes(facts) is True


def test_regex_sees_only_the_first_100000_characters() -> None:
    facts = {"input": "a" * MAX_REGEX_SUBJECT_CHARS + "NEEDLE"}
    assert _parse(rules(group(("input", "regex", "NEEDLE")))).passes(facts) is False
    assert _parse(rules(group(("input", "contains", "NEEDLE")))).passes(facts) is True
    facts = {"input": "a" * (MAX_REGEX_SUBJECT_CHARS - 6) + "NEEDLE"}
    assert _parse(rules(group(("input", "regex", "NEEDLE$")))).passes(facts) is True


# -- group logic -------------------------------------------------------------------------------

YES = ("model", "starts_with", "openai/")
NO = ("model", "starts_with", "anthropic/")


@pytest.mark.parametrize(
    ("filter_rules", "passes"),
    [
        (rules(group(YES, YES)), True),
        (rules(group(YES, NO)), False),  # logic defaults to "and"
        (rules(group(YES, NO, logic="or")), True),
        (rules(group(NO, NO, logic="or")), False),
        (rules(group(YES), group(YES, NO, logic="or")), True),  # every group must pass
        (rules(group(YES), group(NO)), False),
        (rules(group(NO, logic="or"), group(YES)), False),
        (rules(group(NO), enabled=False), True),  # disabled: everything passes
        (rules(), True),  # no groups
        (rules({"logic": "or", "rules": []}), True),  # an empty group passes
        ({"groups": [{"rules": [{"field": "model", "operator": "contains", "value": "gpt"}]}]}, True),
        ({"enabled": False, "groups": []}, True),
    ],
)
def test_group_logic(filter_rules: dict[str, Any], passes: bool) -> None:
    decision = decide(BASE, destination(filter_rules=filter_rules))
    assert decision == (Decision(True, "send") if passes else Decision(False, "filtered_out"))


def test_group_logic_defaults_to_and() -> None:
    parsed = _parse({"groups": [{"rules": []}]})
    assert parsed == FilterRules(enabled=True, groups=(FilterGroup("and", ()),))


# -- bad rules ---------------------------------------------------------------------------------


def _parse(filter_rules: Any) -> FilterRules:
    parsed = destination(filter_rules=filter_rules).filter_rules
    assert parsed is not None
    return parsed


def _rule(**rule: Any) -> dict[str, Any]:
    return {
        "groups": [{"logic": "and", "rules": [{"field": "model", "operator": "equals", "value": "x"}, rule]}]
    }


R1 = "$.filter_rules.groups[0].rules[1]"


@pytest.mark.parametrize(
    ("filter_rules", "path", "message"),
    [
        ([], "$.filter_rules", "must be an object, not array"),
        ({"enabled": "yes"}, "$.filter_rules.enabled", "must be true or false, not string"),
        ({"enabled": True}, "$.filter_rules.groups", "is required (an array of {logic, rules})"),
        ({"groups": {}}, "$.filter_rules.groups", "must be an array, not object"),
        ({"groups": [{"logic": "or"}]}, "$.filter_rules.groups[0].rules", "is required"),
        ({"groups": [3]}, "$.filter_rules.groups[0]", "must be an object, not number"),
        (
            {"groups": [{"logic": "xor"}]},
            "$.filter_rules.groups[0].logic",
            "'xor' is not a known logic; use one of and, or",
        ),
        (
            {"groups": [{"logic": "AND", "rules": []}]},
            "$.filter_rules.groups[0].logic",
            "'AND' is not a known logic",
        ),
        ({"groups": [{"rules": "x"}]}, "$.filter_rules.groups[0].rules", "must be an array, not string"),
        ({"groups": [{"rules": [None]}]}, "$.filter_rules.groups[0].rules[0]", "must be an object, not null"),
        (_rule(operator="equals", value="x"), f"{R1}.field", "is required"),
        (
            _rule(field="cost", operator="equals", value="x"),
            f"{R1}.field",
            "'cost' is not a known field; use one of model,",
        ),
        (_rule(field=1, operator="equals", value="x"), f"{R1}.field", "must be a string, not number"),
        (_rule(field="model", value="x"), f"{R1}.operator", "is required"),
        (
            _rule(field="model", operator="matches", value="x"),
            f"{R1}.operator",
            "'matches' is not a known operator; use one of equals,",
        ),
        (_rule(field="model", operator="equals"), f"{R1}.value", "is required for operator equals"),
        (
            _rule(field="model", operator="equals", value=True),
            f"{R1}.value",
            "must be a string or a number, not boolean",
        ),
        (
            _rule(field="model", operator="contains", value=["a"]),
            f"{R1}.value",
            "must be a string or a number, not array",
        ),
        (
            _rule(field="total_tokens", operator="gt", value="many"),
            f"{R1}.value",
            "must be a number for operator gt, not 'many'",
        ),
        (
            _rule(field="total_tokens", operator="lte", value="NaN"),
            f"{R1}.value",
            "must be a number for operator lte, not 'NaN'",
        ),
        (
            _rule(field="model", operator="regex", value=5),
            f"{R1}.value",
            "must be a string (a regular expression), not number",
        ),
        (
            _rule(field="model", operator="regex", value="gpt-(4"),
            f"{R1}.value",
            "is not a valid regular expression: missing ), unterminated subpattern",
        ),
        (
            _rule(field="model", operator="regex", value="*a"),
            f"{R1}.value",
            "is not a valid regular expression: nothing to repeat",
        ),
        (
            _rule(field="model", operator="regex", value="a" * (MAX_PATTERN_CHARS + 1)),
            f"{R1}.value",
            "is 1001 characters long; a pattern may have at most 1000",
        ),
    ],
)
def test_bad_rules_name_the_exact_path(filter_rules: Any, path: str, message: str) -> None:
    with pytest.raises(InvalidSettings) as info:
        destination(filter_rules=filter_rules)
    assert info.value.path == path
    assert info.value.message.startswith(message)


def test_longest_allowed_pattern_compiles() -> None:
    parsed = _parse(_rule(field="model", operator="regex", value="a" * MAX_PATTERN_CHARS))
    assert parsed.passes({"model": "x" + "a" * MAX_PATTERN_CHARS}) is False  # first rule wants "x"
    assert parsed.groups[0].rules[1].pattern is not None


def test_exists_ignores_any_value() -> None:
    parsed = _parse(_rule(field="output", operator="exists", value={"any": "thing"}))
    assert parsed.groups[0].rules[1].value is None
