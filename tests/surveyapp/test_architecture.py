"""The shape of ``surveyapp`` (ARCHITECTURE.md, "Web"): no import cycles, a reason for every
function-local import, services that know nothing of the request, and an app whose
blueprints are all registered by ``create_app``.

The import graph is read from the source with :mod:`ast`, so it holds module-level *and*
function-local imports: a cycle hidden inside a function is still a cycle.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import surveyapp

PACKAGE = Path(surveyapp.__file__).resolve().parent
ROOT = "surveyapp"
FIRST_PARTY = {"surveyapp", "scoring", "questionnaires"}
REQUEST_CONTEXT = {"request", "session", "g", "flash"}
# a comment on the import's line or the line above must say why the import waits
REASON_MARKERS = ("lazy", "optional", "only when", "only for", "slow", "heavy", "deferred")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {
    _module_name(p): p
    for p in sorted(PACKAGE.rglob("*.py"))
    if "migrations" not in p.relative_to(PACKAGE).parts
}


def _imports(path: Path) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement of the file and whether it sits inside a function."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))

    def walk(
        node: ast.AST, in_function: bool
    ) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                yield child, in_function
            inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            yield from walk(child, inside)

    yield from walk(tree, False)


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The modules an import statement loads, ``from surveyapp import x`` giving
    ``surveyapp.x`` when ``x`` is a module."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{node.module}" if node.module else package
    else:
        base = node.module or ""
    found = []
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        found.append(sub if sub in MODULES else base)
    return found


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for node, _in_function in _imports(path):
            for target in _targets(name, node):
                if target in MODULES and target != name:
                    graph[name].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each
    shown as one cycle through its modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [_one_cycle(graph, set(c)) for c in components]


def _one_cycle(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A path ``a -> b -> ... -> a`` inside one strongly connected component."""
    start = min(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v] & component):
            if w == start:
                return [*paths[v], start]
            if w not in paths:
                paths[w] = [*paths[v], w]
                queue.append(w)
    return sorted(component)  # pragma: no cover - a component always holds a cycle


def test_the_graph_sees_function_local_and_package_imports():
    graph = _graph()
    # `from surveyapp import models as m` counts as an import of the module surveyapp.models
    assert "surveyapp.models" in graph["surveyapp.audit"]
    # create_app's imports count although they sit inside a function
    assert "surveyapp.research" in graph["surveyapp"]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]


def test_no_import_cycles_inside_surveyapp():
    cycles = _cycles(_graph())
    assert not cycles, "import cycles inside surveyapp:\n" + "\n".join(
        " -> ".join(c) for c in cycles
    )


def _third_party_or_ours(name: str) -> bool:
    top = name.split(".")[0]
    return top in FIRST_PARTY or top not in sys.stdlib_module_names


def _comment_above(lines: list[str], lineno: int) -> str:
    """The comment lines right above line ``lineno`` (1-based) or above the block of
    imports it belongs to, joined: one comment may explain a block of imports."""
    block: list[str] = []
    i = lineno - 2
    while i >= 0:
        line = lines[i].strip()
        if line.startswith("#"):
            block.insert(0, line.removeprefix("#"))
        elif not line.startswith(("import ", "from ")):
            break
        i -= 1
    return " ".join(block)


def test_every_function_local_import_says_why():
    unexplained = []
    for name, path in MODULES.items():
        lines = path.read_text(encoding="utf-8").splitlines()
        for node, in_function in _imports(path):
            if not in_function:
                continue
            targets = _targets(name, node)
            if not any(_third_party_or_ours(t) for t in targets):
                continue
            here = lines[node.lineno - 1]
            comment = (here.partition("#")[2] + " " + _comment_above(lines, node.lineno)).lower()
            if "cycle" in comment or not any(word in comment for word in REASON_MARKERS):
                unexplained.append(
                    f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {here.strip()}"
                )
    assert not unexplained, (
        "function-local imports without a comment saying why (e.g. '# lazy: weasyprint is "
        "slow to import'; a cycle is no reason, remove the cycle):\n" + "\n".join(unexplained)
    )


SERVICES = sorted(
    n for n in MODULES if n.startswith("surveyapp.services") or n == "surveyapp.audit"
)


@pytest.mark.parametrize("name", SERVICES)
def test_services_know_nothing_of_the_request(name):
    bad = []
    for node, _in_function in _imports(MODULES[name]):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "flask":
            bad += [a.name for a in node.names if a.name in REQUEST_CONTEXT | {"url_for"}]
        if isinstance(node, ast.Import | ast.ImportFrom):
            bad += [t for t in _targets(name, node) if t in BLUEPRINTS]
    assert not bad, f"{name} imports {bad}; take arguments and return values instead"


BLUEPRINTS = {
    "surveyapp.survey",
    "surveyapp.research",
    "surveyapp.api",
    "surveyapp.auth",
    "surveyapp.reports.views",
}


def test_create_app_registers_every_blueprint_itself():
    """No blueprint's init_app registers another blueprint: create_app shows the app."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    create_app = next(
        n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "create_app"
    )
    registered = {
        ast.unparse(call.func)
        for call in ast.walk(create_app)
        if isinstance(call, ast.Call) and ast.unparse(call.func).endswith("init_app")
    }
    for module in ("survey", "research", "auth", "api", "reports"):
        assert f"{module}.init_app" in registered, f"create_app does not call {module}.init_app"
    for name in BLUEPRINTS:
        tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
        init = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "init_app")
        calls = [ast.unparse(c) for c in ast.walk(init) if isinstance(c, ast.Call)]
        others = [
            c
            for c in calls
            if c.split("(")[0] in {f"{b.rpartition('.')[2]}.init_app" for b in BLUEPRINTS}
            or (c.startswith("app.register_blueprint(") and c != "app.register_blueprint(bp)")
        ]
        assert not others, f"{name}.init_app sets up other blueprints: {others}"
