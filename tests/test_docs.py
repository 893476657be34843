"""The documentation says what the code does (Datasette-style doc tests)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import scoring
from surveyapp.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text("utf-8")
SCORING_DOC = (ROOT / "docs" / "scoring.md").read_text("utf-8")


def test_readme_opens_with_the_two_commands():
    blocks = re.findall(r"```sh\n(.*?)```", README, flags=re.S)
    assert "pip install . && manyi demo" in blocks[0]
    assert blocks[1].strip() == "make test"
    # the first two blocks come before any section heading
    assert README.index(blocks[1]) < README.index("\n## ")


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    assert re.search(r"^make test$", ci, flags=re.M)


@pytest.mark.parametrize("name", sorted(scoring.__all__))
def test_every_public_scoring_name_is_documented(name):
    assert f"`{name}`" in SCORING_DOC or f"`{name}(" in SCORING_DOC, name


def _commands(group, prefix=()):
    for name, cmd in group.commands.items():
        yield (*prefix, name)
        if hasattr(cmd, "commands"):
            yield from _commands(cmd, (*prefix, name))


@pytest.mark.parametrize("path", sorted(_commands(main)), ids=" ".join)
def test_every_cli_command_is_in_the_readme(path):
    words = " ".join(path)
    top = path[0]
    assert f"manyi {words}" in README or (
        len(path) > 1 and f"manyi {top}" in README and path[-1] in README
    ), words


def test_scoring_guide_examples_run():
    code = "\n".join(re.findall(r"```python\n(.*?)```", SCORING_DOC, flags=re.S))
    assert code
    exec(compile(code, "docs/scoring.md", "exec"), {})
