"""The package's shape: dependencies run one way (no import circle), modules stay small, the top level holds
only entry points, the public configuration and subpackages."""
import ast
from pathlib import Path

LIB = Path(__file__).resolve().parent.parent / "lib"
MAX_LINES = 300


def module_name(path: Path) -> str:
    rel = path.relative_to(LIB.parent).with_suffix("")
    parts = list(rel.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def resolve(importer: str, is_package: bool, node: ast.ImportFrom | ast.Import, modules: set[str]) -> set[str]:
    """The lib modules an import statement reaches (a package's submodule when it names one)."""
    targets = set()
    if isinstance(node, ast.Import):
        return {a.name for a in node.names if a.name in modules}
    if node.level:
        base = importer.split(".") if is_package else importer.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        root = ".".join(base + ([node.module] if node.module else []))
    else:
        root = node.module or ""
    for alias in node.names:
        sub = f"{root}.{alias.name}"
        if sub in modules:
            targets.add(sub)
        elif root in modules:
            targets.add(root)
    return targets


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in LIB.rglob("*.py")}
    graph = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text())
        edges = set()
        for node in ast.walk(tree):  # function-level (lazy) imports count too
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                edges |= resolve(name, path.name == "__init__.py", node, set(files))
        # a package's __init__ re-exporting its own children is not a dependency of theirs on it
        graph[name] = {e for e in edges if e != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_circle():
    graph = import_graph()
    # a package's __init__ imports its children; a child importing a sibling through the package is a circle
    assert cycles(graph) == []
    assert "lib.store.runs" not in graph["lib.engine.trainer"] and "lib.train" not in graph["lib.store.runs"]


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_modules_are_small():
    long = {str(p.relative_to(LIB)): n for p in LIB.rglob("*.py") if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_the_top_level_holds_entry_points_config_and_subpackages():
    top = {p.name for p in LIB.iterdir() if p.suffix == ".py"}
    # entry points: train (with its flags, cli), predict and val, the three everyday commands of the README
    assert top == {"__init__.py", "config.py", "train.py", "cli.py", "predict.py", "val.py"}
    assert all((p / "__init__.py").is_file() for p in LIB.iterdir() if p.is_dir() and p.name != "__pycache__")
