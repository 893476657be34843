"""Write a questionnaire back to YAML (the inverse of :func:`questionnaires.loads`)."""

from __future__ import annotations

from typing import Any

import yaml

from questionnaires.model import Questionnaire


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, data: str) -> Any:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str)


def dump_yaml(q: Questionnaire) -> str:
    """The instrument as YAML text that loads back to an equal questionnaire."""
    header = f"# {q.title.en} / {q.title.zh_hans}\n"
    if q.citation:
        header += "".join(f"# {line}\n" for line in q.citation.strip().splitlines())
    body = yaml.dump(q.to_dict(), Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)
    return header + body
