"""The project's Jupyter kernel, ``echo-mtl``: this environment's interpreter under a name no other kernel uses.

papermill and JupyterLab start a kernel by *name*, resolved through
jupyter_client's search path ($JUPYTER_PATH, the user's data dir such as
~/.local/share/jupyter/kernels, sys.prefix, system dirs). Under the common name
``python3`` a user's own kernelspec can win and run another Python (the
notebooks then fail with ``No module named matplotlib``). So ``make install``
installs this environment's kernel as ``echo-mtl`` into sys.prefix
(``ipykernel install --sys-prefix --name echo-mtl``), every notebook names it in
its metadata (JupyterLab opens them with it), and the runner starts it.

``ready()`` returns the name once it resolves to the running interpreter;
where no ``echo-mtl`` kernelspec exists at all (pytest before ``make install``)
it installs one into sys.prefix with ipykernel's API, never into the user's dir.
"""
from __future__ import annotations

import sys

KERNEL_NAME = "echo-mtl"
DISPLAY_NAME = "Python (echo-mtl)"


class KernelMismatch(RuntimeError):
    """The kernel name is missing or does not resolve to the running interpreter."""


def install(prefix: str | None = None) -> str:
    """Install the ``echo-mtl`` kernelspec (argv[0]: ``sys.executable``) under ``prefix`` (default
    sys.prefix), as ``make install`` does; returns its folder."""
    from ipykernel.kernelspec import install as ipykernel_install

    return ipykernel_install(kernel_name=KERNEL_NAME, display_name=DISPLAY_NAME, prefix=prefix or sys.prefix)


def ready(prefix: str | None = None) -> str:
    """The kernel name to start, checked (``check``); installed into ``prefix`` (default sys.prefix) first
    where jupyter_client finds no kernelspec of that name."""
    from jupyter_client.kernelspec import KernelSpecManager

    if KERNEL_NAME not in KernelSpecManager().find_kernel_specs():
        install(prefix)
    check(KERNEL_NAME)
    return KERNEL_NAME


def check(name: str) -> None:
    """Raise KernelMismatch unless kernel ``name`` resolves (as papermill will) to ``sys.executable``."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        raise KernelMismatch(f"no Jupyter kernel named {name!r}; run `make install` (it installs {name!r} for "
                             f"the interpreter {sys.executable})") from None
    points_at = spec.argv[0] if spec.argv else "(no argv)"
    if points_at != sys.executable:
        raise KernelMismatch(f"kernelspec {name!r} in {spec.resource_dir} runs {points_at}, not the running "
                             f"interpreter {sys.executable}; run `make install` to install this environment's, "
                             f"and remove that kernelspec if it still comes first")
