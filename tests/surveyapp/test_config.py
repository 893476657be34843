"""The settings table (``surveyapp.config.SETTINGS``): read from the environment by type,
and documented in the README, row for row (Datasette's habit)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from surveyapp import config

README = (Path(__file__).resolve().parents[2] / "README.md").read_text("utf-8")
PACKAGE = Path(config.__file__).resolve().parent
# computed by config.build, fixed by the app itself (auth: the session cookie is written
# only when it changes) or set by Flask-Babel/tests, not settings a user gives
DERIVED = {
    "SESSION_REFRESH_EACH_REQUEST",
    "INSTANCE_PATH",
    "SQLALCHEMY_URL",
    "DATABASE",
    "TESTING",
    "BABEL_TRANSLATION_DIRECTORIES",
}


def readme_row(s: config.Setting) -> str:
    """The README's table row of a setting."""
    if s.default is None:
        default = "(empty)"
    elif isinstance(s.default, bool):
        default = f"`{str(s.default).lower()}`"
    elif isinstance(s.default, float):
        default = f"`{s.default:g}`"
    elif isinstance(s.default, int):
        default = f"`{s.default:,}`"
    else:
        default = f"`{s.default}`"
    return f"| `{s.name}` | {s.type.__name__} | {default} | {s.help} |"


@pytest.mark.parametrize("setting", config.SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_documented_in_the_readme(setting):
    assert readme_row(setting) in README


def test_the_readme_documents_no_other_setting():
    section = README.split("### Configuration", 1)[1].split("\n#", 1)[0]
    documented = re.findall(r"^\| `([A-Z_]+)` \|", section, flags=re.M)
    assert documented == [s.name for s in config.SETTINGS]


def test_every_setting_the_code_reads_is_in_the_table():
    read = set()
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text("utf-8")
        read |= set(re.findall(r"config(?:\.get\(|\[|\.setdefault\()\"([A-Z_]+)\"", text))
    assert read - DERIVED - set(config.DEFAULTS) == set()


def test_defaults_have_their_declared_type():
    for s in config.SETTINGS:
        assert s.default is None or isinstance(s.default, s.type), s.name


@pytest.mark.parametrize(
    ("name", "raw", "value"),
    [
        ("MIN_SECONDS", "45", 45.0),
        ("HSTS", "yes", True),
        ("TRUSTED_PROXIES", "2", 2),
        ("SUBMIT_RATE_LIMIT", "5/minute", "5/minute"),
        ("SOMETHING_ELSE", '{"a": 1}', {"a": 1}),
    ],
)
def test_environment_values_are_read_by_type(name, raw, value):
    assert config.from_environ({f"MANYI_{name}": raw})[name] == value


@pytest.mark.parametrize(
    ("name", "raw", "match"),
    [("HSTS", "maybe", "must be one of"), ("DB_POOL_SIZE", "many", "must be a int")],
)
def test_bad_environment_values_name_the_variable(name, raw, match):
    with pytest.raises(ValueError, match=f"MANYI_{name} {match}"):
        config.from_environ({f"MANYI_{name}": raw})
