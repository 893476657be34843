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
