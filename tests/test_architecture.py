"""The house rules, read off the source with ast (ARCHITECTURE.md, "Who may import whom"):
lazy imports inside functions count the same as imports at the top of a file."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("productbreaks", "events", "debates", "recaps")
REALTIME = "debates.live"
TRANSPORT = "debates.live.transport"
MAX_LINES = 500
# Private-looking names that are public API: Django's documented Model._meta, and the
# namedtuple methods the standard library documents with a leading underscore.
PUBLIC_UNDERSCORED = {"_meta", "_replace", "_asdict", "_fields", "_make"}
# Third-party internals without an underscore, which the fast path reads (debates/live/transport):
# Twisted's write buffer, asgiref's thread-local loop, autobahn's per-connection callbacks.
KNOWN_INTERNALS = {"dataBuffer", "_tempDataBuffer", "threadlocal", "onMessage", "serverClose"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def sources() -> dict[str, tuple[Path, ast.Module]]:
    """Every module of the application (migrations aside), by dotted name."""
    found = {}
    for package in PACKAGES:
        root = REPO / package
        if not root.exists():
            continue
        for path in sorted(root.rglob("*.py")):
            if "migrations" in path.parts:
                continue
            found[_module_name(path)] = (path, ast.parse(path.read_text(), str(path)))
    return found


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    path, _tree = sources()[module]
    base = module.split(".")
    if path.name != "__init__.py":
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports_of(module: str, tree: ast.Module, known: set[str]) -> set[str]:
    """Every module `module` imports anywhere in its file, functions included: `from a import
    b` counts as importing a.b when a.b is a module of the project, else as importing a."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node) if node.level else (node.module or "")
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                found.add(submodule if submodule in known else target)
    return found


@cache
def imports() -> dict[str, set[str]]:
    """module -> every module it imports."""
    known = set(sources())
    return {module: imports_of(module, tree, known) for module, (_p, tree) in sources().items()}


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _project(target: str) -> str | None:
    """The project module an import names (the longest known prefix), or None."""
    parts = target.split(".")
    for n in range(len(parts), 0, -1):
        name = ".".join(parts[:n])
        if name in sources():
            return name
    return None


def test_events_imports_nothing_of_the_debate_or_the_recap():
    wrong = sorted(
        (module, target)
        for module, targets in imports().items()
        if _within(module, "events")
        for target in targets
        if _within(target, "debates") or _within(target, "recaps")
    )
    assert wrong == []


def test_the_debate_imports_nothing_of_the_recap():
    wrong = sorted(
        (module, target)
        for module, targets in imports().items()
        if _within(module, "debates")
        for target in targets
        if _within(target, "recaps")
    )
    assert wrong == []


def test_realtime_imports_nothing_of_the_debate():
    """debates/live knows sockets, groups and snapshots, never the debate's rules, reads or
    models (nor the events': it is plugged into, see debates/realtime.py)."""
    assert REALTIME in sources(), "the realtime package is missing"
    wrong = sorted(
        (module, target)
        for module, targets in imports().items()
        if _within(module, REALTIME)
        for target in targets
        if (_within(target, "debates") and not _within(target, REALTIME))
        or _within(target, "events")
        or _within(target, "recaps")
    )
    assert wrong == []


def test_there_is_no_import_cycle():
    graph = {
        module: {p for t in targets if (p := _project(t)) and p != module}
        for module, targets in imports().items()
    }
    # A package's __init__ importing its own modules is how packages work, not a cycle.
    for module in graph:
        graph[module] = {t for t in graph[module] if not _within(t, module)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    assert cycles == []


def test_no_source_file_is_over_500_lines():
    """The application's modules and the bench's (tests and migrations aside)."""
    paths = [path for path, _tree in sources().values()]
    paths += sorted((REPO / "bench").rglob("*.py"))
    long = sorted(
        (str(path.relative_to(REPO)), n)
        for path in paths
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    )
    assert long == []


def _project_private_names() -> set[str]:
    """Every underscored name the project defines itself (functions, classes, variables,
    attributes it assigns): reading those is the project's own business."""
    names: set[str] = set()
    for _path, tree in sources().values():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
    return {n for n in names if n.startswith("_")}


def test_third_party_private_attributes_are_read_only_in_the_transport_module():
    own = _project_private_names()
    wrong = sorted(
        (module, node.attr, node.lineno)
        for module, (_path, tree) in sources().items()
        if module != TRANSPORT
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and (
            node.attr in KNOWN_INTERNALS
            or (
                node.attr.startswith("_")
                and not node.attr.startswith("__")
                and node.attr not in own
                and node.attr not in PUBLIC_UNDERSCORED
            )
        )
    )
    assert wrong == []


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("def f():\n    from debates import live\n", {"debates.live"}),
        ("import events.models\n", {"events.models"}),
        ("from events.models import Event\n", {"events.models"}),
        ("class A:\n    def m(self):\n        import recaps.charts\n", {"recaps.charts"}),
    ],
)
def test_the_reader_sees_lazy_and_plain_imports(source, found):
    """The rules above are only as good as the import reader: it must see imports inside
    functions and methods, where a cycle hides."""
    known = {"debates", "debates.live", "events", "events.models", "recaps", "recaps.charts"}
    assert imports_of("x", ast.parse(source), known) == found
