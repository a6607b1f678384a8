"""The package's import rules, read from the source with `ast` (no server, nothing imported).

- Imports point one way: the module import graph of `taskrouter_emulator` has no cycle.
- No function-local imports of the package's own modules (they only ever hid a cycle), except in
  the entry points, which defer their imports to keep start-up light.
- The app's routers imported on first use (`api.deferred.Deferred("<module>", ...)`) count as
  imports of the module declaring them, so the graph still sees them; `api.deferred` is the only
  module that imports by name (`importlib.import_module`).
- The routing engine decides and the lifecycle applies: the engine imports neither the lifecycle
  nor the resource services, and the lifecycle does not import the resource services or the
  scheduler, which call it.
- No `global` statements: configuration is passed in (`LifecycleConfig`), not set on modules.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import taskrouter_emulator

PACKAGE = "taskrouter_emulator"
ROOT = Path(taskrouter_emulator.__file__).parent
# Entry points whose imports are deferred on purpose (start-up time of the command line and of
# pytest, which loads the plugin in every run).
DEFERRED_IMPORTS_ALLOWED = {
    f"{PACKAGE}.__main__",
    f"{PACKAGE}.testing",
    f"{PACKAGE}.pytest_plugin",
}
# The one module that imports modules by name: it loads the routers declared `Deferred`.
IMPORTS_BY_NAME_ALLOWED = f"{PACKAGE}.api.deferred"
ENGINE = (
    f"{PACKAGE}.routing.engine",
    f"{PACKAGE}.routing.eligibility",
    f"{PACKAGE}.routing.context",
)
RESOURCE_SERVICES = (
    f"{PACKAGE}.tasks",
    f"{PACKAGE}.reservations",
    f"{PACKAGE}.workers.service",
)
LIFECYCLE = f"{PACKAGE}.lifecycle"
SCHEDULER = f"{PACKAGE}.scheduler"


@dataclass(frozen=True)
class Import:
    """One import of a package module: who imports what, and whether inside a function."""

    importer: str
    imported: str
    local: bool
    line: int


def module_name(path: Path) -> str:
    """Return the dotted name of a source file of the package."""
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def _resolve(importer: str, node: ast.ImportFrom) -> str | None:
    """Return the absolute module an ImportFrom names (None outside the package)."""
    if node.level:
        is_package = MODULES[importer].name == "__init__.py"
        base = importer.split(".")
        base = base if is_package else base[:-1]
        base = base[: len(base) - (node.level - 1)]
        return ".".join([*base, *([node.module] if node.module else [])])
    return node.module


def _targets(module: str, names: list[ast.alias]) -> Iterator[str]:
    """An ImportFrom of a submodule (`from pkg import mod`) imports that module, else `module`."""
    for alias in names:
        candidate = f"{module}.{alias.name}"
        yield candidate if candidate in MODULES else module


def _deferred_module(node: ast.Call) -> str | None:
    """The module a `Deferred("<module>", ...)` placeholder names (None for any other call)."""
    func = node.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    if name != "Deferred" or not node.args:
        return None
    first = node.args[0]
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(importer: str) -> list[Import]:
    """Every import of a package module in one source file (imports for type checking only are left out)."""
    tree = ast.parse(MODULES[importer].read_text(encoding="utf-8"))
    found: list[Import] = []

    def visit(node: ast.AST, local: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue
            if isinstance(child, ast.ImportFrom):
                module = _resolve(importer, child)
                if module is not None and module.split(".")[0] == PACKAGE:
                    found.extend(
                        Import(importer, target, local, child.lineno)
                        for target in _targets(module, child.names)
                    )
            elif isinstance(child, ast.Call) and (deferred := _deferred_module(child)):
                found.append(Import(importer, deferred, local, child.lineno))
            elif isinstance(child, ast.Import):
                found.extend(
                    Import(importer, alias.name, local, child.lineno)
                    for alias in child.names
                    if alias.name.split(".")[0] == PACKAGE
                )
            nested = isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            visit(child, local or nested)

    visit(tree, False)
    return found


ALL_IMPORTS = [found for module in MODULES for found in imports_of(module)]


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def test_the_scan_sees_the_package() -> None:
    """Guard the checks below against passing vacuously (a wrong root, a parser that finds nothing)."""
    assert f"{PACKAGE}.routing.engine" in MODULES
    assert f"{PACKAGE}.lifecycle.dispatch" in MODULES
    edges = {(i.importer, i.imported) for i in ALL_IMPORTS}
    assert (f"{PACKAGE}.lifecycle.dispatch", f"{PACKAGE}.routing.engine") in edges
    assert (f"{PACKAGE}.scheduler.timers", f"{PACKAGE}.lifecycle.reservations") in edges
    # Relative imports resolve too.
    assert (f"{PACKAGE}.expressions.parser", f"{PACKAGE}.expressions.lexer") in edges
    # Deferred imports are seen as local.
    assert any(i.local for i in ALL_IMPORTS if i.importer == f"{PACKAGE}.__main__")
    # Routers loaded on first use are imports of the app, at module level.
    assert (f"{PACKAGE}.app", f"{PACKAGE}.statistics.router") in edges
    assert all(i.imported in MODULES for i in ALL_IMPORTS if i.importer == f"{PACKAGE}.app"), (
        "a Deferred router names a module that does not exist"
    )


def test_only_the_deferred_routers_import_by_name() -> None:
    """Importing by name hides an import from this file's checks: only `api.deferred` does it."""
    found = [
        f"{module}:{node.lineno}"
        for module, path in MODULES.items()
        if module != IMPORTS_BY_NAME_ALLOWED
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, (ast.Attribute, ast.Name))
        and (node.attr if isinstance(node, ast.Attribute) else node.id)
        in ("import_module", "__import__")
    ]
    assert found == []


def test_no_function_local_imports_of_the_package() -> None:
    """A function-local import of the package's own modules hides a cycle; there are none."""
    local = [
        f"{i.importer}:{i.line} imports {i.imported}"
        for i in ALL_IMPORTS
        if i.local and i.importer not in DEFERRED_IMPORTS_ALLOWED
    ]
    assert local == []


def test_the_import_graph_has_no_cycle() -> None:
    """Module-level imports between the package's modules point one way."""
    graph: dict[str, set[str]] = {module: set() for module in MODULES}
    for found in ALL_IMPORTS:
        if found.imported in MODULES and found.imported != found.importer:
            graph[found.importer].add(found.imported)
    cycle = _find_cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """Return one cycle of the graph as a path that ends where it starts, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def test_find_cycle_finds_one() -> None:
    """The cycle check itself works."""
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


@pytest.mark.parametrize("module", ENGINE)
def test_the_engine_only_decides(module: str) -> None:
    """The engine imports neither the lifecycle, the resource services nor the scheduler."""
    forbidden = (LIFECYCLE, SCHEDULER, *RESOURCE_SERVICES, f"{PACKAGE}.callbacks")
    wrong = [
        i.imported
        for i in ALL_IMPORTS
        if i.importer == module and any(_within(i.imported, f) for f in forbidden)
    ]
    assert wrong == []


def test_the_lifecycle_does_not_call_up() -> None:
    """The resource services and the scheduler call the lifecycle, never the other way round."""
    wrong = [
        f"{i.importer} imports {i.imported}"
        for i in ALL_IMPORTS
        if _within(i.importer, LIFECYCLE)
        and any(_within(i.imported, f) for f in (*RESOURCE_SERVICES, SCHEDULER))
    ]
    assert wrong == []


def test_resource_services_and_timers_use_the_lifecycle() -> None:
    """The transitions are the lifecycle's: the services and the timers import it."""
    for importer in (
        f"{PACKAGE}.tasks.service",
        f"{PACKAGE}.reservations.service",
        f"{PACKAGE}.workers.service",
        f"{PACKAGE}.scheduler.timers",
    ):
        assert any(_within(i.imported, LIFECYCLE) for i in ALL_IMPORTS if i.importer == importer), (
            importer
        )


def test_no_global_statements() -> None:
    """Modules hold no settings that code changes at run time (`global`): configuration is passed in."""
    found = [
        f"{module}:{node.lineno}"
        for module, path in MODULES.items()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Global)
    ]
    assert found == []


_MUTATORS = {"append", "update", "add", "clear", "pop", "setdefault", "extend", "remove", "discard"}
_CONTAINERS = (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp)


def _module_containers(tree: ast.Module) -> set[str]:
    """Names a module binds to a dict, list or set literal at its top level."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, _CONTAINERS):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.value, _CONTAINERS)
            and isinstance(node.target, ast.Name)
        ):
            names.add(node.target.id)
    return names


def _changes_in_functions(tree: ast.Module, names: set[str]) -> Iterator[int]:
    """Lines where a function stores into, or calls a mutating method of, one of `names`."""
    for function in ast.walk(tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(function):
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else [node.target]
                if isinstance(node, ast.AugAssign)
                else []
            )
            for target in targets:
                if (
                    isinstance(target, ast.Subscript)
                    and isinstance(target.value, ast.Name)
                    and target.value.id in names
                ):
                    yield target.lineno
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in _MUTATORS
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in names
            ):
                yield node.lineno


def test_no_module_level_settings_changed_at_run_time() -> None:
    """No function changes a module-level dict, list or set (as `timers.configure` once did)."""
    found: list[str] = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found.extend(
            f"{module}:{line}" for line in _changes_in_functions(tree, _module_containers(tree))
        )
    assert found == []


def test_module_state_check_finds_a_change() -> None:
    """The check above catches the pattern it is there for."""
    tree = ast.parse(
        "_settings = {'a': 1}\n"
        "def configure(a: int) -> None:\n"
        "    _settings['a'] = a\n"
        "def other() -> None:\n"
        "    _settings.update(a=2)\n"
    )
    assert list(_changes_in_functions(tree, _module_containers(tree))) == [3, 5]
