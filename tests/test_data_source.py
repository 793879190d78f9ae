"""Which data a run reads (lib.data.source): the data fingerprint in a run's key follows every byte the loader
reads; decoded splits, in memory and in the disk cache, are read back equal, keyed by the bytes and the code
that decodes, never trusted broken."""
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from lib.data import SyntheticConfig, ensure_synthetic, load_split, read_data_yaml, source, split_files
from tests.helpers.datasets import listed, ultralytics, upstream


def fresh(yaml, split="train", imgsz=64, on_bad_label="error"):
    source._SPLITS.clear()  # a new process: nothing in memory
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = load_split(yaml, split, imgsz, on_bad_label)
    return ds, [str(w.message) for w in caught]


def cached_files(runs):
    return sorted((runs / "cache" / "splits").glob("*.pt"))


def test_a_split_is_decoded_once_and_read_back_equal(tmp_path, monkeypatch):
    monkeypatch.setenv("ECHO_MTL_RUNS", str(tmp_path / "runs"))
    yaml = ensure_synthetic(SyntheticConfig(n_train=6, n_val=2, n_test=2, seed=2), root=tmp_path / "data")
    first, _ = fresh(yaml)
    assert len(cached_files(tmp_path / "runs")) == 1
    from lib.data import dataset

    def no_decoding(path):
        raise AssertionError(f"decoded {path} again")
    monkeypatch.setattr(dataset, "load_rgb", no_decoding)
    again, _ = fresh(yaml)  # read from disk, not decoded
    assert torch.equal(again.images, first.images) and torch.equal(again.views, first.views)
    assert [str(p) for p in again.paths] == [str(p) for p in first.paths]
    assert all((a.boxes == b.boxes).all() for a, b in zip(again.labels, first.labels))


def test_an_edited_label_or_another_size_is_a_new_entry_and_a_broken_entry_is_decoded_again(tmp_path, monkeypatch):
    monkeypatch.setenv("ECHO_MTL_RUNS", str(tmp_path / "runs"))
    yaml = ensure_synthetic(SyntheticConfig(n_train=6, n_val=2, n_test=2, seed=2), root=tmp_path / "data")
    fresh(yaml)
    fresh(yaml, imgsz=96)
    assert len(cached_files(tmp_path / "runs")) == 2
    label = sorted(yaml.parent.rglob("train/labels/*.txt"))[0]
    label.write_text(label.read_text().replace("\n", "\n\n", 1))  # same boxes, other bytes
    fresh(yaml)
    assert len(cached_files(tmp_path / "runs")) == 3
    for f in cached_files(tmp_path / "runs"):
        f.write_bytes(b"not a pickle")
    ds, _ = fresh(yaml)
    assert len(ds) == 6


def test_a_cached_split_gives_its_warnings_again(tmp_path, monkeypatch):
    monkeypatch.setenv("ECHO_MTL_RUNS", str(tmp_path / "runs"))
    yaml = ensure_synthetic(SyntheticConfig(n_train=6, n_val=2, n_test=2, seed=2), root=tmp_path / "data")
    label = sorted(yaml.parent.rglob("train/labels/*.txt"))[0]
    text = label.read_text()
    label.write_text(text.splitlines()[0] + "\n" + text)  # the first box twice: an exact duplicate row
    _, first = fresh(yaml)
    _, again = fresh(yaml)
    assert any("duplicate" in m for m in first) and again == first


def test_the_decoding_code_keys_the_entry(tmp_path, monkeypatch):
    """Another version of the code that decodes (its code_fingerprint) is a new entry, decoded again."""
    monkeypatch.setenv("ECHO_MTL_RUNS", str(tmp_path / "runs"))
    yaml = ensure_synthetic(SyntheticConfig(n_train=6, n_val=2, n_test=2, seed=2), root=tmp_path / "data")
    first, _ = fresh(yaml)
    real = source.code_fingerprint
    monkeypatch.setattr(source, "code_fingerprint", lambda roots: real(roots) + "-edited")
    again, _ = fresh(yaml)
    assert len(cached_files(tmp_path / "runs")) == 2 and torch.equal(again.images, first.images)


def test_an_edited_split_is_read_again(tmp_path):
    """The in-memory split cache is keyed on every file's size and mtime, not on the path alone."""
    import os

    from lib.data import load_split

    yaml_path = ensure_synthetic(SyntheticConfig(n_train=4, n_val=2, n_test=2, seed=1), root=tmp_path)
    first = load_split(yaml_path, "val", 64)
    assert load_split(yaml_path, "val", 64) is first  # unchanged files: served from memory
    label = sorted((yaml_path.parent / "valid" / "labels").glob("*.txt"))[0]
    lines = label.read_text().rstrip("\n").split("\n")
    new_view = (first.views[0].item() + 1) % 3
    lines[-1] = " ".join("1" if i == new_view else "0" for i in range(3))
    label.write_text("\n".join(lines) + "\n")
    os.utime(label, ns=(label.stat().st_atime_ns, label.stat().st_mtime_ns + 10**9))
    again = load_split(yaml_path, "val", 64)
    assert again is not first and again.views[0].item() == new_view


def test_load_split_reloads_when_bytes_change_at_the_same_size_and_time(tmp_path):
    """An edit inside the file system's timestamp granularity changes neither size nor mtime."""
    import os

    yaml_path = ultralytics(tmp_path)
    png = tmp_path / "images/val/im0.png"
    img = png.with_suffix(".bmp")  # uncompressed: a changed pixel keeps the file's size
    Image.open(png).save(img)
    png.unlink()
    first = load_split(yaml_path, "val", 32)
    st = img.stat()
    a = np.asarray(Image.open(img)).copy()
    a[:, :] = 255 - a[:, :]
    Image.fromarray(a).save(img)
    assert img.stat().st_size == st.st_size
    os.utime(img, ns=(st.st_atime_ns, st.st_mtime_ns))
    again = load_split(yaml_path, "val", 32)
    assert again is not first and not torch.equal(again.images[0], first.images[0])


def _as_bmp(png):
    bmp = png.with_suffix(".bmp")
    Image.open(png).save(bmp)
    png.unlink()
    return bmp


def _regrouped(tmp_path):
    from lib.data import split_by_group

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spec = read_data_yaml(upstream(tmp_path / "src"))
    return split_by_group(spec, tmp_path / "regrouped", by="clip", fractions=(0.6, 0.4))


@pytest.mark.parametrize("layout", ["upstream", "ultralytics", "listed", "split_by_group"])
def test_run_key_changes_with_one_label_or_one_images_bytes(tmp_path, layout):
    from lib.config import TrainConfig
    from lib.store.runs import RunStore

    make = {"upstream": upstream, "ultralytics": ultralytics, "listed": listed,
            "split_by_group": lambda root: _regrouped(root)}[layout]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yaml_path = make(tmp_path)
        spec = read_data_yaml(yaml_path)
        files = split_files(spec, "train")
        image, label = _as_bmp(files.images[0]), files.labels[0]
        if layout in ("listed", "split_by_group"):  # the list names the image: follow the rename
            for lst in {p for srcs in spec.splits.values() for p in srcs}:
                lst.write_text(lst.read_text().replace(files.images[0].name, image.name))
        store, cfg = RunStore(tmp_path / "runs"), TrainConfig(data=str(yaml_path))
        keys = [store.key(cfg)]
        assert store.key(cfg) == keys[0]  # nothing changed: the same key
        label.write_text(label.read_text().replace("0.", "0.0", 1))
        keys.append(store.key(cfg))
        a = np.asarray(Image.open(image)).copy()
        size = image.stat().st_size
        Image.fromarray(255 - a).save(image)
        assert image.stat().st_size == size
        keys.append(store.key(cfg))
    assert len(set(keys)) == 3, keys


def test_touch_r_to_the_old_times_still_changes_the_run_key(tmp_path):
    """``cp -p``/``rsync -t``/``touch -r`` give new bytes the old size and mtime; the ctime still moves."""
    import os
    import time

    from lib.config import TrainConfig
    from lib.store.runs import RunStore

    yaml_path = ultralytics(tmp_path)
    label = tmp_path / "labels/train/im0.txt"
    old = time.time_ns() - 60 * 10**9
    for p in (tmp_path / "labels").rglob("*.txt"):
        os.utime(p, ns=(old, old))
    store, cfg = RunStore(tmp_path / "runs"), TrainConfig(data=str(yaml_path))
    before = store.key(cfg)
    time.sleep(2.1)  # past the racy window of the first hashing: only the inode/ctime check can notice
    assert store.key(cfg) == before
    text = label.read_text()
    label.write_text(text[:-2] + ("1\n" if text[-2] != "1" else "2\n"))  # another view, same size
    os.utime(label, ns=(old, old))
    assert store.key(cfg) != before
