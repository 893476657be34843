"""Display conditions (skip logic): a small expression language over earlier answers and
link parameters, parsed into a tree and evaluated, never ``eval``'d.

Grammar (keywords in lower case; white space between tokens is free)::

    expr       := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | comparison
    comparison := operand (("=" | "!=" | "<" | "<=" | ">" | ">=") operand)?
    operand    := NUMBER | STRING | "${" NAME "}" | "(" expr ")"
                | "selected(" "${" NAME "}" "," STRING ")"
                | "answered(" "${" NAME "}" ")" | "unanswered(" "${" NAME "}" ")"
                | "param(" STRING ")"

Piping: in an item's or page's text, ``${name}`` shows the answer to an earlier page's
item and ``${param.key}`` a link parameter (the page escapes both).

``${name}`` is the answer of an item (its only column) or of one export column
(``${tan1_p}``); ``param('branch')`` is a parameter of the link (an invitation's
segment). ``selected(${item}, 'code')`` is true if a single choice has that code or a
multiple choice has it ticked. A comparison is true only if both sides have a value of
the same kind (two numbers: numeric order; two texts: ``=`` and ``!=`` only, others are
false); an unanswered or not-applicable answer makes every comparison false, so write
``answered(${x})`` or ``unanswered(${x})`` to test for it. A bare operand is true if it
has a value other than 0 and "". The browser evaluates the same language with the same
rules (``surveyapp/static/js/survey.js``, ``manyiConditions``); a property test checks
that both agree.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Value = float | str
Node = tuple[Any, ...]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<ref>\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)\})
      | (?P<num>-?\d+(?:\.\d+)?)
      | (?P<str>'[^'\\]*'|"[^"\\]*")
      | (?P<op><=|>=|!=|=|<|>)
      | (?P<punct>[(),])
      | (?P<word>[A-Za-z_]+)
    )""",
    re.VERBOSE,
)
FUNCTIONS = ("selected", "answered", "unanswered", "param")
MAX_LENGTH = 1000


class ConditionError(ValueError):
    """A condition that does not parse; ``position`` is the character it fails at."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.position = position


@dataclass(frozen=True)
class Condition:
    """A parsed condition: its text, tree, and the names it reads."""

    text: str
    tree: Node

    @property
    def references(self) -> tuple[str, ...]:
        """The answer names (``${name}``) it reads, in order of appearance."""
        out: list[str] = []
        _walk(self.tree, out)
        return tuple(dict.fromkeys(out))

    def evaluate(self, answers: Mapping[str, Value], params: Mapping[str, str]) -> bool:
        return _truth(_eval(self.tree, answers, params))


def _walk(node: Node, out: list[str]) -> None:
    if node[0] == "ref":
        out.append(node[1])
    for child in node[1:]:
        if isinstance(child, tuple):
            _walk(child, out)


def _tokens(text: str) -> list[tuple[str, Any, int]]:
    out: list[tuple[str, Any, int]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None:
            start = len(text) - len(text[pos:].lstrip())
            msg = f"unexpected {text[start : start + 10]!r}"
            raise ConditionError(msg, start)
        kind = m.lastgroup if m.lastgroup != "name" else "ref"
        at = m.start(kind or 0)
        if m.group("ref"):
            out.append(("ref", m.group("name"), at))
        elif m.group("num"):
            out.append(("num", float(m.group("num")), at))
        elif m.group("str"):
            out.append(("str", m.group("str")[1:-1], at))
        elif m.group("op"):
            out.append(("op", m.group("op"), at))
        elif m.group("punct"):
            out.append((m.group("punct"), m.group("punct"), at))
        else:
            out.append(("word", m.group("word"), at))
        pos = m.end()
    out.append(("end", None, len(text)))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, Any, int]:
        return self.tokens[self.i]

    def take(self, kind: str, value: Any = None) -> tuple[str, Any, int]:
        tok = self.peek()
        if tok[0] != kind or (value is not None and tok[1] != value):
            want = value if value is not None else kind
            got = "the end" if tok[0] == "end" else repr(tok[1])
            msg = f"expected {want!r}, found {got}"
            raise ConditionError(msg, tok[2])
        self.i += 1
        return tok

    def word(self, value: str) -> bool:
        tok = self.peek()
        if tok[0] == "word" and tok[1] == value:
            self.i += 1
            return True
        return False

    def expr(self) -> Node:
        left = self.conj()
        while self.word("or"):
            left = ("or", left, self.conj())
        return left

    def conj(self) -> Node:
        left = self.neg()
        while self.word("and"):
            left = ("and", left, self.neg())
        return left

    def neg(self) -> Node:
        if self.word("not"):
            return ("not", self.neg())
        return self.comparison()

    def comparison(self) -> Node:
        left = self.operand()
        if self.peek()[0] == "op":
            op = self.take("op")[1]
            return ("cmp", op, left, self.operand())
        return left

    def operand(self) -> Node:
        kind, value, at = self.peek()
        if kind in ("num", "str", "ref"):
            self.i += 1
            return (kind, value)
        if kind == "(":
            self.i += 1
            inner = self.expr()
            self.take(")")
            return inner
        if kind == "word" and value in FUNCTIONS:
            self.i += 1
            self.take("(")
            if value == "param":
                node: Node = ("param", self.take("str")[1])
            else:
                ref = ("ref", self.take("ref")[1])
                if value == "selected":
                    self.take(",")
                    node = ("selected", ref, self.take("str")[1])
                else:
                    node = (value, ref)
            self.take(")")
            return node
        got = "the end" if kind == "end" else repr(value)
        msg = f"expected an answer, a number, a text or a function, found {got}"
        raise ConditionError(msg, at)


def parse(text: str) -> Condition:
    """Parse ``text``; raise :class:`ConditionError` with the failing position."""
    if len(text) > MAX_LENGTH:
        msg = f"a condition has at most {MAX_LENGTH} characters"
        raise ConditionError(msg, MAX_LENGTH)
    p = _Parser(text)
    tree = p.expr()
    p.take("end")
    return Condition(text, tree)


# piping: ``${name}`` in a text shows an earlier answer, ``${param.key}`` a link parameter
PIPE = re.compile(r"\$\{(param\.)?([A-Za-z_][A-Za-z0-9_]*)\}")


def piped(text: str) -> list[tuple[bool, str]]:
    """The (is a link parameter, name) of every ``${...}`` piped into ``text``."""
    return [(bool(m.group(1)), m.group(2)) for m in PIPE.finditer(text)]


@functools.lru_cache(maxsize=1024)
def compiled(text: str) -> Condition:
    """:func:`parse`, once per distinct text (instruments are immutable)."""
    return parse(text)


def holds(text: str | None, answers: Mapping[str, Value], params: Mapping[str, str]) -> bool:
    """Whether the display condition ``text`` holds (no condition: always)."""
    return text is None or compiled(text).evaluate(answers, params)


def _value(node: Node, answers: Mapping[str, Value], params: Mapping[str, str]) -> Value | None:
    kind = node[0]
    if kind in ("num", "str"):
        return node[1]  # type: ignore[no-any-return]
    if kind == "ref":
        v = answers.get(node[1])
        return v if isinstance(v, str) or v is None else float(v)
    if kind == "param":
        p = params.get(node[1])
        return None if p is None else str(p)
    return 1.0 if _truth(_eval(node, answers, params)) else 0.0


def _compare(op: str, a: Value | None, b: Value | None) -> bool:
    if a is None or b is None or isinstance(a, str) != isinstance(b, str):
        return False
    if isinstance(a, str):
        return {"=": a == b, "!=": a != b}.get(op, False)
    x, y = float(a), float(b)
    return {"=": x == y, "!=": x != y, "<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]


def _eval(node: Node, answers: Mapping[str, Value], params: Mapping[str, str]) -> Any:
    kind = node[0]
    if kind == "or":
        return _truth(_eval(node[1], answers, params)) or _truth(_eval(node[2], answers, params))
    if kind == "and":
        return _truth(_eval(node[1], answers, params)) and _truth(_eval(node[2], answers, params))
    if kind == "not":
        return not _truth(_eval(node[1], answers, params))
    if kind == "cmp":
        return _compare(node[1], _value(node[2], answers, params), _value(node[3], answers, params))
    if kind == "answered":
        return answers.get(node[1][1]) is not None
    if kind == "unanswered":
        return answers.get(node[1][1]) is None
    if kind == "selected":
        name, code = node[1][1], node[2]
        single = answers.get(name)
        if isinstance(single, str):
            return single == code
        ticked = answers.get(f"{name}_{code}")
        return ticked is not None and not isinstance(ticked, str) and float(ticked) == 1.0
    return _value(node, answers, params)


def _truth(v: Any) -> bool:
    if v is None or isinstance(v, bool):
        return bool(v)
    if isinstance(v, str):
        return v != ""
    return float(v) != 0.0
