"""Reliability: broken data sets get one clear message, killed runs resume, reports are reproducible."""
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from lib.config import TrainConfig
from lib.data import DataError, EchoDataset, LabelError, SyntheticConfig, ensure_synthetic, read_data_yaml
from lib.store.runs import MANIFEST, RunStore
from lib.cli import main
from lib.engine.history import TIMING_COLUMNS

ROOT = Path(__file__).resolve().parent.parent
GOOD_LABEL = "0 0.40 0.40 0.60 0.40 0.60 0.60 0.40 0.60\n\n0 0 1"


def make_dataset(root: Path, n: int = 3) -> Path:
    """A valid three-split data set of tiny PNGs in the real data's layout."""
    for split in ("train", "valid", "test"):
        (root / split / "images").mkdir(parents=True)
        (root / split / "labels").mkdir(parents=True)
        for i in range(n):
            Image.fromarray(np.full((24, 32, 3), 60 * i, np.uint8)).save(root / split / "images" / f"P{i}-1.mp4-{i}.png")
            (root / split / "labels" / f"P{i}-1.mp4-{i}.txt").write_text(GOOD_LABEL)
    (root / "data.yaml").write_text("path: .\ntrain: train/images\nval: valid/images\ntest: test/images\n"
                                    "nc: 4\nnames: [AR, MR, PR, TR]\nview_names: [PSAX, PLAX, A4C]\n")
    return root / "data.yaml"


def label(root, text):
    (root / "train" / "labels" / "P1-1.mp4-1.txt").write_text(text)


def image(root):
    return root / "train" / "images" / "P1-1.mp4-1.png"


# (name, mutation, what is wrong): (file under the data set, line, kind) for a ``LabelError``, or the regex a
# ``DataError``'s message must match (it carries no fields); each breaks one thing of a valid data set
LABEL, IMAGE = "train/labels/P1-1.mp4-1.txt", "train/images/P1-1.mp4-1.png"
BROKEN = [
    ("missing data.yaml key", lambda r: (r / "data.yaml").write_text("\n".join(
        line for line in (r / "data.yaml").read_text().splitlines() if not line.startswith("val:"))),
     r"data\.yaml: missing key 'val'"),
    ("image without label", lambda r: (r / LABEL).unlink(), (IMAGE, None, "image has no label file")),
    ("label without image", lambda r: (r / "train" / "labels" / "ghost.txt").write_text(GOOD_LABEL),
     ("train/labels/ghost.txt", None, "label file has no image")),
    ("token not a number", lambda r: label(r, "0 0.5 x 0.2 0.2\n0 0 1"), (LABEL, 1, "not a number")),
    ("coordinate outside [0, 1]", lambda r: label(r, "0 0.5 1.5 0.2 0.2\n0 0 1"), (LABEL, 1, "coordinate outside [0, 1]")),
    ("box of zero width", lambda r: label(r, "0 0.5 0.5 0 0.2\n0 0 1"), (LABEL, 1, "empty box")),
    ("class >= nc", lambda r: label(r, "4 0.5 0.5 0.2 0.2\n0 0 1"), (LABEL, 1, "class out of range")),
    ("polygon with odd coordinates", lambda r: label(r, "0 0.1 0.1 0.2 0.1 0.2 0.2 0.1\n0 0 1"),
     (LABEL, 1, "bad polygon")),
    ("one-hot without a 1", lambda r: label(r, "0 0.5 0.5 0.2 0.2\n0 0 0"), (LABEL, 2, "bad view line")),
    ("one-hot with two 1s", lambda r: label(r, "0 0.5 0.5 0.2 0.2\n1 0 1"), (LABEL, 2, "bad view line")),
    ("one-hot of the wrong length", lambda r: label(r, "0 0.5 0.5 0.2 0.2\n0 0 1 0"), (LABEL, 2, "bad view line")),
    ("empty label file", lambda r: label(r, ""), (LABEL, None, "empty label file")),
    ("truncated PNG", lambda r: image(r).write_bytes(image(r).read_bytes()[:60]), (IMAGE, None, "cannot decode image")),
    ("zero-byte image", lambda r: image(r).write_bytes(b""), (IMAGE, None, "image file is empty (0 bytes)")),
]


@pytest.mark.parametrize("name, mutate, wrong", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_dataset_gives_one_clear_error(tmp_path, name, mutate, wrong, capsys):
    yaml_path = make_dataset(tmp_path)
    mutate(tmp_path)
    with pytest.raises((LabelError, DataError)) as e:
        EchoDataset(read_data_yaml(yaml_path), "train", 32)
    if isinstance(wrong, tuple):
        path, line, kind = wrong
        assert isinstance(e.value, LabelError)
        assert (e.value.path, e.value.line, e.value.kind) == (tmp_path / path, line, kind)
    else:
        assert isinstance(e.value, DataError) and re.search(wrong, str(e.value))
    # the command line prints the same message, no traceback, exit status 2
    code = main(["--data", str(yaml_path), "--epochs", "1", "--imgsz", "32", "--runs", str(tmp_path / "runs"),
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and f"error: {e.value}" in err and "Traceback" not in err


def test_skip_mode_counts_bad_files(tmp_path):
    yaml_path = make_dataset(tmp_path)
    label(tmp_path, "0 0.5 x 0.2 0.2\n0 0 1")
    with pytest.warns(UserWarning, match=r"skipped 1 bad"):
        ds = EchoDataset(read_data_yaml(yaml_path), "train", 32, on_bad_label="skip")
    assert len(ds) == 2


@pytest.mark.parametrize("mode", ["L", "RGBA"])
def test_grayscale_and_rgba_images_are_converted(tmp_path, mode):
    yaml_path = make_dataset(tmp_path)
    Image.new(mode, (32, 24), 128).save(image(tmp_path))
    ds = EchoDataset(read_data_yaml(yaml_path), "train", 32)
    assert ds[1].image.shape == (3, 32, 32)


def test_view_line_only_is_a_valid_image_without_objects(tmp_path):
    yaml_path = make_dataset(tmp_path)
    label(tmp_path, "0 1 0")
    ds = EchoDataset(read_data_yaml(yaml_path), "train", 32)
    assert ds[1].targets.shape == (0, 5) and ds[1].view == 1


@pytest.mark.parametrize("extra", [{}, pytest.param({"amp": "fp16", "ema_decay": 0.9999, "ema_tau": 10.0},
                                                    marks=pytest.mark.slow)],  # fp16 on the CPU: about 35 s
                         ids=["float32", "fp16-GradScaler-EMA"])
def test_killed_run_resumes_to_the_same_result(tmp_path, extra):
    """SIGKILL a training process after its first checkpoint; rerunning resumes and ends identical (with the
    GradScaler's scale and the EMA restored too)."""
    data = str(ensure_synthetic(SyntheticConfig(n_train=48, n_val=8, n_test=8), root=tmp_path / "data"))
    cfg = TrainConfig(data=data, imgsz=64, batch_size=8, epochs=6, interference_every=3, threads=1, weighting="gradnorm",
                      **extra)
    whole = RunStore(tmp_path / "a").get_or_train(cfg, progress=False)

    store = RunStore(tmp_path / "b")
    path = store.path(cfg)
    path.mkdir(parents=True)
    (path / "config.json").write_text(cfg.to_json())
    cmd = [sys.executable, "-m", "lib.store.runs", str(path), "--no-progress"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (path / "checkpoint.pt").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (path / "checkpoint.pt").exists() and not (path / MANIFEST).exists()
    assert store.get(cfg) is None  # an unfinished run is never trusted

    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    assert "resumed from" in again.stderr
    resumed = store.get(cfg)
    drop = lambda df: df.drop(columns=[c for c in df if c in TIMING_COLUMNS])  # noqa: E731
    pd.testing.assert_frame_equal(drop(resumed.history), drop(whole.history))
    pd.testing.assert_frame_equal(drop(resumed.epochs), drop(whole.epochs))
    for k, v in whole.metrics.items():
        if not any(t in k for t in ("seconds", "memory", "per_step", "per_epoch")) and k != "data":
            assert resumed.metrics[k] == v or (v != v and resumed.metrics[k] != resumed.metrics[k]), k


NONDETERMINISTIC = re.compile(r"time|seconds|memory|MiB|date|created|commit|packages|environment|threads", re.I)


def comparable(csv: Path) -> pd.DataFrame:
    df = pd.read_csv(csv, index_col=0)
    df = df[[c for c in df.columns if not NONDETERMINISTIC.search(str(c))]]
    return df[[not NONDETERMINISTIC.search(str(i)) for i in df.index]]


@pytest.mark.slow
def test_two_smoke_reports_give_identical_tables(smoke_report, tmp_path):
    """Same profile, same data, a fresh run store: every table equal except measured times and memory."""

    first, base = smoke_report
    env = {**os.environ, "ECHO_MTL_RUNS": str(tmp_path / "runs"), "ECHO_MTL_DATA": str(base / "data")}
    env.pop("MPLBACKEND", None)
    second = tmp_path / "report"
    proc = subprocess.run([sys.executable, "-m", "lib.report", "--profile", "smoke", "--output-dir", str(second)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    tables = sorted(first.glob("*/tables/*.csv"))
    assert len(tables) > 30
    for t in tables:
        if NONDETERMINISTIC.search(t.stem):
            continue
        pd.testing.assert_frame_equal(comparable(t), comparable(second / t.relative_to(first)), obj=str(t.relative_to(first)))
