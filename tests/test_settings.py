"""Settings: OpenRouter's destination JSON, URL rules, ml_app normalisation, and the secret API key."""

from __future__ import annotations

import pytest

from llmobs_mapping import InvalidSettings, Settings, build_payload, dumps
from llmobs_mapping.settings import normalize_ml_app

KEY = "dd-secret-key-1234567890abcdef"


def destination(**config: object) -> dict[str, object]:
    return {"type": "datadog", "config": {"apiKey": KEY, "mlApp": "app", **config}}


@pytest.mark.parametrize(
    ("url", "expected", "site"),
    [
        (None, "https://api.us5.datadoghq.com", "us5.datadoghq.com"),
        ("https://api.datadoghq.com", "https://api.datadoghq.com", "datadoghq.com"),
        ("https://API.datadoghq.eu/", "https://api.datadoghq.eu", "datadoghq.eu"),
        ("https://api.ap2.datadoghq.com", "https://api.ap2.datadoghq.com", "ap2.datadoghq.com"),
        ("https://api.uk1.datadoghq.com", "https://api.uk1.datadoghq.com", "uk1.datadoghq.com"),
    ],
)
def test_accepted_urls(url: str | None, expected: str, site: str) -> None:
    """Datadog API hosts of sites with LLM Observability are accepted and normalised."""
    config = {} if url is None else {"url": url}
    settings = Settings.from_destination(destination(**config))
    assert (settings.url, settings.site) == (expected, site)


@pytest.mark.parametrize(
    ("url", "names"),
    [
        ("https://app.datadoghq.com", "https://api.datadoghq.com"),
        ("https://app.datadoghq.eu", "https://api.datadoghq.eu"),
        ("https://us5.datadoghq.com", "https://api.us5.datadoghq.com"),
        ("https://llmobs-intake.us3.datadoghq.com", "https://api.us3.datadoghq.com"),
        ("http://api.datadoghq.com", "https://api.datadoghq.com"),
        ("https://api.datadoghq.com/api/intake", "https://api.datadoghq.com"),
        ("https://api.ddog-gov.com", "ddog-gov.com"),
        ("https://api.us2.ddog-gov.com", "ddog-gov.com"),
    ],
)
def test_common_mistakes_name_the_right_url(url: str, names: str) -> None:
    """A wrong URL gets InvalidSettings at $.config.url whose message names the fix."""
    with pytest.raises(InvalidSettings) as info:
        Settings.from_destination(destination(url=url))
    assert info.value.path == "$.config.url"
    assert names in info.value.message


def test_custom_url_needs_opt_in() -> None:
    """A proxy or a local server is accepted only with allow_custom_url."""
    with pytest.raises(InvalidSettings):
        Settings.from_destination(destination(url="http://127.0.0.1:9000"))
    settings = Settings.from_destination(
        {**destination(url="http://127.0.0.1:9000/"), "allow_custom_url": True}
    )
    assert (settings.url, settings.site) == ("http://127.0.0.1:9000", None)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Production-App", "production-app"),
        ("my app!!", "my_app"),
        ("a__b___c_", "a_b_c"),
        ("Équipe/Chat:v1.2", "équipe/chat:v1.2"),
        ("x" * 200, "x" * 193),
        ("  ", ""),
    ],
)
def test_ml_app_normalisation(raw: str, expected: str) -> None:
    """Datadog's naming rule: lowercase, allowed characters, no repeated or trailing _, <= 193."""
    assert normalize_ml_app(raw) == expected


def test_api_key_never_shown() -> None:
    """The key is kept for the sender but never appears in repr, payloads or errors."""
    settings = Settings.from_destination(destination())
    assert settings.api_key == KEY
    assert KEY not in repr(settings)
    assert KEY not in str(settings)
    exchange = {
        "request": {"messages": [{"role": "user", "content": "hi"}], "model": "m/x"},
        "response": {"id": "gen-1", "model": "m/x", "choices": []},
        "timing": {"start": 0, "end": 1},
    }
    for fmt in ("public", "evp"):
        assert KEY.encode() not in dumps(build_payload(exchange, settings, fmt))  # type: ignore[arg-type]
    with pytest.raises(InvalidSettings) as info:
        Settings.from_destination({**destination(url="https://app.datadoghq.com")})
    assert KEY not in str(info.value)
    assert KEY not in repr(info.value)


@pytest.mark.parametrize(
    ("doc", "path"),
    [
        ("not an object", "$"),
        ({"type": "datadog"}, "$.config"),
        ({"type": "datadog", "config": {"mlApp": 5}}, "$.config.mlApp"),
        ({"type": "datadog", "config": {"mlApp": "a", "headers": {"X": 1}}}, "$.config.headers.X"),
        ({"type": "datadog", "config": {"mlApp": "a"}, "sampling_rate": 2}, "$.sampling_rate"),
        ({"type": "datadog", "config": {"mlApp": "a"}, "privacy_mode": "yes"}, "$.privacy_mode"),
        ({"type": "datadog", "config": {"mlApp": "a"}, "max_span_bytes": 10}, "$.max_span_bytes"),
        ({"type": "datadog", "config": {"mlApp": "a"}, "max_span_bytes": 2048.5}, "$.max_span_bytes"),
        ({"type": "datadog", "config": {"mlApp": "a"}, "max_span_bytes": -2048}, "$.max_span_bytes"),
        ({"type": "datadog", "config": {"mlApp": "a"}, "api_key_hashes": "abc"}, "$.api_key_hashes"),
    ],
)
def test_bad_destination_documents(doc: object, path: str) -> None:
    """Every malformed destination field is reported at its path."""
    with pytest.raises(InvalidSettings) as info:
        Settings.from_destination(doc)
    assert info.value.path == path


def test_a_whole_float_span_limit_is_read_as_an_integer() -> None:
    settings = Settings.from_destination({"config": {"mlApp": "a"}, "max_span_bytes": 2048.0})
    assert (settings.max_span_bytes, type(settings.max_span_bytes)) == (2048, int)


def test_settings_are_frozen() -> None:
    settings = Settings(ml_app="App One")
    assert settings.ml_app == "app_one"
    with pytest.raises(AttributeError):
        settings.ml_app = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("keywords", "path"),
    [
        ({"enabled": "false"}, "$.enabled"),
        ({"privacy_mode": 1}, "$.privacy_mode"),
        ({"allow_custom_url": "yes"}, "$.allow_custom_url"),
        ({"api_key_hashes": "abc"}, "$.api_key_hashes"),
        ({"api_key_hashes": ()}, "$.api_key_hashes"),
        ({"api_key_hashes": ("abc", 1)}, "$.api_key_hashes"),
        ({"headers": [("x-a", "b")]}, "$.config.headers"),
        ({"headers": (("x-a", 1),)}, "$.config.headers"),
        ({"filter_rules": {"enabled": True}}, "$.filter_rules"),
    ],
)
def test_keyword_settings_are_type_checked(keywords: dict[str, object], path: str) -> None:
    # "false" or a string of hashes would otherwise read as truthy / as substrings, and send
    with pytest.raises(InvalidSettings) as info:
        Settings(ml_app="app", **keywords)  # type: ignore[arg-type]
    assert info.value.path == path


def test_keyword_settings_accept_the_documented_types() -> None:
    settings = Settings(ml_app="app", api_key_hashes=("k1",), headers=(("x-a", "b"),), privacy_mode=True)
    assert settings.api_key_hashes == ("k1",)
    assert settings.headers == (("x-a", "b"),)


@pytest.mark.parametrize(
    ("url", "allow_custom_url", "names"),
    [
        ("https://app.datadoghq.com", True, "https://api.datadoghq.com"),
        ("https://api.ddog-gov.com", True, "ddog-gov.com"),
        ("https://api.us1.datadoghq.com", False, "https://api.datadoghq.com"),
        ("https://us1.datadoghq.com", True, "https://api.datadoghq.com"),
    ],
)
def test_datadog_hosts_keep_their_error_with_custom_url(url: str, allow_custom_url: bool, names: str) -> None:
    with pytest.raises(InvalidSettings) as info:
        Settings(ml_app="app", url=url, allow_custom_url=allow_custom_url)
    assert names in str(info.value)


def test_port_443_is_the_bare_host() -> None:
    assert Settings(ml_app="app", url="https://api.datadoghq.com:443").url == "https://api.datadoghq.com"
