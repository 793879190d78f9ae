"""Where a batch of runs trains: this machine's cores, one run per GPU, or a cluster through submitit.

    with make_executor(ExecutorSpec("gpus"), jobs=1, folder=store.root) as pool:
        future = pool.submit(train_one, root, cfg)      # a concurrent.futures.Future
        future.result()

Every kind is a ``concurrent.futures.Executor`` (``submit`` gives a ``Future``), so
``lib.experiments.batch`` drives them alike:

- ``local`` (the default; no set-up): a process pool on this machine, ``jobs`` runs side by side, each in a
  fresh process (``training_pool``).
- ``gpus``: one run per GPU of this machine (``runs_per_gpu`` to let runs share one), each in a fresh process
  that sees only its device (``CUDA_VISIBLE_DEVICES``, so ``cuda:0`` there is that GPU). A run goes to the
  first free device; the devices are ``devices`` if given, else those ``CUDA_VISIBLE_DEVICES`` lists, else
  every GPU torch sees.
- ``submitit``: each run a job of submitit's ``AutoExecutor`` (Slurm on a cluster; ``cluster: local`` runs the
  jobs as processes of this machine, as the tests do). ``parameters`` go to ``update_parameters``
  (``timeout_min``, ``slurm_partition``, ``gpus_per_node``, ``cpus_per_task``, ``mem_gb``, ...); the run store
  must be on a filesystem every node sees (``lib.store.runs``). submitit is an optional extra:
  ``pip install -e ".[cluster]"``.

Why submitit and not Ray: the runs are independent batch jobs of minutes to hours, which is what Slurm
schedules and what labs have; submitit submits a pickled function as an ``sbatch`` job and needs nothing
running on the cluster, while Ray needs a Ray cluster started on the nodes (on Slurm, by hand) and buys
actors and object stores this batch does not use.

What a run computes does not depend on the executor: each trains one configuration in a fresh process from
its stored configuration (``lib.store.runs``); the tests compare the tables.
"""
from __future__ import annotations

import os
import queue
import threading
import time
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

KINDS = ("local", "gpus", "submitit")
SUBMITIT_DEFAULTS = {"timeout_min": 24 * 60}  # submitit's local executor would kill a job after 2 minutes


class ExecutorError(ValueError):
    """An executor that cannot be made as asked (unknown kind, no GPU, submitit not installed)."""


@dataclass(frozen=True)
class ExecutorSpec:
    """Which executor trains a batch of runs, and its options (see the module's note).

    ``kind``: local, gpus or submitit. ``devices``: the GPUs of ``gpus`` (strings as ``CUDA_VISIBLE_DEVICES``
    writes them; None: what this machine has). ``runs_per_gpu``: runs sharing one GPU (default 1: never).
    ``cluster``: submitit's cluster (None: what submitit detects; ``slurm``, ``local``). ``parameters``:
    submitit's ``update_parameters``."""

    kind: str = "local"
    devices: tuple[str, ...] | None = None
    runs_per_gpu: int = 1
    cluster: str | None = None
    parameters: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ExecutorError(f"executor {self.kind!r} is not one of {', '.join(KINDS)}")
        if not (isinstance(self.runs_per_gpu, int) and self.runs_per_gpu >= 1):
            raise ExecutorError(f"runs_per_gpu must be an integer >= 1, got {self.runs_per_gpu!r}")
        if self.devices is not None:
            object.__setattr__(self, "devices", tuple(str(d) for d in self.devices))

    @property
    def label(self) -> str:
        """The kind, with submitit's cluster where one is named: ``local``, ``gpus``, ``submitit/slurm``."""
        return f"{self.kind}/{self.cluster}" if self.kind == "submitit" and self.cluster else self.kind

    @classmethod
    def parse(cls, value, kind: str | None = None) -> "ExecutorSpec":
        """From a profile's ``executor`` key (None, a kind, or a mapping of this class's fields), with ``kind``
        (the command line's ``--executor``) replacing the profile's kind; the options stay where the kind does.
        Raises ``ExecutorError`` naming what is wrong."""
        if value is None or isinstance(value, str):
            fields = {"kind": value or "local"}
        elif isinstance(value, dict):
            unknown = set(value) - {"kind", "devices", "runs_per_gpu", "cluster", "parameters"}
            if unknown:
                raise ExecutorError(f"executor: unknown key(s) {', '.join(sorted(unknown))}")
            fields = dict(value)
        else:
            raise ExecutorError(f"executor must be a kind or a mapping, got {value!r}")
        if kind is not None and kind != fields.get("kind", "local"):
            fields = {"kind": kind}
        return cls(**fields)


def visible_devices() -> list[str]:
    """This machine's GPUs as ``CUDA_VISIBLE_DEVICES`` names them: that variable's list where set, else
    ``0..n-1`` for the n GPUs torch sees."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [d.strip() for d in listed.split(",") if d.strip()]
    import torch

    return [str(i) for i in range(torch.cuda.device_count())]


def pool_context():
    """The ``multiprocessing`` context of the pools: forkserver preloading the run store (torch included);
    its server never runs a torch op, so no thread pool is forked. Spawn where there is no fork."""
    import multiprocessing as mp

    if "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["lib.store.runs"])
    return ctx


def training_pool(jobs: int, environ: dict | None = None) -> ProcessPoolExecutor:
    """``jobs`` processes, each started as the caller is now (``_enter``; ``environ`` added to its environment)
    and ended after one task, so a run's peak memory is its own; forked from the forkserver (``pool_context``)."""
    import torch

    return ProcessPoolExecutor(max_workers=jobs, mp_context=pool_context(), max_tasks_per_child=1,
                               initializer=_enter, initargs=({**os.environ, **(environ or {})},
                                                             torch.get_num_threads()))


def _enter(environ: dict, threads: int) -> None:
    """A pool process starts as the caller is now: its environment (``$ECHO_MTL_DATA`` as the caller set it,
    however long ago the forkserver started) and torch's thread count (what a run with ``threads=0`` uses,
    and its key records). The working directory multiprocessing already carries over."""
    import torch

    os.environ.clear()
    os.environ.update(environ)
    torch.set_num_threads(threads)


class DevicePool(Executor):
    """One task per device slot at a time, each in a fresh process whose ``CUDA_VISIBLE_DEVICES`` is that
    device. ``devices``: device names (``"0"``, ``"3"``, a UUID); ``per_device``: slots per device. A task
    takes the first free slot, so faster runs leave room for the rest."""

    def __init__(self, devices: list[str], per_device: int = 1):
        if not devices:
            raise ExecutorError("executor gpus: no GPU is visible (CUDA_VISIBLE_DEVICES is empty or torch sees "
                                "none); use --executor local")
        self._slots: queue.SimpleQueue = queue.SimpleQueue()
        for _ in range(per_device):
            for d in devices:
                self._slots.put(str(d))
        self._threads = ThreadPoolExecutor(max_workers=len(devices) * per_device, thread_name_prefix="gpu")

    def submit(self, fn, /, *args, **kwargs) -> Future:
        return self._threads.submit(self._on_device, fn, args, kwargs)

    def _on_device(self, fn, args, kwargs):
        device = self._slots.get()
        try:
            with training_pool(1, {"CUDA_VISIBLE_DEVICES": device}) as pool:
                return pool.submit(fn, *args, **kwargs).result()
        finally:
            self._slots.put(device)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._threads.shutdown(wait=wait, cancel_futures=cancel_futures)


class SubmititPool(Executor):
    """Each task a submitit job; its ``Future`` is set when the job ends (polled every ``poll`` seconds). At most
    ``in_flight`` jobs are submitted at a time (None: all at once, for a cluster's own queue; submitit's local
    executor would start every job at once, so ``make_executor`` limits it to ``jobs``). ``cluster``: the one
    submitit uses (where none is named, the one it detects: ``local`` without Slurm). A job that fails raises submitit's ``FailedJobError`` (its message
    holds the job's traceback and log paths). ``shutdown(cancel_futures=True)`` cancels the jobs not yet
    finished."""

    def __init__(self, folder: Path, cluster: str | None = None, parameters: dict | None = None,
                 in_flight: int | None = None, poll: float = 1.0):
        try:
            import submitit
        except ImportError as e:
            raise ExecutorError('executor submitit needs submitit: pip install -e ".[cluster]"') from e
        try:
            self._executor = submitit.AutoExecutor(folder=str(folder), cluster=cluster)
            self._executor.update_parameters(**{**SUBMITIT_DEFAULTS, **(parameters or {})})
        except (ValueError, TypeError, NameError) as e:  # submitit names the cluster or parameter it does not know
            raise ExecutorError(f"executor submitit: {str(e).splitlines()[0]}") from e
        self.cluster = self._executor.cluster  # the one submitit chose where none was named
        self.in_flight, self._poll, self._lock = in_flight, poll, threading.Lock()
        self._backlog: list = []   # (future, fn, args, kwargs) not yet submitted
        self._running: list = []   # (job, future)
        self._poller: threading.Thread | None = None

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        with self._lock:
            self._backlog.append((future, fn, args, kwargs))
            self._fill()
            if self._poller is None:
                self._poller = threading.Thread(target=self._watch, name="submitit-poll", daemon=True)
                self._poller.start()
        return future

    def _fill(self) -> None:
        """Submit from the backlog while there is room; under the lock."""
        while self._backlog and (self.in_flight is None or len(self._running) < self.in_flight):
            future, fn, args, kwargs = self._backlog.pop(0)
            if not future.set_running_or_notify_cancel():
                continue
            try:
                self._running.append((self._executor.submit(fn, *args, **kwargs), future))
            except Exception as e:  # noqa: BLE001  sbatch refused it: the caller sees why
                future.set_exception(e)

    def _watch(self) -> None:
        while True:
            with self._lock:
                if not self._running and not self._backlog:
                    self._poller = None
                    return
                running = list(self._running)
            for job, future in running:
                if not job.done():
                    continue
                try:
                    future.set_result(job.result())
                except BaseException as e:  # noqa: BLE001  the job's failure, handed to whoever waits
                    future.set_exception(e)
                with self._lock:
                    self._running.remove((job, future))
                    self._fill()
            time.sleep(self._poll)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            if cancel_futures:
                for future, *_ in self._backlog:
                    future.cancel()
                self._backlog.clear()
                for job, _ in self._running:
                    try:
                        job.cancel(check=False)
                    except Exception:  # noqa: BLE001  a job that already ended
                        pass
            poller = self._poller
        if wait and poller is not None:
            poller.join()


def make_executor(spec: ExecutorSpec | str | None, jobs: int, folder: Path) -> Executor:
    """The executor of ``spec`` (a kind or an ``ExecutorSpec``; None: local) for a batch of ``jobs`` runs side by
    side (``local``, and submitit's ``local`` cluster; ``gpus`` runs as many as its slots, a cluster as its
    queue allows).
    ``folder``: the run store, under which submitit keeps its job files (``.submitit/``). Raises
    ``ExecutorError``."""
    spec = spec if isinstance(spec, ExecutorSpec) else ExecutorSpec.parse(spec)
    if spec.kind == "local":
        return training_pool(jobs)
    if spec.kind == "gpus":
        return DevicePool(list(spec.devices) if spec.devices is not None else visible_devices(), spec.runs_per_gpu)
    pool = SubmititPool(Path(folder) / ".submitit", spec.cluster, spec.parameters)
    if pool.cluster in ("local", "debug"):  # named, or chosen by submitit on a machine without Slurm
        pool.in_flight = jobs
    return pool


def where() -> dict:
    """Where this process trains: host name, process id and the GPUs it sees (``CUDA_VISIBLE_DEVICES``, or
    ``cpu`` when it sees none); written beside each run (``lib.experiments.batch``)."""
    import socket

    import torch

    devices = os.environ.get("CUDA_VISIBLE_DEVICES")
    if devices is None:
        devices = ",".join(str(i) for i in range(torch.cuda.device_count())) if torch.cuda.is_available() else ""
    return {"host": socket.gethostname(), "pid": os.getpid(), "devices": devices or "cpu"}
