"""The error a bad questionnaire file raises: every problem at once, each with path and fix."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem in a questionnaire file.

    ``path`` is the location inside the file in dotted form with list indexes, e.g.
    ``pages[0].items[3].text.zh-Hans``; ``fix`` says what to change.
    """

    path: str
    message: str
    fix: str = ""
    line: int | None = None

    def format(self, source: str) -> str:
        where = f"{source}:{self.line}" if self.line else source
        loc = f" {self.path}:" if self.path else ""
        fix = f" Fix: {self.fix}" if self.fix else ""
        end = "" if self.message.endswith((".", "?", "!")) else "."
        return f"{where}:{loc} {self.message}{end}{fix}"


class QuestionnaireError(ValueError):
    """A questionnaire file failed validation. ``problems`` lists every problem found."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        n = len(self.problems)
        head = f"{source}: {n} problem{'s' if n != 1 else ''} in questionnaire"
        body = "\n".join(f"  - {p.format(source)}" for p in self.problems)
        super().__init__(f"{head}\n{body}")

    @property
    def messages(self) -> list[str]:
        """One line per problem, each naming the file, the path and the fix."""
        return [p.format(self.source) for p in self.problems]
