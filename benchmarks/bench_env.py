"""A separate virtual environment for stock YOLOv5 7.0 and scikit-image, never a project dependency.

    python = ensure_venv()                  # builds <repo>/.cache/bench-yolov5 once (minutes), then reuses it
    subprocess.run([str(python), "-m", "yolov5.train", ...], env=stock_env())

The venv holds the PyPI package ``yolov5==7.0.14`` (YOLOv5 v7.0's code) and ``scikit-image`` (its photographs
make ``benchmarks.photo_set``), with the pins YOLOv5 7.0 runs with: ``numpy<2`` (``np.trapz``), ``pillow<10``
(``ImageFont.getsize``), ``setuptools<81`` (``pkg_resources``), and the others in ``PINS``. torch and torchvision
are installed first, at the project's versions, and then held by a constraints file, so resolving YOLOv5's
requirements never fetches another torch.

A venv is trusted only when its ``COMPLETE`` marker, written last, holds this module's ``spec()``: a venv
left half-made by a crash, or made for other pins, is deleted and rebuilt. A file lock keeps two processes
from building at once. Venvs cannot be moved, so it is built in place (behind the marker), not renamed in.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from contextlib import nullcontext
from pathlib import Path

from lib.store.atomic import write_text
from lib.store.lock import lock_kind
from lib.store.paths import REPO_ROOT

VENV = REPO_ROOT / ".cache" / "bench-yolov5"   # .cache/ is git-ignored
MARKER = "COMPLETE"
TORCH = ("torch==2.14.1", "torchvision==0.29.1")
PACKAGES = ("yolov5==7.0.14", "scikit-image")
# The releases YOLOv5 7.0's code (2022) runs with; the commented pins keep an API it calls that later ones removed.
PINS = (
    "numpy<2",                       # np.trapz in utils/metrics.py
    "pandas<2.3",
    "opencv-python<4.11",            # yolov5 requires opencv-python; roboflow pulls the headless one
    "opencv-python-headless<4.11",
    "pillow<10",                     # ImageFont.getsize in utils/plots.py
    "scikit-image<0.25",
    "matplotlib<3.10",
    "scipy<1.15",
    "setuptools<81",                 # pkg_resources in utils/general.py
)


def spec() -> str:
    """What the venv is made of (the marker's text): a change of any pin rebuilds it."""
    return json.dumps({"python": sys.version_info[:2], "torch": TORCH, "packages": PACKAGES, "pins": PINS})


def python_path(venv: Path = VENV) -> Path:
    return venv / "bin" / "python"


def config_dir(venv: Path = VENV) -> Path:
    """YOLOv5's (and Ultralytics') settings folder, holding the ``Arial.ttf`` it would otherwise download."""
    return venv / "yolov5-config"


def is_ready(venv: Path = VENV) -> bool:
    marker = venv / MARKER
    return marker.is_file() and marker.read_text(encoding="utf-8") == spec() and python_path(venv).exists()


def stock_env(venv: Path = VENV, threads: int = 1) -> dict[str, str]:
    """The environment stock YOLOv5 runs offline in: its font in place, full ``torch.load`` of its own
    checkpoints (torch >= 2.6 defaults to ``weights_only``), ``threads`` OpenMP threads, no hub or telemetry."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(YOLOV5_CONFIG_DIR=str(config_dir(venv)), YOLO_CONFIG_DIR=str(config_dir(venv)),
               TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD="1", OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
               YOLO_OFFLINE="1", WANDB_MODE="disabled", COMET_MODE="disabled", HF_HUB_OFFLINE="1",
               PYTHONUNBUFFERED="1", VIRTUAL_ENV=str(venv))
    return env


def _run(cmd: list, log, env: dict | None = None) -> None:
    print("$", " ".join(map(str, cmd)), file=log, flush=True)
    done = subprocess.run([str(c) for c in cmd], stdout=log, stderr=subprocess.STDOUT, env=env)
    if done.returncode:
        raise RuntimeError(f"bench venv: `{' '.join(map(str, cmd))}` failed (exit {done.returncode}); "
                           f"see {getattr(log, 'name', 'its output')}")


def _build(venv: Path, log) -> None:
    shutil.rmtree(venv, ignore_errors=True)
    _run([sys.executable, "-m", "venv", venv], log)
    py = python_path(venv)
    pip = [py, "-m", "pip", "install", "--disable-pip-version-check"]
    _run(pip + list(TORCH), log)                       # first, so the constraints below hold it
    constraints = venv / "constraints.txt"
    constraints.write_text("\n".join(TORCH + PINS) + "\n", encoding="utf-8")
    _run(pip + ["-c", constraints, *PACKAGES], log)
    if subprocess.run([str(py), "-c", "import cv2"], capture_output=True).returncode:
        # no libGL on this machine: the headless build provides the same cv2 module
        _run(pip + ["-c", constraints, "--force-reinstall", "--no-deps", "opencv-python-headless<4.11"], log)
    font = subprocess.run([str(py), "-c", "import matplotlib, pathlib; print(pathlib.Path(matplotlib.get_data_path())"
                                          " / 'fonts' / 'ttf' / 'DejaVuSans.ttf')"],
                          capture_output=True, text=True, check=True).stdout.strip()
    config_dir(venv).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(font, config_dir(venv) / "Arial.ttf")  # YOLOv5's check_font downloads Arial.ttf otherwise
    _run([py, "-c", "import yolov5.train, skimage.data, torch; print('yolov5 imports; torch', torch.__version__)"],
         log, stock_env(venv))


def ensure_venv(venv: Path = VENV, log=None) -> Path:
    """The bench venv's python, building the venv first unless it is complete (minutes; pip's output goes
    to ``log``, default ``<venv>.log``). Raises ``RuntimeError`` naming the failed step and the log."""
    if is_ready(venv):
        return python_path(venv)
    venv.parent.mkdir(parents=True, exist_ok=True)
    with lock_kind()(venv.parent / f"{venv.name}.lock"):
        if is_ready(venv):  # another process built it while this one waited
            return python_path(venv)
        print(f"building the bench venv {venv} (minutes; log {venv}.log)", file=sys.stderr, flush=True)
        with open(f"{venv}.log", "w", encoding="utf-8") if log is None else nullcontext(log) as out:
            _build(venv, out)
        write_text(venv / MARKER, spec())  # last: only now is the venv trusted
    return python_path(venv)


if __name__ == "__main__":
    print(ensure_venv())
