"""Package-level guarantees of :mod:`scoring`."""

from __future__ import annotations

import subprocess
import sys


def test_scoring_is_web_free():
    code = (
        "import sys, scoring; "
        "bad = {'flask', 'wtforms', 'sqlalchemy', 'sqlite3', 'requests'} & set(sys.modules); "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_questionnaires_do_not_import_scoring_or_web():
    code = (
        "import sys, questionnaires; "
        "bad = {'flask', 'wtforms', 'sqlalchemy', 'scoring', 'surveyapp'} & set(sys.modules); "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
