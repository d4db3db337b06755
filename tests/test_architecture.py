"""The shape of the source: imports flow one way, down the layers; no import cycles.

The import graph is read from the AST of every module under src/babysit. It counts every
import, at module level and inside functions alike: an import inside a function is still a
dependency (it runs the first time the function does), and a cycle hidden in a function is
the same tangle, merely deferred. Imports under `if TYPE_CHECKING:` are left out, since they
never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = SRC / "babysit"
# The layers of the package, lowest first: a module may import its own layer and those before
# it, never one after. The front ends sit side by side and import none of each other.
LAYERS = (
    ("backend", "validation"),
    ("nn",),
    ("data",),
    ("diagnose",),          # the rules read a History's records: no training code
    ("training",),
    ("check",),
    ("report",),
    ("runs",),
    ("doctor",),
    ("search", "sklearn", "torch"),
    ("cli",),
)
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}
# Past this many lines a module is worth a second look (a smell, not a rule: the layers decide
# where code goes, not its length).
LONG_MODULE = 800


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of the nodes inside `if TYPE_CHECKING:` blocks."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            skipped |= {id(n) for child in node.body for n in ast.walk(child)}
    return skipped


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The babysit modules `name` imports: `from a.b import c` counts a.b.c when that is a
    module, else a.b."""
    tree = ast.parse(path.read_text())
    skipped = _type_checking_nodes(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    return {m for m in found if m in modules and m != name}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
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
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_the_graph_sees_the_imports_it_should():
    """Guard the reader itself: known edges, module-level and inside a function."""
    graph = _graph()
    assert "babysit.training.trainer" in graph["babysit.runs.builders"]
    # Trainer.resume, in a function
    assert "babysit.training.checkpoint" in graph["babysit.training.trainer"]
    assert "babysit.search.space" in graph["babysit.search"]


def test_no_module_imports_itself_through_others():
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _layer(module: str) -> str:
    """The layer a module belongs to: its first name under babysit (`babysit.nn.optim` is nn)."""
    return module.split(".")[1] if "." in module else module


def _upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Every import that points up the layers or sideways between two front ends."""
    wrong = []
    for name, imported in graph.items():
        if name in ("babysit", "babysit.__main__"):   # the package's face imports every layer
            continue
        for other in imported:
            mine, theirs = RANK[_layer(name)], RANK[_layer(other)]
            if theirs > mine or (theirs == mine and _layer(name) != _layer(other)):
                wrong.append(f"{name} -> {other}")
    return sorted(wrong)


def test_every_module_belongs_to_a_layer():
    unplaced = {name for name in _graph() if name not in ("babysit", "babysit.__main__")
                and _layer(name) not in RANK}
    assert unplaced == set()


def test_imports_flow_down_the_layers():
    assert _upward_imports(_graph()) == []


def test_the_layer_check_catches_an_upward_import():
    graph = {"babysit.nn.optim": {"babysit.training.trainer"},
             "babysit.diagnose.causes": {"babysit.training.history"},
             "babysit.search.runner": {"babysit.torch.sitter"},
             "babysit.cli.app": {"babysit.runs.builders"}}
    assert _upward_imports(graph) == ["babysit.diagnose.causes -> babysit.training.history",
                                      "babysit.nn.optim -> babysit.training.trainer",
                                      "babysit.search.runner -> babysit.torch.sitter"]


def test_the_package_has_few_modules_outside_its_layers():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert top == ["__init__.py", "__main__.py", "backend.py", "sklearn.py", "validation.py"]


def test_long_modules_are_few():
    """A smell, not the architect: at most a handful of modules past LONG_MODULE lines."""
    long = {name: n for name, path in _modules().items()
            if (n := len(path.read_text().splitlines())) > LONG_MODULE}
    assert len(long) <= 2, long
