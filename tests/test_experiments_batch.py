"""Training a batch of runs (lib.experiments.batch): each run in a pool process, equal to an in-process run."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lib.config import TrainConfig
from lib.data import SyntheticConfig, ensure_synthetic
from lib.experiments.batch import TrainingFailed, get_or_train_all
from lib.experiments.executors import training_pool
from lib.store.paths import REPO_ROOT
from lib.store.runs import MANIFEST, RunStore


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return str(ensure_synthetic(SyntheticConfig(n_train=16, n_val=8, n_test=8), root=tmp_path_factory.mktemp("d")))


def cfg(data, **kw):
    return TrainConfig(**{**dict(data=data, imgsz=64, batch_size=8, epochs=1, interference_every=0, threads=1), **kw})


def interval(run):
    t = json.loads((run.path / ".training.json").read_text())
    return t["started"], t["ended"]


@pytest.mark.parametrize("loading", [{}, {"workers": 1, "cache": "none", "fliplr": 0.5, "mosaic": 1.0}],
                         ids=["in-process loader", "loader workers"])
def test_a_pooled_run_equals_the_in_process_run(tiny_data, tmp_path, loading):
    """The pool process (forked from the forkserver, imports done once) trains exactly what this process does,
    also with DataLoader workers of its own (under forkserver's default they failed: "too many fds")."""
    c = cfg(tiny_data, weighting="gradnorm", interference_every=2, **loading)
    here = RunStore(tmp_path / "here").get_or_train(c, progress=False)
    pooled = get_or_train_all({"a": c}, RunStore(tmp_path / "pool"))["a"]
    assert pooled.path.parent == tmp_path / "pool" and (pooled.path / MANIFEST).is_file()
    timing = ("seconds", "memory", "time")
    for k, v in here.metrics.items():
        if not any(t in k for t in timing) and isinstance(v, float):
            assert v == pooled.metrics[k] or (v != v and pooled.metrics[k] != pooled.metrics[k]), k
    cols = [c for c in here.history if not c.endswith("time")]
    assert here.history[cols].equals(pooled.history[cols])


def test_progress_reaches_the_caller(tiny_data, tmp_path, capsys):
    store = RunStore(tmp_path)
    get_or_train_all({("a", 0): cfg(tiny_data), ("b", 0): cfg(tiny_data, seed=1)}, store)
    out = capsys.readouterr().out
    assert "training 2 of 2 distinct runs" in out and "trained ('a', 0)" in out and "trained ('b', 0)" in out
    get_or_train_all({("a", 0): cfg(tiny_data)}, store)  # stored: nothing trains, nothing printed
    assert capsys.readouterr().out == ""


def test_two_labels_of_one_configuration_train_once(tiny_data, tmp_path, capsys):
    c = cfg(tiny_data)
    runs = get_or_train_all({"equal": c, "static_1": c, "other": cfg(tiny_data, seed=1)}, RunStore(tmp_path), jobs=2)
    assert runs["equal"].path == runs["static_1"].path != runs["other"].path
    assert "training 2 of 2 distinct runs (3 requests" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir() if (p / MANIFEST).is_file()) == sorted(
        [runs["equal"].path.name, runs["other"].path.name])


def test_jobs_2_trains_two_runs_side_by_side_and_jobs_1_one_after_the_other(tiny_data, tmp_path):
    two = cfg(tiny_data, epochs=2), cfg(tiny_data, epochs=2, seed=1)
    side = get_or_train_all(dict(enumerate(two)), RunStore(tmp_path / "j2"), jobs=2)
    (a0, a1), (b0, b1) = interval(side[0]), interval(side[1])
    assert a0 < b1 and b0 < a1  # the training intervals overlap
    one = get_or_train_all(dict(enumerate(two)), RunStore(tmp_path / "j1"), jobs=1)
    (a0, a1), (b0, b1) = sorted([interval(one[0]), interval(one[1])])
    assert a1 <= b0


def test_a_failed_run_names_its_folder(tiny_data, tmp_path):
    copy = tmp_path / "data"
    shutil.copytree(Path(tiny_data).parent, copy)
    label = sorted(copy.rglob("train/labels/*.txt"))[0]
    label.write_text(label.read_text() + "9 0.5 0.5 0.2 0.2\n")  # a class the data.yaml does not name
    bad = cfg(str(copy / Path(tiny_data).name))
    store = RunStore(tmp_path / "s")
    with pytest.raises(TrainingFailed) as err:
        get_or_train_all({"bad": bad}, store)
    assert err.value.run_dir.parent == store.root / ".partial" and (err.value.run_dir / "config.json").is_file()
    assert str(err.value.run_dir) in str(err.value)
    with pytest.raises(type(err.value.cause)):  # the cause is what training raises in process
        RunStore(tmp_path / "here").get_or_train(bad, progress=False)


def test_jobs_below_one_is_refused_before_anything_trains(tiny_data, tmp_path):
    with pytest.raises(ValueError, match="jobs"):
        get_or_train_all({"a": cfg(tiny_data)}, RunStore(tmp_path), jobs=0)
    assert not any(tmp_path.iterdir())


def test_a_relative_run_store_works(tiny_data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = get_or_train_all({"a": cfg(tiny_data)}, RunStore("relative-runs"))["a"]
    assert run.path.parent == tmp_path / "relative-runs" and (run.path / MANIFEST).is_file()


def test_a_pool_process_starts_as_the_caller_is_now_and_trains_one_run(tmp_path, monkeypatch):
    """Relative paths and $ECHO_MTL_DATA mean in a pool process what they mean to the caller, however long
    ago the forkserver started; each task gets a fresh process (a run's peak memory is its own)."""
    import torch

    with training_pool(1) as pool:
        pool.submit(os.getpid).result()  # the forkserver is running, started elsewhere
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ECHO_MTL_DATA", "relative-data")
    threads = torch.get_num_threads()
    torch.set_num_threads(threads + 1)  # what a run with threads=0 uses
    try:
        with training_pool(1) as pool:
            first, second = pool.submit(os.getpid), pool.submit(os.getpid)
            assert pool.submit(os.getcwd).result() == str(tmp_path)
            assert pool.submit(os.getenv, "ECHO_MTL_DATA").result() == "relative-data"
            assert pool.submit(torch.get_num_threads).result() == threads + 1
            assert len({first.result(), second.result(), os.getpid()}) == 3
    finally:
        torch.set_num_threads(threads)


def test_an_unguarded_script_that_trains_gets_one_clear_error_not_a_hang(tiny_data, tmp_path):
    script = tmp_path / "unguarded.py"
    script.write_text("from lib.config import TrainConfig\nfrom lib.experiments.batch import get_or_train_all\n"
                      "from lib.store.runs import RunStore\n"
                      f"cfg = TrainConfig(data={tiny_data!r}, imgsz=64, batch_size=8, epochs=1, threads=1)\n"
                      f"get_or_train_all({{('a', 0): cfg}}, store=RunStore({str(tmp_path / 'r')!r}))\n")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert out.returncode != 0
    assert "TrainingFailed" in out.stderr
    assert 'if __name__ == "__main__":' in out.stderr and "add that guard" in out.stderr


def test_two_batches_filling_one_store_at_once_train_each_run_exactly_once(tiny_data, tmp_path):
    """Two reports (or machines) asking for the same runs: each run trains in one of them; the other waits on
    the run's lock and reads it ("found ... trained by another process")."""
    store = tmp_path / "shared"
    script = tmp_path / "fill.py"
    script.write_text(
        "from lib.config import TrainConfig\nfrom lib.experiments.batch import get_or_train_all\n"
        "from lib.store.runs import RunStore\n"
        'if __name__ == "__main__":\n'
        f"    base = TrainConfig(data={tiny_data!r}, imgsz=64, batch_size=8, epochs=2, interference_every=0, threads=1)\n"
        "    cfgs = {s: base.replace(seed=s) for s in range(3)}\n"
        f"    runs = get_or_train_all(cfgs, RunStore({str(store)!r}), jobs=1)\n"
        "    print(sorted(r.path.name for r in runs.values()))\n")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env)
             for _ in range(2)]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    names = [o.strip().splitlines()[-1] for o in outs]
    assert names[0] == names[1]
    trained = [line for o in outs for line in o.splitlines() if line.strip().startswith("trained ")]
    assert sorted(line.split()[1] for line in trained) == ["0", "1", "2"]  # each seed once, in one process
    assert len([p for p in store.iterdir() if (p / MANIFEST).is_file()]) == 3
    assert not any((store / ".partial").iterdir())
