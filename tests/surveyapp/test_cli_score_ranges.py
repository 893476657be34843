"""`manyi score` refuses answers off the questionnaire's scale (issue 18, item 4)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import questionnaires as qn
from questionnaires.simulate import simulate

# the console script installed beside this interpreter (pip install -e .)
MANYI = str(Path(sys.executable).with_name("manyi"))


def test_score_reliability_refuses_an_answer_off_the_scale(tmp_path):
    q = qn.builtin("servqual22")
    data = simulate(q, 120, seed=5).data
    data["tan1_p"] = data["tan1_p"].astype("float64")
    data.loc[3, "tan1_p"] = 99  # file line 5: the header is line 1
    path = tmp_path / "answers.csv"
    data.to_csv(path, index=False)
    proc = subprocess.run(
        [MANYI, "score", "reliability", str(path), "-q", "servqual22"],
        capture_output=True,
        text=True,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert "'tan1_p' must hold answers in [1, 7]; row 5 holds 99" in out
    assert "Traceback" not in out


def test_small_sample_warning_is_one_line_for_the_user(tmp_path):
    """A scoring warning reaches the user as one "Warning:" line, not Python's format with
    a source line; the command still succeeds."""
    q = qn.builtin("servqual22")
    data = tmp_path / "five.csv"
    simulate(q, 5, seed=1).data.to_csv(data, index=False)
    res = subprocess.run(
        [MANYI, "score", "index", str(data), "-q", "servqual22"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    warnings = [line for line in res.stderr.splitlines() if line.strip()]
    assert warnings
    assert all(line.startswith("Warning: ") for line in warnings), res.stderr
    assert ".py:" not in res.stderr
