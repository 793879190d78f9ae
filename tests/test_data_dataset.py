"""EchoDataset, letterbox and batches on small hand-made data sets (real files, real faults)."""
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from lib.data import (DataError, EchoDataset, LabelError, boxes_to_letterbox, collate, letterbox, load_rgb,
                      make_loader, read_data_yaml)
from lib.cli import main

YAML = "path: .\ntrain: train/images\nval: valid/images\nnames: [AR, MR, PR, TR]\nview_names: [PSAX, PLAX, A4C]\n"


def make_set(tmp_path, n=4, size=(40, 20)):
    """n RGB frames (w x h = size) with one box each; view i % 3."""
    for split in ("train", "valid"):
        (tmp_path / split / "images").mkdir(parents=True)
        (tmp_path / split / "labels").mkdir(parents=True)
    for i in range(n):
        Image.new("RGB", size, (10 * i, 0, 0)).save(tmp_path / f"train/images/P-1.mp4-{i}.png")
        view = " ".join("1" if v == i % 3 else "0" for v in range(3))
        (tmp_path / f"train/labels/P-1.mp4-{i}.txt").write_text(f"{i % 4} 0.5 0.5 0.2 0.4\n{view}")
    Image.new("RGB", size).save(tmp_path / "valid/images/Q-1.mp4-0.png")
    (tmp_path / "valid/labels/Q-1.mp4-0.txt").write_text("0 0 1")
    (tmp_path / "data.yaml").write_text(YAML)
    return read_data_yaml(tmp_path / "data.yaml")


def test_letterbox_known_answer():
    img = np.zeros((100, 200, 3), np.uint8)
    out, scale, pad = letterbox(img, 100)
    assert out.shape == (100, 100, 3) and scale == 0.5 and pad == (0, 25)
    assert (out[:25] == 114).all() and (out[75:] == 114).all() and (out[25:75] == 0).all()
    boxes = np.array([[1, 0.5, 0.5, 0.2, 0.4], [2, 0.25, 0.25, 0.1, 0.1]], np.float32)
    got = boxes_to_letterbox(boxes, (200, 100), scale, pad, 100)
    np.testing.assert_allclose(got, [[1, 0.5, 0.5, 0.2, 0.2], [2, 0.25, 0.375, 0.1, 0.05]], atol=1e-6)


def test_letterbox_portrait_pads_left_and_right():
    out, scale, pad = letterbox(np.full((64, 32, 3), 7, np.uint8), 128)
    assert scale == 2.0 and pad == (32, 0) and (out[:, 32:96] == 7).all() and (out[:, :32] == 114).all()


def test_dataset_loads_letterboxed_images_targets_and_views(tmp_path):
    spec = make_set(tmp_path)
    ds = EchoDataset(spec, "train", 32)
    assert len(ds) == 4 and ds.images.shape == (4, 3, 32, 32) and ds.images.dtype == torch.uint8
    assert ds.views.tolist() == [0, 1, 2, 0] and ds.names == spec.names
    img, targets, view, index = ds[1]
    assert img.shape == (3, 32, 32) and view == 1 and index == 1
    # 40x20 image in a 32 square: height 16, top pad 8 -> box h 0.4 * 16/32 = 0.2
    np.testing.assert_allclose(targets.numpy(), [[1, 0.5, 0.5, 0.2, 0.2]], atol=1e-6)
    assert targets.dtype == torch.float32
    assert int(img[0, 16, 16]) == 10 and int(img[0, 2, 16]) == 114


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "I;16"])
def test_any_image_mode_loads_as_rgb(tmp_path, mode):
    p = tmp_path / "x.png"
    Image.new(mode, (5, 4), 3).save(p)
    arr = load_rgb(p)
    assert arr.shape == (4, 5, 3) and arr.dtype == np.uint8


def test_truncated_and_empty_png_name_the_image(tmp_path):
    spec = make_set(tmp_path)
    good = tmp_path / "train/images/P-1.mp4-1.png"
    data = good.read_bytes()
    big = Image.fromarray(np.random.default_rng(0).integers(0, 255, (60, 80, 3), dtype=np.uint8))
    big.save(good)
    good.write_bytes(good.read_bytes()[:-2000])  # truncated in the middle of the pixel data
    with pytest.raises(LabelError) as e:
        EchoDataset(spec, "train", 32)
    assert (e.value.path, e.value.line, e.value.kind) == (good, None, "cannot decode image")
    good.write_bytes(data)
    (tmp_path / "train/images/P-1.mp4-2.png").write_bytes(b"")
    with pytest.raises(LabelError) as e:
        EchoDataset(spec, "train", 32)
    assert (e.value.path, e.value.kind) == (tmp_path / "train/images/P-1.mp4-2.png", "image file is empty (0 bytes)")


def test_image_without_label_and_label_without_image(tmp_path):
    spec = make_set(tmp_path)
    (tmp_path / "train/labels/P-1.mp4-0.txt").unlink()
    with pytest.raises(LabelError) as e:
        EchoDataset(spec, "train", 32)
    assert (e.value.path, e.value.kind) == (tmp_path / "train/images/P-1.mp4-0.png", "image has no label file")
    assert str(tmp_path / "train/labels/P-1.mp4-0.txt") in e.value.what  # names the label file it looked for
    spec = make_set(tmp_path / "b")
    (tmp_path / "b/train/labels/ghost.txt").write_text("0 0 1")
    with pytest.raises(LabelError) as e:
        EchoDataset(spec, "train", 32)
    assert (e.value.path, e.value.kind) == (tmp_path / "b/train/labels/ghost.txt", "label file has no image")


def test_bad_label_content_is_reported_with_line(tmp_path):
    spec = make_set(tmp_path)
    (tmp_path / "train/labels/P-1.mp4-3.txt").write_text("7 0.5 0.5 0.2 0.2\n0 0 1")
    with pytest.raises(LabelError) as e:
        EchoDataset(spec, "train", 32)
    assert (e.value.path, e.value.line, e.value.kind) == (tmp_path / "train/labels/P-1.mp4-3.txt", 1,
                                                         "class out of range")


def test_skip_mode_warns_once_with_the_count(tmp_path):
    spec = make_set(tmp_path, n=6)
    (tmp_path / "train/labels/P-1.mp4-0.txt").unlink()
    (tmp_path / "train/images/P-1.mp4-1.png").write_bytes(b"")
    (tmp_path / "train/labels/P-1.mp4-2.txt").write_text("0 0 0")
    (tmp_path / "train/labels/ghost.txt").write_text("0 0 1")
    with pytest.warns(UserWarning, match=r"skipped 4 bad image/label file\(s\)") as record:
        ds = EchoDataset(spec, "train", 32, on_bad_label="skip")
    assert len(record) == 1 and len(ds) == 3 and len(ds.skipped) == 4
    assert [p.name for p in ds.paths] == ["P-1.mp4-3.png", "P-1.mp4-4.png", "P-1.mp4-5.png"]
    assert ds.images.shape[0] == 3 and ds.views.tolist() == [0, 1, 2]
    assert "ghost.txt" in str(record[0].message) and "P-1.mp4-1.png" in str(record[0].message)


def test_unknown_mode_and_empty_split(tmp_path):
    spec = make_set(tmp_path)
    with pytest.raises(ValueError, match="on_bad_label"):
        EchoDataset(spec, "train", 32, on_bad_label="ignore")
    for p in (tmp_path / "valid/images").iterdir():
        p.unlink()
    with pytest.raises(DataError, match="split 'val' .* has no images"):
        EchoDataset(spec, "val", 32)
    with pytest.raises(DataError, match="no split 'test'"):
        EchoDataset(spec, "test", 32)


def test_all_bad_in_skip_mode_is_an_error(tmp_path):
    spec = make_set(tmp_path)
    (tmp_path / "valid/labels/Q-1.mp4-0.txt").write_text("")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(DataError, match="no usable images"):
            EchoDataset(spec, "val", 32, on_bad_label="skip")


def test_collate_builds_yolo_targets():
    items = [(torch.full((3, 4, 4), 255, dtype=torch.uint8), torch.tensor([[1, .5, .5, .2, .2]]), 2, 7),
             (torch.zeros((3, 4, 4), dtype=torch.uint8), torch.zeros((0, 5)), 0, 3),
             (torch.zeros((3, 4, 4), dtype=torch.uint8),
              torch.tensor([[0, .1, .1, .1, .1], [3, .9, .9, .1, .1]]), 1, 5)]
    b = collate(items)
    assert b.images.dtype == torch.float32 and b.images.max() == 1.0 and b.images.shape == (3, 3, 4, 4)
    assert b.targets.shape == (3, 6) and b.targets[:, 0].tolist() == [0, 2, 2]
    assert b.targets[:, 1].tolist() == [1, 0, 3]
    assert b.views.tolist() == [2, 0, 1] and b.indices.tolist() == [7, 3, 5] and b.views.dtype == torch.long


def test_loader_orders_are_deterministic_per_seed(tmp_path):
    spec = make_set(tmp_path, n=10)
    ds = EchoDataset(spec, "train", 16)

    def epochs(seed):
        dl = make_loader(ds, 3, shuffle=True, seed=seed)
        return [[b.indices.tolist() for b in dl] for _ in range(2)]

    a, b = epochs(0), epochs(0)
    assert a == b and a[0] != a[1]  # same sequence of epochs, different order each epoch
    assert sorted(sum(a[0], [])) == list(range(10)) and len(a[0]) == 4  # last partial batch kept
    assert epochs(1) != a
    batch = next(iter(make_loader(ds, 4, shuffle=False)))
    assert batch.indices.tolist() == [0, 1, 2, 3] and batch.targets[:, 0].tolist() == [0, 1, 2, 3]


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
