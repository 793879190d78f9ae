"""The conclusions (lib.report.conclusions): where each method applies, and the methods table."""
import pandas as pd

from lib.report.conclusions import applicability, methods_table


def test_applicability_reads_the_interval_pareto_set_and_the_cost_with_tuning_and_names_no_winner():
    cost = pd.DataFrame({"settings": [1, 5, 5], "runs": [3, 7, 7], "training process-hours": [0.5, 2.0, 1.0]},
                        index=["original", "gradnorm", "static"])
    text = applicability(["gradnorm", "static"], {"original": ["static"]}, cost)
    assert "`gradnorm`, `static`." in text and "**Dominated**: `original` by `static`." in text
    assert "cannot tell apart): `static` (1.00 process-hours over 7 runs)" in text
    assert "best" not in text.replace("better", "")
    assert "none; the runs cannot tell the rows apart" in applicability(["a", "b"], {}, cost)


def test_methods_table():
    t = methods_table(["original", "gradnorm_a0.5_sgd1", "uw@lr=0.004"])
    assert t.loc["original", "options"] == "weights=[1.0, 0.01]"
    assert t.loc["gradnorm_a0.5_sgd1", "options"] == "alpha=0.5, optimizer=sgd, lr=1.0"
    assert t.loc["uw@lr=0.004", "options"] == "defaults" and t.loc["uw@lr=0.004", "training settings"] == "lr=0.004"
    assert t.loc["original", "training settings"] == "the profile's"
