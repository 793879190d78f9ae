"""GradNorm's sweep (lib.report.findings): its labels, its table and the table's reading."""
import math

import pytest

from lib.experiments.methods import method
from lib.report import findings
from tests.helpers.fake_runs import fake_run, history


def test_sweep_labels_keep_gradnorms_default_runs_as_the_reports_other_sections_name_them():
    labels = findings.sweep_labels([0.5, 1.5], {"adam": [0.0025, findings.GRADNORM_DEFAULTS["lr"]], "sgd": [1.0]})
    assert labels == ["gradnorm_a0.5_adam0.0025", "gradnorm_a1.5_adam0.0025", "gradnorm_a0.5", "gradnorm_a1.5",
                      "gradnorm_a0.5_sgd1", "gradnorm_a1.5_sgd1"]
    assert method("gradnorm_a1.5") == method("gradnorm")
    assert method("gradnorm_a0.5_sgd1")["weighting_options"] == {"alpha": 0.5, "optimizer": "sgd", "lr": 1.0}


def test_sweep_table_and_its_reading():
    refs = {("det_only", 0): fake_run("det_only", val=(0.5, math.nan)),
            ("view_only", 0): fake_run("view_only", val=(math.nan, 0.8))}
    same_path = [1.0, 1.025, 1.05, 1.075, 1.1, 1.1245, 1.15, 1.17, 1.2, 1.22, 1.2488, 1.25]
    runs = dict(refs)
    cells = {(a, "adam", 0.025): (0.60 + a / 100, same_path) for a in (0.5, 1.5)}
    cells.update({(a, "sgd", 1.0): (0.40 + a / 10, [1.0 + a * k / 100 for k in range(12)]) for a in (0.5, 1.5)})
    labels = []
    for (a, opt, lr), (m, path) in cells.items():
        label = findings.sweep_labels([a], {opt: [lr]})[0]
        labels.append(label)
        runs[(label, 0)] = fake_run(label, val=(m, 0.8), test=(m, 0.8), hist=history(path, 2))
    best, table = findings.sweep_table(runs, labels)
    assert best == "gradnorm_a1.5" and table["selected"].sum() == 1
    assert table.loc[("adam", 0.025, 0.5), "w_det after step 5"] == pytest.approx(1.1245)
    text = findings.sweep_reading(table, {"mAP50": 0.5, "view_accuracy": 0.9})
    # within a setting alpha moves mAP by (0.01 + 0.1) / 2; across settings: alpha 0.5 0.605 - 0.45, alpha 1.5
    # 0.615 - 0.55, mean (0.155 + 0.065) / 2
    assert "alpha moves test mAP@0.5 by 0.055" in text and "it moves by 0.110" in text
    assert "1 of 2 optimizer/learning-rate settings (adam lr 0.025)" in text
    assert "selects adam with lr 0.025 and alpha 1.5" in text
    assert "detects better in 3 of 4 settings" in text and "classifies views better in 0 of 4" in text
    assert "reading on detection depends on the setting (GradNorm ahead only with adam lr 0.025 alpha 0.5" in text
    assert "reading on view accuracy survives every setting (GradNorm behind)" in text
