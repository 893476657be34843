"""scoring.text: segmentation, stop words, phrase and word counts, lexicon sentiment."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from scoring import text
from scoring.text import (
    content_words,
    read,
    read_texts,
    readings_summary,
    sentiment,
    text_summary,
    tokenize,
    tokenized,
)

TEXT = "营业厅的工作人员态度很好，但是排队等候时间太长了。"


def test_chinese_text_is_segmented_by_jieba() -> None:
    # jieba 0.42's default dictionary, precise mode; punctuation dropped
    assert tokenize(TEXT) == [
        "营业厅",
        "的",
        "工作人员",
        "态度",
        "很",
        "好",
        "但是",
        "排队",
        "等候",
        "时间",
        "太长",
        "了",
    ]
    assert content_words(tokenize(TEXT)) == [
        "营业厅",
        "工作人员",
        "态度",
        "好",
        "排队",
        "等候",
        "时间",
        "太长",
    ]


def test_english_and_mixed_text() -> None:
    assert tokenize("The app's login FAILED twice, 2 times!") == [
        "the",
        "app's",
        "login",
        "failed",
        "twice",
        "times",
    ]
    assert tokenize("App 经常出错") == ["app", "经常", "出错"]
    assert tokenize(None) == []
    assert tokenize(float("nan")) == []
    assert tokenize("  。！ ") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("服务很好，谢谢。", "positive"),
        ("等候时间太长。", "negative"),
        ("服务不太专业。", "negative"),  # a negator flips the next words
        ("工作人员不耐烦", "negative"),
        ("还不错", "positive"),
        ("Staff were not helpful.", "negative"),
        ("Great service, thank you.", "positive"),
        ("I came on Tuesday.", "neutral"),
    ],
)
def test_lexicon_sentiment(text: str, expected: str) -> None:
    assert sentiment(tokenize(text)) == expected


def test_summary_counts_words_phrases_and_comments() -> None:
    texts = pd.Series(
        ["The wait was too long.", "Long wait, rude staff.", None, "  ", "Friendly staff."],
        dtype="string",
    )
    s = text_summary(texts)
    assert s.n == 3
    words = s.words.set_index("term")
    assert words.loc["wait", "count"] == 2
    assert words.loc["staff", "comments"] == 2
    assert "the" not in words.index  # a stop word
    # a phrase never spans the comma: "wait rude" is not one
    assert set(s.phrases["term"]) == {"wait long", "long wait", "rude staff", "friendly staff"}
    assert s.sentiment == {"positive": 1, "negative": 2, "neutral": 0}
    assert s.labels == ["negative", "negative", None, None, "positive"]
    assert s.sentiment_shares()["negative"] == pytest.approx(2 / 3)


def test_comments_read_once_sum_like_each_subset_summarised() -> None:
    """A study's comments are segmented and read once, then summed per wave or segment
    level: the same counts as summarising each subset from its texts."""
    texts = [TEXT, "The wait was too long.", None, "服务很好，谢谢。", "Rude staff, long wait."]
    readings = [read(c) for c in tokenized(texts)]
    for subset in ([0, 1, 2], [1, 3, 4], [2], list(range(5))):
        once = readings_summary([readings[k] for k in subset], top=50)
        anew = text_summary([texts[k] for k in subset], top=50)
        assert once.n == anew.n
        assert once.sentiment == anew.sentiment
        assert once.labels == anew.labels
        pd.testing.assert_frame_equal(once.words, anew.words)
        pd.testing.assert_frame_equal(once.phrases, anew.phrases)


def test_read_texts_segments_each_distinct_text_once(monkeypatch) -> None:
    """A report rebuilt after new responses does not segment the comments it read
    before: each distinct text is segmented once per process; the readings equal
    read(tokenized(...)) and cannot be changed by a caller."""
    calls: list[str] = []
    segment = text._clause_tokens

    def counted(t: str | None) -> list[list[str]]:
        calls.append(str(t))
        return segment(t)

    monkeypatch.setattr(text, "_clause_tokens", counted)
    texts = ["等候时间太长了，工作人员很耐心 (read_texts 1)", None, "Rude staff (read_texts 2)"]
    first = read_texts([*texts, texts[0], "  "])
    again = read_texts(texts)
    assert sorted(calls) == sorted([texts[0], texts[2]])
    assert first[:3] == again == [read(c) for c in tokenized(texts)]
    assert first[3] is first[0]
    assert first[4] is None
    assert isinstance(first[0].words, tuple)
    assert isinstance(first[0].phrases, tuple)


def test_summary_of_no_comment() -> None:
    s = text_summary([None, ""])
    assert s.n == 0
    assert s.words.empty
    assert list(s.words.columns) == ["term", "count", "comments"]
    assert math.isnan(s.sentiment_shares()["positive"])


def test_top_keeps_the_most_frequent_first() -> None:
    s = text_summary(["b b a", "c b a", "d"], top=2)
    assert s.words.empty  # one-letter Latin words are left out
    s = text_summary(["bank bank app", "card bank app", "desk"], top=2)
    assert s.words["term"].tolist() == ["bank", "app"]
    assert s.words["count"].tolist() == [3, 2]
