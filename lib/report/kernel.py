"""A Jupyter kernel that is the running interpreter, for the report's notebooks.

Why: papermill starts a kernel by *name*, and jupyter_client resolves the name
through a search path ($JUPYTER_PATH, the user's data dir such as
~/.local/share/jupyter/kernels, then sys.prefix, then system dirs). A
user-level ``python3`` kernelspec pointing at some other Python therefore wins,
and the notebooks fail with ``No module named matplotlib`` although this
environment has it. ``interpreter_kernel()`` writes a private kernelspec (with
ipykernel's own ``write_kernel_spec``) whose argv[0] is ``sys.executable``,
under a name no one else uses, and puts its folder first on $JUPYTER_PATH (the
highest-priority entry) while the context is open; it checks that the name
really resolves to this interpreter and refuses, naming both interpreters, if
not. Nested uses share one kernelspec.
"""
from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

KERNEL_NAME = "echo-mtl-" + hashlib.sha1(sys.executable.encode()).hexdigest()[:8]

_active: str | None = None  # kernel name while a context is open (nested uses reuse it)


class KernelMismatch(RuntimeError):
    """The kernel name does not resolve to the running interpreter."""


@contextmanager
def interpreter_kernel() -> Iterator[str]:
    """Yield a kernel name whose kernelspec runs ``sys.executable``; the environment is restored on exit."""
    global _active
    if _active is not None:
        yield _active
        return
    from ipykernel.kernelspec import write_kernel_spec

    with tempfile.TemporaryDirectory(prefix="echo-mtl-jupyter-") as root:
        kernels = Path(root) / "kernels"
        kernels.mkdir()
        write_kernel_spec(kernels / KERNEL_NAME, python_arguments=["-Xfrozen_modules=off"],
                          overrides={"display_name": f"echo-mtl ({sys.executable})"})
        before = os.environ.get("JUPYTER_PATH")
        os.environ["JUPYTER_PATH"] = os.pathsep.join([root, *([before] if before else [])])
        try:
            check(KERNEL_NAME)
            _active = KERNEL_NAME
            yield KERNEL_NAME
        finally:
            _active = None
            if before is None:
                os.environ.pop("JUPYTER_PATH", None)
            else:
                os.environ["JUPYTER_PATH"] = before


def check(name: str) -> None:
    """Raise KernelMismatch unless kernel ``name`` resolves (as papermill will) to ``sys.executable``."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        raise KernelMismatch(f"kernel {name!r} was written for the running interpreter {sys.executable} "
                             f"but jupyter_client cannot find it") from None
    points_at = spec.argv[0] if spec.argv else "(no argv)"
    if points_at != sys.executable:
        raise KernelMismatch(f"kernelspec {name!r} in {spec.resource_dir} runs {points_at}, not the running "
                             f"interpreter {sys.executable}; remove or rename that kernelspec")
