"""The configuration table (lib.report.configs), from the stored configurations of hand-made runs."""
from lib.config import TrainConfig
from lib.report.configs import config_table
from tests.helpers.fake_runs import fake_run


def test_configuration_table_comes_from_the_stored_configs():
    runs = {"original": fake_run("original", epochs=3), "gradnorm": fake_run("gradnorm", epochs=3)}
    t = config_table(runs)
    assert t.loc["epochs", "all runs"] == 3 and t.loc["epochs", "original"] == ""
    assert t.loc["weighting", "original"] == "fixed" and t.loc["weighting", "gradnorm"] == "gradnorm"
    assert t.loc["interference_every", "all runs"] == TrainConfig().interference_every
    assert t.loc["steps per epoch (measured)", "gradnorm"] == 4 and t.loc["parameters (counted)", "original"] == 1234
