"""The disk cache of decoded splits (lib.data.source): read back equal, keyed by the bytes and the code that
decodes, never trusted broken."""
import warnings

import torch

from lib.data import SyntheticConfig, ensure_synthetic, load_split, source


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
