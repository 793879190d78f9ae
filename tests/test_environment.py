"""environment.yml and pyproject.toml must list the same packages with the same bounds."""
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CONDA_TO_PIP = {"pytorch": "torch"}


def split(req: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", req)
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = dict(split(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    listed = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for r in dep["pip"]:
                if not r.startswith("-e"):
                    name, spec = split(r)
                    listed[name] = spec
        else:
            name, spec = split(dep)
            if name not in ("python", "pip"):
                listed[CONDA_TO_PIP.get(name, name)] = spec
    assert listed == wanted
    assert any(isinstance(d, dict) and "-e .[dev]" in d["pip"] for d in env["dependencies"])


def test_installed_torch_and_torchvision_satisfy_the_declared_ranges():
    """Whatever torch and torchvision this environment installed lie inside the ranges pyproject declares."""
    from importlib.metadata import version

    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = dict(split(r) for r in project["dependencies"])
    for name in ("torch", "torchvision"):
        installed = Version(version(name).split("+")[0])
        assert installed in SpecifierSet(specs[name]), f"installed {name} {installed} is outside {specs[name]}"
