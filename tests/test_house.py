"""The house rules of the import graph (ARCHITECTURE.md): no circle between the project's
modules, no private name imported across modules, and the mail pipeline (inbox/mail/) never
importing the UI side. Imports inside functions count; the one exception is a Celery `tasks`
module importing, inside its tasks, the module it calls (which may import the tasks back)."""

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = [
    "accounts",
    "inbox",
    "billing",
    "contacts",
    "privacy",
    "portal",
    "reports",
    "sla",
    "trupeo",
    "api",
    "webhooks",
]

# What the pipeline may import from the project: itself, the models and fields, the Celery
# tasks it queues, accounts and trupeo. Never views, actions, selectors, template tags or the
# other UI modules: the UI reacts to the pipeline through the signals of inbox.mail.signals.
PIPELINE = "inbox.mail"
PIPELINE_MAY_IMPORT = ("inbox.mail", "inbox.models", "inbox.fields", "inbox.tasks", "accounts")
PIPELINE_MAY_IMPORT += ("trupeo",)


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


MODULES = _modules()


def _owner(name: str | None) -> str | None:
    """The project module that defines `name` (a module, or a name inside one)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _absolute(module: str | None, level: int, importer: str) -> str:
    if not level:
        return module or ""
    package = importer.split(".")
    if MODULES[importer].name != "__init__.py":
        package = package[:-1]
    package = package[: len(package) - (level - 1)]
    return ".".join(package + ([module] if module else []))


class _Imports(ast.NodeVisitor):
    """Every import of a module: (target module, imported name or None, inside a function)."""

    def __init__(self, importer: str):
        self.importer = importer
        self.depth = 0
        self.found: list[tuple[str, str | None, bool]] = []

    def _function(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            target = _owner(alias.name)
            if target and target != self.importer:
                self.found.append((target, None, self.depth > 0))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = _absolute(node.module, node.level, self.importer)
        for alias in node.names:
            full = f"{base}.{alias.name}"
            if full in MODULES:
                if full != self.importer:
                    self.found.append((full, None, self.depth > 0))
                continue
            target = _owner(base)
            if target and target != self.importer:
                self.found.append((target, alias.name, self.depth > 0))


def _imports() -> dict[str, list[tuple[str, str | None, bool]]]:
    result = {}
    for name, path in MODULES.items():
        visitor = _Imports(name)
        visitor.visit(ast.parse(path.read_text(), filename=str(path)))
        result[name] = visitor.found
    return result


IMPORTS = _imports()


def _circles() -> list[set[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    edges = defaultdict(set)
    for importer, found in IMPORTS.items():
        for target, _name, lazy in found:
            if lazy and importer.rpartition(".")[2] == "tasks":
                continue  # a Celery task importing what it runs, inside the task
            edges[importer].add(target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles = []
    for root in MODULES:
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    circles.append(component)
    return circles


def test_the_checker_sees_the_project():
    assert "inbox.mail.ingest" in MODULES and "inbox.tasks" in MODULES
    assert ("inbox.mail.arrivals", "inbox.mail.rules") in {
        (i, t) for i, found in IMPORTS.items() for t, _n, _l in found
    }


def test_no_import_circle():
    circles = [sorted(c) for c in _circles()]
    assert circles == []


def test_no_private_name_imported_across_modules():
    private = {
        (importer, target, name)
        for importer, found in IMPORTS.items()
        for target, name, _lazy in found
        if name and name.startswith("_") and not name.startswith("__")
    }
    assert sorted(private) == []


def test_tests_and_benchmarks_use_only_public_names():
    """They exercise the product from outside: what they need of a module is its public face."""
    private = []
    for folder in ("tests", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if not isinstance(node, ast.ImportFrom) or node.level or not _owner(node.module):
                    continue
                private += [
                    f"{path.relative_to(ROOT)}: {node.module}.{alias.name}"
                    for alias in node.names
                    if alias.name.startswith("_") and not alias.name.startswith("__")
                ]
    assert private == []


def test_the_mail_pipeline_never_imports_the_ui_side():
    wrong = sorted(
        (importer, target)
        for importer, found in IMPORTS.items()
        if importer == PIPELINE or importer.startswith(PIPELINE + ".")
        for target, _name, _lazy in found
        if not any(target == ok or target.startswith(ok + ".") for ok in PIPELINE_MAY_IMPORT)
    )
    assert wrong == []


def test_no_function_of_the_pipeline_reaches_80_lines():
    long = []
    for name, path in MODULES.items():
        if not (name == PIPELINE or name.startswith(PIPELINE + ".")):
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                first = node.decorator_list[0].lineno if node.decorator_list else node.lineno
                if node.end_lineno - first + 1 >= 80:
                    long.append(f"{name}.{node.name}")
    assert long == []
