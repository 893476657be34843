"""The ``manyi`` command line.

Each module of this package contributes commands by listing them in a module-level
``COMMANDS`` list; :func:`main` collects them, so adding a command never means editing
this file. Errors a user can fix exit with status 2 and one clear message, never a
traceback.
"""

from __future__ import annotations

import importlib
import pkgutil

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="manyi")
def main() -> None:
    """manyi (满意): survey-based customer satisfaction measurement."""


def _register() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for command in getattr(module, "COMMANDS", ()):
            main.add_command(command)


_register()
