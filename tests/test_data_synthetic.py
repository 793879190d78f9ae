"""The synthetic benchmark: deterministic, real layout and label format, marginals as configured."""
import hashlib
import re
from collections import Counter

import numpy as np
import pytest

from lib.data import (EchoDataset, SyntheticConfig, ensure_synthetic, generate, parse_label_file, plan,
                      read_data_yaml, split_files)
from lib.data import synthetic

TINY = SyntheticConfig(n_train=12, n_val=4, n_test=4)
NAME = re.compile(r"^SYN\d{4}-\d+\.mp4-\d+\.png$")


def digest(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny")
    return generate(TINY, out)


def test_generation_is_byte_identical(tiny, tmp_path):
    again = generate(TINY, tmp_path / "again")
    a, b = digest(tiny.parent), digest(again.parent)
    assert a == b and len(a) == 2 * 20 + 1


def test_real_layout_names_and_yaml(tiny):
    spec = read_data_yaml(tiny)
    assert spec.names == ("AR", "MR", "PR", "TR") and spec.view_names == ("PSAX", "PLAX", "A4C")
    assert spec.splits["val"][0].parent.name == "valid"
    text = tiny.read_text()
    for line in ("path: .", "train: train/images", "val: valid/images", "test: test/images", "nc: 4"):
        assert line in text
    sizes = {s: len(split_files(spec, s).images) for s in ("train", "val", "test")}
    assert sizes == {"train": 12, "val": 4, "test": 4}
    for s in sizes:
        files = split_files(spec, s)
        assert all(NAME.match(p.name) for p in files.images) and not files.orphan_labels


def test_labels_parse_in_both_variants_and_match_the_plan(tiny):
    spec = read_data_yaml(tiny)
    frames = {fp.name: fp for fp in plan(TINY)}
    variants = Counter()
    for s in spec.splits:
        files = split_files(spec, s)
        for img, lbl in zip(files.images, files.labels):
            text = lbl.read_text()
            assert not text.endswith("\n")
            variants["polygon" if "\n\n" in text else "box"] += 1
            rec = parse_label_file(lbl, spec.nc, spec.n_views)
            fp = frames[img.stem]
            assert rec.view == fp.view_label == fp.clip.view
            assert sorted(rec.boxes[:, 0].astype(int).tolist()) == sorted(j.cls for j in fp.jets)
            edges = np.concatenate([rec.boxes[:, 1:3] - rec.boxes[:, 3:] / 2, rec.boxes[:, 1:3] + rec.boxes[:, 3:] / 2])
            assert (edges >= 0).all() and (edges <= 1).all() and (rec.boxes[:, 3:] > 0).all()
    assert variants["box"] == 4 and variants["polygon"] == 16  # 20% box variant, evenly spread


def test_dataset_loads_the_generated_set(tiny):
    ds = EchoDataset(read_data_yaml(tiny), "train", 64)
    assert len(ds) == 12 and ds.images.shape == (12, 3, 64, 64)
    img = ds.images.float()
    assert img[:, 0].mean() > 5 and (img[:, 0] - img[:, 2]).abs().max() > 100  # grey frames with colour jets


def test_frames_look_like_colour_doppler_echo():
    cfg = SyntheticConfig()
    fps = plan(cfg)[:40]
    for fp in fps[:8]:
        img, boxes = synthetic.render_frame(fp, cfg)
        assert img.shape == (144, 192, 3) and img.dtype == np.uint8
        assert (img[0:3, 60:70] < 10).all()  # black background beside the fan's apex
        for cls, cx, cy, w, h in boxes:  # the labelled box holds saturated colour
            x0, x1 = int((cx - w / 2) * 192), int((cx + w / 2) * 192)
            y0, y1 = int((cy - h / 2) * 144), int((cy + h / 2) * 144)
            patch = img[y0:y1, x0:x1].astype(int)
            sat = patch.max(-1) - patch.min(-1)
            assert (sat > 80).mean() > 0.3


def test_plan_marginals_follow_the_config():
    cfg = SyntheticConfig()
    fps = plan(cfg)
    assert Counter(fp.split for fp in fps) == {"train": 834, "val": 208, "test": 306}
    view_p = np.array(cfg.view_freq) / sum(cfg.view_freq)
    views = np.bincount([fp.view_label for fp in fps], minlength=3) / len(fps)
    assert np.abs(views - view_p).max() < 0.05
    table = np.array(cfg.class_given_view, float)
    class_p = table.sum(0) / table.sum()
    classes = np.bincount([j.cls for fp in fps for j in fp.jets], minlength=4)
    assert np.abs(classes / classes.sum() - class_p).max() < 0.04
    # the jet class is strongly tied to the view: the top class of each view is the configured one
    for v in range(3):
        cls = Counter(j.cls for fp in fps if fp.clip.view == v for j in fp.jets)
        assert cls.most_common(1)[0][0] == int(np.argmax(table[v]))
    n_obj = Counter(len(fp.jets) for fp in fps)
    assert n_obj[1] / len(fps) > 0.85 and n_obj[0] > 0 and n_obj[2] > 0


def test_split_by_patient_no_leakage():
    patients = {}
    for fp in plan(SyntheticConfig()):
        patients.setdefault(fp.clip.patient, set()).add(fp.split)
    assert all(len(s) == 1 for s in patients.values())


def test_view_label_noise_flips_labels_only():
    cfg = SyntheticConfig(n_train=400, n_val=0, n_test=0, view_label_noise=0.2)
    fps = plan(cfg)
    flipped = np.mean([fp.view_label != fp.clip.view for fp in fps])
    assert 0.12 < flipped < 0.28


def test_ensure_synthetic_caches_and_never_trusts_a_half_set(tmp_path, monkeypatch):
    y = ensure_synthetic(TINY, root=tmp_path)
    assert y.parent.name == f"synthetic-{TINY.short_hash()}" and (y.parent / "COMPLETE").is_file()
    assert '"n_train": 12' in (y.parent / "COMPLETE").read_text()
    calls = []
    monkeypatch.setattr(synthetic, "generate", lambda cfg, out: calls.append(out))
    assert ensure_synthetic(TINY, root=tmp_path) == y and not calls  # reused
    monkeypatch.undo()
    (y.parent / "COMPLETE").unlink()  # as if a generation had been killed
    (y.parent / "train/images/junk.png").write_bytes(b"")
    y2 = ensure_synthetic(TINY, root=tmp_path)
    assert y2 == y and (y.parent / "COMPLETE").is_file() and not (y.parent / "train/images/junk.png").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp")]
    assert SyntheticConfig(seed=1).short_hash() != TINY.short_hash()
