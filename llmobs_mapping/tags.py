"""Datadog tags (contract §5; Datadog "Getting started with tags").

A tag is ``key:value``; it starts with a letter, holds no whitespace or comma, does not end with
``:`` and is at most 200 characters. Values keep their case and their Unicode letters and digits;
every other character outside ``_ - : . /`` becomes ``_``. An empty value drops the tag.
"""

from __future__ import annotations

import re

__all__ = ["MAX_TAG_LENGTH", "make_tag", "payload_tags"]

MAX_TAG_LENGTH = 200
# What a value may keep: letters and digits (re's \w is exactly str.isalnum() plus "_"), "_ - : . /".
_REPLACED = re.compile(r"[^\w\-:./]")


def make_tag(key: str, value: str | None) -> str | None:
    """``key:value`` with the value sanitised and the whole tag cut to 200 characters; None if empty."""
    if not value:
        return None
    tag = f"{key}:{_REPLACED.sub('_', value)}"[:MAX_TAG_LENGTH]
    if tag.endswith(":"):  # Datadog: a tag cannot end with a colon
        tag = tag[:-1] + "_"
    return tag


def payload_tags(ml_app: str, user: str | None, session_id: str | None) -> tuple[str, ...]:
    """The tags every span of an exchange carries: service, user_id and session_id, sorted."""
    tags = (make_tag("service", ml_app), make_tag("user_id", user), make_tag("session_id", session_id))
    return tuple(sorted(t for t in tags if t is not None))
