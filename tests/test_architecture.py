"""The package's structure, checked: no import cycle (lazy imports inside functions included), no
module over 400 lines, the shared concepts defined once, the farm interface free of heavy imports."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "flint_bench"
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node that can run, lazy imports inside functions included; `if TYPE_CHECKING:` blocks
    are annotations for the type checker and never run."""
    nodes, todo = [], [tree]
    while todo:
        node = todo.pop()
        nodes.append(node)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and ast.unparse(child.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
                todo.extend(child.orelse)
            else:
                todo.append(child)
    return nodes


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """Every flint_bench module `path` imports, at any depth of the file (lazy imports count)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in runtime_nodes(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            # `from pkg import mod` imports the submodule; `from pkg import name` imports pkg itself
            targets = [f"{stem}.{a.name}" if f"{stem}.{a.name}" in known else stem for a in node.names]
        else:
            continue
        for target in targets:
            # a name imported from a package may be a submodule or an attribute: keep what is a module
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: imports_of(name, path, set(mods)) for name, path in mods.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = defaultdict(int)
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state[nxt] == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if state[nxt] == 0 and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        stack.pop()
        return None

    for node in sorted(graph):
        if state[node] == 0 and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycle_lazy_imports_included():
    cycle = find_cycle(import_graph())
    assert cycle is None, " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_module_over_400_lines():
    long = {name: n for name, path in modules().items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert not long, long


def test_shared_concepts_are_defined_once():
    pattern = {
        "Budgets": r"^class Budgets\b",
        "per_example_samples": r"^def per_example_samples\b",
        "read_profiles": r"^def read_profiles\b",
        "MB": r"^MB\s*=",
        "version_tuple": r"^def version_tuple\b",
        "write_json_atomic": r"^def write_json_atomic\b",
    }
    where: dict[str, list[str]] = defaultdict(list)
    for name, path in modules().items():
        text = path.read_text()
        for concept, regex in pattern.items():
            if re.search(regex, text, re.MULTILINE):
                where[concept].append(name)
    assert {c: w for c, w in where.items() if len(w) != 1} == {}
    assert set(where) == set(pattern), f"not found: {set(pattern) - set(where)}"


def test_farm_interface_imports_nothing_heavy():
    graph = import_graph()
    seen, todo = set(), ["flint_bench.farms.base"]
    while todo:
        mod = todo.pop()
        if mod not in seen:
            seen.add(mod)
            todo.extend(graph.get(mod, ()))
    heavy = re.compile(r"^\s*(import|from)\s+(torch|executorch|onnx|onnxruntime|pandas)\b", re.MULTILINE)
    offenders = [m for m in seen if heavy.search(modules()[m].read_text())]
    assert not offenders, offenders
