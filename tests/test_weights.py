"""--weights PATH (lib.weights): a released YOLOv5 checkpoint loads without its source and without running code from
the file; YOLOv5's transfer rules; the other sources give the same weights; the run key sees the file's bytes."""
import os
import shutil
import sys

import pytest
import torch

from lib.cli import main
from lib.config import TrainConfig
from lib.data import SyntheticConfig, ensure_synthetic
from lib.models import build_model, default_anchors
from lib.store.model_file import model_payload
from lib.store.runs import RunStore
from lib.weights import WeightsError, load_weights, project_name, read_released, read_weights
from lib.weights.__main__ import main as weights_main
from tests.helpers.released import released_checkpoint

ANCHORS = default_anchors(64)


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """Released-layout checkpoints (nc=80) of scales n and s: ``{scale: (path, source network)}``."""
    root = tmp_path_factory.mktemp("released")
    return {s: (root / f"yolov5{s}.pt", released_checkpoint(root / f"yolov5{s}.pt", s)) for s in ("n", "s")}


def test_a_released_checkpoint_loads_without_the_yolov5_source(released, capsys):
    path, _ = released["s"]
    assert "models" not in sys.modules and not any("yolov5-src" in p for p in sys.path)
    state, meta = read_released(path)
    assert "models" not in sys.modules  # the stand-ins imported nothing
    assert len(state) == 349 and meta["nc"] == 80 and len(meta["names"]) == 80
    assert state["model.0.conv.weight"].shape == (32, 3, 6, 6) and state["model.0.conv.weight"].dtype == torch.float16
    assert state["model.9.cv2.conv.weight"].shape == (512, 1024, 1, 1)
    assert state["model.24.m.0.weight"].shape == (255, 128, 1, 1) and state["model.24.anchors"].shape == (3, 3, 2)


@pytest.mark.parametrize("scale", ["n", "s"])
def test_nc80_into_the_shared_nc4_model_is_bit_exact_and_says_what_it_left_out(released, scale, capsys):
    path, src = released[scale]
    model = build_model("shared", 4, 3, ANCHORS, scale).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    line = load_weights(model, path)
    assert capsys.readouterr().err.strip() == line
    assert line.startswith(f"transferred {len(before) - 10}/{len(before)} tensors from {path} (left out: ")
    assert "6 Detect class-dependent conv tensors" in line and "nc=80" in line and "nc=4" in line
    assert "anchors" in line and "view head (classify) takes nothing" in line
    mine = model.state_dict()
    # every tensor of layers 0-23 arrives bit-exact (fp16 -> float32 is exact: compare after the same cast)
    state, _ = read_released(path)
    layers = [k for k in state if int(k.split(".")[1]) <= 23]
    assert len(layers) == len(state) - 7  # all but Detect's 6 convolution tensors and its anchors
    for key in layers:
        name = project_name(key)
        assert torch.equal(mine[name], state[key].to(mine[name].dtype)), key
    for k, v in src.state_dict().items():
        if k.startswith(("backbone.", "fpn.", "pan.")):
            assert torch.equal(mine[k], v.to(mine[k].dtype)), k
    for k in ("detect.anchors", "detect.m.0.weight", "detect.m.2.bias") + tuple(k for k in mine if k.startswith("classify.")):
        assert torch.equal(mine[k], before[k]), k  # left as built
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        for a, b in zip(model.forward_trunk(x), src.fpn(*src.backbone(x))):
            assert torch.equal(a, b)


def test_the_dual_backbone_s_detector_takes_the_checkpoint_and_the_view_network_nothing(released, capsys):
    path, src = released["n"]
    model = build_model("dual", 4, 3, ANCHORS, "n")
    view = {k: v.clone() for k, v in model.classifier.state_dict().items()}
    line = load_weights(model, path, announce=False)
    assert "the view network (classifier) takes nothing" in line
    for k, v in src.state_dict().items():
        if k.startswith(("backbone.", "fpn.", "pan.")):
            assert torch.equal(model.detector.state_dict()[k], v), k
    assert all(torch.equal(model.classifier.state_dict()[k], v) for k, v in view.items())


def test_another_scale_stops_with_one_line(tmp_path):
    path = tmp_path / "yolov5m.pt"
    released_checkpoint(path, "m")
    model = build_model("shared", 4, 3, ANCHORS, "s")
    with pytest.raises(WeightsError) as e:
        load_weights(model, path, announce=False)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(f"{path}: the backbone does not transfer")
    assert "48 channels (scale m)" in msg and "32 channels (scale s)" in msg


@pytest.mark.parametrize("call", ["os.system", "builtins.eval"])
def test_a_malicious_pickle_is_refused_and_runs_nothing(call, tmp_path):
    pwned = tmp_path / "pwned"
    command = f"echo pwned > {pwned}"

    class Evil:
        def __reduce__(self):
            if call == "os.system":
                return os.system, (command,)
            return eval, (f"__import__('os').system({command!r})",)

    path = tmp_path / "evil.pt"
    torch.save({"model": Evil(), "epoch": -1}, path)
    with pytest.raises(WeightsError) as e:
        read_weights(path)
    named = {"os.system": ("posix.system", "os.system"), "builtins.eval": ("builtins.eval",)}[call]
    assert any(f"refused to load {n}" in str(e.value) for n in named), str(e.value)
    assert not pwned.exists()


def test_the_other_sources_give_the_same_weights(released, tmp_path, capsys):
    path, _ = released["n"]
    reference = build_model("shared", 4, 3, ANCHORS, "n")
    load_weights(reference, path, announce=False)
    state, _ = read_released(path)
    plain = tmp_path / "plain.pt"
    torch.save(state, plain)  # a plain state dict under YOLOv5's names
    safe = tmp_path / "yolov5n.safetensors"
    assert weights_main(["convert", str(path), str(safe)]) == 0
    capsys.readouterr()
    run_file = tmp_path / "run" / "model.pt"  # this project's model.pt, in a run folder
    run_file.parent.mkdir()
    torch.save(model_payload(reference, TrainConfig(scale="n"), [f"c{i}" for i in range(4)], ["a", "b", "c"]), run_file)
    from safetensors import safe_open
    with safe_open(str(safe), framework="pt") as f:
        assert f.metadata()["source"] == "yolov5" and f.metadata()["nc"] == "80" and "model.24.anchors" in f.keys()
    detector = ("backbone.", "fpn.", "pan.")
    for source in (plain, safe, run_file.parent, run_file):
        model = build_model("shared", 4, 3, ANCHORS, "n")
        line = load_weights(model, source, announce=False)
        assert line.startswith("transferred "), line
        for k, v in reference.state_dict().items():
            if k.startswith(detector):
                assert torch.equal(model.state_dict()[k], v), (source, k)
    # from this project's run everything fits, the detection head (same nc) and the view head included
    model = build_model("shared", 4, 3, ANCHORS, "n")
    line = load_weights(model, run_file, announce=False)
    n = len(model.state_dict())
    assert line.startswith(f"transferred {n - 1}/{n} tensors") and "anchors" in line
    assert torch.equal(model.classify.linear.weight, reference.classify.linear.weight)


def test_safetensors_load_without_unpickling(released, tmp_path, monkeypatch):
    path, _ = released["n"]
    safe = tmp_path / "w.safetensors"
    weights_main(["convert", str(path), str(safe)])

    def no_pickle(*a, **kw):
        raise AssertionError("torch.load called for a safetensors file")

    monkeypatch.setattr(torch, "load", no_pickle)
    assert read_weights(safe)[1] == "yolov5"


def test_the_run_key_sees_the_checkpoint_s_bytes_not_its_path(released, tmp_path):
    a, b = released["n"][0], released["s"][0]
    copy = tmp_path / "elsewhere" / "copy.pt"
    copy.parent.mkdir()
    shutil.copy(a, copy)
    store = RunStore(tmp_path / "runs")
    key = lambda w: store.key(TrainConfig(weights=str(w) if w else None, device="cpu", threads=1))
    assert key(a) == key(copy) and key(a) != key(b) and key(None) not in (key(a), key(b))
    assert TrainConfig(weights=str(a), device="cpu").weights == str(a.resolve())


@pytest.fixture(scope="module")
def four_images(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    return str(ensure_synthetic(SyntheticConfig(n_train=4, n_val=2, n_test=2, seed=5), root=root))


def _train(argv, tmp_path, capsys):
    code = main(argv + ["--imgsz", "64", "--epochs", "1", "--batch-size", "4", "--bn-calibration-images", "0",
                        "--interference-every", "0", "--anchors", "default", "--threads", "1",
                        "--runs", str(tmp_path / "runs"), "--no-progress"])
    return code, capsys.readouterr()


def test_train_with_weights_prints_the_count(released, four_images, tmp_path, capsys):
    code, out = _train(["--data", four_images, "--scale", "n", "--weights", str(released["n"][0])], tmp_path, capsys)
    assert code == 0, out.err
    assert "transferred 342/352 tensors from" in out.err and str(released["n"][0]) in out.err


def test_train_with_another_scale_s_file_is_one_line_exit_2(released, four_images, tmp_path, capsys):
    code, out = _train(["--data", four_images, "--scale", "s", "--weights", str(released["n"][0])], tmp_path, capsys)
    assert code == 2 and out.err.count("\n") == 1 and "the backbone does not transfer" in out.err, out.err
