"""The report's notebooks run on the running interpreter, whatever 'python3' kernelspec the user has."""
import json
import os
import sys

import nbformat
import pytest

from lib.report import kernel, runner


def fake_python3_spec(folder):
    """A 'python3' kernelspec under folder/kernels whose interpreter cannot run the project's notebooks."""
    spec = folder / "kernels" / "python3"
    spec.mkdir(parents=True)
    other = spec / "other-python"
    other.write_text("#!/bin/sh\necho 'other-python: No module named matplotlib' >&2\nexit 1\n")
    other.chmod(0o755)
    (spec / "kernel.json").write_text(json.dumps(
        {"argv": [str(other), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
         "display_name": "Python 3 (elsewhere)", "language": "python"}))
    return str(other)


@pytest.fixture(params=["user-data-dir", "jupyter-path"])
def foreign_python3(request, tmp_path, monkeypatch):
    """A user-level (or $JUPYTER_PATH) 'python3' spec that jupyter_client would pick over this venv's."""
    home = tmp_path / "home"
    other = fake_python3_spec(home / "jupyter")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("JUPYTER_PATH", raising=False)
    if request.param == "user-data-dir":
        monkeypatch.setenv("JUPYTER_DATA_DIR", str(home / "jupyter"))
        monkeypatch.setenv("JUPYTER_PREFER_ENV_PATH", "0")  # as for a venv the user does not own
    else:
        monkeypatch.setenv("JUPYTER_PATH", str(home / "jupyter"))
    from jupyter_client.kernelspec import KernelSpecManager

    assert KernelSpecManager().get_kernel_spec("python3").argv[0] == other  # the trap is set
    return other


def test_notebook_runs_on_the_running_interpreter_not_the_users_python3(foreign_python3, tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("import matplotlib, sys\nprint(sys.executable)"),
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
    assert printed.strip() == sys.executable
    assert os.environ.get("JUPYTER_PATH") == before  # the environment is restored


def test_a_name_that_resolves_elsewhere_is_refused_naming_both_interpreters(foreign_python3):
    with pytest.raises(kernel.KernelMismatch) as e:
        kernel.check("python3")
    assert foreign_python3 in str(e.value) and sys.executable in str(e.value)


def test_nested_contexts_share_one_kernel_and_restore_the_environment(monkeypatch):
    monkeypatch.setenv("JUPYTER_PATH", "/nonexistent")
    with kernel.interpreter_kernel() as outer:
        with kernel.interpreter_kernel() as inner:
            assert inner == outer
        kernel.check(outer)  # still resolves after the inner context closed
    assert os.environ["JUPYTER_PATH"] == "/nonexistent"
