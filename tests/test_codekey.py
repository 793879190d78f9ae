"""The code part of a run's key (lib.store.codekey): what the trainer runs, without docstrings or comments."""
import shutil
from pathlib import Path

import pytest

import lib
from lib.config import TrainConfig
from lib.data import SyntheticConfig, ensure_synthetic
from lib.store import runs
from lib.store.runs import RunStore

LIB = Path(lib.__file__).resolve().parent
IMPORT_SITE = ("engine/trainer.py", "from .memory import PeakMemory\n",
               "from .memory import PeakMemory\nfrom ..report import site  # noqa: F401\n")
EDIT_SITE = ("report/site.py", '"""', 'EXTRA = 1\n"""')


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return str(ensure_synthetic(SyntheticConfig(n_train=16, n_val=8, n_test=8), root=tmp_path_factory.mktemp("d")))


def lib_copy(tmp_path, name, edits=()):
    """A copy of ``lib`` under ``tmp_path/name`` with ``(file, old, new)`` replacements made."""
    copy = tmp_path / name / "lib"
    shutil.copytree(LIB, copy, ignore=shutil.ignore_patterns("__pycache__"))
    for rel, old, new in edits:
        text = (copy / rel).read_text()
        assert old in text, (rel, old)
        (copy / rel).write_text(text.replace(old, new, 1))
    return copy


def key_of(lib_dir, data, tmp_path, monkeypatch):
    """The run store's key of one configuration, with the code under ``lib_dir`` as the code that trains."""
    monkeypatch.setattr(runs, "LIB", lib_dir)
    cfg = TrainConfig(data=data, imgsz=64, batch_size=8, epochs=1, interference_every=0, threads=1)
    return RunStore(tmp_path / "store").key(cfg)


def test_a_docstring_or_comment_edit_of_the_trainer_keeps_the_key(tiny_data, tmp_path, monkeypatch):
    base = key_of(lib_copy(tmp_path, "base"), tiny_data, tmp_path, monkeypatch)
    edited = lib_copy(tmp_path, "doc", [
        ("engine/trainer.py", '"""', '"""A new first sentence of the module docstring. '),
        ("engine/trainer.py", "    def fit(self) -> RunResult:\n",
         "    def fit(self) -> RunResult:\n        \"\"\"A docstring it did not have.\"\"\"\n        # a comment\n")])
    assert key_of(edited, tiny_data, tmp_path, monkeypatch) == base


def test_an_arithmetic_edit_of_a_module_the_trainer_imports_changes_the_key(tiny_data, tmp_path, monkeypatch):
    base = key_of(lib_copy(tmp_path, "base"), tiny_data, tmp_path, monkeypatch)
    edited = lib_copy(tmp_path, "loss", [("losses/detection.py", "box: float = 0.05", "box: float = 0.06")])
    assert key_of(edited, tiny_data, tmp_path, monkeypatch) != base


def test_the_stores_mechanics_are_not_in_the_key_but_how_a_run_is_written_is(tiny_data, tmp_path, monkeypatch):
    """Locking, lookup and publishing (lib.store.runs, lib.store.lock) decide no number: editing them keeps every
    stored run. Writing the run's files (lib.store.training) is part of the key."""
    base = key_of(lib_copy(tmp_path, "base"), tiny_data, tmp_path, monkeypatch)
    mechanics = lib_copy(tmp_path, "mech", [("store/runs.py", 'PARTIAL = ".partial"', 'PARTIAL = ".training"'),
                                           ("store/lock.py", '"flock") or "flock"', '"soft") or "soft"')])
    assert key_of(mechanics, tiny_data, tmp_path, monkeypatch) == base
    written = lib_copy(tmp_path, "written", [("store/training.py", "indent=2,", "indent=1,")])
    assert key_of(written, tiny_data, tmp_path, monkeypatch) != base


def test_a_module_the_trainer_does_not_import_is_not_in_the_key_until_it_does(tiny_data, tmp_path, monkeypatch):
    base = key_of(lib_copy(tmp_path, "base"), tiny_data, tmp_path, monkeypatch)
    assert key_of(lib_copy(tmp_path, "site", [EDIT_SITE]), tiny_data, tmp_path, monkeypatch) == base
    importing = key_of(lib_copy(tmp_path, "imp", [IMPORT_SITE]), tiny_data, tmp_path, monkeypatch)
    assert key_of(lib_copy(tmp_path, "imp-site", [IMPORT_SITE, EDIT_SITE]), tiny_data, tmp_path, monkeypatch) \
        != importing


def test_modules_follows_relative_lazy_and_package_imports():
    from lib.store.codekey import modules

    found = modules(["lib.store.runs"])
    assert {"lib", "lib.store", "lib.store.runs", "lib.engine.trainer", "lib.losses.detection",
            "lib.models.yolo", "lib.evaluate", "lib.store.training"} <= set(found)  # evaluate: via the trainer
    assert "lib.report.site" not in found and "lib.experiments.methods" not in found
    assert all(p.is_file() and p.suffix == ".py" for p in found.values())


def test_the_fingerprint_is_order_free_and_a_bad_root_is_named():
    from lib.store.codekey import code_fingerprint

    assert code_fingerprint(["lib.config", "lib.engine.trainer"]) == code_fingerprint(("lib.engine.trainer", "lib.config"))
    assert code_fingerprint(["lib.config"]) != code_fingerprint(["lib.engine.trainer"])
    with pytest.raises(ModuleNotFoundError) as err:
        code_fingerprint(["lib.no_such_module"])
    assert err.value.name == "lib.no_such_module"


def test_the_paper_toy_cache_is_read_back_equal_and_invalidated_by_its_code(tmp_path, monkeypatch):
    """joblib.Memory keys on the cached function's own code; the toy's other modules enter as their fingerprint."""
    import pandas as pd

    from lib.experiments import gradnorm_paper as toy
    from lib.store import codekey

    monkeypatch.setenv("ECHO_MTL_RUNS", str(tmp_path / "runs"))
    cfg = toy.PaperToyConfig(d_in=6, d_out=3, n_train=40, n_test=10, steps=4, batch_size=8, eval_every=2)
    calls = []
    compute = toy._compute
    monkeypatch.setattr(toy, "_compute", lambda c: calls.append(c) or compute(c))
    first = toy.compare(cfg)
    pd.testing.assert_frame_equal(toy.compare(cfg), first)
    assert len(calls) == 1 and any((tmp_path / "runs" / "cache").rglob("*.pkl"))
    real = codekey.code_fingerprint
    monkeypatch.setattr(codekey, "code_fingerprint", lambda roots, *a: real(roots, *a) + "-edited")
    pd.testing.assert_frame_equal(toy.compare(cfg), first)
    assert len(calls) == 2
    monkeypatch.setattr(toy, "_compute", compute)
    pd.testing.assert_frame_equal(toy.compare(cfg, cache=False), first, check_exact=False, rtol=1e-12)
