"""Fixtures shared by every test package."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Fixture modules shared by several test packages; pytest only honours pytest_plugins in
# the root conftest, and loading them here once keeps assertion rewriting working.
pytest_plugins = ["tests.surveyapp.conftest_research", "tests.surveyapp.conftest_reports"]


def _reference_dir() -> Path:
    env = os.environ.get("MANYI_REFERENCE_DIR")
    return Path(env) if env else ROOT.parent / "shared" / "reference"


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """The published reference data (``../shared/reference`` or ``$MANYI_REFERENCE_DIR``).

    Skips the test when the folder is absent, except in CI (``CI=true``), where a missing
    folder is a failure: the reference numbers are the contract.
    """
    path = _reference_dir()
    if not path.is_dir():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"reference data folder {path} is missing in CI")
        pytest.skip(f"reference data folder {path} is absent; set MANYI_REFERENCE_DIR")
    return path
