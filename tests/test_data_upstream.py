"""The upstream echo project's data set, as exported (834/208/306 frames), trains with only ``--data``.

Layout, key names, file names and label variants are the real ones (``tests.helpers.datasets.upstream``;
``../shared/seed/UPSTREAM_FINDINGS.md``): a Roboflow export whose ``train: ../train/images`` points
outside the export, ``num_cls``/``cls_names`` for the views, ``<patient>-<clip>.mp4-<frame>.png``
frames whose clips straddle the splits, polygon lines, a blank line and a one-hot view line.
"""
import json
import math
import subprocess
import sys
import warnings

import pytest

from tests.helpers.datasets import VIEWS, upstream
from lib.data import leakage_report, leakage_summary, read_data_yaml, split_files

COUNTS = (834, 208, 306)  # the real data's split sizes


@pytest.mark.slow
def test_upstream_export_trains_from_the_command_line_with_only_data(tmp_path):
    yaml_path = upstream(tmp_path / "Regurgitation-YOLODataset-1", counts=COUNTS, frames_per_clip=20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spec = read_data_yaml(yaml_path)
    assert spec.view_names == VIEWS
    assert tuple(len(split_files(spec, s).images) for s in ("train", "val", "test")) == COUNTS
    leaks = leakage_report(spec)
    shared = leaks[leaks["kind"] == "clip"]
    assert len(shared) > 0 and shared["splits"].str.contains(",").all(), leakage_summary(leaks)

    proc = subprocess.run([sys.executable, "-m", "lib.train", "--data", str(yaml_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert all(math.isfinite(result[k]) for k in ("mAP50", "view_accuracy")), result
    assert "using" in proc.stderr and "under 'path'" in proc.stderr  # the ../ retry is said, not silent
