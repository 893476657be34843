"""Open-text answers: tokens, word and phrase frequencies, and a lexicon-based sentiment.

The customers' own words explain the gaps the ratings measure. This module turns the
comments of a survey into counts a report can show beside the scores:

- :func:`tokenize` -- Chinese runs are segmented by jieba (its default dictionary, the
  precise mode ``jieba.lcut``); Latin-script runs are split into words and lower-cased;
  digits and punctuation are dropped;
- :func:`content_words` -- the tokens without stop words (:data:`STOP_WORDS`, a short list
  of function words of both languages) and without one-letter Latin tokens;
- :func:`sentiment` -- positive / negative / neutral by a small lexicon
  (:data:`POSITIVE`, :data:`NEGATIVE`): each lexicon word counts +1 or -1, flipped when
  one of the two tokens before it is a negator (:data:`NEGATORS`: 不, 没有, not, ...);
  the sign of the sum decides;
- :func:`text_summary` -- for a set of comments: how many, the most frequent words and
  two-word phrases (adjacent content words) with the number of comments holding each,
  and the sentiment shares; :func:`tokenized`, :func:`read` and
  :func:`readings_summary` do the same in steps, so the comments of a study are
  segmented and read once however many subsets (waves, segment levels) are summed;
  :func:`read_texts` reads texts with a memory of the texts already read (a report
  rebuilt after new responses segments only the new comments).

The rules are deliberately simple and documented so a reader can check a count by hand;
they are not a trained model. Empty and missing comments are not counted.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from typing import Literal

import pandas as pd

__all__ = [
    "NEGATIVE",
    "NEGATORS",
    "POSITIVE",
    "STOP_WORDS",
    "Reading",
    "TextSummary",
    "content_words",
    "READ_CACHE",
    "read",
    "read_text",
    "read_texts",
    "readings_summary",
    "sentiment",
    "text_summary",
    "tokenize",
    "tokenized",
]

Sentiment = Literal["positive", "negative", "neutral"]

#: function words left out of the frequencies (sentiment reads every token)
STOP_WORDS = frozenset(
    """
    的 了 是 在 我 有 和 就 都 一 一个 上 也 到 说 要 去 你 会 着 看 自己 这 那 吗 呢 吧 啊
    还 但 但是 而且 因为 所以 如果 就是 我们 你们 他们 她 他 它 这个 那个 什么 被 把 让 给
    对 与 及 等 或 又 再 比较 一些 一下 一点 有点 能 可以 希望 觉得 感觉 时候 现在 已经 如何
    您 很 非常 太 更 最 挺 真 特别 总是 经常 每次 之 其 为 以 于 从 而 并 且 则 即 呀 哦 嗯
    不 没 没有 别 未 无 不太 不够 not no never
    a an the and or but if then so as of at by for with to from in on into about over
    is are was were be been being am do does did have has had will would can could should
    may might must i me my we our you your he she it its they them their this that these
    those there here very too also just really quite more most some any all each every
    than what which who whom when where why how up down out off again once only own same
    """.split()
)
#: words of a positive judgement
POSITIVE = frozenset(
    """
    好 很好 满意 整体满意 方便 快 及时 热情 耐心 专业 周到 友好 干净 舒适 清楚 高效 礼貌 准确
    不错 喜欢 感谢 谢谢 优秀 便捷 贴心 细心 认真 靠谱 顺利 放心 快捷 整洁 满分 赞
    good great excellent friendly helpful fast quick easy clean polite professional
    satisfied happy thanks thank efficient clear nice love convenient patient kind
    """.split()
)
#: words of a negative judgement
NEGATIVE = frozenset(
    """
    差 慢 不满 不满意 麻烦 冷淡 排队 太长 失望 投诉 错误 出错 混乱 贵 脏 吵 拖延 敷衍 粗鲁 难
    复杂 糟糕 不便 漫长 等候 等待 故障 卡顿 推诿 不耐烦 乱
    bad poor slow rude long wait waiting dirty difficult confusing problem problems
    complaint expensive unhelpful late wrong error errors terrible awful disappointed
    queue broken crashes crash
    """.split()
)
#: words that reverse the judgement of the next one or two tokens
NEGATORS = frozenset("不 没 没有 别 未 无 不太 不够 not no never don't didn't isn't wasn't".split())

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUNS = re.compile(rf"[{_CJK}]+|[A-Za-z]+(?:['’][A-Za-z]+)*")
_IS_CJK = re.compile(rf"[{_CJK}]")
_CLAUSES = re.compile(r"[，。！？；：、,.!?;:\n()（）]+")


@lru_cache(maxsize=1)
def _jieba() -> object:
    # deferred: jieba builds its dictionary (about a second) on first use, and only
    # reports with Chinese comments need it
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


def _clause_tokens(text: str | None) -> list[list[str]]:
    """The tokens of each clause of ``text`` (clauses end at punctuation)."""
    if not isinstance(text, str):  # None, NaN, pandas' NA: no comment
        return []
    out: list[list[str]] = []
    for clause in _CLAUSES.split(text):
        tokens: list[str] = []
        for run in _RUNS.findall(clause):
            if _IS_CJK.match(run):
                tokens.extend(w for w in _jieba().lcut(run) if w.strip())  # type: ignore[attr-defined]
            else:
                tokens.append(run.lower().replace("’", "'"))
        if tokens:
            out.append(tokens)
    return out


#: one comment as tokens: the tokens of each clause (empty for no comment)
Clauses = list[list[str]]


def tokenized(texts: Iterable[str | None]) -> list[Clauses]:
    """Each text's clauses as tokens (what :func:`read` reads).

    >>> tokenized(["The wait, too long.", None])
    [[['the', 'wait'], ['too', 'long']], []]
    """
    return [_clause_tokens(t) for t in texts]


def tokenize(text: str | None) -> list[str]:
    """The tokens of ``text`` in order: jieba's words for Chinese runs, lower-cased words
    for Latin runs; punctuation, digits and spaces dropped.

    >>> tokenize("Staff were very patient.")
    ['staff', 'were', 'very', 'patient']
    """
    return [t for clause in _clause_tokens(text) for t in clause]


def content_words(tokens: Iterable[str]) -> list[str]:
    """``tokens`` without stop words and one-letter Latin tokens (order kept).

    >>> content_words(["the", "wait", "was", "too", "long"])
    ['wait', 'long']
    """
    return [t for t in tokens if t not in STOP_WORDS and not (len(t) == 1 and t.isascii())]


def sentiment(tokens: Sequence[str]) -> Sentiment:
    """Positive, negative or neutral by the lexicon, a negator flipping the next two
    tokens' judgement.

    >>> sentiment(["staff", "were", "not", "helpful"])
    'negative'
    >>> sentiment(tokenize("服务很好，谢谢。"))
    'positive'
    """
    score = 0
    for k, t in enumerate(tokens):
        value = 1 if t in POSITIVE else -1 if t in NEGATIVE else 0
        if value and any(p in NEGATORS for p in tokens[max(0, k - 2) : k]):
            value = -value
        score += value
    return "positive" if score > 0 else "negative" if score < 0 else "neutral"


@dataclass(frozen=True, slots=True)
class TextSummary:
    """Counts of a set of comments (see :func:`text_summary`).

    ``n`` comments with text; ``words`` and ``phrases``: frames ``term, count,
    comments`` (occurrences, and comments holding the term), most frequent first (ties
    by term); ``sentiment``: ``{"positive": k, "negative": k, "neutral": k}``;
    ``labels``: each comment's sentiment, aligned with the input (None for no text).
    """

    n: int
    words: pd.DataFrame
    phrases: pd.DataFrame
    sentiment: dict[str, int]
    labels: list[Sentiment | None]

    def sentiment_shares(self) -> dict[str, float]:
        """Share of the comments per sentiment (NaN when there is no comment)."""
        return {k: (v / self.n if self.n else float("nan")) for k, v in self.sentiment.items()}


def _table(counts: Counter[str], docs: Counter[str], top: int) -> pd.DataFrame:
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return pd.DataFrame(
        {
            "term": [t for t, _ in rows],
            "count": [c for _, c in rows],
            "comments": [docs[t] for t, _ in rows],
        },
        columns=["term", "count", "comments"],
    ).astype({"count": "int64", "comments": "int64"})


def text_summary(texts: Iterable[str | None], *, top: int = 20) -> TextSummary:
    """Word and phrase frequencies and sentiment of ``texts`` (missing or blank ones are
    skipped). A phrase is two adjacent content words (:func:`content_words`) of one clause
    (clauses end at punctuation).

    >>> s = text_summary(["The wait was too long.", "Long wait, rude staff.", None])
    >>> s.n, s.words["term"].tolist()[:2], s.sentiment["negative"]
    (2, ['long', 'wait'], 2)
    """
    return readings_summary(read_texts(texts), top=top)


@dataclass(frozen=True, slots=True)
class Reading:
    """What one comment adds to a summary: its content words, its two-word phrases
    (adjacent content words of one clause) and its sentiment. Immutable: a reading is
    shared by every text equal to its own (:func:`read_texts`)."""

    words: tuple[str, ...]
    phrases: tuple[str, ...]
    mood: Sentiment


def read(clauses: Clauses) -> Reading | None:
    """The :class:`Reading` of one :func:`tokenized` comment (None for no comment)."""
    if not clauses:
        return None
    kept: list[str] = []
    pairs: list[str] = []
    for clause in clauses:  # a phrase never spans a punctuation mark
        words_c = content_words(clause)
        kept.extend(words_c)
        pairs.extend(
            f"{a} {b}" if a.isascii() and b.isascii() else f"{a}{b}"
            for a, b in zip(words_c, words_c[1:], strict=False)
        )
    return Reading(tuple(kept), tuple(pairs), sentiment([t for c in clauses for t in c]))


#: distinct texts whose :class:`Reading` a process keeps (the least recently used go
#: first). A study's comments are read once and found again by the next build; a
#: reading of a short comment takes about 0.5 kB (measured on the simulated ones), so the
#: bound is about 35 MB per process. A study with more distinct comments than this gains
#: nothing (each build reads them in the same order, the oldest are gone first).
READ_CACHE = 1 << 16


@lru_cache(maxsize=READ_CACHE)
def read_text(text: str) -> Reading | None:
    """:func:`read` of one text's clauses, remembered (:data:`READ_CACHE`;
    ``read_text.cache_clear()`` forgets them all, e.g. to time a cold process)."""
    return read(_clause_tokens(text))


def read_texts(texts: Iterable[str | None]) -> list[Reading | None]:
    """Each text's :class:`Reading` (None for a missing or blank one): :func:`read` of
    its :func:`tokenized` clauses, remembered per distinct text (:data:`READ_CACHE`), so
    the comments already read by an earlier report are not segmented again.

    >>> [r.mood if r else None for r in read_texts(["Rude staff!", None, " "])]
    ['negative', None, None]
    """
    return [read_text(t) if isinstance(t, str) else None for t in texts]


def readings_summary(readings: Iterable[Reading | None], *, top: int = 20) -> TextSummary:
    """:func:`text_summary` of comments already :func:`read`: the counting alone, so
    subsets of the same comments (waves, segment levels) are summed without reading
    them again.

    >>> readings_summary([read(c) for c in tokenized(["Rude staff!", ""])]).sentiment
    {'positive': 0, 'negative': 1, 'neutral': 0}
    """
    every = list(readings)
    labels: list[Sentiment | None] = [None if r is None else r.mood for r in every]
    said = [r for r in every if r is not None]
    # each counter in one pass over all the comments' terms (Counter counts in C)
    words = Counter(chain.from_iterable(r.words for r in said))
    phrases = Counter(chain.from_iterable(r.phrases for r in said))
    word_docs = Counter(chain.from_iterable(set(r.words) for r in said))
    phrase_docs = Counter(chain.from_iterable(set(r.phrases) for r in said))
    moods = Counter(labels)
    return TextSummary(
        n=len(said),
        words=_table(words, word_docs, top),
        phrases=_table(phrases, phrase_docs, top),
        sentiment={m: moods[m] for m in ("positive", "negative", "neutral")},
        labels=labels,
    )
