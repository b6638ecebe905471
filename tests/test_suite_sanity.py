"""The fixture suite checks itself: layout, canonical form, schemas, unique descriptions."""

from __future__ import annotations

from collections import Counter

import pytest
from conftest import FIXTURES, CaseDir, case_dirs

from llmobs_mapping import dumps
from llmobs_mapping.schemas import iter_violations

CASES = case_dirs()
INPUTS = {"case.json", "exchange.json", "settings.json"}
OUTCOMES = ({"expected.json"}, {"error.json"}, {"decision.json"})


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case_folder_holds_allowed_files_only(case: CaseDir) -> None:
    """Each folder holds the three inputs and exactly one outcome file, nothing else."""
    names = {p.name for p in case.path.iterdir()}
    assert names - INPUTS in OUTCOMES, sorted(names)
    assert names >= INPUTS


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_files_are_canonical_and_valid(case: CaseDir) -> None:
    """Every file is in the library's canonical pretty form and valid against its schema."""
    for path in sorted(case.path.iterdir()):
        text = path.read_bytes()
        data = case.read(path.name)
        assert text == dumps(data, pretty=True), f"{path.name} is not in canonical form"
    meta = case.read("case.json")
    assert iter_violations(meta, "case-meta") == []
    assert (
        iter_violations(case.read("settings.json"), "settings") == [] or (case.path / "error.json").exists()
    )
    if (case.path / "expected.json").exists():
        assert iter_violations(case.read("exchange.json"), "exchange") == []
        schema = "public-payload" if meta["format"] == "public" else "evp-payload"
        assert iter_violations(case.read("expected.json"), schema) == []
    if (case.path / "error.json").exists():
        assert iter_violations(case.read("error.json"), "error") == []
    if (case.path / "decision.json").exists():
        decision = case.read("decision.json")
        assert set(decision) == {"send", "reason"}
        assert decision["send"] is (decision["reason"] == "send")


def test_descriptions_are_unique_and_plain() -> None:
    """Descriptions identify cases: unique, short, stated as facts."""
    descriptions = [c.read("case.json")["description"] for c in CASES]
    duplicated = [d for d, n in Counter(descriptions).items() if n > 1]
    assert duplicated == []
    for text in descriptions:
        assert "should" not in text.lower()
        assert not text.lower().startswith("test")


def test_no_stray_files_in_fixtures() -> None:
    """Only the README and case folders live in fixtures/."""
    stray = [
        p.relative_to(FIXTURES).as_posix()
        for p in FIXTURES.rglob("*")
        if p.is_file() and p.name != "README.md" and p.parent.parent.parent != FIXTURES
    ]
    assert stray == []


def test_api_key_never_in_fixtures() -> None:
    """Fixtures carry no real secret: any apiKey is a masked placeholder."""
    for case in CASES:
        key = case.read("settings.json").get("config", {}).get("apiKey")
        if isinstance(key, str):
            assert set(key) <= set("*AbCd"), case.id
