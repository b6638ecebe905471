"""Shared test helpers: the repository's fixture cases and Hypothesis profiles."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
EXAMPLES = ROOT / "examples"

settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile(
    "thorough",
    max_examples=3000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("dev", max_examples=60, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class CaseDir:
    id: str
    path: Path

    def read(self, name: str) -> Any:
        return load(self.path / name)


def case_dirs() -> list[CaseDir]:
    """Every fixture case folder: fixtures/<group>/<name>/ holding a case.json."""
    return [
        CaseDir(p.parent.relative_to(FIXTURES).as_posix(), p.parent)
        for p in sorted(FIXTURES.glob("*/*/case.json"))
    ]


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Terminate a server the tests started; kill it if it does not stop within 10 s."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def run_cli_to_full_disk(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """``python -m llmobs_mapping ARGS`` with stdout on ``/dev/full``, which accepts the open and
    fails every write with ENOSPC: a full disk, for real. stdout is block-buffered as usual
    (``PYTHONUNBUFFERED`` removed), so a failure at the final flush is exercised too."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    with open("/dev/full", "w") as full:
        return subprocess.run(
            [sys.executable, "-m", "llmobs_mapping", *args],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
            cwd=cwd,
            env=env,
        )
