"""scoring.screening: suspect-response flags."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scoring.errors import DataError, SpecificationError
from scoring.screening import SCREENING_FLAGS, quarantined, screen_responses


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 40
    e = pd.DataFrame(rng.integers(1, 8, (n, 6)), columns=[f"q{i}_e" for i in range(6)])
    p = pd.DataFrame(rng.integers(1, 8, (n, 6)), columns=[f"q{i}_p" for i in range(6)])
    df = pd.concat([e, p], axis=1).astype("Int64")
    df["duration_s"] = rng.uniform(200, 400, n)
    df["token"] = [f"t{i}" for i in range(n)]
    df.index = pd.RangeIndex(100, 100 + n)
    return df


def _screen(df: pd.DataFrame, **kw):
    ratings = {
        "expectation": [c for c in df.columns if c.endswith("_e")],
        "perception": [c for c in df.columns if c.endswith("_p")],
    }
    pairs = [(f"q{i}_e", f"q{i}_p") for i in range(6)]
    return screen_responses(df, ratings=ratings, pairs=pairs, **kw)


def test_each_flag_catches_its_planted_response(frame):
    df = frame.copy()
    df.loc[101, "duration_s"] = 20  # below a third of the median (~300)
    df.loc[102, [f"q{i}_p" for i in range(6)]] = 4  # straight-lined perceptions
    df.loc[103, [f"q{i}_p" for i in range(6)]] = df.loc[
        103, [f"q{i}_e" for i in range(6)]
    ].to_numpy()
    df.loc[[104, 105], "token"] = "replayed"
    df["suspect"] = pd.Series([""] * len(df), dtype="string", index=df.index)
    df.loc[106, "suspect"] = "speeder"
    df.loc[107, "suspect"] = "honeypot;quarantined"
    flags = _screen(df, start_token="token")
    assert list(flags.columns) == list(SCREENING_FLAGS)
    assert flags.index.equals(df.index)
    expected = {
        "too_fast": [101],
        "straight_lining": [102],
        "identical_ep": [103],
        "reused_token": [104, 105],
        "honeypot": [107],
        "flagged": [106],
    }
    for flag, rows in expected.items():
        assert flags.index[flags[flag]].tolist() == rows, flag
    assert flags.index[flags["suspect"]].tolist() == list(range(101, 108))


def test_thresholds_and_missing_answers(frame):
    df = frame.copy()
    df.loc[101, "duration_s"] = 150
    assert not _screen(df).loc[101, "too_fast"]
    assert _screen(df, min_seconds=160).loc[101, "too_fast"]
    assert _screen(df, median_share=0.6).loc[101, "too_fast"]
    df.loc[102, "duration_s"] = np.nan
    assert not _screen(df, min_seconds=1000).loc[102, "too_fast"]  # unknown is not fast
    # four equal answers and two missing: fewer than min_items=5 answered, not flagged
    df.loc[103, [f"q{i}_p" for i in range(6)]] = [4, 4, 4, 4, pd.NA, pd.NA]
    assert not _screen(df).loc[103, "straight_lining"]
    assert _screen(df, min_items=4).loc[103, "straight_lining"]


def test_honeypot_from_a_column_or_an_array(frame):
    df = frame.copy()
    df["honeypot"] = False
    df.loc[110, "honeypot"] = True
    assert _screen(df).index[_screen(df)["honeypot"]].tolist() == [110]
    marks = np.zeros(len(df), bool)
    marks[0] = True
    assert _screen(df, honeypot=marks).index[_screen(df, honeypot=marks)["honeypot"]].tolist() == [
        100
    ]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"median_share": 0}, SpecificationError, "median_share"),
        ({"min_items": 1}, SpecificationError, "min_items"),
        ({"start_token": "nope"}, DataError, "nope"),
        ({"honeypot": [True, False]}, DataError, "one boolean per row"),
    ],
)
def test_bad_input(frame, kwargs, error, match):
    with pytest.raises(error, match=match):
        _screen(frame, **kwargs)


def test_reasons_named_in_an_exported_suspect_cell_are_read_back(frame):
    # an export writes the screening reasons into `suspect`: scoring the file again
    # counts them under their own names, not as an unknown app flag
    df = frame.copy()
    df["suspect"] = pd.Series([""] * len(df), dtype="string", index=df.index)
    df.loc[110, "suspect"] = "straight_lining"
    df.loc[111, "suspect"] = "identical_ep;quarantined: too_fast; honeypot said the caller"
    df.loc[112, "suspect"] = "reused_token;too_fast"
    flags = _screen(df)
    assert flags.index[flags["straight_lining"]].tolist() == [110]
    assert flags.index[flags["identical_ep"]].tolist() == [111]
    assert flags.index[flags["reused_token"]].tolist() == [112]
    assert not flags["flagged"].any()


def test_quarantined_reads_the_export_cell():
    df = pd.DataFrame(
        {
            "suspect": pd.array(
                ["", "quarantined", "too_fast;quarantined: copied", None, "quarantined_not"],
                dtype="string",
            )
        }
    )
    assert quarantined(df).tolist() == [False, True, True, False, False]
    # a simulated file's boolean column and a frame without the column: none quarantined
    assert not quarantined(pd.DataFrame({"suspect": [True, False]})).any()
    assert not quarantined(pd.DataFrame({"q1": [1, 2]})).any()
