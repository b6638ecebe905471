"""The tag value rule (contract §5) over every Unicode code point, not just the generated samples."""

from __future__ import annotations

import sys

from llmobs_mapping.tags import _REPLACED, make_tag


def test_tag_sanitiser_keeps_exactly_letters_digits_and_the_five_marks() -> None:
    # The rule: a character stays iff str.isalnum() or it is one of _ - : . / ; all else becomes "_".
    # The regex relies on re's \w being str.isalnum() plus "_"; this pins that for this Python.
    every = "".join(map(chr, range(sys.maxunicode + 1)))
    expected = "".join(c if c.isalnum() or c in "_-:./" else "_" for c in every)
    assert _REPLACED.sub("_", every) == expected


def test_make_tag_examples() -> None:
    assert make_tag("user_id", "Jane Doe, PhD") == "user_id:Jane_Doe__PhD"
    assert make_tag("session_id", "émile-42") == "session_id:émile-42"
    assert make_tag("service", "app:") == "service:app_"
    assert make_tag("service", "") is None
    assert len(make_tag("service", "x" * 500) or "") == 200
