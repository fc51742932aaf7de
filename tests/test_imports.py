"""No import circles among the project's modules (mcts/, teachers/, value/).

Every import statement counts: at module level, inside functions, and under ``if TYPE_CHECKING:``
(a circle of type references is a circle of design all the same). A package's ``__init__.py`` is the
module ``pkg``; importing a submodule (``import a.b.c``, ``from a.b import c`` where ``c`` is a module)
is an edge to that submodule only, not to the packages above it, while ``import a.b`` or
``from a import name`` (``name`` not a module) is an edge to ``a.b`` / ``a`` itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("mcts", "teachers", "value")


def project_modules(root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file under the packages, and every ``.pyi`` stub
    without one (a native extension such as ``mcts._core``, which imports nothing of ours)."""
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        files = sorted((root / package).rglob("*.py*"), key=lambda f: f.suffix != ".py")  # .py before .pyi
        for file in files:
            if file.suffix not in (".py", ".pyi"):
                continue
            parts = list(file.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules.setdefault(".".join(parts), file)
    return modules


def _nearest_module(name: str, modules: dict[str, Path]) -> str | None:
    """``name`` if it is a project module, else its longest prefix that is one (``None``: not ours)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def imported_modules(module: str, file: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules that ``module`` imports anywhere in its file."""
    is_package = file.stem == "__init__"
    targets: set[str] = set()
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"), str(file))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = module.split(".") if is_package else module.split(".")[:-1]
                here = here[: len(here) - (node.level - 1)]
                base = ".".join(here + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                targets.add(sub if sub in modules else base)
    found = {_nearest_module(t, modules) for t in targets if t.split(".")[0] in PACKAGES}
    return {m for m in found if m is not None and m != module}


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    modules = project_modules(root)
    return {m: imported_modules(m, f, modules) for m, f in modules.items()}


def circles(graph: dict[str, set[str]]) -> list[tuple[list[str], list[str]]]:
    """Every tangle of imports: for each strongly connected component of more than one module, its
    modules and one circle through them (a shortest path back to its first module); sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0
    for start in sorted(graph):  # iterative Tarjan: no recursion limit on a deep chain
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return sorted((c, _one_circle(graph, set(c), c[0])) for c in components)


def _one_circle(graph: dict[str, set[str]], component: set[str], start: str) -> list[str]:
    """A shortest path start -> ... -> start inside one component (breadth first)."""
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node] & component):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [*reversed(path), start]
                if child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"{start} is in a component but on no circle")  # pragma: no cover


def test_no_import_circles():
    found = circles(import_graph())
    assert not found, f"{len(found)} import circle(s):\n" + "\n".join(
        f"{', '.join(members)} import each other, e.g. {' -> '.join(circle)}" for members, circle in found
    )


def test_the_checker_sees_every_kind_of_import(tmp_path):
    """A circle made of a relative import, a function-level import, a TYPE_CHECKING import and
    ``from pkg import submodule`` is found; importing a submodule does not tie to its package."""
    pkg = tmp_path / "teachers"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from teachers.a import A\n")
    (pkg / "a.py").write_text("from .sub import b\nA = 1\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "b.py").write_text("def f():\n    import teachers.c\n")
    (pkg / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..teachers import a\n"
    )
    (pkg / "d.py").write_text("import teachers.sub.b\nfrom teachers import A, _native\n")
    (pkg / "_native.pyi").write_text("import numpy\n")
    for other in ("mcts", "value"):
        (tmp_path / other).mkdir()
    graph = import_graph(tmp_path)
    assert graph["teachers.a"] == {"teachers.sub.b"}
    assert graph["teachers.sub.b"] == {"teachers.c"}
    assert graph["teachers.d"] == {"teachers.sub.b", "teachers", "teachers._native"}
    assert graph["teachers.sub"] == set()
    assert circles(graph) == [
        (["teachers.a", "teachers.c", "teachers.sub.b"], ["teachers.a", "teachers.sub.b", "teachers.c", "teachers.a"])
    ]
