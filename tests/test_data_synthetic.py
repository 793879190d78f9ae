"""The synthetic benchmark: deterministic, real layout and label format, marginals as configured."""
import hashlib
import re
from collections import Counter

import numpy as np
import pytest
from scipy import stats

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


IID = dict(frames_per_clip=1, max_clips_per_patient=1, p_two_jets=0.0, p_no_jet=0.0)  # one jet per clip


def drawn_table(cfg):
    """Class x view counts of the jets of a plan, (4, 3)."""
    t = np.zeros((4, 3))
    for fp in plan(cfg):
        for j in fp.jets:
            t[j.cls, fp.clip.view] += 1
    return t


def test_default_coupling_is_the_real_sample_with_the_real_margins():
    t = SyntheticConfig().class_view_table()
    assert t.shape == (4, 3) and t.sum() == pytest.approx(1)
    assert t.sum(1) == pytest.approx(np.array([426, 407, 104, 409]) / 1346)  # real label counts
    assert t.sum(0) == pytest.approx(np.array([217, 612, 517]) / 1346)      # real view counts
    # iterative proportional fitting keeps the sample's odds ratios (counts + 0.5)
    c = np.array(synthetic.REAL_CLASS_VIEW_COUNTS, float) + 0.5
    for (a, b), (x, y) in [((0, 1), (0, 2)), ((2, 3), (1, 2)), ((1, 2), (0, 1))]:
        assert t[a, x] * t[b, y] / (t[a, y] * t[b, x]) == pytest.approx(c[a, x] * c[b, y] / (c[a, y] * c[b, x]))
    # strength 0: the product of the margins; strength 2: stronger (larger top class share per view)
    t0 = SyntheticConfig(view_coupling=0).class_view_table()
    assert t0 == pytest.approx(np.outer(t.sum(1), t.sum(0)))
    t2 = SyntheticConfig(view_coupling=2).class_view_table()
    assert ((t2 / t2.sum(0)).max(0) > (t / t.sum(0)).max(0)).all()


def test_drawn_jets_reproduce_the_coupling_table_at_strength_one():
    cfg = SyntheticConfig(n_train=6000, n_val=0, n_test=0, seed=7, **IID)
    observed = drawn_table(cfg).ravel()
    expected = cfg.class_view_table().ravel() * observed.sum()
    keep = expected > 5  # chi-square needs expected counts >= 5; the rest are checked in total
    assert stats.chisquare(observed[keep], expected[keep] * observed[keep].sum() / expected[keep].sum()).pvalue > 1e-3
    assert abs(observed[~keep].sum() - expected[~keep].sum()) < 4 * np.sqrt(expected[~keep].sum()) + 2


def test_view_is_independent_of_class_at_strength_zero():
    cfg = SyntheticConfig(n_train=4000, n_val=0, n_test=0, seed=8, view_coupling=0.0, **IID)
    table = drawn_table(cfg)
    assert stats.chi2_contingency(table).pvalue > 1e-3
    real = drawn_table(SyntheticConfig(n_train=4000, n_val=0, n_test=0, seed=8, **IID))
    assert stats.chi2_contingency(real).pvalue < 1e-12  # the default is strongly coupled


def shares(fps, split):
    """View shares (3,) and jet-class shares (4,) of one split's frames."""
    f = [fp for fp in fps if fp.split == split]
    views = np.bincount([fp.clip.view for fp in f], minlength=3) / len(f)
    cls = np.bincount([j.cls for fp in f for j in fp.clip.jets], minlength=4)
    return views, cls / cls.sum()


SPREAD = 0.06  # the stated tolerance: ~1.5 patients (8 frames each at most) of the 208-frame val split


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_default_splits_are_stratified_with_whole_patients_and_clips(seed):
    cfg = SyntheticConfig(seed=seed)
    fps = plan(cfg)
    assert Counter(fp.split for fp in fps) == {"train": 834, "val": 208, "test": 306}
    for key in (lambda fp: fp.clip.patient, lambda fp: (fp.clip.patient, fp.clip.clip)):
        where = {}
        for fp in fps:
            where.setdefault(key(fp), set()).add(fp.split)
        assert all(len(s) == 1 for s in where.values())
    per_split = [shares(fps, s) for s in ("train", "val", "test")]
    for i in (0, 1):  # views, then classes
        table = np.array([p[i] for p in per_split])
        assert np.ptp(table, axis=0).max() < SPREAD, table
    # PR is in every split at its share, and the set's PR share is the real one within sampling error
    pr = np.array([p[1][2] for p in per_split])
    assert (pr > 0.04).all()
    clips = {(fp.clip.patient, fp.clip.clip): fp.clip for fp in fps}
    pr_all = np.mean([j.cls == 2 for c in clips.values() for j in c.jets])
    assert abs(pr_all - 104 / 1346) < 3 * np.sqrt(0.077 * 0.923 / len(clips))
    assert plan(cfg) == fps  # deterministic


def test_plan_has_single_and_double_jets_and_empty_frames():
    fps = plan(SyntheticConfig())
    n_obj = Counter(len(fp.jets) for fp in fps)
    assert n_obj[1] / len(fps) > 0.85 and n_obj[0] > 0 and n_obj[2] > 0


def test_bad_coupling_settings_are_refused():
    with pytest.raises(ValueError, match="view_coupling"):
        SyntheticConfig(view_coupling=-1)
    with pytest.raises(ValueError, match="class_view_counts"):
        SyntheticConfig(class_view_counts=((1, 2, 3),) * 3)
    assert SyntheticConfig(view_coupling=0.5).short_hash() != SyntheticConfig().short_hash()


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
