"""A fingerprint of the code that decides a computation's numbers, and of nothing else.

``code_fingerprint(roots)`` follows the ``import`` statements of the ``roots``
(``lib`` module names, e.g. ``lib.engine.trainer``) statically with ``ast``,
transitively, to every ``lib`` module they can run (imports inside functions
and the packages' ``__init__`` included), and hashes each module's syntax tree
with its docstrings removed. So a comment, a docstring or a reformatting
changes nothing, while an edit to any statement of any module reached (or a
module newly imported) changes the fingerprint; no list is kept by hand.
Modules outside ``lib`` (torch, numpy) are covered by the platform part of a
key, not here. Imports the parser cannot see (``importlib`` with a computed
name) are not followed: ``lib`` has none.
"""
from __future__ import annotations

import ast
import functools
import hashlib
from pathlib import Path
from typing import Iterable

LIB = Path(__file__).resolve().parents[1]


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _file(name: str, lib_dir: Path) -> Path | None:
    """The file of module ``name`` (``lib.a.b``) under ``lib_dir``; None when it is not a ``lib`` module."""
    parts = name.split(".")
    if parts[0] != lib_dir.name:
        return None
    base = lib_dir.joinpath(*parts[1:])
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _imports(name: str, path: Path, lib_dir: Path) -> set[str]:
    """The ``lib`` modules that module ``name`` (at ``path``) imports, anywhere in its body."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(_parse(path)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # `from pkg import submodule`
    return {m for m in found if _file(m, lib_dir) is not None}


def modules(roots: Iterable[str], lib_dir: Path = LIB) -> dict[str, Path]:
    """Every ``lib`` module that importing ``roots`` can run, by name: the roots, what they import,
    transitively, and each one's parent packages. Raises ``ModuleNotFoundError`` naming a root that is
    not a module under ``lib_dir``."""
    lib_dir = Path(lib_dir)
    todo, seen = list(roots), {}
    for root in todo:
        if _file(root, lib_dir) is None:
            raise ModuleNotFoundError(f"{root!r} is not a module under {lib_dir}", name=root)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen[name] = path = _file(name, lib_dir)
        parents = [".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)]
        todo += [m for m in (*parents, *_imports(name, path, lib_dir)) if m not in seen]
    return dict(sorted(seen.items()))


def _without_docstrings(tree: ast.Module) -> ast.Module:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


@functools.lru_cache(maxsize=None)
def _code_fingerprint(roots: tuple[str, ...], lib_dir: Path) -> str:
    h = hashlib.sha256()
    for name, path in modules(roots, lib_dir).items():
        tree = _without_docstrings(_parse(path))
        h.update(f"{name}\n{ast.unparse(tree)}\n".encode())
    return h.hexdigest()


def code_fingerprint(roots: Iterable[str], lib_dir: str | Path = LIB) -> str:
    """SHA-256 (hex) of the docstring-free syntax of every module ``modules(roots, lib_dir)`` finds, by name.

    Computed once per process for each ``roots`` and ``lib_dir`` (the code a process runs is the code it
    imported). Raises ``ModuleNotFoundError`` naming a root that is not a module under ``lib_dir``."""
    return _code_fingerprint(tuple(sorted(roots)), Path(lib_dir).resolve())
