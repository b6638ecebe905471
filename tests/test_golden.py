"""Golden cases: each fixture's exchange + settings map to exactly its expected.json (or error.json).

`pytest --snapshot-update` rewrites the expected files for review; the run that rewrites still fails.
"""

from __future__ import annotations

import pytest
from conftest import CaseDir, case_dirs

from llmobs_mapping import MappingError, Settings, build_payload, dumps
from llmobs_mapping.decide import decide

CASES = case_dirs()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case: CaseDir, snapshot) -> None:  # type: ignore[no-untyped-def]
    """The library's output for the case is byte-equal to the reviewed file."""
    meta = case.read("case.json")
    snapshot.snapshot_dir = case.path
    if (case.path / "decision.json").exists():
        settings = Settings.from_destination(case.read("settings.json"))
        decision = decide(
            case.read("exchange.json"),
            settings,
            api_key_hash=meta.get("api_key_hash"),
            api_key_name=meta.get("api_key_name"),
        )
        result = {"reason": decision.reason, "send": decision.send}
        snapshot.assert_match(dumps(result, pretty=True).decode(), "decision.json")
        return
    try:
        settings = Settings.from_destination(case.read("settings.json"))
        payload = build_payload(case.read("exchange.json"), settings, meta["format"])
    except MappingError as exc:
        error = {"error": type(exc).__name__, "path": exc.path}
        snapshot.assert_match(dumps(error, pretty=True).decode(), "error.json")
        assert not (case.path / "expected.json").exists(), "the case expects a payload but mapping failed"
        return
    assert not (case.path / "error.json").exists(), "the case expects an error but mapping succeeded"
    snapshot.assert_match(dumps(payload, pretty=True).decode(), "expected.json")


def test_there_are_enough_cases() -> None:
    """The suite is the product: it holds the cases the issues ask for."""
    assert len(CASES) >= 75
