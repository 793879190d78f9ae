"""Method labels (lib.experiments.methods): each label reads back to one configuration, and a bad one says why."""
import pytest

from lib.config import ConfigError, TrainConfig
from lib.experiments.methods import configs, method, setting_label


def test_a_setting_label_changes_training_fields_or_the_weighting_options_and_nothing_else():
    assert method("uw@lr=0.004") == {**method("uw"), "lr": 0.004}
    assert method("dwa@temperature=1") == {**method("dwa"), "weighting_options": {"temperature": 1.0}}
    assert method("static_0.1@lr=0.001,batch_size=8") == {**method("static_0.1"), "lr": 0.001, "batch_size": 8}
    assert isinstance(method("uw@batch_size=8")["batch_size"], int)  # an integer field stays an integer
    assert method("gradnorm@alpha=0.5") == method("gradnorm_a0.5")
    assert "lr" not in method("uw")  # the table itself is not changed by a label read before
    assert setting_label("uw", lr=0.004) == "uw@lr=0.004" and setting_label("uw") == "uw"


def test_a_labels_configuration_is_the_base_with_its_settings():
    cfg = configs(TrainConfig(epochs=3), ["pcgrad@lr=0.008"], [2])[("pcgrad@lr=0.008", 2)]
    assert (cfg.weighting, cfg.lr, cfg.epochs, cfg.seed) == ("pcgrad", 0.008, 3, 2)


@pytest.mark.parametrize("label, says", [
    ("uw@lr", "method 'uw@lr': setting 'lr' is not key=number"),
    ("uw@lr=fast", "setting 'lr=fast' is not key=number"),
    ("uw@", "setting '' is not key=number"),
    ("magic@lr=1", "method 'magic@lr=1': unknown method 'magic'"),
    ("magic", "unknown method 'magic'"),
])
def test_a_bad_label_is_refused_saying_why(label, says):
    with pytest.raises(ValueError) as e:
        method(label)
    assert says in str(e.value)


def test_an_option_the_weighting_does_not_take_is_refused_by_the_configuration():
    with pytest.raises(ConfigError) as e:
        configs(TrainConfig(), ["dwa@foo=1"], [0])
    assert "weighting_options" in e.value.problems
