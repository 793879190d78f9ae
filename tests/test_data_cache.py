"""Where frames live (cache ram, disk, none): the same pixels, memory that does not grow with the split, no half file."""
import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from lib.config import TrainConfig
from lib.data import EchoDataset, LabelError, load_split, read_data_yaml
from lib.data.source import frame_store
from lib.store.runs import RunStore

YAML = "path: .\ntrain: train/images\nval: train/images\nnames: [AR, MR, PR, TR]\nview_names: [PSAX, PLAX, A4C]\n"


def make_set(root, n=6):
    (root / "train/images").mkdir(parents=True)
    (root / "train/labels").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (30 + i, 50, 3), dtype=np.uint8)).save(root / f"train/images/f{i}.png")
        (root / f"train/labels/f{i}.txt").write_text(f"{i % 4} 0.5 0.5 0.2 0.4\n{' '.join('1' if v == i % 3 else '0' for v in range(3))}")
    (root / "data.yaml").write_text(YAML)
    return root / "data.yaml"


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.setenv("ECHO_MTL_RUNS", str(tmp_path / "runs"))
    return make_set(tmp_path / "set")


def test_every_store_gives_the_same_items(data):
    ram, disk, none = (load_split(data, "train", 64, cache=c) for c in ("ram", "disk", "none"))
    assert (ram.cache, disk.cache, none.cache) == ("ram", "disk", "none")
    for i in range(len(ram)):
        for other in (disk, none):
            a, b = ram[i], other[i]
            assert torch.equal(a.image, b.image) and torch.equal(a.targets, b.targets) and a.view == b.view


def test_streamed_split_holds_no_frames(data):
    none = load_split(data, "train", 64, cache="none")
    disk = load_split(data, "train", 64, cache="disk")
    assert not hasattr(none, "images") and not hasattr(disk, "images")
    for ds in (none, disk):  # what a worker receives: labels and paths, not N x 3 x S x S bytes
        assert len(pickle.dumps(ds)) < ds.frame_bytes / 4


def test_disk_frames_are_published_whole(data, tmp_path):
    disk = load_split(data, "train", 64, cache="disk")
    frames = list((tmp_path / "runs" / "cache" / "splits").glob("*.npy"))
    assert [str(f) for f in frames] == [disk.frames_file]  # no partial file left beside it
    assert np.load(disk.frames_file, mmap_mode="r").shape[1:] == (3, 64, 64)


def test_a_truncated_file_is_found_when_the_split_is_built_in_every_store(data):
    path = data.parent / "train/images/f2.png"
    path.write_bytes(path.read_bytes()[:1000])  # header intact, pixels cut
    for cache in ("ram", "none"):
        with pytest.raises(LabelError, match="f2.png"):
            EchoDataset(read_data_yaml(data), "train", 64, cache=cache)


def test_auto_keeps_small_splits_in_ram_and_big_ones_on_disk():
    assert frame_store("auto", 834, 128) == "ram"
    assert frame_store("auto", 20_000, 640) == "disk"
    assert frame_store("none", 10, 64) == "none"


def test_loader_fields_are_not_in_the_run_key(tmp_path):
    store = RunStore(tmp_path)
    cfg = TrainConfig(device="cpu")
    assert store.key(cfg) == store.key(cfg.replace(cache="none", workers=3))
    assert store.key(cfg) != store.key(cfg.replace(fliplr=0.5))


def test_a_damaged_disk_cache_is_decoded_again(data, tmp_path):
    from lib.data import source

    disk = load_split(data, "train", 64, cache="disk")
    expected = disk[3].image.clone()
    with open(disk.frames_file, "r+b") as f:
        f.truncate(1000)
    source._SPLITS.clear()  # a new process: only the disk cache is left
    again = load_split(data, "train", 64, cache="disk")
    assert torch.equal(again[3].image, expected)


def test_skip_leaves_out_a_truncated_file_in_every_store(data):
    path = data.parent / "train/images/f2.png"
    path.write_bytes(path.read_bytes()[:1000])
    for cache in ("ram", "disk", "none"):
        ds = EchoDataset(read_data_yaml(data), "train", 64, on_bad_label="skip", cache=cache,
                         frames_file=data.parent / f"{cache}.npy" if cache == "disk" else None)
        assert len(ds) == 5 and not any(p.name == "f2.png" for p in ds.paths), cache


def test_a_worker_s_decode_failure_is_the_one_line_label_error(data):
    from lib.data import make_loader

    none = EchoDataset(read_data_yaml(data), "train", 64, cache="none")
    path = data.parent / "train/images/f4.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 50)  # replaced after the split was read: only a read finds it
    with pytest.raises(LabelError, match="f4.png: cannot decode image"):
        list(make_loader(none, 2, workers=1))


def test_image_size_checks_a_jpeg_s_end_as_yolov5(tmp_path):
    from lib.data.images import image_size

    path = tmp_path / "a.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 60, 3), dtype=np.uint8)).save(path, quality=90)
    whole = path.read_bytes()
    assert image_size(path) == (60, 40)
    path.write_bytes(whole + b"trailing bytes")  # after the end marker: decodes, accepted
    assert image_size(path) == (60, 40)
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(LabelError, match="a.jpg"):
        image_size(path)
