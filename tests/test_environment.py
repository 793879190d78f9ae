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


def test_torch_range_admits_the_local_wheels():
    """The versions installed from local disk (torch 2.14.1, torchvision 0.29.1) satisfy the declared ranges."""
    from importlib.metadata import version

    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = dict(split(r) for r in project["dependencies"])
    for name, local in (("torch", "2.14.1"), ("torchvision", "0.29.1")):
        allowed = SpecifierSet(specs[name])
        assert Version(local) in allowed, f"{name} {specs[name]} refuses the local wheel {local}"
        assert Version(version(name).split("+")[0]) in allowed
