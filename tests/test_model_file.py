"""model.pt rebuilds its model alone: the fields it carries, weights_only loading, the old run-folder format,
and one-line refusals of files it cannot use."""
import json
import shutil
import tomllib
from pathlib import Path

import pytest
import torch

import lib
from lib.store.model_file import FORMAT_VERSION, ModelFileError, load_model_file

ROOT = Path(__file__).resolve().parent.parent


def test_the_project_version_is_pyprojects():
    assert lib.__version__ == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def _outputs(model, x):
    with torch.no_grad():
        (decoded, _), logits = model(x)
    return decoded, logits


def test_model_pt_alone_rebuilds_the_runs_model(tiny_run, tmp_path):
    run = tiny_run.run
    state = torch.load(run.path / "model.pt", weights_only=True)  # plain values and tensors only
    cfg = run.config
    assert state["format_version"] == FORMAT_VERSION == 2 and state["project_version"] == lib.__version__
    assert (state["model_kind"], state["scale"], state["imgsz"], tuple(state["tasks"])) == (cfg.model, cfg.scale,
                                                                                          cfg.imgsz, cfg.tasks)
    assert state["names"] == ["AR", "MR", "PR", "TR"] and state["view_names"] == ["PSAX", "PLAX", "A4C"]
    assert state["anchors"].shape == (3, 3, 2) and json.loads(state["config"]) == cfg.to_dict()
    alone = tmp_path / "elsewhere" / "model.pt"  # no config.json, no run folder beside it
    alone.parent.mkdir()
    shutil.copy(run.path / "model.pt", alone)
    loaded = load_model_file(alone)
    assert (loaded.kind, loaded.scale, loaded.imgsz, loaded.names) == ("shared", "p", 64, state["names"])
    assert not loaded.model.training
    for k, v in loaded.model.state_dict().items():
        assert torch.equal(v, state["model"][k]), k
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    for a, b in zip(_outputs(loaded.model, x), _outputs(run.load_model(), x)):
        assert torch.equal(a, b)
    assert load_model_file(run.path).path == run.path / "model.pt"  # a run folder names its model.pt


def test_a_format_1_file_loads_with_its_config_json_beside_it(tiny_run, tmp_path):
    state = torch.load(tiny_run.run.path / "model.pt", weights_only=True)
    old = {k: state[k] for k in ("model", "anchors", "names", "view_names")}  # what model.pt held before
    folder = tmp_path / "old-run"
    folder.mkdir()
    torch.save(old, folder / "model.pt")
    with pytest.raises(ModelFileError, match="format 1 .* needs the config.json of its run folder"):
        load_model_file(folder / "model.pt")
    shutil.copy(tiny_run.run.path / "config.json", folder / "config.json")
    loaded = load_model_file(folder)
    assert loaded.format_version == 1 and loaded.imgsz == 64 and loaded.project_version == "unknown"
    x = torch.rand(1, 3, 64, 64)
    assert torch.equal(_outputs(loaded.model, x)[1], _outputs(tiny_run.run.load_model(), x)[1])


def test_a_file_of_a_later_format_is_refused_in_one_line(tiny_run, tmp_path):
    state = torch.load(tiny_run.run.path / "model.pt", weights_only=True)
    torch.save({**state, "format_version": 3, "project_version": "9.0.0"}, tmp_path / "model.pt")
    with pytest.raises(ModelFileError) as e:
        load_model_file(tmp_path / "model.pt")
    message = str(e.value)
    assert "\n" not in message and message.startswith(str(tmp_path / "model.pt"))
    assert "format 3 (written by echo-mtl 9.0.0)" in message and "reads formats 1, 2" in message


@pytest.mark.parametrize("content, cause", [(b"not a checkpoint", "torch.load(weights_only=True) cannot read it"),
                                            (None, "model file not found")])
def test_what_is_not_a_model_file_is_refused_in_one_line(tmp_path, content, cause):
    path = tmp_path / "model.pt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelFileError) as e:
        load_model_file(path)
    assert cause in str(e.value) and "\n" not in str(e.value)
    assert "weights_only set to False" not in str(e.value)  # never PyTorch's advice to unpickle it anyway


def test_a_wrong_format_field_or_shape_is_named_not_hidden(tiny_run, tmp_path):
    state = torch.load(tiny_run.run.path / "model.pt", weights_only=True)
    torch.save({**state, "format": "someone else's"}, tmp_path / "other.pt")
    with pytest.raises(ModelFileError, match="its format field is \"someone else's\", not 'echo-mtl model'"):
        load_model_file(tmp_path / "other.pt")
    torch.save({**state, "scale": "s"}, tmp_path / "scale.pt")  # the weights are another width
    with pytest.raises(ModelFileError) as e:
        load_model_file(tmp_path / "scale.pt")
    assert "do not fit a shared/s model (size mismatch for" in str(e.value) and not str(e.value).endswith(":)")


def test_a_checkpoint_of_other_objects_is_not_unpickled(tmp_path):
    torch.save({"model": {}, "names": [], "x": Path("/")}, tmp_path / "model.pt")  # needs pickled code to load
    with pytest.raises(ModelFileError, match="not an echo-mtl model file"):
        load_model_file(tmp_path / "model.pt")
