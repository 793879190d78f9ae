"""Run the report: the runs every notebook uses, then the notebooks with papermill, then HTML and an index.

    python -m lib.report --profile default     (make report PROFILE=default)

Writes under ``reports/<profile>/``: executed notebooks, one HTML per notebook
(code hidden unless --show-code; each links to the index and to the previous and
next section), ``index.html`` (the headline comparison first, then the sections;
see ``site``), each section's tables and figures, and ``provenance.json``. The
runs come first, as one batch (``requests``, ``prefetch``); then the notebooks
execute, the profile's ``jobs`` at a time. A failing notebook stops the run with
a non-zero exit naming the notebook and the cell; its partial output is kept and
no further notebook starts. A complete build of the ``default`` profile (no ``--only``, no
``--output-dir``) also rewrites README.md's results block and ``docs/results/headline.png`` (``readme``).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import threading
import time
import uuid
from pathlib import Path

from ..experiments.executors import KINDS, ExecutorError
from ..store.atomic import write_text
from . import provenance, readme, site
from . import kernel
from .kernel import KernelMismatch
from .profiles import ProfileError, available_profiles, load_profile, notebook_paths, parameters_for
from .context import WEIGHTS_ENV
from .section import report_dir
from .runtimes import completed_runs, runs_train_seconds, trained_by, training_places, training_seconds


class NotebookFailed(RuntimeError):
    pass


def notebook_parameters(profile_name: str, only: list[str] | None = None) -> list[tuple[Path, dict]]:
    """The notebooks to run and the profile's parameters for each, checked against what each notebook
    declares, before anything runs."""
    import papermill as pm

    profile = load_profile(profile_name)
    notebooks = notebook_paths()
    unknown = set(profile["notebooks"]) - {p.stem for p in notebooks}
    if unknown:
        raise ProfileError(f"profile {profile_name!r} names notebooks that do not exist: {sorted(unknown)}")
    out = []
    for nb in notebooks:
        if only and not any(nb.stem.startswith(o) for o in only):
            continue
        declared = set(pm.inspect_notebook(str(nb)))
        out.append((nb, parameters_for(profile, nb, declared)))
    return out


def execute(notebook: Path, params: dict, out_dir: Path, timeout: int | None) -> Path:
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    output = out_dir / notebook.name
    os.environ.pop("MPLBACKEND", None)  # 'agg' would silently drop every figure from the report
    try:
        pm.execute_notebook(str(notebook), str(output), parameters=params, kernel_name=kernel.ready(),
                            language="python", cwd=str(notebook.parent), progress_bar=False, log_output=False,
                            execution_timeout=timeout, start_timeout=120)
    except KernelMismatch as e:
        raise NotebookFailed(f"notebook {notebook.name} not run: {e}") from None
    except PapermillExecutionError as e:
        raise NotebookFailed(f"notebook {notebook.name} failed in cell {e.cell_index} of the executed notebook "
                             f"(execution count {e.exec_count}, starting {first_line(output, e.cell_index)!r}): "
                             f"{e.ename}: {e.evalue}\npartial notebook kept at {output}") from None
    except Exception as e:  # dead kernel, timeout, missing kernel
        raise NotebookFailed(f"notebook {notebook.name} did not finish: {type(e).__name__}: {e}\n"
                             f"partial notebook (if any) kept at {output}") from None
    return output


def first_line(executed: Path, index: int) -> str:
    """First line of the cell that raised (the one with an error output; papermill adds a banner cell on top)."""
    import nbformat

    try:
        cells = nbformat.read(executed, as_version=4).cells
    except (OSError, ValueError):
        return "?"
    failed = [c for c in cells if c.cell_type == "code" and any(o.get("output_type") == "error" for o in c.outputs)]
    source = (failed[0] if failed else cells[min(index, len(cells) - 1)]).source.strip()
    return source.splitlines()[0][:80] if source else ""


def to_html(executed: Path, show_code: bool, pages: list[site.Page] | None = None, position: int = 0) -> Path:
    """``executed`` as a section page (``pages[position]``, with links to the index and its neighbours)."""
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    for cell in nb.cells:  # progress and warnings (stderr) stay in the .ipynb, not in the reader's HTML
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
    pages = pages or [site.Page(executed.stem, site.title_of(executed))]
    html = executed.with_suffix(".html")
    write_text(html, site.render_page(nb, show_code, pages, position))
    return html


def prefetch(steps: list[tuple[Path, dict]], profile: str) -> tuple[float, int]:
    """Train every run the notebooks of ``steps`` will fetch (``requests.report_configs``), as one batch on the
    profile's executor (``context.executor_of``): (seconds taken, ``jobs``: the profile's, or ``--jobs``)."""
    from ..experiments.batch import get_or_train_all
    from .context import executor_of, jobs_of
    from .requests import report_configs

    t0 = time.perf_counter()
    cfgs = report_configs(steps, profile)
    common = load_profile(profile)["common"]
    jobs = jobs_of(common)
    if cfgs:
        print(f"[0/{len(steps)}] training the runs the notebooks use first ({len(cfgs)} requests)", flush=True)
        get_or_train_all(cfgs, jobs=jobs, executor=executor_of(common))
    return time.perf_counter() - t0, jobs


@contextlib.contextmanager
def kernel_threads(n: int | None):
    """Kernels started inside use ``n`` OpenMP/MKL threads (``None``: unchanged), so notebooks side by
    side do not each claim every core; the environment is restored on exit."""
    keys = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
    before = {k: os.environ.get(k) for k in keys}
    if n is not None:
        os.environ.update({k: str(n) for k in keys})
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def execute_all(steps: list[tuple[Path, dict]], out_dir: Path, timeout: int | None,
                jobs: int) -> list[tuple[Path, float]]:
    """Execute the notebooks, ``jobs`` at a time (their runs are trained by then; a run one of them still
    has to train is locked by the run store, so two kernels never train it twice): (executed notebook,
    seconds) in section order. On a failure no further notebook starts, the ones running finish, and the
    first failure in section order is raised."""
    from concurrent.futures import ThreadPoolExecutor, as_completed

    n = len(steps)
    stop = threading.Event()  # set by the worker whose notebook failed, before it can take the next one

    def one(i: int, nb: Path, params: dict) -> tuple[Path, float] | None:
        if stop.is_set():
            return None
        print(f"[{i}/{n}] {nb.name} {json.dumps(params, sort_keys=True)}", flush=True)
        t0 = time.perf_counter()
        try:
            executed = execute(nb, params, out_dir, timeout)
        except BaseException:
            stop.set()
            raise
        secs = time.perf_counter() - t0
        print(f"      [{i}/{n}] {nb.stem} done in {secs:.0f} s", flush=True)
        return executed, secs

    failed: dict[int, NotebookFailed] = {}
    try:
        kernel.ready()  # installed (where missing) once, before notebooks start side by side
    except KernelMismatch as e:
        raise NotebookFailed(f"no notebook run: {e}") from None
    with kernel_threads(1 if jobs > 1 else None), ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(one, i, nb, params) for i, (nb, params) in enumerate(steps, 1)]
        for fut in as_completed(futures):
            if fut.cancelled():
                continue
            try:
                fut.result()
            except NotebookFailed as e:
                failed[futures.index(fut)] = e
    if failed:
        raise failed[min(failed)]
    return [fut.result() for fut in futures]


def run_report(profile: str, only: list[str] | None = None, show_code: bool = False,
               timeout: int | None = None, output_dir: str | None = None) -> Path:
    steps = notebook_parameters(profile, only)
    out_dir = report_dir(profile, output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    prov = provenance.collect()
    prov["profile"] = profile
    prov["notebooks"] = {}
    pages = []
    from ..store.runs import RunStore

    store_root = RunStore().root
    before = completed_runs(store_root)
    build = os.environ["ECHO_MTL_BUILD"] = uuid.uuid4().hex  # marks the runs this build trains (runtimes)
    t_all, html_seconds, notebook_seconds = time.perf_counter(), 0.0, 0.0
    prefetch_seconds, jobs = prefetch(steps, profile)
    planned = [site.Page(nb.stem, site.title_of(nb)) for nb, _ in steps]  # nav links follow the plan
    steps = [(nb, {**params, "output_dir": str(out_dir)}) for nb, params in steps]  # by hand they write scratch/
    t_notebooks = time.perf_counter()
    done = execute_all(steps, out_dir, timeout, jobs)
    notebook_seconds = time.perf_counter() - t_notebooks
    for i, ((nb, params), (executed, secs)) in enumerate(zip(steps, done)):
        t1 = time.perf_counter()
        to_html(executed, show_code, planned, i)
        html_seconds += time.perf_counter() - t1
        pages.append(site.Page(nb.stem, site.title_of(executed), secs))
        sources = out_dir / nb.stem / "sources.json"
        prov["notebooks"][nb.stem] = {
            "parameters": params, "seconds": round(secs, 1),
            "sources": json.loads(sources.read_text()) if sources.exists() else {},
        }
    prov["seconds"] = round(time.perf_counter() - t_all, 1)
    prov["git"] = provenance.at_end(prov["git"], provenance.git_state())
    used = {k for nb in prov["notebooks"].values() for keys in nb["sources"].values() for k in keys}
    trained = trained_by(store_root, completed_runs(store_root) - before, build)
    prov["runs_trained"] = len(trained)
    prov["runs_reused"] = max(len(used) - prov["runs_trained"], 0)
    prov["runs_train_seconds"] = runs_train_seconds(store_root, used)
    prov["training_seconds"] = training_seconds(store_root, trained)
    prov["trained_where"] = training_places(store_root, used)
    prov["wall_seconds"] = {"runs before the notebooks": round(prefetch_seconds, 1),
                            "notebooks": round(notebook_seconds, 1), "HTML": round(html_seconds, 1)}
    write_text(out_dir / "provenance.json", json.dumps(prov, indent=2, sort_keys=True))
    index = site.write_index(out_dir, pages, profile, prov)
    print(f"runs trained: {len(trained)}, {prov['training_seconds']:.0f} s of training processes (summed over runs "
          f"side by side); wall: {prov['wall_seconds']}")
    print(f"report written: {index} ({prov['seconds']:.0f} s)")
    if profile == readme.PROFILE and not only and output_dir is None:  # the README shows the default build only
        print(f"results block written: {readme.write_results(out_dir)}")
    if profile == readme.ANSWER_PROFILE and not only and output_dir is None:  # and the verdict profile's answer
        print(f"answer block written: {readme.write_answer(out_dir)}")
    return index


def weights_name(weights: Path) -> str:
    """What names a report built from ``weights``: the file's stem, or the run folder's name for a run's model.pt
    or a run folder (every run's file is model.pt)."""
    if weights.is_dir():
        return weights.name
    return weights.parent.name if weights.name == "model.pt" else weights.stem


def parser() -> argparse.ArgumentParser:
    """The command line of ``python -m lib.report``."""
    p = argparse.ArgumentParser(prog="python -m lib.report", description=__doc__.split("\n\n")[0])
    p.add_argument("--profile", default="default", help=f"one of: {', '.join(available_profiles())}")
    p.add_argument("--only", nargs="*", help="run only notebooks whose names start with these prefixes")
    p.add_argument("--show-code", action="store_true", help="keep code cells in the HTML")
    p.add_argument("--timeout", type=int, default=None, help="per-cell timeout in seconds")
    p.add_argument("--output-dir", default=None, help="write here instead of reports/<profile>")
    p.add_argument("--executor", choices=KINDS, default=None,
                   help="where missing runs train: local (a process pool, the profile's jobs at a time), gpus (one "
                        "run per GPU of this machine), submitit (a cluster: the profile's executor options); "
                        "default: the profile's executor, else local")
    p.add_argument("--weights", default=None, metavar="PATH",
                   help="start every run from these pretrained weights (lib.weights: a released YOLOv5 .pt, a state "
                        "dict, a .safetensors, a run of this project); the report goes to reports/<profile>+<file "
                        "stem, or the run's folder name>, never over the profile's own, and the README is left as "
                        "it is")
    p.add_argument("--jobs", type=int, default=None,
                   help="runs (and notebooks) side by side; default: the profile's jobs. With more than one, "
                        "give each run one thread (the profiles' threads: 1)")
    return p


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.executor is not None:  # the notebooks' kernels inherit it (context.executor_of)
        os.environ["ECHO_MTL_EXECUTOR"] = args.executor
    if args.jobs is not None:  # and this (context.jobs_of)
        if args.jobs < 1:
            p.error(f"--jobs must be at least 1, got {args.jobs}")
        os.environ["ECHO_MTL_JOBS"] = str(args.jobs)
    output_dir = args.output_dir
    if args.weights is not None:
        weights = Path(args.weights).expanduser().resolve()
        if not weights.is_file() and not (weights / "model.pt").is_file():
            print(f"report failed: --weights {args.weights}: no such file", file=sys.stderr)
            return 1
        os.environ[WEIGHTS_ENV] = str(weights)  # the notebooks' kernels inherit it (context.settings)
        output_dir = output_dir or str(report_dir(f"{args.profile}+{weights_name(weights)}"))
    try:
        run_report(args.profile, args.only, args.show_code, args.timeout, output_dir)
    except (ProfileError, NotebookFailed, ExecutorError) as e:
        print(f"report failed: {e}", file=sys.stderr)
        return 1
    except readme.ResultsBlockError as e:
        print(f"report written, README not updated: {e}", file=sys.stderr)
        return 1
    return 0
