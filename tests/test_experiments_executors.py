"""Where a batch trains (lib.experiments.executors): one interface, each GPU its own run, submitit's local
executor training exactly what the local pool trains."""
import json
import os
import time

import pytest

from lib.config import TrainConfig
from lib.data import SyntheticConfig, ensure_synthetic
from lib.experiments.batch import get_or_train_all
from lib.experiments.executors import (DevicePool, ExecutorError, ExecutorSpec, SubmititPool, make_executor,
                                       visible_devices)
from lib.store.runs import RunStore


def on_device(seconds: float) -> tuple[str, float, float, int]:
    """In a pool process: the device it sees, when it started and ended, its pid."""
    start = time.time()
    time.sleep(seconds)
    return os.environ.get("CUDA_VISIBLE_DEVICES", ""), start, time.time(), os.getpid()


def most_at_once(runs) -> int:
    """The largest number of runs in progress at one moment (intervals: the peak is at some run's start). Not the
    number a run overlaps: A may overlap B and C one after the other with never more than two at once."""
    return max(sum(s[1] <= r[1] < s[2] for s in runs) for r in runs)


@pytest.mark.parametrize("per_device", [1, 2])
def test_each_run_sees_one_device_and_no_device_takes_more_runs_than_asked(per_device):
    """Simulated on the CPU: three "GPUs", nine runs; each run's process sees one device, and at no moment do
    more than ``per_device`` runs share a device, while every device is used."""
    with make_executor(ExecutorSpec("gpus", devices=["0", "1", "3"], runs_per_gpu=per_device), 1, ".") as pool:
        assert isinstance(pool, DevicePool)
        done = [f.result() for f in [pool.submit(on_device, 0.4) for _ in range(9)]]
    assert {d for d, *_ in done} == {"0", "1", "3"}
    assert len({pid for *_, pid in done}) == 9 and os.getpid() not in {pid for *_, pid in done}  # fresh each
    for device in ("0", "1", "3"):
        mine = [r for r in done if r[0] == device]
        assert most_at_once(mine) <= per_device
    assert most_at_once(done) >= 3  # the devices ran side by side


def test_the_devices_are_those_cuda_visible_devices_lists(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2, 5")
    assert visible_devices() == ["2", "5"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    with pytest.raises(ExecutorError, match="no GPU is visible.*--executor local"):
        make_executor("gpus", 1, ".")


def test_an_executor_is_read_from_a_profile_and_the_command_line_replaces_its_kind():
    assert ExecutorSpec.parse(None) == ExecutorSpec("local")
    assert ExecutorSpec.parse("gpus").kind == "gpus"
    slurm = {"kind": "submitit", "cluster": "slurm", "parameters": {"slurm_partition": "gpu"}}
    assert ExecutorSpec.parse(slurm).label == "submitit/slurm"
    assert ExecutorSpec.parse(slurm, kind="submitit").parameters == {"slurm_partition": "gpu"}  # same kind: kept
    assert ExecutorSpec.parse(slurm, kind="local") == ExecutorSpec("local")
    with pytest.raises(ExecutorError, match="'mpi' is not one of local, gpus, submitit"):
        ExecutorSpec.parse("mpi")
    with pytest.raises(ExecutorError, match="unknown key.*partition"):
        ExecutorSpec.parse({"kind": "submitit", "partition": "gpu"})
    with pytest.raises(ExecutorError, match="runs_per_gpu"):
        ExecutorSpec.parse({"kind": "gpus", "runs_per_gpu": 0})


def test_a_profile_with_a_bad_executor_is_refused_by_name():
    from lib.report.profiles import ProfileError, check_common

    with pytest.raises(ProfileError, match="profile x: executor 'mpi' is not one of"):
        check_common({"executor": "mpi"}, "profile x")
    assert check_common({"executor": {"kind": "gpus", "runs_per_gpu": 2}}, "profile x")


def test_the_command_line_names_the_reports_executor_and_jobs_for_every_notebook(monkeypatch):
    """``python -m lib.report --executor K --jobs N`` reach the notebooks' kernels through the environment."""
    from lib.report import runner
    from lib.report.context import executor_of, jobs_of

    monkeypatch.setenv("ECHO_MTL_EXECUTOR", "")  # set, so that the teardown removes what main() sets
    monkeypatch.setenv("ECHO_MTL_JOBS", "")
    assert executor_of({"executor": "gpus"}).kind == "gpus" and executor_of({}).kind == "local"
    assert jobs_of({"jobs": 2}) == 2 and jobs_of({}) == 1
    monkeypatch.setattr(runner, "run_report", lambda *a, **k: None)
    assert runner.main(["--profile", "smoke", "--executor", "submitit", "--jobs", "3"]) == 0
    assert executor_of({"executor": "gpus"}).kind == "submitit" and jobs_of({"jobs": 2}) == 3
    with pytest.raises(SystemExit):
        runner.main(["--jobs", "0"])
    monkeypatch.setenv("ECHO_MTL_JOBS", "two")
    with pytest.raises(ValueError, match="ECHO_MTL_JOBS='two'"):
        jobs_of({})


def test_submitit_refuses_a_parameter_it_does_not_know_in_one_line(tmp_path):
    with pytest.raises(ExecutorError, match="executor submitit:.*no_such_parameter"):
        SubmititPool(tmp_path, "local", {"no_such_parameter": 1})


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return str(ensure_synthetic(SyntheticConfig(n_train=16, n_val=8, n_test=8), root=tmp_path_factory.mktemp("d")))


def cfg(data, **kw):
    return TrainConfig(**{**dict(data=data, imgsz=64, batch_size=8, epochs=1, interference_every=0, threads=1), **kw})


def same_run(a, b) -> None:
    """Two runs of one configuration computed the same numbers: metrics (timing aside) and every table."""
    timing = ("seconds", "memory", "time")
    for k, v in a.metrics.items():
        if not any(t in k for t in timing) and isinstance(v, float):
            assert v == b.metrics[k] or (v != v and b.metrics[k] != b.metrics[k]), k
    assert a.tables() == b.tables()
    for name in a.tables():
        assert a.table(name).equals(b.table(name)), name


def test_submitits_local_executor_trains_what_the_local_pool_trains(tiny_data, tmp_path):
    """The cluster path without a cluster: each run a submitit job (its local executor), two at a time; the
    runs equal the default executor's, and each records where it trained."""
    cfgs = {("original", 0): cfg(tiny_data), ("gradnorm", 1): cfg(tiny_data, weighting="gradnorm", seed=1)}
    local = get_or_train_all(cfgs, RunStore(tmp_path / "local"), jobs=2)
    spec = ExecutorSpec("submitit", cluster="local")
    cluster = get_or_train_all(cfgs, RunStore(tmp_path / "cluster"), jobs=2, executor=spec)
    for k in cfgs:
        assert cluster[k].path.name == local[k].path.name  # the same key: the same run
        same_run(local[k], cluster[k])
        where = json.loads((cluster[k].path / ".training.json").read_text())
        assert where["executor"] == "submitit/local" and where["devices"] == "cpu" and where["pid"] != os.getpid()
    assert list((tmp_path / "cluster" / ".submitit").iterdir())  # submitit's job files, beside the store


def test_a_failed_submitit_job_names_its_run(tiny_data, tmp_path):
    import shutil
    from pathlib import Path

    from lib.experiments.batch import TrainingFailed

    copy = tmp_path / "data"
    shutil.copytree(Path(tiny_data).parent, copy)
    label = sorted(copy.rglob("train/labels/*.txt"))[0]
    label.write_text(label.read_text() + "9 0.5 0.5 0.2 0.2\n")  # a class the data.yaml does not name
    store = RunStore(tmp_path / "s")
    with pytest.raises(TrainingFailed) as err:
        get_or_train_all({"bad": cfg(str(copy / Path(tiny_data).name))}, store,
                         executor=ExecutorSpec("submitit", cluster="local"))
    assert err.value.run_dir == store.root / ".partial" / err.value.run_dir.name  # kept for inspection
    assert "LabelError" in str(err.value)  # the job's own error travels back


@pytest.mark.slow
def test_every_run_of_the_smoke_report_trains_the_same_through_submitit(tmp_path):
    """The smoke report's runs (every notebook's requests) through submitit's local executor equal the default
    executor's, table for table."""
    from lib.report.requests import report_configs
    from lib.report.runner import notebook_parameters

    cfgs = report_configs(notebook_parameters("smoke"), "smoke")
    local = get_or_train_all(cfgs, RunStore(tmp_path / "local"), jobs=2)
    cluster = get_or_train_all(cfgs, RunStore(tmp_path / "cluster"), jobs=2,
                               executor=ExecutorSpec("submitit", cluster="local"))
    assert len({r.path.name for r in cluster.values()}) == len({c.to_json() for c in cfgs.values()})
    for k in cfgs:
        assert cluster[k].path.name == local[k].path.name
        same_run(local[k], cluster[k])


def test_submitit_without_slurm_keeps_jobs_in_flight(tmp_path):
    """A bare --executor submitit on a machine without Slurm falls back to submitit's local executor, which
    would start every run at once (the new-user trial: 15 runs on 2 cores)."""
    pool = make_executor(ExecutorSpec("submitit"), 2, tmp_path)
    assert pool.cluster == "local" and pool.in_flight == 2
    assert make_executor(ExecutorSpec("submitit", cluster="local"), 3, tmp_path).in_flight == 3


def test_a_bad_lock_kind_stops_the_command_line_in_one_line(tmp_path, monkeypatch, capsys):
    from lib.cli import main

    monkeypatch.setenv("ECHO_MTL_LOCK", "nfs")
    assert main(["--epochs", "1", "--runs", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: ECHO_MTL_LOCK='nfs': expected one of flock, soft"] and not (tmp_path / "runs").exists()
