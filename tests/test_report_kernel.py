"""The report's notebooks run on the project's kernel, ``echo-mtl``: the running interpreter, whatever
'python3' kernelspec the user has."""
import json
import os
import re
import sys
from pathlib import Path

import nbformat
import pytest

from lib.report import kernel, runner
from lib.report.profiles import notebook_paths

ROOT = Path(__file__).resolve().parent.parent


def fake_spec(folder, name="python3"):
    """A kernelspec ``name`` under folder/kernels whose interpreter cannot run the project's notebooks."""
    spec = folder / "kernels" / name
    spec.mkdir(parents=True)
    other = spec / "other-python"
    other.write_text("#!/bin/sh\necho 'other-python: No module named matplotlib' >&2\nexit 1\n")
    other.chmod(0o755)
    (spec / "kernel.json").write_text(json.dumps(
        {"argv": [str(other), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
         "display_name": "Python 3 (elsewhere)", "language": "python"}))
    return str(other)


def shadow(request, tmp_path, monkeypatch, name):
    """A user-level (or $JUPYTER_PATH) spec ``name`` that jupyter_client would pick over this venv's."""
    home = tmp_path / "home"
    other = fake_spec(home / "jupyter", name)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("JUPYTER_PATH", raising=False)
    if request.param == "user-data-dir":
        monkeypatch.setenv("JUPYTER_DATA_DIR", str(home / "jupyter"))
        monkeypatch.setenv("JUPYTER_PREFER_ENV_PATH", "0")  # as for a venv the user does not own
    else:
        monkeypatch.setenv("JUPYTER_PATH", str(home / "jupyter"))
    from jupyter_client.kernelspec import KernelSpecManager

    assert KernelSpecManager().get_kernel_spec(name).argv[0] == other  # the trap is set
    return other


@pytest.fixture(params=["user-data-dir", "jupyter-path"])
def foreign_python3(request, tmp_path, monkeypatch):
    return shadow(request, tmp_path, monkeypatch, "python3")


@pytest.fixture(params=["user-data-dir", "jupyter-path"])
def foreign_echo_mtl(request, tmp_path, monkeypatch):
    return shadow(request, tmp_path, monkeypatch, kernel.KERNEL_NAME)


def test_notebook_runs_on_the_running_interpreter_not_the_users_python3(foreign_python3, tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("import matplotlib, os, sys\nprint(sys.executable)\n"
                                  "print(os.environ.get('JUPYTER_PATH'))"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    src = tmp_path / "tiny.ipynb"
    nbformat.write(nb, src)
    out = tmp_path / "out"
    out.mkdir()
    before = os.environ.get("JUPYTER_PATH")

    executed = runner.execute(src, {"x": 2}, out, timeout=60)

    cells = nbformat.read(executed, as_version=4).cells
    printed = "".join(o.get("text", "") for c in cells if c.cell_type == "code" for o in c.outputs
                      if o.get("output_type") == "stream" and o.get("name") == "stdout")
    assert printed.splitlines() == [sys.executable, str(before)]  # the kernel saw the user's JUPYTER_PATH as is
    assert os.environ.get("JUPYTER_PATH") == before


def test_a_name_that_resolves_elsewhere_is_refused_naming_both_interpreters_and_the_fix(foreign_python3):
    with pytest.raises(kernel.KernelMismatch) as e:
        kernel.check("python3")
    assert foreign_python3 in str(e.value) and sys.executable in str(e.value) and "make install" in str(e.value)


def test_an_echo_mtl_spec_of_another_interpreter_stops_the_runner_before_any_notebook(foreign_echo_mtl, tmp_path):
    nb = tmp_path / "01_tiny.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), nb)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(runner.NotebookFailed) as e:
        runner.execute_all([(nb, {})], out, timeout=60, jobs=1)
    assert foreign_echo_mtl in str(e.value) and "make install" in str(e.value)
    assert not any(out.iterdir())  # no notebook started


def test_a_missing_kernel_is_installed_into_the_environment_never_the_users_dir(tmp_path, monkeypatch):
    import jupyter_core.paths

    prefix, user = tmp_path / "env", tmp_path / "user"
    monkeypatch.delenv("JUPYTER_PATH", raising=False)
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(user))
    monkeypatch.setattr(jupyter_core.paths, "ENV_JUPYTER_PATH", [str(prefix / "share" / "jupyter")])
    monkeypatch.setattr(jupyter_core.paths, "SYSTEM_JUPYTER_PATH", [])
    from jupyter_client.kernelspec import KernelSpecManager

    assert kernel.KERNEL_NAME not in KernelSpecManager().find_kernel_specs()
    assert kernel.ready(prefix=str(prefix)) == kernel.KERNEL_NAME
    spec = json.loads((prefix / "share" / "jupyter" / "kernels" / kernel.KERNEL_NAME / "kernel.json").read_text())
    assert spec["argv"][0] == sys.executable and spec["display_name"] == kernel.DISPLAY_NAME
    assert not user.exists()
    kernel.check(kernel.KERNEL_NAME)


def test_make_install_installs_the_kernel_every_notebook_names():
    makefile = (ROOT / "Makefile").read_text()
    line = re.search(r"^\t\$\(PY\) -m ipykernel install (.*)$", makefile, re.M)
    assert line and f"--sys-prefix --name {kernel.KERNEL_NAME} " in line.group(1) + " "
    assert re.search(r"^install:.*\$\(KERNEL\)", makefile, re.M)  # make install reinstalls it when missing
    for path in notebook_paths():
        spec = nbformat.read(path, as_version=4).metadata["kernelspec"]
        assert (spec["name"], spec["language"]) == (kernel.KERNEL_NAME, "python"), path.name
